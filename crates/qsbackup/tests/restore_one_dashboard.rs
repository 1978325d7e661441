//! An accidental deletion: one dashboard deleted through the admin API comes back with
//! `restore --select dashboard/ID`, as it was, in one import job, and nothing else in the
//! account changes (every other asset keeps its last-updated time).

mod restore_support;

use std::collections::BTreeMap;

use aws_sdk_quicksight::types::ThemeType;
use qs_emulator::Profile;
use restore_support::*;

/// Last-updated time of every asset of the source account, by ARN.
async fn last_updated(qs: &aws_sdk_quicksight::Client) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let t = |d: Option<&aws_sdk_quicksight::primitives::DateTime>| d.map(|d| d.to_string()).unwrap_or_default();
    let a = SOURCE;
    for d in qs
        .list_dashboards()
        .aws_account_id(a)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
    {
        let d = d.expect("dashboards");
        out.insert(d.arn().unwrap_or_default().to_string(), t(d.last_updated_time()));
    }
    for x in qs
        .list_analyses()
        .aws_account_id(a)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
    {
        let x = x.expect("analyses");
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    for x in qs
        .list_data_sets()
        .aws_account_id(a)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
    {
        let x = x.expect("datasets");
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    for x in qs
        .list_data_sources()
        .aws_account_id(a)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
    {
        let x = x.expect("data sources");
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    let themes = qs
        .list_themes()
        .aws_account_id(a)
        .r#type(ThemeType::Custom)
        .max_results(100)
        .into_paginator()
        .items()
        .send();
    for x in themes.collect::<Vec<_>>().await {
        let x = x.expect("themes");
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    for x in qs
        .list_folders()
        .aws_account_id(a)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
    {
        let x = x.expect("folders");
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    let vpcs = qs
        .list_vpc_connections()
        .aws_account_id(a)
        .max_results(100)
        .send()
        .await
        .expect("VPC connections");
    for x in vpcs.vpc_connection_summaries() {
        out.insert(x.arn().unwrap_or_default().to_string(), t(x.last_updated_time()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_dashboard_comes_back_alone() {
    let emu = emulator(Profile::Small, 5).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let (_, _, members) = latest(&repo).await;
    // A dashboard in a folder, with permissions: the most there is to get right.
    let dashboard = members
        .assets
        .values()
        .filter(|m| m.key.asset_type.as_str() == "dashboard")
        .find(|m| {
            let j = m.json.value();
            j.get("folderArns").is_some() && j.get("permissions").is_some()
        })
        .expect("a dashboard in a folder")
        .clone();
    let id = dashboard.key.id.clone();

    let qs = quicksight(&emu, REGION);
    let before = last_updated(&qs).await;
    let resp = reqwest::Client::new()
        .delete(format!(
            "{}/_emulator/accounts/{SOURCE}/assets/dashboard/{id}",
            emu.endpoint()
        ))
        .send()
        .await
        .expect("delete");
    assert!(resp.status().is_success());
    assert!(qs
        .describe_dashboard()
        .aws_account_id(SOURCE)
        .dashboard_id(&id)
        .send()
        .await
        .is_err());
    reset_stats(&emu).await;

    let cfg_arg = cfg.to_string_lossy().to_string();
    let select = format!("dashboard/{id}");
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "--json",
            "restore",
            "--snapshot",
            "latest",
            "--select",
            &select,
            "--yes",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    let decisions: Vec<(String, String)> = report["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| {
            (
                a["asset"].as_str().unwrap_or_default().to_string(),
                a["decision"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(decisions.contains(&(select.clone(), "create".into())), "{decisions:?}");
    assert!(
        decisions.iter().all(|(k, d)| k == &select || d == "keep"),
        "only the dashboard is imported; what it needs is already there: {decisions:?}"
    );
    assert_eq!(report["summary"]["restored"], 1);
    assert_eq!(calls(&emu, SOURCE, "StartAssetBundleImportJob").await, 1);
    for op in ["CreateGroup", "RegisterUser", "CreateNamespace"] {
        assert_eq!(
            calls(&emu, SOURCE, op).await,
            0,
            "{op}: identities are all there already"
        );
    }

    let back = qs
        .describe_dashboard()
        .aws_account_id(SOURCE)
        .dashboard_id(&id)
        .send()
        .await;
    assert!(back.is_ok(), "the dashboard is back: {back:?}");
    let mut after = last_updated(&qs).await;
    let arn = format!("arn:aws:quicksight:{REGION}:{SOURCE}:dashboard/{id}");
    assert!(after.remove(&arn).is_some());
    let mut expected = before.clone();
    expected.remove(&arn);
    assert_eq!(after, expected, "no other asset changed");

    // And it is the dashboard that was backed up.
    backup(&emu, &cfg).await;
    let (_, _, again) = latest(&repo).await;
    let restored = &again.assets[&dashboard.key];
    assert_eq!(normalize(&restored.json.value()), normalize(&dashboard.json.value()));
}
