//! Who is calling: the ARN STS `GetCallerIdentity` returns for the run's credentials, recorded in
//! the snapshot manifest for auditors. Best effort by design: one attempt with a short time
//! limit, and an answer of "not known, because …" instead of an error, so a missing STS endpoint
//! or permission never fails or delays a backup.

use super::{describe_failure, AwsContext};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// Time limits of the one `GetCallerIdentity` attempt: connecting, and the whole call.
const CONNECT_LIMIT: Duration = Duration::from_secs(2);
const CALL_LIMIT: Duration = Duration::from_secs(5);

/// An endpoint variable, unless the standard switch says to ignore configured endpoints.
fn endpoint_var(name: &str) -> Option<String> {
    let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl AwsContext {
    /// The caller's ARN, or why it is not known. Against an emulated QuickSight (its endpoint
    /// overridden) STS is asked only when an STS endpoint is configured too: the run's
    /// credentials are then test credentials that have no business reaching AWS.
    pub async fn caller_arn(&self) -> Result<String, String> {
        let sts_endpoint = endpoint_var("AWS_ENDPOINT_URL_STS").or_else(|| endpoint_var("AWS_ENDPOINT_URL"));
        let default_quicksight = format!("https://quicksight.{}.amazonaws.com", self.region);
        if self.quicksight_endpoint != default_quicksight && sts_endpoint.is_none() {
            return Err(format!(
                "QuickSight is reached at {} and no STS endpoint is configured (AWS_ENDPOINT_URL_STS), \
                 so STS was not asked",
                self.quicksight_endpoint
            ));
        }
        let connect = self
            .sdk
            .timeout_config()
            .and_then(|t| t.connect_timeout())
            .map_or(CONNECT_LIMIT, |c| c.min(CONNECT_LIMIT));
        // The shared configuration's credentials and region, with one short attempt; the
        // client reads `AWS_ENDPOINT_URL_STS` from it like every other client.
        let config = aws_sdk_sts::config::Builder::from(&self.sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(connect)
                    .operation_attempt_timeout(CALL_LIMIT)
                    .operation_timeout(CALL_LIMIT)
                    .build(),
            )
            .build();
        let endpoint = sts_endpoint.unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region));
        // The SDK's own limits stop the call; this one also bounds credential resolution.
        let call = aws_sdk_sts::Client::from_conf(config).get_caller_identity().send();
        match tokio::time::timeout(CALL_LIMIT + CONNECT_LIMIT, call).await {
            Err(_) => Err(format!(
                "STS at {endpoint} did not answer within {}s",
                CALL_LIMIT.as_secs()
            )),
            Ok(Err(e)) => Err(format!(
                "STS GetCallerIdentity failed: {}",
                describe_failure(&e, &endpoint)
            )),
            Ok(Ok(out)) => out
                .arn
                .filter(|a| !a.is_empty())
                .ok_or_else(|| "STS GetCallerIdentity returned no ARN".to_string()),
        }
    }
}
