//! Uploads: multipart for files up to the threshold, the presigned three-step flow
//! above it. Bytes are streamed from disk in a reader thread that hashes as it reads,
//! so memory stays flat whatever the file size.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest as _, Md5};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Body, Method};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Progress;
use super::client::{Client, read_answer};
use super::error::ApiError;
use super::remote::etag_md5;
use crate::local::normalise_folder;
use crate::wire::{
    FileEntry, MAX_PUT_BYTES, UploadConfirmRequest, UploadUrlRequest, UploadUrlResponse,
};

/// What to upload and where.
#[derive(Debug, Clone)]
pub struct UploadRequest<'a> {
    pub workspace: &'a str,
    pub local: &'a Path,
    /// Destination folder: `""` (the root) or ending in `/`.
    pub folder: &'a str,
    /// Remote file name; the local file name when `None`.
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// A finished upload: the server's entry for it (completed from the file itself where the
/// answer left fields out), and why it is not known to hold the local bytes, if so.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub entry: FileEntry,
    /// "not verified by the server: …" when no size or hash could be compared.
    pub unverified: Option<String>,
}

/// What the reader thread learnt about the bytes it sent.
#[derive(Debug, Clone)]
struct Sent {
    len: u64,
    sha256: String,
}

/// The identity of a local file's content as far as cheap metadata tells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Result<Stamp, ApiError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ApiError::io(format!("cannot read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(ApiError::Local(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

pub(super) fn content_type_for(name: &str) -> String {
    crate::mime::content_type(name).to_string()
}

impl Client {
    /// Upload one local file, choosing the multipart route or the large flow by size.
    /// Retries transient failures; before repeating an attempt that may have landed
    /// (the body was fully sent) it looks for a file of that display path, size and hash
    /// created since the attempt began, and counts it as done.
    pub async fn upload(
        &self,
        req: &UploadRequest<'_>,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<Uploaded, ApiError> {
        let before = stamp(req.local)?;
        let name = match req.name {
            Some(n) => n.to_string(),
            None => req
                .local
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| {
                    ApiError::Local(format!(
                        "{} has no file name that is valid UTF-8",
                        req.local.display()
                    ))
                })?
                .to_string(),
        };
        let folder = normalise_folder(req.folder);
        if before.len > MAX_PUT_BYTES {
            return Err(ApiError::TooLarge(format!(
                "{} is {} bytes; the largest file the API accepts is 5 GiB ({MAX_PUT_BYTES} bytes)",
                req.local.display(),
                before.len
            )));
        }
        let what = format!("uploading {folder}{name}");
        let (mut entry, sent, put_md5) = if before.len > self.inner.cfg.large_threshold {
            self.upload_large(req, &folder, &name, before.len, progress, cancel)
                .await?
        } else {
            let (entry, sent) = self
                .upload_multipart(req, &folder, &name, before.len, progress, cancel)
                .await?;
            (entry, sent, None)
        };
        // An answer may be `{"key"}` alone, or lack the size or a hash: what is missing is
        // read off the file itself, by its key.
        let mut md5 = put_md5;
        if entry.size.is_none() || (entry.sha256.is_none() && md5.is_none()) {
            match self.stat(req.workspace, &entry.key).await {
                Ok(Some(found)) => {
                    entry.size = entry.size.or(found.size);
                    md5 = md5.or(found.md5);
                }
                Ok(None) => {
                    return Err(ApiError::Integrity(format!(
                        "{what}: the server answered with key {}, which it does not hold",
                        entry.key
                    )));
                }
                Err(e) => tracing::warn!(what, error = %e, "cannot look the upload up"),
            }
        }
        let after = stamp(req.local)?;
        let checked = if after != before {
            Err(Bad::Mismatch(format!(
                "{} changed while it was being uploaded",
                req.local.display()
            )))
        } else {
            verify_upload(req.local, &entry, &sent, md5.as_deref(), &what).await?
        };
        match checked {
            Ok(unverified) => Ok(Uploaded { entry, unverified }),
            Err(Bad::Mismatch(why)) => Err(self
                .remove_bad_upload(req.workspace, &entry, md5.as_deref(), why)
                .await),
            Err(Bad::EtagOnly(why)) => Err(ApiError::Integrity(format!(
                "{why}; judged by the ETag alone (it may not be an MD5), so the server's \
                 copy ({}) was left in place: compare it before relying on it",
                entry.key
            ))),
        }
    }

    async fn upload_multipart(
        &self,
        req: &UploadRequest<'_>,
        folder: &str,
        name: &str,
        size: u64,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<(FileEntry, Sent), ApiError> {
        let retry = &self.inner.cfg.retry;
        let what = format!("uploading {folder}{name}");
        let began = SystemTime::now();
        let mut attempt = 0;
        loop {
            progress.set(0);
            let (body, reader) = self.file_body(req.local, size, progress);
            let part = reqwest::multipart::Part::stream_with_length(body, size)
                .file_name(name.to_string())
                .mime_str(&content_type_for(name))
                .map_err(ApiError::from_transport)?;
            let mut form =
                reqwest::multipart::Form::new().text("workspace_id", req.workspace.to_string());
            if !folder.is_empty() {
                form = form.text("path", folder.to_string());
            }
            if let Some(d) = req.description {
                form = form.text("description", d.to_string());
            }
            let form = form.part("file", part);
            let request = self.api(Method::POST, "v1/files/upload")?.multipart(form);
            // Once the whole body is out, the server may store the file whether or not its
            // answer is read: a cancel no longer aborts the request, so the row ends as
            // what happened (done), never "cancelled" beside a file that landed.
            let result = self
                .watch(progress, Some(size), cancel, async {
                    let resp = Self::send(request, &what).await?;
                    read_entry(resp, folder, name, &what).await
                })
                .await;
            let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
            match result {
                Ok(entry) => return Ok((entry, sent?)),
                Err(e) if e.is_transient() && attempt + 1 < retry.max_attempts => {
                    if progress.get() >= size
                        && let Ok(sent) = &sent
                        && let Some(entry) = self
                            .landed(req.workspace, folder, name, req.local, sent, began)
                            .await
                    {
                        tracing::info!(what, "upload had landed before the connection failed");
                        return Ok((entry, sent.clone()));
                    }
                    let pause = retry.delay(attempt, &e);
                    tracing::warn!(what, attempt, ?pause, error = %e, "retrying upload");
                    sleep_or_cancel(pause, cancel).await?;
                    attempt += 1;
                    progress.set_retry(attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// "Did it land?": a file listed at `folder + name`, not created before `began` (as far
    /// as its `created_at` tells, with a minute's leeway for the clocks), of the size sent
    /// and with the same SHA-256 (or the MD5 its bytes' `ETag` stands for). Where keys are
    /// opaque a blind repeat would store a second copy, so a candidate whose hash cannot be
    /// read is taken as landed too (the caller reports it unverified), but only when its
    /// `created_at` says it is new: an older file of that size must never pass for it.
    async fn landed(
        &self,
        ws: &str,
        folder: &str,
        name: &str,
        local: &Path,
        sent: &Sent,
        began: SystemTime,
    ) -> Option<FileEntry> {
        let display = format!("{folder}{name}");
        let since = time::OffsetDateTime::from(began) - Duration::from_secs(60);
        let lookup = self.lookup(ws, &display).await.ok()?;
        let mut local_md5: Option<String> = None;
        let mut unknown = None;
        for found in lookup.matches {
            // `None`: the server does not say when it was made.
            let recent = found
                .created_at
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| t >= since);
            if recent == Some(false) || found.size.is_some_and(|s| s != sent.len) {
                continue;
            }
            if let Some(h) = &found.sha256 {
                if h.eq_ignore_ascii_case(&sent.sha256) {
                    return Some(found);
                }
                continue;
            }
            let remote = self.stat(ws, &found.key).await.ok().flatten();
            if remote
                .as_ref()
                .and_then(|r| r.size)
                .is_some_and(|s| s != sent.len)
            {
                continue;
            }
            match remote.and_then(|r| r.md5) {
                Some(md5) => {
                    if local_md5.is_none() {
                        let path = local.to_path_buf();
                        let len = sent.len;
                        local_md5 =
                            tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
                                .await
                                .ok()?
                                .ok();
                    }
                    if local_md5
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(&md5))
                    {
                        return Some(found);
                    }
                }
                None if recent == Some(true) => unknown = unknown.or(Some(found)),
                None => {}
            }
        }
        unknown
    }

    async fn upload_large(
        &self,
        req: &UploadRequest<'_>,
        folder: &str,
        name: &str,
        size: u64,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<(FileEntry, Sent, Option<String>), ApiError> {
        let retry = &self.inner.cfg.retry;
        let what = format!("uploading {folder}{name}");
        let content_type = content_type_for(name);
        let ask = UploadUrlRequest {
            filename: name.to_string(),
            workspace_id: req.workspace.to_string(),
            content_type: content_type.clone(),
            size,
            path: (!folder.is_empty()).then(|| folder.to_string()),
        };
        let get_url = || async {
            retry
                .run(&what, |_| async {
                    let r = self
                        .api(Method::POST, "v1/files/upload-url")?
                        .json(&ask)
                        .timeout(self.inner.cfg.request_timeout);
                    let resp = Self::send(r, &what).await?;
                    let body = read_answer(resp, &what).await?;
                    serde_json::from_slice::<UploadUrlResponse>(&body).map_err(|e| {
                        ApiError::Protocol(format!(
                            "{what}: upload-url answer not understood ({e})"
                        ))
                    })
                })
                .await
        };
        let mut info = get_url().await?;
        let mut attempt = 0;
        let mut refreshes = 0;
        let (md5, sent) = loop {
            progress.set(0);
            let url = self.absolute(&info.upload_url)?;
            let (body, reader) = self.file_body(req.local, size, progress);
            // The presigned PUT is signed over type and length, and S3 refuses chunked
            // bodies: send an explicit Content-Length and never the API key.
            let request = self
                .inner
                .http
                .request(Method::PUT, url)
                .header(CONTENT_TYPE, &content_type)
                .header(CONTENT_LENGTH, size)
                .body(body);
            // Nothing is listed before the confirm: the PUT can be abandoned at any point.
            let result = self
                .watch(progress, None, cancel, async {
                    let resp = Self::send(request, &what).await?;
                    Ok(etag_md5(resp.headers()))
                })
                .await;
            let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
            match result {
                Ok(md5) => break (md5, sent?),
                Err(ApiError::UrlExpired) if refreshes < 3 => {
                    refreshes += 1;
                    info = get_url().await?;
                }
                Err(e) if e.is_transient() && attempt + 1 < retry.max_attempts => {
                    let pause = retry.delay(attempt, &e);
                    tracing::warn!(what, attempt, ?pause, error = %e, "retrying PUT");
                    sleep_or_cancel(pause, cancel).await?;
                    attempt += 1;
                    progress.set_retry(attempt);
                }
                Err(e) => return Err(e),
            }
        };
        // The last moment a cancel takes the upload back whole: unconfirmed, the bytes
        // are no file anyone lists. Once the confirm is asked it is seen through.
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        let confirm = UploadConfirmRequest {
            file_key: info.file_key.clone(),
            workspace_id: req.workspace.to_string(),
            filename: name.to_string(),
            size,
        };
        // Confirming twice answers the same object, so the confirm is always retried.
        let entry = retry
            .run(&what, |_| async {
                let r = self
                    .api(Method::POST, "v1/files/upload-confirm")?
                    .json(&confirm)
                    .timeout(self.inner.cfg.request_timeout);
                let resp = Self::send(r, &what).await?;
                read_entry(resp, folder, name, &what).await
            })
            .await?;
        // The confirm names the file it made: anything but the key the upload was given is
        // not this upload's, and nothing is ever checked or removed under it.
        if entry.key != info.file_key {
            return Err(ApiError::Protocol(format!(
                "{what}: the confirm answered key {}, not {}, the key of this upload; \
                 nothing was removed",
                entry.key, info.file_key
            )));
        }
        Ok((entry, sent, md5))
    }

    /// The server kept a copy that is not the local file (it changed while being read, or
    /// the bytes differ): a failed upload must leave nothing listed. The error says
    /// whether the copy is gone.
    async fn remove_bad_upload(
        &self,
        workspace: &str,
        entry: &FileEntry,
        md5: Option<&str>,
        why: String,
    ) -> ApiError {
        // Only our own copy: if the key now holds something else (another upload got
        // there since, where keys are paths), it is not ours to delete.
        let still_ours = match self.stat(workspace, &entry.key).await {
            Ok(Some(now)) => {
                let same_size =
                    entry.size.is_none() || now.size.is_none() || now.size == entry.size;
                let same_md5 = match (md5, now.md5.as_deref()) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => true,
                };
                same_size && same_md5
            }
            Ok(None) => return ApiError::Integrity(why),
            Err(_) => true,
        };
        if !still_ours {
            return ApiError::Integrity(format!(
                "{why}; the server now holds another upload of that name, left as it is"
            ));
        }
        match self.delete(workspace, &entry.key).await {
            Ok(()) => ApiError::Integrity(format!("{why}; the server's copy was removed")),
            Err(d) => {
                tracing::warn!(key = %entry.key, error = %d, "cannot remove a bad upload");
                ApiError::Integrity(format!(
                    "{why}; the server's copy could not be removed ({d}): delete it"
                ))
            }
        }
    }

    /// Race a transfer against cancellation and a stall: no byte moving for
    /// `stall_timeout` while the body is unsent, or no answer that long after it was.
    /// With `commits_at`, a cancel aborts only while fewer bytes than that are out: after,
    /// the request may take effect whatever is done to it, and is seen through.
    pub(super) async fn watch<T>(
        &self,
        progress: &Progress,
        commits_at: Option<u64>,
        cancel: &CancellationToken,
        fut: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let stall = self.inner.cfg.stall_timeout;
        let watchdog = async {
            let tick = (stall / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
            let mut last = progress.get();
            let mut since = Instant::now();
            loop {
                tokio::time::sleep(tick).await;
                let now = progress.get();
                if now != last {
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() >= stall {
                    return ApiError::Stalled(stall);
                }
            }
        };
        let cancelled = async {
            cancel.cancelled().await;
            if commits_at.is_some_and(|at| progress.get() >= at) {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            r = fut => r,
            e = watchdog => Err(e),
            _ = cancelled => Err(ApiError::Cancelled),
        }
    }

    /// A request body streaming `size` bytes of `path`, read and hashed in a blocking
    /// thread; the [`Reader`] yields what was sent.
    fn file_body(&self, path: &Path, size: u64, progress: &Progress) -> (Body, Reader) {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
        let chunk = self.inner.cfg.chunk_size;
        let path = path.to_path_buf();
        let stop = CancellationToken::new();
        let stop_reader = stop.clone();
        let runtime = tokio::runtime::Handle::current();
        let join = tokio::task::spawn_blocking(move || {
            read_and_hash(&path, size, chunk, &|item| {
                // A send that can be abandoned: a stalled connection may hold the body
                // (and so the receiver) for as long as TCP cares to keep it.
                runtime.block_on(async {
                    tokio::select! {
                        r = tx.send(item) => r.is_ok(),
                        _ = stop_reader.cancelled() => false,
                    }
                })
            })
        });
        let progress = progress.clone();
        progress.set_verifying(false);
        let stream = tokio_stream_from(rx).map(move |item| {
            if let Ok(b) = &item {
                progress.add(b.len() as u64);
                // Every byte is out: what is left is the server's answer and the check of
                // its size and hash against ours.
                if progress.get() >= size {
                    progress.set_verifying(true);
                }
            }
            item
        });
        (Body::wrap_stream(stream), Reader { join, stop })
    }
}

/// The reader thread of one upload attempt.
struct Reader {
    join: tokio::task::JoinHandle<Result<Sent, ApiError>>,
    stop: CancellationToken,
}

/// A local failure (unreadable, changed while read) is the real reason a request broke:
/// it is returned rather than retried as a "network error".
fn local_failure_first<T>(
    sent: Result<Sent, ApiError>,
    result: &Result<T, ApiError>,
) -> Result<Result<Sent, ApiError>, ApiError> {
    match sent {
        Err(local @ (ApiError::Io { .. } | ApiError::Integrity(_))) if result.is_err() => {
            Err(local)
        }
        other => Ok(other),
    }
}

impl Reader {
    /// What was sent; `abandon` (the attempt failed) stops a reader still waiting to send.
    async fn finish(self, abandon: bool) -> Result<Sent, ApiError> {
        if abandon {
            self.stop.cancel();
        }
        self.join
            .await
            .map_err(|e| ApiError::Protocol(format!("reader thread failed: {e}")))?
    }
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn read_and_hash(
    path: &Path,
    size: u64,
    chunk: usize,
    send: &dyn Fn(Result<Bytes, std::io::Error>) -> bool,
) -> Result<Sent, ApiError> {
    use std::io::Read;
    let fail = |e: std::io::Error| ApiError::io(format!("cannot read {}", path.display()), e);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = send(Err(std::io::Error::new(e.kind(), e.to_string())));
            return Err(fail(e));
        }
    };
    let mut sha = Sha256::new();
    let mut done: u64 = 0;
    while done < size {
        let want = chunk.min((size - done) as usize);
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = send(Err(std::io::Error::new(e.kind(), e.to_string())));
                    return Err(fail(e));
                }
            }
        }
        if filled == 0 {
            let msg = format!("{} shrank while it was being uploaded", path.display());
            let _ = send(Err(std::io::Error::other(msg.clone())));
            return Err(ApiError::Integrity(msg));
        }
        buf.truncate(filled);
        let bytes = Bytes::from(buf);
        sha.update(&bytes);
        done += filled as u64;
        if !send(Ok(bytes)) {
            // The request was dropped (failure or cancel); nothing more to send.
            break;
        }
    }
    Ok(Sent {
        len: done,
        sha256: hex::encode(sha.finalize()),
    })
}

/// The file object of an upload or confirm answer. An answer that names only the key
/// (`{"key"}`, as an opaque-key service confirms) gets the display path that was asked for,
/// never one made up from the key.
async fn read_entry(
    resp: reqwest::Response,
    folder: &str,
    name: &str,
    what: &str,
) -> Result<FileEntry, ApiError> {
    let body = read_answer(resp, what).await?;
    let mut entry = serde_json::from_slice::<FileEntry>(&body)
        .map_err(|e| ApiError::Protocol(format!("{what}: file object not understood ({e})")))?;
    if entry.name.is_empty() {
        entry.name = name.to_string();
        entry.path = folder.to_string();
    }
    Ok(entry.normalise())
}

/// Why the server's copy is not the local file.
enum Bad {
    /// Its size or SHA-256 differs, or the local file changed: the copy is wrong.
    Mismatch(String),
    /// Only an `ETag` read as an MD5 differs: it may not be an MD5 at all.
    EtagOnly(String),
}

/// Compare what the server says it stored with what was sent: the size, then the
/// SHA-256 when the server reports one, else the MD5 its `ETag` stands for (the local MD5
/// is computed only then, so servers that report SHA-256 cost no second hash). `Ok(Ok(Some
/// why))`: nothing differs, but nothing could be compared either.
async fn verify_upload(
    local: &Path,
    entry: &FileEntry,
    sent: &Sent,
    md5: Option<&str>,
    what: &str,
) -> Result<Result<Option<String>, Bad>, ApiError> {
    if let Some(size) = entry.size
        && size != sent.len
    {
        return Ok(Err(Bad::Mismatch(format!(
            "{what}: the server stored {size} bytes, {} were sent",
            sent.len
        ))));
    }
    if let Some(h) = &entry.sha256 {
        if !h.eq_ignore_ascii_case(&sent.sha256) {
            return Ok(Err(Bad::Mismatch(format!(
                "{what}: the server's SHA-256 differs from the local file's"
            ))));
        }
        return Ok(Ok(None));
    }
    let Some(md5) = md5 else {
        let why = match entry.size {
            Some(_) => "the server reports no hash of what it stored (only its size was compared)",
            None => "the server reports neither the size nor a hash of what it stored",
        };
        return Ok(Ok(Some(format!("not verified by the server: {why}"))));
    };
    let path = local.to_path_buf();
    let len = sent.len;
    let local_md5 = tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
        .await
        .map_err(|e| ApiError::Protocol(format!("hashing thread failed: {e}")))??;
    if !md5.eq_ignore_ascii_case(&local_md5) {
        return Ok(Err(Bad::EtagOnly(format!(
            "{what}: the server's ETag differs from the local file's MD5"
        ))));
    }
    Ok(Ok(None))
}

/// The hex digest of the first `len` bytes of a local file.
pub(crate) fn hash_file<D: md5::Digest>(path: &Path, len: u64) -> Result<String, ApiError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| ApiError::io(format!("cannot read {}", path.display()), e))?;
    let mut m = D::new();
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => m.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ApiError::io(format!("cannot read {}", path.display()), e)),
        }
    }
    Ok(hex::encode(m.finalize()))
}

pub(super) async fn sleep_or_cancel(
    pause: Duration,
    cancel: &CancellationToken,
) -> Result<(), ApiError> {
    tokio::select! {
        _ = tokio::time::sleep(pause) => Ok(()),
        _ = cancel.cancelled() => Err(ApiError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("x.VCF"), "text/x-vcf");
    }
}
