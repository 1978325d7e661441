//! What a backup run split into steps keeps between them (a scheduled run's states are separate
//! processes): the run record, the plan, the sections' result and one result per planned bundle,
//! all under `runs/<run-id>/` ([`crate::repository::layout`]), written create-only, so a step
//! retried after it wrote finds its result and does not redo it. Also the small values the steps
//! hand back to their driver.

use crate::asset::AssetType;
use crate::backup::filter::SkippedAsset;
use crate::backup::plan::PlannedBundle;
use crate::repository::layout::{schema_v1, SCHEMA_VERSION};
use crate::repository::layout::{ObjectKind, RepoFile};
use crate::repository::manifest::{BackupMode, BundleRecord, FailReason, FailedAsset};
use crate::repository::ObjectRef;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `runs/<run-id>/run.json`: the run, and the locks its driver holds for it (`L`, flattened
/// into the record, so each driver keeps its own lease records).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord<L> {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub mode: BackupMode,
    #[serde(flatten)]
    pub locks: L,
}

impl<L> RunRecord<L> {
    pub fn new(run_id: String, started_at: DateTime<Utc>, mode: BackupMode, locks: L) -> Self {
        RunRecord {
            schema: SCHEMA_VERSION,
            run_id,
            started_at,
            mode,
            locks,
        }
    }
}

/// `runs/<run-id>/plan.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanDocument {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub discovered: BTreeMap<AssetType, usize>,
    pub skipped: Vec<SkippedAsset>,
    pub notes: Vec<String>,
    pub bundles: Vec<PlannedBundle>,
    /// Direct dependencies by ARN, for isolating the assets that break a bundle.
    pub dependencies: Vec<(String, Vec<String>)>,
}

impl Default for PlanDocument {
    fn default() -> Self {
        PlanDocument {
            schema: SCHEMA_VERSION,
            discovered: BTreeMap::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
            bundles: Vec::new(),
            dependencies: Vec::new(),
        }
    }
}

impl PlanDocument {
    /// Assets planned for export.
    pub fn asset_count(&self) -> usize {
        self.bundles.iter().map(|b| b.assets.len()).sum()
    }
}

/// `runs/<run-id>/sections.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionsResult {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub identities: Option<ObjectRef>,
    pub account: Option<ObjectRef>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// Users, groups and memberships stored per namespace; absent in records of older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_counts: Option<Vec<crate::repository::manifest::NamespaceCounts>>,
}

impl Default for SectionsResult {
    fn default() -> Self {
        SectionsResult {
            schema: SCHEMA_VERSION,
            identities: None,
            account: None,
            errors: Vec::new(),
            notes: Vec::new(),
            identity_counts: None,
        }
    }
}

/// `runs/<run-id>/bundles/<n>.json`: what became of one planned bundle (several stored bundles
/// when assets had to be isolated).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleResult {
    #[serde(default = "schema_v1")]
    pub schema: u32,
    pub bundles: Vec<BundleRecord>,
    pub failed: Vec<FailedAsset>,
    pub skipped: Vec<SkippedAsset>,
    pub notes: Vec<String>,
}

impl Default for BundleResult {
    fn default() -> Self {
        BundleResult {
            schema: SCHEMA_VERSION,
            bundles: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl BundleResult {
    /// Every asset of `bundle` failed for `reason`.
    pub fn all_failed(bundle: &PlannedBundle, reason: FailReason, message: &str) -> Self {
        BundleResult {
            failed: FailedAsset::all_of(bundle, reason, message),
            ..Default::default()
        }
    }
}

/// Where one bundle's export stands; a driver polls a `Running` one again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportStatus {
    /// The job runs: wait and check again.
    Running,
    /// The bundle's result is recorded.
    Done,
}

/// One bundle's export between two checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportProgress {
    pub status: ExportStatus,
    pub job_id: Option<String>,
}

impl ExportProgress {
    pub fn done(job_id: Option<String>) -> Self {
        ExportProgress {
            status: ExportStatus::Done,
            job_id,
        }
    }
    pub fn running(job_id: String) -> Self {
        ExportProgress {
            status: ExportStatus::Running,
            job_id: Some(job_id),
        }
    }
}

impl<L: Serialize + DeserializeOwned> RepoFile for RunRecord<L> {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run record";
}

impl RepoFile for PlanDocument {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run plan";
}

impl RepoFile for SectionsResult {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run sections result";
}

impl RepoFile for BundleResult {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run bundle result";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_status_reads_as_the_state_machine_compares_it() {
        assert_eq!(serde_json::to_value(ExportStatus::Running).unwrap(), "RUNNING");
        assert_eq!(serde_json::to_value(ExportStatus::Done).unwrap(), "DONE");
    }
}
