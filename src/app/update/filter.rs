//! The filter's keys and events: typing into it (each edit a new pattern for the
//! matcher), Enter to keep it, Esc to clear it, `n`/`N` through its matches; the results
//! coming back; files listed or uploaded under it; folder actions' notes.

use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;

use crate::app::corpus::ChunkResult;
use crate::app::filter::Filter;
use crate::app::keymap::{Bound, Context, DialogAction as D};
use crate::app::msg::{Action, Command, ReqId};
use crate::app::paste;
use crate::app::state::{Row, State};
use crate::app::tree::{FileId, FolderId, ROOT};

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
                _ => return clear(state),
            }
            Vec::new()
        }
        Some(D::Cancel) => clear(state),
        Some(D::Complete) => Vec::new(),
        _ => {
            if let Some(f) = &mut state.filter {
                let typed = matches!(key.code, KeyCode::Char(_))
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                if !typed || paste::room_for_one(&f.input, paste::MAX_PATTERN) {
                    f.input.handle_event(&TermEvent::Key(key));
                }
            }
            on_input(state)
        }
    }
}

/// Pasted text goes into the filter's input as typed.
pub(super) fn on_paste(state: &mut State, text: &str) -> Vec<Command> {
    if let Some(f) = &mut state.filter {
        f.input = paste::paste(&f.input, text, paste::MAX_PATTERN);
    }
    on_input(state)
}

fn command(f: &Filter, first: usize) -> Command {
    let (pattern, chunks) = f.work(first);
    Command::Filter {
        req: f.req,
        pattern,
        chunks,
        first,
    }
}

/// `/`: edit the filter in force, or start one over the cursor's workspace. Its corpus is
/// built here, once: the paths of every file listed so far (pages still coming are added
/// as they arrive).
pub(super) fn open(state: &mut State) -> Vec<Command> {
    if let Some(f) = &mut state.filter {
        f.editing = true;
        state.dirty = true;
        return Vec::new();
    }
    let Some(wi) = state.selected_row().map(|r| r.ws()) else {
        return Vec::new();
    };
    let req = state.req();
    let Some(w) = state.ws(wi) else {
        return Vec::new();
    };
    state.filter = Some(Filter::new(wi, req, &w.tree));
    // Its matches show under it: a closed workspace opens.
    if let Some(w) = state.ws_mut(wi)
        && !w.expanded
    {
        w.expanded = true;
        state.reflatten();
    }
    state.dirty = true;
    Vec::new()
}

/// The input changed: the new pattern goes to the matcher under a new request. The
/// matches on screen stay until its first results replace them.
fn on_input(state: &mut State) -> Vec<Command> {
    let req = state.req();
    let Some(f) = &mut state.filter else {
        return Vec::new();
    };
    let was_active = f.active();
    if !f.set_pattern(req) {
        return Vec::new();
    }
    let cmd = command(f, 0);
    if was_active != f.active() {
        state.reflatten();
    }
    state.dirty = true;
    vec![cmd]
}

/// Esc: no filter any more; the matcher drops its work, the corpus is freed.
pub(super) fn clear(state: &mut State) -> Vec<Command> {
    if state.filter.take().is_none() {
        return Vec::new();
    }
    let keep = state.selected_row();
    // The cursor's file stays in sight: its folders open.
    let folder = match keep {
        Some(Row::File { ws, id }) => state.ws(ws).map(|w| (ws, w.tree.folder_of(id))),
        Some(Row::Folder { ws, id }) => state.ws(ws).map(|w| (ws, w.tree.parent_of(id))),
        _ => None,
    };
    if let Some((wi, mut cur)) = folder
        && let Some(w) = state.ws_mut(wi)
    {
        while cur != ROOT && w.open.insert(cur) {
            cur = w.tree.parent_of(cur);
        }
    }
    state.reflatten();
    vec![Command::Filter {
        req: state.req(),
        pattern: String::new(),
        chunks: Vec::new(),
        first: 0,
    }]
}

pub(super) fn on_result(state: &mut State, req: ReqId, results: Vec<ChunkResult>) {
    if let Some(f) = &mut state.filter
        && f.take(req, results)
    {
        state.dirty = true;
    }
}

/// After every message: files listed (a page, an upload) since the corpus was built are
/// added and matched; a workspace listed afresh (new ids) gets a new corpus.
pub(super) fn sync(state: &mut State) -> Vec<Command> {
    let replaced = state.filter.as_ref().is_some_and(|f| {
        state
            .workspaces
            .get(f.ws)
            .is_some_and(|w| w.tree.files.len() < f.covered as usize)
    });
    let fresh = replaced.then(|| state.req());
    let Some(f) = &mut state.filter else {
        return Vec::new();
    };
    let Some(w) = state.workspaces.get(f.ws) else {
        state.filter = None;
        return Vec::new();
    };
    let len = FileId::try_from(w.tree.files.len()).unwrap_or(FileId::MAX);
    if let Some(fresh) = fresh {
        // The tree was replaced (a refresh of the whole workspace): its ids are new.
        f.reset(fresh);
    } else if len == f.covered {
        return Vec::new();
    }
    let first = f.extend(&w.tree);
    if f.active() {
        vec![command(f, first)]
    } else {
        Vec::new()
    }
}

/// Rebuild the rows if results came in since they were built.
pub fn settle(state: &mut State) {
    if state.filter.as_ref().is_some_and(|f| f.rows_stale) {
        state.reflatten();
    }
}

/// `n` / `N`: the next (or previous) matching file in tree order, wrapping around.
pub(super) fn step(state: &mut State, forward: bool) {
    let Some(wi) = state.filter.as_ref().filter(|f| f.active()).map(|f| f.ws) else {
        let key = state.keymap.short(Bound::Main(Action::Filter));
        return state.info(format!("No filter is on: {key} starts one."));
    };
    let n = state.rows.len().max(1);
    let is_match = |r: &Row| matches!(r, Row::File { ws, .. } if *ws == wi);
    let found = (1..=n)
        .map(|d| {
            if forward {
                (state.selected + d) % n
            } else {
                (state.selected + n - d % n) % n
            }
        })
        .find(|&i| state.rows.get(i).is_some_and(is_match));
    match found {
        Some(i) => {
            state.selected = i;
            state.scroll_into_view();
            state.dirty = true;
        }
        None => state.info("No file matches the filter."),
    }
}

/// Under a filter, a folder is still acted on whole: the note for its dialog, with the
/// files the filter shows in it and all the files it holds.
pub(super) fn folder_note(state: &State, wi: usize, folder: FolderId) -> Option<String> {
    let f = state.filter.as_ref().filter(|f| f.on(wi))?;
    let tree = &state.ws(wi)?.tree;
    let all = tree.folder(folder)?.count;
    let shown = tree
        .files_under(folder)
        .into_iter()
        .filter(|&id| {
            f.matched(id)
                && tree
                    .file(id)
                    .is_some_and(|x| !x.deleted && !x.name.is_empty())
        })
        .count();
    Some(format!(
        "the whole folder, not only what the filter shows: {} of its {} file{} match",
        crate::app::count::group(u64::try_from(shown).unwrap_or(u64::MAX)),
        crate::app::count::group(all),
        if all == 1 { "" } else { "s" }
    ))
}
