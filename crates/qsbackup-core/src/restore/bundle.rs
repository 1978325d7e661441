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
    /// Size as planned: the JSON of its members, or the zip when that may not fit inline.
    pub bytes: u64,
    pub source: BundleSource,
    /// Data sources with `OverrideParameters`.
    pub data_source_overrides: usize,
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
            .map(|s| s.json.len())
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
    let budget = inline_budget(limits);
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

/// Room left under the inline limit for zip headers: deflate never grows JSON by more.
fn inline_budget(limits: &JobLimits) -> usize {
    limits.max_inline_bytes.saturating_sub(limits.max_inline_bytes / 8)
}

/// The planned job of `assets` and the permissions it drops. The members are only rewritten
/// and zipped when their JSON may not fit inline; otherwise their size is the estimate.
fn job_of(
    number: usize,
    assets: Vec<AssetKey>,
    members: &SnapshotMembers,
    ctx: &Context,
    limits: &JobLimits,
) -> Result<(PlannedJob, Vec<DroppedPermission>), Error> {
    let data_source_overrides = assets.iter().map(|k| overrides_of(ctx, k)).sum();
    let estimate: usize = assets.iter().map(|k| member_bytes(members, k)).sum();
    let (bytes, dropped) = if estimate <= inline_budget(limits) {
        let dropped = assets
            .iter()
            .filter_map(|k| members.assets.get(k))
            .flat_map(|m| ctx.dropped(m))
            .collect();
        (estimate, dropped)
    } else {
        let files = rewrite(ctx, members, &assets)?;
        let json = files.bytes();
        let bytes = if json <= inline_budget(limits) {
            json
        } else {
            zip(&files)?.len()
        };
        (bytes, files.dropped)
    };
    let job = PlannedJob {
        number,
        assets,
        depends_on: Vec::new(),
        bytes: bytes as u64,
        source: if bytes <= limits.max_inline_bytes {
            BundleSource::Inline
        } else {
            BundleSource::S3
        },
        data_source_overrides,
    };
    Ok((job, dropped))
}

/// Groups the imported assets (in dependency `levels`) into jobs. `single` asks for one job
/// (rollback); `folders_apart` puts all folders into the first job (levels were computed
/// without folder memberships); `s3` says whether bundles over the inline limit can be staged.
pub fn group(
    ctx: &Context,
    members: &SnapshotMembers,
    levels: &[Vec<AssetKey>],
    single: bool,
    folders_apart: bool,
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
        let (job, dropped) = job_of(1, all, members, ctx, limits)?;
        let fits = job.source == BundleSource::Inline || (s3 && job.bytes as usize <= MAX_S3_BYTES);
        if fits && overrides <= MAX_OVERRIDES_PER_TYPE {
            return Ok(Grouped {
                jobs: vec![job],
                dropped,
                warnings,
            });
        }
        warnings.push(format!(
            "the restore does not fit one import job ({} bytes{}, {overrides} data source overrides): it runs as \
             several jobs, each rolled back on its own, and no job starts after one has failed",
            job.bytes,
            if s3 {
                ""
            } else {
                "; the repository is not on S3 to stage a large bundle"
            }
        ));
    }
    let mut levels: Vec<Vec<AssetKey>> = levels.to_vec();
    let mut planned_chunks = Vec::new();
    if folders_apart {
        let folders: Vec<AssetKey> = levels
            .iter_mut()
            .flat_map(|l| {
                let (f, rest): (Vec<AssetKey>, Vec<AssetKey>) = std::mem::take(l)
                    .into_iter()
                    .partition(|k| k.asset_type == AssetType::Folder);
                *l = rest;
                f
            })
            .collect();
        if !folders.is_empty() {
            planned_chunks.push(folders);
        }
        levels.retain(|l| !l.is_empty());
    }
    planned_chunks.extend(chunks(ctx, members, &levels, limits));
    let mut jobs = Vec::new();
    let mut dropped = Vec::new();
    for chunk in planned_chunks {
        let (job, job_dropped) = job_of(jobs.len() + 1, chunk, members, ctx, limits)?;
        if job.source == BundleSource::S3 && (!s3 || job.bytes as usize > MAX_S3_BYTES) {
            let names: Vec<String> = job.assets.iter().map(|k| k.to_string()).collect();
            return Err(RestoreError::Unsupported(format!(
                "{} is {} bytes zipped, over the {} byte inline import limit, and {}",
                names.join(", "),
                job.bytes,
                limits.max_inline_bytes,
                if s3 {
                    "over the 1 GiB limit of an S3 import"
                } else {
                    "the repository is not on S3 to stage it for an S3Uri import"
                }
            )));
        }
        dropped.extend(job_dropped);
        jobs.push(job);
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
