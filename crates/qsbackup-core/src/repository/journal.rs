//! The progress journal of a backup run, for resuming after a crash.
//!
//! A run writes small create-only records under `journal/<run-id>/` as it goes: `run.json` when it
//! starts, `job-<job-id>.json` when QuickSight accepts an export job, `storing-<job-id>.json`
//! before a bundle is written (so even a half-finished upload is known to prune) and
//! `bundle-<job-id>.json` once a bundle is stored and checksummed. The journal is never a
//! snapshot: a snapshot exists only when its manifest does. When the run commits, its journal
//! (and those of the crashed runs it resumed) is deleted.
//!
//! The next run, holding the repository lock (so no journal it sees belongs to a live run),
//! finds the crashed runs whose manifest was never written ([`crashed_runs`]), and reuses what
//! they stored and the export jobs they started ([`ResumeState`], [`plan_resume`]) instead of
//! exporting the same assets again.

use crate::asset::AssetType;
use crate::backup::plan::{BundlePlan, PlannedBundle};
use crate::config::ExportFormat;
use crate::error::{Error, Result};
use crate::repository::layout::{self, ObjectKind, RepoFile};
use crate::repository::manifest::{manifest_key, BundleRecord};
use crate::repository::Repository;
use crate::section_kind::SectionKind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where journals live.
pub const JOURNAL_PREFIX: &str = layout::JOURNAL;

/// The export settings a bundle was made with; only bundles made with equal settings are reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFingerprint {
    pub account_id: String,
    pub region: String,
    pub format: ExportFormat,
    pub include_dependencies: bool,
    pub include_permissions: bool,
    pub include_tags: bool,
    pub include_folder_memberships: bool,
}

/// `run.json`: who ran, when, with which settings. Its schema version is the journal's: one
/// qsbackup writes every record of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(default = "layout::schema_v1")]
    pub schema: u32,
    pub run_id: String,
    /// The snapshot the run would have committed.
    pub snapshot_id: String,
    pub host: String,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub fingerprint: ExportFingerprint,
}

/// `job-<id>.json`: an export job QuickSight accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: String,
    pub asset_type: AssetType,
    pub arns: Vec<String>,
    pub started_at: DateTime<Utc>,
}

/// `storing-<id>.json`: a bundle is about to be written at `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoringRecord {
    pub job_id: String,
    pub key: String,
    pub at: DateTime<Utc>,
}

/// `bundle-<id>.json`: a bundle is stored and checksummed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub at: DateTime<Utc>,
    pub bundle: BundleRecord,
}

/// `section-<name>.json`: an identities or account object of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRecord {
    pub name: SectionKind,
    pub key: String,
    pub at: DateTime<Utc>,
}

fn run_prefix(run_id: &str) -> String {
    layout::journal_prefix(run_id)
}

/// The journal of the running backup.
#[derive(Debug, Clone)]
pub struct Journal {
    repo: Repository,
    run_id: String,
}

impl Journal {
    /// Starts the journal of run `run.run_id` by writing its `run.json`.
    pub async fn open(repo: &Repository, run: &RunRecord) -> Result<Journal> {
        repo.write_record(&layout::journal_key(&run.run_id, "run"), run).await?;
        Ok(Journal {
            repo: repo.clone(),
            run_id: run.run_id.clone(),
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    async fn record<T: RepoFile>(&self, name: &str, value: &T) -> Result<()> {
        let key = layout::journal_key(&self.run_id, name);
        match self.repo.write_record(&key, value).await {
            // Recorded before (a retried step): the first record stands.
            Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// QuickSight accepted export job `job_id` for `arns`.
    pub async fn job_started(&self, job_id: &str, asset_type: AssetType, arns: &[String]) -> Result<()> {
        let r = JobRecord {
            job_id: job_id.to_string(),
            asset_type,
            arns: arns.to_vec(),
            started_at: Utc::now(),
        };
        self.record(&format!("job-{job_id}"), &r).await
    }

    /// The bundle of `job_id` is about to be written at `key`.
    pub async fn storing(&self, job_id: &str, key: &str) -> Result<()> {
        let r = StoringRecord {
            job_id: job_id.to_string(),
            key: key.to_string(),
            at: Utc::now(),
        };
        self.record(&format!("storing-{job_id}"), &r).await
    }

    /// A bundle is stored and checksummed.
    pub async fn bundle_stored(&self, bundle: &BundleRecord) -> Result<()> {
        let r = StoredRecord {
            at: Utc::now(),
            bundle: bundle.clone(),
        };
        self.record(&format!("bundle-{}", bundle.export_job_id), &r).await
    }

    /// An identities or account object was written at `key`.
    pub async fn section_stored(&self, name: SectionKind, key: &str) -> Result<()> {
        let r = SectionRecord {
            name,
            key: key.to_string(),
            at: Utc::now(),
        };
        self.record(&format!("section-{name}"), &r).await
    }

    /// Finds what crashed runs with `fingerprint`, younger than `max_age`, left behind.
    /// Call it while holding the repository lock.
    pub async fn find_resumable(
        repo: &Repository,
        fingerprint: &ExportFingerprint,
        max_age: chrono::TimeDelta,
    ) -> Result<ResumeState> {
        let runs = crashed_runs(repo).await?;
        Ok(ResumeState::from_runs(repo, runs, fingerprint, Utc::now() - max_age).await)
    }
}

/// Everything a crashed run recorded.
#[derive(Debug, Clone)]
pub struct CrashedRun {
    pub run: RunRecord,
    pub jobs: Vec<JobRecord>,
    pub storing: Vec<StoringRecord>,
    pub bundles: Vec<BundleRecord>,
    pub sections: Vec<SectionRecord>,
    /// Every journal object of the run.
    pub keys: Vec<String>,
    /// The newest journal object's time.
    pub last_activity: DateTime<Utc>,
}

impl CrashedRun {
    /// Every repository object the run wrote or was writing (bundles, sections).
    pub fn written_keys(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self.storing.iter().map(|s| s.key.clone()).collect();
        keys.extend(self.bundles.iter().map(|b| b.key.clone()));
        keys.extend(self.sections.iter().map(|s| s.key.clone()));
        keys
    }
}

/// Journals in the repository: runs that crashed, and ids of runs that committed but whose
/// journal was left behind (their objects belong to a snapshot; the journal is garbage).
#[derive(Debug, Default)]
pub struct Journals {
    pub crashed: Vec<CrashedRun>,
    pub committed: Vec<String>,
    /// Journal objects that could not be read: (key, why).
    pub unreadable: Vec<(String, String)>,
    /// Journals without a readable `run.json` (a discard cut short): their keys and newest time.
    pub orphaned: Vec<(Vec<String>, DateTime<Utc>)>,
}

async fn read_json<T: RepoFile>(repo: &Repository, key: &str) -> Result<T> {
    repo.read_record(key).await
}

/// Reads every journal of the repository.
pub async fn journals(repo: &Repository) -> Result<Journals> {
    let objects = repo.list(JOURNAL_PREFIX).await?;
    let mut by_run: BTreeMap<String, Vec<(String, DateTime<Utc>)>> = BTreeMap::new();
    for o in objects {
        let Some(run) = layout::journal_run_of(&o.key) else {
            continue;
        };
        by_run
            .entry(run.to_string())
            .or_default()
            .push((o.key.clone(), o.last_modified));
    }
    let mut out = Journals::default();
    for (run_id, entries) in by_run {
        let run_key = layout::journal_key(&run_id, "run");
        let last_activity = entries.iter().map(|e| e.1).max().unwrap_or_else(Utc::now);
        let keys: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
        let run: RunRecord = match read_json(repo, &run_key).await {
            Ok(r) => r,
            Err(e) => {
                out.unreadable.push((run_key, e.to_string()));
                out.orphaned.push((keys, last_activity));
                continue;
            }
        };
        if repo.head(&manifest_key(&run.snapshot_id)).await?.is_some() {
            out.committed.push(run_id);
            continue;
        }
        let mut crashed = CrashedRun {
            run,
            jobs: vec![],
            storing: vec![],
            bundles: vec![],
            sections: vec![],
            keys: keys.clone(),
            last_activity,
        };
        for key in keys {
            let name = key.rsplit('/').next().unwrap_or_default();
            let read = if name.starts_with("job-") {
                read_json(repo, &key).await.map(|r| crashed.jobs.push(r))
            } else if name.starts_with("storing-") {
                read_json(repo, &key).await.map(|r| crashed.storing.push(r))
            } else if name.starts_with("bundle-") {
                read_json::<StoredRecord>(repo, &key)
                    .await
                    .map(|r| crashed.bundles.push(r.bundle))
            } else if name.starts_with("section-") {
                read_json(repo, &key).await.map(|r| crashed.sections.push(r))
            } else {
                Ok(())
            };
            if let Err(e) = read {
                out.unreadable.push((key, e.to_string()));
            }
        }
        out.crashed.push(crashed);
    }
    Ok(out)
}

/// The runs whose journal exists but whose snapshot was never committed.
pub async fn crashed_runs(repo: &Repository) -> Result<Vec<CrashedRun>> {
    Ok(journals(repo).await?.crashed)
}

/// Deletes the journals of `run_ids`.
pub async fn discard(repo: &Repository, run_ids: &[String]) -> Result<()> {
    for run in run_ids {
        for o in repo.list(&run_prefix(run)).await? {
            repo.delete(&o.key).await?;
        }
    }
    Ok(())
}

/// What crashed runs left that a new run can use.
#[derive(Debug, Clone, Default)]
pub struct ResumeState {
    /// Runs drawn on (their journals go when the new run commits).
    pub runs: Vec<String>,
    /// Stored bundles that still exist with their recorded size.
    pub bundles: Vec<BundleRecord>,
    /// Export jobs accepted but never stored: still running, or finished and not downloaded.
    pub jobs: Vec<JobRecord>,
}

impl ResumeState {
    async fn from_runs(
        repo: &Repository,
        runs: Vec<CrashedRun>,
        fingerprint: &ExportFingerprint,
        since: DateTime<Utc>,
    ) -> ResumeState {
        let mut state = ResumeState::default();
        let mut seen_keys = BTreeSet::new();
        let mut stored_jobs = BTreeSet::new();
        for run in runs
            .iter()
            .filter(|r| &r.run.fingerprint == fingerprint && r.run.started_at >= since)
        {
            state.runs.push(run.run.run_id.clone());
            for b in &run.bundles {
                stored_jobs.insert(b.export_job_id.clone());
                let present = matches!(repo.head(&b.key).await, Ok(Some(info)) if info.size == b.size);
                if present && seen_keys.insert(b.key.clone()) {
                    state.bundles.push(b.clone());
                }
            }
        }
        for run in runs.iter().filter(|r| state.runs.contains(&r.run.run_id)) {
            for j in &run.jobs {
                if !stored_jobs.contains(&j.job_id) && !state.jobs.iter().any(|x| x.job_id == j.job_id) {
                    state.jobs.push(j.clone());
                }
            }
        }
        state
    }

    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty() && self.jobs.is_empty()
    }
}

/// A plan adjusted for resuming.
#[derive(Debug, Clone, Default)]
pub struct ResumePlan {
    /// Bundles of crashed runs that cover planned assets, taken as they are.
    pub reused: Vec<BundleRecord>,
    /// What is left to export.
    pub plan: BundlePlan,
    /// Export jobs of crashed runs to wait for instead of starting new ones, by asset type and
    /// sorted ARNs of the bundle they exported.
    pub adoptable: HashMap<(AssetType, Vec<String>), String>,
}

fn arn_key(arns: &[String]) -> Vec<String> {
    let mut v = arns.to_vec();
    v.sort();
    v
}

/// Takes out of `plan` every asset a stored bundle of `state` already covers (a stored bundle
/// is used only when all the root assets it was asked for are still planned, in one bundle of
/// the same type), and lists crashed jobs whose assets are exactly a remaining bundle's.
pub fn plan_resume(plan: &BundlePlan, state: &ResumeState) -> ResumePlan {
    let mut out = ResumePlan::default();
    let mut unused: Vec<&BundleRecord> = state.bundles.iter().collect();
    // Largest first, so a whole stored bundle wins over its split parts.
    unused.sort_by_key(|b| std::cmp::Reverse(b.requested_arns.len()));
    for planned in &plan.bundles {
        let mut remaining: Vec<_> = planned.assets.clone();
        let mut i = 0;
        while i < unused.len() {
            let b = unused[i];
            let covered = !b.requested_arns.is_empty()
                && b.asset_type == planned.asset_type
                && b.requested_arns
                    .iter()
                    .all(|arn| remaining.iter().any(|a| &a.arn == arn));
            if covered {
                remaining.retain(|a| !b.requested_arns.contains(&a.arn));
                out.reused.push(b.clone());
                unused.remove(i);
            } else {
                i += 1;
            }
        }
        if !remaining.is_empty() {
            out.plan.bundles.push(PlannedBundle {
                asset_type: planned.asset_type,
                number: planned.number,
                of: planned.of,
                assets: remaining,
            });
        }
    }
    let wanted: BTreeSet<(AssetType, Vec<String>)> = out
        .plan
        .bundles
        .iter()
        .map(|b| {
            let arns: Vec<String> = b.assets.iter().map(|a| a.arn.clone()).collect();
            (b.asset_type, arn_key(&arns))
        })
        .collect();
    for j in &state.jobs {
        let key = (j.asset_type, arn_key(&j.arns));
        if wanted.contains(&key) {
            out.adoptable.entry(key).or_insert_with(|| j.job_id.clone());
        }
    }
    out
}

/// What the export stage tells the journal, and asks it: the hook [`crate::backup::export::Exporter`]
/// calls as jobs start and bundles are stored.
#[async_trait]
pub trait ExportJournal: Send + Sync {
    /// A crashed run's export job for exactly these assets, to wait for instead of starting a
    /// new one (each is handed out once).
    fn adopt(&self, asset_type: AssetType, arns: &[String]) -> Option<String>;
    async fn job_started(&self, job_id: &str, asset_type: AssetType, arns: &[String]);
    async fn storing(&self, job_id: &str, key: &str);
    async fn bundle_stored(&self, bundle: &BundleRecord);
}

/// The journal of a run plus the jobs it may adopt; journal write failures are counted, not
/// fatal (they only make a later resume export more again).
#[derive(Debug)]
pub struct RunJournal {
    pub journal: Journal,
    adoptable: Mutex<HashMap<(AssetType, Vec<String>), String>>,
    failures: AtomicUsize,
}

impl RunJournal {
    pub fn new(journal: Journal, adoptable: HashMap<(AssetType, Vec<String>), String>) -> Self {
        RunJournal {
            journal,
            adoptable: Mutex::new(adoptable),
            failures: AtomicUsize::new(0),
        }
    }

    /// Journal records that could not be written.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    fn count(&self, r: Result<()>) {
        if r.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl ExportJournal for RunJournal {
    fn adopt(&self, asset_type: AssetType, arns: &[String]) -> Option<String> {
        let mut table = self.adoptable.lock().unwrap_or_else(|p| p.into_inner());
        table.remove(&(asset_type, arn_key(arns)))
    }

    async fn job_started(&self, job_id: &str, asset_type: AssetType, arns: &[String]) {
        self.count(self.journal.job_started(job_id, asset_type, arns).await);
    }

    async fn storing(&self, job_id: &str, key: &str) {
        self.count(self.journal.storing(job_id, key).await);
    }

    async fn bundle_stored(&self, bundle: &BundleRecord) {
        self.count(self.journal.bundle_stored(bundle).await);
    }
}

impl RepoFile for RunRecord {
    const KIND: ObjectKind = ObjectKind::Journal;
    const WHAT: &'static str = "journal run record";
}

impl RepoFile for JobRecord {
    const KIND: ObjectKind = ObjectKind::Journal;
    const WHAT: &'static str = "journal job record";
}

impl RepoFile for StoringRecord {
    const KIND: ObjectKind = ObjectKind::Journal;
    const WHAT: &'static str = "journal storing record";
}

impl RepoFile for StoredRecord {
    const KIND: ObjectKind = ObjectKind::Journal;
    const WHAT: &'static str = "journal bundle record";
}

impl RepoFile for SectionRecord {
    const KIND: ObjectKind = ObjectKind::Journal;
    const WHAT: &'static str = "journal section record";
}

#[cfg(test)]
mod tests;
