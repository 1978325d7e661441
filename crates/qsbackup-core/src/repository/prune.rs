//! Forgetting snapshots by a retention policy, and pruning the objects no snapshot needs.
//!
//! Snapshots are grouped by account, region and mode (as restic groups by host and paths), and
//! the policy is applied to each group on its own, so nightly full backups are not pushed out by
//! hourly users-only ones. Forgetting moves a manifest to `trash/<id>.json` (create-only copy,
//! then delete): the snapshot is gone, and prune still knows which objects it referenced.
//!
//! Prune only deletes objects qsbackup knows it wrote: those of forgotten snapshots (from the
//! trash) and their HTML reports, those crashed runs recorded in their journals, staging uploads under `tmp/`, and
//! identities/account objects of snapshots that were never committed, and on local disk the
//! state of scheduled runs that ended under `runs/` (and bundles an aborted one recorded),
//! restore staging files, and on local disk the
//! `<name>#<n>` staging files of writes a killed process never finished (object_store hides
//! them from listings) — and never an object any remaining snapshot references. Leftovers of crashed runs younger than the safety margin are
//! kept (the next backup may resume from them). Bundles written by other tools under the same
//! prefix (the AWS sample tool uses the same layout) are never touched. It refuses to run while
//! any manifest is unreadable, since it could not know what that snapshot needs.

use crate::backup::state::BundleResult;
use crate::error::{Error, Result};
use crate::repository::journal::journals;
use crate::repository::layout;
use crate::repository::lock::ExclusiveLock;
use crate::repository::manifest::{manifest_key, BackupMode, SnapshotManifest, SnapshotStatus};
use crate::repository::retention::{apply, Decision, RetentionPolicy};
use crate::repository::snapshots::{load_all, referenced_keys};
use crate::repository::Repository;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where forgotten manifests wait for prune.
pub const TRASH_PREFIX: &str = layout::TRASH;
/// Staging objects of streamed uploads.
pub const TMP_PREFIX: &str = layout::TMP;
/// Bundles a restore stages for `S3Uri` imports (it removes them itself when it ends).
pub const RESTORE_STAGING_PREFIX: &str = layout::RESTORE_STAGING;
/// State of scheduled runs (the Step Functions workflow).
pub const RUNS_PREFIX: &str = layout::RUNS;

/// One group of snapshots and the policy's decisions for it.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetGroup {
    pub account_id: String,
    pub region: String,
    pub mode: BackupMode,
    pub keep: Vec<Decision>,
    pub remove: Vec<Decision>,
}

/// What `forget` keeps and removes.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetPlan {
    pub policy: String,
    pub groups: Vec<ForgetGroup>,
}

impl ForgetPlan {
    /// Ids of the snapshots to remove.
    pub fn removed_ids(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.remove.iter().map(|d| d.id.clone()))
            .collect()
    }
}

/// Why a snapshot the policy would remove is kept anyway.
pub const LAST_COMPLETE: &str = "last complete snapshot";

/// Applies `policy` to every group of `manifests` as of `now`. Whatever the
/// policy says, the newest `complete` snapshot of each group is kept: when
/// newer snapshots are `partial` (an asset stopped exporting), it may hold the
/// only copy of what they lack.
pub fn plan_forget(manifests: &[SnapshotManifest], policy: &RetentionPolicy, now: DateTime<Utc>) -> ForgetPlan {
    type Times = Vec<(String, DateTime<Utc>)>;
    let last_complete: BTreeSet<String> = {
        let mut newest: BTreeMap<(String, String, BackupModeKey), (&DateTime<Utc>, &str)> = BTreeMap::new();
        for m in manifests.iter().filter(|m| m.status == SnapshotStatus::Complete) {
            let key = (m.account_id.clone(), m.region.clone(), mode_key(m.mode));
            let e = newest.entry(key).or_insert((&m.started_at, &m.id));
            if m.started_at > *e.0 {
                *e = (&m.started_at, &m.id);
            }
        }
        newest.into_values().map(|(_, id)| id.to_string()).collect()
    };
    let last_copies = last_stored_copies(manifests);
    let mut groups: BTreeMap<(String, String, String), (BackupMode, Times)> = BTreeMap::new();
    for m in manifests {
        groups
            .entry((m.account_id.clone(), m.region.clone(), mode_key(m.mode)))
            .or_insert_with(|| (m.mode, Vec::new()))
            .1
            .push((m.id.clone(), m.started_at));
    }
    let groups = groups
        .into_iter()
        .map(|((account_id, region, _), (mode, snaps))| {
            let decisions = apply(policy, &snaps, now).into_iter().map(|mut d| {
                if !d.keep && last_complete.contains(&d.id) {
                    d.keep = true;
                    d.reasons.push(LAST_COMPLETE.to_string());
                }
                if let Some(why) = last_copies.get(&d.id).filter(|_| !d.keep) {
                    d.keep = true;
                    d.reasons.push(why.clone());
                }
                d
            });
            let (keep, remove): (Vec<Decision>, Vec<Decision>) = decisions.partition(|d| d.keep);
            ForgetGroup {
                account_id,
                region,
                mode,
                keep,
                remove,
            }
        })
        .collect();
    ForgetPlan {
        policy: policy.to_string(),
        groups,
    }
}

/// Why a snapshot the policy would remove is kept: it holds the newest stored copy of assets
/// the newest snapshot lists, or the newest identities.
pub const LAST_STORED_COPY: &str = "last stored copy of";

/// `type/id` of an asset ARN (`arn:aws:quicksight:r:a:dashboard/sales` gives `dashboard/sales`).
fn asset_key_of_arn(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5)
}

/// Snapshots that must outlive any retention policy, with the reason: for each account and
/// region, the newest snapshot holding a stored copy of each asset that the newest snapshot of
/// a group lists (stored, failed or skipped), and the newest snapshot holding identities. After
/// nights where an asset stopped exporting, the only good copy of it may be weeks old; keep
/// rules count snapshots, not what they hold, so they alone would delete it.
pub fn last_stored_copies(manifests: &[SnapshotManifest]) -> BTreeMap<String, String> {
    let mut by_place: BTreeMap<(&str, &str), Vec<&SnapshotManifest>> = BTreeMap::new();
    for m in manifests {
        by_place.entry((&m.account_id, &m.region)).or_default().push(m);
    }
    let mut protected: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    for snaps in by_place.values_mut() {
        // Newest first; ids start with the time and break ties.
        snaps.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut newest_of_mode: BTreeSet<BackupModeKey> = BTreeSet::new();
        for m in snaps.iter() {
            if newest_of_mode.insert(mode_key(m.mode)) {
                wanted.extend(listed_assets(m).into_iter().map(str::to_string));
            }
        }
        for m in snaps.iter() {
            if wanted.is_empty() {
                break;
            }
            let held: Vec<String> = stored_assets(m)
                .into_iter()
                .filter(|k| wanted.remove(*k))
                .map(str::to_string)
                .collect();
            if !held.is_empty() {
                protected.entry(m.id.clone()).or_default().0.extend(held);
            }
        }
        if let Some(m) = snaps.iter().find(|m| m.identities.is_some()) {
            protected.entry(m.id.clone()).or_default().1 = true;
        }
    }
    protected
        .into_iter()
        .map(|(id, (assets, identities))| {
            let mut what = Vec::new();
            if !assets.is_empty() {
                let shown: Vec<&str> = assets.iter().take(3).map(String::as_str).collect();
                let more = assets.len().saturating_sub(shown.len());
                what.push(format!(
                    "{} assets ({}{})",
                    assets.len(),
                    shown.join(", "),
                    if more > 0 {
                        format!(", {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
            if identities {
                what.push("the identities".into());
            }
            (id, format!("{LAST_STORED_COPY} {}", what.join(" and ")))
        })
        .collect()
}

/// `type/id` of every asset a snapshot names: stored, failed or skipped.
fn listed_assets(m: &SnapshotManifest) -> BTreeSet<&str> {
    let mut out = stored_assets(m);
    out.extend(m.failed.iter().filter_map(|f| asset_key_of_arn(&f.arn)));
    out.extend(m.skipped.iter().filter_map(|s| asset_key_of_arn(&s.arn)));
    out
}

/// `type/id` of every asset a snapshot holds a stored copy of: the roots its bundles were asked
/// for, and what the bundles carry as members (dependencies exported with them).
fn stored_assets(m: &SnapshotManifest) -> BTreeSet<&str> {
    let mut out: BTreeSet<&str> = m
        .bundles
        .iter()
        .flat_map(|b| b.requested_arns.iter().filter_map(|a| asset_key_of_arn(a)))
        .collect();
    out.extend(
        m.bundles
            .iter()
            .flat_map(|b| b.members.iter())
            .filter_map(|mem| mem.path.strip_suffix(".json")),
    );
    out
}

type BackupModeKey = String;

fn mode_key(mode: BackupMode) -> BackupModeKey {
    serde_json::to_value(mode)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn trash_key(id: &str) -> String {
    layout::trash_key(id)
}

/// Removes the snapshots `ids` from the repository `lock` locks: each manifest is copied to the
/// trash, then deleted.
pub async fn forget(lock: &ExclusiveLock, ids: &[String]) -> Result<()> {
    let repo = lock.repository();
    for id in ids {
        let key = manifest_key(id);
        let bytes = match repo.get(&key).await {
            Ok(b) => b,
            Err(Error::Repository {
                source: object_store::Error::NotFound { .. },
                ..
            }) => continue,
            Err(e) => return Err(e),
        };
        match repo.put_create(&trash_key(id), bytes).await {
            // Forgotten before and interrupted: the trash copy is there already.
            Ok(_) | Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        repo.delete(&key).await?;
    }
    Ok(())
}

/// How to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Leftovers of crashed runs younger than this are kept.
    pub safety_margin: chrono::TimeDelta,
    /// Only report what would be deleted.
    pub dry_run: bool,
    /// Snapshots to treat as forgotten already (a dry run of `forget --prune`).
    pub as_if_forgotten: Vec<String>,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            safety_margin: chrono::TimeDelta::hours(1),
            dry_run: false,
            as_if_forgotten: Vec::new(),
        }
    }
}

/// One object prune deleted (or would delete), or kept for the safety margin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunedObject {
    pub key: String,
    pub size: u64,
    /// Why it goes, or why it stays.
    pub why: String,
}

/// What prune did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub deleted: Vec<PrunedObject>,
    /// Unreferenced leftovers kept because they are younger than the safety margin.
    pub kept_recent: Vec<PrunedObject>,
    pub bytes_freed: u64,
    pub dry_run: bool,
}

struct Pruner<'a> {
    repo: &'a Repository,
    referenced: BTreeSet<String>,
    dry_run: bool,
    report: PruneReport,
    done: BTreeSet<String>,
}

impl Pruner<'_> {
    /// Deletes `key` unless a snapshot references it or it is gone already.
    async fn remove(&mut self, key: &str, why: &str) -> Result<()> {
        if self.referenced.contains(key) || !self.done.insert(key.to_string()) {
            return Ok(());
        }
        let Some(info) = self.repo.head(key).await? else {
            return Ok(());
        };
        if !self.dry_run {
            self.repo.delete(key).await?;
        }
        self.report.bytes_freed += info.size;
        self.report.deleted.push(PrunedObject {
            key: key.to_string(),
            size: info.size,
            why: why.to_string(),
        });
        Ok(())
    }

    async fn keep_recent(&mut self, key: &str, why: &str) -> Result<()> {
        if self.referenced.contains(key) || !self.done.insert(key.to_string()) {
            return Ok(());
        }
        if let Some(info) = self.repo.head(key).await? {
            self.report.kept_recent.push(PrunedObject {
                key: key.to_string(),
                size: info.size,
                why: why.to_string(),
            });
        }
        Ok(())
    }
}

/// Deletes what no snapshot needs (see the module docs) from the repository `lock` locks: no
/// backup or restore may run meanwhile, since what it is writing is referenced by no snapshot yet.
pub async fn prune(lock: &ExclusiveLock, options: &PruneOptions) -> Result<PruneReport> {
    prune_in(lock.repository(), options).await
}

/// What [`prune`] would delete, deleting nothing (`options.dry_run` is taken as set). Needs no
/// lock: it only reads.
pub async fn plan_prune(repo: &Repository, options: &PruneOptions) -> Result<PruneReport> {
    let options = PruneOptions {
        dry_run: true,
        ..options.clone()
    };
    prune_in(repo, &options).await
}

async fn prune_in(repo: &Repository, options: &PruneOptions) -> Result<PruneReport> {
    let loaded = load_all(repo).await?;
    if let Some((key, why)) = loaded.unreadable.first() {
        return Err(Error::Integrity {
            key: key.clone(),
            message: format!(
                "cannot prune while a manifest is unreadable ({why}): what that snapshot needs is unknown; \
                 repair or remove it first"
            ),
        });
    }
    let (pretend, live): (Vec<SnapshotManifest>, Vec<SnapshotManifest>) = loaded
        .manifests
        .into_iter()
        .partition(|m| options.as_if_forgotten.contains(&m.id));
    let referenced: BTreeSet<String> = live.iter().flat_map(referenced_keys).collect();
    let now = Utc::now();
    let cutoff = now - options.safety_margin;
    let mut p = Pruner {
        repo,
        referenced,
        dry_run: options.dry_run,
        report: PruneReport {
            dry_run: options.dry_run,
            ..Default::default()
        },
        done: BTreeSet::new(),
    };

    // Forgotten snapshots: their objects, then the trash entry (or, pretending, the manifest).
    let mut forgotten: Vec<(SnapshotManifest, String)> = pretend
        .into_iter()
        .map(|m| {
            let key = manifest_key(&m.id);
            (m, key)
        })
        .collect();
    for o in repo.list(TRASH_PREFIX).await? {
        let bytes: Bytes = repo
            .get_capped(&o.key, crate::limits::MAX_MANIFEST_BYTES, "forgotten snapshot manifest")
            .await?;
        let m: SnapshotManifest = layout::parse_record(repo, &o.key, &bytes)?;
        forgotten.push((m, o.key));
    }
    for (m, record) in forgotten {
        let why = format!("of forgotten snapshot {}", m.id);
        for key in referenced_keys(&m) {
            if key != manifest_key(&m.id) {
                p.remove(&key, &why).await?;
            }
        }
        p.remove(&layout::report_key(&m.id), &why).await?;
        p.remove(&record, &format!("forgotten manifest of {}", m.id)).await?;
    }

    // Journals: committed runs' are garbage; crashed runs' go with what they wrote, once old.
    let all = journals(repo).await?;
    for run in &all.committed {
        for o in repo.list(&layout::journal_prefix(run)).await? {
            p.remove(&o.key, &format!("journal of committed run {run}")).await?;
        }
    }
    for run in &all.crashed {
        let id = &run.run.run_id;
        if run.last_activity > cutoff {
            for key in run.written_keys().iter().chain(run.keys.iter()) {
                p.keep_recent(key, &format!("crashed run {id}, younger than the safety margin"))
                    .await?;
            }
            continue;
        }
        for key in run.written_keys() {
            p.remove(&key, &format!("written by crashed run {id}")).await?;
        }
        for key in &run.keys {
            p.remove(key, &format!("journal of crashed run {id}")).await?;
        }
    }
    for (keys, last) in &all.orphaned {
        if *last <= cutoff {
            for key in keys {
                p.remove(key, "journal without a run record").await?;
            }
        }
    }

    if let Some(root) = local_root(repo.location()) {
        prune_local_staging(&mut p, root, cutoff).await?;
    }

    // Bookkeeping of scheduled (Step Functions) runs. Prune holds the
    // repository lock, which a scheduled run keeps for its whole duration, so
    // what is here belongs to runs that ended; the bundles an aborted run
    // recorded go too, unless a snapshot references them.
    for o in repo.list(RUNS_PREFIX).await? {
        if o.last_modified > cutoff {
            p.keep_recent(&o.key, "scheduled run state, younger than the safety margin")
                .await?;
            continue;
        }
        if layout::is_run_bundle_key(&o.key) {
            // What the run's export step recorded; a result that cannot be read leaves its
            // bundles (prune only deletes what it knows qsbackup wrote) and goes itself.
            if let Ok(result) = repo.read_record::<BundleResult>(&o.key).await {
                for bundle in &result.bundles {
                    p.remove(&bundle.key, &format!("recorded by scheduled run state {}", o.key))
                        .await?;
                }
            }
        }
        p.remove(&o.key, "state of a scheduled run that ended").await?;
    }

    // Staging uploads (backup and restore) and sections of snapshots that were never committed.
    for prefix in [TMP_PREFIX, RESTORE_STAGING_PREFIX, layout::IDENTITIES, layout::ACCOUNT] {
        for o in repo.list(prefix).await? {
            if o.last_modified > cutoff {
                p.keep_recent(&o.key, "unreferenced, younger than the safety margin")
                    .await?;
            } else {
                p.remove(&o.key, "not referenced by any snapshot").await?;
            }
        }
    }
    Ok(p.report)
}

/// The directory of a local repository (a path or `file://` URL).
fn local_root(location: &str) -> Option<std::path::PathBuf> {
    match location.split_once("://") {
        None => Some(location.into()),
        Some(("file", _)) => url::Url::parse(location).ok()?.to_file_path().ok(),
        Some(_) => None,
    }
}

/// `<name>#<digits>` files under `root` last written before `cutoff`: (path, key, size).
fn staging_files(root: &std::path::Path, cutoff: DateTime<Utc>) -> Vec<(std::path::PathBuf, String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let staging = name
                .split_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let old = meta
                .modified()
                .ok()
                .map(DateTime::<Utc>::from)
                .is_some_and(|t| t <= cutoff);
            if staging && old {
                let key = path
                    .strip_prefix(root)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or(name);
                out.push((path, key, meta.len()));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

async fn prune_local_staging(p: &mut Pruner<'_>, root: std::path::PathBuf, cutoff: DateTime<Utc>) -> Result<()> {
    let found = tokio::task::spawn_blocking(move || staging_files(&root, cutoff))
        .await
        .unwrap_or_default();
    for (path, key, size) in found {
        if !p.dry_run {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        p.report.bytes_freed += size;
        p.report.deleted.push(PrunedObject {
            key,
            size,
            why: "staging file of a write that never finished".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
