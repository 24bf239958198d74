//! Conflicts: a job whose destination already holds a file of its name, found when a
//! prepared batch is queued, asked about (or answered by `--on-conflict`), and settled;
//! numbered names and the targets no two transfers may share.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::engine::Engine;
use super::prepare::{Plan, PreparedUpload};
use super::queue::SavedJob;
use super::task::info_of;
use crate::app::marks::remote_label;
use crate::app::msg::{Choice, ConflictItem, ConflictPolicy, Event, OnConflict, TransferState};
use crate::app::transfers::{Direction, TransferInfo};

/// A job whose destination already has a file of that name.
pub(super) struct Conflict {
    pub(super) item: ConflictItem,
    pub(super) job: SavedJob,
    pub(super) existing_sha: Option<String>,
    /// Remote keys already taken (for "keep both" on uploads).
    pub(super) taken: Arc<HashSet<String>>,
    /// `taken` is all there is: a numbered name it lacks is free. Not so when the listing
    /// it came from may be incomplete.
    pub(super) names_known: bool,
    /// Nothing of that path was listed: it only may exist (the listing may be incomplete).
    pub(super) only_maybe: bool,
}

/// Why "skip if identical" cannot be answered for a file.
const NOT_COMPARABLE: &str =
    "whether it is identical cannot be told: the server gives no SHA-256 (or size) of it";

/// A listed folder as a message names it.
fn shown_folder(folder: &str) -> &str {
    if folder.is_empty() {
        "the workspace"
    } else {
        folder
    }
}

impl Engine {
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

/// Whether `job` downloads into a target of `in_use`.
pub(super) fn writes_into(job: &SavedJob, in_use: &HashSet<PathBuf>) -> bool {
    matches!(job, SavedJob::Down { target, .. } if in_use.contains(target))
}

/// `job` with a fresh target if another download took its own while it was chosen off
/// the loop (two batches planned at once); its target is then in use. Two transfers must
/// never share a partial file. Rare, so the few stats a fresh name needs are made here.
pub(super) fn reclaim(mut job: SavedJob, in_use: &mut HashSet<PathBuf>) -> SavedJob {
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
pub(super) fn name_targets(
    items: Vec<(Choice, Conflict)>,
    mut in_use: HashSet<PathBuf>,
) -> Vec<SavedJob> {
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

/// The local side of a job: the file that would be sent or overwritten, and the size the
/// transfer has.
fn local_side(job: &SavedJob) -> (PathBuf, Option<u64>) {
    match job {
        SavedJob::Up { local, size, .. } => (local.clone(), Some(*size)),
        SavedJob::Down { target, entry, .. } => (target.clone(), entry.size),
    }
}

/// "name (1).ext", "name (2).ext"… the first that `taken` says is free.
/// `target`, or a numbered name beside it when another download of this run already
/// writes there (two marked files of one name, the same file asked for twice): two
/// transfers must never share a partial file.
pub(super) fn claim(target: PathBuf, in_use: &std::collections::HashSet<PathBuf>) -> PathBuf {
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
