//! What a batch key (`d`, `x`) acts on: the marked items when there are marks, else the
//! row under the cursor. One rule for both keys, so a key never surprises by acting on
//! something the other would not.

use std::collections::HashSet;

use super::state::{Row, State, WorkspaceView};
use super::tree::{FileId, FileNode, FolderId, ROOT};
use crate::sanitize::for_terminal;

/// The rows a batch acts on, all in one workspace, in tree order, none inside another.
#[derive(Debug, Clone)]
pub struct Targets {
    pub ws: usize,
    pub rows: Vec<Row>,
    /// They are the marks (not the cursor row).
    pub marked: bool,
}

/// The marks, summed up for the tree's title and the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkSummary {
    /// Marked items a batch acts on: a marked folder is one, and what is marked inside
    /// it is not counted again (the delete question counts the same way).
    pub items: usize,
    /// Files under them, each once.
    pub files: u64,
    /// The known sizes' sum.
    pub bytes: u64,
    pub unknown_sizes: bool,
    /// Workspaces the marks are in.
    pub workspaces: usize,
}

/// A row's path as the user reads it: "raw/run1/" or "raw/a.vcf".
pub fn row_path(w: &WorkspaceView, row: Row) -> String {
    match row {
        Row::Folder { id, .. } => w.tree.folder_path(id),
        Row::File { id, .. } => w.tree.display_key(id),
        Row::Workspace { .. } | Row::Status { .. } => String::new(),
    }
}

/// `ws:path`, the one way a remote place is written on screen (as `scp` and `rclone` do).
pub fn remote_label(ws: &str, path: &str) -> String {
    format!("{ws}:{path}")
}

/// Whether `row` lies inside one of `folders` (a marked folder covers what is under it).
fn covered(w: &WorkspaceView, folders: &HashSet<FolderId>, row: Row) -> bool {
    let mut folder = match row {
        Row::File { id, .. } => w.tree.file(id).map(|f| f.folder),
        Row::Folder { id, .. } if id != ROOT => w.tree.folder(id).map(|f| f.parent),
        _ => None,
    };
    while let Some(id) = folder {
        if folders.contains(&id) {
            return true;
        }
        if id == ROOT {
            return false;
        }
        folder = w.tree.folder(id).map(|f| f.parent);
    }
    false
}

/// The marked rows of workspace `wi` that no other marked folder covers, in tree order.
fn top_marks(state: &State, wi: usize) -> Vec<Row> {
    let Some(w) = state.workspaces.get(wi) else {
        return Vec::new();
    };
    let mine: Vec<Row> = state
        .marked
        .iter()
        .copied()
        .filter(|r| r.ws() == wi && matches!(r, Row::File { .. } | Row::Folder { .. }))
        .collect();
    let folders: HashSet<FolderId> = mine
        .iter()
        .filter_map(|r| match *r {
            Row::Folder { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    let mut rows: Vec<(String, Row)> = mine
        .into_iter()
        .filter(|&r| !covered(w, &folders, r))
        .map(|r| (row_path(w, r), r))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The workspaces holding marks, with how many each, in workspace order.
fn marked_workspaces(state: &State) -> Vec<(usize, usize)> {
    let mut per: Vec<(usize, usize)> = Vec::new();
    for r in &state.marked {
        match per.iter_mut().find(|(w, _)| *w == r.ws()) {
            Some((_, n)) => *n += 1,
            None => per.push((r.ws(), 1)),
        }
    }
    per.sort();
    per
}

/// What `d` or `x` acts on, or why nothing (said to the user as it is).
pub fn targets(state: &State) -> Result<Targets, String> {
    if state.marked.is_empty() {
        let row = state.selected_row().ok_or("Nothing is selected.")?;
        return Ok(Targets {
            ws: row.ws(),
            rows: vec![row],
            marked: false,
        });
    }
    let per = marked_workspaces(state);
    if let [(wi, _)] = per[..] {
        return Ok(Targets {
            ws: wi,
            rows: top_marks(state, wi),
            marked: true,
        });
    }
    // A batch is one workspace's: its files are addressed by that workspace's keys, and
    // two workspaces may hold the same path. The marks stay for the user to narrow.
    let list: Vec<String> = per
        .iter()
        .map(|&(wi, n)| {
            let id = state.workspaces.get(wi).map_or("", |w| w.id.as_str());
            format!("{n} in {id}")
        })
        .collect();
    Err(format!(
        "The marks span {} workspaces ({}): a batch acts on one workspace. \
         Unmark the others (Space), or Esc to clear all marks.",
        per.len(),
        list.join(", ")
    ))
}

/// Every file under `rows` of workspace `w` once, with its path relative to where the
/// batch lands (a marked folder keeps its own name: raw/run1/ lands as run1/…).
pub fn files_of(w: &WorkspaceView, rows: &[Row]) -> Vec<(FileId, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &row in rows {
        match row {
            Row::File { id, .. } => {
                if let Some(f) = w.tree.file(id)
                    && seen.insert(id)
                {
                    out.push((id, f.name.to_string()));
                }
            }
            Row::Folder { id, .. } => {
                let base = w
                    .tree
                    .folder_path(w.tree.folder(id).map_or(ROOT, |f| f.parent));
                for fid in w.tree.files_under(id) {
                    if seen.insert(fid) {
                        let dk = w.tree.display_key(fid);
                        let rel = dk.strip_prefix(&base).unwrap_or(&dk).to_string();
                        out.push((fid, rel));
                    }
                }
            }
            Row::Workspace { .. } | Row::Status { .. } => {}
        }
    }
    out
}

/// The marks summed up; `None` when nothing is marked.
pub fn summary(state: &State) -> Option<MarkSummary> {
    if state.marked.is_empty() {
        return None;
    }
    let per = marked_workspaces(state);
    let mut s = MarkSummary {
        items: 0,
        files: 0,
        bytes: 0,
        unknown_sizes: false,
        workspaces: per.len(),
    };
    for &(wi, _) in &per {
        let Some(w) = state.workspaces.get(wi) else {
            continue;
        };
        for row in top_marks(state, wi) {
            s.items += 1;
            match row {
                Row::File { id, .. } => {
                    let size = w.tree.file(id).and_then(FileNode::size);
                    s.files += 1;
                    s.bytes = s.bytes.saturating_add(size.unwrap_or(0));
                    s.unknown_sizes |= size.is_none();
                }
                Row::Folder { id, .. } => {
                    if let Some(f) = w.tree.folder(id) {
                        s.files += f.count;
                        s.bytes = s.bytes.saturating_add(f.bytes);
                        s.unknown_sizes |= f.unknown_sizes > 0;
                    }
                }
                Row::Workspace { .. } | Row::Status { .. } => {}
            }
        }
    }
    Some(s)
}

/// Why a folder of workspace `w` cannot be acted on as a whole now, if it cannot: its
/// listing may be missing files under it.
fn folder_unsure(w: &WorkspaceView, id: FolderId, verb: &str) -> Option<String> {
    let path = for_terminal(&w.tree.folder_path(id));
    let ws = for_terminal(&w.id);
    if w.listing.maybe_incomplete {
        return Some(format!(
            "Not {verb} {path}: the server's listing of {ws} may be incomplete (a full page \
             came back without a cursor), so some files under it may be missing here."
        ));
    }
    if w.listing.error.is_some() {
        return Some(format!(
            "Not {verb} {path}: the last listing of {ws} failed, so some files under it \
             may be missing here; r lists it again."
        ));
    }
    if !w.listing.complete || w.refreshing() {
        return Some(format!(
            "Not {verb} {path} yet: {ws} is still being listed; try again when it is complete."
        ));
    }
    None
}

/// What `d` or `x` acts on (see [`marks`]), every file under it once, and each item as
/// `ws:path`; `None` once the user has been told why not.
pub struct Batch {
    pub targets: Targets,
    pub files: Vec<(FileId, String)>,
    pub items: Vec<String>,
}

pub fn batch(state: &mut State, verb: &str) -> Option<Batch> {
    let targets = match targets(state) {
        Ok(t) => t,
        Err(why) => {
            state.error(why);
            return None;
        }
    };
    let w = state.workspaces.get(targets.ws)?;
    let unsure = targets.rows.iter().find_map(|&row| match row {
        Row::Folder { id, .. } => folder_unsure(w, id, verb),
        _ => None,
    });
    if let Some(why) = unsure {
        state.error(why);
        return None;
    }
    let files = files_of(w, &targets.rows);
    let items = targets
        .rows
        .iter()
        .map(|&r| for_terminal(&remote_label(&w.id, &row_path(w, r))))
        .collect();
    Some(Batch {
        targets,
        files,
        items,
    })
}
