//! What the page's template reads: the report's figures already formatted for a person (times,
//! sizes, counts), assets grouped by type in page order. Text from the repository stays raw
//! here apart from control characters; the template's auto-escaping makes it HTML.

use crate::history::report::{AssetHistory, DrillPoint, ReportData, SnapshotPoint};
use crate::text::printable;
use crate::units::{human_bytes, timestamp};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct View {
    pub repository: String,
    pub generated_at: String,
    pub tool_version: String,
    pub snapshot_count: usize,
    pub asset_count: usize,
    /// Newest first.
    pub snapshots: Vec<SnapshotView>,
    pub asset_groups: Vec<AssetGroup>,
    pub drills: Vec<DrillView>,
    pub unreadable: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotView {
    /// Index among the snapshots, oldest first (the chart's order and the payload's).
    pub index: usize,
    pub id: String,
    pub started: String,
    pub duration: String,
    pub status: String,
    pub account: String,
    pub stored: usize,
    pub failed: usize,
    pub skipped: usize,
    pub bytes: String,
    pub by_type: Vec<(String, usize)>,
    /// `None` for the first snapshot: nothing to compare with.
    pub changes: Option<ChangeCounts>,
    /// Failure groups (drawn by the page's script from its data: a failure that lasts would
    /// otherwise be written out again in every snapshot).
    pub failure_groups: usize,
    pub skips: Vec<SkipView>,
    pub identities: Option<Vec<(String, usize, usize, usize)>>,
    /// By kind: a kind with one part names it, one with several is counted (`folders (500)`)
    /// and listed by the page's script when opened.
    pub account_parts: Vec<PartKind>,
    pub account_changes: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct ChangeCounts {
    /// Every change, listed or not.
    pub total: usize,
    /// Those the report lists (and counts by kind).
    pub listed: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub lines: Vec<ChangeView>,
}

#[derive(Debug, Serialize)]
pub struct ChangeView {
    pub kind: String,
    pub asset: String,
    pub name: Option<String>,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct SkipView {
    pub reason: String,
    pub message: String,
    pub assets: usize,
}

#[derive(Debug, Serialize)]
pub struct AssetGroup {
    pub asset_type: String,
    pub rows: Vec<AssetRow>,
}

#[derive(Debug, Serialize)]
pub struct AssetRow {
    pub key: String,
    pub id: String,
    pub name: Option<String>,
    pub status: String,
    pub entries: usize,
}

#[derive(Debug, Serialize)]
pub struct DrillView {
    pub drill_id: String,
    pub snapshot_id: String,
    pub started: String,
    pub rto: String,
    pub rpo: String,
    pub total: usize,
    pub equal: usize,
    pub different: usize,
    pub not_recovered: usize,
    pub passed: bool,
}

fn text(s: &str) -> String {
    printable(s).into_owned()
}

fn variant(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `1 h 02 min`, `3 min 05 s`, `12 s`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

fn snapshot(index: usize, s: &SnapshotPoint) -> SnapshotView {
    let changes = s.changes.as_ref().map(|lines| {
        use crate::history::report::ChangeKind;
        let mut c = ChangeCounts {
            total: s.changes_total.max(lines.len()),
            listed: lines.len(),
            ..ChangeCounts::default()
        };
        c.lines = lines
            .iter()
            .map(|l| ChangeView {
                kind: variant(&l.kind),
                asset: text(&l.asset),
                name: l.name.as_deref().map(text),
                summary: text(&l.summary),
            })
            .collect();
        for line in lines {
            match line.kind {
                ChangeKind::Added => c.added += 1,
                ChangeKind::Removed => c.removed += 1,
                ChangeKind::Changed => c.changed += 1,
            }
        }
        c
    });
    SnapshotView {
        index,
        id: text(&s.id),
        started: timestamp(&s.started_at),
        duration: duration((s.finished_at - s.started_at).num_seconds()),
        status: variant(&s.status),
        account: format!("{} {}", text(&s.account_id), text(&s.region)),
        stored: s.stored,
        failed: s.failed,
        skipped: s.skipped,
        bytes: human_bytes(s.bytes),
        by_type: s.assets_by_type.iter().map(|(t, n)| (text(t), *n)).collect(),
        changes,
        failure_groups: s.failures.len(),
        skips: s
            .skips
            .iter()
            .map(|g| SkipView {
                reason: text(&g.reason),
                message: text(&g.message),
                assets: g.assets.len(),
            })
            .collect(),
        identities: s.identities.as_ref().map(|ns| {
            ns.iter()
                .map(|n| (text(&n.namespace), n.users, n.groups, n.memberships))
                .collect()
        }),
        account_parts: part_kinds(&s.account_parts),
        account_changes: s.account_changes.iter().map(|p| text(p)).collect(),
        notes: s.notes.iter().map(|n| text(n)).collect(),
    }
}

#[derive(Debug, Serialize)]
pub struct PartKind {
    /// `account_settings`, `brands/brand-1`, or the kind (`folders`) when it has several parts.
    pub label: String,
    /// How many parts of the kind there are, when several.
    pub several: Option<usize>,
}

/// The parts of an account configuration by kind: `account_settings`, `brands/brand-1` when a
/// kind has one part, `folders` with a count when it has several (an account's folders alone
/// can be hundreds, in every snapshot: the page lists them only when asked).
fn part_kinds(parts: &[String]) -> Vec<PartKind> {
    let mut kinds: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in parts {
        let kind = p.split_once('/').map_or(p.as_str(), |(k, _)| k);
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, all)) => all.push(p),
            None => kinds.push((kind, vec![p])),
        }
    }
    kinds
        .into_iter()
        .map(|(kind, all)| match all.as_slice() {
            [one] => PartKind {
                label: text(one),
                several: None,
            },
            _ => PartKind {
                label: text(kind),
                several: Some(all.len()),
            },
        })
        .collect()
}

fn row(a: &AssetHistory) -> AssetRow {
    AssetRow {
        key: text(&a.key),
        id: text(&a.id),
        name: a.name.as_deref().map(text),
        status: variant(&a.latest),
        entries: a.log.len(),
    }
}

fn drill(d: &DrillPoint) -> DrillView {
    DrillView {
        drill_id: text(&d.drill_id),
        snapshot_id: text(&d.snapshot_id),
        started: timestamp(&d.started_at),
        rto: duration(d.rto_seconds.round() as i64),
        rpo: duration(d.rpo_seconds),
        total: d.assets_total,
        equal: d.assets_equal,
        different: d.assets_different,
        not_recovered: d.assets_not_recovered,
        passed: d.passed,
    }
}

/// The view of `data`. Asset rows keep the order of `data.assets` (the payload refers to them
/// by position); consecutive assets of one type form a group.
pub fn build(data: &ReportData) -> View {
    let mut asset_groups: Vec<AssetGroup> = Vec::new();
    for a in &data.assets {
        let asset_type = text(&a.asset_type);
        match asset_groups.last_mut() {
            Some(g) if g.asset_type == asset_type => g.rows.push(row(a)),
            _ => asset_groups.push(AssetGroup {
                asset_type,
                rows: vec![row(a)],
            }),
        }
    }
    View {
        repository: text(&data.repository),
        generated_at: timestamp(&data.generated_at),
        tool_version: data.tool_version.clone(),
        snapshot_count: data.snapshots.len(),
        asset_count: data.assets.len(),
        snapshots: data
            .snapshots
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| snapshot(i, s))
            .collect(),
        asset_groups,
        drills: data.drills.iter().map(drill).collect(),
        unreadable: data.unreadable.iter().map(|(k, why)| (text(k), text(why))).collect(),
    }
}
