//! `ls`, `put`, `get` and `rm`: what each argument names on the server, then handed to
//! the transfer engine (see `batch`) or deleted.
//!
//! Uploads and downloads share the browser's engine: one conflict policy, free-space
//! check, numbered names, integrity checks and partial files for both. The command line
//! answers conflicts from `--on-conflict`, never prompts, and never takes the browser's
//! queue: what an interrupted download leaves is its partial file, which the next `get`
//! resumes.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use humansize::{BINARY, format_size};

use super::Failure;
use super::batch::{conclude, run_batch};
use crate::api::{ApiError, Client, FileEntry, local_name};
use crate::app::Command;
use crate::app::msg::OnConflict;
use crate::sanitize::for_terminal;

pub(super) async fn ls(client: &Client, ws: &str, prefix: &str, json: bool) -> Result<(), Failure> {
    let listing = client.list_all(ws, prefix).await?;
    if json {
        let out = crate::sanitize::to_json(&listing.files)
            .map_err(|e| Failure::Failed(format!("cannot encode the listing: {e}")))?;
        println!("{out}");
    } else {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for f in &listing.files {
            let created = crate::sanitize::for_terminal(f.created_at.as_deref().unwrap_or("-"));
            let display = f.display_key();
            // Where keys are opaque the key is what tells two files of one path apart (and
            // what `get`/`rm` take to name one of them): shown after the path.
            let key = if f.key == display {
                String::new()
            } else {
                format!("  key={}", crate::sanitize::for_terminal(&f.key))
            };
            let _ = writeln!(
                out,
                "{:>10}  {:<20}  {}{key}",
                f.size
                    .map_or_else(|| "?".to_string(), |s| format_size(s, BINARY)),
                created,
                crate::sanitize::for_terminal(&display)
            );
        }
        let _ = out.flush();
    }
    if listing.maybe_incomplete {
        eprintln!(
            "filedeck: warning: the server returned a full page without a cursor; \
             there may be more than {} files",
            listing.files.len()
        );
    }
    Ok(())
}

pub async fn put(
    client: &Client,
    ws: &str,
    paths: &[PathBuf],
    to: &str,
    description: Option<&str>,
    concurrency: usize,
    answer: OnConflict,
) -> Result<(), Failure> {
    let mut locals = Vec::with_capacity(paths.len());
    for p in paths {
        match p.to_str() {
            Some(s) => locals.push(s.to_string()),
            None => {
                return Err(Failure::Usage(format!(
                    "{} is not a valid UTF-8 path, and no key could hold its name",
                    p.display()
                )));
            }
        }
    }
    let command = Command::UploadPaths {
        ws: ws.to_string(),
        locals,
        folder: to.to_string(),
        description: description.map(str::to_string),
    };
    run_batch(client, concurrency, answer, "uploads", command, Vec::new()).await
}

pub async fn get(
    client: &Client,
    ws: &str,
    keys: &[String],
    to: &Path,
    concurrency: usize,
    answer: OnConflict,
) -> Result<(), Failure> {
    let mut files: Vec<(FileEntry, String)> = Vec::new();
    let mut failures = Vec::new();
    for key in keys {
        if key.is_empty() {
            return Err(Failure::Usage("an empty key names no file".into()));
        }
        match resolve(client, ws, key).await {
            Ok(found) => files.extend(found),
            Err(Resolve::Ambiguous(why)) => return Err(Failure::Usage(why)),
            Err(Resolve::Failed(e)) => failures.push(format!("{key}: {e}")),
        }
    }
    // A name the server chose never picks where a file lands: refused, it is a line on
    // stderr and a failure, and nothing is written (the engine checks the same again).
    files.retain(|(entry, rel)| match local_name(entry, rel) {
        Ok(()) => true,
        Err(why) => {
            failures.push(format!(
                "{}: not downloaded: {why}",
                for_terminal(&entry.key)
            ));
            false
        }
    });
    if files.is_empty() {
        return conclude("downloads", failures.len(), failures);
    }
    // The engine takes the folder as text: a lossy rendering would be another folder.
    let Some(dest) = to.to_str() else {
        return Err(Failure::Usage(format!(
            "{} is not a valid UTF-8 path; give a folder whose name is",
            to.display()
        )));
    };
    let command = Command::Download {
        ws: ws.to_string(),
        dest: dest.to_string(),
        files,
    };
    run_batch(client, concurrency, answer, "downloads", command, failures).await
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
        let parent = crate::wire::split_key(arg.trim_end_matches('/')).0;
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
    let entry = one_file(client, ws, arg, false).await?;
    let rel = entry.name.clone();
    Ok(vec![(entry, rel)])
}

/// The one file `arg` names, as a display path or else as a key. `sure`: a display path
/// found in a listing that may be incomplete is refused (another file of that path may be
/// in the part not listed), as a delete must be.
async fn one_file(client: &Client, ws: &str, arg: &str, sure: bool) -> Result<FileEntry, Resolve> {
    let lookup = client.lookup(ws, arg).await?;
    let mut matches = lookup.matches.into_iter();
    match (matches.next(), matches.next()) {
        (None, _) => {}
        // A key given exactly names one file, whatever else the listing left out.
        (Some(only), None) if sure && lookup.maybe_incomplete && only.key != arg => {
            return Err(Resolve::Ambiguous(format!(
                "{} may name more than one file: the server's listing of its folder may be \
                 incomplete; give the key of the one you mean (key {})",
                for_terminal(arg),
                for_terminal(&only.key)
            )));
        }
        (Some(only), None) => return Ok(only),
        (Some(first), Some(second)) => {
            let keys: Vec<String> = [first, second]
                .iter()
                .chain(matches.as_slice())
                .map(|f| for_terminal(&f.key))
                .collect();
            return Err(Resolve::Ambiguous(format!(
                "{} names {} files (keys {}); give the key of the one you mean",
                for_terminal(arg),
                keys.len(),
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
    Ok(listed.unwrap_or_else(|| FileEntry {
        size: found.size,
        ..FileEntry::of_key(arg)
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
        if key.is_empty() {
            return Err(Failure::Usage(
                "an empty key names no file (a folder is written with its /: rm -r raw/)".into(),
            ));
        }
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
            let before = targets.len();
            targets.extend(
                listing
                    .files
                    .into_iter()
                    .filter(|f| f.display_key().starts_with(key.as_str()))
                    .map(|f| f.key),
            );
            // A mistyped folder deletes nothing: that is said, not passed off as success.
            if targets.len() == before {
                return Err(Failure::Failed(format!(
                    "{}: no files under it in {}; nothing deleted",
                    for_terminal(key),
                    for_terminal(ws)
                )));
            }
        } else {
            match one_file(client, ws, key, true).await {
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
