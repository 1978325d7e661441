//! Tests of the page as a whole: what the browser test relies on (ids, one row per asset, one
//! chart point per snapshot), escaping of names, and the size of a large account's report.

use super::render;
use crate::history::log::{LogChange, LogEntry};
use crate::history::report::*;
use crate::repository::manifest::{NamespaceCounts, SnapshotStatus};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::BTreeMap;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 2, 0, 0).single().unwrap_or_default()
}

fn snapshot_id(i: usize) -> String {
    format!(
        "{}-{:06x}",
        (t0() + Duration::days(i as i64)).format("%Y%m%dT%H%M%SZ"),
        i * 7919
    )
}

/// Snapshot `i` of a daily series, `stored` assets.
pub(crate) fn snapshot(i: usize, stored: usize, partial: bool) -> SnapshotPoint {
    let started_at = t0() + Duration::days(i as i64);
    SnapshotPoint {
        id: snapshot_id(i),
        started_at,
        finished_at: started_at + Duration::seconds(754),
        status: if partial {
            SnapshotStatus::Partial
        } else {
            SnapshotStatus::Complete
        },
        account_id: "123456789012".into(),
        region: "eu-west-1".into(),
        assets_by_type: BTreeMap::from([
            ("dashboard".to_string(), stored / 5),
            ("dataset".to_string(), stored - stored / 5),
        ]),
        stored,
        failed: usize::from(partial) * 3,
        skipped: 1,
        bytes: 1_000_000 + 4096 * stored as u64,
        changes: (i > 0).then(Vec::new),
        changes_total: 0,
        failures: Vec::new(),
        skips: Vec::new(),
        identities: Some(vec![NamespaceCounts {
            namespace: "default".into(),
            users: 40,
            groups: 6,
            memberships: 90,
        }]),
        account_parts: vec!["account_settings".into()],
        account_changes: Vec::new(),
        notes: Vec::new(),
    }
}

fn entry(snap: usize, changes: Vec<LogChange>, name: &str, summary: String) -> LogEntry {
    LogEntry {
        snapshot_id: snapshot_id(snap),
        time: t0() + Duration::days(snap as i64),
        last_updated_time: Some(t0() + Duration::days(snap as i64) - Duration::hours(3)),
        changes,
        name: Some(name.to_string()),
        summary,
        fields: Vec::new(),
    }
}

fn node(key: &str, name: &str, status: AssetStatus) -> GraphNode {
    GraphNode {
        key: key.into(),
        asset_type: key.split('/').next().unwrap_or_default().into(),
        name: Some(name.into()),
        status,
    }
}

const TYPES: [(&str, usize); 7] = [
    ("analysis", 1000),
    ("dashboard", 1200),
    ("datasource", 1500),
    ("dataset", 3500),
    ("folder", 2000),
    ("theme", 300),
    ("vpcConnection", 500),
];

/// A large account's repository: 10,000 assets (2,200 dashboards and analyses with graphs),
/// `snapshots` daily snapshots, one asset in 40 changing between two of them (250 changes a
/// day, a busy account: the page lists at most 200 of them per snapshot).
fn large(snapshots: usize) -> ReportData {
    let mut assets = Vec::new();
    for (t, n) in TYPES {
        for i in 0..n {
            let id = format!("{t}-{i:05}-3f9c1a7e-5b2d-4c11-9e0f");
            let name = format!("{} report for region {:04}", t.to_uppercase(), i);
            let mut log = vec![entry(0, vec![LogChange::Added], &name, "added".into())];
            for s in 1..snapshots {
                if (i * 31 + s * 17) % 40 == 0 {
                    let (kinds, summary) = match (i + s) % 3 {
                        0 => (
                            vec![LogChange::Renamed],
                            format!("renamed \"{name}\" -> \"{name} v{s}\""),
                        ),
                        1 => (
                            vec![LogChange::Changed],
                            "calculated field \"margin\" changed; 2 visuals added".into(),
                        ),
                        _ => (
                            vec![LogChange::PermissionsChanged],
                            "permissions: group/analysts gained read".into(),
                        ),
                    };
                    log.push(entry(s, kinds, &name, summary));
                }
            }
            let graph = matches!(t, "dashboard" | "analysis").then(|| DependencyGraph {
                nodes: vec![
                    node(&format!("{t}/{id}"), &name, AssetStatus::Stored),
                    node(
                        &format!("dataset/dataset-{:05}-3f9c1a7e-5b2d-4c11-9e0f", i % 3500),
                        "Orders by day",
                        AssetStatus::Stored,
                    ),
                    node(
                        &format!("dataset/dataset-{:05}-3f9c1a7e-5b2d-4c11-9e0f", (i + 1) % 3500),
                        "Customers",
                        AssetStatus::Failed,
                    ),
                    node(
                        &format!("datasource/datasource-{:05}-3f9c1a7e-5b2d-4c11-9e0f", i % 1500),
                        "Warehouse",
                        AssetStatus::Stored,
                    ),
                    node(
                        &format!("datasource/datasource-{:05}-3f9c1a7e-5b2d-4c11-9e0f", (i + 7) % 1500),
                        "Lake",
                        AssetStatus::Skipped,
                    ),
                    node(
                        &format!("vpcConnection/vpcConnection-{:05}-3f9c1a7e-5b2d-4c11-9e0f", i % 500),
                        "Private link",
                        AssetStatus::Stored,
                    ),
                    node(
                        &format!("theme/theme-{:05}-3f9c1a7e-5b2d-4c11-9e0f", i % 300),
                        "Corporate",
                        AssetStatus::Stored,
                    ),
                    node(
                        &format!("folder/folder-{:05}-3f9c1a7e-5b2d-4c11-9e0f", i % 2000),
                        "Finance",
                        AssetStatus::Absent,
                    ),
                ],
                edges: vec![(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (0, 6), (7, 0)],
            });
            assets.push(AssetHistory {
                key: format!("{t}/{id}"),
                asset_type: t.into(),
                id,
                name: Some(name),
                latest: AssetStatus::Stored,
                log,
                graph,
            });
        }
    }
    let mut snaps: Vec<SnapshotPoint> = (0..snapshots).map(|i| snapshot(i, 9_700, i % 4 == 1)).collect();
    for (s, point) in snaps.iter_mut().enumerate().skip(1) {
        let mut lines = Vec::new();
        for a in &assets {
            for e in a.log.iter().filter(|e| e.snapshot_id == point.id) {
                lines.push(ChangeLine {
                    asset: a.key.clone(),
                    name: a.name.clone(),
                    kind: ChangeKind::Changed,
                    summary: e.summary.clone(),
                });
            }
        }
        point.changes = Some(lines);
        point.failures = (0..40)
            .map(|f| FailureGroup {
                root: format!("dataset/dataset-{f:05}-3f9c1a7e-5b2d-4c11-9e0f"),
                root_name: Some("Customers".into()),
                message: "the dataset uses a machine-learning column QuickSight cannot export".into(),
                acknowledged: f % 2 == 0,
                dependents: (0..5)
                    .map(|d| {
                        format!(
                            "dashboard/dashboard-{:05}-3f9c1a7e-5b2d-4c11-9e0f",
                            (f * 5 + d + s) % 1200
                        )
                    })
                    .collect(),
            })
            .collect();
        point.skips = vec![SkipGroup {
            reason: "unsupported".into(),
            message: "QuickSight cannot export this data source type".into(),
            assets: (0..150)
                .map(|d| format!("datasource/datasource-{d:05}-3f9c1a7e-5b2d-4c11-9e0f"))
                .collect(),
        }];
    }
    ReportData {
        repository: "s3://backups/quicksight".into(),
        generated_at: t0() + Duration::days(snapshots as i64),
        tool_version: "0.1.0".into(),
        snapshots: snaps,
        assets,
        drills: Vec::new(),
        unreadable: Vec::new(),
    }
}

fn small() -> ReportData {
    let mut data = large(0);
    data.assets.truncate(3);
    data.snapshots = (0..4).map(|i| snapshot(i, 10 + i, i == 2)).collect();
    data
}

#[test]
fn configuration_parts_are_named_or_counted_by_kind_and_all_in_the_data() {
    let mut data = small();
    data.snapshots[1].account_parts = [
        "account_settings",
        "brands/b1",
        "folders/f1",
        "folders/f2",
        "folders/f3",
    ]
    .map(String::from)
    .to_vec();
    let page = render(&data).expect("page");
    let section = page
        .split("id=\"snap-1\"")
        .nth(1)
        .and_then(|s| s.split("</details>\n").next())
        .expect("snapshot 1");
    assert!(section.contains("<code>account_settings</code>, <code>brands/b1</code>, "));
    assert!(
        section.contains("<code>folders</code> (3)</summary><ul class=\"lazy\" data-i=\"1\" data-parts=\"folders\">")
    );
    let json = super::payload::to_script_json(&super::payload::build(&data)).expect("data");
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    let parts: Vec<&str> = doc["snapshots"][1]["account_parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|i| {
            doc["str"][i.as_u64().unwrap_or(u64::MAX) as usize]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        parts,
        [
            "account_settings",
            "brands/b1",
            "folders/f1",
            "folders/f2",
            "folders/f3"
        ]
    );
}

#[test]
fn the_page_has_what_the_browser_test_finds() {
    let mut data = small();
    data.drills.push(DrillPoint {
        drill_id: "drill-1".into(),
        snapshot_id: snapshot_id(3),
        started_at: t0(),
        rto_seconds: 812.4,
        rpo_seconds: 86_400,
        assets_total: 10,
        assets_equal: 10,
        assets_different: 0,
        assets_not_recovered: 0,
        passed: true,
    });
    let page = render(&data).expect("page");
    assert!(page.starts_with("<!doctype html>"));
    let chart = page
        .split("<div id=\"history-chart\">")
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .expect("chart");
    assert_eq!(chart.matches("<circle").count(), 4, "one point per snapshot");
    assert_eq!(page.matches("class=\"asset\"").count(), 3);
    assert!(page.contains("data-key=\"analysis/analysis-00000-3f9c1a7e-5b2d-4c11-9e0f\""));
    assert!(page.contains("<input id=\"search\""));
    assert!(
        page.contains("id=\"drills\"") && page.contains("13 min 32 s"),
        "the drill's RTO"
    );
    assert_eq!(page.matches("class=\"snapshot\"").count(), 4);
    // Offline: nothing is fetched from anywhere.
    for needle in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(needle), "{needle}");
    }
}

#[test]
fn names_are_escaped_in_the_markup_and_in_the_data() {
    let mut data = small();
    let evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
    data.assets[0].name = Some(evil.into());
    data.assets[0].log[0].summary = evil.into();
    data.repository = "<b>repo</b>".into();
    data.snapshots[1].notes.push(evil.into());
    let page = render(&data).expect("page");
    assert!(!page.contains("<img src=x"), "raw markup from a name");
    assert!(!page.contains("<script>alert"), "a name closed the data element");
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(
        page.contains("\\u003c/script>"),
        "the name is in the JSON, with `<` escaped"
    );
    assert!(!page.contains("<b>repo</b>"));
    // Exactly the page's own two scripts.
    assert_eq!(page.matches("<script").count(), 2);
}

#[test]
fn an_empty_repository_still_renders() {
    let data = ReportData {
        repository: "/tmp/empty".into(),
        generated_at: t0(),
        tool_version: "0.1.0".into(),
        snapshots: Vec::new(),
        assets: Vec::new(),
        drills: Vec::new(),
        unreadable: vec![("snapshots/x.json".into(), "not JSON".into())],
    };
    let page = render(&data).expect("page");
    assert!(page.contains("id=\"history-chart\"") && page.contains("no snapshot yet"));
    assert!(page.contains("snapshots/x.json"));
}

#[test]
fn the_script_cannot_end_its_own_element() {
    assert!(!super::SCRIPT.to_ascii_lowercase().contains("</script"));
    assert!(
        !super::SCRIPT.contains("innerHTML"),
        "repository text goes through textContent only"
    );
}

/// 10,000 assets × 30 snapshots stays under 10 MB (`scripts/bench --report`'s target); prints
/// size and time
/// (`cargo test -p qsbackup-core large_account -- --nocapture`).
#[test]
fn a_large_accounts_report_stays_under_ten_megabytes() {
    let data = large(30);
    let start = std::time::Instant::now();
    let page = render(&data).expect("page");
    let took = start.elapsed();
    let json = super::payload::to_script_json(&super::payload::build(&data)).unwrap_or_default();
    let data_bytes = json.len();
    println!(
        "ReportData as JSON: {} bytes",
        serde_json::to_string(&data).map(|j| j.len()).unwrap_or(0)
    );
    if let Ok(path) = std::env::var("QSBACKUP_REPORT_DUMP") {
        let _ = std::fs::write(format!("{path}.json"), &json);
        let _ = std::fs::write(format!("{path}.html"), &page);
    }
    println!(
        "report of {} assets x {} snapshots: {} bytes ({}; {} of them JSON), rendered in {:.2?}",
        data.assets.len(),
        data.snapshots.len(),
        page.len(),
        crate::units::human_bytes(page.len() as u64),
        data_bytes,
        took
    );
    assert_eq!(page.matches("class=\"asset\"").count(), 10_000);
    assert!(page.len() <= 10_000_000, "{} bytes", page.len());
}
