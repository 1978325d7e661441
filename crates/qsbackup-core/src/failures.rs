//! Failed assets by root cause, and which of them the config's `backup.acknowledged` covers.
//! An asset that fails only because it depends on one QuickSight refuses to export is listed
//! under that one, so a report names each cause once. Every driver's commit marks acknowledged
//! failures through [`mark_acknowledged`]; the reports group with [`group`].

use crate::asset::{id_from_arn, AssetType, FailReason, FailedAsset};
use serde::Serialize;
use std::collections::BTreeMap;

/// One root cause and the failed assets it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    /// The asset that cannot be exported.
    pub arn: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<AssetType>,
    pub id: String,
    /// Its name and reason, when it failed itself in this run (not only named as a dependency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
    /// Why it cannot be exported, without QuickSight's wrapping of the ARN.
    pub message: String,
    /// Every failure of the group is acknowledged.
    pub acknowledged: bool,
    /// Assets that failed only because they depend on it.
    pub dependents: Vec<Dependent>,
}

/// An asset that failed because of its group's root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    pub arn: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub name: String,
    pub acknowledged: bool,
}

impl FailureGroup {
    /// `TYPE/ID` of the root cause.
    pub fn key(&self) -> String {
        match self.asset_type {
            Some(t) => format!("{t}/{}", self.id),
            None => self.id.clone(),
        }
    }

    /// Failed assets in the group, the root cause included when it failed itself.
    pub fn len(&self) -> usize {
        self.dependents.len() + usize::from(self.reason.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// QuickSight's messages repeat the ARN (`The following resources cannot be exported: ARN
/// (why)`, `ARN cannot be exported. Call ...`); the group names the asset already.
fn cause_message(arn: &str, message: &str) -> String {
    let listed = message
        .strip_prefix("The following resources cannot be exported: ")
        .and_then(|m| m.strip_prefix(arn))
        .and_then(|m| m.strip_prefix(" ("))
        .and_then(|m| m.strip_suffix(')'));
    if let Some(why) = listed {
        return why.to_string();
    }
    message
        .strip_prefix(arn)
        .and_then(|m| m.strip_prefix(" cannot be exported. "))
        .unwrap_or(message)
        .to_string()
}

/// The failures grouped by root cause: the causes that explain the most failures first.
pub fn group(failed: &[FailedAsset]) -> Vec<FailureGroup> {
    let mut groups: BTreeMap<&str, FailureGroup> = BTreeMap::new();
    let new_group = |arn: &str| FailureGroup {
        arn: arn.to_string(),
        asset_type: AssetType::from_arn(arn),
        id: id_from_arn(arn).unwrap_or(arn).to_string(),
        name: None,
        reason: None,
        message: String::new(),
        acknowledged: true,
        dependents: Vec::new(),
    };
    for f in failed {
        match f.root_cause() {
            Some(root) => {
                let g = groups.entry(root).or_insert_with(|| new_group(root));
                if g.reason.is_none() {
                    let inherited = f.message[crate::asset::DEPENDS_ON.len() + root.len() + 2..].to_string();
                    g.message = cause_message(root, &inherited);
                }
                g.acknowledged &= f.acknowledged;
                g.dependents.push(Dependent {
                    arn: f.arn.clone(),
                    asset_type: f.asset_type,
                    name: f.name.clone(),
                    acknowledged: f.acknowledged,
                });
            }
            None => {
                let g = groups.entry(&f.arn).or_insert_with(|| new_group(&f.arn));
                g.asset_type = Some(f.asset_type);
                g.name = Some(f.name.clone());
                g.reason = Some(f.reason);
                g.message = cause_message(&f.arn, &f.message);
                g.acknowledged &= f.acknowledged;
            }
        }
    }
    let mut out: Vec<FailureGroup> = groups.into_values().collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.arn.cmp(&b.arn)));
    out
}

/// `entry` names the asset `arn`: as its ARN, its id, or `TYPE/ID`.
fn names_asset(entry: &str, arn: &str) -> bool {
    if entry == arn {
        return true;
    }
    let Some(id) = id_from_arn(arn) else {
        return false;
    };
    match entry.split_once('/') {
        Some((kind, entry_id)) => entry_id == id && AssetType::from_arn(arn).is_some_and(|t| t.as_str() == kind),
        None => entry == id,
    }
}

/// `entries` (the config's `backup.acknowledged`) cover `failed`: they name its reason code, the
/// asset, or the asset its failure comes from.
pub fn is_acknowledged<S: AsRef<str>>(failed: &FailedAsset, entries: &[S]) -> bool {
    entries.iter().map(AsRef::as_ref).any(|e| {
        e == failed.reason.code()
            || names_asset(e, &failed.arn)
            || failed.root_cause().is_some_and(|root| names_asset(e, root))
    })
}

/// Marks every failure `entries` cover as acknowledged.
pub fn mark_acknowledged<S: AsRef<str>>(failed: &mut [FailedAsset], entries: &[S]) {
    for f in failed {
        f.acknowledged = is_acknowledged(f, entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ML: &str = "arn:aws:quicksight:us-east-1:123456789012:dataset/dataset-0011";

    fn failed(arn: &str, message: &str) -> FailedAsset {
        FailedAsset {
            arn: arn.into(),
            asset_type: AssetType::from_arn(arn).unwrap(),
            name: format!("name of {}", id_from_arn(arn).unwrap()),
            reason: FailReason::ExportRefused,
            message: message.into(),
            acknowledged: false,
        }
    }

    fn sample() -> Vec<FailedAsset> {
        let why = format!("The following resources cannot be exported: {ML} (ML columns are not supported)");
        let dash = "arn:aws:quicksight:us-east-1:123456789012:dashboard/d5";
        let mut def = failed(
            dash,
            &format!("{dash} cannot be exported. Call DescribeDashboardDefinition."),
        );
        def.reason = FailReason::ExportJobFailed;
        vec![
            failed(ML, &why),
            failed(
                "arn:aws:quicksight:us-east-1:123456789012:analysis/a4",
                &format!("It depends on {ML}: {why}"),
            ),
            failed(
                "arn:aws:quicksight:us-east-1:123456789012:dashboard/d4",
                &format!("It depends on {ML}: {why}"),
            ),
            def,
        ]
    }

    #[test]
    fn failures_are_grouped_under_their_root_cause() {
        let groups = group(&sample());
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0].key(), "dataset/dataset-0011");
        assert_eq!(groups[0].message, "ML columns are not supported");
        assert_eq!(groups[0].dependents.len(), 2);
        assert_eq!(groups[0].len(), 3);
        assert_eq!(groups[1].message, "Call DescribeDashboardDefinition.");
        assert!(groups[1].dependents.is_empty());
    }

    #[test]
    fn a_root_cause_acknowledges_what_depends_on_it() {
        for entry in ["dataset-0011", "dataset/dataset-0011", ML] {
            let mut f = sample();
            mark_acknowledged(&mut f, &[entry]);
            let acked: Vec<bool> = f.iter().map(|f| f.acknowledged).collect();
            assert_eq!(acked, [true, true, true, false], "{entry}");
        }
        let mut f = sample();
        mark_acknowledged(&mut f, &["export_job_failed", "dashboard/dataset-0011"]);
        let acked: Vec<bool> = f.iter().map(|f| f.acknowledged).collect();
        assert_eq!(acked, [false, false, false, true]);
        let groups = group(&f);
        assert!(!groups[0].acknowledged && groups[1].acknowledged);
    }
}
