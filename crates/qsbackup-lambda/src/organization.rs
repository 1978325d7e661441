//! The organization workflow's own states (`deploy/organization.asl.json`): `list-targets`
//! gives its Map one item per account, its regions backed up one after the other;
//! `summarize-targets` gathers the outcome each target's run recorded
//! (`organization-runs/<run>/<account>-<region>.json`) into `organization-runs/<run>.json` and
//! fails the execution when a target failed or recorded nothing, so the one alarm on the
//! organization's state machine fires.

use qsbackup_core::config::Target;
use qsbackup_core::repository::layout::{self, ObjectKind, RepoFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::payload::Committed;
use crate::targets::Envs;
use crate::HandlerError;

/// One account's targets, backed up one after the other.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountTargets {
    pub account_id: String,
    pub targets: Vec<Target>,
}

/// Output of list-targets: the Map's items (accounts) and how many run at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetList {
    pub accounts: Vec<AccountTargets>,
    /// Read by the Map's `MaxConcurrencyPath` (`QSBACKUP_MAX_CONCURRENT_ACCOUNTS`).
    pub max_concurrency: u32,
    /// Accounts of the organization that are not ACTIVE, with their state: not backed up.
    pub inactive: Vec<(String, String)>,
}

/// One item of the Map's result: the child execution's output, or the error it was caught with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetOutcome {
    pub target: Target,
    /// The per-account workflow's output (commit-snapshot's).
    #[serde(default)]
    pub committed: Option<Committed>,
    /// `{"Error": ..., "Cause": ...}` of a child execution that failed.
    #[serde(default)]
    pub error: Option<Value>,
}

impl RepoFile for TargetOutcome {
    const KIND: ObjectKind = ObjectKind::OrganizationRun;
    const WHAT: &'static str = "organization target outcome";
}

/// Input of summarize-targets: list-targets' output and the organization run's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummarizeInput {
    pub accounts: Vec<AccountTargets>,
    #[serde(default)]
    pub inactive: Vec<(String, String)>,
    pub organization_run: String,
}

/// The record summarize-targets writes, and its output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganizationRun {
    #[serde(default = "layout::schema_v1")]
    pub schema: u32,
    pub id: String,
    pub key: String,
    pub complete: usize,
    pub partial: usize,
    pub failed: usize,
    pub targets: Vec<TargetOutcome>,
    pub inactive: Vec<(String, String)>,
}

impl RepoFile for OrganizationRun {
    const KIND: ObjectKind = ObjectKind::OrganizationRun;
    const WHAT: &'static str = "organization run record";
}

/// First state of the organization workflow: every target, as the CLI would back them up.
pub(crate) async fn list_targets(envs: &Envs) -> Result<TargetList, HandlerError> {
    let listed = qsbackup_core::organization::targets(&envs.config, &envs.home).await?;
    if !envs.config.lists_accounts() || listed.targets.is_empty() {
        return Err(HandlerError::new(
            "ConfigError",
            "the organization workflow needs a config listing several accounts (`accounts` or `organization`)",
        ));
    }
    let accounts = qsbackup_core::config::group_by_account(listed.targets, |t| &t.account_id)
        .into_iter()
        .map(|targets| AccountTargets {
            account_id: targets[0].account_id.to_string(),
            targets,
        })
        .collect();
    Ok(TargetList {
        accounts,
        max_concurrency: envs.settings.max_concurrent_accounts,
        inactive: listed.inactive,
    })
}

/// Last state: the record of every target's outcome; an error when any target failed or
/// recorded nothing (its run ended before it began: a held lock, a role that could not be
/// assumed, a stopped execution).
pub(crate) async fn summarize_targets(envs: &Envs, input: SummarizeInput) -> Result<OrganizationRun, HandlerError> {
    use qsbackup_core::repository::manifest::SnapshotStatus;
    let id = input.organization_run.clone();
    let key = layout::organization_run_key(&id);
    let mut results = Vec::new();
    for target in input.accounts.into_iter().flat_map(|a| a.targets) {
        let outcome_key = layout::organization_target_key(&id, target.account_id.as_str(), target.region.as_str());
        let outcome = envs
            .repository
            .read_record_if_any::<TargetOutcome>(&outcome_key)
            .await?;
        results.push(outcome.unwrap_or(TargetOutcome {
            target,
            committed: None,
            error: Some(serde_json::json!({
                "Error": "NoOutcome",
                "Cause": "the target's run recorded no outcome: it ended before it began (a held lock, a role that \
                          could not be assumed, a stopped execution); see its child execution",
            })),
        }));
    }
    let count = |status: SnapshotStatus| {
        results
            .iter()
            .filter(|r| r.committed.as_ref().is_some_and(|c| c.status == status))
            .count()
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.committed.is_none())
        .map(|r| {
            let why = r
                .error
                .as_ref()
                .and_then(|e| e["Cause"].as_str().or(e["Error"].as_str()))
                .unwrap_or("no outcome");
            format!("{}: {why}", r.target)
        })
        .collect();
    let record = OrganizationRun {
        schema: layout::SCHEMA_VERSION,
        id,
        key: key.clone(),
        complete: count(SnapshotStatus::Complete),
        partial: count(SnapshotStatus::Partial),
        failed: failed.len(),
        targets: results,
        inactive: input.inactive,
    };
    // A retried call finds the record its first attempt wrote.
    envs.repository.write_record_once(&key, &record).await?;
    if !failed.is_empty() {
        // The record has them all; the error (and the alarm's execution) names the first few.
        const NAMED: usize = 10;
        let more = failed.len().saturating_sub(NAMED);
        return Err(HandlerError::new(
            "TargetsFailed",
            format!(
                "{} of {} targets failed (recorded in {key}): {}{}",
                failed.len(),
                record.targets.len(),
                failed
                    .iter()
                    .take(NAMED)
                    .map(|f| qsbackup_core::text::printable(f))
                    .collect::<Vec<_>>()
                    .join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    Ok(record)
}
