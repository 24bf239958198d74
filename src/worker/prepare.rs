//! Preparation, off the worker's loop: walking what is uploaded and listing what exists at
//! its destination; making a download's folder, checking its free space and which targets
//! exist. What it finds is plain data the engine then queues (`enqueue`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::conflicts::{Conflict, claim};
use super::queue::SavedJob;
use crate::api::{ApiError, Client, FileEntry, local_name, safe_join};
use crate::app::msg::{Choice, ConflictItem};
use crate::app::transfer_types::{Direction, TransferInfo};
use crate::local::{collect_uploads, expand_tilde, normalise_folder};

/// Work that chooses local targets, off the loop.
pub(super) enum Plan {
    Download {
        ws: String,
        dest: String,
        files: Vec<(FileEntry, String)>,
    },
    /// Conflicts answered "overwrite" or "keep both".
    Name(Vec<(Choice, Conflict)>),
}

/// Downloads checked against their destination, in the order asked.
#[derive(Default)]
pub struct PreparedDownload {
    /// The whole batch cannot go there (no such folder, no room).
    pub(super) problem: Option<String>,
    pub(super) items: Vec<Planned>,
}

pub(super) enum Planned {
    /// Refused (a remote name that is no plain local name, or would write outside the
    /// folder): a skipped row with the reason, nothing written.
    Refused(TransferInfo, String),
    Start(SavedJob),
    /// Its target exists: the user is asked.
    Conflict(Conflict),
}

/// An upload walked and checked, ready to be queued.
pub struct PreparedUpload {
    pub(super) ws: String,
    /// As the user typed it.
    pub(super) local: String,
    pub(super) jobs: Vec<crate::local::PutJob>,
    pub(super) problems: Vec<crate::local::Problem>,
    /// What already exists remotely under the destination, by `path + name` (several
    /// files where keys are opaque).
    pub(super) existing: HashMap<String, Vec<FileEntry>>,
    pub(super) listed: Listed,
    pub(super) description: Option<String>,
    /// Paths as typed that do not exist.
    pub(super) missing: Vec<String>,
}

/// The listing `existing` came from.
#[derive(Default)]
pub(super) struct Listed {
    pub(super) folder: String,
    /// Not cut short: what it does not hold does not exist.
    pub(super) complete: bool,
}

/// The slow part of queueing downloads: make the folder, check the room there, and
/// see which targets exist. `in_use`: the targets this run's transfers held when the
/// downloads were asked for.
pub(super) async fn plan_download(
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
    if let Ok(Some(free)) = tokio::task::spawn_blocking(move || crate::local::free_space(&r)).await
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
