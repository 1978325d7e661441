//! The optional account lock (`lock.dynamodb_table`) held across Lambda invocations: the same
//! DynamoDB lease a CLI backup takes (one item per QuickSight account), so runs of one account
//! into different repositories exclude each other however they are started. As with the
//! repository lease ([`crate::lease`]), no task can renew it in the background: begin-run takes
//! it and keeps its holder record in the run record, every later state renews it by its token,
//! and the commit or the abort releases it. Its holder is `step-functions:<run-id>` with no pid,
//! so only its expiry makes it stale.

use crate::{Env, HandlerError};
use qsbackup_core::repository::lock::{dynamodb, LockError, LockInfo, LockOptions, LockPurpose};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which lease the run holds: the holder record carries its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLease {
    pub table: String,
    pub lock_id: String,
    pub holder: LockInfo,
}

/// The lock id a CLI backup of the account takes too (see `qsbackup_core::backup::run_backup`).
fn lock_id(account_id: &str) -> String {
    format!("qsbackup/quicksight-account/{account_id}")
}

fn client(env: &Env) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&env.aws.home)
}

fn handler_error(e: LockError) -> HandlerError {
    match e {
        LockError::Held { .. } => HandlerError::new("RepositoryLocked", e.to_string()),
        LockError::Lost { .. } => HandlerError::new("LeaseLost", format!("the run's account lock was lost: {e}")),
        other => HandlerError::new("RepositoryError", format!("account lock: {other}")),
    }
}

/// Takes the account's lease for run `run_id` when the config names a table.
pub async fn acquire(env: &Env, run_id: &str, ttl: Duration) -> Result<Option<AccountLease>, HandlerError> {
    let Some(table) = env.config.lock.as_ref().and_then(|l| l.dynamodb_table.clone()) else {
        return Ok(None);
    };
    let client = client(env);
    let lock_id = lock_id(&env.aws.account_id);
    let options = LockOptions {
        ttl,
        renew_every: ttl,
        ..Default::default()
    };
    let guard = dynamodb::acquire(&client, &table, &lock_id, LockPurpose::Backup, Duration::ZERO, &options)
        .await
        .map_err(handler_error)?;
    let mut holder = guard.detach();
    holder.host = format!("step-functions:{run_id}");
    holder.pid = 0;
    // Rewrites the holder record, so no one judges the lease by this sandbox's process.
    if let Err(e) = dynamodb::renew(&client, &table, &lock_id, &holder, ttl).await {
        let _ = dynamodb::release(&client, &table, &lock_id, &holder.token).await;
        return Err(handler_error(e));
    }
    Ok(Some(AccountLease { table, lock_id, holder }))
}

/// Extends the lease by `ttl` from now; `LeaseLost` when it is no longer the run's.
pub async fn renew(env: &Env, lease: &AccountLease, ttl: Duration) -> Result<(), HandlerError> {
    dynamodb::renew(&client(env), &lease.table, &lease.lock_id, &lease.holder, ttl)
        .await
        .map(|_| ())
        .map_err(handler_error)
}

/// Releases the lease; one that is no longer the run's is left alone.
pub async fn release(env: &Env, lease: &AccountLease) -> Result<(), HandlerError> {
    dynamodb::release(&client(env), &lease.table, &lease.lock_id, &lease.holder.token)
        .await
        .map_err(handler_error)
}
