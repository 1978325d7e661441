//! One AssetBundleExportJob: starting it (retried by [`crate::retry`] while the account is at its
//! job limit, within the job's time)
//! and waiting for it (first poll within a second, then at intervals that grow with the job's age
//! up to a cap, bounded by the per-job time limit). QuickSight has no SDK waiter for these jobs;
//! this is the one poll loop.

use super::isolate::{arns_in, Problem};
use super::{ExportSettings, Exporter};
use crate::aws::{error_code, service_error, AwsContext};
use crate::error::{Error, Result};
use crate::poll::{poll_until, Poll, PollSchedule};
use crate::retry::{self, Retry, Stop};
use aws_sdk_quicksight::types::{AssetBundleExportFormat, AssetBundleExportJobStatus};
use tokio::time::Instant;

/// How a start call ended.
pub(super) enum Started {
    Yes,
    /// QuickSight refused some resource (`InvalidParameterValueException`).
    Refused(Vec<Problem>),
    /// A requested resource does not exist any more (`ResourceNotFoundException`).
    Gone(Vec<Problem>),
    /// The export was cancelled while waiting for a job slot of the account; nothing started.
    Cancelled,
}

/// How a job ended.
pub(super) enum Finished {
    Successful { download_url: Option<String> },
    Failed(Vec<Problem>),
    TimedOut,
}

fn problems_from_message(message: &str) -> Vec<Problem> {
    let arns = arns_in(message);
    if arns.is_empty() {
        return vec![Problem {
            arn: None,
            message: message.to_string(),
        }];
    }
    arns.into_iter()
        .map(|arn| Problem {
            arn: Some(arn),
            message: message.to_string(),
        })
        .collect()
}

/// How one `StartAssetBundleExportJob` call ended: the one reading of its errors, for the
/// engine's own start loop and for a driver that starts each job in a step of its own.
pub(crate) enum StartAttempt {
    /// The job runs (also when our earlier attempt got through and only its answer was lost).
    Started,
    /// QuickSight refused some resource (`InvalidParameterValueException`).
    Refused(Vec<Problem>),
    /// A requested resource does not exist any more (`ResourceNotFoundException`).
    Gone(Vec<Problem>),
    /// The account is at its concurrent export job limit: other users hold the slots.
    AtJobLimit(Error),
    /// The call was throttled, or failed in a way worth another try (5xx, no answer in time).
    Throttled(Error),
    /// Another error.
    Failed(Error),
}

/// Why a start is tried again, as [`crate::retry`] reports it.
const JOB_LIMIT: &str = "LimitExceededException: the account is at its concurrent job limit";
const TRANSIENT: &str = "throttled or a transient failure";

/// Calls `StartAssetBundleExportJob` once for `arns` with `settings`. With `single_attempt` the
/// SDK does not retry either (the caller's [`crate::retry`] layer owns every retry); without, the
/// SDK's own retries apply (a Step Functions state, retried by the workflow).
pub(crate) async fn start_attempt(
    aws: &AwsContext,
    settings: &ExportSettings,
    job_id: &str,
    arns: &[String],
    single_attempt: bool,
) -> StartAttempt {
    let call = aws
        .quicksight
        .start_asset_bundle_export_job()
        .aws_account_id(&aws.account_id)
        .asset_bundle_export_job_id(job_id)
        .set_resource_arns(Some(arns.to_vec()))
        .export_format(AssetBundleExportFormat::from(settings.format.as_str()))
        .include_all_dependencies(settings.include_dependencies)
        .include_permissions(settings.include_permissions)
        .include_tags(settings.include_tags)
        .include_folder_memberships(settings.include_folder_memberships);
    let result = if single_attempt {
        call.customize().config_override(retry::single_attempt()).send().await
    } else {
        call.send().await
    };
    let err = match result {
        Ok(_) => return StartAttempt::Started,
        Err(e) => e,
    };
    let error = service_error("StartAssetBundleExportJob", job_id, &err);
    let message = match &error {
        Error::QuickSight { message, .. } => message.clone(),
        other => other.to_string(),
    };
    match error_code(&err) {
        Some("InvalidParameterValueException") => StartAttempt::Refused(problems_from_message(&message)),
        Some("ResourceNotFoundException") => StartAttempt::Gone(problems_from_message(&message)),
        Some("ConflictException") | Some("ResourceExistsException") => StartAttempt::Started,
        Some("LimitExceededException") => StartAttempt::AtJobLimit(error),
        Some("ThrottlingException") => StartAttempt::Throttled(error),
        _ if retry::transient(&err).is_some() => StartAttempt::Throttled(error),
        _ => StartAttempt::Failed(error),
    }
}

impl Exporter<'_> {
    pub(super) async fn start_job(&self, job_id: &str, arns: &[String], deadline: Instant) -> Result<Started> {
        let s = &self.settings;
        let tried = Retry::new(
            &s.tuning.job_start_policy(),
            format!("StartAssetBundleExportJob {job_id}"),
        )
        .events(self.sink)
        .until(deadline)
        .run_cancellable(
            &self.cancel,
            || async move {
                // One reading of the start errors for both drivers; this layer retries a full
                // account and transient failures, the SDK tries each call once.
                match start_attempt(self.aws, s, job_id, arns, true).await {
                    StartAttempt::AtJobLimit(e) => Err((Some(JOB_LIMIT), e)),
                    StartAttempt::Throttled(e) => Err((Some(TRANSIENT), e)),
                    StartAttempt::Failed(e) => Err((None, e)),
                    done => Ok(done),
                }
            },
            |(reason, _)| reason.map(str::to_string),
        )
        .await;
        match tried {
            Ok(StartAttempt::Refused(problems)) => Ok(Started::Refused(problems)),
            Ok(StartAttempt::Gone(problems)) => Ok(Started::Gone(problems)),
            Ok(_) => Ok(Started::Yes),
            Err(Stop::Cancelled) => Ok(Started::Cancelled),
            Err(Stop::Failed((_, e))) => Err(e),
        }
    }

    /// Describes the job once; used by polling.
    pub(crate) async fn describe_job(
        &self,
        job_id: &str,
    ) -> Result<aws_sdk_quicksight::operation::describe_asset_bundle_export_job::DescribeAssetBundleExportJobOutput>
    {
        self.aws.describe_export_job(job_id).await
    }

    pub(super) async fn wait_job(&self, job_id: &str, deadline: Instant) -> Result<Finished> {
        let t = &self.settings.tuning;
        let schedule = PollSchedule {
            first: t.poll_first,
            fraction: t.poll_fraction,
            max: t.poll_max,
        };
        let finished = poll_until(schedule, deadline, || async {
            let out = self.describe_job(job_id).await?;
            Ok(match out.job_status() {
                Some(AssetBundleExportJobStatus::Successful) => Poll::Done(Finished::Successful {
                    download_url: out.download_url().map(str::to_string),
                }),
                Some(AssetBundleExportJobStatus::Failed) => {
                    let problems: Vec<Problem> = out
                        .errors()
                        .iter()
                        .map(|e| Problem {
                            arn: e.arn().map(str::to_string),
                            message: e.message().unwrap_or("the export job failed").to_string(),
                        })
                        .collect();
                    Poll::Done(Finished::Failed(if problems.is_empty() {
                        vec![Problem {
                            arn: None,
                            message: "the export job ended FAILED without errors".into(),
                        }]
                    } else {
                        problems
                    }))
                }
                _ => Poll::Pending,
            })
        })
        .await?;
        Ok(finished.unwrap_or(Finished::TimedOut))
    }
}
