//! The transfers pane and the worker's transfer events: the cursor that follows the work,
//! cancel, retry, clear, and the `u`/`d` prompts that start transfers.

use tui_input::Input;

use crate::app::count::group;
use crate::app::layout::transfers_height;
use crate::app::marks::{Batch, batch};
use crate::app::msg::{Action, Command};
use crate::app::queue_view::TransferView;
use crate::app::state::{Dialog, Pane, PromptKind, Row, State};
use crate::app::transfer_types::{Direction, TransferId, TransferInfo, TransferState};

use super::listing::refresh_after_upload;

pub(super) fn on_added(state: &mut State, id: TransferId, info: TransferInfo) -> Vec<Command> {
    // Something went right since: the status line stops showing an old failure.
    state.last_error = None;
    if info.dir == Direction::Up {
        *state.uploads_active.entry(info.ws.clone()).or_default() += 1;
    } else {
        state.marks_sent = None;
    }
    state.transfers.push(TransferView::new(id, info));
    follow_added(state);
    state.scroll_into_view();
    state.dirty = true;
    Vec::new()
}

pub(super) fn on_state(state: &mut State, id: TransferId, ts: TransferState) -> Vec<Command> {
    let Some(t) = transfer_mut(state, id) else {
        return Vec::new();
    };
    if t.state == ts {
        return Vec::new();
    }
    // A retry or a verification report never overrides an ending.
    if t.is_finished()
        && matches!(
            ts,
            TransferState::Retrying { .. } | TransferState::Verifying
        )
    {
        return Vec::new();
    }
    let was_active = t.is_active();
    t.state = ts.clone();
    let info = t.info.clone();
    state.dirty = true;
    follow_state(state, id, &ts);
    if info.dir == Direction::Up && was_active != ts.is_active() {
        let n = state.uploads_active.entry(info.ws.clone()).or_default();
        if was_active {
            *n = n.saturating_sub(1);
            // However the batch's last upload ends (failed, cancelled too), the
            // uploads that landed before it get their folder re-listed.
            return refresh_after_upload(state, &info);
        }
        *n += 1; // retried
    }
    Vec::new()
}

pub(super) fn on_progress(
    state: &mut State,
    at_ms: u64,
    samples: Vec<(TransferId, u64)>,
) -> Vec<Command> {
    let mut moved = 0u64;
    for (id, done) in samples {
        if let Some(t) = transfer_mut(state, id) {
            moved = moved.saturating_add(done.saturating_sub(t.done));
            t.sample(at_ms, done);
        }
    }
    state.throughput.add(at_ms, moved);
    state.dirty = true;
    Vec::new()
}

pub(super) fn on_problem(state: &mut State, text: String) -> Vec<Command> {
    // A download that could not start keeps the marks it was started from.
    if let Some(marks) = state.marks_sent.take() {
        state.marked.extend(marks);
    }
    state.error(text);
    Vec::new()
}

pub(super) fn on_note(state: &mut State, id: TransferId, note: String) -> Vec<Command> {
    if let Some(t) = transfer_mut(state, id) {
        t.note = Some(note);
        state.dirty = true;
    }
    Vec::new()
}

pub(super) fn on_idle(state: &mut State) -> Vec<Command> {
    state.throughput.idle();
    // "Cancelling…" is over once nothing runs.
    if state
        .notice
        .as_ref()
        .is_some_and(|n| n.text.starts_with("Cancelling "))
    {
        state.notice = None;
        state.dirty = true;
    }
    Vec::new()
}

/// The answer to `ClaimQueue`: the action that asked goes ahead, or is refused.
pub(super) fn on_claimed(state: &mut State, result: Result<(), String>) -> Vec<Command> {
    let action = state.after_claim.take();
    match result {
        Ok(()) => {
            state.transfers_blocked = None;
            state.info("The transfer queue is free: transfers are on in this window.");
            match action {
                Some(a) => super::on_action(state, a),
                None => Vec::new(),
            }
        }
        Err(why) => {
            state.transfers_blocked = Some(why.clone());
            if action.is_some() {
                state.error(format!("Transfers are off in this window: {why}"));
            } else {
                // At launch: browsing is fine, transfers wait for the other one.
                state.info(format!("Transfers are off for now: {why}"));
            }
            Vec::new()
        }
    }
}

/// Up, Down, Home, End and the pages, in the transfers pane.
pub(super) fn move_cursor(state: &mut State, action: Action) {
    let last = state.transfers.len().saturating_sub(1);
    let page = usize::from(transfers_height(state.height, state.transfers.len()))
        .saturating_sub(3)
        .max(1);
    let at = state.transfer_selected;
    state.transfer_selected = match action {
        Action::Up => at.saturating_sub(1),
        Action::Down => at + 1,
        Action::Top => 0,
        Action::Bottom => last,
        Action::PageUp => at.saturating_sub(page),
        Action::HalfPageUp => at.saturating_sub((page / 2).max(1)),
        Action::HalfPageDown => at + (page / 2).max(1),
        _ => at + page,
    }
    .min(last);
}

/// `c`: cancel the transfer under the cursor of the transfers pane.
pub(super) fn cancel_one(state: &mut State) -> Vec<Command> {
    if state.focus != Pane::Transfers {
        let k = |a| state.keymap.short(crate::app::keymap::Bound::Main(a));
        let text = format!(
            "{} to the transfers pane to pick a transfer; {} cancels them all.",
            k(Action::NextPane),
            k(Action::CancelAll)
        );
        state.info(text);
        return Vec::new();
    }
    match state.transfers.get(state.transfer_selected) {
        Some(t) if t.is_active() => return vec![Command::CancelTransfer(t.id)],
        Some(t) => {
            let what = match t.state {
                TransferState::Done => "is done",
                TransferState::Cancelled => "was cancelled",
                TransferState::Skipped(_) => "was skipped",
                _ => "has failed (R retries it)",
            };
            state.info(format!(
                "Nothing to cancel: this transfer {what}. x removes its row."
            ));
        }
        None => {}
    }
    Vec::new()
}

/// `C`: cancel every transfer queued or running.
pub(super) fn cancel_all(state: &mut State) -> Vec<Command> {
    let active = state.transfers.iter().filter(|t| t.is_active()).count();
    if active == 0 {
        state.info("No transfer is queued or running.");
        return Vec::new();
    }
    state.info(format!(
        "Cancelling {} transfer{}…",
        group(active as u64),
        if active == 1 { "" } else { "s" }
    ));
    vec![Command::CancelAll]
}

/// `R`: retry every failed transfer.
pub(super) fn retry_failed(state: &mut State) -> Vec<Command> {
    let ids: Vec<_> = state
        .transfers
        .iter()
        // Every failed row, even one the worker cannot retry: it says why.
        .filter(|t| matches!(t.state, TransferState::Failed(_)))
        .map(|t| t.id)
        .collect();
    if ids.is_empty() {
        state.info("No failed transfer to retry.");
        return Vec::new();
    }
    state.info(format!(
        "Retrying {} failed transfer{}…",
        group(ids.len() as u64),
        if ids.len() == 1 { "" } else { "s" }
    ));
    vec![Command::Retry(ids)]
}

/// `X`: drop the rows of every transfer that has ended.
pub(super) fn clear_finished(state: &mut State) {
    state.transfers.retain(|t| t.is_active());
    state.transfer_selected = state
        .transfer_selected
        .min(state.transfers.len().saturating_sub(1));
    if state.transfers.is_empty() && state.focus == Pane::Transfers {
        state.focus = Pane::Tree;
        state.info("Finished transfers cleared: back in the tree.");
    }
    state.scroll_into_view();
}

/// Remove the selected row of the transfers pane if it has ended; a running one is
/// cancelled with `c`, which says so.
pub(super) fn remove_transfer_row(state: &mut State) {
    let i = state.transfer_selected;
    match state.transfers.get(i) {
        Some(t) if t.is_finished() => {
            state.transfers.remove(i);
            state.transfer_selected = i.min(state.transfers.len().saturating_sub(1));
            if state.transfers.is_empty() {
                state.focus = Pane::Tree;
                state.info("No transfers left: back in the tree.");
            }
            state.scroll_into_view();
        }
        Some(_) => {
            state.info("This transfer is still under way: c cancels it, x then removes its row.")
        }
        None => {}
    }
}

/// While the user is elsewhere, the transfers pane follows what happens: a new transfer
/// takes the cursor when the one it is on has ended well (so the pane shows the work that
/// is under way, not the top of a finished list).
fn follow_added(state: &mut State) {
    if state.focus == Pane::Transfers {
        return;
    }
    let last = state.transfers.len() - 1;
    let resting = match state.transfers.get(state.transfer_selected) {
        Some(t) if last != state.transfer_selected => {
            t.is_finished() && !matches!(t.state, TransferState::Failed(_))
        }
        _ => true,
    };
    if resting {
        state.transfer_selected = last;
    }
}

/// A failure takes the cursor of the unfocused pane (it stays in view until another
/// fails); a transfer under the cursor that ends well hands it to the next one still
/// active.
fn follow_state(state: &mut State, id: TransferId, ts: &TransferState) {
    if state.focus == Pane::Transfers {
        return;
    }
    let Ok(i) = state.transfers.binary_search_by_key(&id, |t| t.id) else {
        return;
    };
    if matches!(ts, TransferState::Failed(_)) {
        state.transfer_selected = i;
    } else if i == state.transfer_selected && !ts.is_active() {
        // Forward only, from here: a scan per ending that restarts from the cursor, not
        // from the top, so a batch of 100,000 costs one pass in all.
        let rest = state.transfers.get(i..).unwrap_or_default();
        if let Some(next) = rest.iter().position(|t| t.is_active()) {
            state.transfer_selected = i + next;
        }
    }
}

/// The transfer with this id: the list is in id order (ids are handed out rising, and
/// clearing keeps the order), so a progress event for 100,000 transfers is no scan.
fn transfer_mut(state: &mut State, id: TransferId) -> Option<&mut TransferView> {
    let i = state.transfers.binary_search_by_key(&id, |t| t.id).ok()?;
    state.transfers.get_mut(i)
}

/// The folder the selection is in (a folder itself, or a file's folder): its workspace's
/// id and its path.
fn selected_folder(state: &State) -> Option<(String, String)> {
    let row = state.selected_row()?;
    let w = state.ws(row.ws())?;
    let t = &w.tree;
    let path = match row {
        Row::Folder { id, .. } => t.folder_path(id),
        Row::File { id, .. } => t.folder_path(t.folder_of(id)),
        Row::Workspace { .. } | Row::Status { .. } => String::new(),
    };
    Some((w.id.clone(), path))
}

pub(super) fn ask_upload(state: &mut State) {
    let Some((ws, folder)) = selected_folder(state) else {
        state.info("Open a workspace first.");
        return;
    };
    state.dialog = Some(Dialog::Path {
        kind: PromptKind::Upload { ws, folder },
        input: Input::default(),
    });
}

/// `d`: the marked items when there are marks, else the cursor row.
pub(super) fn ask_download(state: &mut State) {
    let Some(Batch {
        targets: t,
        mut files,
        items: mut what,
    }) = batch(state, "downloading")
    else {
        return;
    };
    let Some(w) = state.ws(t.ws) else {
        return;
    };
    // A workspace row: everything in it, as the folder download does with the empty
    // prefix (each file lands at its whole key).
    if !t.marked && matches!(t.rows.as_slice(), [Row::Workspace { .. }]) {
        let id = crate::sanitize::for_terminal(&w.id);
        let l = &w.listing;
        if !l.complete || w.refreshing() || l.maybe_incomplete || l.error.is_some() {
            state.error(format!(
                "Not downloading {id} yet: its listing is not complete, so some files may \
                 be missing here (r lists it again)."
            ));
            return;
        }
        files = w
            .tree
            .files_under(crate::app::tree::ROOT)
            .into_iter()
            .map(|f| (f, w.tree.display_key(f)))
            .collect();
        what = vec![format!("{id}: (the whole workspace)")];
    }
    if let Some(first) = what.first_mut() {
        let note = super::delete::with_filter_note(state, &t.rows, String::new());
        if !note.is_empty() {
            first.push_str(&note);
        }
    }
    let files: Vec<_> = files
        .into_iter()
        .map(|(id, rel)| (w.tree.entry(id), rel))
        .collect();
    if files.is_empty() {
        state.info("Select (or mark with Space) files or folders to download.");
        return;
    }
    let bytes = files
        .iter()
        .filter_map(|(e, _)| e.size)
        .fold(0, u64::saturating_add);
    let unknown_sizes = files.iter().any(|(e, _)| e.size.is_none());
    state.dialog = Some(Dialog::Path {
        kind: PromptKind::Download {
            ws: w.id.clone(),
            files,
            bytes,
            unknown_sizes,
            what,
        },
        input: Input::new(state.download_dir.clone()),
    });
}

/// A click on a row of the transfers pane.
pub(super) fn select(state: &mut State, i: usize) {
    state.transfer_selected = i.min(state.transfers.len().saturating_sub(1));
}
