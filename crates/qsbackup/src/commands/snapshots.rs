//! `qsbackup snapshots`: every snapshot of the repository, oldest first, with its time, mode,
//! status, assets per type and size. Manifests that cannot be read are named, not hidden.

use clap::Args;
use qsbackup_core::repository::snapshots::{load_all, SnapshotSummary};
use serde_json::json;
use std::fmt::Write as _;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub async fn run(global: &GlobalArgs, args: &SnapshotsArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &SnapshotsArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let mut loaded = load_all(&repository).await.map_err(Outcome::from_core)?;
    args.select.filter().retain(&mut loaded);
    let summaries: Vec<SnapshotSummary> = loaded.manifests.iter().map(SnapshotSummary::of).collect();
    if global.json {
        let unreadable: Vec<_> = loaded
            .unreadable
            .iter()
            .map(|(key, error)| json!({"key": key, "error": error}))
            .collect();
        super::json::emit(
            "snapshots",
            &json!({
                "repository": repository.location(),
                "snapshots": summaries,
                "unreadable": unreadable,
            }),
        )?;
    } else {
        repo::out(&render(&summaries, repository.location()));
    }
    if loaded.unreadable.is_empty() {
        return Ok(Outcome::success());
    }
    // A listing that hides an unreadable manifest would let a monitoring job stay green while
    // the newest backup is unusable.
    let mut message = format!(
        "{} snapshot manifests cannot be read (run `qsbackup verify --all`):",
        loaded.unreadable.len()
    );
    for (key, why) in &loaded.unreadable {
        let _ = write!(message, "\n  {key}: {why}");
    }
    Ok(Outcome::failure(anyhow::anyhow!(message)))
}

fn render(summaries: &[SnapshotSummary], location: &str) -> String {
    let mut out = String::new();
    if summaries.is_empty() {
        let _ = writeln!(out, "No snapshots in {location}.");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<24} {:<23} {:<12} {:<11} {:<12} {:>7} {:>10}  assets",
        "ID", "started", "account", "mode", "status", "bundles", "size"
    );
    for s in summaries {
        let assets: Vec<String> = s.assets.iter().map(|(t, n)| format!("{t} {n}")).collect();
        let mut extra = Vec::new();
        if s.failed > 0 {
            extra.push(format!("{} failed", s.failed));
        }
        if s.skipped > 0 {
            extra.push(format!("{} skipped", s.skipped));
        }
        if s.identities {
            extra.push("identities".into());
        }
        if let Some(what) = &s.scope_exclusions {
            extra.push(format!("partial scope: {what}"));
        }
        let _ = writeln!(
            out,
            "{:<24} {:<23} {:<12} {:<11} {:<12} {:>7} {:>10}  {}{}",
            s.id,
            repo::time(&s.started_at),
            s.account_id,
            repo::serde_name(&s.mode),
            repo::serde_name(&s.status),
            s.bundles,
            repo::bytes(s.bytes),
            assets.join(", "),
            if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join(", "))
            }
        );
    }
    let _ = writeln!(out, "{} snapshots in {location}", summaries.len());
    out
}
