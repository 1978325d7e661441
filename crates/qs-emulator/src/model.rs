//! The emulated model of QuickSight: asset types, assets, identities, brands,
//! ARNs; the bottom of the crate, using no other module of it.
//!
//! Assets keep their type-specific API fields as JSON in QuickSight's own
//! PascalCase member names, so describe responses are assembled from them and
//! bundle members are derived from them without a per-type Rust struct.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The asset types QuickSight exports in bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssetType {
    #[serde(rename = "vpcConnection")]
    VpcConnection,
    #[serde(rename = "datasource")]
    DataSource,
    #[serde(rename = "dataset")]
    DataSet,
    #[serde(rename = "theme")]
    Theme,
    #[serde(rename = "analysis")]
    Analysis,
    #[serde(rename = "dashboard")]
    Dashboard,
    #[serde(rename = "folder")]
    Folder,
    #[serde(rename = "topic")]
    Topic,
}

impl AssetType {
    pub const ALL: [AssetType; 8] = [
        AssetType::VpcConnection,
        AssetType::DataSource,
        AssetType::DataSet,
        AssetType::Theme,
        AssetType::Analysis,
        AssetType::Dashboard,
        AssetType::Folder,
        AssetType::Topic,
    ];

    /// The resource part of the ARN, which is also the bundle member folder.
    pub fn resource(self) -> &'static str {
        match self {
            AssetType::VpcConnection => "vpcConnection",
            AssetType::DataSource => "datasource",
            AssetType::DataSet => "dataset",
            AssetType::Theme => "theme",
            AssetType::Analysis => "analysis",
            AssetType::Dashboard => "dashboard",
            AssetType::Folder => "folder",
            AssetType::Topic => "topic",
        }
    }

    /// The id member name in the API (`DataSourceId`, ...).
    pub fn api_id_field(self) -> &'static str {
        match self {
            AssetType::VpcConnection => "VPCConnectionId",
            AssetType::DataSource => "DataSourceId",
            AssetType::DataSet => "DataSetId",
            AssetType::Theme => "ThemeId",
            AssetType::Analysis => "AnalysisId",
            AssetType::Dashboard => "DashboardId",
            AssetType::Folder => "FolderId",
            AssetType::Topic => "TopicId",
        }
    }

    /// The id field of a bundle member (`dataSourceId`, ...).
    pub fn bundle_id_field(self) -> &'static str {
        match self {
            AssetType::VpcConnection => "vpcConnectionId",
            AssetType::DataSource => "dataSourceId",
            AssetType::DataSet => "dataSetId",
            AssetType::Theme => "themeId",
            AssetType::Analysis => "analysisId",
            AssetType::Dashboard => "dashboardId",
            AssetType::Folder => "folderId",
            AssetType::Topic => "topicId",
        }
    }

    pub fn from_resource(s: &str) -> Option<AssetType> {
        AssetType::ALL.into_iter().find(|t| t.resource() == s)
    }
}

/// Where a definition comes from: generated on demand from a seed (so large
/// accounts stay small in memory) or stored as imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Definition {
    Generated { seed: u64, visuals: u32 },
    Stored(Value),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Permission {
    pub principal: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One asset of any type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    pub name: String,
    pub created: f64,
    pub updated: f64,
    /// Type-specific API members (PascalCase), without id, ARN, name and times.
    pub body: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Refresh schedules of a SPICE dataset (API `RefreshSchedule` shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refresh_schedules: Vec<Value>,
    /// The definition has errors: exporting it ends the job `FAILED`.
    #[serde(default)]
    pub definition_error: bool,
    /// Machine-learning columns inferred through SageMaker: not exportable,
    /// and nothing in the API shows it up front.
    #[serde(default)]
    pub ml_columns: bool,
    #[serde(default = "one")]
    pub version: i64,
}

fn one() -> i64 {
    1
}

/// A member of a folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FolderMember {
    pub asset_type: AssetType,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_name: String,
    pub email: Option<String>,
    pub role: String,
    pub identity_type: String,
    pub active: bool,
    pub principal_id: String,
    #[serde(default)]
    pub custom_permissions_name: Option<String>,
    #[serde(default)]
    pub external_login_federation_provider_type: Option<String>,
    #[serde(default)]
    pub external_login_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub group_name: String,
    pub description: Option<String>,
    pub principal_id: String,
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    pub name: String,
    pub capacity_region: String,
    pub created: f64,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brand {
    pub id: String,
    pub created: f64,
    pub updated: f64,
    /// API `BrandDefinition`.
    pub definition: Value,
}

/// ARN helpers for one account and region.
/// The AWS partition a region belongs to (`aws-cn`, `aws-us-gov` or `aws`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What follows `arn:<partition>:quicksight:` in a QuickSight ARN of any partition.
pub fn quicksight_arn_rest(arn: &str) -> Option<&str> {
    let (_, rest) = arn.strip_prefix("arn:")?.split_once(':')?;
    rest.strip_prefix("quicksight:")
}

#[derive(Debug, Clone)]
pub struct Arns<'a> {
    pub region: &'a str,
    pub identity_region: &'a str,
    pub account: &'a str,
}

impl Arns<'_> {
    pub fn asset(&self, t: AssetType, id: &str) -> String {
        format!(
            "arn:{}:quicksight:{}:{}:{}/{}",
            partition(self.region),
            self.region,
            self.account,
            t.resource(),
            id
        )
    }
    pub fn user(&self, ns: &str, name: &str) -> String {
        format!(
            "arn:{}:quicksight:{}:{}:user/{}/{}",
            partition(self.identity_region),
            self.identity_region,
            self.account,
            ns,
            name
        )
    }
    pub fn group(&self, ns: &str, name: &str) -> String {
        format!(
            "arn:{}:quicksight:{}:{}:group/{}/{}",
            partition(self.identity_region),
            self.identity_region,
            self.account,
            ns,
            name
        )
    }
    pub fn namespace(&self, ns: &str) -> String {
        format!(
            "arn:{}:quicksight:{}:{}:namespace/{}",
            partition(self.identity_region),
            self.identity_region,
            self.account,
            ns
        )
    }
}

/// An asset reference parsed from a QuickSight ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetArn {
    pub region: String,
    pub account: String,
    pub asset_type: AssetType,
    pub id: String,
}

impl AssetArn {
    pub fn parse(arn: &str) -> Option<AssetArn> {
        let rest = quicksight_arn_rest(arn)?;
        let mut parts = rest.splitn(3, ':');
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        let (kind, id) = resource.split_once('/')?;
        let asset_type = AssetType::from_resource(kind)?;
        if id.is_empty() {
            return None;
        }
        Some(AssetArn {
            region: region.into(),
            account: account.into(),
            asset_type,
            id: id.into(),
        })
    }
}

/// Every asset ARN mentioned anywhere inside a JSON value.
pub fn referenced_arns(value: &Value, out: &mut BTreeSet<AssetArn>) {
    match value {
        Value::String(s) => {
            if let Some(a) = AssetArn::parse(s) {
                out.insert(a);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_arns(v, out)),
        Value::Object(map) => map.values().for_each(|v| referenced_arns(v, out)),
        _ => {}
    }
}

/// Rewrites every string in `value` with `f` (used to move ARNs between accounts).
pub fn rewrite_strings(value: &mut Value, f: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = f(s) {
                *s = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_strings(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_strings(v, f)),
        _ => {}
    }
}
