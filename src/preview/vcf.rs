//! VCF: the header summarised (format, samples, contigs, INFO and FORMAT ids) above the
//! first records; BCF: the same summary from its header, which is VCF text after a small
//! binary prefix. Read by hand rather than with noodles-vcf: a prefix's header is often
//! cut, and a parser that wants the whole header would show nothing where counts "so far"
//! (`≥`) are what the user needs.

use super::{Input, Out};

/// Sample names listed by name; the rest are counted.
const FIRST_SAMPLES: usize = 5;
/// Sample columns shown per record.
const RECORD_SAMPLES: usize = 3;
/// IDs listed per INFO / FORMAT line.
const IDS_SHOWN: usize = 24;

#[derive(Default)]
struct Header<'a> {
    fileformat: Option<&'a str>,
    contigs: usize,
    info: Vec<&'a str>,
    format: Vec<&'a str>,
    filters: usize,
    other: usize,
    samples: Option<Vec<&'a str>>,
}

/// `ID=x` of a `##KEY=<ID=x,…>` line.
fn id_of(line: &str) -> Option<&str> {
    let inner = line.split_once("=<")?.1;
    let rest = inner.strip_prefix("ID=")?;
    Some(rest.split([',', '>']).next().unwrap_or(rest))
}

fn list(ids: &[&str]) -> String {
    let mut s = ids
        .iter()
        .take(IDS_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > IDS_SHOWN {
        s.push_str(&format!(", … (+{})", ids.len() - IDS_SHOWN));
    }
    s
}

/// The summary and the first records; whether more bytes would show more.
pub(crate) fn decode_text(lines: &[&str], whole: bool, out: &mut Out) -> bool {
    summarise(lines, whole, true, out)
}

fn summarise(lines: &[&str], whole: bool, with_records: bool, out: &mut Out) -> bool {
    let mut h = Header::default();
    let mut body_at = lines.len();
    for (i, l) in lines.iter().enumerate() {
        if let Some(v) = l.strip_prefix("##fileformat=") {
            h.fileformat = Some(v);
        } else if l.starts_with("##contig=") {
            h.contigs += 1;
        } else if l.starts_with("##INFO=") {
            h.info.extend(id_of(l));
        } else if l.starts_with("##FORMAT=") {
            h.format.extend(id_of(l));
        } else if l.starts_with("##FILTER=") {
            h.filters += 1;
        } else if l.starts_with("##") {
            h.other += 1;
        } else if l.starts_with("#CHROM") {
            h.samples = Some(l.split('\t').skip(9).collect());
            body_at = i + 1;
            break;
        } else {
            // A record without a #CHROM line: a damaged header.
            body_at = i;
            break;
        }
    }
    let done = h.samples.is_some();
    let ge = if done { "" } else { "≥ " };
    out.heading("VCF header");
    out.meta(&format!(
        "File format  {}",
        h.fileformat.unwrap_or("(no ##fileformat line)")
    ));
    match &h.samples {
        Some(s) => {
            let mut names = s
                .iter()
                .take(FIRST_SAMPLES)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if s.len() > FIRST_SAMPLES {
                names.push_str(", …");
            }
            let names = if s.is_empty() {
                "(sites only)".to_string()
            } else {
                names
            };
            out.meta(&format!("Samples      {}: {names}", s.len()));
        }
        None => out.meta("Samples      not known yet (the #CHROM line is past what was read)"),
    }
    out.meta(&format!("Contigs      {ge}{}", h.contigs));
    out.meta(&format!(
        "INFO         {ge}{}: {}",
        h.info.len(),
        list(&h.info)
    ));
    out.meta(&format!(
        "FORMAT       {ge}{}: {}",
        h.format.len(),
        list(&h.format)
    ));
    out.meta(&format!(
        "Other        {ge}{} FILTER, {ge}{} other header lines",
        h.filters, h.other
    ));
    if !done {
        if whole {
            out.problem("The header has no #CHROM line: not a complete VCF");
        } else {
            out.note("The header goes on past what was read: counts are lower bounds (≥).");
        }
        return !whole;
    }
    if !with_records {
        return false;
    }
    out.heading("First records");
    let records = lines.get(body_at..).unwrap_or_default();
    if records.is_empty() {
        out.note(if whole {
            "(no records)"
        } else {
            "(no record in what was read yet)"
        });
    }
    for r in records {
        if out.full() {
            break;
        }
        out.body(&record(r));
    }
    !whole
}

/// The fixed columns and the first samples of a record; the other samples counted.
fn record(line: &str) -> String {
    let cols: Vec<&str> = line.split('\t').collect();
    let keep = 9 + RECORD_SAMPLES;
    if cols.len() <= keep {
        return cols.join("  ");
    }
    format!(
        "{}  … (+{} samples)",
        cols.get(..keep).unwrap_or_default().join("  "),
        cols.len() - keep
    )
}

/// BCF 2: `BCF\2\x`, the header's length (u32, little-endian), the header text (VCF,
/// NUL-terminated), then binary records (not shown).
pub(crate) fn decode_bcf(input: Input<'_>, out: &mut Out) -> bool {
    let b = input.bytes;
    let version = match (b.get(3), b.get(4)) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => "?".into(),
    };
    out.meta(&format!("BCF version  {version}"));
    let Some(len) = b
        .get(5..9)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_le_bytes)
    else {
        out.note("(the header's length is past what was read)");
        return !input.whole;
    };
    let start = 9usize;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let end = start.saturating_add(len);
    let have = b.len().min(end);
    let text = b.get(start..have).unwrap_or_default();
    let text = text.split(|c| *c == 0).next().unwrap_or_default();
    let complete = have == end;
    let lines = super::text::lines_of(text, complete);
    let more = summarise(&lines, complete, false, out);
    if complete {
        out.note("(BCF records are binary: not shown)");
    }
    more && !input.whole
}
