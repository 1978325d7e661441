//! `qsbackup diff A B`: what changed from snapshot A to snapshot B — assets added (+), removed
//! (-) and changed (~) per type, users, groups and memberships, roles, account configuration.
//! With `--asset TYPE/ID` (or `-v` for every asset), what changed inside a definition, field by
//! field in QuickSight's words.

use clap::Args;
use qsbackup_core::asset::AssetKey;
use qsbackup_core::repository::diff::{diff, AssetChange, AssetRef, SnapshotDiff};
use qsbackup_core::repository::find::{in_manifest, AssetQuery};
use qsbackup_core::repository::snapshots;
use qsbackup_core::text::printable;
use std::fmt::Write as _;

use super::repo::{self, RepoArgs, SelectArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The older snapshot: id, unique prefix, or `latest`.
    #[arg(value_name = "A")]
    pub from: String,
    /// The newer snapshot: id, unique prefix, or `latest`.
    #[arg(value_name = "B")]
    pub to: String,

    /// Only this asset (TYPE/ID, e.g. dashboard/3f2a-...), with every field that changed.
    #[arg(long, value_name = "TYPE/ID")]
    pub asset: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub async fn run(global: &GlobalArgs, args: &DiffArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &DiffArgs) -> Result<Outcome, Outcome> {
    let only = args
        .asset
        .as_deref()
        .map(AssetKey::parse)
        .transpose()
        .map_err(|e| Outcome::usage(anyhow::anyhow!(e)))?;
    let repository = repo::open(global, &args.repo).await?;
    let filter = args.select.filter();
    let a = snapshots::load_in(&repository, &args.from, &filter)
        .await
        .map_err(Outcome::from_core)?;
    let b = snapshots::load_in(&repository, &args.to, &filter)
        .await
        .map_err(Outcome::from_core)?;
    if let Some(key) = &only {
        let query = AssetQuery::Asset(key.clone());
        if in_manifest(&a, &query).is_empty() && in_manifest(&b, &query).is_empty() {
            return Err(Outcome::failure(anyhow::anyhow!(
                "neither snapshot {} nor {} holds {key} (`qsbackup find {key}` lists the snapshots that do)",
                a.id,
                b.id
            )));
        }
    }
    let mut d = diff(&repository, &a, &b).await.map_err(Outcome::from_core)?;
    if let Some(key) = &only {
        d = d.only(key.asset_type.as_str(), &key.id);
    }
    if global.json {
        super::json::emit("diff", &d)?;
    } else if let Some(key) = &only {
        repo::out(&render_asset(&d, key));
    } else {
        repo::out(&render(&d, global.verbose > 0));
    }
    Ok(Outcome::success())
}

fn asset(a: &AssetRef) -> String {
    let mut s = printable(&a.id).into_owned();
    if let Some(n) = &a.name {
        let _ = write!(s, " \"{}\"", printable(n));
    }
    if let Some(ds) = &a.data_set_id {
        let _ = write!(s, " (dataset {ds})");
    }
    s
}

/// The one asset `--asset` asked for: what changed inside it, or why it cannot be compared.
fn render_asset(d: &SnapshotDiff, key: &AssetKey) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} from {} to {}", printable(&key.to_string()), d.from, d.to);
    let Some(td) = d.assets.get(key.asset_type.as_str()) else {
        match d.unavailable.first() {
            Some(u) => {
                let _ = writeln!(out, "  not comparable: missing in {}: {}", u.missing_in, u.reason);
            }
            None => {
                let _ = writeln!(out, "  no changes");
            }
        }
        return out;
    };
    for a in &td.added {
        let _ = writeln!(out, "  + added in {}: {}", d.to, asset(a));
    }
    for a in &td.removed {
        let _ = writeln!(out, "  - not in {}: {}", d.to, asset(a));
    }
    for c in &td.changed {
        changed_fields(&mut out, c, "  ");
    }
    out
}

fn changed_fields(out: &mut String, c: &AssetChange, indent: &str) {
    for f in &c.changes {
        let _ = writeln!(out, "{indent}{}", printable(&f.describe()));
    }
}

pub fn render(d: &SnapshotDiff, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Changes from {} to {}", d.from, d.to);
    if d.is_empty() && d.unavailable.is_empty() {
        let _ = writeln!(out, "  no changes");
    }
    for (t, td) in &d.assets {
        let _ = writeln!(
            out,
            "\n{t}: {} added, {} removed, {} changed",
            td.added.len(),
            td.removed.len(),
            td.changed.len()
        );
        for a in &td.added {
            let _ = writeln!(out, "  + {}", asset(a));
        }
        for a in &td.removed {
            let _ = writeln!(out, "  - {}", asset(a));
        }
        for c in &td.changed {
            let name = match (&c.old_name, &c.name) {
                (Some(old), Some(new)) => format!(" \"{}\" -> \"{}\"", printable(old), printable(new)),
                (None, Some(n)) => format!(" \"{}\"", printable(n)),
                _ => String::new(),
            };
            let _ = writeln!(out, "  ~ {}{name} ({})", c.id, c.fields.join(", "));
            if verbose {
                changed_fields(&mut out, c, "      ");
            }
        }
    }
    if !d.unavailable.is_empty() {
        let _ = writeln!(
            out,
            "\nNot comparable (missing from one snapshot, not from QuickSight):"
        );
        for u in &d.unavailable {
            let _ = writeln!(
                out,
                "  ? {} {} missing in {}: {}",
                u.member_type, u.id, u.missing_in, u.reason
            );
        }
    }
    if let Some(i) = d.identities.as_ref().filter(|i| !i.is_empty()) {
        let _ = writeln!(out, "\nidentities:");
        for n in &i.namespaces_added {
            let _ = writeln!(out, "  + namespace {n}");
        }
        for n in &i.namespaces_removed {
            let _ = writeln!(out, "  - namespace {n}");
        }
        for u in &i.users_added {
            let _ = writeln!(
                out,
                "  + user {}/{} ({})",
                u.namespace,
                u.user_name,
                u.role.as_deref().unwrap_or("?")
            );
        }
        for u in &i.users_removed {
            let _ = writeln!(out, "  - user {}/{}", u.namespace, u.user_name);
        }
        for r in &i.role_changes {
            let _ = writeln!(
                out,
                "  ~ user {}/{} role {} -> {}",
                r.namespace,
                r.user_name,
                r.from.as_deref().unwrap_or("-"),
                r.to.as_deref().unwrap_or("-")
            );
        }
        for u in &i.users_changed {
            let _ = writeln!(
                out,
                "  ~ user {}/{} ({})",
                u.namespace,
                u.user_name,
                u.fields.join(", ")
            );
        }
        for g in &i.groups_added {
            let _ = writeln!(out, "  + group {}/{}", g.namespace, g.group_name);
        }
        for g in &i.groups_removed {
            let _ = writeln!(out, "  - group {}/{}", g.namespace, g.group_name);
        }
        for m in &i.memberships_added {
            let _ = writeln!(out, "  + member {} of {}/{}", m.user_name, m.namespace, m.group_name);
        }
        for m in &i.memberships_removed {
            let _ = writeln!(out, "  - member {} of {}/{}", m.user_name, m.namespace, m.group_name);
        }
    }
    if let Some(a) = d.account.as_ref() {
        if !(a.added.is_empty() && a.removed.is_empty() && a.changed.is_empty()) {
            let _ = writeln!(out, "\naccount configuration:");
            for x in &a.added {
                let _ = writeln!(out, "  + {x}");
            }
            for x in &a.removed {
                let _ = writeln!(out, "  - {x}");
            }
            for x in &a.changed {
                let _ = writeln!(out, "  ~ {x}");
            }
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}
