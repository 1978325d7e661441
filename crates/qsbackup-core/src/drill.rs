//! Recovery drills: proving a snapshot can be recovered, with figures an auditor can keep.
//!
//! [`run_drill`] restores a snapshot into a target account with the restore engine (never
//! overwriting what the target has: assets already there are skipped and left alone), reads
//! every restored asset back from the target and compares it with what was imported
//! ([`check`], [`compare`]), checks the identities, and with `teardown` deletes exactly what the
//! restore created ([`teardown`]). It measures the recovery time (RTO: from the start until the
//! last check passed) and the recovery point (RPO: the snapshot's age when the drill started),
//! and keeps the result in the repository ([`DrillReport`], `drills/<id>.json`).

pub mod check;
pub mod compare;
pub mod teardown;

use crate::aws::AwsContext;
use crate::error::Error;
use crate::events::{Event, ProgressSink};
use crate::repository::layout::{self, ObjectKind, RepoFile};
use crate::repository::lock::SharedLock;
use crate::repository::manifest::SnapshotManifest;
use crate::repository::Repository;
use crate::restore::import::AssetResult;
use crate::restore::plan::Decision;
use crate::restore::{self, AssetKey, ConflictPolicy, Endpoint, RestoreError, RestoreOptions};
use check::{AssetCheck, IdentityRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;
use teardown::TeardownReport;

/// Why a drill could not run (what it found is in its [`DrillReport`] instead).
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Core(#[from] Error),
    #[error("listing the target's users and groups for the check: {0}")]
    Identities(#[from] crate::identities::IdentityError),
    /// A drill into the account and region the snapshot was taken from, without a prefix: it
    /// would restore nothing (everything is there) or recreate what was deleted in production.
    #[error(
        "a drill restores into a recovery account: account {account} in {region} is where snapshot {snapshot} was \
         taken; drill into another account, or give a prefix (`--prefix`, or `prefix` in a scheduled drill's input) to restore copies beside the originals"
    )]
    IntoBackedUpAccount {
        account: String,
        region: String,
        snapshot: String,
    },
}

impl DrillError {
    /// A problem with what the user asked for (exit code 3 in the CLI, `BadInput` in Lambda).
    pub fn is_usage(&self) -> bool {
        match self {
            DrillError::Restore(e) => e.is_usage(),
            DrillError::Core(e) => e.is_usage(),
            DrillError::IntoBackedUpAccount { .. } => true,
            DrillError::Identities(_) => false,
        }
    }
}

/// Refuses a drill that cannot prove anything before it runs: a prefix QuickSight refuses, or
/// the backed-up account itself as the target without a prefix.
pub fn check_target(manifest: &SnapshotManifest, target: &Endpoint, prefix: &str) -> Result<(), DrillError> {
    restore::check_prefix(prefix)?;
    if prefix.is_empty() && target.account_id == manifest.account_id && target.region == manifest.region {
        return Err(DrillError::IntoBackedUpAccount {
            account: manifest.account_id.clone(),
            region: manifest.region.clone(),
            snapshot: manifest.id.clone(),
        });
    }
    Ok(())
}

/// What a drill is asked to do beyond the snapshot and the target.
#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// How to restore. The drill restores with `conflict: skip` whatever this says: it never
    /// changes an asset the target already has.
    pub restore: RestoreOptions,
    /// Delete what the restore created once checked.
    pub teardown: bool,
}

/// One restored asset as the drill saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrilledAsset {
    pub asset: String,
    pub name: String,
    pub target_id: String,
    /// `restored`, `failed`, `not_attempted`, `skipped` (already in the target) or `refused`.
    pub outcome: DrillOutcome,
    /// The differences found, when it came back different.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<compare::Difference>,
    /// Why it was not restored or could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How one asset of the drill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcome {
    /// Restored, and the target holds it as imported.
    Equal,
    /// Restored, but the target holds it differently.
    Different,
    /// Restored, but it could not be read back.
    Unchecked,
    /// The import failed.
    Failed,
    /// Not attempted (what it depends on was not restored, or the drill was interrupted).
    NotAttempted,
    /// The target already had it: left untouched, not checked.
    Skipped,
}

/// One import job on the drill's clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineJob {
    pub job_id: String,
    pub assets: usize,
    /// Seconds from the drill's start.
    pub started: f64,
    pub ended: f64,
    pub status: String,
}

/// Permissions for one principal that the restore could not carry over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrincipalDropped {
    pub principal: String,
    pub reason: String,
    pub permissions: usize,
    /// The first assets that lost it.
    pub examples: Vec<String>,
}

/// The result of one drill, as printed with `--json` and kept in `drills/<id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillReport {
    #[serde(default = "layout::schema_v1")]
    pub schema: u32,
    pub drill_id: String,
    pub snapshot_id: String,
    /// When the snapshot's backup started: the point in time the drill recovers.
    pub snapshot_taken_at: DateTime<Utc>,
    pub source: Endpoint,
    pub target: Endpoint,
    pub restore_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Recovery time: from the start until the last check passed (or ended).
    pub rto_seconds: f64,
    /// Recovery point: the snapshot's age when the drill started.
    pub rpo_seconds: i64,
    pub restore_seconds: f64,
    pub check_seconds: f64,
    /// Assets the drill set out to restore (everything of the snapshot the target lacked).
    pub assets_total: usize,
    pub assets_equal: usize,
    pub assets_different: usize,
    /// Restored but not readable back, failed or not attempted.
    pub assets_not_recovered: usize,
    /// Already in the target: not restored, left untouched.
    pub assets_skipped: usize,
    /// In the snapshot but unusable there (`qsbackup verify` names the damage).
    pub assets_refused: usize,
    /// Permissions of the snapshot the restore could not carry over (their principal does not
    /// exist in the target); the check compares without them, so they are counted here.
    #[serde(default)]
    pub permissions_dropped: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions_dropped_by_principal: Vec<PrincipalDropped>,
    pub identities_present: usize,
    pub identities_missing: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_identities: Vec<IdentityRef>,
    pub assets: Vec<DrilledAsset>,
    pub timeline: Vec<TimelineJob>,
    /// `null` when the drill left what it restored in the target.
    #[serde(default)]
    pub teardown: Option<TeardownReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Everything restorable came back equal and every identity is there.
    pub passed: bool,
}

impl RepoFile for DrillReport {
    const KIND: ObjectKind = ObjectKind::Drill;
    const WHAT: &'static str = "drill record";
}

/// Import job starts and ends on the drill's clock, passed on to the caller's sink.
struct Timeline<'a> {
    inner: &'a dyn ProgressSink,
    start: Instant,
    jobs: Mutex<BTreeMap<String, TimelineJob>>,
}

impl ProgressSink for Timeline<'_> {
    fn event(&self, event: &Event) {
        let now = self.start.elapsed().as_secs_f64();
        match event {
            Event::ImportJobStarted { job_id, assets } => {
                if let Ok(mut jobs) = self.jobs.lock() {
                    jobs.insert(
                        job_id.clone(),
                        TimelineJob {
                            job_id: job_id.clone(),
                            assets: *assets,
                            started: now,
                            ended: now,
                            status: String::new(),
                        },
                    );
                }
            }
            Event::ImportJobFinished { job_id, status, .. } => {
                if let Ok(mut jobs) = self.jobs.lock() {
                    if let Some(job) = jobs.get_mut(job_id) {
                        job.ended = now;
                        job.status = status.to_string();
                    }
                }
            }
            _ => {}
        }
        self.inner.event(event);
    }
}

/// Runs a drill of `manifest` into `target` holding `lock` on its repository, and keeps its
/// result there. `Err` means the drill could not run; a drill that ran and found problems is
/// an `Ok` report that did not pass.
pub async fn run_drill(
    lock: &SharedLock,
    manifest: &SnapshotManifest,
    target: &AwsContext,
    options: &DrillOptions,
    sink: &dyn ProgressSink,
) -> Result<DrillReport, DrillError> {
    check_target(
        manifest,
        &Endpoint {
            account_id: target.account_id.clone(),
            region: target.region.clone(),
            identity_region: target.identity_region.clone(),
        },
        &options.restore.prefix,
    )?;
    let repository = lock.repository();
    let started_at = Utc::now();
    let clock = Instant::now();
    let restore_options = RestoreOptions {
        conflict: ConflictPolicy::Skip,
        ..options.restore.clone()
    };
    let timeline = Timeline {
        inner: sink,
        start: clock,
        jobs: Mutex::new(BTreeMap::new()),
    };
    let plan = restore::plan_restore(repository, manifest, target, &restore_options, sink).await?;
    let restored = restore::run_restore(lock, &plan, target, &restore_options, &timeline).await?;
    let restore_seconds = clock.elapsed().as_secs_f64();

    let recovered: Vec<AssetKey> = restored
        .assets
        .iter()
        .filter(|a| a.decision.imports() && matches!(a.result, Some(AssetResult::Restored)))
        .map(|a| a.asset.clone())
        .collect();
    let expected = plan.imported_members(&restored, &recovered);
    sink.event(&Event::DrillChecking { assets: expected.len() });
    let checked = if restored.interrupted {
        check::Checked::default()
    } else {
        let result = check::check(
            target,
            &expected,
            restored.identities.as_ref(),
            restore_options.job_timeout,
            &restore_options.tuning,
            &restore_options.cancel,
        )
        .await;
        // The restore has changed the target: a check that cannot run still ends in a record
        // and, when asked, a teardown, rather than an error that leaves both undone.
        result.unwrap_or_else(|e| check::Checked::unreadable(&expected, &e.to_string()))
    };
    let rto_seconds = clock.elapsed().as_secs_f64();
    let check_seconds = rto_seconds - restore_seconds;

    let teardown = if options.teardown {
        sink.event(&Event::DrillTearingDown {
            objects: teardown::count(&restored),
        });
        Some(teardown::teardown(target, &restored).await)
    } else {
        None
    };

    let mut assets = Vec::new();
    for a in &restored.assets {
        let target_key = AssetKey::new(a.asset.asset_type, &a.target_id);
        let (outcome, differences, message) = match (&a.decision, &a.result) {
            (Decision::Skip | Decision::Keep, _) => (DrillOutcome::Skipped, Vec::new(), None),
            (_, Some(AssetResult::Failed(m))) => (DrillOutcome::Failed, Vec::new(), Some(m.clone())),
            (_, Some(AssetResult::NotAttempted(m))) => (DrillOutcome::NotAttempted, Vec::new(), Some(m.clone())),
            (_, None) => (DrillOutcome::NotAttempted, Vec::new(), None),
            (_, Some(AssetResult::Restored)) => match checked.assets.get(&target_key) {
                Some(AssetCheck::Equal) => (DrillOutcome::Equal, Vec::new(), None),
                Some(AssetCheck::Different { differences }) => (DrillOutcome::Different, differences.clone(), None),
                Some(AssetCheck::Unreadable { message }) => {
                    (DrillOutcome::Unchecked, Vec::new(), Some(message.clone()))
                }
                None => (
                    DrillOutcome::Unchecked,
                    Vec::new(),
                    Some("the drill was interrupted before it was checked".into()),
                ),
            },
        };
        assets.push(DrilledAsset {
            asset: a.asset.to_string(),
            name: a.name.clone(),
            target_id: a.target_id.clone(),
            outcome,
            differences,
            message,
        });
    }
    let count = |o: DrillOutcome| assets.iter().filter(|a| a.outcome == o).count();
    let assets_equal = count(DrillOutcome::Equal);
    let assets_different = count(DrillOutcome::Different);
    let assets_skipped = count(DrillOutcome::Skipped);
    let assets_not_recovered =
        count(DrillOutcome::Unchecked) + count(DrillOutcome::Failed) + count(DrillOutcome::NotAttempted);
    let mut warnings = restored.warnings.clone();
    warnings.extend(checked.notes.iter().cloned());
    if restored.interrupted {
        warnings.push("the drill was interrupted: its figures are not a recovery".into());
    }
    let identities_failed = restored.identities.as_ref().map_or(0, |i| i.failed().count());
    // A drill that restored nothing proves nothing, whatever it compared.
    let proved_nothing = assets.len() == assets_skipped && assets_skipped > 0;
    if proved_nothing {
        warnings.push(format!(
            "the target already held all {assets_skipped} assets, so nothing was restored and nothing is proven: \
             drill into an empty account, or tear the previous drill down (--teardown)"
        ));
    }
    let passed = !restored.interrupted
        && !proved_nothing
        && assets_different == 0
        && assets_not_recovered == 0
        && checked.identities_missing.is_empty()
        && identities_failed == 0;
    let mut timeline: Vec<TimelineJob> = timeline
        .jobs
        .into_inner()
        .map(|j| j.into_values().collect())
        .unwrap_or_default();
    timeline.sort_by(|a, b| a.started.total_cmp(&b.started));
    let report = DrillReport {
        schema: layout::SCHEMA_VERSION,
        drill_id: crate::repository::manifest::new_snapshot_id(started_at),
        snapshot_id: manifest.id.clone(),
        snapshot_taken_at: manifest.started_at,
        source: restored.source.clone(),
        target: restored.target.clone(),
        restore_id: restored.restore_id.clone(),
        started_at,
        finished_at: Utc::now(),
        rto_seconds,
        rpo_seconds: (started_at - manifest.started_at).num_seconds(),
        restore_seconds,
        check_seconds,
        assets_total: assets.len() - assets_skipped,
        assets_equal,
        assets_different,
        assets_not_recovered,
        assets_skipped,
        assets_refused: restored.refused.len(),
        permissions_dropped: restored.permissions_dropped.len(),
        permissions_dropped_by_principal: restored
            .permissions_dropped_by_principal
            .iter()
            .map(|p| PrincipalDropped {
                principal: p.principal.clone(),
                reason: p.reason.clone(),
                permissions: p.permissions,
                examples: p.examples.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        identities_present: checked.identities_present,
        identities_missing: checked.identities_missing.len(),
        missing_identities: checked.identities_missing,
        assets,
        timeline,
        teardown,
        warnings,
        passed,
    };
    repository
        .write_record(&layout::drill_key(&report.drill_id), &report)
        .await?;
    Ok(report)
}

/// Every drill kept in `repository`, oldest first. A record that cannot be read is named in
/// the second list rather than skipped silently.
pub async fn list(repository: &Repository) -> Result<(Vec<DrillReport>, Vec<(String, String)>), Error> {
    let mut drills = Vec::new();
    let mut unreadable = Vec::new();
    for o in repository.list(layout::DRILLS).await? {
        if layout::drill_id(&o.key).is_none() {
            continue;
        }
        match repository.read_record::<DrillReport>(&o.key).await {
            Ok(d) => drills.push(d),
            Err(e) => unreadable.push((o.key.clone(), e.to_string())),
        }
    }
    drills.sort_by_key(|a| a.started_at);
    Ok((drills, unreadable))
}
