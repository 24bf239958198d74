//! The filter's matcher threads: they match the pattern in force against the corpus's
//! chunks and send each chunk's bits back as `Event::Filtered`, a few chunks at a time,
//! so the screen fills in while they work. A newer pattern drops the older one's work.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nucleo_matcher::pattern::Pattern;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::corpus::{self, ChunkResult, Shared as Chunk};
use crate::app::{Event, ReqId};

/// Results wait at most this long to be sent with others: fewer events, fewer rebuilds of
/// the rows, and still several steps a second on screen.
const BATCH: Duration = Duration::from_millis(8);

struct Task {
    req: ReqId,
    pattern: Arc<Pattern>,
    chunk: Chunk,
    index: usize,
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<Task>,
    stop: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// The newest request: work of older ones is skipped.
    latest: AtomicU64,
    stopped: AtomicBool,
}

/// Started on the first filter (the command line never starts it).
pub struct Matchers {
    inner: Option<Arc<Inner>>,
    events: UnboundedSender<Event>,
}

impl Matchers {
    pub fn new(events: UnboundedSender<Event>) -> Self {
        Matchers {
            inner: None,
            events,
        }
    }

    /// Match `pattern` against `chunks` (numbered from `first`) for `req`.
    pub fn submit(&mut self, req: ReqId, pattern: &str, chunks: Vec<Chunk>, first: usize) {
        let inner = self.inner.get_or_insert_with(|| start(self.events.clone()));
        let Ok(mut q) = inner.queue.lock() else {
            return;
        };
        if req > inner.latest.load(Ordering::Relaxed) {
            inner.latest.store(req, Ordering::Relaxed);
            q.tasks.retain(|t| t.req >= req);
        }
        if pattern.trim().is_empty() || req < inner.latest.load(Ordering::Relaxed) {
            return;
        }
        let pattern = Arc::new(corpus::parse(pattern));
        for (i, chunk) in chunks.into_iter().enumerate() {
            q.tasks.push_back(Task {
                req,
                pattern: pattern.clone(),
                chunk,
                index: first + i,
            });
        }
        inner.ready.notify_all();
    }
}

impl Drop for Matchers {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            inner.stopped.store(true, Ordering::Relaxed);
            if let Ok(mut q) = inner.queue.lock() {
                q.stop = true;
            }
            inner.ready.notify_all();
        }
    }
}

fn start(events: UnboundedSender<Event>) -> Arc<Inner> {
    let inner = Arc::new(Inner {
        queue: Mutex::new(Queue::default()),
        ready: Condvar::new(),
        latest: AtomicU64::new(0),
        stopped: AtomicBool::new(false),
    });
    let n = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    for i in 0..n {
        let inner = inner.clone();
        let events = events.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("filedeck-filter-{i}"))
            .spawn(move || run(&inner, &events));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start a filter thread");
        }
    }
    inner
}

fn run(inner: &Inner, events: &UnboundedSender<Event>) {
    let mut m = corpus::matcher();
    let mut batch: Option<(ReqId, Vec<ChunkResult>, Instant)> = None;
    loop {
        let task = {
            let Ok(mut q) = inner.queue.lock() else {
                return;
            };
            loop {
                if q.stop {
                    return;
                }
                if let Some(t) = q.tasks.pop_front() {
                    break Some(t);
                }
                // Nothing queued: what is batched goes now.
                if batch.is_some() {
                    break None;
                }
                q = match inner.ready.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        let Some(task) = task else {
            if let Some((req, results, _)) = batch.take()
                && events.send(Event::Filtered { req, results }).is_err()
            {
                return;
            }
            continue;
        };
        if task.req < inner.latest.load(Ordering::Relaxed) || inner.stopped.load(Ordering::Relaxed)
        {
            continue;
        }
        // A batch of an older request goes before this one's results start.
        if let Some((req, _, _)) = &batch
            && *req != task.req
            && let Some((req, results, _)) = batch.take()
            && events.send(Event::Filtered { req, results }).is_err()
        {
            return;
        }
        let (bits, count) = corpus::match_chunk(&task.pattern, &task.chunk, &mut m);
        let b = batch.get_or_insert_with(|| (task.req, Vec::new(), Instant::now()));
        b.1.push((task.index, bits, count));
        if b.2.elapsed() >= BATCH
            && let Some((req, results, _)) = batch.take()
            && events.send(Event::Filtered { req, results }).is_err()
        {
            return;
        }
    }
}
