//! Fault injection: throttling, server errors, forced limits, denied
//! operations, failed jobs, dropped downloads and short URL lifetimes. Every
//! decision comes from one seeded generator, so a run is repeatable for the
//! same sequence of calls.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::operation::Operation;

/// The fault plan, as given by `--faults FILE.json` or `PUT /_emulator/faults`.
/// Rates are probabilities from 0 to 1, per operation name or `"*"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    #[serde(default)]
    pub seed: u64,
    /// `ThrottlingException` (429) rate per operation.
    #[serde(default)]
    pub throttle: BTreeMap<String, f64>,
    /// `InternalFailureException` (500) / `ResourceUnavailableException` (503) rate per operation.
    #[serde(default)]
    pub server_error: BTreeMap<String, f64>,
    /// Forced `LimitExceededException` rate per operation.
    #[serde(default)]
    pub limit_exceeded: BTreeMap<String, f64>,
    /// Operations answered with `AccessDeniedException`.
    #[serde(default)]
    pub deny: BTreeSet<String>,
    /// Accounts whose every QuickSight call is answered with `AccessDeniedException`, as for
    /// a role without QuickSight permissions there.
    #[serde(default)]
    pub deny_accounts: BTreeSet<String>,
    /// Rate of downloads cut off half-way.
    #[serde(default)]
    pub drop_download: f64,
    /// Lifetime of a `DownloadUrl`, seconds (300 when absent).
    #[serde(default)]
    pub url_ttl_seconds: Option<f64>,
    /// Rate of export jobs forced to end `FAILED`.
    #[serde(default)]
    pub fail_export_jobs: f64,
    /// Rate of import rollbacks that fail (`FAILED_ROLLBACK_ERROR`), leaving
    /// what had succeeded in the account.
    #[serde(default)]
    pub fail_rollback: f64,
    /// Extra time every asset bundle job takes, milliseconds.
    #[serde(default)]
    pub job_delay_ms: u64,
}

/// A fault decision for one API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFault {
    None,
    Deny,
    Throttle,
    ServerError,
    Unavailable,
    LimitExceeded,
}

/// The live plan and its generator.
#[derive(Debug)]
pub struct Faults {
    pub plan: FaultPlan,
    rng: ChaCha8Rng,
}

impl Faults {
    pub fn new(plan: FaultPlan, seed: u64) -> Faults {
        let rng = ChaCha8Rng::seed_from_u64(plan.seed ^ seed.rotate_left(17));
        Faults { plan, rng }
    }

    pub fn set(&mut self, plan: FaultPlan) {
        self.rng = ChaCha8Rng::seed_from_u64(plan.seed);
        self.plan = plan;
    }

    fn rate(map: &BTreeMap<String, f64>, op: Operation) -> f64 {
        map.get(op.name()).or_else(|| map.get("*")).copied().unwrap_or(0.0)
    }

    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    pub fn for_call(&mut self, op: Operation, account: &str) -> CallFault {
        if self.plan.deny.contains(op.name()) || self.plan.deny_accounts.contains(account) {
            return CallFault::Deny;
        }
        let throttle = Self::rate(&self.plan.throttle, op);
        if self.roll(throttle) {
            return CallFault::Throttle;
        }
        let server = Self::rate(&self.plan.server_error, op);
        if self.roll(server) {
            return if self.rng.random::<bool>() {
                CallFault::ServerError
            } else {
                CallFault::Unavailable
            };
        }
        let limit = Self::rate(&self.plan.limit_exceeded, op);
        if self.roll(limit) {
            return CallFault::LimitExceeded;
        }
        CallFault::None
    }

    pub fn drop_download(&mut self) -> bool {
        let p = self.plan.drop_download;
        self.roll(p)
    }

    pub fn fail_export_job(&mut self) -> bool {
        let p = self.plan.fail_export_jobs;
        self.roll(p)
    }

    pub fn fail_rollback(&mut self) -> bool {
        let p = self.plan.fail_rollback;
        self.roll(p)
    }

    pub fn url_ttl(&self) -> f64 {
        self.plan.url_ttl_seconds.unwrap_or(300.0)
    }
}
