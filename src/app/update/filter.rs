//! The filter's keys: typing into it (each edit a new pattern for the matcher), Enter to
//! keep it, Esc to clear it, `n`/`N` through its matches.

use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use crate::app::filter;
use crate::app::keymap::{Context, DialogAction as D};
use crate::app::msg::Command;
use crate::app::state::State;

/// Whether the filter's input has the keys.
pub(super) fn editing(state: &State) -> bool {
    state.filter.as_ref().is_some_and(|f| f.editing)
}

pub(super) fn on_key(state: &mut State, key: KeyEvent) -> Vec<Command> {
    state.dirty = true;
    match state.keymap.dialog(Context::Prompt, &key) {
        Some(D::Submit) => {
            // Enter keeps it; an empty one is no filter.
            match &mut state.filter {
                Some(f) if f.active() => f.editing = false,
                _ => return filter::clear(state),
            }
            Vec::new()
        }
        Some(D::Cancel) => filter::clear(state),
        Some(D::Complete) => Vec::new(),
        _ => {
            if let Some(f) = &mut state.filter {
                f.input.handle_event(&TermEvent::Key(key));
            }
            filter::on_input(state)
        }
    }
}

/// Pasted text goes into the filter's input as typed.
pub(super) fn on_paste(state: &mut State, text: &str) -> Vec<Command> {
    if let Some(f) = &mut state.filter {
        for c in text.chars().filter(|c| !c.is_control()) {
            f.input.handle(tui_input::InputRequest::InsertChar(c));
        }
    }
    filter::on_input(state)
}
