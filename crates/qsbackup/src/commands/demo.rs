//! `qsbackup demo`: a backup of an emulated QuickSight account, in-process,
//! into a local repository. It needs no AWS account, no credentials and no
//! network, and leaves a repository and a config that later commands read.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use qs_emulator::{EmulatorOptions, Profile, Timing};
use qsbackup_core::aws::{AwsOptions, RetryPolicy};

use super::common;
use crate::cli::{BackupArgs, GlobalArgs};
use crate::exit::Outcome;

/// Marks a config file the demo wrote, so it never overwrites one of yours.
const MARKER: &str = "# Written by `qsbackup demo`";
pub const DEMO_ACCOUNT: &str = "123456789012";
pub const DEMO_TARGET_ACCOUNT: &str = "210987654321";

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Repository directory to create (a local repository).
    #[arg(long, default_value = "qsbackup-demo", value_name = "DIR")]
    pub dir: PathBuf,

    /// Size of the emulated account: small (~60 assets), medium (~1,000) or large (~10,000).
    #[arg(long, default_value = "medium", value_parser = ["small", "medium", "large"])]
    pub profile: String,

    /// Simulate QuickSight's real latencies and job durations (slower: a medium backup takes about a minute).
    #[arg(long)]
    pub realistic: bool,

    /// Seed of the emulated account.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

fn config_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "qsbackup-demo".into());
    dir.with_file_name(format!("{name}.yaml"))
}

fn write_config(path: &Path, dir: &Path) -> Result<(), Outcome> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        if !existing.starts_with(MARKER) {
            return Err(Outcome::usage(anyhow!(
                "{} exists and was not written by `qsbackup demo`; choose another --dir",
                path.display()
            )));
        }
    }
    let repo = dir.to_string_lossy();
    let text = format!(
        "{MARKER} for its emulated account; later commands read the demo repository with it.\n\
         aws:\n  account_id: \"{DEMO_ACCOUNT}\"\n  region: us-east-1\n  identity_region: us-east-1\n\
         repository: \"{repo}\"\n\
         backup:\n  max_assets_per_bundle: 50\n"
    );
    std::fs::write(path, text).map_err(|e| Outcome::failure(anyhow!("writing {}: {e}", path.display())))
}

pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &DemoArgs) -> Result<Outcome, Outcome> {
    let profile: Profile = args.profile.parse().map_err(|e: String| Outcome::usage(anyhow!(e)))?;
    let config_file = config_path(&args.dir);
    write_config(&config_file, &args.dir)?;
    let emulator = qs_emulator::start(EmulatorOptions {
        profile,
        seed: args.seed,
        accounts: vec![DEMO_ACCOUNT.into(), DEMO_TARGET_ACCOUNT.into()],
        timing: if args.realistic {
            Timing::Realistic
        } else {
            Timing::Instant
        },
        ..Default::default()
    })
    .await
    .map_err(|e| Outcome::failure(anyhow!("starting the emulated QuickSight: {e}")))?;
    tracing::info!(
        "emulated QuickSight ({} profile) at {}",
        args.profile,
        emulator.endpoint()
    );
    let config = common::load_config_at(&config_file)?;
    let aws = AwsOptions {
        quicksight_endpoint: Some(emulator.endpoint()),
        credentials: Some(aws_credential_types::Credentials::new(
            "demo",
            "demo",
            None,
            None,
            "qsbackup-demo",
        )),
        retry: RetryPolicy::fast(),
    };
    let manifest = super::backup::run_with(global, &BackupArgs::default(), &config, &aws).await?;
    let Some(manifest) = manifest else {
        return Ok(Outcome::success());
    };
    if !global.json {
        if !manifest.failed.is_empty() {
            println!(
                "\nThe emulated account deliberately holds assets QuickSight refuses to export (definition errors, \
                 datasets with ML columns, and what depends on them): the {} listed as failed above are reported \
                 exactly as a real backup would report them; everything else is in the snapshot.",
                manifest.failed.len()
            );
        }
        let c = config_file.display();
        println!(
            "\nThe demo backed up an emulated account into {dir}/ (snapshot {id}).\n\
             Explore it:\n  qsbackup --config {c} snapshots\n  qsbackup --config {c} show latest\n  qsbackup --config {c} verify --all\n\
             Nothing left this machine: the account was emulated in-process.",
            dir = args.dir.display(),
            id = manifest.id
        );
    }
    // The demo succeeded when its snapshot is committed: the failed assets are
    // the emulated account's deliberate ones, reported above.
    Ok(Outcome::success())
}
