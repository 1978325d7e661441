//! `qsbackup backup` with a config that lists several accounts (`accounts:` or
//! `organization:`): every account × region in one run, a snapshot each, one table of outcomes.
//! Exit 0 when every target committed a complete snapshot, 2 when some failed or are partial,
//! 1 when none committed anything.

use std::fmt::Write as _;

use anyhow::anyhow;
use qsbackup_core::aws::{self, AwsContext, AwsOptions};
use qsbackup_core::backup::preflight::{preflight, PreflightCheck};
use qsbackup_core::backup::targets::{run_targets, TargetResult};
use qsbackup_core::backup::BackupOptions;
use qsbackup_core::config::{Config, Target};
use qsbackup_core::repository::{Repository, RepositoryOptions};
use qsbackup_core::text::printable_lines;
use serde_json::json;

use super::{mode, summary_json};
use crate::cli::{BackupArgs, GlobalArgs};
use crate::commands::{common, json, repo};
use crate::exit::Outcome;
use crate::progress::targets::{ending, TargetLines};

/// `--account`/`--region` against a single-account config: they must name its target, so a
/// flag meant for another config never backs up this one silently.
pub fn check_single(args: &BackupArgs, config: &Config) -> Result<(), Outcome> {
    let account = config.aws.account_id.as_ref().map(|a| a.as_str());
    if let Some(a) = args.account.as_deref().filter(|a| Some(*a) != account) {
        return Err(Outcome::usage(anyhow!(
            "--account {a}: this config backs up account {} only",
            account.unwrap_or("(none)")
        )));
    }
    if let Some(r) = args.region.as_deref().filter(|r| *r != config.aws.region.as_str()) {
        return Err(Outcome::usage(anyhow!(
            "--region {r}: this config backs up region {} only",
            config.aws.region
        )));
    }
    Ok(())
}

/// The targets `--account`/`--region` keep; none kept is a usage error naming what there is.
fn select(targets: Vec<Target>, args: &BackupArgs) -> Result<Vec<Target>, Outcome> {
    let all: Vec<String> = targets.iter().map(Target::to_string).collect();
    let kept = common::targets_in(targets, args.account.as_deref(), args.region.as_deref());
    if kept.is_empty() {
        return Err(Outcome::usage(anyhow!(
            "no target of this config is {}{}; its targets: {}",
            args.account
                .as_deref()
                .map(|a| format!("account {a}"))
                .unwrap_or_default(),
            args.region.as_deref().map(|r| format!(" in {r}")).unwrap_or_default(),
            all.join(", ")
        )));
    }
    Ok(kept)
}

pub async fn run(
    global: &GlobalArgs,
    args: &BackupArgs,
    config: &Config,
    aws_options: &AwsOptions,
) -> Result<Outcome, Outcome> {
    if args.generate_manifest || args.generate_report {
        return Err(Outcome::usage(anyhow!(
            "--generate-manifest and --generate-report write the sample tool's files of one account: with \
             several accounts, read each snapshot with `qsbackup show` (or this run's --json)"
        )));
    }
    let options = common::with_env_timeouts(aws_options)?;
    let home = aws::home_config(config.aws.region.as_str(), &options)
        .await
        .map_err(Outcome::from_core)?;
    let listed = crate::interrupt::or_interrupt(qsbackup_core::organization::targets(config, &home))
        .await
        .ok_or_else(|| Outcome::interrupted("stopped while listing the accounts; nothing was backed up"))?
        .map_err(Outcome::from_core)?;
    for (id, state) in &listed.inactive {
        tracing::warn!("account {id} of the organization is {state}, not ACTIVE: it is not backed up");
    }
    let targets = select(listed.targets, args)?;
    let repository_options = RepositoryOptions {
        s3_endpoint: None,
        aws: Some(home),
    };
    if args.dry_run {
        let repository = Repository::open(&config.repository_url(), &repository_options).await;
        return crate::interrupt::or_interrupt(dry_run(global, args, config, &targets, &options, repository))
            .await
            .ok_or_else(|| Outcome::interrupted("the dry run stopped; it writes nothing"))?;
    }
    let (repository, created) = Repository::create_or_open(&config.repository_url(), &repository_options)
        .await
        .map_err(Outcome::from_core)?;
    if created {
        eprintln!("Created a new repository at {}", repository.location());
    }
    let backup_options = BackupOptions {
        mode: mode(args),
        lock_wait: std::time::Duration::from_secs(args.lock_wait),
        cancel: crate::interrupt::token(),
        ..Default::default()
    };
    let progress = TargetLines::new(global);
    let results = run_targets(config, &targets, &options, &repository, &progress, &backup_options).await;
    drop(progress);
    if global.json {
        json::emit("backup", &results_json(&results, repository.location()))?;
    } else {
        repo::out(&render(&results, repository.location()));
    }
    Ok(outcome(&results))
}

/// 0 all complete, 2 some failed or partial, 1 nothing committed; an interruption wins.
fn outcome(results: &[TargetResult]) -> Outcome {
    if results
        .iter()
        .any(|r| r.outcome.as_ref().is_err_and(|e| e.is_interrupted()))
    {
        let committed = results.iter().filter(|r| r.outcome.is_ok()).count();
        return Outcome::interrupted(format!(
            "{committed} of {} targets were committed before it; the others commit nothing and resume next time",
            results.len()
        ));
    }
    let committed = results.iter().filter(|r| r.outcome.is_ok()).count();
    if committed == 0
        && results
            .iter()
            .all(|r| r.outcome.as_ref().is_err_and(|e| e.is_lock_held()))
    {
        return Outcome {
            code: crate::exit::LOCKED,
            error: Some(anyhow!(
                "another run holds the lock of every target's account; nothing was backed up (--lock-wait SECONDS waits)"
            )),
        };
    }
    if committed == 0 {
        Outcome::failure(anyhow!(
            "no target was backed up ({} failed); see the table above",
            results.len()
        ))
    } else if results.iter().all(TargetResult::is_complete) {
        Outcome::success()
    } else {
        Outcome::partial()
    }
}

fn status(r: &TargetResult) -> String {
    match &r.outcome {
        Ok(o) => repo::serde_name(&o.manifest.status),
        Err(e) if e.is_interrupted() => "interrupted".into(),
        Err(_) => "failed".into(),
    }
}

fn render(results: &[TargetResult], location: &str) -> String {
    let committed = results.iter().filter(|r| r.outcome.is_ok()).count();
    let mut out = format!(
        "\n{committed} of {} targets backed up into {location}\n\n",
        results.len()
    );
    let row = |out: &mut String, cells: [&str; 7]| {
        let [account, region, status, snapshot, assets, failed, size] = cells;
        let _ = writeln!(
            out,
            "  {account:<12}  {region:<14}  {status:<11}  {snapshot:<22}  {assets:>6}  {failed:>6}  {size:>10}"
        );
    };
    row(
        &mut out,
        ["ACCOUNT", "REGION", "STATUS", "SNAPSHOT", "ASSETS", "FAILED", "SIZE"],
    );
    for r in results {
        let t = &r.target;
        let status = status(r);
        let (snapshot, assets, failed, size) = match &r.outcome {
            Ok(o) => (
                o.manifest.id.clone(),
                o.manifest.stored_asset_count().to_string(),
                o.manifest.failed.len().to_string(),
                repo::bytes(o.manifest.total_bytes()),
            ),
            Err(_) => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        row(
            &mut out,
            [
                t.account_id.as_str(),
                t.region.as_str(),
                &status,
                &snapshot,
                &assets,
                &failed,
                &size,
            ],
        );
    }
    let failures: Vec<&TargetResult> = results.iter().filter(|r| r.outcome.is_err()).collect();
    if !failures.is_empty() {
        let accounts = failed_accounts(results);
        let _ = writeln!(
            out,
            "\nFailed: {} of account{} {} (nothing committed for them, earlier snapshots untouched):",
            if failures.len() == 1 {
                "1 target".to_string()
            } else {
                format!("{} targets", failures.len())
            },
            if accounts.len() == 1 { "" } else { "s" },
            accounts.join(", ")
        );
        for r in failures {
            let _ = writeln!(out, "  {} {}", r.target, ending(r));
        }
        let _ = writeln!(out, "Run them again alone with --account ID [--region REGION].");
    }
    out
}

/// The accounts with a target that failed, in order.
fn failed_accounts(results: &[TargetResult]) -> Vec<String> {
    let mut accounts: Vec<String> = Vec::new();
    for r in results.iter().filter(|r| r.outcome.is_err()) {
        let id = r.target.account_id.to_string();
        if !accounts.contains(&id) {
            accounts.push(id);
        }
    }
    accounts
}

fn results_json(results: &[TargetResult], location: &str) -> serde_json::Value {
    let targets: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let t = &r.target;
            let mut v = json!({
                "account_id": t.account_id.as_str(),
                "region": t.region.as_str(),
                "identity_region": t.identity_region.as_str(),
                "role_arn": t.role_arn,
                "status": status(r),
            });
            match &r.outcome {
                Ok(o) => v["snapshot"] = summary_json(&o.manifest, location),
                Err(e) => v["error"] = json!(e.to_string()),
            }
            v
        })
        .collect();
    let count = |s: &str| results.iter().filter(|r| status(r) == s).count();
    json!({
        "repository": location,
        "targets": targets,
        "complete": count("complete"),
        "partial": count("partial"),
        "failed": count("failed"),
        "interrupted": count("interrupted"),
        "failed_accounts": failed_accounts(results),
    })
}

/// The checks of every target (role assumed, QuickSight answering, permissions, the
/// repository, DynamoDB), all before anything runs; nothing is exported or written.
async fn dry_run(
    global: &GlobalArgs,
    args: &BackupArgs,
    config: &Config,
    targets: &[Target],
    options: &AwsOptions,
    repository: qsbackup_core::Result<Repository>,
) -> Result<Outcome, Outcome> {
    let mut all = Vec::new();
    for target in targets {
        let checks = target_checks(config, target, options, &repository, mode(args)).await;
        all.push((target, checks));
    }
    let failed = all.iter().filter(|(_, checks)| checks.iter().any(|c| !c.ok)).count();
    if global.json {
        let doc: Vec<serde_json::Value> = all
            .iter()
            .map(|(t, checks)| {
                json!({"account_id": t.account_id.as_str(), "region": t.region.as_str(), "role_arn": t.role_arn, "checks": checks})
            })
            .collect();
        json::emit("backup", &json!({"dry_run": true, "targets": doc}))?;
    } else {
        let mut out = String::from("Dry run: nothing is exported and nothing is written.\n");
        for (t, checks) in &all {
            let _ = writeln!(
                out,
                "\n{t}{}:",
                t.role_arn
                    .as_deref()
                    .map(|r| format!(" (role {r})"))
                    .unwrap_or_default()
            );
            for c in checks {
                let mark = if c.ok { "ok  " } else { "FAIL" };
                let _ = writeln!(out, "  {mark}  {}: {}", c.check, c.detail);
            }
        }
        println!("{}", printable_lines(&out));
    }
    if failed == 0 {
        Ok(Outcome::success())
    } else {
        Err(Outcome::failure(anyhow!(
            "dry run checks failed for {failed} of {} targets",
            targets.len()
        )))
    }
}

/// One target's checks: its role first (nothing else can pass without it).
async fn target_checks(
    config: &Config,
    target: &Target,
    options: &AwsOptions,
    repository: &qsbackup_core::Result<Repository>,
    mode: qsbackup_core::repository::manifest::BackupMode,
) -> Vec<PreflightCheck> {
    let config = config.for_target(target);
    let options = AwsOptions {
        role_arn: target.role_arn.clone(),
        ..options.clone()
    };
    let fail = |check: &str, detail: String| PreflightCheck {
        check: check.into(),
        ok: false,
        detail,
    };
    let aws = match AwsContext::connect(&config.aws, &options).await {
        Ok(aws) => aws,
        Err(e) => return vec![fail("AWS configuration", e.to_string())],
    };
    let mut checks = Vec::new();
    if let Some(role) = &target.role_arn {
        match aws.assumed_role().await {
            Ok(()) => checks.push(PreflightCheck {
                check: "role".into(),
                ok: true,
                detail: format!("assumed {role}"),
            }),
            Err(e) => {
                checks.push(fail("role", format!("{role} could not be assumed: {e}")));
                return checks;
            }
        }
    }
    match preflight(&config, &aws, repository, mode).await {
        Ok(mut c) => checks.append(&mut c),
        Err(e) => checks.push(fail("QuickSight", e.to_string())),
    }
    checks
}
