//! The pointer: a click selects the row under it in any pane (and focuses that pane), a
//! double click opens a folder or does what Enter does, the wheel scrolls the pane under
//! it. Time comes in with the message: `update` reads no clock.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::super::layout::{Area, Scroll, hit};
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
    let scroll = Scroll {
        width: state.width,
        height: state.height,
        details: state.details_shown(),
        offset: state.offset,
        rows: state.rows.len(),
        transfer_selected: state.transfer_selected,
        transfers: state.transfers.len(),
    };
    let Some((area, row)) = hit(scroll, ev.column, ev.row) else {
        return Vec::new();
    };
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            state.notice = None;
            state.dirty = true;
            click(state, area, row, at_ms)
        }
        MouseEventKind::ScrollDown => {
            wheel(state, area, true);
            Vec::new()
        }
        MouseEventKind::ScrollUp => {
            wheel(state, area, false);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn click(state: &mut State, area: Area, row: Option<usize>, at_ms: u64) -> Vec<Command> {
    let double = matches!(
        (state.look.last_click, row),
        (Some((a, r, t)), Some(now)) if a == area && r == now && at_ms.saturating_sub(t) <= DOUBLE_CLICK_MS
    );
    // The second press of a double click does not start a third.
    state.look.last_click = match (double, row) {
        (false, Some(r)) => Some((area, r, at_ms)),
        _ => None,
    };
    state.focus = match area {
        Area::Tree => Pane::Tree,
        Area::Details => Pane::Details,
        Area::Transfers => Pane::Transfers,
    };
    let Some(row) = row else {
        return Vec::new();
    };
    match area {
        Area::Tree => {
            nav::select(state, row);
            if double {
                return open(state);
            }
        }
        Area::Transfers => transfers::select(state, row),
        Area::Details => {}
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

fn wheel(state: &mut State, area: Area, down: bool) {
    state.dirty = true;
    match area {
        // The details pane shows the tree's selection, and the arrow keys there move it:
        // so does the wheel.
        Area::Tree | Area::Details => {
            let last = state.rows.len().saturating_sub(1);
            let to = if down {
                (state.selected + WHEEL_ROWS).min(last)
            } else {
                state.selected.saturating_sub(WHEEL_ROWS)
            };
            nav::select(state, to);
        }
        Area::Transfers => {
            for _ in 0..WHEEL_ROWS {
                transfers::move_cursor(state, if down { Action::Down } else { Action::Up });
            }
        }
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
