//! Listings: workspaces found, pages of a workspace or a folder arriving, refreshes (`r`
//! and after uploads), and what the user had open, selected and marked kept across them.

use std::collections::HashSet;

use crate::api::{FileEntry, Workspace};
use crate::app::count::group;
use crate::app::marks;
use crate::app::msg::{Command, ReqId};
use crate::app::state::{Dialog, ListingState, Refresh, Row, State, WorkspaceView};
use crate::app::transfer_types::TransferInfo;
use crate::app::tree::{ROOT, Tree};
use crate::sanitize::for_terminal;
use tui_input::Input;

pub(super) fn on_workspaces(
    state: &mut State,
    req: ReqId,
    result: Result<Option<Vec<Workspace>>, String>,
) -> Vec<Command> {
    if state.workspaces_req != Some(req) {
        return Vec::new();
    }
    state.workspaces_req = None;
    state.dirty = true;
    match result {
        Ok(Some(list)) if !list.is_empty() => {
            for w in list {
                if !state.workspaces.iter().any(|x| x.id == w.id) {
                    state.workspaces.push(WorkspaceView::new(w.id, w.name));
                }
            }
            if let Some(w) = state.workspaces.first_mut() {
                w.expanded = true;
            }
            let cmds = start_listing(state, 0);
            state.reflatten();
            return cmds;
        }
        Ok(_) => state.dialog = Some(Dialog::WorkspacePrompt(Input::default())),
        Err(e) => {
            state.error(format!("Cannot list workspaces: {e}"));
            state.dialog = Some(Dialog::WorkspacePrompt(Input::default()));
        }
    }
    Vec::new()
}

pub(super) fn on_page(
    state: &mut State,
    req: ReqId,
    files: Vec<FileEntry>,
    done: bool,
    maybe_incomplete: bool,
) -> Vec<Command> {
    let Some(wi) = state
        .workspaces
        .iter()
        .position(|w| w.listing.req == Some(req) || w.refreshes.iter().any(|r| r.req == req))
    else {
        return Vec::new(); // stale: the user moved on
    };
    let Some(w) = state.ws(wi) else {
        return Vec::new();
    };
    let refresh = w.refreshes.iter().position(|r| r.req == req);
    let said = refresh.and_then(|i| w.refreshes.get(i));
    let said_path = (done && state.refresh_said == Some(req))
        .then(|| said.map(|r| r.path.clone()).unwrap_or_default());
    if said.is_some_and(|r| !r.cleared) {
        remember(state, wi);
    }
    let Some(w) = state.ws_mut(wi) else {
        return Vec::new();
    };
    match refresh {
        Some(i) => {
            if let Some(r) = w.refreshes.get_mut(i)
                && !r.cleared
            {
                r.cleared = true;
                if let Some(id) = w.tree.folder_by_path(&r.path) {
                    w.tree.clear_prefix(id);
                }
            }
            w.tree.add(files);
            w.listing.maybe_incomplete |= maybe_incomplete;
            if done {
                w.refreshes.remove(i);
            }
        }
        None => {
            w.tree.add(files);
            w.listing.maybe_incomplete |= maybe_incomplete;
            if done {
                w.listing.complete = true;
            }
        }
    }
    restore(state, wi);
    if !done {
        return Vec::new();
    }
    if state.refresh_said == Some(req) {
        state.refresh_said = None;
        let path = said_path.unwrap_or_default();
        let (label, count) = state.ws(wi).map_or_else(Default::default, |w| {
            let folder = w
                .tree
                .folder_by_path(&path)
                .and_then(|id| w.tree.folder(id));
            (
                marks::remote_label(&w.id, &path),
                folder.map_or(0, |f| f.count),
            )
        });
        state.info(format!(
            "Listed {} again: {} file{}.",
            for_terminal(&label),
            group(count),
            if count == 1 { "" } else { "s" }
        ));
    }
    if let Some(w) = state.ws_mut(wi)
        && w.listing_idle()
    {
        w.remembered = None;
    }
    start_waiting(state, wi)
}

pub(super) fn on_failed(state: &mut State, req: ReqId, error: String) -> Vec<Command> {
    let Some(wi) = state
        .workspaces
        .iter()
        .position(|w| w.listing.req == Some(req) || w.refreshes.iter().any(|r| r.req == req))
    else {
        return Vec::new();
    };
    let Some(w) = state.ws_mut(wi) else {
        return Vec::new();
    };
    // Part of the tree may be missing from view, whichever listing failed: it is
    // not known to be complete (counts show "≥", folder deletes are refused, r
    // lists the whole workspace again).
    w.refreshes.retain(|r| r.req != req);
    w.listing.req = None;
    w.listing.complete = false;
    w.listing.error = Some(error.clone());
    if w.listing_idle() {
        w.remembered = None;
    }
    let id = w.id.clone();
    state.error(format!("Listing {id} failed: {error}"));
    state.reflatten();
    start_waiting(state, wi)
}

/// A file landed: shown at once, where that cannot clash with a listing.
pub(super) fn on_uploaded(state: &mut State, ws: String, entry: FileEntry) -> Vec<Command> {
    let Some(wi) = state.workspaces.iter().position(|w| w.id == ws) else {
        return Vec::new();
    };
    let Some(w) = state.ws_mut(wi) else {
        return Vec::new();
    };
    // Only into a complete tree that nothing is listing: a listing's pages could
    // bring the same file a second time.
    if !w.listing.complete || w.refreshing() {
        return Vec::new();
    }
    // Overwritten: the old row goes.
    if let Some(old) = w.tree.find_key_in(&entry.path, &entry.name, &entry.key) {
        w.tree.remove(&[old]);
    }
    w.tree.add([entry]);
    state.reflatten();
    Vec::new()
}

/// `r`: list the selected folder (or its workspace) again, and say so.
pub(super) fn on_refresh(state: &mut State) -> Vec<Command> {
    let cmds = refresh(state);
    if let [Command::List { req, ws, prefix }] = cmds.as_slice() {
        state.refresh_said = Some(*req);
        state.info(format!(
            "Listing {} again…",
            for_terminal(&marks::remote_label(ws, prefix))
        ));
    } else if let Some(path) = state.selected_row().and_then(|r| {
        let w = state.ws(r.ws())?;
        w.refresh_waiting
            .last()
            .map(|p| marks::remote_label(&w.id, p))
    }) {
        state.info(format!(
            "{} is listed again once the listing running beside it ends.",
            for_terminal(&path)
        ));
    }
    cmds
}

/// Note, by path, what is open, selected and marked in workspace `wi` before its nodes
/// are replaced by a new listing (ids do not survive it): marks are held by path until
/// their nodes are back, and a delete question about old ids is withdrawn.
fn remember(state: &mut State, wi: usize) {
    let path_of = |w: &WorkspaceView, row: &Row| match *row {
        Row::Folder { ws, id } if ws == wi => Some(w.tree.folder_path(id)),
        Row::File { ws, id } if ws == wi => Some(w.tree.key(id)),
        _ => None,
    };
    let Some(w) = state.ws(wi) else {
        return;
    };
    let selected = state.selected_row().and_then(|r| path_of(w, &r));
    let marked: HashSet<String> = state.marked.iter().filter_map(|r| path_of(w, r)).collect();
    let open: HashSet<String> = w.open.iter().map(|&id| w.tree.folder_path(id)).collect();
    state.marked.retain(|r| r.ws() != wi);
    if matches!(&state.dialog, Some(Dialog::ConfirmDelete(d)) if d.ws == wi) {
        state.dialog = None;
        state.info("The folder was listed again while you were asked: press x again to delete.");
    }
    // A listing that starts before the last one finished keeps what that one still owed.
    let Some(w) = state.ws_mut(wi) else {
        return;
    };
    let r = w.remembered.get_or_insert_with(Default::default);
    r.open.extend(open);
    r.marked.extend(marked);
    if selected.is_some() {
        r.selected = selected;
    }
}

/// The row of a remembered path: a folder ("a/b/") or a file key.
fn row_at(w: &WorkspaceView, wi: usize, path: &str) -> Option<Row> {
    if path.ends_with('/') {
        w.tree
            .folder_by_path(path)
            .map(|id| Row::Folder { ws: wi, id })
    } else {
        let (dir, name) = crate::wire::split_key(path);
        w.tree
            .find_key_in(dir, name, path)
            .map(|id| Row::File { ws: wi, id })
    }
}

/// After a page: reopen what was open, mark again what was marked and put the cursor back
/// on what was selected, as their nodes reappear (each once: a folder the user closes
/// meanwhile stays closed).
fn restore(state: &mut State, wi: usize) {
    let Some(w) = state.workspaces.get_mut(wi) else {
        return;
    };
    let Some(mut r) = w.remembered.take() else {
        state.reflatten();
        return;
    };
    r.open.retain(|path| match w.tree.folder_by_path(path) {
        Some(id) => {
            w.open.insert(id);
            false
        }
        None => true,
    });
    let mut back = Vec::new();
    r.marked.retain(|path| match row_at(w, wi, path) {
        Some(row) => {
            back.push(row);
            false
        }
        None => true,
    });
    let target = r.selected.as_deref().and_then(|sel| row_at(w, wi, sel));
    if target.is_some() {
        r.selected = None;
    }
    w.remembered = Some(r);
    state.marked.extend(back);
    state.reflatten();
    if let Some(row) = target
        && let Some(i) = state.rows.iter().position(|x| *x == row)
    {
        state.selected = i;
        state.scroll_into_view();
    }
}

pub(super) fn start_listing(state: &mut State, wi: usize) -> Vec<Command> {
    if state.ws(wi).is_some_and(|w| w.tree.file_count() > 0) {
        remember(state, wi);
    }
    let req = state.req();
    // A filter over it starts its store again: the files come back under new ids, and
    // results still on their way answer the old ones.
    if state.filter.as_ref().is_some_and(|f| f.ws == wi) {
        let fresh = state.req();
        if let Some(f) = &mut state.filter {
            f.reset(fresh);
        }
    }
    let Some(ws) = state.ws_mut(wi) else {
        return Vec::new();
    };
    ws.tree = Tree::new();
    // A new tree counts its generations from the start again.
    ws.order_cache.clear();
    ws.open.clear();
    // The worker cancels the workspace's folder listings when a whole one starts.
    ws.refreshes.clear();
    ws.refresh_waiting.clear();
    ws.listing = ListingState {
        req: Some(req),
        started: true,
        ..Default::default()
    };
    vec![Command::List {
        req,
        ws: ws.id.clone(),
        prefix: String::new(),
    }]
}

fn refresh(state: &mut State) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let wi = row.ws();
    let folder = match row {
        Row::Folder { id, .. } => Some(id),
        Row::File { id, .. } => state.ws(wi).map(|w| w.tree.folder_of(id)),
        _ => None,
    };
    let Some(w) = state.ws(wi) else {
        return Vec::new();
    };
    // A folder alone is re-listed only over a complete tree; otherwise the whole
    // workspace starts over (pages of two listings must not mix).
    let path = match folder {
        Some(id) if id != ROOT && w.listing.complete => w.tree.folder_path(id),
        _ => {
            if let Some(w) = state.ws_mut(wi) {
                w.expanded = true;
            }
            let cmds = start_listing(state, wi);
            state.reflatten();
            return cmds;
        }
    };
    relist_folder(state, wi, path)
}

/// One folder path is the other or inside it ("a/" and "a/b/").
fn nested(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// List one folder of workspace `wi` again; its rows are replaced when the first page
/// arrives. Folders apart are listed side by side; one nested with a folder being listed
/// waits for it (both listings would bring the files they share).
fn relist_folder(state: &mut State, wi: usize, path: String) -> Vec<Command> {
    let Some(w) = state.ws_mut(wi) else {
        return Vec::new();
    };
    if let Some(i) = w.refreshes.iter().position(|r| r.path == path) {
        // The same folder again: the worker cancels the old listing (same key) and its
        // late pages find no request here; the new one clears the folder again.
        w.refreshes.remove(i);
    } else if w.refreshes.iter().any(|r| nested(&r.path, &path)) {
        if !w.refresh_waiting.contains(&path) {
            w.refresh_waiting.push(path);
        }
        return Vec::new();
    }
    let req = state.req();
    let Some(w) = state.ws_mut(wi) else {
        return Vec::new();
    };
    w.refreshes.push(Refresh {
        req,
        path: path.clone(),
        cleared: false,
    });
    vec![Command::List {
        req,
        ws: w.id.clone(),
        prefix: path,
    }]
}

/// After a folder listing ends: start the waiting ones it held back.
fn start_waiting(state: &mut State, wi: usize) -> Vec<Command> {
    let waiting = state
        .ws_mut(wi)
        .map(|w| std::mem::take(&mut w.refresh_waiting))
        .unwrap_or_default();
    waiting
        .into_iter()
        .flat_map(|path| relist_folder(state, wi, path))
        .collect()
}

/// Once the last running upload into a workspace has finished, re-list the deepest folder
/// holding everything uploaded since the last time (one listing, not one per file: folder
/// listings of one tree must not overlap).
pub(super) fn refresh_after_upload(state: &mut State, info: &TransferInfo) -> Vec<Command> {
    // An upload that never had a remote name (its local file was not there) put
    // nothing anywhere: it is no reason to list the workspace again.
    if !info.remote.is_empty() {
        let folder = crate::wire::split_key(&info.remote).0.to_string();
        let deepest = match state.uploaded_into.remove(&info.ws) {
            Some(so_far) => crate::wire::common_folder(&[so_far, folder]),
            None => folder,
        };
        state.uploaded_into.insert(info.ws.clone(), deepest);
    }
    let busy = state.uploads_active.get(&info.ws).is_some_and(|&n| n > 0);
    let Some(wi) = state.workspaces.iter().position(|w| w.id == info.ws) else {
        return Vec::new();
    };
    if busy || !state.ws(wi).is_some_and(|w| w.listing.started) {
        return Vec::new();
    }
    let Some(folder) = state.uploaded_into.remove(&info.ws) else {
        return Vec::new();
    };
    if !state.ws(wi).is_some_and(|w| w.listing.complete) || folder.is_empty() {
        // Over a partial tree, or at the root: list it all again.
        let cmds = start_listing(state, wi);
        state.reflatten();
        return cmds;
    }
    relist_folder(state, wi, folder)
}
