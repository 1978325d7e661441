//! The scheduled recovery drill: one handler that runs [`qsbackup_core::drill::run_drill`] as
//! `qsbackup drill` does (shared repository lock, restore with conflict skip into the recovery
//! account, check, optional teardown, record in `drills/<id>.json`) and fails the invocation
//! when the drill did not pass, so the alarm on the function's errors sees it. The recovery
//! account is reached with a role assumed there when the request names one.

use crate::payload::{DrillInput, DrillRequest, DrillSummary};
use crate::{Env, HandlerError};
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::config::{AccountId, AwsSection, Region};
use qsbackup_core::drill::{self, DrillError, DrillOptions, DrillReport};
use qsbackup_core::events::NoProgress;
use qsbackup_core::repository::layout;
use qsbackup_core::repository::lock::{LockPurpose, RepositoryLock};
use qsbackup_core::restore::mapping::Mapping;
use qsbackup_core::restore::{Endpoint, FailureAction, RestoreError, RestoreOptions};
use std::path::Path;
use std::time::Duration;

fn bad_input(message: impl Into<String>) -> HandlerError {
    HandlerError::new("BadInput", message)
}

fn drill_error(e: DrillError) -> HandlerError {
    match e {
        DrillError::Core(e) => HandlerError::core(e),
        DrillError::Restore(RestoreError::Core(e)) => HandlerError::core(e),
        e if e.is_usage() => bad_input(e.to_string()),
        other => HandlerError::new("DrillError", other.to_string()),
    }
}

/// The recovery account's `aws:` section, as `qsbackup drill`'s target flags make it.
fn target_section(env: &Env, request: &DrillRequest) -> Result<AwsSection, HandlerError> {
    let account = AccountId::try_from(request.target_account.clone())
        .map_err(|e| bad_input(format!("drill.target_account: {e}")))?;
    let region = match &request.target_region {
        Some(r) => Region::try_from(r.clone()).map_err(|e| bad_input(format!("drill.target_region: {e}")))?,
        None => env.config.aws.region.clone(),
    };
    let identity_region = match &request.identity_region {
        Some(r) => Region::try_from(r.clone()).map_err(|e| bad_input(format!("drill.identity_region: {e}")))?,
        None => region.clone(),
    };
    let mut section = AwsSection::new(account, region);
    section.identity_region = Some(identity_region);
    Ok(section)
}

fn summary(report: &DrillReport) -> DrillSummary {
    DrillSummary {
        drill_id: report.drill_id.clone(),
        snapshot_id: report.snapshot_id.clone(),
        record_key: layout::drill_key(&report.drill_id),
        passed: report.passed,
        rto_seconds: report.rto_seconds,
        rpo_seconds: report.rpo_seconds,
        assets_total: report.assets_total,
        assets_equal: report.assets_equal,
        assets_different: report.assets_different,
        assets_not_recovered: report.assets_not_recovered,
        identities_missing: report.identities_missing,
        teardown_failed: report.teardown.as_ref().map(|t| t.failed.len()),
    }
}

/// Runs the drill `input` asks for. `Ok` only when it passed; a drill that ran and did not
/// pass is a `DrillFailed` error carrying its figures (its record is kept all the same).
pub async fn drill(env: &Env, input: DrillInput) -> Result<DrillSummary, HandlerError> {
    let request = input.drill;
    let prefix = request.prefix.clone().unwrap_or_default();
    let section = target_section(env, &request)?;
    let mapping = match &request.overrides {
        Some(v) if !v.is_null() => {
            Mapping::parse(&v.to_string(), Path::new("drill.overrides.json")).map_err(|e| bad_input(e.to_string()))?
        }
        _ => Mapping::default(),
    };
    let manifest = qsbackup_core::repository::snapshots::load(&env.repository, &request.snapshot).await?;
    let target_endpoint = Endpoint {
        account_id: request.target_account.clone(),
        region: section.region.to_string(),
        identity_region: section.identity_region().to_string(),
    };
    drill::check_target(&manifest, &target_endpoint, &prefix).map_err(drill_error)?;
    let mut aws_options: AwsOptions = env.aws_options.clone();
    // The recovery account is reached through a role assumed there (QuickSight has no
    // resource policies); the SDK's provider renews the session.
    aws_options.role_arn = request.role_arn.clone().filter(|r| !r.is_empty());
    let target = AwsContext::connect(&section, &aws_options).await?;
    let options = DrillOptions {
        restore: RestoreOptions {
            prefix,
            failure_action: FailureAction::DoNothing,
            mapping,
            identities: request.identities,
            job_timeout: Duration::from_secs(env.config.backup.job_timeout_seconds),
            tuning: env.tuning.clone(),
            ..Default::default()
        },
        teardown: request.teardown,
    };
    let lock = RepositoryLock::shared(&env.repository, LockPurpose::Restore, Duration::ZERO)
        .await
        .map_err(|e| HandlerError::core(e.into()))?;
    // Stop waiting before Lambda ends the call, so the drill still records how far it got.
    let cancel = options.restore.cancel.clone();
    let budget = env.handler_budget;
    let deadline = tokio::spawn(async move {
        tokio::time::sleep(budget).await;
        cancel.cancel();
    });
    let result = Box::pin(drill::run_drill(&lock, &manifest, &target, &options, &NoProgress)).await;
    deadline.abort();
    let stopped = options.restore.cancel.is_cancelled();
    // A lock left behind expires with its lease; the drill's result matters more.
    let _ = lock.release().await;
    let over_budget = format!(
        "; stopped after the function's budget of {}s: run `qsbackup drill` from a machine or an ECS task for an \
         account this large",
        budget.as_secs()
    );
    let report = result.map_err(|e| {
        let mut e = drill_error(e);
        if stopped {
            e.message.push_str(&over_budget);
        }
        e
    })?;
    let s = summary(&report);
    if report.passed {
        return Ok(s);
    }
    let mut message = format!(
        "drill {} of snapshot {} into account {} did not pass: {} of {} assets equal, {} different, {} not \
         recovered, {} identities missing; RTO {:.0}s, RPO {}s; record: {}",
        s.drill_id,
        s.snapshot_id,
        report.target.account_id,
        s.assets_equal,
        s.assets_total,
        s.assets_different,
        s.assets_not_recovered,
        s.identities_missing,
        s.rto_seconds,
        s.rpo_seconds,
        s.record_key
    );
    if stopped {
        message.push_str(&over_budget);
    }
    if let Some(n) = s.teardown_failed.filter(|n| *n > 0) {
        message.push_str(&format!("; the teardown left {n} objects in the target"));
    }
    for w in report.warnings.iter().take(3) {
        message.push_str(&format!("; {w}"));
    }
    Err(HandlerError::new("DrillFailed", message))
}
