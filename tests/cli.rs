//! The real binary: `serve`, and the scripting commands against an in-process server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use filedeck::server;

#[path = "support/server.rs"]
mod test_server;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const KEY: &str = "cli-test-key";

async fn start() -> (server::RunningServer, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    (test_server::start(data.path(), KEY).await, data)
}

/// Run the binary off the async runtime's threads.
async fn run(endpoint: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("FILEDECK_ENDPOINT", endpoint)
        .env(
            "XDG_STATE_HOME",
            std::env::temp_dir().join("filedeck-cli-test-state"),
        )
        .env_remove("FILEDECK_API_KEY");
    if let Some(k) = key {
        cmd.env("FILEDECK_API_KEY", k);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn put_ls_get_rm_round_trip() {
    let (srv, _data) = start().await;
    let url = srv.base_url();
    let src = tempfile::tempdir().unwrap();
    let run1 = src.path().join("run1");
    std::fs::create_dir_all(run1.join("lane 2")).unwrap();
    std::fs::write(run1.join("a.fastq"), b"@r1\nACGT\n+\nIIII\n").unwrap();
    std::fs::write(run1.join("lane 2/b.fastq"), vec![7u8; 300_000]).unwrap();
    std::fs::write(run1.join("empty.txt"), b"").unwrap();
    let single = src.path().join("notes.md");
    std::fs::write(&single, "# notes").unwrap();

    let o = run(
        &url,
        Some(KEY),
        &[
            "put",
            "-w",
            "ws1",
            run1.to_str().unwrap(),
            single.to_str().unwrap(),
            "--to",
            "raw",
            "--description",
            "run one",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));

    let o = run(&url, Some(KEY), &["ls", "-w", "ws1", "--json"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<_> = files
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "raw/notes.md",
            "raw/run1/a.fastq",
            "raw/run1/empty.txt",
            "raw/run1/lane 2/b.fastq"
        ]
    );
    assert!(
        files
            .iter()
            .all(|f| f["name"].is_string() && f["size"].is_u64())
    );
    assert_eq!(files[0]["description"], "run one");

    let o = run(&url, Some(KEY), &["ls", "-w", "ws1", "raw/run1/lane"]).await;
    assert!(String::from_utf8_lossy(&o.stdout).contains("raw/run1/lane 2/b.fastq"));

    let out = tempfile::tempdir().unwrap();
    let o = run(
        &url,
        Some(KEY),
        &[
            "get",
            "-w",
            "ws1",
            "raw/run1/",
            "raw/notes.md",
            "--to",
            out.path().to_str().unwrap(),
        ],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let mut expected = tree(src.path());
    expected.retain(|(p, _)| p.starts_with("run1") || p == "notes.md");
    assert_eq!(tree(out.path()), expected, "layout and bytes kept");

    let o = run(&url, Some(KEY), &["rm", "-w", "ws1", "raw/run1/"]).await;
    assert_eq!(o.status.code(), Some(2), "a folder needs -r");
    let o = run(
        &url,
        Some(KEY),
        &["rm", "-w", "ws1", "-r", "raw/run1/", "raw/notes.md"],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&url, Some(KEY), &["ls", "-w", "ws1", "--json"]).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[tokio::test]
async fn errors_are_one_clear_line_with_exit_codes() {
    let (srv, _data) = start().await;
    let url = srv.base_url();
    // No key: a usage error.
    let o = run(&url, None, &["ls", "-w", "ws1"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FILEDECK_API_KEY"), "{}", stderr(&o));
    // Wrong key: exit 1, one line, the key never shown.
    let o = run(&url, Some("not-the-key"), &["ls", "-w", "ws1"]).await;
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("401") && !e.contains("not-the-key"), "{e}");
    // Missing remote file.
    let out = tempfile::tempdir().unwrap();
    let o = run(
        &url,
        Some(KEY),
        &[
            "get",
            "-w",
            "ws1",
            "nope.txt",
            "--to",
            out.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.txt"), "{}", stderr(&o));
    // Missing local file.
    let o = run(
        &url,
        Some(KEY),
        &["put", "-w", "ws1", "/definitely/not/here"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/definitely/not/here"));
    // Bad usage.
    let o = run(&url, Some(KEY), &["frobnicate"]).await;
    assert_eq!(o.status.code(), Some(2));
    // No endpoint at all.
    let o = tokio::task::spawn_blocking(|| {
        Command::new(BIN)
            .args(["ls", "-w", "x"])
            .env_remove("FILEDECK_ENDPOINT")
            .env("FILEDECK_API_KEY", "k")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--endpoint"));
}

#[test]
fn serve_prints_its_address_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("FILEDECK_SERVER_KEY", "serve-key")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let o = Command::new(BIN)
        .args(["ls", "-w", "ws1", "--json"])
        .env("FILEDECK_ENDPOINT", &url)
        .env("FILEDECK_API_KEY", "serve-key")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    // SIGTERM: a clean shutdown, exit status 0.
    // A second server on the same data directory is refused while the first runs.
    let o = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("FILEDECK_SERVER_KEY", "serve-key")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("one server per data directory"),
        "{}",
        stderr(&o)
    );
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // Without any key the server refuses to start, with a clear message.
    let o = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("FILEDECK_SERVER_KEY")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("FILEDECK_SERVER_KEY"), "{}", stderr(&o));
}

/// A forward proxy for plain HTTP: counts the requests it relays.
async fn forward_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::body::Body;
    use axum::extract::{Request, State};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = Arc::new(AtomicUsize::new(0));
    async fn relay(State(seen): State<Arc<AtomicUsize>>, req: Request) -> axum::response::Response {
        seen.fetch_add(1, Ordering::SeqCst);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let mut fwd = http.request(parts.method, parts.uri.to_string()).body(body);
        for (k, v) in &parts.headers {
            if k != "host" && k != "proxy-connection" {
                fwd = fwd.header(k, v);
            }
        }
        let resp = fwd.send().await.unwrap();
        let mut out = axum::response::Response::builder().status(resp.status().as_u16());
        for (k, v) in resp.headers() {
            out = out.header(k.as_str(), v.as_bytes());
        }
        out.body(Body::from(resp.bytes().await.unwrap())).unwrap()
    }
    let app = axum::Router::new().fallback(relay).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn honours_http_proxy_and_no_proxy() {
    use std::sync::atomic::Ordering;
    let (srv, _data) = start().await;
    let url = srv.base_url();
    let (proxy, seen) = forward_proxy().await;
    let ls = |no_proxy: Option<&'static str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["ls", "-w", "ws1", "--json"])
            .env("FILEDECK_ENDPOINT", &url)
            .env("FILEDECK_API_KEY", KEY)
            .env("HTTP_PROXY", &proxy)
            .env("http_proxy", &proxy)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        if let Some(n) = no_proxy {
            cmd.env("NO_PROXY", n);
        }
        cmd
    };
    let mut cmd = ls(None);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        seen.load(Ordering::SeqCst) >= 1,
        "the request went through the proxy"
    );
    let before = seen.load(Ordering::SeqCst);
    let mut cmd = ls(Some("127.0.0.1"));
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        seen.load(Ordering::SeqCst),
        before,
        "NO_PROXY bypasses the proxy"
    );
}
