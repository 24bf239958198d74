//! Everything the screen shows, as plain data. `update` changes it; `draw` reads it.

use std::collections::{HashMap, HashSet};

use tui_input::Input;

use super::msg::ReqId;
use super::tree::{FileId, FolderId, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Tree,
    Details,
    Transfers,
}

/// One line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Row {
    Workspace {
        ws: usize,
    },
    Folder {
        ws: usize,
        id: FolderId,
    },
    File {
        ws: usize,
        id: FileId,
    },
    /// "loading…", "(empty)" or an error under an expanded workspace.
    Status {
        ws: usize,
    },
}

impl Row {
    pub fn ws(&self) -> usize {
        match *self {
            Row::Workspace { ws }
            | Row::Folder { ws, .. }
            | Row::File { ws, .. }
            | Row::Status { ws } => ws,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListingState {
    /// The listing being received; its pages are the only ones accepted.
    pub req: Option<ReqId>,
    pub started: bool,
    pub complete: bool,
    pub maybe_incomplete: bool,
    pub error: Option<String>,
}

/// A folder being re-listed while the rest of the tree stays.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub req: ReqId,
    pub path: String,
    pub cleared: bool,
}

/// What the user had open and selected in a workspace when it (or a folder of it) started
/// being listed again, by path: the nodes come back with new ids.
#[derive(Debug, Clone, Default)]
pub struct Remembered {
    /// Paths of open folders ("a/b/").
    pub open: HashSet<String>,
    /// The selected folder's path or file's key, until it is back or the user moves.
    pub selected: Option<String>,
    /// Marked folders' paths and files' keys, until they are back.
    pub marked: HashSet<String>,
}

#[derive(Debug, Clone)]
pub struct WorkspaceView {
    pub id: String,
    pub name: Option<String>,
    pub tree: Tree,
    pub expanded: bool,
    pub open: HashSet<FolderId>,
    pub listing: ListingState,
    /// Folders being listed again, each under its own request. None is inside another:
    /// the pages of both would bring the same files twice.
    pub refreshes: Vec<Refresh>,
    /// Folders to list again once the running refresh they overlap has finished.
    pub refresh_waiting: Vec<String>,
    /// Set while a listing replaces nodes the user had open or selected.
    pub remembered: Option<Remembered>,
    /// The order within folders (`s`, `S`), kept for the session.
    pub order: super::sort::SortOrder,
    pub(crate) order_cache: super::sort::SortCache,
}

impl WorkspaceView {
    pub fn new(id: String, name: Option<String>) -> Self {
        WorkspaceView {
            id,
            name,
            tree: Tree::new(),
            expanded: false,
            open: HashSet::new(),
            listing: ListingState::default(),
            refreshes: Vec::new(),
            refresh_waiting: Vec::new(),
            remembered: None,
            order: Default::default(),
            order_cache: Default::default(),
        }
    }

    /// Counts are partial ("≥") until the last page has arrived.
    pub fn partial(&self) -> bool {
        !self.listing.complete || self.refreshing() || self.listing.maybe_incomplete
    }

    /// A folder of the tree is being (or waits to be) listed again.
    pub fn refreshing(&self) -> bool {
        !self.refreshes.is_empty() || !self.refresh_waiting.is_empty()
    }

    /// Nothing is listing this workspace now.
    pub fn listing_idle(&self) -> bool {
        self.refreshes.is_empty() && (self.listing.complete || self.listing.req.is_none())
    }
}

#[derive(Debug, Clone)]
pub struct DeleteConfirm {
    pub ws: usize,
    /// What is deleted, as shown: a file's key or "folder/ and every file under it".
    pub label: String,
    /// The marked items, each as `ws:path` (empty when the cursor row is deleted).
    pub items: Vec<String>,
    /// It deletes the marks (which are cleared once it is done).
    pub marked: bool,
    pub files: Vec<FileId>,
    /// The known sizes' sum; `unknown_sizes` files add to it an amount nobody told.
    pub bytes: u64,
    pub unknown_sizes: bool,
}

/// What a path prompt is for.
#[derive(Debug, Clone)]
pub enum PromptKind {
    /// Upload into `folder` of workspace `ws`.
    Upload { ws: String, folder: String },
    /// Download these files (with their relative local paths).
    Download {
        ws: String,
        files: Vec<(crate::api::FileEntry, String)>,
        bytes: u64,
        /// Some sizes are unknown: `bytes` is a lower bound.
        unknown_sizes: bool,
        /// What is downloaded, as the user picked it: `ws:path` of each item.
        what: Vec<String>,
    },
    /// Go to a file or folder of workspace `ws` (its index); `cycle` while Tab steps
    /// through the candidates of the last completion.
    Jump {
        ws: usize,
        cycle: Option<super::jump::Cycle>,
    },
}

#[derive(Debug, Clone)]
pub enum Dialog {
    ConfirmDelete(DeleteConfirm),
    Help,
    WorkspacePrompt(Input),
    Path {
        kind: PromptKind,
        input: Input,
    },
    /// Quit while transfers are active?
    ConfirmQuit {
        active: usize,
    },
    /// Files of a batch exist at their destination: what to do, one by one.
    Conflicts {
        batch: u64,
        items: Vec<crate::app::msg::ConflictItem>,
        choices: Vec<crate::app::msg::Choice>,
    },
    /// Resume what the last run left unfinished?
    ConfirmResume {
        count: usize,
        bytes: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct PendingDelete {
    pub ws: usize,
    /// The listing the file ids belong to.
    pub listing: Option<ReqId>,
    pub files: Vec<FileId>,
    pub keys: Vec<String>,
}

/// The embedded demo's server: its URL and throwaway session key, shown so the CLI can be
/// pointed at it.
#[derive(Debug, Clone)]
pub struct Demo {
    pub url: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct State {
    /// Shown in the status line: the endpoint's host (never a key).
    pub endpoint: String,
    pub workspaces: Vec<WorkspaceView>,
    pub rows: Vec<Row>,
    pub selected: usize,
    pub offset: usize,
    pub width: u16,
    pub height: u16,
    pub focus: Pane,
    /// Whether the details pane is shown: `None` follows the screen's width (a narrow
    /// screen gives its columns to the tree's names), `Some` once the user has chosen.
    pub details: Option<bool>,
    pub dialog: Option<Dialog>,
    /// A notification shown over the screen until the next key.
    pub notice: Option<Notice>,
    pub last_error: Option<String>,
    pub spinner: usize,
    pub dirty: bool,
    pub quit: bool,
    /// The quit was Ctrl-C: the process exits 130, as an interrupted one does.
    pub interrupted: bool,
    /// Unfinished transfers are saved for the next run (not in the demo: they are
    /// cancelled on quit).
    pub queue_kept: bool,
    /// Set in the demo only.
    pub demo: Option<Demo>,
    /// The runtime suspends the process (Ctrl-Z) and clears this.
    pub suspend: bool,
    pub transfers: Vec<super::queue_view::TransferView>,
    pub transfer_selected: usize,
    /// Rows marked for a batch (space).
    pub marked: HashSet<Row>,
    /// Why transfers are off in this instance (another filedeck owns the queue).
    pub transfers_blocked: Option<String>,
    /// The worker's questions (conflicts, a resume offer) that came while another dialog
    /// was open, in order.
    pub waiting: std::collections::VecDeque<Dialog>,
    /// What the user asked for while transfers were off, done once the queue is free.
    pub after_claim: Option<crate::app::msg::Action>,
    /// Transfers at once (shown; the worker enforces it).
    pub concurrency: usize,
    /// The bandwidth cap of all transfers (bytes/s), shown in the transfers title.
    pub limit_rate: Option<u64>,
    pub(crate) next_req: ReqId,
    pub(crate) workspaces_req: Option<ReqId>,
    /// Where uploads finished since the last re-list, per workspace: the deepest folder
    /// holding all of them.
    pub(crate) uploaded_into: HashMap<String, String>,
    /// Uploads queued or under way, per workspace: kept as transfers change state (a
    /// scan of every transfer per finished upload would be quadratic in a big batch).
    pub(crate) uploads_active: HashMap<String, usize>,
    /// The Tab completion being waited for.
    pub(crate) complete_req: Option<ReqId>,
    /// Shown under a path prompt's input: the names a Tab could still complete to
    /// (several matches), or a hint.
    pub under_prompt: Vec<String>,
    pub(crate) deletes: HashMap<ReqId, PendingDelete>,
    /// Where downloads go unless the prompt says otherwise: the folder filedeck was started
    /// in, absolute (the runtime sets it; the prompt shows it whole).
    pub download_dir: String,
    /// The marks a download was started from, until the worker takes the batch (they come
    /// back if it cannot start it).
    pub(crate) marks_sent: Option<HashSet<Row>>,
    /// Bytes moved by all transfers, for the batch speed: many small files each end
    /// before a rate of their own can be measured.
    pub throughput: Throughput,
    /// The listing started by `r`, to say when it is done.
    pub(crate) refresh_said: Option<ReqId>,
    /// The key bindings in force (defaults with `[keys]` applied).
    pub keymap: crate::app::keymap::Keymap,
    /// Where focus was before `t` jumped to the transfers pane.
    pub(crate) focus_before: Option<Pane>,
    /// Where `v` starts its range: the row last marked with Space or `v`.
    pub(crate) mark_anchor: Option<Row>,
    /// Dotfiles (a last segment starting with '.', folders too) are left out of the tree.
    pub hide_dotfiles: bool,
    /// Theme, mouse capture, clipboard outbox.
    pub look: super::look::Look,
    /// The live filter (`/`), while one is open or kept.
    pub filter: Option<super::filter::Filter>,
    /// The file preview (`p`, `P`).
    pub preview: super::preview::PreviewState,
}

/// The batch's speed, from the bytes all transfers moved between progress samples.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub moved: u64,
    /// (worker clock ms, `moved` then) at the start of the current window.
    anchor: Option<(u64, u64)>,
    /// Bytes per second, smoothed.
    pub speed: f64,
}

impl Throughput {
    /// Windows shorter than this give rates too noisy to show.
    const WINDOW_MS: u64 = 500;

    pub fn add(&mut self, at_ms: u64, bytes: u64) {
        self.moved = self.moved.saturating_add(bytes);
        // The first sample's bytes moved over a time nobody measured: the window opens
        // after them.
        let Some((t0, m0)) = self.anchor else {
            self.anchor = Some((at_ms, self.moved));
            return;
        };
        let dt = at_ms.saturating_sub(t0);
        if dt >= Self::WINDOW_MS {
            let rate = self.moved.saturating_sub(m0) as f64 * 1000.0 / dt as f64;
            self.speed = if self.speed == 0.0 {
                rate
            } else {
                0.5 * self.speed + 0.5 * rate
            };
            self.anchor = Some((at_ms, self.moved));
        }
    }

    /// Nothing moves: the next batch starts measuring afresh.
    pub fn idle(&mut self) {
        self.anchor = None;
        self.speed = 0.0;
    }
}

impl State {
    pub fn new(endpoint: &str, workspace_ids: &[String], width: u16, height: u16) -> Self {
        let host = url::Url::parse(endpoint)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_else(|| endpoint.to_string());
        State {
            endpoint: host,
            workspaces: workspace_ids
                .iter()
                .map(|id| WorkspaceView::new(id.clone(), None))
                .collect(),
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            width,
            height,
            focus: Pane::Tree,
            details: None,
            dialog: None,
            notice: None,
            last_error: None,
            spinner: 0,
            dirty: true,
            quit: false,
            interrupted: false,
            queue_kept: true,
            demo: None,
            suspend: false,
            transfers: Vec::new(),
            transfer_selected: 0,
            marked: HashSet::new(),
            keymap: crate::app::keymap::Keymap::default(),
            focus_before: None,
            mark_anchor: None,
            hide_dotfiles: false,
            concurrency: 4,
            limit_rate: None,
            transfers_blocked: None,
            after_claim: None,
            waiting: Default::default(),
            next_req: 1,
            workspaces_req: None,
            complete_req: None,
            under_prompt: Vec::new(),
            uploaded_into: HashMap::new(),
            uploads_active: HashMap::new(),
            deletes: HashMap::new(),
            download_dir: ".".into(),
            marks_sent: None,
            throughput: Throughput::default(),
            refresh_said: None,
            look: super::look::Look::default(),
            filter: None,
            preview: Default::default(),
        }
    }

    pub(crate) fn req(&mut self) -> ReqId {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    /// Whether something on screen moves by itself (a spinner): only then does the
    /// loop tick.
    /// Work done in steps is unfinished: the loop sends [`Msg::Continue`] when idle.
    ///
    /// [`Msg::Continue`]: super::msg::Msg::Continue
    pub fn stepping(&self) -> bool {
        self.filter.as_ref().is_some_and(|f| f.pending)
    }

    pub fn animating(&self) -> bool {
        self.loading().is_some()
            || self.workspaces_req.is_some()
            || !self.deletes.is_empty()
            || self.preview.current.as_ref().is_some_and(|p| p.loading)
    }

    /// A workspace whose listing is running, for the status line.
    pub fn loading(&self) -> Option<&WorkspaceView> {
        self.workspaces.iter().find(|w| !w.listing_idle())
    }

    /// The keymap from `[keys]`. The config check refuses a broken map before the TUI
    /// starts, so the defaults here are only for a caller that skipped it.
    /// The overrides were checked before the terminal was taken (`check_overrides`, with
    /// the file named); should any still fail, the defaults stand rather than no keys.
    pub fn set_keys(&mut self, keys: &crate::config::KeyOverrides) {
        self.keymap = super::keymap::Keymap::with_overrides(keys).unwrap_or_default();
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.selected).copied()
    }

    /// Workspace `wi`, when there is one.
    pub fn ws(&self, wi: usize) -> Option<&WorkspaceView> {
        self.workspaces.get(wi)
    }

    pub fn ws_mut(&mut self, wi: usize) -> Option<&mut WorkspaceView> {
        self.workspaces.get_mut(wi)
    }

    pub fn details_shown(&self) -> bool {
        self.details
            .unwrap_or(self.width >= super::layout::DETAILS_MIN_WIDTH)
    }

    /// Rows of the tree pane that fit on screen.
    pub fn viewport(&self) -> usize {
        super::layout::tree_viewport(self.width, self.height, self.transfers.len())
    }

    pub fn scroll_into_view(&mut self) {
        let h = self.viewport().max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let max_offset = self.rows.len().saturating_sub(h);
        self.offset = self.offset.min(max_offset);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.last_error = Some(text.clone());
        self.notice = Some(Notice {
            level: Level::Error,
            text,
        });
        self.dirty = true;
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            level: Level::Info,
            text: text.into(),
        });
        self.dirty = true;
    }
}
