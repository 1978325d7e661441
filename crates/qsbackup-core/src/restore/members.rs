//! The assets of a snapshot as a restore sees them: every bundle read back from the repository
//! into a temporary file (its size and SHA-256 checked against the manifest), each
//! `<type>/<id>.json` member parsed once (an asset exported with several bundles is the same
//! member in each), its references to other assets read from the ARNs inside it, and refresh
//! schedules attached to their dataset.
//!
//! A member the manifest lists is either loaded or refused with the reason ([`RefusedMember`]):
//! missing from its bundle, over the size limits ([`crate::limits`], checked before and while
//! inflating), damaged, not matching the inventory's SHA-256, not JSON, or not the type and id
//! the manifest records under a safe id ([`crate::repository::verify::member`]). Nothing is dropped silently.

use super::arn::{asset_ref, QsArn};
use super::{AssetKey, RestoreError};
use crate::asset::AssetType;
use crate::config::ExportFormat;
use crate::error::Error;
use crate::repository::bundle_file::fetch;
use crate::repository::manifest::{BundleMember, SnapshotManifest};
use crate::repository::verify::member::{check_entry, MemberHead};
use crate::repository::verify::ZipLimits;
use crate::repository::Repository;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
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

    /// The principals of the member's `permissions`, without parsing the rest into values.
    pub fn permission_principals(&self) -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct Permission {
            #[serde(default)]
            principal: String,
        }
        #[derive(serde::Deserialize)]
        struct Permissions {
            #[serde(default)]
            permissions: Vec<Permission>,
        }
        match serde_json::from_str::<Permissions>(&self.0) {
            Ok(p) => p.permissions.into_iter().map(|p| p.principal).collect(),
            // An odd shape: read it the way the rewrite does.
            Err(_) => self
                .value()
                .get("permissions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    p.get("principal")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect(),
        }
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

/// A member the manifest lists that restore will not import, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedMember {
    /// `type/id` as the manifest records it.
    pub member: String,
    /// The asset, when the member is of a type restore imports.
    #[serde(skip)]
    pub asset: Option<AssetKey>,
    /// Its name as the manifest records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub bundle: String,
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for RefusedMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {} (bundle {})",
            self.member, self.path, self.reason, self.bundle
        )
    }
}

/// Every asset of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMembers {
    pub assets: BTreeMap<AssetKey, AssetMember>,
    /// Refresh schedules by dataset id.
    pub schedules: BTreeMap<String, Vec<ScheduleMember>>,
    /// Members the manifest lists that cannot be used, with why.
    pub refused: Vec<RefusedMember>,
    /// Oddities found while reading (a member that differs between bundles, ...).
    pub notes: Vec<String>,
}

/// Whether restore reads members of type `member_type` (the asset types and refresh schedules).
fn restored_type(member_type: &str) -> bool {
    member_type == "refreshSchedule" || AssetType::from_name(member_type).is_some()
}

fn refusal(entry: &BundleMember, bundle: &str, reason: String) -> RefusedMember {
    RefusedMember {
        member: format!("{}/{}", entry.member_type, entry.id),
        asset: AssetType::from_name(&entry.member_type).map(|t| AssetKey::new(t, &entry.id)),
        name: entry.name.clone(),
        bundle: bundle.to_string(),
        path: entry.path.clone(),
        reason,
    }
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
        let mut refused = Vec::new();
        let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
        let wanted: Vec<Option<Vec<BundleMember>>> = manifest
            .bundles
            .iter()
            .map(|b| {
                if b.members.is_empty() {
                    return None;
                }
                let mut mine = Vec::new();
                let listed: BTreeSet<String> = b.members.iter().map(|m| format!("{}/{}", m.member_type, m.id)).collect();
                for arn in &b.requested_arns {
                    let resource = arn.rsplit(':').next().unwrap_or(arn);
                    let Some((t, id)) = resource.split_once('/') else {
                        continue;
                    };
                    if !listed.contains(resource) && AssetType::from_name(t).is_some() {
                        let entry = BundleMember {
                            path: format!("{resource}.json"),
                            member_type: t.to_string(),
                            id: id.to_string(),
                            name: None,
                            sha256: String::new(),
                            last_updated_time: None,
                        };
                        refused.push(refusal(
                            &entry,
                            &b.key,
                            "is what the bundle was exported for, but the manifest's inventory of the bundle has no such member"
                                .into(),
                        ));
                    }
                }
                for m in &b.members {
                    if !restored_type(&m.member_type) {
                        notes.push(format!("bundle member {}: type `{}` is not restored", m.path, m.member_type));
                        continue;
                    }
                    if let Err(why) = check_entry(&m.path, &m.member_type, &m.id) {
                        refused.push(refusal(m, &b.key, format!("is refused: {why}")));
                        continue;
                    }
                    match claimed.get(m.path.as_str()) {
                        None => {
                            claimed.insert(&m.path, &m.sha256);
                            mine.push(m.clone());
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
                // Into a temporary file, not memory: a bundle can be as large as the store holds.
                let fetched = fetch(repository, &b.key).await?;
                if fetched.size != b.size || fetched.sha256 != b.sha256 {
                    return Err(Error::Integrity {
                        key: b.key.clone(),
                        message: format!(
                            "it has {} bytes with SHA-256 {}, but the manifest of snapshot {} records {} bytes with {}",
                            fetched.size, fetched.sha256, manifest.id, b.size, b.sha256
                        ),
                    });
                }
                let key = b.key.clone();
                let account = manifest.account_id.clone();
                tokio::task::spawn_blocking(move || {
                    read_zip(
                        fetched.file.path(),
                        &key,
                        wanted.as_deref(),
                        &account,
                        &ZipLimits::default(),
                    )
                })
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
            refused,
            ..Default::default()
        };
        while let Some(part) = bundles.try_next().await? {
            members.merge(part);
        }
        // A member one bundle lacks can have come from another.
        let (moot, refused): (Vec<RefusedMember>, Vec<RefusedMember>) = std::mem::take(&mut members.refused)
            .into_iter()
            .partition(|r| r.asset.as_ref().is_some_and(|a| members.assets.contains_key(a)));
        members.refused = refused;
        members
            .notes
            .extend(moot.iter().map(|r| format!("{r}; another bundle holds it")));
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
        self.refused.extend(part.refused);
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

/// Reads one member within `limits` (`total` is what the bundle's members took so far):
/// `Err` is why it is refused.
fn read_member<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    path: &str,
    limits: &ZipLimits,
    total: &mut u64,
) -> Result<Vec<u8>, String> {
    let Some(index) = archive.index_for_name(path) else {
        return Err("is listed in the manifest but is not in the bundle".into());
    };
    let declared = {
        let raw = archive
            .by_index_raw(index)
            .map_err(|e| format!("cannot be read: {e}"))?;
        if raw.encrypted() {
            return Err("is encrypted".into());
        }
        if !matches!(
            raw.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(format!("uses compression method {}", raw.compression()));
        }
        let size = raw.size();
        if size > limits.max_member_bytes {
            let why = crate::limits::too_large_text("member", Some(size), limits.max_member_bytes);
            return Err(format!("is refused: {why}"));
        }
        if size > limits.ratio_floor_bytes && size / raw.compressed_size().max(1) > limits.max_ratio {
            return Err(format!(
                "expands {} bytes to {size} (over {}:1): a decompression bomb",
                raw.compressed_size(),
                limits.max_ratio
            ));
        }
        size
    };
    let cap = limits
        .max_member_bytes
        .min(limits.max_total_bytes.saturating_sub(*total));
    let entry = archive.by_index(index).map_err(|e| format!("cannot be read: {e}"))?;
    let mut body = Vec::with_capacity(usize::try_from(declared.min(cap)).unwrap_or(0));
    // The zip reader checks the CRC and the declared size as it inflates.
    let read = entry.take(cap.saturating_add(1)).read_to_end(&mut body);
    *total = total.saturating_add(body.len() as u64);
    if body.len() as u64 > cap {
        let what = if cap < limits.max_member_bytes {
            "bundle's members in total"
        } else {
            "member"
        };
        let why = crate::limits::too_large_text(what, None, cap);
        return Err(format!("is refused: {why} (it declares {declared} bytes)"));
    }
    match read {
        Err(e) if crate::limits::holds_more_than_declared(&e) => Err(format!(
            "is refused: it holds more than the {declared} bytes it declares (a decompression bomb); \
             reading stopped there, within the {cap} byte limit"
        )),
        Err(e) => Err(format!("is damaged: {e}")),
        Ok(_) => Ok(body),
    }
}

/// The JSON members of the zip at `path` (only `wanted`, when the manifest has an inventory),
/// each checked, parsed and kept as compact text, or refused with the reason. The bundle's own
/// SHA-256 is already checked.
fn read_zip(
    path: &Path,
    key: &str,
    wanted: Option<&[BundleMember]>,
    account: &str,
    limits: &ZipLimits,
) -> Result<SnapshotMembers, Error> {
    let bad = |message: String| Error::Bundle {
        key: key.to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(format!("not a valid zip: {e}")))?;
    let mut out = SnapshotMembers::default();
    let entries: Vec<BundleMember> = match wanted {
        Some(w) => w.to_vec(),
        // Without an inventory (an old manifest), every `<type>/<id>.json` member counts.
        None => (0..archive.len())
            .filter_map(|i| {
                let name = archive.name_for_index(i)?.ok()?.into_owned();
                let (folder, file) = name.rsplit_once('/')?;
                let id = file.strip_suffix(".json")?.to_string();
                Some(BundleMember {
                    member_type: folder.rsplit('/').next().unwrap_or(folder).to_string(),
                    id,
                    name: None,
                    sha256: String::new(),
                    last_updated_time: None,
                    path: name,
                })
            })
            .filter(|m| {
                let keep = restored_type(&m.member_type);
                if !keep {
                    out.notes.push(format!(
                        "bundle member {}: type `{}` is not restored",
                        m.path, m.member_type
                    ));
                }
                keep
            })
            .collect(),
    };
    let mut total = 0u64;
    for entry in &entries {
        if wanted.is_none() {
            if let Err(why) = check_entry(&entry.path, &entry.member_type, &entry.id) {
                out.refused.push(refusal(entry, key, format!("is refused: {why}")));
                continue;
            }
        }
        let content = match read_member(&mut archive, &entry.path, limits, &mut total) {
            Ok(c) => c,
            Err(why) => {
                out.refused.push(refusal(entry, key, why));
                continue;
            }
        };
        if !entry.sha256.is_empty() {
            let actual = hex::encode(Sha256::digest(&content));
            if actual != entry.sha256 {
                let why = format!(
                    "has SHA-256 {actual}, but the manifest's inventory records {}",
                    entry.sha256
                );
                out.refused.push(refusal(entry, key, why));
                continue;
            }
        }
        let json: Value = match serde_json::from_slice(&content) {
            Ok(v) => v,
            Err(e) => {
                out.refused
                    .push(refusal(entry, key, format!("is not valid JSON ({e})")));
                continue;
            }
        };
        let size = content.len();
        drop(content);
        if let Err(why) = MemberHead::of(&json).and_then(|h| h.check(&entry.member_type, &entry.id)) {
            out.refused
                .push(refusal(entry, key, format!("is not what the manifest says: {why}")));
            continue;
        }
        out.add(&entry.path, json, size, account);
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
