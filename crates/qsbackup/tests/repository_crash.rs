//! Crash safety and resume: a backup killed with SIGKILL at ten different moments never leaves
//! a snapshot behind, the repository still verifies, and the next backup completes, reusing
//! what the killed run stored (its bundle keys appear in the new snapshot) and starting fewer
//! export jobs accordingly (counted by the emulator). The moments are points of progress (how
//! many journal records the run has written), not times, so a slow or busy machine kills at
//! the same places.

mod repo_support;

use repo_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Bundle keys the killed run's journal says it stored.
fn journaled_bundles(env: &Env) -> Vec<String> {
    keys_under(&env.repo, "journal")
        .into_iter()
        .filter(|k| k.rsplit('/').next().is_some_and(|f| f.starts_with("bundle-")))
        .map(|k| {
            read_json(&env.object(&k))["bundle"]["key"]
                .as_str()
                .expect("bundle key")
                .to_string()
        })
        .collect()
}

/// Every root asset the snapshot backed up, and every one that failed.
fn coverage(manifest: &Value) -> (std::collections::BTreeSet<String>, std::collections::BTreeSet<String>) {
    let arns = |v: &Value| v.as_str().map(str::to_string);
    let stored = manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .flat_map(|b| b["requested_arns"].as_array().expect("arns").iter().filter_map(arns))
        .collect();
    let failed = manifest["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .filter_map(|f| arns(&f["arn"]))
        .collect();
    (stored, failed)
}

fn bundle_keys(manifest: &Value) -> Vec<String> {
    manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| b["key"].as_str().expect("key").to_string())
        .collect()
}

/// Journal records written so far (object_store's own staging files excluded).
fn journal_records(env: &Env) -> usize {
    keys_under(&env.repo, "journal")
        .iter()
        .filter(|k| k.ends_with(".json") && !k.contains('#'))
        .count()
}

async fn jobs_started(env: &Env) -> u64 {
    env.stats().await["export_jobs_started"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_at_ten_moments_leaves_no_snapshot_and_the_next_resumes() {
    // Slow jobs and small bundles: a run takes a few seconds in several waves of jobs.
    let env = setup(1000, 4).await;
    env.reset_stats().await;
    let baseline = env.backup().await;
    let baseline_jobs = jobs_started(&env).await;
    // A run writes run.json, then per job a start, a storing and a stored record (fewer for
    // jobs that fail): kill at ten points up to four fifths of the way.
    let records = 1 + 3 * baseline_jobs as usize;
    let baseline_coverage = coverage(&env.manifest(baseline["snapshot_id"].as_str().expect("id")));
    assert!(baseline_jobs >= 10, "too few jobs to interrupt: {baseline_jobs}");
    let mut committed = env.snapshot_ids().await;
    let mut reused_total = 0;

    for i in 0..10 {
        let kill_at = 1 + i * (records * 4 / 5 - 1) / 9;
        let mut child = env.spawn(&["backup"]);
        let started = Instant::now();
        while journal_records(&env) < kill_at {
            assert!(
                child.try_wait().expect("child status").is_none(),
                "run {i} ended by itself before writing {kill_at} journal records"
            );
            assert!(started.elapsed() < Duration::from_secs(120), "run {i} made no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().expect("SIGKILL");
        let status = child.wait().await.expect("reap the killed run");
        assert!(!status.success(), "run {i} was killed");

        assert_eq!(
            env.snapshot_ids().await,
            committed,
            "kill {i} after {kill_at} records: no snapshot of the killed run"
        );
        let (out, doc) = env.verify_all().await;
        assert_eq!(out.status.code(), Some(0), "kill {i}: verify after the kill: {doc}");

        let stored = journaled_bundles(&env);
        env.reset_stats().await;
        let resumed = env.backup().await;
        let id = resumed["snapshot_id"].as_str().expect("id").to_string();
        let jobs = jobs_started(&env).await;
        let manifest = env.manifest(&id);
        let keys = bundle_keys(&manifest);
        for k in &stored {
            assert!(
                keys.contains(k),
                "kill {i}: the stored bundle {k} is reused, not exported again"
            );
        }
        assert!(
            jobs + stored.len() as u64 <= baseline_jobs,
            "kill {i} after {kill_at} records: {jobs} new export jobs although {} of {baseline_jobs} were stored",
            stored.len()
        );
        if !stored.is_empty() {
            let notes = resumed["notes"].to_string();
            assert!(notes.contains("resumed crashed run"), "kill {i}: {notes}");
        }
        assert_eq!(
            coverage(&manifest),
            baseline_coverage,
            "kill {i}: the resumed snapshot holds what a fresh one does"
        );
        // A write the kill cut short leaves an object_store staging file (`name#1`), which is
        // not an object; prune removes those.
        let left: Vec<String> = keys_under(&env.repo, "journal")
            .into_iter()
            .filter(|k| !k.contains('#'))
            .collect();
        assert!(left.is_empty(), "kill {i}: journals go once resumed: {left:?}");
        eprintln!(
            "kill {i} after {kill_at} records: {} bundles stored before the kill, {jobs} export jobs after (baseline {baseline_jobs})",
            stored.len()
        );
        reused_total += stored.len();
        committed.push(id);
        assert_eq!(env.snapshot_ids().await, committed);
    }
    assert!(reused_total > 0, "no kill landed after a bundle was stored");
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(0), "{doc}");

    // Prune clears every leftover of the kills and keeps every snapshot whole.
    let (out, doc) = env
        .json(&["forget", "--keep-last", "-1", "--prune", "--safety-margin", "0s"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["removed_snapshot_ids"], serde_json::json!([]));
    let leftovers: Vec<String> = keys_under(&env.repo, "")
        .into_iter()
        .filter(|k| k.contains('#') || k.starts_with("journal/") || k.starts_with("tmp/"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(env.snapshot_ids().await, committed);
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(0), "after prune: {doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backups_at_once_one_runs_the_other_exits_4_or_waits() {
    let env = setup(800, 10).await;
    let first = env.spawn(&["backup"]);
    let second = env.spawn(&["backup"]);
    let (a, b) = tokio::join!(first.wait_with_output(), second.wait_with_output());
    let (a, b) = (a.expect("first"), b.expect("second"));
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert!(
        matches!(codes, [Some(0), Some(4)] | [Some(2), Some(4)]),
        "one completes, the other exits 4: {codes:?}\n{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    let locked = if a.status.code() == Some(4) { &a } else { &b };
    let message = stderr(locked);
    assert!(
        message.contains("locked by a backup run by pid") && message.contains("on host") && message.contains("started"),
        "{message}"
    );
    assert_eq!(env.snapshot_ids().await.len(), 1);

    let first = env.spawn(&["backup", "--lock-wait", "300"]);
    let second = env.spawn(&["backup", "--lock-wait", "300"]);
    let started = Instant::now();
    let (a, b) = tokio::join!(first.wait_with_output(), second.wait_with_output());
    for out in [a.expect("first"), b.expect("second")] {
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "with --lock-wait both complete: {}",
            stderr(&out)
        );
    }
    assert!(started.elapsed() < Duration::from_secs(300));
    assert_eq!(env.snapshot_ids().await.len(), 3);
    let (out, doc) = env.verify_all().await;
    assert_eq!(out.status.code(), Some(0), "{doc}");
}
