//! One module per command. Each has an `Args` struct (clap) and an async `run`
//! returning an [`Outcome`](crate::exit::Outcome); shared steps (config,
//! AWS clients, repository) live in [`common`].

pub mod backup;
pub mod common;
pub mod cost;
pub mod demo;
pub mod diff;
pub mod drill;
pub mod dump;
pub mod find;
pub mod forget;
pub mod iam_policy;
pub mod import_legacy;
pub mod json;
pub mod log;
pub mod repo;
pub mod report;
pub mod restore;
pub mod show;
pub mod snapshots;
pub mod unlock;
pub mod verify;
