//! The transfer queue on disk: every change lands in the journal at once, a torn line or
//! a crash between snapshot and journal reset loses nothing and duplicates nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::path::PathBuf;

use filedeck::worker::queue::{QueueStore, SavedJob, write_snapshot};

const ENDPOINT: &str = "http://127.0.0.1:9/";

fn job(n: u64) -> SavedJob {
    SavedJob::Up {
        ws: "ws".into(),
        local: PathBuf::from(format!("/data/f{n}.fastq")),
        folder: "runs/".into(),
        name: format!("f{n}.fastq"),
        size: n,
        replaces: Vec::new(),
        description: None,
    }
}

fn sizes(jobs: &[SavedJob]) -> Vec<u64> {
    jobs.iter().filter_map(SavedJob::size).collect()
}

fn journal_of(dir: &std::path::Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "journal"))
        .expect("a journal file")
}

#[test]
fn every_change_survives_a_kill_without_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        assert!(q.take_leftover().is_empty());
        for n in 1..=5 {
            q.record(n, Some(&job(n))).unwrap();
        }
        // 2 finished, 4 failed: neither is offered again.
        q.record(2, None).unwrap();
        q.record(4, None).unwrap();
        // Dropped without a snapshot, as a SIGKILL would leave it.
    }
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    assert_eq!(sizes(&q.take_leftover()), vec![1, 3, 5]);
}

#[test]
fn the_leftover_stays_saved_until_answered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        q.record(1, Some(&job(10))).unwrap();
        q.record(2, Some(&job(20))).unwrap();
    }
    {
        // Opened and killed again before the user answered the resume offer.
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        assert_eq!(sizes(&q.take_leftover()), vec![10, 20]);
    }
    {
        // This time the first is resumed under a new id and the offer answered.
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        assert_eq!(sizes(&q.take_leftover()), vec![10, 20]);
        q.record(1, Some(&job(10))).unwrap();
        q.record(QueueStore::leftover_key(0), None).unwrap();
        q.record(QueueStore::leftover_key(1), None).unwrap();
    }
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    assert_eq!(sizes(&q.take_leftover()), vec![10]);
}

#[test]
fn a_torn_last_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        q.record(1, Some(&job(1))).unwrap();
        q.record(2, Some(&job(2))).unwrap();
    }
    let journal = journal_of(dir.path());
    let mut text = std::fs::read(&journal).unwrap();
    // A crash in the middle of the last write.
    text.truncate(text.len() - 20);
    std::fs::write(&journal, text).unwrap();
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    assert_eq!(sizes(&q.take_leftover()), vec![1]);
}

#[test]
fn a_crash_between_snapshot_and_journal_reset_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        q.record(1, Some(&job(1))).unwrap();
        q.record(2, Some(&job(2))).unwrap();
        q.record(2, None).unwrap();
        q.record(3, Some(&job(3))).unwrap();
        let (path, body) = q.begin_snapshot(vec![(1, job(1)), (3, job(3))]).unwrap();
        write_snapshot(&path, body, true).unwrap();
        // Killed before end_snapshot: the journal still holds the lines just folded in.
    }
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    assert_eq!(sizes(&q.take_leftover()), vec![1, 3]);
}

#[test]
fn snapshot_then_journal_then_empty_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        q.record(1, Some(&job(1))).unwrap();
        q.record(2, Some(&job(2))).unwrap();
        assert!(q.wants_snapshot(false));
        assert!(!q.wants_snapshot(true), "busy: the journal is still small");
        let (path, body) = q.begin_snapshot(vec![(1, job(1)), (2, job(2))]).unwrap();
        write_snapshot(&path, body, true).unwrap();
        q.end_snapshot().unwrap();
        assert!(!q.wants_snapshot(false));
        q.record(1, None).unwrap();
        q.record(7, Some(&job(7))).unwrap();
    }
    {
        let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
        assert_eq!(sizes(&q.take_leftover()), vec![2, 7]);
        q.record(QueueStore::leftover_key(0), None).unwrap();
        q.record(QueueStore::leftover_key(1), None).unwrap();
        let (path, body) = q.begin_snapshot(Vec::new()).unwrap();
        write_snapshot(&path, body, true).unwrap();
        q.end_snapshot().unwrap();
    }
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    assert!(q.take_leftover().is_empty());
}

#[test]
fn another_endpoint_has_its_own_queue_and_one_process_holds_a_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    a.record(1, Some(&job(1))).unwrap();
    let err = QueueStore::open(dir.path(), ENDPOINT).unwrap_err();
    assert!(err.contains("another filedeck"), "{err}");
    let mut b = QueueStore::open(dir.path(), "http://elsewhere:8080/").unwrap();
    assert!(b.take_leftover().is_empty());
}

#[cfg(unix)]
#[test]
fn queue_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut q = QueueStore::open(dir.path(), ENDPOINT).unwrap();
    q.record(1, Some(&job(1))).unwrap();
    let (path, body) = q.begin_snapshot(vec![(1, job(1))]).unwrap();
    write_snapshot(&path, body, false).unwrap();
    q.end_snapshot().unwrap();
    q.record(2, Some(&job(2))).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.path().display());
    }
}
