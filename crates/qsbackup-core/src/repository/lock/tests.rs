use super::*;
use object_store::memory::InMemory;

fn memory() -> Repository {
    Repository::from_store(Arc::new(InMemory::new()), "memory://lock-test")
}

fn quick() -> LockOptions {
    LockOptions {
        ttl: Duration::from_millis(400),
        renew_every: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn a_second_writer_is_refused_and_told_who_holds_it() {
    let repo = memory();
    let guard = RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .unwrap();
    let err = RepositoryLock::acquire(&repo, LockPurpose::Prune, Duration::ZERO)
        .await
        .unwrap_err();
    match &err {
        LockError::Held { holder, .. } => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.host, host_name());
            assert_eq!(holder.purpose, LockPurpose::Backup);
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
    assert!(text.contains("started"), "{text}");
    assert!(Error::from(err).is_lock_held());
    guard.release().await.unwrap();
    let again = RepositoryLock::acquire(&repo, LockPurpose::Prune, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(again.info().generation, 2);
    // The released generation 1 was cleaned up by the new holder.
    assert_eq!(generations(&repo).await.unwrap(), vec![2]);
    again.release().await.unwrap();
}

#[tokio::test]
async fn a_waiting_writer_gets_the_lock_when_it_is_released() {
    let repo = memory();
    let guard = RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .unwrap();
    let waiter = {
        let repo = repo.clone();
        tokio::spawn(async move { RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    guard.release().await.unwrap();
    let second = waiter.await.unwrap().unwrap();
    second.release().await.unwrap();
}

#[tokio::test]
async fn a_lease_that_is_not_renewed_goes_stale() {
    let repo = memory();
    let guard = RepositoryLock::acquire_with(&repo, LockPurpose::Backup, Duration::ZERO, &quick())
        .await
        .unwrap();
    // Renewals keep it alive well past its ttl.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .is_err());
    guard.check().unwrap();
    // Without renewals (a holder frozen or gone on another host), it expires.
    let mut frozen = guard;
    if let Some(t) = frozen.renewer.take() {
        t.abort();
    }
    frozen.released = true; // keep Drop from releasing it
    tokio::time::sleep(Duration::from_millis(600)).await;
    let entries = list_locks(&repo).await.unwrap();
    assert!(
        matches!(entries.last().map(|e| &e.state), Some(LockState::Stale(_))),
        "{entries:?}"
    );
    let taker = RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        frozen.confirm().await.is_err(),
        "the old holder learns it lost the lock"
    );
    taker.release().await.unwrap();
}

#[tokio::test]
async fn a_lock_of_a_dead_process_on_this_host_is_stale_at_once() {
    let repo = memory();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let now = Utc::now();
    let info = LockInfo {
        generation: 7,
        token: "t".into(),
        purpose: LockPurpose::Backup,
        host: host_name(),
        pid: dead_pid,
        started_at: now,
        renewed_at: now,
        expires_at: now + chrono::TimeDelta::hours(1),
        released: false,
        tool_version: "0".into(),
        process_scope: process_scope(),
    };
    write_lock(&repo, &info, PutMode::Create).await.unwrap();
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
    let guard = RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(guard.info().generation, 8);
    guard.release().await.unwrap();
}

#[tokio::test]
async fn of_many_contenders_exactly_one_wins() {
    let dir = std::env::temp_dir().join(format!("qsb-lock-race-{}", std::process::id()));
    let (repo, _) = Repository::create_or_open(&dir.to_string_lossy(), &Default::default())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO).await })
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
    let guard = RepositoryLock::acquire(&repo, LockPurpose::Backup, Duration::ZERO)
        .await
        .unwrap();
    let report = unlock(&repo, false).await.unwrap();
    assert!(report.removed.is_empty());
    assert!(report.live.is_some());
    guard.check().unwrap();

    let report = unlock(&repo, true).await.unwrap();
    assert_eq!(report.removed.len(), 1);
    assert!(guard.confirm().await.is_err(), "a forced unlock takes the lock away");
    // The tombstone is released: anyone can take the lock now.
    let next = RepositoryLock::acquire(&repo, LockPurpose::Prune, Duration::ZERO)
        .await
        .unwrap();
    next.release().await.unwrap();
    drop(guard);
    let report = unlock(&repo, false).await.unwrap();
    assert!(report.removed.is_empty() && report.live.is_none(), "{report:?}");
}

/// Waits and leases longer than the clock can hold (an embedder's `Duration::MAX`) are taken as
/// "very long", not a panic from adding them to the current time.
#[tokio::test]
async fn waits_and_leases_beyond_the_clock_do_not_panic() {
    let repo = memory();
    let options = LockOptions {
        ttl: Duration::MAX,
        renew_every: Duration::from_millis(100),
    };
    let guard = RepositoryLock::acquire_with(&repo, LockPurpose::Backup, Duration::MAX, &options)
        .await
        .unwrap();
    assert!(guard.info().expires_at > Utc::now() + chrono::TimeDelta::days(365 * 50));
    guard.release().await.unwrap();
}
