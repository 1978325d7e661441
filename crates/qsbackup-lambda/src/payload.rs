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
}
