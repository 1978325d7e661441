//! The repository lock held across Lambda invocations. A run's states are separate processes,
//! so no task can renew a lease in the background: the first state takes the lock through
//! [`RepositoryLock`] and rewrites its object with a token of the run's own (the guard, finding
//! another token there, then leaves it alone when it is released); every later state renews the
//! lease by that token, and the commit releases it. Other qsbackup processes see an ordinary
//! live lock and wait or exit 4. The holder's host is `step-functions:<run-id>`, so no host
//! judges the lease by a local process id: only its expiry counts.

use crate::HandlerError;
use bytes::Bytes;
use chrono::Utc;
use object_store::{path::Path, PutMode, PutOptions, PutPayload};
use qsbackup_core::repository::lock::{list_locks, LockError, LockInfo, LockOptions, LockPurpose, RepositoryLock};
use qsbackup_core::repository::Repository;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which lock object the run holds, and the token that proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRef {
    pub key: String,
    pub generation: u64,
    pub token: String,
}

fn store_error(what: &str, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::new("RepositoryError", format!("{what}: {e}"))
}

fn lost(reason: impl Into<String>) -> HandlerError {
    HandlerError::new(
        "LeaseLost",
        format!("the run's repository lock was lost: {}", reason.into()),
    )
}

async fn write(repo: &Repository, key: &str, info: &LockInfo) -> Result<(), HandlerError> {
    let json = serde_json::to_vec_pretty(info).map_err(|e| store_error("lock JSON", e))?;
    let path = Path::parse(key).map_err(|e| store_error(key, e))?;
    repo.store()
        .put_opts(
            &path,
            PutPayload::from(Bytes::from(json)),
            PutOptions::from(PutMode::Overwrite),
        )
        .await
        .map(|_| ())
        .map_err(|e| store_error(key, e))
}

/// The lease as stored, if it is still this run's and live.
async fn current(repo: &Repository, lease: &LeaseRef) -> Result<LockInfo, HandlerError> {
    let bytes = repo
        .get(&lease.key)
        .await
        .map_err(|e| lost(format!("{} cannot be read: {e}", lease.key)))?;
    let info: LockInfo = serde_json::from_slice(&bytes).map_err(|e| store_error(&lease.key, e))?;
    if info.token != lease.token {
        return Err(lost("its lock object belongs to another run"));
    }
    if info.released {
        return Err(lost("it was released"));
    }
    if Utc::now() > info.expires_at {
        return Err(lost(format!("its lease ended at {}", info.expires_at)));
    }
    let locks = list_locks(repo)
        .await
        .map_err(|e| store_error(qsbackup_core::repository::layout::LOCKS, e))?;
    if locks
        .iter()
        .any(|l| l.info.as_ref().is_some_and(|i| i.generation > lease.generation))
    {
        return Err(lost("a newer lock superseded it"));
    }
    Ok(info)
}

fn ttl_delta(ttl: Duration) -> chrono::TimeDelta {
    qsbackup_core::repository::lock::ttl_delta(ttl)
}

/// Takes the repository lock for run `run_id` with a lease of `ttl`.
pub async fn acquire(repo: &Repository, run_id: &str, ttl: Duration) -> Result<LeaseRef, HandlerError> {
    let options = LockOptions { ttl, renew_every: ttl };
    let guard = RepositoryLock::acquire_with(repo, LockPurpose::Backup, Duration::ZERO, &options)
        .await
        .map_err(|e| match e {
            LockError::Held { .. } => HandlerError::new("RepositoryLocked", e.to_string()),
            other => store_error("taking the repository lock", other),
        })?;
    let mut info = guard.info().clone();
    info.token = hex::encode(rand::random::<[u8; 12]>());
    info.host = format!("step-functions:{run_id}");
    info.pid = 0;
    let key = guard.key().to_string();
    let written = write(repo, &key, &info).await;
    // With the token replaced, releasing the guard finds another run's lock and writes nothing.
    let _ = guard.release().await;
    written?;
    Ok(LeaseRef {
        key,
        generation: info.generation,
        token: info.token,
    })
}

/// Extends the lease by `ttl` from now; [`HandlerError`] `LeaseLost` when it is not ours.
pub async fn renew(repo: &Repository, lease: &LeaseRef, ttl: Duration) -> Result<(), HandlerError> {
    let mut info = current(repo, lease).await?;
    let now = Utc::now();
    info.renewed_at = now;
    info.expires_at = now + ttl_delta(ttl);
    write(repo, &lease.key, &info).await
}

/// Checks the lease is still ours (the last check before a commit).
pub async fn confirm(repo: &Repository, lease: &LeaseRef) -> Result<(), HandlerError> {
    current(repo, lease).await.map(|_| ())
}

/// Marks the lease released; a lease that is no longer ours is left alone.
pub async fn release(repo: &Repository, lease: &LeaseRef) -> Result<(), HandlerError> {
    let Ok(mut info) = current(repo, lease).await else {
        return Ok(());
    };
    info.released = true;
    info.renewed_at = Utc::now();
    write(repo, &lease.key, &info).await
}
