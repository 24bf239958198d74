//! The pointer: a click selects the row under it in any pane (and focuses that pane), a
//! double click opens a folder or does what Enter does, the wheel scrolls the pane under
//! it. Time comes in with the message: `update` reads no clock.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::super::layout::hit;
use super::super::look::DOUBLE_CLICK_MS;
use super::super::msg::{Action, Command};
use super::super::state::{Pane, Row, State};
use super::{nav, transfers};

/// Rows one wheel notch moves.
const WHEEL_ROWS: usize = 3;

pub(super) fn on_mouse(state: &mut State, ev: MouseEvent, at_ms: u64) -> Vec<Command> {
    // A dialog keeps the keyboard's answer: the pointer does nothing under it. Motion
    // (reported while capture is on) means nothing here.
    if state.dialog.is_some() || matches!(ev.kind, MouseEventKind::Moved) {
        return Vec::new();
    }
    let Some((pane, row)) = hit(state, ev.column, ev.row) else {
        return Vec::new();
    };
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            state.notice = None;
            state.dirty = true;
            click(state, pane, row, at_ms)
        }
        MouseEventKind::ScrollDown => {
            wheel(state, pane, true);
            Vec::new()
        }
        MouseEventKind::ScrollUp => {
            wheel(state, pane, false);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn click(state: &mut State, pane: Pane, row: Option<usize>, at_ms: u64) -> Vec<Command> {
    let double = matches!(
        (state.look.last_click, row),
        (Some((p, r, t)), Some(now)) if p == pane && r == now && at_ms.saturating_sub(t) <= DOUBLE_CLICK_MS
    );
    // The second press of a double click does not start a third.
    state.look.last_click = match (double, row) {
        (false, Some(r)) => Some((pane, r, at_ms)),
        _ => None,
    };
    state.focus = pane;
    let Some(row) = row else {
        return Vec::new();
    };
    match pane {
        Pane::Tree => {
            nav::select(state, row);
            if double {
                return open(state);
            }
        }
        Pane::Transfers => transfers::select(state, row),
        Pane::Details => {}
    }
    Vec::new()
}

/// A double click: a closed folder opens, an open one closes; elsewhere Enter's work.
fn open(state: &mut State) -> Vec<Command> {
    let open_folder = match state.selected_row() {
        Some(Row::Folder { ws, id }) => state.ws(ws).is_some_and(|w| w.open.contains(&id)),
        Some(Row::Workspace { ws }) => state.ws(ws).is_some_and(|w| w.expanded),
        _ => false,
    };
    if open_folder {
        nav::collapse(state);
        return Vec::new();
    }
    nav::expand(state)
}

fn wheel(state: &mut State, pane: Pane, down: bool) {
    state.dirty = true;
    match pane {
        Pane::Tree => {
            let last = state.rows.len().saturating_sub(1);
            let to = if down {
                (state.selected + WHEEL_ROWS).min(last)
            } else {
                state.selected.saturating_sub(WHEEL_ROWS)
            };
            nav::select(state, to);
        }
        Pane::Transfers => {
            for _ in 0..WHEEL_ROWS {
                transfers::move_cursor(state, if down { Action::Down } else { Action::Up });
            }
        }
        Pane::Details => {}
    }
}

/// `m`: mouse capture on or off; the runtime applies it.
pub(super) fn toggle(state: &mut State) {
    state.look.mouse = !state.look.mouse;
    state.info(if state.look.mouse {
        "Mouse on: click, double-click, wheel. m turns it off (the terminal's own selection)."
    } else {
        "Mouse off: the terminal's own selection works. m turns it back on."
    });
}
