//! Downloads: into a partial file beside the target, resumable with `Range` + `If-Range`,
//! verified (SHA-256 from the listing, else a plain-MD5 `ETag`, and the length always),
//! fsynced, and only then renamed into place.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, RANGE};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Progress;
use super::body::write_and_hash;
use super::client::{Client, check};
use super::error::ApiError;
use super::localpath::check_inside;
use super::partial::{PartialMeta, discard_partial, finish, resume_point, truncate, write_meta};
use super::remote::parse_content_range;
use super::retry::{Attempts, Retries, Step};
use super::verify::{HashKind, etag_md5, verify_download};
use crate::local::partial_paths;
use crate::wire::FileEntry;

/// How a download went.
#[derive(Debug, Clone)]
pub struct DownloadOutcome {
    pub path: PathBuf,
    /// Body bytes received over the network by the attempts that succeeded or failed.
    pub bytes_received: u64,
    /// Bytes already on disk that the last attempt resumed from.
    pub resumed_from: u64,
}

/// The bytes one attempt left in the partial file, and what they are to be checked against.
struct Written {
    len: u64,
    digest: Option<String>,
    /// The MD5 the answer's `ETag` stands for, when it stands for one.
    md5: Option<String>,
    /// The object's length as this answer gave it.
    total: Option<u64>,
    resumed_from: u64,
}

impl Written {
    fn verify(&self, entry: &FileEntry, what: &str) -> Result<(), ApiError> {
        let (digest, md5) = (self.digest.as_deref(), self.md5.as_deref());
        verify_download(entry, self.len, self.total, digest, md5, what)
    }
}

enum Attempt {
    Done(Written),
    /// The server answered 416: the partial is not a prefix we can extend.
    Restart,
}

impl Client {
    /// Download `entry` to `target` (whose directory is `root` or below it).
    /// An interrupted download leaves a partial file that the next call resumes.
    pub async fn download(
        &self,
        workspace: &str,
        entry: &FileEntry,
        root: &Path,
        target: &Path,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<DownloadOutcome, ApiError> {
        // Refuse a symlink on the way out of `root` before creating anything under it.
        check_inside(root, target)?;
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| ApiError::io(format!("cannot create {}", parent.display()), e))?;
        }
        check_inside(root, target)?;
        let (part, meta) = partial_paths(target);
        let what = format!("downloading {}", entry.display_key());
        let url = self.download_url(workspace, &entry.key).await?;
        let mut fetch = Fetch {
            client: self,
            workspace,
            target,
            part,
            meta,
            progress,
            cancel,
            what,
            url,
            // What the bytes are checked against: the listing's entry, or a fresher one when
            // the file was replaced on the server after it was listed (a resume days later).
            entry: entry.clone(),
            looked_again: false,
            refreshes: 0,
            restarted: false,
            received: 0,
        };
        let retry = &self.inner.cfg.retry;
        let what = fetch.what.clone();
        retry
            .run_attempts(&what, progress, cancel, &mut fetch)
            .await
    }

    /// The file's entry as the server lists it now, when it differs from `entry`: found by
    /// its key (never by its display path, which may name another file).
    async fn fresh_entry(&self, workspace: &str, entry: &FileEntry) -> Option<FileEntry> {
        let now = self
            .entry_by_key(workspace, &entry.key, &entry.display_key())
            .await
            .ok()??;
        let changed =
            now.size != entry.size || now.sha256 != entry.sha256 || now.etag != entry.etag;
        changed.then_some(now)
    }
}

/// One download as the retry loop repeats it: where it goes, and what the attempts so
/// far have learnt.
struct Fetch<'a> {
    client: &'a Client,
    workspace: &'a str,
    target: &'a Path,
    part: PathBuf,
    meta: PathBuf,
    progress: &'a Progress,
    cancel: &'a CancellationToken,
    what: String,
    url: Url,
    entry: FileEntry,
    looked_again: bool,
    refreshes: u32,
    restarted: bool,
    /// Body bytes received by every attempt so far.
    received: u64,
}

impl Attempts for Fetch<'_> {
    type Output = DownloadOutcome;

    async fn attempt(&mut self, _: &Retries<'_>) -> Result<Step<DownloadOutcome>, ApiError> {
        let (client, workspace, target) = (self.client, self.workspace, self.target);
        let (progress, cancel) = (self.progress, self.cancel);
        // Owned: `transfer` borrows the whole of `self`.
        let what = &self.what.clone();
        // A restart after a failed check is a download again, not a verification.
        progress.set_verifying(false);
        let result = self.transfer(what).await;
        let done = match result {
            Ok(Attempt::Done(done)) => done,
            Ok(Attempt::Restart) => {
                discard_partial(target).await;
                if self.restarted {
                    return Err(ApiError::Protocol(format!(
                        "{what}: the server refused every range"
                    )));
                }
                self.restarted = true;
                return Ok(Step::Again);
            }
            Err(ApiError::UrlExpired) if self.refreshes < 3 => {
                self.refreshes += 1;
                tracing::info!(what, "presigned URL expired; asking for a fresh one");
                self.url = client.download_url(workspace, &self.entry.key).await?;
                return Ok(Step::Again);
            }
            Err(e) => return Ok(Step::Failed(e)),
        };
        progress.set_verifying(true);
        let check = |entry: &FileEntry| done.verify(entry, what);
        let mut checked = check(&self.entry);
        if checked.is_err()
            && !self.looked_again
            && let Some(fresh) = client.fresh_entry(workspace, &self.entry).await
        {
            self.looked_again = true;
            tracing::info!(what, "the file changed on the server since it was listed");
            self.entry = fresh;
            checked = check(&self.entry);
        }
        match checked {
            // The rename is the point of no return: before it, a cancel leaves
            // the target as it was (the user's old file, or nothing).
            Ok(()) if cancel.is_cancelled() => {
                discard_partial(target).await;
                Err(ApiError::Cancelled)
            }
            Ok(()) => {
                finish(&self.part, &self.meta, target).await?;
                Ok(Step::Done(DownloadOutcome {
                    path: target.to_path_buf(),
                    bytes_received: self.received,
                    resumed_from: done.resumed_from,
                }))
            }
            Err(e) => {
                discard_partial(target).await;
                // A resumed file that fails verification gets one clean start.
                if done.resumed_from > 0 && !self.restarted {
                    self.restarted = true;
                    tracing::warn!(what, "resumed download failed verification; starting over");
                    return Ok(Step::Again);
                }
                Err(e)
            }
        }
    }
}

impl Fetch<'_> {
    /// One GET of the file into its partial file, resumed where the last left off.
    async fn transfer(&mut self, what: &str) -> Result<Attempt, ApiError> {
        let (client, url, entry) = (self.client, &self.url, &self.entry);
        let (part, meta) = (self.part.as_path(), self.meta.as_path());
        let (progress, cancel) = (self.progress, self.cancel);
        let received = &mut self.received;
        let (have, saved_etag) = resume_point(part, meta, &entry.key).await;
        let mut req = client.inner.http.get(url.clone());
        if let (true, Some(etag)) = (have > 0, &saved_etag) {
            req = req
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, etag);
        }
        let stall = client.inner.cfg.stall_timeout;
        let resp = tokio::select! {
            r = tokio::time::timeout(stall, req.send()) => match r {
                Ok(r) => r.map_err(ApiError::from_transport)?,
                Err(_) => return Err(ApiError::Stalled(stall)),
            },
            _ = cancel.cancelled() => return Err(ApiError::Cancelled),
        };
        if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(Attempt::Restart);
        }
        let resp = check(resp, what).await?;
        let etag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let md5 = etag_md5(resp.headers());
        let (start, total) = if resp.status() == StatusCode::PARTIAL_CONTENT {
            let cr = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            // The bytes must continue the same version: a store that ignored If-Range
            // would otherwise have us splice two versions.
            let same_version = etag.is_some() && etag == saved_etag;
            match cr {
                Some((Some(s), total)) if s == have && same_version => (have, total),
                _ => return Ok(Attempt::Restart),
            }
        } else {
            (0, resp.content_length())
        };
        // Drop bytes of another version before labelling the file with this one, so a
        // crash in between cannot leave old bytes under the new ETag.
        if start < have {
            truncate(part, start).await?;
        }
        // Remember what these bytes belong to, so a later resume can ask for the same
        // version (If-Range) and never splice two versions of a file.
        match &etag {
            Some(e) => {
                let m = PartialMeta {
                    etag: e.clone(),
                    key: entry.key.clone(),
                    size: entry.size,
                };
                write_meta(meta, &m).await?;
            }
            None => {
                let _ = tokio::fs::remove_file(meta).await;
            }
        }
        let kind = if entry.sha256.is_some() {
            HashKind::Sha256
        } else if md5.is_some() {
            HashKind::Md5
        } else {
            HashKind::None
        };
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        let part_owned = part.to_path_buf();
        let prog = progress.clone();
        let unbounded = total.is_none() && entry.size.is_none();
        let writer = tokio::task::spawn_blocking(move || {
            write_and_hash(&part_owned, start, kind, rx, &prog, unbounded)
        });
        let mut stream = resp.bytes_stream();
        // No more than the file holds is ever written: a body that runs past it (a server
        // that never stops) would otherwise fill the disk.
        let limit = total.or(entry.size);
        let mut at = start;
        let streamed: Result<(), ApiError> = async {
            loop {
                let next = tokio::select! {
                    n = tokio::time::timeout(stall, stream.next()) => match n {
                        Ok(n) => n,
                        Err(_) => return Err(ApiError::Stalled(stall)),
                    },
                    _ = cancel.cancelled() => return Err(ApiError::Cancelled),
                };
                match next {
                    None => return Ok(()),
                    Some(Ok(chunk)) => {
                        if let Some(l) = &self.client.inner.limiter {
                            tokio::select! {
                                () = l.take(chunk.len() as u64) => {}
                                _ = cancel.cancelled() => return Err(ApiError::Cancelled),
                            }
                        }
                        *received += chunk.len() as u64;
                        at = at.saturating_add(chunk.len() as u64);
                        if let Some(limit) = limit
                            && at > limit
                        {
                            return Err(ApiError::Integrity(format!(
                                "{what}: the server sent more than the {limit} bytes the file has"
                            )));
                        }
                        if tx.send(chunk).await.is_err() {
                            return Ok(()); // the writer failed; its error is reported below
                        }
                    }
                    Some(Err(e)) => return Err(ApiError::from_transport(e)),
                }
            }
        }
        .await;
        drop(tx);
        let written = writer
            .await
            .map_err(|e| ApiError::Protocol(format!("writer thread failed: {e}")))?;
        let (len, digest) = written?;
        streamed?;
        Ok(Attempt::Done(Written {
            len,
            digest,
            md5,
            total,
            resumed_from: start,
        }))
    }
}
