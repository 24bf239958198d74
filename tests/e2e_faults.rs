//! The real binary in a pty against the reference server behind a fault-injecting reverse
//! proxy (`tests/support/faults.rs`): faults on the upload, download-URL and presigned byte
//! routes still give correct bytes; a batch of 200 small files lands exactly once each; a
//! download body that stalls leaves the screen answering keys and is resumed after the
//! stall timeout. Every test runs once per key style (`key_styles!`); the proxy names files
//! by display path in both.
//!
//! Every wait is on a condition with a deadline, never a bare sleep, and no assertion is on
//! a duration measured on a possibly loaded machine: what is checked is order (keys answered
//! before the stall timeout's retry, the retry not before the timeout). The tests take turns
//! (one lock) so the third one's key latencies, printed, are not another TUI's batch's.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server::{self, KeyStyle, RunningServer};

use common::{files_under, pattern, sha256_file, sha256_hex};

#[path = "support/faults.rs"]
mod fault_proxy;
use fault_proxy::{Fault, Proxy, Route, Seen};

#[path = "support/pty.rs"]
mod pty;
use pty::{Pty, in_the_middle};

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const KEY: &str = "e2e-faults";
const WS: &str = "ws1";

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The transfers pane's title line.
fn title(s: &str) -> &str {
    s.lines()
        .find(|l| l.contains(" Transfers: "))
        .unwrap_or_default()
}

/// Every transfer ended `done`: `n` of them, nothing running, queued or failed.
fn all_done(s: &str, n: usize) -> bool {
    let t = title(s);
    t.contains(&format!("Transfers: 0 running, 0 queued, {n} done ")) && !t.contains("failed")
}

fn any_failed(s: &str) -> bool {
    title(s).contains("failed") || s.contains("failed: ")
}

/// From the first listing (with `existing.txt`), upload `path` through the prompt and wait
/// (at most `limit`) until all `n` transfers are done, failing at once when one fails.
fn upload_through_the_prompt(pty: &mut Pty, path: &str, n: usize, limit: Duration) {
    pty.wait_within("the listing", limit, |s| s.contains("existing.txt"));
    pty.send("u");
    pty.wait_within("the upload prompt", limit, |s| {
        s.contains("Local file or folder to upload")
    });
    pty.send(path);
    pty.send("\r");
    pty.wait_unless(
        &format!("{n} uploads done"),
        limit,
        |s| all_done(s, n),
        any_failed,
    );
}

// ---------------------------------------------------------------------------------------
// Test environment
// ---------------------------------------------------------------------------------------

struct Env {
    srv: RunningServer,
    proxy: Arc<Proxy>,
    /// The proxy's base URL: what the binary talks to.
    base: String,
    data: tempfile::TempDir,
    state: tempfile::TempDir,
    local: tempfile::TempDir,
    /// Straight to the server, for checking what landed.
    client: Client,
}

async fn start(style: KeyStyle) -> Env {
    let data = tempfile::tempdir().unwrap();
    let (proxy, base) = Proxy::bind().await;
    let srv = test_server::start_with(data.path(), KEY, |config| {
        config.key_style = style;
        config.public_url = Some(base.clone());
    })
    .await;
    proxy.connect(&srv.base_url());
    let client =
        Client::new(ClientConfig::new(&srv.base_url(), ApiKey::new(KEY)).unwrap()).unwrap();
    Env {
        srv,
        proxy,
        base,
        data,
        state: tempfile::tempdir().unwrap(),
        local: tempfile::tempdir().unwrap(),
        client,
    }
}

impl Env {
    /// A twin of the server over the same data directory (same index, same signing
    /// secret) whose presigned URLs are expired when handed out, for
    /// [`Fault::MintExpired`]. Started before anything is uploaded: opening a data
    /// directory clears its temporary files.
    async fn start_minter(&self) -> RunningServer {
        // A data directory keeps the key style it was made with.
        let style = self.srv.key_style();
        let minter = test_server::start_with(self.data.path(), KEY, |config| {
            config.presign_ttl = Duration::ZERO;
            config.key_style = style;
            config.public_url = Some(self.base.clone());
        })
        .await;
        self.proxy.set_minter(minter.base_url());
        minter
    }

    /// The binary, through the proxy, with these extra variables.
    fn spawn_tui(&self, extra: &[(&str, &str)]) -> Pty {
        let st = self.state.path().to_str().unwrap().to_string();
        let mut env = vec![
            // Everything here is on loopback: no system proxy in between.
            ("NO_PROXY", "127.0.0.1,localhost"),
            ("FILEDECK_ENDPOINT", self.base.as_str()),
            ("FILEDECK_API_KEY", KEY),
            ("XDG_STATE_HOME", st.as_str()),
        ];
        env.extend_from_slice(extra);
        Pty::spawn(&["--workspace", WS], &env, 140, 40)
    }

    /// Every armed fault fired; then end the proxy's stalls and stop the server.
    async fn finish(self) {
        self.proxy.finish(self.srv).await;
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_faulty_server_still_gives_correct_bytes(style) {
        let _serial = SERIAL.lock().await;
        let e = start(style).await;
        let minter = e.start_minter().await;
        server::put_bytes(&e.srv, WS, "existing.txt", b"x".to_vec(), None)
            .await
            .unwrap();

        // Six files in two folders, one of a few MiB.
        let batch = e.local.path().join("batch");
        std::fs::create_dir_all(batch.join("sub")).unwrap();
        let big_len = (3 << 20) + 123;
        let files: [(&str, usize); 6] = [
            ("a.vcf", 10_000),
            ("b.fq", 100_000),
            ("big.bam", big_len),
            ("notes.txt", 1),
            ("sub/c.bed", 4_321),
            ("sub/d.csv", 65_536),
        ];
        for (i, (name, len)) in files.iter().enumerate() {
            std::fs::write(batch.join(name), pattern(*len, i as u64 + 1)).unwrap();
        }

        // Once each: a 503 on the multipart upload route, a 503 on the download-URL route, an
        // expired presigned URL in S3's words (a.vcf) and one in the reference server's (b.fq),
        // and a presigned GET cut after 1 MiB (big.bam).
        let cut_at = 1u64 << 20;
        e.proxy.arm(Route::Upload, &[Fault::Status(503, None)]);
        e.proxy.arm(Route::DownloadUrl, &[Fault::Status(503, None)]);
        e.proxy
            .arm_for(Route::DownloadUrl, "b.fq", Fault::MintExpired);
        e.proxy.arm_for(Route::ObjectGet, "a.vcf", Fault::Expired);
        e.proxy
            .arm_for(Route::ObjectGet, "big.bam", Fault::CutResponse(cut_at));

        let started = Instant::now();
        let mut pty = e.spawn_tui(&[]);
        let batch_arg = batch.to_str().unwrap().to_string();
        let dest = tempfile::tempdir().unwrap();
        let dest_arg = dest.path().to_str().unwrap().to_string();
        let limit = Duration::from_secs(40);
        pty = tokio::task::spawn_blocking(move || {
            upload_through_the_prompt(&mut pty, &batch_arg, 6, limit);
            // The folder refresh after the batch is over once the tree shows batch/ with its
            // 6 files (no "≥"). Only then move: the selection follows its row, not its index.
            pty.wait_within("batch/ in the tree", limit, |s| {
                s.lines()
                    .any(|l| l.contains("▸ batch/") && l.contains(" 6 files "))
            });
            pty.send("g");
            pty.send("j");
            pty.wait_within("batch/ selected and listed", limit, |s| {
                s.contains("Folder    batch/") && s.contains("Files     6")
            });
            pty.send("d");
            pty.wait_within("the download prompt", limit, |s| {
                s.contains("(6 file")
            });
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            pty.wait_unless("6 downloads done", limit, |s| all_done(s, 12), any_failed);
            pty.quit();
            pty
        })
        .await
        .unwrap();
        drop(pty);
        let took = started.elapsed();

        // Listed remotely once each with the local sha256; downloaded with the same bytes.
        let local_files = files_under(e.local.path());
        assert_eq!(local_files.len(), 6);
        let listed = e.client.list_all(WS, "batch/").await.unwrap().files;
        assert_eq!(listed.len(), 6, "{listed:?}");
        let got = files_under(dest.path());
        assert_eq!(
            got.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            local_files.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            "the layout is kept and nothing else (no partial file) is left"
        );
        for ((rel, src), (_, down)) in local_files.iter().zip(&got) {
            let want = sha256_file(src);
            let remote = listed
                .iter()
                .find(|f| &f.display_key() == rel)
                .unwrap_or_else(|| panic!("{rel} not listed"));
            assert_eq!(
                remote.sha256.as_deref(),
                Some(want.as_str()),
                "{rel} remote"
            );
            assert_eq!(sha256_file(down), want, "{rel} downloaded");
        }

        // Each fault fired once, and the client got over it.
        let uploads = e.proxy.seen(Route::Upload);
        let failed: Vec<&Seen> = uploads.iter().filter(|s| s.fault.is_some()).collect();
        assert_eq!(failed.len(), 1, "{uploads:?}");
        assert_eq!(failed[0].fault, Some(Fault::Status(503, None)));
        assert_eq!(failed[0].upstream, None, "the 503 never reached the server");
        assert_eq!(
            uploads.len(),
            7,
            "6 uploads and one sent again: {uploads:?}"
        );
        assert!(
            uploads
                .iter()
                .filter(|s| s.fault.is_none())
                .all(|s| s.upstream == Some(201)),
            "{uploads:?}"
        );

        let urls = e.proxy.seen(Route::DownloadUrl);
        let gets = e.proxy.seen(Route::ObjectGet);
        assert_eq!(
            urls.iter()
                .filter(|s| s.fault == Some(Fault::Status(503, None)))
                .count(),
            1,
            "{urls:?}"
        );
        assert_eq!(
            urls.len(),
            9,
            "6 URLs, one asked again after the 503, two fresh after the expiries: {urls:?}"
        );

        let expired: Vec<&Seen> = gets
            .iter()
            .filter(|s| s.fault == Some(Fault::Expired))
            .collect();
        assert_eq!(expired.len(), 1, "{gets:?}");
        assert!(expired[0].is("a.vcf"));
        let fresh_url = urls
            .iter()
            .filter(|s| s.is("a.vcf") && s.at > expired[0].at && s.upstream == Some(200))
            .count();
        assert_eq!(
            fresh_url, 1,
            "a fresh URL was asked for after the expiry: {urls:?}"
        );
        let a_gets: Vec<&Seen> = gets.iter().filter(|s| s.is("a.vcf")).collect();
        assert_eq!(a_gets.len(), 2, "{a_gets:?}");
        assert_eq!(a_gets[1].upstream, Some(200));
        assert_eq!(a_gets[1].fault, None);

        let big: Vec<&Seen> = gets.iter().filter(|s| s.is("big.bam")).collect();
        assert_eq!(big.len(), 2, "{big:?}");
        assert_eq!(big[0].fault, Some(Fault::CutResponse(cut_at)));
        assert_eq!(big[0].range, None);
        assert_eq!(big[0].out(), cut_at, "the body was cut after 1 MiB");
        let from: u64 = big[1]
            .range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the retry resumed with a Range: {:?}", big[1].range));
        assert!(from > 0 && from <= cut_at, "resumed from {from}");
        assert_eq!(big[1].upstream, Some(206));
        assert_eq!(
            big[1].out(),
            big_len as u64 - from,
            "only the rest was sent"
        );

        // The reference server's own expiry: a URL signed to expire at once, refused by the
        // server with 403 `expired`, then a fresh URL and a GET that succeeds.
        let minted: Vec<&Seen> = urls
            .iter()
            .filter(|s| s.fault == Some(Fault::MintExpired))
            .collect();
        assert_eq!(minted.len(), 1, "{urls:?}");
        assert!(minted[0].is("b.fq"));
        assert_eq!(minted[0].upstream, Some(200));
        let b_urls: Vec<&Seen> = urls
            .iter()
            .filter(|s| s.is("b.fq") && s.upstream.is_some())
            .collect();
        let b_gets: Vec<&Seen> = gets.iter().filter(|s| s.is("b.fq")).collect();
        assert_eq!(b_gets.len(), 2, "{b_gets:?}");
        assert_eq!(
            b_gets[0].upstream,
            Some(403),
            "the server refused the expired URL"
        );
        assert!(b_gets[0].at > minted[0].at);
        assert_eq!(b_urls.len(), 2, "a fresh URL after the expiry: {b_urls:?}");
        assert!(b_urls[1].at > b_gets[0].at && b_urls[1].fault.is_none());
        assert_eq!(b_gets[1].upstream, Some(200));
        assert!(b_gets[1].at > b_urls[1].at);

        assert_eq!(gets.len(), 9, "6 GETs, one after each expiry, one resumed");
        eprintln!("a_faulty_server_still_gives_correct_bytes: the TUI part took {took:?}");
        minter.shutdown().await;
        e.finish().await;
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_small_files_in_one_batch(style) {
        let _serial = SERIAL.lock().await;
        let e = start(style).await;
        server::put_bytes(&e.srv, WS, "existing.txt", b"x".to_vec(), None)
            .await
            .unwrap();
        let dir = e.local.path().join("many");
        for i in 0..200usize {
            let sub = dir.join(format!("s{}", i % 4));
            std::fs::create_dir_all(&sub).unwrap();
            let len = 1000 + (i * 397) % 4001; // 1,000 to 5,000 bytes
            std::fs::write(sub.join(format!("f{i:03}.txt")), pattern(len, i as u64)).unwrap();
        }
        let arg = dir.to_str().unwrap().to_string();
        let started = Instant::now();
        let mut pty = e.spawn_tui(&[]);
        let limit = Duration::from_secs(45);
        pty = tokio::task::spawn_blocking(move || {
            upload_through_the_prompt(&mut pty, &arg, 200, limit);
            pty.quit();
            pty
        })
        .await
        .unwrap();
        drop(pty);
        let took = started.elapsed();

        let listed = e.client.list_all(WS, "many/").await.unwrap().files;
        assert_eq!(listed.len(), 200, "exactly 200 listed");
        let local_files = files_under(e.local.path());
        assert_eq!(local_files.len(), 200);
        for (rel, path) in &local_files {
            let bytes = std::fs::read(path).unwrap();
            let same: Vec<_> = listed.iter().filter(|f| &f.display_key() == rel).collect();
            assert_eq!(same.len(), 1, "{rel} listed once");
            assert_eq!(same[0].size, Some(bytes.len() as u64), "{rel}");
            assert_eq!(
                same[0].sha256.as_deref(),
                Some(sha256_hex(&bytes).as_str()),
                "{rel}"
            );
        }
        let uploads = e.proxy.seen(Route::Upload);
        assert_eq!(uploads.len(), 200, "each file sent once");
        assert!(uploads.iter().all(|s| s.upstream == Some(201)));
        eprintln!("two_hundred_small_files_in_one_batch: the TUI part took {took:?}");
        e.finish().await;
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_body_keeps_the_screen_answering(style) {
        let _serial = SERIAL.lock().await;
        let e = start(style).await;
        let size = 4 << 20;
        let bytes = pattern(size, 99);
        server::put_many(
            &e.srv,
            WS,
            vec![
                ("a.txt".into(), b"first".to_vec()),
                ("stall.bin".into(), bytes.clone()),
                ("z.txt".into(), b"last".to_vec()),
            ],
            None,
        )
        .await
        .unwrap();
        // The client's stall timeout: long enough that the keys below are surely answered
        // before it fires, however loaded the machine (that ordering is what is tested).
        let stall_timeout = Duration::from_secs(10);
        // Far longer than the stall timeout, and than the deadline for the download to end.
        let stall = Duration::from_secs(120);
        let stall_after = 1u64 << 20;
        e.proxy.arm_for(
            Route::ObjectGet,
            "stall.bin",
            Fault::Stall(stall_after, stall),
        );
        let dest = tempfile::tempdir().unwrap();
        let dest_arg = dest.path().to_str().unwrap().to_string();
        let proxy = e.proxy.clone();
        let timeout_arg = stall_timeout.as_secs().to_string();
        let mut pty = e.spawn_tui(&[("FILEDECK_STALL_TIMEOUT", timeout_arg.as_str())]);
        let limit = Duration::from_secs(60);
        let (pty, stalled_at, latencies) = tokio::task::spawn_blocking(move || {
            pty.wait_within("the listing", limit, |s| s.contains("z.txt"));
            pty.send("g");
            pty.send("j");
            pty.wait_within("a.txt selected", limit, |s| s.contains("Path      a.txt"));
            pty.send("j");
            pty.wait_within("stall.bin selected", limit, |s| {
                s.contains("Path      stall.bin")
            });
            pty.send("d");
            pty.wait_within("the download prompt", limit, |s| {
                s.contains("(1 file")
            });
            pty.send("\x15"); // Ctrl-U: the default folder goes
            pty.send(&dest_arg);
            pty.send("\r");
            // The proxy passed 1 MiB on and now holds the connection open, sending nothing.
            let deadline = Instant::now() + limit;
            let stalled_at = loop {
                let at = proxy
                    .seen(Route::ObjectGet)
                    .first()
                    .and_then(|s| *s.stalled_at.lock().unwrap());
                if let Some(at) = at {
                    break at;
                }
                assert!(Instant::now() < deadline, "the download never stalled");
                std::thread::sleep(Duration::from_millis(1));
            };
            pty.wait_within("the stalled download on screen", limit, |s| {
                in_the_middle(s, "4 MiB")
            });

            // Keys while the body is stalled: each answered on screen (the latencies are
            // printed, not judged: a loaded machine may take its time).
            let mut latencies = Vec::new();
            pty.send("?");
            latencies.push(pty.wait_within("the help overlay", limit, |s| {
                s.contains("?/Esc closes") && s.contains("this help")
            }));
            pty.send("?");
            latencies.push(pty.wait_within("the help overlay closed", limit, |s| {
                !s.contains("?/Esc closes") && s.contains("Path      stall.bin")
            }));
            pty.send("j");
            latencies.push(pty.wait_within("j: z.txt in the details", limit, |s| {
                s.contains("Path      z.txt")
            }));
            pty.send("k");
            latencies.push(pty.wait_within("k: stall.bin in the details", limit, |s| {
                s.contains("Path      stall.bin")
            }));
            // All of that happened during the stall: the client has not given up on it yet
            // (a screen frozen by the stalled body would answer only after the stall
            // timeout, and its retry would be seen by now).
            let answered_after = stalled_at.elapsed();
            assert_eq!(
                proxy.seen(Route::ObjectGet).len(),
                1,
                "the keys were answered during the stall, before any retry \
                 ({answered_after:?} after it began)"
            );

            // The stall timeout abandons the attempt, which resumes and completes.
            pty.wait_unless("the download done", limit, |s| all_done(s, 1), any_failed);
            pty.quit();
            (pty, stalled_at, latencies)
        })
        .await
        .unwrap();
        drop(pty);

        assert_eq!(
            std::fs::read(dest.path().join("stall.bin")).unwrap(),
            bytes,
            "bytes correct"
        );
        assert_eq!(files_under(dest.path()).len(), 1, "no partial file left");
        let gets = e.proxy.seen(Route::ObjectGet);
        assert_eq!(gets.len(), 2, "{gets:?}");
        assert_eq!(gets[0].fault, Some(Fault::Stall(stall_after, stall)));
        assert_eq!(gets[0].out(), stall_after);
        // Order, not speed: the retry follows the stall timeout (the download ending within
        // `limit`, far short of the stall itself, shows the timeout fired at all).
        let waited = gets[1].at.duration_since(stalled_at);
        assert!(
            waited >= stall_timeout - Duration::from_millis(100),
            "the retry came {waited:?} after the stall began, before the stall timeout \
             ({stall_timeout:?})"
        );
        assert_eq!(
            gets[1].range.as_deref(),
            Some(format!("bytes={stall_after}-").as_str()),
            "resumed from the bytes already received"
        );
        assert_eq!(gets[1].upstream, Some(206));
        assert_eq!(gets[1].out(), size as u64 - stall_after);
        eprintln!("a_stalled_body_keeps_the_screen_answering: key latencies {latencies:?}");
        e.finish().await;
    }
}
