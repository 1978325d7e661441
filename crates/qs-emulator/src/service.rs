//! The emulated service's state: the accounts of every region, statistics, downloads handed
//! out, injected faults and the latency generator, behind the locks every operation takes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

use crate::account::Account;
use crate::faults::Faults;
use crate::stats::Stats;
use crate::wire::{self, ApiError};
use crate::{generate, EmulatorOptions, Profile, Timing};

/// A download served by the emulator in place of S3.
#[derive(Debug, Clone)]
pub struct Download {
    pub account: String,
    pub region: String,
    pub job_id: String,
    pub expires_at: f64,
}

/// The seed of account `i` in populated region `j`: the run's own seed for the first account in
/// the first region (so a one-account emulator is what it always was), a different one for
/// every other pair.
pub fn account_seed(seed: u64, i: usize, j: usize) -> u64 {
    seed.wrapping_add(((i as u64) << 16) | ((j as u64) << 8))
}

/// Everything mutable about the emulated service.
#[derive(Debug, Default)]
pub struct World {
    /// (region, account id) to account state.
    pub accounts: BTreeMap<(String, String), Account>,
    pub known_accounts: BTreeSet<String>,
    pub stats: BTreeMap<String, Stats>,
    pub downloads: HashMap<String, Download>,
}

/// The emulated QuickSight service.
pub struct Service {
    pub region: String,
    pub identity_region: String,
    pub timing: Timing,
    pub s3_endpoint: Option<String>,
    pub base_url: String,
    pub seed: u64,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    pub(crate) latency_rng: Mutex<ChaCha8Rng>,
    pub http: reqwest::Client,
    /// Brings an account up to date (import jobs whose time has come, analyses past their
    /// recovery window); the operations provide it, so the service state does not depend on them.
    settle: fn(&mut Account),
}

impl Service {
    pub fn new(options: EmulatorOptions, addr: SocketAddr, settle: fn(&mut Account)) -> Service {
        let now = wire::now_epoch();
        let mut world = World::default();
        let regions = if options.regions.is_empty() {
            vec![options.region.clone()]
        } else {
            options.regions.clone()
        };
        for (i, id) in options.accounts.iter().enumerate() {
            let profile = match options.profiles.get(i) {
                Some(p) => *p,
                None if i == 0 && options.profiles.is_empty() => options.profile,
                None => Profile::Empty,
            };
            for (j, region) in regions.iter().enumerate() {
                let account = match (&options.state, i, j) {
                    (Some(state), 0, 0) => {
                        let mut a = state.clone();
                        a.account_id = id.clone();
                        a
                    }
                    // The first account's empty state is generate's, as it always was.
                    _ if profile == Profile::Empty && (i, j) != (0, 0) => Account::empty(id, region, now),
                    _ => generate::generate(
                        profile,
                        account_seed(options.seed, i, j),
                        id,
                        region,
                        &options.identity_region,
                    ),
                };
                world.accounts.insert((region.clone(), id.clone()), account);
            }
            world.known_accounts.insert(id.clone());
        }
        Service {
            region: options.region,
            identity_region: options.identity_region,
            timing: options.timing,
            s3_endpoint: options.s3_endpoint,
            base_url: format!("http://{addr}"),
            seed: options.seed,
            world: Mutex::new(world),
            faults: Mutex::new(Faults::new(options.faults, options.seed)),
            latency_rng: Mutex::new(ChaCha8Rng::seed_from_u64(options.seed)),
            http: reqwest::Client::new(),
            settle,
        }
    }

    /// Locks the world; never held across an await.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the account in `region`, creating its empty state in a
    /// region first touched (accounts exist in every region).
    pub fn with_account<R>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut Account, &mut Stats) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut world = self.world();
        if !world.known_accounts.contains(account) {
            return Err(ApiError::new(
                "AccessDeniedException",
                format!(
                    "User is not authorized to access account {account}: the account is not signed up for QuickSight."
                ),
            ));
        }
        let key = (region.to_string(), account.to_string());
        let now = wire::now_epoch();
        let World { accounts, stats, .. } = &mut *world;
        let acct = accounts
            .entry(key)
            .or_insert_with(|| Account::empty(account, region, now));
        let st = stats.entry(account.to_string()).or_default();
        (self.settle)(acct);
        f(acct, st)
    }
}
