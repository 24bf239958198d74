//! Messages split by direction: `Msg` (what happened), `Action` (what the user meant),
//! `Command` (what the worker must do), `Event` (what the worker reports).

use ratatui::crossterm::event::KeyEvent;

use crate::api::{FileEntry, Workspace};

/// A request id: results carry it back, and `update` drops those nobody waits for.
pub type ReqId = u64;

/// What happened.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Tick,
    Worker(Event),
}

/// What the user meant, from the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Up,
    Down,
    Expand,
    Collapse,
    Top,
    Bottom,
    PageUp,
    PageDown,
    NextPane,
    Refresh,
    Delete,
    Help,
    Quit,
    ForceQuit,
    Suspend,
}

/// What the worker must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    ListWorkspaces {
        req: ReqId,
    },
    /// List `prefix` of `ws` page by page (every listing is recursive).
    List {
        req: ReqId,
        ws: String,
        prefix: String,
    },
    /// Delete these keys, concurrently; one result per key, in order.
    Delete {
        req: ReqId,
        ws: String,
        keys: Vec<String>,
    },
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum Event {
    Workspaces {
        req: ReqId,
        /// `Ok(None)`: the server does not offer the workspaces route.
        result: Result<Option<Vec<Workspace>>, String>,
    },
    ListPage {
        req: ReqId,
        files: Vec<FileEntry>,
        /// The last page: nothing more will come for `req`.
        done: bool,
        /// A full page without a cursor: the listing may be cut short.
        maybe_incomplete: bool,
    },
    ListFailed {
        req: ReqId,
        error: String,
    },
    Deleted {
        req: ReqId,
        results: Vec<Result<(), String>>,
    },
}
