//! A backup written by the AWS sample tool — its S3 layout
//! (`quicksight-backups/YYYY/MM/DD/<types>/<types>[_bundle_N]-HHMMSS.zip`) and its
//! `YYYY-MM-DD-<base>` DynamoDB tables, written here by a fixture from a real export — is
//! imported as a snapshot, verifies, and restores into another account.

mod restore_support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use qs_emulator::Profile;
use restore_support::*;
use serde_json::Value;

const DATE: &str = "2026-08-17";
const DAY: &str = "2026/08/17";

fn dynamodb() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(moto())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

fn s(v: &Value) -> Option<AttributeValue> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .map(|s| AttributeValue::S(s.to_string()))
}

/// The sample tool's three tables of `DATE`, hash key only, filled from a default namespace.
async fn write_tables(base: &str, default_ns: &Value) {
    let db = dynamodb();
    let tables = [
        (format!("{DATE}-{base}-users"), "user_name"),
        (format!("{DATE}-{base}-groups"), "group_name"),
        (format!("{DATE}-{base}-memberships"), "membership_id"),
    ];
    for (name, key) in &tables {
        db.create_table()
            .table_name(name)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*key)
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key"),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create table");
    }
    let put = |table: String, item: HashMap<String, AttributeValue>| {
        let db = db.clone();
        async move {
            db.put_item()
                .table_name(table)
                .set_item(Some(item))
                .send()
                .await
                .expect("put item")
        }
    };
    let mut arns = HashMap::new();
    for u in default_ns["users"].as_array().into_iter().flatten() {
        let mut item = HashMap::new();
        for (attr, field) in [
            ("user_name", "user_name"),
            ("arn", "arn"),
            ("email", "email"),
            ("role", "role"),
            ("identity_type", "identity_type"),
            ("principal_id", "principal_id"),
        ] {
            if let Some(v) = s(&u[field]) {
                item.insert(attr.to_string(), v);
            }
        }
        item.insert(
            "active".into(),
            AttributeValue::Bool(u["active"].as_bool().unwrap_or(true)),
        );
        item.insert("backup_timestamp".into(), AttributeValue::S(format!("{DATE}T01:02:03")));
        arns.insert(
            u["user_name"].as_str().unwrap_or_default().to_string(),
            u["arn"].clone(),
        );
        put(tables[0].0.clone(), item).await;
    }
    for g in default_ns["groups"].as_array().into_iter().flatten() {
        let name = g["group_name"].as_str().unwrap_or_default();
        let members: Vec<AttributeValue> = g["members"].as_array().into_iter().flatten().filter_map(s).collect();
        let mut item = HashMap::new();
        item.insert("group_name".to_string(), AttributeValue::S(name.into()));
        item.insert("arn".to_string(), s(&g["arn"]).unwrap_or(AttributeValue::S("-".into())));
        item.insert("members".to_string(), AttributeValue::L(members));
        if let Some(d) = s(&g["description"]) {
            item.insert("description".to_string(), d);
        }
        put(tables[1].0.clone(), item).await;
        for m in g["members"].as_array().into_iter().flatten() {
            let user = m.as_str().unwrap_or_default();
            let mut item = HashMap::new();
            item.insert("membership_id".to_string(), AttributeValue::S(format!("{user}#{name}")));
            item.insert("user_name".to_string(), AttributeValue::S(user.into()));
            item.insert("group_name".to_string(), AttributeValue::S(name.into()));
            if let Some(a) = arns.get(user).and_then(s) {
                item.insert("user_arn".to_string(), a);
            }
            put(tables[2].0.clone(), item).await;
        }
    }
}

/// The sample tool's plural type folders.
fn plural(t: &str) -> &str {
    match t {
        "datasource" => "datasources",
        "dataset" => "datasets",
        "analysis" => "analyses",
        "dashboard" => "dashboards",
        "theme" => "themes",
        "folder" => "folders",
        _ => "vpc_connections",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_tool_backup_imports_verifies_and_restores() {
    let emu = emulator(Profile::Small, 13).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // A real export, to be laid out as the sample tool would have stored it.
    let export_repo = dir.path().join("export").to_string_lossy().to_string();
    let export_cfg = config(dir.path(), "export.yaml", SOURCE, REGION, &export_repo);
    backup(&emu, &export_cfg).await;
    let (repo, manifest, members) = latest(&export_repo).await;
    let identities = identities(&repo, &manifest).await;

    let bucket = bucket("legacy").await;
    let http = reqwest::Client::new();
    let mut per_type: HashMap<&str, usize> = HashMap::new();
    for (i, b) in manifest.bundles.iter().enumerate() {
        let t = plural(b.asset_type.as_str());
        let n = per_type.entry(t).or_default();
        *n += 1;
        let key = format!(
            "quicksight-backups/{DAY}/{t}/{t}_bundle_{n}-0{}0{}00.zip",
            i % 10,
            i % 6
        );
        let body = repo.get(&b.key).await.expect("bundle");
        let resp = http
            .put(format!("{}/{bucket}/{key}", moto()))
            .body(body.to_vec())
            .send()
            .await
            .expect("put");
        assert!(resp.status().is_success(), "{key}: {}", resp.status());
    }
    let base = format!("qs-{}", bucket.rsplit('-').next().unwrap_or("x"));
    let default_ns = identities["namespaces"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == "default"))
        .expect("default namespace")
        .clone();
    write_tables(&base, &default_ns).await;

    let cfg = dir.path().join("legacy.yaml");
    std::fs::write(
        &cfg,
        format!(
            "aws:\n  account_id: \"{SOURCE}\"\n  region: {REGION}\ns3:\n  bucket_name: {bucket}\n  prefix: quicksight-backups\n\
             dynamodb:\n  users_table_name: {base}-users\n  groups_table_name: {base}-groups\n  users_group_table_name: {base}-memberships\n"
        ),
    )
    .expect("config");
    let cfg_arg = cfg.to_string_lossy().to_string();

    let out = run(qsbackup(
        &emu,
        &["--config", &cfg_arg, "--json", "import-legacy", "--date", DATE],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let imported = stdout_json(&out);
    let id = imported["snapshot_id"].as_str().expect("snapshot id").to_string();
    assert_eq!(imported["bundles"].as_u64(), Some(manifest.bundles.len() as u64));
    assert!(
        imported["identities"].is_object(),
        "the tables became the snapshot's identities"
    );
    let again = run(qsbackup(&emu, &["--config", &cfg_arg, "import-legacy", "--date", DATE])).await;
    assert_eq!(again.status.code(), Some(1), "a second import of the day is refused");
    assert!(stderr(&again).contains(&id), "{}", stderr(&again));

    let verify = run(qsbackup(&emu, &["--config", &cfg_arg, "verify", &id])).await;
    assert_eq!(verify.status.code(), Some(0), "verify: {}", stderr(&verify));
    let listed = run(qsbackup(&emu, &["--config", &cfg_arg, "snapshots"])).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));

    let overrides = dir.path().join("overrides.yaml");
    std::fs::write(
        &overrides,
        format!("iam_roles: {{QuickSightRole: \"arn:aws:iam::{TARGET}:role/QuickSightRole\"}}\n"),
    )
    .expect("overrides");
    let ovr = overrides.to_string_lossy().to_string();
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "--json",
            "restore",
            "--snapshot",
            &id,
            "--target-account",
            TARGET,
            "--overrides",
            &ovr,
            "--yes",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(
        report["summary"]["restored"].as_u64(),
        Some(members.assets.len() as u64)
    );
    let summary = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;
    let assets: u64 = summary["assets"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    assert_eq!(assets, members.assets.len() as u64, "{summary}");
    let active_quicksight_users = default_ns["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["identity_type"] != "IAM_IDENTITY_CENTER" && u["active"] == true)
        .count() as u64;
    assert_eq!(summary["users"].as_u64(), Some(active_quicksight_users), "{summary}");
}
