//! The real binary in a pty against the reference server behind a fault-injecting reverse
//! proxy: faults on the upload, download-URL and presigned byte routes still give correct
//! bytes; a batch of 200 small files lands exactly once each; a download body that stalls
//! leaves the screen answering keys and is resumed after the stall timeout.
//!
//! The server builds presigned URLs from the request's `Host`, which the proxy forwards
//! unchanged, so the byte routes go through the proxy too. Every wait is on a condition
//! with a deadline, never a bare sleep. The tests take turns (one lock): the third one
//! measures key latency and must not share the two cores with another TUI's batch.

use std::io::{self, Read, Write};
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server::{self, RunningServer, ServerConfig};
use futures_util::{Stream, StreamExt};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

#[path = "support/server.rs"]
mod test_server;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const KEY: &str = "e2e-faults";
const WS: &str = "ws1";

/// One test at a time (see the module docs).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------
// The binary in a pty
// ---------------------------------------------------------------------------------------

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Pty {
    fn spawn(env: &[(&str, &str)]) -> Pty {
        let (rows, cols) = (40, 140);
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(["--workspace", WS]);
        cmd.env("TERM", "xterm-256color");
        // Everything here is on loopback: no system proxy in between.
        cmd.env("NO_PROXY", "127.0.0.1,localhost");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            NonZero::new(rows).unwrap(),
            NonZero::new(cols).unwrap(),
            0,
        )));
        let p = parser.clone();
        std::thread::spawn(move || {
            let _keep = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        Pty {
            parser,
            writer,
            child,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Wait (at most `limit`) for `cond` on the screen; how long it took.
    fn wait_for(&self, what: &str, limit: Duration, cond: impl Fn(&str) -> bool) -> Duration {
        self.wait_unless(what, limit, cond, |_| false)
    }

    /// As [`Pty::wait_for`], failing at once when `bad` holds first.
    fn wait_unless(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&str) -> bool,
        bad: impl Fn(&str) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if cond(&s) {
                return started.elapsed();
            }
            assert!(!bad(&s), "while waiting for {what}; screen:\n{s}");
            assert!(
                started.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// `q`, then the process ends by itself.
    fn quit(&mut self) {
        self.send("q");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "did not quit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    /// A failed test must not leave the binary finishing its transfers without a screen.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.child.process_id() {
                // SAFETY: signalling our own child.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
            let _ = self.child.wait();
        }
    }
}

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

/// The transfers pane shows some bytes done of `total` (neither 0 nor all).
fn in_the_middle(s: &str, total: &str) -> bool {
    s.lines().any(|l| {
        l.contains("running")
            && l.contains(&format!("/ {total}"))
            && !l.contains(&format!(" 0 B / {total}"))
            && !l.contains(&format!("{total} / {total}"))
    })
}

// ---------------------------------------------------------------------------------------
// The fault-injecting reverse proxy (adapted from tests/faults.rs)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Route {
    List,
    DownloadUrl,
    ObjectGet,
    Upload,
    Other,
}

fn route_of(method: &Method, path: &str) -> Route {
    match (method.as_str(), path) {
        ("GET", "/v1/files") => Route::List,
        ("GET", "/v1/files/download") => Route::DownloadUrl,
        ("POST", "/v1/files/upload") => Route::Upload,
        ("GET", p) if p.starts_with("/objects/") => Route::ObjectGet,
        _ => Route::Other,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    /// Answer this status without forwarding.
    Status(u16),
    /// Answer as S3 does for a presigned URL past its expiry, without forwarding.
    Expired,
    /// Ask the twin server that signs URLs valid for no time at all: the client gets a
    /// correctly signed URL that the real server refuses with its own `403 expired`.
    MintExpired,
    /// Forward; pass on this many bytes of the answer's body, then drop the connection.
    CutResponse(u64),
    /// Forward; pass on this many bytes of the body, then send nothing (the connection
    /// held open) for this long, then drop it.
    Stall(u64, Duration),
}

const S3_EXPIRED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
     <Message>Request has expired</Message><Expires>2020-01-01T00:00:00Z</Expires></Error>";

/// A fault waiting for its request: the next one to `route` whose path and query contain
/// `only` (any, when `None`).
#[derive(Clone, Debug, PartialEq)]
struct Armed {
    route: Route,
    only: Option<&'static str>,
    fault: Fault,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
struct Seen {
    route: Route,
    /// Path and query, as asked (percent-encoded).
    uri: String,
    at: Instant,
    fault: Option<Fault>,
    range: Option<String>,
    /// The server's status, when the request reached it.
    upstream: Option<u16>,
    /// Body bytes passed on to the client.
    bytes_out: Arc<AtomicU64>,
    /// When a `Stall` fault stopped passing bytes on.
    stalled_at: Arc<Mutex<Option<Instant>>>,
}

impl Seen {
    fn is(&self, name: &str) -> bool {
        self.uri.contains(name)
    }
    fn out(&self) -> u64 {
        self.bytes_out.load(Ordering::SeqCst)
    }
}

struct Proxy {
    upstream: String,
    /// The twin server of [`Fault::MintExpired`], when started.
    minter: Mutex<Option<String>>,
    http: reqwest::Client,
    faults: Mutex<Vec<Armed>>,
    seen: Mutex<Vec<Seen>>,
    /// Ends every stall at once.
    stop: CancellationToken,
}

impl Proxy {
    fn arm(&self, route: Route, only: Option<&'static str>, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .push(Armed { route, only, fault });
    }

    fn take(&self, route: Route, uri: &str) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap();
        let i = q
            .iter()
            .position(|a| a.route == route && a.only.is_none_or(|s| uri.contains(s)))?;
        Some(q.remove(i).fault)
    }

    fn left(&self) -> Vec<Armed> {
        self.faults.lock().unwrap().clone()
    }

    fn seen(&self, route: Route) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.route == route)
            .cloned()
            .collect()
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut h = headers.clone();
    for name in HOP_BY_HOP {
        h.remove(*name);
    }
    h
}

/// Pass `inner` on; with a `limit`, stop after that many bytes, wait (`stall`, or just
/// long enough for the connection to flush what it has), then fail, which makes hyper
/// abort the connection mid-body.
fn cut_stream<S, E>(
    inner: S,
    limit: Option<u64>,
    stall: Option<Duration>,
    stop: CancellationToken,
    counter: Arc<AtomicU64>,
    stalled_at: Arc<Mutex<Option<Instant>>>,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let inner = Box::pin(inner);
    futures_util::stream::unfold((inner, 0u64, false), move |(mut inner, sent, done)| {
        let stop = stop.clone();
        let counter = counter.clone();
        let stalled_at = stalled_at.clone();
        async move {
            if done {
                return None;
            }
            if let Some(limit) = limit
                && sent >= limit
            {
                match stall {
                    Some(pause) => {
                        *stalled_at.lock().unwrap() = Some(Instant::now());
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stop.cancelled() => {}
                        }
                    }
                    None => {
                        for _ in 0..4 {
                            tokio::task::yield_now().await;
                        }
                    }
                }
                let err = io::Error::other("connection dropped by the fault proxy");
                return Some((Err(err), (inner, sent, true)));
            }
            match inner.next().await {
                None => None,
                Some(Err(e)) => Some((Err(io::Error::other(e.to_string())), (inner, sent, true))),
                Some(Ok(mut chunk)) => {
                    if let Some(limit) = limit {
                        let room = (limit - sent) as usize;
                        if chunk.len() > room {
                            chunk.truncate(room);
                        }
                    }
                    let n = chunk.len() as u64;
                    counter.fetch_add(n, Ordering::SeqCst);
                    Some((Ok(chunk), (inner, sent + n, false)))
                }
            }
        }
    })
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let uri = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let route = route_of(req.method(), req.uri().path());
    let fault = p.take(route, &uri);
    let bytes_out = Arc::new(AtomicU64::new(0));
    let stalled_at = Arc::new(Mutex::new(None));
    let index = {
        let mut seen = p.seen.lock().unwrap();
        seen.push(Seen {
            route,
            uri: uri.clone(),
            at: Instant::now(),
            fault,
            range: req
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            upstream: None,
            bytes_out: bytes_out.clone(),
            stalled_at: stalled_at.clone(),
        });
        seen.len() - 1
    };
    let (parts, body) = req.into_parts();

    match fault {
        Some(Fault::Status(code)) => {
            // Read the request first, so the client reliably gets this answer (not a reset).
            let _ = axum::body::to_bytes(body, usize::MAX).await;
            let status = StatusCode::from_u16(code).unwrap();
            return (status, "injected by the fault proxy").into_response();
        }
        Some(Fault::Expired) => {
            let _ = axum::body::to_bytes(body, usize::MAX).await;
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "application/xml")],
                S3_EXPIRED,
            )
                .into_response();
        }
        _ => {}
    }

    let upstream = match fault {
        Some(Fault::MintExpired) => p.minter.lock().unwrap().clone().expect("no minter"),
        _ => p.upstream.clone(),
    };
    let target = format!("{upstream}{uri}");
    // `Host` is kept: the server builds presigned URLs from it, so they point back here.
    let headers = end_to_end(&parts.headers);
    let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let mut up = p
        .http
        .request(parts.method.clone(), target)
        .headers(headers);
    if has_body {
        up = up.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    }
    let answer = match up.send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    p.seen.lock().unwrap()[index].upstream = Some(answer.status().as_u16());
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let (limit, stall) = match fault {
        Some(Fault::CutResponse(n)) => (Some(n), None),
        Some(Fault::Stall(n, pause)) => (Some(n), Some(pause)),
        _ => (None, None),
    };
    let body = cut_stream(
        answer.bytes_stream(),
        limit,
        stall,
        p.stop.clone(),
        bytes_out,
        stalled_at,
    );
    let mut r = Response::new(Body::from_stream(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
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

async fn start() -> Env {
    let data = tempfile::tempdir().unwrap();
    let srv = test_server::start(data.path(), KEY).await;
    let proxy = Arc::new(Proxy {
        upstream: srv.base_url(),
        minter: Mutex::new(None),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        faults: Mutex::new(Vec::new()),
        seen: Mutex::new(Vec::new()),
        stop: CancellationToken::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(forward).with_state(proxy.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
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
        let mut config = ServerConfig::new(self.data.path(), "127.0.0.1:0".parse().unwrap());
        config.keys.push(server::ApiKey {
            token: KEY.into(),
            scopes: vec!["files".into()],
            workspaces: vec!["*".into()],
        });
        config.presign_ttl = Duration::ZERO;
        let minter = server::bind(config).await.unwrap();
        *self.proxy.minter.lock().unwrap() = Some(minter.base_url());
        minter
    }

    /// The binary, through the proxy, with these extra variables.
    fn spawn_tui(&self, extra: &[(&str, &str)]) -> Pty {
        let st = self.state.path().to_str().unwrap().to_string();
        let mut env = vec![
            ("FILEDECK_ENDPOINT", self.base.as_str()),
            ("FILEDECK_API_KEY", KEY),
            ("XDG_STATE_HOME", st.as_str()),
        ];
        env.extend_from_slice(extra);
        Pty::spawn(&env)
    }

    /// Every armed fault fired; then end the proxy's stalls and stop the server.
    async fn finish(self) {
        assert_eq!(self.proxy.left(), vec![], "faults that never fired");
        self.proxy.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.srv.shutdown()).await;
    }
}

/// `len` deterministic, incompressible-looking bytes (xorshift), different per `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file under `root`, by its `/`-separated path relative to `root`, sorted.
fn files_under(root: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    p,
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_server_still_gives_correct_bytes() {
    let _serial = SERIAL.lock().await;
    let e = start().await;
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
    e.proxy.arm(Route::Upload, None, Fault::Status(503));
    e.proxy.arm(Route::DownloadUrl, None, Fault::Status(503));
    e.proxy
        .arm(Route::DownloadUrl, Some("b.fq"), Fault::MintExpired);
    e.proxy.arm(Route::ObjectGet, Some("a.vcf"), Fault::Expired);
    e.proxy.arm(
        Route::ObjectGet,
        Some("big.bam"),
        Fault::CutResponse(cut_at),
    );

    let started = Instant::now();
    let mut pty = e.spawn_tui(&[]);
    let batch_arg = batch.to_str().unwrap().to_string();
    let dest = tempfile::tempdir().unwrap();
    let dest_arg = dest.path().to_str().unwrap().to_string();
    let limit = Duration::from_secs(40);
    pty = tokio::task::spawn_blocking(move || {
        pty.wait_for("the listing", limit, |s| s.contains("existing.txt"));
        pty.send("u");
        pty.wait_for("the upload prompt", limit, |s| {
            s.contains("Local file or folder to upload")
        });
        pty.send(&batch_arg);
        pty.send("\r");
        pty.wait_unless("6 uploads done", limit, |s| all_done(s, 6), any_failed);
        // The folder refresh after the batch is over once the tree shows batch/ with its
        // 6 files (no "≥"). Only then move: the selection follows its row, not its index.
        pty.wait_for("batch/ in the tree", limit, |s| {
            s.lines()
                .any(|l| l.contains("▸ batch/") && l.contains(" 6 files "))
        });
        pty.send("g");
        pty.send("j");
        pty.wait_for("batch/ selected and listed", limit, |s| {
            s.contains("Folder    batch/") && s.contains("Files     6")
        });
        pty.send("d");
        pty.wait_for("the download prompt", limit, |s| {
            s.contains("Download 6 files")
        });
        pty.send("\x7f"); // the default "." goes
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
        let want = sha(&std::fs::read(src).unwrap());
        let remote = listed
            .iter()
            .find(|f| &f.display_key() == rel)
            .unwrap_or_else(|| panic!("{rel} not listed"));
        assert_eq!(
            remote.sha256.as_deref(),
            Some(want.as_str()),
            "{rel} remote"
        );
        assert_eq!(sha(&std::fs::read(down).unwrap()), want, "{rel} downloaded");
    }

    // Each fault fired once, and the client got over it.
    let uploads = e.proxy.seen(Route::Upload);
    let failed: Vec<&Seen> = uploads.iter().filter(|s| s.fault.is_some()).collect();
    assert_eq!(failed.len(), 1, "{uploads:?}");
    assert_eq!(failed[0].fault, Some(Fault::Status(503)));
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
            .filter(|s| s.fault == Some(Fault::Status(503)))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_small_files_in_one_batch() {
    let _serial = SERIAL.lock().await;
    let e = start().await;
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
        pty.wait_for("the listing", limit, |s| s.contains("existing.txt"));
        pty.send("u");
        pty.wait_for("the upload prompt", limit, |s| {
            s.contains("Local file or folder to upload")
        });
        pty.send(&arg);
        pty.send("\r");
        pty.wait_unless("200 uploads done", limit, |s| all_done(s, 200), any_failed);
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
        assert_eq!(same[0].size, bytes.len() as u64, "{rel}");
        assert_eq!(
            same[0].sha256.as_deref(),
            Some(sha(&bytes).as_str()),
            "{rel}"
        );
    }
    let uploads = e.proxy.seen(Route::Upload);
    assert_eq!(uploads.len(), 200, "each file sent once");
    assert!(uploads.iter().all(|s| s.upstream == Some(201)));
    eprintln!("two_hundred_small_files_in_one_batch: the TUI part took {took:?}");
    e.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_keeps_the_screen_answering() {
    let _serial = SERIAL.lock().await;
    let e = start().await;
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
    // Far longer than the 2 s stall timeout, and than the deadline for the download to end.
    let stall = Duration::from_secs(50);
    let stall_after = 1u64 << 20;
    e.proxy.arm(
        Route::ObjectGet,
        Some("stall.bin"),
        Fault::Stall(stall_after, stall),
    );
    let dest = tempfile::tempdir().unwrap();
    let dest_arg = dest.path().to_str().unwrap().to_string();
    let proxy = e.proxy.clone();
    let mut pty = e.spawn_tui(&[("FILEDECK_STALL_TIMEOUT", "2")]);
    let limit = Duration::from_secs(20);
    let prompt = Duration::from_secs(1);
    let (pty, stalled_at, latencies) = tokio::task::spawn_blocking(move || {
        pty.wait_for("the listing", limit, |s| s.contains("z.txt"));
        pty.send("g");
        pty.send("j");
        pty.wait_for("a.txt selected", limit, |s| s.contains("Path      a.txt"));
        pty.send("j");
        pty.wait_for("stall.bin selected", limit, |s| {
            s.contains("Path      stall.bin")
        });
        pty.send("d");
        pty.wait_for("the download prompt", limit, |s| {
            s.contains("Download 1 file")
        });
        pty.send("\x7f");
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
        pty.wait_for("the stalled download on screen", limit, |s| {
            in_the_middle(s, "4 MiB")
        });

        // Keys while the body is stalled: each answered on screen within a second.
        let mut latencies = Vec::new();
        pty.send("?");
        latencies.push(pty.wait_for("the help overlay", prompt, |s| {
            s.contains("?/Esc closes") && s.contains("this help")
        }));
        pty.send("?");
        latencies.push(pty.wait_for("the help overlay closed", prompt, |s| {
            !s.contains("?/Esc closes") && s.contains("Path      stall.bin")
        }));
        pty.send("j");
        latencies.push(pty.wait_for("j: z.txt in the details", prompt, |s| {
            s.contains("Path      z.txt")
        }));
        pty.send("k");
        latencies.push(pty.wait_for("k: stall.bin in the details", prompt, |s| {
            s.contains("Path      stall.bin")
        }));
        // All of that happened during the stall: the client has not given up on it yet.
        assert_eq!(
            proxy.seen(Route::ObjectGet).len(),
            1,
            "the keys were answered during the stall, before any retry"
        );
        assert!(
            stalled_at.elapsed() < Duration::from_secs(2),
            "{:?}",
            stalled_at.elapsed()
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
    let waited = gets[1].at.duration_since(stalled_at);
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(8),
        "the retry came {waited:?} after the stall began; the stall timeout is 2 s"
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
