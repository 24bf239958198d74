//! Conflict policies: a batch's conflicts asked of the user or answered by `--on-conflict`,
//! and each answer applied (skip, compare, overwrite, keep both, or refuse with why).

use std::path::PathBuf;

use super::conflicts::{Conflict, NOT_COMPARABLE};
use super::engine::Engine;
use super::prepare::Plan;
use super::queue::SavedJob;
use super::task::info_of;
use crate::app::msg::{Choice, ConflictPolicy, Event, OnConflict};
use crate::app::transfer_types::TransferState;

impl Engine {
    /// Start a batch's jobs and settle its conflicts; under `--on-conflict fail`, a batch
    /// with any conflict transfers nothing.
    pub(super) fn start_or_refuse(
        &mut self,
        starts: Vec<SavedJob>,
        conflicts: Vec<Conflict>,
        epoch: u64,
    ) {
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
    /// Both come back as [`Ready`](super::engine::Ready).
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
}

/// The local side of a job: the file that would be sent or overwritten, and the size the
/// transfer has.
fn local_side(job: &SavedJob) -> (PathBuf, Option<u64>) {
    match job {
        SavedJob::Up { local, size, .. } => (local.clone(), Some(*size)),
        SavedJob::Down { target, entry, .. } => (target.clone(), entry.size),
    }
}
