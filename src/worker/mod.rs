//! The one background worker: it owns the client and performs every API call, answering
//! each `Command` with `Event`s. Listings of a workspace are latest-wins: a new listing
//! of the same prefix cancels the one it supersedes.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::Client;
use crate::app::msg::ConflictPolicy;
use crate::app::{Command, Event};
use engine::{Engine, Ready};

mod answers;
mod conflicts;
mod engine;
mod enqueue;
pub mod filter;
mod identical;
mod journal;
mod prepare;
mod preview;
pub mod queue;
mod resume;
mod task;

/// Where this run saves its unfinished transfers.
pub enum Queue {
    /// Not saved (the demo: its server dies with it).
    Off,
    Held(queue::QueueStore),
    /// The queue of `endpoint` under `dir`: the worker opens (and locks) it off its loop,
    /// answering commands meanwhile. Held by another filedeck, transfers are off
    /// (`QueueClaimed(Err)`) until `ClaimQueue` finds it free.
    At {
        dir: std::path::PathBuf,
        endpoint: String,
    },
}

/// Start the worker on the current runtime; at most `concurrency` transfers run at once.
/// The user answers conflicts ([`ConflictPolicy::Ask`]).
pub fn spawn(
    client: Client,
    concurrency: usize,
    queue: Queue,
) -> (
    mpsc::UnboundedSender<Command>,
    mpsc::UnboundedReceiver<Event>,
) {
    spawn_with(client, concurrency, queue, ConflictPolicy::Ask)
}

/// As [`spawn`], with conflicts answered by `policy` (the command line's `--on-conflict`).
pub fn spawn_with(
    client: Client,
    concurrency: usize,
    queue: Queue,
    policy: ConflictPolicy,
) -> (
    mpsc::UnboundedSender<Command>,
    mpsc::UnboundedReceiver<Event>,
) {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(client, cmd_rx, ev_tx, concurrency, queue, policy));
    (cmd_tx, ev_rx)
}

/// A queue being opened: where it is (to try again later when another filedeck holds
/// it), and whether a `ClaimQueue` waits for the outcome.
struct Opening {
    at: Option<(std::path::PathBuf, String)>,
    answer: bool,
}

/// The loop never waits on work that can take more than a moment: anything slow runs as
/// a task and comes back as a message it `select!`s on, so a listing, a delete or a cancel
/// is answered while folders are walked, files hashed and the queue written.
async fn run(
    client: Client,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    concurrency: usize,
    queue: Queue,
    policy: ConflictPolicy,
) {
    let mut listings: HashMap<(String, String), CancellationToken> = HashMap::new();
    let mut matchers = filter::Matchers::new(events.clone());
    let mut previews = preview::Previews::default();
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let (mut engine, mut finished, mut started) = Engine::new(
        client.clone(),
        events.clone(),
        concurrency,
        ready_tx,
        policy,
    );
    // Where the queue is while another filedeck holds it.
    let mut elsewhere: Option<(std::path::PathBuf, String)> = None;
    let mut opening: Option<Opening> = None;
    match queue {
        Queue::Off => {}
        Queue::Held(q) => {
            engine.hold_queue(q);
            opening = Some(Opening {
                at: None,
                answer: false,
            });
        }
        Queue::At { dir, endpoint } => {
            engine.open_queue(dir.clone(), endpoint.clone());
            opening = Some(Opening {
                at: Some((dir, endpoint)),
                answer: false,
            });
        }
    }
    // Progress is sampled, never pushed per chunk: at most 10 events a second. The tick
    // is off while nothing runs, so the first one after idling is always "missed": Skip
    // would fire it at once and the next on the old 100 ms grid, as little as a few ms
    // later; Delay counts the next 100 ms from the late one.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A run without a screen ends when its transfers do: it is told each time the engine
    // becomes idle.
    let mut was_idle = true;
    loop {
        engine.settle();
        let idle = engine.idle();
        if idle && !was_idle {
            let _ = events.send(Event::TransfersIdle);
        }
        was_idle = idle;
        let cmd = tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(cmd) => cmd,
                // The app is quitting: what is unfinished stays saved for the next launch.
                None => return,
            },
            Some(f) = finished.recv() => {
                engine.finished(f);
                continue;
            }
            Some(started) = started.recv() => {
                engine.mark_running(started);
                continue;
            }
            Some(r) = ready.recv() => {
                match r {
                    Ready::Upload { epoch, prepared } => engine.upload(epoch, prepared),
                    Ready::Download { epoch, prepared } => engine.downloaded(epoch, prepared),
                    Ready::Named { epoch, jobs } => engine.named(epoch, jobs),
                    Ready::Hashed { id, same } => engine.hashed(id, same),
                    Ready::Queue(result) => {
                        let o = opening.take();
                        let answer = o.as_ref().is_some_and(|o| o.answer);
                        match engine.queue_opened(result) {
                            Ok(()) => {
                                if answer {
                                    let _ = events.send(Event::QueueClaimed(Ok(())));
                                }
                            }
                            Err(why) => {
                                elsewhere = o.and_then(|o| o.at);
                                let _ = events.send(Event::QueueClaimed(Err(why)));
                            }
                        }
                    }
                }
                continue;
            }
            _ = tick.tick(), if engine.active() => {
                engine.sample();
                continue;
            }
        };
        let client = client.clone();
        let events = events.clone();
        match cmd {
            Command::Upload { ws, local, folder } => {
                engine.prepare_upload(ws, vec![local], folder, None)
            }
            Command::UploadPaths {
                ws,
                locals,
                folder,
                description,
            } => engine.prepare_upload(ws, locals, folder, description),
            Command::Download { ws, dest, files } => engine.download(ws, dest, files),
            Command::Complete { req, text } => {
                let events = events.clone();
                tokio::spawn(async move {
                    let t = text.clone();
                    let (text, candidates) =
                        tokio::task::spawn_blocking(move || crate::local::complete(&t))
                            .await
                            .unwrap_or((text, Vec::new()));
                    let _ = events.send(Event::Completed {
                        req,
                        text,
                        candidates,
                    });
                });
            }
            Command::Resume(yes) => engine.resume(yes),
            Command::Filter {
                req,
                pattern,
                chunks,
                first,
            } => matchers.submit(req, &pattern, chunks, first),
            Command::ClaimQueue => {
                if let Some(o) = opening.as_mut() {
                    // The open under way answers this one too.
                    o.answer = true;
                } else if let Some((dir, endpoint)) = elsewhere.take() {
                    engine.open_queue(dir.clone(), endpoint.clone());
                    opening = Some(Opening {
                        at: Some((dir, endpoint)),
                        answer: true,
                    });
                } else {
                    let why = "there is no transfer queue to claim".to_string();
                    let _ = events.send(Event::QueueClaimed(Err(why)));
                }
            }
            Command::Resolve { batch, choices } => engine.resolve(batch, choices),
            Command::CancelTransfer(id) => engine.cancel(id),
            Command::CancelAll => engine.cancel_all(),
            Command::Retry(ids) => engine.retry(ids),
            Command::ListWorkspaces { req } => {
                tokio::spawn(async move {
                    let result = client.workspaces().await.map_err(|e| e.to_string());
                    let _ = events.send(Event::Workspaces { req, result });
                });
            }
            Command::List { req, ws, prefix } => {
                let token = CancellationToken::new();
                if let Some(old) = listings.insert((ws.clone(), prefix.clone()), token.clone()) {
                    old.cancel();
                }
                if prefix.is_empty() {
                    // A whole-workspace listing supersedes every folder refresh in it.
                    listings.retain(|(w, p), t| {
                        let keep = w != &ws || p.is_empty();
                        if !keep {
                            t.cancel();
                        }
                        keep
                    });
                }
                tokio::spawn(async move {
                    tokio::select! {
                        _ = list(&client, req, &ws, &prefix, &events) => {}
                        _ = token.cancelled() => {}
                    }
                });
            }
            Command::PresignDownload { req, ws, key } => {
                tokio::spawn(async move {
                    let result = client
                        .download_link(&ws, &key)
                        .await
                        .map(|(url, secs)| (crate::app::msg::Secret(url.into()), secs))
                        .map_err(|e| e.to_string());
                    let _ = events.send(Event::Presigned { req, result });
                });
            }
            Command::Preview {
                req,
                ws,
                key,
                name,
                want,
                cap,
            } => previews.start(
                client,
                preview::Job {
                    req,
                    ws,
                    key,
                    name,
                    want,
                    cap,
                },
                events,
            ),
            Command::PreviewMore { req, want } => previews.more(req, want),
            Command::PreviewStop => previews.stop(),
            Command::Delete { req, ws, keys } => {
                tokio::spawn(async move {
                    let results = futures_util::stream::iter(keys.into_iter().map(|key| {
                        let client = client.clone();
                        let ws = ws.clone();
                        async move {
                            client.delete(&ws, &key).await.map_err(|e| {
                                tracing::warn!(ws, key, error = %e, "delete failed");
                                e.to_string()
                            })
                        }
                    }))
                    .buffered(8)
                    .collect::<Vec<_>>()
                    .await;
                    let _ = events.send(Event::Deleted { req, results });
                });
            }
        }
        listings.retain(|_, t| !t.is_cancelled());
    }
}

/// Page by page: the first page is on screen while the next is on its way.
async fn list(
    client: &Client,
    req: u64,
    ws: &str,
    prefix: &str,
    events: &mpsc::UnboundedSender<Event>,
) {
    let mut cursor: Option<String> = None;
    // A cursor seen before would go round for ever (A, B, A, B…).
    let mut seen = std::collections::HashSet::new();
    loop {
        match client.list_page(ws, prefix, cursor.as_deref()).await {
            Ok(page) => {
                if let Some(c) = &page.next_cursor
                    && !seen.insert(c.clone())
                {
                    let error = "the server returned a cursor it had returned before; the \
                                 listing is incomplete"
                        .to_string();
                    let _ = events.send(Event::ListFailed { req, error });
                    return;
                }
                let next = page.next_cursor;
                let done = next.is_none();
                let sent = events.send(Event::ListPage {
                    req,
                    files: page.files,
                    done,
                    maybe_incomplete: page.maybe_incomplete,
                });
                if done || sent.is_err() {
                    if done {
                        // Pages of a big listing are parsed on worker threads and freed
                        // on the UI thread; glibc keeps such freed memory in per-thread
                        // arenas. Hand it back once the UI has taken the last page.
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        crate::sys::release_freed_memory();
                    }
                    return;
                }
                cursor = next;
            }
            Err(e) => {
                tracing::warn!(ws, prefix, error = %e, "listing failed");
                let _ = events.send(Event::ListFailed {
                    req,
                    error: e.to_string(),
                });
                return;
            }
        }
    }
}
