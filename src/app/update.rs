//! `update(&mut State, Msg) -> Vec<Command>`: pure. No I/O, no clock, no channel: tests
//! feed it messages and read the commands it returns.

use std::collections::HashSet;

use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::keymap::action_for;
use super::marks;
use super::msg::Choice;
use super::msg::{Action, Command, Event, Msg};
use super::queue_view::TransferView;
use super::state::{
    DeleteConfirm, Dialog, Pane, PendingDelete, PromptKind, Refresh, Row, State, WorkspaceView,
};
use super::transfer_types::{Direction, TransferId, TransferInfo, TransferState};
use super::tree::{FileId, FolderId, ROOT, Tree};
use crate::sanitize::for_terminal;

/// The commands to send when the app starts.
pub fn init(state: &mut State) -> Vec<Command> {
    let mut cmds = Vec::new();
    if state.workspaces.is_empty() {
        let req = state.req();
        state.workspaces_req = Some(req);
        cmds.push(Command::ListWorkspaces { req });
    } else {
        state.workspaces[0].expanded = true;
        cmds.extend(start_listing(state, 0));
    }
    state.reflatten();
    cmds
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Command> {
    let cmds = on_msg(state, msg);
    // The worker's next question, once the one on screen is answered.
    if state.dialog.is_none()
        && let Some(d) = state.waiting.pop_front()
    {
        state.dialog = Some(d);
        state.dirty = true;
    }
    cmds
}

/// Remove the selected row of the transfers pane if it has ended; a running one is
/// cancelled with `c`, which says so.
fn remove_transfer_row(state: &mut State) {
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
        if let Some(next) = state.transfers[i..].iter().position(|t| t.is_active()) {
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

/// A question from the worker: shown now, or after the dialog on screen (replacing it
/// would leave that one unanswered, and a batch waiting for its answer forever).
fn ask(state: &mut State, dialog: Dialog) {
    if state.dialog.is_none() {
        state.dialog = Some(dialog);
        state.dirty = true;
    } else {
        state.waiting.push_back(dialog);
    }
}

fn on_msg(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key),
        Msg::Key(_) => Vec::new(),
        Msg::Paste(text) => {
            // The text a pending completion was asked for is not the prompt's any more.
            state.complete_req = None;
            if let Some(Dialog::WorkspacePrompt(input) | Dialog::Path { input, .. }) =
                &mut state.dialog
            {
                for c in text.chars().filter(|c| !c.is_control()) {
                    input.handle(tui_input::InputRequest::InsertChar(c));
                }
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.width = w;
            state.height = h;
            // A screen narrowed under the details pane takes its focus with it.
            if !state.details_shown() && state.focus == Pane::Details {
                state.focus = Pane::Tree;
            }
            state.scroll_into_view();
            state.dirty = true;
            Vec::new()
        }
        Msg::Tick => {
            if state.animating() {
                state.spinner = state.spinner.wrapping_add(1);
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::Worker(ev) => on_event(state, ev),
    }
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
    let w = &state.workspaces[wi];
    let selected = state.selected_row().and_then(|r| path_of(w, &r));
    let marked: HashSet<String> = state.marked.iter().filter_map(|r| path_of(w, r)).collect();
    let open: HashSet<String> = w.open.iter().map(|&id| w.tree.folder_path(id)).collect();
    state.marked.retain(|r| r.ws() != wi);
    if matches!(&state.dialog, Some(Dialog::ConfirmDelete(d)) if d.ws == wi) {
        state.dialog = None;
        state.info("The folder was listed again while you were asked: press x again to delete.");
    }
    // A listing that starts before the last one finished keeps what that one still owed.
    let r = state.workspaces[wi]
        .remembered
        .get_or_insert_with(Default::default);
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
    let w = &mut state.workspaces[wi];
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

fn start_listing(state: &mut State, wi: usize) -> Vec<Command> {
    if state.workspaces[wi].tree.file_count() > 0 {
        remember(state, wi);
    }
    let req = state.req();
    let ws = &mut state.workspaces[wi];
    ws.tree = Tree::new();
    ws.open.clear();
    // The worker cancels the workspace's folder listings when a whole one starts.
    ws.refreshes.clear();
    ws.refresh_waiting.clear();
    ws.listing = super::state::ListingState {
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

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    // A completion answers the text of its Tab, in the prompt of its Tab: any other key
    // (an edit, Esc, Enter, one that opens a new prompt) makes its answer stale.
    if key.code != KeyCode::Tab || !matches!(state.dialog, Some(Dialog::Path { .. })) {
        state.complete_req = None;
    }
    // The user has moved on: a listing still arriving no longer puts the cursor back.
    for w in &mut state.workspaces {
        if let Some(r) = &mut w.remembered {
            r.selected = None;
        }
    }
    // Any key dismisses a notification; the key still does its work, except Esc, which
    // closes what is on top (the notification) and nothing more: the marks it would
    // otherwise clear are often what the notification is about.
    if state.notice.take().is_some() {
        state.dirty = true;
        if key.code == KeyCode::Esc && state.dialog.is_none() {
            return Vec::new();
        }
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        state.interrupted = true;
        return Vec::new();
    }
    if let Some(dialog) = state.dialog.take() {
        state.dirty = true;
        return on_dialog_key(state, dialog, key);
    }
    let Some(action) = action_for(&key) else {
        unbound(state, &key);
        return Vec::new();
    };
    state.dirty = true;
    on_action(state, action)
}

/// A key that does nothing says so, so a user who guessed a key learns where the keys are.
fn unbound(state: &mut State, key: &KeyEvent) {
    // Modifier presses and the like (Shift alone under the kitty protocol) are not keys
    // the user meant to do something with.
    let name = match key.code {
        KeyCode::Char(c) if !c.is_control() => {
            let mut name = String::new();
            if key.modifiers.contains(KeyModifiers::CONTROL) {
                name.push_str("Ctrl-");
            }
            // Esc then a key, typed fast (or sent by a terminal for Alt), reads as Alt.
            if key.modifiers.contains(KeyModifiers::ALT) {
                name.push_str("Alt-");
            }
            if key.modifiers.contains(KeyModifiers::CONTROL) {
                name.push(c.to_ascii_uppercase());
            } else {
                name.push(c);
            }
            name
        }
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Insert => "Insert".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        _ => return,
    };
    state.info(format!("{name} does nothing here: ? lists the keys."));
}

fn on_dialog_key(state: &mut State, dialog: Dialog, key: KeyEvent) -> Vec<Command> {
    match dialog {
        Dialog::Help => {
            // Any of ?, Esc, q or Enter closes help; other keys leave it open.
            if !matches!(
                key.code,
                KeyCode::Char('?' | 'q') | KeyCode::Esc | KeyCode::Enter
            ) {
                state.dialog = Some(Dialog::Help);
            }
            Vec::new()
        }
        Dialog::ConfirmDelete(confirm) => match key.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => confirm_delete(state, confirm),
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Vec::new(),
            _ => {
                state.dialog = Some(Dialog::ConfirmDelete(confirm));
                Vec::new()
            }
        },
        Dialog::Conflicts {
            batch,
            items,
            mut choices,
        } => {
            let choice = match key.code {
                KeyCode::Char('o' | 'O') => Some(Choice::Overwrite),
                KeyCode::Char('s' | 'S') => Some(Choice::Skip),
                KeyCode::Char('i' | 'I') => Some(Choice::SkipIfIdentical),
                KeyCode::Char('k' | 'K') => Some(Choice::KeepBoth),
                KeyCode::Esc => {
                    // Nothing is overwritten without an answer.
                    choices.resize(items.len(), Choice::Skip);
                    return vec![Command::Resolve { batch, choices }];
                }
                _ => None,
            };
            if let Some(c) = choice {
                let all = matches!(key.code, KeyCode::Char(ch) if ch.is_ascii_uppercase());
                if all {
                    choices.resize(items.len(), c);
                } else {
                    choices.push(c);
                }
            }
            if choices.len() >= items.len() {
                return vec![Command::Resolve { batch, choices }];
            }
            state.dialog = Some(Dialog::Conflicts {
                batch,
                items,
                choices,
            });
            Vec::new()
        }
        Dialog::ConfirmResume { count, bytes } => match key.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => vec![Command::Resume(true)],
            KeyCode::Char('n' | 'N') | KeyCode::Esc => vec![Command::Resume(false)],
            _ => {
                state.dialog = Some(Dialog::ConfirmResume { count, bytes });
                Vec::new()
            }
        },
        Dialog::ConfirmQuit { active } => {
            match key.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => state.quit = true,
                KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                _ => state.dialog = Some(Dialog::ConfirmQuit { active }),
            }
            Vec::new()
        }
        Dialog::Path { kind, mut input } => match key.code {
            _ if key.code != KeyCode::Tab && !state.under_prompt.is_empty() => {
                // Whatever the key does, the candidates of the last Tab are stale now.
                state.under_prompt.clear();
                on_dialog_key(state, Dialog::Path { kind, input }, key)
            }
            KeyCode::Enter => {
                let path = input.value().trim().to_string();
                match kind {
                    PromptKind::Upload { ws, folder } => {
                        if path.is_empty() {
                            state.dialog = Some(Dialog::Path {
                                kind: PromptKind::Upload { ws, folder },
                                input,
                            });
                            // Shown in the prompt itself (notices wait behind a dialog).
                            state.under_prompt =
                                vec!["type a local file or folder; Tab completes".into()];
                            return Vec::new();
                        }
                        if state.focus == Pane::Details {
                            state.focus = Pane::Tree;
                        }
                        vec![Command::Upload {
                            ws,
                            local: path,
                            folder,
                        }]
                    }
                    PromptKind::Download { ws, files, .. } => {
                        // The marks are done with once the worker takes the batch; they
                        // come back if it cannot start it (see `TransferProblem`).
                        state.marks_sent = Some(std::mem::take(&mut state.marked));
                        let dest = if path.is_empty() {
                            state.download_dir.clone()
                        } else {
                            path
                        };
                        vec![Command::Download { ws, dest, files }]
                    }
                }
            }
            KeyCode::Esc => Vec::new(),
            KeyCode::Tab => {
                // Completion reads the disk: the worker does it.
                let req = state.req();
                state.complete_req = Some(req);
                let text = input.value().to_string();
                state.dialog = Some(Dialog::Path { kind, input });
                vec![Command::Complete { req, text }]
            }
            _ => {
                input.handle_event(&TermEvent::Key(key));
                state.dialog = Some(Dialog::Path { kind, input });
                Vec::new()
            }
        },
        Dialog::WorkspacePrompt(mut input) => match key.code {
            KeyCode::Enter => {
                let ids: Vec<String> = input
                    .value()
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if ids.is_empty() {
                    state.dialog = Some(Dialog::WorkspacePrompt(input));
                    return Vec::new();
                }
                let first = state.workspaces.len();
                for id in ids {
                    if !state.workspaces.iter().any(|w| w.id == id) {
                        state.workspaces.push(WorkspaceView::new(id, None));
                    }
                }
                let mut cmds = Vec::new();
                if first < state.workspaces.len() {
                    state.workspaces[first].expanded = true;
                    cmds = start_listing(state, first);
                }
                state.reflatten();
                cmds
            }
            KeyCode::Esc => {
                if state.workspaces.is_empty() {
                    state.quit = true;
                }
                Vec::new()
            }
            _ => {
                input.handle_event(&TermEvent::Key(key));
                state.dialog = Some(Dialog::WorkspacePrompt(input));
                Vec::new()
            }
        },
    }
}

fn on_action(state: &mut State, action: Action) -> Vec<Command> {
    let page = state.viewport().saturating_sub(1).max(1);
    let last = state.rows.len().saturating_sub(1);
    match action {
        Action::Up
        | Action::Down
        | Action::Top
        | Action::Bottom
        | Action::PageUp
        | Action::PageDown
            if state.focus == Pane::Transfers =>
        {
            let last = state.transfers.len().saturating_sub(1);
            let page = (super::layout::transfers_height(state.height, state.transfers.len())
                as usize)
                .saturating_sub(3)
                .max(1);
            let at = state.transfer_selected;
            state.transfer_selected = match action {
                Action::Up => at.saturating_sub(1),
                Action::Down => at + 1,
                Action::Top => 0,
                Action::Bottom => last,
                Action::PageUp => at.saturating_sub(page),
                _ => at + page,
            }
            .min(last);
        }
        // Keys act on the pane in focus: the tree's keys do nothing to the tree from the
        // transfers pane (the cursor there is on a transfer, not on what they would touch).
        Action::Expand
        | Action::Collapse
        | Action::Refresh
        | Action::Upload
        | Action::Download
        | Action::Mark
            if state.focus == Pane::Transfers =>
        {
            state.info(
                "In the transfers pane: c cancels, x removes a row; Tab goes back to the tree.",
            );
        }
        Action::Up => select(state, state.selected.saturating_sub(1)),
        Action::Down => select(state, (state.selected + 1).min(last)),
        Action::Top => select(state, 0),
        Action::Bottom => select(state, last),
        Action::PageUp => select(state, state.selected.saturating_sub(page)),
        Action::PageDown => select(state, (state.selected + page).min(last)),
        Action::Expand => return expand(state),
        Action::Collapse => collapse(state),
        Action::NextPane => {
            state.focus = match state.focus {
                Pane::Tree if state.details_shown() => Pane::Details,
                Pane::Tree | Pane::Details if !state.transfers.is_empty() => Pane::Transfers,
                _ => Pane::Tree,
            }
        }
        Action::ToggleDetails => {
            state.details = Some(!state.details_shown());
            if !state.details_shown() && state.focus == Pane::Details {
                state.focus = Pane::Tree;
            }
        }
        Action::Refresh => {
            let cmds = refresh(state);
            if let [Command::List { req, ws, prefix }] = &cmds[..] {
                state.refresh_said = Some(*req);
                state.info(format!(
                    "Listing {} again…",
                    for_terminal(&marks::remote_label(ws, prefix))
                ));
            } else if let Some(path) = state.selected_row().and_then(|r| {
                let w = &state.workspaces[r.ws()];
                w.refresh_waiting
                    .last()
                    .map(|p| marks::remote_label(&w.id, p))
            }) {
                state.info(format!(
                    "{} is listed again once the listing running beside it ends.",
                    for_terminal(&path)
                ));
            }
            return cmds;
        }
        // In the transfers pane `x` is about the transfer row under the cursor, never about
        // the tree item selected behind it.
        Action::Delete if state.focus == Pane::Transfers => remove_transfer_row(state),
        Action::Delete => ask_delete(state),
        Action::Help => state.dialog = Some(Dialog::Help),
        Action::Quit => {
            let active = state.transfers.iter().filter(|t| t.is_active()).count();
            if active > 0 {
                state.dialog = Some(Dialog::ConfirmQuit { active });
            } else {
                state.quit = true;
            }
        }
        Action::ForceQuit => {
            state.quit = true;
            state.interrupted = true;
        }
        Action::Upload | Action::Download if state.transfers_blocked.is_some() => {
            // The other filedeck may have finished since: ask, and carry on if so.
            state.after_claim = Some(action);
            state.info("Checking whether the other filedeck still holds the transfer queue…");
            return vec![Command::ClaimQueue];
        }
        Action::Upload => ask_upload(state),
        Action::Download => ask_download(state),
        Action::Mark => {
            if let Some(row @ (Row::File { .. } | Row::Folder { .. })) = state.selected_row() {
                if !state.marked.remove(&row) {
                    state.marked.insert(row);
                }
                select(state, (state.selected + 1).min(last));
            }
        }
        Action::ClearMarks => {
            let n = state.marked.len();
            if n > 0 {
                state.marked.clear();
                state.info(format!(
                    "{} mark{} cleared.",
                    fmt_count(n),
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        Action::CancelTransfer => {
            if state.focus != Pane::Transfers {
                state.info("Tab to the transfers pane to pick a transfer; C cancels them all.");
            } else {
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
            }
        }
        Action::CancelAll => {
            let active = state.transfers.iter().filter(|t| t.is_active()).count();
            if active == 0 {
                state.info("No transfer is queued or running.");
                return Vec::new();
            }
            state.info(format!(
                "Cancelling {} transfer{}…",
                fmt_count(active),
                if active == 1 { "" } else { "s" }
            ));
            return vec![Command::CancelAll];
        }
        Action::RetryFailed => {
            let ids: Vec<_> = state
                .transfers
                .iter()
                // Every failed row, even one the worker cannot retry: it says why.
                .filter(|t| matches!(t.state, TransferState::Failed(_)))
                .map(|t| t.id)
                .collect();
            if ids.is_empty() {
                state.info("No failed transfer to retry.");
            } else {
                state.info(format!(
                    "Retrying {} failed transfer{}…",
                    fmt_count(ids.len()),
                    if ids.len() == 1 { "" } else { "s" }
                ));
                return vec![Command::Retry(ids)];
            }
        }
        Action::ClearFinished => {
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
        Action::Suspend => state.suspend = true,
    }
    Vec::new()
}

fn select(state: &mut State, i: usize) {
    state.selected = i;
    state.scroll_into_view();
}

fn expand(state: &mut State) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let mut cmds = Vec::new();
    match row {
        Row::Workspace { ws } => {
            let w = &mut state.workspaces[ws];
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
            let w = &mut state.workspaces[ws];
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

fn collapse(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    match row {
        Row::Workspace { ws } => {
            if state.workspaces[ws].expanded {
                state.workspaces[ws].expanded = false;
                state.reflatten();
            }
        }
        Row::Folder { ws, id } if state.workspaces[ws].open.contains(&id) => {
            state.workspaces[ws].open.remove(&id);
            state.reflatten();
        }
        Row::Folder { ws, id } => {
            let parent = state.workspaces[ws].tree.folders[id as usize].parent;
            select_parent(state, ws, parent);
        }
        Row::File { ws, id } => {
            let parent = state.workspaces[ws].tree.files[id as usize].folder;
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

fn refresh(state: &mut State) -> Vec<Command> {
    let Some(row) = state.selected_row() else {
        return Vec::new();
    };
    let wi = row.ws();
    let folder = match row {
        Row::Folder { id, .. } => Some(id),
        Row::File { id, .. } => Some(state.workspaces[wi].tree.files[id as usize].folder),
        _ => None,
    };
    let w = &state.workspaces[wi];
    // A folder alone is re-listed only over a complete tree; otherwise the whole
    // workspace starts over (pages of two listings must not mix).
    let path = match folder {
        Some(id) if id != ROOT && w.listing.complete => w.tree.folder_path(id),
        _ => {
            state.workspaces[wi].expanded = true;
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
    let w = &mut state.workspaces[wi];
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
    let w = &mut state.workspaces[wi];
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
    let waiting = std::mem::take(&mut state.workspaces[wi].refresh_waiting);
    waiting
        .into_iter()
        .flat_map(|path| relist_folder(state, wi, path))
        .collect()
}

/// Why a folder of workspace `w` cannot be acted on as a whole now, if it cannot: its
/// listing may be missing files under it.
fn folder_unsure(w: &WorkspaceView, id: FolderId, verb: &str) -> Option<String> {
    let path = for_terminal(&w.tree.folder_path(id));
    let ws = for_terminal(&w.id);
    if w.listing.maybe_incomplete {
        return Some(format!(
            "Not {verb} {path}: the server's listing of {ws} may be incomplete (a full page \
             came back without a cursor), so some files under it may be missing here."
        ));
    }
    if w.listing.error.is_some() {
        return Some(format!(
            "Not {verb} {path}: the last listing of {ws} failed, so some files under it \
             may be missing here; r lists it again."
        ));
    }
    if !w.listing.complete || w.refreshing() {
        return Some(format!(
            "Not {verb} {path} yet: {ws} is still being listed; try again when it is complete."
        ));
    }
    None
}

/// What `d` or `x` acts on (see [`marks`]), every file under it once, and each item as
/// `ws:path`; `None` once the user has been told why not.
struct Batch {
    targets: marks::Targets,
    files: Vec<(FileId, String)>,
    items: Vec<String>,
}

fn batch(state: &mut State, verb: &str) -> Option<Batch> {
    let targets = match marks::targets(state) {
        Ok(t) => t,
        Err(why) => {
            state.error(why);
            return None;
        }
    };
    let w = &state.workspaces[targets.ws];
    let unsure = targets.rows.iter().find_map(|&row| match row {
        Row::Folder { id, .. } => folder_unsure(w, id, verb),
        _ => None,
    });
    if let Some(why) = unsure {
        state.error(why);
        return None;
    }
    let files = marks::files_of(w, &targets.rows);
    let items = targets
        .rows
        .iter()
        .map(|&r| for_terminal(&marks::remote_label(&w.id, &marks::row_path(w, r))))
        .collect();
    Some(Batch {
        targets,
        files,
        items,
    })
}

/// `x`: the marked items when there are marks, else the cursor row (the rule of `d`).
fn ask_delete(state: &mut State) {
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
    let label = match (t.marked, &t.rows[..]) {
        (false, [Row::Folder { .. }]) => format!("{} and every file under it", items[0]),
        (false, _) => items[0].clone(),
        (true, rows) => format!(
            "{} marked item{}",
            fmt_count(rows.len()),
            if rows.len() == 1 { "" } else { "s" }
        ),
    };
    let w = &state.workspaces[t.ws];
    let (mut bytes, mut unknown_sizes) = (0u64, false);
    for &(id, _) in &files {
        let size = w.tree.files[id as usize].size();
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

/// 1234 → "1,234".
fn fmt_count(n: usize) -> String {
    super::count::group(n as u64)
}

fn confirm_delete(state: &mut State, confirm: DeleteConfirm) -> Vec<Command> {
    if confirm.marked {
        state.marked.retain(|r| r.ws() != confirm.ws);
    }
    let req = state.req();
    let w = &state.workspaces[confirm.ws];
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

fn on_event(state: &mut State, ev: Event) -> Vec<Command> {
    match ev {
        Event::Workspaces { req, result } => {
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
                    state.workspaces[0].expanded = true;
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
        Event::ListPage {
            req,
            files,
            done,
            maybe_incomplete,
        } => {
            let Some(wi) = state.workspaces.iter().position(|w| {
                w.listing.req == Some(req) || w.refreshes.iter().any(|r| r.req == req)
            }) else {
                return Vec::new(); // stale: the user moved on
            };
            let w = &state.workspaces[wi];
            let refresh = w.refreshes.iter().position(|r| r.req == req);
            let said_path = (done && state.refresh_said == Some(req)).then(|| {
                refresh
                    .map(|i| w.refreshes[i].path.clone())
                    .unwrap_or_default()
            });
            if refresh.is_some_and(|i| !w.refreshes[i].cleared) {
                remember(state, wi);
            }
            let w = &mut state.workspaces[wi];
            match refresh {
                Some(i) => {
                    let r = &mut w.refreshes[i];
                    if !r.cleared {
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
                let w = &state.workspaces[wi];
                let path = said_path.unwrap_or_default();
                let count = match w.tree.folder_by_path(&path) {
                    Some(id) => w.tree.folders[id as usize].count,
                    None => 0,
                };
                state.info(format!(
                    "Listed {} again: {} file{}.",
                    for_terminal(&marks::remote_label(&w.id, &path)),
                    fmt_count(count as usize),
                    if count == 1 { "" } else { "s" }
                ));
            }
            let w = &mut state.workspaces[wi];
            if w.listing_idle() {
                w.remembered = None;
            }
            start_waiting(state, wi)
        }
        Event::ListFailed { req, error } => {
            let Some(wi) = state.workspaces.iter().position(|w| {
                w.listing.req == Some(req) || w.refreshes.iter().any(|r| r.req == req)
            }) else {
                return Vec::new();
            };
            let w = &mut state.workspaces[wi];
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
        Event::TransferAdded { id, info } => {
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
        Event::TransferState { id, state: ts } => {
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
        Event::Uploaded { ws, entry } => {
            let Some(wi) = state.workspaces.iter().position(|w| w.id == ws) else {
                return Vec::new();
            };
            let w = &mut state.workspaces[wi];
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
        Event::TransferProgress { at_ms, samples } => {
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
        Event::Conflicts { batch, items } => {
            state.marks_sent = None;
            ask(
                state,
                Dialog::Conflicts {
                    batch,
                    items,
                    choices: Vec::new(),
                },
            );
            Vec::new()
        }
        Event::ResumeOffer { count, bytes } => {
            ask(state, Dialog::ConfirmResume { count, bytes });
            Vec::new()
        }
        Event::Completed {
            req,
            text,
            candidates,
        } => {
            if state.complete_req.take() != Some(req) {
                return Vec::new();
            }
            if let Some(Dialog::Path { input, .. }) = &mut state.dialog {
                *input = Input::new(text);
                state.under_prompt = candidates;
                state.dirty = true;
            }
            Vec::new()
        }
        Event::TransferProblem(text) => {
            // A download that could not start keeps the marks it was started from.
            if let Some(marks) = state.marks_sent.take() {
                state.marked.extend(marks);
            }
            state.error(text);
            Vec::new()
        }
        Event::TransferNote { id, note } => {
            if let Some(t) = transfer_mut(state, id) {
                t.note = Some(note);
                state.dirty = true;
            }
            Vec::new()
        }
        // The browser asks: a refusal and an idle signal are for runs without a screen.
        Event::ConflictsRefused(_) => {
            state.marks_sent = None;
            Vec::new()
        }
        Event::TransfersIdle => {
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
        Event::QueueClaimed(result) => {
            let action = state.after_claim.take();
            match result {
                Ok(()) => {
                    state.transfers_blocked = None;
                    state.info("The transfer queue is free: transfers are on in this window.");
                    match action {
                        Some(a) => on_action(state, a),
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
        Event::Deleted { req, results } => {
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
            let w = &mut state.workspaces[pending.ws];
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
    }
}

/// The folder the selection is in (a folder itself, or a file's folder), as a path.
fn selected_folder(state: &State) -> Option<(usize, String)> {
    let row = state.selected_row()?;
    let ws = row.ws();
    let t = &state.workspaces[ws].tree;
    let path = match row {
        Row::Folder { id, .. } => t.folder_path(id),
        Row::File { id, .. } => t.folder_path(t.files[id as usize].folder),
        Row::Workspace { .. } | Row::Status { .. } => String::new(),
    };
    Some((ws, path))
}

fn ask_upload(state: &mut State) {
    let Some((ws, folder)) = selected_folder(state) else {
        state.info("Open a workspace first.");
        return;
    };
    state.dialog = Some(Dialog::Path {
        kind: PromptKind::Upload {
            ws: state.workspaces[ws].id.clone(),
            folder,
        },
        input: Input::default(),
    });
}

/// `d`: the marked items when there are marks, else the cursor row.
fn ask_download(state: &mut State) {
    let Some(Batch {
        targets: t,
        files,
        items: what,
    }) = batch(state, "downloading")
    else {
        return;
    };
    let w = &state.workspaces[t.ws];
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

/// Once the last running upload into a workspace has finished, re-list the deepest folder
/// holding everything uploaded since the last time (one listing, not one per file: folder
/// listings of one tree must not overlap).
fn refresh_after_upload(state: &mut State, info: &TransferInfo) -> Vec<Command> {
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
    if busy || !state.workspaces[wi].listing.started {
        return Vec::new();
    }
    let Some(folder) = state.uploaded_into.remove(&info.ws) else {
        return Vec::new();
    };
    if !state.workspaces[wi].listing.complete || folder.is_empty() {
        // Over a partial tree, or at the root: list it all again.
        let cmds = start_listing(state, wi);
        state.reflatten();
        return cmds;
    }
    relist_folder(state, wi, folder)
}
