//! The live filter (`/`) as data: its input, the corpus it sends to the matcher, the
//! results it got back (stale ones dropped) and which rows of the tree it keeps. What keys
//! and events do to it is in `update::filter`.

use std::sync::Arc;

use tui_input::Input;

use super::corpus::{self, ChunkResult, Shared};
use super::tree::{FileId, FolderId, ROOT, Tree};

/// A request id (`msg::ReqId`, which this module cannot name without a loop).
type ReqId = u64;

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
    /// The pattern has a term: nucleo drops empty ones (`!`, `^`, `'` or `$` alone).
    terms: bool,
    pub chunks: Vec<Shared>,
    /// Files `0..covered` are in `chunks`.
    pub covered: FileId,
    /// Files listed are not in `chunks` yet: the store is built a chunk per turn of the
    /// loop, so `/` on a million files never holds a frame for the whole of it.
    pub pending: bool,
    folder_paths: Vec<Option<Box<str>>>,
    /// A bit per file id: the matches on screen (of `shown_req`).
    bits: Vec<u64>,
    /// The pattern the bits answer: until the first result of a new pattern comes, the
    /// last one's matches stay on screen.
    shown_req: ReqId,
    /// Per chunk, the pattern its bits answer.
    answered: Vec<ReqId>,
    /// Live files matched and shown (counted when the rows are rebuilt).
    pub matches: u64,
    /// Live files matched but out of sight (dotfiles hidden).
    pub hidden: u64,
    /// Results came in since the rows were rebuilt.
    pub rows_stale: bool,
}

impl Filter {
    /// A pattern is in force (one with no term, such as "" or a lone `!`, hides nothing).
    pub fn active(&self) -> bool {
        self.terms
    }

    /// Every chunk has answered the pattern in force.
    pub fn done(&self) -> bool {
        // With no files yet nothing answers, and nothing is left to.
        !self.active()
            || (!self.pending
                && (self.answered.is_empty()
                    || (self.shown_req == self.req
                        && self.answered.iter().all(|&r| r == self.req))))
    }

    pub fn matched(&self, id: FileId) -> bool {
        let i = id as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// Bytes held by the corpus and the results (for the memory figures).
    pub fn bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.bytes()).sum::<usize>() + self.bits.capacity() * 8
    }

    /// It filters workspace `wi`.
    pub fn on(&self, wi: usize) -> bool {
        self.ws == wi && self.active()
    }

    /// What the matcher gets for chunks `first..`: (pattern, chunks), empty when no
    /// pattern is in force (which stops its work).
    pub fn work(&self, first: usize) -> (String, Vec<Shared>) {
        if !self.active() {
            return (String::new(), Vec::new());
        }
        (
            self.pattern.clone(),
            self.chunks.get(first..).unwrap_or_default().to_vec(),
        )
    }

    /// A new filter over workspace `wi` under request `req`; its corpus, the files of
    /// `tree`, is built in steps from the first `sync` on.
    pub fn new(wi: usize, req: ReqId, tree: &Tree) -> Filter {
        Filter {
            ws: wi,
            input: Input::default(),
            editing: true,
            req,
            pattern: String::new(),
            terms: false,
            chunks: Vec::new(),
            covered: 0,
            // `sync` builds it, a chunk after each message.
            pending: !tree.files.is_empty(),
            folder_paths: Vec::new(),
            bits: Vec::new(),
            shown_req: req,
            answered: Vec::new(),
            matches: 0,
            hidden: 0,
            rows_stale: false,
        }
    }

    /// Add a chunk for the files listed since (one step: [`Filter::pending`] says whether
    /// more are left); the bits grow with it. The index of the first new chunk.
    pub fn extend(&mut self, tree: &Tree) -> usize {
        let first = self.chunks.len();
        for c in corpus::build(tree, self.covered, 1, &mut self.folder_paths) {
            self.covered = c
                .start
                .saturating_add(u32::try_from(c.len()).unwrap_or(u32::MAX));
            self.chunks.push(Arc::new(c));
            self.answered.push(0);
        }
        self.bits.resize((self.covered as usize).div_ceil(64), 0);
        self.pending = (self.covered as usize) < tree.files.len();
        first
    }

    /// The tree was replaced (new ids): the corpus starts again, under `req` so that
    /// results about the old one are dropped.
    pub fn reset(&mut self, req: ReqId) {
        self.req = req;
        self.shown_req = req;
        self.chunks.clear();
        self.answered.clear();
        self.covered = 0;
        self.pending = false;
        self.folder_paths.clear();
        self.bits.clear();
    }

    /// A new pattern (the input's text) under `req`. False if it is the one in force.
    pub fn set_pattern(&mut self, req: ReqId) -> bool {
        let text = self.input.value().to_string();
        if text == self.pattern {
            return false;
        }
        self.terms = !corpus::parse(&text).atoms.is_empty();
        self.pattern = text;
        self.req = req;
        if !self.active() {
            self.shown_req = req;
            self.bits.fill(0);
        }
        true
    }

    /// The matcher's results. Only those of the pattern in force are taken; the first
    /// of them replaces the matches of the pattern before. False if they were dropped.
    pub fn take(&mut self, req: ReqId, results: Vec<ChunkResult>) -> bool {
        if req != self.req || !self.active() {
            return false;
        }
        if self.shown_req != req {
            self.bits.fill(0);
            self.shown_req = req;
        }
        for (ci, bits, _) in results {
            let (Some(chunk), Some(ans)) = (self.chunks.get(ci), self.answered.get_mut(ci)) else {
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
                    if let Some(word) = self.bits.get_mut(id / 64) {
                        *word |= 1u64 << (id % 64);
                    }
                }
            }
        }
        self.rows_stale = true;
        true
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

/// What the filter keeps in workspace `wi`: the folders holding a shown match, how many
/// live files it matched that are shown, and how many it matched that `hide` (dotfiles
/// hidden) keeps out of sight, so the title can say so.
pub fn keep<'a>(
    filter: Option<&'a Filter>,
    wi: usize,
    tree: &Tree,
    hide: bool,
) -> Option<(Keep<'a>, u64, u64)> {
    let f = filter.filter(|f| f.on(wi))?;
    let mut folders = vec![false; tree.folders.len()];
    let mut hidden_folder = Hidden::new(tree, hide);
    let (mut n, mut hidden) = (0u64, 0u64);
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
            if hide && (file.name.starts_with('.') || hidden_folder.is(file.folder)) {
                hidden += 1;
                continue;
            }
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
    Some((Keep { filter: f, folders }, n, hidden))
}

/// Whether a folder is out of sight (it or a folder above it is a dotfolder), each
/// folder worked out once.
struct Hidden<'a> {
    tree: &'a Tree,
    /// 0: not known yet, 1: shown, 2: hidden.
    memo: Vec<u8>,
}

impl<'a> Hidden<'a> {
    fn new(tree: &'a Tree, hide: bool) -> Self {
        let memo = if hide {
            vec![0; tree.folders.len()]
        } else {
            Vec::new()
        };
        Hidden { tree, memo }
    }

    fn is(&mut self, id: FolderId) -> bool {
        let mut path = Vec::new();
        let mut cur = id;
        let verdict = loop {
            match self.memo.get(cur as usize).copied() {
                Some(1) | None => break false,
                Some(2) => break true,
                _ => {}
            }
            path.push(cur);
            if self
                .tree
                .folder(cur)
                .is_some_and(|f| f.name.starts_with('.'))
            {
                break true;
            }
            if cur == ROOT {
                break false;
            }
            cur = self.tree.parent_of(cur);
        };
        for p in path {
            if let Some(m) = self.memo.get_mut(p as usize) {
                *m = if verdict { 2 } else { 1 };
            }
        }
        verdict
    }
}
