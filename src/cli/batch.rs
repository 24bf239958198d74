//! One batch of `put` or `get` through the browser's own transfer engine (the worker):
//! its progress meter, its answer to Ctrl-C, and its outcome as the command's exit.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use humansize::{BINARY, format_size};

use super::Failure;
use crate::api::Client;
use crate::app::msg::{ConflictItem, ConflictPolicy, OnConflict};
use crate::app::transfer_types::TransferInfo;
use crate::app::transfer_types::{TransferId, TransferState};
use crate::app::{Command, Event};
use crate::sanitize::for_terminal;
use crate::worker;

/// Report per-item failures; one failure is the command's error, several are summed up.
pub(super) fn conclude(verb: &str, total: usize, failures: Vec<String>) -> Result<(), Failure> {
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
pub(super) async fn run_batch(
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
    let millis = started.elapsed().as_millis().max(1);
    let rate = u64::try_from(u128::from(bytes) * 1000 / millis).unwrap_or(u64::MAX);
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
