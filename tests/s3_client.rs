//! filedeck's client against real S3 presigned URLs: `filedeck serve --store s3://…` on
//! s3s-fs (SigV4 checked, expiry checked, S3 XML errors), the API routes through the fault
//! proxy, the byte requests straight to the bucket.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests stop at the first surprise"
)]

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use filedeck::api::{ApiError, Client, FileEntry, Progress, UploadRequest};
use filedeck::server::{self, KeyStyle, RunningServer};
use tokio_util::sync::CancellationToken;

use common::{pattern, sha256_hex, write_file};

#[path = "support/faults.rs"]
mod fault_proxy;
use fault_proxy::{Fault, Proxy, Route};

#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const KEY: &str = "s3-client-key-0123456789";
const WS: &str = "ws_s3";

struct Env {
    s3: s3::S3Fs,
    server: RunningServer,
    /// A twin on the same bucket whose URLs are expired when handed out.
    minter: RunningServer,
    proxy: Arc<Proxy>,
    base: String,
    _data: [tempfile::TempDir; 2],
    local: tempfile::TempDir,
}

async fn start(style: KeyStyle) -> Env {
    let s3 = s3::S3Fs::start();
    let data = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (proxy, base) = Proxy::bind().await;
    let server = test_server::start_s3(data[0].path(), KEY, style, s3.config("")).await;
    let minter = test_server::start_with(data[1].path(), KEY, |config| {
        config.key_style = style;
        config.s3 = Some(s3.config(""));
        config.presign_ttl = Duration::ZERO;
    })
    .await;
    proxy.connect(&server.base_url());
    proxy.set_minter(minter.base_url());
    Env {
        s3,
        server,
        minter,
        proxy,
        base,
        _data: data,
        local: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn client(&self, tweak: impl FnOnce(&mut filedeck::api::ClientConfig)) -> Client {
        common::client(&self.base, KEY, tweak)
    }

    /// Seed through the server and wait until the minter's index has it too.
    async fn seed(&self, display: &str, bytes: Vec<u8>) -> FileEntry {
        let entry = server::put_bytes(&self.server, WS, display, bytes, None)
            .await
            .unwrap();
        let twin = self.client_of(&self.minter);
        let started = Instant::now();
        while twin
            .list_all(WS, "")
            .await
            .unwrap()
            .files
            .iter()
            .all(|f| f.key != entry.key)
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the twin never saw {display}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        entry
    }

    fn client_of(&self, server: &RunningServer) -> Client {
        common::client(&server.base_url(), KEY, |_| {})
    }

    async fn finish(self) {
        self.minter.shutdown().await;
        self.proxy.finish(self.server).await;
        drop(self.s3);
    }
}

async fn upload(c: &Client, local: &std::path::Path, folder: &str) -> Result<FileEntry, ApiError> {
    let req = UploadRequest {
        workspace: WS,
        local,
        folder,
        name: None,
        description: None,
    };
    c.upload(&req, &Progress::new(), &CancellationToken::new())
        .await
        .map(|done| done.entry)
}

key_styles! {
    /// S3's own `403 AccessDenied: Request has expired` on a GET: a fresh URL is asked for
    /// and the download completes, verified.
    async fn an_expired_s3_download_url_is_presigned_again(style) {
        let env = start(style).await;
        let bytes = pattern(3 * 1024 * 1024 + 17, 1);
        let entry = env.seed("runs/a.vcf", bytes.clone()).await;
        env.proxy.arm(Route::DownloadUrl, &[Fault::MintExpired]);
        let c = env.client(|_| {});
        let (_, got, _) = common::download(&c, WS, &entry, env.local.path()).await.expect("download");
        assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
        let asked = env.proxy.seen(Route::DownloadUrl).len();
        assert_eq!(asked, 2, "asked once more after the expired URL");
        env.finish().await;
    }
}

key_styles! {
    /// The large flow's PUT on an expired SigV4 URL: a fresh URL, and the upload lands
    /// once, with its size, and no SHA-256 (its bytes never passed through the server).
    async fn an_expired_s3_upload_url_is_presigned_again(style) {
        let env = start(style).await;
        let c = env.client(|config| config.large_threshold = 64 * 1024);
        let bytes = pattern(300_001, 2);
        let local = write_file(env.local.path(), "r.fastq", &bytes);
        env.proxy.arm(Route::UploadUrl, &[Fault::MintExpired]);
        let entry = upload(&c, &local, "seq/").await.expect("large upload");
        assert_eq!(entry.display_key(), "seq/r.fastq");
        assert_eq!(env.proxy.seen(Route::UploadUrl).len(), 2);
        let listed = c.list_all(WS, "").await.unwrap().files;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].size, Some(bytes.len() as u64));
        assert_eq!(listed[0].sha256, None, "absent means unknown");
        // And it downloads whole (verified by length and the plain-MD5 ETag S3 gives a
        // single-part object).
        let (_, got, _) = common::download(&c, WS, &listed[0], env.local.path()).await.unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
        env.finish().await;
    }
}

/// A download cut short resumes with `Range` (and `If-Range`) on the bucket's GET, and the
/// bytes before and after join into the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_s3_download_resumes_with_range() {
    let env = start(KeyStyle::Path).await;
    let bytes = pattern(8 * 1024 * 1024, 3);
    let entry = env.seed("big/r.bin", bytes.clone()).await;
    let c = env.client(|config| config.limit_rate = Some(4 * 1024 * 1024));
    let root = env.local.path().join("out");
    std::fs::create_dir_all(&root).unwrap();
    let target = root.join("r.bin");
    let progress = Progress::new();
    let cancel = CancellationToken::new();
    let stopper = {
        let (progress, cancel) = (progress.clone(), cancel.clone());
        tokio::spawn(async move {
            while progress.get() < 2 * 1024 * 1024 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            cancel.cancel();
        })
    };
    let first = c
        .download(WS, &entry, &root, &target, &progress, &cancel)
        .await;
    assert!(matches!(first, Err(ApiError::Cancelled)), "{first:?}");
    stopper.await.unwrap();
    assert!(
        !target.exists(),
        "nothing at the target before the whole file is verified"
    );
    let c = env.client(|_| {});
    let done = c
        .download(
            WS,
            &entry,
            &root,
            &target,
            &Progress::new(),
            &CancellationToken::new(),
        )
        .await
        .expect("resumed download");
    assert!(
        done.resumed_from >= 2 * 1024 * 1024,
        "resumed from {}",
        done.resumed_from
    );
    assert_eq!(
        sha256_hex(&std::fs::read(&target).unwrap()),
        sha256_hex(&bytes)
    );
    env.finish().await;
}

/// A PUT whose Content-Type differs from the signed one is refused by the bucket itself
/// (`SignatureDoesNotMatch`), and the client says so in words a user can act on.
#[tokio::test]
async fn signature_does_not_match_is_said_clearly() {
    let env = start(KeyStyle::Path).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/files/upload-url", env.server.base_url()))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"workspace_id": WS, "filename": "x.bam", "content_type": "application/x-bam", "size": 3}))
        .send()
        .await
        .unwrap();
    let step1: filedeck::wire::UploadUrlResponse = answer.json().await.unwrap();
    let refused = reqwest::Client::new()
        .put(&step1.upload_url)
        .header("content-type", "text/plain")
        .body("abc")
        .send()
        .await
        .unwrap();
    let status = refused.status().as_u16();
    let body = refused.text().await.unwrap();
    let err = filedeck::api::error::from_status(status, &body, "uploading x.bam");
    let said = err.to_string();
    assert!(
        matches!(err, ApiError::Forbidden(_))
            && said.contains("SignatureDoesNotMatch")
            && said.contains("Content-Type"),
        "{said}"
    );
    env.finish().await;
}
