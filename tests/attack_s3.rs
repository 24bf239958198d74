//! What an outsider found against issue 14's S3 store (`serve --store s3://…`), as tests
//! on a real S3 implementation (s3s-fs, `support/s3.rs`). Each test states what should
//! hold; findings are numbered as in the attack report. Finding 6 is a known limit, kept
//! as an ignored test that says so.
//!
//! Hostile bucket content is written straight into s3s-fs's directory (one file per
//! object), as anyone holding the bucket's credentials could PUT it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests stop at the first surprise"
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use filedeck::server::{KeyStyle, RunningServer};
use filedeck::wire::{DownloadUrlResponse, UploadUrlResponse};
use serde_json::json;

#[path = "support/api.rs"]
mod api;
use api::{Api, confirm, delete, download_url, eventually, list, upload};
#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
#[allow(
    unused_macros,
    unused_imports,
    reason = "this crate has no key_styles! tests"
)]
mod test_server;

const TOKEN: &str = "s3-attack-token-0123456789";

fn http() -> Api {
    Api::new(TOKEN)
}

/// A server on `s3`'s bucket under prefix `team`, its index in `data`, polling every `poll`.
async fn server(s3: &s3::S3Fs, data: &std::path::Path, poll: Duration) -> RunningServer {
    let config = s3.config("team");
    test_server::start_with(data, TOKEN, move |c| {
        c.key_style = KeyStyle::Path;
        c.s3 = Some(config);
        c.s3_poll = poll;
    })
    .await
}

/// Write `body` as the log record object `team/log/<name>` of the bucket.
fn plant_record(s3: &s3::S3Fs, name: &str, body: &serde_json::Value) -> PathBuf {
    let path = s3.root.path().join(s3::BUCKET).join("team/log").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_vec(body).unwrap()).unwrap();
    path
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn put_op(ws: &str, key: &str, name: &str, path: &str, size: u64, blob: &str) -> serde_json::Value {
    json!({"op": "put", "ws": ws, "key": key, "name": name, "path": path, "size": size,
           "description": null, "content_type": "text/plain", "created_at": "",
           "sha256": null, "etag": null, "blob": blob})
}

/// Finding 1 (high): a confirm retried on the other server (a client whose first confirm
/// timed out, behind a load balancer) records the same blob a second time; the server that
/// then reads the older record sees "a put that lost to a newer record" and frees its blob,
/// which is the very blob the newer record names. The file stays listed, its bytes gone.
/// Here server b polls once an hour, then restarts, to make the order it reads the two
/// records in certain; with the default 250 ms poll, curl reproduced it 8 times out of 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_retried_on_another_server_keeps_the_bytes() {
    let s3 = s3::S3Fs::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = server(&s3, a_dir.path(), Duration::from_millis(250)).await;
    let b = server(&s3, b_dir.path(), Duration::from_secs(3600)).await;
    let http = http();
    let body = b"the bytes of a large upload".to_vec();
    let size = body.len() as u64;
    let step1: UploadUrlResponse = http
        .post(format!("{}/v1/files/upload-url", a.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({"workspace_id": "ws1", "filename": "big.bin",
                      "content_type": "application/octet-stream", "size": size}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put = http
        .put(&step1.upload_url)
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let key = step1.file_key.clone();
    assert_eq!(
        confirm(&http, &a.base_url(), "ws1", &key, "big.bin", size).await,
        200
    );
    // Record names carry milliseconds: b's record is named after a's.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        confirm(&http, &b.base_url(), "ws1", &key, "big.bin", size).await,
        200
    );
    b.shutdown().await;
    let b = server(&s3, b_dir.path(), Duration::from_millis(250)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for base in [a.base_url(), b.base_url()] {
        let listed = list(&http, &base, "ws1").await;
        assert_eq!(listed.len(), 1, "the confirmed file is listed");
        let url: DownloadUrlResponse = download_url(&http, &base, "ws1", &key)
            .await
            .json()
            .await
            .unwrap();
        let got = http.get(&url.url).send().await.unwrap();
        assert_eq!(
            got.status(),
            200,
            "the listed file's bytes are still in the bucket ({:?})",
            s3.objects("team/uploads/")
        );
        assert_eq!(got.bytes().await.unwrap().as_ref(), body.as_slice());
    }
}

/// Finding 2 (high): one log record that the index cannot take (here a size past
/// i64::MAX: "out of range integral type conversion") fails the whole batch; the mark never
/// moves, so every poll fails on it again: this server never applies another record (a
/// warning 4 times a second), and a server started on the bucket refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_log_record_does_not_stop_the_tail() {
    let name = format!("{:015}-hostile00000-0000000000.json", now_ms());
    let huge = json!({"ops": [put_op("ws1", "huge", "huge", "", u64::MAX, "team/blobs/none")]});
    tail_goes_on_after(&name, &huge).await;
}

/// Finding 2, second way in: the log is listed recursively, but a record is fetched as
/// `log/<file name>`. Any object in a folder under `log/` whose name starts with 15 digits
/// (an archive folder, or another deployment whose prefix is `team/log`) is listed, its GET
/// answers 404, the poll fails, and the next poll lists it again: the tail stalls for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_in_a_folder_under_log_does_not_stop_the_tail() {
    let name = format!("archive/{:015}-nested000000-0000000000.json", now_ms());
    tail_goes_on_after(&name, &json!({"ops": []})).await;
}

/// With `body` planted as the log object `team/log/<name>`, server b still lists what server
/// a stores afterwards.
async fn tail_goes_on_after(name: &str, body: &serde_json::Value) {
    let s3 = s3::S3Fs::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = server(&s3, a_dir.path(), Duration::from_millis(250)).await;
    let b = server(&s3, b_dir.path(), Duration::from_millis(250)).await;
    let http = http();
    plant_record(&s3, name, body);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = b"written after";
    let stored = upload(&http, &a.base_url(), "ws1", "", "after.txt", after).await;
    let b_base = b.base_url();
    let seen = eventually(5, async || {
        list(&http, &b_base, "ws1")
            .await
            .iter()
            .any(|f| f.key == stored.key)
    })
    .await;
    assert!(seen, "b applies the records after {name}");
}

/// Finding 3 (medium): a log record's `blob` is trusted as any object of the bucket. A
/// record naming an object outside the server's prefix (another tenant's `other/secret.txt`)
/// makes the server presign GETs of it, and a delete of that file (or its replacement)
/// removes the other tenant's object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_record_cannot_reach_outside_the_prefix() {
    let s3 = s3::S3Fs::start();
    let dir = tempfile::tempdir().unwrap();
    let a = server(&s3, dir.path(), Duration::from_millis(250)).await;
    let http = http();
    let secret = s3.root.path().join(s3::BUCKET).join("other/secret.txt");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, b"another tenant's secret").unwrap();
    let name = format!("{:015}-hostile00000-0000000000.json", now_ms());
    plant_record(
        &s3,
        &name,
        &json!({"ops": [put_op("ws1", "link.txt", "link.txt", "", 23, "other/secret.txt")]}),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = a.base_url();
    let listed = list(&http, &base, "ws1")
        .await
        .iter()
        .any(|f| f.key == "link.txt");
    let mut presigned = None;
    if listed {
        let answer = download_url(&http, &base, "ws1", "link.txt").await;
        if answer.status() == 200 {
            let url: DownloadUrlResponse = answer.json().await.unwrap();
            presigned = Some(url.url).filter(|u| !u.contains("/team/"));
        }
        delete(&http, &base, "ws1", "link.txt").await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        secret.exists() && presigned.is_none(),
        "outside the prefix: object deleted: {}, presigned GET: {presigned:?}",
        !secret.exists()
    );
}

/// Finding 4 (medium): names, paths and workspace ids read from the log are not validated
/// as an upload's are: a record brings control characters (terminal escapes) and `../`
/// into every server's listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_from_the_log_are_validated_like_uploads() {
    let s3 = s3::S3Fs::start();
    let dir = tempfile::tempdir().unwrap();
    let a = server(&s3, dir.path(), Duration::from_millis(250)).await;
    let http = http();
    let name = format!("{:015}-hostile00000-0000000000.json", now_ms());
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J.txt";
    plant_record(
        &s3,
        &name,
        &json!({"ops": [put_op("ws1", &format!("../../{evil}"), evil, "../../", 1, "team/blobs/x")]}),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for file in list(&http, &a.base_url(), "ws1").await {
        assert!(
            !file.name.chars().any(char::is_control) && !file.path.contains(".."),
            "listed from the log unchecked: {file:?}"
        );
    }
}

/// Finding 5 (medium): the hybrid clock names a record `max(now, newest seen)`, not past
/// the newest seen: a server whose clock is behind another's (here: a record named far in
/// the future, as a peer with a wrong clock writes) names its records with the same
/// millisecond, and the tie is broken by the random server id. A delete then loses to the
/// put it follows half of the time: answered 204, and the file is still listed. Each
/// restart draws a new server id; eight tries fail this with probability 255/256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_after_a_put_wins_whatever_the_clocks() {
    let s3 = s3::S3Fs::start();
    let dir = tempfile::tempdir().unwrap();
    let http = http();
    plant_record(
        &s3,
        "999999999999000-skewedpeer00-0000000000.json",
        &json!({"ops": []}),
    );
    for round in 0..8 {
        let a = server(&s3, dir.path(), Duration::from_millis(250)).await;
        let stored = upload(
            &http,
            &a.base_url(),
            "ws1",
            "",
            &format!("f{round}.txt"),
            b"x",
        )
        .await;
        a.shutdown().await;
        let a = server(&s3, dir.path(), Duration::from_millis(250)).await;
        assert_eq!(delete(&http, &a.base_url(), "ws1", &stored.key).await, 204);
        let listed = list(&http, &a.base_url(), "ws1").await;
        assert!(
            listed.iter().all(|f| f.key != stored.key),
            "round {round}: deleted (204) yet listed: {:?}",
            s3.objects("team/log/")
        );
        a.shutdown().await;
    }
}

/// Finding 6 (low): the file/folder check runs against this server's index only. A file
/// `col` stored on one server and `col/inner` on another that has not read it yet are both
/// accepted, and every server then lists a file `col` and a folder `col/`, which no single
/// server would have allowed (it answers 409 to the next upload under `col/`). Server b
/// polls once an hour so that it has surely not read a's record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known limit (README, The S3 store): two servers may each accept one side of a file/folder collision"]
async fn a_file_and_a_folder_of_one_name_are_never_both_listed() {
    let s3 = s3::S3Fs::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = server(&s3, a_dir.path(), Duration::from_millis(250)).await;
    let b = server(&s3, b_dir.path(), Duration::from_secs(3600)).await;
    let http = http();
    upload(&http, &a.base_url(), "ws1", "", "col", b"a file").await;
    let form = reqwest::multipart::Form::new()
        .text("workspace_id", "ws1")
        .text("path", "col/")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"in a folder".to_vec()).file_name("inner"),
        );
    let _ = http
        .post(format!("{}/v1/files/upload", b.base_url()))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let keys: Vec<String> = list(&http, &a.base_url(), "ws1")
        .await
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert!(
        !(keys.contains(&"col".to_string()) && keys.contains(&"col/inner".to_string())),
        "a file and a folder of one name: {keys:?}"
    );
}
