//! The drill's check: what the restore put in the target, read back and compared with what it
//! imported. Assets are read back the way the backup reads them: asset bundle export jobs of
//! the target (no dependencies, with permissions, tags and folder memberships), whose members
//! are the service's full description of each asset in the very format the snapshot holds, so
//! the comparison is member against member ([`super::compare`]). The exported bundles go to a
//! private temporary directory, removed when the check ends, so a large account's check holds
//! one member at a time in memory. Identities are checked against a listing of the target.

use super::compare::{differences, Difference};
use super::DrillError;
use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::backup::export::{DependencyIndex, ExportSettings, Exporter, KeyLayout, Tuning};
use crate::backup::plan::{BundleAsset, BundlePlan, PlannedBundle};
use crate::config::ExportFormat;
use crate::error::Error;
use crate::events::NoProgress;
use crate::identities::{IdentitySnapshot, ReadLimits};
use crate::repository::bundle_file::{fetch, read_member};
use crate::repository::Repository;
use crate::restore::identities::apply::{IdentityOutcome, ItemOutcome};
use crate::restore::AssetKey;
use object_store::local::LocalFileSystem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Assets per export job of the check (QuickSight allows up to 100 ARNs per job).
const CHECK_BUNDLE_ASSETS: usize = 50;

/// How one restored asset compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum AssetCheck {
    /// The target holds it as it was imported.
    Equal,
    /// The target holds it with differences.
    Different { differences: Vec<Difference> },
    /// It could not be read back from the target.
    Unreadable { message: String },
}

/// An identity the restore should have left in the target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdentityRef {
    /// `user`, `group` or `membership`.
    pub kind: String,
    pub namespace: String,
    /// The name (a membership: `group/user`).
    pub name: String,
}

impl std::fmt::Display for IdentityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// By the asset's key in the target.
    pub assets: BTreeMap<AssetKey, AssetCheck>,
    pub identities_present: usize,
    pub identities_missing: Vec<IdentityRef>,
    pub notes: Vec<String>,
}

impl Checked {
    /// Nothing could be read back: every asset unchecked, for `why`.
    pub fn unreadable(expected: &BTreeMap<AssetKey, Value>, why: &str) -> Checked {
        Checked {
            assets: expected
                .keys()
                .map(|k| {
                    let message = format!("the check could not run: {why}");
                    (k.clone(), AssetCheck::Unreadable { message })
                })
                .collect(),
            notes: vec![format!("the check could not run: {why}")],
            ..Checked::default()
        }
    }
}

/// Reads the `expected` assets (by key in the target, as imported) back from `target` and
/// compares them, then checks that every identity the restore created or found is there.
pub async fn check(
    target: &AwsContext,
    expected: &BTreeMap<AssetKey, Value>,
    identities: Option<&IdentityOutcome>,
    job_timeout: Duration,
    tuning: &Tuning,
    cancel: &CancellationToken,
) -> Result<Checked, DrillError> {
    let mut checked = Checked::default();
    let (found, unreadable, notes) = read_back(target, expected, job_timeout, tuning, cancel).await?;
    checked.notes = notes;
    for (key, imported) in expected {
        let result = match (found.get(key), unreadable.get(key)) {
            (Some(member), _) => {
                let differences = differences(imported, member);
                if differences.is_empty() {
                    AssetCheck::Equal
                } else {
                    AssetCheck::Different { differences }
                }
            }
            (None, Some(message)) => AssetCheck::Unreadable {
                message: message.clone(),
            },
            (None, None) => AssetCheck::Unreadable {
                message: "the target's export of it holds no such member".into(),
            },
        };
        checked.assets.insert(key.clone(), result);
    }
    if let Some(outcome) = identities {
        let wanted = wanted_identities(outcome);
        if !wanted.is_empty() {
            let listed =
                crate::identities::snapshot(&target.identity_quicksight, &target.account_id, &ReadLimits::default())
                    .await?;
            let present = present_identities(&listed);
            for w in wanted {
                if present.contains(&w) {
                    checked.identities_present += 1;
                } else {
                    checked.identities_missing.push(w);
                }
            }
        }
    }
    Ok(checked)
}

/// Users, groups and memberships the identity step created or found.
fn wanted_identities(outcome: &IdentityOutcome) -> BTreeSet<IdentityRef> {
    outcome
        .items
        .iter()
        .filter(|i| matches!(i.outcome, ItemOutcome::Created | ItemOutcome::Existed))
        .filter(|i| matches!(i.kind, "user" | "group" | "membership"))
        .map(|i| IdentityRef {
            kind: i.kind.to_string(),
            namespace: i.namespace.clone(),
            name: i.name.clone(),
        })
        .collect()
}

fn present_identities(listed: &IdentitySnapshot) -> BTreeSet<IdentityRef> {
    let mut out = BTreeSet::new();
    let mut add = |kind: &str, ns: &str, name: String| {
        out.insert(IdentityRef {
            kind: kind.into(),
            namespace: ns.into(),
            name,
        });
    };
    for ns in &listed.namespaces {
        for u in &ns.users {
            add("user", &ns.name, u.user_name.clone());
        }
        for g in &ns.groups {
            add("group", &ns.name, g.group_name.clone());
            for m in &g.members {
                add("membership", &ns.name, format!("{}/{m}", g.group_name));
            }
        }
    }
    out
}

/// A directory removed with everything in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<ScratchDir, Error> {
        let path = std::env::temp_dir().join(format!(
            "qsbackup-drill-check-{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 8]>())
        ));
        std::fs::create_dir(&path).map_err(|e| Error::io(&path, e))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type ReadBack = (BTreeMap<AssetKey, Value>, BTreeMap<AssetKey, String>, Vec<String>);

/// Exports `expected`'s assets from the target into a scratch directory: (members found, assets whose
/// export failed with why, notes).
async fn read_back(
    target: &AwsContext,
    expected: &BTreeMap<AssetKey, Value>,
    job_timeout: Duration,
    tuning: &Tuning,
    cancel: &CancellationToken,
) -> Result<ReadBack, Error> {
    let partition = crate::config::partition(&target.region);
    let arn = |k: &AssetKey| k.arn(partition, &target.region, &target.account_id);
    let mut bundles = Vec::new();
    for t in AssetType::ALL {
        let keys: Vec<&AssetKey> = expected.keys().filter(|k| k.asset_type == t).collect();
        let of = keys.len().div_ceil(CHECK_BUNDLE_ASSETS);
        for (i, chunk) in keys.chunks(CHECK_BUNDLE_ASSETS).enumerate() {
            bundles.push(PlannedBundle {
                asset_type: t,
                number: i + 1,
                of,
                assets: chunk
                    .iter()
                    .map(|k| BundleAsset {
                        arn: arn(k),
                        name: k.id.clone(),
                        last_updated: None,
                    })
                    .collect(),
            });
        }
    }
    let plan = BundlePlan { bundles };
    let scratch = ScratchDir::new()?;
    let store = LocalFileSystem::new_with_prefix(&scratch.0).map_err(|e| Error::Repository {
        repository: scratch.0.display().to_string(),
        key: String::new(),
        source: e,
    })?;
    let scratch_repo = Repository::from_store(Arc::new(store), scratch.0.display().to_string());
    let settings = ExportSettings {
        format: ExportFormat::QuickSightJson,
        include_dependencies: false,
        include_permissions: true,
        include_tags: true,
        include_folder_memberships: true,
        max_concurrent_jobs: 5,
        job_timeout,
        tuning: tuning.clone(),
    };
    let now = chrono::Utc::now();
    let layout = KeyLayout {
        date_prefix: "check".into(),
        tag: now.format("%H%M%S").to_string(),
    };
    let check_id = format!("drill-check-{}", now.format("%Y%m%dT%H%M%S"));
    let exporter = Exporter::new(
        target,
        &scratch_repo,
        settings,
        &NoProgress,
        &check_id,
        layout,
        DependencyIndex::default(),
    )?
    .with_cancel(cancel.clone());
    let outcome = exporter.export(&plan).await;
    let mut found = BTreeMap::new();
    for bundle in &outcome.bundles {
        let fetched = fetch(&scratch_repo, &bundle.key).await?;
        for m in &bundle.members {
            let Some(t) = AssetType::from_name(&m.member_type) else {
                continue;
            };
            let key = AssetKey::new(t, &m.id);
            if !expected.contains_key(&key) {
                continue;
            }
            let bytes = read_member(
                fetched.file.path(),
                &bundle.key,
                &m.path,
                crate::limits::MAX_MEMBER_BYTES,
            )?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                context: format!("member {} of the target's export", m.path),
                source,
            })?;
            found.insert(key, value);
        }
    }
    let mut unreadable = BTreeMap::new();
    for f in &outcome.failed {
        if let Some(id) = crate::asset::id_from_arn(&f.arn) {
            unreadable.insert(AssetKey::new(f.asset_type, id), f.message.clone());
        }
    }
    for s in &outcome.skipped {
        if let Some(id) = crate::asset::id_from_arn(&s.arn) {
            unreadable.insert(
                AssetKey::new(s.asset_type, id),
                format!("not in the target: {}", s.message),
            );
        }
    }
    let mut notes = outcome.notes;
    if outcome.interrupted {
        notes.push("the check was interrupted before every asset was read back".into());
    }
    Ok((found, unreadable, notes))
}
