//! The repository's history, gathered for the HTML report: snapshots over time, what changed
//! between consecutive snapshots, failures by root cause, every asset's log and, for dashboards
//! and analyses, their dependency graph; identities and drills. [`ReportData`] is what the page
//! shows, whole; [`super::html`] only draws it.

mod gather;
mod graph;

pub use gather::build;

use crate::history::log::LogEntry;
use crate::repository::manifest::{NamespaceCounts, SnapshotStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Change lines kept per snapshot: a first backup after a scope change can add thousands, and
/// the page of a 10,000-asset account with 30 snapshots must stay within 10 MB (200 lines a
/// snapshot measure about 8 MB there). `qsbackup diff` lists them all.
pub const MAX_CHANGE_LINES: usize = 200;

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// The repository's location, as the user named it.
    pub repository: String,
    pub generated_at: DateTime<Utc>,
    pub tool_version: String,
    /// Oldest first.
    pub snapshots: Vec<SnapshotPoint>,
    /// Every asset any snapshot stored, failed or skipped, sorted by type then name.
    pub assets: Vec<AssetHistory>,
    /// Oldest first; empty when the repository has none.
    pub drills: Vec<DrillPoint>,
    /// Manifests that could not be read: (key, why).
    pub unreadable: Vec<(String, String)>,
}

/// One snapshot, as a point of the history chart and a section of the page.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotPoint {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: SnapshotStatus,
    pub account_id: String,
    pub region: String,
    /// Stored assets by bundle member type (`dashboard`, `dataset`, ...).
    pub assets_by_type: BTreeMap<String, usize>,
    pub stored: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Bytes of the bundles and sections the snapshot references.
    pub bytes: u64,
    /// What changed since the previous snapshot of the same account and region; `None` for
    /// the first. At most [`MAX_CHANGE_LINES`] lines; `changes_total` counts them all.
    pub changes: Option<Vec<ChangeLine>>,
    pub changes_total: usize,
    /// Failed assets grouped by the asset whose failure they inherit.
    pub failures: Vec<FailureGroup>,
    /// Skipped assets grouped by reason.
    pub skips: Vec<SkipGroup>,
    /// Users, groups and memberships per namespace; `None` when none were stored.
    pub identities: Option<Vec<NamespaceCounts>>,
    /// Parts of the account configuration present (`account_settings`, `brands/<id>`, ...).
    pub account_parts: Vec<String>,
    /// Parts of the account configuration changed since the previous snapshot.
    pub account_changes: Vec<String>,
    pub notes: Vec<String>,
}

/// One change of one asset between two snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeLine {
    /// `dashboard/<id>`: the key of the asset in [`ReportData::assets`].
    pub asset: String,
    pub name: Option<String>,
    pub kind: ChangeKind,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// Failed assets that share a root cause.
#[derive(Debug, Clone, Serialize)]
pub struct FailureGroup {
    /// The asset whose failure the others inherit (`dataset/<id>`), with its name if known.
    pub root: String,
    pub root_name: Option<String>,
    pub message: String,
    pub acknowledged: bool,
    /// The assets that failed because of it (`dashboard/<id>`), the root excluded.
    pub dependents: Vec<String>,
}

/// Skipped assets that share a reason.
#[derive(Debug, Clone, Serialize)]
pub struct SkipGroup {
    pub reason: String,
    pub message: String,
    /// `dataset/<id>` keys.
    pub assets: Vec<String>,
}

/// One asset across the repository's history.
#[derive(Debug, Clone, Serialize)]
pub struct AssetHistory {
    /// `dashboard/<id>` (bundle member type and id).
    pub key: String,
    pub asset_type: String,
    pub id: String,
    /// The latest known name.
    pub name: Option<String>,
    /// Its status in the newest snapshot.
    pub latest: AssetStatus,
    pub log: Vec<LogEntry>,
    /// For dashboards and analyses: what they need, from the newest stored definition.
    pub graph: Option<DependencyGraph>,
}

/// An asset's state in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Stored,
    Failed,
    Skipped,
    /// Not in the snapshot at all: deleted from QuickSight, or out of the run's scope.
    Absent,
}

/// A dashboard's or analysis's dependencies: nodes are assets, edges point from the asset
/// that needs to the asset needed (dashboard → dataset → data source → VPC connection; a theme;
/// the folders that hold it point to it).
#[derive(Debug, Clone, Serialize)]
pub struct DependencyGraph {
    pub nodes: Vec<GraphNode>,
    /// Indices into `nodes`: (from, to).
    pub edges: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    /// `dataset/<id>`.
    pub key: String,
    pub asset_type: String,
    pub name: Option<String>,
    /// Its status in the newest snapshot.
    pub status: AssetStatus,
}

/// One recorded drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillPoint {
    pub drill_id: String,
    pub snapshot_id: String,
    pub started_at: DateTime<Utc>,
    pub rto_seconds: f64,
    pub rpo_seconds: i64,
    pub assets_total: usize,
    pub assets_equal: usize,
    pub assets_different: usize,
    pub assets_not_recovered: usize,
    /// The drill's verdict, as recorded (`qsbackup drills`).
    pub passed: bool,
}
