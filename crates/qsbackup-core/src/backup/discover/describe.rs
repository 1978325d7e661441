//! The describe calls a filter rule needs, each asset at most once, a bounded number in flight.
//! Datasets are described for their physical tables (data-source references, uploaded files);
//! analyses and dashboards, only when dependencies are exported, for their datasets and theme.

use super::{Asset, Facts, Inventory};
use crate::asset::AssetType;
use crate::aws::{error_code, service_error, AwsContext};
use crate::error::Result;
use crate::events::{Event, ProgressSink};
use aws_sdk_quicksight::types::{DataSet, PhysicalTable};
use futures::StreamExt;

use super::DiscoverOptions;

enum Described {
    /// Facts and references filled in.
    Known(Asset),
    /// Gone between list and describe.
    Vanished(Asset),
    /// Kept, references unknown; the note says why.
    Unknown(Asset, String),
}

fn needs_describe(a: &Asset, options: &DiscoverOptions) -> bool {
    match a.asset_type {
        AssetType::DataSet => true,
        AssetType::Analysis | AssetType::Dashboard => options.include_dependencies,
        _ => false,
    }
}

pub(super) async fn describe_needed(
    aws: &AwsContext,
    listed: Vec<Asset>,
    options: &DiscoverOptions,
    sink: &dyn ProgressSink,
) -> Result<Inventory> {
    let (todo, mut assets): (Vec<Asset>, Vec<Asset>) = listed.into_iter().partition(|a| needs_describe(a, options));
    let total = todo.len();
    let mut inventory = Inventory::default();
    let mut results = futures::stream::iter(todo)
        .map(|a| describe_one(aws, a))
        .buffer_unordered(options.describe_concurrency.max(1));
    let mut done = 0;
    while let Some(result) = results.next().await {
        done += 1;
        sink.event(&Event::AssetsDescribed { done, total });
        match result? {
            Described::Known(a) => assets.push(a),
            Described::Vanished(a) => inventory.vanished.push(a),
            Described::Unknown(a, note) => {
                inventory.notes.push(note);
                assets.push(a);
            }
        }
    }
    inventory.assets = assets;
    Ok(inventory)
}

async fn describe_one(aws: &AwsContext, mut asset: Asset) -> Result<Described> {
    let qs = &aws.quicksight;
    let account = aws.account_id.as_str();
    macro_rules! call {
        ($op:literal, $req:expr) => {
            match $req.send().await {
                Ok(out) => out,
                Err(e) => {
                    return Ok(match error_code(&e) {
                        Some("ResourceNotFoundException") => Described::Vanished(asset),
                        code => {
                            let err = service_error($op, asset.arn.clone(), &e);
                            if code == Some("InvalidParameterValueException") {
                                if let Facts::DataSet { describe_refused, .. } = &mut asset.facts {
                                    *describe_refused = Some(err.to_string());
                                }
                            }
                            asset.depends_on = None;
                            let note = format!(
                                "{} {} ({}) could not be described, its references are unknown: {err}",
                                asset.asset_type, asset.name, asset.arn
                            );
                            Described::Unknown(asset, note)
                        }
                    })
                }
            }
        };
    }
    match asset.asset_type {
        AssetType::DataSet => {
            let out = call!(
                "DescribeDataSet",
                qs.describe_data_set().aws_account_id(account).data_set_id(&asset.id)
            );
            if let Some(ds) = out.data_set() {
                let (refs, uploaded) = data_set_references(ds);
                asset.depends_on = Some(refs);
                if let Facts::DataSet {
                    uploaded_file_sources, ..
                } = &mut asset.facts
                {
                    *uploaded_file_sources = uploaded;
                }
            }
        }
        AssetType::Analysis => {
            let out = call!(
                "DescribeAnalysis",
                qs.describe_analysis().aws_account_id(account).analysis_id(&asset.id)
            );
            if let Some(a) = out.analysis() {
                let mut refs = a.data_set_arns().to_vec();
                refs.extend(a.theme_arn().map(str::to_string));
                asset.depends_on = Some(refs);
            }
        }
        AssetType::Dashboard => {
            let out = call!(
                "DescribeDashboard",
                qs.describe_dashboard().aws_account_id(account).dashboard_id(&asset.id)
            );
            if let Some(v) = out.dashboard().and_then(|d| d.version()) {
                let mut refs = v.data_set_arns().to_vec();
                refs.extend(v.theme_arn().map(str::to_string));
                asset.depends_on = Some(refs);
            }
        }
        _ => {}
    }
    Ok(Described::Known(asset))
}

/// Data sources and parent datasets a dataset reads from, and the data sources of its
/// physical tables built from an uploaded file.
fn data_set_references(ds: &DataSet) -> (Vec<String>, Vec<String>) {
    let mut refs = Vec::new();
    let mut uploaded = Vec::new();
    for table in ds.physical_table_map().into_iter().flat_map(|m| m.values()) {
        let (source, upload) = match table {
            PhysicalTable::RelationalTable(t) => (t.data_source_arn(), false),
            PhysicalTable::CustomSql(t) => (t.data_source_arn(), false),
            PhysicalTable::S3Source(t) => (t.data_source_arn(), t.upload_settings().is_some()),
            PhysicalTable::FileSource(t) => (t.data_source_arn(), t.upload_settings().is_some()),
            PhysicalTable::SaaSTable(t) => (t.data_source_arn(), false),
            _ => continue,
        };
        if upload {
            uploaded.push(source.to_string());
        }
        refs.push(source.to_string());
    }
    for logical in ds.logical_table_map().into_iter().flat_map(|m| m.values()) {
        if let Some(parent) = logical.source().and_then(|s| s.data_set_arn()) {
            refs.push(parent.to_string());
        }
    }
    refs.sort();
    refs.dedup();
    uploaded.sort();
    uploaded.dedup();
    (refs, uploaded)
}
