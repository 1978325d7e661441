//! The handlers, one per Task state of `deploy/statemachine.asl.json`, each calling one step of
//! [`qsbackup_core::backup::steps`]. Each call first renews the run's leases (see
//! [`crate::lease`], [`crate::account_lock`]), so a run whose lock was taken away stops at its
//! next state instead of committing.

use crate::account_lock::{self, AccountLease};
use crate::lease::{self, LeaseRef};
use crate::payload::{
    AbortInput, BundleFailure, BundleInput, Committed, ExportState, Planned, RunInput, RunStarted, SectionsDone,
};
use crate::{Env, HandlerError};
use chrono::Utc;
use qsbackup_core::backup::sections::{AccountSection, IdentitiesSection};
use qsbackup_core::backup::state::{ExportProgress, RunRecord, SectionsResult};
use qsbackup_core::repository::layout;
use qsbackup_core::repository::lock::LockLease;
use qsbackup_core::repository::manifest::{manifest_key, new_snapshot_id};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The leases a scheduled run holds, kept in its run record (`runs/<run-id>/run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunLocks {
    pub lease: LeaseRef,
    /// The account's DynamoDB lease, when `lock.dynamodb_table` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_lease: Option<AccountLease>,
}

type Run = RunRecord<RunLocks>;

/// Loads the run record and renews its leases.
async fn touch(env: &Env, run_id: &str) -> Result<Run, HandlerError> {
    let run: Run = env.steps().load_run(run_id).await?;
    lease::renew(&env.repository, &run.locks.lease, env.lease_ttl).await?;
    if let Some(account) = &run.locks.account_lease {
        account_lock::renew(env, account, env.lease_ttl).await?;
    }
    Ok(run)
}

/// Releases the run's leases; an account lease that cannot be marked released expires on its own.
async fn release(env: &Env, locks: &RunLocks) {
    if let Some(account) = &locks.account_lease {
        let _ = account_lock::release(env, account).await;
    }
    let _ = lease::release(&env.repository, &locks.lease).await;
}

/// First state: takes the repository lock (and the account's) and records the run.
pub async fn begin_run(env: &Env) -> Result<RunStarted, HandlerError> {
    let started_at = Utc::now();
    let run_id = new_snapshot_id(started_at);
    let lease = lease::acquire(&env.repository, &run_id, &env.aws.account_id, env.lease_ttl).await?;
    let account_lease = match account_lock::acquire(env, &run_id, env.lease_ttl).await {
        Ok(a) => a,
        Err(e) => {
            let _ = lease::release(&env.repository, &lease).await;
            return Err(e);
        }
    };
    let run = RunRecord::new(run_id.clone(), started_at, env.mode, RunLocks { lease, account_lease });
    if let Err(e) = env.steps().begin_run(&run).await {
        release(env, &run.locks).await;
        return Err(e.into());
    }
    Ok(RunStarted {
        run_id,
        max_concurrency: env.max_concurrency,
        poll_seconds: env.poll_seconds,
    })
}

/// Users, groups and memberships (and, when assets are backed up, the account settings): the
/// Parallel branch beside discovery.
pub async fn identities(env: &Env, input: RunInput) -> Result<SectionsDone, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let identities = IdentitiesSection::new(&env.config, &env.aws);
    let account = AccountSection::new(&env.aws);
    let r: SectionsResult = env.steps().back_up_sections(&run, &identities, &account).await?;
    Ok(SectionsDone {
        run_id: run.run_id,
        stored: r.identities.iter().chain(&r.account).map(|o| o.key.clone()).collect(),
        errors: r.errors.len(),
    })
}

/// Discovers, filters and plans; the Map gets the bundle numbers.
pub async fn discover_and_plan(env: &Env, input: RunInput) -> Result<Planned, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let plan = env.steps().plan(&run).await?;
    Ok(Planned {
        plan_key: layout::run_plan_key(&run.run_id),
        run_id: run.run_id,
        bundle_count: plan.bundles.len(),
        asset_count: plan.asset_count(),
        bundles: (0..plan.bundles.len()).collect(),
    })
}

fn export_state(input: &BundleInput, env: &Env, p: ExportProgress, polls: u32) -> ExportState {
    ExportState {
        run_id: input.run_id.clone(),
        bundle: input.bundle,
        status: p.status,
        job_id: p.job_id,
        polls,
        poll_seconds: input.poll_seconds.unwrap_or(env.poll_seconds),
    }
}

/// Starts a bundle's export job.
pub async fn start_export(env: &Env, input: BundleInput) -> Result<ExportState, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let p = env.steps().start_export(&run, input.bundle).await?;
    Ok(export_state(&input, env, p, 0))
}

/// Describes the bundle's job once; a finished job is stored (or its failure isolated).
pub async fn check_export(env: &Env, input: ExportState) -> Result<ExportState, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let polls = input.polls + 1;
    let waited = Duration::from_secs(u64::from(polls) * u64::from(input.poll_seconds));
    let p = env
        .steps()
        .check_export(&run, input.bundle, input.job_id.clone(), waited)
        .await?;
    let bundle = BundleInput {
        run_id: input.run_id,
        bundle: input.bundle,
        poll_seconds: Some(input.poll_seconds),
    };
    Ok(export_state(&bundle, env, p, polls))
}

/// The Catch of a bundle's states: its assets are recorded as failed with the caught error, so
/// the run goes on and commits a `partial` snapshot.
pub async fn record_bundle_failure(env: &Env, input: BundleFailure) -> Result<ExportState, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let error = input.error.unwrap_or_default();
    env.steps()
        .record_failure(&run, input.bundle, format!("{}: {}", error.error, error.cause))
        .await?;
    let bundle = BundleInput {
        run_id: run.run_id,
        bundle: input.bundle,
        poll_seconds: None,
    };
    Ok(export_state(&bundle, env, ExportProgress::done(None), 0))
}

/// Last state: commits the snapshot and releases the leases. A run that stored nothing fails
/// (`NothingStored`): the Catch aborts it and the execution fails, so the alarm on failed runs
/// fires; what was stored stays for prune.
pub async fn commit_snapshot(env: &Env, input: RunInput) -> Result<Committed, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let held = LockLease::resume(&env.repository, run.locks.lease.clone());
    let manifest = env.steps().commit(&run, &[&held]).await?;
    release(env, &run.locks).await;
    let report = qsbackup_core::backup::write_report(
        &env.config,
        &env.repository,
        &manifest.id,
        &qsbackup_core::events::NoProgress,
    )
    .await;
    let (report, report_error) = match report {
        None => (None, None),
        Some(Ok(key)) => (Some(key), None),
        Some(Err(why)) => (None, Some(why)),
    };
    Ok(Committed {
        report,
        report_error,
        manifest_key: manifest_key(&manifest.id),
        snapshot_id: manifest.id,
        status: manifest.status,
        bundles: manifest.bundles.len(),
        failed: manifest.failed.len(),
    })
}

/// The Catch of the whole run: releases the leases so the next scheduled run need not wait for
/// them to expire; nothing is committed.
pub async fn abort_run(env: &Env, input: AbortInput) -> Result<RunInput, HandlerError> {
    let run: Run = env.steps().load_run(&input.run_id).await?;
    if let Some(account) = &run.locks.account_lease {
        account_lock::release(env, account).await?;
    }
    lease::release(&env.repository, &run.locks.lease).await?;
    Ok(RunInput { run_id: run.run_id })
}
