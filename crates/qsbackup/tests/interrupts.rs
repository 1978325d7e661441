//! SIGINT and SIGTERM: a backup interrupted while its export jobs run stops, releases the
//! repository lock, commits nothing, says in one line what it kept, and exits 130 (SIGINT) or
//! 143 (SIGTERM); the next backup resumes what it kept and commits. A restore interrupted while
//! an import job runs starts no further job, releases the lock and exits 130. The signal is sent
//! at a point of progress (a started job in the journal, a started import job in the
//! emulator's figures), not after a time.

mod repo_support;

use repo_support::*;
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::process::Child;

/// Whether the running backup's journal records an export job QuickSight accepted.
fn journal_has_started_job(env: &Env) -> bool {
    keys_under(&env.repo, "journal").iter().any(|k| {
        let file = k.rsplit('/').next().unwrap_or_default();
        file.starts_with("job-") && file.ends_with(".json")
    })
}

/// Waits for `ready`, failing if the child ends first; bounded by the child's own progress.
async fn wait_for(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            child.try_wait().expect("child status").is_none(),
            "the command ended before {what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress towards {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn send(child: &Child, signal: &str) {
    let pid = child.id().expect("child pid").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Every lock object of the repository (object_store staging files excluded).
fn lock_objects(env: &Env) -> Vec<serde_json::Value> {
    keys_under(&env.repo, "locks")
        .into_iter()
        .filter(|k| k.ends_with(".json") && !k.contains('#'))
        .map(|k| read_json(&env.object(&k)))
        .collect()
}

fn assert_locks_released(env: &Env, out: &Output) {
    // A released lock leaves no object (or, from versions before shared locks, a released one).
    let locks = lock_objects(env);
    for lock in &locks {
        assert_eq!(lock["released"], true, "lock left behind: {lock}\n{}", stderr(out));
    }
}

/// The one line the interrupted command prints about it.
fn interrupt_line(out: &Output, signal: &str) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("interrupted")).collect();
    assert_eq!(lines.len(), 1, "one line says what happened:\n{err}");
    assert!(lines[0].contains(&format!("interrupted by {signal}")), "{err}");
    lines[0].to_string()
}

async fn backup_interrupted_by(signal: &str, name: &str, code: i32) {
    // Jobs that take seconds: the run is still waiting for them when the signal comes.
    let env = setup(3000, 4).await;
    let mut child = env.spawn(&["backup"]);
    wait_for(&mut child, "an export job was journaled", || {
        journal_has_started_job(&env)
    })
    .await;
    send(&child, signal);
    let out = child.wait_with_output().await.expect("wait for the interrupted backup");

    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    let line = interrupt_line(&out, name);
    assert!(line.contains("next backup"), "says the next run resumes: {line}");
    assert_locks_released(&env, &out);
    assert!(
        env.snapshot_ids().await.is_empty(),
        "no snapshot of the interrupted run"
    );
    assert!(
        !keys_under(&env.repo, "journal").is_empty(),
        "the journal stays for the next run"
    );

    let resumed = env.backup().await;
    let notes = resumed["notes"].to_string();
    assert!(
        notes.contains("resumed crashed run"),
        "the next backup resumes: {notes}"
    );
    assert_eq!(env.snapshot_ids().await.len(), 1, "the next backup commits");
    let left: Vec<String> = keys_under(&env.repo, "journal")
        .into_iter()
        .filter(|k| !k.contains('#'))
        .collect();
    assert!(left.is_empty(), "journals go once resumed: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_a_backup_releases_the_lock_exits_130_and_the_next_run_resumes() {
    backup_interrupted_by("-INT", "SIGINT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_backup_releases_the_lock_exits_143_and_the_next_run_resumes() {
    backup_interrupted_by("-TERM", "SIGTERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_restore_starts_no_further_import_job_and_releases_the_lock() {
    let env = setup(0, 4).await;
    let snapshot = env.backup().await;
    assert!(snapshot["bundles"].as_u64().unwrap_or(0) > 1, "{snapshot}");
    // Slow import jobs, one at a time: the restore has jobs left to start when it is stopped.
    env.admin(
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"job_delay_ms": 3000})),
    )
    .await;
    env.reset_stats().await;
    let plan_file = env.dir.path().join("plan.json");
    let mut child = env.spawn(&[
        "restore",
        "--snapshot",
        "latest",
        "--prefix",
        "r-",
        "--no-identities",
        "--failure-action",
        "do-nothing",
        "--yes",
        "--json",
        "--plan-out",
        plan_file.to_str().expect("utf-8 path"),
    ]);
    let begin = Instant::now();
    while env.stats().await["import_jobs_started"].as_u64().unwrap_or(0) == 0 {
        assert!(child.try_wait().expect("status").is_none(), "the restore ended first");
        assert!(begin.elapsed() < Duration::from_secs(120), "no import job started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send(&child, "-INT");
    let out = child
        .wait_with_output()
        .await
        .expect("wait for the interrupted restore");
    assert_eq!(out.status.code(), Some(130), "{}\n{}", stdout(&out), stderr(&out));
    interrupt_line(&out, "SIGINT");
    assert_locks_released(&env, &out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert_eq!(report["interrupted"], true, "{report}");
    let jobs = read_json(&plan_file)["jobs"].as_array().expect("planned jobs").len() as u64;
    let started = env.stats().await["import_jobs_started"].as_u64().unwrap_or(0);
    assert!(
        started < jobs,
        "no import job starts after the signal: {started} of {jobs} started"
    );
    let not_attempted = report["summary"]["not_attempted"].as_u64().unwrap_or(0);
    assert!(not_attempted > 0, "{report}");
}

/// The account's DynamoDB lease (`lock.dynamodb_table`) is released too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_releases_the_dynamodb_account_lock() {
    let Ok(moto) = std::env::var("MOTO_ENDPOINT") else {
        panic!("MOTO_ENDPOINT is not set: run scripts/test, or start moto_server and export it");
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let table = format!("qsbackup-locks-{}-{nanos}", std::process::id());
    let env = setup_with(3000, 4, &format!("lock:\n  dynamodb_table: {table}\n")).await;
    let mut child = env.spawn(&["backup"]);
    wait_for(&mut child, "an export job was journaled", || {
        journal_has_started_job(&env)
    })
    .await;
    send(&child, "-INT");
    let out = child.wait_with_output().await.expect("wait for the interrupted backup");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_locks_released(&env, &out);

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto)
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let item = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(&table)
        .key(
            "lock_id",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("qsbackup/quicksight-account/{ACCOUNT}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("read the lease")
        .item
        .expect("the run took the lease");
    assert_eq!(
        item.get("released"),
        Some(&aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
        "{item:?}"
    );
}
