//! Names from the account are text to show, never terminal commands: asset names holding an
//! escape sequence, a carriage return and a line break are printed escaped by `backup` (its
//! report and log lines), `show`, `diff` and `restore --dry-run`.

mod repo_support;

use repo_support::*;
use serde_json::{json, Value};

const EVIL: &str = " \x1b[31mred\x1b[0m\rforged\nline";

/// Every asset the dry run plans or skips, as (type, id) for the admin API.
fn assets(plan: &Value) -> Vec<(String, String)> {
    let mut arns: Vec<String> = Vec::new();
    for b in plan["plan"]["bundles"]["bundles"].as_array().expect("bundles") {
        for a in b["assets"].as_array().expect("assets") {
            arns.push(a["arn"].as_str().expect("arn").to_string());
        }
    }
    for s in plan["plan"]["skipped"].as_array().expect("skipped") {
        arns.push(s["arn"].as_str().expect("arn").to_string());
    }
    arns.iter()
        .filter_map(|arn| arn.rsplit(':').next())
        .filter_map(|r| r.split_once('/'))
        .map(|(t, id)| (t.to_string(), id.to_string()))
        .filter(|(t, _)| t != "folder")
        .collect()
}

fn assert_printable(what: &str, text: &str) {
    assert!(
        !text.contains('\x1b'),
        "{what}: a raw ESC reached the output:\n{text:?}"
    );
    assert!(!text.contains('\r'), "{what}: a raw CR reached the output:\n{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("line")),
        "{what}: a name's line break forged a line:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_asset_names_are_printed_escaped() {
    let env = setup(0, 10).await;
    let first = env.backup().await;
    let (out, plan) = env.json(&["backup", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let renamed = assets(&plan);
    assert!(renamed.len() > 10, "{renamed:?}");
    for (t, id) in &renamed {
        env.admin(
            reqwest::Method::PATCH,
            &format!("/_emulator/accounts/{ACCOUNT}/assets/{t}/{id}"),
            Some(json!({"name": format!("{id}{EVIL}")})),
        )
        .await;
    }

    // Not --json: the human report and the log lines.
    let out = env.run(&["backup"]).await;
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{}", stderr(&out));
    assert_printable("backup stdout", &stdout(&out));
    assert_printable("backup stderr", &stderr(&out));
    assert!(stdout(&out).contains("QuickSight backup report"), "{}", stdout(&out));

    let out = env.run(&["show", "latest"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_printable("show stdout", &shown);
    assert_printable("show stderr", &stderr(&out));
    assert!(
        shown.contains("\\x1b[31mred\\x1b[0m\\rforged\\nline"),
        "the names are shown, escaped:\n{shown}"
    );

    let latest = env.snapshot_ids().await.pop().expect("the second snapshot");
    let first = first["snapshot_id"].as_str().expect("first id");
    let out = env.run(&["diff", first, &latest]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_printable("diff stdout", &stdout(&out));
    assert!(
        stdout(&out).contains("\\x1b[31m"),
        "renames are listed: {}",
        stdout(&out)
    );

    let out = env
        .run(&[
            "restore",
            "--snapshot",
            "latest",
            "--dry-run",
            "--prefix",
            "r-",
            "--no-identities",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_printable("restore --dry-run stdout", &stdout(&out));
    assert_printable("restore --dry-run stderr", &stderr(&out));
}
