//! Restore: a snapshot (all of it, or selected assets with everything they depend on) into the
//! same or another account, region and namespace, with its identities.
//!
//! [`plan_restore`] reads the snapshot's members, lists the target once and decides per asset
//! (create, update, skip, or keep what the target has), plans the identity step, moves every
//! member into the target ([`overrides`]) and groups them into import bundles ordered so that
//! dependencies land first ([`plan`], [`jobs`], [`bundle`]). Nothing is changed by planning.
//! [`run_restore`] restores identities beside the import jobs that do not need them, starts
//! the others once users and groups exist ([`import`]), and
//! reports every asset's outcome ([`report`]). Backups written by the AWS sample tool become
//! snapshots through [`legacy`].

pub mod arn;
pub mod bundle;
pub mod identities;
pub mod import;
pub mod jobs;
pub mod legacy;
pub mod mapping;
pub mod members;
pub mod overrides;
pub mod plan;
pub mod report;
mod types;

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::backup::export::Tuning;
use crate::error::Error;
use crate::events::{Event, ProgressSink};
use crate::identities::{IdentitySnapshot, ReadLimits};
use crate::repository::lock::SharedLock;
use crate::repository::manifest::SnapshotManifest;
use crate::repository::Repository;
use bundle::{BundleSource, JobLimits, PlannedJob};
use chrono::Utc;
use identities::apply::ApplyLimits;
use identities::{IdentityPlan, Naming, Principals};
use mapping::Mapping;
use members::SnapshotMembers;
use overrides::{Context, DroppedPermission};
use plan::{PlannedAsset, Refusal};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub use report::RestoreReport;
pub use types::{check_prefix, AssetKey, ConflictPolicy, FailureAction, RestoreError, SelectionSpec};

/// Everything a restore is asked to do beyond the snapshot and the target.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub selection: SelectionSpec,
    pub conflict: ConflictPolicy,
    /// Prefix for the id of every restored asset.
    pub prefix: String,
    /// `--namespace`: the target namespace of every identity and principal.
    pub namespace: Option<String>,
    pub failure_action: FailureAction,
    pub mapping: Mapping,
    /// Restore users, groups and memberships first.
    pub identities: bool,
    pub tuning: Tuning,
    pub limits: JobLimits,
    pub job_timeout: Duration,
    pub identity_limits: ApplyLimits,
    /// Cancelling it stops the restore: no import job starts after that and running ones are
    /// no longer waited for; the report says so ([`RestoreReport::interrupted`]).
    pub cancel: tokio_util::sync::CancellationToken,
}

/// An account and its regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub account_id: String,
    pub region: String,
    pub identity_region: String,
}

/// What a restore will do; `--dry-run` prints it, `--plan-out` writes it as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    pub restore_id: String,
    pub snapshot_id: String,
    pub source: Endpoint,
    pub target: Endpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub conflict: ConflictPolicy,
    pub failure_action: FailureAction,
    pub prefix: String,
    /// Every asset the selection needs, with its decision.
    pub assets: Vec<PlannedAsset>,
    /// Assets the selection asks for (or needs) that are not restored, because the snapshot's
    /// copy cannot be used; a restore that refuses any is partial.
    pub refused: Vec<Refusal>,
    /// Import jobs, in start order.
    pub jobs: Vec<PlannedJob>,
    /// `None` when identities are not restored.
    pub identities: Option<IdentityPlan>,
    pub overrides: OverridesSummary,
    pub warnings: Vec<String>,
    #[serde(skip)]
    state: PlanState,
}

/// The overrides a restore applies, for the plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OverridesSummary {
    /// Data sources whose parameters, credentials, VPC connection or name change.
    pub data_sources: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// Permissions that cannot be moved to the target.
    pub permissions_dropped: Vec<DroppedPermission>,
    /// The same, counted per principal.
    pub permissions_dropped_by_principal: Vec<overrides::PrincipalDrops>,
}

/// What planning learned that running needs.
#[derive(Debug, Clone, Default)]
struct PlanState {
    members: SnapshotMembers,
    source_identities: Option<IdentitySnapshot>,
    /// Users and groups of the target when it was listed (`None`: not listed).
    target_principals: Option<Principals>,
    mapping: Mapping,
    snapshot_assets: BTreeSet<AssetKey>,
    staging: Option<String>,
}

impl RestorePlan {
    /// Assets that will be imported.
    pub fn imported(&self) -> impl Iterator<Item = &PlannedAsset> {
        self.assets.iter().filter(|a| a.decision.imports())
    }

    fn naming(&self) -> Naming<'_> {
        Naming::new(
            &self.state.mapping,
            self.namespace.as_deref(),
            self.state.source_identities.as_ref(),
            self.source.account_id == self.target.account_id,
            &self.target.account_id,
            crate::config::partition(&self.target.region),
        )
    }

    fn context<'a>(&'a self, naming: &'a Naming<'a>, principals: Option<&'a Principals>) -> Context<'a> {
        Context {
            source_account: &self.source.account_id,
            target_account: &self.target.account_id,
            target_region: &self.target.region,
            target_identity_region: &self.target.identity_region,
            prefix: &self.prefix,
            snapshot_assets: &self.state.snapshot_assets,
            naming,
            principals,
            mapping: &self.state.mapping,
        }
    }
}

impl RestorePlan {
    /// The target's users and groups once the identity step has had `outcome`, as the import
    /// jobs see them when they move permissions (`None`: the target could not be listed).
    fn principals_after(&self, outcome: Option<&identities::apply::IdentityOutcome>) -> Option<Principals> {
        let mut principals = self.state.target_principals.clone();
        if let (Some(p), Some(outcome)) = (&mut principals, outcome) {
            p.extend(&outcome.principals());
        }
        principals
    }

    /// The members of `keys` as the restore that made `report` imported them: moved into the
    /// target (account, region, ids, principals, overrides), keyed by the asset's key in the
    /// target. A drill compares them with what the target holds afterwards.
    pub fn imported_members(&self, report: &RestoreReport, keys: &[AssetKey]) -> BTreeMap<AssetKey, serde_json::Value> {
        let principals = self.principals_after(report.identities.as_ref());
        let naming = self.naming();
        let ctx = self.context(&naming, principals.as_ref());
        keys.iter()
            .filter_map(|k| {
                let member = self.state.members.assets.get(k)?;
                Some((
                    AssetKey::new(k.asset_type, &ctx.target_id(k)),
                    ctx.rewrite_asset(member).json,
                ))
            })
            .collect()
    }
}

/// The `s3://bucket/prefix` under which large bundles can be staged, if the repository is on S3.
fn staging_base(repository: &Repository) -> Option<String> {
    let url = repository.location();
    url.starts_with("s3://").then(|| url.trim_end_matches('/').to_string())
}

async fn load_identities(
    repository: &Repository,
    manifest: &SnapshotManifest,
) -> Result<Option<IdentitySnapshot>, Error> {
    let Some(object) = &manifest.identities else {
        return Ok(None);
    };
    let bytes = repository
        .get_capped(&object.key, crate::limits::MAX_IDENTITIES_BYTES, "identities document")
        .await?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != object.sha256 {
        return Err(Error::Integrity {
            key: object.key.clone(),
            message: format!("SHA-256 {sha256}, but the manifest records {}", object.sha256),
        });
    }
    crate::repository::layout::parse_record(repository, &object.key, &bytes).map(Some)
}

/// Plans a restore of `manifest` into `target`; changes nothing.
pub async fn plan_restore(
    repository: &Repository,
    manifest: &SnapshotManifest,
    target: &AwsContext,
    options: &RestoreOptions,
    sink: &dyn ProgressSink,
) -> Result<RestorePlan, RestoreError> {
    let mut warnings = Vec::new();
    // A selective restore warns only about the missing assets it needs (below, once decided).
    let everything = options.selection.is_all();
    if everything && (!manifest.failed.is_empty() || !manifest.skipped.is_empty()) {
        warnings.push(format!(
            "snapshot {} does not hold {} assets that could not be backed up ({} failed, {} skipped); \
             `qsbackup show {}` lists them",
            manifest.id,
            manifest.failed.len() + manifest.skipped.len(),
            manifest.failed.len(),
            manifest.skipped.len(),
            manifest.id
        ));
    }
    let members = SnapshotMembers::load(repository, manifest).await?;
    warnings.extend(members.notes.iter().cloned());
    let listed = crate::backup::discover::list_all(target, &AssetType::ALL.into_iter().collect(), sink).await?;
    let existing: BTreeSet<AssetKey> = listed.iter().map(|a| AssetKey::new(a.asset_type, &a.id)).collect();

    let source_identities = load_identities(repository, manifest).await?;
    let target_identities = match crate::identities::snapshot(
        &target.identity_quicksight,
        &target.account_id,
        &ReadLimits::default(),
    )
    .await
    {
        Ok(t) => Some(t),
        Err(e) if !options.identities => {
            warnings.push(format!(
                    "the target's users and groups could not be listed ({e}); permissions are moved by name without checking them"
                ));
            None
        }
        Err(e) => return Err(e.into()),
    };
    if options.identities && source_identities.is_none() {
        warnings.push(format!(
            "snapshot {} has no identities: no users or groups are restored; permissions are moved by name",
            manifest.id
        ));
    }

    let source = Endpoint {
        account_id: manifest.account_id.clone(),
        region: manifest.region.clone(),
        identity_region: manifest.identity_region.clone(),
    };
    let target_endpoint = Endpoint {
        account_id: target.account_id.clone(),
        region: target.region.clone(),
        identity_region: target.identity_region.clone(),
    };
    let mut plan = RestorePlan {
        restore_id: crate::repository::manifest::new_snapshot_id(Utc::now()),
        snapshot_id: manifest.id.clone(),
        source,
        target: target_endpoint,
        namespace: options.namespace.clone(),
        conflict: options.conflict,
        failure_action: options.failure_action,
        prefix: options.prefix.clone(),
        assets: Vec::new(),
        refused: Vec::new(),
        jobs: Vec::new(),
        identities: None,
        overrides: OverridesSummary::default(),
        warnings: Vec::new(),
        state: PlanState {
            snapshot_assets: members.assets.keys().cloned().collect(),
            members,
            source_identities,
            target_principals: target_identities.as_ref().map(Principals::of),
            mapping: options.mapping.clone(),
            staging: staging_base(repository),
        },
    };
    if options.identities {
        if let (Some(source), Some(target)) = (&plan.state.source_identities, &target_identities) {
            plan.identities = Some(identities::plan(source, target, &plan.naming()));
        }
    }
    let target_id = |k: &AssetKey| format!("{}{}", options.prefix, k.id);
    let (selected, refused) = match plan::select_usable(&plan.state.members, &options.selection) {
        Err(RestoreError::NoSuchAsset { asset, .. }) => {
            // Naming another snapshot is a courtesy: a repository that cannot say just names none.
            let held_by = crate::repository::find::newest_holding(repository, &asset)
                .await
                .unwrap_or_default();
            return Err(RestoreError::NoSuchAsset { asset, held_by });
        }
        other => other?,
    };
    plan.refused = refused;
    let (assets, plan_warnings) =
        plan::decide(&plan.state.members, &selected, &existing, options.conflict, &target_id)?;
    warnings.extend(plan_warnings);
    if !everything {
        warnings.extend(not_backed_up(manifest, &assets));
    }
    plan.assets = assets;

    let mut principals = plan.state.target_principals.clone();
    if let (Some(p), Some(ids)) = (&mut principals, &plan.identities) {
        p.extend(&ids.principals(true));
    }
    let imported: BTreeSet<AssetKey> = plan.imported().map(|a| a.key.clone()).collect();
    // Folders (small, nested) go in jobs of their own, ahead of the rest, when they fit in one.
    let folders = imported.iter().filter(|k| k.asset_type == AssetType::Folder).count();
    let folders_apart = folders <= options.limits.max_assets;
    let levels = plan::levels(&imported, &plan.state.members, folders_apart);
    let single = options.failure_action == FailureAction::Rollback;
    let grouped = {
        let naming = plan.naming();
        let ctx = plan.context(&naming, principals.as_ref());
        let waits = match &plan.identities {
            Some(_) => {
                let before = plan.context(&naming, plan.state.target_principals.as_ref());
                waits_for_identities(&imported, &plan.state.members, &before, &ctx)
            }
            None => BTreeSet::new(),
        };
        let s3 = plan.state.staging.is_some();
        let imports = jobs::Imports {
            levels: &levels,
            waits: &waits,
            folders_apart,
        };
        jobs::group(&ctx, &plan.state.members, &imports, single, &options.limits, s3)?
    };
    warnings.extend(grouped.warnings);
    let mut dropped = grouped.dropped;
    dropped.sort_by(|a, b| (&a.asset, &a.principal).cmp(&(&b.asset, &b.principal)));
    let data_sources: Vec<String> = options
        .mapping
        .data_sources
        .keys()
        .filter(|id| imported.contains(&AssetKey::new(AssetType::DataSource, id)))
        .cloned()
        .collect();
    for id in options.mapping.data_sources.keys() {
        if !plan
            .state
            .snapshot_assets
            .contains(&AssetKey::new(AssetType::DataSource, id))
        {
            warnings.push(format!(
                "the overrides file names data source {id}, which is not in the snapshot"
            ));
        }
    }
    for job in &grouped.jobs {
        for key in &job.assets {
            if let Some(a) = plan.assets.iter_mut().find(|a| &a.key == key) {
                a.job = Some(job.number);
            }
        }
    }
    plan.jobs = grouped.jobs;
    plan.overrides = OverridesSummary {
        data_sources,
        tags: options.mapping.tags.clone(),
        permissions_dropped_by_principal: overrides::drops_by_principal(&dropped),
        permissions_dropped: dropped,
    };
    plan.warnings = warnings;
    sink.event(&Event::RestorePlanned {
        jobs: plan.jobs.len(),
        assets: imported.len(),
    });
    Ok(plan)
}

/// The assets with a permission that only the identity step makes valid: its principal is not
/// in the target before the step (`before`) and is after it (`after`, as planned). Their jobs
/// wait for the step; the others can run beside it with the same permissions.
fn waits_for_identities(
    imported: &BTreeSet<AssetKey>,
    members: &SnapshotMembers,
    before: &Context,
    after: &Context,
) -> BTreeSet<AssetKey> {
    imported
        .iter()
        .filter(|k| {
            members.assets.get(*k).is_some_and(|m| {
                m.json
                    .permission_principals()
                    .iter()
                    .any(|p| before.map_principal(p).is_err() && after.map_principal(p).is_ok())
            })
        })
        .cloned()
        .collect()
}

/// The assets a selective restore needs that its snapshot does not hold because they could not
/// be backed up, one warning each.
fn not_backed_up(manifest: &SnapshotManifest, assets: &[PlannedAsset]) -> Vec<String> {
    let needed: BTreeSet<&AssetKey> = assets.iter().flat_map(|a| a.missing.iter()).collect();
    let failed = manifest
        .failed
        .iter()
        .map(|f| (&f.arn, f.asset_type, &f.name, "failed in the backup", &f.message));
    let skipped = manifest
        .skipped
        .iter()
        .map(|s| (&s.arn, s.asset_type, &s.name, "was skipped by the backup", &s.message));
    failed
        .chain(skipped)
        .filter_map(|(arn, t, name, what, message)| {
            let key = AssetKey::new(t, crate::asset::id_from_arn(arn)?);
            needed.contains(&key).then(|| {
                format!(
                    "{key} \"{name}\" is not in snapshot {}: it {what} ({message})",
                    manifest.id
                )
            })
        })
        .collect()
}

/// Runs a plan: identities and the import jobs that do not need them at once, then the jobs
/// that grant permissions to the restored users and groups, holding `lock` on the repository the
/// plan was made from (shared: backups run beside it, a prune waits). Per-asset failures are in the report;
/// `Err` means the restore could not run at all.
pub async fn run_restore(
    lock: &SharedLock,
    plan: &RestorePlan,
    target: &AwsContext,
    options: &RestoreOptions,
    sink: &dyn ProgressSink,
) -> Result<RestoreReport, RestoreError> {
    let repository = lock.repository();
    let started_at = Utc::now();
    // Jobs whose permissions name users or groups the identity step creates start once the step
    // has created them (with those principals); the others run beside the step, with the
    // target's principals, which gives them the same permissions.
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(None::<std::sync::Arc<Principals>>);
    let principals_ready = |created: Principals| {
        let mut p = plan.state.target_principals.clone().unwrap_or_default();
        p.extend(&created);
        ready_tx.send_replace(Some(std::sync::Arc::new(p)));
    };
    let identities = async {
        match &plan.identities {
            Some(ids) => {
                let apply = identities::apply::apply(
                    &target.identity_quicksight,
                    &target.account_id,
                    ids,
                    &options.identity_limits,
                    sink,
                    &principals_ready,
                );
                tokio::select! {
                    biased;
                    _ = options.cancel.cancelled() => (None, true),
                    outcome = apply => (Some(outcome), false),
                }
            }
            None => (None, false),
        }
    };
    let naming = plan.naming();
    let ctx = plan.context(&naming, plan.state.target_principals.as_ref());
    let settings = import::ImportSettings {
        failure_action: plan.failure_action,
        max_concurrent_jobs: options.limits.max_concurrent_jobs,
        max_inline_bytes: options.limits.max_inline_bytes,
        job_timeout: options.job_timeout,
        tuning: options.tuning.clone(),
        staging: plan.state.staging.clone(),
        cancel: options.cancel.clone(),
    };
    let runner = import::Runner {
        aws: target,
        repository,
        plan,
        ctx: &ctx,
        members: &plan.state.members,
        settings,
        sink,
        identities: plan.identities.is_some().then_some(ready_rx),
    };
    let ((identity_outcome, identities_interrupted), mut imported) = tokio::join!(identities, runner.run());
    if identities_interrupted {
        imported.notes.push(
            "the restore was interrupted while it created users, groups and memberships: some may exist in the target"
                .into(),
        );
    }
    Ok(report::RestoreReport::new(plan, started_at, identity_outcome, imported))
}

/// The bundle source a planned job uses, for callers that show plans.
pub fn source_name(s: BundleSource) -> &'static str {
    match s {
        BundleSource::Inline => "inline",
        BundleSource::S3 => "S3",
    }
}

#[cfg(test)]
mod send_check;
