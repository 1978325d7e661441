//! Restore: a snapshot (all of it, or selected assets with everything they depend on) into the
//! same or another account, region and namespace, with its identities.
//!
//! [`plan_restore`] reads the snapshot's members, lists the target once and decides per asset
//! (create, update, skip, or keep what the target has), plans the identity step, moves every
//! member into the target ([`overrides`]) and groups them into import bundles ordered so that
//! dependencies land first ([`plan`], [`bundle`]). Nothing is changed by planning.
//! [`run_restore`] restores identities first, then runs the import jobs ([`import`]) and
//! reports every asset's outcome ([`report`]). Backups written by the AWS sample tool become
//! snapshots through [`legacy`].

pub mod arn;
pub mod bundle;
pub mod identities;
pub mod import;
pub mod legacy;
pub mod mapping;
pub mod members;
pub mod overrides;
pub mod plan;
pub mod report;

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::error::Error;
use crate::events::{Event, ProgressSink};
use crate::export::Tuning;
use crate::identities::{IdentityError, IdentitySnapshot, ReadLimits};
use crate::manifest::SnapshotManifest;
use crate::repository::Repository;
use bundle::{BundleSource, JobLimits, PlannedJob};
use chrono::Utc;
use identities::apply::ApplyLimits;
use identities::{IdentityPlan, Naming, Principals};
use mapping::Mapping;
use members::SnapshotMembers;
use overrides::{Context, DroppedPermission};
use plan::PlannedAsset;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use report::RestoreReport;

/// An asset of the snapshot: its type and its id in the source account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetKey {
    pub asset_type: AssetType,
    pub id: String,
}

impl AssetKey {
    pub fn new(asset_type: AssetType, id: &str) -> AssetKey {
        AssetKey {
            asset_type,
            id: id.to_string(),
        }
    }

    /// Parses `TYPE/ID` (`dashboard/sales-1`; `data_source` and the like are accepted too).
    pub fn parse(s: &str) -> Result<AssetKey, String> {
        let (t, id) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not TYPE/ID, e.g. dashboard/3f2a-..."))?;
        let asset_type: AssetType = serde_json::from_value(serde_json::Value::String(t.to_string())).map_err(|_| {
            let names: Vec<&str> = AssetType::ALL.iter().map(|t| t.as_str()).collect();
            format!("`{t}` is not an asset type; one of {}", names.join(", "))
        })?;
        if id.is_empty() {
            return Err(format!("`{s}` has no id after the /"));
        }
        Ok(AssetKey::new(asset_type, id))
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.asset_type, self.id)
    }
}

impl Serialize for AssetKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Why a restore could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Core(#[from] Error),
    /// A `--select` or `--select-name` that names nothing in the snapshot.
    #[error("{0}")]
    Selection(String),
    /// The overrides file is unreadable or has a bad value.
    #[error("overrides file {}{}: {message}", file.display(), if key.is_empty() { String::new() } else { format!(", key {key}") })]
    Overrides {
        file: PathBuf,
        key: String,
        message: String,
    },
    /// `--conflict fail` and selected assets exist in the target.
    #[error("{} selected assets already exist in the target and --conflict fail was given: {}", list.len(), list.join(", "))]
    Conflicts { list: Vec<String> },
    /// The target's identities could not be read or written.
    #[error("identities of the target: {0}")]
    Identities(#[from] IdentityError),
    /// Something this snapshot or repository cannot do.
    #[error("{0}")]
    Unsupported(String),
}

impl RestoreError {
    /// A problem with what the user asked for (exit code 3 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(self, RestoreError::Selection(_) | RestoreError::Overrides { .. })
            || matches!(self, RestoreError::Core(e) if e.is_config())
    }
}

/// What to do when the target has an asset the restore selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Overwrite it with the snapshot's version.
    #[default]
    Update,
    /// Leave it as it is.
    Skip,
    /// Refuse the restore before changing anything.
    Fail,
}

/// QuickSight's `FailureAction` for the import jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureAction {
    /// Keep what imported; report the rest per asset.
    #[default]
    DoNothing,
    /// All or nothing: the restore goes into one import job where it can, and a failed job is
    /// rolled back.
    Rollback,
}

/// Which assets to restore; empty means all of them.
#[derive(Debug, Clone, Default)]
pub struct SelectionSpec {
    pub ids: Vec<AssetKey>,
    /// Name globs (`*`, `?`), case-insensitive.
    pub names: Vec<String>,
}

impl SelectionSpec {
    pub fn is_all(&self) -> bool {
        self.ids.is_empty() && self.names.is_empty()
    }
}

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
}

/// An account and its regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
            "aws",
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
    let bytes = repository.get(&object.key).await?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != object.sha256 {
        return Err(Error::Integrity {
            key: object.key.clone(),
            message: format!("SHA-256 {sha256}, but the manifest records {}", object.sha256),
        });
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|source| Error::Json {
        context: object.key.clone(),
        source,
    })
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
    if !manifest.failed.is_empty() || !manifest.skipped.is_empty() {
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
    let listed = crate::discover::list_all(target, &AssetType::ALL.into_iter().collect(), sink).await?;
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
        restore_id: crate::manifest::new_snapshot_id(Utc::now()),
        snapshot_id: manifest.id.clone(),
        source,
        target: target_endpoint,
        namespace: options.namespace.clone(),
        conflict: options.conflict,
        failure_action: options.failure_action,
        prefix: options.prefix.clone(),
        assets: Vec::new(),
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
    let selected = plan::select(&plan.state.members, &options.selection)?;
    let (assets, plan_warnings) =
        plan::decide(&plan.state.members, &selected, &existing, options.conflict, &target_id)?;
    warnings.extend(plan_warnings);
    plan.assets = assets;

    let mut principals = plan.state.target_principals.clone();
    if let (Some(p), Some(ids)) = (&mut principals, &plan.identities) {
        p.extend(&ids.principals(true));
    }
    let imported: BTreeSet<AssetKey> = plan.imported().map(|a| a.key.clone()).collect();
    // Folders (small, nested) travel together in the first job when they fit in one.
    let folders = imported.iter().filter(|k| k.asset_type == AssetType::Folder).count();
    let folders_apart = folders <= options.limits.max_assets;
    let levels = plan::levels(&imported, &plan.state.members, folders_apart);
    let single = options.failure_action == FailureAction::Rollback;
    let grouped = {
        let naming = plan.naming();
        let ctx = plan.context(&naming, principals.as_ref());
        let s3 = plan.state.staging.is_some();
        bundle::group(
            &ctx,
            &plan.state.members,
            &levels,
            single,
            folders_apart,
            &options.limits,
            s3,
        )?
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
        permissions_dropped: dropped,
    };
    plan.warnings = warnings;
    sink.event(&Event::RestorePlanned {
        jobs: plan.jobs.len(),
        assets: imported.len(),
    });
    Ok(plan)
}

/// Runs a plan: identities first, then the import jobs. Per-asset failures are in the report;
/// `Err` means the restore could not run at all.
pub async fn run_restore(
    repository: &Repository,
    plan: &RestorePlan,
    target: &AwsContext,
    options: &RestoreOptions,
    sink: &dyn ProgressSink,
) -> Result<RestoreReport, RestoreError> {
    let started_at = Utc::now();
    let identity_outcome = match &plan.identities {
        Some(ids) => Some(
            identities::apply::apply(
                &target.identity_quicksight,
                &target.account_id,
                ids,
                &options.identity_limits,
                sink,
            )
            .await,
        ),
        None => None,
    };
    let mut principals = plan.state.target_principals.clone();
    if let (Some(p), Some(outcome)) = (&mut principals, &identity_outcome) {
        p.extend(&outcome.principals());
    }
    let naming = plan.naming();
    let ctx = plan.context(&naming, principals.as_ref());
    let settings = import::ImportSettings {
        failure_action: plan.failure_action,
        max_concurrent_jobs: options.limits.max_concurrent_jobs,
        max_inline_bytes: options.limits.max_inline_bytes,
        job_timeout: options.job_timeout,
        tuning: options.tuning.clone(),
        staging: plan.state.staging.clone(),
    };
    let runner = import::Runner {
        aws: target,
        repository,
        plan,
        ctx: &ctx,
        members: &plan.state.members,
        settings,
        sink,
    };
    let imported = runner.run().await;
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
mod send_check {
    use super::*;
    #[allow(dead_code)]
    fn assert_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn futures_are_send(
        r: &Repository,
        m: &SnapshotManifest,
        a: &AwsContext,
        o: &RestoreOptions,
        s: &dyn ProgressSink,
        p: &RestorePlan,
    ) {
        assert_send(plan_restore(r, m, a, o, s));
        assert_send(run_restore(r, p, a, o, s));
        assert_send(identities::apply::apply(
            &a.identity_quicksight,
            "1",
            p.identities.as_ref().unwrap(),
            &o.identity_limits,
            s,
        ));
        assert_send(legacy::import_legacy(
            r,
            None,
            &legacy::LegacyImport {
                date: chrono::NaiveDate::MIN,
                prefix_format: Default::default(),
                account_id: String::new(),
                region: String::new(),
                identity_region: String::new(),
                tables: Default::default(),
            },
        ));
    }
}
