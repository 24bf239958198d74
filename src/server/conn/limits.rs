//! The knobs of connection handling ([`ServerLimits`]) and the connection cap derived from
//! the open-file limit.

use std::time::Duration;

use crate::server::ServerError;

/// The longest header timeout allowed.
pub const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// File descriptors kept back from the connection cap for blobs, temp files and SQLite.
const FD_RESERVE: u64 = 128;

/// The smallest derived connection cap.
const MIN_CONNECTIONS: u64 = 16;

/// The largest derived connection cap.
const MAX_DERIVED_CONNECTIONS: u64 = 4096;

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

pub(super) fn connection_cap(limits: &ServerLimits) -> usize {
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
