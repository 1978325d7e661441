//! What a run keeps in the repository between its states, under `runs/<run-id>/`: the run
//! record (start time, lease), the plan, the sections' results and one result per bundle. All
//! written create-only; a state retried after it wrote finds its result and does not redo it.

use crate::account_lock::AccountLease;
use crate::lease::LeaseRef;
use crate::HandlerError;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use qsbackup_core::asset::AssetType;
use qsbackup_core::backup::filter::SkippedAsset;
use qsbackup_core::repository::manifest::{BackupMode, BundleRecord, FailedAsset};
use qsbackup_core::repository::{ObjectRef, Repository};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub fn run_key(run_id: &str) -> String {
    format!("runs/{run_id}/run.json")
}

pub fn plan_key(run_id: &str) -> String {
    format!("runs/{run_id}/plan.json")
}

pub fn sections_key(run_id: &str) -> String {
    format!("runs/{run_id}/sections.json")
}

pub fn bundles_prefix(run_id: &str) -> String {
    format!("runs/{run_id}/bundles/")
}

pub fn bundle_key(run_id: &str, bundle: usize) -> String {
    format!("{}{bundle:05}.json", bundles_prefix(run_id))
}

/// `runs/<run-id>/run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub mode: BackupMode,
    pub lease: LeaseRef,
    /// The account's DynamoDB lease, when `lock.dynamodb_table` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_lease: Option<AccountLease>,
}

/// One planned bundle as the plan document keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanBundle {
    pub asset_type: AssetType,
    pub number: usize,
    pub of: usize,
    /// `(arn, name)` of each asset.
    pub assets: Vec<(String, String)>,
}

/// `runs/<run-id>/plan.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanDocument {
    pub discovered: BTreeMap<AssetType, usize>,
    pub skipped: Vec<SkippedAsset>,
    pub notes: Vec<String>,
    pub bundles: Vec<PlanBundle>,
    /// Direct dependencies by ARN, for isolating the assets that break a bundle.
    pub dependencies: Vec<(String, Vec<String>)>,
}

/// `runs/<run-id>/sections.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SectionsResult {
    pub identities: Option<ObjectRef>,
    pub account: Option<ObjectRef>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
}

/// `runs/<run-id>/bundles/<n>.json`: what became of one planned bundle (several stored bundles
/// when assets had to be isolated).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BundleResult {
    pub bundles: Vec<BundleRecord>,
    pub failed: Vec<FailedAsset>,
    pub skipped: Vec<SkippedAsset>,
    pub notes: Vec<String>,
}

fn store_error(key: &str, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::new("RepositoryError", format!("{key}: {e}"))
}

/// Writes `value` at `key` unless something is there already (`false` then).
pub async fn put<T: Serialize>(repo: &Repository, key: &str, value: &T) -> Result<bool, HandlerError> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| store_error(key, e))?;
    match repo.put_create(key, Bytes::from(json)).await {
        Ok(_) => Ok(true),
        Err(qsbackup_core::Error::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(store_error(key, e)),
    }
}

/// Reads the document at `key`.
pub async fn get<T: DeserializeOwned>(repo: &Repository, key: &str) -> Result<T, HandlerError> {
    let bytes = repo.get(key).await.map_err(|e| store_error(key, e))?;
    serde_json::from_slice(&bytes).map_err(|e| store_error(key, e))
}

/// Whether `key` exists.
pub async fn exists(repo: &Repository, key: &str) -> Result<bool, HandlerError> {
    repo.head(key)
        .await
        .map(|o| o.is_some())
        .map_err(|e| store_error(key, e))
}
