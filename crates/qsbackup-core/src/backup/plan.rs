//! Bundle planning: exportable assets grouped by type into bundles of at most
//! `max_assets_per_bundle`, numbered per type as the sample tool numbers its files, and ordered
//! longest-expected-first so the last job to finish is a short one (a shorter run overall).

use crate::asset::AssetType;
use crate::backup::filter::Selection;
use serde::{Deserialize, Serialize};

/// An asset as a bundle carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleAsset {
    pub arn: String,
    pub name: String,
    /// QuickSight's `LastUpdatedTime` as discovery listed it; the manifest keeps it per member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<chrono::DateTime<chrono::Utc>>,
}

/// One planned export job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedBundle {
    pub asset_type: AssetType,
    /// 1-based number among the bundles of this type.
    pub number: usize,
    /// How many bundles this type has (a single bundle gets no `_bundle_<n>` in its key).
    pub of: usize,
    pub assets: Vec<BundleAsset>,
}

/// Every bundle of a run, in the order to start them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePlan {
    pub bundles: Vec<PlannedBundle>,
}

impl BundlePlan {
    /// Assets over all bundles.
    pub fn asset_count(&self) -> usize {
        self.bundles.iter().map(|b| b.assets.len()).sum()
    }
}

/// Expected export time of a bundle of `assets` assets of type `t`, in arbitrary units: a fixed
/// part per job plus a part per asset, heavier for types whose exports pull in their dependencies
/// (a dashboard brings its datasets and their data sources).
pub fn estimated_cost(t: AssetType, assets: usize) -> usize {
    let per_asset = match t {
        AssetType::Dashboard | AssetType::Analysis => 6,
        AssetType::DataSet => 3,
        _ => 1,
    };
    60 + assets * per_asset
}

/// Groups the exportable assets of `selection` into bundles.
pub fn plan(selection: &Selection, max_assets_per_bundle: usize) -> BundlePlan {
    let size = max_assets_per_bundle.clamp(1, 100);
    let mut bundles = Vec::new();
    for t in AssetType::ALL {
        let assets: Vec<BundleAsset> = selection
            .exportable
            .iter()
            .filter(|a| a.asset_type == t)
            .map(|a| BundleAsset {
                arn: a.arn.clone(),
                name: a.name.clone(),
                last_updated: a.last_updated,
            })
            .collect();
        let of = assets.len().div_ceil(size);
        for (i, chunk) in assets.chunks(size).enumerate() {
            bundles.push(PlannedBundle {
                asset_type: t,
                number: i + 1,
                of,
                assets: chunk.to_vec(),
            });
        }
    }
    // Stable: equal costs keep type order.
    bundles.sort_by_key(|b| std::cmp::Reverse(estimated_cost(b.asset_type, b.assets.len())));
    BundlePlan { bundles }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::discover::{Asset, Facts};

    fn a(t: AssetType, i: usize) -> Asset {
        Asset {
            asset_type: t,
            arn: format!("arn:aws:quicksight:us-east-1:123456789012:{t}/{i}"),
            id: i.to_string(),
            name: format!("n{i}"),
            last_updated: None,
            depends_on: Some(vec![]),
            facts: Facts::Other,
        }
    }

    #[test]
    fn bundles_respect_the_size_and_group_by_type() {
        let mut exportable: Vec<Asset> = (0..7).map(|i| a(AssetType::DataSet, i)).collect();
        exportable.extend((0..2).map(|i| a(AssetType::Theme, i)));
        let selection = Selection {
            exportable,
            skipped: vec![],
        };
        let p = plan(&selection, 3);
        assert_eq!(p.bundles.len(), 4);
        assert_eq!(p.asset_count(), 9);
        assert!(p.bundles.iter().all(|b| b.assets.len() <= 3));
        let themes: Vec<_> = p.bundles.iter().filter(|b| b.asset_type == AssetType::Theme).collect();
        assert_eq!((themes[0].number, themes[0].of), (1, 1));
        let sets: Vec<_> = p
            .bundles
            .iter()
            .filter(|b| b.asset_type == AssetType::DataSet)
            .map(|b| (b.number, b.of, b.assets.len()))
            .collect();
        assert_eq!(sets, vec![(1, 3, 3), (2, 3, 3), (3, 3, 1)]);
        // Longest first: full dataset bundles lead, the cheap theme bundle comes last.
        assert_eq!(p.bundles[0].assets.len(), 3);
        assert_eq!(p.bundles.last().map(|b| b.asset_type), Some(AssetType::Theme));
    }
}
