//! The S3 store on a real S3 implementation (s3s-fs, see `support/s3.rs`): what only a
//! bucket shared by servers can show. The contract itself runs on both stores in
//! `tests/server.rs` (`contract!`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests stop at the first surprise"
)]

use std::time::{Duration, Instant};

use filedeck::server::KeyStyle;
use serde_json::json;

#[path = "support/api.rs"]
mod api;
use api::{Api, confirm, list, upload, upload_url};
#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const TOKEN: &str = "s3-test-token-0123456789";

fn http() -> Api {
    Api::new(TOKEN)
}

key_styles! {
    /// Two servers on one bucket share no other state: what one stores, the other lists
    /// within a second; what one deletes, the other stops listing.
    async fn two_servers_on_one_bucket_agree(style) {
        let s3 = s3::S3Fs::start();
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = test_server::start_s3(a_dir.path(), TOKEN, style, s3.config("team")).await;
        let b = test_server::start_s3(b_dir.path(), TOKEN, style, s3.config("team")).await;
        let http = http();
        let stored = upload(&http, &a.base_url(), "ws1", "runs/", "x.vcf", b"##fileformat=VCFv4.2\n").await;
        let started = Instant::now();
        loop {
            let seen = list(&http, &b.base_url(), "ws1").await;
            if seen.iter().any(|f| f.key == stored.key) {
                assert_eq!(seen, vec![stored.clone()], "the other server lists the same entry");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "b never listed the upload");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = http
            .delete(format!("{}/v1/files", b.base_url()))
            .bearer_auth(TOKEN)
            .query(&[("workspace_id", "ws1"), ("key", stored.key.as_str())])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
        let started = Instant::now();
        while !list(&http, &a.base_url(), "ws1").await.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5), "a still lists the deleted file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The deleted file's bytes go from the bucket too.
        let started = Instant::now();
        while !s3.objects("team/blobs/").is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", s3.objects("team/"));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

key_styles! {
    /// A server started on a bucket with a fresh data directory rebuilds its index from the
    /// bucket alone.
    async fn a_new_server_rebuilds_its_index_from_the_bucket(style) {
        let s3 = s3::S3Fs::start();
        let first_dir = tempfile::tempdir().unwrap();
        let first = test_server::start_s3(first_dir.path(), TOKEN, style, s3.config("")).await;
        let http = http();
        let mut stored = Vec::new();
        for i in 0..5 {
            stored.push(upload(&http, &first.base_url(), "ws1", "a/", &format!("f{i}.txt"), format!("{i}").as_bytes()).await);
        }
        first.shutdown().await;
        let fresh = tempfile::tempdir().unwrap();
        let second = test_server::start_s3(fresh.path(), TOKEN, style, s3.config("")).await;
        let mut listed = list(&http, &second.base_url(), "ws1").await;
        listed.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(listed, stored);
    }
}

key_styles! {
    /// The large flow's PUT goes to the bucket on a SigV4 URL that signs Content-Type: the
    /// bucket itself refuses another type (SignatureDoesNotMatch), and a chunked body; the
    /// unconfirmed object is never listed; confirm checks its size in the bucket.
    async fn the_bucket_enforces_the_presigned_put(style) {
        let s3 = s3::S3Fs::start();
        let dir = tempfile::tempdir().unwrap();
        let server = test_server::start_s3(dir.path(), TOKEN, style, s3.config("")).await;
        let http = http();
        let base = server.base_url();
        let body = vec![7u8; 4096];
        let step1 = upload_url(&http, &base, "ws1", "reads.bam", "application/x-bam", 4096).await;
        assert!(step1.upload_url.starts_with(&s3.endpoint), "a URL of the bucket itself");
        assert!(step1.upload_url.contains("X-Amz-Signature="), "SigV4 presigned");
        let wrong = http
            .put(&step1.upload_url)
            .header("content-type", "text/plain")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
        assert!(wrong.text().await.unwrap().contains("SignatureDoesNotMatch"));
        let key = step1.file_key.as_str();
        let confirm = |size| confirm(&http, &base, "ws1", key, "reads.bam", size);
        assert_eq!(confirm(4096).await, 404, "nothing arrived yet");
        let right = http
            .put(&step1.upload_url)
            .header("content-type", "application/x-bam")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200);
        assert!(list(&http, &base, "ws1").await.is_empty(), "unconfirmed: not listed");
        assert_eq!(confirm(4095).await, 409, "the size is checked in the bucket");
        assert_eq!(confirm(4096).await, 200);
        let listed = list(&http, &base, "ws1").await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].size, Some(4096));
        assert_eq!(listed[0].sha256, None, "never hashed here: unknown, not empty");
        assert_eq!(listed[0].content_type.as_deref(), Some("application/x-bam"));
        // The download URL is the bucket's too, and serves the bytes.
        let url: filedeck::wire::DownloadUrlResponse = http
            .get(format!("{base}/v1/files/download"))
            .bearer_auth(TOKEN)
            .query(&[("workspace_id", "ws1"), ("key", listed[0].key.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(url.url.starts_with(&s3.endpoint));
        let got = http.get(&url.url).header("range", "bytes=4000-").send().await.unwrap();
        assert_eq!(got.status(), 206);
        assert_eq!(got.bytes().await.unwrap().as_ref(), &body[4000..]);
    }
}

/// Over the multipart route's limit, the bucket's multipart upload is aborted and nothing
/// is stored or listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_over_the_limit_leaves_nothing_in_the_bucket() {
    let s3 = s3::S3Fs::start();
    let dir = tempfile::tempdir().unwrap();
    let server = test_server::start_s3(dir.path(), TOKEN, KeyStyle::Path, s3.config("")).await;
    let http = http();
    let limit = filedeck::wire::MULTIPART_LIMIT_BYTES as usize;
    let form = reqwest::multipart::Form::new()
        .text("workspace_id", "ws1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1u8; limit + 1]).file_name("big.bin"),
        );
    let answer = http
        .post(format!("{}/v1/files/upload", server.base_url()))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await;
    if let Ok(answer) = answer {
        assert_eq!(answer.status(), 413);
    }
    assert!(list(&http, &server.base_url(), "ws1").await.is_empty());
    let started = Instant::now();
    while !s3.objects("").iter().all(|k| k.starts_with("log/")) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            s3.objects("")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whoever else holds the bucket's credentials may write under `log/`: a record naming an
/// escaping key, control characters, or bytes outside the upload places is skipped, and an
/// unreadable one too; the sound files of the same record are listed.
#[tokio::test]
async fn hostile_log_records_are_skipped() {
    let s3 = s3::S3Fs::start();
    let log = s3.root.path().join(s3::BUCKET).join("log");
    std::fs::create_dir_all(&log).unwrap();
    let file = |key: &str, path: &str, name: &str, blob: &str| {
        json!({"op": "put", "ws": "ws1", "key": key, "name": name, "path": path, "size": 1,
               "content_type": "text/plain", "blob": blob})
    };
    let good_blob = format!("blobs/{}", "ab".repeat(16));
    let record = json!({"ops": [
        file("../x", "../", "x", &good_blob),
        file("a/\u{1b}[2J", "a/", "\u{1b}[2J", &good_blob),
        file("a/b.txt", "a/", "b.txt", "elsewhere/secret"),
        file("a/c.txt", "b/", "c.txt", &good_blob),
        file("a/ok.txt", "a/", "ok.txt", &good_blob),
    ]});
    std::fs::write(
        log.join("000000000000001-evil-0000000000.json"),
        record.to_string(),
    )
    .unwrap();
    std::fs::write(
        log.join("000000000000002-evil-0000000000.json"),
        b"{not json",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = test_server::start_s3(dir.path(), TOKEN, KeyStyle::Path, s3.config("")).await;
    let listed = list(&http(), &server.base_url(), "ws1").await;
    let keys: Vec<&str> = listed.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["a/ok.txt"]);
}

/// What a large upload never confirmed leaves in the bucket (its bytes, its terms) is
/// removed once older than the sweep's lifetime; confirmed files and the log are not.
#[tokio::test]
async fn unconfirmed_uploads_are_swept() {
    let s3 = s3::S3Fs::start();
    let first_dir = tempfile::tempdir().unwrap();
    let first = test_server::start_s3(first_dir.path(), TOKEN, KeyStyle::Path, s3.config("")).await;
    let http = http();
    let kept = upload(&http, &first.base_url(), "ws1", "", "kept.txt", b"kept").await;
    let step1 = upload_url(
        &http,
        &first.base_url(),
        "ws1",
        "left.bam",
        "application/x-bam",
        4,
    )
    .await;
    let put = http
        .put(&step1.upload_url)
        .header("content-type", "application/x-bam")
        .body("left")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(s3.objects("uploads/").len(), 1);
    assert_eq!(s3.objects("intents/").len(), 1);
    first.shutdown().await;
    // A server whose lifetime is nothing sweeps both at its start.
    let second_dir = tempfile::tempdir().unwrap();
    let second = test_server::start_with(second_dir.path(), TOKEN, |config| {
        config.s3 = Some(s3.config(""));
        config.s3_sweep_after = Duration::ZERO;
    })
    .await;
    let started = Instant::now();
    while !(s3.objects("uploads/").is_empty() && s3.objects("intents/").is_empty()) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            s3.objects("")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        s3.objects("blobs/").len(),
        1,
        "the confirmed file's bytes stay"
    );
    assert_eq!(list(&http, &second.base_url(), "ws1").await, vec![kept]);
}

/// Bodies streaming into the bucket hold their parts in memory: past
/// `MAX_BUCKET_UPLOADS` at once (whatever the keys), the next is answered `503` with
/// `Retry-After` before its body is read; once one ends, uploads are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_into_the_bucket_are_bounded_across_keys() {
    use tokio::io::AsyncWriteExt;
    let s3 = s3::S3Fs::start();
    let dir = tempfile::tempdir().unwrap();
    let server = test_server::start_s3(dir.path(), TOKEN, KeyStyle::Path, s3.config("")).await;
    let mut stalled = Vec::new();
    for i in 0..filedeck::server::MAX_BUCKET_UPLOADS {
        let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST /v1/files/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 10000000\r\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"workspace_id\"\r\n\r\nws1\r\n\
             --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s{i}.bin\"\r\n\r\nxx"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        stalled.push(conn);
    }
    let http = http();
    let over = |name: &'static str| {
        let http = http.clone();
        let base = server.base_url();
        async move {
            let form = reqwest::multipart::Form::new()
                .text("workspace_id", "ws1")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(b"x".to_vec()).file_name(name),
                );
            http.post(format!("{base}/v1/files/upload"))
                .bearer_auth(TOKEN)
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    // The stalled uploads reach the handler in their own time: wait for the refusal.
    let started = Instant::now();
    let refused = loop {
        let answer = over("over.bin").await;
        if answer.status() == 503 {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never refused: {}",
            answer.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(refused.headers().contains_key("retry-after"));
    drop(stalled);
    let started = Instant::now();
    while over("after.bin").await.status() != 201 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not taken again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
