//! Running the import jobs of a plan: at most `max_concurrent_jobs` at once (QuickSight allows
//! 5), in the plan's order, a job starting as soon as the jobs it depends on have finished (and,
//! when it grants permissions to users or groups the identity step creates, once that step has
//! created them), and carrying only the assets whose dependencies were restored (the others are
//! reported as not attempted). Starts
//! are retried by [`crate::retry`] while the account is at its job limit; jobs are polled with [`crate::poll`] like
//! export jobs. Each asset's outcome comes from the job's `Errors` and `RollbackErrors`.

use super::bundle::{self, BundleSource};
use super::identities::Principals;
use super::members::SnapshotMembers;
use super::overrides::{Context, DroppedPermission};
use super::{AssetKey, FailureAction, RestorePlan};
use crate::aws::{error_code, service_error, AwsContext};
use crate::backup::export::Tuning;
use crate::events::{Event, ProgressSink};
pub use crate::job_status::ImportJobStatus;
use crate::poll::{poll_until, Poll, PollSchedule};
use crate::repository::Repository;
use crate::retry::{self, Retry};
use aws_sdk_quicksight::operation::describe_asset_bundle_import_job::DescribeAssetBundleImportJobOutput;
use aws_sdk_quicksight::types::{
    AssetBundleImportFailureAction, AssetBundleImportJobError, AssetBundleImportJobOverrideParameters,
    AssetBundleImportJobStatus, AssetBundleImportSource,
};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How the jobs run.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub failure_action: FailureAction,
    pub max_concurrent_jobs: usize,
    pub max_inline_bytes: usize,
    pub job_timeout: Duration,
    pub tuning: Tuning,
    /// `s3://bucket/prefix` of the repository, for bundles over the inline limit.
    pub staging: Option<String>,
    /// Once cancelled no job starts, and running jobs are no longer waited for.
    pub cancel: CancellationToken,
}

/// How one asset fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "message")]
pub enum AssetResult {
    Restored,
    Failed(String),
    NotAttempted(String),
}

/// An error QuickSight reported for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub message: String,
}

impl JobError {
    fn of(e: &AssetBundleImportJobError) -> JobError {
        JobError {
            arn: e.arn().map(str::to_string),
            error_type: e.r#type().map(str::to_string),
            message: e.message().unwrap_or("(no message)").to_string(),
        }
    }
}

/// Why QuickSight did not start a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum StartRefused {
    /// The request was invalid for QuickSight (`InvalidParameterValueException`).
    #[error("{0}")]
    Invalid(String),
    /// Any other error of the start call.
    #[error("{0}")]
    Failed(String),
}

impl StartRefused {
    fn status(&self) -> ImportJobStatus {
        match self {
            StartRefused::Invalid(_) => ImportJobStatus::Refused,
            StartRefused::Failed(_) => ImportJobStatus::Error,
        }
    }
}

/// One import job as it ran.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub number: usize,
    pub job_id: String,
    pub status: ImportJobStatus,
    pub assets: usize,
    pub source: BundleSource,
    pub bytes: u64,
    pub errors: Vec<JobError>,
    pub rollback_errors: Vec<JobError>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// The results of all jobs.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub assets: BTreeMap<AssetKey, AssetResult>,
    pub jobs: Vec<JobReport>,
    /// Permissions left out of the imported members.
    pub dropped: Vec<DroppedPermission>,
    pub notes: Vec<String>,
    /// Cancelled before every job had ended.
    pub interrupted: bool,
}

/// One job's results.
struct JobRun {
    report: JobReport,
    results: BTreeMap<AssetKey, AssetResult>,
    dropped: Vec<DroppedPermission>,
}

/// Everything the jobs share.
pub struct Runner<'a> {
    pub aws: &'a AwsContext,
    pub repository: &'a Repository,
    pub plan: &'a RestorePlan,
    pub ctx: &'a Context<'a>,
    pub members: &'a SnapshotMembers,
    pub settings: ImportSettings,
    pub sink: &'a dyn ProgressSink,
    /// The target's users and groups once the identity step has created them (`None` until
    /// then); jobs that [wait for identities](super::bundle::PlannedJob::waits_for_identities)
    /// start after that, rewritten with them. `None`: no identity step, nothing waits.
    pub identities: Option<watch::Receiver<Option<Arc<Principals>>>>,
}

enum Ended {
    Done(Box<DescribeAssetBundleImportJobOutput>),
    TimedOut,
}

impl Runner<'_> {
    fn job_id(&self, number: usize) -> String {
        format!("qsbackup-restore-{}-{number}", self.plan.restore_id)
    }

    /// Runs every job of the plan; never fails as a whole.
    pub async fn run(&self) -> Imported {
        let mut imported = Imported::default();
        let mut pending: Vec<usize> = (0..self.plan.jobs.len()).collect();
        let mut finished: BTreeSet<usize> = BTreeSet::new();
        let mut running = FuturesUnordered::new();
        let max = self.settings.max_concurrent_jobs.clamp(1, 5);
        let mut stop: Option<String> = None;
        // Jobs started and not yet ended, with their assets (for an interrupted restore).
        let mut in_flight: BTreeMap<usize, Vec<AssetKey>> = BTreeMap::new();
        let mut identities = self.identities.clone();
        loop {
            if self.settings.cancel.is_cancelled() && !imported.interrupted {
                imported.interrupted = true;
                stop = Some("the restore was interrupted before its import job started".into());
            }
            let principals: Option<Arc<Principals>> = identities.as_ref().and_then(|r| r.borrow().clone());
            // A stopped restore starts no job, so none has to wait for the identity step.
            let held = |waits: bool| waits && identities.is_some() && principals.is_none() && stop.is_none();
            let mut i = 0;
            while i < pending.len() && running.len() < max {
                let job = &self.plan.jobs[pending[i]];
                if !job.depends_on.iter().all(|d| finished.contains(d)) || held(job.waits_for_identities) {
                    i += 1;
                    continue;
                }
                pending.remove(i);
                let (assets, blocked) = self.ready_assets(job.number, &imported.assets, stop.as_deref());
                imported.assets.extend(blocked);
                if assets.is_empty() {
                    finished.insert(job.number);
                    imported.jobs.push(self.not_started(job.number, job.source));
                    continue;
                }
                in_flight.insert(job.number, assets.clone());
                let with = if job.waits_for_identities {
                    principals.clone()
                } else {
                    None
                };
                running.push(self.run_job(job.number, assets, with));
            }
            let waiting = pending.iter().any(|n| held(self.plan.jobs[*n].waits_for_identities));
            if running.is_empty() && !waiting {
                break;
            }
            let next = tokio::select! {
                biased;
                Some(next) = running.next(), if !running.is_empty() => Some(next),
                changed = async {
                    match identities.as_mut() {
                        Some(r) => r.changed().await.is_ok(),
                        None => false,
                    }
                }, if waiting => {
                    if !changed {
                        // The identity step ended without saying: nothing more will come.
                        identities = None;
                        stop = Some("the identity step ended before its users and groups were known".into());
                    }
                    continue;
                }
                _ = self.settings.cancel.cancelled(), if !imported.interrupted => continue,
                // Already interrupted: the jobs still running are left to QuickSight.
                _ = std::future::ready(()), if imported.interrupted => break,
            };
            let Some(JobRun {
                report,
                results,
                dropped,
            }) = next
            else {
                break;
            };
            in_flight.remove(&report.number);
            imported.dropped.extend(dropped);
            let failed = results.values().any(|r| !matches!(r, AssetResult::Restored));
            if failed && self.settings.failure_action == FailureAction::Rollback && stop.is_none() {
                stop = Some(format!(
                    "import job {} failed and --failure-action rollback starts no further job",
                    report.job_id
                ));
            }
            self.sink.event(&Event::ImportJobFinished {
                job_id: report.job_id.clone(),
                status: report.status.clone(),
                succeeded: results.values().filter(|r| matches!(r, AssetResult::Restored)).count(),
                failed: results.values().filter(|r| !matches!(r, AssetResult::Restored)).count(),
            });
            finished.insert(report.number);
            imported.assets.extend(results);
            imported.jobs.push(report);
        }
        for (number, assets) in in_flight {
            let reason = format!(
                "the restore was interrupted while import job {} was running; QuickSight may still complete it",
                self.job_id(number)
            );
            imported.jobs.push(JobReport {
                status: ImportJobStatus::Interrupted,
                assets: assets.len(),
                ..self.not_started(number, self.plan.jobs[number - 1].source)
            });
            for k in assets {
                imported.assets.insert(k, AssetResult::NotAttempted(reason.clone()));
            }
        }
        for n in pending {
            let job = &self.plan.jobs[n];
            if imported.interrupted {
                imported.jobs.push(self.not_started(job.number, job.source));
            }
            for k in &job.assets {
                imported.assets.entry(k.clone()).or_insert_with(|| {
                    AssetResult::NotAttempted(if imported.interrupted {
                        "the restore was interrupted before its import job started".into()
                    } else {
                        "its import job never became ready".into()
                    })
                });
            }
        }
        imported.jobs.sort_by_key(|j| j.number);
        imported
    }

    /// The assets of job `number` that can go, and those that cannot (with why).
    fn ready_assets(
        &self,
        number: usize,
        results: &BTreeMap<AssetKey, AssetResult>,
        stop: Option<&str>,
    ) -> (Vec<AssetKey>, Vec<(AssetKey, AssetResult)>) {
        let job = &self.plan.jobs[number - 1];
        let mut ready = Vec::new();
        let mut blocked = Vec::new();
        for key in &job.assets {
            if let Some(reason) = stop {
                blocked.push((key.clone(), AssetResult::NotAttempted(reason.to_string())));
                continue;
            }
            let failed_dep = self.members.assets.get(key).and_then(|m| {
                m.references
                    .iter()
                    .find(|r| results.get(*r).is_some_and(|res| !matches!(res, AssetResult::Restored)))
            });
            match failed_dep {
                Some(dep) => blocked.push((
                    key.clone(),
                    AssetResult::NotAttempted(format!("it depends on {dep}, which was not restored")),
                )),
                None => ready.push(key.clone()),
            }
        }
        (ready, blocked)
    }

    fn not_started(&self, number: usize, source: BundleSource) -> JobReport {
        JobReport {
            number,
            job_id: self.job_id(number),
            status: ImportJobStatus::NotStarted,
            assets: 0,
            source,
            bytes: 0,
            errors: Vec::new(),
            rollback_errors: Vec::new(),
            warnings: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Runs job `number` with `assets`, rewritten with `principals` when given (the target's
    /// users and groups after the identity step) instead of the ones the target had.
    async fn run_job(&self, number: usize, assets: Vec<AssetKey>, principals: Option<Arc<Principals>>) -> JobRun {
        let after;
        let ctx: &Context = match &principals {
            Some(p) => {
                after = Context {
                    principals: Some(p),
                    ..*self.ctx
                };
                &after
            }
            None => self.ctx,
        };
        let started = Instant::now();
        let job_id = self.job_id(number);
        let mut report = JobReport {
            assets: assets.len(),
            ..self.not_started(number, BundleSource::Inline)
        };
        let fail_all = |message: String| -> BTreeMap<AssetKey, AssetResult> {
            assets
                .iter()
                .map(|k| (k.clone(), AssetResult::Failed(message.clone())))
                .collect()
        };
        let built = bundle::rewrite(ctx, self.members, &assets)
            .and_then(|files| bundle::zip(&files).map(|zip| (zip, files.dropped)));
        let (zip, dropped) = match built {
            Ok(b) => b,
            Err(e) => {
                report.status = ImportJobStatus::Error;
                return JobRun {
                    report,
                    results: fail_all(e.to_string()),
                    dropped: Vec::new(),
                };
            }
        };
        report.bytes = zip.len() as u64;
        let mut staged_key = None;
        let source = if zip.len() <= self.settings.max_inline_bytes {
            AssetBundleImportSource::builder()
                .body(aws_smithy_types::Blob::new(zip))
                .build()
        } else {
            report.source = BundleSource::S3;
            let Some(base) = &self.settings.staging else {
                report.status = ImportJobStatus::Error;
                return JobRun {
                    report,
                    results: fail_all("the bundle is over the inline limit and the repository is not on S3".into()),
                    dropped,
                };
            };
            let key = crate::repository::layout::restore_staging_key(&self.plan.restore_id, number);
            if let Err(e) = self.repository.put_create(&key, bytes::Bytes::from(zip)).await {
                report.status = ImportJobStatus::Error;
                return JobRun {
                    report,
                    results: fail_all(format!("staging the bundle failed: {e}")),
                    dropped,
                };
            }
            staged_key = Some(key.clone());
            AssetBundleImportSource::builder()
                .s3_uri(format!("{base}/{key}"))
                .build()
        };
        let deadline = crate::poll::deadline_after(self.settings.job_timeout);
        let ended: Result<Ended, String> = match self.start(&job_id, &assets, source, deadline).await {
            Ok(()) => {
                self.sink.event(&Event::ImportJobStarted {
                    job_id: job_id.clone(),
                    assets: assets.len(),
                });
                self.wait(&job_id, deadline).await
            }
            Err(refused) => {
                report.status = refused.status();
                let message = refused.to_string();
                report.errors.push(JobError {
                    arn: None,
                    error_type: None,
                    message: message.clone(),
                });
                Err(message)
            }
        };
        if let Some(key) = staged_key {
            // A leftover staging object is only litter; the restore's outcome does not hang on it.
            let _ = self.repository.delete(&key).await;
        }
        let results = match ended {
            Err(message) => {
                if report.status == ImportJobStatus::NotStarted {
                    report.status = ImportJobStatus::Error;
                }
                fail_all(message)
            }
            Ok(Ended::TimedOut) => {
                report.status = ImportJobStatus::TimedOut;
                fail_all(format!(
                    "import job {job_id} did not finish within {} s",
                    self.settings.job_timeout.as_secs()
                ))
            }
            Ok(Ended::Done(out)) => self.results(&assets, &out, &mut report),
        };
        for (k, r) in &results {
            if let AssetResult::Failed(message) = r {
                self.sink.event(&Event::AssetRestoreFailed {
                    asset_type: k.asset_type,
                    id: k.id.clone(),
                    message: message.clone(),
                });
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        JobRun {
            report,
            results,
            dropped,
        }
    }

    /// Starts the job; `Err` when QuickSight did not.
    async fn start(
        &self,
        job_id: &str,
        assets: &[AssetKey],
        source: AssetBundleImportSource,
        deadline: Instant,
    ) -> Result<(), StartRefused> {
        let ds_ids: Vec<&str> = assets
            .iter()
            .filter(|k| k.asset_type == crate::asset::AssetType::DataSource)
            .map(|k| k.id.as_str())
            .collect();
        let ds_overrides = self.ctx.data_source_overrides(&ds_ids);
        let overrides = (!ds_overrides.is_empty()).then(|| {
            AssetBundleImportJobOverrideParameters::builder()
                .set_data_sources(Some(ds_overrides))
                .build()
        });
        let action = match self.settings.failure_action {
            FailureAction::Rollback => AssetBundleImportFailureAction::Rollback,
            FailureAction::DoNothing => AssetBundleImportFailureAction::DoNothing,
        };
        let started = Retry::new(
            &self.settings.tuning.job_start_policy(),
            format!("StartAssetBundleImportJob {job_id}"),
        )
        .events(self.sink)
        .until(deadline)
        .run(
            || {
                self.aws
                    .quicksight
                    .start_asset_bundle_import_job()
                    .aws_account_id(&self.aws.account_id)
                    .asset_bundle_import_job_id(job_id)
                    .asset_bundle_import_source(source.clone())
                    .failure_action(action.clone())
                    .set_override_parameters(overrides.clone())
                    .customize()
                    .config_override(retry::single_attempt())
                    .send()
            },
            retry::transient_or_job_limit,
        )
        .await;
        let err = match started {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let message = match service_error("StartAssetBundleImportJob", job_id, &err) {
            crate::Error::QuickSight { code, message, .. } => format!("{code}: {message}"),
            other => other.to_string(),
        };
        match error_code(&err) {
            // Our own earlier attempt got through but its answer was lost.
            Some("ConflictException") | Some("ResourceExistsException") => Ok(()),
            Some("InvalidParameterValueException") => Err(StartRefused::Invalid(message)),
            _ => Err(StartRefused::Failed(message)),
        }
    }

    async fn wait(&self, job_id: &str, deadline: Instant) -> Result<Ended, String> {
        let t = &self.settings.tuning;
        let schedule = PollSchedule {
            first: t.poll_first,
            fraction: t.poll_fraction,
            max: t.poll_max,
        };
        let ended = poll_until(schedule, deadline, || async {
            let out = self
                .aws
                .quicksight
                .describe_asset_bundle_import_job()
                .aws_account_id(&self.aws.account_id)
                .asset_bundle_import_job_id(job_id)
                .send()
                .await
                .map_err(|e| service_error("DescribeAssetBundleImportJob", job_id, &e))?;
            Ok(match out.job_status() {
                Some(AssetBundleImportJobStatus::Successful)
                | Some(AssetBundleImportJobStatus::Failed)
                | Some(AssetBundleImportJobStatus::FailedRollbackCompleted)
                | Some(AssetBundleImportJobStatus::FailedRollbackError) => Poll::Done(Box::new(out)),
                _ => Poll::Pending,
            })
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(ended.map(Ended::Done).unwrap_or(Ended::TimedOut))
    }

    /// Each asset's outcome from a finished job.
    fn results(
        &self,
        assets: &[AssetKey],
        out: &DescribeAssetBundleImportJobOutput,
        report: &mut JobReport,
    ) -> BTreeMap<AssetKey, AssetResult> {
        // `wait` returns only jobs that reached a final state, which always carry one.
        let status = out.job_status().cloned().unwrap_or(AssetBundleImportJobStatus::Failed);
        report.status = ImportJobStatus::QuickSight(status.clone());
        report.errors = out.errors().iter().map(JobError::of).collect();
        report.rollback_errors = out.rollback_errors().iter().map(JobError::of).collect();
        report.warnings = out
            .warnings()
            .iter()
            .map(|w| format!("{}: {}", w.arn().unwrap_or("-"), w.message().unwrap_or_default()))
            .collect();
        let by_target: BTreeMap<String, &AssetKey> = assets
            .iter()
            .map(|k| (format!(":{}/{}", k.asset_type, self.ctx.target_id(k)), k))
            .collect();
        let mut named: BTreeMap<&AssetKey, Vec<String>> = BTreeMap::new();
        let mut unnamed = Vec::new();
        for e in &report.errors {
            let key = e.arn.as_deref().and_then(|arn| {
                by_target
                    .iter()
                    .find(|(suffix, _)| arn.ends_with(suffix.as_str()))
                    .map(|(_, k)| *k)
            });
            let text = match &e.error_type {
                Some(t) => format!("{t}: {}", e.message),
                None => e.message.clone(),
            };
            match key {
                Some(k) => named.entry(k).or_default().push(text),
                None => unnamed.push(text),
            }
        }
        let rollback_note = if report.rollback_errors.is_empty() {
            String::new()
        } else {
            let list: Vec<&str> = report.rollback_errors.iter().map(|e| e.message.as_str()).collect();
            format!(
                " (the rollback failed too, the target may be partly changed: {})",
                list.join("; ")
            )
        };
        let first = named
            .iter()
            .next()
            .map(|(k, m)| format!("{k}: {}", m.join("; ")))
            .or_else(|| unnamed.first().cloned())
            .unwrap_or_else(|| format!("the job ended {}", status.as_str()));
        assets
            .iter()
            .map(|k| {
                let own = named.get(k).map(|m| m.join("; "));
                let result = match (&status, own) {
                    (AssetBundleImportJobStatus::Successful, _) => AssetResult::Restored,
                    (AssetBundleImportJobStatus::Failed, Some(m)) => AssetResult::Failed(m),
                    // DO_NOTHING: what QuickSight did not name was imported, unless it named nothing.
                    (AssetBundleImportJobStatus::Failed, None) if !named.is_empty() => AssetResult::Restored,
                    (AssetBundleImportJobStatus::Failed, None) => AssetResult::Failed(format!(
                        "the import job failed without naming the asset: {}",
                        unnamed.join("; ")
                    )),
                    (_, Some(m)) => AssetResult::Failed(format!("{m}{rollback_note}")),
                    (_, None) => AssetResult::Failed(format!(
                        "rolled back because another asset of the job failed ({first}){rollback_note}"
                    )),
                };
                (k.clone(), result)
            })
            .collect()
    }
}
