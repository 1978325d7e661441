//! The QuickSight asset types an export bundle can hold at its root, with the names QuickSight
//! itself uses for them: in ARNs (`arn:aws:quicksight:<region>:<account>:<type>/<id>`), in the
//! folders of a `QUICKSIGHT_JSON` bundle (`<type>/<id>.json`), and in the sample tool's keys.
//! Also why an asset was skipped or failed: stable codes written to manifests and shown by every
//! command, kept here so that errors and events can name them without depending on the pipeline.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An exportable root asset type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AssetType {
    #[serde(rename = "datasource", alias = "data_source", alias = "dataSource")]
    DataSource,
    #[serde(rename = "dataset", alias = "data_set", alias = "dataSet")]
    DataSet,
    #[serde(rename = "analysis")]
    Analysis,
    #[serde(rename = "dashboard")]
    Dashboard,
    #[serde(rename = "theme")]
    Theme,
    #[serde(rename = "vpcConnection", alias = "vpc_connection")]
    VpcConnection,
    #[serde(rename = "folder")]
    Folder,
}

impl AssetType {
    /// Every root type, in the order the sample tool exports them.
    pub const ALL: [AssetType; 7] = [
        AssetType::DataSource,
        AssetType::DataSet,
        AssetType::Analysis,
        AssetType::Dashboard,
        AssetType::Theme,
        AssetType::VpcConnection,
        AssetType::Folder,
    ];

    /// Every root type, as a `Vec` (the config default).
    pub fn all() -> Vec<AssetType> {
        Self::ALL.to_vec()
    }

    /// QuickSight's own name: ARN resource type, bundle member folder and key segment.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::DataSource => "datasource",
            AssetType::DataSet => "dataset",
            AssetType::Analysis => "analysis",
            AssetType::Dashboard => "dashboard",
            AssetType::Theme => "theme",
            AssetType::VpcConnection => "vpcConnection",
            AssetType::Folder => "folder",
        }
    }

    /// Parses QuickSight's own name (see [`AssetType::as_str`]).
    pub fn from_name(name: &str) -> Option<AssetType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The type named by an ARN's resource part (`...:dataset/<id>`).
    pub fn from_arn(arn: &str) -> Option<AssetType> {
        let resource = arn.rsplit(':').next()?;
        let (kind, _) = resource.split_once('/')?;
        Self::from_name(kind)
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One asset by type and id, as a user writes it (`dashboard/sales-1`) and as restore and
/// `find`/`dump` name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetKey {
    pub asset_type: AssetType,
    pub id: String,
}

impl AssetKey {
    pub fn new(asset_type: AssetType, id: &str) -> AssetKey {
        AssetKey {
            asset_type,
            id: id.to_string(),
        }
    }

    /// Parses `TYPE/ID` (`dashboard/sales-1`; `data_source` and the like are accepted too).
    pub fn parse(s: &str) -> std::result::Result<AssetKey, String> {
        let (t, id) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not TYPE/ID, e.g. dashboard/3f2a-..."))?;
        let asset_type: AssetType = serde_json::from_value(serde_json::Value::String(t.to_string())).map_err(|_| {
            let names: Vec<&str> = AssetType::ALL.iter().map(|t| t.as_str()).collect();
            format!("`{t}` is not an asset type; one of {}", names.join(", "))
        })?;
        if id.is_empty() {
            return Err(format!("`{s}` has no id after the /"));
        }
        Ok(AssetKey::new(asset_type, id))
    }

    /// Its ARN in `account` and `region` (`partition`: `aws`, `aws-cn`, ... for the region).
    pub fn arn(&self, partition: &str, region: &str, account: &str) -> String {
        format!(
            "arn:{partition}:quicksight:{region}:{account}:{}/{}",
            self.asset_type.as_str(),
            self.id
        )
    }
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.asset_type, self.id)
    }
}

impl Serialize for AssetKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The id part of an asset ARN (`...:dataset/<id>` gives `<id>`).
pub fn id_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.rsplit(':').next()?;
    resource.split_once('/').map(|(_, id)| id)
}

/// Why an asset was not exported (stable codes: they are written to manifests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Adobe Analytics, File, GitHub, Jira, Salesforce, ServiceNow, Twitter data sources.
    UnsupportedDataSourceType,
    /// An `S3` data source created from an uploaded manifest (no `S3Parameters`).
    UploadedS3Manifest,
    /// A dataset built from an uploaded file.
    FileDataSet,
    /// A VPC connection id (or a data source's reference to one) outside `[\w-]+`.
    InvalidVpcConnectionId,
    /// Needs an asset that is skipped, and dependencies are exported.
    DependsOnSkippedAsset,
    /// References an asset that no longer exists, and dependencies are exported.
    MissingReference,
    /// Listed, but gone before it could be described.
    DeletedDuringBackup,
}

/// An asset left out of the backup on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedAsset {
    pub arn: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub name: String,
    pub reason: SkipReason,
    pub message: String,
}

/// Why an asset that should have been backed up was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// `StartAssetBundleExportJob` refused it (`InvalidParameterValueException`).
    ExportRefused,
    /// Its export job ended `FAILED` naming it (a definition error, a missing dependency).
    ExportJobFailed,
    /// Its export job did not finish within `backup.job_timeout_seconds`.
    ExportTimedOut,
    /// Another error of the QuickSight API.
    ExportError,
    /// The bundle could not be downloaded.
    DownloadFailed,
    /// The bundle could not be stored or read back.
    StoreFailed,
}

impl FailReason {
    pub const ALL: [FailReason; 6] = [
        FailReason::ExportRefused,
        FailReason::ExportJobFailed,
        FailReason::ExportTimedOut,
        FailReason::ExportError,
        FailReason::DownloadFailed,
        FailReason::StoreFailed,
    ];

    /// The stable code manifests record (`export_refused`, ...).
    pub fn code(self) -> &'static str {
        match self {
            FailReason::ExportRefused => "export_refused",
            FailReason::ExportJobFailed => "export_job_failed",
            FailReason::ExportTimedOut => "export_timed_out",
            FailReason::ExportError => "export_error",
            FailReason::DownloadFailed => "download_failed",
            FailReason::StoreFailed => "store_failed",
        }
    }
}

/// How the message of an asset that failed because of another one starts:
/// `It depends on ARN: MESSAGE OF THAT ONE`.
pub const DEPENDS_ON: &str = "It depends on ";

/// An asset that failed, with the service's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAsset {
    pub arn: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    pub name: String,
    pub reason: FailReason,
    pub message: String,
    /// Listed in the config's `backup.acknowledged` (by itself or by its root cause): still
    /// reported, but it does not make the snapshot partial.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
}

impl FailedAsset {
    /// The ARN of the asset whose failure this one inherits (its message is
    /// `It depends on ARN: ...`), if any.
    pub fn root_cause(&self) -> Option<&str> {
        root_cause(&self.message)
    }
}

/// The ARN a failure message says the asset depends on (`It depends on ARN: ...`), if any.
pub fn root_cause(message: &str) -> Option<&str> {
    let (arn, _) = message.strip_prefix(DEPENDS_ON)?.split_once(": ")?;
    arn.starts_with("arn:").then_some(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_arns_and_serde() {
        for t in AssetType::ALL {
            let arn = format!("arn:aws:quicksight:us-east-1:123456789012:{t}/abc-1");
            assert_eq!(AssetType::from_arn(&arn), Some(t));
            assert_eq!(id_from_arn(&arn), Some("abc-1"));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<AssetType>(&json).unwrap(), t);
        }
        assert_eq!(
            AssetType::from_arn("arn:aws:quicksight:us-east-1:1:user/default/x"),
            None
        );
    }
}
