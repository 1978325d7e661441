//! QuickSight operations: the REST route table and the dispatch from an
//! operation to the module that owns it.

pub mod account;
pub mod assets;
pub mod definitions;
pub mod delete;
pub mod export;
pub mod identity;
pub mod import;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use crate::account::Account;
use crate::model::AssetType;
use crate::operation::Operation;
use crate::service::Service;
use crate::wire::{self, ApiError};

/// Brings an account up to date before an operation sees it: import jobs
/// whose time has come finish, analyses whose recovery window has ended go.
pub fn settle(acct: &mut Account) {
    import::settle(acct);
    acct.purge_deleted_analyses(wire::now_epoch());
}

/// What an operation sees of its request.
pub struct Ctx<'a> {
    pub svc: &'a Service,
    pub account: String,
    pub region: String,
    pub query: HashMap<String, String>,
    pub body: Bytes,
}

impl Ctx<'_> {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub fn json_body(&self) -> Result<serde_json::Map<String, Value>, ApiError> {
        if self.body.is_empty() {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::new(
                "InvalidRequestException",
                "The request body is not a JSON object.",
            )),
        }
    }
}

/// REST collection names of asset types.
pub fn collection(t: AssetType) -> &'static str {
    match t {
        AssetType::DataSource => "data-sources",
        AssetType::DataSet => "data-sets",
        AssetType::Analysis => "analyses",
        AssetType::Dashboard => "dashboards",
        AssetType::Theme => "themes",
        AssetType::VpcConnection => "vpc-connections",
        AssetType::Folder => "folders",
        AssetType::Topic => "topics",
    }
}

/// QuickSight's REST routes: method, path (axum syntax; the first label is
/// always the account) and operation. The asset types' list, describe and
/// delete routes come from [`routes`].
const FIXED_ROUTES: &[(Method, &str, Operation)] = &[
    (Method::POST, "/accounts/{account}", Operation::CreateNamespace),
    (
        Method::POST,
        "/accounts/{account}/asset-bundle-export-jobs/export",
        Operation::StartAssetBundleExportJob,
    ),
    (
        Method::GET,
        "/accounts/{account}/asset-bundle-export-jobs",
        Operation::ListAssetBundleExportJobs,
    ),
    (
        Method::GET,
        "/accounts/{account}/asset-bundle-export-jobs/{id}",
        Operation::DescribeAssetBundleExportJob,
    ),
    (
        Method::POST,
        "/accounts/{account}/asset-bundle-import-jobs/import",
        Operation::StartAssetBundleImportJob,
    ),
    (
        Method::GET,
        "/accounts/{account}/asset-bundle-import-jobs",
        Operation::ListAssetBundleImportJobs,
    ),
    (
        Method::GET,
        "/accounts/{account}/asset-bundle-import-jobs/{id}",
        Operation::DescribeAssetBundleImportJob,
    ),
    (
        Method::GET,
        "/accounts/{account}/data-sets/{id}/refresh-schedules",
        Operation::ListRefreshSchedules,
    ),
    (
        Method::GET,
        "/accounts/{account}/folders/{id}/permissions",
        Operation::DescribeFolderPermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/data-sources/{id}/permissions",
        Operation::DescribeDataSourcePermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/data-sets/{id}/permissions",
        Operation::DescribeDataSetPermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/analyses/{id}/permissions",
        Operation::DescribeAnalysisPermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/dashboards/{id}/permissions",
        Operation::DescribeDashboardPermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/themes/{id}/permissions",
        Operation::DescribeThemePermissions,
    ),
    (
        Method::GET,
        "/accounts/{account}/folders/{id}/members",
        Operation::ListFolderMembers,
    ),
    (
        Method::DELETE,
        "/accounts/{account}/folders/{id}/members/{type}/{member}",
        Operation::DeleteFolderMembership,
    ),
    (
        Method::POST,
        "/accounts/{account}/restore/analyses/{id}",
        Operation::RestoreAnalysis,
    ),
    (
        Method::GET,
        "/accounts/{account}/analyses/{id}/definition",
        Operation::DescribeAnalysisDefinition,
    ),
    (
        Method::GET,
        "/accounts/{account}/dashboards/{id}/definition",
        Operation::DescribeDashboardDefinition,
    ),
    (Method::GET, "/accounts/{account}/namespaces", Operation::ListNamespaces),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}",
        Operation::DescribeNamespace,
    ),
    (
        Method::DELETE,
        "/accounts/{account}/namespaces/{ns}",
        Operation::DeleteNamespace,
    ),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}/users",
        Operation::ListUsers,
    ),
    (
        Method::POST,
        "/accounts/{account}/namespaces/{ns}/users",
        Operation::RegisterUser,
    ),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}/users/{user}",
        Operation::DescribeUser,
    ),
    (
        Method::DELETE,
        "/accounts/{account}/namespaces/{ns}/users/{user}",
        Operation::DeleteUser,
    ),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}/groups",
        Operation::ListGroups,
    ),
    (
        Method::POST,
        "/accounts/{account}/namespaces/{ns}/groups",
        Operation::CreateGroup,
    ),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}/groups/{group}",
        Operation::DescribeGroup,
    ),
    (
        Method::DELETE,
        "/accounts/{account}/namespaces/{ns}/groups/{group}",
        Operation::DeleteGroup,
    ),
    (
        Method::GET,
        "/accounts/{account}/namespaces/{ns}/groups/{group}/members",
        Operation::ListGroupMemberships,
    ),
    (
        Method::PUT,
        "/accounts/{account}/namespaces/{ns}/groups/{group}/members/{member}",
        Operation::CreateGroupMembership,
    ),
    (
        Method::DELETE,
        "/accounts/{account}/namespaces/{ns}/groups/{group}/members/{member}",
        Operation::DeleteGroupMembership,
    ),
    (
        Method::GET,
        "/accounts/{account}/settings",
        Operation::DescribeAccountSettings,
    ),
    (
        Method::GET,
        "/accounts/{account}/customizations",
        Operation::DescribeAccountCustomization,
    ),
    (Method::GET, "/accounts/{account}/brands", Operation::ListBrands),
    (Method::GET, "/accounts/{account}/brands/{id}", Operation::DescribeBrand),
    (
        Method::GET,
        "/accounts/{account}/custom-permissions",
        Operation::ListCustomPermissions,
    ),
];

/// Every REST route of the service: method, path and operation.
pub fn routes() -> Vec<(Method, String, Operation)> {
    let mut all: Vec<(Method, String, Operation)> = FIXED_ROUTES
        .iter()
        .map(|(m, p, op)| (m.clone(), p.to_string(), *op))
        .collect();
    for t in AssetType::ALL {
        let coll = collection(t);
        all.push((Method::GET, format!("/accounts/{{account}}/{coll}"), Operation::list(t)));
        all.push((
            Method::GET,
            format!("/accounts/{{account}}/{coll}/{{id}}"),
            Operation::describe(t),
        ));
        all.push((
            Method::DELETE,
            format!("/accounts/{{account}}/{coll}/{{id}}"),
            Operation::delete(t),
        ));
    }
    all
}

/// Runs `op` with the path labels after the account.
pub async fn dispatch(ctx: &Ctx<'_>, op: Operation, l: &[String]) -> Result<Response, ApiError> {
    use Operation::*;
    let label = |i: usize| -> Result<&str, ApiError> {
        l.get(i)
            .map(String::as_str)
            .ok_or_else(|| ApiError::new("UnknownOperationException", op.name()))
    };
    match op {
        StartAssetBundleExportJob => export::start(ctx),
        DescribeAssetBundleExportJob => export::describe(ctx, label(0)?),
        ListAssetBundleExportJobs => export::list(ctx),
        StartAssetBundleImportJob => import::start(ctx).await,
        DescribeAssetBundleImportJob => import::describe(ctx, label(0)?),
        ListAssetBundleImportJobs => import::list(ctx),
        ListRefreshSchedules => assets::list_refresh_schedules(ctx, label(0)?),
        DescribeFolderPermissions => assets::describe_folder_permissions(ctx, label(0)?),
        ListFolderMembers => assets::list_folder_members(ctx, label(0)?),
        DescribeDataSourcePermissions => assets::describe_permissions(ctx, AssetType::DataSource, label(0)?),
        DescribeDataSetPermissions => assets::describe_permissions(ctx, AssetType::DataSet, label(0)?),
        DescribeAnalysisPermissions => assets::describe_permissions(ctx, AssetType::Analysis, label(0)?),
        DescribeDashboardPermissions => assets::describe_permissions(ctx, AssetType::Dashboard, label(0)?),
        DescribeThemePermissions => assets::describe_permissions(ctx, AssetType::Theme, label(0)?),
        ListNamespaces => identity::list_namespaces(ctx),
        CreateNamespace => identity::create_namespace(ctx),
        DescribeNamespace => identity::describe_namespace(ctx, label(0)?),
        ListUsers => identity::list_users(ctx, label(0)?),
        RegisterUser => identity::register_user(ctx, label(0)?),
        DescribeUser => identity::describe_user(ctx, label(0)?, label(1)?),
        ListGroups => identity::list_groups(ctx, label(0)?),
        CreateGroup => identity::create_group(ctx, label(0)?),
        DescribeGroup => identity::describe_group(ctx, label(0)?, label(1)?),
        ListGroupMemberships => identity::list_group_memberships(ctx, label(0)?, label(1)?),
        CreateGroupMembership => identity::create_group_membership(ctx, label(0)?, label(1)?, label(2)?),
        DescribeAccountSettings => account::describe_settings(ctx),
        DescribeAccountCustomization => account::describe_customization(ctx),
        ListBrands => account::list_brands(ctx),
        DescribeBrand => account::describe_brand(ctx, label(0)?),
        ListCustomPermissions => account::list_custom_permissions(ctx),
        RestoreAnalysis => delete::restore_analysis(ctx, label(0)?),
        DescribeAnalysisDefinition => definitions::describe_definition(ctx, AssetType::Analysis, label(0)?),
        DescribeDashboardDefinition => definitions::describe_definition(ctx, AssetType::Dashboard, label(0)?),
        DeleteFolderMembership => delete::delete_folder_membership(ctx, label(0)?, label(1)?, label(2)?),
        DeleteNamespace => identity::delete_namespace(ctx, label(0)?),
        DeleteUser => identity::delete_user(ctx, label(0)?, label(1)?),
        DeleteGroup => identity::delete_group(ctx, label(0)?, label(1)?),
        DeleteGroupMembership => identity::delete_group_membership(ctx, label(0)?, label(1)?, label(2)?),
        DeleteDataSource | DeleteDataSet | DeleteAnalysis | DeleteDashboard | DeleteTheme | DeleteVpcConnection
        | DeleteFolder | DeleteTopic => match AssetType::ALL.into_iter().find(|t| Operation::delete(*t) == op) {
            Some(t) => delete::delete(ctx, t, label(0)?),
            None => Err(ApiError::new("UnknownOperationException", op.name())),
        },
        ListDataSources | ListDataSets | ListAnalyses | ListDashboards | ListThemes | ListVpcConnections
        | ListFolders | ListTopics => match AssetType::ALL.into_iter().find(|t| Operation::list(*t) == op) {
            Some(t) => assets::list(ctx, t),
            None => Err(ApiError::new("UnknownOperationException", op.name())),
        },
        DescribeDataSource
        | DescribeDataSet
        | DescribeAnalysis
        | DescribeDashboard
        | DescribeTheme
        | DescribeVpcConnection
        | DescribeFolder
        | DescribeTopic => match AssetType::ALL.into_iter().find(|t| Operation::describe(*t) == op) {
            Some(t) => assets::describe(ctx, t, label(0)?),
            None => Err(ApiError::new("UnknownOperationException", op.name())),
        },
    }
}
