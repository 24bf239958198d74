//! Downloads: into a partial file beside the target, resumable with `Range` + `If-Range`,
//! verified (SHA-256 from the listing, else a plain-MD5 `ETag`, and the length always),
//! fsynced, and only then renamed into place.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest as _, Md5};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, RANGE};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::Progress;
use super::client::{Client, check};
use super::error::ApiError;
use super::localpath::check_inside;
use super::remote::{etag_md5, parse_content_range};
use super::upload::sleep_or_cancel;
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

/// Saved beside a partial file: what it is a part of. A resume sends `etag` as
/// `If-Range`, so bytes of another version are never appended to these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialMeta {
    pub etag: String,
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
}

impl PartialMeta {
    /// The metadata saved beside the partial download of `target`, if any.
    pub async fn load(target: &Path) -> Option<PartialMeta> {
        let (_, meta) = partial_paths(target);
        let bytes = tokio::fs::read(meta).await.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Save it beside the partial download of `target`.
    pub async fn save(&self, target: &Path) -> Result<(), ApiError> {
        let (_, meta) = partial_paths(target);
        write_meta(&meta, self).await
    }
}

async fn write_meta(path: &Path, meta: &PartialMeta) -> Result<(), ApiError> {
    let json = serde_json::to_vec(meta)
        .map_err(|e| ApiError::Protocol(format!("cannot encode partial metadata: {e}")))?;
    // Never through a symlink, like the partial file itself: a planted link must not
    // redirect the write outside the download folder.
    let mut opts = tokio::fs::OpenOptions::new();
    opts.create(true).truncate(true).write(true);
    // Owner-only, as the partial file it describes (its URL-free metadata still names
    // what is being downloaded).
    #[cfg(unix)]
    opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    let mut f = opts
        .open(path)
        .await
        .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))?;
    tokio::io::AsyncWriteExt::write_all(&mut f, &json)
        .await
        .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))
}

enum Attempt {
    Done {
        len: u64,
        digest: Option<String>,
        /// The MD5 the answer's `ETag` stands for, when it stands for one.
        md5: Option<String>,
        /// The object's length as this answer gave it.
        total: Option<u64>,
        resumed_from: u64,
    },
    /// The server answered 416: the partial is not a prefix we can extend.
    Restart,
}

#[derive(Clone, Copy, PartialEq)]
enum HashKind {
    Sha256,
    Md5,
    None,
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
        let retry = &self.inner.cfg.retry;
        let what = format!("downloading {}", entry.display_key());
        let mut url = self.download_url(workspace, &entry.key).await?;
        // What the bytes are checked against: the listing's entry, or a fresher one when
        // the file was replaced on the server after it was listed (a resume days later).
        let mut entry = entry.clone();
        let mut looked_again = false;
        let mut attempt = 0;
        let mut refreshes = 0;
        let mut restarted = false;
        let mut received = 0u64;
        loop {
            // A restart after a failed check is a download again, not a verification.
            progress.set_verifying(false);
            let result = self
                .download_attempt(
                    &url,
                    &entry,
                    &part,
                    &meta,
                    progress,
                    cancel,
                    &mut received,
                    &what,
                )
                .await;
            match result {
                Ok(Attempt::Done {
                    len,
                    digest,
                    md5,
                    total,
                    resumed_from,
                }) => {
                    progress.set_verifying(true);
                    let check = |entry: &FileEntry| {
                        verify(entry, len, total, digest.as_deref(), md5.as_deref(), &what)
                    };
                    let mut checked = check(&entry);
                    if checked.is_err()
                        && !looked_again
                        && let Some(fresh) = self.fresh_entry(workspace, &entry).await
                    {
                        looked_again = true;
                        tracing::info!(what, "the file changed on the server since it was listed");
                        entry = fresh;
                        checked = check(&entry);
                    }
                    match checked {
                        // The rename is the point of no return: before it, a cancel leaves
                        // the target as it was (the user's old file, or nothing).
                        Ok(()) if cancel.is_cancelled() => {
                            discard_partial(target).await;
                            return Err(ApiError::Cancelled);
                        }
                        Ok(()) => {
                            finish(&part, &meta, target).await?;
                            return Ok(DownloadOutcome {
                                path: target.to_path_buf(),
                                bytes_received: received,
                                resumed_from,
                            });
                        }
                        Err(e) => {
                            discard_partial(target).await;
                            // A resumed file that fails verification gets one clean start.
                            if resumed_from > 0 && !restarted {
                                restarted = true;
                                tracing::warn!(
                                    what,
                                    "resumed download failed verification; starting over"
                                );
                                continue;
                            }
                            return Err(e);
                        }
                    }
                }
                Ok(Attempt::Restart) => {
                    discard_partial(target).await;
                    if restarted {
                        return Err(ApiError::Protocol(format!(
                            "{what}: the server refused every range"
                        )));
                    }
                    restarted = true;
                }
                Err(ApiError::UrlExpired) if refreshes < 3 => {
                    refreshes += 1;
                    tracing::info!(what, "presigned URL expired; asking for a fresh one");
                    url = self.download_url(workspace, &entry.key).await?;
                }
                Err(e) if e.is_transient() && attempt + 1 < retry.max_attempts => {
                    let pause = retry.delay(attempt, &e);
                    tracing::warn!(what, attempt, ?pause, error = %e, "retrying download");
                    sleep_or_cancel(pause, cancel).await?;
                    attempt += 1;
                    progress.set_retry(attempt);
                }
                Err(e) => return Err(e),
            }
        }
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

    #[allow(clippy::too_many_arguments)]
    async fn download_attempt(
        &self,
        url: &Url,
        entry: &FileEntry,
        part: &Path,
        meta: &Path,
        progress: &Progress,
        cancel: &CancellationToken,
        received: &mut u64,
        what: &str,
    ) -> Result<Attempt, ApiError> {
        let (have, saved_etag) = resume_point(part, meta, &entry.key).await;
        let mut req = self.inner.http.get(url.clone());
        if let (true, Some(etag)) = (have > 0, &saved_etag) {
            req = req
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, etag);
        }
        let stall = self.inner.cfg.stall_timeout;
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
        Ok(Attempt::Done {
            len,
            digest,
            md5,
            total,
            resumed_from: start,
        })
    }
}

/// How many bytes of a previous attempt can be resumed, and the ETag they belong to.
async fn resume_point(part: &Path, meta: &Path, key: &str) -> (u64, Option<String>) {
    let Ok(md) = tokio::fs::metadata(part).await else {
        return (0, None);
    };
    let saved = tokio::fs::read(meta)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<PartialMeta>(&b).ok())
        .filter(|m| m.key == key);
    match saved {
        Some(m) if md.len() > 0 => (md.len(), Some(m.etag)),
        _ => (0, None),
    }
}

enum Hasher {
    Sha256(Box<Sha256>),
    Md5(Md5),
    None,
}

impl Hasher {
    fn new(kind: HashKind) -> Self {
        match kind {
            HashKind::Sha256 => Hasher::Sha256(Box::default()),
            HashKind::Md5 => Hasher::Md5(Md5::new()),
            HashKind::None => Hasher::None,
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Md5(h) => h.update(b),
            Hasher::None => {}
        }
    }
    fn finish(self) -> Option<String> {
        match self {
            Hasher::Sha256(h) => Some(hex::encode(h.finalize())),
            Hasher::Md5(h) => Some(hex::encode(h.finalize())),
            Hasher::None => None,
        }
    }
}

/// The writer thread: re-hash the bytes kept from before, then append, hash and fsync.
fn write_and_hash(
    part: &Path,
    start: u64,
    kind: HashKind,
    mut rx: mpsc::Receiver<Bytes>,
    progress: &Progress,
    unbounded: bool,
) -> Result<(u64, Option<String>), ApiError> {
    let fail = |e: std::io::Error| ApiError::io(format!("cannot write {}", part.display()), e);
    let mut file = open_partial(part)?;
    file.set_len(start).map_err(fail)?;
    let mut hasher = Hasher::new(kind);
    if start > 0 && kind != HashKind::None {
        let mut buf = vec![0u8; 1 << 20];
        let mut left = start;
        file.seek(SeekFrom::Start(0)).map_err(fail)?;
        while left > 0 {
            let n = (buf.len() as u64).min(left) as usize;
            file.read_exact(&mut buf[..n]).map_err(fail)?;
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
    }
    file.seek(SeekFrom::Start(start)).map_err(fail)?;
    let mut len = start;
    progress.set(len);
    // Coalesce network-sized chunks into larger writes.
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut behind = WriteBehind::new(start);
    let mut guard = RoomGuard::new(part, unbounded);
    while let Some(chunk) = rx.blocking_recv() {
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(fail)?;
        len += chunk.len() as u64;
        guard.wrote(len)?;
        progress.set(len);
        behind.wrote(out.get_ref(), len - out.buffer().len() as u64);
    }
    let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
    file.sync_data().map_err(fail)?;
    Ok((len, hasher.finish()))
}

/// A body of a length nobody told (no size listed, no `Content-Length`) could run until
/// the disk is full: such a download stops while some room is still left for others.
struct RoomGuard<'a> {
    part: &'a Path,
    unbounded: bool,
    checked_at: u64,
}

impl<'a> RoomGuard<'a> {
    const EVERY: u64 = 64 << 20;
    /// Room left for everyone else.
    const KEEP: u64 = 1 << 30;

    fn new(part: &'a Path, unbounded: bool) -> Self {
        RoomGuard {
            part,
            unbounded,
            checked_at: 0,
        }
    }

    fn wrote(&mut self, len: u64) -> Result<(), ApiError> {
        if !self.unbounded || len < self.checked_at + Self::EVERY {
            return Ok(());
        }
        self.checked_at = len;
        let dir = self.part.parent().unwrap_or(Path::new("."));
        match crate::local::free_space(dir) {
            Some(free) if free < Self::KEEP => Err(ApiError::Local(format!(
                "stopped after {len} bytes of a file whose size the server does not say: \
                 less than 1 GiB is left on the disk"
            ))),
            _ => Ok(()),
        }
    }
}

/// Start writeback of what is written as the download goes, so the final fsync has
/// little left to flush: the disk works while the network does, instead of after.
struct WriteBehind {
    flushed: u64,
}

impl WriteBehind {
    const STEP: u64 = 8 << 20;

    fn new(start: u64) -> Self {
        WriteBehind { flushed: start }
    }

    /// `written`: bytes handed to the kernel so far.
    fn wrote(&mut self, file: &std::fs::File, written: u64) {
        if written < self.flushed + Self::STEP {
            return;
        }
        crate::sys::start_write_back(file, self.flushed, written - self.flushed);
        self.flushed = written;
    }
}

/// The bytes against what is known of the file: its length (from the listing, else from
/// the answer's `Content-Length`/`Content-Range`), then its SHA-256 from the listing, else
/// the MD5 the answer's `ETag` stands for.
fn verify(
    entry: &FileEntry,
    len: u64,
    total: Option<u64>,
    digest: Option<&str>,
    md5: Option<&str>,
    what: &str,
) -> Result<(), ApiError> {
    if let Some(size) = entry.size
        && len != size
    {
        return Err(ApiError::Integrity(format!(
            "{what}: received {len} bytes, the listing says {size}"
        )));
    }
    if let Some(total) = total
        && len != total
    {
        return Err(ApiError::Integrity(format!(
            "{what}: received {len} bytes, the server announced {total}"
        )));
    }
    if let Some(expected) = &entry.sha256 {
        return match digest {
            Some(d) if d.eq_ignore_ascii_case(expected) => Ok(()),
            _ => Err(ApiError::Integrity(format!(
                "{what}: SHA-256 does not match the listing"
            ))),
        };
    }
    if let (Some(md5), Some(d)) = (md5, digest)
        && !md5.eq_ignore_ascii_case(d)
    {
        return Err(ApiError::Integrity(format!(
            "{what}: MD5 does not match the ETag"
        )));
    }
    Ok(())
}

async fn finish(part: &Path, meta: &Path, target: &Path) -> Result<(), ApiError> {
    let (part, meta, target) = (part.to_path_buf(), meta.to_path_buf(), target.to_path_buf());
    tokio::task::spawn_blocking(move || {
        // The partial file was private while incomplete; the result gets the mode any
        // new file would (0666 less the umask), so collaborators can read a results folder.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o666 & !umask();
            std::fs::set_permissions(&part, std::fs::Permissions::from_mode(mode)).map_err(
                |e| ApiError::io(format!("cannot set the mode of {}", part.display()), e),
            )?;
        }
        std::fs::rename(&part, &target).map_err(|e| {
            ApiError::io(
                format!("cannot move the download to {}", target.display()),
                e,
            )
        })?;
        let _ = std::fs::remove_file(&meta);
        // Make the rename itself durable.
        if let Some(dir) = target.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::Protocol(format!("finishing thread failed: {e}")))?
}

/// The process's umask, read without changing it (the `umask` call sets it, and other
/// threads create files meanwhile); 022 when /proc does not say.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Remove the partial file and its metadata for `target` (a cancelled or failed download).
pub async fn discard_partial(target: &Path) {
    let (part, meta) = partial_paths(target);
    let _ = tokio::fs::remove_file(part).await;
    let _ = tokio::fs::remove_file(meta).await;
}

async fn truncate(part: &Path, len: u64) -> Result<(), ApiError> {
    let path = part.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let f = open_partial(&path)?;
        f.set_len(len)
            .and_then(|()| f.sync_data())
            .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))
    })
    .await
    .map_err(|e| ApiError::Protocol(format!("truncating thread failed: {e}")))?
}

/// Open (or create) a partial file, never through a symlink: a planted link must not
/// redirect the write outside the download folder.
fn open_partial(part: &Path) -> Result<std::fs::File, ApiError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    opts.open(part)
        .map_err(|e| ApiError::io(format!("cannot write {}", part.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_fit_beside_a_255_byte_name() {
        let dir = Path::new("/tmp/dl");
        let (part, meta) = partial_paths(&dir.join("x".repeat(255)));
        assert!(meta.file_name().unwrap().len() < 64);
        assert_eq!(part.parent(), Some(dir));
        assert_ne!(
            partial_paths(&dir.join("a")).0,
            partial_paths(&dir.join("b")).0
        );
    }
}
