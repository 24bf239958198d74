//! The accept loop and the life of each connection: header and idle timeouts, a minimum
//! request-body rate, a send stall limit, a cap on open connections (shedding idle and
//! slow-head connections when it is reached) and a bounded graceful shutdown.
//!
//! hyper's own `header_read_timeout` is not used: in hyper 1.x its timer starts whenever the
//! connection waits for a request head, idle keep-alive included, so it would close a pooled
//! connection after the header timeout instead of the idle timeout. Each connection here is
//! watched instead: its reads tell when a request head has begun, its service when a request
//! is in flight (from the head until the response body is dropped).
//!
//! Rooms: [`limits`] (the knobs and the connection cap), [`watch`] (each connection's
//! activity and deadlines), [`io`] (the socket, reporting to the watch), [`service`] (requests
//! in flight and their responses), [`rate`] (the minimum request-body rate).

mod io;
mod limits;
mod rate;
mod service;
mod watch;

use std::future::Future;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch as channel};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::ServerError;
use io::WatchedIo;
use limits::connection_cap;
pub use limits::{MAX_HEADER_TIMEOUT, ServerLimits};
use rate::BodyLimit;
use service::ConnService;
use watch::Watch;

/// While at the cap, how often connections are asked again to shed, so that ones turning
/// idle or slow meanwhile go too.
const SHED_EVERY: Duration = Duration::from_millis(250);

/// Bytes hyper may buffer per connection, read side (a request head must fit) and write
/// side; its default of ~400 KiB lets a slow huge head pin that much per connection.
const MAX_BUF_SIZE: usize = 64 * 1024;

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
    let (stop_tx, stop_rx) = channel::channel(false);
    let (shed_tx, shed_rx) = channel::channel(0u64);
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

/// What the accept loop tells every connection.
struct Signals {
    /// Set on shutdown.
    stop: channel::Receiver<bool>,
    /// Bumped while the server is at its connection cap.
    shed: channel::Receiver<u64>,
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
