//! `update(&mut State, Msg) -> Vec<Command>`: pure. No I/O, no clock, no channel: tests
//! feed it messages and read the commands it returns. This file dispatches; each concern
//! (tree navigation, listings, deletes, dialogs, transfers) has its own file.

mod copy;
mod delete;
mod dialogs;
mod filter;
mod jump;
mod listing;
mod mouse;
mod nav;
mod preview;
mod sort;
mod transfers;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use super::keymap::{Bound, Context, DialogAction};
use super::msg::{Action, Command, Event, Msg};
use super::state::{Dialog, Pane, State};

/// The commands to send when the app starts.
pub fn init(state: &mut State) -> Vec<Command> {
    let mut cmds = Vec::new();
    if state.workspaces.is_empty() {
        let req = state.req();
        state.workspaces_req = Some(req);
        cmds.push(Command::ListWorkspaces { req });
    } else {
        if let Some(w) = state.workspaces.first_mut() {
            w.expanded = true;
        }
        cmds.extend(listing::start_listing(state, 0));
    }
    state.reflatten();
    cmds
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Command> {
    let mut cmds = on_msg(state, msg);
    // Files listed or uploaded under a filter go to the matcher too. The matcher's
    // results rebuild the rows in `settle`, which the runtime calls (at most every 50 ms
    // while they stream in): a key never waits for a million-row rebuild.
    cmds.extend(filter::sync(state));
    // Wherever the selection went (a key, a click, a listing that moved it), the preview
    // follows.
    cmds.extend(preview::follow(state));
    // The worker's next question, once the one on screen is answered.
    if state.dialog.is_none()
        && let Some(d) = state.waiting.pop_front()
    {
        state.dialog = Some(d);
        state.dirty = true;
    }
    cmds
}

/// Work left for before the next frame: the rows the filter's results changed.
pub fn settle(state: &mut State) {
    filter::settle(state);
}

fn on_msg(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key),
        Msg::Key(_) => Vec::new(),
        // The full-screen preview covers the panes: the wheel scrolls it, clicks do
        // nothing to what is hidden under it.
        Msg::Mouse(ev, _) if state.preview.full && state.dialog.is_none() => {
            preview::on_full_mouse(state, ev.kind)
        }
        Msg::Mouse(ev, at_ms) => mouse::on_mouse(state, ev, at_ms),
        Msg::Paste(text) if state.dialog.is_none() && filter::editing(state) => {
            filter::on_paste(state, &text)
        }
        Msg::Paste(text) => {
            // The text a pending completion was asked for is not the prompt's any more.
            state.complete_req = None;
            // And the candidates of the last Tab are stale (a Tab now completes afresh).
            state.under_prompt.clear();
            if let Some(Dialog::WorkspacePrompt(input) | Dialog::Path { input, .. }) =
                &mut state.dialog
            {
                *input = crate::app::paste::paste(input, &text, crate::app::paste::MAX_PROMPT);
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
            preview::on_resize(state)
        }
        // The step itself is taken after every message (`filter::sync`).
        Msg::Continue => Vec::new(),
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

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    // A completion answers the text of its Tab, in the prompt of its Tab: any other key
    // (an edit, Esc, Enter, one that opens a new prompt) makes its answer stale.
    let completes = state.keymap.dialog(Context::Prompt, &key) == Some(DialogAction::Complete);
    if !completes || !matches!(state.dialog, Some(Dialog::Path { .. })) {
        state.complete_req = None;
    }
    // The user has moved on: a listing still arriving no longer puts the cursor back.
    for w in &mut state.workspaces {
        if let Some(r) = &mut w.remembered {
            r.selected = None;
        }
    }
    // Any key dismisses a notification; the key still does its work, except the one that
    // clears marks (Esc), which closes what is on top (the notification) and nothing
    // more: the marks it would otherwise clear are often what the notification is about.
    if state.notice.take().is_some() {
        state.dirty = true;
        if state.dialog.is_none() && state.keymap.action(&key) == Some(Action::ClearMarks) {
            return Vec::new();
        }
    }
    // Force quit works in dialogs too.
    if state.keymap.action(&key) == Some(Action::ForceQuit) {
        state.quit = true;
        state.interrupted = true;
        return Vec::new();
    }
    if let Some(dialog) = state.dialog.take() {
        state.dirty = true;
        return dialogs::on_dialog_key(state, dialog, key);
    }
    if state.preview.full {
        return preview::on_full_key(state, &key);
    }
    if filter::editing(state) {
        return filter::on_key(state, key);
    }
    let Some(action) = state.keymap.action(&key) else {
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
    let meant = match key.code {
        KeyCode::Char(c) => !c.is_control(),
        KeyCode::F(_) | KeyCode::Insert | KeyCode::Backspace | KeyCode::BackTab => true,
        _ => false,
    };
    if !meant {
        return;
    }
    // Named as the help and `[keys]` write keys (Esc then a key, typed fast or sent by a
    // terminal for Alt, reads as Alt-).
    let name = crate::app::keymap::Key::of(key);
    let help = state
        .keymap
        .short(crate::app::keymap::Bound::Main(Action::Help));
    state.info(format!("{name} does nothing here: {help} lists the keys."));
}

fn on_action(state: &mut State, action: Action) -> Vec<Command> {
    let page = state.viewport().saturating_sub(1).max(1);
    let half = (state.viewport() / 2).max(1);
    let last = state.rows.len().saturating_sub(1);
    match action {
        Action::Up
        | Action::Down
        | Action::Top
        | Action::Bottom
        | Action::PageUp
        | Action::PageDown
        | Action::HalfPageUp
        | Action::HalfPageDown
            if state.focus == Pane::Transfers =>
        {
            transfers::move_cursor(state, action);
        }
        // Keys act on the pane in focus: the tree's keys do nothing to the tree from the
        // transfers pane (the cursor there is on a transfer, not on what they would touch).
        Action::Expand
        | Action::Collapse
        | Action::Refresh
        | Action::Upload
        | Action::Download
        | Action::Mark
        | Action::MarkRange
        | Action::MarkAll
        | Action::InvertMarks
            if state.focus == Pane::Transfers =>
        {
            // The keys in force, as the footer shows them.
            let k = |a| state.keymap.short(Bound::Main(a));
            let text = format!(
                "In the transfers pane: {} cancels, {} removes a row; {} goes back to the tree.",
                k(Action::CancelTransfer),
                k(Action::Delete),
                k(Action::NextPane)
            );
            state.info(text);
        }
        Action::Up => nav::select(state, state.selected.saturating_sub(1)),
        Action::Down => nav::select(state, (state.selected + 1).min(last)),
        Action::Top => nav::select(state, 0),
        Action::Bottom => nav::select(state, last),
        Action::PageUp => nav::select(state, state.selected.saturating_sub(page)),
        Action::PageDown => nav::select(state, (state.selected + page).min(last)),
        Action::HalfPageUp => nav::select(state, state.selected.saturating_sub(half)),
        Action::HalfPageDown => nav::select(state, (state.selected + half).min(last)),
        Action::MarkRange => nav::mark_range(state),
        Action::MarkAll => nav::mark_all(state),
        Action::InvertMarks => nav::invert_marks(state),
        Action::FocusTransfers => nav::focus_transfers(state),
        Action::Expand => return nav::expand(state),
        Action::Collapse => nav::collapse(state),
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
        Action::Refresh => return listing::on_refresh(state),
        // In the transfers pane `x` is about the transfer row under the cursor, never about
        // the tree item selected behind it.
        Action::Delete if state.focus == Pane::Transfers => transfers::remove_transfer_row(state),
        Action::Delete => delete::ask_delete(state),
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
        Action::Upload => transfers::ask_upload(state),
        Action::Download => transfers::ask_download(state),
        Action::Mark => nav::toggle_mark(state),
        // Esc clears the filter first (a second Esc the marks).
        Action::ClearMarks if state.filter.is_some() => return filter::clear(state),
        Action::ClearMarks => nav::clear_marks(state),
        Action::CancelTransfer => return transfers::cancel_one(state),
        Action::CancelAll => return transfers::cancel_all(state),
        Action::RetryFailed => return transfers::retry_failed(state),
        Action::ClearFinished => transfers::clear_finished(state),
        Action::Suspend => state.suspend = true,
        Action::ToggleHidden => nav::toggle_hidden(state),
        Action::CopyPath => copy::copy_path(state),
        Action::CopyUrl => return copy::copy_url(state),
        Action::ToggleMouse => mouse::toggle(state),
        Action::SortNext => sort::resort(state, false),
        Action::SortReverse => sort::resort(state, true),
        Action::Jump => return jump::open(state),
        Action::Filter => return filter::open(state),
        Action::NextMatch => filter::step(state, true),
        Action::PrevMatch => filter::step(state, false),
        Action::TogglePreview => return preview::toggle(state),
        Action::PreviewFull => return preview::open_full(state),
    }
    Vec::new()
}

fn on_event(state: &mut State, ev: Event) -> Vec<Command> {
    match ev {
        Event::Workspaces { req, result } => listing::on_workspaces(state, req, result),
        Event::ListPage {
            req,
            files,
            done,
            maybe_incomplete,
        } => listing::on_page(state, req, files, done, maybe_incomplete),
        Event::ListFailed { req, error } => listing::on_failed(state, req, error),
        Event::Uploaded { ws, entry } => listing::on_uploaded(state, ws, entry),
        Event::Deleted { req, results } => delete::on_deleted(state, req, results),
        Event::TransferAdded { id, info } => transfers::on_added(state, id, info),
        Event::TransferState { id, state: ts } => transfers::on_state(state, id, ts),
        Event::TransferProgress { at_ms, samples } => transfers::on_progress(state, at_ms, samples),
        Event::TransferProblem(text) => transfers::on_problem(state, text),
        Event::TransferNote { id, note } => transfers::on_note(state, id, note),
        Event::TransfersIdle => transfers::on_idle(state),
        Event::Presigned { req, result } => copy::on_presigned(state, req, result),
        Event::QueueClaimed(result) => transfers::on_claimed(state, result),
        Event::Filtered { req, results } => {
            filter::on_result(state, req, results);
            Vec::new()
        }
        Event::Preview { req, result } => preview::on_preview(state, req, result),
        Event::Conflicts { batch, items } => {
            state.marks_sent = None;
            dialogs::ask(
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
            dialogs::ask(state, Dialog::ConfirmResume { count, bytes });
            Vec::new()
        }
        Event::Completed {
            req,
            text,
            candidates,
        } => dialogs::on_completed(state, req, text, candidates),
        // The browser asks: a refusal and an idle signal are for runs without a screen.
        Event::ConflictsRefused(_) => {
            state.marks_sent = None;
            Vec::new()
        }
    }
}
