//! The transfer engine: bounded concurrency (a semaphore), a cancellation token per
//! transfer, the client's retries, and progress sampled as plain data at most ten times
//! a second. It lives inside the worker's loop; transfer tasks report back over a
//! channel, never through shared state the UI reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::queue::{QueueStore, SavedJob, write_snapshot};
use crate::api::{ApiError, Client, FileEntry, Progress, UploadRequest, local_name, safe_join};
use crate::app::msg::{Choice, ConflictItem, Event, TransferId, TransferState};
use crate::app::transfers::{Direction, TransferInfo};
use crate::local::{collect_uploads, normalise_folder};

type Job = SavedJob;

struct Slot {
    job: Job,
    token: CancellationToken,
    progress: Progress,
    running: bool,
    /// Failed: kept for a retry, not saved for a resume.
    failed: bool,
}

/// A finished transfer task's outcome.
pub struct Finished {
    id: TransferId,
    state: TransferState,
    /// What the server now lists for a finished upload.
    uploaded: Option<FileEntry>,
}

pub struct Engine {
    client: Client,
    events: mpsc::UnboundedSender<Event>,
    permits: Arc<Semaphore>,
    slots: HashMap<TransferId, Slot>,
    next_id: TransferId,
    started: Instant,
    finished_tx: mpsc::UnboundedSender<Finished>,
    /// Tasks that began running report it here (so the sampler knows).
    running_tx: mpsc::UnboundedSender<TransferId>,
    store: Option<QueueStore>,
    /// What the last run left, until the user says whether to resume it.
    leftover: Vec<SavedJob>,
    /// Batches waiting for the user's answer to their conflicts.
    conflicts: HashMap<u64, Vec<Conflict>>,
    next_batch: u64,
}

/// A job whose destination already has a file of that name.
struct Conflict {
    item: ConflictItem,
    job: SavedJob,
    existing_sha: Option<String>,
    /// Remote keys already taken (for "keep both" on uploads).
    taken: Arc<std::collections::HashSet<String>>,
}

impl Engine {
    pub fn new(
        client: Client,
        events: mpsc::UnboundedSender<Event>,
        concurrency: usize,
        store: Option<QueueStore>,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<Finished>,
        mpsc::UnboundedReceiver<TransferId>,
    ) {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let (running_tx, running_rx) = mpsc::unbounded_channel();
        let mut store = store;
        let leftover = store
            .as_mut()
            .map(QueueStore::take_leftover)
            .unwrap_or_default();
        if !leftover.is_empty() {
            let _ = events.send(Event::ResumeOffer {
                count: leftover.len(),
                bytes: leftover.iter().filter_map(SavedJob::size).sum(),
            });
        }
        (
            Engine {
                client,
                events,
                permits: Arc::new(Semaphore::new(concurrency.max(1))),
                slots: HashMap::new(),
                next_id: 1,
                started: Instant::now(),
                finished_tx,
                running_tx,
                store,
                leftover,
                conflicts: HashMap::new(),
                next_batch: 1,
            },
            finished_rx,
            running_rx,
        )
    }

    /// Take up the queue another filedeck has let go of, and offer what it left.
    pub fn adopt(&mut self, mut store: QueueStore) {
        let leftover = store.take_leftover();
        if !leftover.is_empty() {
            let _ = self.events.send(Event::ResumeOffer {
                count: leftover.len(),
                bytes: leftover.iter().filter_map(SavedJob::size).sum(),
            });
        }
        self.leftover = leftover;
        self.store = Some(store);
    }

    /// Whether any transfer is running (the sampler ticks only then).
    pub fn active(&self) -> bool {
        self.slots.values().any(|s| s.running)
    }

    fn problem(&self, text: String) {
        let _ = self.events.send(Event::TransferProblem(text));
    }

    /// Walk a local path (in a blocking thread) and queue its files.
    /// Queue what [`prepare_upload`] found: its files, its problems and its conflicts.
    pub fn upload(&mut self, prepared: PreparedUpload) {
        let PreparedUpload {
            ws,
            local,
            jobs,
            problems,
            existing,
        } = prepared;
        if jobs.is_empty() && problems.is_empty() {
            // An empty folder: say so rather than queue nothing in silence.
            self.problem(format!("{local}: nothing to upload, the folder is empty"));
            return;
        }
        for p in problems {
            // Listed with their reason: unreadable ones as failed, ones left out on
            // purpose (links to folders, sockets, names no key holds) as skipped.
            let id = self.add(TransferInfo {
                dir: Direction::Up,
                ws: ws.clone(),
                remote: String::new(),
                local: p.path.display().to_string(),
                size: None,
            });
            let state = if p.skipped {
                TransferState::Skipped(p.why)
            } else {
                TransferState::Failed(p.why)
            };
            let _ = self.events.send(Event::TransferState { id, state });
        }
        // Remote keys already taken, shared by the batch's conflicts (for "keep both").
        let taken: Arc<std::collections::HashSet<String>> =
            Arc::new(existing.keys().cloned().collect());
        let mut conflicts = Vec::new();
        for job in jobs {
            let remote = format!("{}{}", job.folder, job.name);
            if let Some(found) = existing.get(&remote) {
                conflicts.push(Conflict {
                    item: ConflictItem {
                        existing: remote,
                        existing_size: found.size,
                        new_size: Some(job.size),
                        upload: true,
                    },
                    job: SavedJob::up(&ws, &job),
                    existing_sha: found.sha256.clone(),
                    taken: taken.clone(),
                });
                continue;
            }
            let job = SavedJob::up(&ws, &job);
            let id = self.add(info_of(&job));
            self.start(id, job);
        }
        self.ask(conflicts);
    }

    /// Local files this run's downloads are writing (or will write, or may retry).
    fn targets_in_use(&self) -> std::collections::HashSet<PathBuf> {
        self.slots
            .values()
            .filter_map(|s| match &s.job {
                SavedJob::Down { target, .. } => Some(target.clone()),
                SavedJob::Up { .. } => None,
            })
            .collect()
    }

    /// Hold conflicting jobs and ask the user about them.
    fn ask(&mut self, conflicts: Vec<Conflict>) {
        if conflicts.is_empty() {
            return;
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        let items = conflicts.iter().map(|c| c.item.clone()).collect();
        self.conflicts.insert(batch, conflicts);
        let _ = self.events.send(Event::Conflicts { batch, items });
    }

    /// Apply the user's answers to a batch's conflicts.
    pub async fn resolve(&mut self, batch: u64, choices: Vec<Choice>) {
        let Some(conflicts) = self.conflicts.remove(&batch) else {
            return;
        };
        let mut in_use = self.targets_in_use();
        for (c, choice) in conflicts.into_iter().zip(choices) {
            let (info, job) = match (choice, c.job) {
                (Choice::Skip, job) => {
                    let id = self.add(info_of(&job));
                    let state = TransferState::Skipped("exists".into());
                    let _ = self.events.send(Event::TransferState { id, state });
                    continue;
                }
                (Choice::SkipIfIdentical, job) => {
                    let same = identical(&job, c.item.existing_size, c.existing_sha.clone()).await;
                    if same {
                        let id = self.add(info_of(&job));
                        let state = TransferState::Skipped("identical".into());
                        let _ = self.events.send(Event::TransferState { id, state });
                        continue;
                    }
                    (info_of(&job), job)
                }
                (Choice::Overwrite, mut job) => {
                    // Overwrite what is on disk, never what another download is writing.
                    if let SavedJob::Down { target, .. } = &mut job {
                        *target = claim(std::mem::take(target), &in_use);
                    }
                    (info_of(&job), job)
                }
                (Choice::KeepBoth, mut job) => {
                    match &mut job {
                        SavedJob::Up { folder, name, .. } => {
                            *name = numbered(name, |n| c.taken.contains(&format!("{folder}{n}")));
                        }
                        SavedJob::Down { target, .. } => *target = beside(target, &in_use),
                    }
                    (info_of(&job), job)
                }
            };
            if let SavedJob::Down { target, .. } = &job {
                in_use.insert(target.clone());
            }
            let id = self.add(info);
            self.start(id, job);
        }
    }

    /// Queue downloads under `dest`, after checking the room there.
    pub async fn download(&mut self, ws: String, dest: String, files: Vec<(FileEntry, String)>) {
        let root = expand_tilde(&dest);
        if let Err(e) = tokio::fs::create_dir_all(&root).await {
            let is_file = tokio::fs::metadata(&root).await.is_ok_and(|m| !m.is_dir());
            self.problem(if is_file {
                format!(
                    "{} is a file, not a folder: give a folder to download into",
                    root.display()
                )
            } else {
                format!("cannot create {}: {e}", root.display())
            });
            return;
        }
        // Unknown sizes count as nothing here: the check can only refuse what is known
        // not to fit.
        let need: u64 = files.iter().filter_map(|(e, _)| e.size).sum();
        let r = root.clone();
        if let Ok(Some(free)) = tokio::task::spawn_blocking(move || free_space(&r)).await
            && need > free
        {
            self.problem(format!(
                "not enough space in {}: {} needed, {} free",
                root.display(),
                humansize::format_size(need, humansize::BINARY),
                humansize::format_size(free, humansize::BINARY)
            ));
            return;
        }
        let mut conflicts = Vec::new();
        // With this batch's own targets as they are chosen: two of its files may share a
        // name.
        let mut in_use = self.targets_in_use();
        for (entry, rel) in files {
            // A name the server chose must not pick where the file lands: refused, it is a
            // skipped row with the reason, and nothing is written.
            let target = match local_name(&entry, &rel)
                .map_err(|why| ApiError::Local(format!("not downloaded: {why}")))
                .and_then(|()| safe_join(&root, &rel))
            {
                Ok(t) => t,
                Err(e) => {
                    let id = self.add(TransferInfo {
                        dir: Direction::Down,
                        ws: ws.clone(),
                        remote: entry.display_key(),
                        local: root.join(&rel).display().to_string(),
                        size: entry.size,
                    });
                    let _ = self.events.send(Event::TransferState {
                        id,
                        state: TransferState::Skipped(e.to_string()),
                    });
                    continue;
                }
            };
            let target = claim(target, &in_use);
            in_use.insert(target.clone());
            if let Ok(meta) = tokio::fs::symlink_metadata(&target).await {
                // Asked about below, not listed as a transfer yet.
                conflicts.push(Conflict {
                    item: ConflictItem {
                        existing: target.display().to_string(),
                        existing_size: Some(meta.len()),
                        new_size: entry.size,
                        upload: false,
                    },
                    existing_sha: entry.sha256.clone(),
                    job: SavedJob::Down {
                        ws: ws.clone(),
                        entry,
                        root: root.clone(),
                        target,
                    },
                    taken: Arc::default(),
                });
                continue;
            }
            let job = SavedJob::Down {
                ws: ws.clone(),
                entry,
                root: root.clone(),
                target,
            };
            let id = self.add(info_of(&job));
            self.start(id, job);
        }
        self.ask(conflicts);
    }

    fn add(&mut self, info: TransferInfo) -> TransferId {
        let id = self.next_id;
        self.next_id += 1;
        let _ = self.events.send(Event::TransferAdded { id, info });
        id
    }

    fn start(&mut self, id: TransferId, job: Job) {
        let token = CancellationToken::new();
        let progress = Progress::new();
        self.slots.insert(
            id,
            Slot {
                job: job.clone(),
                token: token.clone(),
                progress: progress.clone(),
                running: false,
                failed: false,
            },
        );
        self.journal(id, Some(&job));
        let client = self.client.clone();
        let permits = self.permits.clone();
        let finished = self.finished_tx.clone();
        let running = self.running_tx.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let permit = tokio::select! {
                p = permits.acquire_owned() => p,
                _ = token.cancelled() => {
                    let _ = finished.send(Finished { id, state: TransferState::Cancelled, uploaded: None });
                    return;
                }
            };
            let Ok(_permit) = permit else { return };
            let _ = running.send(id);
            let _ = events.send(Event::TransferState {
                id,
                state: TransferState::Running,
            });
            let result = run(&client, &job, &progress, &token).await;
            let mut uploaded = None;
            let state = match result {
                Ok(entry) => {
                    uploaded = entry;
                    TransferState::Done
                }
                Err(ApiError::Cancelled) => {
                    if let SavedJob::Down { target, .. } = &job {
                        crate::api::discard_partial(target).await;
                    }
                    TransferState::Cancelled
                }
                Err(e) => TransferState::Failed(e.to_string()),
            };
            let _ = finished.send(Finished {
                id,
                state,
                uploaded,
            });
        });
    }

    pub fn mark_running(&mut self, id: TransferId) {
        if let Some(s) = self.slots.get_mut(&id) {
            s.running = true;
        }
    }

    pub fn finished(&mut self, f: Finished) {
        if let Some(slot) = self.slots.get_mut(&f.id) {
            slot.running = false;
            // One last sample so the screen shows the final byte count.
            let at_ms = self.started.elapsed().as_millis() as u64;
            let _ = self.events.send(Event::TransferProgress {
                at_ms,
                samples: vec![(f.id, slot.progress.get())],
            });
        }
        match &f.state {
            TransferState::Failed(why) => {
                tracing::warn!(id = f.id, error = %why, "transfer failed")
            }
            other => tracing::info!(id = f.id, state = ?other, "transfer ended"),
        }
        if let (Some(entry), Some(slot)) = (f.uploaded, self.slots.get(&f.id))
            && let SavedJob::Up { ws, .. } = &slot.job
        {
            let _ = self.events.send(Event::Uploaded {
                ws: ws.clone(),
                entry,
            });
        }
        if f.state == TransferState::Done || f.state == TransferState::Cancelled {
            // Nothing left to retry.
            self.slots.remove(&f.id);
        } else if let Some(slot) = self.slots.get_mut(&f.id) {
            slot.failed = true;
        }
        // A failed transfer is not resumed by the next run (`R` retries it in this one).
        self.journal(f.id, None);
        let _ = self.events.send(Event::TransferState {
            id: f.id,
            state: f.state,
        });
    }

    /// Progress of running transfers, as one event.
    pub fn sample(&mut self) {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let retries = self.client.config().retry.max_attempts.saturating_sub(1);
        let mut samples = Vec::new();
        for (id, s) in &self.slots {
            if !s.running {
                continue;
            }
            samples.push((*id, s.progress.get()));
            let state = if s.progress.verifying() {
                Some(TransferState::Verifying)
            } else if s.progress.retry() > 0 {
                Some(TransferState::Retrying {
                    n: s.progress.retry(),
                    of: retries,
                })
            } else {
                None
            };
            if let Some(state) = state {
                let _ = self.events.send(Event::TransferState { id: *id, state });
            }
        }
        if !samples.is_empty() {
            let _ = self.events.send(Event::TransferProgress { at_ms, samples });
        }
    }

    pub fn cancel(&mut self, id: TransferId) {
        if let Some(s) = self.slots.get(&id) {
            s.token.cancel();
        }
    }

    pub fn cancel_all(&mut self) {
        for s in self.slots.values() {
            s.token.cancel();
        }
    }

    /// Take up (or drop) what the last run left unfinished.
    pub fn resume(&mut self, yes: bool) {
        let jobs = std::mem::take(&mut self.leftover);
        let count = jobs.len();
        if !yes {
            // Dropped: their partial files go too (a later download of the same file
            // must not quietly continue from them).
            let targets: Vec<PathBuf> = jobs
                .iter()
                .filter_map(|j| match j {
                    SavedJob::Down { target, .. } => Some(target.clone()),
                    SavedJob::Up { .. } => None,
                })
                .collect();
            tokio::spawn(async move {
                for t in targets {
                    crate::api::discard_partial(&t).await;
                }
            });
        }
        if yes {
            // Saved under their new ids first: a crash in between resumes a job twice
            // (its partial file makes that cheap) rather than losing it.
            for job in jobs {
                let info = info_of(&job);
                let id = self.add(info);
                self.start(id, job);
            }
        }
        for i in 0..count {
            self.journal(QueueStore::leftover_key(i), None);
        }
    }

    fn journal(&mut self, key: u64, job: Option<&SavedJob>) {
        if let Some(store) = self.store.as_mut()
            && let Err(e) = store.record(key, job)
        {
            tracing::warn!(error = %e, "cannot save the transfer queue");
        }
    }

    /// Fold the queue's journal into a new snapshot when it has grown, or durably once
    /// the queue is idle. The file is written off the worker's thread.
    pub async fn persist(&mut self) {
        let busy = self.active();
        let Some(store) = self.store.as_mut() else {
            return;
        };
        if !store.wants_snapshot(busy) {
            return;
        }
        // Until the user answers the resume offer, the leftover stays saved too.
        let mut jobs: Vec<(u64, SavedJob)> = self
            .leftover
            .iter()
            .enumerate()
            .map(|(i, j)| (QueueStore::leftover_key(i), j.clone()))
            .collect();
        let mut ids: Vec<_> = self
            .slots
            .iter()
            .filter(|(_, s)| !s.failed)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        jobs.extend(
            ids.iter()
                .filter_map(|id| self.slots.get(id).map(|s| (*id, s.job.clone()))),
        );
        let written = match store.begin_snapshot(jobs) {
            Ok((path, body)) => {
                match tokio::task::spawn_blocking(move || write_snapshot(&path, body, !busy)).await
                {
                    Ok(r) => r,
                    Err(e) => Err(std::io::Error::other(e)),
                }
            }
            Err(e) => Err(e),
        };
        match written.and_then(|()| store.end_snapshot()) {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "cannot save the transfer queue"),
        }
    }

    pub fn retry(&mut self, ids: Vec<TransferId>) {
        for id in ids {
            let Some(slot) = self.slots.get(&id) else {
                continue;
            };
            if slot.running {
                continue;
            }
            let job = slot.job.clone();
            let _ = self.events.send(Event::TransferState {
                id,
                state: TransferState::Queued,
            });
            self.start(id, job);
        }
    }
}

async fn run(
    client: &Client,
    job: &Job,
    progress: &Progress,
    token: &CancellationToken,
) -> Result<Option<FileEntry>, ApiError> {
    match job {
        SavedJob::Up {
            ws,
            local,
            folder,
            name,
            ..
        } => {
            let req = UploadRequest {
                workspace: ws,
                local,
                folder,
                name: Some(name),
                description: None,
            };
            let up = client.upload(&req, progress, token).await?;
            if let Some(why) = &up.unverified {
                tracing::warn!(key = %up.entry.key, "{why}");
            }
            Ok(Some(up.entry))
        }
        SavedJob::Down {
            ws,
            entry,
            root,
            target,
        } => client
            .download(ws, entry, root, target, progress, token)
            .await
            .map(|_| None),
    }
}

/// `~` and `~/…` are the home directory; everything else is taken as written.
pub fn expand_tilde(path: &str) -> PathBuf {
    let path = path.trim();
    if (path == "~" || path.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME")
    {
        return Path::new(&home).join(path.trim_start_matches('~').trim_start_matches('/'));
    }
    if path.is_empty() {
        return PathBuf::from(".");
    }
    PathBuf::from(path)
}

/// Bytes available to us on the filesystem holding `dir`.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed out-struct for the call to fill.
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn info_of(job: &SavedJob) -> TransferInfo {
    match job {
        SavedJob::Up {
            ws,
            local,
            folder,
            name,
            size,
        } => TransferInfo {
            dir: Direction::Up,
            ws: ws.clone(),
            remote: format!("{folder}{name}"),
            local: local.display().to_string(),
            size: Some(*size),
        },
        SavedJob::Down {
            ws, entry, target, ..
        } => TransferInfo {
            dir: Direction::Down,
            ws: ws.clone(),
            remote: entry.display_key(),
            local: target.display().to_string(),
            size: entry.size,
        },
    }
}

/// Known to be the same: the same size and the same SHA-256. A size or hash nobody
/// told is not "the same": the file is transferred (the user's answer said to replace
/// what differs).
async fn identical(
    job: &SavedJob,
    existing_size: Option<u64>,
    existing_sha: Option<String>,
) -> bool {
    let (local, size) = match job {
        SavedJob::Up { local, size, .. } => (local.clone(), Some(*size)),
        SavedJob::Down { target, entry, .. } => (target.clone(), entry.size),
    };
    let (Some(size), Some(existing)) = (size, existing_size) else {
        return false;
    };
    if size != existing {
        return false;
    }
    let Some(want) = existing_sha else {
        return false;
    };
    tokio::task::spawn_blocking(move || crate::api::hash_file::<sha2::Sha256>(&local, size))
        .await
        .ok()
        .and_then(Result::ok)
        .is_some_and(|have| have.eq_ignore_ascii_case(&want))
}

/// "name (1).ext", "name (2).ext"… the first that `taken` says is free.
/// `target`, or a numbered name beside it when another download of this run already
/// writes there (two marked files of one name, the same file asked for twice): two
/// transfers must never share a partial file.
fn claim(target: PathBuf, in_use: &std::collections::HashSet<PathBuf>) -> PathBuf {
    if in_use.contains(&target) {
        beside(&target, in_use)
    } else {
        target
    }
}

/// A numbered name beside `target` that neither exists nor is being written.
fn beside(target: &Path, in_use: &std::collections::HashSet<PathBuf>) -> PathBuf {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return target.to_path_buf();
    };
    let name = numbered(&name.to_string_lossy(), |n| {
        let p = dir.join(n);
        p.exists() || in_use.contains(&p)
    });
    dir.join(name)
}

fn numbered(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_string())
}

/// An upload walked and checked, ready to be queued.
pub struct PreparedUpload {
    ws: String,
    /// As the user typed it.
    local: String,
    jobs: Vec<crate::local::PutJob>,
    problems: Vec<crate::local::Problem>,
    /// What already exists remotely under the destination, by `path + name`.
    existing: HashMap<String, FileEntry>,
}

/// The slow part of queueing an upload, off the worker's loop: walk the local path (in a
/// blocking thread) and list what already exists under the destination.
pub async fn prepare_upload(
    client: Client,
    ws: String,
    local: String,
    folder: String,
) -> PreparedUpload {
    let path = expand_tilde(&local);
    let folder = normalise_folder(&folder);
    let (jobs, mut problems) =
        tokio::task::spawn_blocking(move || collect_uploads(&[path], &folder))
            .await
            .unwrap_or_else(|e| {
                let why = format!("reading it failed: {e}");
                (
                    Vec::new(),
                    vec![crate::local::Problem {
                        path: local.clone().into(),
                        why,
                        skipped: false,
                    }],
                )
            });

    let mut existing = HashMap::new();
    if !jobs.is_empty() {
        // Only what could collide: the deepest folder holding every file of the batch,
        // not a whole (possibly million-file) workspace.
        let folders: Vec<String> = jobs.iter().map(|j| j.folder.clone()).collect();
        let dest = crate::api::types::common_folder(&folders);
        match client.list_all(&ws, &dest).await {
            Ok(l) => existing = l.files.into_iter().map(|f| (f.display_key(), f)).collect(),
            // Without knowing what exists, nothing is uploaded: it could overwrite.
            Err(e) => {
                problems.extend(jobs.iter().map(|j| crate::local::Problem {
                    path: j.local.clone(),
                    why: format!("cannot check the destination for existing files: {e}"),
                    skipped: false,
                }));
                return PreparedUpload {
                    ws,
                    local,
                    jobs: Vec::new(),
                    problems,
                    existing,
                };
            }
        }
    }
    PreparedUpload {
        ws,
        local,
        jobs,
        problems,
        existing,
    }
}
