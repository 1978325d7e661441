//! The run's repository lock, held across Lambda invocations by token through core's
//! [`LockLease`]: begin-run takes a shared backup lock of the account (so a prune waits for the
//! run, and a second backup of the account, CLI or scheduled, is refused), every later state
//! renews it, the commit confirms it, and the commit or the abort releases it. Its holder is
//! `step-functions:<run-id>`, so no host judges it by a local process id: only its expiry counts.

use crate::HandlerError;
use qsbackup_core::repository::lock::{LockError, LockLease, LockRequest, LockToken};
use qsbackup_core::repository::Repository;
use std::time::Duration;

/// Which lock the run holds (kept in its run record).
pub type LeaseRef = LockToken;

fn handler_error(e: LockError) -> HandlerError {
    match e {
        LockError::Held { .. } => HandlerError::new("RepositoryLocked", e.to_string()),
        LockError::Lost { .. } => HandlerError::new("LeaseLost", format!("the run's repository lock was lost: {e}")),
        other => HandlerError::new("RepositoryError", format!("repository lock: {other}")),
    }
}

/// Takes the repository lock for run `run_id`, a backup of `account_id`, with a lease of `ttl`.
pub async fn acquire(
    repo: &Repository,
    run_id: &str,
    account_id: &str,
    ttl: Duration,
) -> Result<LeaseRef, HandlerError> {
    let request = LockRequest::backup(account_id).held_by(format!("step-functions:{run_id}"));
    LockLease::take(repo, &request, ttl)
        .await
        .map(|lease| lease.token().clone())
        .map_err(handler_error)
}

/// Extends the lease by `ttl` from now; `LeaseLost` when it is not ours.
pub async fn renew(repo: &Repository, lease: &LeaseRef, ttl: Duration) -> Result<(), HandlerError> {
    LockLease::resume(repo, lease.clone())
        .renew(ttl)
        .await
        .map_err(handler_error)
}

/// Checks the lease is still ours (the last check before a commit).
pub async fn confirm(repo: &Repository, lease: &LeaseRef) -> Result<(), HandlerError> {
    LockLease::resume(repo, lease.clone())
        .confirm()
        .await
        .map_err(handler_error)
}

/// Releases the lease; one that is no longer ours is left alone.
pub async fn release(repo: &Repository, lease: &LeaseRef) -> Result<(), HandlerError> {
    LockLease::resume(repo, lease.clone())
        .release()
        .await
        .map_err(handler_error)
}
