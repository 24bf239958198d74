//! BAM: the SAM header (`@HD`, `@SQ` count and first lines, `@RG`, `@PG`) and the first
//! records as SAM text, through noodles; CRAM: named, with its SAM header where it is in
//! the first container as text (raw or gzip), since its records need the reference.

use std::io::Read;

use noodles_sam::alignment::io::Write as _;

use super::{Input, Out};

/// Lines listed of each kind of header line; the rest are counted.
const FIRST_OF_KIND: usize = 5;

/// The parts of a BAM header read by hand, so a header cut by the end of a prefix still
/// shows what it has.
struct RawHeader<'a> {
    text: &'a [u8],
    text_complete: bool,
    /// Binary reference sequences (name, length), when they were all read.
    refs: Option<Vec<(String, u32)>>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_le_bytes)
}

fn raw_header(b: &[u8]) -> RawHeader<'_> {
    let l_text = u32_at(b, 4).and_then(|n| usize::try_from(n).ok());
    let Some(l_text) = l_text else {
        return RawHeader {
            text: &[],
            text_complete: false,
            refs: None,
        };
    };
    let end = 8usize.saturating_add(l_text);
    let text = b.get(8..end.min(b.len())).unwrap_or_default();
    let text_complete = b.len() >= end;
    let refs = text_complete.then(|| refs_at(b, end)).flatten();
    RawHeader {
        text,
        text_complete,
        refs,
    }
}

fn refs_at(b: &[u8], at: usize) -> Option<Vec<(String, u32)>> {
    let n = usize::try_from(u32_at(b, at)?).ok()?;
    let mut at = at + 4;
    let mut refs = Vec::with_capacity(n.min(100_000));
    for _ in 0..n {
        let l_name = usize::try_from(u32_at(b, at)?).ok()?;
        let name = b.get(at + 4..(at + 4).checked_add(l_name)?)?;
        let name = String::from_utf8_lossy(name.strip_suffix(&[0]).unwrap_or(name)).into_owned();
        at = at + 4 + l_name;
        refs.push((name, u32_at(b, at)?));
        at += 4;
    }
    Some(refs)
}

/// The header lines by kind: each kind's count and first lines.
pub(crate) fn sam_header_summary(
    text: &str,
    complete: bool,
    refs: Option<&[(String, u32)]>,
    out: &mut Out,
) {
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let ge = if complete { "" } else { "≥ " };
    let of = |tag: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(tag))
            .copied()
            .collect::<Vec<_>>()
    };
    out.heading("SAM header");
    match of("@HD").first() {
        Some(hd) => out.meta(hd),
        None => out.meta("(no @HD line)"),
    }
    let sq = of("@SQ");
    let synth: Vec<String>;
    let (count, shown): (usize, Vec<&str>) = if sq.is_empty()
        && let Some(r) = refs
    {
        // The text may leave the dictionary to the binary reference list.
        synth = r
            .iter()
            .take(FIRST_OF_KIND)
            .map(|(n, l)| format!("@SQ\tSN:{n}\tLN:{l}"))
            .collect();
        (r.len(), synth.iter().map(String::as_str).collect())
    } else {
        (sq.len(), sq.iter().take(FIRST_OF_KIND).copied().collect())
    };
    let ge_sq = if complete || refs.is_some() { "" } else { ge };
    out.meta(&format!("@SQ  {ge_sq}{count} reference sequences"));
    for l in shown {
        out.body(l);
    }
    if count > FIRST_OF_KIND {
        out.note("  …");
    }
    for (tag, what) in [
        ("@RG", "read groups"),
        ("@PG", "programs"),
        ("@CO", "comments"),
    ] {
        let all = of(tag);
        if all.is_empty() && tag == "@CO" {
            continue;
        }
        out.meta(&format!("{tag}  {ge}{} {what}", all.len()));
        for l in all.iter().take(FIRST_OF_KIND) {
            out.body(l);
        }
        if all.len() > FIRST_OF_KIND {
            out.note("  …");
        }
    }
    if !complete {
        out.note("The header goes on past what was read: counts are lower bounds (≥).");
    }
}

/// Decompressed BAM bytes (a prefix unless `whole`); whether more would show more.
pub(crate) fn decode(input: Input<'_>, out: &mut Out) -> bool {
    let b = input.bytes;
    let raw = raw_header(b);
    let text = String::from_utf8_lossy(raw.text);
    let text = text.split('\0').next().unwrap_or_default();
    let complete = raw.text_complete && raw.refs.is_some();
    sam_header_summary(text, raw.text_complete, raw.refs.as_deref(), out);
    if !complete {
        if input.whole {
            out.problem("The BAM header is cut short: the file is truncated");
        }
        return !input.whole;
    }
    let mut reader = noodles_bam::io::Reader::from(std::io::Cursor::new(b));
    let header = match reader.read_header() {
        Ok(h) => h,
        Err(e) => {
            out.problem(&format!("The BAM header does not parse: {e}"));
            return false;
        }
    };
    out.heading("First records (SAM)");
    let mut record = noodles_bam::Record::default();
    let mut writer = noodles_sam::io::Writer::new(Vec::new());
    let mut n = 0usize;
    while !out.full() {
        // noodles sizes its buffer from the record's own length field before reading: a
        // hostile `FF FF FF FF` would ask for 4 GiB. A record longer than the bytes left
        // cannot complete in what was read, so it is the end of the prefix.
        let at = usize::try_from(reader.get_ref().position()).unwrap_or(usize::MAX);
        let left = b.len().saturating_sub(at);
        let declared = b
            .get(at..at.saturating_add(4))
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(|s| usize::try_from(u32::from_le_bytes(s)).unwrap_or(usize::MAX));
        let next = match declared {
            Some(size) if size > left.saturating_sub(4) => {
                Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
            }
            _ => reader.read_record(&mut record),
        };
        match next {
            Ok(0) => {
                if n == 0 {
                    out.note("(no records)");
                }
                return !input.whole;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                if input.whole {
                    out.problem(&format!(
                        "The file ends inside record {} (truncated)",
                        n + 1
                    ));
                } else if n == 0 {
                    out.note("(no complete record in what was read yet)");
                }
                return !input.whole;
            }
            Err(e) => {
                out.problem(&format!("Record {} is corrupt: {e}", n + 1));
                return false;
            }
        }
        writer.get_mut().clear();
        if let Err(e) = writer.write_alignment_record(&header, &record) {
            out.problem(&format!("Record {} is corrupt: {e}", n + 1));
            return false;
        }
        let line = String::from_utf8_lossy(writer.get_ref());
        out.body(line.trim_end_matches('\n'));
        n += 1;
    }
    false
}

/// CRAM: its version, and the SAM header where the first container holds it as text.
pub(crate) fn decode_cram(input: Input<'_>, out: &mut Out) -> bool {
    let b = input.bytes;
    if let (Some(major), Some(minor)) = (b.get(4), b.get(5)) {
        out.meta(&format!("CRAM version  {major}.{minor}"));
    }
    let head = b.get(..b.len().min(1 << 20)).unwrap_or(b);
    match cram_header_text(head) {
        Some(text) => sam_header_summary(&text, true, None, out),
        None if !input.whole && b.len() < 1 << 20 => {
            out.note("(the SAM header is past what was read)");
            return true;
        }
        None => out.note("(the SAM header is compressed in a way this preview does not read)"),
    }
    out.note("CRAM records need the reference sequence to decode: not shown.");
    false
}

/// The SAM header text in a CRAM's first container: a raw block (where `@HD` or `@SQ`
/// starts), or a gzip block holding it.
fn cram_header_text(head: &[u8]) -> Option<String> {
    let find = |needle: &[u8]| head.windows(needle.len()).position(|w| w == needle);
    let at = [b"@HD\t".as_slice(), b"@SQ\t"]
        .iter()
        .filter_map(|n| find(n))
        .min();
    if let Some(at) = at {
        let rest = head.get(at..)?;
        let end = rest.iter().position(|c| *c == 0).unwrap_or(rest.len());
        return Some(String::from_utf8_lossy(rest.get(..end)?).into_owned());
    }
    let gz = find(&[0x1f, 0x8b, 0x08])?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(head.get(gz..)?)
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    text.starts_with('@').then_some(text)
}
