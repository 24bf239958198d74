//! The engine's side of the saved queue: opening it off the loop, offering what the last
//! run left, resuming or dropping it, and telling the journal of every change.

use std::path::PathBuf;

use super::engine::{Engine, Phase, Ready};
use super::journal::Journal;
use super::queue::{QueueStore, SavedJob};
use super::task::info_of;
use crate::app::msg::Event;
use crate::app::transfer_types::TransferId;

impl Engine {
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
    pub(super) fn journal(&mut self, key: u64, job: Option<&SavedJob>) {
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
}
