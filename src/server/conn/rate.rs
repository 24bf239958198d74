//! The minimum request-body rate: a body that keeps the server waiting without delivering
//! enough bytes per window fails, and its connection is marked cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::ServerLimits;
use super::watch::Watch;

/// The minimum body rate, as bytes required per window; `None` when it is off.
#[derive(Clone, Copy)]
pub(super) struct BodyLimit(Option<(u64, Duration)>);

impl BodyLimit {
    pub(super) fn new(limits: &ServerLimits) -> Self {
        if limits.min_body_rate == 0 {
            return BodyLimit(None);
        }
        let window = limits.body_rate_window;
        // Exact in integers, rounded up: a window of 1.5 s at 3 B/s needs 5 bytes.
        let need = u128::from(limits.min_body_rate)
            .saturating_mul(window.as_nanos())
            .div_ceil(1_000_000_000);
        let need = u64::try_from(need).unwrap_or(u64::MAX);
        BodyLimit(Some((need, window)))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
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
    pub(super) fn new(inner: Incoming, limit: BodyLimit, watch: Arc<Watch>) -> Self {
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

    #[test]
    fn the_bytes_needed_per_window_round_up() {
        let limits = |rate, window| ServerLimits {
            min_body_rate: rate,
            body_rate_window: window,
            ..ServerLimits::default()
        };
        let need = |l: &ServerLimits| BodyLimit::new(l).0.map(|(need, _)| need);
        assert_eq!(need(&limits(0, Duration::from_secs(15))), None);
        assert_eq!(need(&limits(1024, Duration::from_secs(15))), Some(15_360));
        assert_eq!(need(&limits(3, Duration::from_millis(1500))), Some(5));
        assert_eq!(need(&limits(u64::MAX, Duration::MAX)), Some(u64::MAX));
    }
}
