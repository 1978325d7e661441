//! The state of one QuickSight account in one region: its assets, identities
//! and configuration from [`crate::model`], and the asset bundle jobs of
//! [`crate::jobs`] that run against it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jobs::{ExportJob, ImportJob};
use crate::model::{Asset, AssetType, Brand, FolderMember, Namespace};

/// What `RestoreAnalysis` needs to undo a deletion with a recovery window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisDeletion {
    /// The end of the recovery window (epoch seconds).
    pub deletion_time: f64,
    /// The analysis's `Status` before it was deleted.
    pub previous_status: Option<Value>,
    /// The folders it was a member of, which the deletion took it out of.
    pub folders: BTreeSet<String>,
}

/// One QuickSight account in one region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    #[serde(default)]
    pub assets: BTreeMap<AssetType, BTreeMap<String, Asset>>,
    /// Folder id to its members.
    #[serde(default)]
    pub folder_members: BTreeMap<String, BTreeSet<FolderMember>>,
    #[serde(default)]
    pub namespaces: BTreeMap<String, Namespace>,
    /// API `AccountSettings`.
    #[serde(default)]
    pub settings: Value,
    /// Namespace to API `AccountCustomization`.
    #[serde(default)]
    pub customizations: BTreeMap<String, Value>,
    #[serde(default)]
    pub brands: BTreeMap<String, Brand>,
    /// Name to API `CustomPermissions` (without `Arn`).
    #[serde(default)]
    pub custom_permissions: BTreeMap<String, Value>,
    /// Analyses deleted with a recovery window, by id. They stay among the
    /// assets (with `Status` `DELETED`) until the window ends.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub analysis_deletions: BTreeMap<String, AnalysisDeletion>,
    #[serde(skip)]
    pub export_jobs: BTreeMap<String, ExportJob>,
    #[serde(skip)]
    pub import_jobs: BTreeMap<String, ImportJob>,
}

impl Account {
    pub fn empty(account_id: &str, region: &str, now: f64) -> Account {
        let mut namespaces = BTreeMap::new();
        namespaces.insert(
            "default".to_string(),
            Namespace {
                name: "default".into(),
                capacity_region: region.into(),
                created: now,
                users: BTreeMap::new(),
                groups: BTreeMap::new(),
            },
        );
        Account {
            account_id: account_id.to_string(),
            namespaces,
            settings: serde_json::json!({
                "AccountName": format!("account-{account_id}"),
                "Edition": "ENTERPRISE",
                "DefaultNamespace": "default",
                "NotificationEmail": "bi-admins@example.com",
                "PublicSharingEnabled": false,
                "TerminationProtectionEnabled": true
            }),
            ..Default::default()
        }
    }

    pub fn assets_of(&self, t: AssetType) -> impl Iterator<Item = &Asset> {
        self.assets.get(&t).into_iter().flat_map(|m| m.values())
    }

    pub fn asset(&self, t: AssetType, id: &str) -> Option<&Asset> {
        self.assets.get(&t).and_then(|m| m.get(id))
    }

    pub fn asset_mut(&mut self, t: AssetType, id: &str) -> Option<&mut Asset> {
        self.assets.get_mut(&t).and_then(|m| m.get_mut(id))
    }

    pub fn insert(&mut self, t: AssetType, asset: Asset) {
        if t == AssetType::Analysis {
            self.analysis_deletions.remove(&asset.id);
        }
        self.assets.entry(t).or_default().insert(asset.id.clone(), asset);
    }

    pub fn remove(&mut self, t: AssetType, id: &str) -> Option<Asset> {
        let removed = self.assets.get_mut(&t).and_then(|m| m.remove(id));
        if removed.is_some() {
            for members in self.folder_members.values_mut() {
                members.retain(|m| !(m.asset_type == t && m.id == id));
            }
            if t == AssetType::Folder {
                self.folder_members.remove(id);
            }
            if t == AssetType::Analysis {
                self.analysis_deletions.remove(id);
            }
        }
        removed
    }

    /// Ids of the folders `id` is a member of.
    pub fn folders_of(&self, t: AssetType, id: &str) -> BTreeSet<String> {
        self.folder_members
            .iter()
            .filter(|(_, members)| members.iter().any(|m| m.asset_type == t && m.id == id))
            .map(|(folder, _)| folder.clone())
            .collect()
    }

    /// Deletes for good the analyses whose recovery window has ended by `now`.
    pub fn purge_deleted_analyses(&mut self, now: f64) {
        let due: Vec<String> = self
            .analysis_deletions
            .iter()
            .filter(|(_, d)| d.deletion_time <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.remove(AssetType::Analysis, &id);
        }
    }

    pub fn count(&self) -> usize {
        self.assets.values().map(|m| m.len()).sum()
    }
}
