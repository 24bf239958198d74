//! Queueing a command's transfers: its preparation handed to a task, and what comes back
//! applied (an upload's conflicts found against the listing, download plans one at a time
//! so each sees the targets of those before it).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::conflicts::{Conflict, name_targets, reclaim, shown_folder, writes_into};
use super::engine::{Engine, Ready};
use super::prepare::{
    Plan, Planned, PreparedDownload, PreparedUpload, plan_download, prepare_upload,
};
use super::queue::SavedJob;
use crate::api::FileEntry;
use crate::app::marks::remote_label;
use crate::app::msg::{ConflictItem, Event};
use crate::app::transfer_types::TransferState;
use crate::app::transfer_types::{Direction, TransferInfo};

impl Engine {
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

    /// Queue what [`Engine::prepare_upload`] found: its files, its problems and its conflicts.
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
                    let one = match found.as_slice() {
                        [f] => Some(f),
                        _ => None,
                    };
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

    /// Local files this run's downloads are writing (or will write, or may retry).
    pub(super) fn targets_in_use(&self) -> HashSet<PathBuf> {
        self.slots
            .values()
            .filter_map(|s| match &s.job {
                SavedJob::Down { target, .. } => Some(target.clone()),
                SavedJob::Up { .. } => None,
            })
            .collect()
    }

    pub(super) fn plan(&mut self, plan: Plan) {
        self.plans.push_back((self.epoch, plan));
        self.next_plan();
    }

    /// Start the next plan unless one is under way.
    pub(super) fn next_plan(&mut self) {
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
                    let prepared = plan_download(ws, dest, files, in_use).await;
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

    /// Queue downloads under `dest`: the room there and the files already there are
    /// checked by a task; [`Ready::Download`] brings them to [`Engine::downloaded`].
    pub fn download(&mut self, ws: String, dest: String, files: Vec<(FileEntry, String)>) {
        self.plan(Plan::Download { ws, dest, files });
    }

    /// Queue what [`plan_download`] found.
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
}
