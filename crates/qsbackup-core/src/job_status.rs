//! The states an asset bundle job ends in, as the engine reports them: QuickSight's
//! own `JobStatus`, or why the job never reached one.

use aws_sdk_quicksight::types::AssetBundleImportJobStatus;
use serde::Serialize;

/// How an import job ended: QuickSight's final `JobStatus`, or why it did not run to one.
/// Serialised as QuickSight spells its states (`SUCCESSFUL`, `FAILED_ROLLBACK_COMPLETED`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportJobStatus {
    /// QuickSight's `JobStatus` when the job was last described.
    QuickSight(AssetBundleImportJobStatus),
    /// Not started: its assets had nothing left to import, or the restore stopped before it.
    NotStarted,
    /// QuickSight refused to start it (`InvalidParameterValueException`).
    Refused,
    /// It did not end within the job timeout.
    TimedOut,
    /// The bundle could not be built or staged, or the start failed otherwise.
    Error,
    /// The restore was interrupted while the job was running.
    Interrupted,
}

impl ImportJobStatus {
    pub fn as_str(&self) -> &str {
        match self {
            ImportJobStatus::QuickSight(s) => s.as_str(),
            ImportJobStatus::NotStarted => "NOT_STARTED",
            ImportJobStatus::Refused => "REFUSED",
            ImportJobStatus::TimedOut => "TIMED_OUT",
            ImportJobStatus::Error => "ERROR",
            ImportJobStatus::Interrupted => "INTERRUPTED",
        }
    }
}

impl std::fmt::Display for ImportJobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ImportJobStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
