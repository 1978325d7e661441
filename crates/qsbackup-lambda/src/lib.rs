//! qsbackup on AWS Lambda: one handler per state of the scheduled-backup workflow in
//! `deploy/statemachine.asl.json` (begin-run, identities, discover-and-plan, start-export,
//! check-export, record-bundle-failure, commit-snapshot, abort-run), `drill`, which the
//! optional monthly rule invokes directly (see [`drill`]), and the organization workflow's
//! `list-targets` and `summarize-targets` (see [`targets`]). The handlers are plain async
//! functions of an [`Env`] and a small JSON payload, so tests call them without the Lambda
//! runtime; `main.rs` only dispatches on `QSBACKUP_HANDLER`. The work is the engine's steps
//! ([`qsbackup_core::backup::steps`]); this crate is the runtime glue. Step Functions passes at
//! most 256 KB between states, so plans and results live in the repository under
//! `runs/<run-id>/` and states pass run ids, bundle numbers and job ids.

pub mod account_lock;
pub mod drill;
pub mod handlers;
pub mod lease;
pub mod organization;
pub mod payload;
pub mod targets;

use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::backup::export::Tuning;
use qsbackup_core::backup::steps::Steps;
use qsbackup_core::config::{self, Config, ConfigFormat};
use qsbackup_core::repository::manifest::BackupMode;
use qsbackup_core::repository::{Repository, RepositoryOptions};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A failed handler call. `kind` becomes the Lambda error type, which the state machine's Retry
/// and Catch match (`QuickSightLimitExceeded`, `QuickSightThrottling`, `LeaseLost`, ...).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct HandlerError {
    pub kind: String,
    pub message: String,
}

impl HandlerError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        HandlerError {
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    /// An engine error, typed by what the state machine's Retry and Catch match.
    pub fn core(e: qsbackup_core::Error) -> Self {
        use qsbackup_core::repository::lock::LockError;
        use qsbackup_core::Error as E;
        let kind = match &e {
            e if e.is_job_limit() => "QuickSightLimitExceeded",
            e if e.is_throttling() => "QuickSightThrottling",
            E::QuickSight { .. } => "QuickSightError",
            E::Repository { .. } | E::AlreadyExists { .. } => "RepositoryError",
            E::NothingStored { .. } => "NothingStored",
            E::Lock(l) if matches!(**l, LockError::Lost { .. }) => "LeaseLost",
            _ => "QsbackupError",
        };
        HandlerError::new(kind, e.to_string())
    }
}

impl From<qsbackup_core::Error> for HandlerError {
    fn from(e: qsbackup_core::Error) -> Self {
        HandlerError::core(e)
    }
}

/// What every handler works with: the config, AWS clients, the repository and the run settings.
pub struct Env {
    pub config: Config,
    pub aws: AwsContext,
    /// How `aws` was connected; the drill connects to its recovery account the same way.
    pub aws_options: AwsOptions,
    pub repository: Repository,
    pub mode: BackupMode,
    pub tuning: Tuning,
    /// Lease of the run's repository lock; longer than a Wait plus the longest handler call.
    pub lease_ttl: Duration,
    /// Bundles exported at once by the Map state (QuickSight allows 5 export jobs).
    pub max_concurrency: u32,
    /// Seconds the workflow waits between two checks of an export job.
    pub poll_seconds: u32,
    /// How long one handler call may wait on export jobs, kept below the function's Timeout so
    /// the engine gives up (and the assets are recorded as timed out) before Lambda kills it.
    pub handler_budget: Duration,
}

impl Env {
    /// The engine's steps over this environment.
    pub fn steps(&self) -> Steps<'_> {
        Steps {
            config: &self.config,
            aws: &self.aws,
            repository: &self.repository,
            tuning: self.tuning.clone(),
            budget: self.handler_budget,
        }
    }
}

fn env_number(name: &str, default: u64) -> Result<u64, HandlerError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| HandlerError::new("ConfigError", format!("{name}={v:?}: expected a whole number"))),
    }
}

impl Env {
    /// Builds the environment from a config and connects to AWS and the repository.
    pub async fn new(config: Config, aws_options: &AwsOptions) -> Result<Env, HandlerError> {
        if config.lists_accounts() {
            // One Env is one account: [`targets::Envs`] gives each target of such a config its own.
            return Err(HandlerError::new(
                "ConfigError",
                "the config lists several accounts (`accounts` or `organization`): each call works on one \
                 target, which the organization workflow names (deploy/organization.asl.json)",
            ));
        }
        let aws = AwsContext::connect(&config.aws, aws_options)
            .await
            .map_err(HandlerError::core)?;
        let repository = Repository::open(
            &config.repository_url(),
            &RepositoryOptions {
                s3_endpoint: None,
                aws: Some(aws.home.clone()),
            },
        )
        .await
        .map_err(HandlerError::core)?;
        let mut env = Env::from_parts(config, aws, repository);
        env.aws_options = aws_options.clone();
        Ok(env)
    }

    /// An environment from clients built elsewhere (tests, embedders), with default settings.
    pub fn from_parts(config: Config, aws: AwsContext, repository: Repository) -> Env {
        Env {
            config,
            aws,
            aws_options: AwsOptions::default(),
            repository,
            mode: BackupMode::Full,
            tuning: Tuning::default(),
            lease_ttl: Duration::from_secs(1800),
            max_concurrency: 5,
            poll_seconds: 30,
            handler_budget: Duration::from_secs(840),
        }
    }

    /// These run settings instead of the defaults.
    pub fn with(mut self, s: &Settings) -> Env {
        self.lease_ttl = s.lease_ttl;
        self.max_concurrency = s.max_concurrency;
        self.poll_seconds = s.poll_seconds;
        self.handler_budget = s.handler_budget;
        self.tuning = s.tuning.clone();
        self
    }
}

/// A deployment's run settings, from its environment variables.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lease_ttl: Duration,
    pub max_concurrency: u32,
    pub poll_seconds: u32,
    pub handler_budget: Duration,
    /// Accounts backed up at once by the organization workflow's Map.
    pub max_concurrent_accounts: u32,
    pub tuning: Tuning,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lease_ttl: Duration::from_secs(1800),
            max_concurrency: 5,
            poll_seconds: 30,
            handler_budget: Duration::from_secs(840),
            max_concurrent_accounts: 4,
            tuning: Tuning::default(),
        }
    }
}

impl Settings {
    /// `QSBACKUP_LEASE_TTL_SECONDS`, `QSBACKUP_MAX_CONCURRENCY`, `QSBACKUP_POLL_SECONDS`,
    /// `QSBACKUP_HANDLER_BUDGET_SECONDS`, `QSBACKUP_MAX_CONCURRENT_ACCOUNTS` (default: the
    /// config's `backup.max_concurrent_accounts`).
    pub fn from_env(config: &Config) -> Result<Settings, HandlerError> {
        let accounts = config.backup.max_concurrent_accounts.get() as u64;
        Ok(Settings {
            lease_ttl: Duration::from_secs(env_number("QSBACKUP_LEASE_TTL_SECONDS", 1800)?),
            max_concurrency: env_number("QSBACKUP_MAX_CONCURRENCY", 5)?.clamp(1, 5) as u32,
            poll_seconds: env_number("QSBACKUP_POLL_SECONDS", 30)?.max(1) as u32,
            handler_budget: Duration::from_secs(env_number("QSBACKUP_HANDLER_BUDGET_SECONDS", 840)?.max(1)),
            max_concurrent_accounts: env_number("QSBACKUP_MAX_CONCURRENT_ACCOUNTS", accounts)?.clamp(1, 1000) as u32,
            tuning: Tuning::default(),
        })
    }
}

/// The config of the Lambda environment: YAML text in `QSBACKUP_CONFIG`, or a file named by
/// `QSBACKUP_CONFIG_FILE`.
pub fn config_from_env() -> Result<Config, HandlerError> {
    let bad = |e: qsbackup_core::Error| HandlerError::new("ConfigError", e.to_string());
    match (std::env::var("QSBACKUP_CONFIG"), std::env::var("QSBACKUP_CONFIG_FILE")) {
        (Ok(text), _) => config::load_str(&text, ConfigFormat::Yaml, Path::new("QSBACKUP_CONFIG")).map_err(bad),
        (Err(_), Ok(file)) => config::load(Path::new(&file)).map_err(bad),
        _ => Err(HandlerError::new(
            "ConfigError",
            "set QSBACKUP_CONFIG (the config as YAML) or QSBACKUP_CONFIG_FILE",
        )),
    }
}

/// The Lambda environment: [`config_from_env`] and [`Settings::from_env`].
pub async fn envs_from_env() -> Result<targets::Envs, HandlerError> {
    let config = config_from_env()?;
    let settings = Settings::from_env(&config)?;
    targets::Envs::new(config, &AwsOptions::default(), settings).await
}

/// Runs handler `name` (kebab-case, as `QSBACKUP_HANDLER` and the workflow's function names
/// say) on `payload`.
pub async fn dispatch(env: &Env, name: &str, payload: Value) -> Result<Value, HandlerError> {
    fn input<T: serde::de::DeserializeOwned>(name: &str, v: Value) -> Result<T, HandlerError> {
        serde_json::from_value(v).map_err(|e| HandlerError::new("BadInput", format!("{name}: {e}")))
    }
    fn output<T: serde::Serialize>(v: T) -> Result<Value, HandlerError> {
        serde_json::to_value(v).map_err(|e| HandlerError::new("BadOutput", e.to_string()))
    }
    match name {
        "begin-run" => output(handlers::begin_run(env).await?),
        "identities" => output(handlers::identities(env, input(name, payload)?).await?),
        "discover-and-plan" => output(handlers::discover_and_plan(env, input(name, payload)?).await?),
        "start-export" => output(handlers::start_export(env, input(name, payload)?).await?),
        "check-export" => output(handlers::check_export(env, input(name, payload)?).await?),
        "record-bundle-failure" => output(handlers::record_bundle_failure(env, input(name, payload)?).await?),
        "commit-snapshot" => output(handlers::commit_snapshot(env, input(name, payload)?).await?),
        "abort-run" => output(handlers::abort_run(env, input(name, payload)?).await?),
        "drill" => output(drill::drill(env, input(name, payload)?).await?),
        "list-targets" | "summarize-targets" => Err(HandlerError::new(
            "ConfigError",
            format!("{name} runs in the organization workflow, whose config lists several accounts"),
        )),
        other => Err(HandlerError::new("UnknownHandler", format!("no handler named {other}"))),
    }
}

/// Every handler name, in workflow order, then the drill's.
pub const HANDLERS: &[&str] = &[
    "begin-run",
    "identities",
    "discover-and-plan",
    "start-export",
    "check-export",
    "record-bundle-failure",
    "commit-snapshot",
    "abort-run",
    "drill",
    "list-targets",
    "summarize-targets",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_config_listing_several_accounts_is_refused_with_what_to_do() {
        let config = config::load_str(
            "aws:\n  region: us-east-1\naccounts:\n  - account_id: \"111111111111\"\n  - account_id: \"222222222222\"\n",
            ConfigFormat::Yaml,
            Path::new("QSBACKUP_CONFIG"),
        )
        .expect("config");
        let Err(e) = Env::new(config, &AwsOptions::default()).await else {
            panic!("a workflow of one account cannot run a config of two");
        };
        assert_eq!(e.kind, "ConfigError");
        assert!(e.message.contains("organization workflow"), "{}", e.message);
    }
}
