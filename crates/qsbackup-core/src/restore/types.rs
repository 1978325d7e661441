//! The vocabulary of a restore: which asset ([`AssetKey`]), what was asked
//! ([`SelectionSpec`], [`ConflictPolicy`], [`FailureAction`]) and what can go wrong
//! ([`RestoreError`]).

pub use crate::asset::AssetKey;
use crate::error::Error;
use crate::identities::IdentityError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Why a restore could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Core(#[from] Error),
    /// A `--select` or `--select-name` that names nothing in the snapshot.
    #[error("{0}")]
    Selection(String),
    /// `--select TYPE/ID` names an asset the snapshot does not store; `held_by` is the newest
    /// snapshot that does (`None` when none does, or before the repository was asked).
    #[error("--select {asset}: the snapshot has no such asset; {}", match held_by {
        Some(id) => format!("the newest snapshot that holds it is {id} (`qsbackup find {asset}` lists them all)"),
        None => "no snapshot in the repository holds it".to_string(),
    })]
    NoSuchAsset { asset: AssetKey, held_by: Option<String> },
    /// The overrides file is unreadable or has a bad value.
    #[error("overrides file {}{}: {message}", file.display(), if key.is_empty() { String::new() } else { format!(", key {key}") })]
    Overrides {
        file: PathBuf,
        key: String,
        message: String,
    },
    /// `--conflict fail` and selected assets exist in the target.
    #[error("{} selected assets already exist in the target and --conflict fail was given: {}", list.len(), list.join(", "))]
    Conflicts { list: Vec<String> },
    /// The target's identities could not be read or written.
    #[error("identities of the target: {0}")]
    Identities(#[from] IdentityError),
    /// Something this snapshot or repository cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// A prefix QuickSight would refuse in an id.
    #[error("prefix {0:?}: QuickSight ids take letters, digits, `_` and `-` only (at most 64 here)")]
    BadPrefix(String),
}

/// Checks a prefix for restored ids before anything runs.
pub fn check_prefix(prefix: &str) -> Result<(), RestoreError> {
    let ok = prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RestoreError::BadPrefix(prefix.to_string()))
    }
}

impl RestoreError {
    /// A problem with what the user asked for (exit code 3 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RestoreError::Selection(_)
                | RestoreError::NoSuchAsset { .. }
                | RestoreError::Overrides { .. }
                | RestoreError::BadPrefix(_)
        ) || matches!(self, RestoreError::Core(e) if e.is_usage())
    }
}

/// What to do when the target has an asset the restore selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Overwrite it with the snapshot's version.
    #[default]
    Update,
    /// Leave it as it is.
    Skip,
    /// Refuse the restore before changing anything.
    Fail,
}

/// QuickSight's `FailureAction` for the import jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureAction {
    /// Keep what imported; report the rest per asset.
    #[default]
    DoNothing,
    /// All or nothing: the restore goes into one import job where it can, and a failed job is
    /// rolled back.
    Rollback,
}

/// Which assets to restore; empty means all of them.
#[derive(Debug, Clone, Default)]
pub struct SelectionSpec {
    pub ids: Vec<AssetKey>,
    /// Name globs (`*`, `?`), case-insensitive.
    pub names: Vec<String>,
}

impl SelectionSpec {
    pub fn is_all(&self) -> bool {
        self.ids.is_empty() && self.names.is_empty()
    }
}
