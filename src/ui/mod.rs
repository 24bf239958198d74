//! `draw(&mut Frame, &State)`: pure. Reads the state, writes cells, nothing else.

mod details;
mod dialog;
mod filter;
pub mod fmt;
mod help;
mod preview;
mod prompt;
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
use crate::app::layout::{DETAILS_MIN_WIDTH, panes};
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
    let p = panes(area, state.transfers.len(), state.details_shown());
    transfers::draw(frame, p.transfers, state);
    tree::draw(frame, p.tree, state);
    if let Some(right) = p.details {
        details::draw(frame, right, state);
    }
    let (status, footer) = (p.status, p.footer);
    draw_status(frame, status, state);
    draw_footer(frame, footer, state);
    // Dialogs leave the footer uncovered: it names their keys too.
    let above_footer = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    if state.preview.full {
        preview::draw_full(frame, above_footer, state);
    }
    if let Some(crate::app::state::Dialog::Path { kind, input }) = &state.dialog {
        prompt::draw(frame, above_footer, state, kind, input);
    }
    dialog::draw(frame, above_footer, state);
}

fn draw_status(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    let sep = Span::styled(" │ ", th.dim);
    // The demo shows its whole URL and session key: what the CLI needs to reach it.
    let host = match &state.demo {
        Some(d) => format!(
            " demo {} key {}",
            for_terminal(&d.url),
            for_terminal(&d.key)
        ),
        None => format!(" {}", state.endpoint),
    };
    let mut spans = vec![Span::styled(host, th.status_host)];
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
            th.loading,
        ));
    } else if state.workspaces.is_empty() {
        spans.push(sep.clone());
        spans.push(Span::styled(
            format!("{} finding workspaces…", fmt::spinner(state.spinner)),
            th.loading,
        ));
    }
    if let Some(e) = &state.last_error {
        spans.push(sep);
        let first = e.lines().next().unwrap_or("");
        spans.push(Span::styled(format!("✗ {}", for_terminal(first)), th.error));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(th.status), area);
}

/// A key and what it does, with its rank: on a narrow screen the highest ranks go first.
/// The keys are the keymap's in force.
type Hint = (String, &'static str, u8);

fn hints(state: &State) -> Vec<Hint> {
    use crate::app::Action as A;
    use crate::app::keymap::{Bound, DialogAction as D};
    let map = &state.keymap;
    let hint = |d: D| map.hint(Bound::Dialog(d));
    let short = |a: A| map.short(Bound::Main(a));
    let group = |ds: &[D]| {
        ds.iter()
            .map(|d| map.short(Bound::Dialog(*d)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let dialog: Vec<(String, &'static str)> = match &state.dialog {
        Some(Dialog::ConfirmDelete(_)) => vec![(hint(D::Yes), "delete"), (hint(D::No), "cancel")],
        Some(Dialog::Help) => {
            let keys = map.keys(Bound::Dialog(D::HelpClose));
            let keys: Vec<String> = keys.iter().take(2).map(ToString::to_string).collect();
            vec![(keys.join("/"), "close help")]
        }
        Some(Dialog::Path {
            kind: crate::app::state::PromptKind::Jump { .. },
            ..
        }) => vec![
            (hint(D::Submit), "go"),
            (hint(D::Complete), "complete"),
            (hint(D::Cancel), "cancel"),
        ],
        Some(Dialog::Path { .. }) => vec![
            (hint(D::Submit), "start"),
            (hint(D::Complete), "complete"),
            (hint(D::Cancel), "cancel"),
        ],
        Some(Dialog::Conflicts { .. }) => vec![
            (
                group(&[D::Overwrite, D::Skip, D::SkipIfIdentical, D::KeepBoth]),
                "this one",
            ),
            (
                group(&[
                    D::OverwriteAll,
                    D::SkipAll,
                    D::SkipIfIdenticalAll,
                    D::KeepBothAll,
                ]),
                "all",
            ),
            (hint(D::SkipRest), "skip all"),
        ],
        Some(Dialog::ConfirmResume { .. }) => vec![(hint(D::Yes), "resume"), (hint(D::No), "drop")],
        Some(Dialog::ConfirmQuit { .. }) => vec![(hint(D::Yes), "quit"), (hint(D::No), "stay")],
        Some(Dialog::WorkspacePrompt(_)) => {
            vec![(hint(D::Submit), "open"), (hint(D::Cancel), "cancel")]
        }
        None => Vec::new(),
    };
    if state.dialog.is_some() {
        // A dialog's keys are few; the later ones give way first.
        return dialog
            .into_iter()
            .enumerate()
            .map(|(i, (k, w))| (k, w, u8::try_from(i).unwrap_or(u8::MAX)))
            .collect();
    }
    if state.preview.full {
        let p = |d: D| map.short(Bound::Dialog(d));
        let keys = vec![
            (
                format!("{}{}", p(D::PreviewUp), p(D::PreviewDown)),
                "scroll",
                2,
            ),
            (
                format!("{}/{}", p(D::PreviewPageUp), p(D::PreviewPageDown)),
                "page",
                3,
            ),
            (
                format!("{} {}", p(D::PreviewTop), p(D::PreviewBottom)),
                "top/end",
                4,
            ),
            (p(D::PreviewClose), "close", 1),
        ];
        return keys
            .into_iter()
            .filter(|h| !h.0.trim().is_empty())
            .collect();
    }
    let narrow = state.width < DETAILS_MIN_WIDTH;
    let updown = format!("{}{}", short(A::Up), short(A::Down));
    let rows: Vec<(A, &'static str, u8)> = if state.focus == Pane::Transfers {
        vec![
            (A::CancelTransfer, "cancel", 1),
            (A::CancelAll, "cancel all", 3),
            (A::RetryFailed, "retry failed", 2),
            (A::Delete, "remove row", 4),
            (A::ClearFinished, "clear finished", 4),
            (A::NextPane, "pane", 2),
            (A::Quit, "quit", 1),
        ]
    } else if !state.marked.is_empty() {
        // With marks, d and x act on them: the footer says so.
        vec![
            (A::Mark, "mark", 6),
            (A::Download, "download marked", 2),
            (A::Delete, "delete marked", 3),
            (A::ClearMarks, "unmark all", 2),
            (A::NextPane, "pane", 5),
            (A::Quit, "quit", 1),
        ]
    } else {
        vec![
            (A::Expand, "open", 2),
            (A::Collapse, "back", 7),
            (A::Refresh, "refresh", 6),
            (A::Delete, "delete", 5),
            (A::Upload, "upload", 3),
            (A::Download, "download", 3),
            (A::NextPane, "pane", 5),
            (A::Quit, "quit", 1),
        ]
    };
    let move_rank = if state.focus == Pane::Transfers { 6 } else { 8 };
    let mut out: Vec<Hint> = vec![(updown, "move", move_rank)];
    // A filter kept: its matches are a key away, and Esc ends it.
    if state.focus != Pane::Transfers && state.filter.as_ref().is_some_and(|f| f.active()) {
        out.push((
            format!("{}{}", short(A::NextMatch), short(A::PrevMatch)),
            "match",
            2,
        ));
        out.push((short(A::ClearMarks), "unfilter", 3));
    }
    out.extend(
        rows.into_iter()
            .map(|(a, what, rank)| (short(a), what, rank)),
    );
    if narrow {
        out.insert(out.len() - 1, (short(A::ToggleDetails), "details", 4));
    }
    out.insert(out.len() - 1, (short(A::Help), "help", 0));
    // An action left without a key has no hint.
    out.retain(|h| !h.0.is_empty());
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
    let th = theme::of(state.look.theme);
    let width = area.width as usize;
    let mut spans = Vec::new();
    // The filter's keys, beside its input while it is typed in.
    let keys = format!(
        " {} keep  {} clear ",
        state.keymap.short(crate::app::keymap::Bound::Dialog(
            crate::app::keymap::DialogAction::Submit
        )),
        state.keymap.short(crate::app::keymap::Bound::Dialog(
            crate::app::keymap::DialogAction::Cancel
        ))
    );
    let notice = state
        .notice
        .as_ref()
        .filter(|n| n.level == Level::Info && state.dialog.is_none());
    if let Some(n) = notice {
        // The notice takes the line, but `? help` stays at its end.
        let help = " ? help ";
        let text = fmt::truncate(
            &format!(" {}", for_terminal(&n.text)),
            width.saturating_sub(help.width()),
        );
        let gap = width.saturating_sub(text.width() + help.width());
        spans.push(Span::styled(text, th.info));
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(" ?", th.key));
        spans.push(Span::raw(" help "));
    } else if state.dialog.is_none()
        && let Some((line, cursor)) = filter::footer(state, th, width.saturating_sub(keys.width()))
        && cursor.is_some()
    {
        // The filter's input takes the line while it is typed in.
        spans.extend(line);
        let used: usize = spans.iter().map(|s| s.content.width()).sum();
        spans.push(Span::raw(
            " ".repeat(width.saturating_sub(used + keys.width())),
        ));
        spans.push(Span::styled(keys, th.dim));
        if let Some(c) = cursor {
            let x = area.x.saturating_add(saturating_u16(c));
            frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        }
    } else {
        let mut width = width;
        if state.dialog.is_none()
            && let Some((line, _)) = filter::footer(state, th, width)
        {
            width = width.saturating_sub(line.iter().map(|s| s.content.width()).sum());
            spans.extend(line);
        }
        if state.dialog.is_none()
            && let Some(m) = crate::app::marks::summary(state)
        {
            let text = format!(" ✓ {}", fmt::marks(&m));
            width = width.saturating_sub(text.width());
            spans.push(Span::styled(text, th.warn));
        }
        for (k, what, _) in fit(hints(state), width) {
            spans.push(Span::styled(format!(" {k}"), th.key));
            spans.push(Span::raw(format!(" {what} ")));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(th.footer), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_drops_by_rank_and_keeps_help() {
        let all: Vec<Hint> = vec![
            ("a".into(), "one", 3),
            ("?".into(), "help", 0),
            ("b".into(), "two", 1),
        ];
        let keys = |w| {
            fit(all.clone(), w)
                .into_iter()
                .map(|h| h.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(100), ["a", "?", "b"]);
        assert_eq!(keys(17), ["?", "b"]);
        assert_eq!(keys(3), ["?"]);
    }
}
