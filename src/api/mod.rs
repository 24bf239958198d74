//! The Files API client: every route of `shared/spec/files-api.md`, tolerant of the
//! hosted service's other readings, with retries, resumable verified downloads and
//! streamed uploads.

mod body;
mod client;
mod download;
pub mod error;
mod localpath;
mod partial;
mod range;
mod redirect;
mod remote;
pub mod retry;
mod throttle;
mod upload;
mod verify;

pub use crate::local::{is_partial_name, partial_paths};
pub use crate::wire::{FileEntry, Workspace};
pub(crate) use client::parse_list;
pub use client::{ApiKey, Client, ClientConfig, ListPage, Listing};
pub use download::DownloadOutcome;
pub use error::ApiError;
pub use localpath::{local_name, safe_join};
pub use partial::{PartialMeta, discard_partial};
pub use range::RangeBytes;
pub use remote::{Lookup, RemoteObject};
pub use retry::RetryPolicy;
pub use upload::{UploadRequest, Uploaded};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// How far one transfer has got, shared as plain data: the transfer writes it, whoever
/// displays progress samples it at its own pace (so no event per chunk).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<ProgressInner>);

#[derive(Debug, Default)]
struct ProgressInner {
    bytes: AtomicU64,
    /// 0 on the first attempt, n on the n-th retry.
    retry: AtomicU32,
    verifying: AtomicBool,
    /// Waiting for the rate cap's tokens: the stall watch's clock stands still meanwhile.
    throttled: AtomicBool,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }
    pub fn set(&self, v: u64) {
        self.0.bytes.store(v, Ordering::Relaxed);
    }
    pub fn add(&self, v: u64) {
        self.0.bytes.fetch_add(v, Ordering::Relaxed);
    }
    /// Whether both handles count the same transfer.
    pub fn same(&self, other: &Progress) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    pub fn retry(&self) -> u32 {
        self.0.retry.load(Ordering::Relaxed)
    }
    pub(crate) fn set_retry(&self, n: u32) {
        self.0.retry.store(n, Ordering::Relaxed);
    }
    pub fn verifying(&self) -> bool {
        self.0.verifying.load(Ordering::Relaxed)
    }
    pub(crate) fn set_verifying(&self, v: bool) {
        self.0.verifying.store(v, Ordering::Relaxed);
    }
    pub(crate) fn throttled(&self) -> bool {
        self.0.throttled.load(Ordering::Relaxed)
    }
    pub(crate) fn set_throttled(&self, v: bool) {
        self.0.throttled.store(v, Ordering::Relaxed);
    }
}
