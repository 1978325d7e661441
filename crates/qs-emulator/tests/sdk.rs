//! Drives every emulator operation through the official `aws-sdk-quicksight`,
//! paginators included, and shows each quota and fault as the SDK sees it.

mod sdk_client;
use sdk_client::client;
use std::io::Read;

use aws_sdk_quicksight::error::ProvideErrorMetadata;
use aws_sdk_quicksight::types::{
    AssetBundleExportFormat, AssetBundleExportJobStatus, AssetBundleImportFailureAction, AssetBundleImportJobStatus,
    AssetBundleImportSource, IdentityType, ThemeType, UserRole,
};
use aws_sdk_quicksight::Client;
use qs_emulator::{EmulatorOptions, Profile};

const SOURCE: &str = "123456789012";
const TARGET: &str = "210987654321";

async fn emulator() -> qs_emulator::EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 1,
        accounts: vec![SOURCE.into(), TARGET.into()],
        ..Default::default()
    })
    .await
    .expect("start emulator")
}

async fn admin(
    endpoint: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{endpoint}{path}"));
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.expect("admin call");
    assert!(resp.status().is_success(), "admin {path}: {}", resp.status());
    let text = resp.text().await.expect("admin body");
    serde_json::from_str(&text).expect("admin json")
}

async fn wait_export(
    qs: &Client,
    account: &str,
    id: &str,
) -> aws_sdk_quicksight::operation::describe_asset_bundle_export_job::DescribeAssetBundleExportJobOutput {
    for _ in 0..200 {
        let d = qs
            .describe_asset_bundle_export_job()
            .aws_account_id(account)
            .asset_bundle_export_job_id(id)
            .send()
            .await
            .expect("describe export");
        match d.job_status() {
            Some(AssetBundleExportJobStatus::Successful) | Some(AssetBundleExportJobStatus::Failed) => return d,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("export job {id} did not finish");
}

#[tokio::test]
async fn every_read_operation_with_paginators() {
    let emu = emulator().await;
    let qs = client(&emu.endpoint(), "us-east-1");

    let sources: Vec<_> = qs
        .list_data_sources()
        .aws_account_id(SOURCE)
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list data sources");
    assert!(
        sources.len() > 10,
        "small profile has more than 10 data sources, got {}",
        sources.len()
    );
    let data_sets: Vec<_> = qs
        .list_data_sets()
        .aws_account_id(SOURCE)
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list data sets");
    let analyses: Vec<_> = qs
        .list_analyses()
        .aws_account_id(SOURCE)
        .max_results(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list analyses");
    let dashboards: Vec<_> = qs
        .list_dashboards()
        .aws_account_id(SOURCE)
        .max_results(4)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list dashboards");
    let themes: Vec<_> = qs
        .list_themes()
        .aws_account_id(SOURCE)
        .r#type(ThemeType::Custom)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list themes");
    let all_themes: Vec<_> = qs
        .list_themes()
        .aws_account_id(SOURCE)
        .r#type(ThemeType::All)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list all themes");
    assert!(all_themes.len() > themes.len(), "ALL includes the built-in themes");
    let vpcs = qs
        .list_vpc_connections()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect("vpc");
    let folders: Vec<_> = qs
        .list_folders()
        .aws_account_id(SOURCE)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("folders");
    let topics = qs.list_topics().aws_account_id(SOURCE).send().await.expect("topics");
    assert!(!data_sets.is_empty() && !analyses.is_empty() && !dashboards.is_empty() && !themes.is_empty());
    assert!(
        !vpcs.vpc_connection_summaries().is_empty() && !folders.is_empty() && !topics.topics_summaries().is_empty()
    );

    for s in &sources {
        let d = qs
            .describe_data_source()
            .aws_account_id(SOURCE)
            .data_source_id(s.data_source_id().unwrap_or_default())
            .send()
            .await
            .expect("describe data source");
        assert_eq!(d.data_source().and_then(|x| x.arn()), s.arn());
    }
    for s in &data_sets {
        let id = s.data_set_id().unwrap_or_default();
        let d = qs
            .describe_data_set()
            .aws_account_id(SOURCE)
            .data_set_id(id)
            .send()
            .await
            .expect("describe data set");
        assert!(
            d.data_set()
                .and_then(|x| x.physical_table_map())
                .map(|m| m.len())
                .unwrap_or(0)
                > 0
        );
        let r = qs
            .list_refresh_schedules()
            .aws_account_id(SOURCE)
            .data_set_id(id)
            .send()
            .await
            .expect("refresh schedules");
        assert!(r.refresh_schedules().len() <= 5);
    }
    let a = &analyses[0];
    let d = qs
        .describe_analysis()
        .aws_account_id(SOURCE)
        .analysis_id(a.analysis_id().unwrap_or_default())
        .send()
        .await
        .expect("describe analysis");
    assert!(!d.analysis().map(|x| x.data_set_arns().is_empty()).unwrap_or(true));
    let d = qs
        .describe_dashboard()
        .aws_account_id(SOURCE)
        .dashboard_id(dashboards[0].dashboard_id().unwrap_or_default())
        .send()
        .await
        .expect("describe dashboard");
    assert!(d
        .dashboard()
        .and_then(|x| x.version())
        .and_then(|v| v.version_number())
        .is_some());
    let d = qs
        .describe_theme()
        .aws_account_id(SOURCE)
        .theme_id(themes[0].theme_id().unwrap_or_default())
        .send()
        .await
        .expect("describe theme");
    assert!(d
        .theme()
        .and_then(|t| t.version())
        .and_then(|v| v.configuration())
        .is_some());
    let vid = vpcs.vpc_connection_summaries()[0]
        .vpc_connection_id()
        .unwrap_or_default();
    qs.describe_vpc_connection()
        .aws_account_id(SOURCE)
        .vpc_connection_id(vid)
        .send()
        .await
        .expect("describe vpc");
    let tid = topics.topics_summaries()[0].topic_id().unwrap_or_default();
    qs.describe_topic()
        .aws_account_id(SOURCE)
        .topic_id(tid)
        .send()
        .await
        .expect("describe topic");
    let mut nested = 0;
    for f in &folders {
        let id = f.folder_id().unwrap_or_default();
        let d = qs
            .describe_folder()
            .aws_account_id(SOURCE)
            .folder_id(id)
            .send()
            .await
            .expect("describe folder");
        nested += usize::from(!d.folder().map(|x| x.folder_path().is_empty()).unwrap_or(true));
        qs.describe_folder_permissions()
            .aws_account_id(SOURCE)
            .folder_id(id)
            .send()
            .await
            .expect("folder permissions");
        let members: Vec<_> = qs
            .list_folder_members()
            .aws_account_id(SOURCE)
            .folder_id(id)
            .max_results(2)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("folder members");
        assert!(!members.is_empty());
    }
    assert!(nested > 0, "some folders are nested");

    let namespaces: Vec<_> = qs
        .list_namespaces()
        .aws_account_id(SOURCE)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("namespaces");
    assert!(namespaces.len() >= 2);
    let mut users_total = 0;
    for ns in &namespaces {
        let ns = ns.name().unwrap_or_default();
        let users: Vec<_> = qs
            .list_users()
            .aws_account_id(SOURCE)
            .namespace(ns)
            .max_results(7)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("users");
        users_total += users.len();
        let u = users[0].user_name().unwrap_or_default();
        qs.describe_user()
            .aws_account_id(SOURCE)
            .namespace(ns)
            .user_name(u)
            .send()
            .await
            .expect("describe user (names with '/' included)");
        let groups: Vec<_> = qs
            .list_groups()
            .aws_account_id(SOURCE)
            .namespace(ns)
            .max_results(2)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("groups");
        for g in &groups {
            let name = g.group_name().unwrap_or_default();
            qs.describe_group()
                .aws_account_id(SOURCE)
                .namespace(ns)
                .group_name(name)
                .send()
                .await
                .expect("describe group");
            qs.list_group_memberships()
                .aws_account_id(SOURCE)
                .namespace(ns)
                .group_name(name)
                .max_results(3)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("memberships");
        }
    }
    assert!(users_total >= 30);

    let settings = qs
        .describe_account_settings()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect("settings");
    assert_eq!(
        settings.account_settings().and_then(|s| s.default_namespace()),
        Some("default")
    );
    qs.describe_account_customization()
        .aws_account_id(SOURCE)
        .namespace("default")
        .send()
        .await
        .expect("customization");
    let brands = qs.list_brands().aws_account_id(SOURCE).send().await.expect("brands");
    let bid = brands.brands()[0].brand_id().unwrap_or_default();
    let b = qs
        .describe_brand()
        .aws_account_id(SOURCE)
        .brand_id(bid)
        .send()
        .await
        .expect("describe brand");
    assert!(b.brand_definition().is_some());
    let cp = qs
        .list_custom_permissions()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect("custom permissions");
    assert!(!cp.custom_permissions_list().is_empty());

    // An invalid token is refused.
    let err = qs
        .list_dashboards()
        .aws_account_id(SOURCE)
        .next_token("garbage")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(err.code(), Some("InvalidNextTokenException"));
}

#[tokio::test]
async fn identity_writes_and_wrong_region() {
    let emu = emulator().await;
    let qs = client(&emu.endpoint(), "us-east-1");
    qs.create_group()
        .aws_account_id(TARGET)
        .namespace("default")
        .group_name("analysts")
        .description("Analysts")
        .send()
        .await
        .expect("create group");
    let u = qs
        .register_user()
        .aws_account_id(TARGET)
        .namespace("default")
        .identity_type(IdentityType::Quicksight)
        .email("ana@example.com")
        .user_role(UserRole::Author)
        .user_name("ana")
        .send()
        .await
        .expect("register user");
    assert_eq!(u.user().and_then(|x| x.user_name()), Some("ana"));
    qs.create_group_membership()
        .aws_account_id(TARGET)
        .namespace("default")
        .group_name("analysts")
        .member_name("ana")
        .send()
        .await
        .expect("membership");
    let m = qs
        .list_group_memberships()
        .aws_account_id(TARGET)
        .namespace("default")
        .group_name("analysts")
        .send()
        .await
        .expect("list");
    assert_eq!(m.group_member_list().len(), 1);
    let again = qs
        .create_group()
        .aws_account_id(TARGET)
        .namespace("default")
        .group_name("analysts")
        .send()
        .await
        .expect_err("exists");
    assert_eq!(again.code(), Some("ResourceExistsException"));

    let west = client(&emu.endpoint(), "eu-west-1");
    let err = west
        .list_users()
        .aws_account_id(SOURCE)
        .namespace("default")
        .send()
        .await
        .expect_err("wrong region");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(
        err.message().unwrap_or_default().contains("us-east-1"),
        "{:?}",
        err.message()
    );
}

fn dashboard_arn(id: &str) -> String {
    format!("arn:aws:quicksight:us-east-1:{SOURCE}:dashboard/{id}")
}

#[tokio::test]
async fn quotas_and_faults() {
    let emu = emulator().await;
    let ep = emu.endpoint();
    let qs = client(&ep, "us-east-1");

    // 101 ARNs are refused.
    let arns: Vec<String> = (0..101).map(|i| dashboard_arn(&format!("dashboard-{i:04}"))).collect();
    let err = qs
        .start_asset_bundle_export_job()
        .aws_account_id(SOURCE)
        .asset_bundle_export_job_id("too-many")
        .set_resource_arns(Some(arns))
        .export_format(AssetBundleExportFormat::QuicksightJson)
        .send()
        .await
        .expect_err("101 arns");
    assert_eq!(err.code(), Some("InvalidParameterValueException"));

    // An unsupported data source makes the start fail, naming it.
    let bad = format!("arn:aws:quicksight:us-east-1:{SOURCE}:datasource/ds-unsupported-jira");
    let err = qs
        .start_asset_bundle_export_job()
        .aws_account_id(SOURCE)
        .asset_bundle_export_job_id("unsupported")
        .resource_arns(bad.clone())
        .export_format(AssetBundleExportFormat::QuicksightJson)
        .send()
        .await
        .expect_err("unsupported");
    assert_eq!(err.code(), Some("InvalidParameterValueException"));
    assert!(err.message().unwrap_or_default().contains(&bad));

    // A definition error ends the job FAILED with an error naming the asset.
    qs.start_asset_bundle_export_job()
        .aws_account_id(SOURCE)
        .asset_bundle_export_job_id("broken")
        .resource_arns(dashboard_arn("dashboard-0005"))
        .export_format(AssetBundleExportFormat::QuicksightJson)
        .send()
        .await
        .expect("start broken");
    let d = wait_export(&qs, SOURCE, "broken").await;
    assert_eq!(d.job_status(), Some(&AssetBundleExportJobStatus::Failed));
    assert!(d
        .errors()
        .iter()
        .any(|e| e.arn() == Some(dashboard_arn("dashboard-0005").as_str())));

    // The 6th concurrent export is refused while five run.
    admin(
        &ep,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"job_delay_ms": 3000})),
    )
    .await;
    for i in 0..5 {
        qs.start_asset_bundle_export_job()
            .aws_account_id(SOURCE)
            .asset_bundle_export_job_id(format!("slow-{i}"))
            .resource_arns(dashboard_arn("dashboard-0000"))
            .export_format(AssetBundleExportFormat::QuicksightJson)
            .send()
            .await
            .expect("start slow");
    }
    let err = qs
        .start_asset_bundle_export_job()
        .aws_account_id(SOURCE)
        .asset_bundle_export_job_id("sixth")
        .resource_arns(dashboard_arn("dashboard-0000"))
        .export_format(AssetBundleExportFormat::QuicksightJson)
        .send()
        .await
        .expect_err("sixth");
    assert_eq!(err.code(), Some("LimitExceededException"));
    let stats = admin(
        &ep,
        reqwest::Method::GET,
        &format!("/_emulator/stats?account={SOURCE}"),
        None,
    )
    .await;
    assert_eq!(stats["peak_concurrent_export_jobs"], 5);
    let jobs: Vec<_> = qs
        .list_asset_bundle_export_jobs()
        .aws_account_id(SOURCE)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list export jobs");
    assert_eq!(jobs.len(), 6, "five slow jobs and the broken one are listed");
    assert!(jobs
        .iter()
        .any(|j| j.job_status() == Some(&AssetBundleExportJobStatus::Failed)));

    // An expired download URL answers 403; describing again gives a fresh one.
    let d = wait_export(&qs, SOURCE, "slow-0").await;
    let url = d.download_url().expect("url").to_string();
    let expired = admin(&ep, reqwest::Method::POST, "/_emulator/downloads/expire", None).await;
    assert!(expired["expired"].as_u64().unwrap_or(0) >= 1, "{expired}");
    assert_eq!(reqwest::get(&url).await.expect("get").status(), 403);
    let fresh = wait_export(&qs, SOURCE, "slow-0")
        .await
        .download_url()
        .expect("url")
        .to_string();
    assert_eq!(reqwest::get(&fresh).await.expect("get").status(), 200);

    // Throttling answers 429 ThrottlingException and is counted.
    admin(
        &ep,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"throttle": {"ListDashboards": 1.0}})),
    )
    .await;
    let err = qs
        .list_dashboards()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), Some("ThrottlingException"));
    let stats = admin(
        &ep,
        reqwest::Method::GET,
        &format!("/_emulator/stats?account={SOURCE}"),
        None,
    )
    .await;
    assert_eq!(stats["throttled"]["ListDashboards"], 1);
    admin(
        &ep,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({})),
    )
    .await;

    // Unsigned requests are refused as AWS refuses them.
    let r = reqwest::get(format!("{ep}/accounts/{SOURCE}/dashboards"))
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers().get("x-amzn-ErrorType").and_then(|v| v.to_str().ok()),
        Some("MissingAuthenticationTokenException")
    );
}

/// Exports every exportable asset of the small account and imports it into the
/// empty second account, which then lists and describes the same assets.
#[tokio::test]
async fn small_account_round_trip() {
    let emu = emulator().await;
    let qs = client(&emu.endpoint(), "us-east-1");
    let mut roots = Vec::new();
    for d in qs
        .list_dashboards()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect("dashboards")
        .dashboard_summary_list()
    {
        roots.push(d.arn().unwrap_or_default().to_string());
    }
    for a in qs
        .list_analyses()
        .aws_account_id(SOURCE)
        .send()
        .await
        .expect("analyses")
        .analysis_summary_list()
    {
        roots.push(a.arn().unwrap_or_default().to_string());
    }
    let mut exported = std::collections::BTreeSet::new();
    let http = reqwest::Client::new();
    for (i, arn) in roots.iter().enumerate() {
        let id = format!("rt-{i}");
        let started = qs
            .start_asset_bundle_export_job()
            .aws_account_id(SOURCE)
            .asset_bundle_export_job_id(&id)
            .resource_arns(arn)
            .include_all_dependencies(true)
            .export_format(AssetBundleExportFormat::QuicksightJson)
            .send()
            .await;
        if started.is_err() {
            continue; // depends on something QuickSight cannot export
        }
        let d = wait_export(&qs, SOURCE, &id).await;
        let Some(url) = d.download_url() else { continue };
        let bytes = http
            .get(url)
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("body");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
        for n in 0..zip.len() {
            let mut f = zip.by_index(n).expect("member");
            let mut s = String::new();
            f.read_to_string(&mut s).expect("read");
            let name = f.name().expect("member name").into_owned();
            if !name.starts_with("refreshSchedule/") {
                exported.insert(name);
            }
        }
        let imp = format!("imp-{i}");
        qs.start_asset_bundle_import_job()
            .aws_account_id(TARGET)
            .asset_bundle_import_job_id(&imp)
            .asset_bundle_import_source(
                AssetBundleImportSource::builder()
                    .body(aws_smithy_types::Blob::new(bytes.to_vec()))
                    .build(),
            )
            .failure_action(AssetBundleImportFailureAction::Rollback)
            .send()
            .await
            .expect("start import");
        let mut status = None;
        for _ in 0..100 {
            let d = qs
                .describe_asset_bundle_import_job()
                .aws_account_id(TARGET)
                .asset_bundle_import_job_id(&imp)
                .send()
                .await
                .expect("describe import");
            status = d.job_status().cloned();
            if status != Some(AssetBundleImportJobStatus::InProgress)
                && status != Some(AssetBundleImportJobStatus::QueuedForImmediateExecution)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(status, Some(AssetBundleImportJobStatus::Successful), "import {imp}");
    }
    assert!(exported.len() > 20, "exported {} assets", exported.len());
    for member in &exported {
        let (kind, file) = member.split_once('/').expect("member path");
        let id = file.trim_end_matches(".json");
        let ok = match kind {
            "dashboard" => qs
                .describe_dashboard()
                .aws_account_id(TARGET)
                .dashboard_id(id)
                .send()
                .await
                .is_ok(),
            "analysis" => qs
                .describe_analysis()
                .aws_account_id(TARGET)
                .analysis_id(id)
                .send()
                .await
                .is_ok(),
            "dataset" => qs
                .describe_data_set()
                .aws_account_id(TARGET)
                .data_set_id(id)
                .send()
                .await
                .is_ok(),
            "datasource" => qs
                .describe_data_source()
                .aws_account_id(TARGET)
                .data_source_id(id)
                .send()
                .await
                .is_ok(),
            "theme" => qs
                .describe_theme()
                .aws_account_id(TARGET)
                .theme_id(id)
                .send()
                .await
                .is_ok(),
            "vpcConnection" => qs
                .describe_vpc_connection()
                .aws_account_id(TARGET)
                .vpc_connection_id(id)
                .send()
                .await
                .is_ok(),
            other => panic!("unexpected member type {other}"),
        };
        assert!(ok, "{member} is in the target account");
    }
    let target_dashboards = qs
        .list_dashboards()
        .aws_account_id(TARGET)
        .send()
        .await
        .expect("list")
        .dashboard_summary_list()
        .len();
    assert_eq!(
        target_dashboards,
        exported.iter().filter(|m| m.starts_with("dashboard/")).count()
    );
}

fn bundle_of(members: &[(&str, serde_json::Value)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, body) in members {
        zip.start_file(*path, zip::write::SimpleFileOptions::default())
            .expect("member");
        zip.write_all(body.to_string().as_bytes()).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

async fn import_status(qs: &Client, account: &str, id: &str) -> (AssetBundleImportJobStatus, Vec<String>) {
    for _ in 0..100 {
        let d = qs
            .describe_asset_bundle_import_job()
            .aws_account_id(account)
            .asset_bundle_import_job_id(id)
            .send()
            .await
            .expect("describe import");
        match d.job_status() {
            Some(AssetBundleImportJobStatus::InProgress)
            | Some(AssetBundleImportJobStatus::QueuedForImmediateExecution)
            | None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            Some(s) => {
                let errors = d
                    .errors()
                    .iter()
                    .filter_map(|e| e.message().map(str::to_string))
                    .collect();
                return (s.clone(), errors);
            }
        }
    }
    panic!("import job {id} did not finish");
}

#[tokio::test]
async fn namespaces_are_created_and_principals_checked_in_the_identity_region() {
    let emu = emulator().await;
    let qs = client(&emu.endpoint(), "us-east-1");
    let created = qs
        .create_namespace()
        .aws_account_id(TARGET)
        .namespace("analytics")
        .identity_store(aws_sdk_quicksight::types::IdentityStore::Quicksight)
        .send()
        .await
        .expect("create namespace");
    assert_eq!(created.name(), Some("analytics"));
    let again = qs
        .create_namespace()
        .aws_account_id(TARGET)
        .namespace("analytics")
        .identity_store(aws_sdk_quicksight::types::IdentityStore::Quicksight)
        .send()
        .await
        .expect_err("exists");
    assert_eq!(again.code(), Some("ResourceExistsException"));
    let described = qs
        .describe_namespace()
        .aws_account_id(TARGET)
        .namespace("analytics")
        .send()
        .await
        .expect("describe namespace");
    let status = described
        .namespace()
        .and_then(|n| n.creation_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("CREATED"));
    qs.register_user()
        .aws_account_id(TARGET)
        .namespace("analytics")
        .identity_type(IdentityType::Quicksight)
        .email("bo@example.com")
        .user_role(UserRole::Reader)
        .user_name("bo")
        .send()
        .await
        .expect("register user in the new namespace");

    // Assets in another region: their permissions still name identities of the identity region.
    let west = client(&emu.endpoint(), "us-west-2");
    let theme = |principal: &str| {
        serde_json::json!({"resourceType": "theme", "themeId": "t1", "name": "T", "baseThemeId": "CLASSIC",
            "permissions": [{"principal": principal, "actions": ["quicksight:DescribeTheme"]}]})
    };
    let good = format!("arn:aws:quicksight:us-east-1:{TARGET}:user/analytics/bo");
    let bad = format!("arn:aws:quicksight:us-east-1:{TARGET}:user/analytics/nobody");
    for (job, principal, expected) in [
        ("west-bad", &bad, AssetBundleImportJobStatus::FailedRollbackCompleted),
        ("west-good", &good, AssetBundleImportJobStatus::Successful),
    ] {
        west.start_asset_bundle_import_job()
            .aws_account_id(TARGET)
            .asset_bundle_import_job_id(job)
            .asset_bundle_import_source(
                AssetBundleImportSource::builder()
                    .body(aws_smithy_types::Blob::new(bundle_of(&[(
                        "theme/t1.json",
                        theme(principal),
                    )])))
                    .build(),
            )
            .failure_action(AssetBundleImportFailureAction::Rollback)
            .send()
            .await
            .expect("start import");
        let (status, errors) = import_status(&west, TARGET, job).await;
        assert_eq!(status, expected, "{job}: {errors:?}");
    }
    let themes = west
        .describe_theme()
        .aws_account_id(TARGET)
        .theme_id("t1")
        .send()
        .await
        .expect("theme in us-west-2");
    assert!(themes.theme().is_some());
}

/// A rollback that itself fails ends `FAILED_ROLLBACK_ERROR`: what had
/// succeeded stays in the account and `RollbackErrors` names it.
#[tokio::test]
async fn failed_rollback_leaves_what_succeeded() {
    let emu = emulator().await;
    let ep = emu.endpoint();
    let qs = client(&ep, "us-east-1");
    let theme = format!("arn:aws:quicksight:us-east-1:{SOURCE}:theme/theme-000");
    // Without dependencies the dashboard's datasets are missing in the target.
    qs.start_asset_bundle_export_job()
        .aws_account_id(SOURCE)
        .asset_bundle_export_job_id("two")
        .resource_arns(dashboard_arn("dashboard-0000"))
        .resource_arns(&theme)
        .export_format(AssetBundleExportFormat::QuicksightJson)
        .send()
        .await
        .expect("export");
    let url = wait_export(&qs, SOURCE, "two")
        .await
        .download_url()
        .expect("url")
        .to_string();
    let bytes = reqwest::get(&url).await.expect("download").bytes().await.expect("body");
    admin(
        &ep,
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"fail_rollback": 1.0})),
    )
    .await;
    qs.start_asset_bundle_import_job()
        .aws_account_id(TARGET)
        .asset_bundle_import_job_id("rb")
        .asset_bundle_import_source(
            AssetBundleImportSource::builder()
                .body(aws_smithy_types::Blob::new(bytes.to_vec()))
                .build(),
        )
        .failure_action(AssetBundleImportFailureAction::Rollback)
        .send()
        .await
        .expect("import");
    let d = qs
        .describe_asset_bundle_import_job()
        .aws_account_id(TARGET)
        .asset_bundle_import_job_id("rb")
        .send()
        .await
        .expect("describe");
    assert_eq!(d.job_status(), Some(&AssetBundleImportJobStatus::FailedRollbackError));
    assert!(d
        .errors()
        .iter()
        .any(|e| e.arn().is_some_and(|a| a.ends_with("dashboard/dashboard-0000"))));
    assert!(d
        .rollback_errors()
        .iter()
        .any(|e| e.arn().is_some_and(|a| a.ends_with("theme/theme-000"))));
    qs.describe_theme()
        .aws_account_id(TARGET)
        .theme_id("theme-000")
        .send()
        .await
        .expect("the theme stayed");
    let gone = qs
        .describe_dashboard()
        .aws_account_id(TARGET)
        .dashboard_id("dashboard-0000")
        .send()
        .await;
    assert!(gone.is_err(), "the failing dashboard was not created");
}
