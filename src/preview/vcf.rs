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

/// Names of one kind (INFO ids, FORMAT ids, samples): all counted, the first `KEEP` kept.
/// A header may name 100,000 samples or contigs: only what is shown is collected.
#[derive(Default)]
struct Firsts<'a, const KEEP: usize> {
    count: usize,
    first: Vec<&'a str>,
}

impl<'a, const KEEP: usize> Firsts<'a, KEEP> {
    fn add(&mut self, name: Option<&'a str>) {
        let Some(name) = name else { return };
        self.count += 1;
        if self.first.len() < KEEP {
            self.first.push(name);
        }
    }

    /// `: A, B, … (+N)` after the count; nothing when there are none.
    fn list(&self) -> String {
        if self.first.is_empty() {
            return String::new();
        }
        let mut s = format!(": {}", self.first.join(", "));
        if self.count > self.first.len() {
            s.push_str(&format!(", … (+{})", self.count - self.first.len()));
        }
        s
    }
}

type Ids<'a> = Firsts<'a, IDS_SHOWN>;
type Samples<'a> = Firsts<'a, FIRST_SAMPLES>;

#[derive(Default)]
struct Header<'a> {
    fileformat: Option<&'a str>,
    contigs: usize,
    info: Ids<'a>,
    format: Ids<'a>,
    filters: usize,
    other: usize,
    samples: Option<Samples<'a>>,
}

/// `ID=x` of a `##KEY=<ID=x,…>` line.
fn id_of(line: &str) -> Option<&str> {
    let inner = line.split_once("=<")?.1;
    let rest = inner.strip_prefix("ID=")?;
    Some(rest.split([',', '>']).next().unwrap_or(rest))
}

/// The summary and the first records; whether more bytes would show more.
pub(crate) fn decode_text(text: &str, whole: bool, out: &mut Out) -> bool {
    summarise(text, whole, true, out)
}

/// The header is read to its `#CHROM` line however long it is (30,000 `##contig` lines
/// of an assembly's scaffolds are more than the lines a preview keeps), line by line and
/// keeping only what is shown: the text is bounded by the cap, its header is not.
fn summarise(text: &str, whole: bool, with_records: bool, out: &mut Out) -> bool {
    let mut h = Header::default();
    let mut lines = super::text::lines(text);
    for l in lines.by_ref() {
        if let Some(v) = l.strip_prefix("##fileformat=") {
            h.fileformat = Some(v);
        } else if l.starts_with("##contig=") {
            h.contigs += 1;
        } else if l.starts_with("##INFO=") {
            h.info.add(id_of(l));
        } else if l.starts_with("##FORMAT=") {
            h.format.add(id_of(l));
        } else if l.starts_with("##FILTER=") {
            h.filters += 1;
        } else if l.starts_with("##") {
            h.other += 1;
        } else if l.starts_with("#CHROM") {
            let mut samples = Samples::default();
            for name in l.split('\t').skip(9) {
                samples.add(Some(name));
            }
            h.samples = Some(samples);
            break;
        } else {
            // A record without a #CHROM line: a damaged header.
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
        Some(s) if s.count == 0 => out.meta("Samples      0: (sites only)"),
        Some(s) => out.meta(&format!("Samples      {}{}", s.count, s.list())),
        None => out.meta("Samples      not known yet (the #CHROM line is past what was read)"),
    }
    out.meta(&format!("Contigs      {ge}{}", h.contigs));
    out.meta(&format!(
        "INFO         {ge}{}{}",
        h.info.count,
        h.info.list()
    ));
    out.meta(&format!(
        "FORMAT       {ge}{}{}",
        h.format.count,
        h.format.list()
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
    let mut records = lines.peekable();
    if records.peek().is_none() {
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

/// The fixed columns and the first samples of a record; the other samples counted, not
/// collected.
fn record(line: &str) -> String {
    let mut cols = line.split('\t');
    let shown = cols.by_ref().take(9 + RECORD_SAMPLES).collect::<Vec<_>>();
    match cols.count() {
        0 => shown.join("  "),
        rest => format!("{}  … (+{rest} samples)", shown.join("  ")),
    }
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
    let more = summarise(&super::text::text_of(text, complete), complete, false, out);
    if complete {
        out.note("(BCF records are binary: not shown)");
    }
    more && !input.whole
}
