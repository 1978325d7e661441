//! qsbackup-core: the engine of qsbackup. It backs up Amazon QuickSight assets with the
//! AssetsAsBundle export APIs into a repository of checksummed, atomically committed snapshots.
//! Data flows one way — discover → filter → plan → export → store → commit — one module per
//! arrow; the library never prints and reports progress through [`events::ProgressSink`].

pub mod account_config;
pub mod asset;
pub mod aws;
pub mod backup;
pub mod config;
pub mod cost;
pub mod drill;
pub mod dynamodb;
pub mod error;
pub mod events;
pub mod failures;
pub mod history;
pub mod iam_policy;
pub mod identities;
pub mod job_status;
pub mod limits;
pub mod organization;
pub mod poll;
pub mod repository;
pub mod restore;
pub mod retry;
pub mod section_kind;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod units;

pub use error::{Error, Result};
/// How an embedder stops a backup or restore early (see [`backup::BackupOptions::cancel`]).
pub use tokio_util::sync::CancellationToken;
