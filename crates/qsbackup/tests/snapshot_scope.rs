//! What a snapshot covered, for an auditor: a backup of two asset types records its scope, host,
//! tool version, schema and the caller's ARN (from STS, served by moto), `snapshots` and `show`
//! call it a partial scope, and the report counts identities instead of giving bytes. An STS
//! endpoint that refuses connections costs the backup nothing but a note.

mod repo_support;

use repo_support::*;
use std::process::Output;
use std::time::{Duration, Instant};

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests through scripts/test, which starts a moto server")
    })
}

/// `qsbackup backup --json` with STS at `sts`; the output and the committed manifest.
async fn backup_with_sts(env: &Env, sts: &str) -> (Output, serde_json::Value) {
    let out = env
        .command(&["backup", "--json"])
        .env("AWS_ENDPOINT_URL_STS", sts)
        .output()
        .await
        .expect("run qsbackup");
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "backup failed: {:?}\n{}",
        out.status,
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let id = doc["snapshot_id"].as_str().expect("snapshot id").to_string();
    (out, env.manifest(&id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_type_backup_records_its_scope_and_caller_and_says_partial_scope() {
    let env = setup_with(0, 25, "  asset_types: [datasource, theme]\n  include_tags: false\n").await;
    let (out, manifest) = backup_with_sts(&env, &moto()).await;
    let id = manifest["id"].as_str().expect("id").to_string();

    let scope = &manifest["scope"];
    assert_eq!(
        scope["asset_types"],
        serde_json::json!(["datasource", "theme"]),
        "{manifest}"
    );
    assert_eq!(scope["mode"], "full");
    assert_eq!(scope["include_tags"], false);
    assert_eq!(scope["include_permissions"], true);
    assert_eq!(scope["include_dependencies"], true);
    assert_eq!(manifest["schema"], 1);
    assert!(!manifest["tool_version"].as_str().unwrap_or_default().is_empty());
    assert!(!manifest["host"].as_str().unwrap_or_default().is_empty(), "{manifest}");
    assert_eq!(
        manifest["caller_arn"], "arn:aws:sts::123456789012:user/moto",
        "moto's GetCallerIdentity: {manifest}"
    );
    let counts = manifest["identity_counts"].as_array().expect("identity counts");
    assert!(counts.iter().any(|c| c["namespace"] == "default"), "{manifest}");
    let users: u64 = counts.iter().map(|c| c["users"].as_u64().expect("users")).sum();
    assert!(users > 0, "{manifest}");

    // The text report (on stdout, without --json) of the same account counts identities and
    // names the caller.
    assert!(!stdout(&out).contains("Identities:"), "--json prints the document only");
    let text_run = env
        .command(&["backup"])
        .env("AWS_ENDPOINT_URL_STS", moto())
        .output()
        .await
        .expect("run qsbackup");
    let report = stdout(&text_run);
    let line = report
        .lines()
        .find(|l| l.starts_with("Identities:"))
        .unwrap_or_else(|| panic!("no identities line:\n{report}"));
    assert!(
        line.contains(&format!("{users} users")) && line.contains("groups") && line.contains("memberships"),
        "{line}"
    );
    assert!(!line.contains("bytes"), "{line}");
    assert!(
        report.contains("partial scope (no dataset, analysis, dashboard"),
        "{report}"
    );
    assert!(report.contains("arn:aws:sts::123456789012:user/moto"), "{report}");

    let list = env.run(&["snapshots"]).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let row = stdout(&list)
        .lines()
        .find(|l| l.starts_with(&id))
        .map(str::to_string)
        .expect("the snapshot's row");
    assert!(
        row.contains("partial scope: no dataset, analysis, dashboard, vpcConnection, folder; include_tags off"),
        "{row}"
    );
    let (_, listed) = env.json(&["snapshots"]).await;
    assert_eq!(listed["snapshots"][0]["partial_scope"], true, "{listed}");

    let show = env.run(&["show", &id]).await;
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let text = stdout(&show);
    assert!(
        text.contains("Scope      partial scope (no dataset, analysis"),
        "{text}"
    );
    assert!(
        text.contains("Caller     arn:aws:sts::123456789012:user/moto"),
        "{text}"
    );
    assert!(text.contains("manifest schema 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_scope_snapshot_is_not_called_partial() {
    let env = setup(0, 25).await;
    let (_, manifest) = backup_with_sts(&env, &moto()).await;
    let id = manifest["id"].as_str().expect("id").to_string();
    assert_eq!(manifest["scope"]["asset_types"].as_array().map(Vec::len), Some(7));
    let show = stdout(&env.run(&["show", &id]).await);
    assert!(show.contains("Scope      full"), "{show}");
    assert!(!stdout(&env.run(&["snapshots"]).await).contains("partial scope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sts_that_refuses_connections_leaves_a_note_not_a_failure() {
    // A port that was free a moment ago: nothing listens there, so connections are refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let env = setup(0, 25).await;
    let started = Instant::now();
    let (out, manifest) = backup_with_sts(&env, &format!("http://127.0.0.1:{closed}")).await;
    // STS is asked once with a short limit (2 s to connect, 5 s per call) beside the export.
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    assert!(manifest.get("caller_arn").is_none(), "{manifest}");
    let notes = manifest["notes"].to_string();
    assert!(notes.contains("the caller identity is not recorded"), "{notes}");
    let report = format!("{}{}", stdout(&out), stderr(&out));
    assert!(report.contains("the caller identity is not recorded"), "{report}");
    let show = stdout(&env.run(&["show", "latest"]).await);
    assert!(show.contains("Caller     not recorded"), "{show}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sts_that_never_answers_is_given_up_within_seconds() {
    // Accepts connections (the kernel's backlog) and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let env = setup(0, 25).await;
    let quiet = Instant::now();
    let (_, manifest) = backup_with_sts(&env, &format!("http://127.0.0.1:{port}")).await;
    let with_silent_sts = quiet.elapsed();
    drop(listener);
    assert!(manifest.get("caller_arn").is_none(), "{manifest}");
    assert!(
        manifest["notes"]
            .to_string()
            .contains("the caller identity is not recorded"),
        "{manifest}"
    );
    // The call's own limit (5 s) bounds the wait, not the SDK's defaults (minutes).
    assert!(with_silent_sts < Duration::from_secs(60), "{with_silent_sts:?}");
}

#[test]
fn manifests_written_before_the_scope_was_recorded_still_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("snapshots")).expect("mkdir");
    let id = "20261128T072100Z-abcdef";
    let old = serde_json::json!({
        "schema": 1, "id": id,
        "started_at": "2026-11-28T07:21:00Z", "finished_at": "2026-11-28T07:22:00Z",
        "tool_version": "0.1.0", "account_id": "123456789012", "region": "us-east-1",
        "identity_region": "us-east-1", "mode": "full", "status": "complete",
        "export_format": "QUICKSIGHT_JSON", "include_dependencies": true,
        "bundles": [], "skipped": [], "failed": [], "identities": null, "account": null, "notes": []
    });
    std::fs::write(repo.join(format!("snapshots/{id}.json")), old.to_string()).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
        .args(["show", id, "--no-progress", "--repository"])
        .arg(&repo)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Scope      not recorded"), "{text}");
    assert!(text.contains("Caller     not recorded"), "{text}");
}
