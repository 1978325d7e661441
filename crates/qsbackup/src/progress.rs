//! How a run's progress reaches the user: live bars on a terminal (discovery, bundles
//! queued/running/storing/stored/failed with elapsed time and ETA, failed assets, bytes stored),
//! one log line per finished step otherwise (or with --no-progress), nothing extra with --json.
//!
//! This module owns the terminal while bars are shown: log lines are written above the bars
//! ([`write_stderr`]), and [`clear`] takes them away before a prompt. The counting is
//! [`Tally`], a plain struct fed the engine's events, so it is tested without a terminal.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use qsbackup_core::events::{Event, ProgressSink};
use qsbackup_core::text::printable;
use qsbackup_core::units::human_bytes;

use crate::cli::GlobalArgs;

pub mod targets;

/// The bars being drawn, if any: the one owner of stderr while they are.
static DISPLAY: Mutex<Option<MultiProgress>> = Mutex::new(None);

fn display() -> Option<MultiProgress> {
    DISPLAY.lock().ok().and_then(|d| d.clone())
}

/// Writes to stderr above the bars (they are redrawn below), or plainly when none are shown.
pub fn write_stderr(buf: &[u8]) -> std::io::Result<()> {
    let write = || {
        let mut err = std::io::stderr().lock();
        err.write_all(buf)?;
        err.flush()
    };
    match display() {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
}

/// Takes the bars off the terminal for good (before a prompt or the results).
pub fn clear() {
    let taken = DISPLAY.lock().ok().and_then(|mut d| d.take());
    if let Some(multi) = taken {
        let _ = multi.clear();
        multi.set_draw_target(ProgressDrawTarget::hidden());
    }
}

/// Picks bars, log lines or quiet from the global flags and stderr.
pub fn sink(global: &GlobalArgs) -> Box<dyn ProgressSink> {
    if global.json || global.quiet {
        Box::new(LogLines::new(true))
    } else if !global.no_progress && std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(LogLines::new(false))
    }
}

/// Where one bundle is in its lifecycle (see [`Event::PlanReady`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BundleState {
    Queued,
    Running,
    Storing,
    Stored,
    Failed,
    /// Replaced by the bundles queued after it: no longer part of the plan.
    Split,
    Abandoned,
}

/// The counts of a run, from its events. Every bundle is in exactly one state, so
/// queued + running + storing + stored + failed + abandoned = planned; running counts export
/// jobs holding a slot, so it never exceeds the job limit.
#[derive(Debug, Default)]
pub struct Tally {
    bundles: HashMap<String, BundleState>,
    reused: u64,
    /// From [`Event::PlanReady`], until the bundles are queued.
    announced: u64,
    assets_failed: u64,
    bytes: u64,
}

/// A snapshot of a [`Tally`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub planned: u64,
    pub queued: u64,
    pub running: u64,
    pub storing: u64,
    /// Stored by this run, or reused from a crashed one.
    pub stored: u64,
    pub failed: u64,
    pub abandoned: u64,
    pub assets_failed: u64,
    /// Bundles and sections written: the snapshot's size once it is committed.
    pub bytes: u64,
}

impl Tally {
    /// Counts one event; events about other things are ignored.
    pub fn apply(&mut self, event: &Event) {
        let mut set = |job_id: &str, state| {
            self.bundles.insert(job_id.to_string(), state);
        };
        match event {
            Event::BundleQueued { job_id, .. } => set(job_id, BundleState::Queued),
            Event::BundleStarted { job_id, .. } => set(job_id, BundleState::Running),
            Event::BundleExported { job_id, .. } => set(job_id, BundleState::Storing),
            Event::BundleStored { job_id, .. } => set(job_id, BundleState::Stored),
            Event::BundleFailed { job_id, .. } => set(job_id, BundleState::Failed),
            Event::BundleSplit { job_id, .. } => set(job_id, BundleState::Split),
            Event::BundleAbandoned { job_id, .. } => set(job_id, BundleState::Abandoned),
            _ => {}
        }
        match event {
            Event::PlanReady { bundles, .. } => self.announced = *bundles as u64,
            Event::BundleStored { bytes, .. } => self.bytes += bytes,
            Event::BundleReused { bytes, .. } => {
                self.reused += 1;
                self.bytes += bytes;
            }
            Event::AssetFailed { .. } => self.assets_failed += 1,
            Event::SectionStored { bytes, .. } => self.bytes += bytes,
            _ => {}
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            stored: self.reused,
            assets_failed: self.assets_failed,
            bytes: self.bytes,
            ..Counts::default()
        };
        for state in self.bundles.values() {
            match state {
                BundleState::Queued => c.queued += 1,
                BundleState::Running => c.running += 1,
                BundleState::Storing => c.storing += 1,
                BundleState::Stored => c.stored += 1,
                BundleState::Failed => c.failed += 1,
                BundleState::Abandoned => c.abandoned += 1,
                BundleState::Split => {}
            }
        }
        c.planned = c.queued + c.running + c.storing + c.stored + c.failed + c.abandoned;
        if self.bundles.is_empty() && self.reused == 0 {
            c.planned = self.announced;
            c.queued = self.announced;
        }
        c
    }
}

impl Counts {
    /// Bundles at an end (stored, failed or abandoned).
    pub fn finished(&self) -> u64 {
        self.stored + self.failed + self.abandoned
    }

    /// `queued 3, running 5, storing 1, stored 20, failed 1; 21 assets failed; 4.30 MiB`.
    pub fn line(&self) -> String {
        let mut out = format!(
            "queued {}, running {}, storing {}, stored {}, failed {}",
            self.queued, self.running, self.storing, self.stored, self.failed
        );
        if self.abandoned > 0 {
            out.push_str(&format!(", interrupted {}", self.abandoned));
        }
        out.push_str(&format!(
            "; {} {} failed; {}",
            self.assets_failed,
            if self.assets_failed == 1 { "asset" } else { "assets" },
            human_bytes(self.bytes)
        ));
        out
    }

    /// The last line of a run:
    /// `done: 30 bundles (stored 29, failed 1), 21 assets failed, 4.30 MiB stored`.
    pub fn final_line(&self) -> String {
        let mut out = format!(
            "done: {} bundles (stored {}, failed {}",
            self.planned, self.stored, self.failed
        );
        if self.abandoned + self.queued + self.running + self.storing > 0 {
            out.push_str(&format!(
                ", not finished {}",
                self.abandoned + self.queued + self.running + self.storing
            ));
        }
        out.push_str(&format!(
            "), {} {} failed, {} stored",
            self.assets_failed,
            if self.assets_failed == 1 { "asset" } else { "assets" },
            human_bytes(self.bytes)
        ));
        out
    }
}

/// One log line per finished step.
pub struct LogLines {
    /// With --json only warnings are logged; the summary is the output.
    quiet: bool,
    tally: Mutex<Tally>,
    started: std::time::Instant,
}

impl LogLines {
    fn new(quiet: bool) -> LogLines {
        LogLines {
            quiet,
            tally: Mutex::new(Tally::default()),
            started: std::time::Instant::now(),
        }
    }
}

impl ProgressSink for LogLines {
    fn event(&self, event: &Event) {
        if let Ok(mut t) = self.tally.lock() {
            t.apply(event);
        }
        match event {
            Event::BundleFailed {
                job_id,
                asset_type,
                assets,
                message,
            } => {
                tracing::warn!("bundle {job_id} ({asset_type:?}, {assets} assets) failed: {message}")
            }
            // The root's own line carries QuickSight's message; its dependents name it only.
            Event::AssetFailed { arn, message, .. } => match qsbackup_core::asset::root_cause(message) {
                Some(root) => tracing::warn!("asset {arn} failed: it depends on {root}, which failed (see its line)"),
                None => tracing::warn!("asset {arn} failed: {message}"),
            },
            Event::SectionFailed { name, message } => tracing::warn!("{name} backup failed: {message}"),
            _ if self.quiet => {}
            Event::AssetsListed { asset_type, count } => tracing::info!("listed {count} {asset_type:?} assets"),
            Event::DiscoveryFinished { total } => tracing::info!("discovery finished: {total} assets"),
            Event::PlanReady { bundles, assets } => tracing::info!("planned {bundles} bundles for {assets} assets"),
            Event::BundleSplit {
                job_id, into, message, ..
            } => {
                // The refused assets each get a WARN line with QuickSight's message; repeating it
                // per split would name one root cause once per bundle that held a dependent.
                tracing::info!("bundle {job_id} split into {into} to isolate the assets QuickSight refused");
                tracing::debug!("bundle {job_id}: {message}");
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
                    human_bytes(*bytes)
                )
            }
            Event::BundleReused { key, bytes, .. } => {
                tracing::info!("reused {key} ({}) stored by a crashed run", human_bytes(*bytes))
            }
            Event::SectionStored { name, key, bytes } => {
                tracing::info!("stored {name} as {key} ({})", human_bytes(*bytes))
            }
            Event::SnapshotCommitted { id, key } => {
                let line = self.tally.lock().map(|t| t.counts().final_line()).unwrap_or_default();
                tracing::info!(
                    "committed snapshot {id} ({key}): {line} in {}",
                    elapsed(self.started.elapsed())
                )
            }
            Event::ReportWritten { key, bytes } => {
                tracing::info!("wrote the HTML report {key} ({})", human_bytes(*bytes))
            }
            Event::ReportFailed { message } => {
                tracing::warn!("the HTML report could not be written (the snapshot stands): {message}")
            }
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

/// `1:02:03` or `02:03`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Live bars for a terminal, each added when the run reaches its stage (a restore shows none).
pub struct Bars {
    multi: MultiProgress,
    parts: Mutex<BarParts>,
}

#[derive(Default)]
struct BarParts {
    discovery: Option<ProgressBar>,
    bundles: Option<ProgressBar>,
    tally: Tally,
    finished: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        Bars {
            multi,
            parts: Mutex::new(BarParts::default()),
        }
    }

    /// Adds a bar; the display owns stderr from the first one on (none before: a restore that
    /// shows no bar writes nothing to the terminal of its own).
    fn add(&self, bar: ProgressBar) -> ProgressBar {
        if let Ok(mut d) = DISPLAY.lock() {
            if d.is_none() {
                *d = Some(self.multi.clone());
            }
        }
        self.multi.add(bar)
    }

    fn bundles_bar(&self, parts: &mut BarParts) -> ProgressBar {
        if let Some(bar) = &parts.bundles {
            return bar.clone();
        }
        let bar = self.add(
            ProgressBar::new(0)
                .with_style(style(
                    "{prefix:>9} [{bar:30}] {pos}/{len} {msg} [{elapsed_precise}, ETA {eta}]",
                ))
                .with_prefix("bundles"),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        parts.bundles = Some(bar.clone());
        bar
    }

    fn finish(&self, parts: &mut BarParts) {
        if parts.finished {
            return;
        }
        parts.finished = true;
        if let Some(d) = parts.discovery.take() {
            d.finish();
        }
        if let Some(bar) = parts.bundles.take() {
            let c = parts.tally.counts();
            bar.set_style(style("{msg} in {elapsed_precise}"));
            bar.finish_with_message(c.final_line());
        }
    }
}

impl ProgressSink for Bars {
    fn event(&self, event: &Event) {
        let Ok(mut parts) = self.parts.lock() else { return };
        parts.tally.apply(event);
        match event {
            Event::DiscoveryStarted | Event::AssetsListed { .. } | Event::AssetsDescribed { .. }
                if parts.discovery.is_none() =>
            {
                let spinner = self.add(
                    ProgressBar::new_spinner()
                        .with_style(style("{spinner} {prefix:>9} {msg}"))
                        .with_prefix("discovery"),
                );
                spinner.enable_steady_tick(Duration::from_millis(120));
                parts.discovery = Some(spinner);
            }
            _ => {}
        }
        match event {
            Event::AssetsListed { asset_type, count } => {
                if let Some(d) = &parts.discovery {
                    d.set_message(format!("listed {count} {asset_type:?}"))
                }
            }
            Event::AssetsDescribed { done, total } => {
                if let Some(d) = &parts.discovery {
                    d.set_message(format!("described {done}/{total}"))
                }
            }
            Event::DiscoveryFinished { total } => {
                if let Some(d) = &parts.discovery {
                    d.set_style(style("{prefix:>11} {msg}"));
                    d.finish_with_message(format!("{total} assets"));
                }
            }
            Event::BundleFailed { job_id, message, .. } => {
                let _ = self
                    .multi
                    .println(format!("bundle {job_id} failed: {}", printable(message)));
            }
            Event::SectionStored { name, bytes, .. } => {
                let _ = self.multi.println(format!("stored {name} ({})", human_bytes(*bytes)));
            }
            Event::SectionFailed { name, message } => {
                let _ = self
                    .multi
                    .println(format!("{name} backup failed: {}", printable(message)));
            }
            _ => {}
        }
        // The bar appears with the first bundle (a dry run or a users-only backup has none).
        let first_bundle = matches!(event, Event::BundleQueued { .. } | Event::BundleReused { .. });
        let bundle_event = matches!(
            event,
            Event::PlanReady { .. }
                | Event::BundleQueued { .. }
                | Event::BundleStarted { .. }
                | Event::BundleExported { .. }
                | Event::BundleStored { .. }
                | Event::BundleFailed { .. }
                | Event::BundleSplit { .. }
                | Event::BundleAbandoned { .. }
                | Event::BundleReused { .. }
                | Event::AssetFailed { .. }
                | Event::SectionStored { .. }
        );
        if bundle_event && !parts.finished && (first_bundle || parts.bundles.is_some()) {
            let bar = self.bundles_bar(&mut parts);
            let c = parts.tally.counts();
            bar.set_length(c.planned);
            bar.set_position(c.finished());
            bar.set_message(c.line());
        }
        if matches!(event, Event::SnapshotCommitted { .. }) {
            self.finish(&mut parts);
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Ok(mut parts) = self.parts.lock() {
            self.finish(&mut parts);
        }
        // The run is over: later output (the report, a prompt) owns the terminal again.
        if let Ok(mut d) = DISPLAY.lock() {
            *d = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qsbackup_core::asset::AssetType;

    fn queued(id: &str) -> Event {
        Event::BundleQueued {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
            assets: 2,
        }
    }
    fn started(id: &str) -> Event {
        Event::BundleStarted {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
            resumed: false,
        }
    }
    fn exported(id: &str) -> Event {
        Event::BundleExported {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
        }
    }
    fn stored(id: &str, bytes: u64) -> Event {
        Event::BundleStored {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
            key: format!("{id}.zip"),
            bytes,
            members: 2,
        }
    }
    fn split(id: &str, into: usize) -> Event {
        Event::BundleSplit {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
            into,
            message: "refused".into(),
        }
    }
    fn failed(id: &str, assets: usize) -> Event {
        Event::BundleFailed {
            job_id: id.into(),
            asset_type: AssetType::Dashboard,
            assets,
            message: "failed".into(),
        }
    }
    fn asset_failed() -> Event {
        Event::AssetFailed {
            arn: "arn".into(),
            asset_type: AssetType::Dashboard,
            message: "no".into(),
        }
    }

    fn sums(c: &Counts) -> bool {
        c.queued + c.running + c.storing + c.stored + c.failed + c.abandoned == c.planned
    }

    #[test]
    fn counts_add_up_through_splits_refusals_and_failures() {
        let mut t = Tally::default();
        t.apply(&Event::PlanReady { bundles: 3, assets: 6 });
        assert_eq!(t.counts().planned, 3);
        for id in ["a", "b", "c"] {
            t.apply(&queued(id));
        }
        t.apply(&started("a"));
        t.apply(&started("b"));
        let c = t.counts();
        assert_eq!((c.planned, c.queued, c.running), (3, 1, 2));
        // A start refused (never running) splits in two: the plan grows by one.
        t.apply(&split("c", 2));
        t.apply(&asset_failed());
        t.apply(&queued("c1"));
        t.apply(&queued("c2"));
        let c = t.counts();
        assert!(sums(&c), "{c:?}");
        assert_eq!((c.planned, c.queued, c.running), (4, 2, 2));
        // A job that failed with every asset an offender is a failed bundle.
        t.apply(&failed("b", 2));
        t.apply(&asset_failed());
        t.apply(&asset_failed());
        t.apply(&exported("a"));
        let c = t.counts();
        assert_eq!((c.running, c.storing, c.failed), (0, 1, 1));
        t.apply(&stored("a", 1000));
        for id in ["c1", "c2"] {
            t.apply(&started(id));
            t.apply(&exported(id));
            t.apply(&stored(id, 24));
        }
        t.apply(&Event::SectionStored {
            name: "identities".into(),
            key: "k".into(),
            bytes: 24,
        });
        let c = t.counts();
        assert!(sums(&c), "{c:?}");
        assert_eq!(
            (c.planned, c.stored, c.failed, c.assets_failed, c.bytes, c.finished()),
            (4, 3, 1, 3, 1072, 4)
        );
        assert_eq!(
            c.final_line(),
            "done: 4 bundles (stored 3, failed 1), 3 assets failed, 1.05 KiB stored"
        );
    }

    #[test]
    fn a_split_into_nothing_leaves_the_plan_and_reused_bundles_count_as_stored() {
        let mut t = Tally::default();
        t.apply(&Event::BundleReused {
            key: "old.zip".into(),
            asset_type: AssetType::Theme,
            bytes: 10,
            assets: 3,
        });
        t.apply(&queued("a"));
        t.apply(&split("a", 0));
        let c = t.counts();
        assert_eq!((c.planned, c.stored, c.queued, c.bytes), (1, 1, 0, 10));
    }

    #[test]
    fn running_is_at_most_the_slots_taken() {
        // The engine holds a slot from BundleStarted to BundleExported or the bundle's end.
        let mut t = Tally::default();
        for i in 0..8 {
            t.apply(&queued(&format!("j{i}")));
        }
        for i in 0..5 {
            t.apply(&started(&format!("j{i}")));
        }
        t.apply(&exported("j0"));
        t.apply(&started("j5"));
        let c = t.counts();
        assert_eq!((c.running, c.storing, c.queued), (5, 1, 2));
    }
}
