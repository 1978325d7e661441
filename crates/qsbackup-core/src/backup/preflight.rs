//! The checks `backup --dry-run` makes before it plans anything: QuickSight reachable for the
//! assets and for the identities, the repository writable (a probe written and deleted), and
//! DynamoDB reachable when identities go there. Each check is an outcome the driver shows; none
//! starts a job or leaves anything behind.

use crate::aws::{describe_failure, AwsContext};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::repository::manifest::BackupMode;
use crate::repository::{layout, Repository};
use serde::Serialize;

/// One check and what it found: a detail when it passed, the problem when it did not.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightCheck {
    pub check: String,
    pub ok: bool,
    pub detail: String,
}

impl PreflightCheck {
    fn of(check: &str, result: std::result::Result<String, String>) -> Self {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(e) => (false, e),
        };
        PreflightCheck {
            check: check.to_string(),
            ok,
            detail,
        }
    }
}

/// Runs the checks. `Err` only when AWS cannot be reached at all (no endpoint, no credentials):
/// then nothing else can be checked, and the error says why once.
pub async fn preflight(
    config: &Config,
    aws: &AwsContext,
    repository: &Result<Repository>,
    mode: BackupMode,
) -> Result<Vec<PreflightCheck>> {
    aws.check_reachable().await?;
    let mut checks = Vec::new();
    let assets = aws
        .quicksight
        .describe_account_settings()
        .aws_account_id(&aws.account_id)
        .send()
        .await
        .map(|r| {
            let edition = r
                .account_settings()
                .and_then(|s| s.edition())
                .map(|e| e.as_str().to_string())
                .unwrap_or_default();
            format!(
                "account {} reachable in {} (edition {edition})",
                aws.account_id, aws.region
            )
        })
        .map_err(|e| describe_failure(&e, &aws.quicksight_endpoint));
    checks.push(PreflightCheck::of("QuickSight (assets)", assets));
    if mode.includes_identities() {
        let identities = aws
            .identity_quicksight
            .list_users()
            .aws_account_id(&aws.account_id)
            .namespace("default")
            .max_results(1)
            .send()
            .await
            .map(|_| format!("users readable in identity region {}", aws.identity_region))
            .map_err(|e| describe_failure(&e, &format!("QuickSight in {}", aws.identity_region)));
        checks.push(PreflightCheck::of("QuickSight (identities)", identities));
    }
    checks.push(PreflightCheck::of("Repository", writable(repository).await));
    if config.dynamodb.is_some() && mode.includes_identities() {
        let reachable = aws_sdk_dynamodb::Client::new(&aws.home)
            .list_tables()
            .limit(1)
            .send()
            .await
            .map(|_| "reachable".to_string())
            .map_err(|e| describe_failure(&e, "DynamoDB"));
        checks.push(PreflightCheck::of("DynamoDB", reachable));
    }
    Ok(checks)
}

/// Writes and deletes a probe; a repository that does not exist yet is fine (the backup creates
/// it).
async fn writable(repository: &Result<Repository>) -> std::result::Result<String, String> {
    match repository {
        Ok(repository) => {
            let probe_key = layout::dry_run_probe_key(std::process::id());
            repository
                .put_create(&probe_key, bytes::Bytes::from_static(b"probe"))
                .await
                .map_err(|e| e.to_string())?;
            repository
                .delete(&probe_key)
                .await
                .map(|_| format!("{} writable (probe written and deleted)", repository.location()))
                .map_err(|e| e.to_string())
        }
        Err(Error::RepositoryNotFound { location, .. }) => {
            Ok(format!("{location} does not exist yet; the backup will create it"))
        }
        Err(e) => Err(e.to_string()),
    }
}
