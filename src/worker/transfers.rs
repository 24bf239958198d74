//! The transfer engine: bounded concurrency (a semaphore), a cancellation token per
//! transfer, the client's retries, and progress sampled as plain data at most ten times
//! a second. It lives inside the worker's loop; transfer tasks report back over a
//! channel, never through shared state the UI reads. Whatever a command needs from the
//! disk or the network before a transfer can be queued (walking a folder, the room and
//! the existing files at a destination, hashing for "skip if identical", new names
//! beside existing files) runs as a task of its own and comes back as [`Ready`], which
//! the loop applies: the loop itself never waits, so listings, cancels and progress go
//! on meanwhile. The queue's files are written by [`Journal`]'s thread.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::queue::{Journal, QueueStore, SavedJob};
use crate::api::{ApiError, Client, FileEntry, Progress, UploadRequest, local_name, safe_join};
use crate::app::marks::remote_label;
use crate::app::msg::{Choice, ConflictItem, ConflictPolicy, Event, OnConflict};
use crate::app::transfer_types::{Direction, TransferId, TransferInfo, TransferState};
use crate::local::expand_tilde;
use crate::local::{collect_uploads, normalise_folder};

type Job = SavedJob;

/// Files hashed at once for "skip if identical": each is a disk read at full speed, and
/// a few in turn finish sooner than many side by side.
const HASHING: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Listed, its local file being hashed ("skip if identical"): not started, not saved.
    Resolving,
    /// Waiting for a permit.
    Queued,
    Running,
    /// Kept for a retry, not saved for a resume.
    Failed,
}

struct Slot {
    job: Job,
    token: CancellationToken,
    progress: Progress,
    phase: Phase,
    /// Which launch of the transfer this slot is (a retry is a new one): a task's "I
    /// have started" that arrives late, after its end and a retry, must not mark the
    /// retry as running (it would never be launched, and its batch never end).
    launch: u64,
}

/// A started transfer task: (its id, its launch).
pub type Started = (TransferId, u64);

/// A finished transfer task's outcome.
pub struct Finished {
    id: TransferId,
    state: TransferState,
    /// What the server now lists for a finished upload.
    uploaded: Option<FileEntry>,
    /// Something to know about how it ended well.
    note: Option<String>,
}

/// Slow work the loop handed to a task, back with its result for the loop to apply.
/// `epoch` is the engine's count of "cancel all" when the work was asked for: what comes
/// back after one is listed as cancelled, as it would have been had it been quick.
pub enum Ready {
    Upload {
        epoch: u64,
        prepared: PreparedUpload,
    },
    Download {
        epoch: u64,
        prepared: PreparedDownload,
    },
    /// Conflicts answered "overwrite" or "keep both", their targets chosen.
    Named { epoch: u64, jobs: Vec<SavedJob> },
    /// A "skip if identical" comparison (none comes once the transfer is cancelled).
    Hashed { id: TransferId, same: bool },
    /// The transfer queue is this run's (with what the last run left), or why not.
    Queue(Result<Vec<SavedJob>, String>),
}

pub struct Engine {
    client: Client,
    events: mpsc::UnboundedSender<Event>,
    permits: Arc<Semaphore>,
    hashing: Arc<Semaphore>,
    slots: HashMap<TransferId, Slot>,
    /// Slots in [`Phase::Running`] (the sampler ticks only while there are some).
    running: usize,
    /// Queued transfers not yet handed a permit, first come first started. Their tasks
    /// are spawned only once a permit is theirs: spawned tasks run in no set order (the
    /// runtime runs the newest first), so a batch would start from its end.
    waiting: std::collections::VecDeque<TransferId>,
    /// Rows listed as failed that have no job to run again, with why (a file the walk
    /// could not read, a conflict the command line could not answer).
    unretryable: HashMap<TransferId, String>,
    next_id: TransferId,
    started: Instant,
    finished_tx: mpsc::UnboundedSender<Finished>,
    /// Tasks that began running report it here (so the sampler knows).
    running_tx: mpsc::UnboundedSender<Started>,
    next_launch: u64,
    ready_tx: mpsc::UnboundedSender<Ready>,
    journal: Option<Journal>,
    /// A queue is open or being opened: changes are sent to the journal.
    saving: bool,
    /// Changes were journaled since the last time the queue was told it may settle.
    unsettled: bool,
    /// What the last run left, until the user says whether to resume it.
    leftover: Vec<SavedJob>,
    /// Batches waiting for the user's answer to their conflicts.
    conflicts: HashMap<u64, Vec<Conflict>>,
    next_batch: u64,
    /// How many times everything was cancelled.
    epoch: u64,
    /// Work that chooses download targets, one at a time in the order asked (each sees
    /// the targets of those before it), with the epoch it was asked at.
    plans: std::collections::VecDeque<(u64, Plan)>,
    /// A plan is under way.
    planning: bool,
    /// Who answers conflicts: the user, or the command line's `--on-conflict`.
    policy: ConflictPolicy,
    /// Uploads being walked and checked (their batches are not listed yet).
    preparing: usize,
}

/// Work that chooses local targets, off the loop.
enum Plan {
    Download {
        ws: String,
        dest: String,
        files: Vec<(FileEntry, String)>,
    },
    /// Conflicts answered "overwrite" or "keep both".
    Name(Vec<(Choice, Conflict)>),
}

/// A job whose destination already has a file of that name.
struct Conflict {
    item: ConflictItem,
    job: SavedJob,
    existing_sha: Option<String>,
    /// Remote keys already taken (for "keep both" on uploads).
    taken: Arc<HashSet<String>>,
    /// `taken` is all there is: a numbered name it lacks is free. Not so when the listing
    /// it came from may be incomplete.
    names_known: bool,
    /// Nothing of that path was listed: it only may exist (the listing may be incomplete).
    only_maybe: bool,
}

/// Downloads checked against their destination, in the order asked.
#[derive(Default)]
pub struct PreparedDownload {
    /// The whole batch cannot go there (no such folder, no room).
    problem: Option<String>,
    items: Vec<Planned>,
}

enum Planned {
    /// Refused (a remote name that is no plain local name, or would write outside the
    /// folder): a skipped row with the reason, nothing written.
    Refused(TransferInfo, String),
    Start(SavedJob),
    /// Its target exists: the user is asked.
    Conflict(Conflict),
}

impl Engine {
    pub fn new(
        client: Client,
        events: mpsc::UnboundedSender<Event>,
        concurrency: usize,
        ready_tx: mpsc::UnboundedSender<Ready>,
        policy: ConflictPolicy,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<Finished>,
        mpsc::UnboundedReceiver<Started>,
    ) {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let (running_tx, running_rx) = mpsc::unbounded_channel();
        (
            Engine {
                client,
                events,
                permits: Arc::new(Semaphore::new(concurrency.max(1))),
                hashing: Arc::new(Semaphore::new(HASHING)),
                slots: HashMap::new(),
                running: 0,
                waiting: Default::default(),
                unretryable: HashMap::new(),
                next_id: 1,
                started: Instant::now(),
                finished_tx,
                running_tx,
                next_launch: 1,
                ready_tx,
                journal: None,
                saving: false,
                unsettled: false,
                leftover: Vec::new(),
                conflicts: HashMap::new(),
                next_batch: 1,
                epoch: 0,
                plans: Default::default(),
                planning: false,
                policy,
                preparing: 0,
            },
            finished_rx,
            running_rx,
        )
    }

    fn writer(&mut self) -> &Journal {
        let ready = self.ready_tx.clone();
        self.journal.get_or_insert_with(|| {
            Journal::start(move |r| {
                let _ = ready.send(Ready::Queue(r));
            })
        })
    }

    /// Open the queue of `endpoint` under `dir` off the loop; [`Ready::Queue`] answers.
    pub fn open_queue(&mut self, dir: PathBuf, endpoint: String) {
        self.writer().open(dir, endpoint);
        self.saving = true;
        // Transfers begun while another filedeck held the queue are saved from now on
        // too (the lines wait behind the open).
        let mut live: Vec<(TransferId, SavedJob)> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s.phase, Phase::Queued | Phase::Running))
            .map(|(id, s)| (*id, s.job.clone()))
            .collect();
        live.sort_by_key(|(id, _)| *id);
        for (id, job) in live {
            self.journal(id, Some(&job));
        }
    }

    /// Work a queue already opened; [`Ready::Queue`] brings what it holds.
    pub fn hold_queue(&mut self, store: QueueStore) {
        self.writer().hold(store);
        self.saving = true;
    }

    /// The queue is open (and what the last run left is offered), or could not be had.
    pub fn queue_opened(&mut self, result: Result<Vec<SavedJob>, String>) -> Result<(), String> {
        match result {
            Ok(leftover) => {
                if !leftover.is_empty() {
                    let _ = self.events.send(Event::ResumeOffer {
                        count: leftover.len(),
                        bytes: leftover
                            .iter()
                            .filter_map(SavedJob::size)
                            .fold(0, u64::saturating_add),
                    });
                }
                self.leftover = leftover;
                Ok(())
            }
            Err(why) => {
                self.saving = false;
                Err(why)
            }
        }
    }

    /// Whether any transfer is running (the sampler ticks only then).
    pub fn active(&self) -> bool {
        self.running > 0
    }

    /// Nothing queued, running, compared, prepared, planned or waiting for an answer:
    /// a run without a screen is finished.
    pub fn idle(&self) -> bool {
        self.preparing == 0
            && !self.planning
            && self.plans.is_empty()
            && self.conflicts.is_empty()
            && self.slots.values().all(|s| s.phase == Phase::Failed)
    }

    fn problem(&self, text: String) {
        let _ = self.events.send(Event::TransferProblem(text));
    }

    /// Walk a local path and list what exists at the destination, off the loop;
    /// [`Ready::Upload`] brings the result to [`Engine::upload`].
    pub fn prepare_upload(
        &mut self,
        ws: String,
        locals: Vec<String>,
        folder: String,
        description: Option<String>,
    ) {
        let (client, ready, epoch) = (self.client.clone(), self.ready_tx.clone(), self.epoch);
        self.preparing += 1;
        tokio::spawn(async move {
            let mut prepared = prepare_upload(client, ws, locals, folder).await;
            prepared.description = description;
            let _ = ready.send(Ready::Upload { epoch, prepared });
        });
    }

    /// Queue what [`prepare_upload`] found: its files, its problems and its conflicts.
    pub fn upload(&mut self, epoch: u64, prepared: PreparedUpload) {
        self.preparing = self.preparing.saturating_sub(1);
        let PreparedUpload {
            ws,
            local,
            jobs,
            problems,
            existing,
            listed,
            description,
            missing,
        } = prepared;
        for path in &missing {
            self.problem(format!("No such file or folder: {path}"));
        }
        if jobs.is_empty() && problems.is_empty() {
            if !missing.is_empty() {
                return;
            }
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
                let why = format!(
                    "{} could not be read when it was listed ({}): upload it again",
                    p.path.display(),
                    p.why
                );
                self.unretryable.insert(id, why);
                TransferState::Failed(p.why)
            };
            let _ = self.events.send(Event::TransferState { id, state });
        }
        // Display paths already taken, shared by the batch's conflicts (for "keep both").
        let taken: Arc<HashSet<String>> = Arc::new(existing.keys().cloned().collect());
        let mut conflicts = Vec::new();
        let mut starts = Vec::new();
        for job in jobs {
            let remote = format!("{}{}", job.folder, job.name);
            let mut saved = SavedJob::up(&ws, &job);
            if let SavedJob::Up { description: d, .. } = &mut saved {
                d.clone_from(&description);
            }
            match existing.get(&remote) {
                Some(found) => {
                    // Where keys are opaque, one display path may name several files:
                    // "overwrite" replaces them all, once the new one is in and verified.
                    if let SavedJob::Up { replaces, .. } = &mut saved {
                        *replaces = found.iter().map(|f| f.key.clone()).collect();
                    }
                    let one = (found.len() == 1).then(|| &found[0]);
                    conflicts.push(Conflict {
                        item: ConflictItem {
                            existing: remote_label(&ws, &remote),
                            existing_size: one.and_then(|f| f.size),
                            new_size: Some(job.size),
                            upload: true,
                            note: if found.len() > 1 {
                                Some(format!(
                                    "{} files on the server have this path",
                                    found.len()
                                ))
                            } else if !listed.complete {
                                Some(format!(
                                    "the server's listing of {} may be incomplete: no \
                                     numbered name is known to be free",
                                    shown_folder(&listed.folder)
                                ))
                            } else {
                                None
                            },
                        },
                        job: saved,
                        existing_sha: one.and_then(|f| f.sha256.clone()),
                        taken: taken.clone(),
                        names_known: listed.complete,
                        only_maybe: false,
                    });
                }
                // What a listing may have left out may exist: asked, never overwritten
                // unasked.
                None if !listed.complete => conflicts.push(Conflict {
                    item: ConflictItem {
                        existing: remote_label(&ws, &remote),
                        existing_size: None,
                        new_size: Some(job.size),
                        upload: true,
                        note: Some(format!(
                            "it may exist: the server's listing of {} may be incomplete",
                            shown_folder(&listed.folder)
                        )),
                    },
                    job: saved,
                    existing_sha: None,
                    taken: taken.clone(),
                    names_known: false,
                    only_maybe: true,
                }),
                None => starts.push(saved),
            }
        }
        self.start_or_refuse(starts, conflicts, epoch);
    }

    /// Start a batch's jobs and settle its conflicts; under `--on-conflict fail`, a batch
    /// with any conflict transfers nothing.
    fn start_or_refuse(&mut self, starts: Vec<SavedJob>, conflicts: Vec<Conflict>, epoch: u64) {
        if self.policy == ConflictPolicy::Fixed(OnConflict::Fail) && !conflicts.is_empty() {
            let items = conflicts.into_iter().map(|c| c.item).collect();
            let _ = self.events.send(Event::ConflictsRefused(items));
            return;
        }
        for job in starts {
            self.begin(job, epoch);
        }
        self.ask(conflicts, epoch);
    }

    /// Local files this run's downloads are writing (or will write, or may retry).
    fn targets_in_use(&self) -> HashSet<PathBuf> {
        self.slots
            .values()
            .filter_map(|s| match &s.job {
                SavedJob::Down { target, .. } => Some(target.clone()),
                SavedJob::Up { .. } => None,
            })
            .collect()
    }

    /// Hold conflicting jobs and ask the user about them (unless everything was
    /// cancelled since they were asked for: then they are listed as cancelled).
    fn ask(&mut self, conflicts: Vec<Conflict>, epoch: u64) {
        if conflicts.is_empty() {
            return;
        }
        if epoch != self.epoch {
            for c in conflicts {
                self.begin(c.job, epoch);
            }
            return;
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        if let ConflictPolicy::Fixed(answer) = self.policy {
            let choices = conflicts
                .iter()
                .map(|_| match answer {
                    OnConflict::Skip | OnConflict::Fail => Choice::Skip,
                    OnConflict::SkipIdentical => Choice::SkipIfIdentical,
                    OnConflict::Overwrite => Choice::Overwrite,
                    OnConflict::Rename => Choice::KeepBoth,
                })
                .collect();
            self.conflicts.insert(batch, conflicts);
            self.resolve(batch, choices);
            return;
        }
        let items = conflicts.iter().map(|c| c.item.clone()).collect();
        self.conflicts.insert(batch, conflicts);
        let _ = self.events.send(Event::Conflicts { batch, items });
    }

    /// A conflict the command line's answer cannot settle: listed as failed, with why and
    /// the answers that would (`settles`).
    fn unanswerable(&mut self, c: Conflict, why: &str, settles: &str) {
        let info = info_of(&c.job);
        let id = self.add(info.clone());
        let again = format!("{}: {why}; {settles}", info.remote);
        self.unretryable.insert(id, again);
        let state = TransferState::Failed(format!("{why}; {settles}"));
        let _ = self.events.send(Event::TransferState { id, state });
    }

    /// Apply the user's answers to a batch's conflicts. A file to hash for "skip if
    /// identical" is listed at once (so it can be cancelled) and hashed by a task of its
    /// own; the targets of "overwrite" and "keep both" are chosen in a blocking thread.
    /// Both come back as [`Ready`].
    pub fn resolve(&mut self, batch: u64, choices: Vec<Choice>) {
        let Some(conflicts) = self.conflicts.remove(&batch) else {
            return;
        };
        let mut in_use = self.targets_in_use();
        let mut naming = Vec::new();
        let mut again = Vec::new();
        let fixed = self.policy != ConflictPolicy::Ask;
        for (c, choice) in conflicts.into_iter().zip(choices) {
            // A file that may exist (a listing that may be incomplete): only "overwrite"
            // is an answer the command line can give for it without knowing.
            match choice {
                _ if fixed && c.only_maybe && choice != Choice::Overwrite => {
                    // "Skip" would skip a file only if it exists, and that is what is not
                    // known: only "overwrite" is an answer that holds either way.
                    let why = c.item.note.clone().unwrap_or_default();
                    self.unanswerable(c, &why, "only --on-conflict overwrite uploads it anyway");
                }
                Choice::Skip => {
                    let id = self.add(info_of(&c.job));
                    let state = TransferState::Skipped("exists".into());
                    let _ = self.events.send(Event::TransferState { id, state });
                }
                Choice::SkipIfIdentical => {
                    let (local, size) = local_side(&c.job);
                    // A target another download of this run writes is no file to compare
                    // with: overwriting it means a name of its own, as for "overwrite".
                    let written =
                        matches!(&c.job, SavedJob::Down { .. } if in_use.contains(&local));
                    let differ = matches!(
                        (size, c.item.existing_size),
                        (Some(a), Some(b)) if a != b
                    );
                    match (size, c.item.existing_size, &c.existing_sha) {
                        _ if written || differ => naming.push((Choice::Overwrite, c)),
                        (Some(size), Some(_), Some(want)) => {
                            let want = want.clone();
                            if let SavedJob::Down { target, .. } = &c.job {
                                in_use.insert(target.clone());
                            }
                            self.compare(c.job, local, size, want);
                        }
                        // No hash (or no size) on one side: "identical" cannot be told,
                        // and is never assumed.
                        _ => {
                            if fixed {
                                self.unanswerable(
                                    c,
                                    NOT_COMPARABLE,
                                    "--on-conflict overwrite or skip settles it",
                                );
                            } else if c.item.note.as_deref() == Some(NOT_COMPARABLE) {
                                // Asked once already, and answered the same: left alone.
                                let id = self.add(info_of(&c.job));
                                let state =
                                    TransferState::Skipped("not known to be identical".into());
                                let _ = self.events.send(Event::TransferState { id, state });
                            } else {
                                let mut c = c;
                                c.item.note = Some(NOT_COMPARABLE.to_string());
                                again.push(c);
                            }
                        }
                    }
                }
                // A numbered name picked from a listing that may be incomplete could be
                // a file the listing left out: it would be replaced, unasked.
                Choice::KeepBoth if !c.names_known => {
                    self.unanswerable(
                        c,
                        "no numbered name is known to be free: the server's listing of the \
                         folder may be incomplete",
                        "overwrite or skip settles it",
                    );
                }
                Choice::Overwrite | Choice::KeepBoth => naming.push((choice, c)),
            }
        }
        if !naming.is_empty() {
            self.plan(Plan::Name(naming));
        }
        // The user is asked again about what could not be compared, saying why.
        let epoch = self.epoch;
        self.ask(again, epoch);
    }

    fn plan(&mut self, plan: Plan) {
        self.plans.push_back((self.epoch, plan));
        self.next_plan();
    }

    /// Start the next plan unless one is under way.
    fn next_plan(&mut self) {
        if self.planning {
            return;
        }
        let Some((epoch, plan)) = self.plans.pop_front() else {
            return;
        };
        self.planning = true;
        let in_use = self.targets_in_use();
        let ready = self.ready_tx.clone();
        match plan {
            Plan::Download { ws, dest, files } => {
                tokio::spawn(async move {
                    let prepared = Engine::plan_download(ws, dest, files, in_use).await;
                    let _ = ready.send(Ready::Download { epoch, prepared });
                });
            }
            Plan::Name(items) => {
                tokio::task::spawn_blocking(move || {
                    let jobs = name_targets(items, in_use);
                    let _ = ready.send(Ready::Named { epoch, jobs });
                });
            }
        }
    }

    /// List `job` now and hash its local file in a task; [`Ready::Hashed`] tells whether
    /// it matches `want`. Cancelling the transfer stops the hashing.
    fn compare(&mut self, job: Job, local: PathBuf, size: u64, want: String) {
        let id = self.add(info_of(&job));
        let token = CancellationToken::new();
        self.slots.insert(
            id,
            Slot {
                job,
                token: token.clone(),
                progress: Progress::new(),
                phase: Phase::Resolving,
                launch: 0,
            },
        );
        let (hashing, ready) = (self.hashing.clone(), self.ready_tx.clone());
        tokio::spawn(async move {
            let permit = tokio::select! {
                p = hashing.acquire_owned() => p,
                _ = token.cancelled() => return,
            };
            let Ok(_permit) = permit else { return };
            let have = tokio::task::spawn_blocking(move || sha256_unless(&local, size, &token))
                .await
                .unwrap_or_else(|e| Some(Err(std::io::Error::other(e))));
            let Some(have) = have else {
                return;
            };
            // An unreadable file is not known to be identical: it is overwritten.
            let same = have.is_ok_and(|have| have.eq_ignore_ascii_case(&want));
            let _ = ready.send(Ready::Hashed { id, same });
        });
    }

    /// A "skip if identical" comparison is in: skipped, or started as an overwrite.
    pub fn hashed(&mut self, id: TransferId, same: bool) {
        let Some(slot) = self.slots.get(&id) else {
            // Cancelled meanwhile.
            return;
        };
        if slot.phase != Phase::Resolving {
            return;
        }
        if same {
            self.slots.remove(&id);
            let state = TransferState::Skipped("identical".into());
            let _ = self.events.send(Event::TransferState { id, state });
        } else {
            // Its target was held by its slot all along: no other download took it.
            let job = slot.job.clone();
            self.start(id, job);
        }
    }

    /// Start what [`name_targets`] chose names for.
    pub fn named(&mut self, epoch: u64, jobs: Vec<SavedJob>) {
        let mut in_use = self.targets_in_use();
        for job in jobs {
            let job = reclaim(job, &mut in_use);
            self.begin(job, epoch);
        }
        self.planning = false;
        self.next_plan();
    }

    /// Queue downloads under `dest`: the room there and the files already there are
    /// checked by a task; [`Ready::Download`] brings them to [`Engine::downloaded`].
    pub fn download(&mut self, ws: String, dest: String, files: Vec<(FileEntry, String)>) {
        self.plan(Plan::Download { ws, dest, files });
    }

    /// The slow part of queueing downloads: make the folder, check the room there, and
    /// see which targets exist. `in_use`: the targets this run's transfers held when the
    /// downloads were asked for.
    async fn plan_download(
        ws: String,
        dest: String,
        files: Vec<(FileEntry, String)>,
        mut in_use: HashSet<PathBuf>,
    ) -> PreparedDownload {
        let mut plan = PreparedDownload::default();
        let root = expand_tilde(&dest);
        if let Err(e) = tokio::fs::create_dir_all(&root).await {
            let is_file = tokio::fs::metadata(&root).await.is_ok_and(|m| !m.is_dir());
            plan.problem = Some(if is_file {
                format!(
                    "{} is a file, not a folder: give a folder to download into",
                    root.display()
                )
            } else {
                format!("cannot create {}: {e}", root.display())
            });
            return plan;
        }
        // Unknown sizes count as nothing here: the check can only refuse what is known
        // not to fit.
        let need: u64 = files
            .iter()
            .filter_map(|(e, _)| e.size)
            .fold(0, u64::saturating_add);
        let r = root.clone();
        if let Ok(Some(free)) =
            tokio::task::spawn_blocking(move || crate::local::free_space(&r)).await
            && need > free
        {
            plan.problem = Some(format!(
                "not enough space in {}: {} needed, {} free",
                root.display(),
                humansize::format_size(need, humansize::BINARY),
                humansize::format_size(free, humansize::BINARY)
            ));
            return plan;
        }
        // With this batch's own targets as they are chosen: two of its files may share a
        // name.
        for (entry, rel) in files {
            // A name the server chose must not pick where the file lands: refused, it is a
            // skipped row with the reason, and nothing is written.
            let target = match local_name(&entry, &rel)
                .map_err(|why| ApiError::Local(format!("not downloaded: {why}")))
                .and_then(|()| safe_join(&root, &rel))
            {
                Ok(t) => t,
                Err(e) => {
                    let info = TransferInfo {
                        dir: Direction::Down,
                        ws: ws.clone(),
                        remote: entry.display_key(),
                        local: root.join(&rel).display().to_string(),
                        size: entry.size,
                    };
                    plan.items.push(Planned::Refused(info, e.to_string()));
                    continue;
                }
            };
            let target = claim(target, &in_use);
            in_use.insert(target.clone());
            if let Ok(meta) = tokio::fs::symlink_metadata(&target).await {
                // Asked about, not listed as a transfer yet.
                plan.items.push(Planned::Conflict(Conflict {
                    item: ConflictItem {
                        existing: target.display().to_string(),
                        existing_size: Some(meta.len()),
                        new_size: entry.size,
                        upload: false,
                        note: None,
                    },
                    existing_sha: entry.sha256.clone(),
                    job: SavedJob::Down {
                        ws: ws.clone(),
                        entry,
                        root: root.clone(),
                        target,
                    },
                    taken: Arc::default(),
                    names_known: true,
                    only_maybe: false,
                }));
                continue;
            }
            let job = SavedJob::Down {
                ws: ws.clone(),
                entry,
                root: root.clone(),
                target,
            };
            plan.items.push(Planned::Start(job));
        }
        plan
    }

    /// Queue what [`Engine::plan_download`] found.
    pub fn downloaded(&mut self, epoch: u64, plan: PreparedDownload) {
        self.queue_planned(epoch, plan);
        // Only now: the next plan must see this one's targets in use.
        self.planning = false;
        self.next_plan();
    }

    fn queue_planned(&mut self, epoch: u64, plan: PreparedDownload) {
        if let Some(text) = plan.problem {
            self.problem(text);
            return;
        }
        let mut in_use = self.targets_in_use();
        let mut conflicts = Vec::new();
        let mut starts = Vec::new();
        for item in plan.items {
            match item {
                Planned::Refused(info, why) => {
                    let id = self.add(info);
                    let state = TransferState::Skipped(why);
                    let _ = self.events.send(Event::TransferState { id, state });
                }
                Planned::Conflict(c) if !writes_into(&c.job, &in_use) => conflicts.push(c),
                // A conflict whose target another download took meanwhile gets a fresh
                // name: nothing to ask.
                Planned::Conflict(Conflict { job, .. }) | Planned::Start(job) => {
                    starts.push(reclaim(job, &mut in_use));
                }
            }
        }
        self.start_or_refuse(starts, conflicts, epoch);
    }

    fn add(&mut self, info: TransferInfo) -> TransferId {
        let id = self.next_id;
        self.next_id += 1;
        let _ = self.events.send(Event::TransferAdded { id, info });
        id
    }

    /// List `job` and start it, or list it as cancelled when everything was cancelled
    /// after it was asked for (at `epoch`).
    fn begin(&mut self, job: Job, epoch: u64) {
        let id = self.add(info_of(&job));
        if epoch == self.epoch {
            self.start(id, job);
        } else {
            let state = TransferState::Cancelled;
            let _ = self.events.send(Event::TransferState { id, state });
        }
    }

    fn start(&mut self, id: TransferId, job: Job) {
        self.slots.insert(
            id,
            Slot {
                job: job.clone(),
                token: CancellationToken::new(),
                progress: Progress::new(),
                phase: Phase::Queued,
                launch: 0,
            },
        );
        self.journal(id, Some(&job));
        self.waiting.push_back(id);
        self.pump();
    }

    /// Hand free permits to the transfers that have waited longest.
    fn pump(&mut self) {
        while let Some(&id) = self.waiting.front() {
            if !self
                .slots
                .get(&id)
                .is_some_and(|s| s.phase == Phase::Queued)
            {
                self.waiting.pop_front();
                continue;
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                return;
            };
            self.waiting.pop_front();
            self.launch(id, permit);
        }
    }

    fn launch(&mut self, id: TransferId, permit: tokio::sync::OwnedSemaphorePermit) {
        let launch = self.next_launch;
        self.next_launch += 1;
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        slot.launch = launch;
        let (job, token, progress) = (slot.job.clone(), slot.token.clone(), slot.progress.clone());
        let client = self.client.clone();
        let finished = self.finished_tx.clone();
        let running = self.running_tx.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = running.send((id, launch));
            let _ = events.send(Event::TransferState {
                id,
                state: TransferState::Running,
            });
            let result = run(&client, &job, &progress, &token).await;
            let (mut uploaded, mut note) = (None, None);
            let state = match result {
                Ok((entry, why)) => {
                    (uploaded, note) = (entry, why);
                    if token.is_cancelled() {
                        // Past the point of no return (see README, "What cancel does"):
                        // it finished, and the row says so rather than "cancelled".
                        let late = match &job {
                            SavedJob::Up { .. } => {
                                "the cancel came too late: the file had been sent in full \
                                 and is on the server (remove it if it is not wanted)"
                            }
                            SavedJob::Down { .. } => {
                                "the cancel came too late: the file was already in place"
                            }
                        };
                        note = Some(match note {
                            Some(n) => format!("{late}; {n}"),
                            None => late.to_string(),
                        });
                    }
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
            // The permit goes back before the loop hears of the end, so the next transfer
            // in line can have it then.
            drop(permit);
            let _ = finished.send(Finished {
                id,
                state,
                uploaded,
                note,
            });
        });
    }

    pub fn mark_running(&mut self, (id, launch): Started) {
        if let Some(s) = self.slots.get_mut(&id)
            && s.phase == Phase::Queued
            && s.launch == launch
        {
            s.phase = Phase::Running;
            self.running += 1;
        }
    }

    pub fn finished(&mut self, f: Finished) {
        if let Some(slot) = self.slots.get_mut(&f.id) {
            if slot.phase == Phase::Running {
                self.running -= 1;
            }
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
        if let Some(note) = f.note {
            let _ = self.events.send(Event::TransferNote { id: f.id, note });
        }
        if f.state == TransferState::Done || f.state == TransferState::Cancelled {
            // Nothing left to retry.
            self.slots.remove(&f.id);
        } else if let Some(slot) = self.slots.get_mut(&f.id) {
            slot.phase = Phase::Failed;
        }
        // A failed transfer is not resumed by the next run (`R` retries it in this one).
        self.journal(f.id, None);
        let _ = self.events.send(Event::TransferState {
            id: f.id,
            state: f.state,
        });
        self.pump();
    }

    /// Progress of running transfers, as one event.
    pub fn sample(&mut self) {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let retries = self.client.config().retry.max_attempts.saturating_sub(1);
        let mut samples = Vec::new();
        for (id, s) in &self.slots {
            if s.phase != Phase::Running {
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
        let Some(s) = self.slots.get(&id) else {
            return;
        };
        s.token.cancel();
        if s.phase == Phase::Resolving {
            // Nothing was started: it ends here (its hashing stops at its next chunk).
            self.slots.remove(&id);
            let state = TransferState::Cancelled;
            let _ = self.events.send(Event::TransferState { id, state });
        } else if s.phase == Phase::Queued
            && let Some(at) = self.waiting.iter().position(|w| *w == id)
        {
            // Never handed a permit: no task, nothing sent.
            self.waiting.remove(at);
            self.finished(Finished {
                id,
                state: TransferState::Cancelled,
                uploaded: None,
                note: None,
            });
        }
    }

    pub fn cancel_all(&mut self) {
        self.epoch += 1;
        // Those still in line end first, in one go, so none of them is handed a permit
        // as running ones end.
        let waiting: Vec<TransferId> = std::mem::take(&mut self.waiting).into();
        let mut resolving = Vec::new();
        for (id, s) in &self.slots {
            s.token.cancel();
            if s.phase == Phase::Resolving {
                resolving.push(*id);
            }
        }
        for id in waiting {
            if self
                .slots
                .get(&id)
                .is_some_and(|s| s.phase == Phase::Queued)
            {
                self.finished(Finished {
                    id,
                    state: TransferState::Cancelled,
                    uploaded: None,
                    note: None,
                });
            }
        }
        resolving.sort();
        for id in resolving {
            self.cancel(id);
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

    /// Note in the queue that the job under `key` is now `job` (sent to the journal's
    /// thread: the loop does not wait for the disk).
    fn journal(&mut self, key: u64, job: Option<&SavedJob>) {
        if self.saving
            && let Some(journal) = &self.journal
        {
            journal.record(key, job.cloned());
            self.unsettled = true;
        }
    }

    /// Once no transfer runs, let the queue fold its journal into a durable snapshot
    /// (its thread does; while busy it folds when the journal has grown).
    pub fn settle(&mut self) {
        if self.unsettled
            && self.running == 0
            && let Some(journal) = &self.journal
        {
            journal.settle();
            self.unsettled = false;
        }
    }

    /// Retry every failed transfer of `ids`; those that cannot be are named, with why, in
    /// one problem (never passed over in silence).
    pub fn retry(&mut self, ids: Vec<TransferId>) {
        let mut not = Vec::new();
        for id in ids {
            let Some(slot) = self.slots.get(&id) else {
                not.push(match self.unretryable.get(&id) {
                    Some(why) => why.clone(),
                    None => format!("transfer {id} has ended (done, cancelled or skipped)"),
                });
                continue;
            };
            // Only a failed one: a queued or resolving one is still on its way.
            if slot.phase != Phase::Failed {
                not.push(format!("{} is still under way", info_of(&slot.job).remote));
                continue;
            }
            let job = slot.job.clone();
            let _ = self.events.send(Event::TransferState {
                id,
                state: TransferState::Queued,
            });
            self.start(id, job);
        }
        if !not.is_empty() {
            let n = not.len();
            self.problem(format!(
                "{n} transfer{} not retried: {}",
                if n == 1 { "" } else { "s" },
                not.join("; ")
            ));
        }
    }
}

impl Drop for Engine {
    /// The worker is gone: no file is hashed for a transfer nobody will start.
    fn drop(&mut self) {
        for s in self.slots.values() {
            if s.phase == Phase::Resolving {
                s.token.cancel();
            }
        }
    }
}

/// Whether `job` downloads into a target of `in_use`.
fn writes_into(job: &SavedJob, in_use: &HashSet<PathBuf>) -> bool {
    matches!(job, SavedJob::Down { target, .. } if in_use.contains(target))
}

/// `job` with a fresh target if another download took its own while it was chosen off
/// the loop (two batches planned at once); its target is then in use. Two transfers must
/// never share a partial file. Rare, so the few stats a fresh name needs are made here.
fn reclaim(mut job: SavedJob, in_use: &mut HashSet<PathBuf>) -> SavedJob {
    if let SavedJob::Down { target, .. } = &mut job {
        if in_use.contains(target) {
            *target = beside(target, in_use);
        }
        in_use.insert(target.clone());
    }
    job
}

/// The targets of conflicts answered "overwrite" or "keep both" (in a blocking thread:
/// "keep both" looks for a free name on disk). `in_use`: the targets this run's
/// transfers hold.
fn name_targets(items: Vec<(Choice, Conflict)>, mut in_use: HashSet<PathBuf>) -> Vec<SavedJob> {
    let mut jobs = Vec::with_capacity(items.len());
    for (choice, c) in items {
        let mut job = c.job;
        match (choice, &mut job) {
            (
                Choice::KeepBoth,
                SavedJob::Up {
                    folder,
                    name,
                    replaces,
                    ..
                },
            ) => {
                *name = numbered(name, |n| c.taken.contains(&format!("{folder}{n}")));
                replaces.clear();
            }
            (Choice::KeepBoth, SavedJob::Down { target, .. }) => {
                *target = beside(target, &in_use);
            }
            // Overwrite what is on disk, never what another download is writing.
            (_, SavedJob::Down { target, .. }) => {
                *target = claim(std::mem::take(target), &in_use);
            }
            (_, SavedJob::Up { .. }) => {}
        }
        if let SavedJob::Down { target, .. } = &job {
            in_use.insert(target.clone());
        }
        jobs.push(job);
    }
    jobs
}

/// What a transfer that ended well leaves: the server's entry of an upload, and a note.
type Outcome = (Option<FileEntry>, Option<String>);

async fn run(
    client: &Client,
    job: &Job,
    progress: &Progress,
    token: &CancellationToken,
) -> Result<Outcome, ApiError> {
    match job {
        SavedJob::Up {
            ws,
            local,
            folder,
            name,
            replaces,
            description,
            ..
        } => {
            let req = UploadRequest {
                workspace: ws,
                local,
                folder,
                name: Some(name),
                description: description.as_deref(),
            };
            let up = client.upload(&req, progress, token).await?;
            if let Some(why) = &up.unverified {
                tracing::warn!(key = %up.entry.key, "{why}");
            }
            // "Overwrite" where keys are opaque: the older copies go only now that the new
            // one is in and verified, so a failed or unverifiable upload never costs the
            // old file.
            let older: Vec<&String> = replaces.iter().filter(|k| **k != up.entry.key).collect();
            if let (Some(why), false) = (&up.unverified, older.is_empty()) {
                let note = format!(
                    "{why}; so the older file{} of {folder}{name} ({}) {} kept: remove {} \
                     once the new one is checked",
                    if older.len() == 1 { "" } else { "s" },
                    older
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if older.len() == 1 { "is" } else { "are" },
                    if older.len() == 1 { "it" } else { "them" },
                );
                return Ok((Some(up.entry), Some(note)));
            }
            let replaced = (older.len() > 1).then(|| {
                format!(
                    "replaced the {} files of {folder}{name} ({})",
                    older.len(),
                    older
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            for old in older {
                if let Err(e) = client.delete(ws, old).await {
                    return Err(ApiError::Local(format!(
                        "uploaded as {}, but the older copy {old} could not be removed ({e}): \
                         {folder}{name} names two files now",
                        up.entry.key
                    )));
                }
            }
            Ok((Some(up.entry), replaced.or(up.unverified)))
        }
        SavedJob::Down {
            ws,
            entry,
            root,
            target,
        } => client
            .download(ws, entry, root, target, progress, token)
            .await
            .map(|_| (None, None)),
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
            ..
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

/// The local side of a job: the file that would be sent or overwritten, and the size the
/// transfer has.
fn local_side(job: &SavedJob) -> (PathBuf, Option<u64>) {
    match job {
        SavedJob::Up { local, size, .. } => (local.clone(), Some(*size)),
        SavedJob::Down { target, entry, .. } => (target.clone(), entry.size),
    }
}

/// The hex SHA-256 of the first `len` bytes of `path`; `None` once `cancel` fires
/// (checked between chunks, so a cancelled comparison stops reading within a chunk).
fn sha256_unless(
    path: &Path,
    len: u64,
    cancel: &CancellationToken,
) -> Option<std::io::Result<String>> {
    use sha2::Digest;
    use std::io::Read;
    let mut reader = match std::fs::File::open(path) {
        Ok(f) => f.take(len),
        Err(e) => return Some(Err(e)),
    };
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return None;
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(hex::encode(hasher.finalize())))
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
    // A dangling link is a name taken too: never written through, never replaced.
    let name = numbered(&name.to_string_lossy(), |n| {
        let p = dir.join(n);
        p.symlink_metadata().is_ok() || in_use.contains(&p)
    });
    dir.join(name)
}

fn numbered(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (1..)
        .map(|n| {
            // A name may have 255 bytes: the stem gives way to the number (at a char
            // boundary), so a long name still gets a numbered one.
            let tag = format!(" ({n}){ext}");
            let mut cut = stem.len().min(255usize.saturating_sub(tag.len()));
            while !stem.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}{tag}", &stem[..cut])
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::{beside, numbered};

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_is_a_taken_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("a (1).txt")).unwrap();
        let got = beside(&dir.path().join("a.txt"), &Default::default());
        assert_eq!(got, dir.path().join("a (2).txt"));
    }

    #[test]
    fn numbered_names_fit_in_255_bytes() {
        assert_eq!(numbered("a.vcf", |_| false), "a (1).vcf");
        assert_eq!(numbered("a.vcf", |n| n == "a (1).vcf"), "a (2).vcf");
        let long = format!("{}.gz", "é".repeat(126));
        let got = numbered(&long, |_| false);
        assert!(got.len() <= 255 && got.ends_with(" (1).gz"), "{got}");
    }
}

/// An upload walked and checked, ready to be queued.
pub struct PreparedUpload {
    ws: String,
    /// As the user typed it.
    local: String,
    jobs: Vec<crate::local::PutJob>,
    problems: Vec<crate::local::Problem>,
    /// What already exists remotely under the destination, by `path + name` (several
    /// files where keys are opaque).
    existing: HashMap<String, Vec<FileEntry>>,
    listed: Listed,
    description: Option<String>,
    /// Paths as typed that do not exist.
    missing: Vec<String>,
}

/// The listing `existing` came from.
#[derive(Default)]
struct Listed {
    folder: String,
    /// Not cut short: what it does not hold does not exist.
    complete: bool,
}

/// A listed folder as a message names it.
fn shown_folder(folder: &str) -> &str {
    if folder.is_empty() {
        "the workspace"
    } else {
        folder
    }
}

/// Why "skip if identical" cannot be answered for a file.
const NOT_COMPARABLE: &str =
    "whether it is identical cannot be told: the server gives no SHA-256 (or size) of it";

/// The slow part of queueing an upload, off the worker's loop: walk the local path (in a
/// blocking thread) and list what already exists under the destination.
pub async fn prepare_upload(
    client: Client,
    ws: String,
    locals: Vec<String>,
    folder: String,
) -> PreparedUpload {
    let paths: Vec<PathBuf> = locals.iter().map(|l| expand_tilde(l)).collect();
    let local = locals.join(" ");
    let folder = normalise_folder(&folder);
    let typed = locals.clone();
    let walked = tokio::task::spawn_blocking(move || {
        // A path that is not there is a typo, not a transfer: refused at once, no row.
        let (paths, missing): (Vec<_>, Vec<_>) = paths
            .into_iter()
            .zip(typed)
            .partition(|(p, _)| !matches!(std::fs::metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound));
        let paths: Vec<PathBuf> = paths.into_iter().map(|(p, _)| p).collect();
        let (mut jobs, problems) = collect_uploads(&paths, &folder);
        // Started in the order the user reads them: by remote path.
        jobs.sort_by(|a, b| (&a.folder, &a.name).cmp(&(&b.folder, &b.name)));
        let missing: Vec<String> = missing.into_iter().map(|(_, typed)| typed).collect();
        (jobs, problems, missing)
    })
    .await;
    let (jobs, mut problems, missing) = walked.unwrap_or_else(|e| {
        let why = format!("reading it failed: {e}");
        (
            Vec::new(),
            vec![crate::local::Problem {
                path: local.clone().into(),
                why,
                skipped: false,
            }],
            Vec::new(),
        )
    });

    // Two local files bound for one remote path: the second is not sent over the first.
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut jobs = jobs;
    jobs.retain(|j| {
        let remote = format!("{}{}", j.folder, j.name);
        match seen.get(&remote) {
            Some(first) => {
                problems.push(crate::local::Problem {
                    path: j.local.clone(),
                    why: format!(
                        "{} is uploaded as {remote} already; upload this one separately",
                        first.display()
                    ),
                    skipped: false,
                });
                false
            }
            None => {
                seen.insert(remote, j.local.clone());
                true
            }
        }
    });
    let mut existing: HashMap<String, Vec<FileEntry>> = HashMap::new();
    let mut listed = Listed::default();
    if !jobs.is_empty() {
        // Only what could collide: the deepest folder holding every file of the batch,
        // not a whole (possibly million-file) workspace.
        let folders: Vec<String> = jobs.iter().map(|j| j.folder.clone()).collect();
        let dest = crate::wire::common_folder(&folders);
        match client.list_all(&ws, &dest).await {
            Ok(l) => {
                listed = Listed {
                    folder: dest,
                    complete: !l.maybe_incomplete,
                };
                for f in l.files {
                    existing.entry(f.display_key()).or_default().push(f);
                }
            }
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
                    listed,
                    description: None,
                    missing,
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
        listed,
        description: None,
        missing,
    }
}
