//! The list calls, one per root type, each through the SDK paginator at 100 per page, all types
//! listed concurrently. Data sources come back whole from `ListDataSources`, so they need no
//! describe; the other summaries carry id, name and times.

use super::{to_chrono, Asset, Facts};
use crate::asset::AssetType;
use crate::aws::{service_error, AwsContext};
use crate::error::Result;
use crate::events::{Event, ProgressSink};
use aws_sdk_quicksight::types::{DataSourceParameters, ThemeType};
use std::collections::BTreeSet;

const PAGE: i32 = 100;

fn asset(
    asset_type: AssetType,
    arn: Option<&str>,
    id: Option<&str>,
    name: Option<&str>,
    updated: Option<&aws_smithy_types::DateTime>,
    facts: Facts,
) -> Option<Asset> {
    let arn = arn?.to_string();
    let id = id
        .map(str::to_string)
        .or_else(|| crate::asset::id_from_arn(&arn).map(str::to_string))?;
    Some(Asset {
        asset_type,
        name: name.unwrap_or(&id).to_string(),
        arn,
        id,
        last_updated: to_chrono(updated),
        depends_on: Some(Vec::new()),
        facts,
    })
}

/// Lists every type in `types` and returns all assets found.
pub(crate) async fn list_all(
    aws: &AwsContext,
    types: &BTreeSet<AssetType>,
    sink: &dyn ProgressSink,
) -> Result<Vec<Asset>> {
    let lists = types.iter().map(|t| async move {
        let assets = list_type(aws, *t).await?;
        sink.event(&Event::AssetsListed {
            asset_type: *t,
            count: assets.len(),
        });
        Ok::<_, crate::Error>(assets)
    });
    let all = futures::future::try_join_all(lists).await?;
    Ok(all.into_iter().flatten().collect())
}

async fn list_type(aws: &AwsContext, t: AssetType) -> Result<Vec<Asset>> {
    let qs = &aws.quicksight;
    let account = aws.account_id.as_str();
    let out: Vec<Asset> = match t {
        AssetType::DataSource => qs
            .list_data_sources()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListDataSources", account, &e))?
            .iter()
            .filter_map(|d| {
                let vpc = d
                    .vpc_connection_properties()
                    .map(|v| v.vpc_connection_arn().to_string());
                let mut a = asset(
                    t,
                    d.arn(),
                    d.data_source_id(),
                    d.name(),
                    d.last_updated_time(),
                    Facts::DataSource {
                        source_type: d.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                        has_s3_parameters: matches!(
                            d.data_source_parameters(),
                            Some(DataSourceParameters::S3Parameters(_))
                        ),
                        vpc_connection_arn: vpc.clone(),
                    },
                )?;
                a.depends_on = Some(vpc.into_iter().collect());
                Some(a)
            })
            .collect(),
        AssetType::DataSet => qs
            .list_data_sets()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListDataSets", account, &e))?
            .iter()
            .filter_map(|d| {
                let mut a = asset(
                    t,
                    d.arn(),
                    d.data_set_id(),
                    d.name(),
                    d.last_updated_time(),
                    Facts::DataSet {
                        import_mode: d.import_mode().map(|m| m.as_str().to_string()),
                        uploaded_file_sources: Vec::new(),
                        describe_refused: None,
                    },
                )?;
                // Not known until described.
                a.depends_on = None;
                Some(a)
            })
            .collect(),
        AssetType::Analysis => qs
            .list_analyses()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListAnalyses", account, &e))?
            .iter()
            // Deleted analyses stay listed (status DELETED) until their recovery window ends.
            .filter(|s| s.status().map(|st| st.as_str()) != Some("DELETED"))
            .filter_map(|s| {
                asset(
                    t,
                    s.arn(),
                    s.analysis_id(),
                    s.name(),
                    s.last_updated_time(),
                    Facts::Other,
                )
            })
            .collect(),
        AssetType::Dashboard => qs
            .list_dashboards()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListDashboards", account, &e))?
            .iter()
            .filter_map(|s| {
                asset(
                    t,
                    s.arn(),
                    s.dashboard_id(),
                    s.name(),
                    s.last_updated_time(),
                    Facts::Other,
                )
            })
            .collect(),
        AssetType::Theme => qs
            .list_themes()
            .aws_account_id(account)
            .r#type(ThemeType::Custom)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListThemes", account, &e))?
            .iter()
            .filter_map(|s| asset(t, s.arn(), s.theme_id(), s.name(), s.last_updated_time(), Facts::Other))
            .collect(),
        AssetType::VpcConnection => qs
            .list_vpc_connections()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListVPCConnections", account, &e))?
            .iter()
            .flat_map(|page| page.vpc_connection_summaries())
            .filter(|s| s.status().map(|st| st.as_str()) != Some("DELETED"))
            .filter_map(|s| {
                asset(
                    t,
                    s.arn(),
                    s.vpc_connection_id(),
                    s.name(),
                    s.last_updated_time(),
                    Facts::Other,
                )
            })
            .collect(),
        AssetType::Folder => qs
            .list_folders()
            .aws_account_id(account)
            .max_results(PAGE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| service_error("ListFolders", account, &e))?
            .iter()
            .filter_map(|s| asset(t, s.arn(), s.folder_id(), s.name(), s.last_updated_time(), Facts::Other))
            .collect(),
    };
    Ok(out)
}
