//! AWS clients: one `SdkConfig` from the standard environment (profiles, SSO, credentials chain,
//! `AWS_ENDPOINT_URL[_<SERVICE>]`, all honoured by `aws-config` itself) with the config's region,
//! and QuickSight clients for the asset region and the identity region.
//!
//! Retries: every QuickSight call goes through the SDK's standard retry strategy (throttling,
//! 5xx, `LimitExceededException` and connection errors; exponential backoff with full jitter,
//! capped) with more attempts than the default. The SDK also keeps a retry *token bucket*
//! (500 tokens; a retry costs 5, a first-try success gives 1 back, a retry that fails again
//! forfeits its tokens). Under 30% throttling that bucket drifts down (about 0.7 tokens earned and
//! 0.6 to 1 forfeited per call, more once 5xx are added) and runs dry over a few thousand calls,
//! after which throttled calls fail without retrying. Our own concurrency is already bounded (at
//! most 5 export jobs, a bounded describe pool), so the clients get a private retry partition
//! whose bucket never runs dry; attempts and backoff stay capped by [`RetryPolicy`].

use crate::config::AwsSection;
use crate::error::{Error, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_quicksight::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_quicksight::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// Caps on retrying one call.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (before jitter); doubles each retry.
    pub initial_backoff: Duration,
    /// Longest single backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Short backoffs for tests and the emulator.
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 12,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(100),
        }
    }

    fn sdk(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// Overrides of the standard AWS environment, for tests, the demo and the emulator.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// QuickSight endpoint for both regions; `None` lets `aws-config` read
    /// `AWS_ENDPOINT_URL_QUICKSIGHT` / `AWS_ENDPOINT_URL`.
    pub quicksight_endpoint: Option<String>,
    /// Fixed credentials instead of the provider chain (the emulator accepts any).
    pub credentials: Option<Credentials>,
    pub retry: RetryPolicy,
}

/// Clients and settings for one account.
#[derive(Debug, Clone)]
pub struct AwsContext {
    /// The shared SDK configuration (credentials, asset region); also feeds the S3 repository
    /// and DynamoDB.
    pub sdk: SdkConfig,
    /// QuickSight in the asset region.
    pub quicksight: aws_sdk_quicksight::Client,
    /// QuickSight in the identity region (users, groups).
    pub identity_quicksight: aws_sdk_quicksight::Client,
    pub account_id: String,
    pub region: String,
    pub identity_region: String,
}

impl AwsContext {
    /// Loads the AWS configuration for the `aws:` section of the config.
    pub async fn connect(aws: &AwsSection, options: &AwsOptions) -> Result<AwsContext> {
        let region = aws.region.to_string();
        let identity_region = aws.identity_region().to_string();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(options.retry.sdk())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(credentials) = &options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let sdk = loader.load().await;
        if sdk.credentials_provider().is_none() {
            return Err(Error::AwsConfig("no credentials provider could be configured".into()));
        }
        let quicksight = quicksight_client(&sdk, &region, options);
        let identity_quicksight = quicksight_client(&sdk, &identity_region, options);
        Ok(AwsContext {
            sdk,
            quicksight,
            identity_quicksight,
            account_id: aws.account_id.to_string(),
            region,
            identity_region,
        })
    }
}

fn quicksight_client(sdk: &SdkConfig, region: &str, options: &AwsOptions) -> aws_sdk_quicksight::Client {
    let partition = RetryPartition::custom(format!("qsbackup-quicksight-{region}"))
        .token_bucket(TokenBucket::unlimited())
        .build();
    let mut builder = aws_sdk_quicksight::config::Builder::from(sdk)
        .region(Region::new(region.to_string()))
        .retry_partition(partition);
    if let Some(endpoint) = &options.quicksight_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_quicksight::Client::from_conf(builder.build())
}

/// The service's error code of a failed call (`ThrottlingException`, ...), if it answered.
pub(crate) fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// Turns a failed QuickSight call into an [`Error::QuickSight`] naming the resource.
pub(crate) fn service_error<E, R>(operation: &'static str, resource: impl Into<String>, err: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (code, message) = match err {
        SdkError::ServiceError(e) => (
            e.err().code().unwrap_or("unknown").to_string(),
            e.err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| e.err().to_string()),
        ),
        other => (
            "unknown".to_string(),
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    };
    Error::QuickSight {
        operation,
        resource: resource.into(),
        code,
        message,
    }
}
