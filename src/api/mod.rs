//! The Files API client: every route of `shared/spec/files-api.md`, tolerant of the
//! hosted service's other readings, with retries, resumable verified downloads and
//! streamed uploads.

mod client;
mod download;
pub mod error;
mod localpath;
pub mod retry;
pub mod types;
mod upload;

pub use client::{ApiKey, Client, ClientConfig, ListPage, Listing};
pub use download::{DownloadOutcome, PartialMeta, discard_partial, partial_paths};
pub use error::ApiError;
pub use localpath::safe_join;
pub use retry::RetryPolicy;
pub use types::{FileEntry, Workspace};
pub use upload::UploadRequest;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes done by one transfer, shared as plain data: the transfer adds to it, whoever
/// displays progress samples it at its own pace (so no event per chunk).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Whether both handles count the same transfer.
    pub fn same(&self, other: &Progress) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    pub fn add(&self, v: u64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
}
