//! The transfer engine's slots and their life: bounded concurrency (a semaphore), a
//! cancellation token per transfer, start, finish, progress sampled, cancel and retry.
//!
//! It lives inside the worker's loop; transfer tasks report back over a channel, never
//! through shared state the UI reads, and progress is sampled as plain data at most ten
//! times a second. Whatever a command needs from the disk or the network before a
//! transfer can be queued (walking a folder, the room and the existing files at a
//! destination, hashing for "skip if identical", new names beside existing files) runs as
//! a task of its own and comes back as [`Ready`], which the loop applies: the loop itself
//! never waits, so listings, cancels and progress go on meanwhile. The queue's files are
//! written by [`Journal`]'s thread.
//!
//! The rest of `Engine`'s impl is in files that name this one and that it never names:
//! `enqueue` (preparation handed off, its results queued), `answers` (conflicts asked and
//! answered), `identical` ("skip if identical") and `resume` (the saved queue).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::conflicts::Conflict;
use super::journal::Journal;
use super::prepare::{Plan, PreparedDownload, PreparedUpload};
use super::queue::SavedJob;
use super::task::{self, info_of};
use crate::api::{Client, FileEntry, Progress};
use crate::app::msg::{ConflictPolicy, Event};
use crate::app::transfer_types::TransferInfo;
use crate::app::transfer_types::{TransferId, TransferState};

/// Files hashed at once for "skip if identical": each is a disk read at full speed, and
/// a few in turn finish sooner than many side by side.
const HASHING: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Listed, its local file being hashed ("skip if identical"): not started, not saved.
    Resolving,
    /// Waiting for a permit.
    Queued,
    Running,
    /// Kept for a retry, not saved for a resume.
    Failed,
}

pub(super) struct Slot {
    pub(super) job: SavedJob,
    pub(super) token: CancellationToken,
    pub(super) progress: Progress,
    pub(super) phase: Phase,
    /// Which launch of the transfer this slot is (a retry is a new one): a task's "I
    /// have started" that arrives late, after its end and a retry, must not mark the
    /// retry as running (it would never be launched, and its batch never end).
    pub(super) launch: u64,
}

/// A started transfer task: (its id, its launch).
pub type Started = (TransferId, u64);

/// A finished transfer task's outcome.
pub struct Finished {
    pub(super) id: TransferId,
    pub(super) state: TransferState,
    /// What the server now lists for a finished upload.
    pub(super) uploaded: Option<FileEntry>,
    /// Something to know about how it ended well.
    pub(super) note: Option<String>,
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
    pub(super) client: Client,
    pub(super) events: mpsc::UnboundedSender<Event>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) hashing: Arc<Semaphore>,
    pub(super) slots: HashMap<TransferId, Slot>,
    /// Slots in [`Phase::Running`] (the sampler ticks only while there are some).
    pub(super) running: usize,
    /// Queued transfers not yet handed a permit, first come first started. Their tasks
    /// are spawned only once a permit is theirs: spawned tasks run in no set order (the
    /// runtime runs the newest first), so a batch would start from its end.
    pub(super) waiting: VecDeque<TransferId>,
    /// Rows listed as failed that have no job to run again, with why (a file the walk
    /// could not read, a conflict the command line could not answer).
    pub(super) unretryable: HashMap<TransferId, String>,
    pub(super) next_id: TransferId,
    pub(super) started: Instant,
    pub(super) finished_tx: mpsc::UnboundedSender<Finished>,
    /// Tasks that began running report it here (so the sampler knows).
    pub(super) running_tx: mpsc::UnboundedSender<Started>,
    pub(super) next_launch: u64,
    pub(super) ready_tx: mpsc::UnboundedSender<Ready>,
    pub(super) journal: Option<Journal>,
    /// A queue is open or being opened: changes are sent to the journal.
    pub(super) saving: bool,
    /// Changes were journaled since the last time the queue was told it may settle.
    pub(super) unsettled: bool,
    /// What the last run left, until the user says whether to resume it.
    pub(super) leftover: Vec<SavedJob>,
    /// Batches waiting for the user's answer to their conflicts.
    pub(super) conflicts: HashMap<u64, Vec<Conflict>>,
    pub(super) next_batch: u64,
    /// How many times everything was cancelled.
    pub(super) epoch: u64,
    /// Work that chooses download targets, one at a time in the order asked (each sees
    /// the targets of those before it), with the epoch it was asked at.
    pub(super) plans: VecDeque<(u64, Plan)>,
    /// A plan is under way.
    pub(super) planning: bool,
    /// Who answers conflicts: the user, or the command line's `--on-conflict`.
    pub(super) policy: ConflictPolicy,
    /// Uploads being walked and checked (their batches are not listed yet).
    pub(super) preparing: usize,
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

    pub(super) fn problem(&self, text: String) {
        let _ = self.events.send(Event::TransferProblem(text));
    }

    pub(super) fn add(&mut self, info: TransferInfo) -> TransferId {
        let id = self.next_id;
        self.next_id += 1;
        let _ = self.events.send(Event::TransferAdded { id, info });
        id
    }

    /// List `job` and start it, or list it as cancelled when everything was cancelled
    /// after it was asked for (at `epoch`).
    pub(super) fn begin(&mut self, job: SavedJob, epoch: u64) {
        let id = self.add(info_of(&job));
        if epoch == self.epoch {
            self.start(id, job);
        } else {
            let state = TransferState::Cancelled;
            let _ = self.events.send(Event::TransferState { id, state });
        }
    }

    pub(super) fn start(&mut self, id: TransferId, job: SavedJob) {
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

    fn launch(&mut self, id: TransferId, permit: OwnedSemaphorePermit) {
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
            let (state, uploaded, note) = task::run(&client, &job, &progress, &token).await;
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
            let at_ms = millis_since(self.started);
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
        let at_ms = millis_since(self.started);
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

/// Milliseconds since `start`, the clock of progress samples.
fn millis_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
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
