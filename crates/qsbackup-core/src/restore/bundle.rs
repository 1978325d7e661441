//! Import bundles: members moved into the target ([`super::overrides`]) and zipped in
//! QUICKSIGHT_JSON layout (`<type>/<id>.json`, `refreshSchedule/<id>.json` beside their
//! dataset), grouped so that one dashboard travels without the rest of its original bundle.
//! Each job takes one dependency level, at most `max_assets` assets and 50 data source
//! overrides (QuickSight's limit per type), and fits the 20 MiB inline limit; a single asset
//! that does not fit is staged through an S3 repository and imported by `S3Uri`.
//! Under `--failure-action rollback` the whole restore goes into one job where it can, so that
//! QuickSight's rollback covers all of it.

use super::members::SnapshotMembers;
use super::overrides::{Context, DroppedPermission};
use super::{AssetKey, RestoreError};
use crate::asset::AssetType;
use crate::error::Error;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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
    /// Size of the bundle as planned.
    pub bytes: u64,
    pub source: BundleSource,
    /// Data sources with `OverrideParameters`.
    pub data_source_overrides: usize,
}

/// A zipped bundle.
pub struct Built {
    pub zip: Vec<u8>,
    pub dropped: Vec<DroppedPermission>,
}

/// Zips `assets` (with their refresh schedules) for the target.
pub fn build(ctx: &Context, members: &SnapshotMembers, assets: &[AssetKey]) -> Result<Built, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Bundle {
        key: "(import bundle)".into(),
        message: e.to_string(),
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut dropped = Vec::new();
    let mut paths = BTreeSet::new();
    let mut add = |zip: &mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>, path: String, json: &serde_json::Value| {
        let path = if paths.insert(path.clone()) {
            path
        } else {
            let unique = format!("{}-{}.json", path.trim_end_matches(".json"), paths.len());
            paths.insert(unique.clone());
            unique
        };
        let bytes = serde_json::to_vec_pretty(json).map_err(|e| bad(&e))?;
        zip.start_file(path, options).map_err(|e| bad(&e))?;
        zip.write_all(&bytes).map_err(|e| bad(&e))
    };
    for key in assets {
        let Some(member) = members.assets.get(key) else {
            continue;
        };
        let rewritten = ctx.rewrite_asset(member);
        dropped.extend(rewritten.dropped);
        add(
            &mut zip,
            format!("{}/{}.json", key.asset_type, ctx.target_id(key)),
            &rewritten.json,
        )?;
        if key.asset_type == AssetType::DataSet {
            for s in members.schedules.get(&key.id).into_iter().flatten() {
                add(
                    &mut zip,
                    format!("refreshSchedule/{}.json", s.schedule_id),
                    &ctx.rewrite_schedule(s),
                )?;
            }
        }
    }
    let cursor = zip.finish().map_err(|e| bad(&e))?;
    Ok(Built {
        zip: cursor.into_inner(),
        dropped,
    })
}

/// The jobs of a restore, and what grouping found.
pub struct Grouped {
    pub jobs: Vec<PlannedJob>,
    pub dropped: Vec<DroppedPermission>,
    pub warnings: Vec<String>,
}

fn member_bytes(members: &SnapshotMembers, key: &AssetKey) -> usize {
    let own = members.assets.get(key).map_or(0, |m| m.size);
    let schedules: usize = if key.asset_type == AssetType::DataSet {
        members
            .schedules
            .get(&key.id)
            .into_iter()
            .flatten()
            .map(|s| s.json.to_string().len())
            .sum()
    } else {
        0
    };
    own + schedules
}

fn overrides_of(ctx: &Context, key: &AssetKey) -> usize {
    let has = key.asset_type == AssetType::DataSource
        && ctx
            .mapping
            .data_sources
            .get(&key.id)
            .is_some_and(|o| o.has_job_parameters());
    usize::from(has)
}

/// Splits each level into chunks within the limits (before compression, which only shrinks).
fn chunks(
    ctx: &Context,
    members: &SnapshotMembers,
    levels: &[Vec<AssetKey>],
    limits: &JobLimits,
) -> Vec<Vec<AssetKey>> {
    // Room for zip headers and JSON re-indentation.
    let budget = limits.max_inline_bytes.saturating_sub(limits.max_inline_bytes / 8);
    let mut out = Vec::new();
    for level in levels {
        let mut current: Vec<AssetKey> = Vec::new();
        let (mut bytes, mut overrides) = (0usize, 0usize);
        for key in level {
            let (b, o) = (member_bytes(members, key), overrides_of(ctx, key));
            let full = current.len() + 1 > limits.max_assets.max(1)
                || overrides + o > MAX_OVERRIDES_PER_TYPE
                || bytes + b > budget;
            if full && !current.is_empty() {
                out.push(std::mem::take(&mut current));
                bytes = 0;
                overrides = 0;
            }
            current.push(key.clone());
            bytes += b;
            overrides += o;
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

fn job_of(number: usize, assets: Vec<AssetKey>, built: &Built, ctx: &Context, limits: &JobLimits) -> PlannedJob {
    let data_source_overrides = assets.iter().map(|k| overrides_of(ctx, k)).sum();
    PlannedJob {
        number,
        assets,
        depends_on: Vec::new(),
        bytes: built.zip.len() as u64,
        source: if built.zip.len() <= limits.max_inline_bytes {
            BundleSource::Inline
        } else {
            BundleSource::S3
        },
        data_source_overrides,
    }
}

/// Groups the imported assets (in dependency `levels`) into jobs. `single` asks for one job
/// (rollback); `s3` says whether bundles over the inline limit can be staged.
pub fn group(
    ctx: &Context,
    members: &SnapshotMembers,
    levels: &[Vec<AssetKey>],
    single: bool,
    limits: &JobLimits,
    s3: bool,
) -> Result<Grouped, RestoreError> {
    let mut warnings = Vec::new();
    let all: Vec<AssetKey> = levels.concat();
    if all.is_empty() {
        return Ok(Grouped {
            jobs: Vec::new(),
            dropped: Vec::new(),
            warnings,
        });
    }
    if single {
        let overrides: usize = all.iter().map(|k| overrides_of(ctx, k)).sum();
        let built = build(ctx, members, &all)?;
        let fits = built.zip.len() <= limits.max_inline_bytes || (s3 && built.zip.len() <= MAX_S3_BYTES);
        if fits && overrides <= MAX_OVERRIDES_PER_TYPE {
            let dropped = built.dropped.clone();
            return Ok(Grouped {
                jobs: vec![job_of(1, all, &built, ctx, limits)],
                dropped,
                warnings,
            });
        }
        warnings.push(format!(
            "the restore does not fit one import job ({} bytes{}, {overrides} data source overrides): it runs as \
             several jobs, each rolled back on its own, and no job starts after one has failed",
            built.zip.len(),
            if s3 {
                ""
            } else {
                "; the repository is not on S3 to stage a large bundle"
            }
        ));
    }
    let mut jobs = Vec::new();
    let mut dropped = Vec::new();
    for chunk in chunks(ctx, members, levels, limits) {
        let built = build(ctx, members, &chunk)?;
        if built.zip.len() > limits.max_inline_bytes && (!s3 || built.zip.len() > MAX_S3_BYTES) {
            let names: Vec<String> = chunk.iter().map(|k| k.to_string()).collect();
            return Err(RestoreError::Unsupported(format!(
                "{} is {} bytes zipped, over the {} byte inline import limit, and {}",
                names.join(", "),
                built.zip.len(),
                limits.max_inline_bytes,
                if s3 {
                    "over the 1 GiB limit of an S3 import"
                } else {
                    "the repository is not on S3 to stage it for an S3Uri import"
                }
            )));
        }
        dropped.extend(built.dropped.iter().cloned());
        jobs.push(job_of(jobs.len() + 1, chunk, &built, ctx, limits));
    }
    let job_of_asset: BTreeMap<&AssetKey, usize> = jobs
        .iter()
        .flat_map(|j| j.assets.iter().map(move |k| (k, j.number)))
        .collect();
    let depends: Vec<Vec<usize>> = jobs
        .iter()
        .map(|j| {
            let set: BTreeSet<usize> = j
                .assets
                .iter()
                .filter_map(|k| members.assets.get(k))
                .flat_map(|m| m.references.iter())
                .filter_map(|r| job_of_asset.get(r).copied())
                .filter(|n| *n != j.number)
                .collect();
            set.into_iter().collect()
        })
        .collect();
    for (job, deps) in jobs.iter_mut().zip(depends) {
        job.depends_on = deps;
    }
    Ok(Grouped {
        jobs,
        dropped,
        warnings,
    })
}
