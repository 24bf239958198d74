//! Keys while a dialog is open, and the questions and answers the worker sends for one.

use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::app::keymap::{Context, DialogAction as D};
use crate::app::msg::{Choice, Command, ReqId};
use crate::app::state::{Dialog, Pane, PromptKind, State, WorkspaceView};

use super::delete::confirm_delete;
use super::listing::start_listing;

/// A question from the worker: shown now, or after the dialog on screen (replacing it
/// would leave that one unanswered, and a batch waiting for its answer forever).
pub(super) fn ask(state: &mut State, dialog: Dialog) {
    if state.dialog.is_none() {
        state.dialog = Some(dialog);
        state.dirty = true;
    } else {
        state.waiting.push_back(dialog);
    }
}

pub(super) fn on_dialog_key(state: &mut State, dialog: Dialog, key: KeyEvent) -> Vec<Command> {
    let context = match dialog {
        Dialog::Help => Context::Help,
        Dialog::ConfirmDelete(_) | Dialog::ConfirmResume { .. } | Dialog::ConfirmQuit { .. } => {
            Context::Confirm
        }
        Dialog::Conflicts { .. } => Context::Conflicts,
        Dialog::Path { .. } | Dialog::WorkspacePrompt(_) => Context::Prompt,
    };
    let act = state.keymap.dialog(context, &key);
    match dialog {
        Dialog::Help => {
            // Keys other than help.close leave it open.
            if act != Some(D::HelpClose) {
                state.dialog = Some(Dialog::Help);
            }
            Vec::new()
        }
        Dialog::ConfirmDelete(confirm) => match act {
            Some(D::Yes) => confirm_delete(state, confirm),
            Some(D::No) => Vec::new(),
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
            let (choice, all) = match act {
                Some(D::Overwrite) => (Some(Choice::Overwrite), false),
                Some(D::Skip) => (Some(Choice::Skip), false),
                Some(D::SkipIfIdentical) => (Some(Choice::SkipIfIdentical), false),
                Some(D::KeepBoth) => (Some(Choice::KeepBoth), false),
                Some(D::OverwriteAll) => (Some(Choice::Overwrite), true),
                Some(D::SkipAll) => (Some(Choice::Skip), true),
                Some(D::SkipIfIdenticalAll) => (Some(Choice::SkipIfIdentical), true),
                Some(D::KeepBothAll) => (Some(Choice::KeepBoth), true),
                Some(D::SkipRest) => {
                    // Nothing is overwritten without an answer.
                    choices.resize(items.len(), Choice::Skip);
                    return vec![Command::Resolve { batch, choices }];
                }
                _ => (None, false),
            };
            if let Some(c) = choice {
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
        Dialog::ConfirmResume { count, bytes } => match act {
            Some(D::Yes) => vec![Command::Resume(true)],
            Some(D::No) => vec![Command::Resume(false)],
            _ => {
                state.dialog = Some(Dialog::ConfirmResume { count, bytes });
                Vec::new()
            }
        },
        Dialog::ConfirmQuit { active } => {
            match act {
                Some(D::Yes) => state.quit = true,
                Some(D::No) => {}
                _ => state.dialog = Some(Dialog::ConfirmQuit { active }),
            }
            Vec::new()
        }
        Dialog::Path {
            kind: PromptKind::Jump { ws, cycle },
            input,
        } => super::jump::on_key(state, ws, cycle, input, act, key),
        Dialog::Path { kind, mut input } => match act {
            _ if act != Some(D::Complete) && !state.under_prompt.is_empty() => {
                // Whatever the key does, the candidates of the last Tab are stale now.
                state.under_prompt.clear();
                on_dialog_key(state, Dialog::Path { kind, input }, key)
            }
            Some(D::Submit) => {
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
                    // Its keys go to `jump::on_key` (above).
                    PromptKind::Jump { .. } => Vec::new(),
                }
            }
            Some(D::Cancel) => Vec::new(),
            Some(D::Complete) => {
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
        Dialog::WorkspacePrompt(mut input) => match act {
            Some(D::Submit) => {
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
                if let Some(w) = state.workspaces.get_mut(first) {
                    w.expanded = true;
                    cmds = start_listing(state, first);
                }
                state.reflatten();
                cmds
            }
            Some(D::Cancel) => {
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

/// A completion for the prompt, if it is still the one the Tab was pressed in.
pub(super) fn on_completed(
    state: &mut State,
    req: ReqId,
    text: String,
    candidates: Vec<String>,
) -> Vec<Command> {
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
