//! The local tree of one workspace, built from recursive listings (the API has no
//! delimiter): folders derived from keys, files in compact form, and per-folder
//! aggregates (file count, total size, newest file) kept up to date as pages arrive.
//!
//! Memory matters here: a workspace may hold a million files. A file costs one
//! [`FileNode`] (about 100 bytes plus its name) and one `u32` in its folder.

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
    /// Recursive aggregates.
    pub count: u64,
    /// The sum of the sizes that are known.
    pub bytes: u64,
    /// Files whose size the server did not say: `bytes` is then a lower bound.
    pub unknown_sizes: u64,
    pub newest: Option<FileId>,
    sorted: bool,
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
    /// Folder path ("raw/run1/") → id.
    by_path: HashMap<Box<str>, FolderId>,
    content_types: Vec<Box<str>>,
    ct_index: HashMap<Box<str>, u16>,
    /// Bumped on every structural change, so views know when to re-flatten.
    pub generation: u64,
}

impl Tree {
    pub fn new() -> Self {
        let mut t = Tree::default();
        t.folders.push(Folder {
            name: "".into(),
            parent: ROOT,
            depth: 0,
            subfolders: Vec::new(),
            files: Vec::new(),
            count: 0,
            bytes: 0,
            unknown_sizes: 0,
            newest: None,
            sorted: true,
        });
        t.by_path.insert("".into(), ROOT);
        t.content_types.push("".into());
        t.ct_index.insert("".into(), 0);
        t
    }

    pub fn file_count(&self) -> u64 {
        self.folders[ROOT as usize].count
    }

    /// The folder at `path` ("" or ending in '/'), created with its parents if missing.
    /// Iterative: a hostile key with thousands of segments must not exhaust the stack.
    fn folder_for(&mut self, path: &str) -> FolderId {
        if let Some(&id) = self.by_path.get(path) {
            return id;
        }
        let mut parent = ROOT;
        let mut end = 0;
        for seg in path.split_terminator('/') {
            end += seg.len() + 1;
            let prefix = &path[..end];
            parent = match self.by_path.get(prefix) {
                Some(&id) => id,
                None => {
                    let id = self.folders.len() as FolderId;
                    let depth = self.folders[parent as usize].depth.saturating_add(1);
                    self.folders.push(Folder {
                        name: seg.into(),
                        parent,
                        depth,
                        subfolders: Vec::new(),
                        files: Vec::new(),
                        count: 0,
                        bytes: 0,
                        unknown_sizes: 0,
                        newest: None,
                        sorted: true,
                    });
                    let p = &mut self.folders[parent as usize];
                    p.subfolders.push(id);
                    p.sorted = false;
                    self.by_path.insert(prefix.into(), id);
                    id
                }
            };
        }
        parent
    }

    /// The live files whose API key is in `keys`.
    pub fn find_keys(&self, keys: &std::collections::HashSet<&str>) -> Vec<FileId> {
        (0..self.files.len() as FileId)
            .filter(|&id| !self.files[id as usize].deleted && keys.contains(self.key(id).as_str()))
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
        self.folders[folder as usize]
            .files
            .iter()
            .copied()
            .find(|&id| {
                let f = &self.files[id as usize];
                !f.deleted && &*f.name == name && self.key(id) == key
            })
    }

    pub fn folder_by_path(&self, path: &str) -> Option<FolderId> {
        self.by_path.get(path).copied()
    }

    /// The folder's full path: "" or "a/b/".
    pub fn folder_path(&self, mut id: FolderId) -> String {
        let mut parts = Vec::new();
        while id != ROOT {
            let f = &self.folders[id as usize];
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
        if self.content_types.len() >= u16::MAX as usize {
            return 0;
        }
        let i = self.content_types.len() as u16;
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
        let folder = self.folder_for(&e.path);
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
        let id = self.files.len() as FileId;
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
        let f = &mut self.folders[folder as usize];
        f.files.push(id);
        f.sorted = false;
        let (size, created) = (e.size, created);
        let (known, unknown_sizes) = (size.unwrap_or(0), u64::from(size.is_none()));
        let mut cur = folder;
        loop {
            let newest = self.folders[cur as usize].newest;
            let is_newer = newest.is_none_or(|n| self.files[n as usize].created < created);
            let f = &mut self.folders[cur as usize];
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

    fn sort_touched(&mut self) {
        for i in 0..self.folders.len() {
            if self.folders[i].sorted {
                continue;
            }
            let mut subs = std::mem::take(&mut self.folders[i].subfolders);
            subs.sort_by(|a, b| {
                self.folders[*a as usize]
                    .name
                    .cmp(&self.folders[*b as usize].name)
            });
            let mut files = std::mem::take(&mut self.folders[i].files);
            files.sort_by(|a, b| {
                self.files[*a as usize]
                    .name
                    .cmp(&self.files[*b as usize].name)
            });
            let f = &mut self.folders[i];
            f.subfolders = subs;
            f.files = files;
            f.sorted = true;
        }
    }

    /// The API key of a file.
    pub fn key(&self, id: FileId) -> String {
        let f = &self.files[id as usize];
        match &f.key {
            Some(k) => k.to_string(),
            None => self.display_key(id),
        }
    }

    /// `path + name`: the file's identity.
    pub fn display_key(&self, id: FileId) -> String {
        let f = &self.files[id as usize];
        let mut p = self.folder_path(f.folder);
        p.push_str(&f.name);
        p
    }

    pub fn content_type(&self, id: FileId) -> &str {
        &self.content_types[self.files[id as usize].content_type as usize]
    }

    /// Back to the wire form, for the transfer and delete commands.
    pub fn entry(&self, id: FileId) -> FileEntry {
        let f = &self.files[id as usize];
        let ct = self.content_type(id);
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
            let f = &self.folders[id as usize];
            out.extend(f.files.iter().copied());
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
            let mut cur = folder;
            loop {
                let f = &mut self.folders[cur as usize];
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
            self.folders[folder as usize]
                .files
                .retain(|f| !gone.contains(f));
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
        for i in (1..self.folders.len()).rev() {
            if self.folders[i].count == 0 {
                let parent = self.folders[i].parent;
                let id = i as FolderId;
                self.folders[parent as usize]
                    .subfolders
                    .retain(|s| *s != id);
            }
            if self.folders[i].newest.is_none() && self.folders[i].count > 0 {
                self.folders[i].newest = self.newest_under(i as FolderId);
            }
        }
        if self.folders[0].newest.is_none() && self.folders[0].count > 0 {
            self.folders[0].newest = self.newest_under(ROOT);
        }
        let live: Vec<(Box<str>, FolderId)> = self
            .by_path
            .iter()
            .filter(|(_, id)| **id == ROOT || self.folders[**id as usize].count > 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if live.len() != self.by_path.len() {
            self.by_path = live.into_iter().collect();
        }
    }

    fn newest_under(&self, folder: FolderId) -> Option<FileId> {
        self.files_under(folder)
            .into_iter()
            .max_by_key(|id| self.files[*id as usize].created)
    }
}

/// RFC 3339 → Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

pub fn format_rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_sizes_saturate_instead_of_overflowing() {
        let mut t = Tree::new();
        t.add(vec![
            e("big/a", 1 << 63, "2026-01-01T00:00:00Z"),
            e("big/b", 1 << 63, "2026-01-01T00:00:00Z"),
        ]);
        assert_eq!(t.folders[ROOT as usize].bytes, u64::MAX);
    }

    fn e(key: &str, size: u64, created: &str) -> FileEntry {
        FileEntry {
            key: key.into(),
            name: String::new(),
            path: String::new(),
            size: Some(size),
            description: None,
            content_type: Some("text/plain".into()),
            created_at: Some(created.into()),
            sha256: None,
            etag: None,
        }
        .normalise()
    }

    #[test]
    fn builds_folders_and_aggregates() {
        let mut t = Tree::new();
        t.add(vec![
            e("raw/b.vcf", 10, "2026-01-02T00:00:00Z"),
            e("raw/a.vcf", 5, "2026-01-03T00:00:00Z"),
            e("raw/run1/x.fq", 100, "2026-01-01T00:00:00Z"),
            e("top.txt", 1, "2026-01-01T00:00:00Z"),
        ]);
        assert_eq!(t.file_count(), 4);
        let raw = t.folder_by_path("raw/").unwrap();
        let f = &t.folders[raw as usize];
        assert_eq!((f.count, f.bytes), (3, 115));
        let names: Vec<_> = f
            .files
            .iter()
            .map(|i| &*t.files[*i as usize].name)
            .collect();
        assert_eq!(names, ["a.vcf", "b.vcf"]);
        assert_eq!(t.display_key(f.newest.unwrap()), "raw/a.vcf");
        assert_eq!(
            t.folder_path(t.folder_by_path("raw/run1/").unwrap()),
            "raw/run1/"
        );
        let ids = t.files_under(t.folder_by_path("raw/run1/").unwrap());
        t.remove(&ids);
        assert!(
            t.folder_by_path("raw/run1/").is_none(),
            "emptied folder pruned"
        );
        assert_eq!(t.folders[raw as usize].count, 2);
        assert_eq!(t.file_count(), 3);
        assert_eq!(t.entry(t.folders[raw as usize].files[0]).key, "raw/a.vcf");
    }
}
