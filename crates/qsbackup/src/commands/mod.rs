//! One module per command. Each has an `Args` struct (clap) and an async `run`
//! returning an [`Outcome`](crate::exit::Outcome); shared steps (config,
//! AWS clients, repository) live in [`common`].

pub mod backup;
pub mod common;
pub mod demo;
