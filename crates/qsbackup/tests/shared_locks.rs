//! Locks as restic has them, through the binary against the emulator: while a backup runs
//! (its export jobs made slow), a verify and a restore plan of the same repository run beside
//! it, a second backup of the same account exits 4, a prune without --lock-wait exits 4 and a
//! prune with --lock-wait finishes after the backup.

mod repo_support;

use repo_support::*;
use std::time::Duration;

fn lock_objects(env: &Env) -> usize {
    keys_under(&env.repo, "locks").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_runs_beside_verify_and_restore_and_a_prune_waits_for_it() {
    let env = setup(0, 50).await;
    env.backup().await;
    // Every export job of the next backup now takes 6 s: long enough to do the rest meanwhile.
    env.admin(
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"job_delay_ms": 6000})),
    )
    .await;
    let mut backup = env
        .command(&["backup"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawn backup");
    // The backup holds its lock once its lock object is there (a condition, polled).
    for _ in 0..600 {
        if lock_objects(&env) > 0 {
            break;
        }
        assert!(backup.try_wait().expect("status").is_none(), "the backup ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(lock_objects(&env) > 0, "the backup took no lock");

    let (out, doc) = env.json(&["verify"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify runs beside a backup: {}",
        stderr(&out)
    );
    assert_eq!(doc["ok"], true);
    let out = env.run(&["restore", "latest", "--dry-run"]).await;
    assert_ne!(out.status.code(), Some(4), "{}", stderr(&out));

    let out = env.run(&["backup"]).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "a second backup of the account: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("for account"), "{}", stderr(&out));

    let out = env.run(&["forget", "--keep-last", "5", "--prune"]).await;
    assert_eq!(out.status.code(), Some(4), "prune waits for nobody: {}", stderr(&out));

    let mut prune = env
        .command(&["forget", "--keep-last", "5", "--prune", "--lock-wait", "300"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawn prune");
    let backup_status = backup.wait().await.expect("backup");
    assert!(
        matches!(backup_status.code(), Some(0) | Some(2)),
        "the backup committed: {backup_status:?}"
    );
    assert!(
        prune.try_wait().expect("status").is_none() || lock_objects(&env) == 0,
        "the prune did not run while the backup held its lock"
    );
    let prune_status = prune.wait().await.expect("prune");
    assert_eq!(prune_status.code(), Some(0), "the waiting prune ran after the backup");
    assert_eq!(env.snapshot_ids().await.len(), 2);
    assert_eq!(lock_objects(&env), 0, "every lock was released");
}
