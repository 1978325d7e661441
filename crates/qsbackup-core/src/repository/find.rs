//! Finding one asset across snapshots (`qsbackup find`) and reading it back out of one
//! (`qsbackup dump`): which snapshots hold an asset and what became of it in each (stored,
//! failed, skipped), and an asset's JSON member or its whole bundle, checked against the
//! manifest's sizes and checksums and bounded by [`crate::limits`].

use crate::asset::{id_from_arn, AssetKey, AssetType};
use crate::error::{Error, Result};
use crate::repository::bundle_file::{self, FetchedObject};
use crate::repository::manifest::{BundleMember, BundleRecord, SnapshotManifest, SnapshotStatus};
use crate::repository::snapshots::load_all;
use crate::repository::Repository;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// True when `m` is `asset`'s own member of a bundle.
fn is_member(asset: &AssetKey, m: &BundleMember) -> bool {
    m.id == asset.id && m.member_type == asset.asset_type.as_str()
}

/// What `find` looks for.
#[derive(Debug, Clone)]
pub enum AssetQuery {
    /// One asset by type and id.
    Asset(AssetKey),
    /// Every asset whose name matches a glob (`*` and `?`, case-insensitive).
    Name(String),
}

impl AssetQuery {
    /// Whether the asset `asset_type`/`id`, called `name`, is what the query asks for.
    pub fn matches(&self, asset_type: AssetType, id: &str, name: Option<&str>) -> bool {
        match self {
            AssetQuery::Asset(a) => a.asset_type == asset_type && a.id == id,
            AssetQuery::Name(glob) => {
                name.is_some_and(|n| wildmatch::WildMatch::new(&glob.to_lowercase()).matches(&n.to_lowercase()))
            }
        }
    }
}

/// What became of an asset in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetState {
    /// Its definition is in a stored bundle (as a requested asset or a dependency).
    Stored,
    /// It was selected and could not be exported.
    Failed,
    /// It was deliberately left out (a type bundles cannot export, ...).
    Skipped,
}

/// One asset in one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Sighting {
    pub snapshot_id: String,
    pub started_at: DateTime<Utc>,
    pub snapshot_status: SnapshotStatus,
    pub asset_type: AssetType,
    pub id: String,
    pub name: Option<String>,
    pub status: AssetState,
    /// The bundle and the member path of a stored asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why a failed or skipped asset is not stored: the reason code and QuickSight's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Every sighting of what `query` asks for, newest snapshot first, and the manifests that could
/// not be read (an asset may hide in them).
#[derive(Debug, Default)]
pub struct FindResult {
    pub sightings: Vec<Sighting>,
    pub snapshots_searched: usize,
    /// (manifest key, why it could not be read).
    pub unreadable: Vec<(String, String)>,
}

fn code<T: Serialize>(reason: &T) -> Option<String> {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

/// The sightings of `query` in one snapshot: each stored asset once (the first bundle holding
/// it), then the failed and skipped ones.
pub fn in_manifest(m: &SnapshotManifest, query: &AssetQuery) -> Vec<Sighting> {
    let base = |asset_type: AssetType, id: &str, name: Option<String>, status: AssetState| Sighting {
        snapshot_id: m.id.clone(),
        started_at: m.started_at,
        snapshot_status: m.status,
        asset_type,
        id: id.to_string(),
        name,
        status,
        bundle: None,
        path: None,
        reason: None,
        message: None,
    };
    let mut out: Vec<Sighting> = Vec::new();
    for b in &m.bundles {
        for member in &b.members {
            let Some(t) = AssetType::from_name(&member.member_type) else {
                continue;
            };
            if !query.matches(t, &member.id, member.name.as_deref()) {
                continue;
            }
            if out.iter().any(|s| s.asset_type == t && s.id == member.id) {
                continue;
            }
            let mut s = base(t, &member.id, member.name.clone(), AssetState::Stored);
            s.bundle = Some(b.key.clone());
            s.path = Some(member.path.clone());
            out.push(s);
        }
    }
    let failed = m.failed.iter().map(|f| {
        (
            f.asset_type,
            &f.arn,
            &f.name,
            AssetState::Failed,
            code(&f.reason),
            &f.message,
        )
    });
    let skipped = m.skipped.iter().map(|s| {
        (
            s.asset_type,
            &s.arn,
            &s.name,
            AssetState::Skipped,
            code(&s.reason),
            &s.message,
        )
    });
    for (t, arn, name, status, reason, message) in failed.chain(skipped) {
        let id = id_from_arn(arn).unwrap_or(arn.as_str());
        if !query.matches(t, id, Some(name)) {
            continue;
        }
        let mut s = base(t, id, Some(name.clone()), status);
        s.reason = reason;
        s.message = Some(message.clone());
        out.push(s);
    }
    out
}

/// Every snapshot's sightings of `query`, newest snapshot first.
pub async fn find(repo: &Repository, query: &AssetQuery) -> Result<FindResult> {
    let loaded = load_all(repo).await?;
    let mut sightings = Vec::new();
    for m in loaded.manifests.iter().rev() {
        sightings.extend(in_manifest(m, query));
    }
    Ok(FindResult {
        sightings,
        snapshots_searched: loaded.manifests.len(),
        unreadable: loaded.unreadable,
    })
}

/// The newest snapshot that stores `asset`, if any (unreadable manifests are passed over).
pub async fn newest_holding(repo: &Repository, asset: &AssetKey) -> Result<Option<String>> {
    let found = find(repo, &AssetQuery::Asset(asset.clone())).await?;
    Ok(found
        .sightings
        .into_iter()
        .find(|s| s.status == AssetState::Stored)
        .map(|s| s.snapshot_id))
}

/// [`Error::NoSuchAsset`] for `asset` in snapshot `snapshot`, naming the newest snapshot that
/// stores it. Looking that up is a courtesy: if it fails, the error just does not name one.
pub async fn no_such_asset(repo: &Repository, snapshot: &str, asset: &AssetKey) -> Error {
    let held_by = newest_holding(repo, asset).await.unwrap_or_else(|e| {
        tracing::debug!("looking for {asset} in other snapshots: {e}");
        None
    });
    Error::NoSuchAsset {
        snapshot: snapshot.to_string(),
        asset: asset.to_string(),
        held_by,
    }
}

/// The bundle that stores `asset` in `m` and its member, or [`Error::NoSuchAsset`].
pub async fn locate<'m>(
    repo: &Repository,
    m: &'m SnapshotManifest,
    asset: &AssetKey,
) -> Result<(&'m BundleRecord, &'m BundleMember)> {
    for b in &m.bundles {
        if let Some(member) = b.members.iter().find(|x| is_member(asset, x)) {
            return Ok((b, member));
        }
    }
    // Failed or skipped in this snapshot is "not here" too; the error says where it is.
    Err(no_such_asset(repo, &m.id, asset).await)
}

/// Reads bundle `b` into a temporary file and checks it against the manifest's size and
/// SHA-256 ([`Error::Integrity`] when they differ).
pub async fn fetch_bundle(repo: &Repository, b: &BundleRecord) -> Result<FetchedObject> {
    let fetched = bundle_file::fetch(repo, &b.key).await?;
    if fetched.size != b.size || fetched.sha256 != b.sha256 {
        return Err(Error::Integrity {
            key: b.key.clone(),
            message: format!(
                "the bundle has {} bytes with SHA-256 {}, the manifest recorded {} bytes with {} \
                 (run `qsbackup verify`)",
                fetched.size, fetched.sha256, b.size, b.sha256
            ),
        });
    }
    Ok(fetched)
}

/// The exact bytes of `asset`'s JSON member in snapshot `m`, after checking its bundle and the
/// member's SHA-256 against the manifest.
pub async fn asset_member(repo: &Repository, m: &SnapshotManifest, asset: &AssetKey) -> Result<Vec<u8>> {
    let (b, member) = locate(repo, m, asset).await?;
    let fetched = fetch_bundle(repo, b).await?;
    let path = fetched.file.path().to_path_buf();
    let key = b.key.clone();
    let name = member.path.clone();
    let body = tokio::task::spawn_blocking(move || {
        bundle_file::read_member(&path, &key, &name, crate::limits::MAX_MEMBER_BYTES)
    })
    .await
    .map_err(|e| Error::Bundle {
        key: b.key.clone(),
        message: format!("reading {}: {e}", member.path),
    })??;
    drop(fetched);
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
    if sha256 != member.sha256 {
        return Err(Error::Integrity {
            key: b.key.clone(),
            message: format!(
                "member {} has SHA-256 {sha256}, the manifest recorded {} (run `qsbackup verify`)",
                member.path, member.sha256
            ),
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{manifest, memory_repo, store_bundle};

    #[tokio::test]
    async fn an_asset_is_found_newest_first_and_read_back_exactly() {
        let repo = memory_repo("find");
        let body = "{\"DataSetId\": \"d1\",  \"Name\": \"Sales\"}";
        for (id, day) in [("20261128T000000Z-aaaaaa", 28), ("20261129T000000Z-bbbbbb", 29)] {
            let t = DateTime::parse_from_rfc3339(&format!("2026-11-{day}T00:00:00Z"))
                .unwrap()
                .into();
            let mut m = manifest(id, t);
            if day == 28 {
                let b = store_bundle(&repo, "b/28.zip", AssetType::DataSet, &[("dataset/d1.json", body)]).await;
                m.bundles.push(b);
            } else {
                m.failed.push(crate::repository::manifest::FailedAsset {
                    arn: "arn:aws:quicksight:us-east-1:123456789012:dataset/d1".into(),
                    asset_type: AssetType::DataSet,
                    name: "Sales".into(),
                    reason: crate::repository::manifest::FailReason::ExportJobFailed,
                    message: "broken".into(),
                    acknowledged: false,
                });
            }
            m.commit(&repo).await.unwrap();
        }
        let d1 = AssetKey::parse("data_set/d1").unwrap();
        let found = find(&repo, &AssetQuery::Asset(d1.clone())).await.unwrap();
        let states: Vec<_> = found
            .sightings
            .iter()
            .map(|s| (s.snapshot_id.as_str(), s.status))
            .collect();
        assert_eq!(
            states,
            [
                ("20261129T000000Z-bbbbbb", AssetState::Failed),
                ("20261128T000000Z-aaaaaa", AssetState::Stored)
            ]
        );
        let by_name = find(&repo, &AssetQuery::Name("sal*".into())).await.unwrap();
        // The failed asset carries its name; the test bundle's member has none.
        assert!(
            by_name
                .sightings
                .iter()
                .any(|s| s.snapshot_id == "20261129T000000Z-bbbbbb" && s.status == AssetState::Failed),
            "{by_name:?}"
        );
        assert_eq!(
            newest_holding(&repo, &d1).await.unwrap().as_deref(),
            Some("20261128T000000Z-aaaaaa")
        );

        let newest = SnapshotManifest::load(&repo, "20261129T000000Z-bbbbbb").await.unwrap();
        let err = asset_member(&repo, &newest, &d1).await.unwrap_err();
        assert!(
            matches!(&err, Error::NoSuchAsset { held_by: Some(h), .. } if h == "20261128T000000Z-aaaaaa"),
            "{err}"
        );
        let older = SnapshotManifest::load(&repo, "20261128T000000Z-aaaaaa").await.unwrap();
        assert_eq!(asset_member(&repo, &older, &d1).await.unwrap(), body.as_bytes());
    }
}
