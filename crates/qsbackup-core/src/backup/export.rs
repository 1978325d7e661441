//! Export: runs the planned bundles as AssetBundleExportJobs, at most `max_concurrent_jobs` at
//! once (the semaphore in [`Exporter::export`] is the only place that bound lives), isolates the
//! assets a refused or failed job names so the rest of the bundle is still exported, and hands
//! each finished job to the bundle download to be stored. A job slot is released as soon as the
//! service reports the job finished, so downloads never hold one.
//!
//! A cancelled exporter ([`Exporter::with_cancel`]) starts no further job and stops waiting for
//! the running ones (QuickSight keeps them; the journal has them for the next run); bundles
//! already downloading get [`INTERRUPT_GRACE`] to be stored and recorded.

mod isolate;
mod job;

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::backup::download::Downloader;
use crate::backup::filter::{SkipReason, SkippedAsset};
use crate::backup::plan::{estimated_cost, BundleAsset, BundlePlan};
use crate::config::ExportFormat;
use crate::error::Result;
use crate::events::{Event, ProgressSink};
use crate::repository::journal::ExportJournal;
use crate::repository::manifest::{BundleRecord, FailReason, FailedAsset};
use crate::repository::Repository;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use isolate::{isolate, Problem};
pub(crate) use job::{start_attempt, StartAttempt};
use job::{Finished, Started};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long, after a cancellation, bundles already being downloaded may take to be stored and
/// journaled before they are abandoned too (an abandoned download is exported again next run).
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(4);

pub use isolate::DependencyIndex;

/// Waits and retries of the export stage.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// First poll of a job, after its start; also the shortest poll interval.
    pub poll_first: Duration,
    /// Later polls come after this fraction of the time the job has run so far, so the delay
    /// between a job's end and our noticing it stays a small part of the job.
    pub poll_fraction: f64,
    /// Longest poll interval.
    pub poll_max: Duration,
    /// Backoff after a `LimitExceededException` on start, doubling to `limit_backoff_max`.
    pub limit_backoff_initial: Duration,
    pub limit_backoff_max: Duration,
    /// Attempts to download one bundle (dropped connections, expired URLs).
    pub download_attempts: u32,
    /// Wait before a download retry, doubling.
    pub download_backoff: Duration,
    /// Describe calls in flight during discovery.
    pub describe_concurrency: usize,
}

/// Longest wait between two download attempts.
const DOWNLOAD_BACKOFF_MAX: Duration = Duration::from_secs(10);

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            poll_first: Duration::from_millis(1000),
            poll_fraction: 0.1,
            poll_max: Duration::from_secs(5),
            limit_backoff_initial: Duration::from_secs(2),
            limit_backoff_max: Duration::from_secs(30),
            download_attempts: 6,
            download_backoff: Duration::from_millis(500),
            describe_concurrency: 16,
        }
    }
}

impl Tuning {
    /// Retries of a job start (export or import): throttling, 5xx and the account's job limit,
    /// with the job-limit backoff, as long as the job's deadline allows.
    pub(crate) fn job_start_policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy {
            max_attempts: u32::MAX,
            initial_delay: self.limit_backoff_initial,
            max_delay: self.limit_backoff_max,
            max_elapsed: Duration::MAX,
        }
    }

    /// Retries of a bundle download: dropped or short downloads and expired URLs.
    pub(crate) fn download_policy(&self) -> crate::retry::RetryPolicy {
        crate::retry::RetryPolicy {
            max_attempts: self.download_attempts.max(1),
            initial_delay: self.download_backoff,
            max_delay: DOWNLOAD_BACKOFF_MAX,
            max_elapsed: Duration::MAX,
        }
    }

    /// Millisecond waits, for an emulator with instant timing.
    pub fn fast() -> Self {
        Tuning {
            poll_first: Duration::from_millis(10),
            poll_fraction: 0.1,
            poll_max: Duration::from_millis(50),
            limit_backoff_initial: Duration::from_millis(20),
            limit_backoff_max: Duration::from_millis(200),
            download_attempts: 8,
            download_backoff: Duration::from_millis(10),
            describe_concurrency: 16,
        }
    }
}

/// What the export jobs are asked for, from `backup:` in the config.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub format: ExportFormat,
    pub include_dependencies: bool,
    pub include_permissions: bool,
    pub include_tags: bool,
    pub include_folder_memberships: bool,
    /// Jobs in flight at once; never more than QuickSight's 5.
    pub max_concurrent_jobs: usize,
    pub job_timeout: Duration,
    pub tuning: Tuning,
}

/// Where bundles go: `<date_prefix>/<type>/<type>[_bundle_<n>]-<tag>.zip`.
#[derive(Debug, Clone)]
pub struct KeyLayout {
    pub date_prefix: String,
    /// [`crate::repository::layout::bundle_tag`] of the run.
    pub tag: String,
}

/// The result of the export stage.
#[derive(Debug, Default)]
pub struct ExportOutcome {
    pub bundles: Vec<BundleRecord>,
    pub failed: Vec<FailedAsset>,
    /// Assets that vanished between discovery and export.
    pub skipped: Vec<SkippedAsset>,
    pub notes: Vec<String>,
    /// The export was cancelled before it finished: its outcome is incomplete.
    pub interrupted: bool,
    /// Export jobs QuickSight accepted that the cancelled export stopped waiting for.
    pub abandoned_jobs: usize,
}

/// Everything the export stage needs, shared by its concurrent jobs.
pub struct Exporter<'a> {
    pub(crate) aws: &'a AwsContext,
    pub(crate) repository: &'a Repository,
    pub(crate) http: reqwest::Client,
    pub(crate) settings: ExportSettings,
    pub(crate) sink: &'a dyn ProgressSink,
    snapshot_id: String,
    layout: KeyLayout,
    dependencies: DependencyIndex,
    job_seq: AtomicUsize,
    extra_numbers: Mutex<HashMap<AssetType, usize>>,
    /// Numbers skipped before the first split part's, so exporters sharing one [`KeyLayout`]
    /// (one per bundle in the Lambda workflow) never name two split parts alike.
    split_offset: usize,
    /// Whether a resumed job whose key is already stored takes that object as its bundle.
    adopt_existing: bool,
    /// No job is waited for past this, whatever `job_timeout` allows (a Lambda call's budget).
    deadline: Option<Instant>,
    /// Progress records for resuming after a crash, and jobs of a crashed run to adopt.
    journal: Option<&'a dyn ExportJournal>,
    /// Job ids handed over by the journal: waited for, not started again.
    adopted: Mutex<HashSet<String>>,
    /// Once cancelled, no job starts and none is waited for.
    cancel: CancellationToken,
}

/// How a bundle's key is numbered.
#[derive(Debug, Clone, Copy)]
enum Naming {
    Planned {
        number: usize,
        of: usize,
    },
    /// Part of a bundle that had to be split; numbered after the planned ones.
    Split {
        planned_of: usize,
    },
}

#[derive(Debug, Clone)]
struct Work {
    asset_type: AssetType,
    assets: Vec<BundleAsset>,
    naming: Naming,
    /// Whether one more try of this exact bundle is allowed after an unexplained failure.
    retry_whole: bool,
}

/// Gives each requested asset's member the `LastUpdatedTime` discovery listed, so that `log`
/// can say when QuickSight last saw an edit without reading the bundle.
fn note_last_updated(record: &mut BundleRecord, assets: &[BundleAsset]) {
    let by_id: HashMap<&str, chrono::DateTime<chrono::Utc>> = assets
        .iter()
        .filter_map(|a| Some((crate::asset::id_from_arn(&a.arn)?, a.last_updated?)))
        .collect();
    let root = record.asset_type.as_str();
    for m in record.members.iter_mut().filter(|m| m.member_type == root) {
        m.last_updated_time = by_id.get(m.id.as_str()).copied();
    }
}

/// A bundle waiting for a job slot; the heap pops the most expensive first, then the oldest.
struct Pending {
    cost: usize,
    seq: std::cmp::Reverse<usize>,
    job_id: String,
    work: Work,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.cost, self.seq) == (other.cost, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.cost, self.seq).cmp(&(other.cost, other.seq))
    }
}

#[derive(Default)]
struct Step {
    stored: Option<BundleRecord>,
    failed: Vec<FailedAsset>,
    skipped: Vec<SkippedAsset>,
    more: Vec<Work>,
    /// Jobs accepted by QuickSight that were no longer waited for after a cancellation.
    abandoned: usize,
}

fn fail_all(w: &Work, reason: FailReason, message: &str) -> Vec<FailedAsset> {
    w.assets
        .iter()
        .map(|a| FailedAsset {
            acknowledged: false,
            arn: a.arn.clone(),
            asset_type: w.asset_type,
            name: a.name.clone(),
            reason,
            message: message.to_string(),
        })
        .collect()
}

impl<'a> Exporter<'a> {
    pub fn new(
        aws: &'a AwsContext,
        repository: &'a Repository,
        settings: ExportSettings,
        sink: &'a dyn ProgressSink,
        snapshot_id: &str,
        layout: KeyLayout,
        dependencies: DependencyIndex,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| crate::Error::Download {
                job_id: "(none)".into(),
                message: format!("cannot build the HTTP client: {}", e.without_url()),
            })?;
        Ok(Exporter {
            aws,
            repository,
            http,
            settings,
            sink,
            snapshot_id: snapshot_id.to_string(),
            layout,
            dependencies,
            job_seq: AtomicUsize::new(0),
            extra_numbers: Mutex::new(HashMap::new()),
            split_offset: 0,
            adopt_existing: false,
            deadline: None,
            journal: None,
            adopted: Mutex::new(HashSet::new()),
            cancel: CancellationToken::new(),
        })
    }

    /// Stops the export when `cancel` is cancelled: no job starts after that, running jobs
    /// are no longer waited for, and [`ExportOutcome::interrupted`] is set.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Records jobs and stored bundles in `journal` as they happen, and waits for the jobs of a
    /// crashed run it hands over instead of starting them again (see [`crate::repository::journal`]).
    pub fn with_journal(mut self, journal: &'a dyn ExportJournal) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Numbers this exporter's split parts after the first `offset` numbers past the planned
    /// bundles; the CLI's single exporter keeps 0. A bundle of `n` assets uses at most `2 * n`
    /// split numbers (each split partitions its assets into two or more non-empty parts).
    pub fn with_split_offset(mut self, offset: usize) -> Self {
        self.split_offset = offset;
        self
    }

    /// For a retried step that adopts its own job: when that job's bundle key already holds a
    /// zip of the download's size (stored before the step's record was written), it is read
    /// and recorded as the bundle instead of failing the assets. The CLI keeps this off.
    pub fn with_existing_bundles_adopted(mut self) -> Self {
        self.adopt_existing = true;
        self
    }

    /// Stops waiting for any job at `deadline` (the job then times out like one past
    /// `job_timeout`); for callers that are killed at a fixed time. The CLI sets none.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Whether `job_id` was adopted from a crashed run and QuickSight still has it running or
    /// finished (a failed or forgotten job is started afresh).
    async fn resumable(&self, job_id: &str) -> bool {
        let adopted = self.adopted.lock().unwrap_or_else(|p| p.into_inner()).remove(job_id);
        if !adopted {
            return false;
        }
        match self.describe_job(job_id).await {
            Ok(out) => !matches!(
                out.job_status(),
                Some(aws_sdk_quicksight::types::AssetBundleExportJobStatus::Failed) | None
            ),
            Err(_) => false,
        }
    }

    /// Unique per run and valid for QuickSight (`[\w-]+`).
    fn next_job_id(&self) -> String {
        let n = self.job_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("qsbackup-{}-{n}", self.snapshot_id)
    }

    fn key_for(&self, w: &Work) -> String {
        let number = match w.naming {
            Naming::Planned { of: 1, .. } => None,
            Naming::Planned { number, .. } => Some(number),
            Naming::Split { planned_of } => {
                let mut extra = self.extra_numbers.lock().unwrap_or_else(|p| p.into_inner());
                let n = extra.entry(w.asset_type).or_insert(planned_of + self.split_offset);
                *n += 1;
                Some(*n)
            }
        };
        let ext = match self.settings.format {
            ExportFormat::QuickSightJson => "zip",
            ExportFormat::CloudFormationJson => "json",
        };
        crate::repository::layout::bundle_key(&self.layout.date_prefix, w.asset_type, number, &self.layout.tag, ext)
    }

    /// Exports every bundle of `plan`; never fails as a whole, failures are per asset.
    /// Waiting bundles start largest first (a bundle retried after isolation included), so the
    /// long jobs do not end up at the tail of the run.
    pub async fn export(&self, plan: &BundlePlan) -> ExportOutcome {
        // The one bound on export jobs in flight.
        let jobs = Semaphore::new(self.settings.max_concurrent_jobs.clamp(1, 5));
        let mut pending = BinaryHeap::new();
        for b in &plan.bundles {
            self.enqueue(
                &mut pending,
                Work {
                    asset_type: b.asset_type,
                    assets: b.assets.clone(),
                    naming: Naming::Planned {
                        number: b.number,
                        of: b.of,
                    },
                    retry_whole: true,
                },
            );
        }
        let mut outcome = ExportOutcome::default();
        let mut running = FuturesUnordered::new();
        // Set at the cancellation: past it, stores still running are abandoned.
        let mut grace_ends: Option<Instant> = None;
        loop {
            let cancelled = grace_ends.is_some();
            // Nothing left to stop: the loop ends through `else`.
            let busy = !running.is_empty() || !pending.is_empty();
            tokio::select! {
                biased;
                Some(step) = running.next(), if !running.is_empty() => {
                    let step: Step = step;
                    outcome.bundles.extend(step.stored);
                    outcome.failed.extend(step.failed);
                    outcome.skipped.extend(step.skipped);
                    outcome.abandoned_jobs += step.abandoned;
                    for w in step.more {
                        self.enqueue(&mut pending, w);
                    }
                }
                _ = self.cancel.cancelled(), if !cancelled && busy => {
                    grace_ends = Some(Instant::now() + INTERRUPT_GRACE);
                    outcome.interrupted = true;
                }
                _ = tokio::time::sleep_until(grace_ends.unwrap_or_else(Instant::now)), if cancelled && !running.is_empty() => {
                    // Still downloading: QuickSight keeps the finished job and the journal
                    // has it, so the next run downloads it again.
                    outcome.abandoned_jobs += running.len();
                    break;
                }
                slot = jobs.acquire(), if !pending.is_empty() && !cancelled => {
                    let (Ok(slot), Some(next)) = (slot, pending.pop()) else { break };
                    let Pending { job_id, work, .. } = next;
                    running.push(self.run(job_id, work, slot));
                }
                else => break,
            }
        }
        outcome
    }

    fn enqueue(&self, pending: &mut BinaryHeap<Pending>, work: Work) {
        let arns: Vec<String> = work.assets.iter().map(|a| a.arn.clone()).collect();
        let job_id = match self.journal.and_then(|j| j.adopt(work.asset_type, &arns)) {
            Some(id) => {
                self.adopted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone());
                id
            }
            None => self.next_job_id(),
        };
        self.sink.event(&Event::BundleQueued {
            job_id: job_id.clone(),
            asset_type: work.asset_type,
            assets: work.assets.len(),
        });
        pending.push(Pending {
            cost: estimated_cost(work.asset_type, work.assets.len()),
            seq: std::cmp::Reverse(self.job_seq.load(Ordering::Relaxed)),
            job_id,
            work,
        });
    }

    async fn run(&self, job_id: String, w: Work, slot: SemaphorePermit<'_>) -> Step {
        let own = crate::poll::deadline_after(self.settings.job_timeout);
        let deadline = self.deadline.map_or(own, |d| d.min(own));
        let arns: Vec<String> = w.assets.iter().map(|a| a.arn.clone()).collect();
        if self.cancel.is_cancelled() {
            return self.abandoned(&job_id, &w, 0);
        }
        let resumed = self.resumable(&job_id).await;
        let started = if resumed {
            Ok(Started::Yes)
        } else {
            self.start_job(&job_id, &arns, deadline).await
        };
        let finished = match started {
            Ok(Started::Yes) => {
                self.sink.event(&Event::BundleStarted {
                    job_id: job_id.clone(),
                    asset_type: w.asset_type,
                    resumed,
                });
                if let (Some(j), false) = (self.journal, resumed) {
                    j.job_started(&job_id, w.asset_type, &arns).await;
                }
                tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => {
                        return self.abandoned(&job_id, &w, 1);
                    }
                    finished = self.wait_job(&job_id, deadline) => finished,
                }
            }
            Ok(Started::Cancelled) => return self.abandoned(&job_id, &w, 0),
            Ok(Started::Refused(problems)) => {
                drop(slot);
                return self.isolate(&job_id, w, &problems, FailReason::ExportRefused);
            }
            Ok(Started::Gone(problems)) => {
                drop(slot);
                return self.gone(&job_id, w, &problems);
            }
            Err(e) => Err(e),
        };
        drop(slot);
        match finished {
            Ok(Finished::Successful { download_url }) => {
                self.sink.event(&Event::BundleExported {
                    job_id: job_id.clone(),
                    asset_type: w.asset_type,
                });
                let key = self.key_for(&w);
                if let Some(j) = self.journal {
                    j.storing(&job_id, &key).await;
                }
                let adopt_existing = self.adopt_existing && resumed;
                let downloader = Downloader {
                    aws: self.aws,
                    repository: self.repository,
                    http: &self.http,
                    format: self.settings.format,
                    policy: self.settings.tuning.download_policy(),
                    sink: self.sink,
                };
                match downloader
                    .store(&job_id, &key, download_url, w.asset_type, &arns, adopt_existing)
                    .await
                {
                    Ok(mut record) => {
                        note_last_updated(&mut record, &w.assets);
                        if let Some(j) = self.journal {
                            j.bundle_stored(&record).await;
                        }
                        self.sink.event(&Event::BundleStored {
                            job_id,
                            asset_type: w.asset_type,
                            key: record.key.clone(),
                            bytes: record.size,
                            members: record.members.len(),
                        });
                        Step {
                            stored: Some(record),
                            ..Default::default()
                        }
                    }
                    Err((reason, e)) => self.fail(&job_id, &w, reason, &e.to_string()),
                }
            }
            Ok(Finished::Failed(problems)) => self.isolate(&job_id, w, &problems, FailReason::ExportJobFailed),
            Ok(Finished::TimedOut) => {
                let message = format!(
                    "export job {job_id} did not finish within {} s",
                    self.settings.job_timeout.as_secs()
                );
                self.fail(&job_id, &w, FailReason::ExportTimedOut, &message)
            }
            Err(e) => self.fail(&job_id, &w, FailReason::ExportError, &e.to_string()),
        }
    }

    /// Ends a bundle the interruption stopped; `jobs` counts a job QuickSight keeps running.
    fn abandoned(&self, job_id: &str, w: &Work, jobs: usize) -> Step {
        self.sink.event(&Event::BundleAbandoned {
            job_id: job_id.to_string(),
            asset_type: w.asset_type,
        });
        Step {
            abandoned: jobs,
            ..Default::default()
        }
    }

    fn fail(&self, job_id: &str, w: &Work, reason: FailReason, message: &str) -> Step {
        self.sink.event(&Event::BundleFailed {
            job_id: job_id.to_string(),
            asset_type: w.asset_type,
            assets: w.assets.len(),
            message: message.to_string(),
        });
        let failed = fail_all(w, reason, message);
        for f in &failed {
            self.sink.event(&Event::AssetFailed {
                arn: f.arn.clone(),
                asset_type: f.asset_type,
                message: f.message.clone(),
            });
        }
        Step {
            failed,
            ..Default::default()
        }
    }

    fn split_work(&self, job_id: &str, w: &Work, groups: Vec<Vec<BundleAsset>>, message: &str) -> Vec<Work> {
        self.sink.event(&Event::BundleSplit {
            job_id: job_id.to_string(),
            asset_type: w.asset_type,
            into: groups.len(),
            message: message.to_string(),
        });
        let planned_of = match w.naming {
            Naming::Planned { of, .. } | Naming::Split { planned_of: of } => of,
        };
        // One group (the whole bundle again, or the bundle minus its offenders) keeps the
        // bundle's name; halves get new numbers.
        let single = groups.len() == 1;
        let whole = single && groups[0].len() == w.assets.len();
        groups
            .into_iter()
            .map(|assets| Work {
                asset_type: w.asset_type,
                assets,
                naming: if single { w.naming } else { Naming::Split { planned_of } },
                retry_whole: !whole && w.retry_whole,
            })
            .collect()
    }

    fn isolate(&self, job_id: &str, w: Work, problems: &[Problem], reason: FailReason) -> Step {
        let decision = isolate(&w.assets, problems, &self.dependencies, w.retry_whole);
        let summary = problems.first().map(|p| p.message.as_str()).unwrap_or("");
        let failed: Vec<FailedAsset> = decision
            .offenders
            .into_iter()
            .map(|(a, message)| {
                self.sink.event(&Event::AssetFailed {
                    arn: a.arn.clone(),
                    asset_type: w.asset_type,
                    message: message.clone(),
                });
                FailedAsset {
                    acknowledged: false,
                    arn: a.arn,
                    asset_type: w.asset_type,
                    name: a.name,
                    reason,
                    message,
                }
            })
            .collect();
        // Every asset an offender: the bundle failed, it was not split.
        let more = if decision.retry.is_empty() {
            self.sink.event(&Event::BundleFailed {
                job_id: job_id.to_string(),
                asset_type: w.asset_type,
                assets: failed.len(),
                message: summary.to_string(),
            });
            Vec::new()
        } else {
            self.split_work(job_id, &w, decision.retry, summary)
        };
        Step {
            more,
            failed,
            ..Default::default()
        }
    }

    /// A start refused because requested assets no longer exist: they are skipped as deleted.
    fn gone(&self, job_id: &str, w: Work, problems: &[Problem]) -> Step {
        let named: Vec<&str> = problems.iter().filter_map(|p| p.arn.as_deref()).collect();
        let (missing, rest): (Vec<BundleAsset>, Vec<BundleAsset>) =
            w.assets.iter().cloned().partition(|a| named.contains(&a.arn.as_str()));
        if missing.is_empty() {
            let message = problems.first().map(|p| p.message.as_str()).unwrap_or("not found");
            return self.fail(job_id, &w, FailReason::ExportError, message);
        }
        let skipped = missing
            .into_iter()
            .map(|a| {
                let s = SkippedAsset {
                    arn: a.arn,
                    asset_type: w.asset_type,
                    name: a.name,
                    reason: SkipReason::DeletedDuringBackup,
                    message: "It was deleted while the backup was running.".into(),
                };
                self.sink.event(&Event::AssetSkipped {
                    arn: s.arn.clone(),
                    asset_type: s.asset_type,
                    name: s.name.clone(),
                    reason: s.reason,
                });
                s
            })
            .collect();
        let groups = if rest.is_empty() { Vec::new() } else { vec![rest] };
        let more = self.split_work(job_id, &w, groups, "some assets no longer exist");
        Step {
            skipped,
            more,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NoProgress;
    use crate::testutil::memory_repo;

    fn aws() -> AwsContext {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let quicksight = aws_sdk_quicksight::Client::new(&sdk);
        AwsContext {
            home: sdk.clone(),
            sdk,
            identity_quicksight: quicksight.clone(),
            quicksight,
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            identity_region: "us-east-1".into(),
            quicksight_endpoint: "http://127.0.0.1:1".into(),
        }
    }

    fn settings() -> ExportSettings {
        ExportSettings {
            format: ExportFormat::QuickSightJson,
            include_dependencies: true,
            include_permissions: true,
            include_tags: true,
            include_folder_memberships: true,
            max_concurrent_jobs: 1,
            job_timeout: Duration::from_secs(60),
            tuning: Tuning::fast(),
        }
    }

    fn split_keys(exporter: &Exporter<'_>, parts: usize) -> Vec<String> {
        let w = Work {
            asset_type: AssetType::Dashboard,
            assets: vec![],
            naming: Naming::Split { planned_of: 2 },
            retry_whole: false,
        };
        (0..parts).map(|_| exporter.key_for(&w)).collect()
    }

    #[test]
    fn exporters_with_disjoint_split_offsets_name_split_parts_apart() {
        let aws = aws();
        let repo = memory_repo("split-offset");
        let layout = KeyLayout {
            date_prefix: "2026/11/28".into(),
            tag: "072100".into(),
        };
        let new = |offset: usize| {
            Exporter::new(
                &aws,
                &repo,
                settings(),
                &NoProgress,
                "s",
                layout.clone(),
                DependencyIndex::new(std::iter::empty()),
            )
            .expect("exporter")
            .with_split_offset(offset)
        };
        let cli = split_keys(&new(0), 2);
        assert_eq!(
            cli,
            vec![
                "2026/11/28/dashboard/dashboard_bundle_3-072100.zip",
                "2026/11/28/dashboard/dashboard_bundle_4-072100.zip"
            ]
        );
        let first = split_keys(&new(0), 4);
        let second = split_keys(&new(4), 4);
        assert!(first.iter().all(|k| !second.contains(k)), "{first:?} vs {second:?}");
    }
}
