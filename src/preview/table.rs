//! CSV and TSV in aligned columns. A line may hold millions of fields (8 MiB of `,,,,`),
//! so fields are slices of the line, never copied whole: only the cells that fit in a
//! drawn line are made into text, and the rest are only counted.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{MAX_LINE_CHARS, Out};
use crate::sanitize::placeholder;

/// A cell wider than this is cut, so one long cell cannot push the rest away.
const MAX_CELL: usize = 40;
/// A cell of zero-width characters is cut after this many, however narrow it is.
const MAX_CELL_CHARS: usize = 2 * MAX_CELL;
/// Between two cells.
const SEP: &str = " │ ";
/// Room kept at a line's end for ` ⟩ +N columns`.
const MARKER_ROOM: usize = 32;
/// A drawn line is at most [`MAX_LINE_CHARS`] long, so it never holds more cells than
/// separators fit in it: fields past this are counted, never made into text.
const MAX_COLUMNS: usize = MAX_LINE_CHARS / 3;

/// The fields of a line as they are written (a CSV field keeps its quotes), split at the
/// separators outside quotes. Quotes toggle: a `""` inside quotes toggles twice, so the
/// split is the one the unquoting in [`cell`] reads.
struct Fields<'a> {
    rest: Option<&'a str>,
    sep: u8,
    quotes: bool,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let mut quoted = false;
        for (i, b) in rest.bytes().enumerate() {
            if self.quotes && b == b'"' {
                quoted = !quoted;
            } else if b == self.sep && !quoted {
                // The separator is ASCII: both sides of it are character boundaries.
                self.rest = rest.get(i + 1..);
                return rest.get(..i);
            }
        }
        self.rest = None;
        Some(rest)
    }
}

fn fields(line: &str, sep: u8) -> Fields<'_> {
    Fields {
        rest: Some(line),
        sep,
        quotes: sep == b',',
    }
}

/// A field as drawn into `buf`: unquoted (CSV: `""` is a quote), made safe for the
/// terminal, cut with `…` at [`MAX_CELL`] columns; returns its width. Only the field's
/// head is read.
fn cell(raw: &str, csv: bool, buf: &mut String) -> usize {
    buf.clear();
    let mut width = 0;
    let mut count = 0;
    // Where the cut cell ends, once a character did not fit before a `…`.
    let mut keep: Option<usize> = None;
    let mut quoted = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '"' if csv && quoted && chars.peek() == Some(&'"') => {
                chars.next();
                '"'
            }
            '"' if csv => {
                quoted = !quoted;
                continue;
            }
            c => placeholder(c).unwrap_or(c),
        };
        let w = c.width().unwrap_or(0);
        if keep.is_none() && width + w + 1 > MAX_CELL {
            keep = Some(buf.len());
        }
        if width + w > MAX_CELL || count == MAX_CELL_CHARS {
            buf.truncate(keep.unwrap_or(buf.len()));
            buf.push('…');
            break;
        }
        buf.push(c);
        width += w;
        count += 1;
    }
    // As the screen measures it (a sequence may be narrower than its characters).
    buf.width()
}

/// Columns aligned to the widest cell shown (cut at [`MAX_CELL`]); the first row is drawn
/// as a heading. A row with more fields than fit in a drawn line ends with ` ⟩ +N
/// columns`. Two passes over the lines (widths, then rows) rather than the cells kept:
/// kept, 20,000 rows of hundreds of short cells would be a String each.
pub(crate) fn columns(lines: &[&str], sep: u8, out: &mut Out) {
    let csv = sep == b',';
    let mut buf = String::new();
    let mut widths: Vec<usize> = Vec::new();
    for l in lines {
        for (i, f) in fields(l, sep).take(MAX_COLUMNS).enumerate() {
            let w = cell(f, csv, &mut buf);
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    for (n, l) in lines.iter().enumerate() {
        let line = row(l, sep, &widths, &mut buf);
        if n == 0 {
            out.heading(&line);
        } else {
            out.body(&line);
        }
    }
}

/// One row: its cells while they fit in [`MAX_LINE_CHARS`] (the marker's room kept),
/// then how many fields are left out.
fn row(l: &str, sep: u8, widths: &[usize], buf: &mut String) -> String {
    let csv = sep == b',';
    let mut line = String::new();
    let mut used = 0;
    let mut left_out = 0;
    let mut fs = fields(l, sep).peekable();
    let mut i = 0;
    while let Some(f) = fs.next() {
        let w = cell(f, csv, buf);
        // A cell is padded unless it ends the row: a marker follows the cells drawn.
        let more = fs.peek().is_some();
        let pad = if more {
            widths.get(i).copied().unwrap_or(0).saturating_sub(w)
        } else {
            0
        };
        let sep_len = if i > 0 { SEP.chars().count() } else { 0 };
        let len = sep_len + buf.chars().count() + pad;
        if i == MAX_COLUMNS || used + len > MAX_LINE_CHARS - MARKER_ROOM {
            left_out = 1 + fs.count();
            break;
        }
        if i > 0 {
            line.push_str(SEP);
        }
        line.push_str(buf);
        line.extend(std::iter::repeat_n(' ', pad));
        used += len;
        i += 1;
    }
    if left_out > 0 {
        line.push_str(&super::cut_marker(left_out, super::CutUnit::Columns));
    }
    line
}
