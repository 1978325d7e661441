//! Gathers [`ReportData`] from a repository: every manifest once, member documents only where
//! checksums differ between consecutive snapshots (the logs) and the newest definitions of
//! dashboards, analyses, datasets and data sources (the graphs), account documents per snapshot.

use super::graph::{graph_of, references, Key};
use super::{
    AssetHistory, AssetStatus, ChangeKind, ChangeLine, DrillPoint, FailureGroup, ReportData, SkipGroup, SnapshotPoint,
    MAX_CHANGE_LINES,
};
use crate::account_config::AccountSnapshot;
use crate::asset::{id_from_arn, AssetType};
use crate::error::Result;
use crate::history::log::{logs_of, AssetLog, LogChange, ManifestIndex, State};
use crate::limits::MAX_ACCOUNT_BYTES;
use crate::repository::diff::{account_parts, diff_account, load_doc};
use crate::repository::manifest::SnapshotManifest;
use crate::repository::snapshots::{load_all, SnapshotFilter, SnapshotSummary};
use crate::repository::Repository;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Gathers the report of the snapshots of `repo` that `filter` selects, stamped `now`.
pub async fn build(repo: &Repository, now: DateTime<Utc>, filter: &SnapshotFilter) -> Result<ReportData> {
    let mut loaded = load_all(repo).await?;
    filter.retain(&mut loaded);
    let manifests = &loaded.manifests;
    let indexes: Vec<ManifestIndex<'_>> = manifests.iter().map(ManifestIndex::new).collect();
    let keys: BTreeSet<Key> = indexes.iter().flat_map(|ix| ix.keys().cloned()).collect();
    // The page shows each entry's summary; the field lists would repeat it at length.
    let logs = logs_of(repo, &indexes, &keys, false).await?;
    let names: HashMap<Key, Option<String>> = logs
        .iter()
        .map(|l| ((l.asset_type, l.id.clone()), l.name.clone()))
        .collect();
    let latest = |k: &Key| latest_status(&indexes, k);
    let mut snapshots = points(manifests, &logs, &names);
    account_history(repo, manifests, &mut snapshots).await?;

    let refs = references(repo, &indexes).await?;
    let describe = |k: &Key| (names.get(k).cloned().flatten(), latest(k));
    let mut assets: Vec<AssetHistory> = logs
        .into_iter()
        .map(|l| {
            let key = (l.asset_type, l.id.clone());
            let graph = matches!(l.asset_type, AssetType::Dashboard | AssetType::Analysis)
                .then(|| graph_of(&key, &refs, &describe));
            AssetHistory {
                key: format!("{}/{}", l.asset_type, l.id),
                asset_type: l.asset_type.as_str().to_string(),
                id: l.id,
                name: l.name,
                latest: latest(&key),
                log: l.entries,
                graph,
            }
        })
        .collect();
    assets.sort_by(|a, b| (&a.asset_type, &a.name, &a.id).cmp(&(&b.asset_type, &b.name, &b.id)));

    let (mut drills, _) = crate::drill::list(repo).await?;
    // Drills of the snapshots shown.
    drills.retain(|d| filter.is_empty() || manifests.iter().any(|m| m.id == d.snapshot_id));
    Ok(ReportData {
        repository: repo.location().to_string(),
        generated_at: now,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        snapshots,
        assets,
        drills: drills
            .iter()
            .map(|d| DrillPoint {
                drill_id: d.drill_id.clone(),
                snapshot_id: d.snapshot_id.clone(),
                started_at: d.started_at,
                rto_seconds: d.rto_seconds,
                rpo_seconds: d.rpo_seconds,
                assets_total: d.assets_total,
                assets_equal: d.assets_equal,
                assets_different: d.assets_different,
                assets_not_recovered: d.assets_not_recovered,
                // The drill's own verdict, as `qsbackup drills` shows it.
                passed: d.passed,
            })
            .collect(),
        unreadable: loaded.unreadable,
    })
}

/// An asset's state in the newest snapshot that covered its type.
fn latest_status(indexes: &[ManifestIndex<'_>], k: &Key) -> AssetStatus {
    match indexes
        .iter()
        .rev()
        .find(|ix| ix.covers(k.0))
        .map(|ix| ix.state(k.0, &k.1))
    {
        Some(State::Stored { .. }) => AssetStatus::Stored,
        Some(State::Failed { .. }) => AssetStatus::Failed,
        Some(State::Skipped { .. }) => AssetStatus::Skipped,
        Some(State::Absent) | None => AssetStatus::Absent,
    }
}

fn key_text(t: AssetType, id: &str) -> String {
    format!("{t}/{id}")
}

/// One point per snapshot, with its changes taken from the assets' logs.
fn points(
    manifests: &[SnapshotManifest],
    logs: &[AssetLog],
    names: &HashMap<Key, Option<String>>,
) -> Vec<SnapshotPoint> {
    let mut lines: HashMap<&str, Vec<ChangeLine>> = HashMap::new();
    for log in logs {
        for e in &log.entries {
            let kind = match e.changes.first() {
                Some(LogChange::Added) => ChangeKind::Added,
                Some(LogChange::Disappeared) => ChangeKind::Removed,
                // In the snapshot's failures and skips, grouped by cause.
                Some(LogChange::Failed | LogChange::Skipped) | None => continue,
                Some(_) => ChangeKind::Changed,
            };
            lines.entry(e.snapshot_id.as_str()).or_default().push(ChangeLine {
                asset: key_text(log.asset_type, &log.id),
                name: e.name.clone().or_else(|| log.name.clone()),
                kind,
                summary: e.summary.clone(),
            });
        }
    }
    let mut seen_groups = BTreeSet::new();
    manifests
        .iter()
        .map(|m| {
            let summary = SnapshotSummary::of(m);
            let first = seen_groups.insert((m.account_id.as_str(), m.region.as_str()));
            let mut changes = lines.remove(m.id.as_str()).unwrap_or_default();
            let changes_total = if first { 0 } else { changes.len() };
            changes.sort_by(|a, b| (a.kind as u8, &a.asset).cmp(&(b.kind as u8, &b.asset)));
            changes.truncate(MAX_CHANGE_LINES);
            SnapshotPoint {
                id: m.id.clone(),
                started_at: m.started_at,
                finished_at: m.finished_at,
                status: m.status,
                account_id: m.account_id.clone(),
                region: m.region.clone(),
                assets_by_type: summary
                    .assets
                    .iter()
                    .map(|(t, n)| (t.as_str().to_string(), *n))
                    .collect(),
                stored: summary.assets.values().sum(),
                failed: m.failed.len(),
                skipped: m.skipped.len(),
                bytes: m.total_bytes(),
                changes: (!first).then_some(changes),
                changes_total,
                failures: failure_groups(m, names),
                skips: skip_groups(m),
                identities: m.identity_counts.clone(),
                account_parts: Vec::new(),
                account_changes: Vec::new(),
                notes: m.notes.clone(),
            }
        })
        .collect()
}

/// Failed assets by the asset whose failure they inherit.
fn failure_groups(m: &SnapshotManifest, names: &HashMap<Key, Option<String>>) -> Vec<FailureGroup> {
    let mut groups: BTreeMap<String, FailureGroup> = BTreeMap::new();
    let key_of = |arn: &str| {
        let t = AssetType::from_arn(arn);
        let id = id_from_arn(arn).unwrap_or(arn);
        (
            t.map_or_else(|| arn.to_string(), |t| key_text(t, id)),
            t.map(|t| (t, id.to_string())),
        )
    };
    for f in m.failed.iter().filter(|f| f.root_cause().is_none()) {
        let (root, _) = key_of(&f.arn);
        groups.insert(
            f.arn.clone(),
            FailureGroup {
                root,
                root_name: Some(f.name.clone()),
                message: f.message.clone(),
                acknowledged: f.acknowledged,
                dependents: Vec::new(),
            },
        );
    }
    for f in &m.failed {
        let Some(cause) = f.root_cause() else { continue };
        let (dependent, _) = key_of(&f.arn);
        let group = groups.entry(cause.to_string()).or_insert_with(|| {
            // The cause itself was not selected (or not listed): name it as the service did.
            let (root, k) = key_of(cause);
            FailureGroup {
                root,
                root_name: k.and_then(|k| names.get(&k).cloned().flatten()),
                message: "not exported in this run".to_string(),
                acknowledged: f.acknowledged,
                dependents: Vec::new(),
            }
        });
        group.dependents.push(dependent);
    }
    groups.into_values().collect()
}

fn skip_groups(m: &SnapshotManifest) -> Vec<SkipGroup> {
    let mut groups: BTreeMap<String, SkipGroup> = BTreeMap::new();
    for s in &m.skipped {
        let reason = serde_json::to_value(s.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let key = id_from_arn(&s.arn).map_or_else(|| s.arn.clone(), |id| key_text(s.asset_type, id));
        groups
            .entry(reason.clone())
            .or_insert_with(|| SkipGroup {
                reason,
                message: s.message.clone(),
                assets: Vec::new(),
            })
            .assets
            .push(key);
    }
    groups.into_values().collect()
}

/// Parts of the account configuration per snapshot, and what changed since the previous
/// snapshot of the same account and region.
async fn account_history(
    repo: &Repository,
    manifests: &[SnapshotManifest],
    points: &mut [SnapshotPoint],
) -> Result<()> {
    let mut previous: HashMap<(&str, &str), AccountSnapshot> = HashMap::new();
    for (m, p) in manifests.iter().zip(points.iter_mut()) {
        let Some(object) = &m.account else { continue };
        let doc: AccountSnapshot = load_doc(repo, object, MAX_ACCOUNT_BYTES, "account document").await?;
        p.account_parts = account_parts(&doc).into_keys().collect();
        let group = (m.account_id.as_str(), m.region.as_str());
        if let Some(before) = previous.get(&group) {
            let d = diff_account(before, &doc);
            let mark = |sign: &str, v: &[String]| v.iter().map(|x| format!("{sign} {x}")).collect::<Vec<_>>();
            p.account_changes = [mark("+", &d.added), mark("-", &d.removed), mark("~", &d.changed)].concat();
        }
        previous.insert(group, doc);
    }
    Ok(())
}
