//! `y` and `Y`: the selected item's display path, or a fresh presigned download URL of
//! the selected file, into the clipboard outbox; the runtime sends it as OSC 52.

use super::super::msg::{Command, ReqId, Secret};
use super::super::state::{Pane, Row, State};
use crate::sanitize::for_terminal;

/// What tmux needs to pass OSC 52 on to the terminal outside it.
const TMUX_HINT: &str = " In tmux: set -g set-clipboard on";

fn tmux_hint(state: &State) -> &'static str {
    if state.look.in_tmux { TMUX_HINT } else { "" }
}

/// The selected row's path, if it has one: as written when nothing in it could act on a
/// terminal or a shell it is pasted into (no control character, no line or paragraph
/// separator), so a name in any script pastes as itself; else as the details pane shows
/// it (sanitized). OSC 52 carries it base64-encoded: it cannot end the sequence either way.
fn display_path(state: &State) -> Option<String> {
    let row = state.selected_row()?;
    let ws = state.ws(row.ws())?;
    let t = &ws.tree;
    let text = match row {
        Row::File { id, .. } => t.display_key(id),
        Row::Folder { id, .. } => t.folder_path(id),
        Row::Workspace { .. } => ws.id.clone(),
        Row::Status { .. } => return None,
    };
    let pastes_safely = !text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'));
    Some(if pastes_safely {
        text
    } else {
        for_terminal(&text)
    })
}

pub(super) fn copy_path(state: &mut State) {
    if state.focus == Pane::Transfers {
        state.info("y copies a path of the tree: Tab goes back to it.");
        return;
    }
    let Some(text) = display_path(state) else {
        state.info("Nothing to copy here.");
        return;
    };
    state.info(format!(
        "Copied the path {} (OSC 52).{}",
        for_terminal(&text),
        tmux_hint(state)
    ));
    state.look.clipboard = Some(text);
}

pub(super) fn copy_url(state: &mut State) -> Vec<Command> {
    let file = match state.selected_row() {
        Some(Row::File { ws, id }) if state.focus != Pane::Transfers => state
            .ws(ws)
            .map(|w| (w.id.clone(), w.tree.key(id), w.tree.display_key(id))),
        _ => None,
    };
    let Some((ws, key, shown)) = file else {
        state.info("Y copies a download link of a file: select one in the tree.");
        return Vec::new();
    };
    let req = state.req();
    state.look.presign = Some((req, for_terminal(&shown)));
    state.info(format!(
        "Asking for a download link of {}…",
        for_terminal(&shown)
    ));
    vec![Command::PresignDownload { req, ws, key }]
}

pub(super) fn on_presigned(
    state: &mut State,
    req: ReqId,
    result: Result<(Secret, Option<u64>), String>,
) -> Vec<Command> {
    // A newer `Y` (or none) is waited for: this answer is stale.
    let Some((_, shown)) = state.look.presign.take_if(|(r, _)| *r == req) else {
        return Vec::new();
    };
    match result {
        Ok((Secret(url), secs)) => {
            let life = match secs {
                Some(s) if s >= 120 => format!("valid for {} min", s / 60),
                Some(s) => format!("valid for {s} s"),
                None => "(a presigned link)".to_string(),
            };
            state.info(format!(
                "Copied a download link of {shown} {life} (OSC 52).{}",
                tmux_hint(state)
            ));
            state.look.clipboard = Some(url);
        }
        Err(e) => state.error(format!(
            "No download link for {shown}: {}",
            for_terminal(&e)
        )),
    }
    Vec::new()
}
