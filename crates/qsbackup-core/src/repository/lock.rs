//! The repository lock: a lease that one writer at a time holds (backup, `forget --prune`,
//! restore), kept as small objects under `locks/` so it works wherever the repository does.
//!
//! Object stores have conditional create (`If-None-Match: *` on S3, `O_EXCL`-like on local disk)
//! but no compare-and-delete, so a lock is never taken over by deleting someone else's object.
//! Instead every acquisition creates the next *generation*, `locks/<generation>.json`, create-only:
//! the store lets exactly one contender create a given generation, and the holder is whoever
//! owns the highest generation. A new generation is only created when the highest one is
//! released, expired (its lease was not renewed in time), or belongs to a dead process on this
//! host. Lower generations are garbage and are removed by the next holder. A background task
//! renews the lease while the guard lives and notices when the lock was lost (a forced unlock,
//! or a renewal that came too late), which the run must check before committing.
//!
//! [`dynamodb`] adds an optional lease in a DynamoDB table, per QuickSight account, for teams
//! whose backups of one account go to different repositories.

pub mod dynamodb;

use crate::error::{Error, Result};
use crate::repository::Repository;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::{PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Where lock objects live.
pub const LOCKS_PREFIX: &str = crate::repository::layout::LOCKS;

/// Why a run holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockPurpose {
    Backup,
    /// `forget` without `--prune`: removes manifests only.
    Forget,
    Prune,
    Restore,
    /// A tombstone written by `qsbackup unlock`: never held, always released.
    Unlock,
}

impl fmt::Display for LockPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockPurpose::Backup => "backup",
            LockPurpose::Forget => "forget",
            LockPurpose::Prune => "prune",
            LockPurpose::Restore => "restore",
            LockPurpose::Unlock => "unlock",
        })
    }
}

/// The content of one lock object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub generation: u64,
    /// Random; tells the holder its own lock from a later one.
    pub token: String,
    pub purpose: LockPurpose,
    pub host: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// The lease ends here unless renewed.
    pub expires_at: DateTime<Utc>,
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
        write!(
            f,
            "{} run by pid {} on host {}, started {} (lease until {})",
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
}

/// Why the lock could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
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

/// Lease timing.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
    /// How often the holder renews it.
    pub renew_every: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            ttl: Duration::from_secs(300),
            renew_every: Duration::from_secs(60),
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

fn lock_key(generation: u64) -> String {
    format!("{LOCKS_PREFIX}{generation:020}.json")
}

fn generation_of(key: &str) -> Option<u64> {
    key.strip_prefix(LOCKS_PREFIX)?.strip_suffix(".json")?.parse().ok()
}

/// A lease length as a TimeDelta to add to the current time. Clamped to a century: adding
/// `TimeDelta::MAX` to a date overflows chrono's range and panics, and a lease that long is
/// "held until released" anyway.
pub fn ttl_delta(d: Duration) -> chrono::TimeDelta {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    chrono::TimeDelta::from_std(d.min(CENTURY)).unwrap_or(chrono::TimeDelta::MAX)
}

/// Generations present under `locks/`, ascending.
async fn generations(repo: &Repository) -> Result<Vec<u64>> {
    let mut gens: Vec<u64> = repo
        .list(LOCKS_PREFIX)
        .await?
        .iter()
        .filter_map(|o| generation_of(&o.key))
        .collect();
    gens.sort_unstable();
    Ok(gens)
}

/// Reads one lock object; `None` when it is gone.
async fn read_lock(repo: &Repository, generation: u64) -> Result<Option<LockInfo>> {
    let key = lock_key(generation);
    match repo.get(&key).await {
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

async fn write_lock(repo: &Repository, info: &LockInfo, mode: PutMode) -> Result<()> {
    let key = lock_key(info.generation);
    let json = serde_json::to_vec_pretty(info).map_err(|source| Error::Json {
        context: format!("lock {key}"),
        source,
    })?;
    let path = repo.path(&key)?;
    repo.store()
        .put_opts(&path, PutPayload::from(Bytes::from(json)), PutOptions::from(mode))
        .await
        .map(|_| ())
        .map_err(|e| repo.store_error(&key, e))
}

/// The lock objects of a repository with their state, highest generation last.
#[derive(Debug, Clone, Serialize)]
pub struct LockEntry {
    pub key: String,
    pub info: Option<LockInfo>,
    pub state: LockState,
    /// Only the highest generation can be held; lower ones are leftovers.
    pub current: bool,
}

/// Lists every lock object with its state.
pub async fn list_locks(repo: &Repository) -> Result<Vec<LockEntry>> {
    let gens = generations(repo).await?;
    let top = gens.last().copied();
    let now = Utc::now();
    let mut out = Vec::new();
    for g in gens {
        let key = lock_key(g);
        let (info, state) = match read_lock(repo, g).await {
            Ok(Some(info)) => {
                let state = info.state(now);
                (Some(info), state)
            }
            Ok(None) => continue,
            Err(e) => (None, LockState::Stale(format!("unreadable: {e}"))),
        };
        out.push(LockEntry {
            key,
            info,
            state,
            current: Some(g) == top,
        });
    }
    Ok(out)
}

/// What `unlock` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnlockReport {
    /// Lock objects that no longer keep anyone out (and were removed or superseded).
    pub removed: Vec<LockEntry>,
    /// A live lock left alone (without `force`).
    pub live: Option<LockEntry>,
}

/// Removes stale and released locks; a live lock only with `force` (its holder notices at its
/// next renewal and stops before committing anything).
pub async fn unlock(repo: &Repository, force: bool) -> Result<UnlockReport> {
    let entries = list_locks(repo).await?;
    let mut report = UnlockReport::default();
    let Some(top) = entries.last().cloned() else {
        return Ok(report);
    };
    let top_generation = generation_of(&top.key).unwrap_or(0);
    let supersede = match top.state {
        LockState::Live if !force => {
            report.live = Some(top.clone());
            false
        }
        LockState::Released => false,
        _ => true,
    };
    if supersede {
        // A released tombstone above it: the old holder, if alive, sees a higher generation.
        let now = Utc::now();
        let tombstone = LockInfo {
            generation: top_generation + 1,
            token: hex::encode(rand::random::<[u8; 12]>()),
            purpose: LockPurpose::Unlock,
            host: host_name(),
            pid: std::process::id(),
            started_at: now,
            renewed_at: now,
            expires_at: now,
            released: true,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            process_scope: process_scope(),
        };
        match write_lock(repo, &tombstone, PutMode::Create).await {
            Ok(()) | Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        report.removed.push(top.clone());
    }
    for e in &entries {
        if e.key == top.key {
            continue;
        }
        repo.delete(&e.key).await?;
        if e.state != LockState::Released {
            report.removed.push(e.clone());
        }
    }
    if supersede {
        repo.delete(&top.key).await?;
    }
    Ok(report)
}

#[derive(Default)]
struct Shared {
    lost: Option<String>,
}

/// A held lock. Call [`LockGuard::release`] when done; dropping it stops the renewals and
/// releases it in the background if a runtime is still there.
pub struct LockGuard {
    repo: Repository,
    key: String,
    info: LockInfo,
    shared: Arc<Mutex<Shared>>,
    renewer: Option<JoinHandle<()>>,
    released: bool,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.key)
            .field("info", &self.info)
            .finish()
    }
}

/// Takes and renews the repository lock.
pub struct RepositoryLock;

enum Attempt {
    Acquired(LockGuard),
    Held(LockInfo, String),
    /// Lost a create race; look again at once.
    Again,
}

impl RepositoryLock {
    /// Takes the lock for `purpose`, waiting up to `wait` (with backoff) while another run
    /// holds it; then [`LockError::Held`] names the holder.
    pub async fn acquire(repo: &Repository, purpose: LockPurpose, wait: Duration) -> Result<LockGuard, LockError> {
        Self::acquire_with(repo, purpose, wait, &LockOptions::default()).await
    }

    /// [`RepositoryLock::acquire`] with explicit lease timing.
    pub async fn acquire_with(
        repo: &Repository,
        purpose: LockPurpose,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<LockGuard, LockError> {
        let deadline = crate::poll::deadline_after(wait);
        let mut backoff = Duration::from_millis(100);
        let mut races = 0u32;
        loop {
            match try_acquire(repo, purpose, options).await? {
                Attempt::Acquired(guard) => return Ok(guard),
                Attempt::Again => {
                    races += 1;
                    if races > 50 {
                        return Err(LockError::Store(Error::Integrity {
                            key: LOCKS_PREFIX.into(),
                            message: "gave up after 50 lost races for the lock".into(),
                        }));
                    }
                }
                Attempt::Held(holder, key) => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Err(LockError::Held {
                            repository: repo.location().to_string(),
                            key,
                            holder: Box::new(holder),
                        });
                    }
                    let pause = backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0).min(deadline - now);
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

async fn try_acquire(repo: &Repository, purpose: LockPurpose, options: &LockOptions) -> Result<Attempt, LockError> {
    let gens = generations(repo).await?;
    let mut next = 1;
    if let Some(&top) = gens.last() {
        next = top + 1;
        if let Some(info) = read_lock(repo, top).await? {
            if info.state(Utc::now()) == LockState::Live {
                return Ok(Attempt::Held(info, lock_key(top)));
            }
        }
    }
    let now = Utc::now();
    let info = LockInfo {
        generation: next,
        token: hex::encode(rand::random::<[u8; 12]>()),
        purpose,
        host: host_name(),
        pid: std::process::id(),
        started_at: now,
        renewed_at: now,
        expires_at: now + ttl_delta(options.ttl),
        released: false,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        process_scope: process_scope(),
    };
    match write_lock(repo, &info, PutMode::Create).await {
        Ok(()) => {}
        Err(Error::AlreadyExists { .. }) => return Ok(Attempt::Again),
        Err(e) => return Err(e.into()),
    }
    let key = lock_key(next);
    // A contender that listed before lower generations were cleaned up may have created a
    // generation below a newer one: the highest wins, so step back if ours is not it.
    let after = generations(repo).await?;
    if let Some(&higher) = after.iter().find(|&&g| g > next) {
        repo.delete(&key).await?;
        return match read_lock(repo, higher).await? {
            Some(h) if h.state(Utc::now()) == LockState::Live => Ok(Attempt::Held(h, lock_key(higher))),
            _ => Ok(Attempt::Again),
        };
    }
    for g in after.into_iter().filter(|&g| g < next) {
        repo.delete(&lock_key(g)).await?;
    }
    let shared = Arc::new(Mutex::new(Shared::default()));
    let renewer = tokio::spawn(renew_loop(repo.clone(), info.clone(), options.clone(), shared.clone()));
    Ok(Attempt::Acquired(LockGuard {
        repo: repo.clone(),
        key,
        info,
        shared,
        renewer: Some(renewer),
        released: false,
    }))
}

/// Why the lock at generation `mine` is no longer ours, if it is not.
async fn ownership(repo: &Repository, mine: &LockInfo) -> Result<Option<String>> {
    let gens = generations(repo).await?;
    if let Some(&higher) = gens.iter().find(|&&g| g > mine.generation) {
        let by = match read_lock(repo, higher).await? {
            Some(h) => format!("superseded by generation {higher} ({h})"),
            None => format!("superseded by generation {higher}"),
        };
        return Ok(Some(by));
    }
    match read_lock(repo, mine.generation).await? {
        None => Ok(Some("its lock object was removed".into())),
        Some(found) if found.token != mine.token => Ok(Some("its lock object belongs to another run".into())),
        Some(found) if found.released => Ok(Some("it was released by someone else".into())),
        Some(_) => Ok(None),
    }
}

async fn renew_loop(repo: Repository, mut info: LockInfo, options: LockOptions, shared: Arc<Mutex<Shared>>) {
    let mark_lost = |reason: String| {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        s.lost.get_or_insert(reason);
    };
    let mut pause = options.renew_every;
    loop {
        tokio::time::sleep(pause).await;
        let now = Utc::now();
        if now > info.expires_at {
            mark_lost(format!(
                "it could not be renewed before its lease ended at {}",
                info.expires_at
            ));
            return;
        }
        let renewed = async {
            if let Some(reason) = ownership(&repo, &info).await? {
                return Ok::<_, Error>(Some(reason));
            }
            let mut next = info.clone();
            next.renewed_at = now;
            next.expires_at = now + ttl_delta(options.ttl);
            write_lock(&repo, &next, PutMode::Overwrite).await?;
            info = next;
            Ok(None)
        }
        .await;
        match renewed {
            Ok(None) => pause = options.renew_every,
            Ok(Some(reason)) => {
                mark_lost(reason);
                return;
            }
            // A store hiccup: try again soon, while the lease still runs.
            Err(_) => pause = (options.renew_every / 4).max(Duration::from_millis(50)),
        }
    }
}

impl LockGuard {
    /// The lock as taken.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The lock object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `Err(LockError::Lost)` once the lock is no longer ours; check before committing.
    pub fn check(&self) -> Result<(), LockError> {
        let s = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        match &s.lost {
            None => Ok(()),
            Some(reason) => Err(LockError::Lost {
                repository: self.repo.location().to_string(),
                key: self.key.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// Confirms against the repository (not only the renewal task's view) that the lock is
    /// still ours; the last check before a commit.
    pub async fn confirm(&self) -> Result<(), LockError> {
        self.check()?;
        match ownership(&self.repo, &self.info).await? {
            None => Ok(()),
            Some(reason) => Err(LockError::Lost {
                repository: self.repo.location().to_string(),
                key: self.key.clone(),
                reason,
            }),
        }
    }

    /// Stops renewing and marks the lock released.
    pub async fn release(mut self) -> Result<(), LockError> {
        self.released = true;
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        release_lock(&self.repo, &self.info).await.map_err(LockError::from)
    }
}

async fn release_lock(repo: &Repository, info: &LockInfo) -> Result<()> {
    if ownership(repo, info).await?.is_some() {
        return Ok(());
    }
    let mut done = info.clone();
    done.released = true;
    done.renewed_at = Utc::now();
    write_lock(repo, &done, PutMode::Overwrite).await
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        if !self.released {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let repo = self.repo.clone();
                let info = self.info.clone();
                handle.spawn(async move {
                    let _ = release_lock(&repo, &info).await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
