//! `put`, `get` and `rm`: many files at once, bounded concurrency, one line per failure.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Failure;
use super::progress::Meter;
use crate::api::{ApiError, Client, FileEntry, UploadRequest, local_name, safe_join};
use crate::local::{collect_uploads, normalise_folder};
use crate::sanitize::for_terminal;

/// Ctrl-C cancels the running transfers (partial downloads stay for a resume).
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        t.cancel();
    });
    token
}

/// Report per-item failures; one failure is the command's error, several are summed up.
fn conclude(verb: &str, total: usize, failures: Vec<String>) -> Result<(), Failure> {
    match failures.len() {
        0 => Ok(()),
        1 if total == 1 => Err(Failure::Failed(
            failures.into_iter().next().unwrap_or_default(),
        )),
        n => {
            for f in &failures {
                eprintln!("filedeck: error: {}", for_terminal(f));
            }
            Err(Failure::Failed(format!("{n} of {total} {verb} failed")))
        }
    }
}

pub async fn put(
    client: &Client,
    ws: &str,
    paths: &[PathBuf],
    to: &str,
    description: Option<&str>,
    concurrency: usize,
) -> Result<(), Failure> {
    let to = normalise_folder(to);
    let paths = paths.to_vec();
    let (jobs, skipped) = tokio::task::spawn_blocking(move || collect_uploads(&paths, &to))
        .await
        .map_err(|e| Failure::Failed(format!("walking the local files failed: {e}")))?;
    let mut seen = std::collections::HashMap::new();
    for j in &jobs {
        let remote = format!("{}{}", j.folder, j.name);
        if let Some(other) = seen.insert(remote.clone(), j.local.clone()) {
            return Err(Failure::Failed(format!(
                "{} and {} would both be uploaded as {remote}; upload them separately",
                other.display(),
                j.local.display(),
            )));
        }
    }
    let total = jobs.len() + skipped.len();
    let mut failures: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    let meter = Meter::new(jobs.len(), jobs.iter().map(|j| j.size).sum());
    let cancel = cancel_on_ctrl_c();
    let work = futures_util::stream::iter(jobs.iter().map(|job| {
        let meter = &meter;
        let cancel = &cancel;
        async move {
            let progress = meter.start();
            let req = UploadRequest {
                workspace: ws,
                local: &job.local,
                folder: &job.folder,
                name: Some(&job.name),
                description,
            };
            let r = client.upload(&req, &progress, cancel).await;
            meter.finish(&progress, if r.is_ok() { job.size } else { 0 });
            match r {
                Ok(up) => {
                    if let Some(why) = up.unverified {
                        eprintln!(
                            "filedeck: warning: {}: {}",
                            job.local.display(),
                            for_terminal(&why)
                        );
                    }
                    Ok(())
                }
                Err(e) => Err(format!("{}: {e}", job.local.display())),
            }
        }
    }))
    .buffer_unordered(concurrency)
    .collect::<Vec<_>>();
    let mut results = Vec::new();
    meter
        .run("uploading", async {
            results = work.await;
        })
        .await;
    failures.extend(results.into_iter().filter_map(Result::err));
    conclude("uploads", total, failures)
}

pub async fn get(
    client: &Client,
    ws: &str,
    keys: &[String],
    to: &Path,
    concurrency: usize,
) -> Result<(), Failure> {
    let mut jobs: Vec<(FileEntry, String)> = Vec::new();
    let mut failures = Vec::new();
    for key in keys {
        match resolve(client, ws, key).await {
            Ok(found) => jobs.extend(found),
            Err(Resolve::Ambiguous(why)) => return Err(Failure::Usage(why)),
            Err(Resolve::Failed(e)) => failures.push(format!("{key}: {e}")),
        }
    }
    // A name the server chose never picks where a file lands: refused, it is a line on
    // stderr and nothing is written.
    jobs.retain(|(entry, rel)| match local_name(entry, rel) {
        Ok(()) => true,
        Err(why) => {
            failures.push(format!("{}: not downloaded: {why}", entry.key));
            false
        }
    });
    tokio::fs::create_dir_all(to)
        .await
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", to.display())))?;
    // Two remote files landing on one local path would race for one partial file:
    // refuse that before anything is written.
    let mut seen = std::collections::HashMap::new();
    for (e, rel) in &jobs {
        if let Some(other) = seen.insert(rel.clone(), e.key.clone()) {
            return Err(Failure::Failed(format!(
                "{} and {} would both be written to {}; download them separately",
                other,
                e.key,
                to.join(rel).display()
            )));
        }
    }
    let total = jobs.len() + failures.len();
    let meter = Meter::new(jobs.len(), jobs.iter().filter_map(|(e, _)| e.size).sum());
    let cancel = cancel_on_ctrl_c();
    let work = futures_util::stream::iter(jobs.iter().map(|(entry, rel)| {
        let meter = &meter;
        let cancel = &cancel;
        async move {
            let label = for_terminal(&entry.display_key());
            let target = safe_join(to, rel).map_err(|e| format!("{label}: {e}"))?;
            let progress = meter.start();
            let r = client
                .download(ws, entry, to, &target, &progress, cancel)
                .await;
            let done = match &r {
                Ok(_) => entry.size.unwrap_or_else(|| progress.get()),
                Err(_) => 0,
            };
            meter.finish(&progress, done);
            r.map(|_| ()).map_err(|e| format!("{label}: {e}"))
        }
    }))
    .buffer_unordered(concurrency)
    .collect::<Vec<_>>();
    let mut results = Vec::new();
    meter
        .run("downloading", async {
            results = work.await;
        })
        .await;
    failures.extend(results.into_iter().filter_map(Result::err));
    conclude("downloads", total, failures)
}

/// Why an argument names no file to act on.
enum Resolve {
    /// A display path naming several files (opaque keys): a usage error naming them.
    Ambiguous(String),
    Failed(ApiError),
}

impl From<ApiError> for Resolve {
    fn from(e: ApiError) -> Self {
        Resolve::Failed(e)
    }
}

/// What `arg` names: a folder (ending in `/`) expanded to its files, each with the relative
/// local path it lands at (a folder keeps its own name); a display path (`raw/a.vcf`); or a
/// key exactly as `ls` prints it, which on an opaque-key service is nothing like the path.
async fn resolve(
    client: &Client,
    ws: &str,
    arg: &str,
) -> Result<Vec<(FileEntry, String)>, Resolve> {
    if arg.ends_with('/') {
        let listing = client.list_all(ws, arg).await?;
        if listing.maybe_incomplete {
            return Err(ApiError::Protocol(
                "the server's listing may be cut short (a full page without a cursor); \
                 refusing to download part of a folder"
                    .into(),
            )
            .into());
        }
        // The folder keeps its own name locally: `get results/run1/` writes `run1/...`.
        let parent = crate::api::types::split_key(arg.trim_end_matches('/')).0;
        let files: Vec<_> = listing
            .files
            .into_iter()
            .filter_map(|f| {
                let rel = f.display_key().strip_prefix(parent)?.to_string();
                Some((f, rel))
            })
            .collect();
        if files.is_empty() {
            return Err(ApiError::NotFound(format!("no files under {arg}")).into());
        }
        return Ok(files);
    }
    let entry = one_file(client, ws, arg).await?;
    let rel = entry.name.clone();
    Ok(vec![(entry, rel)])
}

/// The one file `arg` names, as a display path or else as a key.
async fn one_file(client: &Client, ws: &str, arg: &str) -> Result<FileEntry, Resolve> {
    let mut lookup = client.lookup(ws, arg).await?;
    match lookup.matches.len() {
        0 => {}
        1 => return Ok(lookup.matches.remove(0)),
        n => {
            let keys: Vec<String> = lookup
                .matches
                .iter()
                .map(|f| for_terminal(&f.key))
                .collect();
            return Err(Resolve::Ambiguous(format!(
                "{} names {n} files (keys {}); give the key of the one you mean",
                for_terminal(arg),
                keys.join(", ")
            )));
        }
    }
    let Some(found) = client.stat(ws, arg).await? else {
        let why = if lookup.maybe_incomplete {
            format!("no file {arg} (the listing of its folder may be incomplete)")
        } else {
            format!("no file {arg}")
        };
        return Err(ApiError::NotFound(why).into());
    };
    // A key: its listing entry carries the name it lands under (and its hash); only where
    // the server lists it nowhere does the key's last segment stand in for the name.
    let listed = client
        .list_all(ws, "")
        .await
        .ok()
        .and_then(|l| l.files.into_iter().find(|f| f.key == arg));
    Ok(listed.unwrap_or_else(|| {
        FileEntry {
            key: arg.to_string(),
            name: String::new(),
            path: String::new(),
            size: found.size,
            description: None,
            content_type: None,
            created_at: None,
            sha256: None,
            etag: None,
        }
        .normalise()
    }))
}

pub async fn rm(
    client: &Client,
    ws: &str,
    keys: &[String],
    recursive: bool,
) -> Result<(), Failure> {
    let mut targets = Vec::new();
    for key in keys {
        if key.ends_with('/') {
            if !recursive {
                return Err(Failure::Usage(format!(
                    "{key} is a folder: pass -r to delete every file under it"
                )));
            }
            let listing = client.list_all(ws, key).await?;
            if listing.maybe_incomplete {
                return Err(Failure::Failed(format!(
                    "{key}: the listing may be cut short; refusing to delete part of a folder"
                )));
            }
            // Only what is really under the folder, whatever the server's prefix filter did.
            targets.extend(
                listing
                    .files
                    .into_iter()
                    .filter(|f| f.display_key().starts_with(key.as_str()))
                    .map(|f| f.key),
            );
        } else {
            match one_file(client, ws, key).await {
                Ok(f) => targets.push(f.key),
                Err(Resolve::Ambiguous(why)) => return Err(Failure::Usage(why)),
                Err(Resolve::Failed(e)) => return Err(Failure::Failed(format!("{key}: {e}"))),
            }
        }
    }
    let total = targets.len();
    let failures: Vec<String> = futures_util::stream::iter(targets.iter().map(|key| async move {
        client
            .delete(ws, key)
            .await
            .map_err(|e| format!("{}: {e}", for_terminal(key)))
    }))
    .buffer_unordered(8)
    .filter_map(|r| async move { r.err() })
    .collect()
    .await;
    conclude("deletions", total, failures)
}
