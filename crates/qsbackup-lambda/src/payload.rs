//! The JSON passed between states: run ids, bundle numbers, job ids and counts, never a plan.

use qsbackup_core::backup::state::ExportStatus;
use qsbackup_core::repository::manifest::SnapshotStatus;
use serde::{Deserialize, Serialize};

/// Output of begin-run: what every later state carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunStarted {
    pub run_id: String,
    /// Read by the Map state's `MaxConcurrencyPath`.
    pub max_concurrency: u32,
    /// Read by the Wait state's `SecondsPath`.
    pub poll_seconds: u32,
}

/// Input of the states that only need the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInput {
    pub run_id: String,
}

/// Output of identities: whether the sections were stored (details are in the repository).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionsDone {
    pub run_id: String,
    pub stored: Vec<String>,
    pub errors: usize,
}

/// Output of discover-and-plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub run_id: String,
    /// Where the plan is: `runs/<run-id>/plan.json`.
    pub plan_key: String,
    pub bundle_count: usize,
    pub asset_count: usize,
    /// Bundle numbers 0..bundle_count, the Map state's items.
    pub bundles: Vec<usize>,
}

/// One Map item: a bundle of the run's plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleInput {
    pub run_id: String,
    pub bundle: usize,
    #[serde(default)]
    pub poll_seconds: Option<u32>,
}

/// Where one bundle's export stands; the polling loop's Choice reads `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportState {
    pub run_id: String,
    pub bundle: usize,
    /// `RUNNING` (wait and check again) or `DONE` (its result is recorded).
    pub status: ExportStatus,
    pub job_id: Option<String>,
    pub polls: u32,
    pub poll_seconds: u32,
}

/// The error a Catch puts at `$.error`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// Input of record-bundle-failure (a bundle state's input plus the caught error).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleFailure {
    pub run_id: String,
    pub bundle: usize,
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// Input of abort-run: any state's input with the caught error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbortInput {
    pub run_id: String,
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// Output of commit-snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Committed {
    pub snapshot_id: String,
    pub manifest_key: String,
    /// `complete` or `partial`.
    pub status: SnapshotStatus,
    pub bundles: usize,
    pub failed: usize,
    /// `reports/<id>.html` when `report.html: true` wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Why the report could not be written (the snapshot stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
}

/// Input of the drill handler: `{"drill": {...}}`, the constant input of the monthly rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillInput {
    pub drill: DrillRequest,
}

/// What to drill and where, as `qsbackup drill`'s arguments say it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// A snapshot id, a unique prefix of one, or `latest`.
    #[serde(default = "latest")]
    pub snapshot: String,
    /// The recovery account to restore into.
    pub target_account: String,
    /// Defaults to the config's region.
    #[serde(default)]
    pub target_region: Option<String>,
    /// Defaults to the target region.
    #[serde(default)]
    pub identity_region: Option<String>,
    /// A role of the recovery account the drill assumes for its QuickSight calls; without it the
    /// function's own role makes them (which only reaches the function's own account).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// Prefix for the id of every restored asset (`--prefix`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// The overrides file's content, as JSON (`--overrides`).
    #[serde(default)]
    pub overrides: Option<serde_json::Value>,
    /// Restore users, groups and memberships too (`false` is `--no-identities`).
    #[serde(default = "yes")]
    pub identities: bool,
    /// Delete what the drill created once checked (`--teardown`).
    #[serde(default)]
    pub teardown: bool,
}

fn latest() -> String {
    "latest".into()
}

fn yes() -> bool {
    true
}

/// Output of a drill that passed; the whole record is `drills/<drill_id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillSummary {
    pub drill_id: String,
    pub snapshot_id: String,
    /// Where the record is, relative to the repository.
    pub record_key: String,
    pub passed: bool,
    pub rto_seconds: f64,
    pub rpo_seconds: i64,
    pub assets_total: usize,
    pub assets_equal: usize,
    pub assets_different: usize,
    pub assets_not_recovered: usize,
    pub identities_missing: usize,
    /// Objects the teardown could not delete (`null` without teardown).
    pub teardown_failed: Option<usize>,
}
