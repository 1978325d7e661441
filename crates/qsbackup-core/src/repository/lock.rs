//! The repository locks, as restic has them: every holder creates its own object
//! `locks/<token>-<n>.json` (create-only) saying whether it is exclusive, why it is held
//! ([`LockPurpose`]), which QuickSight account a backup is of, and who holds it until when.
//! Backups, restores and verifies hold *shared* locks; forget, prune and import-legacy the
//! *exclusive* one. Two backups of the same account also conflict, so one account is never
//! backed up twice at once into one repository.
//!
//! Object stores have conditional create but no compare-and-delete, so a lock object is never
//! overwritten: a renewal creates the holder's next object (`<token>-<n+1>`) and then deletes
//! the previous one; releasing deletes the holder's objects. Taking a lock is "create mine, then
//! list": whoever finds a conflicting live lock after creating its own removes its own and backs
//! off, so of two conflicting contenders at most one keeps its lock (the later of the two lists
//! after both objects exist). Leases expire unless renewed; a lock of a dead process in this
//! boot and PID namespace is stale at once; `unlock` removes stale locks (and live ones with
//! `--force`, which their holders notice before they commit).
//!
//! [`guard`] holds a lock in-process with a background renewal and gives the typed guards
//! ([`SharedLock`], [`ExclusiveLock`]) that operations take as arguments; [`lease`] holds one
//! across processes by a serialisable token (the Step Functions handlers); [`dynamodb`] adds an
//! optional lease in a DynamoDB table, per QuickSight account, for teams whose backups of one
//! account go to different repositories. All read time from a [`clock::Clock`].

pub mod clock;
pub mod dynamodb;
pub mod guard;
pub mod info;
pub mod lease;
mod protocol;

pub use crate::error::LockError;
pub use clock::{Clock, ManualClock, SystemClock};
pub use guard::{ExclusiveLock, HeldLock, LockGuard, RepositoryLock, SharedLock};
pub use info::{host_name, process_alive, process_scope, LockInfo, LockPurpose, LockState};
pub use lease::{LockLease, LockToken};
pub use protocol::{list_locks, list_locks_at, unlock, unlock_at, LockEntry, UnlockReport};

use std::sync::Arc;
use std::time::Duration;

/// Where lock objects live.
pub const LOCKS_PREFIX: &str = crate::repository::layout::LOCKS;

/// What a run asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub purpose: LockPurpose,
    pub exclusive: bool,
    /// The QuickSight account a backup is of: backups of one account exclude each other.
    pub account: Option<String>,
    /// Who holds it, when not this process (e.g. `step-functions:<run-id>`): such a lock has no
    /// pid and only its expiry makes it stale.
    pub holder: Option<String>,
}

impl LockRequest {
    /// A shared lock for `purpose`.
    pub fn shared(purpose: LockPurpose) -> Self {
        LockRequest {
            purpose,
            exclusive: false,
            account: None,
            holder: None,
        }
    }

    /// The exclusive lock for `purpose`.
    pub fn exclusive(purpose: LockPurpose) -> Self {
        LockRequest {
            exclusive: true,
            ..Self::shared(purpose)
        }
    }

    /// A shared backup lock of QuickSight account `account_id`.
    pub fn backup(account_id: &str) -> Self {
        LockRequest {
            account: Some(account_id.to_string()),
            ..Self::shared(LockPurpose::Backup)
        }
    }

    /// Held by `holder` rather than this process.
    pub fn held_by(mut self, holder: impl Into<String>) -> Self {
        self.holder = Some(holder.into());
        self
    }
}

/// Lease timing, and the clock leases are judged by.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
    /// How often the holder renews it.
    pub renew_every: Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            ttl: Duration::from_secs(300),
            renew_every: Duration::from_secs(60),
            clock: clock::system(),
        }
    }
}

/// A lease length as a TimeDelta to add to the current time. Clamped to a century: adding
/// `TimeDelta::MAX` to a date overflows chrono's range and panics, and a lease that long is
/// "held until released" anyway.
pub fn ttl_delta(d: Duration) -> chrono::TimeDelta {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    chrono::TimeDelta::from_std(d.min(CENTURY)).unwrap_or(chrono::TimeDelta::MAX)
}

#[cfg(test)]
mod tests;
