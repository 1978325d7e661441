//! "What changed, when?": between two backups a dashboard is renamed, a dataset's calculated
//! field is edited, another dashboard's permissions change and an analysis is deleted, each as
//! a user would in the console (the emulator records them as QuickSight does). `log`, the
//! field-level `diff` and the HTML report must show exactly those changes, nothing else.

mod repo_support;

use repo_support::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Ids of the members of `member_type` stored in `manifest`, as requested assets.
fn stored(manifest: &Value, member_type: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .filter(|b| b["asset_type"] == member_type)
        .flat_map(|b| b["members"].as_array().expect("members").clone())
        .filter(|m| m["type"] == member_type)
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_string(),
                m["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A dataset with a calculated field: (id, logical table id, its DataTransforms, column name).
async fn calculated_field(env: &Env, datasets: &[(String, String)]) -> (String, String, Value, String) {
    for (id, _) in datasets {
        let (out, doc) = env.json(&["dump", "latest", &format!("dataset/{id}")]).await;
        if out.status.code() != Some(0) {
            continue;
        }
        let Some(tables) = doc["logicalTableMap"].as_object() else {
            continue;
        };
        for (table, t) in tables {
            let transforms = t["DataTransforms"].clone();
            let column = transforms.as_array().into_iter().flatten().find_map(|x| {
                x["CreateColumnsOperation"]["Columns"][0]["ColumnName"]
                    .as_str()
                    .map(str::to_string)
            });
            if let Some(column) = column {
                return (id.clone(), table.clone(), transforms, column);
            }
        }
    }
    panic!("no stored dataset has a calculated field");
}

fn entries(doc: &Value) -> Vec<Value> {
    doc["assets"][0]["entries"].as_array().expect("entries").clone()
}

fn kinds(entry: &Value) -> Vec<String> {
    entry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c.as_str().expect("change").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_diff_and_report_show_exactly_a_rename_a_calculated_field_a_permission_and_a_deletion() {
    let env = setup(0, 25).await;
    let first = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    let manifest = env.manifest(&first);
    let dashboards = stored(&manifest, "dashboard");
    let analyses = stored(&manifest, "analysis");
    assert!(
        dashboards.len() >= 2 && !analyses.is_empty(),
        "{dashboards:?} {analyses:?}"
    );
    let (renamed, old_name) = dashboards[0].clone();
    let (shared, _) = dashboards[1].clone();
    let (deleted, _) = analyses[0].clone();
    let (data_set, table, mut transforms, column) = calculated_field(&env, &stored(&manifest, "dataset")).await;

    let base = format!("/_emulator/accounts/{ACCOUNT}/assets");
    let new_name = format!("{old_name} (renamed)");
    env.admin(
        Method::PATCH,
        &format!("{base}/dashboard/{renamed}"),
        Some(json!({"name": new_name})),
    )
    .await;
    let old_expression = transforms
        .as_array()
        .expect("transforms")
        .iter()
        .find_map(|x| x["CreateColumnsOperation"]["Columns"][0]["Expression"].as_str())
        .expect("expression")
        .to_string();
    let new_expression = format!("({old_expression}) * 100");
    for x in transforms.as_array_mut().expect("transforms") {
        if let Some(c) = x.pointer_mut("/CreateColumnsOperation/Columns/0/Expression") {
            *c = json!(new_expression);
        }
    }
    env.admin(
        Method::PATCH,
        &format!("{base}/dataset/{data_set}"),
        Some(json!({"body": {"LogicalTableMap": {table.clone(): {"DataTransforms": transforms}}}})),
    )
    .await;
    let alice = format!("arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/auditor-added");
    let (_, dumped) = env.json(&["dump", "latest", &format!("dashboard/{shared}")]).await;
    let mut permissions: Vec<Value> = dumped["permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| json!({"Principal": p["principal"], "Actions": p["actions"]}))
        .collect();
    permissions
        .push(json!({"Principal": alice, "Actions": ["quicksight:DescribeDashboard", "quicksight:QueryDashboard"]}));
    env.admin(
        Method::PATCH,
        &format!("{base}/dashboard/{shared}"),
        Some(json!({"permissions": permissions})),
    )
    .await;
    env.admin(Method::DELETE, &format!("{base}/analysis/{deleted}"), None)
        .await;
    // From now on every backup writes the report beside its snapshot.
    let mut config = std::fs::read_to_string(&env.config).expect("config");
    config.push_str("report:\n  html: true\n");
    std::fs::write(&env.config, config).expect("config");
    let second = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    let beside =
        std::fs::read_to_string(env.object(&format!("reports/{second}.html"))).expect("the backup wrote its report");
    assert_eq!(report_data(&beside)["snapshots"].as_array().map(Vec::len), Some(2));
    assert!(!env.object(&format!("reports/{first}.html")).exists());

    // log: one entry per snapshot that saw a change, of exactly the right kind.
    let (out, doc) = env.json(&["log", &format!("dashboard/{renamed}")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let e = entries(&doc);
    assert_eq!(e.len(), 2, "{doc:#}");
    assert_eq!(
        (kinds(&e[0]), e[0]["snapshot_id"].as_str()),
        (vec!["added".to_string()], Some(first.as_str()))
    );
    assert_eq!(kinds(&e[1]), ["renamed"], "{doc:#}");
    assert_eq!(e[1]["summary"], format!("renamed \"{old_name}\" -> \"{new_name}\""));
    let (t0, t1) = (e[0]["last_updated_time"].as_str(), e[1]["last_updated_time"].as_str());
    assert!(
        t0.is_some() && t1 > t0,
        "QuickSight's LastUpdatedTime moves with the edit: {doc:#}"
    );
    let text = stdout(&env.run(&["log", &format!("dashboard/{renamed}")]).await);
    assert!(
        text.contains(&second) && text.contains("renamed") && text.contains("QuickSight: updated"),
        "{text}"
    );

    let (_, doc) = env.json(&["log", &format!("dashboard/{shared}")]).await;
    let e = entries(&doc);
    assert_eq!(e.len(), 2, "{doc:#}");
    assert_eq!(kinds(&e[1]), ["permissions_changed"], "{doc:#}");
    assert!(
        e[1]["summary"]
            .as_str()
            .expect("summary")
            .contains("user/default/auditor-added"),
        "{doc:#}"
    );

    let (_, doc) = env.json(&["log", &format!("dataset/{data_set}")]).await;
    let e = entries(&doc);
    assert_eq!(e.len(), 2, "{doc:#}");
    assert_eq!(kinds(&e[1]), ["changed"], "{doc:#}");
    assert!(
        e.iter().all(|x| x["last_updated_time"].is_string()),
        "a dataset stored beside the dashboards that use it still shows its own LastUpdatedTime: {doc:#}"
    );
    let fields = e[1]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "only the expression changed: {doc:#}");
    assert_eq!(fields[0]["before"], old_expression.as_str());
    assert_eq!(fields[0]["after"], new_expression.as_str());
    assert!(
        fields[0]["path"].as_str().expect("path").ends_with(".Expression"),
        "{doc:#}"
    );
    assert!(
        fields[0]["what"]
            .as_str()
            .expect("what")
            .contains(&format!("calculated field \"{column}\"")),
        "{doc:#}"
    );

    let (_, doc) = env.json(&["log", &format!("analysis/{deleted}")]).await;
    let e = entries(&doc);
    assert_eq!(e.len(), 2, "{doc:#}");
    assert_eq!(kinds(&e[1]), ["disappeared"], "{doc:#}");

    // diff: exactly those four assets, and inside them exactly those fields.
    let (out, doc) = env.json(&["diff", &first, &second]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut seen = BTreeSet::new();
    for (t, td) in doc["assets"].as_object().expect("assets") {
        for (kind, list) in td.as_object().expect("type diff") {
            for a in list.as_array().expect("list") {
                seen.insert(format!("{kind} {t}/{}", a["id"].as_str().expect("id")));
            }
        }
    }
    let expected: BTreeSet<String> = [
        format!("changed dashboard/{renamed}"),
        format!("changed dashboard/{shared}"),
        format!("changed dataset/{data_set}"),
        format!("removed analysis/{deleted}"),
    ]
    .into();
    assert_eq!(seen, expected, "{doc:#}");
    let text = stdout(
        &env.run(&["diff", &first, &second, "--asset", &format!("dataset/{data_set}")])
            .await,
    );
    assert!(
        text.contains(&format!(
            "calculated field \"{column}\" › expression: \"{old_expression}\" -> \"{new_expression}\""
        )),
        "{text}"
    );
    let out = env
        .run(&["diff", &first, &second, "--asset", "dashboard/no-such-dashboard"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an asset in neither snapshot is an error, not 'no changes'"
    );
    assert!(stderr(&out).contains("neither snapshot"), "{}", stderr(&out));
    let text = stdout(&env.run(&["diff", &first, &second, "-v"]).await);
    assert!(text.contains("user/default/auditor-added"), "{text}");
    assert!(
        text.contains(&format!("name: \"{old_name}\" -> \"{new_name}\"")),
        "{text}"
    );

    // The report: the second snapshot's changes are exactly these four.
    let page = env.dir.path().join("report.html");
    let out = env.run(&["report", "--html", page.to_str().expect("path")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("report");
    let data = report_data(&html);
    let snapshots = data["snapshots"].as_array().expect("snapshots");
    assert_eq!(snapshots.len(), 2);
    assert!(
        snapshots[0]["changes_total"].is_null() && snapshot_section(&html, 0).contains("nothing to compare with"),
        "the first snapshot has nothing to compare with"
    );
    let lines = change_lines(&snapshot_section(&html, 1));
    let changes: BTreeSet<String> = lines.iter().map(|(kind, asset, _)| format!("{kind} {asset}")).collect();
    assert_eq!(changes, expected, "{lines:#?}");
    assert_eq!(snapshots[1]["changes_total"], 4, "{:#}", snapshots[1]);
    // Each line's summary is the log's, as the page shows it.
    for (_, asset, summary) in &lines {
        assert!(
            !summary.is_empty(),
            "{asset}: a change line with no summary: {lines:#?}"
        );
        let log = stdout(&env.run(&["--json", "log", asset.as_str()]).await);
        assert!(
            log.contains(&serde_json::to_string(&html_unescape(summary)).expect("json")),
            "{asset}: {summary} is its log's summary: {log}"
        );
    }
}

/// The `<details>` of snapshot `index` (oldest first) on the page.
fn snapshot_section(html: &str, index: usize) -> String {
    let start = html
        .find(&format!("<details class=\"snapshot\" id=\"snap-{index}\""))
        .expect("the snapshot's section");
    let body = &html[start..];
    body[..body.find("</details>\n").expect("section end")].to_string()
}

/// A snapshot section's change lines, as (kind, asset key, summary) the page shows them:
/// `<li class="changed"><a …>name <code>dashboard/id</code></a> summary</li>`.
fn change_lines(section: &str) -> Vec<(String, String, String)> {
    let Some(start) = section.find("<ul class=\"changes\">") else {
        return Vec::new();
    };
    let list = &section[start..section[start..].find("</ul>").map_or(section.len(), |e| start + e)];
    list.split("<li class=\"")
        .skip(1)
        .map(|item| {
            let kind = item.split('"').next().unwrap_or_default().to_string();
            let asset = item
                .split("<code>")
                .nth(1)
                .and_then(|c| c.split("</code>").next())
                .unwrap_or_default()
                .to_string();
            let summary = item
                .split("</a> ")
                .nth(1)
                .and_then(|c| c.split("</li>").next())
                .unwrap_or_default()
                .to_string();
            (kind, asset, summary)
        })
        .collect()
}

/// The report's data, as the page embeds it for its script.
fn report_data(html: &str) -> Value {
    let start = html.find("id=\"report-data\"").expect("the page embeds its data");
    let body = &html[start..];
    let open = body.find('>').expect("tag end") + 1;
    let close = body.find("</script>").expect("script end");
    serde_json::from_str(&body[open..close].replace("<\\/", "</")).expect("report data is JSON")
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}
