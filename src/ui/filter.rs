//! The filter on screen: its counts in the tree's title, its input (or, once kept, its
//! pattern) in the footer, and the matched letters of the file rows on screen, found
//! here for those rows only.

use nucleo_matcher::Matcher;
use nucleo_matcher::pattern::Pattern;
use ratatui::style::Style;
use ratatui::text::Span;

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
    Some(format!(
        "· /{} {}{more} of {}{} ",
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

/// The footer's filter part: the input while it is edited (with the cursor's place), or
/// the pattern in force.
pub fn footer(state: &State, th: &Theme) -> Option<(Vec<Span<'static>>, Option<usize>)> {
    let f = state.filter.as_ref()?;
    if f.editing {
        let text = for_terminal(f.input.value());
        let cursor = 2 + f.input.visual_cursor();
        return Some((
            vec![Span::styled(" /", th.key), Span::raw(text)],
            Some(cursor),
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

    /// For a file row, which chars of its (drawn) name the pattern matched in its full
    /// path. None for other rows and for names the sanitiser changed.
    pub fn name_mask(&mut self, state: &State, row: Row) -> Option<Vec<bool>> {
        let Row::File { ws, id } = row else {
            return None;
        };
        if ws != self.ws || !state.filter.as_ref().is_some_and(|f| f.on(ws)) {
            return None;
        }
        let tree = &state.ws(ws)?.tree;
        let name = &tree.file(id)?.name;
        if for_terminal(name) != **name {
            return None;
        }
        let path = tree.display_key(id);
        let skip = path.chars().count() - name.chars().count();
        let idx = corpus::indices(&self.pattern, &path, &mut self.matcher);
        let mut mask = vec![false; name.chars().count()];
        for i in idx {
            if let Some(m) = (i as usize).checked_sub(skip).and_then(|i| mask.get_mut(i)) {
                *m = true;
            }
        }
        mask.iter().any(|&m| m).then_some(mask)
    }
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
        match chars.iter().position(|&c| c == '…') {
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
