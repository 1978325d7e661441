//! `qsbackup forget --keep-... [--prune] [--dry-run]`: applies a retention policy (restic's
//! semantics, per account, region and mode), prints what it keeps and removes and why, and with
//! --prune deletes the objects no remaining snapshot references. Takes the repository lock
//! unless it is a dry run.

use anyhow::anyhow;
use chrono::Utc;
use clap::Args;
use qsbackup_core::repository::lock::{ExclusiveLock, LockPurpose, RepositoryLock};
use qsbackup_core::repository::prune::{forget, plan_forget, plan_prune, prune, ForgetPlan, PruneOptions, PruneReport};
use qsbackup_core::repository::retention::{CalendarSpan, RetentionPolicy};
use qsbackup_core::repository::snapshots::load_all;
use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ForgetArgs {
    /// Keep the N newest snapshots (-1: all).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_last: i32,
    /// Keep the newest snapshot of each of the last N hours that have one (-1: every hour).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_hourly: i32,
    /// Keep the newest snapshot of each of the last N days that have one (-1: every day).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_daily: i32,
    /// Keep the newest snapshot of each of the last N ISO weeks that have one (-1: every week).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_weekly: i32,
    /// Keep the newest snapshot of each of the last N months that have one (-1: every month).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_monthly: i32,
    /// Keep the newest snapshot of each of the last N years that have one (-1: every year).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true)]
    pub keep_yearly: i32,
    /// Keep every snapshot taken within this span before the newest one, e.g. 7d, 1y6m, 12h
    /// (y years, m months, d days, h hours).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<CalendarSpan>,

    /// Also delete the objects no remaining snapshot references (and leftovers of crashed runs
    /// older than --safety-margin).
    #[arg(long)]
    pub prune: bool,

    /// Print what would be kept, removed and deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Leftovers of crashed backups younger than this are kept by --prune (a backup may still
    /// resume from them): 90s, 30min, 2h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = repo::parse_age)]
    pub safety_margin: chrono::TimeDelta,

    /// Wait this many seconds for another run's repository lock before giving up (exit 4).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_wait: u64,

    #[command(flatten)]
    pub repo: RepoArgs,
    /// Apply the policy to these snapshots only (their groups); prune still keeps whatever any
    /// snapshot references.
    #[command(flatten)]
    pub select: SelectArgs,
}

impl ForgetArgs {
    fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            keep_last: self.keep_last,
            keep_hourly: self.keep_hourly,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self.keep_within,
        }
    }
}

pub async fn run(global: &GlobalArgs, args: &ForgetArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &ForgetArgs) -> Result<Outcome, Outcome> {
    let policy = args.policy();
    policy.validate().map_err(|e| Outcome::usage(anyhow!(e)))?;
    if policy.is_empty() && !args.prune {
        return Err(Outcome::usage(anyhow!(
            "no retention policy given: pass at least one of --keep-last, --keep-hourly, --keep-daily, \
             --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (or --prune alone to only prune)"
        )));
    }
    let repository = repo::open(global, &args.repo).await?;
    let lock = if args.dry_run {
        None
    } else {
        let purpose = if args.prune {
            LockPurpose::Prune
        } else {
            LockPurpose::Forget
        };
        Some(
            RepositoryLock::exclusive(&repository, purpose, Duration::from_secs(args.lock_wait))
                .await
                .map_err(|e| Outcome::from_core(e.into()))?,
        )
    };
    let result = crate::interrupt::or_interrupt(forget_and_prune(&repository, lock.as_ref(), args, &policy)).await;
    if let Some(lock) = lock {
        if let Err(e) = lock.release().await {
            tracing::warn!("releasing the repository lock: {e}");
        }
    }
    let (plan, pruned) = result.ok_or_else(|| {
        Outcome::interrupted(
            "stopped part-way and released the repository lock; snapshots already forgotten stay \
             forgotten, objects not yet pruned stay until the next prune",
        )
    })??;
    if global.json {
        super::json::emit(
            "forget",
            &json!({
                "repository": repository.location(),
                "dry_run": args.dry_run,
                "policy": plan.as_ref().map(|p| p.policy.clone()),
                "groups": plan.as_ref().map(|p| p.groups.clone()).unwrap_or_default(),
                "removed_snapshot_ids": plan.as_ref().map(ForgetPlan::removed_ids).unwrap_or_default(),
                "prune": pruned,
            }),
        )?;
    } else {
        if let Some(plan) = &plan {
            repo::out(&render_plan(plan, args.dry_run));
        }
        if let Some(p) = &pruned {
            repo::out(&render_prune(p));
        }
    }
    Ok(Outcome::success())
}

async fn forget_and_prune(
    repository: &qsbackup_core::repository::Repository,
    lock: Option<&ExclusiveLock>,
    args: &ForgetArgs,
    policy: &RetentionPolicy,
) -> Result<(Option<ForgetPlan>, Option<PruneReport>), Outcome> {
    let plan = if policy.is_empty() {
        None
    } else {
        let mut loaded = load_all(repository).await.map_err(Outcome::from_core)?;
        if let Some((key, why)) = loaded.unreadable.first() {
            return Err(Outcome::failure(anyhow!(
                "cannot apply a retention policy while manifest {key} is unreadable ({why})"
            )));
        }
        args.select.filter().retain(&mut loaded);
        let plan = plan_forget(&loaded.manifests, policy, Utc::now());
        if let Some(lock) = lock {
            forget(lock, &plan.removed_ids()).await.map_err(Outcome::from_core)?;
        }
        Some(plan)
    };
    let pruned = if args.prune {
        let options = PruneOptions {
            safety_margin: args.safety_margin,
            dry_run: args.dry_run,
            // A dry run forgot nothing: prune pretends, to show what the removals would free.
            as_if_forgotten: match (&plan, args.dry_run) {
                (Some(p), true) => p.removed_ids(),
                _ => Vec::new(),
            },
        };
        let report = match lock {
            Some(lock) => prune(lock, &options).await,
            None => plan_prune(repository, &options).await,
        };
        Some(report.map_err(Outcome::from_core)?)
    } else {
        None
    };
    Ok((plan, pruned))
}

fn render_plan(plan: &ForgetPlan, dry_run: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Policy: {}", plan.policy);
    for g in &plan.groups {
        let _ = writeln!(
            out,
            "\nAccount {} {} ({}): keep {}, remove {}",
            g.account_id,
            g.region,
            repo::serde_name(&g.mode),
            g.keep.len(),
            g.remove.len()
        );
        for d in &g.keep {
            let _ = writeln!(
                out,
                "  keep    {}  {}  {}",
                d.id,
                repo::time(&d.time),
                d.reasons.join(", ")
            );
        }
        for d in &g.remove {
            let _ = writeln!(out, "  remove  {}  {}", d.id, repo::time(&d.time));
        }
    }
    let removed = plan.removed_ids().len();
    let _ = writeln!(
        out,
        "\n{} {removed} snapshots.",
        if dry_run { "Would remove" } else { "Removed" }
    );
    out
}

fn render_prune(p: &PruneReport) -> String {
    let mut out = String::new();
    let verb = if p.dry_run { "Would delete" } else { "Deleted" };
    let _ = writeln!(
        out,
        "\nPrune: {verb} {} objects ({}).",
        p.deleted.len(),
        repo::bytes(p.bytes_freed)
    );
    for o in &p.deleted {
        let _ = writeln!(out, "  delete  {}  {}  {}", o.key, repo::bytes(o.size), o.why);
    }
    if !p.kept_recent.is_empty() {
        let _ = writeln!(
            out,
            "Kept {} recent leftovers of crashed runs (younger than the safety margin):",
            p.kept_recent.len()
        );
        for o in &p.kept_recent {
            let _ = writeln!(out, "  keep    {}  {}", o.key, o.why);
        }
    }
    out
}
