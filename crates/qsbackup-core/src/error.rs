//! The engine's error type: every failure carries the context a user needs to act on it
//! (the config file and key, the repository key, the QuickSight operation and the ARN or job id).
//! Messages never contain credentials or presigned download URLs.

use std::path::PathBuf;

/// How to set credentials, for [`Error::NoCredentials`].
pub const CREDENTIALS_HELP: &str = "set AWS_PROFILE (after `aws sso login` for SSO), or AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY, or run with an instance or task role";

/// Result alias used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {}: {source}", file.display())]
    ConfigRead {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A value in the config file is missing, unknown, of the wrong type or out of range.
    #[error("{}{}: {key}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        file: PathBuf,
        /// Dotted key path, e.g. `backup.max_assets_per_bundle`.
        key: String,
        /// 1-based line in the file, when the format gives one.
        line: Option<usize>,
        message: String,
    },

    /// AWS configuration (credentials, region) could not be resolved.
    #[error("AWS configuration: {0}")]
    AwsConfig(String),

    /// The accounts of `organization:` could not be listed.
    #[error("listing the accounts of the organization (organizations:ListAccounts): {0}")]
    Organization(String),

    /// An AWS endpoint refused the connection, could not be reached, or did not answer in time.
    #[error("could not connect to {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },

    /// The standard credential chain found no credentials.
    #[error(
        "no AWS credentials found by the standard credential chain (environment variables, \
         AWS_PROFILE and the shared config and credentials files, SSO, web identity, container \
         or instance role): {}",
        CREDENTIALS_HELP
    )]
    NoCredentials,

    /// A QuickSight call failed after retries.
    #[error("QuickSight {operation} failed for {resource}: {code}: {message}")]
    QuickSight {
        operation: &'static str,
        /// The ARN, asset id, job id or account the call was about.
        resource: String,
        /// The service's error code (e.g. `AccessDeniedException`), or `unknown`.
        code: String,
        message: String,
    },

    /// An export job could not be completed (timed out, or ended without a download).
    #[error("export job {job_id}: {message}")]
    ExportJob { job_id: String, message: String },

    /// A bundle download failed after retries. Never carries the URL.
    #[error("download of export job {job_id}: {message}")]
    Download { job_id: String, message: String },

    /// The repository URL is not understood.
    #[error("repository {url}: {message}")]
    RepositoryUrl { url: String, message: String },

    /// An object store operation failed.
    #[error("repository {repository}, key {key}: {source}")]
    Repository {
        repository: String,
        key: String,
        #[source]
        source: object_store::Error,
    },

    /// A create-only write found the key already present.
    #[error("repository {repository}: {key} already exists; objects are never overwritten")]
    AlreadyExists { repository: String, key: String },

    /// A stored object does not have the size or checksum that was recorded for it.
    #[error("repository key {key}: {message}")]
    Integrity { key: String, message: String },

    /// An object or bundle member is larger than qsbackup reads (see [`crate::limits`]).
    #[error("{key}: {}", crate::limits::too_large_text(what, *size, *limit))]
    TooLarge {
        key: String,
        what: &'static str,
        /// Bytes declared (or read, when the declaration lied).
        size: Option<u64>,
        limit: u64,
    },

    /// A record was written by a newer qsbackup, in a schema this one does not know.
    #[error("{key}: the {what} has schema version {found}, this qsbackup reads up to {supported}; it was written by a newer qsbackup: upgrade to read it")]
    UnsupportedSchema {
        key: String,
        what: &'static str,
        found: u32,
        supported: u32,
    },

    /// A bundle zip could not be read.
    #[error("bundle {key}: {message}")]
    Bundle { key: String, message: String },

    /// Local file I/O (temporary files, --output-dir reports).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A part of the snapshot beside the assets (identities, account configuration) failed.
    #[error("{section}: {message}")]
    Section { section: String, message: String },

    /// The repository lock could not be taken or was lost (see [`crate::repository::lock`]).
    #[error(transparent)]
    Lock(Box<LockError>),

    /// A snapshot reference (`latest`, an id or an id prefix) names no snapshot, or several.
    #[error("snapshot `{reference}` in {repository}: {message}")]
    SnapshotRef {
        reference: String,
        repository: String,
        message: String,
    },

    /// A snapshot does not store an asset asked for by type and id; `held_by` is the newest
    /// snapshot that does, if any.
    #[error("snapshot {snapshot} has no such asset {asset}; {}", match held_by {
        Some(id) => format!("the newest snapshot that holds it is {id} (`qsbackup find {asset}` lists them all)"),
        None => "no snapshot in the repository holds it".to_string(),
    })]
    NoSuchAsset {
        snapshot: String,
        asset: String,
        held_by: Option<String>,
    },

    /// A read-only operation was pointed at a repository that does not exist. Only a backup
    /// creates one: reading a mistyped path or an unmounted disk must not look like an empty
    /// repository.
    #[error("no repository at {location}: {message}")]
    RepositoryNotFound { location: String, message: String },

    /// The newest manifest cannot be read, so `latest` cannot be resolved: falling back to an
    /// older snapshot would restore stale data without anyone noticing.
    #[error(
        "the newest snapshot manifest {key} in {repository} cannot be read ({reason}); `latest` never \
         falls back to an older snapshot: run `qsbackup verify --all` to see what is wrong, and name \
         the snapshot you want by its id (`qsbackup snapshots` lists them)"
    )]
    LatestUnreadable {
        repository: String,
        key: String,
        reason: String,
    },

    /// A backup stored no bundle although it had assets to export: it is not a snapshot, so it
    /// is not committed (retention and `latest` must never count a run that holds nothing).
    #[error("nothing was stored: {summary}; no snapshot was committed and earlier snapshots are untouched")]
    NothingStored {
        /// Assets planned for export (0 in a users-only run).
        planned: usize,
        /// What failed, e.g. `all 34 assets planned for export failed (download_failed: 34)`.
        summary: String,
        /// Every asset that failed, for the report.
        failed: Vec<crate::asset::FailedAsset>,
    },

    /// The run was cancelled (see [`crate::backup::BackupOptions::cancel`]) before it committed
    /// anything. What it finished is in its progress journal, which the next run resumes.
    #[error(
        "interrupted before a snapshot was committed; kept for the next backup to resume: \
         {stored_bundles} stored bundles, {running_jobs} started export jobs"
    )]
    Interrupted {
        /// Bundles stored (or reused from an earlier run) and recorded in the journal.
        stored_bundles: usize,
        /// Export jobs QuickSight had accepted and the run stopped waiting for; the journal
        /// records them, so the next run collects them instead of starting them again.
        running_jobs: usize,
    },

    /// (De)serialization of a manifest or snapshot document.
    #[error("{context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },

    /// The HTML report could not be drawn: its template or its chart.
    #[error("cannot draw {what}: {message}")]
    Render { what: String, message: String },
}

/// Why the lock could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds a conflicting lock.
    #[error(
        "repository {repository} is locked by a {holder} [{key}]; wait for it with --lock-wait SECONDS, \
         or if that run is gone, run `qsbackup unlock`"
    )]
    Held {
        repository: String,
        key: String,
        holder: Box<crate::repository::lock::info::LockInfo>,
    },
    /// The lock was taken away or could not be renewed in time; the run must not commit.
    #[error("repository {repository}: the lock {key} was lost: {reason}")]
    Lost {
        repository: String,
        key: String,
        reason: String,
    },
    /// The store failed while taking, renewing or releasing the lock.
    #[error("repository lock: {0}")]
    Store(#[source] Error),
}

impl From<Error> for LockError {
    fn from(e: Error) -> Self {
        LockError::Store(e)
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Self {
        Error::Lock(Box::new(e))
    }
}

impl Error {
    /// The error for an object or member over `limit` (see [`crate::limits`]); `size` is what
    /// was declared or read.
    pub fn too_large(key: &str, what: &'static str, size: Option<u64>, limit: u64) -> Error {
        Error::TooLarge {
            key: key.to_string(),
            what,
            size,
            limit,
        }
    }

    /// True for a config problem (exit code 3 in the CLI).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::ConfigRead { .. } | Error::RepositoryNotFound { .. }
        )
    }

    /// True when what the user asked for is wrong: a config problem, or a snapshot reference
    /// (id, prefix, `latest`) that names no snapshot (exit code 3 in the CLI, for every command).
    pub fn is_usage(&self) -> bool {
        self.is_config() || matches!(self, Error::SnapshotRef { .. })
    }

    /// True when no AWS credentials were found (exit code 3 in the CLI, like a config problem).
    pub fn is_no_credentials(&self) -> bool {
        matches!(self, Error::NoCredentials)
    }

    /// True when another run holds the repository lock (exit code 4 in the CLI).
    pub fn is_lock_held(&self) -> bool {
        matches!(self, Error::Lock(e) if matches!(**e, LockError::Held { .. }))
    }

    /// QuickSight throttled the call.
    pub fn is_throttling(&self) -> bool {
        matches!(self, Error::QuickSight { code, .. } if code == "ThrottlingException")
    }

    /// The account is at its concurrent export job limit.
    pub fn is_job_limit(&self) -> bool {
        matches!(self, Error::QuickSight { code, .. } if code == "LimitExceededException")
    }

    /// True when the run was cancelled through its cancellation token.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
