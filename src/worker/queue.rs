//! The transfer queue on disk, so a crash, a SIGKILL or a lost SSH session loses no work.
//! Every change of state (queued, finished, failed, retried, resumed) is appended at once
//! to a journal beside a snapshot; the pair is folded into a new snapshot (written
//! atomically) when the journal grows or the queue goes idle. An append is one small
//! write, so a burst of a thousand small files costs no thousand rewrites, and a kill a
//! moment after a transfer finished never offers it again. Both files are owner-only and
//! hold no presigned URL and no key. A lock file keeps a second filedeck from working the
//! same queue and the same partial files; the next launch against the same endpoint offers
//! what is left for resumption.

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
        /// Keys this upload replaces ("overwrite" where keys are opaque): removed once it
        /// has landed and been verified, never before.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        replaces: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
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
            replaces: Vec::new(),
            description: None,
        }
    }

    /// `None`: the server did not say.
    pub fn size(&self) -> Option<u64> {
        match self {
            SavedJob::Up { size, .. } => Some(*size),
            SavedJob::Down { entry, .. } => entry.size,
        }
    }
}

/// Keys of what the previous run left (this run's transfers use their ids, from 1).
const LEFTOVER_KEYS: u64 = 1 << 62;

/// Journal lines beyond which the journal is folded into the snapshot while busy.
pub(super) const MAX_RECORDS: usize = 1024;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    endpoint: String,
    /// Journal lines of another generation predate this snapshot and are ignored (a crash
    /// between writing the snapshot and emptying the journal).
    generation: u64,
    jobs: Vec<(u64, SavedJob)>,
}

/// One journal line: the job under `key` is now `job` (`None`: gone).
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    g: u64,
    key: u64,
    job: Option<SavedJob>,
}

/// The queue of one endpoint, locked for this process's lifetime.
#[derive(Debug)]
pub struct QueueStore {
    path: PathBuf,
    endpoint: String,
    generation: u64,
    journal: File,
    /// Lines in the journal since the last snapshot.
    records: usize,
    leftover: Vec<SavedJob>,
    _lock: File,
}

fn owner_only() -> std::fs::OpenOptions {
    let mut opts = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

impl QueueStore {
    /// Open (and lock) the queue of `endpoint` under `dir`, and take what the last run
    /// left. Fails with a message naming the other process when it is locked.
    pub fn open(dir: &Path, endpoint: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let name = {
            use sha2::{Digest, Sha256};
            // The first 8 bytes of the digest.
            let mut name = hex::encode(Sha256::digest(endpoint.as_bytes()));
            name.truncate(16);
            name
        };
        let lock_path = dir.join(format!("queue-{name}.lock"));
        let mut lock = owner_only()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        // Released when the file is closed.
        if lock.try_lock().is_err() {
            let other = std::fs::read_to_string(&lock_path).unwrap_or_default();
            return Err(format!(
                "another filedeck (pid {}) is working this endpoint's transfer queue",
                other.trim()
            ));
        }
        let _ = lock.set_len(0);
        let _ = write!(lock, "{}", std::process::id());
        let path = dir.join(format!("queue-{name}.json"));
        let journal_path = dir.join(format!("queue-{name}.journal"));
        let (generation, leftover) = read(&path, &journal_path, endpoint);
        let journal = owner_only()
            .create(true)
            .append(true)
            .open(&journal_path)
            .map_err(|e| format!("cannot open {}: {e}", journal_path.display()))?;
        let mut store = QueueStore {
            path,
            endpoint: endpoint.to_string(),
            generation,
            journal,
            records: 0,
            leftover: Vec::new(),
            _lock: lock,
        };
        // Start this run's journal on a snapshot of its own, the leftover under keys
        // that cannot meet this run's transfer ids.
        let keyed: Vec<(u64, SavedJob)> = (LEFTOVER_KEYS..).zip(leftover.iter().cloned()).collect();
        store
            .begin_snapshot(keyed)
            .and_then(|(path, body)| write_snapshot(&path, body, true))
            .and_then(|()| store.end_snapshot())
            .map_err(|e| format!("cannot write {}: {e}", store.path.display()))?;
        store.leftover = leftover;
        Ok(store)
    }

    /// What the last run left unfinished (once).
    pub fn take_leftover(&mut self) -> Vec<SavedJob> {
        std::mem::take(&mut self.leftover)
    }

    /// The key the `index`th leftover job is saved under until it is resumed or dropped.
    pub fn leftover_key(index: usize) -> u64 {
        LEFTOVER_KEYS + index as u64
    }

    /// Note at once that the job under `key` is now `job` (`None`: finished, failed or
    /// dropped). One small append, no fsync: a killed process loses nothing, the kernel
    /// has it.
    pub fn record(&mut self, key: u64, job: Option<&SavedJob>) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct RecordRef<'a> {
            g: u64,
            key: u64,
            job: Option<&'a SavedJob>,
        }
        let mut line = serde_json::to_vec(&RecordRef {
            g: self.generation,
            key,
            job,
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write: a line is never interleaved or half-replaced (a torn last line after a
        // crash is skipped on reading).
        self.journal.write_all(&line)?;
        self.records += 1;
        Ok(())
    }

    /// Whether the journal should be folded into a new snapshot: it has grown large, or
    /// the queue is idle and the snapshot can be made durable at no cost to anyone.
    pub fn wants_snapshot(&self, busy: bool) -> bool {
        if busy {
            self.records > MAX_RECORDS
        } else {
            self.records > 0
        }
    }

    /// Everything needed to write the snapshot of `jobs` off this thread: the file's path
    /// and bytes. [`write_snapshot`] and then [`QueueStore::end_snapshot`] must follow,
    /// before any [`QueueStore::record`]. An empty queue keeps its (empty) snapshot: it
    /// holds the generation the journal's lines are checked against.
    pub fn begin_snapshot(
        &mut self,
        jobs: Vec<(u64, SavedJob)>,
    ) -> std::io::Result<(PathBuf, Vec<u8>)> {
        let body = serde_json::to_vec(&Snapshot {
            endpoint: self.endpoint.clone(),
            generation: self.generation + 1,
            jobs,
        })
        .map_err(std::io::Error::other)?;
        Ok((self.path.clone(), body))
    }

    /// The snapshot is in place: the journal starts afresh, in the snapshot's generation.
    pub fn end_snapshot(&mut self) -> std::io::Result<()> {
        self.generation += 1;
        self.records = 0;
        self.journal.set_len(0)
    }
}

/// Put a snapshot in place atomically (temp file, optional fsync, rename).
pub fn write_snapshot(path: &Path, body: Vec<u8>, durable: bool) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = owner_only()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)?;
    f.write_all(&body)?;
    if durable {
        f.sync_data()?;
    }
    std::fs::rename(&tmp, path)
}

/// The snapshot with the journal replayed over it: its generation and the jobs in key
/// order. Unreadable parts count as empty, a torn last line is skipped.
fn read(path: &Path, journal: &Path, endpoint: &str) -> (u64, Vec<SavedJob>) {
    let snapshot = match std::fs::read(path) {
        Ok(b) => match serde_json::from_slice::<Snapshot>(&b) {
            Ok(s) if s.endpoint == endpoint => s,
            Ok(_) => Snapshot::default(),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "unreadable transfer queue ignored");
                Snapshot::default()
            }
        },
        Err(_) => Snapshot::default(),
    };
    let generation = snapshot.generation;
    let mut jobs: std::collections::BTreeMap<u64, SavedJob> = snapshot.jobs.into_iter().collect();
    if let Ok(text) = std::fs::read(journal) {
        for line in text.split(|b| *b == b'\n') {
            let Ok(r) = serde_json::from_slice::<Record>(line) else {
                continue;
            };
            if r.g != generation {
                continue;
            }
            match r.job {
                Some(job) => jobs.insert(r.key, job),
                None => jobs.remove(&r.key),
            };
        }
    }
    (generation, jobs.into_values().collect())
}
