//! Progress reporting: the engine tells a [`ProgressSink`] what happens as it happens; only the
//! binary decides whether that becomes bars, log lines or JSON. Events carry names, ARNs, job ids
//! and byte counts, never URLs or credentials.

use crate::asset::AssetType;
use crate::asset::SkipReason;

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Listing of every selected type has begun.
    DiscoveryStarted,
    /// One type has been listed completely.
    AssetsListed { asset_type: AssetType, count: usize },
    /// Describe calls needed by the filter rules: `done` of `total`.
    AssetsDescribed { done: usize, total: usize },
    /// Discovery is over: `total` assets known.
    DiscoveryFinished { total: usize },
    /// An asset will not be exported.
    AssetSkipped {
        arn: String,
        asset_type: AssetType,
        name: String,
        reason: SkipReason,
    },
    /// Bundles are planned. The bundles that follow keep one lifecycle each, keyed by job id:
    /// [`Event::BundleQueued`], then (when QuickSight accepts its job) [`Event::BundleStarted`]
    /// and [`Event::BundleExported`], and always exactly one end: [`Event::BundleStored`],
    /// [`Event::BundleFailed`], [`Event::BundleSplit`] (replaced by the bundles queued next) or
    /// [`Event::BundleAbandoned`]. A bundle a crashed run stored is announced once, by
    /// [`Event::BundleReused`]. So queued + running + storing + stored + failed is the plan,
    /// a split growing or shrinking it.
    PlanReady { bundles: usize, assets: usize },
    /// A bundle stored by a crashed run is part of this snapshot without a new export job.
    BundleReused {
        key: String,
        asset_type: AssetType,
        bytes: u64,
        assets: usize,
    },
    /// A bundle waits for an export slot.
    BundleQueued {
        job_id: String,
        asset_type: AssetType,
        assets: usize,
    },
    /// Its export job has been accepted by QuickSight (or, `resumed`, was taken over from a
    /// crashed run): it holds one of the `max_concurrent_jobs` slots until
    /// [`Event::BundleExported`] or its end.
    BundleStarted {
        job_id: String,
        asset_type: AssetType,
        resumed: bool,
    },
    /// Its export job finished successfully and gave back its slot; the bundle is being
    /// downloaded and stored.
    BundleExported { job_id: String, asset_type: AssetType },
    /// Its export job failed or was refused as a whole; the assets not named as offenders
    /// (those get [`Event::AssetFailed`]) are retried in `into` new bundles (0: none left, e.g.
    /// every asset was deleted meanwhile), each announced by its own [`Event::BundleQueued`].
    BundleSplit {
        job_id: String,
        asset_type: AssetType,
        into: usize,
        message: String,
    },
    /// The bundle is stored and checksummed.
    BundleStored {
        job_id: String,
        asset_type: AssetType,
        key: String,
        bytes: u64,
        members: usize,
    },
    /// The bundle could not be exported or stored; `assets` of its assets are recorded as failed
    /// (each also gets [`Event::AssetFailed`]).
    BundleFailed {
        job_id: String,
        asset_type: AssetType,
        assets: usize,
        message: String,
    },
    /// The run was interrupted before this bundle was stored; the next run exports it again.
    BundleAbandoned { job_id: String, asset_type: AssetType },
    /// One asset could not be backed up.
    AssetFailed {
        arn: String,
        asset_type: AssetType,
        message: String,
    },
    /// Bytes written to the repository (a running total is the sum of these).
    BytesStored { bytes: u64 },
    /// A transient problem is being retried (throttling, 5xx, job limit, download dropped, URL
    /// expired): attempt number `attempt` (1 for the first) of `operation` failed for `reason`,
    /// and the next begins after `delay`. See [`crate::retry`].
    Retrying {
        /// The call and its target, as in `StartAssetBundleExportJob qsbackup-…-3`.
        operation: String,
        attempt: u32,
        delay: std::time::Duration,
        /// An error code, an HTTP status or a short phrase; never a URL.
        reason: String,
    },
    /// A part of the snapshot beside the assets (identities, account settings) is stored.
    SectionStored { name: String, key: String, bytes: u64 },
    /// A part of the snapshot beside the assets failed; the snapshot will be partial.
    SectionFailed { name: String, message: String },
    /// The snapshot manifest is written: the snapshot exists.
    SnapshotCommitted { id: String, key: String },
    /// The HTML report (`report.html: true`) is written beside the snapshot.
    ReportWritten { key: String, bytes: u64 },
    /// The HTML report could not be written; the snapshot stands.
    ReportFailed { message: String },
    /// A restore is planned: `jobs` import jobs for `assets` assets.
    RestorePlanned { jobs: usize, assets: usize },
    /// One step of restoring identities is done (`what`: namespaces, groups, users, memberships).
    IdentitiesRestored {
        what: String,
        created: usize,
        existing: usize,
        skipped: usize,
        failed: usize,
    },
    /// An import job has been accepted by QuickSight.
    ImportJobStarted { job_id: String, assets: usize },
    /// An import job has ended with `status` (QuickSight's `JobStatus`, or why it did not run).
    ImportJobFinished {
        job_id: String,
        status: crate::job_status::ImportJobStatus,
        succeeded: usize,
        failed: usize,
    },
    /// A drill reads `assets` restored assets back from the target to compare them.
    DrillChecking { assets: usize },
    /// A drill deletes the `objects` assets and identities its restore created.
    DrillTearingDown { objects: usize },
    /// One asset could not be restored.
    AssetRestoreFailed {
        asset_type: AssetType,
        id: String,
        message: String,
    },
}

/// Receives [`Event`]s. Called from many tasks at once; keep it quick.
pub trait ProgressSink: Send + Sync {
    fn event(&self, event: &Event);
}

/// Discards every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn event(&self, _event: &Event) {}
}

/// Collects events in memory (tests, `--json` summaries).
#[derive(Debug, Default)]
pub struct CollectingSink {
    events: std::sync::Mutex<Vec<Event>>,
}

impl CollectingSink {
    /// Every event received so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

impl ProgressSink for CollectingSink {
    fn event(&self, event: &Event) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push(event.clone());
    }
}
