//! The account configuration snapshot as stored in the repository
//! (`account/<snapshot-id>.json`): the service's JSON for each part, in a
//! stable order, and what could not be read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The account's configuration besides its assets and identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The document's schema version ([`crate::repository::layout::SCHEMA_VERSION`]).
    #[serde(default = "crate::repository::layout::schema_v1")]
    pub schema: u32,
    pub account_id: String,
    /// Region the configuration was read in (the asset region).
    pub region: String,
    pub taken_at: DateTime<Utc>,
    /// `DescribeAccountSettings` → `AccountSettings`.
    pub account_settings: Option<Value>,
    /// Namespace → `DescribeAccountCustomization` answer (not resolved:
    /// only what is set on the account or namespace itself).
    pub customizations: BTreeMap<String, Value>,
    pub brands: Vec<BrandRecord>,
    /// `ListCustomPermissions` entries, sorted by name.
    pub custom_permissions: Vec<Value>,
    pub folders: Vec<FolderRecord>,
    /// What could not be read, and why.
    pub unavailable: Vec<Unavailable>,
}

/// A brand: its list entry and, when readable, `DescribeBrand`'s detail and
/// definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandRecord {
    pub brand_id: String,
    pub summary: Value,
    pub detail: Option<Value>,
    pub definition: Option<Value>,
}

/// A folder: its list entry, `DescribeFolder`, its permissions and members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderRecord {
    pub folder_id: String,
    pub summary: Value,
    pub folder: Option<Value>,
    /// `ResourcePermission`s, sorted by principal.
    pub permissions: Option<Vec<Value>>,
    /// `MemberIdArnPair`s, sorted by member id.
    pub members: Option<Vec<Value>>,
}

/// Something the snapshot could not include.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unavailable {
    /// What is missing and which call was refused, e.g.
    /// "permissions of folder `f1` (DescribeFolderPermissions)".
    pub what: String,
    /// The service's answer.
    pub reason: String,
}
