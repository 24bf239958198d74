//! The tree's visible rows, rebuilt from the workspaces when something opens, closes,
//! arrives or is hidden.

use super::filter::Keep;
use super::state::{Row, State, WorkspaceView};
use super::tree::{FolderId, ROOT};

impl State {
    /// Rebuild the visible rows, keeping the selection on the same node when it still exists.
    pub fn reflatten(&mut self) {
        let keep = self.selected_row();
        // The old rows' buffer is reused: a filter over a million files has a million
        // rows, and a second buffer beside the first doubled the peak memory.
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        let mut matches = None;
        for (wi, ws) in self.workspaces.iter_mut().enumerate() {
            rows.push(Row::Workspace { ws: wi });
            if !ws.expanded {
                continue;
            }
            if ws.tree.file_count() == 0 {
                rows.push(Row::Status { ws: wi });
                continue;
            }
            // Under a filter only matches and the folders holding them (opened) are rows.
            let keep = super::filter::keep(self.filter.as_ref(), wi, &ws.tree, self.hide_dotfiles);
            if let Some((_, n, hidden)) = &keep {
                matches = Some((*n, *hidden));
            }
            let keep = keep.as_ref().map(|(k, ..)| k);
            // A filter opens every folder holding a match: those are sorted too.
            let (open, order) = (&ws.open, ws.order);
            ws.order_cache.prepare(&ws.tree, order, |s| {
                keep.map_or_else(|| open.contains(&s), |k| k.folder(s))
            });
            let ws = &*ws;
            push_folder(&mut rows, ws, wi, ROOT, self.hide_dotfiles, keep);
        }
        if let Some(f) = &mut self.filter {
            (f.matches, f.hidden) = matches.unwrap_or((0, 0));
            f.rows_stale = false;
        }
        // ... and given back once the filter narrows or clears.
        if rows.capacity() > 4 * rows.len().max(4_096) {
            rows.shrink_to_fit();
        }
        self.rows = rows;
        if let Some(k) = keep
            && let Some(i) = self.rows.iter().position(|r| *r == k)
        {
            self.selected = i;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.scroll_into_view();
        self.dirty = true;
    }
}

/// The children of an open folder: subfolders first, then files, in the order in force.
fn push_folder(
    rows: &mut Vec<Row>,
    ws: &WorkspaceView,
    wi: usize,
    id: FolderId,
    hide: bool,
    keep: Option<&Keep>,
) {
    let (subfolders, files) = ws.order_cache.children(&ws.tree, ws.order, id);
    for &sub in subfolders {
        if hide && ws.tree.folder(sub).is_some_and(|s| s.name.starts_with('.')) {
            continue;
        }
        if keep.is_some_and(|k| !k.folder(sub)) {
            continue;
        }
        rows.push(Row::Folder { ws: wi, id: sub });
        if keep.is_some() || ws.open.contains(&sub) {
            push_folder(rows, ws, wi, sub, hide, keep);
        }
    }
    rows.extend(
        files
            .iter()
            .filter(|&&fid| !hide || !ws.tree.file(fid).is_some_and(|x| x.name.starts_with('.')))
            .filter(|&&fid| keep.is_none_or(|k| k.file(fid)))
            .map(|&fid| Row::File { ws: wi, id: fid }),
    );
}
