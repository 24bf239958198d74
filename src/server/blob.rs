//! Receiving a body: chunks are coalesced on the async side, and each coalesced chunk is
//! hashed (MD5 and SHA-256) and written to a temp file by one short blocking task; the file
//! is fsynced at the end. No thread is held while waiting for the network, so stalled
//! uploads cost no blocking threads. Memory in flight stays about one chunk per upload. The
//! temp file is removed when the [`TempFile`] guard is dropped, unless it has been moved into
//! place.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use md5::Md5;
use sha2::{Digest, Sha256};

/// Chunks are coalesced to about this size before they are written.
const WRITE_CHUNK: usize = 1024 * 1024;

/// Owner-only mode of every file the server writes (temp files, blobs, the index).
#[cfg(unix)]
pub(crate) const FILE_MODE: u32 = 0o600;

/// Create the file at `path`, which must not exist, owner-only from its first byte
/// whatever the umask: the bytes may belong to a workspace not yet checked (a `file` part
/// before `workspace_id`), and they stay so once placed as a blob.
pub(crate) fn create_owner_only(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

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

/// The open temp file and the hashes of what it holds so far. It moves into each short
/// blocking write and back out, so no thread is held between chunks.
struct Sink {
    file: File,
    md5: Md5,
    sha: Sha256,
}

pub(crate) struct BlobWriter {
    file: TempFile,
    /// `None` only after a write failed or its task died: the writer is then unusable.
    sink: Option<Sink>,
    buf: BytesMut,
    /// Bytes accepted so far.
    received: u64,
    /// Bytes written to the file so far.
    written: u64,
}

impl BlobWriter {
    /// Create the temp file at `path` (which must not exist).
    pub(crate) async fn create(path: PathBuf) -> io::Result<Self> {
        let open_path = path.clone();
        let file = tokio::task::spawn_blocking(move || create_owner_only(&open_path))
            .await
            .map_err(io::Error::other)??;
        Ok(BlobWriter {
            file: TempFile::new(path),
            sink: Some(Sink {
                file,
                md5: Md5::new(),
                sha: Sha256::new(),
            }),
            buf: BytesMut::new(),
            received: 0,
            written: 0,
        })
    }

    /// Bytes accepted so far.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    pub(crate) async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.received += chunk.len() as u64;
        if self.buf.is_empty() && chunk.len() >= WRITE_CHUNK {
            return self.flush(chunk).await;
        }
        self.buf.extend_from_slice(&chunk);
        if self.buf.len() >= WRITE_CHUNK {
            let full = self.buf.split().freeze();
            self.flush(full).await?;
        }
        Ok(())
    }

    /// Hash and write one coalesced chunk in a short blocking task.
    async fn flush(&mut self, chunk: Bytes) -> io::Result<()> {
        let mut sink = self
            .sink
            .take()
            .ok_or_else(|| io::Error::other("an earlier write of this upload failed"))?;
        let len = chunk.len() as u64;
        let sink = tokio::task::spawn_blocking(move || {
            sink.md5.update(&chunk);
            sink.sha.update(&chunk);
            sink.file.write_all(&chunk)?;
            Ok::<_, io::Error>(sink)
        })
        .await
        .map_err(io::Error::other)??;
        self.sink = Some(sink);
        self.written += len;
        Ok(())
    }

    /// Write what is buffered, fsync, and hand back the file with its size and hashes.
    pub(crate) async fn finish(mut self) -> io::Result<Received> {
        if !self.buf.is_empty() {
            let rest = self.buf.split().freeze();
            self.flush(rest).await?;
        }
        if self.written != self.received {
            return Err(io::Error::other("blob writer lost bytes"));
        }
        let sink = self
            .sink
            .take()
            .ok_or_else(|| io::Error::other("an earlier write of this upload failed"))?;
        let (md5, sha256) = tokio::task::spawn_blocking(move || {
            sink.file.sync_all()?;
            Ok::<_, io::Error>((sink.md5.finalize().into(), sink.sha.finalize().into()))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Received {
            file: self.file,
            size: self.written,
            md5,
            sha256,
        })
    }
}
