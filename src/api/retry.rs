//! When and how patiently a failed request is repeated: exponential backoff with full
//! jitter, `Retry-After` honoured, and the one retry loop every route and transfer runs.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Progress;
use super::error::ApiError;

/// How often and how patiently a request is repeated after a transient failure.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a server asking for more gets this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (0-based `attempt` just failed):
    /// uniformly random in [0, min(cap, base·2^attempt)], or the server's `Retry-After`.
    pub fn delay(&self, attempt: u32, err: &ApiError) -> Duration {
        if let ApiError::Server {
            retry_after: Some(after),
            ..
        } = err
        {
            return (*after).min(self.max_retry_after);
        }
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
            .min(self.cap);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        // Full jitter. Without randomness (never on Linux) the cap is a safe, if less
        // polite, pause.
        let r = getrandom::u64().unwrap_or(u64::MAX);
        Duration::from_millis(r % millis.saturating_add(1))
    }

    /// Whether the 0-based `attempt` that failed with `err` is followed by another.
    fn will_retry(&self, attempt: u32, err: &ApiError) -> bool {
        err.is_transient() && attempt.saturating_add(1) < self.max_attempts
    }

    /// Run `op` until it succeeds, fails for good, or attempts run out.
    /// `op` gets the 0-based attempt number.
    pub async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, ApiError>
    where
        T: Send,
        F: FnMut(u32) -> Fut + Send,
        Fut: Future<Output = Result<T, ApiError>> + Send,
    {
        // Nobody cancels a small route's retries, and nobody watches their count.
        let (never, unwatched) = (CancellationToken::new(), Progress::new());
        self.run_attempts(what, &unwatched, &never, &mut Plain(op))
            .await
    }

    /// The retry loop of every route and transfer: `job`'s attempts until one is done or
    /// fails for good, paced by [`Retries::after`].
    pub(crate) async fn run_attempts<J: Attempts>(
        &self,
        what: &str,
        progress: &Progress,
        cancel: &CancellationToken,
        job: &mut J,
    ) -> Result<J::Output, ApiError> {
        let mut retries = self.retries(what, progress, cancel);
        loop {
            match job.attempt(&retries).await? {
                Step::Done(v) => return Ok(v),
                Step::Again => {}
                Step::Failed(e) => retries.after(e).await?,
            }
        }
    }

    /// The retries of one request or transfer, counted in `progress`, their pauses cut
    /// short by `cancel`.
    fn retries<'a>(
        &'a self,
        what: &'a str,
        progress: &'a Progress,
        cancel: &'a CancellationToken,
    ) -> Retries<'a> {
        Retries {
            policy: self,
            what,
            progress,
            cancel,
            attempt: 0,
        }
    }
}

/// What one attempt came to. An `Err` from the attempt itself ends the run at once.
pub(crate) enum Step<T> {
    Done(T),
    /// Go again at once, not counted as a retry (a refreshed URL, a start from zero).
    Again,
    /// Repeated after a pause when transient and attempts are left, else returned.
    Failed(ApiError),
}

/// Work that [`RetryPolicy::run_attempts`] repeats. A trait rather than an async closure:
/// the `Send` of its future is stated here, where a generic async closure's cannot be
/// on stable Rust, and transfers run on spawned tasks.
pub(crate) trait Attempts: Send {
    type Output: Send;
    /// One attempt; `retries` tells its number and whether a failure would be repeated.
    fn attempt(
        &mut self,
        retries: &Retries<'_>,
    ) -> impl Future<Output = Result<Step<Self::Output>, ApiError>> + Send;
}

/// A small route's request: any failure is a [`Step::Failed`].
struct Plain<F>(F);

impl<T, F, Fut> Attempts for Plain<F>
where
    T: Send,
    F: FnMut(u32) -> Fut + Send,
    Fut: Future<Output = Result<T, ApiError>> + Send,
{
    type Output = T;
    fn attempt(
        &mut self,
        retries: &Retries<'_>,
    ) -> impl Future<Output = Result<Step<T>, ApiError>> + Send {
        let fut = (self.0)(retries.attempt());
        async move {
            Ok(match fut.await {
                Ok(v) => Step::Done(v),
                Err(e) => Step::Failed(e),
            })
        }
    }
}

/// Where [`RetryPolicy::run_attempts`] stands: attempts counted (and shown in `progress`)
/// and paced, pauses cut short by `cancel`.
pub(crate) struct Retries<'a> {
    policy: &'a RetryPolicy,
    what: &'a str,
    progress: &'a Progress,
    cancel: &'a CancellationToken,
    attempt: u32,
}

impl Retries<'_> {
    /// The 0-based number of the attempt under way.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether a failure `err` of this attempt is followed by another.
    pub(crate) fn will_retry(&self, err: &ApiError) -> bool {
        self.policy.will_retry(self.attempt, err)
    }

    /// After the attempt failed with `err`: `Ok` once the pause before the next one is
    /// over; `Err(err)` when there is none, `Err(Cancelled)` when cancelled meanwhile.
    async fn after(&mut self, err: ApiError) -> Result<(), ApiError> {
        if !self.will_retry(&err) {
            return Err(err);
        }
        let (what, attempt) = (self.what, self.attempt);
        let pause = self.policy.delay(attempt, &err);
        tracing::warn!(what, attempt, ?pause, error = %err, "retrying");
        sleep_or_cancel(pause, self.cancel).await?;
        self.attempt += 1;
        self.progress.set_retry(self.attempt);
        Ok(())
    }
}

/// Sleep for `pause`, or less if `cancel` fires first.
async fn sleep_or_cancel(pause: Duration, cancel: &CancellationToken) -> Result<(), ApiError> {
    tokio::select! {
        () = tokio::time::sleep(pause) => Ok(()),
        () = cancel.cancelled() => Err(ApiError::Cancelled),
    }
}

/// Parse `Retry-After`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let e = ApiError::Network("x".into());
        for attempt in 0..40 {
            assert!(p.delay(attempt, &e) <= p.cap);
        }
        let e = ApiError::Server {
            status: 503,
            message: String::new(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(p.delay(0, &e), Duration::from_secs(3));
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
