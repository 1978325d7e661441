//! `qsbackup restore`: a snapshot (or the assets picked by `--select`/`--select-name`, with what
//! they depend on) into the config's account or another account, region and namespace, with
//! its identities. Prints the plan; `--dry-run` stops there. Otherwise the plan is confirmed
//! (`--yes` without a terminal), the repository lock is taken, identities are restored, then
//! the import jobs run. Exit 0 when everything planned was restored, 2 when some was not.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::config::{AccountId, AwsSection, Config, Region};
use qsbackup_core::events::{Event, ProgressSink};
use qsbackup_core::identities::IdentityError;
use qsbackup_core::repository::lock::{LockPurpose, RepositoryLock, SharedLock};
use qsbackup_core::restore::mapping::Mapping;
use qsbackup_core::restore::report::{plan_text, report_text, Listing};
use qsbackup_core::restore::{
    self, AssetKey, ConflictPolicy, FailureAction, RestoreError, RestoreOptions, RestorePlan, SelectionSpec,
};
use qsbackup_core::text::printable_lines;

use super::common;
use super::repo::SelectArgs;
use crate::cli::GlobalArgs;
use crate::exit::Outcome;
use crate::progress;

/// `--conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Conflict {
    /// Overwrite what the target has with the snapshot's version.
    Update,
    /// Leave what the target has.
    Skip,
    /// Refuse the restore, before changing anything, if a selected asset exists.
    Fail,
}

/// `--failure-action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Failure {
    /// All or nothing: one import job where possible, rolled back by QuickSight if it fails.
    Rollback,
    /// Keep what imported and report the rest.
    DoNothing,
}

/// Which snapshot to restore: positional like `show`, `verify` and `diff` (restic's
/// `restore SNAPSHOT`), or the earlier `--snapshot`; one of them is required.
#[derive(Debug, Clone, Args, Default)]
#[group(required = true, multiple = false)]
pub struct SnapshotChoice {
    /// The snapshot to restore: its id, a unique prefix of the id, or `latest`.
    #[arg(value_name = "SNAPSHOT")]
    pub positional: Option<String>,

    /// The same as SNAPSHOT.
    #[arg(long = "snapshot", value_name = "ID|latest")]
    pub flag: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub choice: SnapshotChoice,

    /// The source: with a config listing several accounts, the one to restore from (and the
    /// default target, reached with the run's own credentials unless --target-role-arn names a
    /// role allowed to import; the backup's reader role is not); in a repository of several
    /// accounts, `latest` is its newest.
    #[command(flatten)]
    pub source: SelectArgs,

    /// The snapshot chosen by [`SnapshotChoice`], filled in by `run` (the demo sets it).
    #[arg(skip)]
    pub snapshot: String,

    /// Restore this asset and what it depends on: TYPE/ID (datasource, dataset, analysis,
    /// dashboard, theme, vpcConnection, folder), e.g. dashboard/3f2a-...; repeatable.
    #[arg(long = "select", value_name = "TYPE/ID", value_parser = AssetKey::parse)]
    pub select: Vec<AssetKey>,

    /// Restore the assets whose name matches GLOB (`*`, `?`, case-insensitive) and what they
    /// depend on; repeatable.
    #[arg(long = "select-name", value_name = "GLOB")]
    pub select_name: Vec<String>,

    /// Account to restore into; defaults to the config's account.
    #[arg(long, value_name = "ID")]
    pub target_account: Option<String>,

    /// Region to restore the assets into; defaults to the config's region.
    #[arg(long, value_name = "REGION")]
    pub target_region: Option<String>,

    /// Identity region of the target account (users and groups); defaults to the config's when
    /// the target is the config's account, else to the target region.
    #[arg(long, value_name = "REGION")]
    pub identity_region: Option<String>,

    /// Role in the target account to assume for the restore's QuickSight calls (QuickSight has
    /// no resource policies: another account is reached with a role there).
    #[arg(long, value_name = "ARN")]
    pub target_role_arn: Option<String>,

    /// Put every identity and permission principal in this namespace of the target.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// What to do with a selected asset the target already has.
    #[arg(long, value_enum, default_value_t = Conflict::Update)]
    pub conflict: Conflict,

    /// Prefix for the id of every restored asset (restores a copy beside the original).
    #[arg(long, value_name = "PFX")]
    pub prefix: Option<String>,

    /// What QuickSight does when an import job fails.
    #[arg(long, value_enum, default_value_t = Failure::DoNothing)]
    pub failure_action: Failure,

    /// Overrides file (YAML or JSON): IAM identities of IAM users, renamed groups and
    /// namespaces, principals, data source parameters, secrets and VPC connections, tags.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,

    /// Restore users, groups and memberships before the assets (the default).
    #[arg(long, overrides_with = "no_identities")]
    pub identities: bool,

    /// Restore the assets only; permissions go to principals the target already has.
    #[arg(long, overrides_with = "identities")]
    pub no_identities: bool,

    /// Print the plan (creates, updates, skips, job order, overrides) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also write the plan as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,

    /// Do not ask for confirmation (required when there is no terminal).
    #[arg(long)]
    pub yes: bool,
}

/// Logs restore events beside the usual progress output.
pub struct RestoreProgress {
    pub inner: Box<dyn ProgressSink>,
}

impl ProgressSink for RestoreProgress {
    fn event(&self, event: &Event) {
        match event {
            Event::RestorePlanned { jobs, assets } => {
                tracing::info!("planned {jobs} import jobs for {assets} assets")
            }
            Event::IdentitiesRestored {
                what,
                created,
                existing,
                skipped,
                failed,
            } => tracing::info!(
                "{what}: {created} created, {existing} already there, {skipped} skipped, {failed} failed"
            ),
            Event::ImportJobStarted { job_id, assets } => {
                tracing::info!("import job {job_id} started with {assets} assets")
            }
            Event::ImportJobFinished {
                job_id,
                status,
                succeeded,
                failed,
            } => tracing::info!("import job {job_id} ended {status}: {succeeded} restored, {failed} not"),
            Event::AssetRestoreFailed {
                asset_type,
                id,
                message,
            } => tracing::warn!("{asset_type}/{id} was not restored: {message}"),
            Event::DrillChecking { assets } => {
                tracing::info!("checking {assets} restored assets: reading them back from the target")
            }
            Event::DrillTearingDown { objects } => {
                tracing::info!("tearing down: deleting the {objects} assets and identities the drill created")
            }
            other => self.inner.event(other),
        }
    }
}

fn options(args: &RestoreArgs, config: &Config, mapping: Mapping) -> RestoreOptions {
    RestoreOptions {
        selection: SelectionSpec {
            ids: args.select.clone(),
            names: args.select_name.clone(),
        },
        conflict: match args.conflict {
            Conflict::Update => ConflictPolicy::Update,
            Conflict::Skip => ConflictPolicy::Skip,
            Conflict::Fail => ConflictPolicy::Fail,
        },
        prefix: args.prefix.clone().unwrap_or_default(),
        namespace: args.namespace.clone(),
        failure_action: match args.failure_action {
            Failure::Rollback => FailureAction::Rollback,
            Failure::DoNothing => FailureAction::DoNothing,
        },
        mapping,
        identities: !args.no_identities,
        job_timeout: Duration::from_secs(config.backup.job_timeout_seconds),
        cancel: crate::interrupt::token(),
        ..Default::default()
    }
}

/// The target's `aws:` section from the flags and the config.
fn target_section(args: &RestoreArgs, config: &Config) -> Result<AwsSection, Outcome> {
    target_section_of(
        &TargetFlags {
            account: args.target_account.as_deref(),
            region: args.target_region.as_deref(),
            identity_region: args.identity_region.as_deref(),
        },
        config,
    )
}

/// `--target-account`, `--target-region` and `--identity-region`, as restore and drill take them.
pub struct TargetFlags<'a> {
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
    pub identity_region: Option<&'a str>,
}

/// The target's `aws:` section from the target flags and the config.
pub fn target_section_of(args: &TargetFlags, config: &Config) -> Result<AwsSection, Outcome> {
    let usage = |flag: &str, e: String| Outcome::usage(anyhow!("--{flag}: {e}"));
    let account = match args.account {
        Some(a) => AccountId::try_from(a.to_string()).map_err(|e| usage("target-account", e))?,
        None => config.aws.account_id.clone().ok_or_else(|| {
            Outcome::usage(anyhow!(
                "the config lists several accounts: name the source with --account (and --region), or the \
                 target with --target-account"
            ))
        })?,
    };
    let region = match args.region {
        Some(r) => Region::try_from(r.to_string()).map_err(|e| usage("target-region", e))?,
        None => config.aws.region.clone(),
    };
    let identity_region = match args.identity_region {
        Some(r) => Region::try_from(r.to_string()).map_err(|e| usage("identity-region", e))?,
        None if Some(&account) == config.aws.account_id.as_ref() => config.aws.identity_region().clone(),
        None => region.clone(),
    };
    let mut section = AwsSection::new(account, region);
    section.identity_region = Some(identity_region);
    Ok(section)
}

/// `-v` lists every asset to create or overwrite and every principal that loses permissions.
fn listing(global: &GlobalArgs) -> Listing {
    if global.verbose > 0 {
        Listing::All
    } else {
        Listing::Short
    }
}

pub fn restore_error(e: RestoreError) -> Outcome {
    if e.is_usage() {
        return Outcome::usage(e.into());
    }
    match e {
        RestoreError::Identities(IdentityError::WrongIdentityRegion {
            account_id,
            identity_region,
            called_region,
        }) => Outcome::usage(anyhow!(
            "the users and groups of account {account_id} are in its identity region {identity_region}, not \
             {called_region}: pass --identity-region {identity_region}"
        )),
        RestoreError::Core(core) => Outcome::from_core(core),
        other => Outcome::failure(other.into()),
    }
}

pub fn check_prefix(prefix: &str) -> Result<(), Outcome> {
    restore::check_prefix(prefix).map_err(|e| Outcome::usage(anyhow!("--{e}")))
}

async fn confirm(plan: &RestorePlan) -> Result<bool, Outcome> {
    // Nothing may draw over the question while it waits for its answer.
    progress::clear();
    let imported = plan.imported().count();
    eprint!(
        "Restore {imported} assets into account {} ({})? [y/N] ",
        plan.target.account_id, plan.target.region
    );
    let _ = std::io::stderr().flush();
    // Read on a blocking thread so Ctrl-C at the prompt still ends the restore (and releases
    // its lock) instead of waiting for a line.
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map(|_| answer)
    });
    let answer = crate::interrupt::or_interrupt(read)
        .await
        .ok_or_else(|| Outcome::interrupted("nothing was restored"))?
        .map_err(|e| Outcome::failure(anyhow!("reading the answer: {e}")))?
        .map_err(|e| Outcome::failure(anyhow!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

pub async fn run(global: &GlobalArgs, args: &RestoreArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &RestoreArgs) -> Result<Outcome, Outcome> {
    if !args.dry_run && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Outcome::usage(anyhow!(
            "restore changes the target account: pass --yes to run it without a terminal, or --dry-run to see the plan"
        )));
    }
    let config = common::load_config(global)?;
    let mut args = args.clone();
    let (config, _) = common::source_of(&config, &mut args.source)?;
    // The backup's reader role cannot import: a restore into a member account names its own
    // role with --target-role-arn. Into another account than the config's, the target is named
    // too, so a source chosen with --account is never restored over the config's account by
    // default.
    if let (Some(source), Some(own), None) = (&args.source.account, &config.aws.account_id, &args.target_account) {
        if source != own.as_str() {
            return Err(Outcome::usage(anyhow!(
                "--account {source} is the source, and the config's account is {own}: name the account to \
                 restore into with --target-account ID (and its role with --target-role-arn)"
            )));
        }
    }
    // clap's group makes sure exactly one of them was given.
    args.snapshot = args
        .choice
        .positional
        .clone()
        .or(args.choice.flag.clone())
        .unwrap_or_default();
    run_with(global, &args, &config, &AwsOptions::default()).await
}

/// The restore with explicit AWS overrides.
pub async fn run_with(
    global: &GlobalArgs,
    args: &RestoreArgs,
    config: &Config,
    aws_options: &AwsOptions,
) -> Result<Outcome, Outcome> {
    let mapping = match &args.overrides {
        Some(path) => Mapping::load(path).map_err(restore_error)?,
        None => Mapping::default(),
    };
    run_mapped(global, args, config, aws_options, mapping, true)
        .await
        .map(|(outcome, _)| outcome)
}

/// The demo's round trip: the restore with `mapping` as its overrides, printing neither the
/// plan nor the report (the demo sums the report up); `--yes` is implied by the caller's args.
pub async fn run_quietly(
    global: &GlobalArgs,
    args: &RestoreArgs,
    config: &Config,
    aws_options: &AwsOptions,
    mapping: Mapping,
) -> Result<(Outcome, Option<qsbackup_core::restore::RestoreReport>), Outcome> {
    run_mapped(global, args, config, aws_options, mapping, false).await
}

async fn run_mapped(
    global: &GlobalArgs,
    args: &RestoreArgs,
    config: &Config,
    aws_options: &AwsOptions,
    mapping: Mapping,
    show: bool,
) -> Result<(Outcome, Option<qsbackup_core::restore::RestoreReport>), Outcome> {
    check_prefix(args.prefix.as_deref().unwrap_or_default())?;
    let target_section = target_section(args, config)?;
    let source = common::connect(config, aws_options).await?;
    let repository = common::open_repository(config, Some(&source)).await?;
    let target_options = AwsOptions {
        role_arn: args.target_role_arn.clone(),
        ..common::with_env_timeouts(aws_options)?
    };
    let target = AwsContext::connect(&target_section, &target_options)
        .await
        .map_err(Outcome::from_core)?;
    let lock = if args.dry_run {
        None
    } else {
        Some(
            RepositoryLock::shared(&repository, LockPurpose::Restore, Duration::ZERO)
                .await
                .map_err(|e| Outcome::from_core(e.into()))?,
        )
    };
    let result = plan_and_run(global, args, config, mapping, &repository, lock.as_ref(), &target, show).await;
    if let Some(lock) = lock {
        if let Err(e) = lock.release().await {
            tracing::warn!("releasing the repository lock: {e}");
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn plan_and_run(
    global: &GlobalArgs,
    args: &RestoreArgs,
    config: &Config,
    mapping: Mapping,
    repository: &qsbackup_core::repository::Repository,
    lock: Option<&SharedLock>,
    target: &AwsContext,
    show: bool,
) -> Result<(Outcome, Option<qsbackup_core::restore::RestoreReport>), Outcome> {
    let manifest = qsbackup_core::repository::snapshots::load_in(repository, &args.snapshot, &args.source.filter())
        .await
        .map_err(Outcome::from_core)?;
    let options = options(args, config, mapping);
    let sink = RestoreProgress {
        inner: progress::sink(global),
    };
    let plan = crate::interrupt::or_interrupt(Box::pin(restore::plan_restore(
        repository, &manifest, target, &options, &sink,
    )))
    .await
    .ok_or_else(|| Outcome::interrupted("stopped while planning; nothing was restored"))?
    .map_err(restore_error)?;
    // The listing of the target is over: its spinner goes before the plan is printed.
    progress::clear();
    if let Some(path) = &args.plan_out {
        let json = serde_json::to_vec_pretty(&plan).map_err(|e| Outcome::failure(e.into()))?;
        std::fs::write(path, json).map_err(|e| Outcome::failure(anyhow!("writing {}: {e}", path.display())))?;
    }
    if args.dry_run {
        if global.json {
            super::json::emit(
                "restore",
                &serde_json::json!({"dry_run": true, "snapshot_id": plan.snapshot_id, "plan": plan}),
            )?;
        } else {
            print!("{}", printable_lines(&plan_text(&plan, listing(global))));
        }
        return Ok((refusals(&plan).unwrap_or_else(Outcome::success), None));
    }
    if show && global.json {
        eprint!("{}", printable_lines(&plan_text(&plan, listing(global))));
    } else if show {
        print!("{}", printable_lines(&plan_text(&plan, listing(global))));
    }
    if !args.yes && !confirm(&plan).await? {
        return Err(Outcome::failure(anyhow!("restore cancelled; nothing was changed")));
    }
    let Some(lock) = lock else {
        return Err(Outcome::failure(anyhow!("a restore runs holding the repository lock")));
    };
    let report = Box::pin(restore::run_restore(lock, &plan, target, &options, &sink))
        .await
        .map_err(restore_error)?;
    if show && global.json {
        super::json::emit("restore", &report)?;
    } else if show {
        print!("\n{}", printable_lines(&report_text(&report, listing(global))));
    }
    if report.interrupted {
        let s = &report.summary;
        return Err(Outcome::interrupted(format!(
            "no import job started after the signal; {} assets restored, {} not attempted (see the report)",
            s.restored, s.not_attempted
        )));
    }
    let outcome = if report.succeeded() {
        Outcome::success()
    } else {
        refusals(&plan).unwrap_or_else(Outcome::partial)
    };
    Ok((outcome, Some(report)))
}

/// Exit 2 naming the assets the snapshot's copy of which cannot be restored, if there are any.
fn refusals(plan: &RestorePlan) -> Option<Outcome> {
    if plan.refused.is_empty() {
        return None;
    }
    let shown: Vec<String> = plan.refused.iter().take(5).map(|r| r.to_string()).collect();
    let more = plan.refused.len().saturating_sub(shown.len());
    Some(Outcome {
        code: crate::exit::PARTIAL,
        error: Some(anyhow!(
            "{} {} of snapshot {} cannot be restored from it: {}{}; `qsbackup verify {}` checks the snapshot",
            plan.refused.len(),
            if plan.refused.len() == 1 { "asset" } else { "assets" },
            plan.snapshot_id,
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            },
            plan.snapshot_id
        )),
    })
}
