//! Finding snapshots: listing the manifests under `snapshots/`, loading them (a manifest that
//! cannot be read is reported, not hidden), resolving a user's reference (`latest`, a full id or
//! a unique prefix of one), and the one-line summary `qsbackup snapshots` prints.

use crate::asset::AssetType;
use crate::error::{Error, Result};
use crate::repository::manifest::report::counts_by_type;
use crate::repository::manifest::{BackupMode, SnapshotManifest, SnapshotStatus, SNAPSHOTS_PREFIX};
use crate::repository::Repository;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;

/// The id of the manifest at `key`, if `key` is one.
pub fn id_from_key(key: &str) -> Option<&str> {
    crate::repository::layout::snapshot_id(key)
}

/// Ids of every snapshot, sorted (ids sort by start time).
pub async fn list_ids(repo: &Repository) -> Result<Vec<String>> {
    let mut ids: Vec<String> = repo
        .list(SNAPSHOTS_PREFIX)
        .await?
        .iter()
        .filter_map(|o| id_from_key(&o.key).map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Every readable manifest, oldest first, and the ones that could not be read.
#[derive(Debug, Default)]
pub struct LoadedSnapshots {
    pub manifests: Vec<SnapshotManifest>,
    /// (manifest key, why it could not be read).
    pub unreadable: Vec<(String, String)>,
}

/// Manifests read at the same time by [`load_all`]: enough to overlap S3 round trips.
const MANIFESTS_AT_ONCE: usize = 4;

/// Loads every manifest in the repository.
pub async fn load_all(repo: &Repository) -> Result<LoadedSnapshots> {
    let ids = list_ids(repo).await?;
    let mut out = LoadedSnapshots::default();
    // A few at a time: a large account's manifest is some 16 MB of JSON, and thirty read at
    // once held every raw copy alongside every parsed one.
    let loads: Vec<_> = futures::stream::iter(ids.clone())
        .map(|id| async move { SnapshotManifest::load(repo, &id).await })
        .buffered(MANIFESTS_AT_ONCE)
        .collect()
        .await;
    for (id, loaded) in ids.iter().zip(loads) {
        match loaded {
            Ok(m) => out.manifests.push(m),
            Err(e) => out
                .unreadable
                .push((crate::repository::manifest::manifest_key(id), e.to_string())),
        }
    }
    out.manifests
        .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    Ok(out)
}

/// Turns `latest`, an id or a unique id prefix into a snapshot id.
pub async fn resolve(repo: &Repository, reference: &str) -> Result<String> {
    let fail = |message: String| Error::SnapshotRef {
        reference: reference.to_string(),
        repository: repo.location().to_string(),
        message,
    };
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(fail("an empty snapshot reference".into()));
    }
    let ids = list_ids(repo).await?;
    if reference == "latest" {
        return latest(repo)
            .await?
            .ok_or_else(|| fail("the repository has no snapshot yet".into()));
    }
    if ids.iter().any(|id| id == reference) {
        return Ok(reference.to_string());
    }
    let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(reference)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(fail(format!(
            "no such snapshot ({} snapshots; list them with `qsbackup snapshots`)",
            ids.len()
        ))),
        many => Err(fail(format!(
            "ambiguous: it starts {} snapshot ids ({}); give more of the id",
            many.len(),
            many.iter().take(5).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The id of the newest snapshot, `None` in an empty repository. A manifest that cannot be read
/// and is not older than every readable one is an error ([`Error::LatestUnreadable`]), never
/// skipped: it may be the newest backup, and silently taking the one before it would hand a
/// disaster-recovery restore stale data.
pub async fn latest(repo: &Repository) -> Result<Option<String>> {
    let loaded = load_all(repo).await?;
    Ok(newest(repo, &loaded)?.map(|i| loaded.manifests[i].id.clone()))
}

/// The index of the newest of `loaded`'s manifests, under [`latest`]'s rule: an unreadable
/// manifest that may be newer is an error, never skipped.
fn newest(repo: &Repository, loaded: &LoadedSnapshots) -> Result<Option<usize>> {
    // Ids begin with the start time, so they order snapshots; a key that is not an id cannot be
    // placed in time and counts as possibly the newest.
    let newest = (0..loaded.manifests.len()).max_by_key(|&i| loaded.manifests[i].id.as_str());
    let newest_id = newest.map(|i| loaded.manifests[i].id.as_str());
    let blocking = loaded
        .unreadable
        .iter()
        .find(|(key, _)| match (id_from_key(key), newest_id) {
            (Some(id), Some(newest)) => id > newest,
            _ => true,
        });
    if let Some((key, reason)) = blocking {
        return Err(Error::LatestUnreadable {
            repository: repo.location().to_string(),
            key: key.clone(),
            reason: reason.clone(),
        });
    }
    Ok(newest)
}

/// Resolves `reference` and loads that manifest.
pub async fn load(repo: &Repository, reference: &str) -> Result<SnapshotManifest> {
    let id = resolve(repo, reference).await?;
    SnapshotManifest::load(repo, &id).await
}

/// The snapshots of one account and/or region (`--account`, `--region`); empty, every snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotFilter {
    pub account_id: Option<String>,
    pub region: Option<String>,
}

impl SnapshotFilter {
    pub fn is_empty(&self) -> bool {
        self.account_id.is_none() && self.region.is_none()
    }

    pub fn matches(&self, m: &SnapshotManifest) -> bool {
        self.account_id.as_ref().is_none_or(|a| *a == m.account_id)
            && self.region.as_ref().is_none_or(|r| *r == m.region)
    }

    /// `account 111111111111 in eu-west-1`, as errors name it.
    pub fn describe(&self) -> String {
        match (&self.account_id, &self.region) {
            (Some(a), Some(r)) => format!("account {a} in {r}"),
            (Some(a), None) => format!("account {a}"),
            (None, Some(r)) => format!("region {r}"),
            (None, None) => "any account and region".into(),
        }
    }

    /// Keeps the manifests it matches; unreadable ones stay listed (their account is unknown).
    pub fn retain(&self, loaded: &mut LoadedSnapshots) {
        loaded.manifests.retain(|m| self.matches(m));
    }
}

/// Resolves `reference` among the snapshots `filter` selects and loads that manifest: `latest`
/// is the newest of them; an id or prefix of another account's or region's snapshot is an error
/// naming what it is, not a silent switch of account.
pub async fn load_in(repo: &Repository, reference: &str, filter: &SnapshotFilter) -> Result<SnapshotManifest> {
    if filter.is_empty() {
        return load(repo, reference).await;
    }
    let fail = |message: String| Error::SnapshotRef {
        reference: reference.to_string(),
        repository: repo.location().to_string(),
        message,
    };
    if reference.trim() == "latest" {
        let mut loaded = load_all(repo).await?;
        filter.retain(&mut loaded);
        // Unreadable manifests stay in: one may be the newest of this account.
        return match newest(repo, &loaded)? {
            Some(i) => Ok(loaded.manifests.swap_remove(i)),
            None => Err(fail(format!("the repository has no snapshot of {}", filter.describe()))),
        };
    }
    let m = load(repo, reference).await?;
    if !filter.matches(&m) {
        return Err(fail(format!(
            "snapshot {} is of account {} in {}, not of {}",
            m.id,
            m.account_id,
            m.region,
            filter.describe()
        )));
    }
    Ok(m)
}

/// What `qsbackup snapshots` shows for one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotSummary {
    /// `snapshot_id` in JSON, as in every command's output.
    #[serde(rename = "snapshot_id")]
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub account_id: String,
    pub region: String,
    pub mode: BackupMode,
    pub status: SnapshotStatus,
    /// Root assets backed up, per type.
    pub assets: BTreeMap<AssetType, usize>,
    pub skipped: usize,
    pub failed: usize,
    pub bundles: usize,
    /// Bytes of every object the snapshot references (bundles, identities, account).
    pub bytes: u64,
    pub identities: bool,
    pub account: bool,
    /// Whether the run left out an asset type, identities or an `include_*` flag
    /// (`false` also when an older manifest did not record its scope).
    pub partial_scope: bool,
    /// What it left out, for a person (`no dashboard; include_tags off`).
    pub scope_exclusions: Option<String>,
}

impl SnapshotSummary {
    pub fn of(m: &SnapshotManifest) -> Self {
        let assets = counts_by_type(m)
            .into_iter()
            .filter(|(_, (ok, _, _))| *ok > 0)
            .map(|(t, (ok, _, _))| (t, ok))
            .collect();
        SnapshotSummary {
            id: m.id.clone(),
            started_at: m.started_at,
            finished_at: m.finished_at,
            account_id: m.account_id.clone(),
            region: m.region.clone(),
            mode: m.mode,
            status: m.status,
            assets,
            skipped: m.skipped.len(),
            failed: m.failed.len(),
            bundles: m.bundles.len(),
            bytes: m.total_bytes(),
            identities: m.identities.is_some(),
            account: m.account.is_some(),
            partial_scope: m.scope.as_ref().is_some_and(|s| s.is_partial()),
            scope_exclusions: m.scope.as_ref().and_then(|s| s.describe_exclusions()),
        }
    }
}

/// Every object key a manifest references, the manifest itself included.
pub fn referenced_keys(m: &SnapshotManifest) -> Vec<String> {
    let mut keys: Vec<String> = m.bundles.iter().map(|b| b.key.clone()).collect();
    keys.extend(m.identities.iter().chain(m.account.iter()).map(|o| o.key.clone()));
    keys.push(crate::repository::manifest::manifest_key(&m.id));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{manifest, memory_repo};
    use bytes::Bytes;

    #[test]
    fn manifest_keys_give_ids() {
        assert_eq!(
            id_from_key("snapshots/20261128T072100Z-abcdef.json"),
            Some("20261128T072100Z-abcdef")
        );
        assert_eq!(id_from_key("snapshots/x/y.json"), None);
        assert_eq!(id_from_key("identities/a.json"), None);
    }

    #[tokio::test]
    async fn references_resolve_to_one_snapshot() {
        let repo = memory_repo("snaps");
        assert!(resolve(&repo, "latest").await.is_err());
        for id in [
            "20261128T072100Z-aaaaaa",
            "20261128T072100Z-aabbbb",
            "20261129T000000Z-cccccc",
        ] {
            let t: DateTime<Utc> = DateTime::parse_from_rfc3339(&format!(
                "{}-{}-{}T{}:{}:{}Z",
                &id[0..4],
                &id[4..6],
                &id[6..8],
                &id[9..11],
                &id[11..13],
                &id[13..15]
            ))
            .unwrap()
            .into();
            let mut m = manifest(id, t);
            m.failed.push(crate::repository::manifest::FailedAsset {
                acknowledged: false,
                arn: "arn:aws:quicksight:us-east-1:123456789012:dashboard/x".into(),
                asset_type: AssetType::Dashboard,
                name: "X".into(),
                reason: crate::repository::manifest::FailReason::ExportJobFailed,
                message: "broken".into(),
            });
            let bundle = crate::testutil::store_bundle(
                &repo,
                &format!("b/{id}.zip"),
                AssetType::DataSet,
                &[("dataset/d1.json", "{}")],
            )
            .await;
            m.bundles.push(bundle);
            m.commit(&repo).await.unwrap();
        }
        assert_eq!(resolve(&repo, "latest").await.unwrap(), "20261129T000000Z-cccccc");
        // An unreadable manifest older than the newest readable one does not hide `latest`...
        repo.put_create("snapshots/20261127T000000Z-oooooo.json", Bytes::from_static(b"{"))
            .await
            .unwrap();
        assert_eq!(resolve(&repo, "latest").await.unwrap(), "20261129T000000Z-cccccc");
        // ...but one that may be newer (or cannot be placed in time) makes `latest` an error.
        repo.put_create("snapshots/broken.json", Bytes::from_static(b"{"))
            .await
            .unwrap();
        let err = resolve(&repo, "latest").await.unwrap_err();
        assert!(
            matches!(&err, Error::LatestUnreadable { key, .. } if key == "snapshots/broken.json"),
            "{err}"
        );
        assert_eq!(resolve(&repo, "20261129").await.unwrap(), "20261129T000000Z-cccccc");
        assert_eq!(
            resolve(&repo, "20261128T072100Z-aabb").await.unwrap(),
            "20261128T072100Z-aabbbb"
        );
        let ambiguous = resolve(&repo, "20261128").await.unwrap_err().to_string();
        assert!(ambiguous.contains("ambiguous"), "{ambiguous}");
        assert!(resolve(&repo, "1999")
            .await
            .unwrap_err()
            .to_string()
            .contains("no such snapshot"));
        let all = load_all(&repo).await.unwrap();
        assert_eq!(all.manifests.len(), 3);
        assert_eq!(all.unreadable.len(), 2);
        assert_eq!(all.unreadable[1].0, "snapshots/broken.json");
        let s = SnapshotSummary::of(&all.manifests[0]);
        assert_eq!(s.assets.get(&AssetType::DataSet), Some(&1));
        assert_eq!((s.skipped, s.failed, s.bundles), (0, 1, 1));
    }
}
