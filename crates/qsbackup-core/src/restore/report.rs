//! What a restore planned and what it did: the [`RestoreReport`] (every asset's decision and
//! outcome, every job with QuickSight's errors, the identity step, dropped permissions) and the
//! human-readable texts of a plan and of a report.

use super::identities::apply::{IdentityOutcome, ItemOutcome};
use super::import::{AssetResult, Imported, JobReport};
use super::overrides::{drops_by_principal, DroppedPermission, PrincipalDrops};
use super::plan::{Decision, PlannedAsset, Refusal};
use super::{AssetKey, Endpoint, RestorePlan};
use crate::asset::AssetType;
use crate::text::printable;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Lines of a list shown before "... and N more".
const SHOWN: usize = 20;

/// Principals shown with their dropped permissions before "... and N more".
const PRINCIPALS_SHOWN: usize = 10;

/// How much of the long lists (assets to create or overwrite, principals that lose permissions)
/// a text shows: the first few (`Short`), or all of them (`All`, with `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    #[default]
    Short,
    All,
}

impl Listing {
    fn limit(self, short: usize) -> usize {
        match self {
            Listing::Short => short,
            Listing::All => usize::MAX,
        }
    }
}

/// One asset of a restore.
#[derive(Debug, Clone, Serialize)]
pub struct AssetReport {
    pub asset: AssetKey,
    pub name: String,
    pub target_id: String,
    pub decision: Decision,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub result: Option<AssetResult>,
}

/// Counts of a restore.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub restored: usize,
    pub failed: usize,
    pub not_attempted: usize,
    /// Not restored because the snapshot's copy cannot be used (see `refused`).
    pub refused: usize,
    pub skipped: usize,
    pub kept: usize,
    pub identities_failed: usize,
    pub identities_skipped: usize,
    pub permissions_dropped: usize,
}

/// The outcome of a restore.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub restore_id: String,
    pub snapshot_id: String,
    pub source: Endpoint,
    pub target: Endpoint,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub summary: Summary,
    pub assets: Vec<AssetReport>,
    /// Assets not restored because the snapshot's copy cannot be used, with why.
    pub refused: Vec<Refusal>,
    pub jobs: Vec<JobReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identities: Option<IdentityOutcome>,
    pub permissions_dropped: Vec<DroppedPermission>,
    /// The same, counted per principal.
    pub permissions_dropped_by_principal: Vec<PrincipalDrops>,
    pub warnings: Vec<String>,
    /// The restore was cancelled: no import job started after that, and the jobs then running
    /// were no longer waited for (their assets are not attempted here).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl RestoreReport {
    pub fn new(
        plan: &RestorePlan,
        started_at: DateTime<Utc>,
        identities: Option<IdentityOutcome>,
        mut imported: Imported,
    ) -> RestoreReport {
        let assets: Vec<AssetReport> = plan
            .assets
            .iter()
            .map(|a| AssetReport {
                asset: a.key.clone(),
                name: a.name.clone(),
                target_id: a.target_id.clone(),
                decision: a.decision,
                result: imported.assets.remove(&a.key),
            })
            .collect();
        let mut summary = Summary::default();
        for a in &assets {
            match (&a.result, a.decision) {
                (Some(AssetResult::Restored), _) => summary.restored += 1,
                (Some(AssetResult::Failed(_)), _) => summary.failed += 1,
                (Some(AssetResult::NotAttempted(_)), _) => summary.not_attempted += 1,
                (None, Decision::Skip) => summary.skipped += 1,
                (None, Decision::Keep) => summary.kept += 1,
                (None, _) => summary.not_attempted += 1,
            }
        }
        summary.refused = plan.refused.len();
        if let Some(ids) = &identities {
            summary.identities_failed = ids.failed().count();
            summary.identities_skipped = ids.skipped().count();
        }
        imported
            .dropped
            .sort_by(|a, b| (&a.asset, &a.principal).cmp(&(&b.asset, &b.principal)));
        imported.dropped.dedup();
        summary.permissions_dropped = imported.dropped.len();
        let mut warnings = plan.warnings.clone();
        warnings.extend(imported.notes);
        RestoreReport {
            interrupted: imported.interrupted,
            restore_id: plan.restore_id.clone(),
            snapshot_id: plan.snapshot_id.clone(),
            source: plan.source.clone(),
            target: plan.target.clone(),
            started_at,
            finished_at: Utc::now(),
            summary,
            assets,
            refused: plan.refused.clone(),
            jobs: imported.jobs,
            identities,
            permissions_dropped_by_principal: drops_by_principal(&imported.dropped),
            permissions_dropped: imported.dropped,
            warnings,
        }
    }

    /// Everything planned was done (skipped identities are by plan, not failures).
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self.summary.failed == 0
            && self.summary.not_attempted == 0
            && self.summary.refused == 0
            && self.summary.identities_failed == 0
    }
}

fn more(out: &mut String, total: usize) {
    if total > SHOWN {
        let _ = writeln!(out, "    ... and {} more", total - SHOWN);
    }
}

/// `a, b, c ... and N more`.
fn names(list: &[&str]) -> String {
    let mut text = list.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if list.len() > SHOWN {
        let _ = write!(text, " ... and {} more", list.len() - SHOWN);
    }
    text
}

/// `arn:aws:quicksight:REGION:ACCOUNT:user/default/x` as `user/default/x`: the account and region
/// are the plan's, named once at its top.
fn short_arn(arn: &str) -> &str {
    if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).unwrap_or(arn)
    } else {
        arn
    }
}

/// Dropped permissions: how many, then per principal a count and a few of the assets.
fn dropped_lines(out: &mut String, dropped: &[PrincipalDrops], total: usize, listing: Listing) {
    let limit = listing.limit(PRINCIPALS_SHOWN);
    for d in dropped.iter().take(limit) {
        let principal = short_arn(&d.principal);
        let reason = d.reason.split(' ').map(short_arn).collect::<Vec<_>>().join(" ");
        let reason = reason.strip_prefix(principal).map(str::trim_start).unwrap_or(&reason);
        let examples: Vec<String> = d.examples.iter().map(|k| k.to_string()).collect();
        let more = if d.permissions > examples.len() { ", ..." } else { "" };
        let _ = writeln!(
            out,
            "    {}: {} {} ({}{more}); {}",
            printable(principal),
            d.permissions,
            if d.permissions == 1 { "asset" } else { "assets" },
            examples.join(", "),
            printable(reason)
        );
    }
    if dropped.len() > limit {
        let _ = writeln!(
            out,
            "    \u{2026} and {} more principals (-v lists them all; --json and --plan-out list every permission)",
            dropped.len() - limit
        );
    } else if total > 0 && listing == Listing::Short {
        let _ = writeln!(out, "    (--json and --plan-out list every permission)");
    }
}

/// Assets of one decision, `TYPE/ID "NAME"` one per line, then "... and N more".
fn asset_lines(out: &mut String, title: &str, assets: &[&PlannedAsset], listing: Listing) {
    if assets.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", assets.len());
    let limit = listing.limit(SHOWN);
    for a in assets.iter().take(limit) {
        let renamed = if a.target_id != a.key.id {
            format!(" as {}/{}", a.key.asset_type, a.target_id)
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {} \"{}\"{renamed}", a.key, printable(&a.name));
    }
    if assets.len() > limit {
        let _ = writeln!(
            out,
            "  \u{2026} and {} more (-v lists them all; so do --plan-out and --json)",
            assets.len() - limit
        );
    }
}

fn endpoint(e: &Endpoint) -> String {
    format!(
        "account {}, region {}, identities in {}",
        e.account_id, e.region, e.identity_region
    )
}

/// The refused assets, one per line.
fn refused_lines(out: &mut String, refused: &[Refusal]) {
    for r in refused.iter().take(SHOWN) {
        let _ = writeln!(out, "  {r}");
    }
    more(out, refused.len());
}

/// The plan as `--dry-run` and the confirmation show it.
pub fn plan_text(plan: &RestorePlan, listing: Listing) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Restore plan {}", plan.restore_id);
    let _ = writeln!(out, "  snapshot: {} ({})", plan.snapshot_id, endpoint(&plan.source));
    let _ = writeln!(out, "  target:   {}", endpoint(&plan.target));
    if let Some(ns) = &plan.namespace {
        let _ = writeln!(out, "  namespace: every identity and permission goes to `{ns}`");
    }
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let _ = writeln!(
        out,
        "  conflict: {}, failure action: {}, id prefix: {}",
        name(serde_json::to_value(plan.conflict).unwrap_or_default()),
        name(serde_json::to_value(plan.failure_action).unwrap_or_default()),
        if plan.prefix.is_empty() { "(none)" } else { &plan.prefix }
    );
    let mut by_type: BTreeMap<AssetType, [usize; 4]> = BTreeMap::new();
    for a in &plan.assets {
        let i = match a.decision {
            Decision::Create => 0,
            Decision::Update => 1,
            Decision::Skip => 2,
            Decision::Keep => 3,
        };
        by_type.entry(a.key.asset_type).or_default()[i] += 1;
    }
    let _ = writeln!(out, "\nAssets:");
    let _ = writeln!(
        out,
        "  {:<14} {:>7} {:>7} {:>7} {:>7}",
        "type", "create", "update", "skip", "keep"
    );
    for (t, c) in &by_type {
        let _ = writeln!(
            out,
            "  {:<14} {:>7} {:>7} {:>7} {:>7}",
            t.as_str(),
            c[0],
            c[1],
            c[2],
            c[3]
        );
    }
    let _ = writeln!(
        out,
        "  (keep: already in the target and only needed by a selected asset; left as it is)"
    );
    let of = |d: Decision| plan.assets.iter().filter(|a| a.decision == d).collect::<Vec<_>>();
    asset_lines(&mut out, "To create", &of(Decision::Create), listing);
    asset_lines(
        &mut out,
        "To overwrite (the target has them; --conflict update imports the snapshot's version over them)",
        &of(Decision::Update),
        listing,
    );
    if !plan.refused.is_empty() {
        let _ = writeln!(
            out,
            "\nRefused: {} (the snapshot's copy cannot be used; they are not imported; `qsbackup verify {}` checks the snapshot)",
            plan.refused.len(),
            plan.snapshot_id
        );
        refused_lines(&mut out, &plan.refused);
    }
    let _ = writeln!(
        out,
        "\nImport jobs: {} (at most 5 at once, each after the jobs it depends on)",
        plan.jobs.len()
    );
    for j in plan.jobs.iter().take(SHOWN) {
        let mut types: BTreeMap<AssetType, usize> = BTreeMap::new();
        for k in &j.assets {
            *types.entry(k.asset_type).or_default() += 1;
        }
        let types: Vec<String> = types.iter().map(|(t, n)| format!("{n} {t}")).collect();
        let after = if j.depends_on.is_empty() {
            String::new()
        } else {
            let d: Vec<String> = j.depends_on.iter().map(|n| n.to_string()).collect();
            format!(", after job {}", d.join(", "))
        };
        let _ = writeln!(
            out,
            "  job {:>3}: {} ({} {}{after})",
            j.number,
            types.join(", "),
            crate::units::human_bytes(j.bytes),
            super::source_name(j.source),
        );
    }
    more(&mut out, plan.jobs.len());
    match &plan.identities {
        None => {
            let _ = writeln!(out, "\nIdentities: not restored");
        }
        Some(ids) => {
            let _ = writeln!(out, "\nIdentities (groups, then users, then memberships):");
            for (what, c) in ids.counts() {
                let _ = writeln!(
                    out,
                    "  {what:<12} {} create, {} already there, {} skipped",
                    c.create, c.exists, c.skip
                );
            }
            let mut skipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for u in &ids.users {
                if let super::identities::Action::Skip(reason) = &u.action {
                    skipped.entry(reason).or_default().push(&u.source);
                }
            }
            for (reason, users) in skipped {
                let _ = writeln!(out, "    skip {} users: {reason}", users.len());
                let _ = writeln!(out, "      {}", names(&users));
            }
        }
    }
    let o = &plan.overrides;
    let _ = writeln!(out, "\nOverrides:");
    let _ = writeln!(
        out,
        "  principals move to account {} in {}",
        plan.target.account_id, plan.target.identity_region
    );
    if !o.data_sources.is_empty() {
        let _ = writeln!(out, "  data sources changed: {}", o.data_sources.join(", "));
    }
    if !o.tags.is_empty() {
        let tags: Vec<String> = o.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "  tags added: {}", tags.join(", "));
    }
    let _ = writeln!(
        out,
        "  permissions dropped (QuickSight refuses principals the target lacks): {} for {} principals",
        o.permissions_dropped.len(),
        o.permissions_dropped_by_principal.len()
    );
    dropped_lines(
        &mut out,
        &o.permissions_dropped_by_principal,
        o.permissions_dropped.len(),
        listing,
    );
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in plan.warnings.iter().take(SHOWN) {
            let _ = writeln!(out, "  {w}");
        }
        more(&mut out, plan.warnings.len());
    }
    out
}

/// The end-of-run report.
pub fn report_text(r: &RestoreReport, listing: Listing) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let secs = (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0;
    let _ = writeln!(out, "Restore {} of snapshot {}", r.restore_id, r.snapshot_id);
    let _ = writeln!(out, "  target: {}", endpoint(&r.target));
    let _ = writeln!(
        out,
        "  assets: {} restored, {} failed, {} not attempted, {} refused, {} skipped, {} kept; {} import jobs in {secs:.1} s",
        s.restored,
        s.failed,
        s.not_attempted,
        s.refused,
        s.skipped,
        s.kept,
        r.jobs.len()
    );
    if let Some(ids) = &r.identities {
        let mut counts: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
        for i in &ids.items {
            let slot = match i.outcome {
                ItemOutcome::Created => 0,
                ItemOutcome::Existed => 1,
                ItemOutcome::Skipped(_) => 2,
                ItemOutcome::Failed(_) => 3,
            };
            counts.entry(i.kind).or_default()[slot] += 1;
        }
        for (kind, c) in counts {
            let _ = writeln!(
                out,
                "  {kind}s: {} created, {} already there, {} skipped, {} failed",
                c[0], c[1], c[2], c[3]
            );
        }
        // Failures one per line; skips grouped by reason (they are by plan).
        let mut skipped: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        let mut failed = Vec::new();
        for i in &ids.items {
            match &i.outcome {
                ItemOutcome::Failed(m) => failed.push(format!(
                    "failed {} {}/{}: {}",
                    i.kind,
                    printable(&i.namespace),
                    printable(&i.name),
                    printable(m)
                )),
                ItemOutcome::Skipped(m) => skipped.entry((i.kind, m.as_str())).or_default().push(format!(
                    "{}/{}",
                    printable(&i.namespace),
                    printable(&i.name)
                )),
                _ => {}
            }
        }
        for f in failed.iter().take(SHOWN) {
            let _ = writeln!(out, "    {f}");
        }
        more(&mut out, failed.len());
        for ((kind, reason), list) in &skipped {
            let list: Vec<&str> = list.iter().map(String::as_str).collect();
            let _ = writeln!(out, "    skipped {} {kind}s: {reason}", list.len());
            let _ = writeln!(out, "      {}", names(&list));
        }
    }
    let failed: Vec<&AssetReport> = r
        .assets
        .iter()
        .filter(|a| {
            matches!(
                a.result,
                Some(AssetResult::Failed(_)) | Some(AssetResult::NotAttempted(_))
            )
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nNot restored:");
        for a in failed.iter().take(SHOWN) {
            let (what, message) = match &a.result {
                Some(AssetResult::Failed(m)) => ("failed", m.as_str()),
                Some(AssetResult::NotAttempted(m)) => ("not attempted", m.as_str()),
                _ => ("", ""),
            };
            let _ = writeln!(
                out,
                "  {} \"{}\" {what}: {}",
                a.asset,
                printable(&a.name),
                printable(message)
            );
        }
        more(&mut out, failed.len());
    }
    if !r.refused.is_empty() {
        let _ = writeln!(out, "\nRefused (the snapshot's copy cannot be used):");
        refused_lines(&mut out, &r.refused);
    }
    if !r.permissions_dropped.is_empty() {
        let _ = writeln!(
            out,
            "\nPermissions dropped: {} for {} principals",
            r.permissions_dropped.len(),
            r.permissions_dropped_by_principal.len()
        );
        // The plan printed before the run named them already; -v repeats them here.
        if listing == Listing::All {
            dropped_lines(
                &mut out,
                &r.permissions_dropped_by_principal,
                r.permissions_dropped.len(),
                listing,
            );
        } else {
            let _ = writeln!(
                out,
                "    (the plan above names them; -v here too, --json lists every permission)"
            );
        }
    }
    for w in r.warnings.iter().take(SHOWN) {
        let _ = writeln!(out, "Warning: {w}");
    }
    out
}
