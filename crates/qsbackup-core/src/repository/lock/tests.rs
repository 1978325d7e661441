use super::protocol::lock_key;
use super::*;
use crate::error::Error;
use crate::repository::Repository;
use chrono::Utc;
use object_store::memory::InMemory;

fn memory() -> Repository {
    Repository::from_store(Arc::new(InMemory::new()), "memory://lock-test")
}

/// Leases of 5 minutes judged by a clock the test moves; no background renewal gets in the way.
fn manual() -> (ManualClock, LockOptions) {
    let clock = ManualClock::starting_now();
    let options = LockOptions {
        ttl: Duration::from_secs(300),
        renew_every: Duration::from_secs(3600),
        clock: Arc::new(clock.clone()),
    };
    (clock, options)
}

async fn backup_of(repo: &Repository, account: &str, options: &LockOptions) -> Result<SharedLock, LockError> {
    RepositoryLock::shared_with(repo, &LockRequest::backup(account), Duration::ZERO, options).await
}

async fn exclusive(repo: &Repository, options: &LockOptions) -> Result<ExclusiveLock, LockError> {
    RepositoryLock::exclusive_with(repo, LockPurpose::Prune, Duration::ZERO, options).await
}

async fn keys(repo: &Repository) -> Vec<String> {
    let mut k: Vec<String> = repo
        .list(LOCKS_PREFIX)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn shared_locks_coexist_and_keep_the_exclusive_one_out() {
    let repo = memory();
    let (_, options) = manual();
    let backup = backup_of(&repo, "111111111111", &options).await.unwrap();
    let restore = RepositoryLock::shared(&repo, LockPurpose::Restore, Duration::ZERO)
        .await
        .unwrap();
    let other_account = backup_of(&repo, "222222222222", &options).await.unwrap();
    let err = exclusive(&repo, &options).await.unwrap_err();
    match &err {
        LockError::Held { holder, .. } => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.host, host_name());
            assert!(!holder.exclusive);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
    assert!(text.contains("started"), "{text}");
    assert!(Error::from(err).is_lock_held());
    backup.release().await.unwrap();
    restore.release().await.unwrap();
    assert!(exclusive(&repo, &options).await.is_err(), "one shared lock is enough");
    other_account.release().await.unwrap();
    let prune = exclusive(&repo, &options).await.unwrap();
    assert_eq!(keys(&repo).await.len(), 1, "released locks leave no object");
    prune.release().await.unwrap();
    assert!(keys(&repo).await.is_empty());
}

#[tokio::test]
async fn the_exclusive_lock_keeps_everyone_out() {
    let repo = memory();
    let (_, options) = manual();
    let prune = exclusive(&repo, &options).await.unwrap();
    assert!(backup_of(&repo, "111111111111", &options).await.is_err());
    assert!(RepositoryLock::shared(&repo, LockPurpose::Verify, Duration::ZERO)
        .await
        .is_err());
    assert!(exclusive(&repo, &options).await.is_err());
    prune.release().await.unwrap();
    backup_of(&repo, "111111111111", &options)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn two_backups_of_one_account_exclude_each_other() {
    let repo = memory();
    let (_, options) = manual();
    let first = backup_of(&repo, "111111111111", &options).await.unwrap();
    let err = backup_of(&repo, "111111111111", &options).await.unwrap_err();
    assert!(err.to_string().contains("for account 111111111111"), "{err}");
    first.release().await.unwrap();
    backup_of(&repo, "111111111111", &options)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_waiting_prune_gets_the_lock_when_the_shared_ones_are_released() {
    let repo = memory();
    let (_, options) = manual();
    let backup = backup_of(&repo, "111111111111", &options).await.unwrap();
    let waiter = {
        let (repo, options) = (repo.clone(), options.clone());
        tokio::spawn(async move {
            RepositoryLock::exclusive_with(&repo, LockPurpose::Prune, Duration::from_secs(600), &options).await
        })
    };
    // Paused time: the waiter backs off (tokio's clock advances on its own) until the release.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(!waiter.is_finished());
    backup.release().await.unwrap();
    let prune = waiter.await.unwrap().unwrap();
    prune.release().await.unwrap();
}

#[tokio::test]
async fn renewals_write_new_objects_and_an_unrenewed_lease_goes_stale() {
    let repo = memory();
    let (clock, options) = manual();
    let guard = backup_of(&repo, "111111111111", &options).await.unwrap();
    let first = guard.key();
    let first_bytes = repo.get(&first).await.unwrap();
    clock.advance(Duration::from_secs(200));
    guard.renew().await.unwrap();
    let second = guard.key();
    assert_ne!(first, second, "a renewal creates the next object");
    assert_eq!(keys(&repo).await, vec![second.clone()], "and removes the previous one");
    clock.advance(Duration::from_secs(200));
    // 400 s after it was taken, the renewed lease still keeps a prune out.
    assert!(exclusive(&repo, &options).await.is_err());
    guard.confirm().await.unwrap();
    assert!(repo.head(&first).await.unwrap().is_none());
    drop(first_bytes);

    // Without renewals (a holder frozen, or gone on another host), it expires.
    clock.advance(Duration::from_secs(301));
    let entries = list_locks_at(&repo, clock.now()).await.unwrap();
    assert!(matches!(entries[0].state, LockState::Stale(_)), "{entries:?}");
    let taker = exclusive(&repo, &options).await.unwrap();
    let err = guard.confirm().await.unwrap_err();
    assert!(
        matches!(err, LockError::Lost { .. }),
        "the old holder learns it lost the lock: {err}"
    );
    assert!(guard.renew().await.is_err());
    taker.release().await.unwrap();
    guard.into_inner().freeze();
}

#[tokio::test]
async fn a_lock_of_a_dead_process_on_this_host_is_stale_at_once() {
    let repo = memory();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let now = Utc::now();
    let info = LockInfo {
        token: "dead".into(),
        exclusive: true,
        purpose: LockPurpose::Prune,
        account: None,
        host: host_name(),
        pid: dead_pid,
        started_at: now,
        renewed_at: now,
        expires_at: now + chrono::TimeDelta::hours(1),
        generation: None,
        released: false,
        tool_version: "0".into(),
        process_scope: process_scope(),
    };
    let json = serde_json::to_vec(&info).unwrap();
    repo.put_create(&lock_key("dead", 1), json.into()).await.unwrap();
    assert!(matches!(info.state(Utc::now()), LockState::Stale(_)));
    let mut other_host = info.clone();
    other_host.host = "elsewhere".into();
    assert_eq!(other_host.state(Utc::now()), LockState::Live);
    // Same host name, another machine or container (another boot or PID
    // namespace): its pid says nothing here, the lock stays live.
    let mut other_scope = info.clone();
    other_scope.process_scope = Some("another-boot/pid:[1]".into());
    assert_eq!(other_scope.state(Utc::now()), LockState::Live);
    let mut unknown_scope = info.clone();
    unknown_scope.process_scope = None;
    assert_eq!(unknown_scope.state(Utc::now()), LockState::Live);
    let guard = RepositoryLock::exclusive(&repo, LockPurpose::Prune, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(keys(&repo).await, vec![guard.key()], "the stale lock was cleaned up");
    guard.release().await.unwrap();
}

#[tokio::test]
async fn of_many_contenders_for_the_exclusive_lock_one_wins() {
    let dir = std::env::temp_dir().join(format!("qsb-lock-race-{}", std::process::id()));
    let (repo, _) = Repository::create_or_open(&dir.to_string_lossy(), &Default::default())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { RepositoryLock::exclusive(&repo, LockPurpose::Prune, Duration::ZERO).await })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(g) => winners.push(g),
            Err(LockError::Held { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    for g in winners {
        g.release().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn unlock_removes_stale_locks_and_live_ones_only_when_forced() {
    let repo = memory();
    let (clock, options) = manual();
    let guard = backup_of(&repo, "111111111111", &options).await.unwrap();
    let report = unlock_at(&repo, false, clock.now()).await.unwrap();
    assert!(report.removed.is_empty());
    assert!(report.live.is_some());
    guard.confirm().await.unwrap();

    let report = unlock_at(&repo, true, clock.now()).await.unwrap();
    assert_eq!(report.removed.len(), 1);
    assert!(guard.confirm().await.is_err(), "a forced unlock takes the lock away");
    assert!(guard.renew().await.is_err(), "and a renewal does not bring it back");
    assert!(keys(&repo).await.is_empty());
    let next = exclusive(&repo, &options).await.unwrap();
    next.release().await.unwrap();

    let stale = backup_of(&repo, "111111111111", &options).await.unwrap();
    clock.advance(Duration::from_secs(600));
    let report = unlock_at(&repo, false, clock.now()).await.unwrap();
    assert_eq!(report.removed.len(), 1, "an expired lock is removed without --force");
    stale.into_inner().freeze();
    guard.into_inner().freeze();
}

/// Objects of the generation-numbered lock of earlier versions are still honoured: they were
/// all exclusive.
#[tokio::test]
async fn a_lock_object_of_an_earlier_version_keeps_everyone_out() {
    let repo = memory();
    let now = Utc::now();
    let old = serde_json::json!({
        "generation": 90, "token": "t", "purpose": "backup", "host": "ops-runner-7", "pid": 4242,
        "started_at": now, "renewed_at": now, "expires_at": now + chrono::TimeDelta::hours(1),
        "released": false, "tool_version": "0.1.0"
    });
    repo.put_create("locks/00000000000000000090.json", old.to_string().into())
        .await
        .unwrap();
    let err = RepositoryLock::shared(&repo, LockPurpose::Restore, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ops-runner-7"), "{err}");
    let report = unlock(&repo, true).await.unwrap();
    assert_eq!(report.removed.len(), 1);
    RepositoryLock::shared(&repo, LockPurpose::Restore, Duration::ZERO)
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lease_is_held_across_processes_by_its_token() {
    let repo = memory();
    let clock = ManualClock::starting_now();
    let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let ttl = Duration::from_secs(1800);
    let request = LockRequest::backup("111111111111").held_by("step-functions:run-1");
    let lease = LockLease::take_with(&repo, &request, ttl, shared_clock.clone())
        .await
        .unwrap();
    let token: LockToken = serde_json::from_str(&serde_json::to_string(lease.token()).unwrap()).unwrap();
    let entries = list_locks(&repo).await.unwrap();
    let info = entries[0].info.as_ref().unwrap();
    assert_eq!((info.host.as_str(), info.pid), ("step-functions:run-1", 0));
    assert!(LockLease::take_with(&repo, &request, ttl, shared_clock.clone())
        .await
        .is_err());

    // A later invocation: only the token survived.
    let later = LockLease::resume_with(&repo, token.clone(), shared_clock.clone());
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1500));
        later.renew(ttl).await.unwrap();
    }
    later.confirm().await.unwrap();
    assert_eq!(list_locks(&repo).await.unwrap().len(), 1);
    clock.advance(Duration::from_secs(1801));
    assert!(matches!(later.confirm().await, Err(LockError::Lost { .. })));
    assert!(later.renew(ttl).await.is_err(), "an expired lease is not revived");
    later.release().await.unwrap();
    assert!(keys(&repo).await.is_empty());
    // Releasing twice (a retried state) is harmless.
    later.release().await.unwrap();
}

/// Waits and leases longer than the clock can hold (an embedder's `Duration::MAX`) are taken as
/// "very long", not a panic from adding them to the current time.
#[tokio::test]
async fn waits_and_leases_beyond_the_clock_do_not_panic() {
    let repo = memory();
    let options = LockOptions {
        ttl: Duration::MAX,
        renew_every: Duration::from_secs(3600),
        clock: clock::system(),
    };
    let guard = RepositoryLock::exclusive_with(&repo, LockPurpose::Prune, Duration::MAX, &options)
        .await
        .unwrap();
    assert!(guard.info().expires_at > Utc::now() + chrono::TimeDelta::days(365 * 50));
    guard.release().await.unwrap();
}
