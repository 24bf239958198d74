//! One transfer as messages carry it: its id, direction, what and where, and where it stands.

/// A transfer's id, given by the worker when it queues it.
pub type TransferId = u64;

/// Where a transfer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    Queued,
    Running,
    /// Retry `n` (of at most `of`) is under way.
    Retrying {
        n: u32,
        of: u32,
    },
    Verifying,
    Done,
    Failed(String),
    Cancelled,
    /// Not transferred, on purpose (a conflict resolved by skipping).
    Skipped(String),
}

impl TransferState {
    /// Queued or under way; the rest are endings.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            TransferState::Queued
                | TransferState::Running
                | TransferState::Retrying { .. }
                | TransferState::Verifying
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// What the worker tells about a transfer when it queues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferInfo {
    pub dir: Direction,
    pub ws: String,
    /// Remote `path + name`.
    pub remote: String,
    /// Local path, as shown.
    pub local: String,
    /// `None`: the server did not say.
    pub size: Option<u64>,
}

impl TransferInfo {
    /// What a row names: the remote file, and for a download saved under another name
    /// ("keep both": `a (1).vcf`) the name it was written as; the local path when there
    /// is no remote name (an upload that never found its file).
    pub fn label(&self) -> String {
        if self.remote.is_empty() {
            return self.local.clone();
        }
        if self.dir == Direction::Down {
            let remote_name = self.remote.rsplit('/').next().unwrap_or(&self.remote);
            let local_name = std::path::Path::new(&self.local)
                .file_name()
                .map(|n| n.to_string_lossy());
            if let Some(local_name) = local_name
                && local_name != remote_name
            {
                return format!("{} → {local_name}", self.remote);
            }
        }
        self.remote.clone()
    }
}
