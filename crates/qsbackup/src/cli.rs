//! The command line: global options (accepted before or after the command
//! name), the sample tool's backup flags (also accepted with no command, so
//! `qsbackup --config FILE` runs a backup as `quicksight-backup --config FILE`
//! did), and one subcommand per job.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::{commands, help};

#[derive(Debug, Parser)]
#[command(
    name = "qsbackup",
    version,
    about = "Back up and restore Amazon QuickSight: assets, identities and account settings",
    long_about = "Back up and restore Amazon QuickSight.\n\n\
        A backup exports every asset with the AssetsAsBundle APIs (up to 5 jobs at once), stores each \
        bundle with its SHA-256 in a repository (a local directory, or s3://, gs://, az://), keeps users, \
        groups and memberships of every namespace, and commits a snapshot manifest last.\n\n\
        Run `qsbackup demo` to see a backup of an emulated account without an AWS account.",
    after_help = help::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Backup flags, for `qsbackup --config FILE [flags]` with no command.
    #[command(flatten, next_help_heading = "Backup options (with no command)")]
    pub backup: BackupArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts, before or after its name (listed under their own heading).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file (YAML or JSON, by extension); the sample tool's configs load unchanged.
    /// Relative paths in it are relative to the file's directory.
    #[arg(short = 'c', long, global = true, env = "QSBACKUP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Repository (a path, file://, s3://bucket/prefix, gs://, az://); wins over the config's.
    /// Commands that only read or maintain a repository need no config when this is given.
    #[arg(
        short = 'r',
        long = "repo",
        visible_alias = "repository",
        global = true,
        env = "QSBACKUP_REPOSITORY",
        value_name = "URL"
    )]
    pub repo: Option<String>,

    /// More detail: in logs (-v debug, -vv trace), and every changed field in `diff` and `log`.
    #[arg(short = 'v', long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only warnings, errors and the result: no progress, no informational log lines.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Also write the log to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// No progress bars: one log line per finished step instead.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Print one machine-readable JSON document on stdout (logs stay on stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

/// What a backup covers (the sample tool's `--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Mode {
    /// Assets, identities and account settings.
    #[default]
    Full,
    /// Users, groups and memberships only (and the DynamoDB tables).
    UsersOnly,
    /// Assets and account settings, no identities.
    AssetsOnly,
}

#[derive(Debug, Clone, Args, Default, PartialEq)]
pub struct BackupArgs {
    /// What to back up.
    #[arg(short = 'm', long, value_enum)]
    pub mode: Option<Mode>,

    /// Directory for --generate-manifest / --generate-report files.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Check the config, credentials, QuickSight, the repository and DynamoDB, and print what a
    /// backup would do; start no export job and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Also write the sample tool's backup_manifest_YYYYMMDD_HHMMSS.json into --output-dir.
    #[arg(long)]
    pub generate_manifest: bool,

    /// Also write the sample tool's backup_report_YYYYMMDD_HHMMSS.txt into --output-dir.
    #[arg(long)]
    pub generate_report: bool,

    /// Wait this many seconds for another run's repository lock before giving up (exit 4).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_wait: u64,

    /// With a config listing several accounts (`accounts:` or `organization:`): back up only
    /// this account (12 digits), e.g. to run again the one that failed.
    #[arg(long, value_name = "ID", value_parser = crate::commands::repo::account_id)]
    pub account: Option<String>,

    /// Back up only this region of the config's targets.
    #[arg(long, value_name = "REGION", value_parser = crate::commands::repo::region)]
    pub region: Option<String>,
}

impl BackupArgs {
    /// True when any backup flag was given.
    pub fn any(&self) -> bool {
        self != &BackupArgs::default()
    }

    /// These flags, completed by those given before the command name.
    pub fn or(&self, before: &BackupArgs) -> BackupArgs {
        BackupArgs {
            mode: self.mode.or(before.mode),
            output_dir: self.output_dir.clone().or_else(|| before.output_dir.clone()),
            dry_run: self.dry_run || before.dry_run,
            generate_manifest: self.generate_manifest || before.generate_manifest,
            generate_report: self.generate_report || before.generate_report,
            lock_wait: self.lock_wait.max(before.lock_wait),
            account: self.account.clone().or_else(|| before.account.clone()),
            region: self.region.clone().or_else(|| before.region.clone()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up assets, identities and account settings into a new snapshot.
    #[command(after_help = help::BACKUP)]
    Backup(BackupArgs),
    /// Back up an emulated QuickSight account into ./qsbackup-demo: no AWS account needed.
    #[command(after_help = help::DEMO)]
    Demo(commands::demo::DemoArgs),
    /// List the snapshots of the repository, oldest first.
    #[command(after_help = help::SNAPSHOTS)]
    Snapshots(commands::snapshots::SnapshotsArgs),
    /// Show one snapshot: its assets, identities, account settings, skipped and failed assets.
    #[command(after_help = help::SHOW)]
    Show(commands::show::ShowArgs),
    /// List every snapshot that holds an asset (TYPE/ID or --name GLOB), newest first, with its status there.
    #[command(after_help = help::FIND)]
    Find(commands::find::FindArgs),
    /// One asset's history (TYPE/ID or --name GLOB): every snapshot where it was added, changed, renamed, failed or disappeared.
    #[command(after_help = help::LOG)]
    Log(commands::log::LogArgs),
    /// Print one asset's JSON as stored in a snapshot (or, with --zip, the bundle holding it).
    #[command(after_help = help::DUMP)]
    Dump(commands::dump::DumpArgs),
    /// Show what changed between two snapshots: assets, users, groups, memberships, roles.
    #[command(after_help = help::DIFF)]
    Diff(commands::diff::DiffArgs),
    /// Check that every object a snapshot references is intact (exit 1 naming each problem).
    #[command(after_help = help::VERIFY)]
    Verify(commands::verify::VerifyArgs),
    /// Remove snapshots by a retention policy (restic's --keep-* rules); --prune deletes their data.
    #[command(after_help = help::FORGET)]
    Forget(commands::forget::ForgetArgs),
    /// Remove stale repository locks left by runs that are gone.
    #[command(after_help = help::UNLOCK)]
    Unlock(commands::unlock::UnlockArgs),
    /// Restore a snapshot, or selected assets with what they depend on, into this or another account.
    #[command(after_help = help::RESTORE)]
    Restore(commands::restore::RestoreArgs),
    /// Prove recovery: restore a snapshot into a recovery account, check every asset, measure RTO and RPO.
    #[command(after_help = help::DRILL)]
    Drill(commands::drill::DrillArgs),
    /// List the recovery drills kept in the repository, oldest first, with their RTO, RPO and result.
    #[command(after_help = help::DRILLS)]
    Drills(commands::drill::DrillsArgs),
    /// Write the repository's history as one self-contained HTML page (works offline and from S3).
    #[command(after_help = help::REPORT)]
    Report(commands::report::ReportArgs),
    /// Turn the AWS sample tool's backup of one day into a verified snapshot.
    #[command(after_help = help::IMPORT_LEGACY)]
    ImportLegacy(commands::import_legacy::ImportLegacyArgs),
    /// Print the least-privilege IAM policy a backup (or, with --restore, a restore) of this config needs.
    #[command(after_help = help::IAM_POLICY)]
    IamPolicy(commands::iam_policy::IamPolicyArgs),
    /// Estimate the monthly S3 and DynamoDB cost of scheduled backups of this config.
    #[command(after_help = help::COST)]
    Cost(commands::cost::CostArgs),
}
