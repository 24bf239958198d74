//! File previews as pure functions: a prefix of a file's bytes (it is only a prefix!) in,
//! lines to show out. No I/O, no clock: the worker calls [`decode`] off the UI thread and
//! tests and fuzzers call it directly. The format comes from the magic bytes; the name
//! is only a hint (CSV or TSV, FASTA or FASTQ, VCF inside gzip).

mod bam;
mod gz;
mod table;
mod text;
mod vcf;

use crate::sanitize::placeholder;

/// A hex dump shows this much of a file it cannot read otherwise.
pub const HEX_BYTES: usize = 4096;
/// Longer lines are cut here (with a marker): the screen is never that wide, and one
/// huge line (a minified JSON, a `#CHROM` line of 100,000 samples) would hold its whole
/// text in the preview.
pub const MAX_LINE_CHARS: usize = 2000;
/// The most lines a preview keeps: more is more than anyone scrolls through.
pub const MAX_LINES: usize = 20_000;
/// At most this much decompressed text is looked at, whatever was fetched.
pub const MAX_INFLATED: usize = 16 << 20;

/// What a line is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A section's title ("VCF header", "first records").
    Heading,
    /// A summarised header field.
    Meta,
    /// The file's own content.
    Body,
    /// Something to know about what is shown (cut short, counts are lower bounds).
    Note,
    /// Why the rest cannot be shown (a corrupt stream).
    Problem,
}

/// One line to draw, already safe for a terminal (see [`crate::sanitize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    pub role: Role,
    pub text: String,
}

/// What a prefix of a file shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The format as shown: "VCF (BGZF)", "BAM", "CSV", "binary".
    pub format: String,
    pub lines: Vec<PreviewLine>,
    /// More bytes would show more (false for a hex dump, or once the lines are full).
    pub wants_more: bool,
}

/// The bytes to decode and what is known about them.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The file's first bytes.
    pub bytes: &'a [u8],
    /// The file's name (only a hint).
    pub name: &'a str,
    /// `bytes` is the whole file: a cut at its end is damage, not the end of a prefix.
    pub whole: bool,
}

/// Lines built by a decoder, each made safe for the terminal as it is added.
#[derive(Debug, Default)]
pub(crate) struct Out {
    lines: Vec<PreviewLine>,
}

impl Out {
    pub(crate) fn push(&mut self, role: Role, text: &str) {
        if self.lines.len() >= MAX_LINES {
            return;
        }
        // Only the head is expanded and sanitised: a file without newlines is one line of
        // the whole fetch, and both steps would cost its size several times over.
        let (head, rest) = match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((at, _)) => (
                text.get(..at).unwrap_or(""),
                text.get(at..).map_or(0, |r| r.chars().count()),
            ),
            None => (text, 0),
        };
        self.lines.push(PreviewLine {
            role,
            text: cut(&drawable(head), rest),
        });
    }
    pub(crate) fn heading(&mut self, text: &str) {
        self.push(Role::Heading, text);
    }
    pub(crate) fn meta(&mut self, text: &str) {
        self.push(Role::Meta, text);
    }
    pub(crate) fn body(&mut self, text: &str) {
        self.push(Role::Body, text);
    }
    pub(crate) fn note(&mut self, text: &str) {
        self.push(Role::Note, text);
    }
    pub(crate) fn problem(&mut self, text: &str) {
        self.push(Role::Problem, text);
    }
    pub(crate) fn full(&self) -> bool {
        self.lines.len() >= MAX_LINES
    }
}

/// `s` made safe for a terminal (see [`crate::sanitize`]) with each tab expanded to the
/// next multiple of 8 columns, as a terminal would. Both in one pass, tabs first: the
/// sanitiser shows a tab as its control picture (U+2409), and expanding after it would
/// also expand a file's own U+2409. Columns are counted on what is drawn, so a control
/// character before a tab (drawn as a one-column picture) moves the tab stop as it should.
fn drawable(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut col = 0usize;
    for c in s.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            let shown = placeholder(c).unwrap_or(c);
            out.push(shown);
            col += unicode_width::UnicodeWidthChar::width(shown).unwrap_or(0);
        }
    }
    out
}

/// The marker ending a line that leaves `n` of something out: ` ⟩ +N chars` for a line
/// cut at [`MAX_LINE_CHARS`], ` ⟩ +N columns` for a table row. Written only here and read
/// back only by [`without_cut_count`], so the two cannot drift apart.
pub(crate) fn cut_marker(n: usize, unit: CutUnit) -> String {
    let unit = match (unit, n) {
        (CutUnit::Chars, _) => " chars",
        (CutUnit::Columns, 1) => " column",
        (CutUnit::Columns, _) => " columns",
    };
    format!("{CUT_MARK}{n}{unit}")
}

/// What a [`cut_marker`] counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CutUnit {
    Chars,
    Columns,
}

const CUT_MARK: &str = " ⟩ +";
const CUT_UNITS: [&str; 3] = [" chars", " columns", " column"];

/// `line` without the count of its cut marker (the marker itself kept): the same line
/// read from a longer prefix says only that more is cut, and shows nothing new. A line
/// without a marker is returned as it is.
pub fn without_cut_count(line: &str) -> &str {
    let Some(head) = CUT_UNITS.iter().find_map(|u| line.strip_suffix(u)) else {
        return line;
    };
    match head.rsplit_once(CUT_MARK) {
        Some((kept, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            line.get(..kept.len() + CUT_MARK.len()).unwrap_or(line)
        }
        _ => line,
    }
}

/// Cut a line longer than [`MAX_LINE_CHARS`], saying how much is left out (`extra`: the
/// characters already cut off before it).
fn cut(s: &str, extra: usize) -> String {
    match s.char_indices().nth(MAX_LINE_CHARS) {
        None if extra == 0 => s.to_string(),
        None => format!("{s}{}", cut_marker(extra, CutUnit::Chars)),
        Some((at, _)) => {
            let rest = s.get(at..).map_or(0, |r| r.chars().count()) + extra;
            format!(
                "{}{}",
                s.get(..at).unwrap_or(""),
                cut_marker(rest, CutUnit::Chars)
            )
        }
    }
}

/// What kind of bytes these are, by their magic (then the name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    Gzip,
    Bam,
    Bcf,
    Cram,
    Text,
    Binary,
}

pub(crate) fn magic(bytes: &[u8]) -> Magic {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Magic::Gzip
    } else if bytes.starts_with(b"BAM\x01") {
        Magic::Bam
    } else if bytes.starts_with(b"BCF\x02") {
        Magic::Bcf
    } else if bytes.starts_with(b"CRAM") {
        Magic::Cram
    } else if text::looks_like_text(bytes) {
        Magic::Text
    } else {
        Magic::Binary
    }
}

/// The lines a prefix of a file shows. Never fails: damage is a line of the preview.
pub fn decode(input: Input<'_>) -> Decoded {
    let mut out = Out::default();
    let (format, wants_more) = match magic(input.bytes) {
        Magic::Gzip => {
            let inflated = gz::inflate(input.bytes, input.whole, MAX_INFLATED);
            let inner = inflated.data.as_slice();
            let label = if inflated.bgzf { "BGZF" } else { "gzip" };
            let name = strip_gz(input.name);
            let inner_input = Input {
                bytes: inner,
                name: &name,
                whole: inflated.end == gz::End::Complete,
            };
            let (kind, more) = match magic(inner) {
                Magic::Bam => ("BAM".to_string(), bam::decode(inner_input, &mut out)),
                Magic::Bcf => ("BCF".to_string(), vcf::decode_bcf(inner_input, &mut out)),
                Magic::Text if !inner.is_empty() => text::decode_named(inner_input, &mut out),
                _ if inner.is_empty() => ("empty".to_string(), false),
                _ => {
                    text::hex(inner, &mut out);
                    ("binary".to_string(), false)
                }
            };
            match &inflated.end {
                gz::End::Complete | gz::End::Prefix => {}
                gz::End::Limit => {
                    out.note(&format!(
                        "(the first {} MiB of decompressed data are shown)",
                        MAX_INFLATED >> 20
                    ));
                }
                gz::End::Corrupt(why) => out.problem(&format!(
                    "The {label} stream is corrupt after {} decompressed bytes: {why}",
                    inflated.data.len()
                )),
                gz::End::Truncated => out.problem(&format!(
                    "The {label} stream ends early: the file is truncated after {} \
                     decompressed bytes",
                    inflated.data.len()
                )),
            }
            let going = matches!(inflated.end, gz::End::Prefix) && more;
            (format!("{kind} ({label})"), going)
        }
        Magic::Bam => (
            "BAM (uncompressed)".to_string(),
            bam::decode(input, &mut out),
        ),
        Magic::Bcf => (
            "BCF (uncompressed)".to_string(),
            vcf::decode_bcf(input, &mut out),
        ),
        Magic::Cram => ("CRAM".to_string(), bam::decode_cram(input, &mut out)),
        Magic::Text => text::decode_named(input, &mut out),
        Magic::Binary => {
            text::hex(input.bytes, &mut out);
            ("binary".to_string(), false)
        }
    };
    let wants_more = wants_more && !out.full() && !input.whole;
    Decoded {
        format,
        lines: out.lines,
        wants_more,
    }
}

/// `reads.fastq.gz` → `reads.fastq`: the name inside the compression, for the hints.
fn strip_gz(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for ext in [".gz", ".bgz", ".bgzf", ".gzip"] {
        if lower.ends_with(ext) {
            return name
                .get(..name.len() - ext.len())
                .unwrap_or(name)
                .to_string();
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests;
