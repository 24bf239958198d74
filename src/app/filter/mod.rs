//! The live filter (`/`): its state, the corpus it sends to the matcher, the results it
//! gets back (stale ones dropped) and which rows of the tree it keeps.

pub mod corpus;

use std::sync::Arc;

use tui_input::Input;

use super::msg::{Command, ReqId};
use super::state::{Row, State};
use super::tree::{FileId, FolderId, ROOT, Tree};
pub use corpus::{Chunk, Shared};

/// One chunk's answer: its index in the filter's chunks, a bit per file, the count.
pub type ChunkResult = (usize, Vec<u64>, u32);

#[derive(Debug, Clone)]
pub struct Filter {
    /// The workspace filtered (the cursor's when `/` was pressed).
    pub ws: usize,
    pub input: Input,
    /// The input has the keys (until Enter keeps it or Esc clears it).
    pub editing: bool,
    /// The request of the pattern in force; results of any other are dropped.
    pub req: ReqId,
    /// The pattern in force, as typed.
    pub pattern: String,
    pub chunks: Vec<Shared>,
    /// Files `0..covered` are in `chunks`.
    pub covered: FileId,
    folder_paths: Vec<Option<Box<str>>>,
    /// A bit per file id: the matches on screen (of `shown_req`).
    bits: Vec<u64>,
    /// The pattern the bits answer: until the first result of a new pattern comes, the
    /// last one's matches stay on screen.
    shown_req: ReqId,
    /// Per chunk, the pattern its bits answer.
    answered: Vec<ReqId>,
    /// Live files matched (counted when the rows are rebuilt).
    pub matches: u64,
    /// Results came in since the rows were rebuilt.
    pub rows_stale: bool,
}

impl Filter {
    /// A pattern is in force (an empty one hides nothing).
    pub fn active(&self) -> bool {
        !self.pattern.trim().is_empty()
    }

    /// Every chunk has answered the pattern in force.
    pub fn done(&self) -> bool {
        !self.active() || (self.shown_req == self.req && self.answered.iter().all(|&r| r == self.req))
    }

    pub fn matched(&self, id: FileId) -> bool {
        let i = id as usize;
        self.bits.get(i / 64).is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// Bytes held by the corpus and the results (for the memory figures).
    pub fn bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes()).sum::<usize>() + self.bits.capacity() * 8
    }

    fn send(&self, first: usize) -> Command {
        Command::Filter {
            req: self.req,
            pattern: if self.active() { self.pattern.clone() } else { String::new() },
            chunks: if self.active() {
                self.chunks.get(first..).unwrap_or_default().to_vec()
            } else {
                Vec::new()
            },
            first,
        }
    }
}

/// The filter of workspace `wi`, when one is in force there.
pub fn of(state: &State, wi: usize) -> Option<&Filter> {
    state.filter.as_ref().filter(|f| f.ws == wi && f.active())
}

/// `/`: edit the filter in force, or start one over the cursor's workspace. Its corpus is
/// built here, once: the paths of every file listed so far (pages still coming are added
/// as they arrive).
pub fn open(state: &mut State) -> Vec<Command> {
    if let Some(f) = &mut state.filter {
        f.editing = true;
        state.dirty = true;
        return Vec::new();
    }
    let Some(wi) = state.selected_row().map(|r| r.ws()) else {
        return Vec::new();
    };
    let req = state.req();
    let mut f = Filter {
        ws: wi,
        input: Input::default(),
        editing: true,
        req,
        pattern: String::new(),
        chunks: Vec::new(),
        covered: 0,
        folder_paths: Vec::new(),
        bits: Vec::new(),
        shown_req: req,
        answered: Vec::new(),
        matches: 0,
        rows_stale: false,
    };
    if let Some(w) = state.ws(wi) {
        extend(&mut f, &w.tree);
    }
    state.filter = Some(f);
    state.dirty = true;
    Vec::new()
}

/// Add chunks for the files listed since; the bits grow with them.
fn extend(f: &mut Filter, tree: &Tree) -> usize {
    let first = f.chunks.len();
    let new = corpus::build(tree, f.covered, &mut f.folder_paths);
    for c in new {
        f.covered = c.start.saturating_add(u32::try_from(c.len()).unwrap_or(u32::MAX));
        f.chunks.push(Arc::new(c));
        f.answered.push(0);
    }
    f.bits.resize((f.covered as usize).div_ceil(64), 0);
    first
}

/// The input changed: the new pattern goes to the matcher under a new request. The
/// matches on screen stay until its first results replace them.
pub fn on_input(state: &mut State) -> Vec<Command> {
    let req = state.req();
    let Some(f) = &mut state.filter else {
        return Vec::new();
    };
    let text = f.input.value().to_string();
    if text == f.pattern {
        return Vec::new();
    }
    let was_active = f.active();
    f.pattern = text;
    f.req = req;
    if !f.active() {
        f.shown_req = req;
        f.bits.fill(0);
    }
    if was_active != f.active() {
        state.reflatten();
    }
    state.dirty = true;
    state.filter.as_ref().map(|f| f.send(0)).into_iter().collect()
}

/// Esc: no filter any more; the matcher drops its work, the corpus is freed.
pub fn clear(state: &mut State) -> Vec<Command> {
    let Some(f) = state.filter.take() else {
        return Vec::new();
    };
    let keep = state.selected_row();
    state.reflatten();
    // The row the cursor was on, now among all the others.
    if let Some(k) = keep
        && let Some(i) = state.rows.iter().position(|r| *r == k)
    {
        state.selected = i;
        state.scroll_into_view();
    }
    vec![Command::Filter {
        req: state.req().max(f.req + 1),
        pattern: String::new(),
        chunks: Vec::new(),
        first: 0,
    }]
}

/// The matcher's results. Only those of the pattern in force are taken; the first of
/// them replaces the matches of the pattern before.
pub fn on_result(state: &mut State, req: ReqId, results: Vec<ChunkResult>) {
    let Some(f) = &mut state.filter else {
        return;
    };
    if req != f.req || !f.active() {
        return;
    }
    if f.shown_req != req {
        f.bits.fill(0);
        f.shown_req = req;
    }
    for (ci, bits, _) in results {
        let (Some(chunk), Some(ans)) = (f.chunks.get(ci), f.answered.get_mut(ci)) else {
            continue;
        };
        *ans = req;
        let start = chunk.start as usize;
        for (wi, &w) in bits.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                let id = start + wi * 64 + b;
                if let Some(word) = f.bits.get_mut(id / 64) {
                    *word |= 1u64 << (id % 64);
                }
            }
        }
    }
    f.rows_stale = true;
    state.dirty = true;
}

/// After every message: files listed (a page, an upload) since the corpus was built are
/// added and matched; a workspace listed afresh (new ids) gets a new corpus. Rows the
/// results left stale are rebuilt (`settle`, once per batch of messages).
pub fn sync(state: &mut State) -> Vec<Command> {
    let Some(f) = &mut state.filter else {
        return Vec::new();
    };
    let Some(w) = state.workspaces.get(f.ws) else {
        state.filter = None;
        return Vec::new();
    };
    let len = FileId::try_from(w.tree.files.len()).unwrap_or(FileId::MAX);
    if len < f.covered {
        // The tree was replaced (a refresh of the whole workspace): its ids are new.
        f.chunks.clear();
        f.answered.clear();
        f.covered = 0;
        f.folder_paths.clear();
        f.bits.clear();
    } else if len == f.covered {
        return Vec::new();
    }
    let first = extend(f, &w.tree);
    if f.active() {
        vec![f.send(first)]
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

/// Which folders hold a match (with their ancestors), from the bits: O(files / 64 +
/// matches × the depth not yet marked), so a narrow filter rebuilds quickly.
pub struct Keep<'a> {
    filter: &'a Filter,
    folders: Vec<bool>,
}

impl Keep<'_> {
    pub fn folder(&self, id: FolderId) -> bool {
        self.folders.get(id as usize).copied().unwrap_or(false)
    }

    pub fn file(&self, id: FileId) -> bool {
        self.filter.matched(id)
    }
}

/// What the filter keeps in workspace `wi`, and the number of live files it matched.
pub fn keep<'a>(filter: Option<&'a Filter>, wi: usize, tree: &Tree) -> Option<(Keep<'a>, u64)> {
    let f = filter.filter(|f| f.ws == wi && f.active())?;
    let mut folders = vec![false; tree.folders.len()];
    let mut n = 0u64;
    for (wi, &w) in f.bits.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            let b = w.trailing_zeros() as usize;
            w &= w - 1;
            let Ok(id) = FileId::try_from(wi * 64 + b) else {
                continue;
            };
            let Some(file) = tree.file(id).filter(|x| !x.deleted && !x.name.is_empty()) else {
                continue;
            };
            n += 1;
            let mut cur = file.folder;
            while let Some(slot) = folders.get_mut(cur as usize) {
                if *slot {
                    break;
                }
                *slot = true;
                if cur == ROOT {
                    break;
                }
                cur = tree.parent_of(cur);
            }
        }
    }
    Some((Keep { filter: f, folders }, n))
}

/// `n` / `N`: the next (or previous) matching file in tree order, wrapping around.
pub fn step(state: &mut State, forward: bool) {
    let Some(wi) = state.filter.as_ref().filter(|f| f.active()).map(|f| f.ws) else {
        let key = state.keymap.short(super::keymap::Bound::Main(super::Action::Filter));
        return state.info(format!("No filter is on: {key} starts one."));
    };
    let n = state.rows.len();
    let is_match = |r: &Row| matches!(r, Row::File { ws, .. } if *ws == wi);
    let found = (1..=n)
        .map(|d| {
            if forward {
                (state.selected + d) % n.max(1)
            } else {
                (state.selected + n - d % n.max(1)) % n.max(1)
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
pub fn folder_note(state: &State, wi: usize, folder: FolderId) -> Option<String> {
    let f = of(state, wi)?;
    let tree = &state.ws(wi)?.tree;
    let all = tree.folder(folder)?.count;
    let shown = tree
        .files_under(folder)
        .into_iter()
        .filter(|&id| f.matched(id) && tree.file(id).is_some_and(|x| !x.deleted && !x.name.is_empty()))
        .count() as u64;
    Some(format!(
        "the whole folder, not only what the filter shows: {} of its {} file{} match",
        super::count::group(shown),
        super::count::group(all),
        if all == 1 { "" } else { "s" }
    ))
}
