//! The assets of a snapshot as a restore sees them: every bundle read back from the repository
//! (its size and SHA-256 checked against the manifest), each `<type>/<id>.json` member parsed
//! once (an asset exported with several bundles is the same member in each), its references to
//! other assets read from the ARNs inside it, and refresh schedules attached to their dataset.

use super::arn::{asset_ref, QsArn};
use super::{AssetKey, RestoreError};
use crate::asset::AssetType;
use crate::config::ExportFormat;
use crate::error::Error;
use crate::manifest::SnapshotManifest;
use crate::repository::Repository;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Arc;

/// Bundles read from the repository at once.
const READ_CONCURRENCY: usize = 4;

/// A member's JSON, kept as compact text: a parsed `Value` takes several
/// times the memory, and a restore holds every member of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberJson(Arc<str>);

impl MemberJson {
    pub fn new(value: &Value) -> MemberJson {
        MemberJson(Arc::from(value.to_string()))
    }

    /// The member as a value. The text was produced from a parsed value, so it
    /// parses again; `Null` would only follow memory corruption.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// Bytes of the compact text.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One asset of the snapshot.
#[derive(Debug, Clone)]
pub struct AssetMember {
    pub key: AssetKey,
    pub name: String,
    /// The member as exported.
    pub json: MemberJson,
    /// Assets of the source account it references (its dependencies and folders).
    pub references: BTreeSet<AssetKey>,
    /// Bytes of the member as stored.
    pub size: usize,
}

/// A dataset's refresh schedule (`refreshSchedule/<scheduleId>.json`).
#[derive(Debug, Clone)]
pub struct ScheduleMember {
    pub data_set_id: String,
    pub schedule_id: String,
    pub json: MemberJson,
}

/// Every asset of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMembers {
    pub assets: BTreeMap<AssetKey, AssetMember>,
    /// Refresh schedules by dataset id.
    pub schedules: BTreeMap<String, Vec<ScheduleMember>>,
    /// Oddities found while reading (a member that differs between bundles, ...).
    pub notes: Vec<String>,
}

/// The id field of a bundle member of type `t`.
pub fn id_field(t: AssetType) -> &'static str {
    match t {
        AssetType::DataSource => "dataSourceId",
        AssetType::DataSet => "dataSetId",
        AssetType::Analysis => "analysisId",
        AssetType::Dashboard => "dashboardId",
        AssetType::Theme => "themeId",
        AssetType::VpcConnection => "vpcConnectionId",
        AssetType::Folder => "folderId",
    }
}

/// Every asset of `account` that a JSON value mentions by ARN.
pub fn references_in(value: &Value, account: &str, out: &mut BTreeSet<AssetKey>) {
    match value {
        Value::String(s) => {
            if let Some(arn) = QsArn::parse(s).filter(|a| a.account == account) {
                if let Some(key) = asset_ref(&arn) {
                    out.insert(key);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references_in(v, account, out)),
        Value::Object(map) => map.values().for_each(|v| references_in(v, account, out)),
        _ => {}
    }
}

impl SnapshotMembers {
    /// Reads every bundle of `manifest` from `repository`.
    pub async fn load(repository: &Repository, manifest: &SnapshotManifest) -> Result<SnapshotMembers, RestoreError> {
        if manifest.export_format != ExportFormat::QuickSightJson {
            return Err(RestoreError::Unsupported(format!(
                "snapshot {} holds {} bundles; restore imports QUICKSIGHT_JSON bundles only",
                manifest.id,
                manifest.export_format.as_str()
            )));
        }
        // An asset exported with several bundles is the same member in each: read it once.
        let mut notes = Vec::new();
        let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
        let wanted: Vec<Option<BTreeSet<String>>> = manifest
            .bundles
            .iter()
            .map(|b| {
                if b.members.is_empty() {
                    return None;
                }
                let mut mine = BTreeSet::new();
                for m in &b.members {
                    match claimed.get(m.path.as_str()) {
                        None => {
                            claimed.insert(&m.path, &m.sha256);
                            mine.insert(m.path.clone());
                        }
                        Some(sha) if *sha != m.sha256 => notes.push(format!(
                            "{} differs between the bundles of the snapshot; the first copy is restored",
                            m.path
                        )),
                        Some(_) => {}
                    }
                }
                Some(mine)
            })
            .collect();
        let reads: Vec<_> = manifest
            .bundles
            .iter()
            .zip(wanted)
            .map(|(b, wanted)| async move {
                let bytes = repository.get(&b.key).await?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                if bytes.len() as u64 != b.size || sha256 != b.sha256 {
                    return Err(Error::Integrity {
                        key: b.key.clone(),
                        message: format!(
                            "it has {} bytes with SHA-256 {sha256}, but the manifest of snapshot {} records {} bytes with {}",
                            bytes.len(),
                            manifest.id,
                            b.size,
                            b.sha256
                        ),
                    });
                }
                let key = b.key.clone();
                let account = manifest.account_id.clone();
                tokio::task::spawn_blocking(move || read_zip(&key, &bytes, wanted.as_ref(), &account))
                    .await
                    .map_err(|e| Error::Bundle {
                        key: b.key.clone(),
                        message: format!("reading the bundle failed: {e}"),
                    })?
            })
            .collect();
        // The futures are collected first: a stream over a borrowing closure is not `Send`
        // (rust-lang/rust#102211). Each bundle's members are kept as compact text as soon as
        // they are parsed, so no more than one parsed member per reader is alive at once.
        let mut bundles = futures::stream::iter(reads).buffered(READ_CONCURRENCY);
        let mut members = SnapshotMembers {
            notes,
            ..Default::default()
        };
        while let Some(part) = bundles.try_next().await? {
            members.merge(part);
        }
        Ok(members)
    }

    /// Takes in the members another bundle contributed (each path is read from one bundle only).
    fn merge(&mut self, part: SnapshotMembers) {
        for (key, member) in part.assets {
            self.assets.entry(key).or_insert(member);
        }
        for (data_set_id, schedules) in part.schedules {
            let list = self.schedules.entry(data_set_id).or_default();
            for s in schedules {
                if !list.iter().any(|x| x.schedule_id == s.schedule_id) {
                    list.push(s);
                }
            }
        }
        self.notes.extend(part.notes);
    }

    fn add(&mut self, path: &str, json: Value, size: usize, account: &str) {
        let Some((folder, _)) = path.rsplit_once('/') else {
            return;
        };
        let folder = folder.rsplit('/').next().unwrap_or(folder);
        if folder == "refreshSchedule" {
            let data_set_id = json
                .get("dataSetId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let schedule_id = json
                .pointer("/schedule/scheduleId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    path.rsplit('/')
                        .next()
                        .unwrap_or(path)
                        .trim_end_matches(".json")
                        .to_string()
                });
            let list = self.schedules.entry(data_set_id.clone()).or_default();
            if !list.iter().any(|s| s.schedule_id == schedule_id) {
                list.push(ScheduleMember {
                    data_set_id,
                    schedule_id,
                    json: MemberJson::new(&json),
                });
            }
            return;
        }
        let Some(asset_type) = AssetType::from_name(folder) else {
            self.notes
                .push(format!("bundle member {path}: type `{folder}` is not restored"));
            return;
        };
        let file_id = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".json");
        let id = json
            .get(id_field(asset_type))
            .and_then(Value::as_str)
            .unwrap_or(file_id)
            .to_string();
        let key = AssetKey::new(asset_type, &id);
        let compact = MemberJson::new(&json);
        if let Some(existing) = self.assets.get(&key) {
            // Both texts come from parsed values, whose maps are sorted: equal
            // members give equal text.
            if existing.json != compact {
                self.notes.push(format!(
                    "{key} differs between the bundles of the snapshot; the first copy is restored"
                ));
            }
            return;
        }
        let mut references = BTreeSet::new();
        references_in(&json, account, &mut references);
        references.remove(&key);
        let name = json.get("name").and_then(Value::as_str).unwrap_or(&id).to_string();
        self.assets.insert(
            key.clone(),
            AssetMember {
                key,
                name,
                json: compact,
                references,
                size,
            },
        );
    }
}

/// The JSON members of one zip (only `wanted`, when given), each parsed and kept as compact
/// text. The bundle's own SHA-256 is already checked, and each member's CRC-32 is checked while
/// it is inflated.
fn read_zip(
    key: &str,
    bytes: &[u8],
    wanted: Option<&BTreeSet<String>>,
    account: &str,
) -> Result<SnapshotMembers, Error> {
    let bad = |message: String| Error::Bundle {
        key: key.to_string(),
        message,
    };
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(format!("not a valid zip: {e}")))?;
    let mut out = SnapshotMembers::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(format!("member {i}: {e}")))?;
        let path = entry.name().to_string();
        if entry.is_dir() || !path.ends_with(".json") || wanted.is_some_and(|w| !w.contains(&path)) {
            continue;
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("{path}: {e}")))?;
        match serde_json::from_slice(&content) {
            Ok(json) => out.add(&path, json, content.len(), account),
            Err(e) => out
                .notes
                .push(format!("bundle member {path} is not JSON ({e}); it is left out")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_parsed_once_with_their_references() {
        let mut m = SnapshotMembers::default();
        let acct = "123456789012";
        let dash = json!({"resourceType": "dashboard", "dashboardId": "d1", "name": "Sales",
            "dataSetArns": [format!("arn:aws:quicksight:us-east-1:{acct}:dataset/s1")],
            "themeArn": "arn:aws:quicksight:us-east-1:999999999999:theme/other",
            "folderArns": [format!("arn:aws:quicksight:us-east-1:{acct}:folder/f1")],
            "permissions": [{"principal": format!("arn:aws:quicksight:us-east-1:{acct}:user/default/ana"), "actions": []}]});
        m.add("dashboard/d1.json", dash.clone(), 10, acct);
        m.add("dashboard/d1.json", dash, 10, acct);
        let sched = json!({"resourceType": "refreshSchedule", "dataSetId": "s1", "schedule": {"scheduleId": "daily"}});
        m.add("refreshSchedule/daily.json", sched, 10, acct);
        m.add("topic/t1.json", json!({}), 2, acct);
        assert_eq!(m.assets.len(), 1);
        let d = &m.assets[&AssetKey::new(AssetType::Dashboard, "d1")];
        assert_eq!(d.name, "Sales");
        let refs: Vec<String> = d.references.iter().map(|k| k.to_string()).collect();
        assert_eq!(refs, vec!["dataset/s1", "folder/f1"]);
        assert_eq!(m.schedules["s1"][0].schedule_id, "daily");
        assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    }
}
