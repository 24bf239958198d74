//! The worker against the reference server over HTTP: commands in, events out, as the
//! event loop sees them (no terminal). Tests that reach the server's files run in both key
//! styles (`key_styles!`) and check display paths (`path + name`), never keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use filedeck::api::FileEntry;
use filedeck::app::transfer_types::{Direction, TransferState};
use filedeck::app::{Command, Event};
use filedeck::server::KeyStyle;
use filedeck::worker;
use tokio::sync::mpsc::UnboundedReceiver;

#[path = "support/throttle.rs"]
mod throttle;

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const KEY: &str = "worker-test-key";

/// The reference server (in one key style) on a fresh data directory, and a client of it.
struct Env {
    _data: tempfile::TempDir,
    _server: filedeck::server::RunningServer,
    endpoint: String,
    client: filedeck::api::Client,
}

async fn env(style: KeyStyle) -> Env {
    env_via(style, None).await
}

/// As [`env`], with the server's presigned URLs on `public_url`: a proxy in front of it.
async fn env_via(style: KeyStyle, public_url: Option<&str>) -> Env {
    let data = tempfile::tempdir().unwrap();
    let server = test_server::start_with(data.path(), KEY, |config| {
        config.key_style = style;
        config.public_url = public_url.map(str::to_string);
    })
    .await;
    let endpoint = format!("http://{}", server.addr);
    let client = common::client(&endpoint, KEY, |_| {});
    Env {
        _data: data,
        _server: server,
        endpoint,
        client,
    }
}

/// A root-level file as a listing would show it (no hash known).
fn remote_entry(key: &str, size: u64) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: key.into(),
        path: String::new(),
        size: Some(size),
        description: None,
        content_type: None,
        created_at: None,
        sha256: None,
        etag: None,
    }
}

/// Events until `done` says so (or the deadline passes: a failure with what came).
async fn events_until(
    rx: &mut UnboundedReceiver<Event>,
    within: Duration,
    mut done: impl FnMut(&Event) -> bool,
) -> Vec<(Instant, Event)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                let stop = done(&ev);
                seen.push((Instant::now(), ev));
                if stop {
                    return seen;
                }
            }
            Ok(None) => panic!("the worker hung up; events so far: {seen:#?}"),
            Err(_) => panic!("no end within {within:?}; events so far: {seen:#?}"),
        }
    }
}

/// Events until `n` transfers have ended (done, failed, cancelled or skipped).
async fn until_ended(
    rx: &mut UnboundedReceiver<Event>,
    n: usize,
    within: Duration,
) -> Vec<(Instant, Event)> {
    let mut ended = 0;
    events_until(rx, within, |ev| {
        if let Event::TransferState { state, .. } = ev
            && !state.is_active()
        {
            ended += 1;
        }
        ended == n
    })
    .await
}

fn write_tree(root: &Path) -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    for (i, rel) in ["a.vcf", "b.vcf", "sub/c.fq", "sub/deeper/d.bam"]
        .iter()
        .enumerate()
    {
        let bytes = common::pattern(1000 + i * 300_000, i as u64 + 1);
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes).unwrap();
        files.insert(rel.to_string(), bytes);
    }
    files
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn uploads_report_their_entry_before_done_then_download_byte_for_byte(style) {
        let env = env(style).await;
        let client = env.client.clone();
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);

        let local = tempfile::tempdir().unwrap();
        let run = local.path().join("run1");
        let files = write_tree(&run);
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: run.display().to_string(),
                folder: "raw/".into(),
            })
            .unwrap();

        let mut added = 0;
        let mut ended = 0;
        let seen = events_until(&mut events, Duration::from_secs(60), |ev| {
            match ev {
                Event::TransferAdded { .. } => added += 1,
                Event::TransferState { state, .. } if !state.is_active() => ended += 1,
                _ => {}
            }
            added == files.len() && ended == files.len()
        })
        .await;

        // Every upload: its entry (as the server lists it) arrives before its Done.
        let mut remote_of = HashMap::new();
        for (_, ev) in &seen {
            if let Event::TransferAdded { id, info } = ev {
                assert_eq!(info.dir, Direction::Up);
                remote_of.insert(*id, info.remote.clone());
            }
        }
        // By display path: in opaque style the key is nothing like it.
        let mut landed: HashMap<String, FileEntry> = HashMap::new();
        for (_, ev) in &seen {
            match ev {
                Event::Uploaded { ws, entry } => {
                    assert_eq!(ws, "ws");
                    landed.insert(entry.display_key(), entry.clone());
                }
                Event::TransferState { id, state } if !state.is_active() => {
                    assert_eq!(state, &TransferState::Done, "transfer {id}");
                    let key = &remote_of[id];
                    assert!(
                        landed.contains_key(key),
                        "{key}: Done came before its Uploaded entry"
                    );
                }
                _ => {}
            }
        }
        for (rel, bytes) in &files {
            let path = format!("raw/run1/{rel}");
            let e = landed
                .get(&path)
                .unwrap_or_else(|| panic!("no entry for {path}"));
            assert_eq!(e.size, Some(bytes.len() as u64), "{path}");
            let sha = e
                .sha256
                .as_ref()
                .expect("the reference server lists sha256");
            assert_eq!(sha, &common::sha256_hex(bytes), "{path}");
            assert_eq!(e.key == path, style == KeyStyle::Path, "{e:?}");
        }

        // And down again, elsewhere, layout kept.
        let dest = tempfile::tempdir().unwrap();
        let mut down: Vec<(FileEntry, String)> = landed
            .values()
            .map(|e| (e.clone(), e.display_key().trim_start_matches("raw/").to_string()))
            .collect();
        down.sort_by(|a, b| a.1.cmp(&b.1));
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: dest.path().display().to_string(),
                files: down,
            })
            .unwrap();
        let mut ended = 0;
        events_until(&mut events, Duration::from_secs(60), |ev| {
            if let Event::TransferState { state, .. } = ev
                && !state.is_active()
            {
                assert_eq!(state, &TransferState::Done);
                ended += 1;
            }
            ended == files.len()
        })
        .await;
        for (rel, bytes) in &files {
            let got = std::fs::read(dest.path().join("run1").join(rel)).unwrap();
            assert_eq!(
                common::sha256_hex(&got),
                common::sha256_hex(bytes),
                "{rel} came back different"
            );
        }
        let leftovers: Vec<_> = walk(dest.path())
            .into_iter()
            .filter(|p| !files.keys().any(|rel| p.ends_with(rel)))
            .collect();
        assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_newer_listing_wins_and_deletes_report_per_key(style) {
        let env = env(style).await;
        let client = env.client.clone();
        let local = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let p = common::write_file(local.path(), &format!("f{i}.txt"), b"x");
            client
                .upload(
                    &filedeck::api::UploadRequest {
                        workspace: "ws",
                        local: &p,
                        folder: "docs/",
                        name: None,
                        description: None,
                    },
                    &filedeck::api::Progress::new(),
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await
                .unwrap();
        }
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        // Two listings of the same folder back to back (the first is cancelled: latest
        // wins): the second one's pages all come, complete.
        for req in [1, 2] {
            commands
                .send(Command::List {
                    req,
                    ws: "ws".into(),
                    prefix: "docs/".into(),
                })
                .unwrap();
        }
        let listed = listing(&mut events, 2).await;
        assert_eq!(paths(&listed), ["docs/f0.txt", "docs/f1.txt", "docs/f2.txt"]);
        let key_of = |display: &str| {
            let f = listed.iter().find(|f| f.display_key() == display).unwrap();
            assert_eq!(f.key == display, style == KeyStyle::Path, "{f:?}");
            f.key.clone()
        };

        commands
            .send(Command::Delete {
                req: 3,
                ws: "ws".into(),
                keys: vec![key_of("docs/f0.txt"), key_of("docs/f2.txt")],
            })
            .unwrap();
        let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
            matches!(ev, Event::Deleted { req: 3, .. })
        })
        .await;
        let Some((_, Event::Deleted { results, .. })) = seen.last() else {
            unreachable!()
        };
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        commands
            .send(Command::List {
                req: 4,
                ws: "ws".into(),
                prefix: String::new(),
            })
            .unwrap();
        let left = listing(&mut events, 4).await;
        assert_eq!(paths(&left), ["docs/f1.txt"]);
    }
}

/// The files of listing `req`, page by page until its last.
async fn listing(events: &mut UnboundedReceiver<Event>, req: u64) -> Vec<FileEntry> {
    let mut files = Vec::new();
    events_until(events, Duration::from_secs(20), |ev| match ev {
        Event::ListPage {
            req: r,
            files: page,
            done,
            ..
        } if *r == req => {
            files.extend(page.iter().cloned());
            *done
        }
        Event::ListFailed { req: r, error } if *r == req => panic!("listing failed: {error}"),
        _ => false,
    })
    .await;
    files
}

/// The display paths of `files`, sorted.
fn paths(files: &[FileEntry]) -> Vec<String> {
    let mut out: Vec<String> = files.iter().map(FileEntry::display_key).collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn downloads_to_one_name_never_share_a_file(style) {
        let env = env(style).await;
        let client = env.client.clone();
        let local = tempfile::tempdir().unwrap();
        let x = common::pattern(3 * 1024 * 1024, 7);
        let y = common::pattern(3 * 1024 * 1024, 8);
        let mut entries = Vec::new();
        for (folder, bytes) in [("x/", &x), ("y/", &y)] {
            let p = common::write_file(local.path(), "same.bin", bytes);
            let e = client
                .upload(
                    &filedeck::api::UploadRequest {
                        workspace: "ws",
                        local: &p,
                        folder,
                        name: None,
                        description: None,
                    },
                    &filedeck::api::Progress::new(),
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await
                .unwrap()
                .entry;
            entries.push(e);
        }
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let dest = tempfile::tempdir().unwrap();
        let into = dest.path().display().to_string();
        // Two marked files of one name in one batch, and the first asked for again while
        // they run.
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: into.clone(),
                files: entries
                    .iter()
                    .map(|e| (e.clone(), "same.bin".to_string()))
                    .collect(),
            })
            .unwrap();
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: into,
                files: vec![(entries[0].clone(), "same.bin".to_string())],
            })
            .unwrap();
        let seen = until_ended(&mut events, 3, Duration::from_secs(60)).await;
        for (_, ev) in &seen {
            if let Event::TransferState { state, .. } = ev
                && !state.is_active()
            {
                assert_eq!(state, &TransferState::Done);
            }
            assert!(
                !matches!(ev, Event::Conflicts { .. }),
                "nothing existed on disk: no question to ask"
            );
        }
        let mut got: Vec<(String, String)> = walk(dest.path())
            .iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    common::sha256_file(p),
                )
            })
            .collect();
        got.sort();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["same (1).bin", "same (2).bin", "same.bin"]);
        let mut hashes: Vec<String> = got.into_iter().map(|(_, h)| h).collect();
        hashes.sort();
        let mut want = vec![
            common::sha256_hex(&x),
            common::sha256_hex(&x),
            common::sha256_hex(&y),
        ];
        want.sort();
        assert_eq!(hashes, want, "each file holds exactly one of the two");
    }
}

/// Single-style: the declined download never reaches the server; this is the queue and
/// the local partial files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_the_resume_removes_the_partial_files() {
    use filedeck::worker::queue::{QueueStore, SavedJob};
    let env = env(KeyStyle::Path).await;
    let endpoint = env.endpoint.clone();
    let state = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("big.bam");
    let (part, meta) = filedeck::api::partial_paths(&target);
    std::fs::write(&part, vec![7u8; 4096]).unwrap();
    std::fs::write(&meta, b"{}").unwrap();
    {
        // What a killed run left: one download under way.
        let mut q = QueueStore::open(state.path(), &endpoint).unwrap();
        let entry = remote_entry("big.bam", 1 << 20);
        q.record(
            1,
            Some(&SavedJob::Down {
                ws: "ws".into(),
                entry,
                root: dest.path().to_path_buf(),
                target: target.clone(),
            }),
        )
        .unwrap();
    }
    let store = QueueStore::open(state.path(), &endpoint).unwrap();
    let client = common::client(&endpoint, KEY, |_| {});
    let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Held(store));
    events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::ResumeOffer { count: 1, .. })
    })
    .await;
    commands.send(Command::Resume(false)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while part.exists() || meta.exists() {
        assert!(Instant::now() < deadline, "the partial file is still there");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Single-style: both are refused before anything reaches the server's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_folder_or_a_file_as_destination_is_said_plainly() {
    let env = env(KeyStyle::Path).await;
    let client = env.client.clone();
    let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let empty = local.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: empty.display().to_string(),
            folder: String::new(),
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::TransferProblem(_))
    })
    .await;
    assert!(
        matches!(&seen.last().unwrap().1, Event::TransferProblem(m) if m.contains("the folder is empty")),
        "{seen:?}"
    );
    let file = common::write_file(local.path(), "notes.txt", b"x");
    let entry = remote_entry("a.txt", 1);
    commands
        .send(Command::Download {
            ws: "ws".into(),
            dest: file.display().to_string(),
            files: vec![(entry, "a.txt".into())],
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::TransferProblem(_))
    })
    .await;
    assert!(
        matches!(&seen.last().unwrap().1, Event::TransferProblem(m) if m.contains("is a file, not a folder")),
        "{seen:?}"
    );
}

/// Single-style: the queue's lock and its leftover; no transfer reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_claimed_once_the_other_filedeck_lets_go() {
    use filedeck::worker::queue::{QueueStore, SavedJob};
    let env = env(KeyStyle::Path).await;
    let endpoint = env.endpoint.clone();
    let state = tempfile::tempdir().unwrap();
    let mut first = QueueStore::open(state.path(), &endpoint).unwrap();
    first
        .record(
            1,
            Some(&SavedJob::Up {
                ws: "ws".into(),
                local: "/data/r1.fq".into(),
                folder: String::new(),
                name: "r1.fq".into(),
                size: 5,
                replaces: Vec::new(),
                description: None,
            }),
        )
        .unwrap();
    let client = common::client(&endpoint, KEY, |_| {});
    let (commands, mut events) = worker::spawn(
        client,
        4,
        worker::Queue::At {
            dir: state.path().to_path_buf(),
            endpoint: endpoint.clone(),
        },
    );
    // At start the worker finds the queue held, and says so; asked again, the same.
    for ask in [false, true] {
        if ask {
            commands.send(Command::ClaimQueue).unwrap();
        }
        let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
            matches!(ev, Event::QueueClaimed(_))
        })
        .await;
        assert!(
            matches!(&seen.last().unwrap().1, Event::QueueClaimed(Err(m)) if m.contains("another filedeck")),
            "{seen:?}"
        );
    }
    // The first one exits (its lock goes with it) leaving one upload unfinished.
    drop(first);
    commands.send(Command::ClaimQueue).unwrap();
    let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::QueueClaimed(_))
    })
    .await;
    assert!(
        seen.iter()
            .any(|(_, ev)| matches!(ev, Event::ResumeOffer { count: 1, .. })),
        "what it left is offered: {seen:?}"
    );
    assert!(matches!(
        &seen.last().unwrap().1,
        Event::QueueClaimed(Ok(()))
    ));
}

#[cfg(unix)]
key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_an_upload_leaves_out_on_purpose_is_listed_as_skipped_with_the_reason(style) {
        let env = env(style).await;
        let client = env.client.clone();
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let run = local.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::fs::write(run.join("r1.fq"), b"reads").unwrap();
        std::os::unix::fs::symlink("..", run.join("up")).unwrap();
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: run.display().to_string(),
                folder: String::new(),
            })
            .unwrap();
        let seen = until_ended(&mut events, 2, Duration::from_secs(20)).await;
        let mut local_of = HashMap::new();
        for (_, ev) in &seen {
            if let Event::TransferAdded { id, info } = ev {
                local_of.insert(*id, info.local.clone());
            }
        }
        let skipped: Vec<(String, String)> = seen
            .iter()
            .filter_map(|(_, ev)| match ev {
                Event::TransferState {
                    id,
                    state: TransferState::Skipped(why),
                } => Some((local_of[id].clone(), why.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            [(
                run.join("up").display().to_string(),
                "a link to a folder is not followed".to_string()
            )],
            "the row names the link; the reason alone is the state"
        );
    }
}

/// Single-style: the worker's sampling clock over a throttled link; how keys are made
/// changes nothing of it, and a second run would only double two seconds of waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_sampled_at_most_ten_times_a_second() {
    // 2 MB at 1 MB/s: about two seconds of samples.
    let slow = throttle::Throttle::bind(1_000_000).await;
    let env = env_via(KeyStyle::Path, Some(&slow.base)).await;
    slow.connect(env._server.addr);
    let client = common::client(&slow.base, KEY, |_| {});
    let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let p = common::write_file(local.path(), "slow.bam", &common::pattern(2_000_000, 3));
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: p.display().to_string(),
            folder: String::new(),
        })
        .unwrap();
    let seen = until_ended(&mut events, 1, Duration::from_secs(60)).await;
    // (worker clock in ms, bytes done) of each progress event, in the order sent.
    let progress: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::TransferProgress { at_ms, samples } => {
                samples.first().map(|&(_, done)| (*at_ms, done))
            }
            _ => None,
        })
        .collect();
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "neither the clock nor the byte count goes back: {progress:?}"
    );
    assert_eq!(
        progress.last().map(|p| p.1),
        Some(2_000_000),
        "the last sample is the final count"
    );
    // The last sample is the one each transfer gets as it ends; the rest are ticks.
    let ticks = &progress[..progress.len() - 1];
    assert!(
        ticks.len() >= 3,
        "a two-second transfer is sampled while it runs, not only at its end: {progress:?}"
    );
    // Not a spacing measured on a busy machine: each tick is due at least 100 ms after the
    // one before (MissedTickBehavior::Delay), the first no earlier than the worker's clock
    // starts, so n ticks cannot be sent before (n - 1) * 100 ms on that clock, however
    // late some of them were. A sample pushed per chunk would break this many times over.
    let last_tick = ticks[ticks.len() - 1].0;
    assert!(
        ticks.len() as u64 <= last_tick / 100 + 1,
        "{} samples by {last_tick} ms: more than 10 a second: {progress:?}",
        ticks.len()
    );
}

/// A file of `mib` MiB (one MiB of pattern over and over, so it is written fast and
/// nothing in it is sparse) and its SHA-256.
fn big_file(path: &Path, mib: usize, seed: u64) -> String {
    use sha2::Digest;
    use std::io::Write;
    let block = common::pattern(1 << 20, seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = sha2::Sha256::new();
    for _ in 0..mib {
        out.write_all(&block).unwrap();
        hash.update(&block);
    }
    out.flush().unwrap();
    hex::encode(hash.finalize())
}

/// Where in `seen` the first event `what` says is, if any.
fn first(seen: &[(Instant, Event)], what: impl Fn(&Event) -> bool) -> Option<usize> {
    seen.iter().position(|(_, ev)| what(ev))
}

/// Single-style: this is the worker's loop staying responsive while it hashes 2 × 256 MiB
/// of local files; the server only answers one listing (checked by display path) and a
/// cancelled upload. Hashing it all again in the other style would buy nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_and_cancels_are_answered_while_skip_if_identical_hashes() {
    const MIB: usize = 256;
    let slow = throttle::Throttle::bind(1_000_000).await;
    let env = env_via(KeyStyle::Path, Some(&slow.base)).await;
    slow.connect(env._server.addr);
    let listed = tempfile::tempdir().unwrap();
    let p = common::write_file(listed.path(), "f.txt", b"x");
    env.client
        .upload(
            &filedeck::api::UploadRequest {
                workspace: "ws",
                local: &p,
                folder: "docs/",
                name: None,
                description: None,
            },
            &filedeck::api::Progress::new(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    // The upload to cancel goes over a slow link, so it is still running when cancelled.
    let client = common::client(&slow.base, KEY, |_| {});
    let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let big = common::write_file(local.path(), "slow.bam", &common::pattern(8_000_000, 3));
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: big.display().to_string(),
            folder: String::new(),
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
        matches!(
            ev,
            Event::TransferState {
                state: TransferState::Running,
                ..
            }
        )
    })
    .await;
    let Some((_, Event::TransferState { id: upload, .. })) = seen.last() else {
        unreachable!()
    };
    let upload = *upload;

    // Two large files already where two downloads would write them, the same bytes as
    // the remote ones: "skip if identical" must hash both.
    let dest = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, seed) in [("a.bam", 1), ("b.bam", 2)] {
        let sha = big_file(&dest.path().join(name), MIB, seed);
        let mut entry = remote_entry(name, (MIB << 20) as u64);
        entry.sha256 = Some(sha);
        files.push((entry, name.to_string()));
    }
    commands
        .send(Command::Download {
            ws: "ws".into(),
            dest: dest.path().display().to_string(),
            files,
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
        matches!(ev, Event::Conflicts { .. })
    })
    .await;
    let Some((_, Event::Conflicts { batch, items })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(items.len(), 2, "{items:?}");
    commands
        .send(Command::Resolve {
            batch: *batch,
            choices: vec![filedeck::app::msg::Choice::SkipIfIdentical; 2],
        })
        .unwrap();
    // Each is listed as it begins to be hashed, so it can be cancelled.
    let mut hashed = Vec::new();
    events_until(&mut events, Duration::from_secs(20), |ev| {
        match ev {
            Event::TransferAdded { id, info } => {
                assert_eq!(info.dir, Direction::Down);
                hashed.push((*id, info.local.clone()));
            }
            Event::TransferState { state, .. } if !state.is_active() => {
                panic!("a comparison ended before both files were listed: {ev:?}")
            }
            _ => {}
        }
        hashed.len() == 2
    })
    .await;
    assert!(hashed[0].1.ends_with("a.bam") && hashed[1].1.ends_with("b.bam"));
    let (a, b) = (hashed[0].0, hashed[1].0);

    commands
        .send(Command::List {
            req: 9,
            ws: "ws".into(),
            prefix: String::new(),
        })
        .unwrap();
    commands.send(Command::CancelTransfer(b)).unwrap();
    commands.send(Command::CancelTransfer(upload)).unwrap();
    let ended = |id: u64| move |ev: &Event| matches!(ev, Event::TransferState { id: i, state } if *i == id && !state.is_active());
    let seen = events_until(&mut events, Duration::from_secs(60), ended(a)).await;

    let Some((_, Event::TransferState { state, .. })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(state, &TransferState::Skipped("identical".into()));
    let a_done = seen.len() - 1;
    let listing = first(&seen, |ev| {
        matches!(
            ev,
            Event::ListPage {
                req: 9,
                done: true,
                ..
            }
        )
    })
    .unwrap_or_else(|| panic!("the listing was not answered before the hashing ended: {seen:#?}"));
    let listed: Vec<String> = seen
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::ListPage { req: 9, files, .. } => Some(files.iter().map(FileEntry::display_key)),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(listed, ["docs/f.txt"]);
    for (id, what) in [(b, "the file being hashed"), (upload, "the running upload")] {
        let at = first(&seen, ended(id)).unwrap_or_else(|| {
            panic!("the cancel of {what} did not take effect before the hashing ended: {seen:#?}")
        });
        assert!(
            matches!(
                &seen[at].1,
                Event::TransferState {
                    state: TransferState::Cancelled,
                    ..
                }
            ),
            "{what}: {:?}",
            seen[at].1
        );
        assert!(at < a_done && listing < a_done);
    }
    // Nothing more comes of the cancelled comparison, and both files are as they were.
    commands
        .send(Command::List {
            req: 10,
            ws: "ws".into(),
            prefix: "docs/".into(),
        })
        .unwrap();
    let rest = events_until(&mut events, Duration::from_secs(20), |ev| {
        matches!(
            ev,
            Event::ListPage {
                req: 10,
                done: true,
                ..
            }
        )
    })
    .await;
    assert!(first(&rest, ended(b)).is_none(), "{rest:#?}");
    for name in ["a.bam", "b.bam"] {
        let len = std::fs::metadata(dest.path().join(name)).unwrap().len();
        assert_eq!(len, (MIB << 20) as u64, "{name}");
    }
}

/// The one conflict the worker asks about next: its batch and item.
async fn one_conflict(
    rx: &mut UnboundedReceiver<Event>,
) -> (u64, filedeck::app::msg::ConflictItem) {
    let seen = events_until(rx, Duration::from_secs(20), |ev| {
        matches!(ev, Event::Conflicts { .. })
    })
    .await;
    let Some((_, Event::Conflicts { batch, items })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(items.len(), 1, "{items:?}");
    (*batch, items[0].clone())
}

/// What the server holds at display path `display` (`path + name`).
async fn held_at(client: &filedeck::api::Client, display: &str) -> Vec<FileEntry> {
    let listing = client.list_all("ws", "").await.unwrap();
    listing
        .files
        .into_iter()
        .filter(|f| f.display_key() == display)
        .collect()
}

key_styles! {
    /// "Overwrite" of an upload whose display path exists leaves exactly one file there,
    /// with the new bytes: in opaque style the upload mints a new key and the engine
    /// deletes the older one once the new one is in.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overwriting_an_upload_leaves_one_file_at_its_path(style) {
        use filedeck::app::msg::Choice;
        let env = env(style).await;
        let old = filedeck::server::put_bytes(&env._server, "ws", "raw/a.vcf", b"old".to_vec(), None)
            .await
            .unwrap();
        assert_eq!(old.key == "raw/a.vcf", style == KeyStyle::Path);
        let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let new = common::pattern(5000, 9);
        let p = common::write_file(local.path(), "a.vcf", &new);
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: p.display().to_string(),
                folder: "raw/".into(),
            })
            .unwrap();
        let (batch, item) = one_conflict(&mut events).await;
        assert_eq!(item.existing, "ws:raw/a.vcf");
        assert_eq!(item.existing_size, Some(3));
        assert_eq!(item.note, None);
        commands
            .send(Command::Resolve {
                batch,
                choices: vec![Choice::Overwrite],
            })
            .unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
        assert!(
            matches!(&seen.last().unwrap().1, Event::TransferState { state: TransferState::Done, .. }),
            "{seen:?}"
        );
        let at = held_at(&env.client, "raw/a.vcf").await;
        assert_eq!(at.len(), 1, "one file at the path: {at:?}");
        assert_eq!(at[0].sha256.as_deref(), Some(common::sha256_hex(&new).as_str()));
        match style {
            KeyStyle::Path => assert_eq!(at[0].key, old.key),
            KeyStyle::Opaque => {
                assert_ne!(at[0].key, old.key);
                let gone = env.client.stat("ws", &old.key).await.unwrap();
                assert!(gone.is_none(), "the older key is gone: {gone:?}");
            }
        }
    }
}

key_styles! {
    /// "Keep both" puts the new file beside the existing one as "name (1).ext", up (the
    /// existing file untouched, under its key) and down (the local file untouched).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keep_both_transfers_under_a_numbered_name(style) {
        use filedeck::app::msg::Choice;
        let env = env(style).await;
        let old = filedeck::server::put_bytes(&env._server, "ws", "raw/a.vcf", b"old".to_vec(), None)
            .await
            .unwrap();
        let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let p = common::write_file(local.path(), "a.vcf", b"new!");
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: p.display().to_string(),
                folder: "raw/".into(),
            })
            .unwrap();
        let (batch, item) = one_conflict(&mut events).await;
        assert!(item.upload);
        commands
            .send(Command::Resolve { batch, choices: vec![Choice::KeepBoth] })
            .unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
        let remote: Vec<&str> = seen
            .iter()
            .filter_map(|(_, ev)| match ev {
                Event::TransferAdded { info, .. } => Some(info.remote.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(remote, ["raw/a (1).vcf"]);
        let kept = held_at(&env.client, "raw/a.vcf").await;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].key, old.key, "the existing file is untouched");
        let beside = held_at(&env.client, "raw/a (1).vcf").await;
        assert_eq!(beside.len(), 1);
        assert_eq!(beside[0].sha256.as_deref(), Some(common::sha256_hex(b"new!").as_str()));

        // Down: into a folder that has an a.vcf of its own.
        let dest = tempfile::tempdir().unwrap();
        common::write_file(dest.path(), "a.vcf", b"mine");
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: dest.path().display().to_string(),
                files: vec![(kept[0].clone(), "a.vcf".into())],
            })
            .unwrap();
        let (batch, item) = one_conflict(&mut events).await;
        assert!(!item.upload);
        assert_eq!(item.existing, dest.path().join("a.vcf").display().to_string());
        commands
            .send(Command::Resolve { batch, choices: vec![Choice::KeepBoth] })
            .unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
        assert!(
            matches!(&seen.last().unwrap().1, Event::TransferState { state: TransferState::Done, .. }),
            "{seen:?}"
        );
        assert_eq!(std::fs::read(dest.path().join("a.vcf")).unwrap(), b"mine");
        assert_eq!(std::fs::read(dest.path().join("a (1).vcf")).unwrap(), b"old");
        assert_eq!(walk(dest.path()).len(), 2, "nothing else left there");
    }
}

#[path = "support/faults.rs"]
mod faults;

/// The id and info of every transfer `seen` lists, in the order listed.
fn added(seen: &[(Instant, Event)]) -> Vec<(u64, filedeck::app::transfer_types::TransferInfo)> {
    seen.iter()
        .filter_map(|(_, ev)| match ev {
            Event::TransferAdded { id, info } => Some((*id, info.clone())),
            _ => None,
        })
        .collect()
}

/// The last state `seen` gives transfer `id`.
fn last_state(seen: &[(Instant, Event)], id: u64) -> Option<TransferState> {
    seen.iter().rev().find_map(|(_, ev)| match ev {
        Event::TransferState { id: i, state } if *i == id => Some(state.clone()),
        _ => None,
    })
}

/// The note `seen` gives transfer `id`, if any.
fn note_of(seen: &[(Instant, Event)], id: u64) -> Option<String> {
    seen.iter().rev().find_map(|(_, ev)| match ev {
        Event::TransferNote { id: i, note } if *i == id => Some(note.clone()),
        _ => None,
    })
}

/// Wait until the proxy has passed an upload-route request on and the server answered
/// it (the server has acted): a condition, with a deadline.
async fn server_acted(proxy: &faults::Proxy, route: faults::Route) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !proxy.seen(route).iter().any(|s| s.upstream.is_some()) {
        assert!(
            Instant::now() < deadline,
            "the server never saw the {route:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

key_styles! {
    /// Issue 9, item 1: a cancel that comes after the whole body was sent, while the
    /// server's answer is on its way, must not say "cancelled" beside a file that landed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancel_after_the_body_was_sent_ends_done_never_cancelled_beside_the_file(style) {
        let (proxy, base) = faults::Proxy::bind().await;
        let env = env_via(style, Some(&base)).await;
        proxy.connect(&env.endpoint);
        // The server stores the file; its answer is then held a while, then lost.
        proxy.arm(faults::Route::Upload, &[faults::Fault::Stall(0, Duration::from_secs(2))]);
        let client = common::client(&base, KEY, |_| {});
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let p = common::write_file(local.path(), "late.vcf", &common::pattern(200_000, 5));
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: p.display().to_string(),
                folder: "in/".into(),
            })
            .unwrap();
        let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
            matches!(ev, Event::TransferState { state: TransferState::Running, .. })
        })
        .await;
        let id = added(&seen)[0].0;
        server_acted(&proxy, faults::Route::Upload).await;
        commands.send(Command::CancelTransfer(id)).unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(60)).await;
        let state = last_state(&seen, id).unwrap();
        let listed = held_at(&env.client, "in/late.vcf").await;
        assert_eq!(listed.len(), 1, "the server had stored it: {listed:?}");
        assert_eq!(state, TransferState::Done, "a row never says cancelled beside its file");
        let note = note_of(&seen, id).unwrap_or_default();
        assert!(note.contains("the cancel came too late"), "{note:?}");
    }
}

key_styles! {
    /// The three-step flow: a cancel before the confirm is never confirmed (nothing is
    /// listed, the row says cancelled); a cancel while the confirm is under way sees it
    /// through and says done, and that the cancel came too late.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_upload_is_cancelled_before_its_confirm_and_done_after(style) {
        let (proxy, base) = faults::Proxy::bind().await;
        let env = env_via(style, Some(&base)).await;
        proxy.connect(&env.endpoint);
        let client = common::client(&base, KEY, |cfg| cfg.large_threshold = 64 * 1024);
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        for (name, route) in [("put.bam", faults::Route::ObjectPut), ("confirm.bam", faults::Route::Confirm)] {
            // The PUT's bytes held half-way (its answer would come at once: a byte route
            // streams); the confirm's answer held after the server made the file.
            let fault = match route {
                faults::Route::ObjectPut => faults::Fault::StallRequest(150_000, Duration::from_secs(2)),
                _ => faults::Fault::Stall(0, Duration::from_secs(2)),
            };
            proxy.arm(route, &[fault]);
            let p = common::write_file(local.path(), name, &common::pattern(300_000, 6));
            commands
                .send(Command::Upload {
                    ws: "ws".into(),
                    local: p.display().to_string(),
                    folder: String::new(),
                })
                .unwrap();
            let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
                matches!(ev, Event::TransferState { state: TransferState::Running, .. })
            })
            .await;
            let id = added(&seen)[0].0;
            if route == faults::Route::ObjectPut {
                let deadline = Instant::now() + Duration::from_secs(20);
                while proxy.seen(route).is_empty() {
                    assert!(Instant::now() < deadline, "no PUT came");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            } else {
                server_acted(&proxy, route).await;
            }
            commands.send(Command::CancelTransfer(id)).unwrap();
            let seen = until_ended(&mut events, 1, Duration::from_secs(60)).await;
            let state = last_state(&seen, id).unwrap();
            let listed = held_at(&env.client, name).await;
            if route == faults::Route::ObjectPut {
                assert_eq!(state, TransferState::Cancelled);
                assert!(listed.is_empty(), "never confirmed: {listed:?}");
                assert!(proxy.seen(faults::Route::Confirm).is_empty());
            } else {
                assert_eq!(state, TransferState::Done);
                assert_eq!(listed.len(), 1, "{listed:?}");
                let note = note_of(&seen, id).unwrap_or_default();
                assert!(note.contains("the cancel came too late"), "{note:?}");
            }
        }
    }
}

key_styles! {
    /// "Cancel all" on a batch under way: afterwards, a file is listed exactly when its
    /// row says done; no row says cancelled beside a listed file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancel_all_leaves_listed_exactly_the_files_whose_rows_say_done(style) {
        let slow = throttle::Throttle::bind(8_000_000).await;
        let env = env_via(style, Some(&slow.base)).await;
        slow.connect(env._server.addr);
        let client = common::client(&slow.base, KEY, |_| {});
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let set = local.path().join("bigset");
        std::fs::create_dir(&set).unwrap();
        for i in 0..24 {
            common::write_file(&set, &format!("f{i:02}.bin"), &common::pattern(400_000, i));
        }
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: set.display().to_string(),
                folder: String::new(),
            })
            .unwrap();
        // Cancel all once the first file is in: some are in flight then, some waiting.
        let mut seen = events_until(&mut events, Duration::from_secs(60), |ev| {
            matches!(ev, Event::TransferState { state: TransferState::Done, .. })
        })
        .await;
        commands.send(Command::CancelAll).unwrap();
        let ids: Vec<u64> = added(&seen).iter().map(|(id, _)| *id).collect();
        assert_eq!(ids.len(), 24);
        let ended_before = ids
            .iter()
            .filter(|id| last_state(&seen, **id).is_some_and(|s| !s.is_active()))
            .count();
        seen.extend(until_ended(&mut events, 24 - ended_before, Duration::from_secs(60)).await);
        let listed: std::collections::HashSet<String> = env
            .client
            .list_all("ws", "bigset/")
            .await
            .unwrap()
            .files
            .iter()
            .map(FileEntry::display_key)
            .collect();
        let mut cancelled = 0;
        for (id, info) in added(&seen) {
            let state = last_state(&seen, id).unwrap();
            let there = listed.contains(&info.remote);
            match state {
                TransferState::Done => assert!(there, "{} done but not listed", info.remote),
                TransferState::Cancelled => {
                    cancelled += 1;
                    assert!(!there, "{} says cancelled but is listed", info.remote)
                }
                other => panic!("{}: {other:?}", info.remote),
            }
        }
        assert!(cancelled > 0, "the cancel came after everything had finished");
    }
}

/// Issue 9, item 4: the files of a folder start in the order listed, by path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_batch_starts_in_the_order_it_is_listed() {
    let env = env(KeyStyle::Path).await;
    let (commands, mut events) = worker::spawn(env.client.clone(), 1, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let set = local.path().join("set");
    for rel in [
        "b.txt",
        "a.txt",
        "sub/z.txt",
        "sub.txt",
        "c.txt",
        "sub/a.txt",
        "d.txt",
        "e.txt",
    ] {
        let p = set.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, rel.as_bytes()).unwrap();
    }
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: set.display().to_string(),
            folder: String::new(),
        })
        .unwrap();
    let seen = until_ended(&mut events, 8, Duration::from_secs(60)).await;
    let listed: Vec<(u64, String)> = added(&seen)
        .into_iter()
        .map(|(id, info)| (id, info.remote))
        .collect();
    let mut sorted: Vec<String> = listed.iter().map(|(_, r)| r.clone()).collect();
    sorted.sort();
    let order: Vec<String> = listed.iter().map(|(_, r)| r.clone()).collect();
    let started: Vec<String> = seen
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::TransferState {
                id,
                state: TransferState::Running,
            } => listed.iter().find(|(i, _)| i == id).map(|(_, r)| r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(started, order, "started in the order listed");
    assert_eq!(order, sorted, "listed by path");
}

/// Issue 9, item 3: an upload of a path that is not there is refused at once, with no row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_of_a_path_that_does_not_exist_is_refused_without_a_row() {
    let env = env(KeyStyle::Path).await;
    let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let there = common::write_file(local.path(), "there.txt", b"x");
    let gone = local.path().join("not-there.txt").display().to_string();
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: gone.clone(),
            folder: String::new(),
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::TransferProblem(_))
    })
    .await;
    let Some((_, Event::TransferProblem(text))) = seen.last() else {
        unreachable!()
    };
    assert_eq!(text, &format!("No such file or folder: {gone}"));
    // With a path that is there: that one is uploaded, the other refused.
    commands
        .send(Command::UploadPaths {
            ws: "ws".into(),
            locals: vec![gone.clone(), there.display().to_string()],
            folder: String::new(),
            description: None,
        })
        .unwrap();
    let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
    let rows = added(&seen);
    assert_eq!(rows.len(), 1, "{seen:?}");
    assert_eq!(rows[0].1.remote, "there.txt");
    assert_eq!(last_state(&seen, rows[0].0), Some(TransferState::Done));
    let problems: Vec<&String> = seen
        .iter()
        .filter_map(|(_, ev)| match ev {
            Event::TransferProblem(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(problems, [&format!("No such file or folder: {gone}")]);
}

key_styles! {
    /// Issue 9, item 2: files that vanish mid-batch fail; every `R` retries every failed
    /// transfer (again and again while they are still missing), and once they are back
    /// they are uploaded. A failed row that cannot be retried says why.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_retry_retries_every_failed_transfer(style) {
        use filedeck::app::msg::Choice;
        let env = env(style).await;
        for i in 0..6 {
            let display = format!("batch/f{i}.txt");
            filedeck::server::put_bytes(&env._server, "ws", &display, b"old".to_vec(), None)
                .await
                .unwrap();
        }
        let (commands, mut events) = worker::spawn(env.client.clone(), 2, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let set = local.path().join("batch");
        std::fs::create_dir(&set).unwrap();
        for i in 0..6 {
            common::write_file(&set, &format!("f{i}.txt"), format!("new {i}").as_bytes());
        }
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: set.display().to_string(),
                folder: String::new(),
            })
            .unwrap();
        // The batch waits on the question: meanwhile five of its files are removed.
        let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
            matches!(ev, Event::Conflicts { .. })
        })
        .await;
        let Some((_, Event::Conflicts { batch, items })) = seen.last() else { unreachable!() };
        let gone = ["f1.txt", "f2.txt", "f3.txt", "f4.txt", "f5.txt"];
        for name in gone {
            std::fs::remove_file(set.join(name)).unwrap();
        }
        commands
            .send(Command::Resolve { batch: *batch, choices: vec![Choice::Overwrite; items.len()] })
            .unwrap();
        let seen = until_ended(&mut events, 6, Duration::from_secs(30)).await;
        let rows = added(&seen);
        let failed: Vec<u64> = rows
            .iter()
            .filter(|(id, _)| matches!(last_state(&seen, *id), Some(TransferState::Failed(_))))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(failed.len(), 5, "{seen:#?}");

        // Twice while they are still missing: each time, every one is tried again.
        for round in 0..2 {
            commands.send(Command::Retry(failed.clone())).unwrap();
            let seen = until_ended(&mut events, 5, Duration::from_secs(30)).await;
            for id in &failed {
                let states: Vec<&TransferState> = seen
                    .iter()
                    .filter_map(|(_, ev)| match ev {
                        Event::TransferState { id: i, state } if i == id => Some(state),
                        _ => None,
                    })
                    .collect();
                assert!(
                    matches!(states.first(), Some(TransferState::Queued))
                        && matches!(states.last(), Some(TransferState::Failed(_))),
                    "round {round}, transfer {id}: {states:?}"
                );
            }
        }
        // Back again: the next retry uploads them all.
        for (i, name) in gone.iter().enumerate() {
            common::write_file(&set, name, format!("new {}", i + 1).as_bytes());
        }
        commands.send(Command::Retry(failed.clone())).unwrap();
        let seen = until_ended(&mut events, 5, Duration::from_secs(30)).await;
        for id in &failed {
            assert_eq!(last_state(&seen, *id), Some(TransferState::Done), "{id}: {seen:#?}");
        }
        for i in 0..6 {
            let at = held_at(&env.client, &format!("batch/f{i}.txt")).await;
            assert_eq!(at.len(), 1, "{at:?}");
            assert_eq!(at[0].size, Some(5));
        }
        // A row that is not failed (done now) is not retried, and says why.
        commands.send(Command::Retry(vec![failed[0]])).unwrap();
        let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
            matches!(ev, Event::TransferProblem(_))
        })
        .await;
        let Some((_, Event::TransferProblem(text))) = seen.last() else { unreachable!() };
        assert!(text.contains("not retried"), "{text}");
    }
}

key_styles! {
    /// Issue 9, item 5: a "keep both" row names the file as it is written, both ways: the
    /// upload's remote path and the download's local one are the numbered names.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keep_both_row_names_the_numbered_file_it_wrote(style) {
        use filedeck::app::msg::Choice;
        let env = env(style).await;
        let old = filedeck::server::put_bytes(&env._server, "ws", "a.vcf", b"old".to_vec(), None)
            .await
            .unwrap();
        let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
        let local = tempfile::tempdir().unwrap();
        let p = common::write_file(local.path(), "a.vcf", b"new!");
        commands
            .send(Command::Upload {
                ws: "ws".into(),
                local: p.display().to_string(),
                folder: String::new(),
            })
            .unwrap();
        let (batch, _) = one_conflict(&mut events).await;
        commands
            .send(Command::Resolve { batch, choices: vec![Choice::KeepBoth] })
            .unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
        let rows = added(&seen);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.remote, "a (1).vcf");
        let dest = tempfile::tempdir().unwrap();
        common::write_file(dest.path(), "a.vcf", b"mine");
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: dest.path().display().to_string(),
                files: vec![(old, "a.vcf".into())],
            })
            .unwrap();
        let (batch, _) = one_conflict(&mut events).await;
        commands
            .send(Command::Resolve { batch, choices: vec![Choice::KeepBoth] })
            .unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(20)).await;
        let rows = added(&seen);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.local, dest.path().join("a (1).vcf").display().to_string());
        assert_eq!(std::fs::read(dest.path().join("a (1).vcf")).unwrap(), b"old");
    }
}

/// Issue 9, item 2: a failed row the engine has no job for (a file the walk could not
/// read) is not retried in silence: the answer names it and says what to do.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_row_that_cannot_be_retried_says_why() {
    let env = env(KeyStyle::Path).await;
    let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
    let local = tempfile::tempdir().unwrap();
    let set = local.path().join("set");
    std::fs::create_dir(&set).unwrap();
    common::write_file(&set, "ok.txt", b"x");
    std::os::unix::fs::symlink(set.join("nowhere"), set.join("gone.txt")).unwrap();
    commands
        .send(Command::Upload {
            ws: "ws".into(),
            local: set.display().to_string(),
            folder: String::new(),
        })
        .unwrap();
    let seen = until_ended(&mut events, 2, Duration::from_secs(20)).await;
    let failed: Vec<u64> = added(&seen)
        .iter()
        .filter(|(id, _)| matches!(last_state(&seen, *id), Some(TransferState::Failed(_))))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(failed.len(), 1, "{seen:#?}");
    commands.send(Command::Retry(failed)).unwrap();
    let seen = events_until(&mut events, Duration::from_secs(10), |ev| {
        matches!(ev, Event::TransferProblem(_))
    })
    .await;
    let Some((_, Event::TransferProblem(text))) = seen.last() else {
        unreachable!()
    };
    assert!(
        text.starts_with("1 transfer not retried: ")
            && text.contains("gone.txt")
            && text.contains("upload it again"),
        "{text}"
    );
}

key_styles! {
    /// A download cancelled while its bytes come (here: over an existing local file the
    /// user chose to overwrite) leaves that file as it was and no partial file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_download_leaves_the_old_file_and_no_partial(style) {
        use filedeck::app::msg::Choice;
        let (proxy, base) = faults::Proxy::bind().await;
        let env = env_via(style, Some(&base)).await;
        proxy.connect(&env.endpoint);
        let entry = filedeck::server::put_bytes(
            &env._server,
            "ws",
            "big.bin",
            common::pattern(600_000, 4),
            None,
        )
        .await
        .unwrap();
        proxy.arm(faults::Route::ObjectGet, &[faults::Fault::Stall(200_000, Duration::from_secs(2))]);
        let client = common::client(&base, KEY, |_| {});
        let (commands, mut events) = worker::spawn(client, 4, worker::Queue::Off);
        let dest = tempfile::tempdir().unwrap();
        common::write_file(dest.path(), "big.bin", b"mine");
        commands
            .send(Command::Download {
                ws: "ws".into(),
                dest: dest.path().display().to_string(),
                files: vec![(entry, "big.bin".into())],
            })
            .unwrap();
        let (batch, _) = one_conflict(&mut events).await;
        commands
            .send(Command::Resolve { batch, choices: vec![Choice::Overwrite] })
            .unwrap();
        let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
            matches!(ev, Event::TransferState { state: TransferState::Running, .. })
        })
        .await;
        let id = added(&seen)[0].0;
        // Some bytes are out and the rest held back: the download is mid-body.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !proxy
            .seen(faults::Route::ObjectGet)
            .iter()
            .any(|s| s.stalled_at.lock().unwrap().is_some())
        {
            assert!(Instant::now() < deadline, "the download never got under way");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        commands.send(Command::CancelTransfer(id)).unwrap();
        let seen = until_ended(&mut events, 1, Duration::from_secs(60)).await;
        assert_eq!(last_state(&seen, id), Some(TransferState::Cancelled));
        assert_eq!(std::fs::read(dest.path().join("big.bin")).unwrap(), b"mine");
        assert_eq!(walk(dest.path()).len(), 1, "no partial file left");
    }
}

/// `Y`'s round trip: the worker asks the server for a fresh presigned link, answers with
/// it and its lifetime, and the link serves the file's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presign_request_answers_a_working_link_and_its_lifetime() {
    let env = env(KeyStyle::Path).await;
    let local = tempfile::tempdir().unwrap();
    let p = common::write_file(local.path(), "a.vcf", b"##fileformat=VCFv4.2\n");
    let entry = env
        .client
        .upload(
            &filedeck::api::UploadRequest {
                workspace: "ws",
                local: &p,
                folder: "raw/",
                name: None,
                description: None,
            },
            &filedeck::api::Progress::new(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let (commands, mut events) = worker::spawn(env.client.clone(), 4, worker::Queue::Off);
    commands
        .send(Command::PresignDownload {
            req: 7,
            ws: "ws".into(),
            key: entry.entry.key.clone(),
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
        matches!(ev, Event::Presigned { req: 7, .. })
    })
    .await;
    let Some((_, Event::Presigned { result, .. })) = seen.last() else {
        panic!("no answer: {seen:?}");
    };
    let (filedeck::app::msg::Secret(url), secs) = result.clone().unwrap();
    assert!(
        secs.is_some_and(|s| s > 0),
        "the reference server says how long"
    );
    let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"##fileformat=VCFv4.2\n");
    // A key that does not exist is an error, said, not a link.
    commands
        .send(Command::PresignDownload {
            req: 8,
            ws: "ws".into(),
            key: "raw/none.vcf".into(),
        })
        .unwrap();
    let seen = events_until(&mut events, Duration::from_secs(20), |ev| {
        matches!(ev, Event::Presigned { req: 8, .. })
    })
    .await;
    assert!(
        matches!(
            seen.last(),
            Some((_, Event::Presigned { result: Err(_), .. }))
        ),
        "{seen:?}"
    );
    let _ = &env.endpoint;
}
