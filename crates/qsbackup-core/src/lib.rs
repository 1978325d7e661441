//! qsbackup-core: the engine of qsbackup. It backs up Amazon QuickSight assets with the
//! AssetsAsBundle export APIs into a repository of checksummed, atomically committed snapshots.
//! Data flows one way — discover → filter → plan → export → store → commit — one module per
//! arrow; the library never prints and reports progress through [`events::ProgressSink`].

pub mod account_config;
pub mod asset;
pub mod aws;
pub mod backup;
pub mod bundle_file;
pub mod config;
pub mod cost;
pub mod diff;
pub mod discover;
pub mod download;
pub mod dynamodb;
pub mod error;
pub mod events;
pub mod export;
pub mod filter;
pub mod iam_policy;
pub mod identities;
pub mod journal;
pub mod limits;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod poll;
pub mod prune;
pub mod repository;
pub mod restore;
pub mod retention;
pub mod retry;
pub mod sections;
pub mod snapshots;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod verify;

pub use error::{Error, Result};
/// How an embedder stops a backup or restore early (see [`backup::BackupOptions::cancel`]).
pub use tokio_util::sync::CancellationToken;
