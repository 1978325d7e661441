//! The one retry policy of qsbackup: which failures of AWS calls and bundle downloads are worth
//! another attempt, the backoff between attempts (backon's exponential backoff with one jitter
//! scheme), the caps (attempts, total time, an optional deadline), and one
//! [`Event::Retrying`] per retry.
//!
//! # Layered on the SDK's retries, never multiplied by them
//!
//! Each call is retried by exactly one of the two layers:
//!
//! - **The SDK** retries every call qsbackup does not wrap here (listing, describing, polling
//!   jobs, ...): throttling, 5xx, timeouts and broken connections, in standard mode with the
//!   caps of [`RetryPolicy`] ([`RetryPolicy::sdk`], set in [`crate::aws`] together with the
//!   attempt and call time limits).
//! - **This layer** owns every retry of the calls it wraps, and the SDK makes one attempt of
//!   them ([`single_attempt`] / [`quicksight_single_attempt`], [`dynamodb_single_attempt`]):
//!   - starting asset bundle export and import jobs: `LimitExceededException` there means the
//!     account is at its concurrent job limit, a wait for a job slot measured in minutes and
//!     bounded by the job's deadline. The SDK counts that code as throttling and would retry it
//!     with its own short backoff on top of ours.
//!   - the identity, account configuration and DynamoDB readers and writers: they take a client
//!     from the embedder (with whatever retry settings it has) and hold a concurrency permit
//!     for one attempt only, never across a backoff; the SDK's retries would hold it across
//!     theirs.
//! - **Only this layer** exists for what the SDK cannot retry: bundle downloads (plain HTTP),
//!   where a dropped or short download is tried again and an expired URL is renewed by
//!   describing the job again.
//!
//! # Backoff
//!
//! Retry `n` (0 for the first) waits a random time between half and all of
//! `initial_delay × 2ⁿ`, capped at `max_delay` ("equal jitter": concurrent callers spread out,
//! none retries at once). A retry is given up when the attempts run out, when its wait would
//! end after `max_elapsed` from the first attempt, or after the deadline of [`Retry::until`].

use crate::events::{Event, ProgressSink};
use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::retry::RetryConfig;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Error codes that mean "slow down and try again", across QuickSight and DynamoDB.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// How often and how patiently a failed call is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; doubles with every retry.
    pub initial_delay: Duration,
    /// Cap on a single backoff.
    pub max_delay: Duration,
    /// No retry is started whose wait would end later than this after the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            // Enough to ride out a throttled burst (30% throttling fails a call 12 times in a
            // row once in two million calls), within the call budget of `aws::Timeouts`.
            max_attempts: 12,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Short backoffs for tests and the emulator; as many attempts as the default.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 12,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            max_elapsed: Duration::from_secs(60),
        }
    }

    /// The SDK's retry settings for the calls it retries by itself.
    pub(crate) fn sdk(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_delay)
            .with_max_backoff(self.max_delay)
    }

    /// The waits between attempts, at most `max_attempts - 1` of them.
    pub(crate) fn backoff(&self) -> ExponentialBackoff {
        // backon adds up to the step again at random; halving the steps puts each wait between
        // half the step and the step, so `max_delay` stays a true cap.
        let max = self.max_delay / 2;
        ExponentialBuilder::default()
            .with_min_delay((self.initial_delay / 2).min(max))
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.max(1) as usize - 1)
            .build()
    }

    /// Runs `op` under this policy, with retries logged at debug level (for callers without a
    /// progress sink); see [`Retry::run`].
    pub async fn run<T, E, F, Fut>(
        &self,
        operation: &str,
        op: F,
        classify: impl Fn(&E) -> Option<String>,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Retry::new(self, operation).run(op, classify).await
    }
}

/// Why a cancellable run ended without a result.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop<E> {
    /// The last attempt failed for a reason not worth retrying, or the caps were reached.
    Failed(E),
    /// Cancelled while waiting to retry; no further attempt was made.
    Cancelled,
}

/// One retried operation: the policy, what it is called in events, where events go, and an
/// optional deadline.
pub struct Retry<'a> {
    policy: &'a RetryPolicy,
    operation: String,
    sink: Option<&'a dyn ProgressSink>,
    deadline: Option<Instant>,
}

impl<'a> Retry<'a> {
    /// `operation` names the call and its target in events (`StartAssetBundleExportJob job-1`);
    /// never a URL.
    pub fn new(policy: &'a RetryPolicy, operation: impl Into<String>) -> Self {
        Retry {
            policy,
            operation: operation.into(),
            sink: None,
            deadline: None,
        }
    }

    /// Sends [`Event::Retrying`] to `sink` instead of the debug log.
    pub fn events(mut self, sink: &'a dyn ProgressSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Starts no retry whose wait would end at or after `deadline`.
    pub fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Runs `op` until it succeeds, fails with an error `classify` does not call transient
    /// (it returns the reason an error is worth another attempt), or the caps are reached; the
    /// last error is returned.
    pub async fn run<T, E, F, Fut>(self, op: F, classify: impl Fn(&E) -> Option<String>) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.drive(op, classify, tokio::time::sleep).await
    }

    /// [`Retry::run`] that stops waiting, and makes no further attempt, once `cancel` fires.
    /// An attempt under way is never cut short, and the first attempt is always made.
    pub async fn run_cancellable<T, E, F, Fut>(
        self,
        cancel: &CancellationToken,
        mut op: F,
        classify: impl Fn(&E) -> Option<String>,
    ) -> Result<T, Stop<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut made = 0u32;
        let attempt = || {
            made += 1;
            let call = (made == 1 || !cancel.is_cancelled()).then(&mut op);
            async move {
                match call {
                    Some(call) => call.await.map_err(Stop::Failed),
                    None => Err(Stop::Cancelled),
                }
            }
        };
        let classify = |e: &Stop<E>| match e {
            Stop::Failed(e) => classify(e),
            Stop::Cancelled => None,
        };
        let token = cancel.clone();
        let sleep = move |wait: Duration| {
            let token = token.clone();
            async move {
                tokio::select! {
                    _ = token.cancelled() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        };
        self.drive(attempt, classify, sleep).await
    }

    async fn drive<T, E, F, Fut>(
        self,
        op: F,
        classify: impl Fn(&E) -> Option<String>,
        sleep: impl backon::Sleeper,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let give_up_at = Instant::now().checked_add(self.policy.max_elapsed);
        let deadline = match (give_up_at, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut failed = 0u32;
        let (operation, sink, classify) = (&self.operation, self.sink, &classify);
        op.retry(self.policy.backoff())
            .sleep(sleep)
            .when(|e| classify(e).is_some())
            .adjust(|_, wait| {
                let wait = wait?;
                let until = Instant::now().checked_add(wait)?;
                match deadline {
                    Some(d) if until >= d => None,
                    _ => Some(wait),
                }
            })
            .notify(|e, delay| {
                failed += 1;
                let event = Event::Retrying {
                    operation: operation.clone(),
                    attempt: failed,
                    delay,
                    reason: classify(e).unwrap_or_default(),
                };
                match sink {
                    Some(sink) => sink.event(&event),
                    None => tracing::debug!(
                        "retrying {operation} in {delay:?}: attempt {failed} failed ({})",
                        classify(e).unwrap_or_default()
                    ),
                }
            })
            .await
    }
}

/// Why `err` is worth another attempt: throttling, a 5xx answer, a timeout or a connection
/// that broke. `None` for every other failure. The reason names a code or a status, never a
/// URL or a message that could carry one.
pub fn transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    match err {
        SdkError::TimeoutError(_) => Some("no answer in time".into()),
        SdkError::ResponseError(_) => Some("the answer broke off".into()),
        SdkError::DispatchFailure(f) if f.is_timeout() => Some("no connection in time".into()),
        SdkError::DispatchFailure(f) if f.is_io() => Some("the connection failed".into()),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            match code {
                Some(code) if THROTTLING_CODES.contains(&code) => Some(code.to_string()),
                _ if status == 429 || status >= 500 => {
                    Some(code.map_or_else(|| format!("HTTP {status}"), |c| format!("{c} (HTTP {status})")))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// [`transient`], and `LimitExceededException`: starting an asset bundle job while the account
/// runs as many as it may; a slot frees when one of them ends.
pub fn transient_or_job_limit<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<String> {
    match err {
        SdkError::ServiceError(s) if s.err().code() == Some("LimitExceededException") => {
            Some("LimitExceededException: the account is at its concurrent job limit".into())
        }
        _ => transient(err),
    }
}

/// The SDK settings of one call that this layer retries: the SDK makes one attempt.
pub(crate) fn single_attempt() -> aws_sdk_quicksight::config::Builder {
    aws_sdk_quicksight::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// `client` with the SDK's retries off, for readers and writers whose retries this layer owns;
/// time limits, credentials and endpoint stay.
pub(crate) fn quicksight_single_attempt(client: &aws_sdk_quicksight::Client) -> aws_sdk_quicksight::Client {
    aws_sdk_quicksight::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// [`quicksight_single_attempt`] for DynamoDB.
pub(crate) fn dynamodb_single_attempt(client: &aws_sdk_dynamodb::Client) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

#[cfg(test)]
mod tests;
