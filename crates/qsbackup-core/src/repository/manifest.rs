//! The snapshot manifest: the commit record of a backup. A snapshot exists if and only if
//! `snapshots/<id>.json` exists, and it is written last, create-only, after every object it
//! names is stored and checksummed. Also the sample tool's `--output-dir` files ([`report`]).

pub mod report;

use crate::asset::AssetType;
use crate::asset::SkippedAsset;
use crate::config::ExportFormat;
use crate::error::{Error, Result};
use crate::repository::layout::{ObjectKind, RepoFile};
use crate::repository::{ObjectRef, Repository};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where manifests live in a repository.
pub const SNAPSHOTS_PREFIX: &str = crate::repository::layout::SNAPSHOTS;

/// What a run backs up (the sample tool's `--mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupMode {
    #[default]
    Full,
    UsersOnly,
    AssetsOnly,
}

impl BackupMode {
    pub fn includes_assets(self) -> bool {
        matches!(self, BackupMode::Full | BackupMode::AssetsOnly)
    }
    pub fn includes_identities(self) -> bool {
        matches!(self, BackupMode::Full | BackupMode::UsersOnly)
    }
}

/// `complete`: everything selected is stored or deliberately skipped; `partial`: something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    Complete,
    Partial,
}

pub use crate::asset::{FailReason, FailedAsset};

impl FailedAsset {
    /// Every asset of `bundle`, failed for `reason` with `message`.
    pub fn all_of(bundle: &crate::backup::plan::PlannedBundle, reason: FailReason, message: &str) -> Vec<FailedAsset> {
        bundle
            .assets
            .iter()
            .map(|a| FailedAsset {
                acknowledged: false,
                arn: a.arn.clone(),
                asset_type: bundle.asset_type,
                name: a.name.clone(),
                reason,
                message: message.to_string(),
            })
            .collect()
    }
}

/// One file inside a stored bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleMember {
    /// Path inside the zip, e.g. `dataset/sales.json`.
    pub path: String,
    /// The member folder: `dataset`, `refreshSchedule`, ...
    #[serde(rename = "type")]
    pub member_type: String,
    pub id: String,
    pub name: Option<String>,
    pub sha256: String,
    /// QuickSight's `LastUpdatedTime` of a requested asset, as the backup's listing saw it;
    /// absent for dependencies and in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_time: Option<DateTime<Utc>>,
}

/// A stored bundle, exactly as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRecord {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub export_job_id: String,
    pub asset_type: AssetType,
    /// The root assets the export job was asked for.
    pub requested_arns: Vec<String>,
    pub members: Vec<BundleMember>,
}

impl BundleRecord {
    /// The stored object.
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            key: self.key.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
        }
    }
}

/// The commit record of one backup run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotManifest {
    /// The manifest's schema version ([`crate::repository::layout::SCHEMA_VERSION`]).
    #[serde(default = "crate::repository::layout::schema_v1")]
    pub schema: u32,
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub tool_version: String,
    pub account_id: String,
    pub region: String,
    pub identity_region: String,
    pub mode: BackupMode,
    pub status: SnapshotStatus,
    pub export_format: ExportFormat,
    pub include_dependencies: bool,
    pub bundles: Vec<BundleRecord>,
    pub skipped: Vec<SkippedAsset>,
    pub failed: Vec<FailedAsset>,
    /// Users, groups, memberships and namespaces (`identities/<id>.json`).
    pub identities: Option<ObjectRef>,
    /// Account settings and customizations (`account/<id>.json`).
    pub account: Option<ObjectRef>,
    pub notes: Vec<String>,
    /// What the run was asked to cover; absent in manifests written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<SnapshotScope>,
    /// The machine that ran the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Who ran it: the ARN STS `GetCallerIdentity` returned. Absent when STS did not answer
    /// (a note says why) and in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// Users, groups and memberships stored, per namespace; absent when no identities were
    /// stored and in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_counts: Option<Vec<NamespaceCounts>>,
}

/// The selection a backup ran with: the config's `backup:` choices and the mode. The manifest
/// keeps `mode` and `include_dependencies` at the top level too, as older versions read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotScope {
    pub mode: BackupMode,
    pub asset_types: Vec<AssetType>,
    pub include_dependencies: bool,
    pub include_permissions: bool,
    pub include_tags: bool,
    pub include_folder_memberships: bool,
}

impl SnapshotScope {
    /// Asset types the run did not back up, in QuickSight's order.
    pub fn excluded_types(&self) -> Vec<AssetType> {
        if !self.mode.includes_assets() {
            return AssetType::ALL.to_vec();
        }
        AssetType::ALL
            .into_iter()
            .filter(|t| !self.asset_types.contains(t))
            .collect()
    }

    /// The `include_*` flags that were off.
    pub fn excluded_flags(&self) -> Vec<&'static str> {
        [
            ("include_dependencies", self.include_dependencies),
            ("include_permissions", self.include_permissions),
            ("include_tags", self.include_tags),
            ("include_folder_memberships", self.include_folder_memberships),
        ]
        .into_iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| name)
        .collect()
    }

    /// Whether anything was left out: an asset type, identities, or an `include_*` flag.
    pub fn is_partial(&self) -> bool {
        self.mode != BackupMode::Full || !self.excluded_types().is_empty() || !self.excluded_flags().is_empty()
    }

    /// What was left out, for a person: `no dashboard, analysis; no identities; include_tags off`;
    /// `None` for a full scope.
    pub fn describe_exclusions(&self) -> Option<String> {
        let mut parts = Vec::new();
        let types = self.excluded_types();
        if self.mode.includes_assets() && !types.is_empty() {
            let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
            parts.push(format!("no {}", names.join(", ")));
        }
        if !self.mode.includes_assets() {
            parts.push("no assets".to_string());
        }
        if !self.mode.includes_identities() {
            parts.push("no identities".to_string());
        }
        let flags = self.excluded_flags();
        if self.mode.includes_assets() && !flags.is_empty() {
            parts.push(format!("{} off", flags.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// How many identities of one namespace a snapshot stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceCounts {
    pub namespace: String,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

/// A new snapshot id, sortable by time: `20261128T072100Z-3fa9c1`.
pub fn new_snapshot_id(started_at: DateTime<Utc>) -> String {
    format!(
        "{}-{}",
        started_at.format("%Y%m%dT%H%M%SZ"),
        hex::encode(rand::random::<[u8; 3]>())
    )
}

/// The manifest key of snapshot `id`.
pub fn manifest_key(id: &str) -> String {
    crate::repository::layout::snapshot_key(id)
}

impl SnapshotManifest {
    /// Root assets stored, over all bundles.
    pub fn stored_asset_count(&self) -> usize {
        self.bundles.iter().map(|b| b.requested_arns.len()).sum()
    }

    /// Bytes of all stored bundles.
    pub fn bundle_bytes(&self) -> u64 {
        self.bundles.iter().map(|b| b.size).sum()
    }

    /// The snapshot's size: bytes of every object it references (bundles, identities, account
    /// settings). Every command shows this one number as the snapshot's size.
    pub fn total_bytes(&self) -> u64 {
        let sections: u64 = self.identities.iter().chain(self.account.iter()).map(|o| o.size).sum();
        self.bundle_bytes() + sections
    }

    /// Writes the manifest (create-only): from now on the snapshot exists.
    pub async fn commit(&self, repository: &Repository) -> Result<ObjectRef> {
        repository.write_record(&manifest_key(&self.id), self).await
    }

    /// Reads the manifest of snapshot `id`.
    pub async fn load(repository: &Repository, id: &str) -> Result<SnapshotManifest> {
        let key = manifest_key(id);
        let manifest: SnapshotManifest = repository.read_record(&key).await?;
        // A manifest copied or renamed under another id would make `latest`, retention and
        // restore disagree about which snapshot they handle.
        if manifest.id != id {
            return Err(Error::Integrity {
                key,
                message: format!("the manifest names snapshot {:?}, not {id:?}", manifest.id),
            });
        }
        Ok(manifest)
    }
}

impl RepoFile for SnapshotManifest {
    const KIND: ObjectKind = ObjectKind::Snapshot;
    const WHAT: &'static str = "snapshot manifest";
    const MAX_BYTES: u64 = crate::limits::MAX_MANIFEST_BYTES;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::SkipReason;
    use object_store::memory::InMemory;
    use std::sync::Arc;

    pub(crate) fn sample() -> SnapshotManifest {
        let t = DateTime::from_timestamp(1_795_850_460, 0).unwrap();
        SnapshotManifest {
            schema: 1,
            id: new_snapshot_id(t),
            started_at: t,
            finished_at: t,
            tool_version: "0.1.0".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            identity_region: "us-east-1".into(),
            mode: BackupMode::Full,
            status: SnapshotStatus::Partial,
            export_format: ExportFormat::QuickSightJson,
            include_dependencies: true,
            bundles: vec![BundleRecord {
                key: "2026/11/28/dataset/dataset-072100.zip".into(),
                size: 10,
                sha256: "ab".into(),
                export_job_id: "qsbackup-x-1".into(),
                asset_type: AssetType::DataSet,
                requested_arns: vec!["arn:aws:quicksight:us-east-1:123456789012:dataset/d1".into()],
                members: vec![BundleMember {
                    path: "dataset/d1.json".into(),
                    member_type: "dataset".into(),
                    id: "d1".into(),
                    name: Some("Sales".into()),
                    sha256: "cd".into(),
                    last_updated_time: None,
                }],
            }],
            skipped: vec![SkippedAsset {
                arn: "arn:aws:quicksight:us-east-1:123456789012:datasource/sf".into(),
                asset_type: AssetType::DataSource,
                name: "SF".into(),
                reason: SkipReason::UnsupportedDataSourceType,
                message: "Data sources of type SALESFORCE cannot be exported with asset bundles.".into(),
            }],
            failed: vec![FailedAsset {
                acknowledged: false,
                arn: "arn:aws:quicksight:us-east-1:123456789012:dashboard/x".into(),
                asset_type: AssetType::Dashboard,
                name: "X".into(),
                reason: FailReason::ExportJobFailed,
                message: "cannot be exported".into(),
            }],
            identities: None,
            account: None,
            notes: vec![],
            scope: None,
            host: None,
            caller_arn: None,
            identity_counts: None,
        }
    }

    #[test]
    fn snapshot_ids_sort_by_time() {
        let a = new_snapshot_id(DateTime::from_timestamp(1_795_850_460, 0).unwrap());
        let b = new_snapshot_id(DateTime::from_timestamp(1_795_850_461, 0).unwrap());
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), "20261128T072100Z-abcdef".len());
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }

    #[tokio::test]
    async fn manifests_commit_once_and_load_back() {
        let repo = Repository::from_store(Arc::new(InMemory::new()), "memory://m");
        let m = sample();
        m.commit(&repo).await.unwrap();
        assert!(m.commit(&repo).await.is_err(), "a manifest is never overwritten");
        let back = SnapshotManifest::load(&repo, &m.id).await.unwrap();
        assert_eq!(back, m);
        let json: serde_json::Value = serde_json::from_slice(&repo.get(&manifest_key(&m.id)).await.unwrap()).unwrap();
        assert_eq!(json["status"], "partial");
        assert_eq!(json["mode"], "full");
        assert_eq!(json["failed"][0]["reason"], "export_job_failed");
        assert_eq!(json["bundles"][0]["members"][0]["type"], "dataset");
    }
}
