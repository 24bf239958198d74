//! `p` and `P`: the preview follows the selected file (a new request for each file, the
//! worker cancelling the one before: latest wins), answers of older requests are
//! dropped, and the full-screen view asks for further ranges as it is scrolled to the
//! end of what was fetched.

use ratatui::crossterm::event::{KeyEvent, MouseEventKind};

use super::super::keymap::{Context, DialogAction as D};
use super::super::msg::{Command, ReqId};
use super::super::preview::{FIRST_RANGE, Preview, PreviewData, PreviewLine, STEP, full_rows};
use super::super::state::{Pane, Row, State};
use crate::preview::without_cut_count;

/// The selected file: (workspace index, key, display path).
fn selected_file(state: &State) -> Option<(usize, String, String)> {
    match state.selected_row()? {
        Row::File { ws, id } => {
            let w = state.ws(ws)?;
            Some((ws, w.tree.key(id), w.tree.display_key(id)))
        }
        _ => None,
    }
}

pub(super) fn toggle(state: &mut State) -> Vec<Command> {
    if state.focus == Pane::Transfers {
        state.info("p previews a file of the tree: Tab goes back to it.");
        return Vec::new();
    }
    state.preview.on = !state.preview.on;
    if state.preview.on && !state.details_shown() {
        // A preview in a hidden pane would be no preview at all.
        state.details = Some(true);
    }
    follow(state)
}

pub(super) fn open_full(state: &mut State) -> Vec<Command> {
    if state.focus == Pane::Transfers || selected_file(state).is_none() {
        state.info("P previews a file: select one in the tree.");
        return Vec::new();
    }
    state.preview.full = true;
    let mut cmds = follow(state);
    if let Some(p) = &mut state.preview.current {
        p.scroll = 0;
    }
    cmds.extend(more_if_near_end(state));
    cmds
}

/// Keep the preview on the selected file: called after every message. Nothing is sent
/// while the preview still shows the selection.
pub(super) fn follow(state: &mut State) -> Vec<Command> {
    let p = &state.preview;
    if !p.on && !p.full {
        if state.preview.current.take().is_some() {
            state.dirty = true;
            return vec![Command::PreviewStop];
        }
        return Vec::new();
    }
    // The full-screen view stays on its file: keys scroll it, not the tree.
    if p.full && p.current.is_some() {
        return Vec::new();
    }
    let target = selected_file(state);
    let same = match (&target, &p.current) {
        (Some((ws, key, _)), Some(cur)) => cur.ws == *ws && cur.key == *key,
        (None, None) => true,
        _ => false,
    };
    if same {
        return Vec::new();
    }
    state.dirty = true;
    let Some((ws, key, shown)) = target else {
        state.preview.current = None;
        return vec![Command::PreviewStop];
    };
    let Some(ws_id) = state.ws(ws).map(|w| w.id.clone()) else {
        return Vec::new();
    };
    let req = state.req();
    let cap = state.preview.cap;
    let want = FIRST_RANGE.min(cap);
    let name = shown.rsplit('/').next().unwrap_or(&shown).to_string();
    state.preview.current = Some(Preview {
        req,
        ws,
        key: key.clone(),
        shown,
        data: None,
        error: None,
        loading: true,
        asked: want,
        scroll: 0,
    });
    vec![Command::Preview {
        req,
        ws: ws_id,
        key,
        name,
        want,
        cap,
    }]
}

pub(super) fn on_preview(
    state: &mut State,
    req: ReqId,
    result: Result<PreviewData, String>,
) -> Vec<Command> {
    // The answer of a file the preview has moved on from.
    let Some(p) = state.preview.current.as_mut().filter(|p| p.req == req) else {
        return Vec::new();
    };
    p.loading = false;
    let grew = match result {
        Ok(data) => {
            p.asked = p.asked.max(data.fetched);
            p.error = None;
            // New lines, or lines that say more (a long header's counts going up); not a
            // cut line's count going up, which shows the same text.
            let grew = p
                .data
                .as_ref()
                .is_none_or(|d| !same_shown(&d.lines, &data.lines));
            p.data = Some(data);
            grew
        }
        Err(e) => {
            p.error = Some(e);
            false
        }
    };
    state.dirty = true;
    // Only a range that changed what is shown fetches the next by itself: one endless
    // line (or text past the lines kept) would otherwise be fetched and decoded again
    // and again up to the cap with nobody scrolling. A scroll still asks.
    if grew {
        more_if_near_end(state)
    } else {
        Vec::new()
    }
}

/// The same lines but for the counts of their cut markers.
fn same_shown(a: &[PreviewLine], b: &[PreviewLine]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.role == y.role && without_cut_count(&x.text) == without_cut_count(&y.text)
        })
}

/// Full screen, within two screens of the last line fetched: fetch the next range.
fn more_if_near_end(state: &mut State) -> Vec<Command> {
    if !state.preview.full {
        return Vec::new();
    }
    let rows = full_rows(state.height);
    let cap = state.preview.cap;
    let Some(p) = state.preview.current.as_mut() else {
        return Vec::new();
    };
    let Some(d) = &p.data else {
        return Vec::new();
    };
    let near_end = p.scroll + 2 * rows >= d.lines.len();
    if p.loading || !d.wants_more || d.problem.is_some() || p.asked >= cap || !near_end {
        return Vec::new();
    }
    p.asked = p.asked.saturating_add(STEP).min(cap);
    p.loading = true;
    vec![Command::PreviewMore {
        req: p.req,
        want: p.asked,
    }]
}

/// The full-screen view's furthest scroll: its last line on the bottom row.
fn last_scroll(state: &State) -> usize {
    state
        .preview
        .lines()
        .len()
        .saturating_sub(full_rows(state.height))
}

/// A new screen size: the full-screen view is scrolled no further than its furthest
/// scroll on the new height (a taller screen would otherwise show its last lines at the
/// top over empty rows), and a screen that now reaches near the end of what was fetched
/// asks for the next range as a scroll there would.
pub(super) fn on_resize(state: &mut State) -> Vec<Command> {
    let last = last_scroll(state);
    if let Some(p) = state.preview.current.as_mut() {
        p.scroll = p.scroll.min(last);
    }
    more_if_near_end(state)
}

/// Lines a turn of the wheel scrolls.
const WHEEL_LINES: usize = 3;

pub(super) fn on_full_mouse(state: &mut State, kind: MouseEventKind) -> Vec<Command> {
    let down = match kind {
        MouseEventKind::ScrollDown => true,
        MouseEventKind::ScrollUp => false,
        _ => return Vec::new(),
    };
    let last = last_scroll(state);
    if let Some(p) = state.preview.current.as_mut() {
        p.scroll = if down {
            (p.scroll + WHEEL_LINES).min(last)
        } else {
            p.scroll.saturating_sub(WHEEL_LINES)
        };
        state.dirty = true;
    }
    more_if_near_end(state)
}

/// A key while the full-screen preview is open.
pub(super) fn on_full_key(state: &mut State, key: &KeyEvent) -> Vec<Command> {
    let rows = full_rows(state.height);
    let Some(action) = state.keymap.dialog(Context::Preview, key) else {
        return Vec::new();
    };
    state.dirty = true;
    if action == D::PreviewClose {
        state.preview.full = false;
        return follow(state);
    }
    let last = last_scroll(state);
    if let Some(p) = state.preview.current.as_mut() {
        p.scroll = match action {
            D::PreviewUp => p.scroll.saturating_sub(1),
            D::PreviewDown => p.scroll + 1,
            D::PreviewPageUp => p.scroll.saturating_sub(rows.saturating_sub(1).max(1)),
            D::PreviewPageDown => p.scroll + rows.saturating_sub(1).max(1),
            D::PreviewTop => 0,
            D::PreviewBottom => last,
            _ => p.scroll,
        }
        .min(last);
    }
    more_if_near_end(state)
}
