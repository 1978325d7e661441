//! How a run's progress reaches the user: live bars on a terminal (discovery,
//! bundles queued/running/done/failed, bytes stored), one log line per
//! finished step otherwise (or with --no-progress), nothing extra with --json.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use qsbackup_core::events::{Event, ProgressSink};
use qsbackup_core::text::printable;

use crate::cli::GlobalArgs;

/// Picks bars, log lines or quiet from the global flags and stderr.
pub fn sink(global: &GlobalArgs) -> Box<dyn ProgressSink> {
    if global.json || global.quiet {
        Box::new(LogLines { quiet: true })
    } else if !global.no_progress && std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(LogLines { quiet: false })
    }
}

/// One log line per finished step.
pub struct LogLines {
    /// With --json only warnings are logged; the summary is the output.
    quiet: bool,
}

impl ProgressSink for LogLines {
    fn event(&self, event: &Event) {
        match event {
            Event::BundleFailed {
                job_id,
                asset_type,
                assets,
                message,
            } => {
                tracing::warn!("bundle {job_id} ({asset_type:?}, {assets} assets) failed: {message}")
            }
            Event::AssetFailed { arn, message, .. } => tracing::warn!("asset {arn} failed: {message}"),
            Event::SectionFailed { name, message } => tracing::warn!("{name} backup failed: {message}"),
            _ if self.quiet => {}
            Event::AssetsListed { asset_type, count } => tracing::info!("listed {count} {asset_type:?} assets"),
            Event::DiscoveryFinished { total } => tracing::info!("discovery finished: {total} assets"),
            Event::PlanReady { bundles, assets } => tracing::info!("planned {bundles} bundles for {assets} assets"),
            Event::BundleSplit {
                job_id, into, message, ..
            } => {
                tracing::info!("bundle {job_id} split into {into} to isolate failing assets: {message}")
            }
            Event::BundleStored {
                job_id,
                key,
                bytes,
                members,
                ..
            } => {
                tracing::info!(
                    "stored {key} ({members} members, {}) from job {job_id}",
                    HumanBytes(*bytes)
                )
            }
            Event::SectionStored { name, key, bytes } => {
                tracing::info!("stored {name} as {key} ({})", HumanBytes(*bytes))
            }
            Event::SnapshotCommitted { id, key } => tracing::info!("committed snapshot {id} ({key})"),
            Event::AssetSkipped { arn, reason, .. } => tracing::debug!("skipping {arn}: {reason:?}"),
            Event::Retrying {
                operation,
                attempt,
                delay,
                reason,
            } => tracing::debug!("retrying {operation} in {delay:?}: attempt {attempt} failed ({reason})"),
            _ => {}
        }
    }
}

/// Live bars for a terminal.
pub struct Bars {
    _multi: MultiProgress,
    discovery: ProgressBar,
    bundles: ProgressBar,
    bytes: ProgressBar,
    counts: Mutex<BundleCounts>,
    stored: AtomicU64,
}

#[derive(Default)]
struct BundleCounts {
    queued: u64,
    running: u64,
    done: u64,
    failed: u64,
}

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let spinner = ProgressStyle::with_template("{spinner} {prefix:>10} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let discovery = multi.add(
            ProgressBar::new_spinner()
                .with_style(spinner.clone())
                .with_prefix("discovery"),
        );
        discovery.enable_steady_tick(std::time::Duration::from_millis(120));
        let bundles = multi.add(ProgressBar::new(0).with_style(bar).with_prefix("bundles"));
        let bytes = multi.add(ProgressBar::new_spinner().with_style(spinner).with_prefix("stored"));
        Bars {
            _multi: multi,
            discovery,
            bundles,
            bytes,
            counts: Mutex::new(BundleCounts::default()),
            stored: AtomicU64::new(0),
        }
    }

    fn bundle_message(&self) {
        if let Ok(c) = self.counts.lock() {
            self.bundles.set_message(format!(
                "queued {}, running {}, done {}, failed {}",
                c.queued, c.running, c.done, c.failed
            ));
            self.bundles.set_position(c.done + c.failed);
        }
    }

    fn count(&self, f: impl FnOnce(&mut BundleCounts)) {
        if let Ok(mut c) = self.counts.lock() {
            f(&mut c);
        }
        self.bundle_message();
    }
}

impl ProgressSink for Bars {
    fn event(&self, event: &Event) {
        match event {
            Event::AssetsListed { asset_type, count } => {
                self.discovery.set_message(format!("listed {count} {asset_type:?}"))
            }
            Event::AssetsDescribed { done, total } => self.discovery.set_message(format!("described {done}/{total}")),
            Event::DiscoveryFinished { total } => self.discovery.finish_with_message(format!("{total} assets")),
            Event::PlanReady { bundles, .. } => self.bundles.set_length(*bundles as u64),
            Event::BundleQueued { .. } => self.count(|c| c.queued += 1),
            Event::BundleStarted { .. } => self.count(|c| {
                c.queued = c.queued.saturating_sub(1);
                c.running += 1;
            }),
            Event::BundleSplit { into, .. } => {
                self.bundles.inc_length((*into as u64).saturating_sub(1));
                self.count(|c| c.running = c.running.saturating_sub(1));
            }
            Event::BundleStored { .. } => self.count(|c| {
                c.running = c.running.saturating_sub(1);
                c.done += 1;
            }),
            Event::BundleFailed { job_id, message, .. } => {
                self.bundles
                    .println(format!("bundle {job_id} failed: {}", printable(message)));
                self.count(|c| {
                    c.running = c.running.saturating_sub(1);
                    c.failed += 1;
                })
            }
            Event::BytesStored { bytes } => {
                let total = self.stored.fetch_add(*bytes, Ordering::Relaxed) + bytes;
                self.bytes.set_message(format!("{}", HumanBytes(total)));
            }
            Event::SectionStored { name, bytes, .. } => {
                self.bytes.println(format!("stored {name} ({})", HumanBytes(*bytes)))
            }
            Event::SectionFailed { name, message } => self
                .bytes
                .println(format!("{name} backup failed: {}", printable(message))),
            Event::SnapshotCommitted { id, .. } => {
                self.bundles.finish();
                self.bytes.finish_with_message(format!(
                    "{} in snapshot {id}",
                    HumanBytes(self.stored.load(Ordering::Relaxed))
                ));
            }
            _ => {}
        }
    }
}
