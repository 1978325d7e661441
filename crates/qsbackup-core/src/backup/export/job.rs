//! One AssetBundleExportJob: starting it (backing off while the account is at its job limit)
//! and waiting for it (first poll within a second, then at intervals that grow with the job's age
//! up to a cap, bounded by the per-job time limit). QuickSight has no SDK waiter for these jobs;
//! this is the one poll loop.

use super::isolate::{arns_in, Problem};
use super::Exporter;
use crate::aws::{error_code, service_error};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::poll::{jittered, poll_until, Poll, PollSchedule};
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
        let mut backoff = s.tuning.limit_backoff_initial;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self
                .aws
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
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Started::Yes),
                Err(e) => e,
            };
            let message = match service_error("StartAssetBundleExportJob", job_id, &err) {
                Error::QuickSight { message, .. } => message,
                other => other.to_string(),
            };
            match error_code(&err) {
                Some("InvalidParameterValueException") => return Ok(Started::Refused(problems_from_message(&message))),
                Some("ResourceNotFoundException") => return Ok(Started::Gone(problems_from_message(&message))),
                // Our own earlier attempt got through but its answer was lost.
                Some("ConflictException") | Some("ResourceExistsException") => return Ok(Started::Yes),
                // Other users of the account hold job slots: wait for one, within the job's time.
                Some("LimitExceededException") if crate::poll::deadline_after(backoff) < deadline => {
                    self.sink.event(&Event::Retrying {
                        what: format!("export job {job_id}: account at its concurrent job limit"),
                        attempt,
                    });
                    tokio::select! {
                        biased;
                        _ = self.cancel.cancelled() => return Ok(Started::Cancelled),
                        _ = tokio::time::sleep(jittered(backoff)) => {}
                    }
                    backoff = (backoff * 2).min(s.tuning.limit_backoff_max);
                }
                _ => return Err(service_error("StartAssetBundleExportJob", job_id, &err)),
            }
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
