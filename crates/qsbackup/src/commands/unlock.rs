//! `qsbackup unlock [--force]`: removes stale repository locks (expired, or held by a process
//! of this host that is gone); a live lock only with --force.

use clap::Args;
use qsbackup_core::repository::lock::{unlock, LockEntry};
use serde_json::json;

use super::repo::{self, RepoArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct UnlockArgs {
    /// Also remove a live lock. Its holder notices at its next renewal and stops without
    /// committing; use only when you know that run is gone.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn run(global: &GlobalArgs, args: &UnlockArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

macro_rules! outln {
    ($($arg:tt)*) => {
        repo::out(&format!("{}\n", format!($($arg)*)))
    };
}

fn describe(e: &LockEntry) -> String {
    let state = match &e.state {
        qsbackup_core::repository::lock::LockState::Live => "live".to_string(),
        qsbackup_core::repository::lock::LockState::Released => "released".to_string(),
        qsbackup_core::repository::lock::LockState::Stale(why) => format!("stale: {why}"),
    };
    match &e.info {
        Some(i) => format!("{} ({i}; {state})", e.key),
        None => format!("{} ({state})", e.key),
    }
}

async fn run_inner(global: &GlobalArgs, args: &UnlockArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let report = unlock(&repository, args.force).await.map_err(Outcome::from_core)?;
    if global.json {
        super::json::emit(
            "unlock",
            &json!({
                "repository": repository.location(),
                "removed": report.removed,
                "live": report.live,
            }),
        )?;
        return Ok(Outcome::success());
    }
    if report.removed.is_empty() {
        outln!("No stale locks in {}.", repository.location());
    }
    for e in &report.removed {
        outln!("removed {}", describe(e));
    }
    if let Some(live) = &report.live {
        outln!(
            "The repository is locked by a running {}; left in place (use --force if that run is gone).",
            describe(live)
        );
    }
    Ok(Outcome::success())
}
