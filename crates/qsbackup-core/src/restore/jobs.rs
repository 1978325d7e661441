//! Which imported assets travel together and in what order: each job takes part of one
//! dependency level, at most `max_assets` assets and 50 data source overrides (QuickSight's
//! limit per type), and fits the 20 MiB inline limit; a single asset that does not fit is staged
//! through an S3 repository and imported by `S3Uri`. Levels that later assets wait for are
//! spread over the job slots and jobs are numbered critical path first, so that chains of jobs
//! pipeline instead of waiting for whole levels. Under `--failure-action rollback` the whole
//! restore goes into one job where it can, so that QuickSight's rollback covers all of it.

use super::bundle::{
    inline_budget, member_bytes, overrides_of, rewrite, zip, BundleSource, JobLimits, PlannedJob,
    MAX_OVERRIDES_PER_TYPE, MAX_S3_BYTES,
};
use super::members::SnapshotMembers;
use super::overrides::{Context, DroppedPermission};
use super::{AssetKey, RestoreError};
use crate::asset::AssetType;
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};

/// The jobs of a restore, and what grouping found.
pub struct Grouped {
    pub jobs: Vec<PlannedJob>,
    pub dropped: Vec<DroppedPermission>,
    pub warnings: Vec<String>,
}

/// Fewest assets a level is split down to when it is spread over the job slots: below that the
/// fixed cost of a job (seconds of queueing and set-up in QuickSight) outweighs the overlap.
const MIN_SPLIT_ASSETS: usize = 24;

/// QuickSight's fixed seconds per import job and seconds per asset, to weigh chains of jobs.
const JOB_BASE_SECONDS: f64 = 3.5;
const ASSET_SECONDS: f64 = 0.08;

/// Whether `r`, referenced by `k`, orders `k` after it (see [`super::plan::levels`]).
fn orders(imported: &BTreeSet<&AssetKey>, folders_apart: bool, k: &AssetKey, r: &AssetKey) -> bool {
    imported.contains(r) && !(folders_apart && r.asset_type == AssetType::Folder && k.asset_type != AssetType::Folder)
}

/// For each asset, the length of the longest chain of imported assets that wait for it in later
/// levels (0: nothing waits for it).
fn heights<'a>(
    levels: &'a [Vec<AssetKey>],
    members: &SnapshotMembers,
    folders_apart: bool,
) -> BTreeMap<&'a AssetKey, usize> {
    let imported: BTreeSet<&AssetKey> = levels.iter().flatten().collect();
    let level_of: BTreeMap<&AssetKey, usize> = levels
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.iter().map(move |k| (k, i)))
        .collect();
    let mut height: BTreeMap<&AssetKey, usize> = BTreeMap::new();
    for (li, level) in levels.iter().enumerate().rev() {
        for k in level {
            let h = height.get(k).copied().unwrap_or(0);
            height.insert(k, h);
            let Some(m) = members.assets.get(k) else { continue };
            for r in m.references.iter().filter(|r| orders(&imported, folders_apart, k, r)) {
                // Only earlier levels: assets of a reference cycle share a level.
                let Some((rk, rl)) = level_of.get_key_value(r) else {
                    continue;
                };
                if *rl < li {
                    let e = height.entry(*rk).or_insert(0);
                    *e = (*e).max(h + 1);
                }
            }
        }
    }
    height
}

/// Splits each level into chunks within the limits (before compression, which only shrinks).
/// Assets that others wait for go apart from the ones nothing waits for, and apart by whether
/// they wait for the identity step, so that neither holds the other back; a level of assets
/// others wait for is spread over the job slots so that what depends on it can start early;
/// assets that depend on the same earlier chunks travel together, so that a chunk of a later
/// level waits for as few chunks as possible.
fn chunks(
    ctx: &Context,
    members: &SnapshotMembers,
    levels: &[Vec<AssetKey>],
    waits: &BTreeSet<AssetKey>,
    folders_apart: bool,
    limits: &JobLimits,
    folders: Vec<AssetKey>,
) -> Vec<Vec<AssetKey>> {
    let budget = inline_budget(limits);
    let max_assets = limits.max_assets.max(1);
    let slots = limits.max_concurrent_jobs.clamp(1, 5);
    let height = heights(levels, members, folders_apart);
    let is_leaf = |k: &AssetKey| height.get(k).copied().unwrap_or(0) == 0;
    // The first wave of jobs (folders and the first level) shares the slots in proportion to
    // its parts, so that it is one wave and not several: what waits for it starts sooner.
    let first_level = levels.first().map(Vec::as_slice).unwrap_or_default();
    let waiting = first_level.iter().filter(|k| waits.contains(*k)).count();
    let [folder_jobs, free_jobs, waiting_jobs] =
        wave_shares([folders.len(), first_level.len() - waiting, waiting], slots);
    let mut out = if folders.is_empty() {
        Vec::new()
    } else {
        folder_chunks(members, folders.clone(), limits, folder_jobs)
    };
    let mut chunk_of: BTreeMap<AssetKey, usize> = out
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.iter().map(move |k| (k.clone(), i)))
        .collect();
    for (li, level) in levels.iter().enumerate() {
        // Only the first level can start while the identity step runs: later ones wait for
        // jobs that outlast it, so splitting them by it would only make more jobs. Nor are its
        // assets that nothing waits for split off: the wave would not fit the slots.
        let first = li == 0;
        // The latest chunk an asset waits for first: chunks are made roughly in start order,
        // so assets that only need early chunks form jobs that can start early.
        let upstream = |k: &AssetKey| -> (usize, Vec<usize>) {
            let set: BTreeSet<usize> = members
                .assets
                .get(k)
                .into_iter()
                .flat_map(|m| m.references.iter())
                .filter_map(|r| chunk_of.get(r).copied())
                .collect();
            let latest = set.last().map_or(0, |l| l + 1);
            (latest, set.into_iter().collect())
        };
        type Keyed<'k> = ((bool, bool, (usize, Vec<usize>)), &'k AssetKey);
        // A few assets nothing waits for travel with the others: a job of their own would take
        // a slot that a job on the critical path needs.
        let leaves = level.iter().filter(|k| is_leaf(k)).count();
        let apart = !first && leaves >= MIN_SPLIT_ASSETS;
        let mut keyed: Vec<Keyed> = level
            .iter()
            .map(|k| ((first && waits.contains(k), apart && is_leaf(k), upstream(k)), k))
            .collect();
        keyed.sort();
        let mut start = 0;
        while start < keyed.len() {
            let class = (keyed[start].0 .0, keyed[start].0 .1);
            let end = keyed[start..]
                .iter()
                .position(|(c, _)| (c.0, c.1) != class)
                .map_or(keyed.len(), |p| start + p);
            let run: Vec<&AssetKey> = keyed[start..end].iter().map(|(_, k)| *k).collect();
            start = end;
            let n = run.len();
            // Spread over the slots: what others wait for finishes sooner, and the last jobs
            // do not leave slots idle for long at the end.
            let spread = if first {
                if class.0 {
                    waiting_jobs
                } else {
                    free_jobs
                }
            } else {
                slots.min(n.div_ceil(MIN_SPLIT_ASSETS))
            };
            let jobs = n.div_ceil(max_assets).max(spread).max(1);
            let cap = n.div_ceil(jobs).clamp(1, max_assets);
            let mut current: Vec<AssetKey> = Vec::new();
            let (mut bytes, mut overrides) = (0usize, 0usize);
            for key in run {
                let (b, o) = (member_bytes(members, key), overrides_of(ctx, key));
                let full = current.len() + 1 > cap || overrides + o > MAX_OVERRIDES_PER_TYPE || bytes + b > budget;
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
        for (i, c) in out.iter().enumerate() {
            for k in c {
                chunk_of.entry(k.clone()).or_insert(i);
            }
        }
    }
    out
}

/// The jobs each part of the first wave gets: the slots in proportion to the parts' sizes
/// (largest remainders first), at least one for a part that has assets, and no job smaller
/// than a few assets.
fn wave_shares(parts: [usize; 3], slots: usize) -> [usize; 3] {
    let total: usize = parts.iter().sum();
    let mut jobs = parts.map(|n| usize::from(n > 0));
    if total == 0 {
        return jobs;
    }
    let cap = |n: usize| n.div_ceil(MIN_SPLIT_ASSETS / 3).max(1);
    while jobs.iter().sum::<usize>() < slots {
        // The part with the most assets per job that can still be split.
        let next = (0..3)
            .filter(|&i| parts[i] > 0 && jobs[i] < cap(parts[i]))
            .max_by(|&a, &b| (parts[a] * jobs[b]).cmp(&(parts[b] * jobs[a])));
        match next {
            Some(i) => jobs[i] += 1,
            None => break,
        }
    }
    jobs
}

/// Folders in jobs that hold whole folder trees (a subfolder needs its parent), the trees
/// spread over the job slots: everything in a folder waits for the folder's job, so these jobs
/// are short and many assets wait for only one of them.
fn folder_chunks(
    members: &SnapshotMembers,
    folders: Vec<AssetKey>,
    limits: &JobLimits,
    spread: usize,
) -> Vec<Vec<AssetKey>> {
    if folders.is_empty() {
        return Vec::new();
    }
    let index: BTreeMap<&AssetKey, usize> = folders.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut root: Vec<usize> = (0..folders.len()).collect();
    fn find(root: &mut [usize], mut i: usize) -> usize {
        while root[i] != i {
            root[i] = root[root[i]];
            i = root[i];
        }
        i
    }
    for (i, k) in folders.iter().enumerate() {
        for r in members.assets.get(k).into_iter().flat_map(|m| m.references.iter()) {
            if let Some(&j) = index.get(r) {
                let (a, b) = (find(&mut root, i), find(&mut root, j));
                root[a] = b;
            }
        }
    }
    let mut trees: BTreeMap<usize, Vec<AssetKey>> = BTreeMap::new();
    for (i, k) in folders.iter().enumerate() {
        let r = find(&mut root, i);
        trees.entry(r).or_default().push(k.clone());
    }
    let mut trees: Vec<Vec<AssetKey>> = trees.into_values().collect();
    trees.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let max_assets = limits.max_assets.max(1);
    let jobs = spread.max(folders.len().div_ceil(max_assets));
    let mut bins: Vec<Vec<AssetKey>> = vec![Vec::new(); jobs.max(1)];
    for tree in trees {
        // The emptiest job that still has room, else a new one (a tree too big for one job
        // is split: its subfolders then wait for their parents in the same restore).
        let fit = (0..bins.len())
            .filter(|&b| bins[b].len() + tree.len() <= max_assets)
            .min_by_key(|&b| bins[b].len());
        match fit {
            Some(b) => bins[b].extend(tree),
            None => bins.extend(tree.chunks(max_assets).map(<[AssetKey]>::to_vec)),
        }
    }
    bins.retain(|b| !b.is_empty());
    bins
}

/// The order in which jobs start: a simulation of the slots, each free slot taking the ready
/// job with the longest chain of work still waiting for it (critical path first), so that the
/// chain that bounds the restore is never held up behind jobs nothing waits for.
fn start_order(durations: &[f64], depends: &[Vec<usize>], slots: usize) -> Vec<usize> {
    let n = durations.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (j, deps) in depends.iter().enumerate() {
        for d in deps {
            dependents[*d].push(j);
        }
    }
    // Longest path from each job to the end; jobs caught in a cycle count their own time.
    let mut rank = vec![f64::NAN; n];
    fn rank_of(j: usize, durations: &[f64], dependents: &[Vec<usize>], rank: &mut [f64], on_path: &mut [bool]) -> f64 {
        if !rank[j].is_nan() {
            return rank[j];
        }
        on_path[j] = true;
        let mut best = 0.0f64;
        for &d in &dependents[j] {
            if !on_path[d] {
                best = best.max(rank_of(d, durations, dependents, rank, on_path));
            }
        }
        on_path[j] = false;
        rank[j] = durations[j] + best;
        rank[j]
    }
    let mut on_path = vec![false; n];
    for j in 0..n {
        rank_of(j, durations, &dependents, &mut rank, &mut on_path);
    }
    let mut order = Vec::with_capacity(n);
    let mut started = vec![false; n];
    let mut finished = vec![false; n];
    // (end time, job) of the simulated running jobs.
    let mut running: Vec<(f64, usize)> = Vec::new();
    let mut now = 0.0f64;
    while order.len() < n {
        let mut ready: Vec<usize> = (0..n)
            .filter(|&j| !started[j] && depends[j].iter().all(|d| finished[*d]))
            .collect();
        if ready.is_empty() && running.is_empty() {
            // A cycle between jobs: take the first left, as the runner would leave it waiting.
            ready = (0..n).filter(|&j| !started[j]).take(1).collect();
        }
        ready.sort_by(|a, b| rank[*b].total_cmp(&rank[*a]).then(a.cmp(b)));
        for j in ready {
            if running.len() >= slots {
                break;
            }
            started[j] = true;
            order.push(j);
            running.push((now + durations[j], j));
        }
        running.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some((end, j)) = running.pop() {
            now = end;
            finished[j] = true;
        }
    }
    order
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
        waits_for_identities: false,
    };
    Ok((job, dropped))
}

/// The imported assets as grouping sees them.
pub struct Imports<'a> {
    /// In dependency levels ([`super::plan::levels`]).
    pub levels: &'a [Vec<AssetKey>],
    /// Those whose permissions name users or groups the identity step creates.
    pub waits: &'a BTreeSet<AssetKey>,
    /// Folders go into jobs of their own, ahead of the rest (the levels were computed without
    /// folder memberships).
    pub folders_apart: bool,
}

/// Groups the imported assets into jobs, numbered in the order they start (critical path
/// first). `single` asks for one job (rollback); `s3` says whether bundles over the inline
/// limit can be staged.
pub fn group(
    ctx: &Context,
    members: &SnapshotMembers,
    imports: &Imports,
    single: bool,
    limits: &JobLimits,
    s3: bool,
) -> Result<Grouped, RestoreError> {
    let Imports {
        levels,
        waits,
        folders_apart,
    } = *imports;
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
        let (mut job, dropped) = job_of(1, all, members, ctx, limits)?;
        job.waits_for_identities = job.assets.iter().any(|k| waits.contains(k));
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
    let mut folders = Vec::new();
    if folders_apart {
        folders = levels
            .iter_mut()
            .flat_map(|l| {
                let (f, rest): (Vec<AssetKey>, Vec<AssetKey>) = std::mem::take(l)
                    .into_iter()
                    .partition(|k| k.asset_type == AssetType::Folder);
                *l = rest;
                f
            })
            .collect();
        levels.retain(|l| !l.is_empty());
    }
    let planned_chunks = chunks(ctx, members, &levels, waits, folders_apart, limits, folders);
    let mut jobs = Vec::new();
    let mut dropped = Vec::new();
    for chunk in planned_chunks {
        let (mut job, job_dropped) = job_of(jobs.len() + 1, chunk, members, ctx, limits)?;
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
        job.waits_for_identities = job.assets.iter().any(|k| waits.contains(k));
        dropped.extend(job_dropped);
        jobs.push(job);
    }
    // Indices into `jobs` until they are numbered in start order.
    let index_of_asset: BTreeMap<&AssetKey, usize> = jobs
        .iter()
        .enumerate()
        .flat_map(|(i, j)| j.assets.iter().map(move |k| (k, i)))
        .collect();
    let depends: Vec<Vec<usize>> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let set: BTreeSet<usize> = j
                .assets
                .iter()
                .filter_map(|k| members.assets.get(k))
                .flat_map(|m| m.references.iter())
                .filter_map(|r| index_of_asset.get(r).copied())
                .filter(|n| *n != i)
                .collect();
            set.into_iter().collect()
        })
        .collect();
    let durations: Vec<f64> = jobs
        .iter()
        .map(|j| JOB_BASE_SECONDS + ASSET_SECONDS * j.assets.len() as f64)
        .collect();
    let order = start_order(&durations, &depends, limits.max_concurrent_jobs);
    let mut number_of = vec![0usize; jobs.len()];
    for (position, &i) in order.iter().enumerate() {
        number_of[i] = position + 1;
    }
    let mut slots: Vec<Option<PlannedJob>> = jobs.into_iter().map(Some).collect();
    let mut jobs = Vec::with_capacity(slots.len());
    for &i in &order {
        let Some(mut job) = slots[i].take() else { continue };
        job.number = number_of[i];
        let mut deps: Vec<usize> = depends[i].iter().map(|d| number_of[*d]).collect();
        deps.sort_unstable();
        job.depends_on = deps;
        jobs.push(job);
    }
    Ok(Grouped {
        jobs,
        dropped,
        warnings,
    })
}
