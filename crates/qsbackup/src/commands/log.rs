//! `qsbackup log TYPE/ID` and `qsbackup log --name GLOB`: one asset's history, oldest first —
//! every snapshot in which it was added, changed, renamed, had its permissions or tags changed,
//! failed, was skipped or disappeared, with QuickSight's `LastUpdatedTime` and a one-line summary.

use anyhow::anyhow;
use clap::Args;
use qsbackup_core::history::log::{asset_logs, AssetLog, LogChange};
use qsbackup_core::repository::snapshots::load_all;
use qsbackup_core::text::printable;
use serde_json::json;
use std::fmt::Write as _;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The asset as TYPE/ID, e.g. dashboard/3f2a-...
    #[arg(value_name = "TYPE/ID", required_unless_present = "name", conflicts_with = "name")]
    pub asset: Option<String>,

    /// Every asset that ever had a name matching this glob instead (`*` and `?`, case-insensitive).
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub async fn run(global: &GlobalArgs, args: &LogArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &LogArgs) -> Result<Outcome, Outcome> {
    let query = super::find::asset_query(&args.asset, &args.name)?;
    let repository = repo::open(global, &args.repo).await?;
    let mut loaded = load_all(&repository).await.map_err(Outcome::from_core)?;
    args.select.filter().retain(&mut loaded);
    let logs = asset_logs(&repository, &loaded.manifests, &query)
        .await
        .map_err(Outcome::from_core)?;
    if global.json {
        let unreadable: Vec<_> = loaded
            .unreadable
            .iter()
            .map(|(key, error)| json!({"key": key, "error": error}))
            .collect();
        super::json::emit(
            "log",
            &json!({
                "repository": repository.location(),
                "snapshots_searched": loaded.manifests.len(),
                "assets": logs,
                "unreadable": unreadable,
            }),
        )?;
    } else {
        // `-v` (global: more detail) lists every changed field under its entry.
        repo::out(&render(&logs, global.verbose > 0));
    }
    if !loaded.unreadable.is_empty() {
        return Ok(Outcome::failure(anyhow!(
            "{} snapshot manifests cannot be read and are missing from the log (run `qsbackup verify --all`)",
            loaded.unreadable.len()
        )));
    }
    if logs.is_empty() {
        let what = args
            .asset
            .clone()
            .or_else(|| args.name.as_ref().map(|g| format!("an asset named {g}")));
        return Ok(Outcome::failure(anyhow!(
            "no snapshot in {} holds {} ({} snapshots searched)",
            repository.location(),
            what.unwrap_or_default(),
            loaded.manifests.len()
        )));
    }
    Ok(Outcome::success())
}

fn mark(changes: &[LogChange]) -> char {
    match changes.first() {
        Some(LogChange::Added) => '+',
        Some(LogChange::Disappeared) => '-',
        Some(LogChange::Failed) => '!',
        Some(LogChange::Skipped) => '?',
        _ => '~',
    }
}

pub fn render(logs: &[AssetLog], verbose: bool) -> String {
    let mut out = String::new();
    for (i, log) in logs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let name = log
            .name
            .as_deref()
            .map(|n| format!(" \"{}\"", printable(n)))
            .unwrap_or_default();
        let _ = writeln!(out, "{}/{}{name}", log.asset_type, printable(&log.id));
        if log.entries.is_empty() {
            let _ = writeln!(out, "  unchanged in every snapshot that holds it");
        }
        for e in &log.entries {
            let updated = e
                .last_updated_time
                .map(|t| format!(" (QuickSight: updated {})", t.format("%Y-%m-%d %H:%M:%SZ")))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {} {}{updated}  {}",
                mark(&e.changes),
                e.time.format("%Y-%m-%d %H:%M:%SZ"),
                e.snapshot_id,
                printable(&e.summary)
            );
            if verbose {
                for f in &e.fields {
                    let _ = writeln!(out, "      {}", printable(&f.describe()));
                }
            }
        }
    }
    out
}
