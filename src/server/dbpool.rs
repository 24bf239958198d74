//! The threads that run index (SQLite) calls. They are the server's own, apart from tokio's
//! blocking pool, so metadata requests never queue behind uploads, however many there are
//! and however slowly their bodies arrive.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How many threads run index calls: SQLite has one writer anyway, and a few readers.
pub(crate) const DB_THREADS: usize = 4;

/// A fixed set of threads fed by a channel; each call answers by a oneshot. The threads end
/// when the pool is dropped and the queue is drained.
pub(crate) struct DbPool {
    tx: Mutex<mpsc::Sender<Job>>,
}

/// The pool's thread stopped before answering (it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the index thread failed before answering")]
pub(crate) struct DbPoolGone;

impl DbPool {
    pub(crate) fn new(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("filedeck-db-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking one job off the queue.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        let Ok(job) = job else { break };
                        // A panicking call drops its oneshot (its caller sees an error);
                        // the thread stays to serve the others.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(DbPool { tx: Mutex::new(tx) })
    }

    /// Run `f` on one of the pool's threads and wait for its answer without blocking.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DbPoolGone> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(f());
        });
        {
            let tx = match self.tx.lock() {
                Ok(tx) => tx,
                Err(poisoned) => poisoned.into_inner(),
            };
            tx.send(job).map_err(|_| DbPoolGone)?;
        }
        answered.await.map_err(|_| DbPoolGone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_and_survives_a_panic() {
        let pool = DbPool::new(1).unwrap();
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        assert!(pool.run(|| panic!("boom")).await.is_err());
        assert_eq!(pool.run(|| "still here").await.unwrap(), "still here");
    }
}
