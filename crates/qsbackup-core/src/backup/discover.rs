//! Discovery: what exists in the account. Every exportable root type is listed (every list
//! paginated, 100 per page); describe calls are made only where a list summary lacks what a
//! filter rule needs — `DescribeDataSet` for physical tables and data-source references, and
//! `DescribeAnalysis` / `DescribeDashboard` for their dataset references when dependencies are
//! exported — each asset described at most once, concurrently under a bound.
//! The result is an [`Inventory`].

mod describe;
mod list;

pub(crate) use list::list_all;

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::error::Result;
use crate::events::{Event, ProgressSink};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

/// One asset as discovery saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    pub asset_type: AssetType,
    pub arn: String,
    pub id: String,
    pub name: String,
    pub last_updated: Option<DateTime<Utc>>,
    /// ARNs of the assets this one needs to be exported with its dependencies
    /// (`None` when they could not be learned).
    pub depends_on: Option<Vec<String>>,
    /// What the filter rules look at for this type.
    pub facts: Facts,
}

/// Type-specific facts the filter rules need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Facts {
    DataSource {
        /// `Type` as QuickSight spells it (`S3`, `SALESFORCE`, ...).
        source_type: String,
        has_s3_parameters: bool,
        vpc_connection_arn: Option<String>,
    },
    DataSet {
        /// `ImportMode` from the list summary, as spelled by the service.
        import_mode: Option<String>,
        /// Data sources of physical tables built from an uploaded file (`UploadSettings`).
        uploaded_file_sources: Vec<String>,
        /// `DescribeDataSet` refused the dataset as unsupported (file uploads do that on AWS).
        describe_refused: Option<String>,
    },
    Other,
}

/// Everything discovered in one account and region.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    pub assets: Vec<Asset>,
    /// Assets listed but gone by the time they were described.
    pub vanished: Vec<Asset>,
    /// Things worth telling the user (describe calls refused, ...).
    pub notes: Vec<String>,
}

impl Inventory {
    /// The asset with `arn`, if discovered.
    pub fn get(&self, arn: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.arn == arn)
    }

    /// Number of assets of `asset_type`.
    pub fn count(&self, asset_type: AssetType) -> usize {
        self.assets.iter().filter(|a| a.asset_type == asset_type).count()
    }
}

/// What to discover and how hard to push.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Types to back up.
    pub asset_types: Vec<AssetType>,
    /// Whether exports include dependencies (then dependency references are needed).
    pub include_dependencies: bool,
    /// Describe calls in flight at once.
    pub describe_concurrency: usize,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            asset_types: AssetType::all(),
            include_dependencies: true,
            describe_concurrency: 8,
        }
    }
}

/// Types that must be listed: the selected ones and, when dependencies are exported, every type
/// a selected one can depend on (the filter rules judge a dashboard by its datasets' sources).
pub fn types_to_list(options: &DiscoverOptions) -> BTreeSet<AssetType> {
    let mut types: BTreeSet<AssetType> = options.asset_types.iter().copied().collect();
    if options.include_dependencies {
        loop {
            let before = types.len();
            for t in types.clone() {
                types.extend(dependency_types(t));
            }
            if types.len() == before {
                break;
            }
        }
    }
    types
}

fn dependency_types(t: AssetType) -> &'static [AssetType] {
    match t {
        AssetType::Dashboard | AssetType::Analysis => &[AssetType::DataSet, AssetType::Theme],
        AssetType::DataSet => &[AssetType::DataSource],
        AssetType::DataSource => &[AssetType::VpcConnection],
        _ => &[],
    }
}

/// Lists, then describes what the rules need, and returns the inventory.
pub async fn discover(aws: &AwsContext, options: &DiscoverOptions, sink: &dyn ProgressSink) -> Result<Inventory> {
    sink.event(&Event::DiscoveryStarted);
    let types = types_to_list(options);
    let listed = list::list_all(aws, &types, sink).await?;
    let mut inventory = describe::describe_needed(aws, listed, options, sink).await?;
    inventory
        .assets
        .sort_by(|a, b| (a.asset_type, &a.id).cmp(&(b.asset_type, &b.id)));
    sink.event(&Event::DiscoveryFinished {
        total: inventory.assets.len(),
    });
    Ok(inventory)
}

pub(crate) fn to_chrono(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_widen_what_is_listed() {
        let opts = DiscoverOptions {
            asset_types: vec![AssetType::Dashboard],
            ..Default::default()
        };
        let types = types_to_list(&opts);
        for t in [
            AssetType::Dashboard,
            AssetType::DataSet,
            AssetType::Theme,
            AssetType::DataSource,
            AssetType::VpcConnection,
        ] {
            assert!(types.contains(&t), "{t} missing");
        }
        assert!(!types.contains(&AssetType::Folder));
        let alone = DiscoverOptions {
            include_dependencies: false,
            ..opts
        };
        assert_eq!(types_to_list(&alone).len(), 1);
    }
}
