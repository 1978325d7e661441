//! A backup run, end to end: discover → filter → plan → export → store → commit. The manifest is
//! written last; a run that fails before that leaves only unreferenced objects, never a snapshot
//! pointing at nothing. Identities and account settings plug in through [`SnapshotSection`] and
//! run beside the asset export. [`dry_run`] stops after planning: no job, no write.
//!
//! A run holds the repository lock ([`crate::repository::lock`]) from start to commit, records its progress
//! in a journal ([`crate::repository::journal`]), and first takes over what crashed runs stored or started,
//! so a run killed half-way costs only the work it had not finished.
//!
//! A run whose [`BackupOptions::cancel`] token is cancelled starts no further export job, stops
//! waiting, releases its locks and ends with [`crate::Error::Interrupted`] without committing;
//! its journal keeps what it finished, so the next run resumes like after a crash.

mod commit;
pub mod discover;
pub mod download;
pub mod export;
mod export_steps;
pub mod filter;
pub mod plan;
pub mod preflight;
pub mod sections;
pub mod state;
pub mod steps;
pub mod targets;

pub use commit::{assemble_manifest, check_something_stored, commit, write_report, HeldLock, RunParts};

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::backup::discover::{discover, DiscoverOptions, Inventory};
use crate::backup::export::{DependencyIndex, ExportOutcome, ExportSettings, Exporter, KeyLayout, Tuning};
use crate::backup::filter::{filter, FilterOptions, SkippedAsset};
use crate::backup::plan::{plan, BundlePlan};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, ProgressSink};
use crate::repository::journal::{self, plan_resume, ExportFingerprint, Journal, ResumeState, RunJournal, RunRecord};
use crate::repository::lock::{LockOptions, LockPurpose, LockRequest, RepositoryLock, SharedLock};
use crate::repository::manifest::{manifest_key, new_snapshot_id, BackupMode, SnapshotManifest, SnapshotStatus};
use crate::repository::{ObjectRef, Repository};
pub use crate::section_kind::SectionKind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A part of a snapshot beside the asset bundles (identities, account settings). It writes its
/// own object under the snapshot id and returns it; the manifest records the reference.
#[async_trait]
pub trait SnapshotSection: Send + Sync {
    /// Which part of the snapshot this is.
    fn kind(&self) -> SectionKind;
    /// Backs the section up for snapshot `snapshot_id`.
    async fn backup(&self, snapshot_id: &str, repository: &Repository, sink: &dyn ProgressSink) -> Result<ObjectRef>;
    /// What the manifest and report should say about this section's completeness (e.g. a
    /// namespace list that was denied), read after [`SnapshotSection::backup`].
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Users, groups and memberships stored per namespace, for the manifest and the report;
    /// read after [`SnapshotSection::backup`]. Only the identities section has them.
    fn identity_counts(&self) -> Option<Vec<crate::repository::manifest::NamespaceCounts>> {
        None
    }
}

/// How to run a backup beyond what the config says.
#[derive(Clone, Default)]
pub struct BackupOptions {
    pub mode: BackupMode,
    pub tuning: Tuning,
    /// Users, groups and memberships; run in `full` and `users-only` modes.
    pub identities: Option<Arc<dyn SnapshotSection>>,
    /// Account settings; run in `full` and `assets-only` modes.
    pub account: Option<Arc<dyn SnapshotSection>>,
    /// How long to wait for another run's repository lock before failing with
    /// [`crate::repository::lock::LockError::Held`].
    pub lock_wait: Duration,
    /// Export everything afresh instead of reusing what crashed runs stored.
    pub no_resume: bool,
    /// Cancelling it interrupts the run: no export job starts after that, running jobs and the
    /// identities and account sections are no longer waited for, the locks are released and
    /// the run ends with [`Error::Interrupted`], committing nothing. Jobs and bundles it had
    /// already recorded in its journal are resumed by the next run.
    pub cancel: CancellationToken,
}

/// `fut`, or [`Error::Interrupted`] (nothing kept) as soon as `cancel` is cancelled.
async fn until_cancelled<T>(cancel: &CancellationToken, fut: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Interrupted {
            stored_bundles: 0,
            running_jobs: 0,
        }),
        r = fut => r,
    }
}

/// Crashed runs older than this are not resumed: their bundles would misstate the snapshot's time.
const RESUME_MAX_AGE_HOURS: i64 = 12;

/// What a backup would do (the dry run's answer).
#[derive(Debug, Clone, Serialize)]
pub struct BackupPlan {
    /// Assets discovered per selected type.
    pub discovered: BTreeMap<AssetType, usize>,
    pub skipped: Vec<SkippedAsset>,
    pub bundles: BundlePlan,
    pub notes: Vec<String>,
}

/// The result of a committed backup.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub manifest: SnapshotManifest,
    /// Where the manifest was written (`snapshots/<id>.json`).
    pub manifest_key: String,
}

impl BackupOutcome {
    pub fn is_complete(&self) -> bool {
        self.manifest.status == SnapshotStatus::Complete
    }
}

/// Discovers, filters and plans; starts no job and writes nothing.
pub async fn dry_run(
    config: &Config,
    aws: &AwsContext,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
) -> Result<BackupPlan> {
    until_cancelled(&options.cancel, aws.check_reachable()).await?;
    Ok(
        until_cancelled(&options.cancel, plan_assets(config, aws, sink, options))
            .await?
            .0,
    )
}

/// Discovers, filters and plans, and hands back the inventory too (its dependencies drive the
/// isolation of failing assets); the serverless workflow plans with it in one state.
pub async fn plan_assets(
    config: &Config,
    aws: &AwsContext,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
) -> Result<(BackupPlan, Inventory)> {
    let b = &config.backup;
    let discover_options = DiscoverOptions {
        asset_types: b.asset_types.clone(),
        include_dependencies: b.include_dependencies,
        describe_concurrency: options.tuning.describe_concurrency,
    };
    let inventory = discover(aws, &discover_options, sink).await?;
    let selection = filter(
        &inventory,
        &FilterOptions {
            asset_types: b.asset_types.clone(),
            include_dependencies: b.include_dependencies,
            account_id: aws.account_id.clone(),
        },
    );
    for s in &selection.skipped {
        sink.event(&Event::AssetSkipped {
            arn: s.arn.clone(),
            asset_type: s.asset_type,
            name: s.name.clone(),
            reason: s.reason,
        });
    }
    let bundles = plan(&selection, b.max_assets_per_bundle.get());
    sink.event(&Event::PlanReady {
        bundles: bundles.bundles.len(),
        assets: bundles.asset_count(),
    });
    let discovered = b.asset_types.iter().map(|t| (*t, inventory.count(*t))).collect();
    let plan = BackupPlan {
        discovered,
        skipped: selection.skipped,
        bundles,
        notes: inventory.notes.clone(),
    };
    Ok((plan, inventory))
}

/// The run an export belongs to: its id and start, and what it resumes and records.
#[derive(Clone, Copy)]
struct RunContext<'a> {
    id: &'a str,
    started_at: DateTime<Utc>,
    resume: &'a ResumeState,
    journal: Option<&'a RunJournal>,
}

async fn export_assets(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
    run: RunContext<'_>,
) -> Result<(BackupPlan, ExportOutcome)> {
    let RunContext {
        id: snapshot_id,
        started_at,
        resume: state,
        journal: run_journal,
    } = run;
    let (plan, inventory) = until_cancelled(&options.cancel, plan_assets(config, aws, sink, options)).await?;
    let b = &config.backup;
    let settings = ExportSettings {
        format: b.export_format,
        include_dependencies: b.include_dependencies,
        include_permissions: b.include_permissions,
        include_tags: b.include_tags,
        include_folder_memberships: b.include_folder_memberships,
        max_concurrent_jobs: b.max_concurrent_jobs.get(),
        job_timeout: Duration::from_secs(b.job_timeout_seconds),
        tuning: options.tuning.clone(),
    };
    let layout = KeyLayout {
        date_prefix: config.prefix_format().format(started_at.date_naive()),
        tag: crate::repository::layout::bundle_tag(&aws.account_id, &aws.region, started_at),
    };
    let dependencies = DependencyIndex::new(
        inventory
            .assets
            .iter()
            .map(|a| (a.arn.clone(), a.depends_on.clone().unwrap_or_default())),
    );
    let resumed = plan_resume(&plan.bundles, state);
    for b in &resumed.reused {
        sink.event(&Event::BundleReused {
            key: b.key.clone(),
            asset_type: b.asset_type,
            bytes: b.size,
            assets: b.requested_arns.len(),
        });
    }
    let mut exporter = Exporter::new(aws, repository, settings, sink, snapshot_id, layout, dependencies)?
        .with_cancel(options.cancel.clone());
    if let Some(j) = run_journal {
        exporter = exporter.with_journal(j);
    }
    let mut outcome = exporter.export(&resumed.plan).await;
    if !state.runs.is_empty() {
        outcome.notes.push(format!(
            "resumed crashed run {}: {} stored bundles reused, {} of its export jobs taken over",
            state.runs.join(", "),
            resumed.reused.len(),
            resumed.adoptable.len()
        ));
    }
    outcome.bundles.extend(resumed.reused);
    Ok((plan, outcome))
}

async fn run_section(
    section: Option<&Arc<dyn SnapshotSection>>,
    wanted: bool,
    snapshot_id: &str,
    repository: &Repository,
    sink: &dyn ProgressSink,
    journal: Option<&RunJournal>,
    cancel: &CancellationToken,
) -> (Option<ObjectRef>, Option<String>) {
    let Some(section) = section.filter(|_| wanted) else {
        return (None, None);
    };
    match until_cancelled(cancel, section.backup(snapshot_id, repository, sink)).await {
        Ok(object) => {
            if let Some(j) = journal {
                // Only for prune: a crashed run's section object is then known to be garbage.
                let _ = j.journal.section_stored(section.kind(), &object.key).await;
            }
            sink.event(&Event::SectionStored {
                name: section.kind().name().to_string(),
                key: object.key.clone(),
                bytes: object.size,
            });
            (Some(object), None)
        }
        // Not a failure of the section: the run stops and says so once.
        Err(e) if e.is_interrupted() => (None, None),
        Err(e) => {
            let message = e.to_string();
            sink.event(&Event::SectionFailed {
                name: section.kind().name().to_string(),
                message: message.clone(),
            });
            (None, Some(format!("{} backup failed: {message}", section.kind())))
        }
    }
}

/// Runs a backup and commits its snapshot. `Err` means the run itself failed (nothing committed);
/// assets that could not be backed up make the snapshot `partial` instead. The repository lock
/// is held throughout; another run holding it fails this one with
/// [`crate::repository::lock::LockError::Held`] after `options.lock_wait`.
pub async fn run_backup(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
) -> Result<BackupOutcome> {
    // Fail within seconds, before touching the repository, when QuickSight cannot be reached.
    until_cancelled(&options.cancel, aws.check_reachable()).await?;
    // Shared: restores and verifies run beside it, and backups of other accounts; the account
    // in the lock keeps a second backup of this account out.
    let lock = until_cancelled(&options.cancel, async {
        Ok(RepositoryLock::shared_with(
            repository,
            &LockRequest::backup(&aws.account_id),
            options.lock_wait,
            &LockOptions::default(),
        )
        .await?)
    })
    .await?;
    let account_lock = match config.lock.as_ref().and_then(|l| l.dynamodb_table.as_deref()) {
        None => None,
        Some(table) => {
            let client = aws_sdk_dynamodb::Client::new(&aws.home);
            let lock_id = format!("qsbackup/quicksight-account/{}", aws.account_id);
            let taken = until_cancelled(&options.cancel, async {
                Ok(crate::repository::lock::dynamodb::acquire(
                    &client,
                    table,
                    &lock_id,
                    LockPurpose::Backup,
                    options.lock_wait,
                    &Default::default(),
                )
                .await?)
            })
            .await;
            match taken {
                Ok(guard) => Some(guard),
                Err(e) => {
                    let _ = lock.release().await;
                    return Err(e);
                }
            }
        }
    };
    let result = run_locked(config, aws, repository, sink, options, &lock, account_lock.as_ref()).await;
    // A lock that cannot be marked released expires on its own (or is seen as the lock of a
    // dead process on this host); the snapshot is committed either way.
    if let Some(guard) = account_lock {
        let _ = guard.release().await;
    }
    let _ = lock.release().await;
    result
}

fn fingerprint(config: &Config, aws: &AwsContext) -> ExportFingerprint {
    let b = &config.backup;
    ExportFingerprint {
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        format: b.export_format,
        include_dependencies: b.include_dependencies,
        include_permissions: b.include_permissions,
        include_tags: b.include_tags,
        include_folder_memberships: b.include_folder_memberships,
    }
}

/// What crashed runs left, and this run's journal; problems here only cost a resume.
async fn prepare_journal(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    options: &BackupOptions,
    id: &str,
    started_at: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> (ResumeState, Option<RunJournal>) {
    let fingerprint = fingerprint(config, aws);
    let mut state = ResumeState::default();
    if options.mode.includes_assets() && !options.no_resume {
        let max_age = chrono::TimeDelta::hours(RESUME_MAX_AGE_HOURS);
        match Journal::find_resumable(repository, &fingerprint, max_age).await {
            Ok(s) => state = s,
            Err(e) => notes.push(format!(
                "could not read the journals of earlier runs, nothing resumed: {e}"
            )),
        }
    }
    let run = RunRecord {
        schema: crate::repository::layout::SCHEMA_VERSION,
        run_id: id.to_string(),
        snapshot_id: id.to_string(),
        host: crate::repository::lock::host_name(),
        pid: std::process::id(),
        started_at,
        fingerprint,
    };
    let journal = match Journal::open(repository, &run).await {
        Ok(j) => {
            let adoptable = plan_resume_jobs(&state);
            Some(RunJournal::new(j, adoptable))
        }
        Err(e) => {
            notes.push(format!(
                "the progress journal could not be started ({e}): a crash of this run could not be resumed"
            ));
            None
        }
    };
    (state, journal)
}

/// Every crashed job by its assets; [`plan_resume`] later narrows this to the remaining plan.
fn plan_resume_jobs(state: &ResumeState) -> std::collections::HashMap<(AssetType, Vec<String>), String> {
    state
        .jobs
        .iter()
        .map(|j| {
            let mut arns = j.arns.clone();
            arns.sort();
            ((j.asset_type, arns), j.job_id.clone())
        })
        .collect()
}

async fn run_locked(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
    lock: &SharedLock,
    account_lock: Option<&crate::repository::lock::dynamodb::DynamoLockGuard>,
) -> Result<BackupOutcome> {
    let started_at = Utc::now();
    let id = new_snapshot_id(started_at);
    let mode = options.mode;
    let mut notes = Vec::new();
    let (state, run_journal) = prepare_journal(config, aws, repository, options, &id, started_at, &mut notes).await;
    // Boxed, as are the sections: joined inline, the three SDK-heavy futures would sit side by
    // side in this one and deepen every stack that polls it.
    let assets = Box::pin(async {
        if mode.includes_assets() {
            export_assets(
                config,
                aws,
                repository,
                sink,
                options,
                RunContext {
                    id: &id,
                    started_at,
                    resume: &state,
                    journal: run_journal.as_ref(),
                },
            )
            .await
            .map(Some)
        } else {
            Ok(None)
        }
    });
    let identities = Box::pin(run_section(
        options.identities.as_ref(),
        mode.includes_identities(),
        &id,
        repository,
        sink,
        run_journal.as_ref(),
        &options.cancel,
    ));
    let account = Box::pin(run_section(
        options.account.as_ref(),
        mode.includes_assets(),
        &id,
        repository,
        sink,
        run_journal.as_ref(),
        &options.cancel,
    ));
    // Asked beside the export, so an STS that is slow to answer costs the run no time.
    let caller = Box::pin(async {
        tokio::select! {
            biased;
            _ = options.cancel.cancelled() => Err("the run was interrupted".to_string()),
            arn = aws.caller_arn() => arn,
        }
    });
    let (assets, (identities, identities_error), (account, account_error), caller) =
        tokio::join!(assets, identities, account, caller);
    let assets = assets?;
    if options.cancel.is_cancelled() {
        // Not committed: the journal keeps the stored bundles and started jobs for the next run.
        let (stored_bundles, running_jobs) = assets
            .as_ref()
            .map_or((0, 0), |(_, outcome)| (outcome.bundles.len(), outcome.abandoned_jobs));
        return Err(Error::Interrupted {
            stored_bundles,
            running_jobs,
        });
    }

    let mut parts = RunParts {
        id: id.clone(),
        started_at,
        mode,
        identities,
        account,
        section_errors: identities_error.into_iter().chain(account_error).collect(),
        identity_counts: options.identities.as_ref().and_then(|s| s.identity_counts()),
        caller: Some(caller),
        ..Default::default()
    };
    if let Some((plan, outcome)) = assets {
        parts.planned = plan.bundles.asset_count();
        notes.extend(plan.notes);
        notes.extend(outcome.notes);
        parts.skipped = plan.skipped;
        parts.skipped.extend(outcome.skipped);
        parts.failed = outcome.failed;
        parts.bundles = outcome.bundles;
    }
    for section in [&options.identities, &options.account].into_iter().flatten() {
        notes.extend(section.notes());
    }
    if mode.includes_identities() && options.identities.is_none() {
        notes.push("identities are not part of this snapshot: no identities backup is configured".into());
    }
    parts.notes = notes;
    // The journal stays when this refuses, so the next run can take over export jobs that
    // finished but could not be downloaded.
    let mut manifest = assemble_manifest(config, aws, parts)?;
    if let Some(failures) = run_journal.as_ref().map(RunJournal::failures).filter(|n| *n > 0) {
        manifest.notes.push(format!(
            "{failures} progress journal records could not be written: a crash would have cost more re-exports"
        ));
    }
    // Never commit under a lock that was taken away (a forced unlock, a lease that ran out).
    let mut locks: Vec<&dyn HeldLock> = vec![lock];
    if let Some(guard) = account_lock {
        locks.push(guard);
    }
    commit(repository, &manifest, &locks).await?;
    // The journals are garbage now; prune removes any that this leaves behind.
    let mut finished_runs = state.runs.clone();
    finished_runs.push(id.clone());
    let _ = journal::discard(repository, &finished_runs).await;
    let key = manifest_key(&id);
    sink.event(&Event::SnapshotCommitted {
        id: id.clone(),
        key: key.clone(),
    });
    let _ = write_report(config, repository, &id, sink).await;
    Ok(BackupOutcome {
        manifest,
        manifest_key: key,
    })
}
