//! Which assets a restore touches and what happens to each: the selection (`--select TYPE/ID`,
//! `--select-name GLOB`, or everything), the assets they depend on (followed through the ARNs in
//! the members), a decision per asset from what the target has and the conflict policy, and the
//! dependency levels that order the import jobs. An asset whose member is refused
//! ([`super::members::RefusedMember`]) is not restored, nor is anything that depends on it: each
//! is listed with the reason ([`Refusal`]).

use super::members::SnapshotMembers;
use super::{AssetKey, ConflictPolicy, RestoreError, SelectionSpec};
use crate::asset::AssetType;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a restore does with one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Not in the target: imported.
    Create,
    /// Selected and in the target, `--conflict update`: imported over it.
    Update,
    /// Selected and in the target, `--conflict skip`: left as it is.
    Skip,
    /// Needed by a selected asset and already in the target: used as it is.
    Keep,
}

impl Decision {
    pub fn imports(self) -> bool {
        matches!(self, Decision::Create | Decision::Update)
    }
}

/// One asset of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedAsset {
    #[serde(rename = "asset")]
    pub key: AssetKey,
    pub name: String,
    pub target_id: String,
    pub decision: Decision,
    /// Asked for, rather than needed by something asked for.
    pub selected: bool,
    /// The import job that carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<usize>,
    /// Assets it depends on that are neither in the snapshot nor in the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<AssetKey>,
}

/// An asset (or refresh schedule) of the snapshot that is not restored because its member
/// cannot be used, or because it depends on one that cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// `type/id`.
    pub asset: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} {:?}: {}", self.asset, n, self.reason),
            None => write!(f, "{}: {}", self.asset, self.reason),
        }
    }
}

/// How the reason of an asset refused for a dependency starts.
const DEPENDS: &str = "it depends on ";

/// Assets that cannot be restored: those whose member is refused, and (transitively) every
/// asset that refers to one, each with the refused asset at the root of its chain.
pub fn unusable(members: &SnapshotMembers) -> BTreeMap<AssetKey, (AssetKey, String)> {
    let mut out: BTreeMap<AssetKey, (AssetKey, String)> = members
        .refused
        .iter()
        .filter_map(|r| {
            let a = r.asset.clone()?;
            Some((a.clone(), (a, format!("member {} {}", r.path, r.reason))))
        })
        .collect();
    loop {
        let mut more = Vec::new();
        for (key, m) in &members.assets {
            if out.contains_key(key) {
                continue;
            }
            if let Some(dep) = m.references.iter().find(|r| out.contains_key(*r)) {
                let root = out[dep].0.clone();
                let why = format!("{DEPENDS}{dep}, which cannot be restored ({root} is refused)");
                more.push((key.clone(), (root, why)));
            }
        }
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

fn refusal_of(members: &SnapshotMembers, key: &AssetKey, reason: &str) -> Refusal {
    let name = members.assets.get(key).map(|m| m.name.clone()).or_else(|| {
        members
            .refused
            .iter()
            .find(|r| r.asset.as_ref() == Some(key))
            .and_then(|r| r.name.clone())
    });
    Refusal {
        asset: key.to_string(),
        name,
        reason: reason.to_string(),
    }
}

/// The assets asked for that can be restored, and the ones asked for (or needed) that cannot,
/// with why. Selecting everything refuses every unusable member of the snapshot.
pub fn select_usable(
    members: &SnapshotMembers,
    spec: &SelectionSpec,
) -> Result<(BTreeSet<AssetKey>, Vec<Refusal>), RestoreError> {
    let unusable = unusable(members);
    let mut refused: BTreeMap<String, Refusal> = BTreeMap::new();
    let refuse = |key: &AssetKey, refused: &mut BTreeMap<String, Refusal>| {
        let (root, reason) = &unusable[key];
        refused.insert(key.to_string(), refusal_of(members, key, reason));
        if root != key {
            refused.insert(root.to_string(), refusal_of(members, root, &unusable[root].1));
        }
    };
    if spec.is_all() {
        for key in unusable.keys() {
            refuse(key, &mut refused);
        }
        // Refused members that are not assets (refresh schedules).
        for r in members.refused.iter().filter(|r| r.asset.is_none()) {
            refused.insert(
                r.member.clone(),
                Refusal {
                    asset: r.member.clone(),
                    name: r.name.clone(),
                    reason: format!("member {} {}", r.path, r.reason),
                },
            );
        }
        let usable = members
            .assets
            .keys()
            .filter(|k| !unusable.contains_key(*k))
            .cloned()
            .collect();
        return Ok((usable, roots_first(refused)));
    }
    let mut wanted = BTreeSet::new();
    for key in &spec.ids {
        if !members.assets.contains_key(key) && !unusable.contains_key(key) {
            return Err(RestoreError::NoSuchAsset {
                asset: key.clone(),
                held_by: None,
            });
        }
        wanted.insert(key.clone());
    }
    for glob in &spec.names {
        let mut matched: Vec<AssetKey> = members
            .assets
            .values()
            .filter(|m| glob_match(glob, &m.name))
            .map(|m| m.key.clone())
            .collect();
        matched.extend(
            members
                .refused
                .iter()
                .filter(|r| r.name.as_deref().is_some_and(|n| glob_match(glob, n)))
                .filter_map(|r| r.asset.clone()),
        );
        if matched.is_empty() {
            return Err(RestoreError::Selection(format!(
                "--select-name {glob:?}: no asset of the snapshot has a matching name"
            )));
        }
        wanted.extend(matched);
    }
    let mut usable = BTreeSet::new();
    for key in wanted {
        if unusable.contains_key(&key) {
            refuse(&key, &mut refused);
        } else {
            usable.insert(key);
        }
    }
    Ok((usable, roots_first(refused)))
}

/// Refusals with the refused members first and what depends on them after, so a short list
/// shows the causes.
fn roots_first(refused: BTreeMap<String, Refusal>) -> Vec<Refusal> {
    let (mut roots, dependents): (Vec<Refusal>, Vec<Refusal>) =
        refused.into_values().partition(|r| !r.reason.starts_with(DEPENDS));
    roots.extend(dependents);
    roots
}

/// Case-insensitive glob with `*` and `?` only (`[` is an ordinary character: names hold them).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    wildmatch::WildMatch::new(&pattern.to_lowercase()).matches(&text.to_lowercase())
}

/// The assets asked for that can be restored (see [`select_usable`]).
pub fn select(members: &SnapshotMembers, spec: &SelectionSpec) -> Result<BTreeSet<AssetKey>, RestoreError> {
    select_usable(members, spec).map(|(usable, _)| usable)
}

/// Decides every asset the selection needs. `existing` holds the target's assets by target id;
/// `target_id` gives an asset's id in the target.
pub fn decide(
    members: &SnapshotMembers,
    selected: &BTreeSet<AssetKey>,
    existing: &BTreeSet<AssetKey>,
    conflict: ConflictPolicy,
    target_id: &dyn Fn(&AssetKey) -> String,
) -> Result<(Vec<PlannedAsset>, Vec<String>), RestoreError> {
    let in_target = |k: &AssetKey| existing.contains(&AssetKey::new(k.asset_type, &target_id(k)));
    let mut planned: BTreeMap<AssetKey, PlannedAsset> = BTreeMap::new();
    let mut conflicts = Vec::new();
    let mut warnings = Vec::new();
    let mut queue: VecDeque<AssetKey> = selected.iter().cloned().collect();
    while let Some(key) = queue.pop_front() {
        if planned.contains_key(&key) {
            continue;
        }
        let Some(member) = members.assets.get(&key) else {
            continue;
        };
        let is_selected = selected.contains(&key);
        let decision = match (in_target(&key), is_selected, conflict) {
            (false, _, _) => Decision::Create,
            (true, false, _) => Decision::Keep,
            (true, true, ConflictPolicy::Update) => Decision::Update,
            (true, true, ConflictPolicy::Skip) => Decision::Skip,
            (true, true, ConflictPolicy::Fail) => {
                conflicts.push(key.to_string());
                Decision::Skip
            }
        };
        let mut missing = Vec::new();
        if decision.imports() {
            for dep in &member.references {
                if members.assets.contains_key(dep) {
                    queue.push_back(dep.clone());
                } else if !existing.contains(dep) {
                    missing.push(dep.clone());
                }
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
            warnings.push(format!(
                "{key} refers to {}, in neither the snapshot nor the target; its import may fail",
                list.join(", ")
            ));
        }
        planned.insert(
            key.clone(),
            PlannedAsset {
                name: member.name.clone(),
                target_id: target_id(&key),
                decision,
                selected: is_selected,
                job: None,
                missing,
                key,
            },
        );
    }
    if !conflicts.is_empty() {
        return Err(RestoreError::Conflicts { list: conflicts });
    }
    Ok((planned.into_values().collect(), warnings))
}

/// `imported` in dependency levels: each asset after everything it references that is imported
/// too. Assets caught in a reference cycle share the last level. With `folders_apart`, the
/// folders an asset belongs to do not count for its level (the folders all travel in one job
/// that the others wait for), which keeps nested folders from lengthening the chain of jobs.
pub fn levels(imported: &BTreeSet<AssetKey>, members: &SnapshotMembers, folders_apart: bool) -> Vec<Vec<AssetKey>> {
    let counts = |k: &AssetKey, r: &AssetKey| {
        imported.contains(r)
            && !(folders_apart && r.asset_type == AssetType::Folder && k.asset_type != AssetType::Folder)
    };
    let deps: BTreeMap<&AssetKey, BTreeSet<&AssetKey>> = imported
        .iter()
        .map(|k| {
            let d = members
                .assets
                .get(k)
                .map(|m| m.references.iter().filter(|r| counts(k, r)).collect())
                .unwrap_or_default();
            (k, d)
        })
        .collect();
    let mut done: BTreeSet<&AssetKey> = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < deps.len() {
        let ready: Vec<&AssetKey> = deps
            .iter()
            .filter(|(k, d)| !done.contains(*k) && d.iter().all(|x| done.contains(x)))
            .map(|(k, _)| *k)
            .collect();
        let level: Vec<&AssetKey> = if ready.is_empty() {
            deps.keys().filter(|k| !done.contains(*k)).copied().collect()
        } else {
            ready
        };
        done.extend(level.iter().copied());
        out.push(level.into_iter().cloned().collect());
    }
    out
}

#[cfg(test)]
mod tests;
