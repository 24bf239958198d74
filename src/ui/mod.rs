//! `draw(&mut Frame, &State)`: pure. Reads the state, writes cells, nothing else.

mod details;
mod dialog;
pub mod fmt;
mod help;
mod theme;
mod transfers;
mod tree;
mod wrap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use unicode_width::UnicodeWidthStr;

use crate::app::State;
use crate::app::count::group;
use crate::app::layout::{DETAILS_MIN_WIDTH, transfers_height};
use crate::app::state::{Dialog, Level, Pane};
use crate::sanitize::for_terminal;

/// A count of cells, rows or columns as ratatui's `u16`: a screen is never wider.
fn saturating_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// A box of this size in the middle of `area` (smaller where `area` is).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// A dialog's bordered frame.
fn block(title: &'static str, border: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border)
}

pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let [main, queue, status, footer] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(transfers_height(area.height, state.transfers.len())),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    transfers::draw(frame, queue, state);
    if state.details_shown() {
        let tree_share = if area.width >= 100 { 55 } else { 50 };
        let [left, right] = Layout::horizontal([
            Constraint::Percentage(tree_share),
            Constraint::Percentage(100 - tree_share),
        ])
        .areas(main);
        tree::draw(frame, left, state);
        details::draw(frame, right, state);
    } else {
        tree::draw(frame, main, state);
    }
    draw_status(frame, status, state);
    draw_footer(frame, footer, state);
    // Dialogs leave the footer uncovered: it names their keys too.
    let above_footer = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    dialog::draw(frame, above_footer, state);
}

fn draw_status(frame: &mut Frame, area: Rect, state: &State) {
    let sep = Span::styled(" │ ", theme::DIM);
    // The demo shows its whole URL and session key: what the CLI needs to reach it.
    let host = match &state.demo {
        Some(d) => format!(
            " demo {} key {}",
            for_terminal(&d.url),
            for_terminal(&d.key)
        ),
        None => format!(" {}", state.endpoint),
    };
    let mut spans = vec![Span::styled(host, theme::STATUS_HOST)];
    if let Some(row) = state.selected_row()
        && let Some(w) = state.workspaces.get(row.ws())
    {
        spans.push(sep.clone());
        spans.push(Span::raw(for_terminal(&w.id)));
    }
    if let Some(w) = state.loading() {
        spans.push(sep.clone());
        spans.push(Span::styled(
            format!(
                "{} listing {}: {} files…",
                fmt::spinner(state.spinner),
                for_terminal(&w.id),
                group(w.tree.file_count())
            ),
            theme::LOADING,
        ));
    } else if state.workspaces.is_empty() {
        spans.push(sep.clone());
        spans.push(Span::styled(
            format!("{} finding workspaces…", fmt::spinner(state.spinner)),
            theme::LOADING,
        ));
    }
    if let Some(e) = &state.last_error {
        spans.push(sep);
        let first = e.lines().next().unwrap_or("");
        spans.push(Span::styled(
            format!("✗ {}", for_terminal(first)),
            theme::ERROR,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme::STATUS), area);
}

/// A key and what it does, with its rank: on a narrow screen the highest ranks go first.
type Hint = (&'static str, &'static str, u8);

fn hints(state: &State) -> Vec<Hint> {
    let dialog: &[(&str, &str)] = match &state.dialog {
        Some(Dialog::ConfirmDelete(_)) => &[("y/Enter", "delete"), ("n/Esc", "cancel")],
        Some(Dialog::Help) => &[("?/Esc", "close help")],
        Some(Dialog::Path { .. }) => &[("Enter", "start"), ("Tab", "complete"), ("Esc", "cancel")],
        Some(Dialog::Conflicts { .. }) => &[
            ("o s i k", "this one"),
            ("O S I K", "all"),
            ("Esc", "skip all"),
        ],
        Some(Dialog::ConfirmResume { .. }) => &[("y/Enter", "resume"), ("n/Esc", "drop")],
        Some(Dialog::ConfirmQuit { .. }) => &[("y/Enter", "quit"), ("n/Esc", "stay")],
        Some(Dialog::WorkspacePrompt(_)) => &[("Enter", "open"), ("Esc", "cancel")],
        None => &[],
    };
    if state.dialog.is_some() {
        // A dialog's keys are few; the later ones give way first.
        return dialog
            .iter()
            .enumerate()
            .map(|(i, (k, w))| (*k, *w, u8::try_from(i).unwrap_or(u8::MAX)))
            .collect();
    }
    let narrow = state.width < DETAILS_MIN_WIDTH;
    let mut out: Vec<Hint> = if state.focus == Pane::Transfers {
        vec![
            ("↑↓", "move", 6),
            ("c", "cancel", 1),
            ("C", "cancel all", 3),
            ("R", "retry failed", 2),
            ("x", "remove row", 4),
            ("X", "clear finished", 4),
            ("Tab", "pane", 2),
            ("q", "quit", 1),
        ]
    } else if !state.marked.is_empty() {
        // With marks, d and x act on them: the footer says so.
        vec![
            ("↑↓", "move", 8),
            ("Space", "mark", 6),
            ("d", "download marked", 2),
            ("x", "delete marked", 3),
            ("Esc", "unmark all", 2),
            ("Tab", "pane", 5),
            ("q", "quit", 1),
        ]
    } else {
        vec![
            ("↑↓", "move", 8),
            ("→", "open", 2),
            ("←", "back", 7),
            ("r", "refresh", 6),
            ("x", "delete", 5),
            ("u", "upload", 3),
            ("d", "download", 3),
            ("Tab", "pane", 5),
            ("q", "quit", 1),
        ]
    };
    if narrow {
        out.insert(out.len() - 1, ("i", "details", 4));
    }
    out.insert(out.len() - 1, ("?", "help", 0));
    out
}

/// Hints in their order, the highest ranks dropped until they fit in `width`.
fn fit(mut hints: Vec<Hint>, width: usize) -> Vec<Hint> {
    let cells = |h: &Hint| h.0.width() + h.1.width() + 3;
    while hints.iter().map(cells).sum::<usize>() > width {
        let Some(worst) = hints.iter().map(|h| h.2).max().filter(|r| *r > 0) else {
            break;
        };
        if let Some(i) = hints.iter().rposition(|h| h.2 == worst) {
            hints.remove(i);
        }
    }
    hints
}

fn draw_footer(frame: &mut Frame, area: Rect, state: &State) {
    let width = area.width as usize;
    let mut spans = Vec::new();
    let notice = state
        .notice
        .as_ref()
        .filter(|n| n.level == Level::Info && state.dialog.is_none());
    if let Some(n) = notice {
        // The notice takes the line, but `? help` stays at its end.
        let help = " ? help ";
        let text = tree::truncate(
            &format!(" {}", for_terminal(&n.text)),
            width.saturating_sub(help.width()),
        );
        let gap = width.saturating_sub(text.width() + help.width());
        spans.push(Span::styled(text, theme::INFO));
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(" ?", theme::KEY));
        spans.push(Span::raw(" help "));
    } else {
        let mut width = width;
        if state.dialog.is_none()
            && let Some(m) = crate::app::marks::summary(state)
        {
            let text = format!(" ✓ {}", fmt::marks(&m));
            width = width.saturating_sub(text.width());
            spans.push(Span::styled(text, theme::WARN));
        }
        for (k, what, _) in fit(hints(state), width) {
            spans.push(Span::styled(format!(" {k}"), theme::KEY));
            spans.push(Span::raw(format!(" {what} ")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme::FOOTER), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_drops_by_rank_and_keeps_help() {
        let all: Vec<Hint> = vec![("a", "one", 3), ("?", "help", 0), ("b", "two", 1)];
        let keys = |w| fit(all.clone(), w).iter().map(|h| h.0).collect::<Vec<_>>();
        assert_eq!(keys(100), ["a", "?", "b"]);
        assert_eq!(keys(17), ["?", "b"]);
        assert_eq!(keys(3), ["?"]);
    }
}
