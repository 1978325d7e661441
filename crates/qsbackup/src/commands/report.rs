//! `qsbackup report --html FILE`: the repository's history as one self-contained HTML page
//! (history chart, changes per snapshot, failures by root cause, every asset's log and
//! dependency graph, identities, drills).

use clap::Args;
use qsbackup_core::history::{html, report};
use std::path::PathBuf;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Write the page to FILE (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,

    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub async fn run(global: &GlobalArgs, args: &ReportArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &ReportArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let data = report::build(&repository, chrono::Utc::now(), &args.select.filter())
        .await
        .map_err(Outcome::from_core)?;
    let page = html::render(&data).map_err(Outcome::from_core)?;
    if args.html.as_os_str() == "-" {
        repo::out(&page);
    } else {
        std::fs::write(&args.html, page.as_bytes())
            .map_err(|e| Outcome::failure(anyhow::anyhow!("cannot write {}: {e}", args.html.display())))?;
        if global.json {
            super::json::emit(
                "report",
                &serde_json::json!({"file": args.html, "bytes": page.len(), "snapshots": data.snapshots.len(), "assets": data.assets.len()}),
            )?;
        } else {
            repo::out(&format!(
                "wrote {} ({} snapshots, {} assets, {} bytes)\n",
                args.html.display(),
                data.snapshots.len(),
                data.assets.len(),
                page.len()
            ));
        }
    }
    Ok(Outcome::success())
}
