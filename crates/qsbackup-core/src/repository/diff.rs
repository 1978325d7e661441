//! What changed between two snapshots: assets added, removed and changed per type, users,
//! groups and memberships added or removed and roles changed, and which parts of the account
//! configuration changed — the change history the AWS blog promises.
//!
//! Assets are compared by their bundle members (`<type>/<id>.json`). Equal recorded checksums
//! mean no change; when they differ, both member documents are read from the bundles (each
//! bundle streamed once into a temporary file) and compared after dropping the fields that
//! change on every export without a real change ([`VOLATILE_FIELDS`]), so only real edits show.
//! An asset missing from one side because its export failed there is listed as unavailable,
//! not as removed or added.

mod fields;
mod identities;

use crate::account_config::AccountSnapshot;
use crate::error::Result;
use crate::identities::IdentitySnapshot;
use crate::repository::manifest::{BundleMember, SnapshotManifest};
use crate::repository::member_docs::MemberDocs;
use crate::repository::{ObjectRef, Repository};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub use fields::{diff_documents, ChangeArea, FieldChange, FieldChangeKind};
pub use identities::{diff_identities, GroupRef, IdentityDiff, Membership, RoleChange, UserChange, UserRef};

/// Fields QuickSight stamps anew on every export or read, at any depth of a member document.
pub const VOLATILE_FIELDS: &[&str] = &[
    "createdTime",
    "lastUpdatedTime",
    "lastPublishedTime",
    "CreatedTime",
    "LastUpdatedTime",
    "LastPublishedTime",
    "consumedSpiceCapacityInBytes",
    "ConsumedSpiceCapacityInBytes",
];

use crate::limits::{MAX_ACCOUNT_BYTES, MAX_IDENTITIES_BYTES};

/// Removes [`VOLATILE_FIELDS`] everywhere in `v`.
pub fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !VOLATILE_FIELDS.contains(&k.as_str()));
            map.values_mut().for_each(normalize);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// An asset on one side of the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetRef {
    pub id: String,
    pub name: Option<String>,
    /// For a refresh schedule, the dataset it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<String>,
}

/// An asset whose definition changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetChange {
    pub id: String,
    pub name: Option<String>,
    /// The name before, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_name: Option<String>,
    /// Top-level fields of the member document that differ, e.g. `name`, `definition`.
    pub fields: Vec<String>,
    /// Every field that differs, in QuickSight's words, with its JSON path.
    pub changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<String>,
}

/// Changes of one member type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeDiff {
    pub added: Vec<AssetRef>,
    pub removed: Vec<AssetRef>,
    pub changed: Vec<AssetChange>,
}

impl TypeDiff {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// An asset present on one side only because its export failed or was skipped on the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unavailable {
    #[serde(rename = "type")]
    pub member_type: String,
    pub id: String,
    /// The snapshot where it is missing.
    pub missing_in: String,
    pub reason: String,
}

/// Changes of the account configuration, by part (`account_settings`, `brands/<id>`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// Everything that differs between snapshots `from` and `to`.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotDiff {
    #[serde(rename = "from_snapshot_id")]
    pub from: String,
    #[serde(rename = "to_snapshot_id")]
    pub to: String,
    /// Per member type (`dashboard`, `dataset`, `refreshSchedule`, ...); unchanged types omitted.
    pub assets: BTreeMap<String, TypeDiff>,
    pub unavailable: Vec<Unavailable>,
    pub identities: Option<IdentityDiff>,
    pub account: Option<AccountDiff>,
    pub notes: Vec<String>,
}

impl SnapshotDiff {
    /// The same diff narrowed to one asset (member type and id): identities and account
    /// configuration are left out.
    pub fn only(mut self, member_type: &str, id: &str) -> SnapshotDiff {
        self.assets.retain(|t, _| t == member_type);
        for td in self.assets.values_mut() {
            td.added.retain(|a| a.id == id);
            td.removed.retain(|a| a.id == id);
            td.changed.retain(|c| c.id == id);
        }
        self.assets.retain(|_, td| !td.is_empty());
        self.unavailable.retain(|u| u.member_type == member_type && u.id == id);
        self.identities = None;
        self.account = None;
        self.notes.clear();
        self
    }

    /// True when nothing at all changed.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
            && self.identities.as_ref().is_none_or(IdentityDiff::is_empty)
            && self
                .account
                .as_ref()
                .is_none_or(|a| a.added.is_empty() && a.removed.is_empty() && a.changed.is_empty())
    }
}

#[derive(Debug, Clone)]
struct Occurrence {
    bundle: ObjectRef,
    member: BundleMember,
}

type MemberKey = (String, String);

fn members_of(m: &SnapshotManifest) -> BTreeMap<MemberKey, Occurrence> {
    let mut out = BTreeMap::new();
    for b in &m.bundles {
        for x in &b.members {
            out.entry((x.member_type.clone(), x.id.clone()))
                .or_insert_with(|| Occurrence {
                    bundle: b.object(),
                    member: x.clone(),
                });
        }
    }
    out
}

/// Why a root asset is absent from `m`, if it was skipped or failed there.
fn absence_reason(m: &SnapshotManifest, member_type: &str, id: &str) -> Option<String> {
    let suffix = format!(":{member_type}/{id}");
    m.failed
        .iter()
        .find(|f| f.arn.ends_with(&suffix))
        .map(|f| format!("its export failed: {}", f.message))
        .or_else(|| {
            m.skipped
                .iter()
                .find(|s| s.arn.ends_with(&suffix))
                .map(|s| format!("it was skipped: {}", s.message))
        })
}

/// The dataset of a refresh schedule member.
async fn data_set_id(docs: &mut MemberDocs<'_>, occ: &Occurrence) -> Result<Option<String>> {
    if occ.member.member_type != "refreshSchedule" {
        return Ok(None);
    }
    let v = docs.json(&occ.bundle, &occ.member).await?;
    Ok(v.get("dataSetId").and_then(Value::as_str).map(str::to_string))
}

/// What changed inside one member from `old` to `new`: `None` when only volatile fields differ.
pub async fn member_changes(
    docs: &mut MemberDocs<'_>,
    old: (&ObjectRef, &BundleMember),
    new: (&ObjectRef, &BundleMember),
) -> Result<Option<(Vec<FieldChange>, Value)>> {
    let (mut va, mut vb) = (docs.json(old.0, old.1).await?, docs.json(new.0, new.1).await?);
    normalize(&mut va);
    normalize(&mut vb);
    if va == vb {
        return Ok(None);
    }
    Ok(Some((diff_documents(&va, &vb), vb)))
}

/// The top-level fields the changes touch (`name`, `definition`, `permissions`).
fn changed_fields(changes: &[FieldChange]) -> Vec<String> {
    let fields: BTreeSet<String> = changes
        .iter()
        .map(|c| {
            let rest = c.path.strip_prefix("$.").unwrap_or(&c.path);
            let rest = rest
                .strip_prefix("['")
                .map_or(rest, |r| r.split("']").next().unwrap_or(r));
            rest.split(['.', '[']).next().unwrap_or(rest).to_string()
        })
        .collect();
    if fields.is_empty() {
        vec!["(document)".into()]
    } else {
        fields.into_iter().collect()
    }
}

pub(crate) async fn load_doc<T: crate::repository::layout::RepoFile>(
    repo: &Repository,
    object: &ObjectRef,
    limit: u64,
    what: &'static str,
) -> Result<T> {
    let bytes = repo.get_capped(&object.key, limit, what).await?;
    crate::repository::layout::parse_record(repo, &object.key, &bytes)
}

/// Every part of an account snapshot by name, normalized.
pub(crate) fn account_parts(s: &AccountSnapshot) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut put = |name: String, v: Value| {
        let mut v = v;
        normalize(&mut v);
        out.insert(name, v);
    };
    if let Some(v) = &s.account_settings {
        put("account_settings".into(), v.clone());
    }
    for (ns, v) in &s.customizations {
        put(format!("customizations/{ns}"), v.clone());
    }
    for b in &s.brands {
        put(
            format!("brands/{}", b.brand_id),
            serde_json::json!({"detail": b.detail, "definition": b.definition}),
        );
    }
    for (i, p) in s.custom_permissions.iter().enumerate() {
        let name = p
            .get("CustomPermissionsName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| i.to_string());
        put(format!("custom_permissions/{name}"), p.clone());
    }
    for f in &s.folders {
        put(
            format!("folders/{}", f.folder_id),
            serde_json::json!({"folder": f.folder, "permissions": f.permissions, "members": f.members}),
        );
    }
    out
}

pub(crate) fn diff_account(a: &AccountSnapshot, b: &AccountSnapshot) -> AccountDiff {
    let (pa, pb) = (account_parts(a), account_parts(b));
    let mut d = AccountDiff::default();
    for (k, v) in &pb {
        match pa.get(k) {
            None => d.added.push(k.clone()),
            Some(old) if old != v => d.changed.push(k.clone()),
            Some(_) => {}
        }
    }
    d.removed = pa.keys().filter(|k| !pb.contains_key(*k)).cloned().collect();
    d
}

/// Compares snapshot `a` (older) with `b` (newer).
pub async fn diff(repo: &Repository, a: &SnapshotManifest, b: &SnapshotManifest) -> Result<SnapshotDiff> {
    let (ma, mb) = (members_of(a), members_of(b));
    let mut docs = MemberDocs::new(repo);
    let mut out = SnapshotDiff {
        from: a.id.clone(),
        to: b.id.clone(),
        assets: BTreeMap::new(),
        unavailable: Vec::new(),
        identities: None,
        account: None,
        notes: Vec::new(),
    };
    let keys: BTreeSet<&MemberKey> = ma.keys().chain(mb.keys()).collect();
    for key in keys {
        let (t, id) = key;
        let entry_ref = |occ: &Occurrence, data_set_id| AssetRef {
            id: id.clone(),
            name: occ.member.name.clone(),
            data_set_id,
        };
        match (ma.get(key), mb.get(key)) {
            (Some(old), None) => {
                if let Some(reason) = absence_reason(b, t, id) {
                    out.unavailable.push(Unavailable {
                        member_type: t.clone(),
                        id: id.clone(),
                        missing_in: b.id.clone(),
                        reason,
                    });
                    continue;
                }
                let ds = data_set_id(&mut docs, old).await?;
                out.assets
                    .entry(t.clone())
                    .or_default()
                    .removed
                    .push(entry_ref(old, ds));
            }
            (None, Some(new)) => {
                if let Some(reason) = absence_reason(a, t, id) {
                    out.unavailable.push(Unavailable {
                        member_type: t.clone(),
                        id: id.clone(),
                        missing_in: a.id.clone(),
                        reason,
                    });
                    continue;
                }
                let ds = data_set_id(&mut docs, new).await?;
                out.assets.entry(t.clone()).or_default().added.push(entry_ref(new, ds));
            }
            (Some(old), Some(new)) if old.member.sha256 != new.member.sha256 => {
                let Some((changes, vb)) =
                    member_changes(&mut docs, (&old.bundle, &old.member), (&new.bundle, &new.member)).await?
                else {
                    continue;
                };
                let data_set_id = (t == "refreshSchedule")
                    .then(|| vb.get("dataSetId").and_then(Value::as_str).map(str::to_string))
                    .flatten();
                out.assets.entry(t.clone()).or_default().changed.push(AssetChange {
                    id: id.clone(),
                    name: new.member.name.clone(),
                    old_name: (old.member.name != new.member.name)
                        .then(|| old.member.name.clone())
                        .flatten(),
                    fields: changed_fields(&changes),
                    changes,
                    data_set_id,
                });
            }
            _ => {}
        }
    }
    out.assets.retain(|_, d| !d.is_empty());

    match (&a.identities, &b.identities) {
        (Some(ia), Some(ib)) if ia.sha256 == ib.sha256 => out.identities = Some(IdentityDiff::default()),
        (Some(ia), Some(ib)) => {
            let (sa, sb): (IdentitySnapshot, IdentitySnapshot) = (
                load_doc(repo, ia, MAX_IDENTITIES_BYTES, "identities document").await?,
                load_doc(repo, ib, MAX_IDENTITIES_BYTES, "identities document").await?,
            );
            out.identities = Some(diff_identities(&sa, &sb));
        }
        (None, None) => out.notes.push("neither snapshot has identities".into()),
        (None, Some(_)) => out
            .notes
            .push(format!("snapshot {} has no identities to compare", a.id)),
        (Some(_), None) => out
            .notes
            .push(format!("snapshot {} has no identities to compare", b.id)),
    }
    match (&a.account, &b.account) {
        (Some(x), Some(y)) if x.sha256 == y.sha256 => out.account = Some(AccountDiff::default()),
        (Some(x), Some(y)) => {
            let (sa, sb): (AccountSnapshot, AccountSnapshot) = (
                load_doc(repo, x, MAX_ACCOUNT_BYTES, "account document").await?,
                load_doc(repo, y, MAX_ACCOUNT_BYTES, "account document").await?,
            );
            out.account = Some(diff_account(&sa, &sb));
        }
        (None, None) => out.notes.push("neither snapshot has account settings".into()),
        (None, Some(_)) => out
            .notes
            .push(format!("snapshot {} has no account settings to compare", a.id)),
        (Some(_), None) => out
            .notes
            .push(format!("snapshot {} has no account settings to compare", b.id)),
    }
    if a.account_id != b.account_id {
        out.notes.push(format!(
            "the snapshots are of different accounts ({} and {})",
            a.account_id, b.account_id
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
