//! Moving in the tree: the cursor, opening and closing workspaces and folders, marks.

use crate::app::count::group;
use crate::app::msg::Command;
use crate::app::state::{Pane, Row, State};
use crate::app::tree::ROOT;

use super::listing::start_listing;

/// Space: mark or unmark the row under the cursor, then move down.
pub(super) fn toggle_mark(state: &mut State) {
    let last = state.rows.len().saturating_sub(1);
    if let Some(row @ (Row::File { .. } | Row::Folder { .. })) = state.selected_row() {
        if !state.marked.remove(&row) {
            state.marked.insert(row);
        }
        select(state, (state.selected + 1).min(last));
    }
}

/// Esc: clear every mark.
pub(super) fn clear_marks(state: &mut State) {
    let n = state.marked.len();
    if n > 0 {
        state.marked.clear();
        state.info(format!(
            "{} mark{} cleared.",
            group(n as u64),
            if n == 1 { "" } else { "s" }
        ));
    }
}

pub(super) fn select(state: &mut State, i: usize) {
    state.selected = i;
    state.scroll_into_view();
}

pub(super) fn expand(state: &mut State) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let mut cmds = Vec::new();
    match row {
        Row::Workspace { ws } => {
            let Some(w) = state.ws_mut(ws) else {
                return cmds;
            };
            if w.expanded {
                select(
                    state,
                    (state.selected + 1).min(state.rows.len().saturating_sub(1)),
                );
                return cmds;
            }
            w.expanded = true;
            if !w.listing.started {
                cmds = start_listing(state, ws);
            }
        }
        Row::Folder { ws, id } => {
            let Some(w) = state.ws_mut(ws) else {
                return cmds;
            };
            if !w.open.insert(id) {
                select(
                    state,
                    (state.selected + 1).min(state.rows.len().saturating_sub(1)),
                );
                return cmds;
            }
        }
        Row::File { .. } | Row::Status { .. } => {
            state.focus = Pane::Details;
            return cmds;
        }
    }
    state.reflatten();
    cmds
}

pub(super) fn collapse(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    match row {
        Row::Workspace { ws } => {
            if let Some(w) = state.ws_mut(ws)
                && w.expanded
            {
                w.expanded = false;
                state.reflatten();
            }
        }
        Row::Folder { ws, id } if state.ws(ws).is_some_and(|w| w.open.contains(&id)) => {
            if let Some(w) = state.ws_mut(ws) {
                w.open.remove(&id);
            }
            state.reflatten();
        }
        Row::Folder { ws, id } => {
            let parent = state.ws(ws).map_or(ROOT, |w| w.tree.parent_of(id));
            select_parent(state, ws, parent);
        }
        Row::File { ws, id } => {
            let parent = state.ws(ws).map_or(ROOT, |w| w.tree.folder_of(id));
            select_parent(state, ws, parent);
        }
        Row::Status { ws } => select_parent(state, ws, ROOT),
    }
}

fn select_parent(state: &mut State, ws: usize, folder: u32) {
    let target = if folder == ROOT {
        Row::Workspace { ws }
    } else {
        Row::Folder { ws, id: folder }
    };
    if let Some(i) = state.rows.iter().position(|r| *r == target) {
        select(state, i);
    }
}
