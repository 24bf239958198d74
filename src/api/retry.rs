//! Exponential backoff with full jitter, honouring `Retry-After`.

use std::future::Future;
use std::time::Duration;

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
        let millis = exp.as_millis().min(u128::from(u64::MAX)) as u64;
        // Full jitter. Without randomness (never on Linux) the cap is a safe, if less
        // polite, pause.
        let r = getrandom::u64().unwrap_or(u64::MAX);
        Duration::from_millis(r % millis.saturating_add(1))
    }

    /// Run `op` until it succeeds, fails for good, or attempts run out.
    /// `op` gets the 0-based attempt number.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, ApiError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempt = 0;
        loop {
            match op(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() && attempt + 1 < self.max_attempts => {
                    let pause = self.delay(attempt, &e);
                    tracing::warn!(what, attempt, ?pause, error = %e, "retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
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
