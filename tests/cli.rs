//! The real binary: `serve`, and the scripting commands against an in-process server in
//! both key styles (`key_styles!`): results are checked by display path (`path + name`),
//! never by assuming a key is one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use filedeck::server::{self, KeyStyle, RunningServer};

mod common;

#[path = "support/faults.rs"]
mod faults;
#[path = "support/server.rs"]
mod test_server;
#[path = "support/throttle.rs"]
mod throttle;
use test_server::key_styles;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const KEY: &str = "cli-test-key";
const WS: &str = "ws1";

/// A reference server in one key style, a client of it for checking what it holds, and
/// the state directory (`XDG_STATE_HOME`) every run of the binary gets.
struct Env {
    server: RunningServer,
    _data: tempfile::TempDir,
    state: tempfile::TempDir,
    url: String,
    client: filedeck::api::Client,
}

async fn start(style: KeyStyle) -> Env {
    start_via(style, None).await
}

/// As [`start`], with the server's presigned URLs on `public_url`: a proxy in front of it.
async fn start_via(style: KeyStyle, public_url: Option<&str>) -> Env {
    let data = tempfile::tempdir().unwrap();
    let server = test_server::start_with(data.path(), KEY, |config| {
        config.key_style = style;
        config.public_url = public_url.map(str::to_string);
    })
    .await;
    let url = server.base_url();
    let client = common::client(&url, KEY, |_| {});
    Env {
        server,
        _data: data,
        state: tempfile::tempdir().unwrap(),
        url,
        client,
    }
}

/// One file as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    /// `path + name`.
    path: String,
    key: String,
    sha256: Option<String>,
    size: Option<u64>,
}

impl Env {
    /// Run the binary with the key in its environment.
    async fn run(&self, args: &[&str]) -> Output {
        run_in(&self.url, Some(KEY), self.state.path(), args).await
    }

    /// Store `bytes` at display path `display` (in opaque style under a new key).
    async fn seed(&self, display: &str, bytes: &[u8]) -> filedeck::api::FileEntry {
        server::put_bytes(&self.server, WS, display, bytes.to_vec(), None)
            .await
            .unwrap()
    }

    /// Every file the server holds, by display path (then key).
    async fn held(&self) -> Vec<Held> {
        let listing = self.client.list_all(WS, "").await.unwrap();
        assert!(!listing.maybe_incomplete);
        let mut files: Vec<Held> = listing
            .files
            .iter()
            .map(|f| Held {
                path: f.display_key(),
                key: f.key.clone(),
                sha256: f.sha256.clone(),
                size: f.size,
            })
            .collect();
        files.sort();
        files
    }

    /// The files at display path `display`.
    async fn at(&self, display: &str) -> Vec<Held> {
        let mut all = self.held().await;
        all.retain(|h| h.path == display);
        all
    }

    /// The display paths the server holds, sorted.
    async fn paths(&self) -> Vec<String> {
        self.held().await.into_iter().map(|h| h.path).collect()
    }
}

/// Run the binary off the async runtime's threads, with `state` as its `XDG_STATE_HOME`
/// (its log, and the transfer queue a browser would lock).
async fn run_in(endpoint: &str, key: Option<&str>, state: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("FILEDECK_ENDPOINT", endpoint)
        .env("XDG_STATE_HOME", state)
        .env_remove("FILEDECK_API_KEY")
        .env_remove("FILEDECK_LARGE_UPLOAD_THRESHOLD");
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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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

/// `(name, bytes)` pairs as owned strings, for comparing with [`tree`].
fn want(files: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    out.sort();
    out
}

/// In opaque style a key is never its display path; in path style it always is. Checked
/// where a test addresses files by key, so a server started in the wrong style cannot
/// pass for the other.
fn check_key_style(style: KeyStyle, h: &Held) {
    match style {
        KeyStyle::Path => assert_eq!(h.key, h.path),
        KeyStyle::Opaque => assert!(h.key.starts_with("obj_"), "{h:?}"),
    }
}

key_styles! {
    async fn put_ls_get_rm_round_trip(style) {
        let env = start(style).await;
        let src = tempfile::tempdir().unwrap();
        let run1 = src.path().join("run1");
        std::fs::create_dir_all(run1.join("lane 2")).unwrap();
        std::fs::write(run1.join("a.fastq"), b"@r1\nACGT\n+\nIIII\n").unwrap();
        std::fs::write(run1.join("lane 2/b.fastq"), vec![7u8; 300_000]).unwrap();
        std::fs::write(run1.join("empty.txt"), b"").unwrap();
        let single = src.path().join("notes.md");
        std::fs::write(&single, "# notes").unwrap();

        let o = env
            .run(&[
                "put",
                "-w",
                WS,
                s(&run1),
                s(&single),
                "--to",
                "raw",
                "--description",
                "run one",
            ])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));

        let o = env.run(&["ls", "-w", WS, "--json"]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        let files: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        let display = |f: &serde_json::Value| {
            format!(
                "{}{}",
                f["path"].as_str().unwrap_or_default(),
                f["name"].as_str().unwrap()
            )
        };
        let mut paths: Vec<String> = files.iter().map(display).collect();
        paths.sort();
        assert_eq!(
            paths,
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
                .all(|f| f["name"].is_string() && f["size"].is_u64() && f["key"].is_string())
        );
        let notes = files
            .iter()
            .find(|f| display(f) == "raw/notes.md")
            .unwrap();
        assert_eq!(notes["description"], "run one");
        for h in env.held().await {
            check_key_style(style, &h);
        }

        let o = env.run(&["ls", "-w", WS, "raw/run1/lane"]).await;
        assert!(String::from_utf8_lossy(&o.stdout).contains("raw/run1/lane 2/b.fastq"));

        let out = tempfile::tempdir().unwrap();
        let o = env
            .run(&["get", "-w", WS, "raw/run1/", "raw/notes.md", "--to", s(out.path())])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));
        let mut expected = tree(src.path());
        expected.retain(|(p, _)| p.starts_with("run1") || p == "notes.md");
        assert_eq!(tree(out.path()), expected, "layout and bytes kept");

        let o = env.run(&["rm", "-w", WS, "raw/run1/"]).await;
        assert_eq!(o.status.code(), Some(2), "a folder needs -r");
        // A mistyped folder, "/" or an empty key deletes nothing and says so.
        for (args, code) in [
            (vec!["rm", "-w", WS, "-r", "raw/rnu1/"], 1),
            (vec!["rm", "-w", WS, "-r", "/"], 1),
            (vec!["rm", "-w", WS, "-r", ""], 2),
        ] {
            let o = env.run(&args).await;
            assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
            let e = stderr(&o);
            assert!(e.contains("nothing deleted") || e.contains("empty key"), "{e}");
        }
        let o = env
            .run(&["rm", "-w", WS, "-r", "raw/run1/", "raw/notes.md"])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));
        let o = env.run(&["ls", "-w", WS, "--json"]).await;
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    }
}

key_styles! {
    async fn errors_are_one_clear_line_with_exit_codes(style) {
        let env = start(style).await;
        let url = env.url.clone();
        let state = env.state.path();
        // No key: a usage error.
        let o = run_in(&url, None, state, &["ls", "-w", WS]).await;
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("FILEDECK_API_KEY"), "{}", stderr(&o));
        // Wrong key: exit 1, one line, the key never shown.
        let o = run_in(&url, Some("not-the-key"), state, &["ls", "-w", WS]).await;
        assert_eq!(o.status.code(), Some(1));
        let e = stderr(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(e.contains("401") && !e.contains("not-the-key"), "{e}");
        // Missing remote file, by display path or key alike.
        let out = tempfile::tempdir().unwrap();
        let o = env
            .run(&["get", "-w", WS, "nope.txt", "--to", s(out.path())])
            .await;
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("nope.txt"), "{}", stderr(&o));
        assert!(tree(out.path()).is_empty());
        // Missing local file.
        let o = env.run(&["put", "-w", WS, "/definitely/not/here"]).await;
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("/definitely/not/here"));
        assert!(env.held().await.is_empty());
        // Bad usage.
        let o = env.run(&["frobnicate"]).await;
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
}

/// Single-style: this is the server process's life (its address line, the data directory
/// lock, SIGTERM, no key), not how a client addresses files; its one listing is empty.
#[test]
fn serve_prints_its_address_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, url) = common::spawn_serve(
        [
            "--data".as_ref(),
            data.path().as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
        "serve-key",
    );
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
    common::sigterm(&child);
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

/// Issue 10, item 4: `--listen 0.0.0.0:0` alone is refused (usage, exit 2, naming
/// `--public-url`); with `--public-url` the server starts, and a bad URL is refused.
#[test]
fn serve_on_a_wildcard_address_needs_public_url() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let serve = |extra: &[&'static str]| {
        let mut args = vec!["serve", "--data", dir, "--listen", "0.0.0.0:0"];
        args.extend_from_slice(extra);
        args
    };
    let o = bare(&serve(&[]), &[("FILEDECK_SERVER_KEY", "serve-key")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--public-url"), "{}", stderr(&o));
    for bad in [
        "ftp://x.example",
        "https://x.example/?q=1",
        "https://me@x.example",
    ] {
        let o = bare(
            &serve(&["--public-url", bad]),
            &[("FILEDECK_SERVER_KEY", "serve-key")],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--public-url"), "{bad}: {}", stderr(&o));
    }
    let help = bare(&["serve", "--help"], &[]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("--public-url <URL>"),
        "{}",
        String::from_utf8_lossy(&help.stdout)
    );

    let (mut child, url) = common::spawn_serve(
        &serve(&["--public-url", "https://files.example.com"])[1..],
        "serve-key",
    );
    assert!(url.starts_with("http://"), "{url:?}");
    common::sigterm(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
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

/// Single-style: whether requests go through a proxy does not depend on how keys are
/// made, and the one listing is empty.
#[tokio::test]
async fn honours_http_proxy_and_no_proxy() {
    use std::sync::atomic::Ordering;
    let env = start(KeyStyle::Path).await;
    let url = env.url.clone();
    let (proxy, seen) = forward_proxy().await;
    let ls = |no_proxy: Option<&'static str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["ls", "-w", WS, "--json"])
            .env("FILEDECK_ENDPOINT", &url)
            .env("XDG_STATE_HOME", env.state.path())
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

// ---------------------------------------------------------------------------------------
// --on-conflict: put
// ---------------------------------------------------------------------------------------

/// A local folder holding `files`.
fn local(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

key_styles! {
    /// By default a batch in which anything exists transfers nothing at all, the files that
    /// did not exist included: exit 1, the existing file and the flag named.
    async fn put_of_an_existing_file_transfers_nothing_by_default(style) {
        let env = start(style).await;
        env.seed("raw/a.vcf", b"old a").await;
        env.seed("raw/keep.txt", b"untouched").await;
        let before = env.held().await;
        let src = local(&[("a.vcf", b"new a, longer"), ("b.vcf", b"new b")]);
        let a = src.path().join("a.vcf");
        let b = src.path().join("b.vcf");
        let o = env.run(&["put", "-w", WS, s(&a), s(&b), "--to", "raw/"]).await;
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains("raw/a.vcf") && e.contains("--on-conflict"), "{e}");
        assert!(!e.contains("raw/b.vcf"), "only what exists is listed: {e}");
        assert_eq!(env.held().await, before, "nothing of the batch was uploaded");
    }
}

key_styles! {
    /// `--on-conflict overwrite` leaves exactly one file at the path, holding the new bytes
    /// (opaque style: under a new key, the old key gone).
    async fn put_overwrite_leaves_one_file_with_the_new_bytes(style) {
        let env = start(style).await;
        let old = env.seed("raw/a.vcf", b"old a").await;
        let new = b"new a, longer".to_vec();
        let src = local(&[("a.vcf", &new)]);
        let o = env
            .run(&[
                "put",
                "-w",
                WS,
                s(&src.path().join("a.vcf")),
                "--to",
                "raw/",
                "--on-conflict",
                "overwrite",
            ])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));
        let at = env.at("raw/a.vcf").await;
        assert_eq!(at.len(), 1, "one file at the path: {at:?}");
        check_key_style(style, &at[0]);
        assert_eq!(at[0].sha256.as_deref(), Some(common::sha256_hex(&new).as_str()));
        assert_eq!(at[0].size, Some(new.len() as u64));
        match style {
            KeyStyle::Path => assert_eq!(at[0].key, old.key),
            KeyStyle::Opaque => {
                assert_ne!(at[0].key, old.key, "a new key holds the new bytes");
                let gone = env.client.stat(WS, &old.key).await.unwrap();
                assert!(gone.is_none(), "the old key is gone: {gone:?}");
            }
        }
        assert_eq!(env.paths().await, ["raw/a.vcf"]);
    }
}

key_styles! {
    /// `--on-conflict skip` leaves the existing file as it was (a line on stderr says so)
    /// and uploads the rest.
    async fn put_skip_leaves_the_existing_file_and_uploads_the_rest(style) {
        let env = start(style).await;
        env.seed("raw/a.vcf", b"old a").await;
        let before = env.at("raw/a.vcf").await;
        let src = local(&[("a.vcf", b"new a, longer"), ("b.vcf", b"new b")]);
        let o = env
            .run(&[
                "put",
                "-w",
                WS,
                s(&src.path().join("a.vcf")),
                s(&src.path().join("b.vcf")),
                "--to",
                "raw/",
                "--on-conflict",
                "skip",
            ])
            .await;
        let e = stderr(&o);
        assert!(o.status.success(), "{e}");
        assert!(e.contains("skipped raw/a.vcf"), "{e}");
        assert_eq!(env.at("raw/a.vcf").await, before, "left as it was");
        let b = env.at("raw/b.vcf").await;
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].sha256.as_deref(), Some(common::sha256_hex(b"new b").as_str()));
        assert_eq!(env.paths().await, ["raw/a.vcf", "raw/b.vcf"]);
    }
}

key_styles! {
    /// `--on-conflict rename` uploads beside the existing file as "a (1).vcf".
    async fn put_rename_uploads_under_a_numbered_name(style) {
        let env = start(style).await;
        env.seed("raw/a.vcf", b"old a").await;
        let before = env.at("raw/a.vcf").await;
        let src = local(&[("a.vcf", b"new a, longer")]);
        let o = env
            .run(&[
                "put",
                "-w",
                WS,
                s(&src.path().join("a.vcf")),
                "--to",
                "raw/",
                "--on-conflict",
                "rename",
            ])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(env.paths().await, ["raw/a (1).vcf", "raw/a.vcf"]);
        assert_eq!(env.at("raw/a.vcf").await, before, "the old one untouched");
        let renamed = env.at("raw/a (1).vcf").await;
        assert_eq!(
            renamed[0].sha256.as_deref(),
            Some(common::sha256_hex(b"new a, longer").as_str())
        );
    }
}

key_styles! {
    /// `--on-conflict skip-identical`: the identical file is skipped (said on stderr, exit
    /// 0, no new key minted for it); a different one of the same size is replaced, one file
    /// left at its path.
    async fn put_skip_identical_skips_the_same_and_replaces_the_different(style) {
        let env = start(style).await;
        env.seed("raw/same.vcf", b"same bytes").await;
        env.seed("raw/diff.vcf", b"old bytes!").await;
        let same_before = env.at("raw/same.vcf").await;
        let new = b"new bytes!";
        let src = local(&[("same.vcf", b"same bytes"), ("diff.vcf", new)]);
        let o = env
            .run(&[
                "put",
                "-w",
                WS,
                s(&src.path().join("same.vcf")),
                s(&src.path().join("diff.vcf")),
                "--to",
                "raw/",
                "--on-conflict",
                "skip-identical",
            ])
            .await;
        let e = stderr(&o);
        assert!(o.status.success(), "{e}");
        assert!(e.contains("skipped raw/same.vcf (identical"), "{e}");
        assert!(!e.contains("diff.vcf"), "{e}");
        assert_eq!(env.at("raw/same.vcf").await, same_before);
        let diff = env.at("raw/diff.vcf").await;
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert_eq!(diff[0].sha256.as_deref(), Some(common::sha256_hex(new).as_str()));
        assert_eq!(env.paths().await, ["raw/diff.vcf", "raw/same.vcf"]);
    }
}

// ---------------------------------------------------------------------------------------
// Display paths and keys
// ---------------------------------------------------------------------------------------

/// The key `ls --json` prints for the file at display path `display`.
async fn listed_key(env: &Env, display: &str) -> String {
    let o = env.run(&["ls", "-w", WS, "--json"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let found: Vec<&serde_json::Value> = files
        .iter()
        .filter(|f| {
            format!(
                "{}{}",
                f["path"].as_str().unwrap_or_default(),
                f["name"].as_str().unwrap_or_default()
            ) == display
        })
        .collect();
    assert_eq!(found.len(), 1, "{display}: {files:?}");
    found[0]["key"].as_str().unwrap().to_string()
}

key_styles! {
    /// `get` and `rm` take a display path or a key exactly as `ls --json` prints it.
    async fn get_and_rm_by_display_path_or_by_key(style) {
        let env = start(style).await;
        env.seed("raw/a.vcf", b"aaa").await;
        env.seed("raw/b.vcf", b"bbbb").await;
        for h in env.held().await {
            check_key_style(style, &h);
        }
        let key_a = listed_key(&env, "raw/a.vcf").await;
        let key_b = listed_key(&env, "raw/b.vcf").await;
        for arg in ["raw/a.vcf", key_a.as_str()] {
            let out = tempfile::tempdir().unwrap();
            let o = env.run(&["get", "-w", WS, arg, "--to", s(out.path())]).await;
            assert!(o.status.success(), "{arg}: {}", stderr(&o));
            assert_eq!(tree(out.path()), want(&[("a.vcf", b"aaa")]), "{arg}");
        }
        let o = env.run(&["rm", "-w", WS, "raw/a.vcf"]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(env.paths().await, ["raw/b.vcf"]);
        let o = env.run(&["rm", "-w", WS, &key_b]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(env.held().await.is_empty());
    }
}

key_styles! {
    /// Two uploads of one display path: in path style one file (the second); in opaque
    /// style two, and `get PATH` / `rm PATH` exit 2 naming both keys, touching nothing;
    /// by key each is one file.
    async fn a_display_path_two_uploads_share(style) {
        let env = start(style).await;
        let first = env.seed("raw/a.vcf", b"first").await;
        let second = env.seed("raw/a.vcf", b"second!").await;
        let out = tempfile::tempdir().unwrap();
        let get = ["get", "-w", WS, "raw/a.vcf", "--to", s(out.path())];
        match style {
            KeyStyle::Path => {
                assert_eq!(env.at("raw/a.vcf").await.len(), 1);
                let o = env.run(&get).await;
                assert!(o.status.success(), "{}", stderr(&o));
                assert_eq!(tree(out.path()), want(&[("a.vcf", b"second!")]));
            }
            KeyStyle::Opaque => {
                let before = env.held().await;
                assert_eq!(before.len(), 2);
                for args in [&get[..], &["rm", "-w", WS, "raw/a.vcf"][..]] {
                    let o = env.run(args).await;
                    let e = stderr(&o);
                    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
                    assert!(
                        e.contains(&first.key) && e.contains(&second.key),
                        "{args:?}: {e}"
                    );
                }
                assert!(tree(out.path()).is_empty(), "nothing downloaded");
                assert_eq!(env.held().await, before, "nothing deleted");
                // By key, each is one file.
                let o = env
                    .run(&["get", "-w", WS, &first.key, "--to", s(out.path())])
                    .await;
                assert!(o.status.success(), "{}", stderr(&o));
                assert_eq!(tree(out.path()), want(&[("a.vcf", b"first")]));
                let o = env.run(&["rm", "-w", WS, &first.key]).await;
                assert!(o.status.success(), "{}", stderr(&o));
                let left = env.at("raw/a.vcf").await;
                assert_eq!(left.len(), 1);
                assert_eq!(left[0].key, second.key);
                // Now the path names one file again.
                let again = tempfile::tempdir().unwrap();
                let o = env
                    .run(&["get", "-w", WS, "raw/a.vcf", "--to", s(again.path())])
                    .await;
                assert!(o.status.success(), "{}", stderr(&o));
                assert_eq!(tree(again.path()), want(&[("a.vcf", b"second!")]));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// --on-conflict: get
// ---------------------------------------------------------------------------------------

key_styles! {
    /// A local file in the way: by default nothing is written (exit 1, the file and the
    /// flag named); `overwrite` replaces it; `rename` writes "a (1).vcf" beside it.
    async fn get_into_a_folder_where_the_file_exists(style) {
        let env = start(style).await;
        env.seed("raw/a.vcf", b"theirs").await;
        let out = tempfile::tempdir().unwrap();
        let mine = out.path().join("a.vcf");
        std::fs::write(&mine, b"mine").unwrap();
        let get = |answer: Option<&'static str>| {
            let mut args = vec!["get", "-w", WS, "raw/a.vcf", "--to", s(out.path())];
            if let Some(a) = answer {
                args.extend(["--on-conflict", a]);
            }
            args
        };

        let o = env.run(&get(None)).await;
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(e.contains(s(&mine)) && e.contains("--on-conflict"), "{e}");
        assert_eq!(tree(out.path()), want(&[("a.vcf", b"mine")]), "untouched");

        let o = env.run(&get(Some("rename"))).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            tree(out.path()),
            want(&[("a.vcf", b"mine"), ("a (1).vcf", b"theirs")])
        );

        let o = env.run(&get(Some("overwrite"))).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            tree(out.path()),
            want(&[("a.vcf", b"theirs"), ("a (1).vcf", b"theirs")])
        );
    }
}

key_styles! {
    /// Two `get`s at once, of different files into one folder: both succeed, each file
    /// whole, nothing else left there.
    async fn two_gets_at_once_into_one_folder_both_succeed(style) {
        let env = start(style).await;
        let a = common::pattern(3 << 20, 1);
        let b = common::pattern(3 << 20, 2);
        env.seed("raw/a.bin", &a).await;
        env.seed("raw/b.bin", &b).await;
        let out = tempfile::tempdir().unwrap();
        let get_a = ["get", "-w", WS, "raw/a.bin", "--to", s(out.path())];
        let get_b = ["get", "-w", WS, "raw/b.bin", "--to", s(out.path())];
        let (oa, ob) = tokio::join!(env.run(&get_a), env.run(&get_b));
        assert!(oa.status.success(), "{}", stderr(&oa));
        assert!(ob.status.success(), "{}", stderr(&ob));
        assert_eq!(tree(out.path()), want(&[("a.bin", &a), ("b.bin", &b)]));
    }
}

key_styles! {
    /// The command line never takes the browser's transfer queue: a `get` while a browser
    /// holds the queue of the same endpoint (same state directory) succeeds.
    async fn get_while_a_browser_holds_the_queue(style) {
        use filedeck::worker::queue::QueueStore;
        let env = start(style).await;
        env.seed("raw/a.vcf", b"aaa").await;
        let dir = env.state.path().join("filedeck");
        let _browser = QueueStore::open(&dir, &env.url).unwrap();
        let held = QueueStore::open(&dir, &env.url).map(|_| ());
        assert!(
            matches!(&held, Err(m) if m.contains("another filedeck")),
            "the queue is really held: {held:?}"
        );
        let out = tempfile::tempdir().unwrap();
        let o = env
            .run(&["get", "-w", WS, "raw/a.vcf", "--to", s(out.path())])
            .await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(tree(out.path()), want(&[("a.vcf", b"aaa")]));
    }
}

/// The binary with only `vars` set of filedeck's environment (no endpoint or key from the
/// caller's shell).
fn bare(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("XDG_STATE_HOME", state.path())
        .env_remove("FILEDECK_ENDPOINT")
        .env_remove("FILEDECK_API_KEY");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What a scripting command lacks is reported in the order it must be fixed: the endpoint
/// (nothing works without it), the key, then the workspace, then what to work on. Each
/// is a usage error (exit 2) naming only that one thing.
#[test]
fn missing_pieces_are_reported_endpoint_first() {
    let endpoint = ("FILEDECK_ENDPOINT", "http://127.0.0.1:9");
    let key = ("FILEDECK_API_KEY", "k");
    for cmd in ["ls", "put", "get", "rm"] {
        let o = bare(&[cmd], &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {e}");
        assert!(e.contains("no endpoint"), "{cmd}: {e}");
        assert!(
            !e.contains("workspace"),
            "{cmd}: the endpoint comes first: {e}"
        );

        let o = bare(&[cmd], &[endpoint]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {e}");
        assert!(e.contains("no API key"), "{cmd}: {e}");
        assert!(!e.contains("workspace"), "{cmd}: the key comes next: {e}");

        let o = bare(&[cmd], &[endpoint, key]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {e}");
        assert!(e.contains("no workspace") && e.contains("-w"), "{cmd}: {e}");
    }
    for (cmd, what) in [("put", "PATH"), ("get", "KEY"), ("rm", "KEY")] {
        let o = bare(&[cmd, "-w", WS], &[endpoint, key]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {e}");
        assert!(e.contains(&format!("no {what} given")), "{cmd}: {e}");
    }
}

/// `--help` of every command explains every argument, -w and the paths included, and
/// shows -w in the usage line.
#[test]
fn every_argument_has_a_help_text() {
    use clap::CommandFactory;
    let cli = filedeck::cli::Cli::command();
    for cmd in ["ls", "put", "get", "rm"] {
        let sub = cli.find_subcommand(cmd).unwrap();
        for arg in sub.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "endpoint" {
                continue;
            }
            assert!(
                arg.get_help()
                    .is_some_and(|h| !h.to_string().trim().is_empty()),
                "`filedeck {cmd}`: {id} has no help text"
            );
        }
        let o = bare(&[cmd, "--help"], &[]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{out}");
        assert!(out.contains(&format!("filedeck {cmd} -w <WS>")), "{out}");
        assert!(out.contains("The workspace to"), "{cmd}: {out}");
    }
}

/// Ctrl-C (SIGINT) stops `get` and `put` with the shell's status for it, 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_get_and_put_with_status_130() {
    // A slow link, so the transfer is under way when the signal comes.
    let slow = throttle::Throttle::bind(500_000).await;
    let env = start_via(KeyStyle::Path, Some(&slow.base)).await;
    slow.connect(env.server.addr);
    let proxy = slow.base.clone();
    env.seed("big.bin", &vec![7u8; 8 << 20]).await;
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("up.bin"), vec![1u8; 8 << 20]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let up = local.path().join("up.bin");
    for args in [
        vec!["get", "-w", WS, "big.bin", "--to", s(out.path())],
        vec!["put", "-w", WS, s(&up)],
    ] {
        let objects_before = slow.objects();
        let stats = env.server.stats();
        let before = stats.requests.load(std::sync::atomic::Ordering::SeqCst);
        let sent_before = stats.bytes_sent.load(std::sync::atomic::Ordering::SeqCst);
        let child = Command::new(BIN)
            .args(&args)
            .env("FILEDECK_ENDPOINT", &proxy)
            .env("FILEDECK_API_KEY", KEY)
            .env("XDG_STATE_HOME", env.state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Under way: for `get`, the server is sending its bytes (through the proxy: its
        // presigned URL is on it); for `put`, the upload has reached the server after the
        // listing of its destination, so the command is past setting up its signal handling.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while match args[0] {
            "get" => stats.bytes_sent.load(std::sync::atomic::Ordering::SeqCst) == sent_before,
            _ => stats.requests.load(std::sync::atomic::Ordering::SeqCst) < before + 2,
        } {
            assert!(
                std::time::Instant::now() < deadline,
                "{args:?} never started"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
            rustix::process::Signal::INT,
        )
        .expect("signal sent");
        let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(o.status.code(), Some(130), "{args:?}: {}", stderr(&o));
        if args[0] == "get" {
            // Its presigned URL is on the proxy: the bytes took the slow link.
            assert!(
                slow.objects() > objects_before,
                "the GET bypassed the proxy"
            );
        }
    }
}

key_styles! {
    /// Ctrl-C during `put --on-conflict overwrite`, once the whole body is sent and the
    /// server's answer is on its way: the server keeps the new file whatever the client
    /// does, so the upload is seen through and the file it replaces removed — never two
    /// files left on one path (opaque keys) — and the command still exits 130, saying so.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ctrl_c_after_the_body_of_an_overwrite_leaves_one_file(style) {
        let (proxy, base) = faults::Proxy::bind().await;
        let env = start_via(style, Some(&base)).await;
        proxy.connect(&env.url);
        env.seed("raw/big.bin", &[1u8; 1000]).await;
        proxy.arm(
            faults::Route::Upload,
            &[faults::Fault::Stall(0, std::time::Duration::from_secs(3))],
        );
        let local = tempfile::tempdir().unwrap();
        let up = local.path().join("big.bin");
        std::fs::write(&up, vec![2u8; 300_000]).unwrap();
        let child = Command::new(BIN)
            .args(["put", "-w", WS, s(&up), "--to", "raw/", "--on-conflict", "overwrite"])
            .env("FILEDECK_ENDPOINT", &base)
            .env("FILEDECK_API_KEY", KEY)
            .env("XDG_STATE_HOME", env.state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The server has the body (and made the file); its answer is held.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !proxy
            .seen(faults::Route::Upload)
            .iter()
            .any(|s| s.upstream.is_some())
        {
            assert!(std::time::Instant::now() < deadline, "the upload never reached the server");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        rustix::process::kill_process(rustix::process::Pid::from_raw(child.id() as i32).unwrap(), rustix::process::Signal::INT)
            .expect("signal sent");
        let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
        assert!(stderr(&o).contains("1 of 1 uploads landed"), "{}", stderr(&o));
        let held = env.at("raw/big.bin").await;
        assert_eq!(held.len(), 1, "one file at the path: {held:?}");
        assert_eq!(held[0].size, Some(300_000), "the new one");
    }
}

key_styles! {
    /// Names are shown with their hidden characters (line and paragraph separators, the
    /// Arabic letter mark…) as visible placeholders, while `--json` keeps them exact,
    /// written as escapes.
    async fn ls_shows_hidden_characters_as_placeholders_and_json_keeps_them(style) {
        let env = start(style).await;
        let name = "a\u{2028}b\u{2029}c\u{61c}d.txt";
        env.seed(&format!("odd/{name}"), b"x").await;

        let o = env.run(&["ls", "-w", WS]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains("odd/a\u{fffd}b\u{fffd}c\u{fffd}d.txt"), "{out:?}");
        for c in ['\u{2028}', '\u{2029}', '\u{61c}'] {
            assert!(!out.contains(c), "{out:?}");
        }
        assert_eq!(out.lines().count(), 1, "{out:?}");

        let o = env.run(&["ls", "-w", WS, "--json"]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains(r#""a\u2028b\u2029c\u061cd.txt""#), "{out:?}");
        let files: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(files.len(), 1, "{out}");
        assert_eq!(files[0]["name"], name);
    }
}
