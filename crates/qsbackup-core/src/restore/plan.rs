//! Which assets a restore touches and what happens to each: the selection (`--select TYPE/ID`,
//! `--select-name GLOB`, or everything), the assets they depend on (followed through the ARNs in
//! the members), a decision per asset from what the target has and the conflict policy, and the
//! dependency levels that order the import jobs.

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

/// Case-insensitive glob with `*` and `?`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The assets asked for.
pub fn select(members: &SnapshotMembers, spec: &SelectionSpec) -> Result<BTreeSet<AssetKey>, RestoreError> {
    if spec.is_all() {
        return Ok(members.assets.keys().cloned().collect());
    }
    let mut selected = BTreeSet::new();
    for key in &spec.ids {
        if !members.assets.contains_key(key) {
            return Err(RestoreError::Selection(format!(
                "--select {key}: the snapshot has no such asset (`qsbackup show SNAPSHOT` lists its assets)"
            )));
        }
        selected.insert(key.clone());
    }
    for glob in &spec.names {
        let matched: Vec<&AssetKey> = members
            .assets
            .values()
            .filter(|m| glob_match(glob, &m.name))
            .map(|m| &m.key)
            .collect();
        if matched.is_empty() {
            return Err(RestoreError::Selection(format!(
                "--select-name {glob:?}: no asset of the snapshot has a matching name"
            )));
        }
        selected.extend(matched.into_iter().cloned());
    }
    Ok(selected)
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
