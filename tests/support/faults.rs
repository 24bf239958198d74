//! A fault-injecting reverse proxy in front of the reference server, for `tests/faults.rs`
//! (the client) and `tests/e2e_faults.rs` (the binary in a pty): per route, a fault armed
//! for the next request (a status, a body cut or stalled either way, an answer lost after
//! the server acted, an expired presigned URL), and a record of every request it saw.
//!
//! The server builds presigned URLs from its public URL alone, so the proxy is bound first
//! ([`Proxy::bind`]) and its base URL given to the server as `public_url`, then pointed at the
//! server ([`Proxy::connect`]): that way the byte routes go through the proxy too.
//!
//! Faults and records name files by display path (`arm_for(…, "a.vcf", …)`, `seen.is("a.vcf")`)
//! in both key styles: where a key is opaque (`obj_…`), a request's path and query do not
//! name the file, so the proxy learns each key's display path from the answers it passes on
//! (listings, uploads, upload URLs) and matches that too.
#![allow(dead_code)] // each test file uses a part of it

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use filedeck::server::RunningServer;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------
// Connections the proxy can drop from inside a handler
// ---------------------------------------------------------------------------------------

/// Accepts TCP connections whose I/O fails for good once their [`Conn`] is killed, so a
/// handler can end its connection without any answer.
struct KillableListener(TcpListener);

struct KillableIo {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

/// Handed to handlers as `ConnectInfo`: the switch that kills their connection.
#[derive(Clone, Debug)]
struct Conn {
    killed: Arc<AtomicBool>,
}

impl Conn {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = Conn;

    async fn accept(&mut self) -> (KillableIo, Conn) {
        loop {
            if let Ok((inner, _)) = self.0.accept().await {
                let _ = inner.set_nodelay(true);
                let killed = Arc::new(AtomicBool::new(false));
                let conn = Conn {
                    killed: killed.clone(),
                };
                return (KillableIo { inner, killed }, conn);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        Ok(Conn {
            killed: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

fn killed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "killed by the fault proxy")
}

impl AsyncRead for KillableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------
// Routes, faults and what the proxy saw
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    List,
    DownloadUrl,
    ObjectGet,
    Delete,
    Upload,
    UploadUrl,
    ObjectPut,
    Confirm,
    Other,
}

fn route_of(method: &Method, path: &str) -> Route {
    match (method.as_str(), path) {
        ("GET", "/v1/files") => Route::List,
        ("DELETE", "/v1/files") => Route::Delete,
        ("GET", "/v1/files/download") => Route::DownloadUrl,
        ("POST", "/v1/files/upload") => Route::Upload,
        ("POST", "/v1/files/upload-url") => Route::UploadUrl,
        ("POST", "/v1/files/upload-confirm") => Route::Confirm,
        ("GET", p) if p.starts_with("/objects/") => Route::ObjectGet,
        ("PUT", p) if p.starts_with("/objects/") => Route::ObjectPut,
        _ => Route::Other,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Fault {
    /// Answer this status without forwarding, with this `Retry-After` if any.
    Status(u16, Option<&'static str>),
    /// Answer as S3 does for a presigned URL past its expiry, without forwarding.
    Expired,
    /// Ask the twin server that signs URLs valid for no time at all (see
    /// [`Proxy::set_minter`]): the client gets a correctly signed URL that the real server
    /// refuses with its own `403 expired`.
    MintExpired,
    /// Forward only this many request-body bytes to the server, then drop both connections.
    CutRequest(u64),
    /// Read this many request-body bytes, then read nothing for this long, then drop both
    /// connections.
    StallRequest(u64, Duration),
    /// Forward; pass on this many bytes of the answer's body, then drop the connection.
    CutResponse(u64),
    /// Forward (the server acts), then drop the connection without any answer.
    DropAnswer,
    /// Forward; pass on this many bytes of the body, then send nothing (the connection
    /// held open) for this long, then drop it.
    Stall(u64, Duration),
    /// Forward without the request's `Range` header: the server answers `200` with the
    /// whole file, as a store without range support would.
    IgnoreRange,
}

const S3_EXPIRED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
     <Message>Request has expired</Message><Expires>2020-01-01T00:00:00Z</Expires></Error>";

/// A fault waiting for its request: the next one to `route` that names `only` (see
/// [`Seen::is`]; any, when `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Armed {
    pub route: Route,
    pub only: Option<&'static str>,
    pub fault: Fault,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub route: Route,
    /// Path and query, as asked (percent-encoded).
    pub uri: String,
    /// The display path of the file the request names by an opaque key, when the proxy
    /// had learnt it (see the module docs).
    pub display: Option<String>,
    pub at: Instant,
    pub fault: Option<Fault>,
    pub range: Option<String>,
    /// The server's status, when the request reached it.
    pub upstream: Option<u16>,
    /// Body bytes passed on to the client.
    pub bytes_out: Arc<AtomicU64>,
    /// When a [`Fault::Stall`] stopped passing bytes on.
    pub stalled_at: Arc<Mutex<Option<Instant>>>,
}

impl Seen {
    /// The request names `name`: in its path or query, or by the key of a file of a
    /// display path containing `name`.
    pub fn is(&self, name: &str) -> bool {
        names(&self.uri, self.display.as_deref(), name)
    }

    /// Body bytes passed on to the client so far.
    pub fn out(&self) -> u64 {
        self.bytes_out.load(Ordering::SeqCst)
    }
}

/// `uri`, or the display path `display` of the key it names, contains `name`.
fn names(uri: &str, display: Option<&str>, name: &str) -> bool {
    uri.contains(name) || display.is_some_and(|d| d.contains(name))
}

// ---------------------------------------------------------------------------------------
// The proxy
// ---------------------------------------------------------------------------------------

pub struct Proxy {
    /// The server, once [`Proxy::connect`]ed.
    upstream: Mutex<Option<String>>,
    /// The twin server of [`Fault::MintExpired`], when started.
    minter: Mutex<Option<String>>,
    http: reqwest::Client,
    faults: Mutex<Vec<Armed>>,
    seen: Mutex<Vec<Seen>>,
    /// Opaque key → display path, learnt from the answers passed on.
    displays: Mutex<HashMap<String, String>>,
    /// Ends every stall at once (before the server shuts down).
    stop: CancellationToken,
}

impl Proxy {
    /// A proxy on 127.0.0.1 (a free port); returns it and its base URL, which is what the
    /// client under test talks to and the server's `public_url`. It answers `502` until
    /// [`Proxy::connect`].
    pub async fn bind() -> (Arc<Proxy>, String) {
        let proxy = Arc::new(Proxy {
            upstream: Mutex::new(None),
            minter: Mutex::new(None),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            faults: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            displays: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(
                KillableListener(listener),
                app.into_make_service_with_connect_info::<Conn>(),
            )
            .await;
        });
        (proxy, base)
    }

    /// Forward to the server at `upstream` (its base URL) from now on.
    pub fn connect(&self, upstream: &str) {
        *self.upstream.lock().unwrap() = Some(upstream.to_string());
    }

    /// Queue `faults` for the next requests to `route`, one each, in order.
    pub fn arm(&self, route: Route, faults: &[Fault]) {
        let mut q = self.faults.lock().unwrap();
        q.extend(faults.iter().map(|&fault| Armed {
            route,
            only: None,
            fault,
        }));
    }

    /// Queue `fault` for the next request to `route` that names `only` (see [`Seen::is`]).
    pub fn arm_for(&self, route: Route, only: &'static str, fault: Fault) {
        self.faults.lock().unwrap().push(Armed {
            route,
            only: Some(only),
            fault,
        });
    }

    /// Where [`Fault::MintExpired`] requests go: a twin server's base URL.
    pub fn set_minter(&self, base: String) {
        *self.minter.lock().unwrap() = Some(base);
    }

    fn take(&self, route: Route, uri: &str, display: Option<&str>) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap();
        let i = q
            .iter()
            .position(|a| a.route == route && a.only.is_none_or(|s| names(uri, display, s)))?;
        Some(q.remove(i).fault)
    }

    /// The display path of the opaque key `uri` names, if one was learnt.
    fn display_in(&self, uri: &str) -> Option<String> {
        let displays = self.displays.lock().unwrap();
        displays
            .iter()
            .find(|(key, _)| uri.contains(key.as_str()))
            .map(|(_, display)| display.clone())
    }

    /// Remember the display paths of the keys an API answer tells: a listing's files, an
    /// upload's file object, an upload URL (whose opaque `PUT` URL carries the display
    /// path). Keys equal to their display path are skipped: the URI names those already.
    fn learn(&self, route: Route, body: &[u8]) {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let mut found = Vec::new();
        let mut entry = |v: &serde_json::Value| {
            let key = v.get("key").and_then(|k| k.as_str());
            let name = v.get("name").and_then(|n| n.as_str());
            if let (Some(key), Some(name)) = (key, name) {
                let path = v.get("path").and_then(|p| p.as_str()).unwrap_or("");
                found.push((key.to_string(), format!("{path}{name}")));
            }
        };
        match route {
            Route::List => json["files"]
                .as_array()
                .into_iter()
                .flatten()
                .for_each(entry),
            Route::Upload | Route::Confirm => entry(&json),
            Route::UploadUrl => {
                let key = json["fileKey"].as_str();
                let url = json["uploadUrl"]
                    .as_str()
                    .and_then(|u| reqwest::Url::parse(u).ok());
                if let (Some(key), Some(url)) = (key, url) {
                    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
                    if let Some(name) = q.get("X-Name") {
                        let path = q.get("X-Path").map(String::as_str).unwrap_or("");
                        found.push((key.to_string(), format!("{path}{name}")));
                    }
                }
            }
            _ => {}
        }
        let mut displays = self.displays.lock().unwrap();
        for (key, display) in found {
            if key != display {
                displays.insert(key, display);
            }
        }
    }

    /// The armed faults that have not fired yet.
    pub fn left(&self) -> Vec<Armed> {
        self.faults.lock().unwrap().clone()
    }

    /// The requests to `route` so far, in the order they came.
    pub fn seen(&self, route: Route) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.route == route)
            .cloned()
            .collect()
    }

    /// Every armed fault fired; then end the proxy's stalls and stop `server`.
    pub async fn finish(&self, server: RunningServer) {
        assert_eq!(self.left(), vec![], "faults that never fired");
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await;
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

/// Pass `inner` on; with a `limit`, stop after that many bytes, wait (`stall`, noting when
/// in `stalled_at`, or just long enough for the connection to flush what it has), then
/// fail, which makes hyper abort the connection mid-body.
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

async fn forward(
    State(p): State<Arc<Proxy>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    req: Request,
) -> Response {
    let uri = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let route = route_of(req.method(), req.uri().path());
    let display = p.display_in(&uri);
    let fault = p.take(route, &uri, display.as_deref());
    let bytes_out = Arc::new(AtomicU64::new(0));
    let stalled_at = Arc::new(Mutex::new(None));
    let index = {
        let mut seen = p.seen.lock().unwrap();
        seen.push(Seen {
            route,
            uri: uri.clone(),
            display,
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
        Some(Fault::Status(code, retry_after)) => {
            // Read the request first, so the client reliably gets this answer (not a reset).
            let _ = axum::body::to_bytes(body, usize::MAX).await;
            let status = StatusCode::from_u16(code).unwrap();
            let mut r = (status, "injected by the fault proxy").into_response();
            if let Some(after) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, after.parse().unwrap());
            }
            return r;
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
        _ => match p.upstream.lock().unwrap().clone() {
            Some(upstream) => upstream,
            None => return (StatusCode::BAD_GATEWAY, "proxy not connected").into_response(),
        },
    };
    let target = format!("{upstream}{uri}");
    let mut headers = end_to_end(&parts.headers);
    if let Some(Fault::IgnoreRange) = fault {
        headers.remove(header::RANGE);
    }
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
        let (limit, stall) = match fault {
            Some(Fault::CutRequest(n)) => (Some(n), None),
            Some(Fault::StallRequest(n, pause)) => (Some(n), Some(pause)),
            _ => (None, None),
        };
        let stream = cut_stream(
            body.into_data_stream(),
            limit,
            stall,
            p.stop.clone(),
            Arc::new(AtomicU64::new(0)),
            stalled_at.clone(),
        );
        up = up.body(reqwest::Body::wrap_stream(stream));
    }
    let answer = up.send().await;
    if let Ok(r) = &answer {
        p.seen.lock().unwrap()[index].upstream = Some(r.status().as_u16());
    }
    if let Some(Fault::CutRequest(_) | Fault::StallRequest(..)) = fault {
        conn.kill();
        return StatusCode::BAD_GATEWAY.into_response(); // never delivered
    }
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    // The API's answers are small JSON documents: read whole, to learn the keys they tell.
    // The byte routes stream.
    let stream = if matches!(
        route,
        Route::List | Route::Upload | Route::UploadUrl | Route::Confirm
    ) {
        let body = match answer.bytes().await {
            Ok(b) => b,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        if status.is_success() {
            p.learn(route, &body);
        }
        futures_util::stream::iter([Ok::<_, reqwest::Error>(body)]).boxed()
    } else {
        answer.bytes_stream().boxed()
    };
    if let Some(Fault::DropAnswer) = fault {
        let _ = stream.collect::<Vec<_>>().await;
        conn.kill();
        return StatusCode::BAD_GATEWAY.into_response(); // never delivered
    }
    let (limit, stall) = match fault {
        Some(Fault::CutResponse(n)) => (Some(n), None),
        Some(Fault::Stall(n, pause)) => (Some(n), Some(pause)),
        _ => (None, None),
    };
    let body = cut_stream(stream, limit, stall, p.stop.clone(), bytes_out, stalled_at);
    let mut r = Response::new(Body::from_stream(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}
