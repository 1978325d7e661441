//! Import bundles: members moved into the target ([`super::overrides`]) and zipped in
//! QUICKSIGHT_JSON layout (`<type>/<id>.json`, `refreshSchedule/<id>.json` beside their
//! dataset), so that one dashboard travels without the rest of its original bundle; the
//! limits a job must keep (20 MiB inline, 1 GiB from S3, 50 data source overrides per type) and
//! the sizes [`super::jobs`] plans with.

use super::members::SnapshotMembers;
use super::overrides::{Context, DroppedPermission};
use super::AssetKey;
use crate::asset::AssetType;
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write;

/// The largest inline `Body` QuickSight accepts.
pub const MAX_INLINE_BYTES: usize = 20_971_520;
/// The largest bundle QuickSight imports from S3.
pub const MAX_S3_BYTES: usize = 1 << 30;
/// Entries of one type in `OverrideParameters`.
pub const MAX_OVERRIDES_PER_TYPE: usize = 50;

/// Bounds of one import job.
#[derive(Debug, Clone)]
pub struct JobLimits {
    /// Import jobs in flight at once; never more than QuickSight's 5.
    pub max_concurrent_jobs: usize,
    /// Assets per job.
    pub max_assets: usize,
    /// Bundle bytes sent inline; larger bundles go through S3.
    pub max_inline_bytes: usize,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits {
            max_concurrent_jobs: 5,
            max_assets: 100,
            max_inline_bytes: MAX_INLINE_BYTES,
        }
    }
}

/// How a job's bundle reaches QuickSight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleSource {
    Inline,
    S3,
}

/// One planned import job.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedJob {
    /// 1-based, in start order.
    pub number: usize,
    pub assets: Vec<AssetKey>,
    /// Jobs that must finish first.
    pub depends_on: Vec<usize>,
    /// Size as planned: the JSON of its members, or the zip when that may not fit inline.
    pub bytes: u64,
    pub source: BundleSource,
    /// Data sources with `OverrideParameters`.
    pub data_source_overrides: usize,
    /// Its assets grant permissions to users or groups that the identity step creates: it
    /// starts once that step has created them. The other jobs start beside the identity step.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waits_for_identities: bool,
}

/// The files of a bundle, moved into the target.
pub struct Files {
    /// `(path in the zip, JSON)`.
    pub files: Vec<(String, Vec<u8>)>,
    pub dropped: Vec<DroppedPermission>,
}

impl Files {
    /// Bytes of JSON; the zip is smaller.
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(p, b)| p.len() + b.len()).sum()
    }
}

/// Moves `assets` (with their refresh schedules) into the target.
pub fn rewrite(ctx: &Context, members: &SnapshotMembers, assets: &[AssetKey]) -> Result<Files, Error> {
    let mut files = Vec::new();
    let mut dropped = Vec::new();
    let mut paths = BTreeSet::new();
    let mut add = |path: String, json: &serde_json::Value| -> Result<(), Error> {
        let path = if paths.insert(path.clone()) {
            path
        } else {
            let unique = format!("{}-{}.json", path.trim_end_matches(".json"), paths.len());
            paths.insert(unique.clone());
            unique
        };
        let bytes = serde_json::to_vec(json).map_err(|source| Error::Json {
            context: format!("import bundle member {path}"),
            source,
        })?;
        files.push((path, bytes));
        Ok(())
    };
    for key in assets {
        let Some(member) = members.assets.get(key) else {
            continue;
        };
        let rewritten = ctx.rewrite_asset(member);
        dropped.extend(rewritten.dropped);
        add(
            format!("{}/{}.json", key.asset_type, ctx.target_id(key)),
            &rewritten.json,
        )?;
        if key.asset_type == AssetType::DataSet {
            for s in members.schedules.get(&key.id).into_iter().flatten() {
                add(
                    format!("refreshSchedule/{}.json", s.schedule_id),
                    &ctx.rewrite_schedule(s),
                )?;
            }
        }
    }
    Ok(Files { files, dropped })
}

/// Zips bundle files (deflate).
pub fn zip(files: &Files) -> Result<Vec<u8>, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Bundle {
        key: "(import bundle)".into(),
        message: e.to_string(),
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in &files.files {
        zip.start_file(path, options).map_err(|e| bad(&e))?;
        zip.write_all(bytes).map_err(|e| bad(&e))?;
    }
    zip.finish().map(|c| c.into_inner()).map_err(|e| bad(&e))
}

/// Bytes of an asset's member and, for a dataset, its refresh schedules.
pub(super) fn member_bytes(members: &SnapshotMembers, key: &AssetKey) -> usize {
    let own = members.assets.get(key).map_or(0, |m| m.size);
    let schedules: usize = if key.asset_type == AssetType::DataSet {
        members
            .schedules
            .get(&key.id)
            .into_iter()
            .flatten()
            .map(|s| s.json.len())
            .sum()
    } else {
        0
    };
    own + schedules
}

/// 1 when the asset is a data source with job-level overrides (QuickSight takes 50 per job).
pub(super) fn overrides_of(ctx: &Context, key: &AssetKey) -> usize {
    let has = key.asset_type == AssetType::DataSource
        && ctx
            .mapping
            .data_sources
            .get(&key.id)
            .is_some_and(|o| o.has_job_parameters());
    usize::from(has)
}

/// Room left under the inline limit for zip headers: deflate never grows JSON by more.
pub(super) fn inline_budget(limits: &JobLimits) -> usize {
    limits.max_inline_bytes.saturating_sub(limits.max_inline_bytes / 8)
}
