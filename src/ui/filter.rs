//! The filter on screen: its counts in the tree's title, its input (or, once kept, its
//! pattern) in the footer, and the matched letters of the file rows on screen, found
//! here for those rows only.

use nucleo_matcher::pattern::Pattern;
use nucleo_matcher::{Matcher, Utf32Str};
use ratatui::style::Style;
use ratatui::text::Span;
use unicode_segmentation::UnicodeSegmentation;

use super::fmt;
use super::theme::Theme;
use crate::app::State;
use crate::app::corpus;
use crate::app::count::group;
use crate::app::state::Row;
use crate::sanitize::for_terminal;

/// `12 of 1,000` (`of ≥ 1,000` while the listing is partial; `…` while matching goes on).
pub fn title(state: &State) -> Option<String> {
    let f = state.filter.as_ref().filter(|f| f.active())?;
    let w = state.ws(f.ws)?;
    let more = if f.done() { "" } else { "…" };
    // Matches in dotfiles, hidden: said, or `n` would seem to skip them.
    let hidden = if f.hidden > 0 {
        format!(" (+{} hidden)", group(f.hidden))
    } else {
        String::new()
    };
    Some(format!(
        "· /{} {}{more} of {}{}{hidden} ",
        for_terminal(&fmt_pattern(&f.pattern)),
        group(f.matches),
        fmt::at_least(w.partial()),
        group(w.tree.file_count())
    ))
}

/// A long pattern is cut in the title (the footer shows it whole).
fn fmt_pattern(p: &str) -> String {
    if p.chars().count() <= 24 {
        return p.to_string();
    }
    let mut cut: String = p.chars().take(23).collect();
    cut.push('…');
    cut
}

/// The footer's filter part: the input while it is edited (with the cursor's column),
/// scrolled so the cursor stays within `room` columns; or the pattern in force.
pub fn footer(
    state: &State,
    th: &Theme,
    room: usize,
) -> Option<(Vec<Span<'static>>, Option<usize>)> {
    let f = state.filter.as_ref()?;
    if f.editing {
        // " /" before the input.
        let (text, col) = fmt::input_view(&f.input, room.saturating_sub(2));
        return Some((
            vec![Span::styled(" /", th.key), Span::raw(text)],
            Some(2 + col),
        ));
    }
    f.active().then(|| {
        (
            vec![Span::styled(
                format!(" filter on: /{} ", for_terminal(&f.pattern)),
                th.warn,
            )],
            None,
        )
    })
}

/// What finds the matched letters of the rows on screen (one per frame).
pub struct Marker {
    pattern: Pattern,
    matcher: Matcher,
    ws: usize,
}

impl Marker {
    pub fn new(state: &State) -> Option<Marker> {
        let f = state.filter.as_ref().filter(|f| f.active())?;
        Some(Marker {
            pattern: corpus::parse(&f.pattern),
            matcher: corpus::matcher(),
            ws: f.ws,
        })
    }

    /// For a file or folder row, which chars of its (drawn) name the pattern matched in
    /// its full path (a folder's own path, so a folder is marked where the pattern alone
    /// finds it). None for other rows and for names the sanitiser changed.
    pub fn name_mask(&mut self, state: &State, row: Row) -> Option<Vec<bool>> {
        let (ws, path, name) = match row {
            Row::File { ws, id } => {
                let tree = &state.ws(ws)?.tree;
                (ws, tree.display_key(id), &*tree.file(id)?.name)
            }
            Row::Folder { ws, id } => {
                let tree = &state.ws(ws)?.tree;
                (ws, tree.folder_path(id), &*tree.folder(id)?.name)
            }
            _ => return None,
        };
        if ws != self.ws || !state.filter.as_ref().is_some_and(|f| f.on(ws)) {
            return None;
        }
        if for_terminal(name) != *name {
            return None;
        }
        // The name's first byte in the path (a folder's path ends with its '/').
        let slash = usize::from(matches!(row, Row::Folder { .. }));
        let from = path.len().checked_sub(name.len() + slash)?;
        let idx = corpus::indices(&self.pattern, &path, &mut self.matcher);
        let mask = tail_mask(&path, from, &idx);
        mask.iter().any(|&m| m).then_some(mask)
    }
}

/// Which chars of `path`'s name (from byte `from` to the end, a trailing '/' aside) hold
/// the matched positions `idx`.
///
/// nucleo numbers a path's positions by grapheme (matching each by its first char), so
/// `é` written as `e` + U+0301 is one position; but a path whose graphemes all begin with
/// an ASCII char is matched as its bytes, one position per byte.
fn tail_mask(path: &str, from: usize, idx: &[u32]) -> Vec<bool> {
    let tail = path.get(from..).unwrap_or_default();
    let tail = tail.strip_suffix('/').unwrap_or(tail);
    // Each char of the name as the bytes of the path it spans.
    let chars: Vec<(usize, usize)> = tail
        .char_indices()
        .map(|(b, c)| (from + b, from + b + c.len_utf8()))
        .collect();
    let mut mask = vec![false; chars.len()];
    let mut buf = Vec::new();
    let by_byte = matches!(Utf32Str::new(path, &mut buf), Utf32Str::Ascii(_));
    let positions: Vec<(usize, usize)> = if by_byte {
        idx.iter().map(|&i| (i as usize, i as usize + 1)).collect()
    } else {
        let wanted: std::collections::BTreeSet<usize> = idx.iter().map(|&i| i as usize).collect();
        path.grapheme_indices(true)
            .enumerate()
            .filter(|(pos, _)| wanted.contains(pos))
            .map(|(_, (b, g))| (b, b + g.len()))
            .collect()
    };
    for (start, end) in positions {
        for (m, &(cs, ce)) in mask.iter_mut().zip(&chars) {
            if cs < end && ce > start {
                *m = true;
            }
        }
    }
    // A grapheme is marked whole: a style change inside one would split it across two
    // spans, and the terminal would lose its combining mark.
    let mut i = 0;
    for g in tail.graphemes(true) {
        let n = g.chars().count();
        if let Some(run) = mask.get_mut(i..i + n)
            && run.iter().any(|&m| m)
        {
            run.fill(true);
        }
        i += n;
    }
    mask
}

/// `name` as spans, the masked chars in `hl`. `shown` is `name` as fitted to its room:
/// either whole or a head, "…" and a tail of it.
pub fn spans(
    shown: String,
    name: &str,
    mask: &[bool],
    style: Style,
    hl: Style,
) -> Vec<Span<'static>> {
    let chars: Vec<char> = shown.chars().collect();
    let total = name.chars().count();
    // Where each drawn char comes from in `name` (None: the cut's "…").
    let from: Vec<Option<usize>> = if chars.len() == total {
        (0..total).map(Some).collect()
    } else {
        // The cut's "…" is the one with the name's head before it and its tail after (a
        // name may hold a "…" of its own).
        let whole: Vec<char> = name.chars().collect();
        let cut = (0..chars.len())
            .filter(|&p| chars.get(p) == Some(&'…'))
            .find(|&p| {
                let tail = chars.len() - p - 1;
                p + tail <= total
                    && whole.get(..p) == chars.get(..p)
                    && whole.get(total - tail..) == chars.get(p + 1..)
            });
        match cut {
            Some(p) => {
                let tail = chars.len() - p - 1;
                (0..chars.len())
                    .map(|i| match i.cmp(&p) {
                        std::cmp::Ordering::Less => Some(i),
                        std::cmp::Ordering::Equal => None,
                        std::cmp::Ordering::Greater => Some(total - tail + (i - p - 1)),
                    })
                    .collect()
            }
            None => return vec![Span::styled(shown, style)],
        }
    };
    let mut out = Vec::new();
    let mut run = String::new();
    let mut run_hl = false;
    for (c, src) in chars.iter().zip(from) {
        let h = src.and_then(|i| mask.get(i)).copied().unwrap_or(false);
        if h != run_hl && !run.is_empty() {
            out.push(Span::styled(
                std::mem::take(&mut run),
                if run_hl { style.patch(hl) } else { style },
            ));
        }
        run_hl = h;
        run.push(*c);
    }
    if !run.is_empty() {
        out.push(Span::styled(
            run,
            if run_hl { style.patch(hl) } else { style },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(path: &str, name_from: usize, pattern: &str) -> String {
        let idx = corpus::indices(&corpus::parse(pattern), path, &mut corpus::matcher());
        let name = path.get(name_from..).unwrap_or_default();
        let name = name.strip_suffix('/').unwrap_or(name);
        name.chars()
            .zip(tail_mask(path, name_from, &idx))
            .filter_map(|(c, m)| m.then_some(c))
            .collect()
    }

    #[test]
    fn a_combining_mark_goes_with_its_letter_when_nucleo_counts_graphemes() {
        // 'ü' makes nucleo number the path by grapheme: "é" (e + U+0301) is one position.
        let path = "ü/cafe\u{301}b.vcf";
        assert_eq!(marked(path, "ü/".len(), "eb"), "e\u{301}b");
        assert_eq!(marked(path, "ü/".len(), "vcf"), "vcf");
    }

    #[test]
    fn a_path_nucleo_matches_as_bytes_is_marked_by_the_chars_holding_them() {
        // Every grapheme starts with an ASCII char: nucleo matches the bytes. The mark
        // goes with its letter (marked whole, or the terminal would lose it).
        let path = "x/cafe\u{301}b.vcf";
        assert_eq!(marked(path, 2, "fe"), "fe\u{301}");
        assert_eq!(marked(path, 2, "b.v"), "b.v");
    }

    #[test]
    fn wide_and_astral_chars_before_the_name_do_not_shift_the_marks() {
        let path = "数据/😀/sample_B.vcf.gz";
        let from = path.len() - "sample_B.vcf.gz".len();
        assert_eq!(marked(path, from, "'_B"), "_B");
        // A folder's own path: the trailing '/' is not part of its name.
        assert_eq!(marked("数据/😀/", "数据/".len(), "😀"), "😀");
    }
}
