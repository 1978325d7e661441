//! A repository lock held across processes: the Step Functions handlers run each state in a
//! separate invocation, so no task can renew in the background. The first state takes the lock
//! and keeps its [`LockToken`] in the run's record; every later state renews or confirms by that
//! token, and the last one releases it. It is the same lock objects and protocol as
//! [`super::guard`]; other qsbackup processes see an ordinary lock.

use super::guard::HeldLock;
use super::protocol::{self, Attempt};
use super::{clock, Clock, LockError, LockRequest};
use crate::repository::Repository;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Proves which lock a holder owns: the token its lock objects are named by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockToken {
    pub token: String,
}

/// A lock held by token.
#[derive(Debug, Clone)]
pub struct LockLease {
    repo: Repository,
    token: LockToken,
    clock: Arc<dyn Clock>,
}

impl LockLease {
    /// Takes the lock `request` describes with a lease of `ttl`, without waiting: a conflicting
    /// lock is [`LockError::Held`] (after a bounded number of races with contenders).
    pub async fn take(repo: &Repository, request: &LockRequest, ttl: Duration) -> Result<LockLease, LockError> {
        Self::take_with(repo, request, ttl, clock::system()).await
    }

    /// [`LockLease::take`] judging time by `clock`.
    pub async fn take_with(
        repo: &Repository,
        request: &LockRequest,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<LockLease, LockError> {
        let mut races = 0;
        loop {
            match protocol::try_take(repo, request, ttl, &*clock).await? {
                Attempt::Taken(_, info) => {
                    return Ok(LockLease {
                        repo: repo.clone(),
                        token: LockToken { token: info.token },
                        clock,
                    })
                }
                Attempt::Raced(..) if races < 20 => {
                    races += 1;
                    tokio::time::sleep(Duration::from_millis(10 + rand::random::<u64>() % 240)).await;
                }
                Attempt::Held(key, holder) | Attempt::Raced(key, holder) => {
                    return Err(LockError::Held {
                        repository: repo.location().to_string(),
                        key,
                        holder: Box::new(holder),
                    })
                }
            }
        }
    }

    /// The lease a token names, in `repo`.
    pub fn resume(repo: &Repository, token: LockToken) -> LockLease {
        Self::resume_with(repo, token, clock::system())
    }

    /// [`LockLease::resume`] judging time by `clock`.
    pub fn resume_with(repo: &Repository, token: LockToken, clock: Arc<dyn Clock>) -> LockLease {
        LockLease {
            repo: repo.clone(),
            token,
            clock,
        }
    }

    pub fn token(&self) -> &LockToken {
        &self.token
    }

    /// Extends the lease by `ttl` from now; [`LockError::Lost`] when it is no longer ours.
    pub async fn renew(&self, ttl: Duration) -> Result<(), LockError> {
        protocol::renew(&self.repo, &self.token.token, ttl, &*self.clock)
            .await
            .map(|_| ())
    }

    /// Checks the lease is still ours (the last check before a commit).
    pub async fn confirm(&self) -> Result<(), LockError> {
        protocol::confirm(&self.repo, &self.token.token, &*self.clock).await
    }

    /// Removes the lock; a lock that is no longer ours is left alone.
    pub async fn release(&self) -> Result<(), LockError> {
        protocol::release(&self.repo, &self.token.token)
            .await
            .map_err(LockError::from)
    }
}

#[async_trait]
impl HeldLock for LockLease {
    async fn confirm(&self) -> Result<(), LockError> {
        LockLease::confirm(self).await
    }
}
