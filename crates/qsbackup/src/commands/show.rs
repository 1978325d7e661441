//! `qsbackup show ID|latest`: one snapshot in full — its assets (type, id, name, bundle key,
//! checksum), identities and account objects, and every skipped or failed asset with its reason.

use clap::Args;
use qsbackup_core::identities::IdentitySnapshot;
use qsbackup_core::repository::manifest::SnapshotManifest;
use qsbackup_core::repository::snapshots;
use qsbackup_core::repository::Repository;
use qsbackup_core::text::printable;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Snapshot id, a unique prefix of one, or `latest`.
    #[arg(value_name = "ID|latest")]
    pub snapshot: String,

    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

/// One asset of the snapshot (a bundle member), listed once even when several bundles carry it.
#[derive(Debug, Clone, Serialize)]
pub struct AssetLine {
    #[serde(rename = "type")]
    pub member_type: String,
    pub id: String,
    pub name: Option<String>,
    pub bundle: String,
    pub path: String,
    pub sha256: String,
}

pub fn asset_lines(m: &SnapshotManifest) -> Vec<AssetLine> {
    let mut seen: BTreeMap<(String, String), AssetLine> = BTreeMap::new();
    for b in &m.bundles {
        for x in &b.members {
            seen.entry((x.member_type.clone(), x.id.clone()))
                .or_insert_with(|| AssetLine {
                    member_type: x.member_type.clone(),
                    id: x.id.clone(),
                    name: x.name.clone(),
                    bundle: b.key.clone(),
                    path: x.path.clone(),
                    sha256: x.sha256.clone(),
                });
        }
    }
    seen.into_values().collect()
}

pub async fn run(global: &GlobalArgs, args: &ShowArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

/// Counts of the snapshot's identities document; `Err` says why it cannot be read.
async fn identity_counts(repository: &Repository, m: &SnapshotManifest) -> Result<Option<serde_json::Value>, String> {
    let Some(object) = m.identities.as_ref() else {
        return Ok(None);
    };
    let bytes = repository
        .get_capped(
            &object.key,
            qsbackup_core::limits::MAX_IDENTITIES_BYTES,
            "identities document",
        )
        .await
        .map_err(|e| e.to_string())?;
    let s: IdentitySnapshot =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: not an identities document: {e}", object.key))?;
    Ok(Some(json!({
        "namespaces": s.namespaces.len(),
        "users": s.user_count(),
        "groups": s.group_count(),
        "memberships": s.membership_count(),
    })))
}

async fn run_inner(global: &GlobalArgs, args: &ShowArgs) -> Result<Outcome, Outcome> {
    let repository = repo::open(global, &args.repo).await?;
    let m = snapshots::load_in(&repository, &args.snapshot, &args.select.filter())
        .await
        .map_err(Outcome::from_core)?;
    let assets = asset_lines(&m);
    let (counts, identity_error) = match identity_counts(&repository, &m).await {
        Ok(c) => (c, None),
        Err(e) => {
            tracing::warn!("cannot read the identities of snapshot {}: {e}", m.id);
            (None, Some(e))
        }
    };
    if global.json {
        super::json::emit(
            "show",
            &json!({
                "repository": repository.location(),
                "snapshot_id": m.id,
                "summary": snapshots::SnapshotSummary::of(&m),
                "assets": assets,
                "identities": m.identities,
                "identity_counts": counts,
                "identity_error": identity_error,
                "account": m.account,
                "skipped": m.skipped,
                "failed": m.failed,
                "notes": m.notes,
                "manifest": m,
            }),
        )?;
    } else {
        repo::out(&render(&m, &assets, counts.as_ref()));
    }
    Ok(Outcome::success())
}

fn render(m: &SnapshotManifest, assets: &[AssetLine], counts: Option<&serde_json::Value>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Snapshot   {}", m.id);
    let _ = writeln!(out, "Status     {}", repo::serde_name(&m.status));
    let _ = writeln!(out, "Mode       {}", repo::serde_name(&m.mode));
    let _ = writeln!(
        out,
        "Account    {} ({}, identities in {})",
        m.account_id, m.region, m.identity_region
    );
    let _ = writeln!(
        out,
        "Time       {} to {}",
        repo::time(&m.started_at),
        repo::time(&m.finished_at)
    );
    let _ = writeln!(
        out,
        "Scope      {}",
        qsbackup_core::repository::manifest::report::scope_text(m)
    );
    let _ = writeln!(
        out,
        "Tool       qsbackup {} (manifest schema {})",
        m.tool_version, m.schema
    );
    if let Some(host) = &m.host {
        let _ = writeln!(out, "Host       {}", printable(host));
    }
    let _ = writeln!(
        out,
        "Caller     {}",
        printable(m.caller_arn.as_deref().unwrap_or("not recorded"))
    );
    let _ = writeln!(out, "Size       {}", repo::bytes(m.total_bytes()));
    let _ = writeln!(
        out,
        "Bundles    {} ({})",
        m.bundles.len(),
        repo::bytes(m.bundle_bytes())
    );
    let _ = writeln!(out, "\nAssets ({}):", assets.len());
    for a in assets {
        let _ = writeln!(
            out,
            "  {:<16} {:<40} {:<32} {}  sha256:{}",
            a.member_type,
            printable(&a.id),
            printable(a.name.as_deref().unwrap_or("-")),
            a.bundle,
            &a.sha256[..a.sha256.len().min(16)]
        );
    }
    match &m.identities {
        Some(o) => {
            let detail = counts
                .map(|c| {
                    format!(
                        ": {} users, {} groups, {} memberships in {} namespaces",
                        c["users"], c["groups"], c["memberships"], c["namespaces"]
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "\nIdentities {} ({}, sha256:{}){detail}",
                o.key,
                repo::bytes(o.size),
                o.sha256
            );
        }
        None => {
            let _ = writeln!(out, "\nIdentities (none)");
        }
    }
    match &m.account {
        Some(o) => {
            let _ = writeln!(
                out,
                "Account    {} ({}, sha256:{})",
                o.key,
                repo::bytes(o.size),
                o.sha256
            );
        }
        None => {
            let _ = writeln!(out, "Account    (none)");
        }
    }
    if !m.skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped ({}):", m.skipped.len());
        for s in &m.skipped {
            let _ = writeln!(
                out,
                "  {:<14} {} [{}] {}\n      {}",
                s.asset_type.as_str(),
                printable(&s.name),
                repo::serde_name(&s.reason),
                printable(&s.arn),
                printable(&s.message)
            );
        }
    }
    if !m.failed.is_empty() {
        let _ = writeln!(out, "\nFailed ({}):", m.failed.len());
        for f in &m.failed {
            let _ = writeln!(
                out,
                "  {:<14} {} [{}] {}\n      {}",
                f.asset_type.as_str(),
                printable(&f.name),
                repo::serde_name(&f.reason),
                printable(&f.arn),
                printable(&f.message)
            );
        }
    }
    for n in &m.notes {
        let _ = writeln!(out, "Note: {}", printable(n));
    }
    out
}
