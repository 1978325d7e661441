//! How long API calls and asset bundle jobs take in the emulator.

use std::time::Duration;

use rand::RngExt;

/// `Instant` for tests; `Realistic` for benchmarks (figures from issue 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timing {
    #[default]
    Instant,
    Realistic,
}

impl std::str::FromStr for Timing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "instant" => Ok(Timing::Instant),
            "realistic" => Ok(Timing::Realistic),
            other => Err(format!("unknown timing {other:?}: expected instant or realistic")),
        }
    }
}

impl Timing {
    /// Latency added to every API call: 20 to 60 ms when realistic.
    pub fn api_latency(self, rng: &mut impl RngExt) -> Duration {
        match self {
            Timing::Instant => Duration::ZERO,
            Timing::Realistic => Duration::from_millis(rng.random_range(20..=60)),
        }
    }

    /// (time queued, time running) of an export job of `resources` resources.
    pub fn export_job(self, resources: usize, rng: &mut impl RngExt) -> (Duration, Duration) {
        match self {
            Timing::Instant => (Duration::ZERO, Duration::ZERO),
            Timing::Realistic => (
                Duration::from_millis(rng.random_range(1000..=3000)),
                Duration::from_millis(2000 + 40 * resources as u64),
            ),
        }
    }

    /// (time queued at its start, whole duration) of an import job of `resources` resources.
    pub fn import_job(self, resources: usize) -> (Duration, Duration) {
        match self {
            Timing::Instant => (Duration::ZERO, Duration::ZERO),
            // Queued for the first half second of its 3 s base time.
            Timing::Realistic => (
                Duration::from_millis(500),
                Duration::from_millis(3000 + 80 * resources as u64),
            ),
        }
    }
}
