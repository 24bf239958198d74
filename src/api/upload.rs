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
use super::client::Client;
use super::error::ApiError;
use super::types::{
    FileEntry, MAX_PUT_BYTES, UploadConfirmRequest, UploadUrlRequest, UploadUrlResponse,
};
use crate::local::normalise_folder;

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
    /// (the body was fully sent) it checks the listing and counts a same-size,
    /// same-hash file as done.
    pub async fn upload(
        &self,
        req: &UploadRequest<'_>,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<FileEntry, ApiError> {
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
        let entry = if before.len > self.inner.cfg.large_threshold {
            self.upload_large(req, &folder, &name, before.len, progress, cancel)
                .await?
        } else {
            self.upload_multipart(req, &folder, &name, before.len, progress, cancel)
                .await?
        };
        let after = stamp(req.local)?;
        if after != before {
            let e = ApiError::Integrity(format!(
                "{} changed while it was being uploaded",
                req.local.display()
            ));
            return Err(self.remove_bad_upload(req.workspace, &entry, e).await);
        }
        Ok(entry)
    }

    async fn upload_multipart(
        &self,
        req: &UploadRequest<'_>,
        folder: &str,
        name: &str,
        size: u64,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<FileEntry, ApiError> {
        let retry = &self.inner.cfg.retry;
        let what = format!("uploading {folder}{name}");
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
            let result = self
                .watch(progress, cancel, async {
                    let resp = Self::send(request, &what).await?;
                    read_entry(resp, &what).await
                })
                .await;
            let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
            match result {
                Ok(entry) => {
                    let checked = match sent {
                        Ok(sent) => verify_upload(req.local, &entry, &sent, None, &what).await,
                        Err(e) => Err(e),
                    };
                    return match checked {
                        Ok(()) => Ok(entry),
                        Err(e) => Err(self.remove_bad_upload(req.workspace, &entry, e).await),
                    };
                }
                Err(e) if e.is_transient() && attempt + 1 < retry.max_attempts => {
                    if progress.get() >= size
                        && let Ok(sent) = &sent
                        && let Some(entry) = self
                            .landed(req.workspace, folder, name, req.local, sent)
                            .await
                    {
                        tracing::info!(what, "upload had landed before the connection failed");
                        return Ok(entry);
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

    /// "Did it land?": the file is listed at `folder + name` with the same size (and hash).
    /// Only a hash can tell this upload from an older file of the same size: without
    /// one (no SHA-256 and no plain-MD5 ETag listed) it did not land, and the upload is
    /// simply repeated (repeating it is safe).
    async fn landed(
        &self,
        ws: &str,
        folder: &str,
        name: &str,
        local: &Path,
        sent: &Sent,
    ) -> Option<FileEntry> {
        let key = format!("{folder}{name}");
        let found = self.find(ws, &key).await.ok()??;
        if found.size != sent.len {
            return None;
        }
        if let Some(h) = &found.sha256 {
            return h.eq_ignore_ascii_case(&sent.sha256).then_some(found);
        }
        let etag = found.etag.as_deref().and_then(plain_md5)?.to_string();
        let path = local.to_path_buf();
        let len = sent.len;
        let md5 = tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
            .await
            .ok()?
            .ok()?;
        etag.eq_ignore_ascii_case(&md5).then_some(found)
    }

    async fn upload_large(
        &self,
        req: &UploadRequest<'_>,
        folder: &str,
        name: &str,
        size: u64,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<FileEntry, ApiError> {
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
                    let body = resp.bytes().await.map_err(ApiError::from_transport)?;
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
        let (etag, sent) = loop {
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
            let result = self
                .watch(progress, cancel, async {
                    let resp = Self::send(request, &what).await?;
                    let etag = resp
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    Ok(etag)
                })
                .await;
            let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
            match result {
                Ok(etag) => break (etag, sent?),
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
                read_entry(resp, &what).await
            })
            .await?;
        match verify_upload(req.local, &entry, &sent, etag.as_deref(), &what).await {
            Ok(()) => Ok(entry),
            Err(e) => Err(self.remove_bad_upload(req.workspace, &entry, e).await),
        }
    }

    /// The server kept a copy that is not the local file (it changed while being read, or
    /// the bytes differ): a failed upload must leave nothing listed. The error says
    /// whether the copy is gone.
    async fn remove_bad_upload(&self, workspace: &str, entry: &FileEntry, e: ApiError) -> ApiError {
        let ApiError::Integrity(why) = e else {
            return e;
        };
        // Only our own copy: if the key now holds something else (another upload got
        // there since), it is not ours to delete.
        let still_ours = match self.find(workspace, &entry.display_key()).await {
            Ok(Some(now)) => {
                now.size == entry.size && now.sha256 == entry.sha256 && now.etag == entry.etag
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
    pub(super) async fn watch<T>(
        &self,
        progress: &Progress,
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
        tokio::select! {
            r = fut => r,
            e = watchdog => Err(e),
            _ = cancel.cancelled() => Err(ApiError::Cancelled),
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

async fn read_entry(resp: reqwest::Response, what: &str) -> Result<FileEntry, ApiError> {
    let body = resp.bytes().await.map_err(ApiError::from_transport)?;
    serde_json::from_slice::<FileEntry>(&body)
        .map(FileEntry::normalise)
        .map_err(|e| ApiError::Protocol(format!("{what}: file object not understood ({e})")))
}

/// Compare what the server says it stored with what was sent: the size, then the
/// SHA-256 when the server reports one, else a plain-MD5 `ETag` (the local MD5 is
/// computed only then, so servers that report SHA-256 cost no second hash).
async fn verify_upload(
    local: &Path,
    entry: &FileEntry,
    sent: &Sent,
    put_etag: Option<&str>,
    what: &str,
) -> Result<(), ApiError> {
    if entry.size != sent.len {
        return Err(ApiError::Integrity(format!(
            "{what}: the server stored {} bytes, {} were sent",
            entry.size, sent.len
        )));
    }
    if let Some(h) = &entry.sha256 {
        if !h.eq_ignore_ascii_case(&sent.sha256) {
            return Err(ApiError::Integrity(format!(
                "{what}: the server's SHA-256 differs from the local file's"
            )));
        }
        return Ok(());
    }
    let Some(etag) = put_etag.or(entry.etag.as_deref()).and_then(plain_md5) else {
        return Ok(());
    };
    let path = local.to_path_buf();
    let len = sent.len;
    let md5 = tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
        .await
        .map_err(|e| ApiError::Protocol(format!("hashing thread failed: {e}")))??;
    if !etag.eq_ignore_ascii_case(&md5) {
        return Err(ApiError::Integrity(format!(
            "{what}: the server's MD5 ETag differs from the local file's"
        )));
    }
    Ok(())
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

/// The hex MD5 inside an `ETag` when it is a plain single-part one (`"<32 hex>"`).
pub(super) fn plain_md5(etag: &str) -> Option<&str> {
    let t = etag.trim().trim_start_matches("W/").trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then_some(t)
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
    fn etags_and_folders() {
        assert_eq!(
            plain_md5("\"d41d8cd98f00b204e9800998ecf8427e\""),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(plain_md5("\"d41d8cd98f00b204e9800998ecf8427e-2\""), None);
        assert_eq!(content_type_for("x.VCF"), "text/x-vcf");
    }
}
