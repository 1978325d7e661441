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

    /// Stop after the backup; by default the demo restores the snapshot into a second, empty
    /// emulated account and checks the round trip.
    #[arg(long)]
    pub no_restore: bool,
}

/// Restores the whole snapshot into the empty second account with the overrides a real DR
/// restore passes (`iam_account`: the IAM roles behind IAM users exist in the target under the
/// same names), then counts there, through the QuickSight APIs, what the snapshot holds.
async fn restore_into_second_account(
    global: &GlobalArgs,
    config: &qsbackup_core::config::Config,
    aws: &AwsOptions,
    manifest: &qsbackup_core::repository::manifest::SnapshotManifest,
) -> Result<(String, Option<qsbackup_core::restore::RestoreReport>), Outcome> {
    let args = super::restore::RestoreArgs {
        choice: Default::default(),
        source: Default::default(),
        snapshot: manifest.id.clone(),
        select: Vec::new(),
        select_name: Vec::new(),
        target_account: Some(DEMO_TARGET_ACCOUNT.into()),
        target_region: None,
        identity_region: None,
        target_role_arn: None,
        namespace: None,
        conflict: super::restore::Conflict::Update,
        prefix: None,
        failure_action: super::restore::Failure::DoNothing,
        overrides: None,
        identities: true,
        no_identities: false,
        dry_run: false,
        plan_out: None,
        yes: true,
    };
    let mapping = qsbackup_core::restore::mapping::Mapping {
        iam_account: Some(DEMO_TARGET_ACCOUNT.into()),
        ..Default::default()
    };
    let (outcome, report) = super::restore::run_quietly(global, &args, config, aws, mapping).await?;
    if let Some(e) = outcome.error {
        return Err(Outcome::failure(e.context("restoring the demo snapshot")));
    }
    let summary = report.as_ref().map(restore_summary).unwrap_or_default();
    let mut section = config.aws.clone();
    section.account_id = Some(
        qsbackup_core::config::AccountId::try_from(DEMO_TARGET_ACCOUNT.to_string())
            .map_err(|e| Outcome::failure(anyhow!(e)))?,
    );
    let target = qsbackup_core::aws::AwsContext::connect(&section, aws)
        .await
        .map_err(Outcome::from_core)?;
    let counts = round_trip_counts(&target, manifest).await.map_err(Outcome::failure)?;
    Ok((
        format!("{summary}\n  The target now lists (restored/stored): {counts}."),
        report,
    ))
}

/// A few lines on what the round trip restored, instead of the full plan and report.
fn restore_summary(r: &qsbackup_core::restore::RestoreReport) -> String {
    use std::collections::BTreeMap;
    let s = &r.summary;
    let mut out = format!(
        "  Assets: {} restored in {} import jobs, {} failed, {} not attempted.",
        s.restored,
        r.jobs.len(),
        s.failed,
        s.not_attempted
    );
    if let Some(ids) = &r.identities {
        let mut created: BTreeMap<&str, usize> = BTreeMap::new();
        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        for i in &ids.items {
            match &i.outcome {
                qsbackup_core::restore::identities::apply::ItemOutcome::Created => {
                    *created.entry(i.kind).or_default() += 1
                }
                qsbackup_core::restore::identities::apply::ItemOutcome::Skipped(why) if i.kind == "user" => {
                    let why = why.split(':').next().unwrap_or(why).to_string();
                    *skipped.entry(why).or_default() += 1
                }
                _ => {}
            }
        }
        let created: Vec<String> = created.iter().map(|(k, n)| format!("{n} {k}s")).collect();
        out.push_str(&format!(
            "\n  Identities created: {} (IAM users too: the overrides map their roles with iam_account).",
            created.join(", ")
        ));
        for (why, n) in &skipped {
            out.push_str(&format!("\n  Users not restored: {n}, {why}."));
        }
    }
    if !r.permissions_dropped.is_empty() {
        out.push_str(&format!(
            "\n  Permissions dropped: {}, for principals the target lacks ({} of them).",
            r.permissions_dropped.len(),
            r.permissions_dropped_by_principal.len()
        ));
    }
    out
}

/// "dashboard 320/320, dataset ..." for what the snapshot stored and the target now lists.
async fn round_trip_counts(
    target: &qsbackup_core::aws::AwsContext,
    manifest: &qsbackup_core::repository::manifest::SnapshotManifest,
) -> anyhow::Result<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut stored: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in &manifest.bundles {
        for m in &b.members {
            stored.entry(m.member_type.clone()).or_default().insert(m.id.clone());
        }
    }
    let qs = &target.quicksight;
    let account = &target.account_id;
    let mut present: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    macro_rules! ids {
        ($kind:literal, $call:expr, $id:ident) => {{
            let items = $call
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await?;
            present.insert(
                $kind,
                items.iter().filter_map(|i| i.$id().map(str::to_string)).collect(),
            );
        }};
    }
    ids!(
        "datasource",
        qs.list_data_sources().aws_account_id(account),
        data_source_id
    );
    ids!("dataset", qs.list_data_sets().aws_account_id(account), data_set_id);
    ids!("analysis", qs.list_analyses().aws_account_id(account), analysis_id);
    ids!("dashboard", qs.list_dashboards().aws_account_id(account), dashboard_id);
    ids!(
        "theme",
        qs.list_themes()
            .aws_account_id(account)
            .r#type(aws_sdk_quicksight::types::ThemeType::Custom),
        theme_id
    );
    ids!("folder", qs.list_folders().aws_account_id(account), folder_id);
    let mut parts = Vec::new();
    for (kind, ids) in &present {
        let want = stored.get(*kind).cloned().unwrap_or_default();
        parts.push(format!("{kind} {}/{}", want.intersection(ids).count(), want.len()));
    }
    Ok(parts.join(", "))
}

fn config_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "qsbackup-demo".into());
    dir.with_file_name(format!("{name}.yaml"))
}

/// Writes the config later commands read the demo repository with. It names the demo's
/// emulated QuickSight (`demo.quicksight_endpoint`, gone when the demo ends), so commands that
/// would call AWS with it refuse it instead of reaching a real account with ambient
/// credentials; its repository is relative to the config's own directory, where the demo's
/// repository sits beside it.
fn write_config(path: &Path, dir: &Path, endpoint: &str) -> Result<(), Outcome> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        if !existing.starts_with(MARKER) {
            return Err(Outcome::usage(anyhow!(
                "{} exists and was not written by `qsbackup demo`; choose another --dir",
                path.display()
            )));
        }
    }
    let repo = match dir.file_name() {
        Some(name) => format!("./{}", name.to_string_lossy()),
        None => dir.to_string_lossy().into_owned(),
    };
    let text = format!(
        "{MARKER} for its emulated account; later commands read the demo repository with it.\n\
         # The account below was emulated in-process and is gone: backup, restore and cost refuse this\n\
         # config instead of calling AWS; snapshots, show, verify and diff read the repository.\n\
         demo:\n  quicksight_endpoint: \"{endpoint}\"\n\
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
    write_config(&config_file, &args.dir, &emulator.endpoint())?;
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
        ..Default::default()
    };
    // One document for the whole demo: the backup's and the restore's go inside it.
    let (ran, mut documents) = super::json::gather(async {
        let manifest = super::backup::run_with(global, &BackupArgs::default(), &config, &aws).await?;
        let Some(manifest) = manifest else {
            return Ok(None);
        };
        let restored = if args.no_restore {
            None
        } else {
            Some(restore_into_second_account(global, &config, &aws, &manifest).await?)
        };
        Ok::<_, Outcome>(Some((manifest, restored)))
    })
    .await;
    let Some((manifest, restored)) = ran? else {
        return Ok(Outcome::success());
    };
    if global.json {
        super::json::emit(
            "demo",
            &serde_json::json!({
                "snapshot_id": manifest.id,
                "repository": args.dir,
                "config": config_file,
                "backup": documents.remove("backup"),
                "restore": restored.as_ref().and_then(|(_, report)| report.as_ref()),
                "round_trip": restored.as_ref().map(|(summary, _)| summary),
            }),
        )?;
    } else {
        if !manifest.failed.is_empty() {
            println!(
                "\nThe emulated account deliberately holds assets QuickSight refuses to export (definition errors, \
                 datasets with ML columns, and what depends on them): the {} listed as failed above are reported \
                 exactly as a real backup would report them; everything else is in the snapshot.",
                manifest.failed.len()
            );
        }
        if let Some((counts, _)) = &restored {
            println!(
                "\nRound trip: the snapshot was restored into the empty emulated account {DEMO_TARGET_ACCOUNT} \
                 (`qsbackup restore` prints the full plan and report).\n{counts}"
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
