//! Crash suite: the real `filedeck serve` process is SIGKILLed in the middle of an upload
//! (multipart, large-flow PUT), before or right after a confirm was sent, then restarted on the same
//! data directory. What the restarted server holds must be consistent: nothing partial is
//! listed, every listed file's bytes match its listed size and SHA-256, `tmp/` is empty and
//! no unreferenced blob is left, and the same upload then works. Once per key style.
//!
//! A SIGKILL cannot be caught, so this is the only way to test what the store does on a
//! crash: an in-process server always unwinds its guards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const KEY: &str = "crash-key";
const WS: &str = "ws_crash";
/// Long enough for a loaded CI machine, short enough that a hang fails rather than stalls.
const DEADLINE: Duration = Duration::from_secs(60);
/// Several MiB: the server's writer coalesces 1 MiB before it writes, so the first 2 MiB
/// sent reach the temp file while most of the body is still to come.
const BODY: usize = 8 * 1024 * 1024;
const FIRST: usize = 2 * 1024 * 1024;

/// A `filedeck serve` child process; SIGKILLed and reaped when dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(data: &Path, style: &str) -> Serve {
        let mut child = Command::new(BIN)
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--key-style", style])
            .env("FILEDECK_SERVER_KEY", KEY)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(DEADLINE).expect("serve printed no address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Serve { child, url }
    }

    /// SIGKILL, and wait until the process is gone (its data directory lock with it).
    fn kill(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.child.id() as i32).unwrap(),
            rustix::process::Signal::KILL,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn content(seed: u8) -> Vec<u8> {
    (0..BODY)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Files in `dir` (recursively), with their sizes.
fn files_in(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else if let Ok(meta) = entry.metadata() {
            out.push((path, meta.len()));
        }
    }
    out
}

/// Poll until `tmp/` holds a temp file with bytes in it: the server is mid-body.
async fn wait_for_partial(data: &Path) {
    let start = Instant::now();
    loop {
        if files_in(&data.join("tmp")).iter().any(|(_, len)| *len > 0) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no partial temp file appeared in tmp/"
        );
        // A poll interval, not a synchronisation: the condition above decides.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A body the test feeds by hand: `FIRST` bytes now, the rest never (the server dies first).
fn slow_body(bytes: &[u8]) -> (reqwest::Body, mpsc::Sender<Vec<u8>>) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    tx.try_send(bytes[..FIRST].to_vec()).unwrap();
    (reqwest::Body::wrap_stream(stream), tx)
}

fn multipart_form(name: &str, body: reqwest::Body) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("workspace_id", WS)
        .text("path", "raw/")
        .part(
            "file",
            reqwest::multipart::Part::stream_with_length(body, BODY as u64)
                .file_name(name.to_string()),
        )
}

async fn upload_multipart(url: &str, name: &str, bytes: &[u8]) -> serde_json::Value {
    let res = http()
        .post(format!("{url}/v1/files/upload"))
        .bearer_auth(KEY)
        .multipart(multipart_form(name, reqwest::Body::from(bytes.to_vec())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

/// Step 1 of the large flow: (upload URL, file key).
async fn upload_url(url: &str, name: &str) -> (String, String) {
    let res = http()
        .post(format!("{url}/v1/files/upload-url"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({
            "filename": name, "workspace_id": WS, "content_type": "application/octet-stream",
            "size": BODY, "path": "big/",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let v: serde_json::Value = res.json().await.unwrap();
    (
        v["uploadUrl"].as_str().unwrap().to_string(),
        v["fileKey"].as_str().unwrap().to_string(),
    )
}

fn put_request(put_url: &str, body: reqwest::Body) -> reqwest::RequestBuilder {
    http()
        .put(put_url)
        .header("content-type", "application/octet-stream")
        .header("content-length", BODY.to_string())
        .body(body)
}

fn confirm_body(key: &str, name: &str) -> serde_json::Value {
    serde_json::json!({"file_key": key, "workspace_id": WS, "filename": name, "size": BODY})
}

async fn upload_large(url: &str, name: &str, bytes: &[u8]) {
    let (put_url, key) = upload_url(url, name).await;
    let res = put_request(&put_url, reqwest::Body::from(bytes.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = http()
        .post(format!("{url}/v1/files/upload-confirm"))
        .bearer_auth(KEY)
        .json(&confirm_body(&key, name))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Every listed file as (display path, size), after checking its bytes through the API
/// against its listed size and SHA-256.
async fn listed_and_verified(url: &str) -> Vec<(String, u64)> {
    let c = http();
    let res = c
        .get(format!("{url}/v1/files"))
        .bearer_auth(KEY)
        .query(&[("workspace_id", WS), ("limit", "10000")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    let mut out = Vec::new();
    for f in v["files"].as_array().unwrap() {
        let key = f["key"].as_str().unwrap();
        let display = format!(
            "{}{}",
            f["path"].as_str().unwrap(),
            f["name"].as_str().unwrap()
        );
        let size = f["size"].as_u64().unwrap();
        let res = c
            .get(format!("{url}/v1/files/download"))
            .bearer_auth(KEY)
            .query(&[("workspace_id", WS), ("key", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "download URL of {key}");
        let d: serde_json::Value = res.json().await.unwrap();
        let res = c.get(d["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(res.status(), 200, "bytes of {key}");
        let bytes = res.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, size, "{display}: listed size");
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            sha256_hex(&bytes),
            "{display}: listed sha256"
        );
        out.push((display, size));
    }
    out.sort();
    out
}

/// Write `head` to the server at `url` and read its answer until it closes the connection.
async fn raw_request(url: &str, head: &str) -> String {
    use tokio::io::AsyncReadExt;
    let addr = url.strip_prefix("http://").unwrap();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, sock.read_to_end(&mut answer))
        .await
        .expect("no answer before the deadline")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Right after a restart: `tmp/` is empty.
fn assert_tmp_empty(data: &Path) {
    let left = files_in(&data.join("tmp"));
    assert!(left.is_empty(), "tmp/ after restart: {left:?}");
}

/// Every blob on disk is a listed file's: nothing unreferenced, nothing partial.
fn assert_blobs_match(data: &Path, listed: usize) {
    let blobs = files_in(&data.join("blobs"));
    assert_eq!(blobs.len(), listed, "blobs/: {blobs:?}");
}

/// (a) SIGKILL while a multipart upload's `file` part is arriving.
async fn multipart_killed_mid_body(style: &str) {
    let data = tempfile::tempdir().unwrap();
    let bytes = content(1);
    let mut serve = Serve::start(data.path(), style);
    // One complete file beforehand: a crash must not disturb what was stored.
    upload_multipart(&serve.url, "before.bin", &content(2)).await;
    let (body, tx) = slow_body(&bytes);
    let request = http()
        .post(format!("{}/v1/files/upload", serve.url))
        .bearer_auth(KEY)
        .multipart(multipart_form("sample.bin", body))
        .send();
    let request = tokio::spawn(request);
    wait_for_partial(data.path()).await;
    serve.kill();
    drop(tx);
    assert!(request.await.unwrap().is_err(), "the upload cannot succeed");

    let serve = Serve::start(data.path(), style);
    assert_tmp_empty(data.path());
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(listed, [("raw/before.bin".to_string(), BODY as u64)]);
    assert_blobs_match(data.path(), 1);

    upload_multipart(&serve.url, "sample.bin", &bytes).await;
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(
        listed,
        [
            ("raw/before.bin".to_string(), BODY as u64),
            ("raw/sample.bin".to_string(), BODY as u64)
        ]
    );
    assert_blobs_match(data.path(), 2);
}

/// (b) SIGKILL while a large-flow PUT's body is arriving.
async fn put_killed_mid_body(style: &str) {
    let data = tempfile::tempdir().unwrap();
    let bytes = content(3);
    let mut serve = Serve::start(data.path(), style);
    upload_large(&serve.url, "before.bin", &content(4)).await;
    let (put_url, _key) = upload_url(&serve.url, "huge.bin").await;
    let (body, tx) = slow_body(&bytes);
    let request = tokio::spawn(put_request(&put_url, body).send());
    wait_for_partial(data.path()).await;
    serve.kill();
    drop(tx);
    assert!(request.await.unwrap().is_err(), "the PUT cannot succeed");
    // What a kill between a blob's rename into place and the commit of its row leaves (too
    // narrow a window to hit from outside): a blob no row names.
    let orphan = data
        .path()
        .join("blobs/ab/ab0123456789abcdef0123456789abcd");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, &bytes[..FIRST]).unwrap();

    let serve = Serve::start(data.path(), style);
    assert_tmp_empty(data.path());
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(listed, [("big/before.bin".to_string(), BODY as u64)]);
    assert_blobs_match(data.path(), 1);

    upload_large(&serve.url, "huge.bin", &bytes).await;
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(
        listed,
        [
            ("big/before.bin".to_string(), BODY as u64),
            ("big/huge.bin".to_string(), BODY as u64)
        ]
    );
    assert_blobs_match(data.path(), 2);
}

/// (c) SIGKILL as soon as a confirm's request has been written: whether it committed is a
/// race, but either way the state is whole, and confirming again settles it.
async fn killed_after_confirm_sent(style: &str) {
    let data = tempfile::tempdir().unwrap();
    let bytes = content(5);
    let mut serve = Serve::start(data.path(), style);
    let (put_url, key) = upload_url(&serve.url, "done.bin").await;
    let res = put_request(&put_url, reqwest::Body::from(bytes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // By hand, so that "sent" is exact: the kill follows the last byte written.
    let body = confirm_body(&key, "done.bin").to_string();
    let addr = serve.url.strip_prefix("http://").unwrap().to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /v1/files/upload-confirm HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(request.as_bytes()).await.unwrap();
    serve.kill();
    drop(sock);
    let old_url = serve.url.clone();

    let serve = Serve::start(data.path(), style);
    assert_tmp_empty(data.path());
    let listed = listed_and_verified(&serve.url).await;
    assert!(
        listed.is_empty() || listed == [("big/done.bin".to_string(), BODY as u64)],
        "{listed:?}"
    );
    // The PUT was whole before the kill: the confirm, repeated, succeeds whichever way the
    // race went, and names the same key.
    let res = http()
        .post(format!("{}/v1/files/upload-confirm", serve.url))
        .bearer_auth(KEY)
        .json(&confirm_body(&key, "done.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["key"], key.as_str());
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(listed, [("big/done.bin".to_string(), BODY as u64)]);
    assert_blobs_match(data.path(), 1);
    // The confirmed URL is spent, across the restart too (its origin is the old port's).
    // The server refuses it before reading the body, so only the head is sent: a client
    // still writing 8 MiB could see the connection closed before it reads the answer.
    let target = put_url.strip_prefix(old_url.as_str()).unwrap();
    let answer = raw_request(
        &serve.url,
        &format!(
            "PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {BODY}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("\"forbidden\""), "{answer}");
    // A second upload of the same file works.
    upload_large(&serve.url, "done.bin", &bytes).await;
    let listed = listed_and_verified(&serve.url).await;
    let expected = if style == "opaque" { 2 } else { 1 };
    assert_eq!(listed.len(), expected, "{listed:?}");
    assert!(
        listed.iter().all(|(d, _)| d == "big/done.bin"),
        "{listed:?}"
    );
    assert_blobs_match(data.path(), expected);
}

/// SIGKILL between a whole PUT and its confirm (the losing side of (c), made certain): the
/// bytes are kept, unlisted, and the confirm after the restart lists them.
async fn killed_between_put_and_confirm(style: &str) {
    let data = tempfile::tempdir().unwrap();
    let bytes = content(6);
    let mut serve = Serve::start(data.path(), style);
    let (put_url, key) = upload_url(&serve.url, "later.bin").await;
    let res = put_request(&put_url, reqwest::Body::from(bytes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    serve.kill();

    let serve = Serve::start(data.path(), style);
    assert_tmp_empty(data.path());
    assert!(listed_and_verified(&serve.url).await.is_empty());
    // The one blob is the pending upload's, kept for its lifetime (forgotten at a start a
    // week on): bounded by the uploads PUT and never confirmed.
    assert_blobs_match(data.path(), 1);
    let res = http()
        .post(format!("{}/v1/files/upload-confirm", serve.url))
        .bearer_auth(KEY)
        .json(&confirm_body(&key, "later.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let listed = listed_and_verified(&serve.url).await;
    assert_eq!(listed, [("big/later.bin".to_string(), BODY as u64)]);
    assert_blobs_match(data.path(), 1);
}

/// One test per key style for each scenario.
macro_rules! both_styles {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn path() {
                super::$scenario("path").await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn opaque() {
                super::$scenario("opaque").await
            }
        }
    )*};
}

both_styles!(
    multipart_killed_mid_body,
    put_killed_mid_body,
    killed_after_confirm_sent,
    killed_between_put_and_confirm,
);
