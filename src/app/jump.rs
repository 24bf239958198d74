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

/// The typed path as the tree names it: leading slashes are dropped (`/raw/a` is
/// `raw/a`), unless the workspace has keys that begin with `/` (kept under a folder with
/// an empty name) and the text goes there.
fn rooted<'a>(tree: &Tree, text: &'a str) -> &'a str {
    let stripped = text.trim_start_matches('/');
    if stripped.len() == text.len() || tree.folder_by_path("/").is_none() {
        return stripped;
    }
    // As typed, if the folder it names exists; else as if the slashes were not there.
    let (dir, _) = split(text);
    if tree.folder_by_path(dir).is_some() {
        text
    } else {
        stripped
    }
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
    let path = rooted(tree, text);
    let stripped = text.trim_start_matches('/');
    // As `resolve`: the text as typed, then without its leading slashes.
    match complete_at(tree, path, hide_dotfiles) {
        Err(_) if path != stripped => complete_at(tree, stripped, hide_dotfiles),
        done => done,
    }
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
    let path = rooted(tree, text);
    let stripped = text.trim_start_matches('/');
    resolve_at(tree, path).or_else(|| {
        (path != stripped)
            .then(|| resolve_at(tree, stripped))
            .flatten()
    })
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
    let (dir, _) = split(rooted(tree, text));
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
