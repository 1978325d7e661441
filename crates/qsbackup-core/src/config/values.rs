//! Config values that carry a rule: each type refuses a bad value while the file is parsed, with
//! a message saying what is accepted, so the loader can name the key and the line.

use super::regions;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

pub use crate::asset::AssetType;

/// A 12-digit AWS account id, kept as a string (leading zeros matter).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(value))
        } else {
            Err(format!(
                "`{value}` is not an AWS account id: expected 12 digits, as a quoted string (e.g. \"123456789012\")"
            ))
        }
    }
}

impl From<AccountId> for String {
    fn from(value: AccountId) -> String {
        value.0
    }
}

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region from [`super::KNOWN_REGIONS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region(String);

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if regions::is_known(&value) {
            Ok(Region(value))
        } else {
            Err(format!(
                "`{value}` is not a known AWS region; accepted: {}",
                regions::KNOWN_REGIONS.join(", ")
            ))
        }
    }
}

impl From<Region> for String {
    fn from(value: Region) -> String {
        value.0
    }
}

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the date folder of bundle keys is written (the sample tool's `prefix_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrefixFormat {
    #[default]
    #[serde(rename = "YYYY/MM/DD")]
    Slashes,
    #[serde(rename = "YYYY-MM-DD")]
    Dashes,
    #[serde(rename = "YYYYMMDD")]
    Compact,
}

impl PrefixFormat {
    /// The date folder for `date`, e.g. `2026/11/28`.
    pub fn format(self, date: NaiveDate) -> String {
        let pattern = match self {
            PrefixFormat::Slashes => "%Y/%m/%d",
            PrefixFormat::Dashes => "%Y-%m-%d",
            PrefixFormat::Compact => "%Y%m%d",
        };
        date.format(pattern).to_string()
    }
}

/// `backup.export_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    #[default]
    #[serde(rename = "QUICKSIGHT_JSON")]
    QuickSightJson,
    #[serde(rename = "CLOUDFORMATION_JSON")]
    CloudFormationJson,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::QuickSightJson => "QUICKSIGHT_JSON",
            ExportFormat::CloudFormationJson => "CLOUDFORMATION_JSON",
        }
    }
}

/// A bounded integer setting: `MIN..=MAX`, with a default.
macro_rules! bounded {
    ($name:ident, $min:expr, $max:expr, $default:expr, $what:expr) => {
        #[doc = concat!("`", $what, "`: an integer from ", stringify!($min), " to ", stringify!($max), ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        // Read as i128 so a value beyond 64 bits gets the range message, not a type error.
        #[serde(try_from = "i128", into = "i64")]
        pub struct $name(usize);

        impl $name {
            pub const MIN: usize = $min;
            pub const MAX: usize = $max;
            pub fn get(self) -> usize {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name($default)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(value: i64) -> Result<Self, String> {
                if ($min..=$max).contains(&value) {
                    Ok($name(value as usize))
                } else {
                    Err(format!(
                        "{value} is out of range: {} accepts {} to {}",
                        $what, $min, $max
                    ))
                }
            }
        }

        impl TryFrom<i128> for $name {
            type Error = String;
            fn try_from(value: i128) -> Result<Self, String> {
                i64::try_from(value)
                    .map_err(|_| format!("{value} is out of range: {} accepts {} to {}", $what, $min, $max))
                    .and_then($name::try_from)
            }
        }

        impl TryFrom<usize> for $name {
            type Error = String;
            fn try_from(value: usize) -> Result<Self, String> {
                i64::try_from(value)
                    .map_err(|_| format!("{value} is out of range"))
                    .and_then($name::try_from)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.0 as i64
            }
        }
    };
}

bounded!(BundleSize, 1, 100, 50, "max_assets_per_bundle");
bounded!(ConcurrentJobs, 1, 5, 5, "max_concurrent_jobs");
bounded!(ConcurrentAccounts, 1, 64, 4, "max_concurrent_accounts");

/// Longest `backup.job_timeout_seconds`: a day. An export job that runs longer has failed in
/// all but name, and an unbounded value once overflowed the clock and panicked mid-run.
pub const MAX_JOB_TIMEOUT_SECONDS: u64 = 86_400;

/// Reads `backup.job_timeout_seconds`: an integer from 1 to [`MAX_JOB_TIMEOUT_SECONDS`]. Any
/// other number (negative, fractional, beyond `u64`) is refused with the accepted range.
pub(crate) fn job_timeout_seconds<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    struct Seconds;

    fn out_of_range<E: serde::de::Error>(value: impl fmt::Display) -> E {
        E::custom(format!(
            "{value} is not accepted: job_timeout_seconds accepts whole seconds from 1 to \
             {MAX_JOB_TIMEOUT_SECONDS} (24 h)"
        ))
    }

    impl serde::de::Visitor<'_> for Seconds {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "whole seconds from 1 to {MAX_JOB_TIMEOUT_SECONDS}")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            if (1..=MAX_JOB_TIMEOUT_SECONDS).contains(&v) {
                Ok(v)
            } else {
                Err(out_of_range(v))
            }
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(out_of_range(v)),
            }
        }
        fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(out_of_range(v)),
            }
        }
        fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(out_of_range(v)),
            }
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
            Err(out_of_range(v))
        }
    }

    de.deserialize_u64(Seconds)
}

/// `logging.level`, the sample tool's Python level names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    #[serde(alias = "debug")]
    Debug,
    #[serde(alias = "info")]
    Info,
    #[serde(alias = "warning", alias = "WARN", alias = "warn")]
    Warning,
    #[serde(alias = "error")]
    Error,
    #[serde(alias = "critical")]
    Critical,
}

/// Refuses `aws.access_key_id` and friends: keys in a file leak through backups of the file.
pub(crate) fn refuse_plain_key<'de, D: Deserializer<'de>>(_: D) -> Result<Option<()>, D::Error> {
    Err(serde::de::Error::custom(
        "plain AWS access keys are not accepted in the config file; remove them and use an AWS \
         profile (AWS_PROFILE or `aws configure sso`), environment credentials, or an IAM role",
    ))
}

/// One entry of `backup.acknowledged`: a failure the operator knows about. An asset id
/// (`dataset-0011`), `TYPE/ID` (`dataset/dataset-0011`), an asset ARN, or a failure reason code
/// (`export_job_failed`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Acknowledgement(String);

impl TryFrom<String> for Acknowledgement {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let id_ok = |id: &str| !id.is_empty() && id.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        let ok = if value.starts_with("arn:") {
            value.split(':').count() == 6
                && AssetType::from_arn(&value).is_some()
                && crate::asset::id_from_arn(&value).is_some_and(id_ok)
        } else if let Some((kind, id)) = value.split_once('/') {
            AssetType::from_name(kind).is_some() && id_ok(id)
        } else {
            id_ok(&value)
        };
        if ok {
            Ok(Acknowledgement(value))
        } else {
            let codes: Vec<&str> = crate::asset::FailReason::ALL.iter().map(|r| r.code()).collect();
            Err(format!(
                "`{value}` is not an asset id, TYPE/ID (e.g. dataset/sales-2024), QuickSight asset ARN \
                 (arn:aws:quicksight:REGION:ACCOUNT:TYPE/ID) or failure reason ({})",
                codes.join(", ")
            ))
        }
    }
}

impl From<Acknowledgement> for String {
    fn from(value: Acknowledgement) -> String {
        value.0
    }
}

impl Acknowledgement {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Acknowledgement {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
