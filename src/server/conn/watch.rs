//! A connection's activity (accepted, requests in flight, head begun, writes blocked, body
//! cut) and what follows from it: when to close it, and whether it may be shed.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ServerLimits;

/// Under pressure, a connection quiet this long (an unfinished request head, a silent new
/// connection, an idle keep-alive) is shed; younger ones are most likely honest clients.
const SHED_QUIET_AFTER: Duration = Duration::from_secs(1);

/// Under pressure, a response whose client has taken nothing for this long is shed.
const SHED_STALLED_AFTER: Duration = Duration::from_secs(2);

/// What a connection's watchdog needs to know, updated by its reads, service and bodies.
pub(super) struct Watch {
    state: Mutex<Activity>,
    pub(super) changed: Notify,
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
    pub(super) fn new() -> Self {
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

    pub(super) fn bytes_read(&self) {
        let mut a = self.lock();
        if a.in_flight == 0 && a.head_started.is_none() {
            // A new connection's first head is timed from the accept: bytes trickled in
            // late must not buy it a fresh header timeout.
            a.head_started = Some(if a.served { Instant::now() } else { a.accepted });
            drop(a);
            self.changed.notify_one();
        }
    }

    pub(super) fn request_started(&self) {
        let mut a = self.lock();
        a.in_flight += 1;
        a.served = true;
        a.head_started = None;
        drop(a);
        self.changed.notify_one();
    }

    pub(super) fn request_ended(&self) {
        let mut a = self.lock();
        a.in_flight = a.in_flight.saturating_sub(1);
        a.idle_since = Instant::now();
        drop(a);
        self.changed.notify_one();
    }

    pub(super) fn write_blocked(&self, queued: impl FnOnce() -> Option<usize>) {
        let mut a = self.lock();
        if a.write_blocked.is_none() {
            a.write_blocked = Some((Instant::now(), queued()));
            drop(a);
            self.changed.notify_one();
        }
    }

    pub(super) fn wrote(&self) {
        self.lock().write_blocked = None;
    }

    /// At the send deadline: whether the client took bytes from the send queue since the
    /// stall began, in which case the stall starts over from now.
    pub(super) fn send_progressed(&self, queued: Option<usize>) -> bool {
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
    pub(super) fn sheddable(&self, queued: impl FnOnce() -> Option<usize>) -> bool {
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

    pub(super) fn cut(&self) {
        self.lock().cut.get_or_insert_with(Instant::now);
        self.changed.notify_one();
    }

    pub(super) fn is_cut(&self) -> bool {
        self.lock().cut.is_some()
    }

    /// When the connection is to be closed if nothing changes; `None`: not while a request
    /// is in flight.
    pub(super) fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
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
