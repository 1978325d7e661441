//! `qsbackup verify [ID|--all]`: re-reads every object the snapshot(s) reference and checks size,
//! SHA-256, zip structure, member inventory and safety; exits 1 naming each problem.

use anyhow::anyhow;
use clap::Args;
use qsbackup_core::repository::lock::{LockPurpose, RepositoryLock};
use qsbackup_core::repository::verify::{verify_all, verify_one, VerifyOptions, VerifyReport};
use std::fmt::Write as _;
use std::time::Duration;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Snapshot id, a unique prefix of one, or `latest` (the default).
    #[arg(value_name = "ID|latest", conflicts_with = "all")]
    pub snapshot: Option<String>,

    /// Verify every snapshot of the repository.
    #[arg(long)]
    pub all: bool,

    /// Wait this many seconds for a running forget or prune to finish before giving up (exit 4).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_wait: u64,

    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub async fn run(global: &GlobalArgs, args: &VerifyArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &VerifyArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let options = VerifyOptions::default();
    let filter = args.select.filter();
    // Shared: beside backups and restores; a prune waits until the objects are read.
    let lock = RepositoryLock::shared(&repository, LockPurpose::Verify, Duration::from_secs(args.lock_wait))
        .await
        .map_err(|e| Outcome::from_core(e.into()))?;
    let result = crate::interrupt::or_interrupt(async {
        if args.all {
            verify_all(&lock, &filter, &options).await
        } else {
            verify_one(&lock, args.snapshot.as_deref().unwrap_or("latest"), &filter, &options).await
        }
    })
    .await;
    if let Err(e) = lock.release().await {
        tracing::warn!("releasing the repository lock: {e}");
    }
    let report = result
        .ok_or_else(|| Outcome::interrupted("stopped before every object was checked; nothing was changed"))?
        .map_err(Outcome::from_core)?;
    if global.json {
        super::json::emit(
            "verify",
            &serde_json::json!({
                "repository": repository.location(),
                "ok": report.is_ok(),
                "report": report,
            }),
        )?;
    } else {
        repo::out(&render(&report));
    }
    if report.is_ok() && report.snapshots.is_empty() {
        // "No problems" over nothing would keep a monitoring job green on an empty or wrong
        // repository.
        return Ok(Outcome::failure(anyhow!(
            "nothing was verified: {} holds no snapshot",
            repository.location()
        )));
    }
    if report.is_ok() {
        return Ok(Outcome::success());
    }
    let mut message = format!("verify found {} problems:", report.problems.len());
    for p in &report.problems {
        let _ = write!(message, "\n  {p}");
    }
    Ok(Outcome::failure(anyhow!(message)))
}

fn render(r: &VerifyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Checked {} snapshots: {} objects, {}.",
        r.snapshots.len(),
        r.objects,
        repo::bytes(r.bytes)
    );
    if r.is_ok() && !r.snapshots.is_empty() {
        let _ = writeln!(out, "No problems found.");
        return out;
    }
    if r.is_ok() {
        return out;
    }
    let _ = writeln!(out, "{} problems:", r.problems.len());
    for p in &r.problems {
        let _ = writeln!(out, "  [{}] {p}", repo::serde_name(&p.kind));
    }
    out
}
