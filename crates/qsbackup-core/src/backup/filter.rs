//! Filtering with reasons: which discovered assets cannot be exported, and why. The rules are
//! those of QuickSight's "what cannot be exported" (unsupported data-source types, S3 data sources
//! from an uploaded manifest, file-based datasets, invalid VPC connection ids), plus — when
//! dependencies are exported — references to assets that no longer exist and dependents of a
//! skipped asset. Every skipped asset keeps its ARN, type, name, a reason code and a sentence.

use crate::asset::AssetType;
use crate::backup::discover::{Asset, Facts, Inventory};
use std::collections::{BTreeMap, HashSet};

pub use crate::asset::{SkipReason, SkippedAsset};

/// The outcome of filtering: what to export, what not and why.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Assets of the selected types that can be exported, in inventory order.
    pub exportable: Vec<Asset>,
    /// Assets of the selected types that will not be, with reasons.
    pub skipped: Vec<SkippedAsset>,
}

/// Data-source types the AssetBundle APIs refuse.
pub const UNSUPPORTED_DATA_SOURCE_TYPES: &[&str] = &[
    "ADOBE_ANALYTICS",
    "FILE",
    "GITHUB",
    "JIRA",
    "SALESFORCE",
    "SERVICENOW",
    "TWITTER",
];

/// What the filter needs from the config.
#[derive(Debug, Clone)]
pub struct FilterOptions {
    pub asset_types: Vec<AssetType>,
    pub include_dependencies: bool,
    /// The account whose ARNs must resolve (references elsewhere, e.g. built-in themes, are
    /// never "missing").
    pub account_id: String,
}

fn valid_vpc_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

/// The rules that look at one asset alone.
fn own_problem(asset: &Asset, listed_sources: &HashSet<&str>) -> Option<(SkipReason, String)> {
    match &asset.facts {
        Facts::DataSource {
            source_type,
            has_s3_parameters,
            vpc_connection_arn,
        } => {
            if UNSUPPORTED_DATA_SOURCE_TYPES.contains(&source_type.as_str()) {
                return Some((
                    SkipReason::UnsupportedDataSourceType,
                    format!("Data sources of type {source_type} cannot be exported with asset bundles."),
                ));
            }
            if source_type == "S3" && !has_s3_parameters {
                return Some((
                    SkipReason::UploadedS3Manifest,
                    "This S3 data source was created from an uploaded manifest file (it has no S3Parameters), which asset bundles cannot export.".into(),
                ));
            }
            if let Some(vpc) = vpc_connection_arn {
                let id = crate::asset::id_from_arn(vpc).unwrap_or(vpc);
                if !valid_vpc_id(id) {
                    return Some((
                        SkipReason::InvalidVpcConnectionId,
                        format!("Its VPC connection id `{id}` is not of the form [\\w-]+, which asset bundles cannot export."),
                    ));
                }
            }
            None
        }
        Facts::DataSet {
            import_mode,
            uploaded_file_sources,
            describe_refused,
        } => {
            if let Some(mode) = import_mode {
                if mode != "SPICE" && mode != "DIRECT_QUERY" {
                    return Some((
                        SkipReason::FileDataSet,
                        format!("Its import mode is {mode}: datasets built from uploaded files cannot be exported with asset bundles."),
                    ));
                }
            }
            if uploaded_file_sources
                .iter()
                .any(|s| !listed_sources.contains(s.as_str()))
            {
                return Some((
                    SkipReason::FileDataSet,
                    "It is built from an uploaded file (a physical table with UploadSettings and no listed data source), which asset bundles cannot export.".into(),
                ));
            }
            if let Some(message) = describe_refused {
                return Some((
                    SkipReason::FileDataSet,
                    format!("QuickSight refuses to describe it, as it does for datasets built from uploaded files: {message}"),
                ));
            }
            None
        }
        Facts::Other if asset.asset_type == AssetType::VpcConnection && !valid_vpc_id(&asset.id) => Some((
            SkipReason::InvalidVpcConnectionId,
            format!(
                "Its id `{}` is not of the form [\\w-]+, which asset bundles cannot export.",
                asset.id
            ),
        )),
        Facts::Other => None,
    }
}

/// Applies every rule to `inventory`.
pub fn filter(inventory: &Inventory, options: &FilterOptions) -> Selection {
    let listed_sources: HashSet<&str> = inventory
        .assets
        .iter()
        .filter(|a| a.asset_type == AssetType::DataSource)
        .map(|a| a.arn.as_str())
        .collect();
    let known: HashSet<&str> = inventory.assets.iter().map(|a| a.arn.as_str()).collect();

    // arn -> (reason, message), over every discovered asset (selected or not: a dashboard is
    // judged by its datasets even when datasets are not selected).
    let mut verdicts: BTreeMap<&str, (SkipReason, String)> = BTreeMap::new();
    for asset in &inventory.assets {
        if let Some(v) = own_problem(asset, &listed_sources) {
            verdicts.insert(asset.arn.as_str(), v);
        }
    }
    if options.include_dependencies {
        for asset in &inventory.assets {
            if verdicts.contains_key(asset.arn.as_str()) {
                continue;
            }
            let missing = asset.depends_on.iter().flatten().find(|r| {
                !known.contains(r.as_str())
                    && account_of(r) == Some(options.account_id.as_str())
                    && AssetType::from_arn(r).is_some()
            });
            if let Some(r) = missing {
                let t = AssetType::from_arn(r).map(|t| t.as_str()).unwrap_or("asset");
                verdicts.insert(
                    asset.arn.as_str(),
                    (
                        SkipReason::MissingReference,
                        format!("It references {t} {r}, which no longer exists."),
                    ),
                );
            }
        }
        // Dependents of skipped assets, until nothing changes (chains: dashboard -> dataset ->
        // data source -> VPC connection).
        loop {
            let mut added = Vec::new();
            for asset in &inventory.assets {
                if verdicts.contains_key(asset.arn.as_str()) {
                    continue;
                }
                let bad = asset
                    .depends_on
                    .iter()
                    .flatten()
                    .find(|r| verdicts.contains_key(r.as_str()));
                if let Some(r) = bad {
                    let dep = inventory.get(r);
                    let (t, name) = dep
                        .map(|d| (d.asset_type.as_str(), d.name.as_str()))
                        .unwrap_or(("asset", r.as_str()));
                    added.push((
                        asset.arn.as_str(),
                        (
                            SkipReason::DependsOnSkippedAsset,
                            format!("It depends on {t} \"{name}\" ({r}), which cannot be exported."),
                        ),
                    ));
                }
            }
            if added.is_empty() {
                break;
            }
            verdicts.extend(added);
        }
    }

    let selected: HashSet<AssetType> = options.asset_types.iter().copied().collect();
    let mut selection = Selection::default();
    for asset in inventory.assets.iter().filter(|a| selected.contains(&a.asset_type)) {
        match verdicts.get(asset.arn.as_str()) {
            Some((reason, message)) => selection.skipped.push(SkippedAsset {
                arn: asset.arn.clone(),
                asset_type: asset.asset_type,
                name: asset.name.clone(),
                reason: *reason,
                message: message.clone(),
            }),
            None => selection.exportable.push(asset.clone()),
        }
    }
    for asset in inventory.vanished.iter().filter(|a| selected.contains(&a.asset_type)) {
        selection.skipped.push(SkippedAsset {
            arn: asset.arn.clone(),
            asset_type: asset.asset_type,
            name: asset.name.clone(),
            reason: SkipReason::DeletedDuringBackup,
            message: "It was deleted while the backup was running.".into(),
        });
    }
    selection
}

#[cfg(test)]
mod tests;
