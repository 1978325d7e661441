//! Retrying AWS calls that fail for passing reasons (throttling, 5xx,
//! dropped connections) with capped exponential backoff and jitter, and
//! describing SDK errors in one line. Shared by the identity, account
//! configuration and DynamoDB readers and writers.
//!
//! The SDK client retries too, but only three times by default and with a
//! token bucket that runs dry in a throttled burst; large accounts throttle
//! `ListGroupMemberships` hard enough that a snapshot needs its own, longer
//! patience on top.

use std::future::Future;
use std::time::Duration;

use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use rand::Rng;

/// Error codes that mean "slow down and try again", across QuickSight and
/// DynamoDB.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// How often and how patiently a call that failed for a passing reason is
/// tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; doubles with every retry.
    pub initial_delay: Duration,
    /// Cap on a single backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            // On top of the SDK client's own attempts: enough to ride out a
            // throttled burst without multiplying into minutes of waiting.
            max_attempts: 6,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0 for the first retry):
    /// "equal jitter", half the exponential step fixed and half random, so
    /// concurrent callers spread out but none retries immediately.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self
            .initial_delay
            .saturating_mul(2u32.saturating_pow(retry.min(30)))
            .min(self.max_delay);
        let half = ceiling / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_ms)
        };
        half + Duration::from_millis(extra)
    }

    /// Runs `op` until it succeeds, fails for a reason `is_transient` does
    /// not accept, or the attempts run out; the last error is returned.
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut op: F, is_transient: impl Fn(&E) -> bool) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let attempts = self.max_attempts.max(1);
        let mut retry = 0;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(err) if retry + 1 < attempts && is_transient(&err) => {
                    let delay = self.delay(retry);
                    tracing::debug!(call = what, retry = retry + 1, ?delay, "transient failure, retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// How hard the QuickSight readers may press the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// QuickSight calls in flight at once.
    pub concurrency: usize,
    /// `max-results` of every list call (QuickSight accepts 1 to 100).
    pub page_size: i32,
    /// Retries of throttled and other transient failures.
    pub retry: RetryPolicy,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            concurrency: 8,
            page_size: 100,
            retry: RetryPolicy::default(),
        }
    }
}

impl ReadLimits {
    /// `page_size` clamped to what QuickSight accepts.
    pub(crate) fn max_results(&self) -> i32 {
        self.page_size.clamp(1, 100)
    }
}

/// True when `err` is worth another attempt: throttling, a 5xx answer, a
/// timeout or a connection that broke.
pub(crate) fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let throttled = service
                .err()
                .code()
                .is_some_and(|code| THROTTLING_CODES.contains(&code));
            throttled || status == 429 || status >= 500
        }
        _ => false,
    }
}

/// The service's error code, when the service answered with one.
pub(crate) fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// One line saying what went wrong: `Code: message` for a service answer,
/// the whole cause chain otherwise (the SDK's own `Display` says only
/// "service error").
pub(crate) fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => format!("HTTP {}: {}", service.raw().status().as_u16(), DisplayErrorContext(err)),
            }
        }
        _ => DisplayErrorContext(err).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for retry in 0..20 {
            let delay = policy.delay(retry);
            let ceiling = (100u64 << retry.min(20)).min(1000);
            assert!(delay.as_millis() as u64 >= ceiling / 2, "retry {retry}: {delay:?}");
            assert!(delay.as_millis() as u64 <= ceiling, "retry {retry}: {delay:?}");
        }
    }

    #[tokio::test]
    async fn run_stops_at_max_attempts_and_on_permanent_errors() {
        let policy = RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run(
                "t",
                || {
                    calls += 1;
                    async { Err("busy") }
                },
                |_| true,
            )
            .await;
        assert_eq!(result, Err("busy"));
        assert_eq!(calls, 3);

        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run(
                "t",
                || {
                    calls += 1;
                    async { Err("denied") }
                },
                |_| false,
            )
            .await;
        assert_eq!(result, Err("denied"));
        assert_eq!(calls, 1);

        let mut calls = 0;
        let result = policy
            .run(
                "t",
                || {
                    calls += 1;
                    let n = calls;
                    async move {
                        if n < 3 {
                            Err("busy")
                        } else {
                            Ok(n)
                        }
                    }
                },
                |_| true,
            )
            .await;
        assert_eq!(result, Ok(3));
    }
}
