//! Streamed bodies: an upload's request body read and hashed from disk in a blocking
//! thread, a download's response body hashed and written to its partial file in another,
//! and the watch that abandons either when no byte moves or the user cancels.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use md5::Md5;
use reqwest::Body;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Progress;
use super::client::Client;
use super::error::ApiError;
use super::partial::open_partial;
use super::verify::{HashKind, Hasher, Sent};

impl Client {
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
                // This transfer waiting for the cap's tokens is not a stall; other
                // transfers being granted theirs says nothing about this one.
                if now != last || progress.throttled() {
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
    /// thread as the bytes go (a second pass over a large file afterwards would cost as long
    /// as a slow disk takes to read it); the [`Reader`] yields what was sent. `hashes`: which
    /// digests the answer is likely to be checked by.
    pub(super) fn file_body(
        &self,
        path: &Path,
        size: u64,
        progress: &Progress,
        hashes: BodyHashes,
    ) -> (Body, Reader) {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
        let chunk = self.inner.cfg.chunk_size;
        let path = path.to_path_buf();
        let stop = CancellationToken::new();
        let stop_reader = stop.clone();
        let runtime = tokio::runtime::Handle::current();
        let join = tokio::task::spawn_blocking(move || {
            read_and_hash(&path, size, chunk, hashes, &|item| {
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
        let limiter = self.inner.limiter.clone();
        let waiting = progress.clone();
        let stream = tokio_stream_from(rx).then(move |item| {
            let limiter = limiter.clone();
            let waiting = waiting.clone();
            async move {
                if let (Some(l), Ok(b)) = (&limiter, &item) {
                    let _waiting = Throttled::on(&waiting);
                    l.take(b.len() as u64).await;
                }
                item
            }
        });
        let stream = stream.map(move |item| {
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

/// Marks a transfer as waiting for the cap until dropped, however the wait ends (a
/// dropped body too, so a retry's stall watch never inherits the mark).
struct Throttled<'a>(&'a Progress);

impl<'a> Throttled<'a> {
    fn on(progress: &'a Progress) -> Self {
        progress.set_throttled(true);
        Throttled(progress)
    }
}

impl Drop for Throttled<'_> {
    fn drop(&mut self) {
        self.0.set_throttled(false);
    }
}

/// The reader thread of one upload attempt.
pub(super) struct Reader {
    join: tokio::task::JoinHandle<Result<Sent, ApiError>>,
    stop: CancellationToken,
}

/// A local failure (unreadable, changed while read) is the real reason a request broke:
/// it is returned rather than retried as a "network error".
pub(super) fn local_failure_first<T>(
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
    pub(super) async fn finish(self, abandon: bool) -> Result<Sent, ApiError> {
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

/// The digests of a body computed as it is sent.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyHashes {
    pub(super) sha256: bool,
    pub(super) md5: bool,
}

fn read_and_hash(
    path: &Path,
    size: u64,
    chunk: usize,
    hashes: BodyHashes,
    send: &dyn Fn(Result<Bytes, std::io::Error>) -> bool,
) -> Result<Sent, ApiError> {
    let fail = |e: std::io::Error| ApiError::io(format!("cannot read {}", path.display()), e);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = send(Err(std::io::Error::new(e.kind(), e.to_string())));
            return Err(fail(e));
        }
    };
    let mut sha = hashes.sha256.then(Sha256::new);
    // MD5 on a thread of its own: one thread hashing both (1 GiB: ~1 s of SHA-256 and
    // ~1.6 s of MD5) would be slower than loopback takes the bytes.
    let md5 = hashes.md5.then(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(8);
        let thread = std::thread::spawn(move || {
            let mut md5 = Md5::new();
            for bytes in rx {
                md5.update(&bytes);
            }
            hex::encode(md5.finalize())
        });
        (tx, thread)
    });
    let mut done: u64 = 0;
    while done < size {
        let want = usize::try_from(size - done).map_or(chunk, |left| left.min(chunk));
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            let Some(rest) = buf.get_mut(filled..) else {
                break;
            };
            match file.read(rest) {
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
        if let Some(sha) = &mut sha {
            sha.update(&bytes);
        }
        if let Some((md5, _)) = &md5 {
            // The thread ends only when this sender goes: it cannot refuse.
            let _ = md5.send(bytes.clone());
        }
        done += filled as u64;
        if !send(Ok(bytes)) {
            // The request was dropped (failure or cancel); nothing more to send.
            break;
        }
    }
    Ok(Sent {
        len: done,
        sha256: sha.map(|sha| hex::encode(sha.finalize())),
        md5: md5.and_then(|(tx, thread)| {
            drop(tx);
            thread.join().ok()
        }),
    })
}

/// The writer thread: re-hash the bytes kept from before, then append, hash and fsync.
pub(super) fn write_and_hash(
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
            let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
            let Some(kept) = buf.get_mut(..n) else {
                break;
            };
            file.read_exact(kept).map_err(fail)?;
            hasher.update(kept);
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
