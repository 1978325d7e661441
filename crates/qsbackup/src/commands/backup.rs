//! `qsbackup backup` (and `qsbackup --config FILE` with no command): a full,
//! users-only or assets-only backup into a new snapshot, or with --dry-run
//! the checks and the plan without exporting or writing anything.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::anyhow;
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::backup::preflight::{preflight, PreflightCheck};
use qsbackup_core::backup::sections::{AccountSection, IdentitiesSection};
use qsbackup_core::backup::{self, BackupOptions, BackupPlan};
use qsbackup_core::config::Config;
use qsbackup_core::repository::manifest::report::{report_text, write_sample_manifest, write_sample_report};
use qsbackup_core::repository::manifest::{BackupMode, SnapshotManifest};
use qsbackup_core::repository::{Repository, RepositoryOptions};
use qsbackup_core::text::{printable, printable_lines};
use serde_json::json;

use super::common;
use crate::cli::{BackupArgs, GlobalArgs, Mode};
use crate::exit::Outcome;
use crate::progress;

mod targets;

fn mode(args: &BackupArgs) -> BackupMode {
    match args.mode.unwrap_or_default() {
        Mode::Full => BackupMode::Full,
        Mode::UsersOnly => BackupMode::UsersOnly,
        Mode::AssetsOnly => BackupMode::AssetsOnly,
    }
}

pub async fn run(global: &GlobalArgs, args: &BackupArgs) -> Outcome {
    match run_inner(global, args, &AwsOptions::default()).await {
        Ok(o) | Err(o) => o,
    }
}

/// The backup with explicit AWS overrides (the demo points it at its emulator).
pub async fn run_with(
    global: &GlobalArgs,
    args: &BackupArgs,
    config: &Config,
    aws_options: &AwsOptions,
) -> Result<Option<SnapshotManifest>, Outcome> {
    if (args.generate_manifest || args.generate_report) && args.output_dir.is_none() {
        return Err(Outcome::usage(anyhow!(
            "--generate-manifest and --generate-report need --output-dir DIR"
        )));
    }
    let aws = common::connect(config, aws_options).await?;
    let identities = IdentitiesSection::new(config, &aws);
    let options = BackupOptions {
        mode: mode(args),
        tuning: Default::default(),
        identities: Some(Arc::new(identities)),
        account: Some(Arc::new(AccountSection::new(&aws))),
        lock_wait: std::time::Duration::from_secs(args.lock_wait),
        no_resume: false,
        cancel: crate::interrupt::token(),
    };
    if args.dry_run {
        // A dry run writes nothing, so it does not create a missing repository either.
        let repository = Repository::open(
            &config.repository_url(),
            &RepositoryOptions {
                s3_endpoint: None,
                aws: Some(aws.home.clone()),
            },
        )
        .await;
        crate::interrupt::or_interrupt(dry_run(global, config, &aws, repository, &options))
            .await
            .ok_or_else(|| Outcome::interrupted("the dry run stopped; it writes nothing"))??;
        return Ok(None);
    }
    let repository = common::create_repository(config, Some(&aws)).await?;
    let sink = progress::sink(global);
    // The engine's futures are boxed, so the runtime's default thread stacks suffice.
    let outcome = Box::pin(backup::run_backup(config, &aws, &repository, sink.as_ref(), &options))
        .await
        .map_err(|e| {
            progress::clear();
            if let qsbackup_core::Error::NothingStored { failed, .. } = &e {
                eprintln!("\n{}", failed_list(failed));
            }
            Outcome::from_core(e)
        })?;
    // The bars end with their final line; the report that follows is the result, on stdout.
    drop(sink);
    let manifest = outcome.manifest;
    if !global.json {
        println!("\n{}", printable_lines(&report_text(&manifest, repository.location())));
    }
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| Outcome::failure(anyhow!("creating {}: {e}", dir.display())))?;
        if args.generate_manifest {
            let path = write_sample_manifest(dir, &manifest, repository.location()).map_err(Outcome::from_core)?;
            eprintln!("Manifest written to {}", path.display());
        }
        if args.generate_report {
            let path = write_sample_report(dir, &manifest, repository.location()).map_err(Outcome::from_core)?;
            eprintln!("Report written to {}", path.display());
        }
    }
    if global.json {
        super::json::emit("backup", &summary_json(&manifest, repository.location()))?;
    }
    Ok(Some(manifest))
}

async fn run_inner(global: &GlobalArgs, args: &BackupArgs, aws_options: &AwsOptions) -> Result<Outcome, Outcome> {
    let config = common::load_config(global)?;
    if config.lists_accounts() {
        return targets::run(global, args, &config, aws_options).await;
    }
    targets::check_single(args, &config)?;
    let manifest = run_with(global, args, &config, aws_options).await?;
    Ok(match manifest {
        // Acknowledged failures (`backup.acknowledged`) are reported but do not make it partial.
        Some(m)
            if m.failed.iter().any(|f| !f.acknowledged)
                || m.status != qsbackup_core::repository::manifest::SnapshotStatus::Complete =>
        {
            Outcome::partial()
        }
        _ => Outcome::success(),
    })
}

/// The assets of a run that stored nothing, so the error is actionable without a snapshot.
fn failed_list(failed: &[qsbackup_core::repository::manifest::FailedAsset]) -> String {
    const SHOWN: usize = 50;
    let mut out = format!("{} assets failed:\n", failed.len());
    for f in failed.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {} {} ({}): {}",
            f.asset_type,
            printable(&f.name),
            printable(&f.arn),
            printable(&f.message)
        );
    }
    if failed.len() > SHOWN {
        let _ = writeln!(out, "  ... and {} more", failed.len() - SHOWN);
    }
    out
}

/// The machine-readable summary of a committed backup.
pub fn summary_json(m: &SnapshotManifest, repository: &str) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> =
        qsbackup_core::repository::manifest::report::counts_by_type(m)
            .into_iter()
            .map(|(t, (ok, skipped, failed))| {
                (
                    t.as_str().to_string(),
                    json!({"backed_up": ok, "skipped": skipped, "failed": failed}),
                )
            })
            .collect();
    json!({
        "snapshot_id": m.id,
        "status": m.status,
        "repository": repository,
        "manifest": qsbackup_core::repository::manifest::manifest_key(&m.id),
        "mode": m.mode,
        "started_at": m.started_at,
        "finished_at": m.finished_at,
        "assets": counts,
        "bundles": m.bundles.len(),
        "bytes": m.total_bytes(),
        "bundle_bytes": m.bundle_bytes(),
        "skipped": m.skipped,
        "failed": m.failed,
        "failure_causes": qsbackup_core::failures::group(&m.failed),
        "identities": m.identities,
        "identity_counts": m.identity_counts,
        "account": m.account,
        "scope": m.scope,
        "partial_scope": m.scope.as_ref().is_some_and(|s| s.is_partial()),
        "host": m.host,
        "caller_arn": m.caller_arn,
        "notes": m.notes,
    })
}

/// Checks everything a backup needs, then prints what it would do. Starts no
/// export job and leaves nothing behind in the repository.
async fn dry_run(
    global: &GlobalArgs,
    config: &Config,
    aws: &AwsContext,
    repository: qsbackup_core::Result<Repository>,
    options: &BackupOptions,
) -> Result<(), Outcome> {
    let checks = preflight(config, aws, &repository, options.mode)
        .await
        .map_err(Outcome::from_core)?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.check, c.detail))
        .collect();

    let plan = if options.mode.includes_assets() && failed.is_empty() {
        let sink = progress::sink(global);
        Some(
            backup::dry_run(config, aws, sink.as_ref(), options)
                .await
                .map_err(Outcome::from_core)?,
        )
    } else {
        None
    };
    progress::clear();
    if global.json {
        super::json::emit("backup", &json!({"dry_run": true, "checks": checks, "plan": plan}))?;
    } else {
        println!("{}", printable_lines(&render_dry_run(&checks, plan.as_ref())));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Outcome::failure(anyhow!(
            "dry run checks failed: {}",
            failed.join("; ")
        )))
    }
}

fn render_dry_run(checks: &[PreflightCheck], plan: Option<&BackupPlan>) -> String {
    let mut out = String::from("Dry run: nothing is exported and nothing is written.\n\nChecks:\n");
    for c in checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(out, "  {mark}  {}: {}", c.check, c.detail);
    }
    let Some(plan) = plan else { return out };
    let _ = writeln!(out, "\nAssets discovered:");
    for (t, n) in &plan.discovered {
        let _ = writeln!(out, "  {:<14} {n:>6}", t.as_str());
    }
    let _ = writeln!(out, "\nWould skip {} assets:", plan.skipped.len());
    for s in &plan.skipped {
        let _ = writeln!(
            out,
            "  {} {} ({}): {}",
            s.asset_type,
            printable(&s.name),
            printable(&s.arn),
            printable(&s.message)
        );
    }
    let _ = writeln!(
        out,
        "\nWould export {} bundles ({} assets):",
        plan.bundles.bundles.len(),
        plan.bundles.asset_count()
    );
    for b in &plan.bundles.bundles {
        let _ = writeln!(
            out,
            "  {} bundle {}/{}: {} assets",
            b.asset_type,
            b.number,
            b.of,
            b.assets.len()
        );
    }
    for n in &plan.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}
