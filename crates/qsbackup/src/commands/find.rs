//! `qsbackup find TYPE/ID` and `qsbackup find --name GLOB`: every snapshot that holds an asset,
//! newest first, with what became of it there (stored, failed, skipped, with the reason).

use anyhow::anyhow;
use clap::Args;
use qsbackup_core::asset::AssetKey;
use qsbackup_core::repository::find::{self, AssetQuery, AssetState, FindResult};
use qsbackup_core::text::printable;
use serde_json::json;
use std::fmt::Write as _;

use super::repo::{self, RepoArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct FindArgs {
    /// The asset as TYPE/ID, e.g. dashboard/3f2a-...
    #[arg(value_name = "TYPE/ID", required_unless_present = "name", conflicts_with = "name")]
    pub asset: Option<String>,

    /// Every asset whose name matches this glob instead (`*` and `?`, case-insensitive).
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn run(global: &GlobalArgs, args: &FindArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

fn query(args: &FindArgs) -> Result<AssetQuery, Outcome> {
    asset_query(&args.asset, &args.name)
}

/// `TYPE/ID` or `--name GLOB`, as `find` and `log` take them.
pub fn asset_query(asset: &Option<String>, name: &Option<String>) -> Result<AssetQuery, Outcome> {
    match (asset, name) {
        (Some(a), _) => AssetKey::parse(a)
            .map(AssetQuery::Asset)
            .map_err(|e| Outcome::usage(anyhow!(e))),
        (None, Some(glob)) => Ok(AssetQuery::Name(glob.clone())),
        (None, None) => Err(Outcome::usage(anyhow!("give TYPE/ID or --name GLOB"))),
    }
}

async fn run_inner(global: &GlobalArgs, args: &FindArgs) -> Result<Outcome, Outcome> {
    let query = query(args)?;
    let repository = repo::open(global, &args.repo).await?;
    let found = find::find(&repository, &query).await.map_err(Outcome::from_core)?;
    if global.json {
        let unreadable: Vec<_> = found
            .unreadable
            .iter()
            .map(|(key, error)| json!({"key": key, "error": error}))
            .collect();
        super::json::emit(
            "find",
            &json!({
                "repository": repository.location(),
                "snapshots_searched": found.snapshots_searched,
                "found": found.sightings,
                "unreadable": unreadable,
            }),
        )?;
    } else {
        repo::out(&render(&found));
    }
    if !found.unreadable.is_empty() {
        return Ok(Outcome::failure(anyhow!(
            "{} snapshot manifests cannot be read and were not searched (run `qsbackup verify --all`)",
            found.unreadable.len()
        )));
    }
    if found.sightings.is_empty() {
        // Like grep: nothing found is exit 1, so scripts can test for it.
        return Ok(Outcome::failure(anyhow!(
            "no snapshot in {} holds {} ({} snapshots searched)",
            repository.location(),
            what(&query),
            found.snapshots_searched
        )));
    }
    Ok(Outcome::success())
}

fn what(query: &AssetQuery) -> String {
    match query {
        AssetQuery::Asset(a) => a.to_string(),
        AssetQuery::Name(glob) => format!("an asset named {glob:?}"),
    }
}

fn render(found: &FindResult) -> String {
    let mut out = String::new();
    if found.sightings.is_empty() {
        // The exit status and its message say so.
        return out;
    }
    let _ = writeln!(
        out,
        "{:<24} {:<19} {:<8} {:<28} {:<24} where / why",
        "SNAPSHOT", "started (UTC)", "status", "asset", "name"
    );
    for s in &found.sightings {
        let status = match s.status {
            AssetState::Stored => "stored",
            AssetState::Failed => "failed",
            AssetState::Skipped => "skipped",
        };
        let detail = match s.status {
            AssetState::Stored => s.bundle.clone().unwrap_or_default(),
            AssetState::Failed | AssetState::Skipped => format!(
                "[{}] {}",
                s.reason.as_deref().unwrap_or("-"),
                s.message.as_deref().unwrap_or_default()
            ),
        };
        let _ = writeln!(
            out,
            "{:<24} {:<19} {:<8} {:<28} {:<24} {}",
            s.snapshot_id,
            repo::time(&s.started_at),
            status,
            printable(&format!("{}/{}", s.asset_type.as_str(), s.id)),
            printable(s.name.as_deref().unwrap_or("-")),
            printable(&detail)
        );
    }
    let stored = found
        .sightings
        .iter()
        .filter(|s| s.status == AssetState::Stored)
        .count();
    let _ = writeln!(
        out,
        "{} entries ({stored} stored) in {} snapshots searched",
        found.sightings.len(),
        found.snapshots_searched
    );
    out
}
