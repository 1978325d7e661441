//! Asset bundle export and import jobs as the emulator keeps them, and the
//! `JobStatus` values QuickSight reports for them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{Asset, AssetType};

/// QuickSight's `JobStatus` of an asset bundle export or import job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    QueuedForImmediateExecution,
    InProgress,
    Successful,
    Failed,
    FailedRollbackInProgress,
    FailedRollbackCompleted,
    FailedRollbackError,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::QueuedForImmediateExecution => "QUEUED_FOR_IMMEDIATE_EXECUTION",
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Successful => "SUCCESSFUL",
            JobStatus::Failed => "FAILED",
            JobStatus::FailedRollbackInProgress => "FAILED_ROLLBACK_IN_PROGRESS",
            JobStatus::FailedRollbackCompleted => "FAILED_ROLLBACK_COMPLETED",
            JobStatus::FailedRollbackError => "FAILED_ROLLBACK_ERROR",
        }
    }

    /// Any of the `FAILED…` states.
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            JobStatus::Failed
                | JobStatus::FailedRollbackInProgress
                | JobStatus::FailedRollbackCompleted
                | JobStatus::FailedRollbackError
        )
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an export job ends, decided when it starts.
#[derive(Debug, Clone)]
pub enum ExportResult {
    Success {
        content: Arc<Vec<u8>>,
        content_type: &'static str,
    },
    Failed(Vec<Value>),
}

#[derive(Debug, Clone)]
pub struct ExportJob {
    pub id: String,
    pub arn: String,
    pub created: f64,
    pub started: Instant,
    pub queue: Duration,
    pub run: Duration,
    /// The request members the describe call echoes.
    pub request: Map<String, Value>,
    pub result: ExportResult,
    pub warnings: Vec<Value>,
}

impl ExportJob {
    pub fn ends(&self) -> Instant {
        self.started + self.queue + self.run
    }
    pub fn running(&self, now: Instant) -> bool {
        now < self.ends()
    }
    pub fn status(&self, now: Instant) -> JobStatus {
        if now < self.started + self.queue {
            JobStatus::QueuedForImmediateExecution
        } else if now < self.ends() {
            JobStatus::InProgress
        } else {
            match self.result {
                ExportResult::Success { .. } => JobStatus::Successful,
                ExportResult::Failed(_) => JobStatus::Failed,
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportJob {
    pub id: String,
    pub arn: String,
    pub created: f64,
    pub started: Instant,
    pub run: Duration,
    pub request: Map<String, Value>,
    pub rollback: bool,
    /// Assets to create or update, with the folders they go into.
    pub planned: Vec<(AssetType, Asset, Vec<String>)>,
    pub schedules: Vec<(String, Value)>,
    pub errors: Vec<Value>,
    /// Final status once applied.
    pub outcome: Option<JobStatus>,
    /// Time spent queued at the start (part of `run`).
    pub queue: Duration,
    /// How long a rollback shows as in progress once the job has failed.
    pub rollback_time: Duration,
    /// When the job was applied or rolled back.
    pub settled_at: Option<Instant>,
    /// The rollback itself fails (fault injection): what succeeded stays.
    pub rollback_fails: bool,
}

impl ImportJob {
    pub fn running(&self, now: Instant) -> bool {
        self.outcome.is_none() && now < self.started + self.run
    }
    pub fn status(&self, now: Instant) -> JobStatus {
        match (self.outcome, self.settled_at) {
            (None, _) if now < self.started + self.queue => JobStatus::QueuedForImmediateExecution,
            (None, _) => JobStatus::InProgress,
            (Some(o @ (JobStatus::FailedRollbackCompleted | JobStatus::FailedRollbackError)), Some(at)) => {
                if now < at + self.rollback_time {
                    JobStatus::FailedRollbackInProgress
                } else {
                    o
                }
            }
            (Some(o), _) => o,
        }
    }
}
