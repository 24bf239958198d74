//! `put`, `get` and `rm`: many files at once, bounded concurrency, one line per failure.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Failure;
use super::progress::Meter;
use crate::api::{ApiError, Client, FileEntry, UploadRequest, safe_join};
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
            r.map_err(|e| format!("{}: {e}", job.local.display()))
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
    tokio::fs::create_dir_all(to)
        .await
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", to.display())))?;
    let mut jobs: Vec<(FileEntry, String)> = Vec::new();
    let mut failures = Vec::new();
    for key in keys {
        match resolve(client, ws, key).await {
            Ok(found) => jobs.extend(found),
            Err(e) => failures.push(format!("{key}: {e}")),
        }
    }
    // Two remote files landing on one local path would race for one partial file:
    // refuse that before anything is written.
    let mut seen = std::collections::HashMap::new();
    for (e, rel) in &jobs {
        if let Some(other) = seen.insert(rel.clone(), e.display_key()) {
            return Err(Failure::Failed(format!(
                "{} and {} would both be written to {}; download them separately",
                other,
                e.display_key(),
                to.join(rel).display()
            )));
        }
    }
    let total = jobs.len() + failures.len();
    let meter = Meter::new(jobs.len(), jobs.iter().map(|(e, _)| e.size).sum());
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
            meter.finish(&progress, if r.is_ok() { entry.size } else { 0 });
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

/// A key, or a folder (ending in `/`) expanded to its files, each with the relative
/// local path it lands at: a folder keeps its own name.
async fn resolve(
    client: &Client,
    ws: &str,
    key: &str,
) -> Result<Vec<(FileEntry, String)>, ApiError> {
    let listing = client.list_all(ws, key).await?;
    if key.ends_with('/') {
        if listing.maybe_incomplete {
            return Err(ApiError::Protocol(
                "the server's listing may be cut short (a full page without a cursor); \
                 refusing to download part of a folder"
                    .into(),
            ));
        }
        // The folder keeps its own name locally: `get results/run1/` writes `run1/...`.
        let parent = crate::api::types::split_key(key.trim_end_matches('/')).0;
        // Only what is really under the folder, whatever the server's prefix filter did.
        let files: Vec<_> = listing
            .files
            .into_iter()
            .filter_map(|f| {
                let dk = f.display_key();
                if !dk.starts_with(key) {
                    return None;
                }
                let rel = dk.strip_prefix(parent)?.to_string();
                Some((f, rel))
            })
            .collect();
        if files.is_empty() {
            return Err(ApiError::NotFound(format!("no files under {key}")));
        }
        return Ok(files);
    }
    listing
        .files
        .into_iter()
        .find(|f| f.key == key || f.display_key() == key)
        .map(|f| {
            let rel = f.name.clone();
            vec![(f, rel)]
        })
        .ok_or_else(|| ApiError::NotFound(format!("no file {key}")))
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
            targets.push(key.clone());
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
