//! One bundle's export in the workflow's polling loop: start-export starts the job, check-export
//! describes it once per Wait; a finished job (or a start QuickSight refuses) is handed to the
//! engine's [`Exporter`], which stores the bundle and its member inventory, or isolates the
//! assets that break it and exports the rest, exactly as a CLI run would.

use super::{load_plan, touch};
use crate::payload::{BundleInput, ExportState};
use crate::state::{self, BundleResult, PlanDocument, RunRecord};
use crate::{Env, HandlerError};
use async_trait::async_trait;
use aws_sdk_quicksight::error::ProvideErrorMetadata;
use aws_sdk_quicksight::types::{AssetBundleExportFormat, AssetBundleExportJobStatus};
use qsbackup_core::asset::AssetType;
use qsbackup_core::backup::export::{DependencyIndex, ExportSettings, Exporter, KeyLayout};
use qsbackup_core::backup::plan::{BundleAsset, BundlePlan, PlannedBundle};
use qsbackup_core::events::NoProgress;
use qsbackup_core::repository::journal::ExportJournal;
use qsbackup_core::repository::manifest::{BundleRecord, FailReason, FailedAsset};
use std::sync::Mutex;
use std::time::Duration;

/// The job id of bundle `n` of a run (the engine's own jobs for it add `-<k>`).
fn job_id(run_id: &str, bundle: usize) -> String {
    format!("qsbackup-{run_id}-b{bundle}")
}

fn state(env: &Env, input: &BundleInput, status: &str, job: Option<String>, polls: u32) -> ExportState {
    ExportState {
        run_id: input.run_id.clone(),
        bundle: input.bundle,
        status: status.to_string(),
        job_id: job,
        polls,
        poll_seconds: input.poll_seconds.unwrap_or(env.poll_seconds),
    }
}

fn planned(plan: &PlanDocument, bundle: usize) -> Result<&crate::state::PlanBundle, HandlerError> {
    plan.bundles
        .get(bundle)
        .ok_or_else(|| HandlerError::new("BadInput", format!("the plan has no bundle {bundle}")))
}

/// Split numbers reserved for the bundles of `bundle`'s type planned before it: every bundle gets
/// its own exporter, and all share the run's key layout, so each numbers its split parts past
/// the parts the earlier bundles could use (at most two per asset) and no two keys collide.
fn split_offset(plan: &PlanDocument, bundle: usize) -> usize {
    let Some(b) = plan.bundles.get(bundle) else {
        return 0;
    };
    plan.bundles[..bundle]
        .iter()
        .filter(|p| p.asset_type == b.asset_type)
        .map(|p| 2 * p.assets.len())
        .sum()
}

/// Starts bundle `input.bundle`'s export job.
pub async fn start_export(env: &Env, input: BundleInput) -> Result<ExportState, HandlerError> {
    let run = touch(env, &input.run_id).await?;
    if state::exists(&env.repository, &state::bundle_key(&run.run_id, input.bundle)).await? {
        return Ok(state(env, &input, "DONE", None, 0));
    }
    let plan = load_plan(env, &run.run_id).await?;
    let b = planned(&plan, input.bundle)?;
    let id = job_id(&run.run_id, input.bundle);
    let s = &env.config.backup;
    let started = env
        .aws
        .quicksight
        .start_asset_bundle_export_job()
        .aws_account_id(&env.aws.account_id)
        .asset_bundle_export_job_id(&id)
        .set_resource_arns(Some(b.assets.iter().map(|(arn, _)| arn.clone()).collect()))
        .export_format(AssetBundleExportFormat::from(s.export_format.as_str()))
        .include_all_dependencies(s.include_dependencies)
        .include_permissions(s.include_permissions)
        .include_tags(s.include_tags)
        .include_folder_memberships(s.include_folder_memberships)
        .send()
        .await;
    match started {
        Ok(_) => Ok(state(env, &input, "RUNNING", Some(id), 0)),
        Err(e) => match e.code() {
            // The workflow's Retry waits for a job slot (other users of the account hold some).
            Some("LimitExceededException") => Err(HandlerError::new(
                "QuickSightLimitExceeded",
                format!("export job {id}: the account is at its concurrent export job limit"),
            )),
            Some("ThrottlingException") => Err(HandlerError::new(
                "QuickSightThrottling",
                format!("export job {id}: StartAssetBundleExportJob was throttled"),
            )),
            // Our earlier attempt got through but its answer was lost.
            Some("ConflictException") | Some("ResourceExistsException") => {
                Ok(state(env, &input, "RUNNING", Some(id), 0))
            }
            // Refused or gone assets: the engine isolates them and exports the rest.
            _ => {
                store_with_engine(env, &run, &plan, input.bundle, None).await?;
                Ok(state(env, &input, "DONE", None, 0))
            }
        },
    }
}

/// Describes the bundle's job once; a finished job is stored (or its failure isolated).
pub async fn check_export(env: &Env, input: ExportState) -> Result<ExportState, HandlerError> {
    let bundle_input = BundleInput {
        run_id: input.run_id.clone(),
        bundle: input.bundle,
        poll_seconds: Some(input.poll_seconds),
    };
    let run = touch(env, &input.run_id).await?;
    if state::exists(&env.repository, &state::bundle_key(&run.run_id, input.bundle)).await? {
        return Ok(state(env, &bundle_input, "DONE", input.job_id, input.polls));
    }
    let plan = load_plan(env, &run.run_id).await?;
    let Some(id) = input.job_id.clone() else {
        store_with_engine(env, &run, &plan, input.bundle, None).await?;
        return Ok(state(env, &bundle_input, "DONE", None, input.polls));
    };
    let described = env
        .aws
        .quicksight
        .describe_asset_bundle_export_job()
        .aws_account_id(&env.aws.account_id)
        .asset_bundle_export_job_id(&id)
        .send()
        .await
        .map_err(|e| {
            let kind = match e.code() {
                Some("ThrottlingException") => "QuickSightThrottling",
                _ => "QuickSightError",
            };
            HandlerError::new(
                kind,
                format!("DescribeAssetBundleExportJob {id}: {}", e.message().unwrap_or("failed")),
            )
        })?;
    let finished = matches!(
        described.job_status(),
        Some(AssetBundleExportJobStatus::Successful) | Some(AssetBundleExportJobStatus::Failed)
    );
    if finished {
        store_with_engine(env, &run, &plan, input.bundle, Some(id.clone())).await?;
        return Ok(state(env, &bundle_input, "DONE", Some(id), input.polls + 1));
    }
    let waited = u64::from(input.polls + 1) * u64::from(input.poll_seconds);
    if waited > env.config.backup.job_timeout_seconds {
        let b = planned(&plan, input.bundle)?;
        let message = format!(
            "export job {id} did not finish within {} s",
            env.config.backup.job_timeout_seconds
        );
        let result = BundleResult {
            failed: b
                .assets
                .iter()
                .map(|(arn, name)| FailedAsset {
                    arn: arn.clone(),
                    asset_type: b.asset_type,
                    name: name.clone(),
                    reason: FailReason::ExportTimedOut,
                    message: message.clone(),
                })
                .collect(),
            ..Default::default()
        };
        state::put(&env.repository, &state::bundle_key(&run.run_id, input.bundle), &result).await?;
        return Ok(state(env, &bundle_input, "DONE", Some(id), input.polls + 1));
    }
    Ok(state(env, &bundle_input, "RUNNING", Some(id), input.polls + 1))
}

/// Hands the engine the job this state machine started, once.
struct AdoptOnce(Mutex<Option<String>>);

#[async_trait]
impl ExportJournal for AdoptOnce {
    fn adopt(&self, _asset_type: AssetType, _arns: &[String]) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
    async fn job_started(&self, _job_id: &str, _asset_type: AssetType, _arns: &[String]) {}
    async fn storing(&self, _job_id: &str, _key: &str) {}
    async fn bundle_stored(&self, _bundle: &BundleRecord) {}
}

/// Exports one planned bundle with the engine (waiting for `adopt` when given) and records the
/// result under `runs/<run-id>/bundles/<n>.json`.
async fn store_with_engine(
    env: &Env,
    run: &RunRecord,
    plan: &PlanDocument,
    bundle: usize,
    adopt: Option<String>,
) -> Result<(), HandlerError> {
    let b = planned(plan, bundle)?;
    let s = &env.config.backup;
    // The call must return before the function's Timeout; what is unfinished by then is
    // recorded as timed out rather than lost with a killed invocation.
    let deadline = qsbackup_core::poll::deadline_after(env.handler_budget);
    let settings = ExportSettings {
        format: s.export_format,
        include_dependencies: s.include_dependencies,
        include_permissions: s.include_permissions,
        include_tags: s.include_tags,
        include_folder_memberships: s.include_folder_memberships,
        max_concurrent_jobs: 1,
        job_timeout: Duration::from_secs(s.job_timeout_seconds).min(env.handler_budget),
        tuning: env.tuning.clone(),
    };
    let layout = KeyLayout {
        date_prefix: env.config.prefix_format().format(run.started_at.date_naive()),
        hhmmss: run.started_at.format("%H%M%S").to_string(),
    };
    let dependencies = DependencyIndex::new(plan.dependencies.iter().cloned());
    let exporter = Exporter::new(
        &env.aws,
        &env.repository,
        settings,
        &NoProgress,
        &format!("{}-b{bundle}", run.run_id),
        layout,
        dependencies,
    )
    .map_err(HandlerError::core)?
    .with_split_offset(split_offset(plan, bundle))
    .with_existing_bundles_adopted()
    .with_deadline(deadline);
    let journal = AdoptOnce(Mutex::new(adopt));
    let exporter = exporter.with_journal(&journal);
    let one = BundlePlan {
        bundles: vec![PlannedBundle {
            asset_type: b.asset_type,
            number: b.number,
            of: b.of,
            assets: b
                .assets
                .iter()
                .map(|(arn, name)| BundleAsset {
                    arn: arn.clone(),
                    name: name.clone(),
                })
                .collect(),
        }],
    };
    let outcome = exporter.export(&one).await;
    let result = BundleResult {
        bundles: outcome.bundles,
        failed: outcome.failed,
        skipped: outcome.skipped,
        notes: outcome.notes,
    };
    state::put(&env.repository, &state::bundle_key(&run.run_id, bundle), &result).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::PlanBundle;

    fn bundle(asset_type: AssetType, number: usize, of: usize, assets: usize) -> PlanBundle {
        PlanBundle {
            asset_type,
            number,
            of,
            assets: (0..assets).map(|i| (format!("arn:{i}"), format!("n{i}"))).collect(),
        }
    }

    #[test]
    fn bundles_of_one_type_get_disjoint_split_numbers() {
        let plan = PlanDocument {
            discovered: Default::default(),
            skipped: vec![],
            notes: vec![],
            bundles: vec![
                bundle(AssetType::Dashboard, 1, 3, 5),
                bundle(AssetType::DataSet, 1, 1, 7),
                bundle(AssetType::Dashboard, 2, 3, 4),
                bundle(AssetType::Dashboard, 3, 3, 2),
            ],
            dependencies: vec![],
        };
        let offsets: Vec<usize> = (0..4).map(|i| split_offset(&plan, i)).collect();
        assert_eq!(offsets, vec![0, 0, 10, 18]);
        // Each bundle's range [offset, offset + 2 * assets) is its own.
        assert!(offsets[0] + 2 * 5 <= offsets[2] && offsets[2] + 2 * 4 <= offsets[3]);
    }
}
