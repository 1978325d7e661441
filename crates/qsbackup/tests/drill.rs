//! `qsbackup drill` through the binary against the emulator: the medium snapshot drilled into
//! an empty account comes back equal asset by asset with RTO and RPO, the record is kept and
//! listed, and `--teardown` leaves the target as it was; a target that already holds some of
//! the assets keeps them untouched; a drill whose imports fail does not pass.

mod restore_support;

use std::collections::BTreeSet;

use qs_emulator::{EmulatorHandle, Profile};
use restore_support::*;
use serde_json::Value;

/// Every asset and identity of `account`, by type and id or name, through the public API.
async fn inventory(emu: &EmulatorHandle, account: &str) -> BTreeSet<String> {
    let qs = quicksight(emu, REGION);
    let mut out = BTreeSet::new();
    // Each asset type's list call, its summaries' id, and how the inventory names it.
    macro_rules! list {
        ($call:ident, $id:ident, $kind:literal) => {
            let items = qs.$call().aws_account_id(account).into_paginator().items().send();
            for item in items
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect(stringify!($call))
            {
                out.insert(format!(concat!($kind, "/{}"), item.$id().unwrap_or_default()));
            }
        };
    }
    list!(list_dashboards, dashboard_id, "dashboard");
    list!(list_analyses, analysis_id, "analysis");
    list!(list_data_sets, data_set_id, "dataset");
    list!(list_data_sources, data_source_id, "datasource");
    list!(list_themes, theme_id, "theme");
    list!(list_folders, folder_id, "folder");
    let pages = qs
        .list_vpc_connections()
        .aws_account_id(account)
        .into_paginator()
        .send();
    for page in pages.collect::<Result<Vec<_>, _>>().await.expect("ListVPCConnections") {
        for v in page.vpc_connection_summaries() {
            out.insert(format!("vpcConnection/{}", v.vpc_connection_id().unwrap_or_default()));
        }
    }
    let namespaces = qs
        .list_namespaces()
        .aws_account_id(account)
        .into_paginator()
        .items()
        .send();
    for ns in namespaces.collect::<Result<Vec<_>, _>>().await.expect("ListNamespaces") {
        let n = ns.name().unwrap_or_default().to_string();
        out.insert(format!("namespace {n}"));
        let users = qs
            .list_users()
            .aws_account_id(account)
            .namespace(&n)
            .into_paginator()
            .items()
            .send();
        for u in users.collect::<Result<Vec<_>, _>>().await.expect("ListUsers") {
            out.insert(format!("user {n}/{}", u.user_name().unwrap_or_default()));
        }
        let groups = qs
            .list_groups()
            .aws_account_id(account)
            .namespace(&n)
            .into_paginator()
            .items()
            .send();
        for g in groups.collect::<Result<Vec<_>, _>>().await.expect("ListGroups") {
            let gname = g.group_name().unwrap_or_default().to_string();
            out.insert(format!("group {n}/{gname}"));
            let members = qs
                .list_group_memberships()
                .aws_account_id(account)
                .namespace(&n)
                .group_name(&gname)
                .into_paginator()
                .items()
                .send();
            for m in members
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("ListGroupMemberships")
            {
                out.insert(format!("member {n}/{gname}/{}", m.member_name().unwrap_or_default()));
            }
        }
    }
    out
}

fn overrides(dir: &std::path::Path) -> String {
    let path = dir.join("overrides.yaml");
    std::fs::write(
        &path,
        format!(
            "iam_roles: {{QuickSightRole: \"arn:aws:iam::{TARGET}:role/QuickSightRole\"}}\n\
             identities: {{include_inactive_users: true}}\n"
        ),
    )
    .expect("overrides");
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_medium_snapshot_drilled_into_an_empty_account_comes_back_equal_and_is_torn_down() {
    let emu = emulator(Profile::Medium, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let (repository, manifest, members) = latest(&repo).await;
    // Identity Center users come from the directory: the recovery account has them already.
    provision_identity_center_users(&emu, &identities(&repository, &manifest).await).await;
    let before = inventory(&emu, TARGET).await;

    let cfg = cfg.to_string_lossy().to_string();
    let ovr = overrides(dir.path());
    let out = run(qsbackup(
        &emu,
        &[
            "-c",
            &cfg,
            "--json",
            "drill",
            "--target-account",
            TARGET,
            "--overrides",
            &ovr,
            "--teardown",
        ],
    ))
    .await;
    let report = stdout_json(&out);
    assert_eq!(out.status.code(), Some(0), "{}\n{report:#}", stderr(&out));
    assert_eq!(report["command"], "drill");
    assert_eq!(report["passed"], true);
    assert_eq!(report["snapshot_id"], manifest.id.as_str());
    let total = report["assets_total"].as_u64().unwrap_or(0) as usize;
    assert_eq!(total, members.assets.len(), "every asset of the snapshot is drilled");
    assert_eq!(report["assets_equal"], report["assets_total"], "{:#}", report["assets"]);
    assert_eq!(report["assets_different"], 0);
    assert_eq!(report["identities_missing"], 0);
    assert!(report["identities_present"].as_u64().unwrap_or(0) > 0);
    assert!(report["rto_seconds"].as_f64().unwrap_or(0.0) > 0.0);
    let rpo = report["rpo_seconds"].as_i64().expect("rpo_seconds");
    assert!((0..3600).contains(&rpo), "RPO {rpo}");
    assert!(!report["timeline"].as_array().expect("timeline").is_empty());
    let teardown = &report["teardown"];
    assert_eq!(teardown["failed"], serde_json::json!([]), "{teardown:#}");
    assert!(teardown["deleted"].as_u64().unwrap_or(0) as usize >= total);

    let after = inventory(&emu, TARGET).await;
    let left: Vec<&String> = after.difference(&before).collect();
    assert!(left.is_empty(), "the teardown left these in the target: {left:?}");
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(
        lost.is_empty(),
        "the teardown removed what the target had before: {lost:?}"
    );

    // Kept in the repository and listed.
    let id = report["drill_id"].as_str().expect("drill_id");
    assert!(std::path::Path::new(&repo).join(format!("drills/{id}.json")).is_file());
    let out = run(qsbackup(&emu, &["-c", &cfg, "--json", "drills"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = stdout_json(&out);
    assert_eq!(listed["drills"][0]["drill_id"], id);
    assert_eq!(listed["drills"][0]["passed"], true);
    let out = run(qsbackup(&emu, &["-c", &cfg, "drills"])).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains(id) && text.contains("passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_leaves_what_the_target_already_had_untouched() {
    let emu = emulator(Profile::Small, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let (_, _, members) = latest(&repo).await;
    let cfg = cfg.to_string_lossy().to_string();
    let ovr = overrides(dir.path());
    // The recovery account already holds one dashboard and what it depends on, since edited.
    let dashboard = members
        .assets
        .keys()
        .find(|k| k.asset_type.as_str() == "dashboard")
        .expect("a dashboard")
        .id
        .clone();
    let out = run(qsbackup(
        &emu,
        &[
            "-c",
            &cfg,
            "restore",
            "latest",
            "--select",
            &format!("dashboard/{dashboard}"),
            "--target-account",
            TARGET,
            "--overrides",
            &ovr,
            "--no-identities",
            "--yes",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resp = reqwest::Client::new()
        .patch(format!(
            "{}/_emulator/accounts/{TARGET}/assets/dashboard/{dashboard}",
            emu.endpoint()
        ))
        .body(r#"{"name": "Kept by the recovery team"}"#)
        .send()
        .await
        .expect("admin edit");
    assert!(resp.status().is_success());
    let qs = quicksight(&emu, REGION);
    let describe = |qs: aws_sdk_quicksight::Client, id: String| async move {
        let d = qs
            .describe_dashboard()
            .aws_account_id(TARGET)
            .dashboard_id(id)
            .send()
            .await
            .expect("the dashboard is there");
        let d = d.dashboard().expect("dashboard");
        (
            d.name().unwrap_or_default().to_string(),
            d.version().and_then(|v| v.version_number()),
            d.last_updated_time().map(|t| t.secs()),
        )
    };
    let edited = describe(qs.clone(), dashboard.clone()).await;
    let before = inventory(&emu, TARGET).await;

    let out = run(qsbackup(
        &emu,
        &[
            "-c",
            &cfg,
            "--json",
            "drill",
            "--target-account",
            TARGET,
            "--overrides",
            &ovr,
            "--teardown",
        ],
    ))
    .await;
    let report = stdout_json(&out);
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let skipped: Vec<&Value> = report["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter(|a| a["outcome"] == "skipped")
        .collect();
    assert!(
        skipped
            .iter()
            .any(|a| a["asset"] == format!("dashboard/{dashboard}").as_str()),
        "the dashboard the target had is skipped: {skipped:?}"
    );
    assert_eq!(report["assets_skipped"].as_u64().unwrap_or(0) as usize, skipped.len());
    assert_eq!(report["assets_different"], 0, "{:#}", report["assets"]);

    assert_eq!(
        describe(qs, dashboard.clone()).await,
        edited,
        "the target's own dashboard is untouched"
    );
    let after = inventory(&emu, TARGET).await;
    assert_eq!(
        after, before,
        "after the teardown the target holds exactly what it held before"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_whose_imports_fail_does_not_pass_and_says_why() {
    let emu = emulator(Profile::Small, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let resp = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", emu.endpoint()))
        .body(r#"{"deny": ["StartAssetBundleImportJob"]}"#)
        .send()
        .await
        .expect("faults");
    assert!(resp.status().is_success());
    let cfg = cfg.to_string_lossy().to_string();
    let out = run(qsbackup(
        &emu,
        &["-c", &cfg, "drill", "--target-account", TARGET, "--no-identities"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("Result: FAILED"), "{text}");
    assert!(text.contains("AccessDeniedException"), "the reason is named: {text}");
    let out = run(qsbackup(&emu, &["-c", &cfg, "--json", "drills"])).await;
    assert_eq!(stdout_json(&out)["drills"][0]["passed"], false);

    // Imports work but the check cannot read anything back: the drill still keeps its record
    // and tears down what it restored, and does not pass.
    let before = inventory(&emu, TARGET).await;
    let resp = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", emu.endpoint()))
        .body(r#"{"deny": ["StartAssetBundleExportJob"]}"#)
        .send()
        .await
        .expect("faults");
    assert!(resp.status().is_success());
    let out = run(qsbackup(
        &emu,
        &[
            "-c",
            &cfg,
            "--json",
            "drill",
            "--target-account",
            TARGET,
            "--no-identities",
            "--teardown",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["passed"], false);
    assert_eq!(report["assets_equal"], 0);
    assert!(report["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .any(|a| a["outcome"] == "unchecked"));
    assert!(
        report["teardown"]["deleted"].as_u64().unwrap_or(0) > 0,
        "{:#}",
        report["teardown"]
    );
    assert_eq!(inventory(&emu, TARGET).await, before, "the teardown ran all the same");

    // Into the backed-up account itself, without --prefix, a drill is refused before anything runs.
    let out = run(qsbackup(&emu, &["-c", &cfg, "drill", "--target-account", SOURCE])).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--prefix"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_account_is_reached_through_the_role_given_and_a_role_that_cannot_be_assumed_stops_the_drill() {
    let emu = emulator(Profile::Small, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let cfg = cfg.to_string_lossy().to_string();
    let role = format!("arn:aws:iam::{TARGET}:role/QuickSightRecovery");
    let args = [
        "-c",
        &cfg,
        "--json",
        "drill",
        "--target-account",
        TARGET,
        "--target-role-arn",
        &role,
        "--no-identities",
        "--teardown",
    ];
    // moto's STS hands out the role's session: the drill runs with it.
    let mut cmd = qsbackup(&emu, &args);
    cmd.env("AWS_ENDPOINT_URL_STS", moto());
    let out = run(cmd).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert!(report["assets_equal"].as_u64().unwrap_or(0) > 0, "{report:#}");
    assert_eq!(report["assets_different"], 0);

    // Where STS does not answer, nothing is restored and the error says so.
    let before = inventory(&emu, TARGET).await;
    let mut cmd = qsbackup(&emu, &args);
    cmd.env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).is_empty());
    assert_eq!(inventory(&emu, TARGET).await, before, "nothing reached the target");
}
