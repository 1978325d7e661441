//! One AssetBundleExportJob: starting it (retried by [`crate::retry`] while the account is at its
//! job limit, within the job's time)
//! and waiting for it (first poll within a second, then at intervals that grow with the job's age
//! up to a cap, bounded by the per-job time limit). QuickSight has no SDK waiter for these jobs;
//! this is the one poll loop.

use super::isolate::{arns_in, Problem};
use super::Exporter;
use crate::aws::{error_code, service_error};
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

impl Exporter<'_> {
    pub(super) async fn start_job(&self, job_id: &str, arns: &[String], deadline: Instant) -> Result<Started> {
        let s = &self.settings;
        let started = Retry::new(
            &s.tuning.job_start_policy(),
            format!("StartAssetBundleExportJob {job_id}"),
        )
        .events(self.sink)
        .until(deadline)
        .run_cancellable(
            &self.cancel,
            || {
                self.aws
                    .quicksight
                    .start_asset_bundle_export_job()
                    .aws_account_id(&self.aws.account_id)
                    .asset_bundle_export_job_id(job_id)
                    .set_resource_arns(Some(arns.to_vec()))
                    .export_format(AssetBundleExportFormat::from(s.format.as_str()))
                    .include_all_dependencies(s.include_dependencies)
                    .include_permissions(s.include_permissions)
                    .include_tags(s.include_tags)
                    .include_folder_memberships(s.include_folder_memberships)
                    .customize()
                    .config_override(retry::single_attempt())
                    .send()
            },
            retry::transient_or_job_limit,
        )
        .await;
        let err = match started {
            Ok(_) => return Ok(Started::Yes),
            Err(Stop::Cancelled) => return Ok(Started::Cancelled),
            Err(Stop::Failed(e)) => e,
        };
        let message = match service_error("StartAssetBundleExportJob", job_id, &err) {
            Error::QuickSight { message, .. } => message,
            other => other.to_string(),
        };
        match error_code(&err) {
            Some("InvalidParameterValueException") => Ok(Started::Refused(problems_from_message(&message))),
            Some("ResourceNotFoundException") => Ok(Started::Gone(problems_from_message(&message))),
            // Our own earlier attempt got through but its answer was lost.
            Some("ConflictException") | Some("ResourceExistsException") => Ok(Started::Yes),
            _ => Err(service_error("StartAssetBundleExportJob", job_id, &err)),
        }
    }

    /// Describes the job once; used by polling and to renew an expired download URL.
    pub(crate) async fn describe_job(
        &self,
        job_id: &str,
    ) -> Result<aws_sdk_quicksight::operation::describe_asset_bundle_export_job::DescribeAssetBundleExportJobOutput>
    {
        self.aws
            .quicksight
            .describe_asset_bundle_export_job()
            .aws_account_id(&self.aws.account_id)
            .asset_bundle_export_job_id(job_id)
            .send()
            .await
            .map_err(|e| service_error("DescribeAssetBundleExportJob", job_id, &e))
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
