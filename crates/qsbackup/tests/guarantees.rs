//! The repository's safety guarantees (docs/guarantees.md), through the binary against an
//! emulated account: a run that stored nothing is not a snapshot and cannot push the last good
//! one out of retention; `latest` is the newest snapshot or an error; read-only commands never
//! create a repository.

mod repo_support;

use repo_support::*;
use reqwest::Method;
use serde_json::json;
use std::path::Path;

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

async fn every_download_fails(env: &Env) {
    env.admin(
        Method::PUT,
        "/_emulator/faults",
        Some(json!({"drop_download": 1.0, "url_ttl_seconds": 0})),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_stores_nothing_commits_no_snapshot_and_retention_keeps_the_good_one() {
    let env = setup(0, 20).await;
    let good = env.backup().await;
    let good_id = good["snapshot_id"].as_str().expect("id").to_string();
    let good_bundles: Vec<String> = env.manifest(&good_id)["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_string())
        .collect();
    assert!(!good_bundles.is_empty());

    every_download_fails(&env).await;
    for _ in 0..2 {
        let out = env.run(&["backup"]).await;
        assert_eq!(code(&out), Some(1), "a run that stored nothing fails: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("nothing was stored"), "{err}");
        assert!(err.contains("download_failed"), "the reason is named: {err}");
        assert!(err.contains("no snapshot was committed"), "{err}");
    }
    assert_eq!(
        env.snapshot_ids().await,
        vec![good_id.clone()],
        "no snapshot of nothing"
    );

    let out = env.run(&["forget", "--keep-last", "2", "--prune"]).await;
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(env.snapshot_ids().await, vec![good_id.clone()]);
    for key in &good_bundles {
        assert!(
            env.object(key).exists(),
            "the good snapshot's bundle {key} survived prune"
        );
    }
    let (out, doc) = env.verify_all().await;
    assert_eq!(code(&out), Some(0), "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_only_run_whose_identities_fail_is_not_a_snapshot() {
    let env = setup(0, 20).await;
    // Identities are read in the identity region; an emulated account answers only in its own.
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config).expect("config").replace(
            "  region: us-east-1\n",
            "  region: us-east-1\n  identity_region: eu-west-1\n",
        ),
    )
    .expect("config");
    let out = env.run(&["backup", "--mode", "users-only"]).await;
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing was stored"), "{}", stderr(&out));
    assert!(env.snapshot_ids().await.is_empty());
}

/// Ways a manifest stops being readable, as a damaged disk or a careless edit leaves it.
fn corruptions(original: &str) -> Vec<(&'static str, String)> {
    let doc: serde_json::Value = serde_json::from_str(original).expect("manifest JSON");
    let without = |field: &str| {
        let mut d = doc.clone();
        d.as_object_mut().expect("object").remove(field);
        d.to_string()
    };
    let with = |field: &str, value: serde_json::Value| {
        let mut d = doc.clone();
        d[field] = value;
        d.to_string()
    };
    let mut negative = doc.clone();
    negative["bundles"][0]["size"] = json!(-1);
    vec![
        ("not JSON", "{\"id\": ".to_string()),
        ("empty", String::new()),
        ("no id", without("id")),
        ("no bundles", without("bundles")),
        ("bad status", with("status", json!("great"))),
        ("negative size", negative.to_string()),
        ("another snapshot's id", with("id", json!("20000101T000000Z-000000"))),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_is_the_newest_snapshot_or_an_error() {
    let env = setup(0, 20).await;
    let older = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    let newest = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    assert!(older < newest);
    let key = format!("snapshots/{newest}.json");
    let path = env.object(&key);
    let original = std::fs::read_to_string(&path).expect("manifest");

    for (what, text) in corruptions(&original) {
        std::fs::write(&path, &text).expect("corrupt");
        for args in [
            vec!["show", "latest"],
            vec!["restore", "--snapshot", "latest", "--dry-run"],
            vec!["verify"],
            vec!["diff", &older, "latest"],
        ] {
            let out = env.run(&args).await;
            let err = stderr(&out);
            assert_eq!(code(&out), Some(1), "{what}: {args:?} must fail: {err}");
            assert!(err.contains(&key), "{what}: {args:?} names the manifest: {err}");
            assert!(err.contains("verify --all"), "{what}: {args:?} suggests verify: {err}");
            assert!(
                !stdout(&out).contains(&older),
                "{what}: {args:?} used the older snapshot: {}",
                stdout(&out)
            );
        }
        let out = env.run(&["snapshots"]).await;
        assert_ne!(code(&out), Some(0), "{what}: snapshots must not be green");
        assert!(
            stderr(&out).contains(&key),
            "{what}: snapshots lists it: {}",
            stderr(&out)
        );
        // An explicit id still works: the way out the error suggests.
        let out = env.run(&["show", &older]).await;
        assert_eq!(code(&out), Some(0), "{what}: {}", stderr(&out));
    }

    std::fs::write(&path, &original).expect("repair");
    let out = env.run(&["show", "latest"]).await;
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&newest));
}

fn assert_missing_repository(out: &std::process::Output, path: &Path, what: &str) {
    let err = stderr(out);
    assert_eq!(
        code(out),
        Some(3),
        "{what}: a missing repository is a usage error: {err}"
    );
    assert!(
        err.contains(&path.display().to_string()) && err.contains("no repository"),
        "{what}: the error names the path: {err}"
    );
    assert!(!path.exists(), "{what} created {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_never_create_a_repository() {
    let env = setup(0, 20).await;
    let missing = env.dir.path().join("mistyped").join("repo");
    let url = missing.display().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["snapshots"],
        vec!["show", "latest"],
        vec!["verify", "--all"],
        vec!["verify"],
        vec!["diff", "a", "b"],
        vec!["forget", "--keep-last", "1"],
        vec!["forget", "--keep-last", "1", "--prune"],
        vec!["unlock"],
        vec!["drills"],
        vec!["log", "dashboard/d1"],
        vec!["report", "--html", "report.html"],
    ];
    for args in &commands {
        let mut all = args.clone();
        all.extend(["-r", url.as_str()]);
        let out = env.run(&all).await;
        assert_missing_repository(&out, &missing, &format!("{args:?} -r"));
    }
    // The same through the config's `repository:`, and the commands that take only a config.
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config)
            .expect("config")
            .replace(&env.repo.display().to_string(), &url),
    )
    .expect("config");
    for args in commands.iter().chain([
        &vec!["restore", "--snapshot", "latest", "--dry-run"],
        &vec!["import-legacy", "--date", "2026-11-28"],
        &vec!["cost", "--snapshot", "latest"],
        &vec!["drill", "latest", "--target-account", "210987654321"],
    ]) {
        let out = env.run(args).await;
        assert_missing_repository(&out, &missing, &format!("{args:?}"));
    }
    // A dry run writes nothing either, and says the backup would create it.
    let out = env.run(&["backup", "--dry-run"]).await;
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("does not exist yet"), "{}", stdout(&out));
    assert!(!missing.exists());
    // Only a backup creates a repository, and it says so.
    let out = env.run(&["backup"]).await;
    assert!(matches!(code(&out), Some(0) | Some(2)), "{}", stderr(&out));
    assert!(stderr(&out).contains("Created a new repository at"), "{}", stderr(&out));
    assert!(missing.join("snapshots").is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_a_repository_without_snapshots_is_not_green() {
    let env = setup(0, 20).await;
    std::fs::create_dir_all(&env.repo).expect("empty repository directory");
    let out = env.run(&["verify", "--all"]).await;
    assert_eq!(code(&out), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("holds no snapshot"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("No problems found"), "{}", stdout(&out));
}
