//! The jump prompt (`:`) over a workspace's remote tree: Tab completion of a typed path
//! and the file or folder a path names. Works on the real names; drawing sanitises them.

use super::tree::{FileId, FolderId, ROOT, Tree};

/// How many candidates a Tab keeps to show and to step through.
pub const MAX_CANDIDATES: usize = 64;

/// Tab pressed again after a completion with several candidates steps through them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cycle {
    /// The folder part of the text ("raw/"), each candidate goes after it.
    pub base: String,
    /// The candidate in the input now; `None` before the first step.
    pub at: Option<usize>,
    /// How many matched (only the first [`MAX_CANDIDATES`] are kept).
    pub total: usize,
}

/// What a Tab made of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text completed as far as every match agrees (a folder alone gets its `/`).
    pub text: String,
    /// The names it could still complete to (folders with a `/`), when several match.
    pub candidates: Vec<String>,
    pub cycle: Option<Cycle>,
}

/// The readings of a typed path, as typed first: a key may begin with `/` (some stores
/// keep `/abs/x`, under a folder with an empty name); else its leading slashes are
/// dropped (`/raw/a` is `raw/a`).
fn readings(text: &str) -> impl Iterator<Item = &str> {
    let stripped = text.trim_start_matches('/');
    std::iter::once(text).chain((stripped.len() != text.len()).then_some(stripped))
}

/// A path's folder part and last segment.
fn split(text: &str) -> (&str, &str) {
    match text.rfind('/') {
        Some(i) => (
            text.get(..=i).unwrap_or(""),
            text.get(i + 1..).unwrap_or(""),
        ),
        None => ("", text),
    }
}

fn folder_at(tree: &Tree, dir: &str) -> Option<FolderId> {
    if dir.is_empty() {
        Some(ROOT)
    } else {
        tree.folder_by_path(dir)
    }
}

/// Complete `text` against the tree: `Err` says why nothing matched. Dotfiles are left
/// out while hidden, unless the typed segment starts with '.'.
pub fn complete(tree: &Tree, text: &str, hide_dotfiles: bool) -> Result<Completion, String> {
    // The last reading's refusal is the one said (the text without its slashes).
    let mut why = Err(String::new());
    for path in readings(text) {
        why = complete_at(tree, path, hide_dotfiles);
        if why.is_ok() {
            break;
        }
    }
    why
}

fn complete_at(tree: &Tree, text: &str, hide_dotfiles: bool) -> Result<Completion, String> {
    let (dir, prefix) = split(text);
    let Some(folder) = folder_at(tree, dir).and_then(|id| tree.folder(id)) else {
        return Err(format!("no folder {dir} here"));
    };
    let shown = |name: &str| !hide_dotfiles || prefix.starts_with('.') || !name.starts_with('.');
    let subfolders = folder
        .subfolders
        .iter()
        .filter_map(|&id| tree.folder(id))
        .map(|f| (&*f.name, true));
    let files = folder
        .files
        .iter()
        .filter_map(|&id| tree.file(id))
        .filter(|f| !f.deleted)
        .map(|f| (&*f.name, false));
    let mut total = 0usize;
    let mut agreed: Option<&str> = None;
    let mut first = None;
    let mut candidates = Vec::new();
    for (name, is_folder) in subfolders.chain(files) {
        if !name.starts_with(prefix) || !shown(name) {
            continue;
        }
        total += 1;
        agreed = Some(agreed.map_or(name, |a| crate::local::common_prefix(a, name)));
        first.get_or_insert((name, is_folder));
        if candidates.len() < MAX_CANDIDATES {
            candidates.push(format!("{name}{}", if is_folder { "/" } else { "" }));
        }
    }
    let place = if dir.is_empty() {
        "the top folder"
    } else {
        dir
    };
    match (total, first) {
        (0, _) | (_, None) if prefix.is_empty() => Err(format!("{place} has nothing to show")),
        (0, _) | (_, None) => Err(format!("nothing in {place} starts with {prefix}")),
        (1, Some((name, is_folder))) => Ok(Completion {
            text: format!("{dir}{name}{}", if is_folder { "/" } else { "" }),
            candidates: Vec::new(),
            cycle: None,
        }),
        _ => Ok(Completion {
            text: format!("{dir}{}", agreed.unwrap_or(prefix)),
            candidates,
            cycle: Some(Cycle {
                base: dir.to_string(),
                at: None,
                total,
            }),
        }),
    }
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Folder(FolderId),
    File(FileId),
}

/// The file or folder at `text` (a path from the workspace's top, `/` optional at
/// either end; a file wins over a folder of the same name unless the path ends in `/`).
pub fn resolve(tree: &Tree, text: &str) -> Option<Target> {
    readings(text).find_map(|path| resolve_at(tree, path))
}

fn resolve_at(tree: &Tree, path: &str) -> Option<Target> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with('/') {
        return tree.folder_by_path(path).map(Target::Folder);
    }
    let (dir, name) = split(path);
    let file = folder_at(tree, dir)
        .and_then(|id| tree.folder(id))
        .and_then(|f| {
            f.files.iter().copied().find(|&id| {
                tree.file(id)
                    .is_some_and(|x| !x.deleted && &*x.name == name)
            })
        });
    file.map(Target::File)
        .or_else(|| tree.folder_by_path(&format!("{path}/")).map(Target::Folder))
}

/// The deepest folder of `text` that exists, for a message about a path that does not.
pub fn deepest_existing(tree: &Tree, text: &str) -> String {
    readings(text)
        .map(|path| deepest_of(tree, path))
        .max_by_key(String::len)
        .unwrap_or_default()
}

fn deepest_of(tree: &Tree, text: &str) -> String {
    let (dir, _) = split(text);
    let mut found = String::new();
    let mut at = String::new();
    for seg in dir.split_terminator('/') {
        at.push_str(seg);
        at.push('/');
        if tree.folder_by_path(&at).is_none() {
            break;
        }
        found.clone_from(&at);
    }
    found
}
