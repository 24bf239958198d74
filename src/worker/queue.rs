//! The transfer queue on disk, so a crash, a SIGKILL or a lost SSH session loses no work:
//! what is queued or running is written (atomically, owner-only, no URL and no key) to
//! the XDG state directory whenever a transfer changes state, and offered for resumption
//! at the next launch against the same endpoint. A lock file keeps a second filedeck from
//! working the same queue and the same partial files.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::FileEntry;
use crate::local::PutJob;

/// One transfer to do, as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "dir", rename_all = "lowercase")]
pub enum SavedJob {
    Up {
        ws: String,
        local: PathBuf,
        folder: String,
        name: String,
        size: u64,
    },
    Down {
        ws: String,
        entry: FileEntry,
        root: PathBuf,
        target: PathBuf,
    },
}

impl SavedJob {
    pub fn up(ws: &str, job: &PutJob) -> Self {
        SavedJob::Up {
            ws: ws.to_string(),
            local: job.local.clone(),
            folder: job.folder.clone(),
            name: job.name.clone(),
            size: job.size,
        }
    }

    pub fn size(&self) -> u64 {
        match self {
            SavedJob::Up { size, .. } => *size,
            SavedJob::Down { entry, .. } => entry.size,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct QueueFile {
    endpoint: String,
    jobs: Vec<SavedJob>,
}

/// The queue file of one endpoint, locked for this process's lifetime.
#[derive(Debug)]
pub struct QueueStore {
    path: PathBuf,
    endpoint: String,
    _lock: File,
}

impl QueueStore {
    /// Open (and lock) the queue of `endpoint` under `dir`. Fails with a message naming
    /// the other process when it is locked.
    pub fn open(dir: &Path, endpoint: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let name = {
            use sha2::{Digest, Sha256};
            hex::encode(&Sha256::digest(endpoint.as_bytes())[..8])
        };
        let lock_path = dir.join(format!("queue-{name}.lock"));
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut lock = opts
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock on a descriptor we own; released when the file is closed.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let other = std::fs::read_to_string(&lock_path).unwrap_or_default();
                return Err(format!(
                    "another filedeck (pid {}) is working the transfer queue for {endpoint}; \
                     only one may, so partial files are never written twice",
                    other.trim()
                ));
            }
        }
        let _ = lock.set_len(0);
        let _ = write!(lock, "{}", std::process::id());
        Ok(QueueStore {
            path: dir.join(format!("queue-{name}.json")),
            endpoint: endpoint.to_string(),
            _lock: lock,
        })
    }

    /// What the last run left unfinished.
    pub fn load(&self) -> Vec<SavedJob> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice::<QueueFile>(&b).ok())
            .filter(|q| q.endpoint == self.endpoint)
            .map(|q| q.jobs)
            .unwrap_or_default()
    }

    /// Replace the saved queue, atomically (temp file, fsync, rename).
    pub fn save(&self, jobs: Vec<SavedJob>) -> std::io::Result<()> {
        if jobs.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let body = serde_json::to_vec(&QueueFile {
            endpoint: self.endpoint.clone(),
            jobs,
        })
        .map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).truncate(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&body)?;
        f.sync_data()?;
        std::fs::rename(&tmp, &self.path)
    }
}
