//! The queue's writer thread: journal lines and snapshots of the transfer queue, written
//! off the worker's loop in the order the worker decided them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::queue::{QueueStore, SavedJob, write_snapshot};

/// What the queue's writer thread is asked to do, in the order the worker decided it.
enum Order {
    /// Open (and lock) the queue of `endpoint` under `dir`.
    Open { dir: PathBuf, endpoint: String },
    /// Work a queue the caller already opened.
    Hold(Box<QueueStore>),
    Record {
        key: u64,
        job: Option<Box<SavedJob>>,
    },
    /// The worker has no transfer running: a good moment for a durable snapshot.
    Settle,
}

/// The queue's files are written by one blocking thread fed in order, so the worker's
/// loop never waits on a disk. Journal lines and snapshots travel the same channel: a
/// snapshot holds exactly the lines sent before it, and the lines after it land in its
/// generation, as [`QueueStore`]'s crash-safety rules require.
pub struct Journal {
    tx: std::sync::mpsc::Sender<Order>,
}

impl Journal {
    /// Start the writer on the runtime's blocking pool (so a shutdown waits for the lines
    /// already sent). `opened` hears, for each open or hold in turn, what the last run
    /// left unfinished, or why the queue cannot be had.
    pub fn start(opened: impl Fn(Result<Vec<SavedJob>, String>) + Send + 'static) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        tokio::task::spawn_blocking(move || write_loop(&rx, &opened));
        Journal { tx }
    }

    pub fn open(&self, dir: PathBuf, endpoint: String) {
        let _ = self.tx.send(Order::Open { dir, endpoint });
    }

    pub fn hold(&self, store: QueueStore) {
        let _ = self.tx.send(Order::Hold(Box::new(store)));
    }

    /// As [`QueueStore::record`]; dropped when no queue could be had.
    pub fn record(&self, key: u64, job: Option<SavedJob>) {
        let job = job.map(Box::new);
        let _ = self.tx.send(Order::Record { key, job });
    }

    pub fn settle(&self) {
        let _ = self.tx.send(Order::Settle);
    }
}

/// Until every sender is gone: apply each write to the store, keeping beside it the queue
/// those lines describe (what a snapshot must hold), and fold the journal into a snapshot
/// when it grows or the worker settles.
fn write_loop(
    rx: &std::sync::mpsc::Receiver<Order>,
    opened: &dyn Fn(Result<Vec<SavedJob>, String>),
) {
    let mut store: Option<QueueStore> = None;
    let mut jobs: BTreeMap<u64, SavedJob> = Default::default();
    while let Ok(w) = rx.recv() {
        match w {
            Order::Open { dir, endpoint } => {
                if store.is_some() {
                    opened(Err("the transfer queue is already this run's".into()));
                    continue;
                }
                adopt(
                    QueueStore::open(&dir, &endpoint),
                    &mut store,
                    &mut jobs,
                    opened,
                );
            }
            Order::Hold(s) => adopt(Ok(*s), &mut store, &mut jobs, opened),
            Order::Record { key, job } => {
                let Some(s) = store.as_mut() else { continue };
                if let Err(e) = s.record(key, job.as_deref()) {
                    tracing::warn!(error = %e, "cannot save the transfer queue");
                }
                match job {
                    Some(job) => jobs.insert(key, *job),
                    None => jobs.remove(&key),
                };
                if s.wants_snapshot(true) {
                    fold(s, &jobs, false);
                }
            }
            Order::Settle => {
                if let Some(s) = store.as_mut()
                    && s.wants_snapshot(false)
                {
                    fold(s, &jobs, true);
                }
            }
        }
    }
}

/// Take up an opened queue: its leftover is what the journal describes until the worker
/// says otherwise.
fn adopt(
    opening: Result<QueueStore, String>,
    store: &mut Option<QueueStore>,
    jobs: &mut BTreeMap<u64, SavedJob>,
    opened: &dyn Fn(Result<Vec<SavedJob>, String>),
) {
    match opening {
        Ok(mut s) => {
            let leftover = s.take_leftover();
            *jobs = (0..)
                .map(QueueStore::leftover_key)
                .zip(leftover.iter().cloned())
                .collect();
            *store = Some(s);
            opened(Ok(leftover));
        }
        Err(why) => opened(Err(why)),
    }
}

/// Put the queue as `jobs` says in a new snapshot and start the journal afresh.
fn fold(store: &mut QueueStore, jobs: &BTreeMap<u64, SavedJob>, durable: bool) {
    let jobs = jobs.iter().map(|(k, j)| (*k, j.clone())).collect();
    let written = store
        .begin_snapshot(jobs)
        .and_then(|(path, body)| write_snapshot(&path, body, durable))
        .and_then(|()| store.end_snapshot());
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot save the transfer queue");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::queue::MAX_RECORDS;
    use std::path::Path;
    use std::time::Duration;

    const ENDPOINT: &str = "http://127.0.0.1:9/";

    fn job(n: u64) -> SavedJob {
        SavedJob::Up {
            ws: "ws".into(),
            local: PathBuf::from(format!("/data/f{n}")),
            folder: String::new(),
            name: format!("f{n}"),
            size: n,
            replaces: Vec::new(),
            description: None,
        }
    }

    /// A writer on `dir`'s queue and what it says of each open.
    fn writer(dir: &Path) -> (Journal, std::sync::mpsc::Receiver<Result<usize, String>>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let journal = Journal::start(move |r| {
            let _ = tx.send(r.map(|left| left.len()));
        });
        journal.open(dir.to_path_buf(), ENDPOINT.into());
        (journal, rx)
    }

    /// Every answer of a writer already dropped, once it has finished (its callback
    /// goes with it).
    fn finish(
        opened: std::sync::mpsc::Receiver<Result<usize, String>>,
    ) -> Vec<Result<usize, String>> {
        let mut answers = Vec::new();
        loop {
            match opened.recv_timeout(Duration::from_secs(10)) {
                Ok(a) => answers.push(a),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return answers,
                Err(e) => panic!("the writer did not finish: {e}"),
            }
        }
    }

    fn reopen(dir: &Path) -> Vec<u64> {
        let mut q = QueueStore::open(dir, ENDPOINT).unwrap();
        q.take_leftover()
            .iter()
            .filter_map(SavedJob::size)
            .collect()
    }

    #[tokio::test]
    async fn lines_sent_before_a_kill_are_on_disk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, opened) = writer(dir.path());
        for n in 1..=5 {
            journal.record(n, Some(job(n)));
        }
        journal.record(2, None);
        journal.record(4, Some(job(40)));
        // Dropped with no settle: only the journal holds them.
        drop(journal);
        assert_eq!(finish(opened), [Ok(0)]);
        assert_eq!(reopen(dir.path()), [1, 3, 40, 5]);
    }

    #[tokio::test]
    async fn snapshots_fold_exactly_the_lines_before_them() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (journal, opened) = writer(dir.path());
            // More lines than a busy queue keeps before folding, interleaved with ends,
            // then a settle, then more lines over the new snapshot.
            for n in 1..=(MAX_RECORDS as u64 + 200) {
                journal.record(n, Some(job(n)));
                if n % 2 == 0 {
                    journal.record(n, None);
                }
            }
            journal.settle();
            journal.record(1, None);
            journal.record(9_999, Some(job(9_999)));
            drop(journal);
            assert_eq!(finish(opened), [Ok(0)]);
        }
        // The settle folded everything before it: the journal holds only what came after.
        let journal = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "journal"))
            .unwrap();
        let lines = std::fs::read_to_string(journal).unwrap();
        assert_eq!(lines.lines().count(), 2, "{lines}");
        let want: Vec<u64> = (3..=(MAX_RECORDS as u64 + 200))
            .step_by(2)
            .chain([9_999])
            .collect();
        assert_eq!(reopen(dir.path()), want);
    }

    #[tokio::test]
    async fn a_held_queue_is_answered_with_its_leftover_and_a_second_open_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
            q.record(1, Some(&job(7))).unwrap();
        }
        let (journal, opened) = writer(dir.path());
        journal.open(dir.path().to_path_buf(), ENDPOINT.into());
        // The leftover stays saved until the worker says otherwise.
        drop(journal);
        let answers = finish(opened);
        assert_eq!(answers[0], Ok(1));
        assert!(answers[1].is_err(), "{answers:?}");
        assert_eq!(reopen(dir.path()), [7]);
    }
}
