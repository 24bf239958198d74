//! The accept loop and the life of each connection: header and idle timeouts, a minimum
//! request-body rate, a send stall limit, a cap on open connections (shedding idle and
//! slow-head connections when it is reached) and a bounded graceful shutdown.
//!
//! hyper's own `header_read_timeout` is not used: in hyper 1.x its timer starts whenever the
//! connection waits for a request head, idle keep-alive included, so it would close a pooled
//! connection after the header timeout instead of the idle timeout. Each connection here is
//! watched instead: its reads tell when a request head has begun, its service when a request
//! is in flight (from the head until the response body is dropped).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use super::ServerError;

/// The longest header timeout allowed.
pub const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// File descriptors kept back from the connection cap for blobs, temp files and SQLite.
const FD_RESERVE: u64 = 128;

/// The smallest derived connection cap.
const MIN_CONNECTIONS: u64 = 16;

/// The largest derived connection cap.
const MAX_DERIVED_CONNECTIONS: u64 = 4096;

/// Under pressure, a connection quiet this long (an unfinished request head, a silent new
/// connection, an idle keep-alive) is shed; younger ones are most likely honest clients.
const SHED_QUIET_AFTER: Duration = Duration::from_secs(1);

/// Under pressure, a response whose client has taken nothing for this long is shed.
const SHED_STALLED_AFTER: Duration = Duration::from_secs(2);

/// While at the cap, how often connections are asked again to shed, so that ones turning
/// idle or slow meanwhile go too.
const SHED_EVERY: Duration = Duration::from_millis(250);

/// Bytes hyper may buffer per connection, read side (a request head must fit) and write
/// side; its default of ~400 KiB lets a slow huge head pin that much per connection.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// How the server treats slow, idle and too many connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// A request head (on a new connection, or once a keep-alive connection has sent the
    /// first byte of its next request) must be complete within this; at most 30 s.
    pub header_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long. It is
    /// longer than common client pools keep idle connections (reqwest: 90 s), so a client
    /// is not handed a connection the server is closing.
    pub idle_timeout: Duration,
    /// A request body delivering fewer than `min_body_rate × body_rate_window` bytes in a
    /// window of `body_rate_window` (counting only time spent waiting on the client) is cut:
    /// the handler sees a body error, the client a 408 and the connection is closed. 0 turns
    /// this off.
    pub min_body_rate: u64,
    pub body_rate_window: Duration,
    /// Open connections at most; `None` derives it from the open-file limit.
    pub max_connections: Option<usize>,
    /// On shutdown, how long running requests may take before their connections are closed.
    pub shutdown_grace: Duration,
    /// A connection whose writes have been blocked this long with the client taking none
    /// of the bytes already queued is closed, even with a request in flight: a client that
    /// stops reading a download would otherwise hold its socket, blob file and buffers
    /// forever. A slow reader still taking bytes is not cut.
    pub send_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(120),
            min_body_rate: 1024,
            body_rate_window: Duration::from_secs(15),
            max_connections: None,
            shutdown_grace: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerLimits {
    pub(crate) fn check(&self) -> Result<(), ServerError> {
        let bad = |m: &str| Err(ServerError::InvalidRequest(format!("server limits: {m}")));
        if self.header_timeout.is_zero() || self.header_timeout > MAX_HEADER_TIMEOUT {
            return bad("the header timeout must be between 1 and 30 seconds");
        }
        if self.idle_timeout.is_zero() {
            return bad("the idle timeout must be positive");
        }
        if self.min_body_rate > 0 && self.body_rate_window.is_zero() {
            return bad("the body rate window must be positive");
        }
        if self.send_timeout.is_zero() {
            return bad("the send timeout must be positive");
        }
        if self.max_connections == Some(0) {
            return bad("the connection cap must be positive");
        }
        Ok(())
    }
}

/// Raise the soft open-file limit to the hard one and answer the soft limit now in force.
fn raise_nofile_limit() -> Option<u64> {
    let lim = crate::sys::raise_open_file_limit();
    if let Some(e) = &lim.error {
        tracing::warn!(error = %e, soft = lim.before, hard = lim.hard, "cannot raise the open-file limit");
    }
    tracing::info!(
        before = lim.before,
        soft = lim.soft,
        hard = lim.hard,
        "open-file limit"
    );
    lim.soft
}

fn connection_cap(limits: &ServerLimits) -> usize {
    let soft = raise_nofile_limit();
    if let Some(n) = limits.max_connections {
        return n;
    }
    // An unlimited (or unreadable) limit still gets a finite cap. A download or upload holds
    // two descriptors (its socket and a blob or temp file), so only half of what is left
    // after the reserve goes to connections; beyond 4096 more connections buy no throughput
    // and only more memory held by slow clients.
    let soft = soft.unwrap_or(u64::MAX).min(1 << 20);
    let cap = (soft.saturating_sub(FD_RESERVE) / 2).clamp(MIN_CONNECTIONS, MAX_DERIVED_CONNECTIONS);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Accept and serve connections until `shutdown` completes, then stop accepting, let running
/// requests finish for at most `limits.shutdown_grace` and close what is left.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let cap = connection_cap(&limits);
    tracing::info!(max_connections = cap, "serving");
    let permits = Arc::new(Semaphore::new(cap));
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (shed_tx, shed_rx) = watch::channel(0u64);
    let mut conns = JoinSet::new();
    let mut capped = false;
    let mut accept_failing = false;
    tokio::pin!(shutdown);
    'accept: loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !capped {
                    tracing::warn!(
                        max_connections = cap,
                        "connection cap reached; shedding idle, slow-head and unread connections"
                    );
                    capped = true;
                }
                let mut shed = tokio::time::interval(SHED_EVERY);
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break 'accept,
                        _ = shed.tick() => shed_tx.send_modify(|n| *n = n.wrapping_add(1)),
                        permit = permits.clone().acquire_owned() => match permit {
                            Ok(permit) => break permit,
                            Err(_) => break 'accept,
                        },
                        Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    }
                }
            }
        };
        if capped {
            tracing::info!("below the connection cap again");
            capped = false;
        }
        tokio::select! {
            _ = &mut shutdown => break,
            // Reap finished connections so the set does not grow; the permit is taken again.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if accept_failing {
                        tracing::info!("accepting again");
                        accept_failing = false;
                    }
                    conns.spawn(serve_connection(
                        stream,
                        router.clone(),
                        limits.clone(),
                        Signals { stop: stop_rx.clone(), shed: shed_rx.clone() },
                        permit,
                    ));
                }
                Err(e) => {
                    // Out of descriptors or memory: retrying at once would spin, and
                    // warning on every retry would flood the log.
                    if !accept_failing {
                        tracing::warn!(error = %e, "accept failing; retrying every 100 ms");
                        accept_failing = true;
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = conns.len(),
            "shutdown grace over; closing the connections left"
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// What a connection's watchdog needs to know, updated by its reads, service and bodies.
struct Watch {
    state: Mutex<Activity>,
    changed: Notify,
}

struct Activity {
    accepted: Instant,
    /// Requests from their head until their response body is dropped.
    in_flight: usize,
    served: bool,
    idle_since: Instant,
    /// When the first byte of a request head came, while no request was in flight.
    head_started: Option<Instant>,
    /// When a request body was found too slow: its answer becomes a 408 with
    /// `Connection: close`, and the connection is closed at the latest a header timeout later.
    cut: Option<Instant>,
    /// Since when writes have been blocked, with the send queue length then (when known):
    /// bytes the client has yet to take.
    write_blocked: Option<(Instant, Option<usize>)>,
}

impl Watch {
    fn new() -> Self {
        let now = Instant::now();
        Watch {
            state: Mutex::new(Activity {
                accepted: now,
                in_flight: 0,
                served: false,
                idle_since: now,
                head_started: None,
                cut: None,
                write_blocked: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Activity> {
        // The state is plain data, consistent after any panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bytes_read(&self) {
        let mut a = self.lock();
        if a.in_flight == 0 && a.head_started.is_none() {
            // A new connection's first head is timed from the accept: bytes trickled in
            // late must not buy it a fresh header timeout.
            a.head_started = Some(if a.served { Instant::now() } else { a.accepted });
            drop(a);
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        let mut a = self.lock();
        a.in_flight += 1;
        a.served = true;
        a.head_started = None;
        drop(a);
        self.changed.notify_one();
    }

    fn request_ended(&self) {
        let mut a = self.lock();
        a.in_flight = a.in_flight.saturating_sub(1);
        a.idle_since = Instant::now();
        drop(a);
        self.changed.notify_one();
    }

    fn write_blocked(&self, queued: impl FnOnce() -> Option<usize>) {
        let mut a = self.lock();
        if a.write_blocked.is_none() {
            a.write_blocked = Some((Instant::now(), queued()));
            drop(a);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.lock().write_blocked = None;
    }

    /// At the send deadline: whether the client took bytes from the send queue since the
    /// stall began, in which case the stall starts over from now.
    fn send_progressed(&self, queued: Option<usize>) -> bool {
        let mut a = self.lock();
        match (a.write_blocked, queued) {
            (Some((_, Some(before))), Some(now)) if now < before => {
                a.write_blocked = Some((Instant::now(), Some(now)));
                true
            }
            _ => false,
        }
    }

    /// Whether, under pressure, the connection may be closed: a response the client has not
    /// taken anything of for a while (its slot goes to someone who reads; a download resumes
    /// by Range), or no request in flight and idle or with a head (or nothing at all)
    /// unfinished for a while. `queued` reads the socket's send queue.
    fn sheddable(&self, queued: impl FnOnce() -> Option<usize>) -> bool {
        let a = self.lock();
        if a.cut.is_some() {
            return false;
        }
        if let Some((since, _)) = a.write_blocked {
            let stalled = since.elapsed() >= SHED_STALLED_AFTER;
            drop(a);
            return stalled && !self.send_progressed(queued());
        }
        if a.in_flight > 0 {
            return false;
        }
        // Only connections quiet for a while: one that just answered is likely to carry its
        // client's next request in a moment.
        let quiet_since = match a.head_started {
            Some(t) => t,
            None if !a.served => a.accepted,
            None => a.idle_since,
        };
        quiet_since.elapsed() >= SHED_QUIET_AFTER
    }

    fn cut(&self) {
        self.lock().cut.get_or_insert_with(Instant::now);
        self.changed.notify_one();
    }

    fn is_cut(&self) -> bool {
        self.lock().cut.is_some()
    }

    /// When the connection is to be closed if nothing changes; `None`: not while a request
    /// is in flight.
    fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
        let a = self.lock();
        let send = a.write_blocked.map(|(t, _)| t + limits.send_timeout);
        let other = if let Some(t) = a.cut {
            Some(t + limits.header_timeout)
        } else if a.in_flight > 0 {
            None
        } else {
            Some(match a.head_started {
                Some(t) => t + limits.header_timeout,
                None if !a.served => a.accepted + limits.header_timeout,
                None => a.idle_since + limits.idle_timeout,
            })
        };
        match (send, other) {
            (Some(s), Some(o)) => Some(s.min(o)),
            (s, o) => s.or(o),
        }
    }
}

/// What the accept loop tells every connection.
struct Signals {
    /// Set on shutdown.
    stop: watch::Receiver<bool>,
    /// Bumped while the server is at its connection cap.
    shed: watch::Receiver<u64>,
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: Arc<ServerLimits>,
    signals: Signals,
    _permit: OwnedSemaphorePermit,
) {
    let Signals { mut stop, mut shed } = signals;
    let watch = Arc::new(Watch::new());
    let fd = stream.as_raw_fd();
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        watch: watch.clone(),
    });
    let service = ConnService {
        router: TowerToHyperService::new(router),
        watch: watch.clone(),
        body_limit: BodyLimit::new(&limits),
    };
    let conn = http1::Builder::new()
        .max_buf_size(MAX_BUF_SIZE)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = *stop.borrow();
    let mut shed_open = true;
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = watch.deadline(&limits);
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = watch.changed.notified() => {}
            _ = sleep_until(deadline) => {
                if watch.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    // The socket is open: `conn` owns it.
                    let queued = crate::sys::send_queue(fd);
                    if watch.send_progressed(queued) {
                        continue;
                    }
                    tracing::debug!("closing a slow or idle connection");
                    return;
                }
            }
            changed = shed.changed(), if shed_open => match changed {
                Ok(()) if watch.sheddable(|| crate::sys::send_queue(fd)) => {
                    tracing::debug!("at the connection cap; closing an idle, slow-head or unread connection");
                    return;
                }
                Ok(()) => {}
                // The accept loop is gone; a closed channel would wake this loop at once.
                Err(_) => shed_open = false,
            },
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The socket, telling the watchdog when bytes arrive.
struct WatchedIo {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.bytes_read();
        }
        polled
    }
}

impl WatchedIo {
    fn note_write(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Pending => self
                .watch
                .write_blocked(|| crate::sys::send_queue(self.inner.as_raw_fd())),
            Poll::Ready(Ok(n)) if *n > 0 => self.watch.wrote(),
            Poll::Ready(_) => {}
        }
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note_write(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The minimum body rate, as bytes required per window; `None` when it is off.
#[derive(Clone, Copy)]
struct BodyLimit(Option<(u64, Duration)>);

impl BodyLimit {
    fn new(limits: &ServerLimits) -> Self {
        if limits.min_body_rate == 0 {
            return BodyLimit(None);
        }
        let window = limits.body_rate_window;
        let need = (limits.min_body_rate as f64 * window.as_secs_f64()).ceil() as u64;
        BodyLimit(Some((need, window)))
    }
}

#[derive(Clone)]
struct ConnService {
    router: TowerToHyperService<Router>,
    watch: Arc<Watch>,
    body_limit: BodyLimit,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.watch.request_started();
        let guard = InFlight(self.watch.clone());
        let watch = self.watch.clone();
        let limit = self.body_limit;
        let req = req.map(|body| RateLimited::new(body, limit, watch));
        let answer = self.router.call(req);
        let watch = self.watch.clone();
        Box::pin(async move {
            let mut response = answer.await?;
            if watch.is_cut() {
                response = too_slow();
            }
            Ok(response.map(|inner| TrackedBody {
                inner,
                _in_flight: guard,
            }))
        })
    }
}

/// The answer to a request whose body came too slowly, whatever its handler made of the
/// body error.
fn too_slow() -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(
        r#"{"error":{"code":"request_timeout","message":"the request body came too slowly"}}"#,
    ));
    *response.status_mut() = hyper::StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    response
}

/// Held from a request's head until its response body is dropped (or the request is
/// abandoned).
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body keeping its request in flight.
pub(crate) struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails when the client sends too slowly. Only time spent waiting on
/// the client counts, so a handler slow to read (fsync, hashing) never gets its client cut.
pub(crate) struct RateLimited {
    inner: Incoming,
    limit: BodyLimit,
    watch: Arc<Watch>,
    received: u64,
    waited: Duration,
    pending_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl RateLimited {
    fn new(inner: Incoming, limit: BodyLimit, watch: Arc<Watch>) -> Self {
        RateLimited {
            inner,
            limit,
            watch,
            received: 0,
            waited: Duration::ZERO,
            pending_since: None,
            timer: None,
            done: false,
        }
    }
}

impl Body for RateLimited {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(since) = this.pending_since.take() {
            this.waited += since.elapsed();
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let Some((need, window)) = this.limit.0 else {
            return polled.map_err(BoxError::from);
        };
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                if this.waited >= window && this.received >= need {
                    this.received = 0;
                    this.waited = Duration::ZERO;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.done = true;
                this.timer = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => {
                if this.done {
                    return Poll::Pending;
                }
                if this.waited >= window {
                    if this.received < need {
                        this.watch.cut();
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "request body slower than the minimum rate",
                        )
                        .into())));
                    }
                    this.received = 0;
                    this.waited = Duration::ZERO;
                }
                let now = Instant::now();
                this.pending_since = Some(now);
                let wake_at = now + (window - this.waited);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(wake_at)));
                timer.as_mut().reset(wake_at);
                if timer.as_mut().poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_first_head_is_timed_from_the_accept_however_late_its_first_byte() {
        let limits = ServerLimits::default();
        let watch = Watch::new();
        let accepted = Instant::now();
        tokio::time::advance(limits.header_timeout / 2).await;
        watch.bytes_read();
        assert_eq!(
            watch.deadline(&limits),
            Some(accepted + limits.header_timeout)
        );
        // A kept-alive connection's next head is timed from its own first byte.
        watch.request_started();
        watch.request_ended();
        tokio::time::advance(Duration::from_secs(3)).await;
        let next = Instant::now();
        watch.bytes_read();
        assert_eq!(watch.deadline(&limits), Some(next + limits.header_timeout));
    }
}
