//! The filter's haystack: every file's display path in one arena per chunk of file ids,
//! shared (by `Arc`) with the matcher threads, and the matching itself (nucleo-matcher
//! with fzf's pattern syntax, as nucleo parses it).
//!
//! A file costs its path's bytes plus a `u32` end offset here, and a bit in the results:
//! nucleo's `Nucleo<T>` keeps a boxed `Utf32String` column per item (several allocations,
//! ~80 B a file before the text), over the memory budget of a million-file tree.

use std::sync::Arc;

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::app::tree::{FileId, Tree};

/// Files per chunk built at once: matching one takes a few ms, so results come in steps
/// the screen can show and a stale pattern is dropped quickly.
pub const CHUNK_FILES: u32 = 16_384;
/// ... and at most about this many bytes of paths, so a tree of very deep paths still
/// builds (and matches) in short steps: a step is bounded by its bytes, not its files.
pub const CHUNK_BYTES: usize = 2 << 20;

/// The display paths of files `start..start + len()`, in id order. A deleted file or a
/// folder marker has an empty path: it never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub start: FileId,
    text: String,
    ends: Vec<u32>,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The path of the `i`-th file of the chunk.
    pub fn path(&self, i: usize) -> &str {
        let end = self.ends.get(i).map_or(0, |&e| e as usize);
        let begin = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).map_or(0, |&e| e as usize),
            None => 0,
        };
        self.text.get(begin..end).unwrap_or("")
    }

    /// Bytes held (paths and offsets), for the memory figures.
    pub fn bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }
}

/// Chunks for the files `from..tree.files.len()`, at most [`CHUNK_FILES`] files and about
/// [`CHUNK_BYTES`] each, and at most `max` of them. `folder_paths` caches each folder's path by id (filled as needed).
pub fn build(
    tree: &Tree,
    from: FileId,
    max: usize,
    folder_paths: &mut Vec<Option<Box<str>>>,
) -> Vec<Chunk> {
    let total = FileId::try_from(tree.files.len()).unwrap_or(FileId::MAX);
    let mut out = Vec::new();
    let mut start = from;
    while start < total && out.len() < max {
        let end = start.saturating_add(CHUNK_FILES).min(total);
        let chunk = build_one(tree, start, end, folder_paths);
        start = start.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
        out.push(chunk);
    }
    out
}

fn build_one(
    tree: &Tree,
    start: FileId,
    end: FileId,
    folder_paths: &mut Vec<Option<Box<str>>>,
) -> Chunk {
    let n = (end - start) as usize;
    let mut ends = Vec::with_capacity(n);
    // Paths are ~70 bytes: one reservation, grown rarely.
    let mut text = String::with_capacity((n * 72).min(CHUNK_BYTES));
    folder_paths.resize(tree.folders.len().max(folder_paths.len()), None);
    for id in start..end {
        // The chunk ends early past its bytes (never empty: one file always goes in).
        if text.len() >= CHUNK_BYTES {
            break;
        }
        if let Some(f) = tree.file(id).filter(|f| !f.deleted && !f.name.is_empty()) {
            if let Some(slot) = folder_paths.get_mut(f.folder as usize) {
                let p = slot.get_or_insert_with(|| tree.folder_path(f.folder).into_boxed_str());
                text.push_str(p);
            }
            text.push_str(&f.name);
        }
        // Past 4 GiB of paths in one chunk (impossible: a chunk ends past CHUNK_BYTES, and
        // a path is bounded by the listing's page) the rest stay empty rather than wrong.
        ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
    }
    text.shrink_to_fit();
    Chunk { start, text, ends }
}

/// The pattern as typed, parsed as nucleo parses it (fzf's syntax: `'exact`, `^prefix`,
/// `suffix$`, `!not`, a space between terms that must all match).
pub fn parse(pattern: &str) -> Pattern {
    Pattern::parse(pattern, CaseMatching::Smart, Normalization::Smart)
}

/// A matcher scored for paths (a `/` is a word boundary).
pub fn matcher() -> Matcher {
    let mut config = Config::DEFAULT;
    config.set_match_paths();
    Matcher::new(config)
}

/// One bit per file of the chunk (bit `i % 64` of word `i / 64`), and how many are set.
///
/// Only whether a path matches is needed here, not its score: a fuzzy term is checked with
/// nucleo's greedy matcher (linear), under the case and normalisation nucleo's parser gave
/// the term. A subsequence is found by both or by neither; measured, scoring every path
/// of a pattern matching nearly all of a million made the complete set 630 ms.
pub fn match_chunk(pattern: &Pattern, chunk: &Chunk, m: &mut Matcher) -> (Vec<u64>, u32) {
    let mut bits = vec![0u64; chunk.len().div_ceil(64)];
    let mut count = 0u32;
    let mut buf = Vec::new();
    // Each term's case and normalisation, as its own `score` sets them on the matcher.
    let flags: Vec<(bool, bool)> = pattern
        .atoms
        .iter()
        .map(|a| {
            let _ = a.score(Utf32Str::Ascii(b""), m);
            (m.config.ignore_case, m.config.normalize)
        })
        .collect();
    let matches = |hay: Utf32Str<'_>, m: &mut Matcher| {
        pattern.atoms.iter().zip(&flags).all(|(a, &(case, norm))| {
            if a.kind == AtomKind::Fuzzy {
                m.config.ignore_case = case;
                m.config.normalize = norm;
                m.fuzzy_match_greedy(hay, a.needle_text()).is_some() != a.negative
            } else {
                a.score(hay, m).is_some()
            }
        })
    };
    for i in 0..chunk.len() {
        let path = chunk.path(i);
        if path.is_empty() {
            continue;
        }
        // ASCII paths (99 %) are matched in place; the rest are converted here, per match.
        if matches(Utf32Str::new(path, &mut buf), m)
            && let Some(w) = bits.get_mut(i / 64)
        {
            *w |= 1u64 << (i % 64);
            count += 1;
        }
    }
    (bits, count)
}

/// Terms whose letters are marked on screen.
pub const MARKED_TERMS: usize = 16;

/// The positions of `path` (as nucleo numbers them) that the pattern's terms match, each
/// term on its own, sorted: for a file the whole pattern matched, so these are its marks;
/// for a folder, the terms its own path satisfies are marked.
pub fn indices(pattern: &Pattern, path: &str, m: &mut Matcher) -> Vec<u32> {
    let mut buf = Vec::new();
    let hay = Utf32Str::new(path, &mut buf);
    let mut out = Vec::new();
    // Marks are drawn for every row on screen each frame: a pasted pattern of hundreds
    // of terms marks by its first few.
    for atom in pattern
        .atoms
        .iter()
        .filter(|a| !a.negative)
        .take(MARKED_TERMS)
    {
        let mut found = Vec::new();
        if atom.indices(hay, m, &mut found).is_some() {
            out.extend(found);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Chunks shared with the matcher: cloning is a pointer copy.
pub type Shared = Arc<Chunk>;

/// One chunk's answer: its index in the filter's chunks, a bit per file, the count.
pub type ChunkResult = (usize, Vec<u64>, u32);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FileEntry;

    fn tree_of(paths: impl IntoIterator<Item = String>) -> Tree {
        let mut t = Tree::new();
        t.add(paths.into_iter().map(|key| FileEntry {
            size: Some(1),
            ..FileEntry::of_key(&key)
        }));
        t
    }

    /// Deep paths (here ~4 KiB each) must not make one step build and match 64 MiB.
    #[test]
    fn a_chunk_of_deep_paths_is_bounded_by_its_bytes_and_still_covers_every_file() {
        let deep = "d/".repeat(2_000);
        let n = 3_000;
        let tree = tree_of((0..n).map(|i| format!("{deep}f{i:05}")));
        let mut folder_paths = Vec::new();
        let chunks = build(&tree, 0, usize::MAX, &mut folder_paths);
        assert!(chunks.len() > 1, "split by bytes");
        let mut next: FileId = 0;
        for c in &chunks {
            assert_eq!(c.start, next, "chunks follow each other");
            assert!(!c.is_empty());
            assert!(c.text.len() < CHUNK_BYTES + 8_192, "{} bytes", c.text.len());
            for i in 0..c.len() {
                let id = c.start + FileId::try_from(i).expect("a small test");
                assert_eq!(c.path(i), tree.display_key(id));
            }
            next += FileId::try_from(c.len()).expect("a small test");
        }
        assert_eq!(next as usize, n);
        // One step builds one bounded chunk.
        let one = build(&tree, 0, 1, &mut folder_paths);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0], chunks[0]);
    }

    #[test]
    fn short_paths_still_go_by_files() {
        let tree = tree_of((0..CHUNK_FILES + 5).map(|i| format!("a/{i}")));
        let chunks = build(&tree, 0, usize::MAX, &mut Vec::new());
        assert_eq!(
            chunks.iter().map(Chunk::len).collect::<Vec<_>>(),
            [CHUNK_FILES as usize, 5]
        );
    }
}
