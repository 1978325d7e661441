//! A backup run, end to end: discover → filter → plan → export → store → commit. The manifest is
//! written last; a run that fails before that leaves only unreferenced objects, never a snapshot
//! pointing at nothing. Identities and account settings plug in through [`SnapshotSection`] and
//! run beside the asset export. [`dry_run`] stops after planning: no job, no write.

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::config::Config;
use crate::discover::{discover, DiscoverOptions, Inventory};
use crate::error::Result;
use crate::events::{Event, ProgressSink};
use crate::export::{DependencyIndex, ExportOutcome, ExportSettings, Exporter, KeyLayout, Tuning};
use crate::filter::{filter, FilterOptions, SkippedAsset};
use crate::manifest::{manifest_key, new_snapshot_id, BackupMode, SnapshotManifest, SnapshotStatus};
use crate::plan::{plan, BundlePlan};
use crate::repository::{ObjectRef, Repository};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A part of a snapshot beside the asset bundles (identities, account settings). It writes its
/// own object under the snapshot id and returns it; the manifest records the reference.
#[async_trait]
pub trait SnapshotSection: Send + Sync {
    /// Name used in events and notes, e.g. `identities`.
    fn name(&self) -> &str;
    /// Backs the section up for snapshot `snapshot_id`.
    async fn backup(&self, snapshot_id: &str, repository: &Repository, sink: &dyn ProgressSink) -> Result<ObjectRef>;
    /// What the manifest and report should say about this section's completeness (e.g. a
    /// namespace list that was denied), read after [`SnapshotSection::backup`].
    fn notes(&self) -> Vec<String> {
        Vec::new()
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
}

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
    Ok(plan_assets(config, aws, sink, options).await?.0)
}

async fn plan_assets(
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

async fn export_assets(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
    snapshot_id: &str,
    started_at: DateTime<Utc>,
) -> Result<(BackupPlan, ExportOutcome)> {
    let (plan, inventory) = plan_assets(config, aws, sink, options).await?;
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
        hhmmss: started_at.format("%H%M%S").to_string(),
    };
    let dependencies = DependencyIndex::new(
        inventory
            .assets
            .iter()
            .map(|a| (a.arn.clone(), a.depends_on.clone().unwrap_or_default())),
    );
    let exporter = Exporter::new(aws, repository, settings, sink, snapshot_id, layout, dependencies)?;
    let outcome = exporter.export(&plan.bundles).await;
    Ok((plan, outcome))
}

async fn run_section(
    section: Option<&Arc<dyn SnapshotSection>>,
    wanted: bool,
    snapshot_id: &str,
    repository: &Repository,
    sink: &dyn ProgressSink,
) -> (Option<ObjectRef>, Option<String>) {
    let Some(section) = section.filter(|_| wanted) else {
        return (None, None);
    };
    match section.backup(snapshot_id, repository, sink).await {
        Ok(object) => {
            sink.event(&Event::SectionStored {
                name: section.name().to_string(),
                key: object.key.clone(),
                bytes: object.size,
            });
            (Some(object), None)
        }
        Err(e) => {
            let message = e.to_string();
            sink.event(&Event::SectionFailed {
                name: section.name().to_string(),
                message: message.clone(),
            });
            (None, Some(format!("{} backup failed: {message}", section.name())))
        }
    }
}

/// Runs a backup and commits its snapshot. `Err` means the run itself failed (nothing committed);
/// assets that could not be backed up make the snapshot `partial` instead.
pub async fn run_backup(
    config: &Config,
    aws: &AwsContext,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
) -> Result<BackupOutcome> {
    let started_at = Utc::now();
    let id = new_snapshot_id(started_at);
    let mode = options.mode;
    let assets = async {
        if mode.includes_assets() {
            export_assets(config, aws, repository, sink, options, &id, started_at)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let identities = run_section(
        options.identities.as_ref(),
        mode.includes_identities(),
        &id,
        repository,
        sink,
    );
    let account = run_section(options.account.as_ref(), mode.includes_assets(), &id, repository, sink);
    let (assets, (identities, identities_error), (account, account_error)) = tokio::join!(assets, identities, account);
    let assets = assets?;

    let mut notes = Vec::new();
    let (mut bundles, mut skipped, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    if let Some((plan, outcome)) = assets {
        notes.extend(plan.notes);
        notes.extend(outcome.notes);
        skipped = plan.skipped;
        skipped.extend(outcome.skipped);
        failed = outcome.failed;
        bundles = outcome.bundles;
    }
    bundles.sort_by(|a, b| a.key.cmp(&b.key));
    failed.sort_by(|a, b| a.arn.cmp(&b.arn));
    let section_errors: Vec<String> = identities_error.into_iter().chain(account_error).collect();
    for section in [&options.identities, &options.account].into_iter().flatten() {
        notes.extend(section.notes());
    }
    if mode.includes_identities() && options.identities.is_none() {
        notes.push("identities are not part of this snapshot: no identities backup is configured".into());
    }
    let status = if failed.is_empty() && section_errors.is_empty() {
        SnapshotStatus::Complete
    } else {
        SnapshotStatus::Partial
    };
    notes.extend(section_errors);
    let manifest = SnapshotManifest {
        id: id.clone(),
        started_at,
        finished_at: Utc::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        identity_region: aws.identity_region.clone(),
        mode,
        status,
        export_format: config.backup.export_format,
        include_dependencies: config.backup.include_dependencies,
        bundles,
        skipped,
        failed,
        identities,
        account,
        notes,
    };
    manifest.commit(repository).await?;
    let key = manifest_key(&id);
    sink.event(&Event::SnapshotCommitted { id, key: key.clone() });
    Ok(BackupOutcome {
        manifest,
        manifest_key: key,
    })
}
