//! The tree's visible rows, rebuilt from the workspaces when something opens, closes,
//! arrives or is hidden.

use super::state::{Row, State, WorkspaceView};
use super::tree::{FolderId, ROOT};

impl State {
    /// Rebuild the visible rows, keeping the selection on the same node when it still exists.
    pub fn reflatten(&mut self) {
        let keep = self.selected_row();
        for ws in self.workspaces.iter_mut().filter(|w| w.expanded) {
            ws.order_cache.prepare(&ws.tree, &ws.open, ws.order);
        }
        let mut rows = Vec::with_capacity(self.rows.len().max(16));
        for (wi, ws) in self.workspaces.iter().enumerate() {
            rows.push(Row::Workspace { ws: wi });
            if !ws.expanded {
                continue;
            }
            if ws.tree.file_count() == 0 {
                rows.push(Row::Status { ws: wi });
                continue;
            }
            push_folder(&mut rows, ws, wi, ROOT, self.hide_dotfiles);
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
fn push_folder(rows: &mut Vec<Row>, ws: &WorkspaceView, wi: usize, id: FolderId, hide: bool) {
    let (subfolders, files) = ws.order_cache.children(&ws.tree, ws.order, id);
    for &sub in subfolders {
        if hide && ws.tree.folder(sub).is_some_and(|s| s.name.starts_with('.')) {
            continue;
        }
        rows.push(Row::Folder { ws: wi, id: sub });
        if ws.open.contains(&sub) {
            push_folder(rows, ws, wi, sub, hide);
        }
    }
    rows.extend(
        files
            .iter()
            .filter(|&&fid| !hide || !ws.tree.file(fid).is_some_and(|x| x.name.starts_with('.')))
            .map(|&fid| Row::File { ws: wi, id: fid }),
    );
}
