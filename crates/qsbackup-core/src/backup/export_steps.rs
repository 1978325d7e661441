//! One planned bundle's export as steps: [`Steps::start_export`] starts its job,
//! [`Steps::check_export`] describes it once per call; a finished job (or a start QuickSight
//! refuses) is handed to the engine's [`Exporter`], which stores the bundle and its member
//! inventory, or isolates the assets that break it and exports the rest, exactly as in one
//! process. The result goes to `runs/<run-id>/bundles/<n>.json`.

use super::state::{BundleResult, ExportProgress, PlanDocument, RunRecord};
use super::steps::Steps;
use crate::asset::AssetType;
use crate::aws::service_error;
use crate::backup::export::{start_attempt, DependencyIndex, ExportSettings, Exporter, KeyLayout, StartAttempt};
use crate::backup::plan::BundlePlan;
use crate::error::Result;
use crate::events::NoProgress;
use crate::repository::journal::ExportJournal;
use crate::repository::layout;
use crate::repository::manifest::{BundleRecord, FailReason};
use async_trait::async_trait;
use aws_sdk_quicksight::types::AssetBundleExportJobStatus;
use std::sync::Mutex;
use std::time::Duration;

/// The job id of bundle `n` of a run (the engine's own jobs for it add `-<k>`).
fn job_id(run_id: &str, bundle: usize) -> String {
    format!("qsbackup-{run_id}-b{bundle}")
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

/// Hands the engine the job the driver started, once.
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

impl Steps<'_> {
    fn settings(&self, max_concurrent_jobs: usize) -> ExportSettings {
        let b = &self.config.backup;
        ExportSettings {
            format: b.export_format,
            include_dependencies: b.include_dependencies,
            include_permissions: b.include_permissions,
            include_tags: b.include_tags,
            include_folder_memberships: b.include_folder_memberships,
            max_concurrent_jobs,
            job_timeout: Duration::from_secs(b.job_timeout_seconds).min(self.budget),
            tuning: self.tuning.clone(),
        }
    }

    async fn recorded(&self, run_id: &str, bundle: usize) -> Result<bool> {
        Ok(self
            .repository
            .head(&layout::run_bundle_key(run_id, bundle))
            .await?
            .is_some())
    }

    /// Starts bundle `bundle`'s export job. The account at its job limit or a throttled call is
    /// an error the driver retries later; a start QuickSight refuses goes to the engine, which
    /// isolates the assets it names and exports the rest.
    pub async fn start_export<L>(&self, run: &RunRecord<L>, bundle: usize) -> Result<ExportProgress> {
        if self.recorded(&run.run_id, bundle).await? {
            return Ok(ExportProgress::done(None));
        }
        let plan = self.load_plan(&run.run_id).await?;
        let b = self.planned(&run.run_id, &plan, bundle)?;
        let id = job_id(&run.run_id, bundle);
        let arns: Vec<String> = b.assets.iter().map(|a| a.arn.clone()).collect();
        match start_attempt(self.aws, &self.settings(1), &id, &arns, false).await {
            StartAttempt::Started => Ok(ExportProgress::running(id)),
            StartAttempt::AtJobLimit(e) | StartAttempt::Throttled(e) => Err(e),
            StartAttempt::Refused(_) | StartAttempt::Gone(_) | StartAttempt::Failed(_) => {
                self.store_with_engine(run, &plan, bundle, None).await?;
                Ok(ExportProgress::done(None))
            }
        }
    }

    /// Describes bundle `bundle`'s job `job_id` once, `waited` after it started: a finished
    /// job is stored (or its failure isolated); one that ran past `backup.job_timeout_seconds`
    /// fails its assets as timed out.
    pub async fn check_export<L>(
        &self,
        run: &RunRecord<L>,
        bundle: usize,
        job_id: Option<String>,
        waited: Duration,
    ) -> Result<ExportProgress> {
        if self.recorded(&run.run_id, bundle).await? {
            return Ok(ExportProgress::done(job_id));
        }
        let plan = self.load_plan(&run.run_id).await?;
        let Some(id) = job_id else {
            self.store_with_engine(run, &plan, bundle, None).await?;
            return Ok(ExportProgress::done(None));
        };
        let described = self
            .aws
            .quicksight
            .describe_asset_bundle_export_job()
            .aws_account_id(&self.aws.account_id)
            .asset_bundle_export_job_id(&id)
            .send()
            .await
            .map_err(|e| service_error("DescribeAssetBundleExportJob", &id, &e))?;
        let finished = matches!(
            described.job_status(),
            Some(AssetBundleExportJobStatus::Successful) | Some(AssetBundleExportJobStatus::Failed)
        );
        if finished {
            self.store_with_engine(run, &plan, bundle, Some(id.clone())).await?;
            return Ok(ExportProgress::done(Some(id)));
        }
        let timeout = self.config.backup.job_timeout_seconds;
        if waited > Duration::from_secs(timeout) {
            let b = self.planned(&run.run_id, &plan, bundle)?;
            let message = format!("export job {id} did not finish within {timeout} s");
            let result = BundleResult::all_failed(b, FailReason::ExportTimedOut, &message);
            self.repository
                .write_record_once(&layout::run_bundle_key(&run.run_id, bundle), &result)
                .await?;
            return Ok(ExportProgress::done(Some(id)));
        }
        Ok(ExportProgress::running(id))
    }

    /// Exports one planned bundle with the engine (waiting for `adopt` when given) and records
    /// the result.
    async fn store_with_engine<L>(
        &self,
        run: &RunRecord<L>,
        plan: &PlanDocument,
        bundle: usize,
        adopt: Option<String>,
    ) -> Result<()> {
        let b = self.planned(&run.run_id, plan, bundle)?;
        let layout = KeyLayout {
            date_prefix: self.config.prefix_format().format(run.started_at.date_naive()),
            tag: crate::repository::layout::bundle_tag(&self.aws.account_id, &self.aws.region, run.started_at),
        };
        let dependencies = DependencyIndex::new(plan.dependencies.iter().cloned());
        let journal = AdoptOnce(Mutex::new(adopt));
        let exporter = Exporter::new(
            self.aws,
            self.repository,
            self.settings(1),
            &NoProgress,
            &format!("{}-b{bundle}", run.run_id),
            layout,
            dependencies,
        )?
        .with_split_offset(split_offset(plan, bundle))
        .with_existing_bundles_adopted()
        .with_deadline(crate::poll::deadline_after(self.budget))
        .with_journal(&journal);
        let outcome = exporter
            .export(&BundlePlan {
                bundles: vec![b.clone()],
            })
            .await;
        let result = BundleResult {
            bundles: outcome.bundles,
            failed: outcome.failed,
            skipped: outcome.skipped,
            notes: outcome.notes,
            ..Default::default()
        };
        self.repository
            .write_record_once(&layout::run_bundle_key(&run.run_id, bundle), &result)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::plan::{BundleAsset, PlannedBundle};

    fn bundle(asset_type: AssetType, number: usize, of: usize, assets: usize) -> PlannedBundle {
        PlannedBundle {
            asset_type,
            number,
            of,
            assets: (0..assets)
                .map(|i| BundleAsset {
                    arn: format!("arn:{i}"),
                    name: format!("n{i}"),
                    last_updated: None,
                })
                .collect(),
        }
    }

    #[test]
    fn bundles_of_one_type_get_disjoint_split_numbers() {
        let plan = PlanDocument {
            bundles: vec![
                bundle(AssetType::Dashboard, 1, 3, 5),
                bundle(AssetType::DataSet, 1, 1, 7),
                bundle(AssetType::Dashboard, 2, 3, 4),
                bundle(AssetType::Dashboard, 3, 3, 2),
            ],
            ..Default::default()
        };
        let offsets: Vec<usize> = (0..4).map(|i| split_offset(&plan, i)).collect();
        assert_eq!(offsets, vec![0, 0, 10, 18]);
        // Each bundle's range [offset, offset + 2 * assets) is its own.
        assert!(offsets[0] + 2 * 5 <= offsets[2] && offsets[2] + 2 * 4 <= offsets[3]);
    }
}
