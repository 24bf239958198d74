//! The tree pane: only the rows on screen are built, whatever the tree's size.
//! Each row is a name on the left (truncated with "…" when it must be) and a
//! right-aligned figure (count and size, or size).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::fmt;
use super::theme::{self, Theme};
use crate::app::State;
use crate::app::count::group;
use crate::app::state::{Pane, Row};
use crate::app::tree::ROOT;
use crate::sanitize::for_terminal;

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    let focused = state.focus == Pane::Tree && state.dialog.is_none();
    let total = state.rows.len();
    let mut title = if total > state.viewport() {
        format!(
            " Workspaces {}/{} ",
            group(state.selected as u64 + 1),
            group(total as u64)
        )
    } else {
        " Workspaces ".to_string()
    };
    // The order within folders of the cursor's workspace (each keeps its own), always: a
    // listing that looks unsorted should never leave the user guessing.
    if let Some(w) = state.selected_row().and_then(|r| state.ws(r.ws())) {
        title.push_str(&format!("· {} ", w.order.label()));
    }
    // Marks act on `d` and `x` wherever they are (scrolled away, in a closed folder, in
    // another workspace): their count is always in sight.
    if let Some(m) = crate::app::marks::summary(state) {
        let marks = format!("· {} ", fmt::marks(&m));
        // A narrow pane keeps the marks whole: the pane's name gives way.
        if title.width() + marks.width() + 2 > usize::from(area.width) {
            title = title.replacen(" Workspaces", "", 1);
        }
        title.push_str(&marks);
    }
    if let Some(f) = super::filter::title(state) {
        title.push_str(&f);
    }
    if title.width() + 2 > usize::from(area.width) {
        title = title.replacen(" Workspaces", "", 1);
    }
    let mut marker = super::filter::Marker::new(state);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(if focused {
            th.border_focused
        } else {
            th.border
        });
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let end = (state.offset + height).min(total);
    let lines: Vec<Line> = state
        .rows
        .get(state.offset.min(end)..end)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (prefix, mut name, name_style, figures) = cells(state, *row);
            let mut mask = marker.as_mut().and_then(|m| m.name_mask(state, *row));
            if state.marked.contains(row) {
                name.insert_str(0, "✓ ");
                if let Some(m) = &mut mask {
                    m.splice(0..0, [false, false]);
                }
            }
            let hl = mask.as_deref().map(|m| (m, th.matched));
            let line = layout_row(th, &prefix, &name, name_style, hl, &figures, width);
            if state.offset + i == state.selected {
                // The selection's colours win over the name's (a blue folder name on a
                // blue bar would vanish).
                let sel = if focused {
                    th.selected
                } else {
                    th.selected_unfocused
                };
                let mut line = line.style(sel);
                for span in &mut line.spans {
                    span.style = span.style.patch(sel);
                }
                line
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Columns a name keeps before any figure is shown beside it.
const MIN_NAME: usize = 12;

/// `prefix name … figure`, fitted to `width` cells. `figures` go from the fullest to the
/// shortest: the first that leaves the name its columns is shown, none if none does.
fn layout_row(
    th: &Theme,
    prefix: &str,
    name: &str,
    style: Style,
    hl: Option<(&[bool], Style)>,
    figures: &[String],
    width: usize,
) -> Line<'static> {
    let pw = prefix.width();
    let wanted = name.width().min(MIN_NAME);
    let right = figures
        .iter()
        .find(|f| pw + wanted + 1 + f.width() <= width)
        .map_or("", String::as_str);
    let rw = right.width();
    let room = width.saturating_sub(pw + if rw > 0 { rw + 1 } else { 0 });
    let shown = fmt::truncate_middle(name, room);
    let gap = width.saturating_sub(pw + shown.width() + rw);
    let mut spans = vec![Span::raw(prefix.to_string())];
    match hl {
        Some((mask, hl)) => spans.extend(super::filter::spans(shown, name, mask, style, hl)),
        None => spans.push(Span::styled(shown, style)),
    }
    spans.push(Span::raw(" ".repeat(gap)));
    if rw > 0 {
        spans.push(Span::styled(right.to_string(), th.dim_figure));
    }
    Line::from(spans)
}

fn indent(depth: u32) -> String {
    "  ".repeat(depth as usize)
}

fn files(n: u64) -> String {
    format!("{} file{}", group(n), if n == 1 { "" } else { "s" })
}

/// A folder's figures: count and size, or the size alone where columns are short.
fn figures(partial: &str, count: u64, total: String) -> Vec<String> {
    vec![format!("{partial}{}  {total}", files(count)), total]
}

type Cells = (String, String, Style, Vec<String>);

fn cells(state: &State, row: Row) -> Cells {
    let th = theme::of(state.look.theme);
    let blank = || (String::new(), String::new(), Style::new(), Vec::new());
    let Some(ws) = state.workspaces.get(row.ws()) else {
        return blank();
    };
    let partial = fmt::at_least(ws.partial());
    match row {
        Row::Workspace { .. } => {
            let arrow = if ws.expanded { "▾ " } else { "▸ " };
            let mut name = for_terminal(&ws.id);
            if let Some(n) = ws.name.as_deref().filter(|n| *n != ws.id) {
                name.push_str(&format!(" ({})", for_terminal(n)));
            }
            let Some(root) = ws.tree.folder(ROOT) else {
                return blank();
            };
            // "≥ 0 files" says nothing: the figures wait for the first file.
            let right = if ws.listing.started && (root.count > 0 || !ws.partial()) {
                figures(
                    partial,
                    root.count,
                    fmt::total(root.bytes, root.unknown_sizes, ws.partial()),
                )
            } else {
                Vec::new()
            };
            (arrow.into(), name, th.workspace, right)
        }
        Row::Folder { id, .. } => {
            let Some(f) = ws.tree.folder(id) else {
                return blank();
            };
            // Under a filter every folder shown is open (it holds a match).
            let filtered = state.filter.as_ref().is_some_and(|f| f.on(row.ws()));
            let arrow = if filtered || ws.open.contains(&id) {
                "▾ "
            } else {
                "▸ "
            };
            (
                format!("{}{arrow}", indent(u32::from(f.depth))),
                format!("{}/", for_terminal(&f.name)),
                th.folder,
                figures(
                    partial,
                    f.count,
                    fmt::total(f.bytes, f.unknown_sizes, ws.partial()),
                ),
            )
        }
        Row::File { id, .. } => {
            let Some(f) = ws.tree.file(id) else {
                return blank();
            };
            // A u32: a file under a folder at the deepest u16 depth is one deeper still.
            let depth = ws.tree.folder(f.folder).map_or(0, |d| u32::from(d.depth)) + 1;
            (
                format!("{}  ", indent(depth)),
                for_terminal(&f.name),
                Style::new(),
                vec![fmt::maybe_size(f.size())],
            )
        }
        Row::Status { .. } => {
            let (text, style) = if let Some(e) = &ws.listing.error {
                (
                    format!("✗ {}", for_terminal(e.lines().next().unwrap_or(""))),
                    th.error,
                )
            } else if !ws.listing.complete {
                (
                    format!("{} loading…", fmt::spinner(state.spinner)),
                    th.loading,
                )
            } else {
                ("(no files)".to_string(), th.dim)
            };
            ("    ".into(), text, style, Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::fmt::{truncate, truncate_middle};

    fn row(name: &str, width: usize) -> String {
        let figures = ["3 files  1.20 GiB".to_string(), "1.20 GiB".to_string()];
        layout_row(
            theme::of(crate::config::ThemeName::Auto),
            "  ▸ ",
            name,
            Style::new(),
            None,
            &figures,
            width,
        )
        .to_string()
    }

    #[test]
    fn names_keep_twelve_columns_before_figures() {
        let long = "bioinformatics_pipeline/";
        assert_eq!(row("raw/", 30), "  ▸ raw/     3 files  1.20 GiB");
        // The count gives way first, then the size; the name keeps 12 columns.
        assert_eq!(row(long, 34), "  ▸ bioinformat… 3 files  1.20 GiB");
        assert_eq!(row(long, 33), "  ▸ bioinformatic…eline/ 1.20 GiB");
        assert_eq!(row(long, 20), "  ▸ bioinformatics_…");
        assert_eq!(row(long, 16), "  ▸ bioinformat…");
        assert_eq!(row("raw/", 16), "  ▸ raw/        ");
    }

    #[test]
    fn a_cut_name_keeps_its_end() {
        let name = "sample_0042_lane3_R1.fastq.gz";
        let cut = truncate_middle(name, 24);
        assert_eq!(cut, "sample_0042…_R1.fastq.gz");
        assert_eq!(cut.width(), 24);
        assert_eq!(truncate_middle(name, 40), name);
        assert_eq!(
            truncate_middle(name, 12),
            truncate(name, 12),
            "too small to split"
        );
    }

    #[test]
    fn a_key_of_65535_segments_indents_without_wrapping() {
        use crate::api::FileEntry;
        let mut s = State::new("http://x", &["ws".to_string()], 80, 24);
        let key = format!("{}f", "a/".repeat(65_535));
        let entry = FileEntry {
            size: Some(1),
            ..FileEntry::of_key(&key)
        };
        s.workspaces[0].tree.add([entry]);
        let tree = &s.workspaces[0].tree;
        let deepest = tree.files[0].folder;
        assert_eq!(tree.folders[deepest as usize].depth, u16::MAX);
        let (prefix, name, _, _) = cells(&s, Row::File { ws: 0, id: 0 });
        assert_eq!(name, "f");
        assert_eq!(prefix.len(), 2 * (usize::from(u16::MAX) + 1) + 2);
        let (prefix, ..) = cells(&s, Row::Folder { ws: 0, id: deepest });
        assert!(prefix.len() > 2 * usize::from(u16::MAX));
    }
}
