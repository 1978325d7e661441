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
pub mod lease;
mod protocol;

pub use clock::{Clock, ManualClock, SystemClock};
pub use guard::{ExclusiveLock, HeldLock, LockGuard, RepositoryLock, SharedLock};
pub use lease::{LockLease, LockToken};
pub use protocol::{list_locks, list_locks_at, unlock, unlock_at, LockEntry, UnlockReport};

use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where lock objects live.
pub const LOCKS_PREFIX: &str = crate::repository::layout::LOCKS;

/// Why a run holds a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockPurpose {
    Backup,
    /// `forget` without `--prune`: removes manifests only.
    Forget,
    Prune,
    Restore,
    Verify,
    ImportLegacy,
    /// A tombstone an older `qsbackup unlock` wrote: never held, always released.
    Unlock,
}

impl fmt::Display for LockPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockPurpose::Backup => "backup",
            LockPurpose::Forget => "forget",
            LockPurpose::Prune => "prune",
            LockPurpose::Restore => "restore",
            LockPurpose::Verify => "verify",
            LockPurpose::ImportLegacy => "import-legacy",
            LockPurpose::Unlock => "unlock",
        })
    }
}

fn exclusive_by_default() -> bool {
    // Objects of the generation-numbered lock (before shared locks) had no flag: every one of
    // them kept everyone out.
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The content of one lock object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random, the same across the holder's renewals; names its objects.
    pub token: String,
    /// Keeps every other holder out (forget, prune, import-legacy); shared locks only keep the
    /// exclusive one and backups of the same account out.
    #[serde(default = "exclusive_by_default")]
    pub exclusive: bool,
    pub purpose: LockPurpose,
    /// The QuickSight account a backup is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub host: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// The lease ends here unless renewed.
    pub expires_at: DateTime<Utc>,
    /// Only objects of the generation-numbered lock carry these two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub released: bool,
    pub tool_version: String,
    /// Where `pid` means something: this kernel boot and PID namespace. Two
    /// machines or containers can share a host name; only a holder in the same
    /// scope can be judged dead by its pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_scope: Option<String>,
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let account = match &self.account {
            Some(a) => format!(" for account {a}"),
            None => String::new(),
        };
        write!(
            f,
            "{} run by pid {} on host {}{account}, started {} (lease until {})",
            self.purpose,
            self.pid,
            self.host,
            self.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
        )
    }
}

/// Whether a lock object still keeps others out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum LockState {
    Live,
    Released,
    /// Expired or held by a dead process; the reason says which.
    Stale(String),
}

impl LockInfo {
    /// Judges the lock at `now`, from this host's point of view.
    pub fn state(&self, now: DateTime<Utc>) -> LockState {
        if self.released {
            return LockState::Released;
        }
        if now > self.expires_at {
            return LockState::Stale(format!(
                "its lease expired at {}",
                self.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        let same_scope = self.process_scope.is_some() && self.process_scope == process_scope();
        if self.host == host_name() && same_scope && process_alive(self.pid) == Some(false) {
            return LockState::Stale(format!("process {} on this host is not running", self.pid));
        }
        LockState::Live
    }

    /// Whether this lock and `other` cannot be held at once.
    pub fn conflicts_with(&self, other: &LockInfo) -> bool {
        self.exclusive || other.exclusive || (self.account.is_some() && self.account == other.account)
    }
}

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

/// Why the lock could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds a conflicting lock.
    #[error(
        "repository {repository} is locked by a {holder} [{key}]; wait for it with --lock-wait SECONDS, \
         or if that run is gone, run `qsbackup unlock`"
    )]
    Held {
        repository: String,
        key: String,
        holder: Box<LockInfo>,
    },
    /// The lock was taken away or could not be renewed in time; the run must not commit.
    #[error("repository {repository}: the lock {key} was lost: {reason}")]
    Lost {
        repository: String,
        key: String,
        reason: String,
    },
    /// The store failed while taking, renewing or releasing the lock.
    #[error("repository lock: {0}")]
    Store(#[source] Error),
}

impl From<Error> for LockError {
    fn from(e: Error) -> Self {
        LockError::Store(e)
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

/// The name this host reports, as recorded in lock and journal objects.
pub fn host_name() -> String {
    let from_file = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown-host".into())
}

/// This process's boot and PID namespace (`<boot id>/<pid namespace>`), when
/// the platform tells them (Linux); pids compare only within one scope.
pub fn process_scope() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), pid_ns.to_string_lossy()))
}

/// Whether process `pid` on this host runs; `None` when this platform cannot tell.
pub fn process_alive(pid: u32) -> Option<bool> {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // A killed process that its parent has not reaped yet is a zombie: it runs no more.
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            Some(!matches!(state, Some('Z' | 'X' | 'x')))
        }
        Err(_) => Some(false),
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
