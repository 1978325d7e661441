//! The config file model: every section and key, its default, and loading from YAML or JSON
//! (chosen by file extension). Configs written for the AWS sample backup tool load unchanged;
//! qsbackup's own keys are additive. Value rules (ranges, formats, known regions) live in the
//! value types of [`values`], so a bad value is refused while parsing, with the key path and the
//! line the parser was at.

mod load;
mod regions;
mod targets;
mod values;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use load::{load, load_str, ConfigFormat};
pub use regions::{partition, KNOWN_REGIONS};
pub use targets::{group_by_account, AccountEntry, OrganizationSection, Target};
pub use values::{
    AccountId, Acknowledgement, AssetType, BundleSize, ConcurrentAccounts, ConcurrentJobs, ExportFormat, LogLevel,
    PrefixFormat, Region, MAX_JOB_TIMEOUT_SECONDS,
};

/// Repository used when the config names neither `repository` nor `s3`.
pub const DEFAULT_REPOSITORY: &str = "./qsbackup-repo";

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub aws: AwsSection,
    #[serde(default)]
    pub dynamodb: Option<DynamoDbSection>,
    #[serde(default)]
    pub s3: Option<S3Section>,
    /// Repository URL: a path, `file://`, `s3://`, `gs://`, `az://` or `memory://`.
    /// An alternative to `s3`.
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub backup: BackupSection,
    /// Accepted for compatibility with the sample tool; the CLI decides how to log.
    #[serde(default)]
    pub logging: Option<LoggingSection>,
    /// Reserved for a DynamoDB lease lock.
    #[serde(default)]
    pub lock: Option<LockSection>,
    /// What a backup writes besides its snapshot.
    #[serde(default)]
    pub report: ReportSection,
    /// Written by `qsbackup demo` only: this config belongs to the demo's emulated account.
    #[serde(default)]
    pub demo: Option<DemoSection>,
    /// Several accounts (each in one or more regions) backed up by one run, instead of
    /// `aws.account_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountEntry>,
    /// Every ACTIVE account of the AWS Organization the run's credentials can list, instead of
    /// `aws.account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationSection>,
}

/// `aws:` — the account and its regions. Credentials come from the standard AWS chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSection {
    pub region: Region,
    /// Region of QuickSight users and groups; defaults to `region`.
    #[serde(default)]
    pub identity_region: Option<Region>,
    /// The one account backed up; absent only when `accounts` or `organization` lists them
    /// (checked while loading). [`Config::for_target`] always sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// The config's own `aws.region` when this section is a target's ([`Config::for_target`]):
    /// where the run's own resources are (the repository bucket, the DynamoDB tables and lock),
    /// whichever region the target's QuickSight is in.
    #[serde(skip)]
    pub home_region: Option<Region>,
    #[serde(default, skip_serializing, deserialize_with = "values::refuse_plain_key")]
    pub(crate) access_key_id: Option<()>,
    #[serde(default, skip_serializing, deserialize_with = "values::refuse_plain_key")]
    pub(crate) secret_access_key: Option<()>,
    #[serde(default, skip_serializing, deserialize_with = "values::refuse_plain_key")]
    pub(crate) session_token: Option<()>,
}

impl AwsSection {
    /// Keys of `aws:` that are read only to be refused (plain credentials): never listed as
    /// accepted.
    pub const REFUSED_KEYS: &'static [&'static str] = &["access_key_id", "secret_access_key", "session_token"];

    /// A section for `account_id` in `region` (identity region the same).
    pub fn new(account_id: AccountId, region: Region) -> Self {
        AwsSection {
            region,
            identity_region: None,
            account_id: Some(account_id),
            home_region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
        }
    }

    /// The region of the run's own resources: [`AwsSection::home_region`], else `region`.
    pub fn home_region(&self) -> &Region {
        self.home_region.as_ref().unwrap_or(&self.region)
    }

    /// The identity region, falling back to the asset region.
    pub fn identity_region(&self) -> &Region {
        self.identity_region.as_ref().unwrap_or(&self.region)
    }
}

/// `dynamodb:` — where the users and groups tables go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbSection {
    pub users_table_name: String,
    pub groups_table_name: String,
    #[serde(default = "default_users_group_table")]
    pub users_group_table_name: String,
    /// How a table name is built from its base name and the date.
    #[serde(default = "default_table_name_format")]
    pub table_name_format: String,
}

fn default_users_group_table() -> String {
    "quicksight-users-groups-backup".into()
}

fn default_table_name_format() -> String {
    "{base}-{date}".into()
}

/// `s3:` — the sample tool's bucket, maps to the repository `s3://bucket_name/prefix`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Section {
    pub bucket_name: String,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default)]
    pub prefix_format: PrefixFormat,
}

fn default_prefix() -> String {
    "quicksight-backups".into()
}

/// `backup:` — what to export and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    #[serde(default = "yes")]
    pub include_dependencies: bool,
    #[serde(default = "yes")]
    pub include_permissions: bool,
    #[serde(default = "yes")]
    pub include_tags: bool,
    #[serde(default)]
    pub export_format: ExportFormat,
    #[serde(default)]
    pub max_assets_per_bundle: BundleSize,
    #[serde(default)]
    pub max_concurrent_jobs: ConcurrentJobs,
    /// With several accounts: how many are backed up at once (each with its own
    /// `max_concurrent_jobs`, since QuickSight's export quota is per account).
    #[serde(default)]
    pub max_concurrent_accounts: ConcurrentAccounts,
    #[serde(default = "AssetType::all")]
    pub asset_types: Vec<AssetType>,
    /// Export each asset's folder memberships with it.
    #[serde(default = "yes")]
    pub include_folder_memberships: bool,
    /// Longest an export job may run before it is given up: 1 to
    /// [`values::MAX_JOB_TIMEOUT_SECONDS`] when read from a file. The engine clamps a larger value
    /// set in code rather than overflow the clock.
    #[serde(default = "default_job_timeout", deserialize_with = "values::job_timeout_seconds")]
    pub job_timeout_seconds: u64,
    /// Known failures (asset ids, `TYPE/ID`, asset ARNs or failure reason codes): still
    /// reported and recorded, marked acknowledged, but they do not make a snapshot partial.
    /// An asset id or ARN also covers the assets that fail only because they depend on it.
    #[serde(default)]
    pub acknowledged: Vec<Acknowledgement>,
}

fn yes() -> bool {
    true
}

fn default_job_timeout() -> u64 {
    1800
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            include_dependencies: true,
            include_permissions: true,
            include_tags: true,
            export_format: ExportFormat::default(),
            max_assets_per_bundle: BundleSize::default(),
            max_concurrent_jobs: ConcurrentJobs::default(),
            max_concurrent_accounts: ConcurrentAccounts::default(),
            asset_types: AssetType::all(),
            include_folder_memberships: true,
            job_timeout_seconds: default_job_timeout(),
            acknowledged: Vec::new(),
        }
    }
}

/// `logging:` — accepted for compatibility with the sample tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSection {
    #[serde(default)]
    pub level: Option<LogLevel>,
    #[serde(default)]
    pub file_path: Option<String>,
}

/// `report:` — with `html: true`, every backup that commits a snapshot also writes the
/// repository's history as one HTML page to `reports/<snapshot id>.html` in the repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    #[serde(default)]
    pub html: bool,
}

/// `lock:` — reserved for a DynamoDB lease lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSection {
    #[serde(default)]
    pub dynamodb_table: Option<String>,
}

/// `demo:` — marks a config `qsbackup demo` wrote. Its account was emulated in-process at
/// `quicksight_endpoint`, gone when the demo ended: commands that would call AWS with this
/// config refuse it rather than reach a real account with ambient credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSection {
    pub quicksight_endpoint: String,
}

impl Config {
    /// A minimal config for `account_id` in `region`: defaults everywhere, default repository.
    pub fn new(account_id: AccountId, region: Region) -> Self {
        Config {
            aws: AwsSection::new(account_id, region),
            dynamodb: None,
            s3: None,
            repository: None,
            backup: BackupSection::default(),
            logging: None,
            lock: None,
            report: ReportSection::default(),
            demo: None,
            accounts: Vec::new(),
            organization: None,
        }
    }

    /// The repository URL this config points at: `repository`, else `s3://bucket/prefix`,
    /// else [`DEFAULT_REPOSITORY`].
    pub fn repository_url(&self) -> String {
        if let Some(url) = &self.repository {
            return url.clone();
        }
        match &self.s3 {
            Some(s3) => {
                let prefix = s3.prefix.trim_matches('/');
                if prefix.is_empty() {
                    format!("s3://{}", s3.bucket_name)
                } else {
                    format!("s3://{}/{}", s3.bucket_name, prefix)
                }
            }
            None => DEFAULT_REPOSITORY.to_string(),
        }
    }

    /// Resolves the config's relative paths against `dir` (the config file's directory):
    /// a local `repository` path (or the default one when neither `repository` nor `s3` is set)
    /// and `logging.file_path`. Absolute paths and URLs (`file://`, `s3://`, ...) stay as they are.
    pub fn resolve_paths(&mut self, dir: &Path) {
        if self.repository.is_none() && self.s3.is_none() {
            self.repository = Some(DEFAULT_REPOSITORY.to_string());
        }
        if let Some(repository) = &mut self.repository {
            if !repository.contains("://") {
                *repository = resolve(dir, repository);
            }
        }
        if let Some(file) = self.logging.as_mut().and_then(|l| l.file_path.as_mut()) {
            *file = resolve(dir, file);
        }
    }

    /// How the date folder of bundle keys is written.
    pub fn prefix_format(&self) -> PrefixFormat {
        self.s3.as_ref().map(|s| s.prefix_format).unwrap_or_default()
    }
}

/// `path` joined to `dir` when relative, without `.` segments (`dir/./x` reads as `dir/x`).
fn resolve(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        return path.to_string();
    }
    let joined: PathBuf = dir
        .join(p)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    joined.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests;
