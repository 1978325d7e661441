//! `qsbackup iam-policy --drill` grants every `Delete*` the drill's teardown calls (read from
//! `drill/teardown.rs` itself, so a new teardown call without its action fails here), names the
//! recovery account given with `--target-account`, and lists exactly the QuickSight actions of
//! the drill role in `deploy/template.yaml`.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use support::{qsbackup, run, stdout, write_file};

const ACCOUNT: &str = "123456789012";
const TARGET: &str = "210987654321";
const REGION: &str = "us-east-1";

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

/// `iam-policy ARGS` for a config of ACCOUNT; the printed document.
fn policy(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        dir.path(),
        "config.yaml",
        &format!("aws:\n  account_id: \"{ACCOUNT}\"\n  region: {REGION}\ns3:\n  bucket_name: backups\n  prefix: qsb\n"),
    );
    // Nothing is called: the endpoint is never reached.
    let out = run(qsbackup("http://127.0.0.1:9", REGION)
        .arg("--config")
        .arg(&config)
        .arg("iam-policy")
        .args(args));
    assert!(out.status.success(), "iam-policy {args:?} failed");
    serde_json::from_str(&stdout(&out)).expect("the policy is one JSON document")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} in {policy:#}"))
}

fn quicksight_actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("quicksight:"))
        .collect()
}

/// `delete_vpc_connection` -> `quicksight:DeleteVPCConnection`.
fn action_of(call: &str) -> String {
    let name: String = call
        .split('_')
        .map(|w| match w {
            "vpc" => "VPC".to_string(),
            w => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        })
        .collect();
    format!("quicksight:{name}")
}

/// Every `.delete_xxx()` call of the teardown.
fn teardown_actions() -> BTreeSet<String> {
    let source = repo_file("crates/qsbackup-core/src/drill/teardown.rs");
    let mut out = BTreeSet::new();
    for part in source.split(".delete_").skip(1) {
        let call: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if part[call.len()..].starts_with("()") {
            out.insert(action_of(&format!("delete_{call}")));
        }
    }
    out
}

/// The `- quicksight:X` items of the Action list of statement `sid` in the template.
fn template_actions(template: &str, sid: &str) -> BTreeSet<String> {
    let mut lines = template.lines().skip_while(|l| l.trim() != format!("- Sid: {sid}"));
    assert!(lines.next().is_some(), "no statement {sid} in deploy/template.yaml");
    let mut lines = lines.skip_while(|l| l.trim() != "Action:");
    assert!(lines.next().is_some(), "statement {sid} has no Action list");
    lines
        .map(str::trim)
        .take_while(|l| l.starts_with("- quicksight:"))
        .map(|l| l.trim_start_matches("- ").to_string())
        .collect()
}

#[test]
fn the_drill_policy_grants_every_delete_of_the_teardown() {
    let deletes = teardown_actions();
    assert!(
        deletes.len() >= 10 && deletes.contains("quicksight:DeleteVPCConnection"),
        "the teardown's calls were not found: {deletes:?}"
    );
    let drill = quicksight_actions(&policy(&["--drill"]));
    let missing: Vec<_> = deletes.difference(&drill).collect();
    assert!(missing.is_empty(), "iam-policy --drill lacks {missing:?}");
    // And everything a restore and the check's export jobs need.
    let restore = quicksight_actions(&policy(&["--restore"]));
    let lost: Vec<_> = restore.difference(&drill).collect();
    assert!(lost.is_empty(), "iam-policy --drill lacks restore actions {lost:?}");
    for a in [
        "quicksight:StartAssetBundleExportJob",
        "quicksight:DescribeAssetBundleExportJob",
    ] {
        assert!(drill.contains(a), "iam-policy --drill lacks {a}");
    }
    // A backup or a restore never deletes.
    assert!(
        restore.iter().all(|a| !a.starts_with("quicksight:Delete")),
        "{restore:?}"
    );
}

#[test]
fn a_drill_policy_for_a_recovery_account_names_that_account() {
    let p = policy(&["--drill", "--target-account", TARGET, "--target-region", "eu-west-1"]);
    let scoped = statement(&p, "QuickSightDrillRestoreCheckAndTeardown");
    let resources = strings(&scoped["Resource"]);
    assert_eq!(resources, vec![format!("arn:aws:quicksight:eu-west-1:{TARGET}:*")]);
    let account_level = statement(&p, "QuickSightAccountLevelActionsIamGrantsOnlyOnStar");
    assert_eq!(
        account_level["Condition"]["StringEquals"]["aws:RequestedRegion"],
        serde_json::json!(["eu-west-1"])
    );
    // The repository stays the config's.
    assert_eq!(
        statement(&p, "RepositoryObjects")["Resource"],
        "arn:aws:s3:::backups/qsb/*"
    );
}

#[test]
fn the_templates_drill_role_lists_the_actions_of_iam_policy_drill() {
    let template = repo_file("deploy/template.yaml");
    let p = policy(&["--drill"]);
    let printed = |sid: &str| -> BTreeSet<String> { strings(&statement(&p, sid)["Action"]).into_iter().collect() };
    let scoped = template_actions(&template, "QuickSightDrillRestoreCheckAndTeardown");
    assert!(!scoped.is_empty());
    assert_eq!(
        scoped,
        printed("QuickSightDrillRestoreCheckAndTeardown"),
        "the template's drill role and iam-policy --drill differ"
    );
    let account_level = template_actions(&template, "DrillQuickSightAccountLevelActionsIamGrantsOnlyOnStar");
    assert_eq!(
        account_level,
        printed("QuickSightAccountLevelActionsIamGrantsOnlyOnStar"),
        "the template's drill role and iam-policy --drill differ in account-level actions"
    );
}
