//! Receiving a body: chunks go, coalesced, over a small bounded channel to a blocking thread
//! that hashes (MD5 and SHA-256) and writes them to a temp file, then fsyncs it. Memory in
//! flight stays under a few MiB whatever the body size. The temp file is removed when the
//! [`TempFile`] guard is dropped, unless it has been moved into place.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks are coalesced to about this size before they go to the writer thread.
const WRITE_CHUNK: usize = 1024 * 1024;
/// Coalesced chunks queued for the writer thread.
const QUEUE: usize = 4;

/// A file that is removed when dropped, unless [`TempFile::disarm`] was called.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempFile { path, armed: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the file: it has been renamed or is owned by something else now.
    pub(crate) fn disarm(mut self) -> PathBuf {
        self.armed = false;
        std::mem::take(&mut self.path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove temp file");
        }
    }
}

/// A fully received, fsynced body in a temp file.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) file: TempFile,
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) sha256: [u8; 32],
}

/// Size, MD5 and SHA-256 of what the writer thread wrote.
type Written = (u64, [u8; 16], [u8; 32]);

enum Msg {
    Data(Bytes),
    Finish,
}

pub(crate) struct BlobWriter {
    file: TempFile,
    tx: mpsc::Sender<Msg>,
    thread: JoinHandle<io::Result<Written>>,
    buf: BytesMut,
    /// Bytes accepted so far.
    received: u64,
}

impl BlobWriter {
    /// Create the temp file at `path` (which must not exist) and start the writer thread.
    pub(crate) async fn create(path: PathBuf) -> io::Result<Self> {
        let open_path = path.clone();
        let file = tokio::task::spawn_blocking(move || {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            // Owner-only from the first byte, whatever the umask: the bytes may belong to
            // a workspace not yet checked (a `file` part before `workspace_id`), and they
            // stay so once placed as a blob.
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(super::store::FILE_MODE);
            }
            options.open(open_path)
        })
        .await
        .map_err(io::Error::other)??;
        let guard = TempFile::new(path);
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = tokio::task::spawn_blocking(move || write_loop(file, rx));
        Ok(BlobWriter {
            file: guard,
            tx,
            thread,
            buf: BytesMut::new(),
            received: 0,
        })
    }

    /// Bytes accepted so far.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    pub(crate) async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.received += chunk.len() as u64;
        if self.buf.is_empty() && chunk.len() >= WRITE_CHUNK {
            return self.send(chunk).await;
        }
        self.buf.extend_from_slice(&chunk);
        if self.buf.len() >= WRITE_CHUNK {
            let full = self.buf.split().freeze();
            self.send(full).await?;
        }
        Ok(())
    }

    async fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        if self.tx.send(Msg::Data(chunk)).await.is_ok() {
            return Ok(());
        }
        // The thread stopped: it failed; report its error.
        Err(match (&mut self.thread).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => io::Error::other("blob writer stopped early"),
            Err(e) => io::Error::other(e),
        })
    }

    /// Write what is buffered, fsync, and hand back the file with its size and hashes.
    pub(crate) async fn finish(mut self) -> io::Result<Received> {
        if !self.buf.is_empty() {
            let rest = self.buf.split().freeze();
            self.send(rest).await?;
        }
        // If the thread has already stopped, its result below says why.
        let _ = self.tx.send(Msg::Finish).await;
        let (size, md5, sha256) = (&mut self.thread).await.map_err(io::Error::other)??;
        if size != self.received {
            return Err(io::Error::other("blob writer lost bytes"));
        }
        Ok(Received {
            file: self.file,
            size,
            md5,
            sha256,
        })
    }
}

fn write_loop(mut file: File, mut rx: mpsc::Receiver<Msg>) -> io::Result<Written> {
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let mut size = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Msg::Data(chunk)) => {
                md5.update(&chunk);
                sha.update(&chunk);
                file.write_all(&chunk)?;
                size += chunk.len() as u64;
            }
            Some(Msg::Finish) => break,
            // The receiving side gave up (client gone, limit passed): no fsync.
            None => return Err(io::Error::other("upload abandoned")),
        }
    }
    file.sync_all()?;
    Ok((size, md5.finalize().into(), sha.finalize().into()))
}
