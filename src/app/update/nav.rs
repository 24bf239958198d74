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
            state.mark_anchor = Some(row);
        }
        select(state, (state.selected + 1).min(last));
    }
}

/// The folder a row is in: (workspace, folder id); a workspace row stands for its root.
fn folder_of(state: &State, row: Row) -> Option<(usize, u32)> {
    match row {
        Row::Workspace { ws } | Row::Status { ws } => Some((ws, ROOT)),
        Row::Folder { ws, id } => Some((ws, state.ws(ws)?.tree.parent_of(id))),
        Row::File { ws, id } => Some((ws, state.ws(ws)?.tree.folder_of(id))),
    }
}

/// The rows shown in the cursor's folder (its files and folders, not what is inside the
/// open ones): what Ctrl-a marks and Ctrl-r inverts.
fn in_cursor_folder(state: &State) -> Vec<Row> {
    let Some(here) = state.selected_row().and_then(|r| folder_of(state, r)) else {
        return Vec::new();
    };
    state
        .rows
        .iter()
        .filter(|r| matches!(r, Row::File { .. } | Row::Folder { .. }))
        .filter(|r| folder_of(state, **r) == Some(here))
        .copied()
        .collect()
}

/// Ctrl-a: mark every file and folder shown in the cursor's folder.
pub(super) fn mark_all(state: &mut State) {
    let rows = in_cursor_folder(state);
    let n = rows.len();
    state.marked.extend(rows);
    state.info(format!("{} marked in this folder.", group(n as u64)));
}

/// Ctrl-r: mark what is unmarked in the cursor's folder, and unmark what is marked.
pub(super) fn invert_marks(state: &mut State) {
    for row in in_cursor_folder(state) {
        if !state.marked.remove(&row) {
            state.marked.insert(row);
        }
    }
}

/// `v`: mark every file and folder row from the anchor (the row last marked with Space
/// or `v`) to the cursor, both ends included, in the cursor's workspace; the cursor's row
/// becomes the next anchor. Without an anchor on screen, it marks the cursor's row.
pub(super) fn mark_range(state: &mut State) {
    let Some(here @ (Row::File { ws, .. } | Row::Folder { ws, .. })) = state.selected_row() else {
        return;
    };
    let from = state
        .mark_anchor
        .and_then(|a| state.rows.iter().position(|r| *r == a))
        .unwrap_or(state.selected);
    let (lo, hi) = (from.min(state.selected), from.max(state.selected));
    let range: Vec<Row> = state
        .rows
        .iter()
        .skip(lo)
        .take(hi - lo + 1)
        .filter(|r| matches!(r, Row::File { ws: w, .. } | Row::Folder { ws: w, .. } if *w == ws))
        .copied()
        .collect();
    state.marked.extend(range);
    state.mark_anchor = Some(here);
}

/// `t`: to the transfers pane, and from it back to the pane focus came from.
pub(super) fn focus_transfers(state: &mut State) {
    if state.focus == Pane::Transfers {
        state.focus = state.focus_before.take().unwrap_or(Pane::Tree);
        if state.focus == Pane::Details && !state.details_shown() {
            state.focus = Pane::Tree;
        }
    } else if state.transfers.is_empty() {
        state.info("No transfers yet.");
    } else {
        state.focus_before = Some(state.focus);
        state.focus = Pane::Transfers;
    }
}

/// `.`: hide or show dotfiles. Shown by default: a data user looking for `.env` or a
/// `.snakemake/` folder must not think it missing, and deleting a folder takes its hidden
/// files too, so they should be seen first. Hidden rows keep their marks.
pub(super) fn toggle_hidden(state: &mut State) {
    state.hide_dotfiles = !state.hide_dotfiles;
    state.reflatten();
    state.info(if state.hide_dotfiles {
        "Dotfiles hidden (. shows them)."
    } else {
        "Dotfiles shown."
    });
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
