//! Locks as restic has them, through the binary against the emulator: a backup and a real
//! restore of the same repository run at the same time (their jobs made slow), a verify runs
//! beside both, a second backup of the same account exits 4, a prune without --lock-wait exits
//! 4, and a prune with --lock-wait finishes only after both the backup and the restore.

mod repo_support;

use repo_support::*;
use std::time::Duration;

/// Starts `qsbackup <args>` with its output going to files (a report larger than a pipe's
/// buffer must not block a run that nobody reads while it holds its lock).
fn start(env: &Env, name: &str, args: &[&str]) -> tokio::process::Child {
    let file = |ext: &str| std::fs::File::create(env.dir.path().join(format!("{name}.{ext}"))).expect("log file");
    env.command(args)
        .stdout(file("out"))
        .stderr(file("err"))
        .spawn()
        .expect("spawn qsbackup")
}

/// What `start` wrote to stderr for run `name`.
fn err_of(env: &Env, name: &str) -> String {
    std::fs::read_to_string(env.dir.path().join(format!("{name}.err"))).unwrap_or_default()
}

/// The purposes of the live lock objects (`backup`, `restore`, ...).
fn lock_purposes(env: &Env) -> Vec<String> {
    keys_under(&env.repo, "locks")
        .iter()
        .filter_map(|k| std::fs::read(env.repo.join(k)).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter_map(|v| v["purpose"].as_str().map(str::to_string))
        .collect()
}

/// Waits (bounded by polls, not by wall-clock assertions) until a lock for `purpose` is held,
/// failing if `child` ends first.
async fn until_locked(env: &Env, purpose: &str, child: &mut tokio::process::Child) {
    for _ in 0..3000 {
        if lock_purposes(env).iter().any(|p| p == purpose) {
            return;
        }
        if let Some(status) = child.try_wait().expect("status") {
            panic!(
                "the {purpose} ended before it held its lock: {status:?}\n{}",
                err_of(env, purpose)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the {purpose} never took its lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_and_a_restore_run_together_and_a_prune_waits_for_both() {
    let env = setup(0, 50).await;
    env.backup().await;
    // Every export and import job now takes 4 s more: long enough to do the rest meanwhile.
    env.admin(
        reqwest::Method::PUT,
        "/_emulator/faults",
        Some(serde_json::json!({"job_delay_ms": 4000})),
    )
    .await;
    let mut backup = start(&env, "backup", &["backup"]);
    until_locked(&env, "backup", &mut backup).await;
    let mut restore = start(
        &env,
        "restore",
        &["restore", "--snapshot", "latest", "--target-account", TARGET, "--yes"],
    );
    until_locked(&env, "restore", &mut restore).await;
    let held = lock_purposes(&env);
    assert!(
        held.iter().any(|p| p == "backup") && held.iter().any(|p| p == "restore"),
        "a backup and a restore hold their locks at the same time: {held:?}"
    );

    let (out, doc) = env.json(&["verify"]).await;
    assert_eq!(out.status.code(), Some(0), "verify runs beside both: {}", stderr(&out));
    assert_eq!(doc["ok"], true);

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

    let mut prune = start(
        &env,
        "prune",
        &["forget", "--keep-last", "5", "--prune", "--lock-wait", "600"],
    );
    // While the backup's or the restore's lock is there, the prune has not finished: it can
    // only run once it holds the exclusive lock. (The locks are read before the prune's state,
    // so a lock released in between cannot make this pass wrongly.)
    let mut backup_status = None;
    let mut restore_status = None;
    loop {
        let others = lock_purposes(&env)
            .into_iter()
            .filter(|p| p == "backup" || p == "restore")
            .count();
        let prune_done = prune.try_wait().expect("prune status");
        if others > 0 {
            assert!(
                prune_done.is_none(),
                "the prune finished while a backup or restore held its lock"
            );
        }
        if backup_status.is_none() {
            backup_status = backup.try_wait().expect("backup status");
        }
        if restore_status.is_none() {
            restore_status = restore.try_wait().expect("restore status");
        }
        if let Some(done) = prune_done {
            assert_eq!(
                done.code(),
                Some(0),
                "the waiting prune ran after both: {}",
                err_of(&env, "prune")
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup_status = match backup_status {
        Some(s) => s,
        None => backup.wait().await.expect("backup"),
    };
    let restore_status = match restore_status {
        Some(s) => s,
        None => restore.wait().await.expect("restore"),
    };
    assert!(
        matches!(backup_status.code(), Some(0) | Some(2)),
        "the backup committed: {backup_status:?}\n{}",
        err_of(&env, "backup")
    );
    assert!(
        matches!(restore_status.code(), Some(0) | Some(2)),
        "the restore ran: {restore_status:?}\n{}",
        err_of(&env, "restore")
    );
    assert_eq!(env.snapshot_ids().await.len(), 2);
    assert!(lock_purposes(&env).is_empty(), "every lock was released");
}
