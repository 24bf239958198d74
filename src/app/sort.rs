//! The order of a folder's children in the tree pane (`s` cycles name, size, created; `S`
//! reverses), folders always first. Computed when the rows are rebuilt and cached per
//! folder until the tree or the order changes: a draw never sorts.

use std::collections::HashMap;

use super::tree::{FileId, Folder, FolderId, ROOT, Tree};

/// What the children of a folder are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SortKey {
    /// A→Z by bytes (the tree's own order).
    #[default]
    Name,
    /// Largest first; a folder by the bytes under it.
    Size,
    /// Newest first; a folder by its newest file.
    Created,
}

/// The order in force in one workspace: a key, and whether `S` reversed it. Unknown
/// sizes and times sort last either way; ties go A→Z by name either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SortOrder {
    pub key: SortKey,
    pub reverse: bool,
}

impl SortOrder {
    /// `s`: the next key, in its natural direction (A→Z, largest first, newest first).
    pub fn cycled(self) -> SortOrder {
        let key = match self.key {
            SortKey::Name => SortKey::Size,
            SortKey::Size => SortKey::Created,
            SortKey::Created => SortKey::Name,
        };
        SortOrder {
            key,
            reverse: false,
        }
    }

    /// `S`: the same key the other way.
    pub fn reversed(self) -> SortOrder {
        SortOrder {
            reverse: !self.reverse,
            ..self
        }
    }

    /// As the tree pane's title shows it.
    pub fn label(self) -> &'static str {
        match (self.key, self.reverse) {
            (SortKey::Name, false) => "name A→Z",
            (SortKey::Name, true) => "name Z→A",
            (SortKey::Size, false) => "size big→small",
            (SortKey::Size, true) => "size small→big",
            (SortKey::Created, false) => "created new→old",
            (SortKey::Created, true) => "created old→new",
        }
    }

    /// The tree keeps its children A→Z: this order needs no work of its own.
    fn is_tree_order(self) -> bool {
        self == SortOrder::default()
    }
}

/// A folder's children in the order in force.
#[derive(Debug, Clone, Default)]
struct Children {
    subfolders: Vec<FolderId>,
    files: Vec<FileId>,
}

/// The sorted children of the open folders, valid for one tree generation and one order.
#[derive(Debug, Clone, Default)]
pub struct SortCache {
    generation: u64,
    order: SortOrder,
    folders: HashMap<FolderId, Children>,
}

impl SortCache {
    /// Forget everything (the tree it was computed from is gone: a new one starts its
    /// generations again).
    pub fn clear(&mut self) {
        self.folders.clear();
    }

    /// Sort the open folders reachable from the root (those are the ones drawn), where
    /// this cache does not have them for this tree's generation and `order` already.
    pub fn prepare(&mut self, tree: &Tree, order: SortOrder, shown: impl Fn(FolderId) -> bool) {
        if order.is_tree_order() {
            return;
        }
        if self.generation != tree.generation || self.order != order {
            self.folders.clear();
            self.generation = tree.generation;
            self.order = order;
        }
        let mut stack = vec![ROOT];
        while let Some(id) = stack.pop() {
            let Some(f) = tree.folder(id) else { continue };
            self.folders
                .entry(id)
                .or_insert_with(|| sorted(tree, f, order));
            stack.extend(f.subfolders.iter().copied().filter(|&s| shown(s)));
        }
    }

    /// A folder's subfolders and files in `order` ([`SortCache::prepare`] has run since the
    /// tree or the order last changed; a folder it did not reach comes in the tree's order).
    pub fn children<'a>(
        &'a self,
        tree: &'a Tree,
        order: SortOrder,
        id: FolderId,
    ) -> (&'a [FolderId], &'a [FileId]) {
        let Some(f) = tree.folder(id) else {
            return (&[], &[]);
        };
        if !order.is_tree_order()
            && self.generation == tree.generation
            && self.order == order
            && let Some(c) = self.folders.get(&id)
        {
            return (&c.subfolders, &c.files);
        }
        (&f.subfolders, &f.files)
    }
}

/// An unsigned key whose ascending order is the wanted one: (unknown last, the value in
/// the asked direction, the name's rank A→Z). Integers only, so 20,000 files sort in
/// well under a millisecond.
type Rank = (bool, u64, u32);

fn rank(value: Option<u64>, descending: bool, name_rank: usize) -> Rank {
    let name_rank = u32::try_from(name_rank).unwrap_or(u32::MAX);
    match value {
        Some(v) if descending => (false, u64::MAX - v, name_rank),
        Some(v) => (false, v, name_rank),
        None => (true, 0, name_rank),
    }
}

/// Seconds since the epoch as an unsigned key of the same order.
fn time_key(t: i64) -> Option<u64> {
    (t != i64::MIN).then(|| t.cast_unsigned() ^ (1 << 63))
}

fn sorted(tree: &Tree, f: &Folder, order: SortOrder) -> Children {
    let descending = !order.reverse;
    match order.key {
        SortKey::Name => Children {
            subfolders: f.subfolders.iter().rev().copied().collect(),
            files: f.files.iter().rev().copied().collect(),
        },
        SortKey::Size | SortKey::Created => {
            let by_size = order.key == SortKey::Size;
            // The tree's lists are A→Z: an entry's index is its name's rank.
            let mut subs: Vec<(Rank, FolderId)> = f
                .subfolders
                .iter()
                .enumerate()
                .map(|(i, &id)| {
                    let value = tree.folder(id).and_then(|s| {
                        if by_size {
                            // Every size under it unknown: its bytes say nothing.
                            (s.count == 0 || s.unknown_sizes < s.count).then_some(s.bytes)
                        } else {
                            s.newest
                                .and_then(|n| tree.file(n))
                                .and_then(|n| time_key(n.created))
                        }
                    });
                    (rank(value, descending, i), id)
                })
                .collect();
            let mut files: Vec<(Rank, FileId)> = f
                .files
                .iter()
                .enumerate()
                .map(|(i, &id)| {
                    let value = tree.file(id).and_then(|x| {
                        if by_size {
                            x.size()
                        } else {
                            time_key(x.created)
                        }
                    });
                    (rank(value, descending, i), id)
                })
                .collect();
            subs.sort_unstable();
            files.sort_unstable();
            Children {
                subfolders: subs.into_iter().map(|(_, id)| id).collect(),
                files: files.into_iter().map(|(_, id)| id).collect(),
            }
        }
    }
}
