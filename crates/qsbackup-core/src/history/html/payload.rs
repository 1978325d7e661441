//! The report's data as one JSON document the page's script reads on demand. Snapshots, drills
//! and the rest are as documented; every asset's log and laid-out dependency graph, most of the
//! bytes of a large account's report, are compact: strings that repeat (names, summaries,
//! kinds) are stored once in a table and referred to by index, assets by their row on the page
//! whose name is not repeated (a `null` name means "the row's"), times as Unix seconds. What
//! the page already shows as text (change lines) is not repeated here.

use crate::history::html::graph::{self, LaidOut};
use crate::history::log::LogEntry;
use crate::history::report::{AssetHistory, DependencyGraph, DrillPoint, ReportData, SnapshotPoint};
use crate::repository::manifest::{NamespaceCounts, SnapshotStatus};
use chrono::{DateTime, Utc};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Field-level changes shown per log line; a definition rewrite can change thousands of fields
/// and the page must stay small, so the rest are only counted.
pub const FIELDS_SHOWN: usize = 12;

/// An asset: its row on the page, or its key when it has none.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AssetRef {
    Row(usize),
    Key(String),
}

/// A snapshot: its index in `snapshots`, or `[id, time]` when it is not among them.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SnapRef {
    Index(usize),
    Other(String, i64),
}

/// One log line, as `[snapshot, [kind...], summary, name, last_updated, [field...], fields]`
/// with the trailing members left out when empty.
#[derive(Debug)]
pub struct LogLine {
    snap: SnapRef,
    kinds: Vec<usize>,
    summary: usize,
    /// The name then, when it differs from the asset's newest.
    name: Option<usize>,
    last_updated: Option<i64>,
    fields: Vec<usize>,
    field_count: usize,
}

impl Serialize for LogLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = if self.field_count > 0 {
            7
        } else if self.last_updated.is_some() {
            5
        } else if self.name.is_some() {
            4
        } else {
            3
        };
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&self.snap)?;
        seq.serialize_element(&self.kinds)?;
        seq.serialize_element(&self.summary)?;
        if len > 3 {
            seq.serialize_element(&self.name)?;
        }
        if len > 4 {
            seq.serialize_element(&self.last_updated)?;
        }
        if len > 5 {
            seq.serialize_element(&self.fields)?;
            seq.serialize_element(&self.field_count)?;
        }
        seq.end()
    }
}

/// One graph node: the row of its asset, whose name, status and type it shows, or, for an asset
/// with no row, `[key, label, status, type]`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Node {
    Row(usize),
    Other(String, usize, usize, usize),
}

/// A snapshot as the page's script reads it: what [`SnapshotPoint`] holds but the change lines,
/// which are the page's own text, with assets named by row and repeated strings by index.
#[derive(Debug, Serialize)]
pub struct SnapshotData<'a> {
    id: &'a str,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    status: SnapshotStatus,
    account_id: &'a str,
    region: &'a str,
    assets_by_type: &'a BTreeMap<String, usize>,
    stored: usize,
    failed: usize,
    skipped: usize,
    bytes: u64,
    /// `None` for the first snapshot of an account and region.
    changes_total: Option<usize>,
    failures: Vec<FailureData>,
    skips: Vec<SkipData<'a>>,
    identities: &'a Option<Vec<NamespaceCounts>>,
    /// Indices into `str`: a configuration's folders are hundreds, the same in every snapshot.
    account_parts: Vec<usize>,
    account_changes: &'a [String],
    notes: &'a [String],
}

/// A failure group, drawn by the script when its snapshot is opened: one that lasts is in every
/// snapshot, so its message is an index into `str` and its name `null` when the row shows it.
#[derive(Debug, Serialize)]
pub struct FailureData {
    root: AssetRef,
    root_name: Option<usize>,
    message: usize,
    acknowledged: bool,
    dependents: Vec<AssetRef>,
}

#[derive(Debug, Serialize)]
pub struct SkipData<'a> {
    reason: &'a str,
    message: &'a str,
    assets: Vec<AssetRef>,
}

#[derive(Debug, Serialize)]
pub struct Graph {
    n: Vec<Node>,
    /// `None` when the layout engine could not place it; the page lists the nodes then.
    at: Option<LaidOut>,
}

/// The page's data: the report as documented (docs/json.md), but for `assets`, whose logs and
/// graphs would be most of it, in the compact form above.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    repository: &'a str,
    generated_at: DateTime<Utc>,
    tool_version: &'a str,
    /// Oldest first, as in [`ReportData::snapshots`].
    snapshots: Vec<SnapshotData<'a>>,
    drills: &'a [DrillPoint],
    unreadable: &'a [(String, String)],
    /// The string table of `logs` and `graphs`.
    str: Vec<String>,
    /// Per asset row: its log.
    logs: Vec<Vec<LogLine>>,
    /// Per asset row: its dependency graph, laid out.
    graphs: Vec<Option<Graph>>,
}

#[derive(Default)]
struct Interner {
    table: Vec<String>,
    index: HashMap<String, usize>,
}

impl Interner {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.table.push(crate::text::printable(s).into_owned());
        self.index.insert(s.to_string(), self.table.len() - 1);
        self.table.len() - 1
    }

    /// The serde name of a unit enum variant (`permissions_changed`), so a variant added to the
    /// model shows up without the page knowing it.
    fn variant(&mut self, v: &impl Serialize) -> usize {
        let name = serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.id(&name)
    }
}

struct Ctx<'a> {
    strings: Interner,
    assets: &'a [AssetHistory],
    rows: HashMap<&'a str, usize>,
    snaps: HashMap<&'a str, usize>,
}

impl Ctx<'_> {
    fn asset(&self, key: &str) -> AssetRef {
        self.rows.get(key).map_or_else(
            || AssetRef::Key(crate::text::printable(key).into_owned()),
            |&i| AssetRef::Row(i),
        )
    }

    /// What a row shows as the asset's name: its name, else its id.
    fn row_label(&self, key: &str) -> Option<&str> {
        let a = &self.assets[*self.rows.get(key)?];
        Some(a.name.as_deref().unwrap_or(&a.id))
    }

    /// `name`, unless the row of `key` already shows it.
    fn name(&mut self, key: &str, name: Option<&str>) -> Option<usize> {
        let name = name?;
        (self.row_label(key) != Some(name)).then(|| self.strings.id(name))
    }

    fn graph(&mut self, g: &DependencyGraph) -> Graph {
        let n = g
            .nodes
            .iter()
            .map(|node| {
                let id = node.key.split_once('/').map_or(node.key.as_str(), |(_, id)| id);
                let label = node.name.as_deref().unwrap_or(id);
                // A node's name and status are its asset's newest, which its row shows.
                match self.rows.get(node.key.as_str()) {
                    Some(&row) if self.row_label(&node.key) == Some(label) => Node::Row(row),
                    _ => Node::Other(
                        crate::text::printable(&node.key).into_owned(),
                        self.strings.id(label),
                        self.strings.variant(&node.status),
                        self.strings.id(&node.asset_type),
                    ),
                }
            })
            .collect();
        Graph {
            n,
            at: graph::lay_out(g),
        }
    }

    fn snapshot<'s>(&mut self, s: &'s SnapshotPoint) -> SnapshotData<'s> {
        SnapshotData {
            id: &s.id,
            started_at: s.started_at,
            finished_at: s.finished_at,
            status: s.status,
            account_id: &s.account_id,
            region: &s.region,
            assets_by_type: &s.assets_by_type,
            stored: s.stored,
            failed: s.failed,
            skipped: s.skipped,
            bytes: s.bytes,
            changes_total: s.changes.as_ref().map(|lines| s.changes_total.max(lines.len())),
            failures: s
                .failures
                .iter()
                .map(|f| FailureData {
                    root: self.asset(&f.root),
                    root_name: self.name(&f.root, f.root_name.as_deref()),
                    message: self.strings.id(&f.message),
                    acknowledged: f.acknowledged,
                    dependents: f.dependents.iter().map(|k| self.asset(k)).collect(),
                })
                .collect(),
            skips: s
                .skips
                .iter()
                .map(|g| SkipData {
                    reason: &g.reason,
                    message: &g.message,
                    assets: g.assets.iter().map(|k| self.asset(k)).collect(),
                })
                .collect(),
            identities: &s.identities,
            account_parts: s.account_parts.iter().map(|p| self.strings.id(p)).collect(),
            account_changes: &s.account_changes,
            notes: &s.notes,
        }
    }

    fn log_line(&mut self, key: &str, e: &LogEntry) -> LogLine {
        let snap = self.snaps.get(e.snapshot_id.as_str()).map_or_else(
            || SnapRef::Other(crate::text::printable(&e.snapshot_id).into_owned(), e.time.timestamp()),
            |&i| SnapRef::Index(i),
        );
        LogLine {
            snap,
            kinds: e.changes.iter().map(|c| self.strings.variant(c)).collect(),
            summary: self.strings.id(&e.summary),
            name: self.name(key, e.name.as_deref()),
            last_updated: e.last_updated_time.map(|t| t.timestamp()),
            fields: e
                .fields
                .iter()
                .take(FIELDS_SHOWN)
                .map(|f| self.strings.id(&f.describe()))
                .collect(),
            field_count: e.fields.len(),
        }
    }
}

/// The payload of `data`, whose assets are shown as rows in the order of `data.assets`.
pub fn build(data: &ReportData) -> Payload<'_> {
    let mut cx = Ctx {
        strings: Interner::default(),
        assets: &data.assets,
        rows: data
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.key.as_str(), i))
            .collect(),
        snaps: data
            .snapshots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect(),
    };
    let logs = data
        .assets
        .iter()
        .map(|a| a.log.iter().map(|e| cx.log_line(&a.key, e)).collect())
        .collect();
    let graphs = data
        .assets
        .iter()
        .map(|a| a.graph.as_ref().map(|g| cx.graph(g)))
        .collect();
    Payload {
        repository: &data.repository,
        generated_at: data.generated_at,
        tool_version: &data.tool_version,
        snapshots: data.snapshots.iter().map(|s| cx.snapshot(s)).collect(),
        drills: &data.drills,
        unreadable: &data.unreadable,
        str: cx.strings.table,
        logs,
        graphs,
    }
}

/// `payload` as JSON that can sit inside `<script type="application/json">`: every `<` is
/// written `\u003c` (only strings hold one), so no `</script>` or `<!--` can end or bend the
/// element, whatever an asset is called.
pub fn to_script_json(payload: &Payload<'_>) -> crate::Result<String> {
    let json = serde_json::to_string(payload).map_err(|source| crate::Error::Json {
        context: "the report's data".into(),
        source,
    })?;
    Ok(json.replace('<', "\\u003c"))
}
