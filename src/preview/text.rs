//! Text previews: plain lines, CSV/TSV in aligned columns, FASTQ/FASTA records with their
//! lengths; and the hex dump of anything that is not text.

use std::borrow::Cow;

use super::{HEX_BYTES, Input, MAX_LINES, Out, table, vcf};

/// FASTA sequence lines shown per record.
const FASTA_LINES: usize = 3;

/// UTF-8 (a character cut by the end of the prefix allowed) without NULs and with few
/// other controls.
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let head = bytes.get(..bytes.len().min(8192)).unwrap_or(bytes);
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Only a character cut at the very end.
        Err(e) => e.error_len().is_none(),
    };
    if !valid || head.contains(&0) {
        return false;
    }
    let odd = head
        .iter()
        .filter(|b| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    odd * 100 <= head.len()
}

/// The text of a prefix, its last line dropped when the prefix cut it (unless it is the
/// only one). Decoded lossily: [`looks_like_text`] saw only the head, and one Latin-1
/// byte further on would otherwise end the text there, with nothing to say so. Each
/// invalid sequence shows as U+FFFD where it is; a character cut by the end of a prefix
/// is where the prefix ends, not damage, and is dropped (in a whole file it is damage).
pub(crate) fn text_of(bytes: &[u8], whole: bool) -> Cow<'_, str> {
    let upto = if whole {
        bytes.len()
    } else {
        match bytes.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None => without_cut_char(bytes).len(),
        }
    };
    String::from_utf8_lossy(bytes.get(..upto).unwrap_or(bytes))
}

/// `bytes` without a last character cut short (the start of a valid UTF-8 sequence that
/// the end interrupts).
fn without_cut_char(bytes: &[u8]) -> &[u8] {
    // A sequence is at most 4 bytes: its lead byte is among the last 3 if it is cut.
    let tail_from = bytes.len().saturating_sub(3);
    let lead = bytes
        .iter()
        .enumerate()
        .skip(tail_from)
        .rev()
        .find(|(_, b)| (**b & 0xc0) != 0x80)
        .map(|(i, _)| i);
    match lead.map(|i| (i, std::str::from_utf8(bytes.get(i..).unwrap_or_default()))) {
        Some((i, Err(e))) if e.valid_up_to() == 0 && e.error_len().is_none() => {
            bytes.get(..i).unwrap_or(bytes)
        }
        _ => bytes,
    }
}

/// The lines of a text (a `\r` before a newline dropped): lazily, as a header summary
/// reads past the lines kept.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Csv,
    Tsv,
    Fastq,
    Fasta,
    Vcf,
    Sam,
}

fn kind_of(name: &str, lines: &[&str]) -> Kind {
    let lower = name.to_ascii_lowercase();
    let first = lines.first().copied().unwrap_or("");
    if first.starts_with("##fileformat=VCF") {
        return Kind::Vcf;
    }
    if first.starts_with("@HD\t") || first.starts_with("@SQ\t") {
        return Kind::Sam;
    }
    if first.starts_with('@') && lines.get(2).is_some_and(|l| l.starts_with('+')) {
        return Kind::Fastq;
    }
    if first.starts_with('>') {
        return Kind::Fasta;
    }
    if lower.ends_with(".csv") {
        return Kind::Csv;
    }
    if lower.ends_with(".tsv") || lower.ends_with(".tab") {
        return Kind::Tsv;
    }
    // Without a hint: the same count of separators on the first lines.
    let sample: Vec<&str> = lines.iter().take(8).copied().collect();
    let same = |sep: char, min: usize| {
        sample.len() >= 3
            && sample.first().is_some_and(|f| {
                let n = f.matches(sep).count();
                n >= min && sample.iter().all(|l| l.matches(sep).count() == n)
            })
    };
    if same('\t', 1) {
        Kind::Tsv
    } else if same(',', 2) {
        Kind::Csv
    } else {
        Kind::Plain
    }
}

/// Text of any kind; returns its format's name and whether more bytes would show more.
pub(crate) fn decode_named(input: Input<'_>, out: &mut Out) -> (String, bool) {
    let text = text_of(input.bytes, input.whole);
    let text: &str = &text;
    // Only the lines drawn are kept; a VCF header is read past them (it may be longer).
    let lines: Vec<&str> = lines(text).take(MAX_LINES).collect();
    let more = lines.len() < MAX_LINES;
    let kind = kind_of(input.name, &lines);
    let name = match kind {
        Kind::Plain => {
            for l in &lines {
                out.body(l);
            }
            "text"
        }
        Kind::Sam => {
            for l in &lines {
                out.body(l);
            }
            "SAM"
        }
        Kind::Csv => {
            table::columns(&lines, b',', out);
            "CSV"
        }
        Kind::Tsv => {
            table::columns(&lines, b'\t', out);
            "TSV"
        }
        Kind::Fastq => {
            fastq(&lines, input.whole, out);
            "FASTQ"
        }
        Kind::Fasta => {
            fasta(&lines, input.whole, out);
            "FASTA"
        }
        Kind::Vcf => return ("VCF".into(), vcf::decode_text(text, input.whole, out)),
    };
    (name.to_string(), more)
}

fn fastq(lines: &[&str], whole: bool, out: &mut Out) {
    let mut lengths = Vec::new();
    let mut chunks = lines.chunks_exact(4);
    for rec in chunks.by_ref() {
        let [id, seq, plus, qual] = rec else { break };
        if !id.starts_with('@') || !plus.starts_with('+') {
            out.problem(&format!(
                "Record {} is not FASTQ (expected @name, sequence, +, qualities)",
                lengths.len() + 1
            ));
            return;
        }
        if qual.len() != seq.len() {
            out.problem(&format!(
                "Record {}: {} bases but {} quality values",
                lengths.len() + 1,
                seq.len(),
                qual.len()
            ));
        }
        out.meta(&format!("{id}  ({} bp)", seq.len()));
        out.body(seq);
        out.body(plus);
        out.body(qual);
        lengths.push(seq.len());
    }
    if !chunks.remainder().is_empty() {
        if whole {
            out.problem("The file ends inside a record (truncated)");
        } else {
            out.note("(a record cut by the end of what was read is not shown)");
        }
    }
    summary("reads", &lengths, out);
}

fn summary(what: &str, lengths: &[usize], out: &mut Out) {
    if let (Some(min), Some(max)) = (lengths.iter().min(), lengths.iter().max()) {
        out.note(&format!(
            "{} {what} shown, lengths {min}–{max} (mean {})",
            lengths.len(),
            lengths.iter().sum::<usize>() / lengths.len().max(1)
        ));
    }
}

fn fasta(lines: &[&str], whole: bool, out: &mut Out) {
    let mut records: Vec<(&str, usize, Vec<&str>)> = Vec::new();
    for l in lines {
        if l.starts_with('>') {
            records.push((l, 0, Vec::new()));
        } else if let Some((_, len, seq)) = records.last_mut() {
            *len += l.trim_end().len();
            if seq.len() < FASTA_LINES {
                seq.push(l);
            }
        }
    }
    let n = records.len();
    let mut lengths = Vec::new();
    for (i, (header, len, seq)) in records.iter().enumerate() {
        // The last record may go on past what was read.
        let open = i + 1 == n && !whole;
        let at_least = if open { "≥ " } else { "" };
        out.meta(&format!("{header}  ({at_least}{len} bp)"));
        for s in seq {
            out.body(s);
        }
        if seq.len() == FASTA_LINES {
            out.note("  …");
        }
        if !open {
            lengths.push(*len);
        }
    }
    summary("complete sequences", &lengths, out);
}

/// `offset  hex bytes  |ascii|`, 16 bytes a line, the first [`HEX_BYTES`].
pub(crate) fn hex(bytes: &[u8], out: &mut Out) {
    let shown = bytes.get(..bytes.len().min(HEX_BYTES)).unwrap_or(bytes);
    for (i, row) in shown.chunks(16).enumerate() {
        let mut line = format!("{:08x}  ", i * 16);
        for j in 0..16 {
            match row.get(j) {
                Some(b) => line.push_str(&format!("{b:02x} ")),
                None => line.push_str("   "),
            }
            if j == 7 {
                line.push(' ');
            }
        }
        line.push('|');
        line.extend(row.iter().map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            }
        }));
        line.push('|');
        out.body(&line);
    }
    if bytes.len() > HEX_BYTES {
        out.note(&format!("(the first {HEX_BYTES} bytes)"));
    }
}
