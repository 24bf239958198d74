//! `:`: the jump prompt. Tab completes over the cursor's workspace's remote tree (in
//! `update`: the tree is here, nothing to wait for), Tab again steps through the
//! candidates, Enter selects the file or folder and opens the folders to it.

use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::app::jump::{self, Cycle, Target};
use crate::app::keymap::DialogAction as D;
use crate::app::msg::Command;
use crate::app::state::{Dialog, Pane, PromptKind, Row, State};
use crate::app::tree::ROOT;

use super::listing::start_listing;

/// Open the prompt on the cursor's workspace (listing it first if nothing has).
pub(super) fn open(state: &mut State) -> Vec<Command> {
    let Some(ws) = state.selected_row().map(|r| r.ws()) else {
        state.info("No workspace to go to a path in.");
        return Vec::new();
    };
    let mut cmds = Vec::new();
    if let Some(w) = state.ws_mut(ws)
        && !w.expanded
    {
        w.expanded = true;
        if !w.listing.started {
            cmds = start_listing(state, ws);
        }
        state.reflatten();
    }
    state.under_prompt.clear();
    state.dialog = Some(Dialog::Path {
        kind: PromptKind::Jump { ws, cycle: None },
        input: Input::default(),
    });
    cmds
}

fn keep(state: &mut State, ws: usize, cycle: Option<Cycle>, input: Input) {
    state.dialog = Some(Dialog::Path {
        kind: PromptKind::Jump { ws, cycle },
        input,
    });
}

pub(super) fn on_key(
    state: &mut State,
    ws: usize,
    cycle: Option<Cycle>,
    mut input: Input,
    act: Option<D>,
    key: KeyEvent,
) -> Vec<Command> {
    match act {
        Some(D::Cancel) => {
            state.under_prompt.clear();
        }
        Some(D::Submit) => submit(state, ws, input),
        Some(D::Complete | D::CompleteBack) => {
            let back = act == Some(D::CompleteBack);
            match cycle {
                Some(c) if !state.under_prompt.is_empty() => step(state, ws, c, back),
                _ if back => keep(state, ws, None, input),
                _ => complete(state, ws, input),
            }
        }
        _ => {
            // An edit: the candidates of the last Tab are stale.
            state.under_prompt.clear();
            input.handle_event(&TermEvent::Key(key));
            keep(state, ws, None, input);
        }
    }
    Vec::new()
}

fn complete(state: &mut State, ws: usize, input: Input) {
    let Some(w) = state.ws(ws) else {
        return;
    };
    let partial = w.partial();
    match jump::complete(&w.tree, input.value(), state.hide_dotfiles) {
        Ok(c) => {
            state.under_prompt = c.candidates;
            keep(state, ws, c.cycle, Input::new(c.text));
        }
        Err(why) => {
            let still = if partial {
                " (the listing is still arriving)"
            } else {
                ""
            };
            state.under_prompt = vec![format!("{why}{still}")];
            keep(state, ws, None, input);
        }
    }
}

/// The next (or previous) candidate into the input.
fn step(state: &mut State, ws: usize, mut c: Cycle, back: bool) {
    let n = state.under_prompt.len().max(1);
    let at = match (c.at, back) {
        (None, false) => 0,
        (None, true) => n - 1,
        (Some(i), false) => (i + 1) % n,
        (Some(i), true) => (i + n - 1) % n,
    };
    c.at = Some(at);
    let name = state.under_prompt.get(at).cloned().unwrap_or_default();
    let text = format!("{}{name}", c.base);
    keep(state, ws, Some(c), Input::new(text));
}

fn submit(state: &mut State, ws: usize, input: Input) {
    let text = input.value().to_string();
    let Some(w) = state.ws(ws) else {
        return;
    };
    if text.trim().is_empty() {
        state.under_prompt = vec!["type a path in this workspace; Tab completes".into()];
        keep(state, ws, None, input);
        return;
    }
    // Names may end in spaces: the exact text first, then the text trimmed.
    let found = jump::resolve(&w.tree, &text).or_else(|| jump::resolve(&w.tree, text.trim()));
    let Some(target) = found else {
        let near = jump::deepest_existing(&w.tree, &text);
        let mut why = format!("not found: {text}");
        if !near.is_empty() {
            why.push_str(&format!(" ({near} exists; Tab lists what is in it)"));
        }
        if w.partial() {
            why.push_str(" — the listing is still arriving");
        }
        state.under_prompt = vec![why];
        keep(state, ws, None, input);
        return;
    };
    let (row, mut folder) = match target {
        Target::File(id) => (Row::File { ws, id }, w.tree.folder_of(id)),
        Target::Folder(id) => (Row::Folder { ws, id }, id),
    };
    // Open every folder down to it (a folder named is opened too, to show what it holds).
    let mut chain = Vec::new();
    while folder != ROOT {
        chain.push(folder);
        folder = w.tree.parent_of(folder);
    }
    if let Some(w) = state.ws_mut(ws) {
        w.expanded = true;
        w.open.extend(chain);
    }
    state.under_prompt.clear();
    state.reflatten();
    let Some(i) = state.rows.iter().position(|r| *r == row) else {
        // Hidden as a dotfile (or under a hidden folder).
        state.under_prompt = vec![format!(
            "{text} is hidden with the dotfiles: {} shows them",
            state.keymap.short(crate::app::keymap::Bound::Main(
                crate::app::msg::Action::ToggleHidden
            ))
        )];
        keep(state, ws, None, input);
        return;
    };
    state.focus = Pane::Tree;
    state.selected = i;
    // In the middle of the pane, with what is around it in sight.
    state.offset = i.saturating_sub(state.viewport() / 2);
    state.scroll_into_view();
}
