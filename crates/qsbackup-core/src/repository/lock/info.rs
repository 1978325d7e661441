//! What a lock object says: who holds it, why, until when, and whether it still keeps others
//! out. Plain data and host facts, so the crate's error type can name a lock's holder without
//! depending on the lock protocol.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

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
