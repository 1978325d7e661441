//! Committing a run, the same for every driver: [`assemble_manifest`] builds the snapshot
//! manifest from what the run produced (refusing a run that stored nothing), and [`commit`]
//! writes it once the run confirmed it still holds its locks ([`HeldLock`]).

use crate::aws::AwsContext;
use crate::backup::filter::SkippedAsset;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::events::{Event, ProgressSink};
use crate::repository::layout::SCHEMA_VERSION;
pub use crate::repository::lock::HeldLock;
use crate::repository::manifest::{
    BackupMode, BundleRecord, FailedAsset, NamespaceCounts, SnapshotManifest, SnapshotScope, SnapshotStatus,
};
use crate::repository::{ObjectRef, Repository};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Everything a run produced, as the manifest will record it.
#[derive(Debug, Clone, Default)]
pub struct RunParts {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub mode: BackupMode,
    /// Assets planned for export.
    pub planned: usize,
    pub bundles: Vec<BundleRecord>,
    pub failed: Vec<FailedAsset>,
    pub skipped: Vec<SkippedAsset>,
    /// The plan's, the export's and the sections' notes, in that order.
    pub notes: Vec<String>,
    pub identities: Option<ObjectRef>,
    pub account: Option<ObjectRef>,
    /// Sections that failed: the snapshot is `partial`, and they end its notes.
    pub section_errors: Vec<String>,
    /// Users, groups and memberships the identities section stored, per namespace.
    pub identity_counts: Option<Vec<NamespaceCounts>>,
    /// The caller's ARN ([`AwsContext::caller_arn`]), or why it is not known; `None`: not asked.
    pub caller: Option<std::result::Result<String, String>>,
}

/// The manifest of a run: `partial` when a section failed or an asset failed that the config's
/// `backup.acknowledged` does not cover (those are marked acknowledged);
/// [`Error::NothingStored`] when the run stored nothing worth a snapshot.
pub fn assemble_manifest(config: &Config, aws: &AwsContext, parts: RunParts) -> Result<SnapshotManifest> {
    let RunParts {
        id,
        started_at,
        mode,
        planned,
        mut bundles,
        mut failed,
        skipped,
        mut notes,
        identities,
        account,
        section_errors,
        identity_counts,
        caller,
    } = parts;
    bundles.sort_by(|a, b| a.key.cmp(&b.key));
    failed.sort_by(|a, b| a.arn.cmp(&b.arn));
    check_something_stored(planned, &bundles, &failed, [&identities, &account], &section_errors)?;
    crate::failures::mark_acknowledged(&mut failed, &config.backup.acknowledged);
    // Acknowledged failures stay in the manifest but, being known, do not make it partial.
    let status = if failed.iter().all(|f| f.acknowledged) && section_errors.is_empty() {
        SnapshotStatus::Complete
    } else {
        SnapshotStatus::Partial
    };
    notes.extend(section_errors);
    let caller_arn = match caller {
        Some(Ok(arn)) => Some(arn),
        Some(Err(why)) => {
            notes.push(format!("the caller identity is not recorded: {why}"));
            None
        }
        None => None,
    };
    // Counts of identities that were not stored would contradict the manifest.
    let identity_counts = identities.as_ref().and(identity_counts);
    let b = &config.backup;
    let scope = SnapshotScope {
        mode,
        asset_types: b.asset_types.clone(),
        include_dependencies: b.include_dependencies,
        include_permissions: b.include_permissions,
        include_tags: b.include_tags,
        include_folder_memberships: b.include_folder_memberships,
    };
    Ok(SnapshotManifest {
        schema: SCHEMA_VERSION,
        id,
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
        scope: Some(scope),
        host: Some(crate::repository::lock::host_name()),
        caller_arn,
        identity_counts,
    })
}

/// Writes `manifest` once every lock of `locks` is confirmed still held: from then on the
/// snapshot exists.
pub async fn commit(
    repository: &Repository,
    manifest: &SnapshotManifest,
    locks: &[&dyn HeldLock],
) -> Result<ObjectRef> {
    for lock in locks {
        lock.confirm().await?;
    }
    manifest.commit(repository).await
}

/// After a commit, the HTML report when the config asks for it (`report.html: true`): `None`
/// when it does not. The snapshot stands whatever happens here, so a failure is reported as
/// [`Event::ReportFailed`], never returned as the run's error.
pub async fn write_report(
    config: &Config,
    repository: &Repository,
    snapshot_id: &str,
    sink: &dyn ProgressSink,
) -> Option<std::result::Result<String, String>> {
    if !config.report.html {
        return None;
    }
    Some(match crate::history::publish_report(repository, snapshot_id).await {
        Ok((key, bytes)) => {
            sink.event(&Event::ReportWritten {
                key: key.clone(),
                bytes,
            });
            Ok(key)
        }
        Err(e) => {
            let message = e.to_string();
            sink.event(&Event::ReportFailed {
                message: message.clone(),
            });
            Err(message)
        }
    })
}

/// Refuses to commit a run that holds nothing worth a snapshot ([`Error::NothingStored`]):
/// assets were planned and no bundle was stored, or nothing at all (no bundle, identities or
/// account object) was stored. Such a run is not a snapshot, because retention would count it
/// and `latest` would name it. Every driver calls this before it commits.
pub fn check_something_stored(
    planned: usize,
    bundles: &[crate::repository::manifest::BundleRecord],
    failed: &[crate::repository::manifest::FailedAsset],
    sections: [&Option<ObjectRef>; 2],
    section_errors: &[String],
) -> Result<()> {
    match stored_nothing(planned, bundles, failed, sections, section_errors) {
        None => Ok(()),
        Some(summary) => Err(Error::NothingStored {
            planned,
            summary,
            failed: failed.to_vec(),
        }),
    }
}

fn stored_nothing(
    planned: usize,
    bundles: &[crate::repository::manifest::BundleRecord],
    failed: &[crate::repository::manifest::FailedAsset],
    sections: [&Option<ObjectRef>; 2],
    section_errors: &[String],
) -> Option<String> {
    if !bundles.is_empty() {
        return None;
    }
    if planned > 0 {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for f in failed {
            let reason = serde_json::to_value(f.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *reasons.entry(reason).or_default() += 1;
        }
        let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        return Some(format!(
            "all {planned} assets planned for export failed ({})",
            reasons.join(", ")
        ));
    }
    if sections.iter().all(|s| s.is_none()) && !section_errors.is_empty() {
        return Some(section_errors.join("; "));
    }
    None
}
