//! Messages split by direction: `Msg` (what happened), `Action` (what the user meant),
//! `Command` (what the worker must do), `Event` (what the worker reports).

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use super::transfer_types::{TransferId, TransferInfo, TransferState};
use crate::api::{FileEntry, Workspace};

/// A request id: results carry it back, and `update` drops those nobody waits for.
pub type ReqId = u64;

/// What to do when the destination already has a file of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Overwrite,
    Skip,
    /// Skip when the size (and the hash, when known) are the same; else overwrite.
    SkipIfIdentical,
    /// Transfer under a numbered name: "name (1).ext".
    KeepBoth,
}

/// How a run without a screen (the command line) answers conflicts, every one alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Transfer nothing of a batch in which anything exists already.
    Fail,
    Skip,
    /// Skip what is known to be identical (size and SHA-256), replace the rest; a file
    /// that cannot be compared fails with the reason.
    SkipIdentical,
    Overwrite,
    /// "name (1).ext".
    Rename,
}

/// Who answers a batch's conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// The user, through [`Event::Conflicts`] and [`Command::Resolve`].
    Ask,
    Fixed(OnConflict),
}

/// One conflict of a batch, as shown in the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictItem {
    /// Where the existing file is: a remote `path + name` or a local path.
    pub existing: String,
    /// `None`: not known (the server did not say).
    pub existing_size: Option<u64>,
    pub new_size: Option<u64>,
    pub upload: bool,
    /// What is not known about it: it may exist (a listing that may be incomplete), or
    /// whether it is identical cannot be told (no hash on either side).
    pub note: Option<String>,
}

/// What happened.
#[expect(
    clippy::large_enum_variant,
    reason = "a message is built once and moved into `update`: a box on every worker event costs more than its size"
)]
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// With the runtime's monotonic clock in ms: a double click is told by it, and
    /// `update` reads no clock.
    Mouse(MouseEvent, u64),
    Paste(String),
    Resize(u16, u16),
    Tick,
    /// The loop had nothing else to do while work done in steps (the filter's path store)
    /// is unfinished: the next step.
    Continue,
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
    Upload,
    Download,
    Mark,
    ClearMarks,
    CancelTransfer,
    CancelAll,
    RetryFailed,
    ClearFinished,
    ToggleDetails,
    HalfPageUp,
    HalfPageDown,
    /// Mark everything from the last mark (or the cursor) to here.
    MarkRange,
    MarkAll,
    InvertMarks,
    /// To the transfers pane, and back to where focus was.
    FocusTransfers,
    /// Show or hide names starting with '.'.
    ToggleHidden,
    /// The selected key's display path to the clipboard (OSC 52).
    CopyPath,
    /// A fresh presigned download URL of the selected file to the clipboard (OSC 52).
    CopyUrl,
    /// Mouse capture on or off (off: the terminal's own selection works).
    ToggleMouse,
    /// The next order within folders (name, size, created) in the cursor's workspace.
    SortNext,
    /// The order in force, the other way.
    SortReverse,
    /// A path prompt that selects a file or folder of the cursor's workspace.
    Jump,
    /// Open the live filter (or edit the one in force).
    Filter,
    /// The next / previous file the filter matches, in tree order.
    NextMatch,
    PrevMatch,
    /// A preview of the selected file in the details pane, following the selection.
    TogglePreview,
    /// The selected file's preview full screen, scrollable.
    PreviewFull,
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
    /// Upload a local file or directory (recursively, layout kept) into `folder`.
    Upload {
        ws: String,
        local: String,
        folder: String,
    },
    /// Upload several local files and directories as one batch (the command line): one
    /// conflict answer covers them all.
    UploadPaths {
        ws: String,
        locals: Vec<String>,
        folder: String,
        description: Option<String>,
    },
    /// Download these files under `dest`, each at its relative path.
    Download {
        ws: String,
        dest: String,
        files: Vec<(FileEntry, String)>,
    },
    /// Complete a local path typed in a prompt (Tab).
    Complete {
        req: ReqId,
        text: String,
    },
    /// The user's answers to a batch's conflicts, one per item, in order.
    Resolve {
        batch: u64,
        choices: Vec<Choice>,
    },
    /// Take up (true) or drop (false) what the last run left unfinished.
    Resume(bool),
    /// Try again to take the transfer queue another filedeck held.
    ClaimQueue,
    CancelTransfer(TransferId),
    CancelAll,
    Retry(Vec<TransferId>),
    /// A fresh presigned download URL of `key` (`Y` copies it).
    PresignDownload {
        req: ReqId,
        ws: String,
        key: String,
    },
    /// Preview `key` (named `name`): presign its URL, fetch its first `want` bytes by
    /// `Range`, decode them. Supersedes (cancels) any preview before it.
    Preview {
        req: ReqId,
        ws: String,
        key: String,
        name: String,
        want: u64,
        cap: u64,
    },
    /// Fetch the preview `req` on to `want` bytes (at most its cap) and decode again.
    PreviewMore {
        req: ReqId,
        want: u64,
    },
    /// No preview is shown: cancel the one running.
    PreviewStop,
    /// Delete these keys, concurrently; one result per key, in order.
    Delete {
        req: ReqId,
        ws: String,
        keys: Vec<String>,
    },
    /// Match `pattern` against the paths of `chunks` (the filter's chunks from index
    /// `first` on). A new `req` supersedes all work of older ones; an empty pattern only
    /// stops it. The same `req` again adds chunks (files listed since) to its work.
    Filter {
        req: ReqId,
        pattern: String,
        chunks: Vec<crate::app::corpus::Shared>,
        first: usize,
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
    TransferAdded {
        id: TransferId,
        info: TransferInfo,
    },
    TransferState {
        id: TransferId,
        state: TransferState,
    },
    /// A file landed: the server's own entry for it, shown at once (the batch's re-list
    /// of the folder confirms it later). Comes before the upload's `Done`.
    Uploaded {
        ws: String,
        entry: FileEntry,
    },
    /// Sampled at most ~10 times a second: (id, bytes done) of running transfers, at
    /// `at_ms` on the worker's clock.
    TransferProgress {
        at_ms: u64,
        samples: Vec<(TransferId, u64)>,
    },
    /// Some files of a batch already exist at their destination: ask what to do.
    Conflicts {
        batch: u64,
        items: Vec<ConflictItem>,
    },
    /// The last run left transfers unfinished (a crash, a kill): offer to resume them.
    ResumeOffer {
        count: usize,
        bytes: u64,
    },
    /// The completed text for a `Complete` request (unchanged when nothing matched), and
    /// the names it could still be when several match.
    Completed {
        req: ReqId,
        text: String,
        candidates: Vec<String>,
    },
    /// Something the user asked could not be queued (no such path, no room…).
    TransferProblem(String),
    /// A transfer ended well but with something to know (an upload the server's answer
    /// could not verify); comes before its end state.
    TransferNote {
        id: TransferId,
        note: String,
    },
    /// Under [`OnConflict::Fail`], nothing of a batch was transferred: these exist.
    ConflictsRefused(Vec<ConflictItem>),
    /// Nothing is queued, running, being prepared or waiting for an answer.
    TransfersIdle,
    /// The answer to `PresignDownload`: the URL and its lifetime in seconds when the
    /// server said, or why not.
    Presigned {
        req: ReqId,
        result: Result<(Secret, Option<u64>), String>,
    },
    /// The answer to `ClaimQueue`: the queue is this run's now, or why not.
    QueueClaimed(Result<(), String>),
    /// Some chunks' matches for a `Filter` request (partial: more may follow).
    Filtered {
        req: ReqId,
        results: Vec<crate::app::corpus::ChunkResult>,
    },
    /// A preview's lines (every fetch of `req` sends them all again), or why there are
    /// none.
    Preview {
        req: ReqId,
        result: Result<crate::app::preview::PreviewData, String>,
    },
}

/// A presigned URL: whoever holds it can read the file, so it never reaches a log (its
/// `Debug` says only that it is there).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted URL>")
    }
}
