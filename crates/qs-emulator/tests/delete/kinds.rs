//! Each asset type's list, describe and delete through its own SDK calls,
//! and folder helpers.

use aws_sdk_quicksight::types::{MemberType, VpcConnectionResourceStatus};
use aws_sdk_quicksight::Client;

use super::common::{failure, not_found, Failure, ACCOUNT};

/// The asset types a teardown deletes, each through its own SDK calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    DataSource,
    DataSet,
    Analysis,
    Dashboard,
    Theme,
    VpcConnection,
    Folder,
    Topic,
}

pub const KINDS: [Kind; 8] = [
    Kind::Dashboard,
    Kind::Analysis,
    Kind::Topic,
    Kind::DataSet,
    Kind::DataSource,
    Kind::Theme,
    Kind::VpcConnection,
    Kind::Folder,
];

pub async fn ids(qs: &Client, kind: Kind) -> Vec<String> {
    let a = ACCOUNT;
    let own = |v: Option<&str>| v.unwrap_or_default().to_string();
    match kind {
        Kind::DataSource => qs
            .list_data_sources()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .data_sources()
            .iter()
            .map(|s| own(s.data_source_id()))
            .collect(),
        Kind::DataSet => qs
            .list_data_sets()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .data_set_summaries()
            .iter()
            .map(|s| own(s.data_set_id()))
            .collect(),
        Kind::Analysis => qs
            .list_analyses()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .analysis_summary_list()
            .iter()
            .map(|s| own(s.analysis_id()))
            .collect(),
        Kind::Dashboard => qs
            .list_dashboards()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .dashboard_summary_list()
            .iter()
            .map(|s| own(s.dashboard_id()))
            .collect(),
        Kind::Theme => qs
            .list_themes()
            .aws_account_id(a)
            .r#type(aws_sdk_quicksight::types::ThemeType::Custom)
            .send()
            .await
            .expect("list")
            .theme_summary_list()
            .iter()
            .map(|s| own(s.theme_id()))
            .collect(),
        Kind::VpcConnection => qs
            .list_vpc_connections()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .vpc_connection_summaries()
            .iter()
            .map(|s| own(s.vpc_connection_id()))
            .collect(),
        Kind::Folder => qs
            .list_folders()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .folder_summary_list()
            .iter()
            .map(|s| own(s.folder_id()))
            .collect(),
        Kind::Topic => qs
            .list_topics()
            .aws_account_id(a)
            .send()
            .await
            .expect("list")
            .topics_summaries()
            .iter()
            .map(|s| own(s.topic_id()))
            .collect(),
    }
}

pub async fn describe(qs: &Client, kind: Kind, id: &str) -> Result<(), Failure> {
    let a = ACCOUNT;
    match kind {
        Kind::DataSource => qs
            .describe_data_source()
            .aws_account_id(a)
            .data_source_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::DataSet => qs
            .describe_data_set()
            .aws_account_id(a)
            .data_set_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::Analysis => qs
            .describe_analysis()
            .aws_account_id(a)
            .analysis_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::Dashboard => qs
            .describe_dashboard()
            .aws_account_id(a)
            .dashboard_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::Theme => qs
            .describe_theme()
            .aws_account_id(a)
            .theme_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::VpcConnection => qs
            .describe_vpc_connection()
            .aws_account_id(a)
            .vpc_connection_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::Folder => qs
            .describe_folder()
            .aws_account_id(a)
            .folder_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
        Kind::Topic => qs
            .describe_topic()
            .aws_account_id(a)
            .topic_id(id)
            .send()
            .await
            .map(drop)
            .map_err(failure),
    }
}

/// Deletes an asset for good (analyses without a recovery window) and
/// returns the ARN the response names.
pub async fn delete(qs: &Client, kind: Kind, id: &str) -> Result<String, Failure> {
    let a = ACCOUNT;
    let arn = |v: Option<&str>| v.unwrap_or_default().to_string();
    match kind {
        Kind::DataSource => qs
            .delete_data_source()
            .aws_account_id(a)
            .data_source_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::DataSet => qs
            .delete_data_set()
            .aws_account_id(a)
            .data_set_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::Analysis => qs
            .delete_analysis()
            .aws_account_id(a)
            .analysis_id(id)
            .force_delete_without_recovery(true)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::Dashboard => qs
            .delete_dashboard()
            .aws_account_id(a)
            .dashboard_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::Theme => qs
            .delete_theme()
            .aws_account_id(a)
            .theme_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::VpcConnection => qs
            .delete_vpc_connection()
            .aws_account_id(a)
            .vpc_connection_id(id)
            .send()
            .await
            .map(|o| {
                assert_eq!(o.deletion_status(), Some(&VpcConnectionResourceStatus::Deleted));
                arn(o.arn())
            })
            .map_err(failure),
        Kind::Folder => qs
            .delete_folder()
            .aws_account_id(a)
            .folder_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
        Kind::Topic => qs
            .delete_topic()
            .aws_account_id(a)
            .topic_id(id)
            .send()
            .await
            .map(|o| arn(o.arn()))
            .map_err(failure),
    }
}

pub async fn folder_members(qs: &Client, folder: &str) -> Vec<String> {
    qs.list_folder_members()
        .aws_account_id(ACCOUNT)
        .folder_id(folder)
        .send()
        .await
        .expect("list folder members")
        .folder_member_list()
        .iter()
        .filter_map(|m| m.member_arn().map(str::to_string))
        .collect()
}

/// Every folder with its members' ARNs.
pub async fn all_folder_members(qs: &Client) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for f in ids(qs, Kind::Folder).await {
        let members = folder_members(qs, &f).await;
        out.push((f, members));
    }
    out
}

/// Takes every asset out of `folder` and deletes its subfolders, deepest first,
/// checking that each membership goes exactly once.
pub async fn empty_folder(qs: &Client, folder: &str) {
    for member in folder_members(qs, folder).await {
        let id = member.rsplit('/').next().unwrap_or_default().to_string();
        let member_type = match member.split(':').nth(5).and_then(|r| r.split('/').next()) {
            Some("dashboard") => MemberType::Dashboard,
            Some("analysis") => MemberType::Analysis,
            Some("dataset") => MemberType::Dataset,
            Some("datasource") => MemberType::Datasource,
            Some("topic") => MemberType::Topic,
            Some("folder") => {
                Box::pin(empty_folder(qs, &id)).await;
                delete(qs, Kind::Folder, &id).await.expect("delete subfolder");
                continue;
            }
            other => panic!("unexpected member type {other:?} in {member}"),
        };
        let remove = || {
            qs.delete_folder_membership()
                .aws_account_id(ACCOUNT)
                .folder_id(folder)
                .member_id(&id)
                .member_type(member_type.clone())
                .send()
        };
        remove().await.expect("delete folder membership");
        assert_eq!(remove().await.map_err(failure).err(), Some(not_found()));
        describe(qs, kind_of(&member), &id)
            .await
            .expect("the member itself stays");
    }
    assert!(folder_members(qs, folder).await.is_empty());
}

pub fn kind_of(arn: &str) -> Kind {
    match arn.split(':').nth(5).and_then(|r| r.split('/').next()) {
        Some("dashboard") => Kind::Dashboard,
        Some("analysis") => Kind::Analysis,
        Some("dataset") => Kind::DataSet,
        Some("datasource") => Kind::DataSource,
        Some("topic") => Kind::Topic,
        _ => Kind::Folder,
    }
}
