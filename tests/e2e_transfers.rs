//! Transfers through the real binary in a pty against the reference server: a directory
//! of mixed sizes (one above a lowered large-upload threshold) up, the folder down
//! elsewhere, every file compared by sha256. Waits are on conditions with deadlines.
//! Every test runs once per key style (`key_styles!`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    unsafe_code,
    reason = "tests stop at the first surprise; the pty driver (support/pty.rs) polls with libc"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server::{self, KeyStyle};

use common::{files_under, sha256_file};

const KEY: &str = "e2e-transfers";

#[path = "support/pty.rs"]
mod pty;
use pty::{Pty, in_the_middle};

#[path = "support/throttle.rs"]
mod throttle;

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upload_a_directory_then_download_it_elsewhere(style) {
        let data = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let local = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        let srv = test_server::start_styled(data.path(), KEY, style).await;
        server::put_bytes(&srv, "ws1", "existing.txt", b"x".to_vec(), None)
            .await
            .unwrap();

        // 50 files of mixed sizes in nested folders, plus one above the lowered threshold.
        let batch = local.path().join("batch");
        for i in 0..50usize {
            let dir = batch.join(format!("lane{}", i % 3));
            std::fs::create_dir_all(&dir).unwrap();
            let len = [0, 1, 1000, 65_536, 300_000][i % 5] + i;
            let bytes: Vec<u8> = (0..len).map(|j| ((i * 31 + j * 7) % 251) as u8).collect();
            std::fs::write(dir.join(format!("r{i:02}.fq")), bytes).unwrap();
        }
        let big: Vec<u8> = (0..2 * 1024 * 1024 + 3).map(|j| (j % 241) as u8).collect();
        std::fs::write(batch.join("big.bam"), big).unwrap();

        let url = srv.base_url();
        let st = state.path().to_str().unwrap().to_string();
        let batch_arg = batch.to_str().unwrap().to_string();
        let dest_arg = dest.path().to_str().unwrap().to_string();
        let client = Client::new(ClientConfig::new(&url, ApiKey::new(KEY)).unwrap()).unwrap();

        let mut pty = tokio::task::spawn_blocking(move || {
            let mut pty = Pty::spawn(
                &["--workspace", "ws1"],
                &[
                    ("FILEDECK_ENDPOINT", &url),
                    ("FILEDECK_API_KEY", KEY),
                    ("XDG_STATE_HOME", &st),
                    ("FILEDECK_LARGE_UPLOAD_THRESHOLD", "1048576"),
                ],
                140,
                40,
            );
            pty.wait_for("the listing", |s| s.contains("existing.txt"));
            pty.send("u");
            pty.wait_for("the upload prompt", |s| {
                s.contains("Local file or folder to upload")
            });
            pty.send(&batch_arg);
            pty.send("\r");
            // The tree line itself (the transfers pane also shows "batch/..."): the folder
            // refresh after the uploads has reached the tree.
            pty.wait_for("51 uploads done", |s| {
                s.contains("Transfers: 0 running, 0 queued, 51 done ")
                    && s.contains("▸ batch/")
                    && s.contains(" 51 files ")
            });
            pty
        })
        .await
        .unwrap();
        // Listed remotely, each exactly once, with the local sha256.
        let listed = client.list_all("ws1", "batch/").await.unwrap().files;
        assert_eq!(listed.len(), 51);
        assert!(
            listed
                .iter()
                .all(|f| (f.key == f.display_key()) == (style == KeyStyle::Path)),
            "keys of the {style} style: {listed:?}"
        );
        let local_files = files_under(local.path());
        for (rel, path) in &local_files {
            let e = listed
                .iter()
                .find(|f| &f.display_key() == rel)
                .unwrap_or_else(|| panic!("{rel} not listed"));
            assert_eq!(
                e.sha256.as_deref(),
                Some(sha256_file(path).as_str()),
                "{rel}"
            );
        }

        pty = tokio::task::spawn_blocking(move || {
            // The tree was refreshed after the uploads: batch/ is the first row under ws1.
            pty.send("g");
            pty.send("j");
            pty.wait_for("batch/ selected", |s| s.contains("Folder    batch/"));
            pty.send("d");
            pty.wait_for("the download prompt", |s| s.contains("(51 file"));
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            pty.wait_for("the downloads", |s| {
                s.contains("Transfers: 0 running, 0 queued, 102 done ")
            });
            pty
        })
        .await
        .unwrap();
        let got = files_under(dest.path());
        assert_eq!(got.len(), 51, "{got:?}");
        for ((rel_a, a), (rel_b, b)) in local_files.iter().zip(&got) {
            assert_eq!(rel_a, rel_b, "layout kept");
            assert_eq!(sha256_file(a), sha256_file(b), "{rel_a}");
        }
        tokio::task::spawn_blocking(move || pty.quit())
            .await
            .unwrap();
    }
}

struct Env {
    srv: server::RunningServer,
    _data: tempfile::TempDir,
    state: tempfile::TempDir,
    local: tempfile::TempDir,
    client: Client,
}

async fn env(style: KeyStyle) -> Env {
    env_via(style, None).await
}

/// As [`env`], with the server's presigned URLs on `public_url`: a proxy in front of it.
async fn env_via(style: KeyStyle, public_url: Option<&str>) -> Env {
    let data = tempfile::tempdir().unwrap();
    let srv = test_server::start_with(data.path(), KEY, |config| {
        config.key_style = style;
        config.public_url = public_url.map(str::to_string);
    })
    .await;
    server::put_bytes(&srv, "ws1", "existing.txt", b"x".to_vec(), None)
        .await
        .unwrap();
    let client =
        Client::new(ClientConfig::new(&srv.base_url(), ApiKey::new(KEY)).unwrap()).unwrap();
    Env {
        srv,
        _data: data,
        state: tempfile::tempdir().unwrap(),
        local: tempfile::tempdir().unwrap(),
        client,
    }
}

fn spawn_tui(endpoint: &str, state: &Path) -> Pty {
    Pty::spawn(
        &["--workspace", "ws1"],
        &[
            ("FILEDECK_ENDPOINT", endpoint),
            ("FILEDECK_API_KEY", KEY),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
        ],
        140,
        40,
    )
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_midway_leaves_nothing_behind(style) {
        let slow = throttle::Throttle::bind(2_000_000).await;
        let e = env_via(style, Some(&slow.base)).await;
        slow.connect(e.srv.addr);
        let proxy = slow.base.clone();
        let file = e.local.path().join("reads.fq");
        std::fs::write(&file, vec![b'A'; 8 * 1024 * 1024]).unwrap();
        let arg = file.to_str().unwrap().to_string();
        let st = e.state.path().to_path_buf();
        let pty = tokio::task::spawn_blocking(move || {
            let mut pty = spawn_tui(&proxy, &st);
            pty.wait_for("the listing", |s| s.contains("existing.txt"));
            pty.send("u");
            pty.wait_for("the prompt", |s| s.contains("Local file or folder"));
            pty.send(&arg);
            pty.send("\r");
            pty.wait_for("the upload in the middle", |s| in_the_middle(s, "8 MiB"));
            pty.send("\t\t"); // to the transfers pane
            pty.send("c");
            pty.wait_for("cancelled", |s| {
                s.contains("cancelled") && s.contains("0 running, 0 queued")
            });
            pty
        })
        .await
        .unwrap();
        let listed = e.client.list_all("ws1", "").await.unwrap().files;
        assert_eq!(
            listed.len(),
            1,
            "only existing.txt: nothing of the cancelled upload is listed"
        );

        // A download cancelled midway: no final file, no partial left.
        server::put_bytes(&e.srv, "ws1", "big.bin", vec![7u8; 8 * 1024 * 1024], None)
            .await
            .unwrap();
        let dest = tempfile::tempdir().unwrap();
        let dest_arg = dest.path().to_str().unwrap().to_string();
        let mut pty = pty;
        tokio::task::spawn_blocking(move || {
            pty.send("\t"); // back to the tree
            pty.send("r");
            pty.wait_for("big.bin listed", |s| s.contains("big.bin"));
            pty.send("j");
            pty.wait_for("big.bin selected", |s| s.contains("Path      big.bin"));
            pty.send("d");
            pty.wait_for("the prompt", |s| s.contains("(1 file"));
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            pty.wait_for("the download in the middle", |s| in_the_middle(s, "8 MiB"));
            pty.send("C");
            pty.wait_for("cancelled", |s| {
                s.matches("cancelled").count() >= 2 && s.contains("0 running, 0 queued")
            });
            pty.send("q");
        })
        .await
        .unwrap();
        assert_eq!(
            std::fs::read_dir(dest.path()).unwrap().count(),
            0,
            "no final or partial file"
        );
        // The bytes went over the slow link too: the server put its presigned URLs on it.
        assert!(slow.objects() > 0, "no byte route went through the proxy");
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sighup_mid_batch_the_batch_still_completes(style) {
        let slow = throttle::Throttle::bind(500_000).await;
        let e = env_via(style, Some(&slow.base)).await;
        slow.connect(e.srv.addr);
        let proxy = slow.base.clone();
        let dir = e.local.path().join("batch");
        std::fs::create_dir(&dir).unwrap();
        for i in 0..6 {
            std::fs::write(dir.join(format!("f{i}.bin")), vec![i as u8; 1024 * 1024]).unwrap();
        }
        let arg = dir.to_str().unwrap().to_string();
        let st = e.state.path().to_path_buf();
        let mut pty = tokio::task::spawn_blocking(move || {
            let mut pty = spawn_tui(&proxy, &st);
            pty.wait_for("the listing", |s| s.contains("existing.txt"));
            pty.send("u");
            pty.wait_for("the prompt", |s| s.contains("Local file or folder"));
            pty.send(&arg);
            pty.send("\r");
            // Small bodies sit in socket buffers, so "running" (not a byte count) is the sign.
            pty.wait_for("the batch under way", |s| {
                s.contains("Transfers: 4 running")
            });
            pty
        })
        .await
        .unwrap();
        let pid = pty.child.process_id().unwrap();
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), rustix::process::Signal::HUP)
            .expect("signal sent");
        // It carries on without a screen, then exits by itself.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listed = e.client.list_all("ws1", "batch/").await.unwrap().files;
            if listed.len() == 6 {
                assert!(listed.iter().all(|f| f.size == Some(1024 * 1024)));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the batch did not complete after SIGHUP"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // It exits by itself after finishing.
        tokio::task::spawn_blocking(move || pty.wait_exit_within(Duration::from_secs(20)))
            .await
            .unwrap();
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_mid_download_then_resume_on_relaunch(style) {
        use std::sync::atomic::Ordering;
        let slow = throttle::Throttle::bind(3_000_000).await;
        let e = env_via(style, Some(&slow.base)).await;
        slow.connect(e.srv.addr);
        let proxy = slow.base.clone();
        let size = 12 * 1024 * 1024;
        let bytes: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        server::put_bytes(&e.srv, "ws1", "calls.bam", bytes.clone(), None)
            .await
            .unwrap();
        let dest = tempfile::tempdir().unwrap();
        let dest_arg = dest.path().to_str().unwrap().to_string();
        let st = e.state.path().to_path_buf();
        let (p2, st2) = (proxy.clone(), st.clone());
        let mut pty = tokio::task::spawn_blocking(move || {
            let mut pty = spawn_tui(&p2, &st2);
            pty.wait_for("the listing", |s| s.contains("calls.bam"));
            pty.send("j");
            pty.wait_for("calls.bam selected", |s| s.contains("Path      calls.bam"));
            pty.send("d");
            pty.wait_for("the prompt", |s| s.contains("(1 file"));
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            pty.wait_for("the download in the middle", |s| in_the_middle(s, "12 MiB"));
            pty
        })
        .await
        .unwrap();
        // Kill once some bytes are on disk (the writer buffers up to 1 MiB).
        let (part, _) = filedeck::api::partial_paths(&dest.path().join("calls.bam"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 2 * 1024 * 1024 {
            assert!(Instant::now() < deadline, "no partial bytes on disk");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pid = pty.child.process_id().unwrap();
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), rustix::process::Signal::KILL)
            .expect("signal sent");
        let _ = tokio::task::spawn_blocking(move || pty.child.wait())
            .await
            .unwrap();
        let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        assert!(
            have > 0 && have < size as u64,
            "a partial file is left: {have}"
        );
        assert!(!dest.path().join("calls.bam").exists());

        let sent_before = e.srv.stats().bytes_sent.load(Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let mut pty = spawn_tui(&proxy, &st);
            pty.wait_for("the resume offer", |s| {
                s.contains("Resume transfers?") && s.contains("1 transfer unfinished")
            });
            pty.send("y");
            pty.wait_for("the resumed download", |s| {
                s.contains("0 running, 0 queued, 1 done ")
            });
            pty.send("q");
        })
        .await
        .unwrap();
        let sent = e.srv.stats().bytes_sent.load(Ordering::Relaxed) - sent_before;
        assert!(
            sent < size as u64,
            "the server sent {sent} of {size} bytes: resumed, not restarted"
        );
        assert_eq!(
            std::fs::read(dest.path().join("calls.bam")).unwrap(),
            bytes,
            "bytes correct"
        );
        assert!(!part.exists());
        // The bytes went over the slow link too: the server put its presigned URLs on it.
        assert!(slow.objects() > 0, "no byte route went through the proxy");
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conflicts_keep_both_and_skip_if_identical(style) {
        let e = env(style).await;
        let dir = e.local.path().join("set");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.vcf"), b"version 2 of a").unwrap();
        std::fs::write(dir.join("b.vcf"), b"b").unwrap();
        server::put_bytes(&e.srv, "ws1", "set/a.vcf", b"version 1".to_vec(), None)
            .await
            .unwrap();
        server::put_bytes(&e.srv, "ws1", "set/b.vcf", b"b".to_vec(), None)
            .await
            .unwrap();
        let dest = tempfile::tempdir().unwrap();
        // Identical to the remote one.
        std::fs::write(dest.path().join("existing.txt"), b"x").unwrap();
        let (url, st) = (e.srv.base_url(), e.state.path().to_path_buf());
        let (dir_arg, dest_arg) = (
            dir.to_str().unwrap().to_string(),
            dest.path().to_str().unwrap().to_string(),
        );
        tokio::task::spawn_blocking(move || {
            let mut pty = spawn_tui(&url, &st);
            pty.wait_for("the listing", |s| s.contains("set/"));
            pty.send("u");
            pty.wait_for("the prompt", |s| s.contains("Local file or folder"));
            pty.send(&dir_arg);
            pty.send("\r");
            pty.wait_for("the conflict dialog", |s| {
                s.contains("Conflict 1 of 2") && s.contains("set/a.vcf")
            });
            pty.send("k"); // a.vcf: keep both
            pty.wait_for("the second conflict", |s| {
                s.contains("Conflict 2 of 2") && s.contains("set/b.vcf")
            });
            pty.send("i"); // b.vcf: identical, skipped
            pty.wait_for("the batch", |s| {
                s.contains("skipped: identical") && s.contains(", 1 done, 1 skipped")
            });
            // Download existing.txt onto an identical local copy: skipped too.
            pty.send("G");
            pty.wait_for("existing.txt selected", |s| {
                s.contains("Path      existing.txt")
            });
            pty.send("d");
            pty.wait_for("the download prompt", |s| s.contains("(1 file"));
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            pty.wait_for("the local conflict", |s| {
                s.contains("this already exists locally")
            });
            pty.send("i");
            pty.wait_for("skipped", |s| s.matches("skipped: identical").count() == 2);
            pty.send("q");
        })
        .await
        .unwrap();
        let mut listed: Vec<_> = e
            .client
            .list_all("ws1", "set/")
            .await
            .unwrap()
            .files
            .iter()
            .map(|f| (f.display_key(), f.size.unwrap_or_default()))
            .collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                ("set/a (1).vcf".to_string(), 14),
                ("set/a.vcf".to_string(), 9),
                ("set/b.vcf".to_string(), 1)
            ]
        );
        assert_eq!(
            std::fs::read(dest.path().join("existing.txt")).unwrap(),
            b"x"
        );
    }
}
