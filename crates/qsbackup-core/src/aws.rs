//! AWS clients: one `SdkConfig` from the standard environment (profiles, SSO, credentials chain,
//! `AWS_ENDPOINT_URL[_<SERVICE>]`, all honoured by `aws-config` itself) with the config's region,
//! and QuickSight clients for the asset region and the identity region.
//!
//! Retries: QuickSight calls go through the SDK's standard retry strategy (throttling, 5xx and
//! connection errors; exponential backoff with full jitter, capped) with the attempts of
//! [`RetryPolicy`], except the calls [`crate::retry`] retries itself (job starts, identities),
//! which the SDK tries once. The SDK also keeps a retry *token bucket*
//! (500 tokens; a retry costs 5, a first-try success gives 1 back, a retry that fails again
//! forfeits its tokens). Under 30% throttling that bucket drifts down (about 0.7 tokens earned and
//! 0.6 to 1 forfeited per call, more once 5xx are added) and runs dry over a few thousand calls,
//! after which throttled calls fail without retrying. Our own concurrency is already bounded (at
//! most 5 export jobs, a bounded describe pool), so the clients get a private retry partition
//! whose bucket never runs dry; attempts and backoff stay capped by [`RetryPolicy`].
//!
//! Failing fast: every client connects within [`Timeouts::connect`], gives each attempt
//! [`Timeouts::attempt`] and each call, retries included, [`Timeouts::total`].
//! [`AwsContext::check_reachable`] makes one call with few attempts, so a run against an
//! endpoint that refuses connections, never answers or lacks credentials stops within seconds
//! with [`Error::Unreachable`] or [`Error::NoCredentials`] instead of retrying every call.
//! Calls that do not reach the service never carry the SDK's debug chain into a message.

mod caller;

use crate::config::AwsSection;
use crate::error::{Error, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_quicksight::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_quicksight::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

pub use crate::retry::RetryPolicy;

/// Time limits of every AWS call.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// Establishing a connection.
    pub connect: Duration,
    /// One attempt, from sending the request to reading the whole response.
    pub attempt: Duration,
    /// One call, all its retries included: a total retry budget well above what throttling
    /// retries take ([`RetryPolicy`]: 12 attempts, backoff capped at 20 s).
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            attempt: Duration::from_secs(30),
            total: Duration::from_secs(300),
        }
    }
}

/// Attempts of the [`AwsContext::check_reachable`] call, and its budget.
const CHECK_ATTEMPTS: u32 = 2;
const CHECK_BUDGET: Duration = Duration::from_secs(25);

/// Overrides of the standard AWS environment, for tests, the demo and the emulator.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// QuickSight endpoint for both regions; `None` lets `aws-config` read
    /// `AWS_ENDPOINT_URL_QUICKSIGHT` / `AWS_ENDPOINT_URL`.
    pub quicksight_endpoint: Option<String>,
    /// Fixed credentials instead of the provider chain (the emulator accepts any).
    pub credentials: Option<Credentials>,
    /// A role to assume (with the credentials above, or the provider chain's) for every call:
    /// how a restore or drill reaches a recovery account, since QuickSight has no resource
    /// policies. The SDK's provider renews the session before it expires.
    pub role_arn: Option<String>,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
}

/// Clients and settings for one account.
#[derive(Debug, Clone)]
pub struct AwsContext {
    /// The SDK configuration QuickSight is called with (credentials, asset region): the
    /// role's session when [`AwsOptions::role_arn`] is set.
    pub sdk: SdkConfig,
    /// The run's own credentials, before any role: the repository, the DynamoDB tables and
    /// locks live with the backup, not in the account it reads.
    pub home: SdkConfig,
    /// QuickSight in the asset region.
    pub quicksight: aws_sdk_quicksight::Client,
    /// QuickSight in the identity region (users, groups).
    pub identity_quicksight: aws_sdk_quicksight::Client,
    pub account_id: String,
    pub region: String,
    pub identity_region: String,
    /// The QuickSight endpoint of the asset region, as messages name it.
    pub quicksight_endpoint: String,
}

/// The run's own AWS configuration in `region`: the standard environment (or
/// [`AwsOptions::credentials`]) with qsbackup's retries and time limits, before any role.
pub async fn home_config(region: &str, options: &AwsOptions) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(options.retry.sdk())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.timeouts.connect)
                .operation_attempt_timeout(options.timeouts.attempt)
                .operation_timeout(options.timeouts.total)
                .build(),
        );
    if let Some(credentials) = &options.credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    let sdk = loader.load().await;
    if sdk.credentials_provider().is_none() {
        return Err(Error::AwsConfig("no credentials provider could be configured".into()));
    }
    Ok(sdk)
}

impl AwsContext {
    /// Describes asset bundle export job `job_id` once: polling a job, and renewing the
    /// download URL of a finished one (it expires after 5 minutes).
    pub(crate) async fn describe_export_job(
        &self,
        job_id: &str,
    ) -> Result<aws_sdk_quicksight::operation::describe_asset_bundle_export_job::DescribeAssetBundleExportJobOutput>
    {
        self.quicksight
            .describe_asset_bundle_export_job()
            .aws_account_id(&self.account_id)
            .asset_bundle_export_job_id(job_id)
            .send()
            .await
            .map_err(|e| service_error("DescribeAssetBundleExportJob", job_id, &e))
    }

    /// Loads the AWS configuration for the `aws:` section of the config.
    pub async fn connect(aws: &AwsSection, options: &AwsOptions) -> Result<AwsContext> {
        let account_id = aws
            .account_id
            .as_ref()
            .ok_or_else(|| {
                Error::AwsConfig(
                    "the config lists several accounts (`accounts` or `organization`) and this works on one \
                     (Config::for_target gives each account's config)"
                        .into(),
                )
            })?
            .to_string();
        let region = aws.region.to_string();
        let identity_region = aws.identity_region().to_string();
        let home = home_config(aws.home_region().as_str(), options).await?;
        let mut sdk = if aws.home_region() == &aws.region {
            home.clone()
        } else {
            home.to_builder().region(Region::new(region.clone())).build()
        };
        if let Some(role) = options.role_arn.as_deref().filter(|r| !r.is_empty()) {
            // STS is reached as the loaded config says (AWS_ENDPOINT_URL_STS included).
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(format!("qsbackup-{account_id}"))
                .configure(&sdk)
                .build()
                .await;
            sdk = sdk
                .into_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
                .build();
        }
        let quicksight = quicksight_client(&sdk, &region, options);
        let identity_quicksight = quicksight_client(&sdk, &identity_region, options);
        let quicksight_endpoint = quicksight_endpoint(&region, options);
        Ok(AwsContext {
            sdk,
            home,
            quicksight,
            identity_quicksight,
            account_id,
            region,
            identity_region,
            quicksight_endpoint,
        })
    }

    /// Whether the credentials QuickSight is called with can be had: with a role, whether STS
    /// let it be assumed (`Err` with its answer), checked once within the call's time limit.
    pub async fn assumed_role(&self) -> std::result::Result<(), String> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| "no credentials provider".to_string())?;
        match tokio::time::timeout(CHECK_BUDGET, provider.provide_credentials()).await {
            Err(_) => Err(format!("STS did not answer within {}s", CHECK_BUDGET.as_secs())),
            Ok(Err(e)) => Err(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// One QuickSight call with few attempts and a short budget: `Err` when the endpoint
    /// cannot be reached or does not answer ([`Error::Unreachable`]) or no credentials are
    /// found ([`Error::NoCredentials`]). Any answer of the service, a refusal included,
    /// counts as reachable: permissions are the calls' own business.
    pub async fn check_reachable(&self) -> Result<()> {
        let config = self.quicksight.config();
        let attempt = config
            .timeout_config()
            .and_then(|t| t.operation_attempt_timeout())
            .unwrap_or(CHECK_BUDGET)
            .min(CHECK_BUDGET);
        let connect = config
            .timeout_config()
            .and_then(|t| t.connect_timeout())
            .unwrap_or(Duration::from_secs(3));
        let client = aws_sdk_quicksight::Client::from_conf(
            config
                .to_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(CHECK_ATTEMPTS))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(connect)
                        .operation_attempt_timeout(attempt)
                        .operation_timeout(CHECK_BUDGET)
                        .build(),
                )
                .build(),
        );
        let result = client
            .describe_account_settings()
            .aws_account_id(&self.account_id)
            .send()
            .await;
        match result {
            Ok(_) | Err(SdkError::ServiceError(_)) => Ok(()),
            Err(e) => Err(not_answered(&e, &self.quicksight_endpoint)
                .unwrap_or_else(|| service_error("DescribeAccountSettings", self.account_id.clone(), &e))),
        }
    }
}

/// Where the QuickSight client of `region` sends its calls: an override, the standard
/// `AWS_ENDPOINT_URL_QUICKSIGHT` / `AWS_ENDPOINT_URL` variables, or AWS's own endpoint.
fn quicksight_endpoint(region: &str, options: &AwsOptions) -> String {
    options
        .quicksight_endpoint
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_QUICKSIGHT").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| format!("https://quicksight.{region}.amazonaws.com"))
}

pub use crate::error::CREDENTIALS_HELP;

/// The typed error of a call that never got an answer from the service: no credentials, a
/// connection that failed, or no answer in time. `None` for a call the service answered.
/// The SDK's own chain goes to the debug log only.
pub(crate) fn not_answered<E, R>(err: &SdkError<E, R>, endpoint: &str) -> Option<Error>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if matches!(err, SdkError::ServiceError(_)) {
        return None;
    }
    tracing::debug!(
        "call to {endpoint} failed: {}",
        aws_smithy_types::error::display::DisplayErrorContext(err)
    );
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut innermost = None;
    while let Some(e) = source {
        if let Some(c) = e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>() {
            if matches!(
                c,
                aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_)
            ) {
                return Some(Error::NoCredentials);
            }
        }
        innermost = Some(e);
        source = e.source();
    }
    match err {
        SdkError::TimeoutError(_) => Some(Error::Unreachable {
            endpoint: endpoint.to_string(),
            reason: "no answer within the call's time limit".into(),
        }),
        SdkError::DispatchFailure(d) if d.is_timeout() => Some(Error::Unreachable {
            endpoint: endpoint.to_string(),
            reason: "no connection within the connect time limit".into(),
        }),
        SdkError::DispatchFailure(d) if d.is_io() => Some(Error::Unreachable {
            endpoint: endpoint.to_string(),
            reason: innermost
                .map(|e| e.to_string())
                .unwrap_or_else(|| "the connection failed".into()),
        }),
        _ => None,
    }
}

/// A short message for a call that failed, without the SDK's debug chain: the typed
/// [`not_answered`] error, or the service's code and message.
pub fn describe_failure<E, R>(err: &SdkError<E, R>, endpoint: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let Some(e) = not_answered(err, endpoint) {
        return e.to_string();
    }
    match err {
        SdkError::ServiceError(e) => format!(
            "{}: {}",
            e.err().code().unwrap_or("unknown"),
            e.err().message().unwrap_or("(no message)")
        ),
        other => {
            tracing::debug!("{}", aws_smithy_types::error::display::DisplayErrorContext(other));
            match other {
                SdkError::ResponseError(_) => "the service's answer could not be read".into(),
                SdkError::ConstructionFailure(_) => "the request could not be built".into(),
                _ => "the call failed (details with -v)".into(),
            }
        }
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
    R: std::fmt::Debug + 'static,
{
    let (code, message) = match err {
        SdkError::ServiceError(e) => (
            e.err().code().unwrap_or("unknown").to_string(),
            e.err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| e.err().to_string()),
        ),
        other => {
            // Calls that never reached the service say so in their own, typed words.
            if let Some(e) = not_answered(other, "QuickSight") {
                return e;
            }
            (
                "unknown".to_string(),
                aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
            )
        }
    };
    Error::QuickSight {
        operation,
        resource: resource.into(),
        code,
        message,
    }
}
