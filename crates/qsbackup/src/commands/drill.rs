//! `qsbackup drill` and `qsbackup drills`: a recovery drill of a snapshot into another account
//! (restore, check asset by asset, optionally tear down) with its RTO and RPO, kept in the
//! repository; and the list of the drills kept there. Exit 0 when everything restorable came
//! back equal, 2 when it did not.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::drill::{self, DrillError, DrillOptions, DrillOutcome, DrillReport};
use qsbackup_core::repository::lock::{LockPurpose, RepositoryLock};
use qsbackup_core::restore::mapping::Mapping;
use qsbackup_core::restore::{Endpoint, FailureAction, RestoreOptions};
use qsbackup_core::units::timestamp;
use serde_json::json;

use super::common;
use super::repo::{self, RepoArgs};
use super::restore::{check_prefix, restore_error, target_section_of, RestoreProgress, TargetFlags};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;
use crate::progress;

/// How many differing assets the text report names (all of them are in `--json` and the record).
const SHOWN: usize = 20;

#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// The snapshot to drill: its id, a unique prefix of the id, or `latest`.
    #[arg(value_name = "SNAPSHOT", default_value = "latest")]
    pub snapshot: String,

    /// The source: with a config listing several accounts, the one whose snapshot is drilled;
    /// in a repository of several accounts, `latest` is its newest.
    #[command(flatten)]
    pub source: repo::SelectArgs,

    /// Account to restore into for the drill: a recovery account, not the one backed up.
    #[arg(long, value_name = "ID", required = true)]
    pub target_account: String,

    /// Region to restore into; defaults to the config's region.
    #[arg(long, value_name = "REGION")]
    pub target_region: Option<String>,

    /// Identity region of the target account; defaults to the target region.
    #[arg(long, value_name = "REGION")]
    pub identity_region: Option<String>,

    /// Role in the recovery account to assume for the drill's QuickSight calls (QuickSight has
    /// no resource policies: another account is reached with a role there).
    #[arg(long, value_name = "ARN")]
    pub target_role_arn: Option<String>,

    /// Overrides file, as for `restore` (data source parameters and secrets of the recovery
    /// account, IAM identities, principals, tags).
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<std::path::PathBuf>,

    /// Prefix for the id of every restored asset (needed to drill into the backed-up account).
    #[arg(long, value_name = "PFX")]
    pub prefix: Option<String>,

    /// Restore the assets only, not users, groups and memberships.
    #[arg(long)]
    pub no_identities: bool,

    /// Afterwards, delete exactly what the drill created in the target (never what was there).
    #[arg(long)]
    pub teardown: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DrillsArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn run(global: &GlobalArgs, args: &DrillArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

fn drill_error(e: DrillError) -> Outcome {
    if e.is_usage() {
        return Outcome::usage(e.into());
    }
    match e {
        DrillError::Restore(e) => restore_error(e),
        DrillError::Core(e) => Outcome::from_core(e),
        other => Outcome::failure(other.into()),
    }
}

async fn run_inner(global: &GlobalArgs, args: &DrillArgs) -> Result<Outcome, Outcome> {
    let config = common::load_config(global)?;
    let mut select = args.source.clone();
    let (config, _) = common::source_of(&config, &mut select)?;
    let prefix = args.prefix.clone().unwrap_or_default();
    check_prefix(&prefix)?;
    let section = target_section_of(
        &TargetFlags {
            account: Some(&args.target_account),
            region: args.target_region.as_deref(),
            identity_region: args.identity_region.as_deref().or(args.target_region.as_deref()),
        },
        &config,
    )?;
    let mapping = match &args.overrides {
        Some(path) => Mapping::load(path).map_err(restore_error)?,
        None => Mapping::default(),
    };
    let aws_options = AwsOptions::default();
    let source = common::connect(&config, &aws_options).await?;
    let repository = common::open_repository(&config, Some(&source)).await?;
    let manifest = qsbackup_core::repository::snapshots::load_in(&repository, &args.snapshot, &select.filter())
        .await
        .map_err(Outcome::from_core)?;
    let target_endpoint = Endpoint {
        account_id: args.target_account.clone(),
        region: section.region.to_string(),
        identity_region: section.identity_region().to_string(),
    };
    drill::check_target(&manifest, &target_endpoint, &prefix).map_err(drill_error)?;
    let target_options = AwsOptions {
        role_arn: args.target_role_arn.clone(),
        ..common::with_env_timeouts(&aws_options)?
    };
    let target = AwsContext::connect(&section, &target_options)
        .await
        .map_err(Outcome::from_core)?;
    let options = DrillOptions {
        restore: RestoreOptions {
            prefix,
            failure_action: FailureAction::DoNothing,
            mapping,
            identities: !args.no_identities,
            job_timeout: Duration::from_secs(config.backup.job_timeout_seconds),
            cancel: crate::interrupt::token(),
            ..Default::default()
        },
        teardown: args.teardown,
    };
    let lock = RepositoryLock::shared(&repository, LockPurpose::Restore, Duration::ZERO)
        .await
        .map_err(|e| Outcome::from_core(e.into()))?;
    let sink = RestoreProgress {
        inner: progress::sink(global),
    };
    let result = Box::pin(drill::run_drill(&lock, &manifest, &target, &options, &sink)).await;
    if let Err(e) = lock.release().await {
        tracing::warn!("releasing the repository lock: {e}");
    }
    let report = result.map_err(drill_error)?;
    progress::clear();
    if global.json {
        super::json::emit("drill", &report)?;
    } else {
        repo::out(&report_text(&report));
    }
    if report.passed {
        Ok(Outcome::success())
    } else if crate::interrupt::token().is_cancelled() {
        Err(Outcome::interrupted(
            "the drill was interrupted; its record says how far it got",
        ))
    } else {
        Ok(Outcome::partial())
    }
}

/// `1h 02m 03s`, `4m 05s`, `12.3s`.
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h) {
        (0, 0) => format!("{m}m {s:02}s"),
        (0, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h:02}h {m:02}m"),
    }
}

/// The drill as a person reads it.
pub fn report_text(r: &DrillReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Drill {} of snapshot {} (taken {}) into account {} ({})",
        r.drill_id,
        r.snapshot_id,
        timestamp(&r.snapshot_taken_at),
        r.target.account_id,
        r.target.region
    );
    let _ = writeln!(
        t,
        "  RTO         {}   (restore {}, check {})",
        duration(r.rto_seconds),
        duration(r.restore_seconds),
        duration(r.check_seconds)
    );
    let _ = writeln!(
        t,
        "  RPO         {}   (the snapshot's age when the drill started)",
        duration(r.rpo_seconds.max(0) as f64)
    );
    let _ = writeln!(
        t,
        "  assets      {} to restore: {} equal, {} different, {} not recovered",
        r.assets_total, r.assets_equal, r.assets_different, r.assets_not_recovered
    );
    if r.assets_skipped > 0 {
        let _ = writeln!(
            t,
            "              {} already in the target: left untouched, not checked",
            r.assets_skipped
        );
    }
    if r.assets_refused > 0 {
        let _ = writeln!(
            t,
            "              {} unusable in the snapshot (`qsbackup verify {}` names them)",
            r.assets_refused, r.snapshot_id
        );
    }
    if r.permissions_dropped > 0 {
        let _ = writeln!(
            t,
            "              {} permissions not carried over: their principals do not exist in the target \
             (the record lists them by principal)",
            r.permissions_dropped
        );
    }
    let _ = writeln!(
        t,
        "  identities  {} present, {} missing",
        r.identities_present, r.identities_missing
    );
    for i in r.missing_identities.iter().take(SHOWN) {
        let _ = writeln!(t, "    missing: {i}");
    }
    let problems: Vec<_> = r
        .assets
        .iter()
        .filter(|a| !matches!(a.outcome, DrillOutcome::Equal | DrillOutcome::Skipped))
        .collect();
    for a in problems.iter().take(SHOWN) {
        let what = match a.outcome {
            DrillOutcome::Different => "different",
            DrillOutcome::Unchecked => "not readable back",
            DrillOutcome::Failed => "not restored",
            _ => "not attempted",
        };
        let _ = writeln!(t, "    {} {:?}: {what}", a.asset, a.name);
        for d in a.differences.iter().take(5) {
            let _ = writeln!(t, "      {d}");
        }
        if a.differences.len() > 5 {
            let _ = writeln!(t, "      … and {} more differences", a.differences.len() - 5);
        }
        if let Some(m) = &a.message {
            let _ = writeln!(t, "      {m}");
        }
    }
    if problems.len() > SHOWN {
        let _ = writeln!(t, "    … and {} more (all in --json)", problems.len() - SHOWN);
    }
    if let Some(td) = &r.teardown {
        let _ = writeln!(
            t,
            "  teardown    {} deleted, {} already gone, {} could not be deleted, in {}",
            td.deleted,
            td.already_gone,
            td.failed.len(),
            duration(td.seconds)
        );
        for f in td.failed.iter().take(SHOWN) {
            let _ = writeln!(t, "    still in the target: {}: {}", f.object, f.message);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(t, "  warning: {w}");
    }
    let _ = writeln!(
        t,
        "Result: {}; kept as drills/{}.json",
        if r.passed {
            "PASSED, everything restorable came back equal"
        } else {
            "FAILED, see above"
        },
        r.drill_id
    );
    t
}

pub async fn run_list(global: &GlobalArgs, args: &DrillsArgs) -> Outcome {
    match list_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn list_inner(global: &GlobalArgs, args: &DrillsArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let (drills, unreadable) = drill::list(&repository).await.map_err(Outcome::from_core)?;
    if global.json {
        let rows: Vec<_> = drills.iter().map(summary).collect();
        let bad: Vec<_> = unreadable.iter().map(|(k, e)| json!({"key": k, "error": e})).collect();
        super::json::emit("drills", &json!({"drills": rows, "unreadable": bad}))?;
    } else {
        let mut t = String::new();
        if drills.is_empty() {
            let _ = writeln!(t, "no drills in {}", repository.location());
        } else {
            let _ = writeln!(
                t,
                "{:<24} {:<24} {:<14} {:>10} {:>12} {:>14}  result",
                "drill", "snapshot", "target", "RTO", "RPO", "equal/total"
            );
        }
        for d in &drills {
            let _ = writeln!(
                t,
                "{:<24} {:<24} {:<14} {:>10} {:>12} {:>14}  {}",
                d.drill_id,
                d.snapshot_id,
                d.target.account_id,
                duration(d.rto_seconds),
                duration(d.rpo_seconds.max(0) as f64),
                format!("{}/{}", d.assets_equal, d.assets_total),
                if d.passed { "passed" } else { "FAILED" }
            );
        }
        repo::out(&t);
    }
    if unreadable.is_empty() {
        return Ok(Outcome::success());
    }
    let mut message = format!("{} drill records cannot be read:", unreadable.len());
    for (key, why) in &unreadable {
        let _ = write!(message, "\n  {key}: {why}");
    }
    Ok(Outcome::failure(anyhow!(message)))
}

/// One drill in `drills --json`: its figures without the per-asset detail.
fn summary(d: &DrillReport) -> serde_json::Value {
    json!({
        "drill_id": d.drill_id,
        "snapshot_id": d.snapshot_id,
        "source": d.source,
        "target": d.target,
        "started_at": d.started_at,
        "rto_seconds": d.rto_seconds,
        "rpo_seconds": d.rpo_seconds,
        "assets_total": d.assets_total,
        "assets_equal": d.assets_equal,
        "assets_different": d.assets_different,
        "identities_missing": d.identities_missing,
        "teardown": d.teardown.is_some(),
        "passed": d.passed,
    })
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(12.34), "12.3s");
        assert_eq!(duration(245.0), "4m 05s");
        assert_eq!(duration(3723.0), "1h 02m 03s");
        assert_eq!(duration(90061.0), "1d 01h 01m");
    }
}
