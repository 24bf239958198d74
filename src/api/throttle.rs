//! The bandwidth cap: one token bucket per [`Client`](super::Client), shared by every
//! upload and download it runs, so `--limit-rate` caps their total.
//!
//! Hand-written on `tokio::time` rather than `governor`: forty lines, async, runs under
//! tokio's paused test clock, and pulls no new dependency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket of `rate` bytes/s holding at most `burst` bytes.
#[derive(Debug)]
pub(super) struct Limiter {
    rate: u64,
    burst: u64,
    /// tokio's Mutex queues its waiters in order: takers are served first come, first
    /// served, so concurrent transfers share the cap fairly.
    bucket: Mutex<Bucket>,
    granted: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    tokens: u64,
    at: Instant,
}

impl Limiter {
    /// The burst is a tenth of a second of the rate, at most 256 KiB (one read chunk):
    /// small enough that the average holds over a second, large enough that a fast cap
    /// is not woken for every packet.
    pub(super) fn new(rate: u64) -> Self {
        let rate = rate.max(1);
        let burst = (rate / 10).clamp(1, 256 * 1024);
        Limiter {
            rate,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
            granted: AtomicU64::new(0),
        }
    }

    #[cfg(test)]
    pub(super) fn burst(&self) -> u64 {
        self.burst
    }

    /// Bytes granted so far, to every taker together.
    #[cfg(test)]
    pub(super) fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Wait until `n` bytes may move. Cancel-safe: dropped while waiting, it takes
    /// nothing for the piece it was waiting on.
    pub(super) async fn take(&self, n: u64) {
        let mut left = n;
        while left > 0 {
            let piece = left.min(self.burst);
            let mut b = self.bucket.lock().await;
            self.refill(&mut b);
            if b.tokens < piece {
                let missing = piece - b.tokens;
                let wait = Duration::from_nanos(
                    u64::try_from(u128::from(missing) * 1_000_000_000 / u128::from(self.rate))
                        .unwrap_or(u64::MAX),
                );
                tokio::time::sleep(wait).await;
                self.refill(&mut b);
            }
            b.tokens = b.tokens.saturating_sub(piece);
            drop(b);
            self.granted.fetch_add(piece, Ordering::Relaxed);
            left -= piece;
        }
    }

    fn refill(&self, b: &mut Bucket) {
        let now = Instant::now();
        let nanos = now.saturating_duration_since(b.at).as_nanos();
        let earned = nanos * u128::from(self.rate) / 1_000_000_000;
        if earned == 0 {
            return;
        }
        let earned = u64::try_from(earned).unwrap_or(u64::MAX);
        b.tokens = b.tokens.saturating_add(earned).min(self.burst);
        // Advance by exactly what was paid for, so rounding never mints tokens.
        let paid = u128::from(earned) * 1_000_000_000 / u128::from(self.rate);
        b.at += Duration::from_nanos(u64::try_from(paid).unwrap_or(u64::MAX));
        if b.tokens == self.burst {
            b.at = now;
        }
    }
}

/// A server answers `408` to a request body that comes too slowly: under a cap, the cap is
/// the likely cause, and the message says so (a cap below the server's minimum body rate
/// can never upload).
pub(super) fn explain(e: super::ApiError, cap: Option<u64>) -> super::ApiError {
    match (e, cap) {
        (
            super::ApiError::Server {
                status: 408,
                message,
                retry_after,
            },
            Some(cap),
        ) => super::ApiError::Server {
            status: 408,
            message: format!(
                "{message} (the transfer rate is capped at {cap} bytes/s by --limit-rate; \
                 this server may refuse a body that slow: raise the cap)"
            ),
            retry_after,
        },
        (e, _) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_408_under_a_cap_names_the_cap() {
        let e = || super::super::ApiError::Server {
            status: 408,
            message: "the request body came too slowly".into(),
            retry_after: None,
        };
        let text = explain(e(), Some(100)).to_string();
        assert!(text.contains("capped at 100 bytes/s"), "{text}");
        assert!(!explain(e(), None).to_string().contains("capped"));
    }
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn never_grants_more_than_rate_times_elapsed_plus_burst() {
        let rate = 1_000_000;
        let lim = Arc::new(Limiter::new(rate));
        let start = Instant::now();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for t in 0..4u64 {
            let lim = lim.clone();
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    lim.take(64 * 1024 + t).await;
                    log.lock().unwrap().push((t, lim.granted(), Instant::now()));
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 80);
        let mut last = 0;
        for &(_, granted, at) in log.iter() {
            assert!(granted >= last, "grants in order");
            last = granted;
            let elapsed = at.duration_since(start).as_nanos();
            let cap = elapsed * u128::from(rate) / 1_000_000_000 + u128::from(lim.burst());
            assert!(u128::from(granted) <= cap, "{granted} > {cap}");
        }
        let total: u64 = (0..4u64).map(|t| 20 * (64 * 1024 + t)).sum();
        assert_eq!(lim.granted(), total);
        // Every taker was served while the others still waited: none ran alone at the end.
        let firsts: Vec<u64> = log.iter().take(8).map(|e| e.0).collect();
        for t in 0..4u64 {
            assert!(firsts.contains(&t), "taker {t} served early: {firsts:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_take_leaves_the_bucket_usable() {
        let lim = Limiter::new(1000);
        lim.take(100).await;
        let cancelled = tokio::time::timeout(Duration::from_millis(1), lim.take(10_000)).await;
        assert!(cancelled.is_err());
        lim.take(100).await;
        assert!(lim.granted() >= 200);
    }
}
