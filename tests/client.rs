//! Every route through the client against the reference server over real HTTP, in both
//! key styles (`key_styles!`): nothing here may assume `key == path + name`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use filedeck::api::{
    ApiError, ApiKey, Client, ClientConfig, FileEntry, PartialMeta, Progress, RetryPolicy,
    UploadRequest, partial_paths,
};
use filedeck::server::{self, KeyStyle, RunningServer};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

mod common;

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const WS: &str = "ws_test";
const KEY: &str = "test-key-1";

struct Env {
    server: RunningServer,
    _data: tempfile::TempDir,
    local: tempfile::TempDir,
}

async fn start(style: KeyStyle) -> Env {
    let data = tempfile::tempdir().unwrap();
    let server = test_server::start_styled(data.path(), KEY, style).await;
    Env {
        server,
        _data: data,
        local: tempfile::tempdir().unwrap(),
    }
}

fn client_with(env: &Env, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = ClientConfig::new(&env.server.base_url(), ApiKey::new(KEY)).unwrap();
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
    };
    tweak(&mut cfg);
    Client::new(cfg).unwrap()
}

fn client(env: &Env) -> Client {
    client_with(env, |_| {})
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).unwrap();
    v
}

async fn upload(c: &Client, local: &Path, folder: &str) -> Result<FileEntry, ApiError> {
    let req = UploadRequest {
        workspace: WS,
        local,
        folder,
        name: None,
        description: Some("from the test"),
    };
    c.upload(&req, &Progress::new(), &CancellationToken::new())
        .await
        .map(|u| u.entry)
}

async fn download_to(c: &Client, entry: &FileEntry, dir: &Path) -> Result<Vec<u8>, ApiError> {
    let target = dir.join(&entry.name);
    c.download(
        WS,
        entry,
        dir,
        &target,
        &Progress::new(),
        &CancellationToken::new(),
    )
    .await?;
    Ok(std::fs::read(target).unwrap())
}

key_styles! {
    async fn round_trips_by_sha256(style) {
        let env = start(style).await;
        let c = client(&env);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty.txt", vec![]),
            ("one.bin", vec![0x42]),
            (
                "ten-mib.bin",
                (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect(),
            ),
            ("random.bin", random_bytes(1024 * 1024 + 17)),
            (
                "naïve name with spaces.vcf",
                b"##fileformat=VCFv4.2\n".to_vec(),
            ),
        ];
        let out = tempfile::tempdir().unwrap();
        for (name, bytes) in &cases {
            let local = write(env.local.path(), name, bytes);
            let entry = upload(&c, &local, "raw/").await.unwrap();
            assert_eq!(entry.display_key(), format!("raw/{name}"));
            assert_eq!(entry.size, Some(bytes.len() as u64));
            assert_eq!(entry.sha256.as_deref(), Some(sha(bytes).as_str()));
            assert_eq!(entry.description.as_deref(), Some("from the test"));
            let got = download_to(&c, &entry, out.path()).await.unwrap();
            assert_eq!(sha(&got), sha(bytes), "{name}");
        }
        let listing = c.list_all(WS, "raw/").await.unwrap();
        assert_eq!(listing.files.len(), cases.len());
        assert!(!listing.maybe_incomplete);
        // Nothing but the final files is left in the download folder.
        let mut names: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected: Vec<_> = cases.iter().map(|(n, _)| n.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
        // Repeating an upload replaces the file where keys are paths (still one listed);
        // where they are opaque it adds a second file of that display path.
        let local = write(env.local.path(), "one.bin", &[1, 2, 3]);
        let second = upload(&c, &local, "raw/").await.unwrap();
        let again = c.lookup(WS, "raw/one.bin").await.unwrap().matches;
        let mut sizes: Vec<_> = again.iter().map(|f| f.size).collect();
        sizes.sort();
        match style {
            KeyStyle::Path => {
                assert_eq!(sizes, [Some(3)]);
                assert_eq!(second.key, "raw/one.bin");
            }
            KeyStyle::Opaque => {
                assert_eq!(sizes, [Some(1), Some(3)]);
                assert_ne!(again[0].key, again[1].key);
                assert!(again.iter().any(|f| f.key == second.key));
            }
        }
    }
}

key_styles! {
    /// The large-upload flow (upload URL, PUT, confirm) round trip, with the threshold
    /// lowered to 1 MiB. In opaque style the confirm answers `{"key"}` alone: the client
    /// completes the entry by that key.
    async fn large_flow_with_lowered_threshold(style) {
        let env = start(style).await;
        let c = client_with(&env, |cfg| cfg.large_threshold = 1024 * 1024);
        let bytes = random_bytes(3 * 1024 * 1024 + 5);
        let local = write(env.local.path(), "big.bam", &bytes);
        let before = env.server.stats().requests.load(Ordering::Relaxed);
        let uploaded = c
            .upload(
                &UploadRequest {
                    workspace: WS,
                    local: &local,
                    folder: "bam/",
                    name: None,
                    description: None,
                },
                &Progress::new(),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let entry = uploaded.entry;
        let requests = env.server.stats().requests.load(Ordering::Relaxed) - before;
        assert_eq!(entry.display_key(), "bam/big.bam");
        assert_eq!(entry.size, Some(bytes.len() as u64));
        assert_eq!(uploaded.unverified, None, "checked by hash");
        match style {
            KeyStyle::Path => {
                assert_eq!(requests, 3, "upload-url, PUT, confirm");
                assert_eq!(entry.key, "bam/big.bam");
                assert_eq!(entry.sha256.as_deref(), Some(sha(&bytes).as_str()));
            }
            KeyStyle::Opaque => {
                assert_eq!(
                    requests, 5,
                    "upload-url, PUT, confirm, then the download URL and one ranged byte \
                     for the size the confirm left out"
                );
                assert!(entry.key.starts_with("obj_"), "{}", entry.key);
            }
        }
        let listed = c.list_all(WS, "bam/").await.unwrap();
        assert_eq!(listed.files.len(), 1);
        assert_eq!(listed.files[0].key, entry.key);
        assert_eq!(listed.files[0].size, Some(bytes.len() as u64));
        assert_eq!(
            listed.files[0].sha256.as_deref(),
            Some(sha(&bytes).as_str())
        );
        let out = tempfile::tempdir().unwrap();
        assert_eq!(
            sha(&download_to(&c, &entry, out.path()).await.unwrap()),
            sha(&bytes)
        );
    }
}

/// One style only: refused before any request, so the key style cannot matter.
#[tokio::test]
async fn over_five_gib_is_refused_before_any_byte() {
    let env = start(KeyStyle::Path).await;
    let c = client(&env);
    let path = env.local.path().join("huge.bam");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(5 * 1024 * 1024 * 1024 + 1).unwrap(); // sparse
    let before = env.server.stats().requests.load(Ordering::Relaxed);
    let err = upload(&c, &path, "").await.unwrap_err();
    assert!(matches!(err, ApiError::TooLarge(_)), "{err:?}");
    assert!(err.to_string().contains("5 GiB"), "{err}");
    assert_eq!(env.server.stats().requests.load(Ordering::Relaxed), before);
}

key_styles! {
    async fn paginates_2500_files(style) {
        let env = start(style).await;
        let files: Vec<(String, Vec<u8>)> = (0..2500)
            .map(|i| (format!("many/f{i:05}.txt"), format!("{i}").into_bytes()))
            .collect();
        server::put_many(&env.server, WS, files, None)
            .await
            .unwrap();
        let c = client_with(&env, |cfg| cfg.list_limit = 1000);
        let first = c.list_page(WS, "many/", None).await.unwrap();
        assert_eq!(first.files.len(), 1000);
        assert!(first.next_cursor.is_some());
        assert!(!first.maybe_incomplete);
        let all = c.list_all(WS, "").await.unwrap();
        assert_eq!(all.files.len(), 2500);
        assert!(!all.maybe_incomplete);
        // Sorted by key (not by display path, where keys are opaque), no file twice.
        let keys: Vec<_> = all.files.iter().map(|f| f.key.clone()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted, no duplicates");
        let mut displays: Vec<_> = all.files.iter().map(|f| f.display_key()).collect();
        displays.sort();
        displays.dedup();
        assert_eq!(displays.len(), 2500, "every display path once");
    }
}

/// Make a partial download of `bytes[..have]` for `target`, as an interrupted attempt
/// leaves it.
async fn fake_partial(c: &Client, entry: &FileEntry, target: &Path, prefix: &[u8]) {
    let url = c.download_url(WS, &entry.key).await.unwrap();
    let head = reqwest::Client::new().head(url).send().await.unwrap();
    let etag = head.headers()["etag"].to_str().unwrap().to_string();
    let (part, _) = partial_paths(target);
    std::fs::write(part, prefix).unwrap();
    PartialMeta {
        etag,
        key: entry.key.clone(),
        size: entry.size,
    }
    .save(target)
    .await
    .unwrap();
}

key_styles! {
    async fn resumes_a_partial_download_with_range(style) {
        let env = start(style).await;
        let c = client(&env);
        let bytes = random_bytes(4 * 1024 * 1024);
        let local = write(env.local.path(), "reads.fastq", &bytes);
        let entry = upload(&c, &local, "").await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("reads.fastq");
        let have = 3 * 1024 * 1024 + 11;
        fake_partial(&c, &entry, &target, &bytes[..have]).await;
        let sent_before = env.server.stats().bytes_sent.load(Ordering::Relaxed);
        let outcome = c
            .download(
                WS,
                &entry,
                out.path(),
                &target,
                &Progress::new(),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let sent = env.server.stats().bytes_sent.load(Ordering::Relaxed) - sent_before;
        assert_eq!(outcome.resumed_from, have as u64);
        assert_eq!(
            sent,
            (bytes.len() - have) as u64,
            "only the missing bytes were sent"
        );
        assert!(sent < bytes.len() as u64);
        assert_eq!(sha(&std::fs::read(&target).unwrap()), sha(&bytes));
        let (part, meta) = partial_paths(&target);
        assert!(!part.exists() && !meta.exists());
    }
}

key_styles! {
    async fn a_file_replaced_between_halves_is_downloaded_whole(style) {
        let env = start(style).await;
        let c = client(&env);
        let v1 = random_bytes(2 * 1024 * 1024);
        let v2 = random_bytes(2 * 1024 * 1024);
        let local = write(env.local.path(), "calls.vcf", &v1);
        let e1 = upload(&c, &local, "").await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("calls.vcf");
        fake_partial(&c, &e1, &target, &v1[..1024 * 1024]).await;
        // Uploaded again, same size, before the resume: the same key with new bytes where
        // keys are paths (If-Range no longer matches), a new key where they are opaque (the
        // partial belongs to another file).
        std::fs::write(&local, &v2).unwrap();
        let e2 = upload(&c, &local, "").await.unwrap();
        assert_eq!(e1.key == e2.key, style == KeyStyle::Path);
        let sent_before = env.server.stats().bytes_sent.load(Ordering::Relaxed);
        let outcome = c
            .download(
                WS,
                &e2,
                out.path(),
                &target,
                &Progress::new(),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let sent = env.server.stats().bytes_sent.load(Ordering::Relaxed) - sent_before;
        assert_eq!(outcome.resumed_from, 0, "not resumed: whole file");
        assert_eq!(sent, v2.len() as u64);
        assert_eq!(
            sha(&std::fs::read(&target).unwrap()),
            sha(&v2),
            "not spliced"
        );
    }
}

key_styles! {
    async fn delete_workspaces_and_errors(style) {
        let env = start(style).await;
        let c = client(&env);
        assert_eq!(c.workspaces().await.unwrap(), Some(vec![]));
        let local = write(env.local.path(), "x.bed", b"chr1\t1\t2\n");
        let entry = upload(&c, &local, "refs").await.unwrap();
        assert_eq!(entry.display_key(), "refs/x.bed");
        let ws = c.workspaces().await.unwrap().unwrap();
        assert_eq!(
            ws.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
            vec![WS]
        );
        c.delete(WS, &entry.key).await.unwrap();
        assert!(c.list_all(WS, "").await.unwrap().files.is_empty());
        assert!(matches!(
            c.delete(WS, &entry.key).await,
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            c.download_url(WS, "nope").await,
            Err(ApiError::NotFound(_))
        ));
        // An empty workspace the key may use lists as empty.
        assert!(c.list_all("ws_other", "").await.unwrap().files.is_empty());

        let bad_cfg = ClientConfig::new(&env.server.base_url(), ApiKey::new("wrong")).unwrap();
        let bad = Client::new(bad_cfg).unwrap();
        let err = bad.list_all(WS, "").await.unwrap_err();
        assert!(matches!(err, ApiError::Unauthorized), "{err:?}");
        assert!(
            !err.to_string().contains("wrong"),
            "the key never appears in an error"
        );

        // An invalid key is a clear refusal, not a retry loop.
        let local = write(env.local.path(), "y.txt", b"y");
        let req = UploadRequest {
            workspace: WS,
            local: &local,
            folder: "../escape/",
            name: None,
            description: None,
        };
        let err = c
            .upload(&req, &Progress::new(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::InvalidRequest(_)), "{err:?}");
    }
}

key_styles! {
    /// Cancelled at once (midway cancels: tests/e2e_transfers.rs through a
    /// throttled proxy, tests/faults.rs on a stalled connection).
    async fn an_upload_cancelled_at_once_leaves_nothing_listed(style) {
        let env = start(style).await;
        let c = client(&env);
        let local = write(env.local.path(), "big.bin", &random_bytes(64 * 1024 * 1024));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let req = UploadRequest {
            workspace: WS,
            local: &local,
            folder: "",
            name: None,
            description: None,
        };
        let err = c.upload(&req, &Progress::new(), &cancel).await.unwrap_err();
        assert!(matches!(err, ApiError::Cancelled), "{err:?}");
        assert!(c.list_all(WS, "").await.unwrap().files.is_empty());
    }
}

key_styles! {
    async fn a_full_last_page_from_a_cursor_speaking_server_is_complete(style) {
        let env = start(style).await;
        let files: Vec<(String, Vec<u8>)> =
            (0..1000).map(|i| (format!("f{i:04}"), vec![1])).collect();
        server::put_many(&env.server, WS, files, None)
            .await
            .unwrap();
        let c = client_with(&env, |cfg| cfg.list_limit = 1000);
        let page = c.list_page(WS, "", None).await.unwrap();
        assert_eq!(page.files.len(), 1000);
        assert_eq!(page.next_cursor, None);
        assert!(!page.maybe_incomplete, "next_cursor: null means no more");
    }
}

key_styles! {
    async fn an_upload_reads_as_verifying_once_every_byte_is_out(style) {
        let env = start(style).await;
        let c = client(&env);
        for (name, size, threshold) in [
            ("multipart.bin", 3 * 1024 * 1024, None),
            ("large.bin", 3 * 1024 * 1024, Some(1024 * 1024)),
        ] {
            let c = match threshold {
                Some(t) => client_with(&env, |cfg| cfg.large_threshold = t),
                None => c.clone(),
            };
            let local = write(env.local.path(), name, &random_bytes(size));
            let progress = Progress::new();
            let req = UploadRequest {
                workspace: WS,
                local: &local,
                folder: "v/",
                name: None,
                description: None,
            };
            c.upload(&req, &progress, &CancellationToken::new())
                .await
                .unwrap();
            assert_eq!(progress.get(), size as u64, "{name}");
            assert!(progress.verifying(), "{name}: sent in full, then checked");
        }
    }
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_changed_while_uploading_fails_and_leaves_nothing_listed(style) {
        let env = start(style).await;
        let c = client(&env);
        let size = 64 * 1024 * 1024;
        let local = write(env.local.path(), "growing.bam", &random_bytes(size));
        let progress = Progress::new();
        // Touch the file (a new mtime, as an appending writer would) once bytes are moving.
        let watcher = {
            let progress = progress.clone();
            let local = local.clone();
            tokio::spawn(async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                while progress.get() == 0 {
                    assert!(std::time::Instant::now() < deadline, "no byte ever moved");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let f = std::fs::File::options().write(true).open(&local).unwrap();
                f.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600))
                    .unwrap();
                progress.get()
            })
        };
        let req = UploadRequest {
            workspace: WS,
            local: &local,
            folder: "bams/",
            name: None,
            description: None,
        };
        let err = c
            .upload(&req, &progress, &CancellationToken::new())
            .await
            .unwrap_err();
        let touched_at = watcher.await.unwrap();
        assert!(
            touched_at < size as u64,
            "touched mid-upload, at {touched_at}"
        );
        assert!(
            matches!(&err, ApiError::Integrity(m)
                if m.contains("changed while") && m.contains("removed")),
            "{err:?}"
        );
        let listed = c.list_all(WS, "bams/").await.unwrap().files;
        assert!(
            listed.is_empty(),
            "a failed upload leaves nothing: {listed:?}"
        );
    }
}

key_styles! {
    /// Where keys are paths, a second upload replaces the file under the entry the user
    /// saw; where they are opaque, the entry's key still names the first upload's bytes.
    async fn a_file_replaced_after_it_was_listed_downloads_as_it_is_now_verified(style) {
        let env = start(style).await;
        let c = client(&env);
        let v1 = random_bytes(2 * 1024 * 1024);
        let v2 = random_bytes(2 * 1024 * 1024);
        let local = write(env.local.path(), "calls.vcf", &v1);
        let listed = upload(&c, &local, "r/").await.unwrap();
        // Uploaded again (same size, new bytes) after the listing the user saw; a resume
        // days later starts from such a stale entry.
        std::fs::write(&local, &v2).unwrap();
        upload(&c, &local, "r/").await.unwrap();
        let dest = tempfile::tempdir().unwrap();
        let got = download_to(&c, &listed, dest.path()).await.unwrap();
        let now = match style {
            KeyStyle::Path => &v2,
            KeyStyle::Opaque => &v1,
        };
        assert_eq!(sha(&got), sha(now), "the file of that key as the server has it now");
    }
}

key_styles! {
    #[cfg(unix)]
    async fn a_download_gets_the_mode_of_any_new_file(style) {
        use std::os::unix::fs::PermissionsExt;
        let env = start(style).await;
        let c = client(&env);
        let local = write(env.local.path(), "shared.csv", b"a,b\n1,2\n");
        let entry = upload(&c, &local, "").await.unwrap();
        let out = tempfile::tempdir().unwrap();
        download_to(&c, &entry, out.path()).await.unwrap();
        // What the umask makes of a plain new file here, made the plain way.
        let plain = out.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let want = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let got = std::fs::metadata(out.path().join("shared.csv"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(got, want, "downloaded {got:o}, a new file {want:o}");
    }
}

key_styles! {
    async fn bytes_that_do_not_match_the_listed_sha256_fail_and_leave_no_file(style) {
        let env = start(style).await;
        let c = client(&env);
        let bytes = random_bytes(1024 * 1024);
        let local = write(env.local.path(), "calls.vcf", &bytes);
        let entry = upload(&c, &local, "").await.unwrap();
        assert!(entry.sha256.is_some());
        // One byte flips in the server's stored copy (a bad disk): the listing still carries
        // the hash of what was uploaded.
        let blob = common::files_under(env._data.path())
            .into_iter()
            .map(|(_, p)| p)
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() == bytes.len() as u64))
            .expect("the stored blob");
        let mut stored = std::fs::read(&blob).unwrap();
        stored[4096] ^= 0xff;
        std::fs::write(&blob, &stored).unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = download_to(&c, &entry, out.path()).await.unwrap_err();
        assert!(
            matches!(&err, ApiError::Integrity(m) if m.contains("SHA-256")),
            "{err:?}"
        );
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "no final or partial file"
        );
    }
}

key_styles! {
    /// A name of the full 255 bytes a segment may have (ASCII, and multibyte UTF-8: 3-byte
    /// and 4-byte characters) goes up by both routes and comes back whole: the download's
    /// partial file beside it must not be named by appending to it (that would pass 255 bytes),
    /// and none is left behind.
    async fn names_of_255_bytes_round_trip(style) {
        let env = start(style).await;
        let names = [
            format!("{}.vcf", "a".repeat(251)),
            "数".repeat(85),
            format!("{}.gz", "🧬".repeat(63)),
        ];
        for (i, name) in names.iter().enumerate() {
            assert_eq!(name.len(), 255, "{name}");
            for (route, threshold) in [("multipart", u64::MAX), ("large", 1024)] {
                let c = client_with(&env, |cfg| cfg.large_threshold = threshold);
                let bytes = random_bytes(100_000 + i);
                let local = write(env.local.path(), name, &bytes);
                let folder = format!("long/{route}/");
                let entry = upload(&c, &local, &folder)
                    .await
                    .unwrap_or_else(|e| panic!("{route} upload of {name}: {e:?}"));
                assert_eq!(entry.display_key(), format!("{folder}{name}"), "{route}");
                let found = c.lookup(WS, &entry.display_key()).await.unwrap().matches;
                assert_eq!(found.len(), 1, "{route}: {name} listed once");
                let out = tempfile::tempdir().unwrap();
                let got = download_to(&c, &found[0], out.path())
                    .await
                    .unwrap_or_else(|e| panic!("{route} download of {name}: {e:?}"));
                assert_eq!(sha(&got), sha(&bytes), "{route}: {name}");
                let left: Vec<String> = std::fs::read_dir(out.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                assert_eq!(left, vec![name.clone()], "{route}: no partial left");
            }
        }
    }
}

key_styles! {
    /// `stat` addresses a file by its key alone: its size and an `ETag` that is the MD5 of
    /// its bytes while it exists, `None` once it is deleted. An empty file has no byte 0:
    /// its ranged GET is a `416` that tells the size (0) and, here, no `ETag`.
    async fn stat_by_key_answers_size_and_md5_then_none_after_a_delete(style) {
        let env = start(style).await;
        let c = client(&env);
        for (name, bytes) in [("s/calls.vcf", random_bytes(70_000)), ("s/empty.txt", vec![])] {
            let local = write(env.local.path(), name.trim_start_matches("s/"), &bytes);
            let entry = upload(&c, &local, "s/").await.unwrap();
            assert_eq!(entry.display_key(), name);
            let found = c.stat(WS, &entry.key).await.unwrap().expect("stat of a file");
            assert_eq!(found.size, Some(bytes.len() as u64), "{name}");
            if !bytes.is_empty() {
                let md5 = common::md5_hex(&bytes);
                assert_eq!(found.md5.as_deref(), Some(md5.as_str()), "{name}");
                assert_eq!(found.etag, Some(format!("\"{md5}\"")), "{name}");
            }
            c.delete(WS, &entry.key).await.unwrap();
            assert_eq!(c.stat(WS, &entry.key).await.unwrap(), None, "{name} deleted");
        }
        assert_eq!(c.stat(WS, "s/never.txt").await.unwrap(), None);
    }
}

key_styles! {
    /// Two uploads to one display path: where keys are opaque the lookup finds both, by
    /// different keys (and the listing holds both); where they are paths, the one file.
    async fn lookup_of_a_display_path_two_uploads_share(style) {
        let env = start(style).await;
        let c = client(&env);
        let local = write(env.local.path(), "a.vcf", b"first");
        let first = upload(&c, &local, "raw/").await.unwrap();
        // A file beside it whose display path starts the same: not a match.
        let other = write(env.local.path(), "a.vcf.gz", b"other");
        upload(&c, &other, "raw/").await.unwrap();
        std::fs::write(&local, b"second!").unwrap();
        let second = upload(&c, &local, "raw/").await.unwrap();
        let found = c.lookup(WS, "raw/a.vcf").await.unwrap();
        assert!(!found.maybe_incomplete);
        assert!(found.matches.iter().all(|f| f.display_key() == "raw/a.vcf"));
        let mut keys: Vec<&str> = found.matches.iter().map(|f| f.key.as_str()).collect();
        keys.sort();
        match style {
            KeyStyle::Path => {
                assert_eq!(keys, ["raw/a.vcf"]);
                assert_eq!(found.matches[0].size, Some(7), "the second upload");
            }
            KeyStyle::Opaque => {
                let mut want = [first.key.as_str(), second.key.as_str()];
                want.sort();
                assert_ne!(want[0], want[1]);
                assert_eq!(keys, want);
                for (entry, bytes) in [(&first, &b"first"[..]), (&second, &b"second!"[..])] {
                    let out = tempfile::tempdir().unwrap();
                    let got = download_to(&c, entry, out.path()).await.unwrap();
                    assert_eq!(got, bytes, "each key keeps its own bytes");
                }
            }
        }
        assert_eq!(c.list_all(WS, "raw/").await.unwrap().files.len(), keys.len() + 1);
        assert!(c.lookup(WS, "raw/a.vc").await.unwrap().absent());
    }
}

/// A capped client moves the same bytes: an upload and two concurrent downloads sharing
/// one cap arrive whole (no clock asserted; the bound itself is tested in api::throttle).
#[tokio::test]
async fn capped_transfers_complete_with_correct_bytes() {
    let env = start(KeyStyle::Path).await;
    let c = client_with(&env, |cfg| cfg.limit_rate = Some(8 * 1024 * 1024));
    let bytes = random_bytes(1024 * 1024 + 5);
    let local = write(env.local.path(), "capped.bin", &bytes);
    let entry = upload(&c, &local, "").await.unwrap();
    assert_eq!(entry.sha256.as_deref(), Some(sha(&bytes).as_str()));
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ga, gb) = tokio::join!(
        download_to(&c, &entry, a.path()),
        download_to(&c, &entry, b.path())
    );
    assert_eq!(sha(&ga.unwrap()), sha(&bytes));
    assert_eq!(sha(&gb.unwrap()), sha(&bytes));
}
