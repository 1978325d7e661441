//! How hard the identity, account configuration and DynamoDB readers and writers press the
//! service, and describing SDK errors in one line. Their retries are [`crate::retry`]'s: these
//! calls are retried by that layer alone, the SDK tries each once.

use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use crate::retry::RetryPolicy;

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
