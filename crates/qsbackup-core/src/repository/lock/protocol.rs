//! The lock objects themselves: their keys, listing them, and the create-only steps every
//! holder goes through (take, renew, confirm, release), whether it renews from a background
//! task ([`super::guard`]) or from one process after another by token ([`super::lease`]).

use super::{host_name, process_scope, ttl_delta, Clock, LockError, LockInfo, LockRequest, LockState, LOCKS_PREFIX};
use crate::error::{Error, Result};
use crate::repository::Repository;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

pub(super) use crate::repository::layout::lock_key;
use crate::repository::layout::{is_lock_key, lock_holder as parse_key};

async fn read_lock(repo: &Repository, key: &str) -> Result<Option<LockInfo>> {
    match repo.get(key).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| Error::Json {
            context: format!("lock {key} in {}", repo.location()),
            source,
        }),
        Err(Error::Repository {
            source: object_store::Error::NotFound { .. },
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn create_lock(repo: &Repository, key: &str, info: &LockInfo) -> Result<()> {
    let json = serde_json::to_vec_pretty(info).map_err(|source| Error::Json {
        context: format!("lock {key}"),
        source,
    })?;
    repo.put_create(key, Bytes::from(json)).await.map(|_| ())
}

/// One lock object with its state.
#[derive(Debug, Clone, Serialize)]
pub struct LockEntry {
    pub key: String,
    pub info: Option<LockInfo>,
    pub state: LockState,
}

impl LockEntry {
    fn live(&self) -> Option<&LockInfo> {
        match (&self.state, &self.info) {
            (LockState::Live, Some(info)) => Some(info),
            _ => None,
        }
    }
}

/// Every lock object with its state now.
pub async fn list_locks(repo: &Repository) -> Result<Vec<LockEntry>> {
    list_locks_at(repo, Utc::now()).await
}

/// Every lock object with its state at `now`, in key order.
pub async fn list_locks_at(repo: &Repository, now: DateTime<Utc>) -> Result<Vec<LockEntry>> {
    let mut keys: Vec<String> = repo
        .list(LOCKS_PREFIX)
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| is_lock_key(k))
        .collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let (info, state) = match read_lock(repo, &key).await {
            Ok(Some(info)) => {
                let state = info.state(now);
                (Some(info), state)
            }
            // Released (deleted) between the listing and the read.
            Ok(None) => continue,
            Err(e) => (None, LockState::Stale(format!("unreadable: {e}"))),
        };
        out.push(LockEntry { key, info, state });
    }
    Ok(out)
}

/// A live lock of someone else that `mine` conflicts with.
fn conflicting<'a>(entries: &'a [LockEntry], mine: &LockInfo) -> Option<(&'a str, &'a LockInfo)> {
    entries
        .iter()
        .filter_map(|e| e.live().map(|i| (e.key.as_str(), i)))
        .find(|(_, other)| other.token != mine.token && mine.conflicts_with(other))
}

/// What one attempt to take a lock found.
pub(super) enum Attempt {
    /// Ours: the key of our object and what it says.
    Taken(String, LockInfo),
    /// A conflicting lock was there before we tried.
    Held(String, LockInfo),
    /// A conflicting lock appeared while we took ours; ours is withdrawn. Try again soon.
    Raced(String, LockInfo),
}

/// Creates our lock object unless a conflicting live lock is there, then looks again and
/// withdraws it if one appeared meanwhile.
pub(super) async fn try_take(
    repo: &Repository,
    request: &LockRequest,
    ttl: Duration,
    clock: &dyn Clock,
) -> Result<Attempt> {
    let now = clock.now();
    let (host, pid, scope) = match &request.holder {
        Some(holder) => (holder.clone(), 0, None),
        None => (host_name(), std::process::id(), process_scope()),
    };
    let info = LockInfo {
        token: hex::encode(rand::random::<[u8; 12]>()),
        exclusive: request.exclusive,
        purpose: request.purpose,
        account: request.account.clone(),
        host,
        pid,
        started_at: now,
        renewed_at: now,
        expires_at: now + ttl_delta(ttl),
        generation: None,
        released: false,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        process_scope: scope,
    };
    let before = list_locks_at(repo, now).await?;
    if let Some((key, holder)) = conflicting(&before, &info) {
        return Ok(Attempt::Held(key.to_string(), holder.clone()));
    }
    let key = lock_key(&info.token, 1);
    create_lock(repo, &key, &info).await?;
    let after = list_locks_at(repo, clock.now()).await?;
    if let Some((other, holder)) = conflicting(&after, &info) {
        repo.delete(&key).await?;
        return Ok(Attempt::Raced(other.to_string(), holder.clone()));
    }
    // Leftovers that keep no one out any more; best effort, `unlock` removes them too.
    for e in after.iter().filter(|e| e.live().is_none()) {
        let _ = repo.delete(&e.key).await;
    }
    Ok(Attempt::Taken(key, info))
}

/// The newest object of holder `token`, if any is left.
async fn newest_of(repo: &Repository, token: &str) -> Result<Option<(String, u64, LockInfo)>> {
    let mut mine: Vec<(String, u64)> = repo
        .list(LOCKS_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| {
            let (t, n) = parse_key(&o.key)?;
            (t == token).then_some((o.key.clone(), n))
        })
        .collect();
    mine.sort_by_key(|(_, n)| *n);
    while let Some((key, n)) = mine.pop() {
        if let Some(info) = read_lock(repo, &key).await? {
            return Ok(Some((key, n, info)));
        }
    }
    Ok(None)
}

fn lost(repo: &Repository, key: &str, reason: impl Into<String>) -> LockError {
    LockError::Lost {
        repository: repo.location().to_string(),
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Our newest object, or why the lock is no longer ours.
async fn still_ours(repo: &Repository, token: &str, clock: &dyn Clock) -> Result<(String, u64, LockInfo), LockError> {
    let now = clock.now();
    let Some((key, n, info)) = newest_of(repo, token).await? else {
        return Err(lost(
            repo,
            &format!("{LOCKS_PREFIX}{token}-*"),
            "its lock object was removed",
        ));
    };
    if now > info.expires_at {
        return Err(lost(
            repo,
            &key,
            format!("its lease ended at {} before it was renewed", info.expires_at),
        ));
    }
    Ok((key, n, info))
}

/// Checks against the repository that holder `token` still holds its lock.
pub(super) async fn confirm(repo: &Repository, token: &str, clock: &dyn Clock) -> Result<(), LockError> {
    still_ours(repo, token, clock).await.map(|_| ())
}

/// Extends the lease of holder `token` by `ttl` from now: its next object is created, then the
/// older ones are deleted. Returns the new object's key and content.
pub(super) async fn renew(
    repo: &Repository,
    token: &str,
    ttl: Duration,
    clock: &dyn Clock,
) -> Result<(String, LockInfo), LockError> {
    let (old_key, n, mut info) = still_ours(repo, token, clock).await?;
    let now = clock.now();
    info.renewed_at = now;
    info.expires_at = now + ttl_delta(ttl);
    let key = lock_key(token, n + 1);
    match create_lock(repo, &key, &info).await {
        Ok(()) => {}
        // A renewal of the same holder in parallel (a retried state) got there first.
        Err(Error::AlreadyExists { .. }) => return still_ours(repo, token, clock).await.map(|(k, _, i)| (k, i)),
        Err(e) => return Err(e.into()),
    }
    // `unlock --force` may have removed the old object after we read it: then the lock was
    // taken away, and the new object must not bring it back.
    if repo.head(&old_key).await?.is_none() {
        let _ = repo.delete(&key).await;
        return Err(lost(repo, &old_key, "its lock object was removed"));
    }
    for (older, _) in older_objects(repo, token, n + 1).await? {
        repo.delete(&older).await?;
    }
    Ok((key, info))
}

async fn older_objects(repo: &Repository, token: &str, below: u64) -> Result<Vec<(String, u64)>> {
    Ok(repo
        .list(LOCKS_PREFIX)
        .await?
        .into_iter()
        .filter_map(|o| {
            let (t, n) = parse_key(&o.key)?;
            (t == token && n < below).then_some((o.key.clone(), n))
        })
        .collect())
}

/// Deletes every object of holder `token`; nothing of anyone else's.
pub(super) async fn release(repo: &Repository, token: &str) -> Result<()> {
    for (key, _) in older_objects(repo, token, u64::MAX).await? {
        repo.delete(&key).await?;
    }
    Ok(())
}

/// What `unlock` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnlockReport {
    /// Lock objects that kept no one out any more (or, with `force`, live ones) and were removed.
    pub removed: Vec<LockEntry>,
    /// A live lock left alone (without `force`); the first of them when there are several.
    pub live: Option<LockEntry>,
}

/// Removes stale and released locks; live ones only with `force` (their holders notice at their
/// next renewal or confirmation and stop before committing anything).
pub async fn unlock(repo: &Repository, force: bool) -> Result<UnlockReport> {
    unlock_at(repo, force, Utc::now()).await
}

/// [`unlock`], judging leases at `now`.
pub async fn unlock_at(repo: &Repository, force: bool, now: DateTime<Utc>) -> Result<UnlockReport> {
    let mut report = UnlockReport::default();
    for e in list_locks_at(repo, now).await? {
        if e.state == LockState::Live && !force {
            report.live.get_or_insert(e);
            continue;
        }
        repo.delete(&e.key).await?;
        if e.state != LockState::Released {
            report.removed.push(e);
        }
    }
    Ok(report)
}
