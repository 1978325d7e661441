//! The handlers, one per Task state of `deploy/statemachine.asl.json`. Each call first renews
//! the run's lease (see [`crate::lease`]), so a run whose lock was taken away stops at its next
//! state instead of committing.

mod export;

use crate::payload::{AbortInput, BundleFailure, Committed, ExportState, Planned, RunInput, RunStarted, SectionsDone};
use crate::state::{self, BundleResult, PlanBundle, PlanDocument, RunRecord, SectionsResult};
use crate::{account_lock, lease, Env, HandlerError};
use chrono::Utc;
use qsbackup_core::backup::{plan_assets, BackupOptions, SnapshotSection};
use qsbackup_core::events::NoProgress;
use qsbackup_core::manifest::{
    manifest_key, new_snapshot_id, FailReason, FailedAsset, SnapshotManifest, SnapshotStatus,
};
use qsbackup_core::sections::{account_key, identities_key, AccountSection, IdentitiesSection};

pub use export::{check_export, start_export};

/// Loads the run record and renews its lease.
pub(crate) async fn touch(env: &Env, run_id: &str) -> Result<RunRecord, HandlerError> {
    let run: RunRecord = state::get(&env.repository, &state::run_key(run_id)).await?;
    lease::renew(&env.repository, &run.lease, env.lease_ttl).await?;
    if let Some(account) = &run.account_lease {
        account_lock::renew(env, account, env.lease_ttl).await?;
    }
    Ok(run)
}

pub(crate) async fn load_plan(env: &Env, run_id: &str) -> Result<PlanDocument, HandlerError> {
    state::get(&env.repository, &state::plan_key(run_id)).await
}

/// First state: takes the repository lock and records the run.
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
    let record = RunRecord {
        run_id: run_id.clone(),
        started_at,
        mode: env.mode,
        lease: lease.clone(),
        account_lease: account_lease.clone(),
    };
    if let Err(e) = state::put(&env.repository, &state::run_key(&run_id), &record).await {
        if let Some(account) = &account_lease {
            let _ = account_lock::release(env, account).await;
        }
        let _ = lease::release(&env.repository, &lease).await;
        return Err(e);
    }
    Ok(RunStarted {
        run_id,
        max_concurrency: env.max_concurrency,
        poll_seconds: env.poll_seconds,
    })
}

/// Users, groups and memberships (and, when assets are backed up, the account settings): the
/// Parallel branch beside discovery. A failed section is recorded, not raised, so the snapshot
/// is committed `partial` as a CLI run would.
pub async fn identities(env: &Env, input: RunInput) -> Result<SectionsDone, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let key = state::sections_key(&run.run_id);
    if state::exists(&env.repository, &key).await? {
        let done: SectionsResult = state::get(&env.repository, &key).await?;
        return Ok(sections_done(&run.run_id, &done));
    }
    let mut result = SectionsResult::default();
    let identities = IdentitiesSection::new(&env.config, &env.aws);
    let account = AccountSection::new(&env.aws);
    let sections: [(&dyn SnapshotSection, bool); 2] = [
        (&identities, run.mode.includes_identities()),
        (&account, run.mode.includes_assets()),
    ];
    for (section, wanted) in sections {
        if !wanted {
            continue;
        }
        // A retried state finds what an earlier attempt of this run stored before it failed
        // (e.g. during the DynamoDB writes): no snapshot references it yet, so it is written again.
        let earlier = match section.name() {
            "identities" => identities_key(&run.run_id),
            _ => account_key(&run.run_id),
        };
        let store = |e: qsbackup_core::Error| HandlerError::new("RepositoryError", format!("{earlier}: {e}"));
        if env.repository.head(&earlier).await.map_err(store)?.is_some() {
            env.repository.delete(&earlier).await.map_err(store)?;
        }
        match section.backup(&run.run_id, &env.repository, &NoProgress).await {
            Ok(object) => {
                if section.name() == "identities" {
                    result.identities = Some(object);
                } else {
                    result.account = Some(object);
                }
            }
            Err(e) => result.errors.push(format!("{} backup failed: {e}", section.name())),
        }
        result.notes.extend(section.notes());
    }
    state::put(&env.repository, &key, &result).await?;
    Ok(sections_done(&run.run_id, &result))
}

fn sections_done(run_id: &str, r: &SectionsResult) -> SectionsDone {
    let mut stored = Vec::new();
    stored.extend(r.identities.as_ref().map(|o| o.key.clone()));
    stored.extend(r.account.as_ref().map(|o| o.key.clone()));
    SectionsDone {
        run_id: run_id.to_string(),
        stored,
        errors: r.errors.len(),
    }
}

/// Discovers, filters and plans; the plan goes to `runs/<run-id>/plan.json` and the Map gets
/// the bundle numbers.
pub async fn discover_and_plan(env: &Env, input: RunInput) -> Result<Planned, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let key = state::plan_key(&run.run_id);
    let plan = if !run.mode.includes_assets() {
        PlanDocument {
            discovered: Default::default(),
            skipped: Vec::new(),
            notes: Vec::new(),
            bundles: Vec::new(),
            dependencies: Vec::new(),
        }
    } else if state::exists(&env.repository, &key).await? {
        load_plan(env, &run.run_id).await?
    } else {
        let options = BackupOptions {
            tuning: env.tuning.clone(),
            ..Default::default()
        };
        let (plan, inventory) = plan_assets(&env.config, &env.aws, &NoProgress, &options)
            .await
            .map_err(HandlerError::core)?;
        PlanDocument {
            discovered: plan.discovered,
            skipped: plan.skipped,
            notes: plan.notes,
            bundles: plan
                .bundles
                .bundles
                .into_iter()
                .map(|b| PlanBundle {
                    asset_type: b.asset_type,
                    number: b.number,
                    of: b.of,
                    assets: b.assets.into_iter().map(|a| (a.arn, a.name)).collect(),
                })
                .collect(),
            dependencies: inventory
                .assets
                .into_iter()
                .map(|a| (a.arn, a.depends_on.unwrap_or_default()))
                .collect(),
        }
    };
    state::put(&env.repository, &key, &plan).await?;
    let bundle_count = plan.bundles.len();
    Ok(Planned {
        run_id: run.run_id,
        plan_key: key,
        bundle_count,
        asset_count: plan.bundles.iter().map(|b| b.assets.len()).sum(),
        bundles: (0..bundle_count).collect(),
    })
}

/// The Catch of a bundle's states: every asset of the bundle is recorded as failed with the
/// caught error, so the run goes on and commits a `partial` snapshot.
pub async fn record_bundle_failure(env: &Env, input: BundleFailure) -> Result<ExportState, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let key = state::bundle_key(&run.run_id, input.bundle);
    if !state::exists(&env.repository, &key).await? {
        let plan = load_plan(env, &run.run_id).await?;
        let error = input.error.unwrap_or_default();
        let mut message = format!("{}: {}", error.error, error.cause);
        if message.len() > 1000 {
            let mut end = 1000;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let failed = plan
            .bundles
            .get(input.bundle)
            .map(|b| {
                b.assets
                    .iter()
                    .map(|(arn, name)| FailedAsset {
                        arn: arn.clone(),
                        asset_type: b.asset_type,
                        name: name.clone(),
                        reason: FailReason::ExportError,
                        message: message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let result = BundleResult {
            failed,
            notes: vec![format!("bundle {} failed in the workflow: {message}", input.bundle)],
            ..Default::default()
        };
        state::put(&env.repository, &key, &result).await?;
    }
    Ok(ExportState {
        run_id: run.run_id,
        bundle: input.bundle,
        status: "DONE".into(),
        job_id: None,
        polls: 0,
        poll_seconds: env.poll_seconds,
    })
}

/// Last state: the manifest from the plan, the sections and every bundle's result; `partial`
/// when anything failed. Releases the lease.
pub async fn commit_snapshot(env: &Env, input: RunInput) -> Result<Committed, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    let repo = &env.repository;
    let plan = load_plan(env, &run.run_id).await?;
    let mut notes = plan.notes.clone();
    let mut skipped = plan.skipped.clone();
    let (mut bundles, mut failed) = (Vec::new(), Vec::new());
    let sections_key = state::sections_key(&run.run_id);
    let sections: SectionsResult = if state::exists(repo, &sections_key).await? {
        state::get(repo, &sections_key).await?
    } else {
        SectionsResult {
            errors: vec!["the identities state recorded no result".into()],
            ..Default::default()
        }
    };
    for (n, b) in plan.bundles.iter().enumerate() {
        let key = state::bundle_key(&run.run_id, n);
        if !state::exists(repo, &key).await? {
            failed.extend(b.assets.iter().map(|(arn, name)| FailedAsset {
                arn: arn.clone(),
                asset_type: b.asset_type,
                name: name.clone(),
                reason: FailReason::ExportError,
                message: format!("bundle {n} recorded no result"),
            }));
            continue;
        }
        let r: BundleResult = state::get(repo, &key).await?;
        bundles.extend(r.bundles);
        failed.extend(r.failed);
        skipped.extend(r.skipped);
        notes.extend(r.notes);
    }
    bundles.sort_by(|a, b| a.key.cmp(&b.key));
    failed.sort_by(|a, b| a.arn.cmp(&b.arn));
    notes.extend(sections.notes);
    let status = if failed.is_empty() && sections.errors.is_empty() {
        SnapshotStatus::Complete
    } else {
        SnapshotStatus::Partial
    };
    let planned = plan.bundles.iter().map(|b| b.assets.len()).sum();
    if let Err(e) = qsbackup_core::backup::check_something_stored(
        planned,
        &bundles,
        &failed,
        [&sections.identities, &sections.account],
        &sections.errors,
    ) {
        // The Catch aborts the run (releasing the locks) and the execution fails, so the alarm
        // on failed runs fires; what was stored stays for prune.
        return Err(HandlerError::new("NothingStored", e.to_string()));
    }
    notes.extend(sections.errors);
    let b = &env.config.backup;
    let manifest = SnapshotManifest {
        id: run.run_id.clone(),
        started_at: run.started_at,
        finished_at: Utc::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        account_id: env.aws.account_id.clone(),
        region: env.aws.region.clone(),
        identity_region: env.aws.identity_region.clone(),
        mode: run.mode,
        status,
        export_format: b.export_format,
        include_dependencies: b.include_dependencies,
        bundles,
        skipped,
        failed,
        identities: sections.identities,
        account: sections.account,
        notes,
    };
    lease::confirm(repo, &run.lease).await?;
    manifest.commit(repo).await.map_err(HandlerError::core)?;
    // An account lease that cannot be marked released expires on its own.
    if let Some(account) = &run.account_lease {
        let _ = account_lock::release(env, account).await;
    }
    let _ = lease::release(repo, &run.lease).await;
    Ok(Committed {
        snapshot_id: manifest.id.clone(),
        manifest_key: manifest_key(&manifest.id),
        status: match status {
            SnapshotStatus::Complete => "complete".into(),
            SnapshotStatus::Partial => "partial".into(),
        },
        bundles: manifest.bundles.len(),
        failed: manifest.failed.len(),
    })
}

/// The Catch of the whole run: releases the lease so the next scheduled run need not wait for
/// it to expire; nothing is committed.
pub async fn abort_run(env: &Env, input: AbortInput) -> Result<RunInput, HandlerError> {
    let run: RunRecord = state::get(&env.repository, &state::run_key(&input.run_id)).await?;
    if let Some(account) = &run.account_lease {
        account_lock::release(env, account).await?;
    }
    lease::release(&env.repository, &run.lease).await?;
    Ok(RunInput { run_id: run.run_id })
}
