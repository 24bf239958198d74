//! `draw(&mut Frame, &State)`: pure. Reads the state, writes cells, nothing else.

mod details;
mod dialog;
pub mod fmt;
mod theme;
mod transfers;
mod tree;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::State;
use crate::app::state::Level;
use crate::sanitize::for_terminal;

/// Status line + footer + the tree block's borders.
const CHROME_ROWS: u16 = 4;

/// How many tree rows fit on a screen of this size (update uses it to scroll).
pub fn tree_viewport(_width: u16, height: u16, transfers: usize) -> usize {
    height.saturating_sub(CHROME_ROWS + transfers_height(height, transfers)) as usize
}

/// Rows of the transfers pane (borders included): none without transfers, at most a
/// third of the screen.
pub fn transfers_height(height: u16, transfers: usize) -> u16 {
    if transfers == 0 {
        return 0;
    }
    (transfers.min(8) as u16 + 2).min(height / 3).max(3)
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
    let tree_share = if area.width >= 100 { 55 } else { 50 };
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(tree_share),
        Constraint::Percentage(100 - tree_share),
    ])
    .areas(main);
    tree::draw(frame, left, state);
    details::draw(frame, right, state);
    draw_status(frame, status, state);
    draw_footer(frame, footer, state);
    dialog::draw(frame, area, state);
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
                fmt::group(w.tree.file_count())
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

fn draw_footer(frame: &mut Frame, area: Rect, state: &State) {
    let hints: &[(&str, &str)] = match &state.dialog {
        Some(crate::app::state::Dialog::ConfirmDelete(_)) => {
            &[("y/Enter", "delete"), ("n/Esc", "cancel")]
        }
        Some(crate::app::state::Dialog::Help) => &[("?/Esc", "close help")],
        Some(crate::app::state::Dialog::Path { .. }) => &[("Enter", "start"), ("Esc", "cancel")],
        Some(crate::app::state::Dialog::Conflicts { .. }) => &[
            ("o s i k", "this one"),
            ("O S I K", "all"),
            ("Esc", "skip all"),
        ],
        Some(crate::app::state::Dialog::ConfirmResume { .. }) => {
            &[("y/Enter", "resume"), ("n/Esc", "drop")]
        }
        Some(crate::app::state::Dialog::ConfirmQuit { .. }) => {
            &[("y/Enter", "quit"), ("n/Esc", "stay")]
        }
        Some(crate::app::state::Dialog::WorkspacePrompt(_)) => {
            &[("Enter", "open"), ("Esc", "cancel")]
        }
        None => &[
            ("↑↓", "move"),
            ("→", "open"),
            ("←", "back"),
            ("r", "refresh"),
            ("x", "delete"),
            ("u", "upload"),
            ("d", "download"),
            ("Tab", "pane"),
            ("?", "help"),
            ("q", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (k, what) in hints {
        spans.push(Span::styled(format!(" {k}"), theme::KEY));
        spans.push(Span::raw(format!(" {what} ")));
    }
    if let Some(n) = &state.notice
        && n.level == Level::Info
        && state.dialog.is_none()
    {
        spans.clear();
        spans.push(Span::styled(
            format!(" {}", for_terminal(&n.text)),
            theme::INFO,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme::FOOTER), area);
}
