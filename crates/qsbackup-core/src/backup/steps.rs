//! A backup run as steps over state kept in the repository ([`super::state`]), for a driver
//! whose steps run in separate processes (the Step Functions workflow): begin run, back up the
//! sections, plan, start export, check export, record a failure, commit, abort. Each step is
//! idempotent: retried after it wrote its result, it finds that result and returns it. The
//! driver holds the run's locks and renews them between steps; the commit confirms them through
//! [`HeldLock`].

use super::commit::{assemble_manifest, commit, HeldLock, RunParts};
use super::state::{BundleResult, PlanDocument, RunRecord, SectionsResult};
use super::{plan_assets, BackupOptions, SnapshotSection};
use crate::aws::AwsContext;
use crate::backup::export::Tuning;
use crate::backup::plan::PlannedBundle;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::NoProgress;
use crate::repository::layout;
use crate::repository::manifest::{FailReason, FailedAsset, SnapshotManifest};
use crate::repository::Repository;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// What every step works with.
pub struct Steps<'a> {
    pub config: &'a Config,
    pub aws: &'a AwsContext,
    pub repository: &'a Repository,
    pub tuning: Tuning,
    /// How long one step may wait on export jobs: what is unfinished by then is recorded as
    /// timed out rather than lost with a step its driver kills.
    pub budget: Duration,
}

/// Longest failure message a bundle result keeps per asset.
const MAX_FAILURE_MESSAGE: usize = 1000;

fn truncated(mut message: String) -> String {
    if message.len() > MAX_FAILURE_MESSAGE {
        let mut end = MAX_FAILURE_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

impl Steps<'_> {
    /// Records a run its driver has taken the locks for.
    pub async fn begin_run<L: Serialize + DeserializeOwned>(&self, run: &RunRecord<L>) -> Result<()> {
        self.repository
            .write_record(&layout::run_record_key(&run.run_id), run)
            .await
            .map(|_| ())
    }

    /// The record of run `run_id`.
    pub async fn load_run<L: Serialize + DeserializeOwned>(&self, run_id: &str) -> Result<RunRecord<L>> {
        self.repository.read_record(&layout::run_record_key(run_id)).await
    }

    /// The plan of run `run_id`.
    pub async fn load_plan(&self, run_id: &str) -> Result<PlanDocument> {
        self.repository.read_record(&layout::run_plan_key(run_id)).await
    }

    /// Backs up identities and account settings (those the run's mode includes). A failed
    /// section is recorded, not raised, so the snapshot is committed `partial` as a CLI run's.
    pub async fn back_up_sections<L>(
        &self,
        run: &RunRecord<L>,
        identities: &dyn SnapshotSection,
        account: &dyn SnapshotSection,
    ) -> Result<SectionsResult> {
        let key = layout::run_sections_key(&run.run_id);
        if let Some(done) = self.repository.read_record_if_any(&key).await? {
            return Ok(done);
        }
        let mut result = SectionsResult::default();
        if run.mode.includes_identities() {
            result.identities = self
                .section(run, identities, &layout::identities_key(&run.run_id), &mut result)
                .await?;
        }
        if run.mode.includes_assets() {
            result.account = self
                .section(run, account, &layout::account_key(&run.run_id), &mut result)
                .await?;
        }
        self.repository.write_record_once(&key, &result).await?;
        Ok(result)
    }

    async fn section<L>(
        &self,
        run: &RunRecord<L>,
        section: &dyn SnapshotSection,
        key: &str,
        result: &mut SectionsResult,
    ) -> Result<Option<crate::repository::ObjectRef>> {
        // A retried step finds what an earlier attempt stored before it failed (e.g. during the
        // DynamoDB writes): no snapshot references it yet, so it is written again.
        if self.repository.head(key).await?.is_some() {
            self.repository.delete(key).await?;
        }
        let stored = match section.backup(&run.run_id, self.repository, &NoProgress).await {
            Ok(object) => Some(object),
            Err(e) => {
                result.errors.push(format!("{} backup failed: {e}", section.kind()));
                None
            }
        };
        result.notes.extend(section.notes());
        if stored.is_some() {
            if let Some(counts) = section.identity_counts() {
                result.identity_counts = Some(counts);
            }
        }
        Ok(stored)
    }

    /// Discovers, filters and plans; the plan is kept in the repository.
    pub async fn plan<L>(&self, run: &RunRecord<L>) -> Result<PlanDocument> {
        let key = layout::run_plan_key(&run.run_id);
        let plan = if !run.mode.includes_assets() {
            PlanDocument::default()
        } else if let Some(plan) = self.repository.read_record_if_any(&key).await? {
            plan
        } else {
            let options = BackupOptions {
                tuning: self.tuning.clone(),
                ..Default::default()
            };
            let (plan, inventory) = plan_assets(self.config, self.aws, &NoProgress, &options).await?;
            PlanDocument {
                discovered: plan.discovered,
                skipped: plan.skipped,
                notes: plan.notes,
                bundles: plan.bundles.bundles,
                dependencies: inventory
                    .assets
                    .into_iter()
                    .map(|a| (a.arn, a.depends_on.unwrap_or_default()))
                    .collect(),
                ..Default::default()
            }
        };
        self.repository.write_record_once(&key, &plan).await?;
        Ok(plan)
    }

    /// Records every asset of bundle `bundle` as failed with `message` (the driver caught an
    /// error its retries did not cure), so the run goes on and commits a `partial` snapshot.
    pub async fn record_failure<L>(&self, run: &RunRecord<L>, bundle: usize, message: String) -> Result<()> {
        let key = layout::run_bundle_key(&run.run_id, bundle);
        if self.repository.head(&key).await?.is_some() {
            return Ok(());
        }
        let plan = self.load_plan(&run.run_id).await?;
        let message = truncated(message);
        let result = BundleResult {
            failed: plan
                .bundles
                .get(bundle)
                .map(|b| FailedAsset::all_of(b, FailReason::ExportError, &message))
                .unwrap_or_default(),
            notes: vec![format!("bundle {bundle} failed in the workflow: {message}")],
            ..Default::default()
        };
        self.repository.write_record_once(&key, &result).await?;
        Ok(())
    }

    /// The snapshot of the run from its plan, sections and bundle results, committed once
    /// `locks` are confirmed; [`Error::NothingStored`] when it stored nothing.
    pub async fn commit<L>(&self, run: &RunRecord<L>, locks: &[&dyn HeldLock]) -> Result<SnapshotManifest> {
        let plan = self.load_plan(&run.run_id).await?;
        let sections: SectionsResult = self
            .repository
            .read_record_if_any(&layout::run_sections_key(&run.run_id))
            .await?
            .unwrap_or_else(|| SectionsResult {
                errors: vec!["the identities state recorded no result".into()],
                ..Default::default()
            });
        let mut parts = RunParts {
            id: run.run_id.clone(),
            started_at: run.started_at,
            mode: run.mode,
            planned: plan.asset_count(),
            skipped: plan.skipped.clone(),
            notes: plan.notes.clone(),
            identities: sections.identities,
            account: sections.account,
            section_errors: sections.errors,
            identity_counts: sections.identity_counts,
            caller: Some(self.aws.caller_arn().await),
            ..Default::default()
        };
        for (n, b) in plan.bundles.iter().enumerate() {
            let key = layout::run_bundle_key(&run.run_id, n);
            let Some(r) = self.repository.read_record_if_any::<BundleResult>(&key).await? else {
                let message = format!("bundle {n} recorded no result");
                parts
                    .failed
                    .extend(FailedAsset::all_of(b, FailReason::ExportError, &message));
                continue;
            };
            parts.bundles.extend(r.bundles);
            parts.failed.extend(r.failed);
            parts.skipped.extend(r.skipped);
            parts.notes.extend(r.notes);
        }
        parts.notes.extend(sections.notes);
        let manifest = assemble_manifest(self.config, self.aws, parts)?;
        commit(self.repository, &manifest, locks).await?;
        Ok(manifest)
    }

    /// The planned bundle `bundle` of `plan`.
    pub(super) fn planned<'p>(&self, run_id: &str, plan: &'p PlanDocument, bundle: usize) -> Result<&'p PlannedBundle> {
        plan.bundles.get(bundle).ok_or_else(|| Error::Integrity {
            key: layout::run_plan_key(run_id),
            message: format!("the plan has no bundle {bundle}"),
        })
    }
}
