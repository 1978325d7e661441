//! The vocabulary of a restore: which asset ([`AssetKey`]), what was asked
//! ([`SelectionSpec`], [`ConflictPolicy`], [`FailureAction`]) and what can go wrong
//! ([`RestoreError`]).

use crate::asset::AssetType;
use crate::error::Error;
use crate::identities::IdentityError;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;

/// An asset of the snapshot: its type and its id in the source account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetKey {
    pub asset_type: AssetType,
    pub id: String,
}

impl AssetKey {
    pub fn new(asset_type: AssetType, id: &str) -> AssetKey {
        AssetKey {
            asset_type,
            id: id.to_string(),
        }
    }

    /// Parses `TYPE/ID` (`dashboard/sales-1`; `data_source` and the like are accepted too).
    pub fn parse(s: &str) -> Result<AssetKey, String> {
        let (t, id) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not TYPE/ID, e.g. dashboard/3f2a-..."))?;
        let asset_type: AssetType = serde_json::from_value(serde_json::Value::String(t.to_string())).map_err(|_| {
            let names: Vec<&str> = AssetType::ALL.iter().map(|t| t.as_str()).collect();
            format!("`{t}` is not an asset type; one of {}", names.join(", "))
        })?;
        if id.is_empty() {
            return Err(format!("`{s}` has no id after the /"));
        }
        Ok(AssetKey::new(asset_type, id))
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.asset_type, self.id)
    }
}

impl Serialize for AssetKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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
}

impl RestoreError {
    /// A problem with what the user asked for (exit code 3 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RestoreError::Selection(_) | RestoreError::NoSuchAsset { .. } | RestoreError::Overrides { .. }
        ) || matches!(self, RestoreError::Core(e) if e.is_config())
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
