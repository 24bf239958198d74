//! The threads that run index (SQLite) calls. They are the server's own, apart from tokio's
//! blocking pool, so metadata requests never queue behind uploads, however many there are
//! and however slowly their bodies arrive.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::{Semaphore, mpsc, oneshot};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How many threads run index calls: SQLite has one writer anyway, and a few readers.
pub(crate) const DB_THREADS: usize = 4;

/// Jobs that may wait for a thread; past it callers wait (asynchronously) to queue, so a
/// flood of requests costs waiting futures, which go with their connections, not an
/// ever-growing queue.
pub(crate) const DB_QUEUE: usize = 256;

/// A fixed set of threads fed by a bounded channel; each call answers by a oneshot. The
/// threads end when the pool is dropped and the queue is drained.
pub(crate) struct DbPool {
    tx: mpsc::Sender<Job>,
    /// Heavy calls queued or running. One thread fewer than the pool has, so a cheap call
    /// always finds a thread that no heavy call can take.
    heavy: Arc<Semaphore>,
}

/// The pool's thread stopped before answering (it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the index thread failed before answering")]
pub(crate) struct DbPoolGone;

impl DbPool {
    pub(crate) fn new(threads: usize) -> std::io::Result<Self> {
        Self::with_queue(threads, DB_QUEUE)
    }

    pub(crate) fn with_queue(threads: usize, queue: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("filedeck-db-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking one job off the queue.
                        let job = match rx.lock() {
                            Ok(mut rx) => rx.blocking_recv(),
                            Err(poisoned) => poisoned.into_inner().blocking_recv(),
                        };
                        let Some(job) = job else { break };
                        // A panicking call drops its oneshot (its caller sees an error);
                        // the thread stays to serve the others.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(DbPool {
            tx,
            heavy: Arc::new(Semaphore::new((threads - 1).max(1))),
        })
    }

    /// Run `f` on one of the pool's threads and wait for its answer without blocking.
    /// For calls that take a short, bounded time (lookups, small lists, writes).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DbPoolGone> {
        self.queue(f, None).await
    }

    /// Like `run`, for calls whose cost grows with what the client asked for (a long
    /// list): they never hold every thread, so cheap calls keep answering while many
    /// heavy ones wait.
    pub(crate) async fn run_heavy<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DbPoolGone> {
        let permit = self
            .heavy
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbPoolGone)?;
        self.queue(f, Some(permit)).await
    }

    async fn queue<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<T, DbPoolGone> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            // Its caller went (the connection closed and took the handler with it):
            // nobody would read the answer, and running it would delay those who would.
            if answer.is_closed() {
                return;
            }
            let _ = answer.send(f());
        });
        self.tx.send(job).await.map_err(|_| DbPoolGone)?;
        answered.await.map_err(|_| DbPoolGone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Poll;
    use std::time::Duration;

    /// Poll `fut` once; true when it finished.
    async fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
        let mut fut = fut;
        std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
    }

    /// A job that blocks its thread until the returned sender is dropped or sent to.
    fn gate() -> (std::sync::mpsc::Sender<()>, impl FnOnce() + Send + 'static) {
        let (open, wait) = std::sync::mpsc::channel::<()>();
        (open, move || {
            let _ = wait.recv();
        })
    }

    /// Occupy one of `pool`'s threads until the returned sender is dropped; returns once
    /// the thread has taken the job.
    async fn occupy(
        pool: &Arc<DbPool>,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), DbPoolGone>>,
    ) {
        let (open, blocker) = gate();
        let (started, running) = oneshot::channel::<()>();
        let pool = pool.clone();
        let busy = tokio::spawn(async move {
            pool.run(move || {
                let _ = started.send(());
                blocker();
            })
            .await
        });
        within("the blocker to start", running).await.unwrap();
        (open, busy)
    }

    async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .unwrap_or_else(|_| panic!("{what} never happened"))
    }

    #[tokio::test]
    async fn answers_and_survives_a_panic() {
        let pool = DbPool::new(1).unwrap();
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        assert!(pool.run(|| panic!("boom")).await.is_err());
        assert_eq!(pool.run(|| "still here").await.unwrap(), "still here");
    }

    #[tokio::test]
    async fn skips_a_job_whose_caller_went() {
        let pool = Arc::new(DbPool::new(1).unwrap());
        let (open, busy) = occupy(&pool).await;
        let ran = Arc::new(AtomicUsize::new(0));
        {
            let ran = ran.clone();
            let abandoned = pool.run(move || ran.fetch_add(1, Ordering::SeqCst));
            let mut abandoned = std::pin::pin!(abandoned);
            // Queued (there is room), then dropped like a handler whose client reset.
            assert!(!poll_once(abandoned.as_mut()).await);
        }
        drop(open);
        within("the blocker", busy).await.unwrap().unwrap();
        // One thread, FIFO: once this answers, the abandoned job has had its turn.
        within("a later job", pool.run(|| ())).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_full_queue_makes_callers_wait() {
        let pool = Arc::new(DbPool::with_queue(1, 2).unwrap());
        let (open, busy) = occupy(&pool).await;
        let waiting = within("the queue to fill", async {
            let mut waiting = Vec::new();
            loop {
                let caller = pool.clone();
                waiting.push(tokio::spawn(async move { caller.run(|| ()).await }));
                tokio::task::yield_now().await;
                if pool.tx.capacity() == 0 {
                    break waiting;
                }
            }
        })
        .await;
        let over = pool.run(|| 7);
        let mut over = std::pin::pin!(over);
        assert!(!poll_once(over.as_mut()).await);
        assert_eq!(pool.tx.capacity(), 0, "nothing queued past the bound");
        drop(open);
        within("the blocker", busy).await.unwrap().unwrap();
        assert_eq!(within("the waiting call", over).await.unwrap(), 7);
        for w in waiting {
            within("a queued call", w).await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_cheap_call_answers_while_heavy_ones_hold_threads() {
        let pool = Arc::new(DbPool::with_queue(4, 64).unwrap());
        let (started, mut running) = mpsc::unbounded_channel::<()>();
        let mut opens = Vec::new();
        let mut heavy = Vec::new();
        for _ in 0..40 {
            let (open, blocker) = gate();
            opens.push(open);
            let pool = pool.clone();
            let started = started.clone();
            heavy.push(tokio::spawn(async move {
                pool.run_heavy(move || {
                    let _ = started.send(());
                    blocker();
                })
                .await
            }));
        }
        // The heavy calls take every thread they may before the cheap one is asked.
        for _ in 0..3 {
            within("a heavy call to start", running.recv()).await;
        }
        for _ in 0..40 {
            tokio::task::yield_now().await;
        }
        // Every heavy call blocks until the end, so this answers only on a thread they
        // cannot take.
        assert_eq!(within("a cheap call", pool.run(|| 1)).await.unwrap(), 1);
        drop(opens);
        for h in heavy {
            within("a heavy call", h).await.unwrap().unwrap();
        }
    }
}
