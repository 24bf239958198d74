//! `put`, `get` and `rm`. Uploads and downloads run through the browser's own transfer
//! engine (the worker): one conflict policy, free-space check, numbered names, integrity
//! checks and partial files for both. The command line answers conflicts from
//! `--on-conflict`, never prompts, and never takes the browser's queue: what an interrupted
//! download leaves is its partial file, which the next `get` resumes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use humansize::{BINARY, format_size};

use super::Failure;
use crate::api::{ApiError, Client, FileEntry, local_name};
use crate::app::msg::{ConflictItem, ConflictPolicy, OnConflict};
use crate::app::transfer_types::{TransferId, TransferInfo, TransferState};
use crate::app::{Command, Event};
use crate::sanitize::for_terminal;
use crate::worker;

/// Report per-item failures; one failure is the command's error, several are summed up.
fn conclude(verb: &str, total: usize, failures: Vec<String>) -> Result<(), Failure> {
    match failures.len() {
        0 => Ok(()),
        1 if total <= 1 => Err(Failure::Failed(
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

/// The flag's spelling of an answer, for messages.
fn flag(answer: OnConflict) -> &'static str {
    match answer {
        OnConflict::Fail => "fail",
        OnConflict::Skip => "skip",
        OnConflict::SkipIdentical => "skip-identical",
        OnConflict::Overwrite => "overwrite",
        OnConflict::Rename => "rename",
    }
}

/// One transfer as the command line follows it.
struct Row {
    info: TransferInfo,
    state: TransferState,
    done: u64,
}

impl Row {
    fn label(&self) -> String {
        for_terminal(&self.info.label())
    }
}

/// How long an interrupted `put` waits for its cancelled uploads to settle.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

/// Ctrl-C during `put`: cancel the uploads as the browser's `C` does, and wait until they
/// have settled — an upload whose bytes are all sent is seen through (the server may keep
/// it whatever we do), and only then are the files it replaces removed; quitting at once
/// would leave both on the server. A second Ctrl-C stops at once.
async fn settle_uploads(
    commands: &tokio::sync::mpsc::UnboundedSender<Command>,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    rows: &mut BTreeMap<TransferId, Row>,
    notes: &mut Vec<String>,
) {
    let _ = commands.send(Command::CancelAll);
    eprintln!(
        "filedeck: interrupted; cancelling the uploads (one whose bytes are all sent is \
         finished; Ctrl-C again stops at once)"
    );
    let again = super::shutdown_signal();
    let limit = tokio::time::sleep(SETTLE_WITHIN);
    tokio::pin!(again, limit);
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                None | Some(Event::TransfersIdle) => return,
                Some(Event::TransferState { id, state }) => {
                    if let Some(r) = rows.get_mut(&id) {
                        r.state = state;
                    }
                }
                Some(Event::TransferNote { id, note }) => {
                    let label = rows.get(&id).map(Row::label).unwrap_or_default();
                    notes.push(format!("{label}: {note}"));
                }
                Some(_) => {}
            },
            _ = &mut again => return,
            () = &mut limit => return,
        }
    }
}

/// Run one batch through the engine and report it: progress on stderr when it is a
/// terminal, a line per skipped or refused file, the failures as the command's error.
/// Ctrl-C stops a `get` at once (partial downloads stay for the next run to resume) and
/// lets a `put`'s cancelled uploads settle first.
async fn run_batch(
    client: &Client,
    concurrency: usize,
    answer: OnConflict,
    verb: &str,
    command: Command,
    mut failures: Vec<String>,
) -> Result<(), Failure> {
    // Before the first request: a signal from then on reaches the cleanup below.
    let interrupted = super::shutdown_signal();
    tokio::pin!(interrupted);
    let (commands, mut events) = worker::spawn_with(
        client.clone(),
        concurrency,
        worker::Queue::Off,
        ConflictPolicy::Fixed(answer),
    );
    commands
        .send(command)
        .map_err(|_| Failure::Failed("the transfer engine stopped".into()))?;
    let mut rows: BTreeMap<TransferId, Row> = BTreeMap::new();
    let mut refused: Option<Vec<ConflictItem>> = None;
    let mut notes = Vec::new();
    let meter = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                None | Some(Event::TransfersIdle) => break,
                Some(Event::TransferAdded { id, info }) => {
                    rows.insert(id, Row { info, state: TransferState::Queued, done: 0 });
                }
                Some(Event::TransferState { id, state }) => {
                    if let Some(r) = rows.get_mut(&id) {
                        r.state = state;
                    }
                }
                Some(Event::TransferProgress { samples, .. }) => {
                    for (id, done) in samples {
                        if let Some(r) = rows.get_mut(&id) {
                            r.done = done;
                        }
                    }
                }
                Some(Event::TransferNote { id, note }) => {
                    let label = rows.get(&id).map(Row::label).unwrap_or_default();
                    notes.push(format!("{label}: {note}"));
                }
                Some(Event::TransferProblem(text)) => failures.push(text),
                Some(Event::ConflictsRefused(items)) => refused = Some(items),
                Some(_) => {}
            },
            _ = tick.tick(), if meter => draw(verb, &rows, started, false),
            sig = &mut interrupted => {
                if meter {
                    draw(verb, &rows, started, true);
                }
                if verb == "uploads" && rows.values().any(|r| r.state.is_active()) {
                    settle_uploads(&commands, &mut events, &mut rows, &mut notes).await;
                    for note in &notes {
                        eprintln!("filedeck: warning: {}", for_terminal(note));
                    }
                    let landed = rows.values().filter(|r| r.state == TransferState::Done).count();
                    eprintln!(
                        "filedeck: interrupted; {landed} of {} uploads landed, the rest were cancelled",
                        rows.len()
                    );
                } else {
                    eprintln!("filedeck: interrupted; a partial download is resumed by the next get");
                }
                return Err(Failure::Signalled(sig));
            }
        }
    }
    if meter && !rows.is_empty() {
        draw(verb, &rows, started, true);
    }
    for note in notes {
        eprintln!("filedeck: warning: {}", for_terminal(&note));
    }
    if let Some(items) = refused {
        for c in &items {
            // The note says what is not known: that it may only possibly exist (a listing
            // that may be incomplete), or that several files share its path.
            match &c.note {
                Some(note) => eprintln!(
                    "filedeck: exists: {} ({})",
                    for_terminal(&c.existing),
                    for_terminal(note)
                ),
                None => eprintln!("filedeck: exists: {}", for_terminal(&c.existing)),
            }
        }
        return Err(Failure::Failed(format!(
            "{} of the files exist already and nothing was transferred; pass --on-conflict \
             overwrite, skip, skip-identical or rename to proceed",
            items.len()
        )));
    }
    // Failures that are no row of the engine's (not found, refused before it).
    let outside = failures.len();
    for r in rows.values() {
        match &r.state {
            TransferState::Failed(why) => failures.push(format!("{}: {why}", r.label())),
            TransferState::Cancelled => failures.push(format!("{}: cancelled", r.label())),
            // A skip the answer chose says so; one for another reason (a socket, a
            // link to a folder) stands on its own.
            TransferState::Skipped(why)
                if matches!(
                    why.as_str(),
                    "exists" | "identical" | "not known to be identical"
                ) =>
            {
                eprintln!(
                    "filedeck: skipped {} ({}; --on-conflict {})",
                    r.label(),
                    for_terminal(why),
                    flag(answer)
                );
            }
            TransferState::Skipped(why) => {
                eprintln!("filedeck: skipped {} ({})", r.label(), for_terminal(why));
            }
            _ => {}
        }
    }
    conclude(verb, rows.len() + outside, failures)
}

/// The one-line meter: files done, bytes, rate.
fn draw(verb: &str, rows: &BTreeMap<TransferId, Row>, started: Instant, last: bool) {
    use std::io::Write;
    let files = rows.len();
    let done_files = rows.values().filter(|r| !r.state.is_active()).count();
    let bytes: u64 = rows.values().map(|r| r.done).fold(0, u64::saturating_add);
    let total: u64 = rows
        .values()
        .filter_map(|r| r.info.size)
        .fold(0, u64::saturating_add);
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let rate = (bytes as f64 / secs) as u64;
    let line = format!(
        "\r\x1b[2K{verb} {done_files}/{files} files  {} / {}  {}/s",
        format_size(bytes, BINARY),
        format_size(total, BINARY),
        format_size(rate, BINARY),
    );
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    if last {
        let _ = err.write_all(b"\n");
    }
    let _ = err.flush();
}

#[allow(clippy::too_many_arguments)]
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
    let mut lookup = client.lookup(ws, arg).await?;
    match lookup.matches.len() {
        0 => {}
        // A key given exactly names one file, whatever else the listing left out.
        1 if sure && lookup.maybe_incomplete && lookup.matches[0].key != arg => {
            return Err(Resolve::Ambiguous(format!(
                "{} may name more than one file: the server's listing of its folder may be \
                 incomplete; give the key of the one you mean (key {})",
                for_terminal(arg),
                for_terminal(&lookup.matches[0].key)
            )));
        }
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
