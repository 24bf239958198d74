//! The tree pane: only the rows on screen are built, whatever the tree's size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row as TableRow, Table};

use super::{fmt, theme};
use crate::app::State;
use crate::app::state::{Pane, Row};
use crate::sanitize::for_terminal;

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let focused = state.focus == Pane::Tree && state.dialog.is_none();
    let total = state.rows.len();
    let title = if total > state.viewport() && total > 0 {
        format!(" Workspaces {}/{} ", fmt::group(state.selected as u64 + 1), fmt::group(total as u64))
    } else {
        " Workspaces ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(if focused { theme::BORDER_FOCUSED } else { theme::BORDER });
    let height = area.height.saturating_sub(2) as usize;
    let end = (state.offset + height).min(total);
    let rows = state.rows[state.offset.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (left, right) = cells(state, *row);
            let r = TableRow::new(vec![Cell::from(left), Cell::from(right)]);
            if state.offset + i == state.selected {
                r.style(if focused { theme::SELECTED } else { theme::SELECTED_UNFOCUSED })
            } else {
                r
            }
        });
    let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(24)])
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

fn indent(depth: u16) -> String {
    "  ".repeat(depth as usize)
}

fn cells(state: &State, row: Row) -> (Line<'static>, Line<'static>) {
    let ws = &state.workspaces[row.ws()];
    let partial = fmt::at_least(ws.partial());
    match row {
        Row::Workspace { .. } => {
            let arrow = if ws.expanded { "▾ " } else { "▸ " };
            let mut name = for_terminal(&ws.id);
            if let Some(n) = ws.name.as_deref().filter(|n| *n != ws.id) {
                name.push_str(&format!(" ({})", for_terminal(n)));
            }
            let root = &ws.tree.folders[0];
            let right = if ws.listing.started {
                format!("{partial}{} files {}", fmt::group(root.count), fmt::size(root.bytes))
            } else {
                String::new()
            };
            (
                Line::from(vec![Span::raw(arrow), Span::styled(name, theme::WORKSPACE)]),
                Line::from(right).right_aligned(),
            )
        }
        Row::Folder { id, .. } => {
            let f = &ws.tree.folders[id as usize];
            let arrow = if ws.open.contains(&id) { "▾ " } else { "▸ " };
            (
                Line::from(vec![
                    Span::raw(format!("{}{arrow}", indent(f.depth))),
                    Span::styled(format!("{}/", for_terminal(&f.name)), theme::FOLDER),
                ]),
                Line::from(format!("{partial}{} files {}", fmt::group(f.count), fmt::size(f.bytes)))
                    .right_aligned(),
            )
        }
        Row::File { id, .. } => {
            let f = &ws.tree.files[id as usize];
            let depth = ws.tree.folders[f.folder as usize].depth + 1;
            (
                Line::from(format!("{}  {}", indent(depth), for_terminal(&f.name))),
                Line::from(fmt::size(f.size)).right_aligned(),
            )
        }
        Row::Status { .. } => {
            let text = if let Some(e) = &ws.listing.error {
                Span::styled(format!("  ✗ {}", for_terminal(e.lines().next().unwrap_or(""))), theme::ERROR)
            } else if !ws.listing.complete {
                Span::styled(format!("  {} loading…", fmt::spinner(state.spinner)), theme::LOADING)
            } else {
                Span::styled("  (no files)", theme::DIM)
            };
            (Line::from(vec![Span::raw("  "), text]), Line::default())
        }
    }
}
