//! The repository commands on real backups of an emulated account: verify catches a flipped
//! byte and a deleted bundle by key, diff shows exactly an edit and a deletion made through the
//! emulator's admin API, forget --prune keeps what the policy says and deletes only what no
//! kept snapshot needs, and a held lock makes backup exit 4 until unlock removes it.

mod repo_support;

use repo_support::*;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

fn problems(doc: &Value) -> Vec<(String, String)> {
    doc["report"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap_or_default().to_string(),
                p["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_flipped_byte_and_a_deleted_bundle() {
    let env = setup(0, 20).await;
    let snap = env.backup().await;
    let id = snap["snapshot_id"].as_str().expect("id").to_string();
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["ok"], true);

    let manifest = env.manifest(&id);
    let bundles: Vec<String> = manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_string())
        .collect();
    assert!(bundles.len() >= 2, "{bundles:?}");
    let (flipped, deleted) = (&bundles[0], &bundles[1]);

    let path = env.object(flipped);
    let mut bytes = std::fs::read(&path).expect("bundle");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&path, bytes).expect("tamper");
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        problems(&doc).contains(&(flipped.clone(), "checksum_mismatch".into())),
        "{doc}"
    );
    assert!(
        problems(&doc).iter().all(|(k, _)| k == flipped),
        "only the flipped bundle: {doc}"
    );
    let text = env.run(&["verify", &id]).await;
    assert_eq!(text.status.code(), Some(1));
    assert!(
        stderr(&text).contains(flipped.as_str()),
        "the error names the key: {}",
        stderr(&text)
    );

    std::fs::remove_file(env.object(deleted)).expect("delete bundle");
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(1));
    assert!(problems(&doc).contains(&(deleted.clone(), "missing".into())), "{doc}");
    let err = stderr(&out);
    assert!(
        err.contains(deleted.as_str()) && err.contains(flipped.as_str()),
        "{err}"
    );
}

/// A dataset that nothing else exports as a dependency and no folder holds, so deleting it
/// changes only itself (and its refresh schedules).
fn lonely_dataset(env: &Env, manifest: &Value) -> String {
    let bundles = manifest["bundles"].as_array().expect("bundles");
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    let mut used_elsewhere: BTreeSet<String> = BTreeSet::new();
    for b in bundles {
        for m in b["members"].as_array().expect("members") {
            if m["type"] == "dataset" {
                let id = m["id"].as_str().expect("id").to_string();
                if b["asset_type"] == "dataset" {
                    candidates.insert(id);
                } else {
                    used_elsewhere.insert(id);
                }
            }
        }
    }
    let account = read_json(&env.object(manifest["account"]["key"].as_str().expect("account key")));
    let folders = account["folders"].to_string();
    candidates
        .into_iter()
        .find(|id| !used_elsewhere.contains(id) && !folders.contains(&format!("dataset/{id}\"")))
        .expect("a dataset without dependents")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_shows_exactly_an_edited_dashboard_and_a_deleted_dataset() {
    // Every dataset of the small account is a dependency of some dashboard; exported with its
    // dependencies, deleting one would also make those dashboards fail. Without them each
    // bundle holds only its own assets, so the deletion touches nothing else.
    let env = setup_with(0, 25, "  include_dependencies: false\n").await;
    let first = env.backup().await;
    let a = first["snapshot_id"].as_str().expect("id").to_string();
    let manifest = env.manifest(&a);
    let dashboard = manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .filter(|b| b["asset_type"] == "dashboard")
        .flat_map(|b| b["members"].as_array().expect("members").iter())
        .find(|m| m["type"] == "dashboard")
        .and_then(|m| m["id"].as_str())
        .expect("a backed-up dashboard")
        .to_string();
    let dataset = lonely_dataset(&env, &manifest);

    env.admin(
        Method::PATCH,
        &format!("/_emulator/accounts/{ACCOUNT}/assets/dashboard/{dashboard}"),
        Some(serde_json::json!({"name": "Renamed by the diff test"})),
    )
    .await;
    env.admin(
        Method::DELETE,
        &format!("/_emulator/accounts/{ACCOUNT}/assets/dataset/{dataset}"),
        None,
    )
    .await;
    let second = env.backup().await;
    let b = second["snapshot_id"].as_str().expect("id").to_string();

    let (out, d) = env.json(&["diff", &a, &b]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let assets = d["assets"].as_object().expect("assets");
    let types: BTreeSet<&str> = assets.keys().map(String::as_str).collect();
    assert!(
        types == BTreeSet::from(["dashboard", "dataset"])
            || types == BTreeSet::from(["dashboard", "dataset", "refreshSchedule"]),
        "{d:#}"
    );
    let dash = &assets["dashboard"];
    assert_eq!(dash["added"], serde_json::json!([]));
    assert_eq!(dash["removed"], serde_json::json!([]));
    let changed = dash["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1, "{d:#}");
    assert_eq!(changed[0]["id"], dashboard.as_str());
    assert_eq!(changed[0]["name"], "Renamed by the diff test");
    assert_eq!(changed[0]["fields"], serde_json::json!(["name"]));
    let ds = &assets["dataset"];
    assert_eq!(ds["added"], serde_json::json!([]));
    assert_eq!(ds["changed"], serde_json::json!([]));
    let removed: Vec<&str> = ds["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(removed, vec![dataset.as_str()]);
    if let Some(rs) = assets.get("refreshSchedule") {
        assert_eq!(rs["added"], serde_json::json!([]));
        assert_eq!(rs["changed"], serde_json::json!([]));
        for s in rs["removed"].as_array().expect("removed schedules") {
            assert_eq!(
                s["data_set_id"],
                dataset.as_str(),
                "only the deleted dataset's schedules: {d:#}"
            );
        }
    }
    assert_eq!(d["unavailable"], serde_json::json!([]), "{d:#}");
    let ids = &d["identities"];
    for k in [
        "users_added",
        "users_removed",
        "role_changes",
        "groups_added",
        "memberships_added",
        "memberships_removed",
    ] {
        assert_eq!(ids[k], serde_json::json!([]), "{k}: {d:#}");
    }
    assert_eq!(d["account"]["changed"], serde_json::json!([]), "{d:#}");

    let text = env.run(&["diff", &a, "latest"]).await;
    assert_eq!(text.status.code(), Some(0));
    let shown = stdout(&text);
    assert!(shown.contains(&format!("- {dataset}")), "{shown}");
    assert!(shown.contains("\"Renamed by the diff test\""), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_keeps_by_policy_and_prune_deletes_only_unreferenced_objects() {
    let env = setup(0, 40).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(env.backup().await["snapshot_id"].as_str().expect("id").to_string());
    }
    let oldest = env.manifest(&ids[0]);
    let oldest_bundles: Vec<String> = oldest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_string())
        .collect();

    let (out, dry) = env.json(&["forget", "--keep-last", "1", "--prune", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(dry["removed_snapshot_ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(env.snapshot_ids().await.len(), 3, "a dry run removes nothing");
    let would: Vec<&str> = dry["prune"]["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    for key in &oldest_bundles {
        assert!(would.contains(&key.as_str()), "the dry run lists {key}: {would:?}");
        assert!(env.object(key).exists());
    }

    let (out, doc) = env
        .json(&["forget", "--keep-last", "1", "--prune", "--safety-margin", "0s"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let removed: BTreeSet<&str> = doc["removed_snapshot_ids"]
        .as_array()
        .expect("removed")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(removed, BTreeSet::from([ids[0].as_str(), ids[1].as_str()]));
    let kept = &doc["groups"][0]["keep"];
    assert_eq!(kept[0]["snapshot_id"], ids[2].as_str());
    assert_eq!(kept[0]["reasons"], serde_json::json!(["last"]));
    let deleted: BTreeSet<&str> = doc["prune"]["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    for key in &oldest_bundles {
        assert!(
            deleted.contains(key.as_str()),
            "{key} of a forgotten snapshot is deleted"
        );
        assert!(!env.object(key).exists());
    }
    assert!(deleted.contains(format!("identities/{}.json", ids[0]).as_str()));
    assert_eq!(env.snapshot_ids().await, vec![ids[2].clone()]);
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(0), "the kept snapshot is whole: {doc}");

    let out = env.run(&["forget"]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "no policy is a usage error: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_exits_4_naming_its_holder_until_unlock_removes_it() {
    let env = setup(0, 50).await;
    env.backup().await;
    // A live lock of a run on another host (expiry far ahead), and a stale leftover.
    let now = chrono::Utc::now();
    let lock = serde_json::json!({
        "generation": 90, "token": "t", "purpose": "backup", "host": "ops-runner-7", "pid": 4242,
        "started_at": now, "renewed_at": now, "expires_at": now + chrono::TimeDelta::hours(1),
        "released": false, "tool_version": "0.1.0"
    });
    std::fs::create_dir_all(env.object("locks")).expect("locks dir");
    std::fs::write(env.object("locks/00000000000000000090.json"), lock.to_string()).expect("lock");

    let out = env.run(&["backup"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ops-runner-7") && err.contains("pid 4242") && err.contains("started"),
        "{err}"
    );

    let (out, doc) = env.json(&["unlock"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        doc["removed"],
        serde_json::json!([]),
        "a live lock stays without --force"
    );
    assert_eq!(doc["live"]["info"]["host"], "ops-runner-7");
    let out = env.run(&["forget", "--keep-last", "5", "--prune"]).await;
    assert_eq!(out.status.code(), Some(4), "forget --prune takes the lock too");

    let (out, doc) = env.json(&["unlock", "--force"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["removed"][0]["info"]["pid"], 4242);
    env.backup().await;
    assert_eq!(env.snapshot_ids().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_lease_of_the_account_keeps_a_second_team_out() {
    let moto = std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests through scripts/test, which starts a moto server")
    });
    let env = setup(0, 50).await;
    let table = format!("qsb-team-locks-{}", std::process::id());
    let mut text = std::fs::read_to_string(&env.config).expect("config");
    text.push_str(&format!("lock:\n  dynamodb_table: {table}\n"));
    std::fs::write(&env.config, text).expect("config");

    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
        ))
        .endpoint_url(moto)
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    // Another team's run of the same account, into another repository.
    let other = qsbackup_core::repository::lock::dynamodb::acquire(
        &client,
        &table,
        &format!("qsbackup/quicksight-account/{ACCOUNT}"),
        qsbackup_core::repository::lock::LockPurpose::Backup,
        std::time::Duration::ZERO,
        &Default::default(),
    )
    .await
    .expect("the other team's lease");
    let out = env.run(&["backup"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains(&table), "{}", stderr(&out));
    assert!(env.snapshot_ids().await.is_empty());
    other.release().await.expect("release");
    env.backup().await;
    assert_eq!(env.snapshot_ids().await.len(), 1);
}

/// A snapshot reference that names no snapshot is the user's mistake, whichever command takes
/// it: exit 3 with the reference named, never a failure (exit 1) that reads like a broken
/// repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_reference_that_names_nothing_is_a_usage_error_in_every_command() {
    let env = setup(0, 10).await;
    let id = env.backup().await["snapshot_id"]
        .as_str()
        .expect("snapshot id")
        .to_string();
    let bad = "29991231T000000Z-ffffff";
    let commands: [&[&str]; 6] = [
        &["show", bad],
        &["verify", bad],
        &["diff", bad, &id],
        &["dump", bad, "dashboard/x"],
        &["restore", bad, "--dry-run"],
        &["cost", "--snapshot", bad],
    ];
    for args in commands {
        let out = env.run(args).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains(bad), "{args:?} names the reference: {err}");
    }
}
