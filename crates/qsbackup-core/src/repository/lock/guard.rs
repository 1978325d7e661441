//! A lock held by this process: taken with bounded, jittered retries within a wait budget,
//! renewed by a background task while the guard lives, released when it is dropped. The typed
//! guards [`SharedLock`] and [`ExclusiveLock`] are what operations take as arguments, so an
//! embedder cannot run one without the lock it needs.

use super::protocol::{self, Attempt};
use super::{LockError, LockInfo, LockOptions, LockPurpose, LockRequest};
use crate::repository::Repository;
use async_trait::async_trait;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Something that holds a repository lock and can prove it before a commit.
#[async_trait]
pub trait HeldLock: Send + Sync {
    /// `Err(LockError::Lost)` unless the repository still shows the lock as ours.
    async fn confirm(&self) -> Result<(), LockError>;
}

/// A conflicting lock that appeared while ours was taken makes both contenders withdraw; they
/// retry this many times (after a short random pause) before reporting the other as the holder.
const MAX_RACES: u32 = 20;

#[derive(Default)]
struct Current {
    key: String,
    lost: Option<String>,
}

/// A held lock. Call [`LockGuard::release`] when done; dropping it stops the renewals and
/// releases it in the background if a runtime is still there.
pub struct LockGuard {
    repo: Repository,
    info: LockInfo,
    options: LockOptions,
    current: Arc<Mutex<Current>>,
    renewer: Option<JoinHandle<()>>,
    released: bool,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").field("info", &self.info).finish()
    }
}

/// Takes repository locks.
pub struct RepositoryLock;

impl RepositoryLock {
    /// A shared lock for `purpose`.
    pub async fn shared(repo: &Repository, purpose: LockPurpose, wait: Duration) -> Result<SharedLock, LockError> {
        Self::shared_with(repo, &LockRequest::shared(purpose), wait, &LockOptions::default()).await
    }

    /// A shared lock as `request` describes it (e.g. [`LockRequest::backup`] with its account).
    pub async fn shared_with(
        repo: &Repository,
        request: &LockRequest,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<SharedLock, LockError> {
        let request = LockRequest {
            exclusive: false,
            ..request.clone()
        };
        Self::acquire_with(repo, &request, wait, options).await.map(SharedLock)
    }

    /// The exclusive lock for `purpose`.
    pub async fn exclusive(
        repo: &Repository,
        purpose: LockPurpose,
        wait: Duration,
    ) -> Result<ExclusiveLock, LockError> {
        Self::exclusive_with(repo, purpose, wait, &LockOptions::default()).await
    }

    /// [`RepositoryLock::exclusive`] with explicit lease timing.
    pub async fn exclusive_with(
        repo: &Repository,
        purpose: LockPurpose,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<ExclusiveLock, LockError> {
        Self::acquire_with(repo, &LockRequest::exclusive(purpose), wait, options)
            .await
            .map(ExclusiveLock)
    }

    /// Takes the lock `request` describes, waiting up to `wait` (with jittered backoff) while a
    /// conflicting one is held; then [`LockError::Held`] names the holder.
    pub async fn acquire_with(
        repo: &Repository,
        request: &LockRequest,
        wait: Duration,
        options: &LockOptions,
    ) -> Result<LockGuard, LockError> {
        let deadline = crate::poll::deadline_after(wait);
        let mut backoff = Duration::from_millis(100);
        let mut races = 0u32;
        loop {
            let (key, holder) = match protocol::try_take(repo, request, options.ttl, &*options.clock).await? {
                Attempt::Taken(key, info) => return Ok(LockGuard::start(repo, key, info, options)),
                Attempt::Raced(..) if races < MAX_RACES => {
                    races += 1;
                    let pause = Duration::from_millis(10 + rand::random::<u64>() % 240);
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Attempt::Held(key, holder) | Attempt::Raced(key, holder) => (key, holder),
            };
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

impl LockGuard {
    fn start(repo: &Repository, key: String, info: LockInfo, options: &LockOptions) -> LockGuard {
        let current = Arc::new(Mutex::new(Current { key, lost: None }));
        let renewer = tokio::spawn(renew_loop(
            repo.clone(),
            info.token.clone(),
            options.clone(),
            current.clone(),
        ));
        LockGuard {
            repo: repo.clone(),
            info,
            options: options.clone(),
            current,
            renewer: Some(renewer),
            released: false,
        }
    }

    /// The lock as taken.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The repository it locks.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The key of the lock's current object.
    pub fn key(&self) -> String {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).key.clone()
    }

    /// `Err(LockError::Lost)` once the renewals found the lock is no longer ours.
    pub fn check(&self) -> Result<(), LockError> {
        let c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match &c.lost {
            None => Ok(()),
            Some(reason) => Err(LockError::Lost {
                repository: self.repo.location().to_string(),
                key: c.key.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// Confirms against the repository (not only the renewal task's view) that the lock is
    /// still ours; the last check before a commit.
    pub async fn confirm(&self) -> Result<(), LockError> {
        self.check()?;
        protocol::confirm(&self.repo, &self.info.token, &*self.options.clock).await
    }

    /// Renews the lease now (the background task does this every `renew_every`).
    pub async fn renew(&self) -> Result<(), LockError> {
        self.check()?;
        renew_once(&self.repo, &self.info.token, &self.options, &self.current).await
    }

    /// Stops renewing and removes the lock's objects.
    pub async fn release(mut self) -> Result<(), LockError> {
        self.released = true;
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        protocol::release(&self.repo, &self.info.token)
            .await
            .map_err(LockError::from)
    }

    /// Stops the renewals without releasing: the lock stays until it expires (tests of holders
    /// that froze or vanished).
    #[doc(hidden)]
    pub fn freeze(mut self) {
        self.released = true;
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
    }
}

#[async_trait]
impl HeldLock for LockGuard {
    async fn confirm(&self) -> Result<(), LockError> {
        LockGuard::confirm(self).await
    }
}

async fn renew_once(
    repo: &Repository,
    token: &str,
    options: &LockOptions,
    current: &Mutex<Current>,
) -> Result<(), LockError> {
    match super::protocol::renew(repo, token, options.ttl, &*options.clock).await {
        Ok((key, _)) => {
            current.lock().unwrap_or_else(|p| p.into_inner()).key = key;
            Ok(())
        }
        Err(LockError::Lost { reason, .. }) => {
            let mut c = current.lock().unwrap_or_else(|p| p.into_inner());
            c.lost.get_or_insert(reason);
            drop(c);
            Err(lost_of(repo, current))
        }
        Err(e) => Err(e),
    }
}

fn lost_of(repo: &Repository, current: &Mutex<Current>) -> LockError {
    let c = current.lock().unwrap_or_else(|p| p.into_inner());
    LockError::Lost {
        repository: repo.location().to_string(),
        key: c.key.clone(),
        reason: c.lost.clone().unwrap_or_default(),
    }
}

async fn renew_loop(repo: Repository, token: String, options: LockOptions, current: Arc<Mutex<Current>>) {
    let mut pause = options.renew_every;
    loop {
        tokio::time::sleep(pause).await;
        match renew_once(&repo, &token, &options, &current).await {
            Ok(()) => pause = options.renew_every,
            Err(LockError::Lost { .. }) => return,
            // A store hiccup: try again soon, while the lease still runs.
            Err(_) => pause = (options.renew_every / 4).max(Duration::from_millis(50)),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(task) = self.renewer.take() {
            task.abort();
        }
        if !self.released {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let repo = self.repo.clone();
                let token = self.info.token.clone();
                handle.spawn(async move {
                    let _ = protocol::release(&repo, &token).await;
                });
            }
        }
    }
}

macro_rules! typed_guard {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug)]
        pub struct $name(LockGuard);

        impl $name {
            /// Stops renewing and removes the lock.
            pub async fn release(self) -> Result<(), LockError> {
                self.0.release().await
            }

            /// The guard underneath.
            pub fn into_inner(self) -> LockGuard {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = LockGuard;
            fn deref(&self) -> &LockGuard {
                &self.0
            }
        }

        #[async_trait]
        impl HeldLock for $name {
            async fn confirm(&self) -> Result<(), LockError> {
                self.0.confirm().await
            }
        }
    };
}

typed_guard!(
    SharedLock,
    "A shared repository lock (backup, restore, verify): held beside other shared locks, never beside the exclusive one."
);
typed_guard!(
    ExclusiveLock,
    "The exclusive repository lock (forget, prune, import-legacy): held by one run while no other lock is."
);
