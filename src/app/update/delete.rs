//! Deletes: the question (`x`), the command once confirmed, and the tree after the
//! worker's answer.

use std::collections::HashSet;

use crate::app::count::group;
use crate::app::marks::{Batch, batch};
use crate::app::msg::{Command, ReqId};
use crate::app::state::{DeleteConfirm, Dialog, PendingDelete, Row, State};
use crate::app::tree::FileNode;
use crate::sanitize::for_terminal;

/// `x`: the marked items when there are marks, else the cursor row (the rule of `d`).
pub(super) fn ask_delete(state: &mut State) {
    let Some(Batch {
        targets: t,
        files,
        items,
    }) = batch(state, "deleting")
    else {
        return;
    };
    if files.is_empty() {
        return state.info("Select a file or a folder to delete (or mark several with Space).");
    }
    let first = items.first().cloned().unwrap_or_default();
    let label = match (t.marked, t.rows.as_slice()) {
        (false, [Row::Folder { .. }]) => format!("{first} and every file under it"),
        (false, _) => first,
        (true, rows) => format!(
            "{} marked item{}",
            group(rows.len() as u64),
            if rows.len() == 1 { "" } else { "s" }
        ),
    };
    let label = with_filter_note(state, &t.rows, label);
    let Some(w) = state.ws(t.ws) else {
        return;
    };
    let (mut bytes, mut unknown_sizes) = (0u64, false);
    for &(id, _) in &files {
        let size = w.tree.file(id).and_then(FileNode::size);
        bytes = bytes.saturating_add(size.unwrap_or(0));
        unknown_sizes |= size.is_none();
    }
    state.dialog = Some(Dialog::ConfirmDelete(DeleteConfirm {
        ws: t.ws,
        label,
        items: if t.marked { items } else { Vec::new() },
        marked: t.marked,
        files: files.into_iter().map(|(id, _)| id).collect(),
        bytes,
        unknown_sizes,
    }));
}

/// Under a filter, folders are still taken whole: the question says so, with the files
/// the filter shows in them and all their files.
pub(super) fn with_filter_note(state: &State, rows: &[Row], label: String) -> String {
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|r| match *r {
            Row::Folder { ws, id } => super::filter::folder_note(state, ws, id).map(|n| {
                format!(
                    "{}: {n}",
                    for_terminal(
                        &state
                            .ws(ws)
                            .map(|w| w.tree.folder_path(id))
                            .unwrap_or_default()
                    )
                )
            }),
            _ => None,
        })
        .collect();
    match notes.as_slice() {
        [] => label,
        [one] if rows.len() == 1 => format!(
            "{label} ({})",
            one.split_once(": ").map_or(one.as_str(), |x| x.1)
        ),
        many => format!("{label} — under the filter, {}", many.join("; ")),
    }
}

pub(super) fn confirm_delete(state: &mut State, confirm: DeleteConfirm) -> Vec<Command> {
    if confirm.marked {
        state.marked.retain(|r| r.ws() != confirm.ws);
    }
    let req = state.req();
    let Some(w) = state.workspaces.get(confirm.ws) else {
        return Vec::new();
    };
    let keys: Vec<String> = confirm.files.iter().map(|&id| w.tree.key(id)).collect();
    state.deletes.insert(
        req,
        PendingDelete {
            ws: confirm.ws,
            listing: w.listing.req,
            files: confirm.files,
            keys: keys.clone(),
        },
    );
    vec![Command::Delete {
        req,
        ws: w.id.clone(),
        keys,
    }]
}

/// The worker's answer: the files deleted leave the tree; failures are told.
pub(super) fn on_deleted(
    state: &mut State,
    req: ReqId,
    results: Vec<Result<(), String>>,
) -> Vec<Command> {
    let Some(pending) = state.deletes.remove(&req) else {
        return Vec::new();
    };
    let mut gone = Vec::new();
    let mut gone_keys = HashSet::new();
    let mut failed = Vec::new();
    for ((id, key), r) in pending.files.iter().zip(&pending.keys).zip(results) {
        match r {
            Ok(()) => {
                gone.push(*id);
                gone_keys.insert(key.as_str());
            }
            Err(e) => failed.push((key.clone(), e)),
        }
    }
    let Some(w) = state.ws_mut(pending.ws) else {
        return Vec::new();
    };
    // A folder refresh since replaced the rows it cleared: the ids held may be
    // gone already while their files are back under new ones.
    let ids_hold = gone
        .iter()
        .all(|&id| w.tree.files.get(id as usize).is_some_and(|f| !f.deleted));
    if w.listing.req == pending.listing && ids_hold {
        w.tree.remove(&gone);
    } else {
        // The tree was re-listed meanwhile: its ids are not the ones we held.
        let ids = w.tree.find_keys(&gone_keys);
        w.tree.remove(&ids);
    }
    state.reflatten();
    if failed.is_empty() {
        let n = gone.len();
        state.info(format!(
            "Deleted {n} file{}.",
            if n == 1 { "" } else { "s" }
        ));
    } else {
        let mut text = format!(
            "Deleted {} of {} files; {} failed:",
            gone.len(),
            pending.files.len(),
            failed.len()
        );
        for (key, e) in failed.iter().take(5) {
            text.push_str(&format!("\n{}: {e}", for_terminal(key)));
        }
        if failed.len() > 5 {
            text.push_str(&format!("\n… and {} more", failed.len() - 5));
        }
        state.error(text);
    }
    Vec::new()
}
