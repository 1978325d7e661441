//! Progress of a run over several targets: one line per running target (a live bar on a
//! terminal, its bundle counts as they change), and a line when each ends.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use qsbackup_core::backup::targets::{TargetProgress, TargetResult};
use qsbackup_core::config::Target;
use qsbackup_core::events::{Event, ProgressSink};
use qsbackup_core::text::printable;

use super::{style, Tally, DISPLAY};
use crate::cli::GlobalArgs;

/// How a target ended, in a few words.
pub fn ending(result: &TargetResult) -> String {
    match &result.outcome {
        Ok(o) => format!(
            "{} snapshot {}",
            crate::commands::repo::serde_name(&o.manifest.status),
            o.manifest.id
        ),
        Err(e) => format!("failed: {}", printable(&e.to_string())),
    }
}

/// Bars on a terminal, log lines otherwise.
pub struct TargetLines {
    multi: Option<MultiProgress>,
    quiet: bool,
}

impl TargetLines {
    pub fn new(global: &GlobalArgs) -> TargetLines {
        use std::io::IsTerminal;
        let bars = !global.json && !global.quiet && !global.no_progress && std::io::stderr().is_terminal();
        let multi = bars.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            if let Ok(mut d) = DISPLAY.lock() {
                *d = Some(multi.clone());
            }
            multi
        });
        TargetLines {
            multi,
            quiet: global.json || global.quiet,
        }
    }
}

impl Drop for TargetLines {
    fn drop(&mut self) {
        if let Ok(mut d) = DISPLAY.lock() {
            *d = None;
        }
    }
}

impl TargetProgress for TargetLines {
    fn started(&self, target: &Target) -> Box<dyn ProgressSink> {
        let label = target.to_string();
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(
                ProgressBar::new_spinner()
                    .with_style(style("{spinner} {prefix} {msg} [{elapsed_precise}]"))
                    .with_prefix(label.clone()),
            );
            bar.set_message("discovering");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() && !self.quiet {
            tracing::info!("{label}: backup started");
        }
        Box::new(TargetSink {
            label,
            multi: self.multi.clone(),
            bar,
            tally: Mutex::new(Tally::default()),
        })
    }

    fn finished(&self, result: &TargetResult) {
        let line = format!("{}: {}", result.target, ending(result));
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None if result.outcome.is_err() => tracing::warn!("{line}"),
            None if !self.quiet => tracing::info!("{line}"),
            None => {}
        }
    }
}

/// The events of one target, drawn on its line; what failed is said as it happens, named
/// by its target, as a single-account run says it.
struct TargetSink {
    label: String,
    multi: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    tally: Mutex<Tally>,
}

impl TargetSink {
    fn warn(&self, line: String) {
        let line = format!("{}: {}", self.label, printable(&line));
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => tracing::warn!("{line}"),
        }
    }
}

impl ProgressSink for TargetSink {
    fn event(&self, event: &Event) {
        match event {
            Event::BundleFailed { job_id, message, .. } => self.warn(format!("bundle {job_id} failed: {message}")),
            // The root's own line carries QuickSight's message; its dependents name it only.
            Event::AssetFailed { arn, message, .. } => match qsbackup_core::asset::root_cause(message) {
                Some(root) => self.warn(format!("asset {arn} failed: it depends on {root}, which failed")),
                None => self.warn(format!("asset {arn} failed: {message}")),
            },
            Event::SectionFailed { name, message } => self.warn(format!("{name} backup failed: {message}")),
            _ => {}
        }
        let Some(bar) = &self.bar else { return };
        let Ok(mut tally) = self.tally.lock() else { return };
        tally.apply(event);
        match event {
            Event::AssetsListed { .. } | Event::DiscoveryFinished { .. } | Event::AssetsDescribed { .. } => {
                bar.set_message("discovering")
            }
            Event::SnapshotCommitted { .. } => bar.finish_and_clear(),
            _ => {
                let c = tally.counts();
                if c.planned > 0 {
                    bar.set_message(format!("{}/{} bundles: {}", c.finished(), c.planned, c.line()));
                }
            }
        }
    }
}

impl Drop for TargetSink {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
