//! The local tree of one workspace, built from recursive listings (the API has no
//! delimiter): folders derived from keys, files in compact form, and per-folder
//! aggregates (file count, total size, newest file) kept up to date as pages arrive.
//!
//! Memory matters here: a workspace may hold a million files. A file costs one
//! [`FileNode`] (about 100 bytes plus its name) and one `u32` in its folder.

use super::stamp::{format_rfc3339, parse_rfc3339};
use std::collections::HashMap;

use crate::api::FileEntry;

pub type FolderId = u32;
pub type FileId = u32;

pub const ROOT: FolderId = 0;

#[derive(Debug, Clone)]
pub struct Folder {
    /// The last segment ("" for the root).
    pub name: Box<str>,
    pub parent: FolderId,
    pub depth: u16,
    pub subfolders: Vec<FolderId>,
    pub files: Vec<FileId>,
    /// Folder markers: keys ending in '/' ("a/") some stores keep to make an empty folder.
    /// They name no file, so they are no row; they keep their folder in the tree and go
    /// with it when it is deleted.
    pub markers: Vec<FileId>,
    /// Markers at or under this folder: a folder holding only markers still exists.
    held: u64,
    /// Recursive aggregates.
    pub count: u64,
    /// The sum of the sizes that are known.
    pub bytes: u64,
    /// Files whose size the server did not say: `bytes` is then a lower bound.
    pub unknown_sizes: u64,
    pub newest: Option<FileId>,
    sorted: bool,
    /// Subfolder by name: a folder is found segment by segment, so a key of many
    /// segments costs memory in proportion to its length, not to its square.
    by_name: HashMap<Box<str>, FolderId>,
}

impl Folder {
    fn new(name: &str, parent: FolderId, depth: u16) -> Self {
        Folder {
            name: name.into(),
            parent,
            depth,
            subfolders: Vec::new(),
            files: Vec::new(),
            markers: Vec::new(),
            held: 0,
            count: 0,
            bytes: 0,
            unknown_sizes: 0,
            newest: None,
            sorted: true,
            by_name: HashMap::new(),
        }
    }
}

/// One file, compactly. `key` is kept only when it differs from `path + name`
/// (the hosted service may use opaque keys).
#[derive(Debug, Clone)]
pub struct FileNode {
    pub name: Box<str>,
    pub folder: FolderId,
    /// [`UNKNOWN_SIZE`] when the server did not say (read it with [`FileNode::size`]).
    size: u64,
    /// Seconds since the Unix epoch; `i64::MIN` when unknown.
    pub created: i64,
    pub sha256: Option<[u8; 32]>,
    content_type: u16,
    key: Option<Box<str>>,
    pub description: Option<Box<str>>,
    pub deleted: bool,
}

/// A file's size the server did not say: kept in the `u64` itself, so a file of a
/// million-file tree costs no more for the rare unknown.
const UNKNOWN_SIZE: u64 = u64::MAX;

impl FileNode {
    /// `None`: the server did not say (never read as 0).
    pub fn size(&self) -> Option<u64> {
        (self.size != UNKNOWN_SIZE).then_some(self.size)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub folders: Vec<Folder>,
    pub files: Vec<FileNode>,
    content_types: Vec<Box<str>>,
    ct_index: HashMap<Box<str>, u16>,
    /// Bumped on every structural change, so views know when to re-flatten.
    pub generation: u64,
}

impl Tree {
    pub fn new() -> Self {
        let mut t = Tree::default();
        t.folders.push(Folder::new("", ROOT, 0));
        t.content_types.push("".into());
        t.ct_index.insert("".into(), 0);
        t
    }

    pub fn file_count(&self) -> u64 {
        self.folder(ROOT).map_or(0, |f| f.count)
    }

    pub fn folder(&self, id: FolderId) -> Option<&Folder> {
        self.folders.get(id as usize)
    }

    pub fn file(&self, id: FileId) -> Option<&FileNode> {
        self.files.get(id as usize)
    }

    /// The folder a file is in (the root for an id this tree does not have).
    pub fn folder_of(&self, id: FileId) -> FolderId {
        self.file(id).map_or(ROOT, |f| f.folder)
    }

    /// A folder's parent (the root for the root, or an id this tree does not have).
    pub fn parent_of(&self, id: FolderId) -> FolderId {
        self.folder(id).map_or(ROOT, |f| f.parent)
    }

    /// The folder at `path` ("" or ending in '/'), created with its parents if missing.
    /// Iterative: a hostile key with thousands of segments must not exhaust the stack.
    fn folder_for(&mut self, path: &str) -> FolderId {
        let mut parent = ROOT;
        for seg in path.split_terminator('/') {
            let found = self
                .folder(parent)
                .and_then(|p| p.by_name.get(seg))
                .copied();
            parent = match found {
                Some(id) => id,
                None => {
                    // Four billion folders: the rest of the path stays in the last one.
                    let Ok(id) = FolderId::try_from(self.folders.len()) else {
                        return parent;
                    };
                    let depth = self.folder(parent).map_or(0, |p| p.depth.saturating_add(1));
                    self.folders.push(Folder::new(seg, parent, depth));
                    if let Some(p) = self.folders.get_mut(parent as usize) {
                        p.subfolders.push(id);
                        p.sorted = false;
                        p.by_name.insert(seg.into(), id);
                    }
                    id
                }
            };
        }
        parent
    }

    /// The live files whose API key is in `keys`.
    pub fn find_keys(&self, keys: &std::collections::HashSet<&str>) -> Vec<FileId> {
        (0..FileId::try_from(self.files.len()).unwrap_or(FileId::MAX))
            .filter(|&id| {
                self.file(id).is_some_and(|f| !f.deleted) && keys.contains(self.key(id).as_str())
            })
            .collect()
    }

    /// The live file with this key, looked for in its own folder only (cheap on a large
    /// tree: called for every finished upload).
    pub fn find_key_in(&self, path: &str, name: &str, key: &str) -> Option<FileId> {
        let folder = if path.is_empty() {
            ROOT
        } else {
            self.folder_by_path(path)?
        };
        self.folder(folder)?.files.iter().copied().find(|&id| {
            self.file(id)
                .is_some_and(|f| !f.deleted && &*f.name == name && self.key(id) == key)
        })
    }

    /// The live folder at `path`: "" or ending in '/'.
    pub fn folder_by_path(&self, path: &str) -> Option<FolderId> {
        if !path.is_empty() && !path.ends_with('/') {
            return None;
        }
        path.split_terminator('/')
            .try_fold(ROOT, |id, seg| self.folder(id)?.by_name.get(seg).copied())
    }

    /// The folder's full path: "" or "a/b/".
    pub fn folder_path(&self, mut id: FolderId) -> String {
        let mut parts = Vec::new();
        while id != ROOT {
            let Some(f) = self.folder(id) else { break };
            parts.push(&*f.name);
            id = f.parent;
        }
        let mut out = String::new();
        for p in parts.iter().rev() {
            out.push_str(p);
            out.push('/');
        }
        out
    }

    fn intern_ct(&mut self, ct: &str) -> u16 {
        if let Some(&i) = self.ct_index.get(ct) {
            return i;
        }
        let Ok(i) = u16::try_from(self.content_types.len()) else {
            return 0;
        };
        if i == u16::MAX {
            return 0;
        }
        self.content_types.push(ct.into());
        self.ct_index.insert(ct.into(), i);
        i
    }

    /// Add a page of listed files.
    pub fn add(&mut self, entries: impl IntoIterator<Item = FileEntry>) {
        for e in entries {
            self.add_one(e);
        }
        self.sort_touched();
        self.generation += 1;
    }

    fn add_one(&mut self, e: FileEntry) {
        let Ok(id) = FileId::try_from(self.files.len()) else {
            return;
        };
        let folder = self.folder_for(&e.path);
        // A key ending in '/' ("a/") names no file: an empty-named row would be nothing to
        // read and would share its folder's path. It is kept as its folder's marker.
        let marker = e.name.is_empty();
        let key_is_path = e.key.len() == e.path.len() + e.name.len()
            && e.key.starts_with(&e.path)
            && e.key.ends_with(&e.name);
        let ct = self.intern_ct(e.content_type.as_deref().unwrap_or(""));
        let created = e
            .created_at
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(i64::MIN);
        let sha256 = e.sha256.as_deref().and_then(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out).ok().map(|_| out)
        });
        // Fresh allocations on purpose: the entry's strings were allocated with the whole
        // page on a worker thread; keeping them would pin that page's memory.
        self.files.push(FileNode {
            name: Box::from(e.name.as_str()),
            folder,
            size: e.size.unwrap_or(UNKNOWN_SIZE),
            created,
            sha256,
            content_type: ct,
            key: (!key_is_path).then(|| e.key.into_boxed_str()),
            description: e
                .description
                .filter(|d| !d.is_empty())
                .map(String::into_boxed_str),
            deleted: false,
        });
        if marker {
            if let Some(f) = self.folders.get_mut(folder as usize) {
                f.markers.push(id);
            }
            self.add_held(folder, 1);
            return;
        }
        if let Some(f) = self.folders.get_mut(folder as usize) {
            f.files.push(id);
            f.sorted = false;
        }
        let (size, created) = (e.size, created);
        let (known, unknown_sizes) = (size.unwrap_or(0), u64::from(size.is_none()));
        let mut cur = folder;
        loop {
            let newest = self.folder(cur).and_then(|f| f.newest);
            let is_newer = newest.is_none_or(|n| self.file(n).is_none_or(|f| f.created < created));
            let Some(f) = self.folders.get_mut(cur as usize) else {
                break;
            };
            f.count += 1;
            f.bytes = f.bytes.saturating_add(known);
            f.unknown_sizes += unknown_sizes;
            if is_newer {
                f.newest = Some(id);
            }
            if cur == ROOT {
                break;
            }
            cur = f.parent;
        }
    }

    /// Count markers up the chain of folders from `folder` (negative `by` removes).
    fn add_held(&mut self, folder: FolderId, by: i64) {
        let mut cur = folder;
        while let Some(f) = self.folders.get_mut(cur as usize) {
            f.held = f.held.saturating_add_signed(by);
            if cur == ROOT {
                break;
            }
            cur = f.parent;
        }
    }

    fn sort_touched(&mut self) {
        for i in 0..self.folders.len() {
            let Some(f) = self.folders.get_mut(i).filter(|f| !f.sorted) else {
                continue;
            };
            let mut subs = std::mem::take(&mut f.subfolders);
            let mut files = std::mem::take(&mut f.files);
            let folders = &self.folders;
            subs.sort_by(|a, b| {
                let name = |id: &FolderId| folders.get(*id as usize).map(|f| &f.name);
                name(a).cmp(&name(b))
            });
            let all = &self.files;
            files.sort_by(|a, b| {
                let name = |id: &FileId| all.get(*id as usize).map(|f| &f.name);
                name(a).cmp(&name(b))
            });
            if let Some(f) = self.folders.get_mut(i) {
                f.subfolders = subs;
                f.files = files;
                f.sorted = true;
            }
        }
    }

    /// The API key of a file.
    pub fn key(&self, id: FileId) -> String {
        match self.file(id).and_then(|f| f.key.as_ref()) {
            Some(k) => k.to_string(),
            None => self.display_key(id),
        }
    }

    /// `path + name`: the file's identity.
    pub fn display_key(&self, id: FileId) -> String {
        let Some(f) = self.file(id) else {
            return String::new();
        };
        let mut p = self.folder_path(f.folder);
        p.push_str(&f.name);
        p
    }

    pub fn content_type(&self, id: FileId) -> &str {
        self.file(id)
            .and_then(|f| self.content_types.get(usize::from(f.content_type)))
            .map_or("", |ct| ct)
    }

    /// Back to the wire form, for the transfer and delete commands.
    pub fn entry(&self, id: FileId) -> FileEntry {
        let ct = self.content_type(id);
        let Some(f) = self.file(id) else {
            return FileEntry::of_key("");
        };
        FileEntry {
            key: self.key(id),
            name: f.name.to_string(),
            path: self.folder_path(f.folder),
            size: f.size(),
            description: f.description.as_deref().map(str::to_string),
            content_type: (!ct.is_empty()).then(|| ct.to_string()),
            created_at: (f.created != i64::MIN).then(|| format_rfc3339(f.created)),
            sha256: f.sha256.map(hex::encode),
            etag: None,
        }
    }

    /// Every live file under a folder, recursively.
    pub fn files_under(&self, folder: FolderId) -> Vec<FileId> {
        let mut out = Vec::new();
        let mut stack = vec![folder];
        while let Some(id) = stack.pop() {
            let Some(f) = self.folder(id) else { continue };
            out.extend(f.files.iter().copied());
            out.extend(f.markers.iter().copied());
            stack.extend(f.subfolders.iter().copied());
        }
        out
    }

    /// Remove files (after a delete), updating aggregates and dropping emptied folders.
    /// One pass per touched folder, so removing a whole 100,000-file folder stays linear.
    pub fn remove(&mut self, ids: &[FileId]) {
        let mut touched: HashMap<FolderId, std::collections::HashSet<FileId>> = HashMap::new();
        for &id in ids {
            let Some(file) = self.files.get_mut(id as usize) else {
                continue;
            };
            if file.deleted {
                continue;
            }
            file.deleted = true;
            let (folder, size) = (file.folder, file.size());
            touched.entry(folder).or_default().insert(id);
            if file.name.is_empty() {
                self.add_held(folder, -1);
                continue;
            }
            let mut cur = folder;
            while let Some(f) = self.folders.get_mut(cur as usize) {
                f.count = f.count.saturating_sub(1);
                match size {
                    Some(s) => f.bytes = f.bytes.saturating_sub(s),
                    None => f.unknown_sizes = f.unknown_sizes.saturating_sub(1),
                }
                if f.newest == Some(id) {
                    f.newest = None;
                }
                if cur == ROOT {
                    break;
                }
                cur = f.parent;
            }
        }
        for (folder, gone) in touched {
            if let Some(f) = self.folders.get_mut(folder as usize) {
                f.files.retain(|f| !gone.contains(f));
                f.markers.retain(|f| !gone.contains(f));
            }
        }
        self.prune_and_refresh_newest();
        self.generation += 1;
    }

    /// Remove every file under `path` (before re-listing it).
    pub fn clear_prefix(&mut self, folder: FolderId) {
        let ids = self.files_under(folder);
        self.remove(&ids);
    }

    fn prune_and_refresh_newest(&mut self) {
        // Folders exist only as prefixes of keys: an emptied one goes.
        for i in (0..self.folders.len()).rev() {
            let Some(f) = self.folders.get(i) else {
                continue;
            };
            let id = FolderId::try_from(i).unwrap_or(ROOT);
            let (parent, count, newest) = (f.parent, f.count, f.newest);
            if count == 0 && f.held == 0 && id != ROOT {
                let name = f.name.clone();
                if let Some(p) = self.folders.get_mut(parent as usize) {
                    p.subfolders.retain(|s| *s != id);
                    if p.by_name.get(&name) == Some(&id) {
                        p.by_name.remove(&name);
                    }
                }
            }
            if newest.is_none() && count > 0 {
                let newest = self.newest_under(id);
                if let Some(f) = self.folders.get_mut(i) {
                    f.newest = newest;
                }
            }
        }
    }

    fn newest_under(&self, folder: FolderId) -> Option<FileId> {
        self.files_under(folder)
            .into_iter()
            .filter(|id| self.file(*id).is_some_and(|f| !f.name.is_empty()))
            .max_by_key(|id| self.file(*id).map_or(i64::MIN, |f| f.created))
    }
}

#[cfg(test)]
mod tests;
