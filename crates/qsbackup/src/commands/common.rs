//! Steps every command shares: loading the config, connecting to AWS, opening
//! the repository. JSON results go through [`super::json`].

use std::path::Path;

use anyhow::anyhow;
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::config::Config;
use qsbackup_core::repository::{Repository, RepositoryOptions};

use crate::cli::GlobalArgs;
use crate::exit::Outcome;

/// Loads the config named by `--config`; a missing flag is a usage error. The global
/// `-r/--repo` (or `QSBACKUP_REPOSITORY`) wins over the config's repository.
pub fn load_config(global: &GlobalArgs) -> Result<Config, Outcome> {
    let path = global.config.as_deref().ok_or_else(|| {
        Outcome::usage(anyhow!(
            "this command needs a config file: pass --config FILE (or set QSBACKUP_CONFIG)"
        ))
    })?;
    let mut config = load_config_at(path)?;
    if let Some(url) = &global.repo {
        qsbackup_core::repository::check_url(url)
            .map_err(|message| Outcome::usage(anyhow!("-r/--repo {url:?}: {message}")))?;
        config.repository = Some(url.clone());
    }
    Ok(config)
}

pub fn load_config_at(path: &Path) -> Result<Config, Outcome> {
    qsbackup_core::config::load(path).map_err(Outcome::from_core)
}

/// AWS clients for the config's account and regions, from the standard environment.
/// The demo's config is refused unless the caller points QuickSight at an emulator itself.
pub async fn connect(config: &Config, options: &AwsOptions) -> Result<AwsContext, Outcome> {
    if let (Some(demo), None) = (&config.demo, &options.quicksight_endpoint) {
        return Err(Outcome::usage(anyhow!(
            "this config was written by `qsbackup demo` for its emulated account (QuickSight at {}, gone \
             when the demo ended): it would call AWS with your own credentials, so it is refused. \
             `snapshots`, `show`, `verify` and `diff` read the demo repository with it; run `qsbackup demo` \
             again for a new round trip, or write a config for your account (README: Quick start against AWS)",
            demo.quicksight_endpoint
        )));
    }
    AwsContext::connect(&config.aws, &with_env_timeouts(options)?)
        .await
        .map_err(Outcome::from_core)
}

/// `QSBACKUP_AWS_CONNECT_TIMEOUT` and `QSBACKUP_AWS_CALL_TIMEOUT` (seconds) override the time
/// limits to connect to an AWS endpoint and of one attempt of a call.
pub fn with_env_timeouts(options: &AwsOptions) -> Result<AwsOptions, Outcome> {
    let mut options = options.clone();
    let seconds = |name: &str| -> Result<Option<std::time::Duration>, Outcome> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=3600).contains(&n) => Ok(Some(std::time::Duration::from_secs(n))),
                _ => Err(Outcome::usage(anyhow!(
                    "{name}={v:?}: expected a whole number of seconds from 1 to 3600"
                ))),
            },
        }
    };
    if let Some(d) = seconds("QSBACKUP_AWS_CONNECT_TIMEOUT")? {
        options.timeouts.connect = d;
    }
    if let Some(d) = seconds("QSBACKUP_AWS_CALL_TIMEOUT")? {
        options.timeouts.attempt = d;
    }
    Ok(options)
}

fn repository_options(aws: Option<&AwsContext>) -> RepositoryOptions {
    RepositoryOptions {
        s3_endpoint: None,
        aws: aws.map(|a| a.sdk.clone()),
    }
}

/// Opens the config's existing repository (a missing one is an error, exit 3); S3 gets its
/// credentials from `aws` when given.
pub async fn open_repository(config: &Config, aws: Option<&AwsContext>) -> Result<Repository, Outcome> {
    Repository::open(&config.repository_url(), &repository_options(aws))
        .await
        .map_err(Outcome::from_core)
}

/// Opens the config's repository for a backup, creating a missing local one and saying so.
pub async fn create_repository(config: &Config, aws: Option<&AwsContext>) -> Result<Repository, Outcome> {
    let (repository, created) = Repository::create_or_open(&config.repository_url(), &repository_options(aws))
        .await
        .map_err(Outcome::from_core)?;
    if created {
        eprintln!("Created a new repository at {}", repository.location());
    }
    Ok(repository)
}

/// Opens a repository for commands that only read or maintain it: the config's
/// repository, without AWS clients beyond the standard environment.
pub async fn open_config_repository(global: &GlobalArgs) -> Result<(Config, Repository), Outcome> {
    let config = load_config(global)?;
    let repo = open_repository(&config, None).await?;
    Ok((config, repo))
}
