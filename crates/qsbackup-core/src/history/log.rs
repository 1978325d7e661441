//! One asset's log: every snapshot in which it was added, changed, renamed, had its
//! permissions or tags changed, failed, was skipped or disappeared. Each snapshot is compared
//! with the previous snapshot of the same account and region that covered the asset's type, so
//! a users-only run or a run limited to other types says nothing about it. Member documents are
//! read only where the recorded checksums differ.

use crate::asset::{id_from_arn, AssetType};
use crate::error::Result;
use crate::repository::diff::{member_changes, ChangeArea, FieldChange};
use crate::repository::find::AssetQuery;
use crate::repository::manifest::{BundleMember, SnapshotManifest};
use crate::repository::member_docs::MemberDocs;
use crate::repository::{ObjectRef, Repository};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What happened to an asset in one snapshot, against the previous snapshot that covered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogChange {
    Added,
    Changed,
    Renamed,
    PermissionsChanged,
    TagsChanged,
    Failed,
    Skipped,
    Disappeared,
}

/// One line of an asset's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    pub snapshot_id: String,
    /// When the snapshot's backup started.
    pub time: DateTime<Utc>,
    /// QuickSight's `LastUpdatedTime` of the asset, when the snapshot recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_time: Option<DateTime<Utc>>,
    /// Every kind of change seen in this snapshot (a rename with a permission change is both).
    pub changes: Vec<LogChange>,
    pub name: Option<String>,
    /// One line for a person: `renamed "Sales" -> "Revenue"; calculated field "margin" changed`.
    pub summary: String,
    /// The field-level changes behind `changed`, `renamed`, `permissions_changed`, `tags_changed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// Every log entry of one asset, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct AssetLog {
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub id: String,
    /// The newest name seen.
    pub name: Option<String>,
    pub entries: Vec<LogEntry>,
}

/// An asset's state in one snapshot.
#[derive(Debug, Clone)]
pub(crate) enum State<'m> {
    Stored {
        bundle: ObjectRef,
        member: &'m BundleMember,
    },
    Failed {
        name: &'m str,
        message: &'m str,
    },
    Skipped {
        name: &'m str,
        message: &'m str,
    },
    Absent,
}

type Key = (AssetType, String);

/// Where each root asset is in one manifest.
pub(crate) struct ManifestIndex<'m> {
    pub manifest: &'m SnapshotManifest,
    states: HashMap<Key, State<'m>>,
}

impl<'m> ManifestIndex<'m> {
    pub fn new(m: &'m SnapshotManifest) -> Self {
        let mut states = HashMap::new();
        for b in &m.bundles {
            for member in &b.members {
                let Some(t) = AssetType::from_name(&member.member_type) else {
                    continue;
                };
                // The asset's own bundle carries its LastUpdatedTime; a dependency copy does not.
                let own = b.asset_type == t;
                let key = (t, member.id.clone());
                if own || !states.contains_key(&key) {
                    states.insert(
                        key,
                        State::Stored {
                            bundle: b.object(),
                            member,
                        },
                    );
                }
            }
        }
        for f in &m.failed {
            if let Some(id) = id_from_arn(&f.arn) {
                states.entry((f.asset_type, id.to_string())).or_insert(State::Failed {
                    name: &f.name,
                    message: &f.message,
                });
            }
        }
        for s in &m.skipped {
            if let Some(id) = id_from_arn(&s.arn) {
                states.entry((s.asset_type, id.to_string())).or_insert(State::Skipped {
                    name: &s.name,
                    message: &s.message,
                });
            }
        }
        ManifestIndex { manifest: m, states }
    }

    pub fn state(&self, t: AssetType, id: &str) -> State<'m> {
        self.states.get(&(t, id.to_string())).cloned().unwrap_or(State::Absent)
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.states.keys()
    }

    /// Whether the run backed up assets of type `t` at all.
    pub fn covers(&self, t: AssetType) -> bool {
        let m = self.manifest;
        m.mode.includes_assets() && m.scope.as_ref().is_none_or(|s| s.asset_types.contains(&t))
    }

    fn name_of(&self, t: AssetType, id: &str) -> Option<&'m str> {
        match self.states.get(&(t, id.to_string()))? {
            State::Stored { member, .. } => member.name.as_deref(),
            State::Failed { name, .. } | State::Skipped { name, .. } => Some(name),
            State::Absent => None,
        }
    }
}

/// The assets `query` names in any of `indexes` (a name glob matches any name an asset ever had).
pub(crate) fn matching_keys(indexes: &[ManifestIndex<'_>], query: &AssetQuery) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    for ix in indexes {
        for (t, id) in ix.keys() {
            let name = ix.name_of(*t, id);
            if query.matches(*t, id, name) {
                out.insert((*t, id.clone()));
            }
        }
    }
    out
}

/// The logs of `keys` over `manifests` (oldest first); entries carry their field changes when
/// `keep_fields`.
pub(crate) async fn logs_of(
    repo: &Repository,
    indexes: &[ManifestIndex<'_>],
    keys: &BTreeSet<Key>,
    keep_fields: bool,
) -> Result<Vec<AssetLog>> {
    let mut docs = MemberDiffs {
        docs: MemberDocs::new(repo),
        keep_fields,
        seen: HashMap::new(),
    };
    let mut out = Vec::with_capacity(keys.len());
    for (t, id) in keys {
        let mut entries = Vec::new();
        // The last state per account and region.
        let mut previous: HashMap<(&str, &str), State<'_>> = HashMap::new();
        let mut name = None;
        for ix in indexes {
            if !ix.covers(*t) {
                continue;
            }
            let m = ix.manifest;
            let current = ix.state(*t, id);
            let group = (m.account_id.as_str(), m.region.as_str());
            let before = previous.get(&group).cloned();
            if let Some(n) = ix.name_of(*t, id) {
                name = Some(n.to_string());
            }
            if let Some(entry) = entry_for(&mut docs, m, before.as_ref(), &current).await? {
                entries.push(entry);
            }
            if !matches!((&before, &current), (None, State::Absent)) {
                previous.insert(group, current);
            }
        }
        out.push(AssetLog {
            asset_type: *t,
            id: id.clone(),
            name,
            entries,
        });
    }
    Ok(out)
}

/// The log of every asset `query` names, over every readable snapshot.
pub async fn asset_logs(
    repo: &Repository,
    manifests: &[SnapshotManifest],
    query: &AssetQuery,
) -> Result<Vec<AssetLog>> {
    let indexes: Vec<ManifestIndex<'_>> = manifests.iter().map(ManifestIndex::new).collect();
    let keys = matching_keys(&indexes, query);
    logs_of(repo, &indexes, &keys, true).await
}

fn entry(m: &SnapshotManifest, last_updated_time: Option<DateTime<Utc>>, name: Option<&str>) -> LogEntry {
    LogEntry {
        snapshot_id: m.id.clone(),
        time: m.started_at,
        last_updated_time,
        changes: Vec::new(),
        name: name.map(str::to_string),
        summary: String::new(),
        fields: Vec::new(),
    }
}

/// What changed between two stored versions of a member: the kinds of change, the summary line
/// and, when kept, the field changes behind them.
#[derive(Clone)]
struct MemberChange {
    changes: Vec<LogChange>,
    summary: String,
    fields: Vec<FieldChange>,
}

/// Changes between stored versions of members. Members are content-addressed, so each pair of
/// checksums is read and compared once: a transition seen again (an edit reverted and made
/// again, manifests that repeat one another) costs no second read.
struct MemberDiffs<'a> {
    docs: MemberDocs<'a>,
    /// Whether entries carry their field changes (`log`), or only their summaries (the
    /// report, which would hold every field list of a busy account's history).
    keep_fields: bool,
    seen: HashMap<(String, String), Option<MemberChange>>,
}

impl MemberDiffs<'_> {
    async fn change(
        &mut self,
        old: (&ObjectRef, &BundleMember),
        new: (&ObjectRef, &BundleMember),
    ) -> Result<Option<MemberChange>> {
        let pair = (old.1.sha256.clone(), new.1.sha256.clone());
        if let Some(known) = self.seen.get(&pair) {
            return Ok(known.clone());
        }
        let change = member_changes(&mut self.docs, old, new).await?.map(|(fields, _)| {
            let (changes, summary) = summarize(&fields);
            MemberChange {
                changes,
                summary,
                fields: if self.keep_fields { fields } else { Vec::new() },
            }
        });
        self.seen.insert(pair, change.clone());
        Ok(change)
    }
}

async fn entry_for(
    docs: &mut MemberDiffs<'_>,
    m: &SnapshotManifest,
    before: Option<&State<'_>>,
    current: &State<'_>,
) -> Result<Option<LogEntry>> {
    let e = match (before, current) {
        (_, State::Failed { name, message }) => LogEntry {
            changes: vec![LogChange::Failed],
            summary: format!("export failed: {}", one_line(message)),
            ..entry(m, None, Some(name))
        },
        (_, State::Skipped { name, message }) => LogEntry {
            changes: vec![LogChange::Skipped],
            summary: format!("skipped: {}", one_line(message)),
            ..entry(m, None, Some(name))
        },
        (None | Some(State::Absent), State::Absent) => return Ok(None),
        (Some(_), State::Absent) => LogEntry {
            changes: vec![LogChange::Disappeared],
            summary: "not in this snapshot: deleted from QuickSight, or no longer selected".into(),
            ..entry(m, None, None)
        },
        (prior, State::Stored { member, .. }) if !matches!(prior, Some(State::Stored { .. })) => {
            let again = match prior {
                Some(State::Failed { .. }) => " (stored again after failing)",
                Some(State::Skipped { .. }) => " (stored again after being skipped)",
                Some(State::Absent) => " (back after being absent)",
                _ => "",
            };
            LogEntry {
                changes: vec![LogChange::Added],
                summary: format!("added as {}{again}", quoted(member.name.as_deref())),
                ..entry(m, member.last_updated_time, member.name.as_deref())
            }
        }
        (Some(State::Stored { bundle: ob, member: om }), State::Stored { bundle, member }) => {
            if om.sha256 == member.sha256 {
                return Ok(None);
            }
            let Some(MemberChange {
                changes,
                summary,
                fields,
            }) = docs.change((ob, om), (bundle, member)).await?
            else {
                return Ok(None);
            };
            LogEntry {
                changes,
                summary,
                fields,
                ..entry(m, member.last_updated_time, member.name.as_deref())
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(e))
}

fn quoted(name: Option<&str>) -> String {
    name.map_or_else(|| "(no name)".to_string(), |n| format!("\"{n}\""))
}

fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(159).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The kinds of change and one line naming them, renames first, at most three fields named.
pub fn summarize(fields: &[FieldChange]) -> (Vec<LogChange>, String) {
    let mut kinds = BTreeSet::new();
    let mut parts = Vec::new();
    let by_area: BTreeMap<ChangeArea, Vec<&FieldChange>> = fields.iter().fold(BTreeMap::new(), |mut acc, f| {
        acc.entry(f.area).or_insert_with(Vec::new).push(f);
        acc
    });
    for (area, changes) in &by_area {
        let kind = match area {
            ChangeArea::Name => LogChange::Renamed,
            ChangeArea::Permissions => LogChange::PermissionsChanged,
            ChangeArea::Tags => LogChange::TagsChanged,
            ChangeArea::Definition => LogChange::Changed,
        };
        kinds.insert(kind);
        match area {
            ChangeArea::Name => parts.extend(changes.iter().map(|c| {
                format!(
                    "renamed {} -> {}",
                    c.before.as_ref().map_or("(none)".into(), |v| v.to_string()),
                    c.after.as_ref().map_or("(none)".into(), |v| v.to_string())
                )
            })),
            _ => {
                let shown: Vec<String> = changes.iter().take(3).map(|c| c.describe()).collect();
                let mut part = shown.join("; ");
                if changes.len() > 3 {
                    part.push_str(&format!("; and {} more", changes.len() - 3));
                }
                parts.push(part);
            }
        }
    }
    (kinds.into_iter().collect(), parts.join("; "))
}
