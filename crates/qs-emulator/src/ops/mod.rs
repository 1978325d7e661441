//! QuickSight operations: the REST route table and the dispatch from a route
//! to the module that owns the operation.

pub mod account;
pub mod assets;
pub mod export;
pub mod identity;
pub mod import;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use crate::model::AssetType;
use crate::server::Service;
use crate::wire::ApiError;

/// One parsed request path: operation name, account and path labels.
#[derive(Debug, Clone)]
pub struct Route {
    pub op: &'static str,
    pub account: String,
    pub labels: Vec<String>,
    /// User and group APIs, which only answer in the identity region.
    pub identity: bool,
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

fn decode(seg: &str) -> String {
    percent_decode(seg)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

fn list_op(t: AssetType) -> &'static str {
    match t {
        AssetType::DataSource => "ListDataSources",
        AssetType::DataSet => "ListDataSets",
        AssetType::Analysis => "ListAnalyses",
        AssetType::Dashboard => "ListDashboards",
        AssetType::Theme => "ListThemes",
        AssetType::VpcConnection => "ListVPCConnections",
        AssetType::Folder => "ListFolders",
        AssetType::Topic => "ListTopics",
    }
}

fn describe_op(t: AssetType) -> &'static str {
    match t {
        AssetType::DataSource => "DescribeDataSource",
        AssetType::DataSet => "DescribeDataSet",
        AssetType::Analysis => "DescribeAnalysis",
        AssetType::Dashboard => "DescribeDashboard",
        AssetType::Theme => "DescribeTheme",
        AssetType::VpcConnection => "DescribeVPCConnection",
        AssetType::Folder => "DescribeFolder",
        AssetType::Topic => "DescribeTopic",
    }
}

impl Route {
    pub fn parse(method: &Method, path: &str) -> Option<Route> {
        let segs: Vec<String> = path.trim_start_matches('/').split('/').map(decode).collect();
        if segs.len() == 2 && segs[0] == "accounts" && method == Method::POST {
            return Some(Route {
                op: "CreateNamespace",
                account: segs[1].clone(),
                labels: Vec::new(),
                identity: false,
            });
        }
        if segs.len() < 3 || segs[0] != "accounts" {
            return None;
        }
        let account = segs[1].clone();
        let rest: Vec<&str> = segs[2..].iter().map(String::as_str).collect();
        let get = method == Method::GET;
        let post = method == Method::POST;
        let put = method == Method::PUT;
        let mk = |op: &'static str, labels: &[&str], identity: bool| {
            Some(Route {
                op,
                account: account.clone(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                identity,
            })
        };
        match rest.as_slice() {
            ["asset-bundle-export-jobs", "export"] if post => mk("StartAssetBundleExportJob", &[], false),
            ["asset-bundle-export-jobs"] if get => mk("ListAssetBundleExportJobs", &[], false),
            ["asset-bundle-export-jobs", id] if get => mk("DescribeAssetBundleExportJob", &[id], false),
            ["asset-bundle-import-jobs", "import"] if post => mk("StartAssetBundleImportJob", &[], false),
            ["asset-bundle-import-jobs"] if get => mk("ListAssetBundleImportJobs", &[], false),
            ["asset-bundle-import-jobs", id] if get => mk("DescribeAssetBundleImportJob", &[id], false),
            ["data-sets", id, "refresh-schedules"] if get => mk("ListRefreshSchedules", &[id], false),
            ["folders", id, "permissions"] if get => mk("DescribeFolderPermissions", &[id], false),
            ["folders", id, "members"] if get => mk("ListFolderMembers", &[id], false),
            ["namespaces"] if get => mk("ListNamespaces", &[], false),
            ["namespaces", ns] if get => mk("DescribeNamespace", &[ns], false),
            ["namespaces", ns, "users"] if get => mk("ListUsers", &[ns], true),
            ["namespaces", ns, "users"] if post => mk("RegisterUser", &[ns], true),
            ["namespaces", ns, "users", u] if get => mk("DescribeUser", &[ns, u], true),
            ["namespaces", ns, "groups"] if get => mk("ListGroups", &[ns], true),
            ["namespaces", ns, "groups"] if post => mk("CreateGroup", &[ns], true),
            ["namespaces", ns, "groups", g] if get => mk("DescribeGroup", &[ns, g], true),
            ["namespaces", ns, "groups", g, "members"] if get => mk("ListGroupMemberships", &[ns, g], true),
            ["namespaces", ns, "groups", g, "members", m] if put => mk("CreateGroupMembership", &[ns, g, m], true),
            ["settings"] if get => mk("DescribeAccountSettings", &[], false),
            ["customizations"] if get => mk("DescribeAccountCustomization", &[], false),
            ["brands"] if get => mk("ListBrands", &[], false),
            ["brands", id] if get => mk("DescribeBrand", &[id], false),
            ["custom-permissions"] if get => mk("ListCustomPermissions", &[], false),
            [coll] if get => AssetType::ALL
                .into_iter()
                .find(|t| collection(*t) == *coll)
                .and_then(|t| mk(list_op(t), &[], false)),
            [coll, id] if get => AssetType::ALL
                .into_iter()
                .find(|t| collection(*t) == *coll)
                .and_then(|t| mk(describe_op(t), &[id], false)),
            _ => None,
        }
    }
}

pub async fn dispatch(ctx: &Ctx<'_>, route: &Route) -> Result<Response, ApiError> {
    let l = &route.labels;
    match route.op {
        "StartAssetBundleExportJob" => export::start(ctx),
        "DescribeAssetBundleExportJob" => export::describe(ctx, &l[0]),
        "ListAssetBundleExportJobs" => export::list(ctx),
        "StartAssetBundleImportJob" => import::start(ctx).await,
        "DescribeAssetBundleImportJob" => import::describe(ctx, &l[0]),
        "ListAssetBundleImportJobs" => import::list(ctx),
        "ListRefreshSchedules" => assets::list_refresh_schedules(ctx, &l[0]),
        "DescribeFolderPermissions" => assets::describe_folder_permissions(ctx, &l[0]),
        "ListFolderMembers" => assets::list_folder_members(ctx, &l[0]),
        "ListNamespaces" => identity::list_namespaces(ctx),
        "CreateNamespace" => identity::create_namespace(ctx),
        "DescribeNamespace" => identity::describe_namespace(ctx, &l[0]),
        "ListUsers" => identity::list_users(ctx, &l[0]),
        "RegisterUser" => identity::register_user(ctx, &l[0]),
        "DescribeUser" => identity::describe_user(ctx, &l[0], &l[1]),
        "ListGroups" => identity::list_groups(ctx, &l[0]),
        "CreateGroup" => identity::create_group(ctx, &l[0]),
        "DescribeGroup" => identity::describe_group(ctx, &l[0], &l[1]),
        "ListGroupMemberships" => identity::list_group_memberships(ctx, &l[0], &l[1]),
        "CreateGroupMembership" => identity::create_group_membership(ctx, &l[0], &l[1], &l[2]),
        "DescribeAccountSettings" => account::describe_settings(ctx),
        "DescribeAccountCustomization" => account::describe_customization(ctx),
        "ListBrands" => account::list_brands(ctx),
        "DescribeBrand" => account::describe_brand(ctx, &l[0]),
        "ListCustomPermissions" => account::list_custom_permissions(ctx),
        op => {
            let t = AssetType::ALL
                .into_iter()
                .find(|t| list_op(*t) == op || describe_op(*t) == op);
            match (t, l.first()) {
                (Some(t), None) => assets::list(ctx, t),
                (Some(t), Some(id)) => assets::describe(ctx, t, id),
                (None, _) => Err(ApiError::new("UnknownOperationException", op.to_string())),
            }
        }
    }
}
