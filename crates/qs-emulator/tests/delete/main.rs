//! The delete operations a drill teardown uses, driven through the official
//! `aws-sdk-quicksight` against a served emulator: what a deleted asset or
//! identity leaves behind, the analysis recovery window, and the errors.

mod analysis;
mod assets;
mod common;
mod identities;
mod kinds;
#[path = "../sdk_client/mod.rs"]
mod sdk_client;
