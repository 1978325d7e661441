//! Steps every command shares: loading the config, connecting to AWS, opening
//! the repository. JSON results go through [`super::json`].

use std::path::Path;

use anyhow::anyhow;
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::config::{AccountId, Config, Target};
use qsbackup_core::repository::{Repository, RepositoryOptions};

use super::repo::SelectArgs;
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

/// The source of a restore or drill. A single-account config is its own source. A config
/// listing several accounts names it with `--account` (and `--region` when the account has
/// several): the config becomes that target's, and `select` is filled in so `latest` is the
/// target's newest snapshot.
pub fn source_of(config: &Config, select: &mut SelectArgs) -> Result<(Config, Option<Target>), Outcome> {
    if !config.lists_accounts() {
        return Ok((config.clone(), None));
    }
    let mut candidates = config.listed_targets();
    if let (Some(_), Some(account)) = (&config.organization, &select.account) {
        let account = AccountId::try_from(account.clone()).map_err(|e| Outcome::usage(anyhow!("--account: {e}")))?;
        // The source only names the snapshots; its role is not used (restore names its own).
        candidates = config.organization_targets(&account, false);
    }
    let all: Vec<String> = candidates.iter().map(Target::to_string).collect();
    let chosen = targets_in(candidates, select.account.as_deref(), select.region.as_deref());
    match chosen.as_slice() {
        [one] => {
            select.account = Some(one.account_id.to_string());
            select.region = Some(one.region.to_string());
            Ok((config.for_target(one), Some(one.clone())))
        }
        [] if select.account.is_none() => Err(Outcome::usage(anyhow!(
            "the config lists the accounts of an organization: name the source account with --account ID"
        ))),
        [] => Err(Outcome::usage(anyhow!(
            "the config lists no such source{}; its targets: {}",
            select_words(select),
            all.join(", ")
        ))),
        _ => Err(Outcome::usage(anyhow!(
            "the config lists several accounts or regions: name the source with --account ID [--region R]; \
             its targets: {}",
            all.join(", ")
        ))),
    }
}

/// The targets of `account` and `region` (each `None`: any).
pub fn targets_in(targets: Vec<Target>, account: Option<&str>, region: Option<&str>) -> Vec<Target> {
    targets
        .into_iter()
        .filter(|t| account.is_none_or(|a| a == t.account_id.as_str()))
        .filter(|t| region.is_none_or(|r| r == t.region.as_str()))
        .collect()
}

fn select_words(select: &SelectArgs) -> String {
    let mut out = String::new();
    if let Some(a) = &select.account {
        out.push_str(&format!(" as account {a}"));
    }
    if let Some(r) = &select.region {
        out.push_str(&format!(" in {r}"));
    }
    out
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
    if config.lists_accounts() {
        // backup, restore and drill choose a target first; the other commands read one account.
        return Err(Outcome::usage(anyhow!(
            "this command works on one account and the config lists several (`accounts` or `organization`): \
             run it with a config naming one in `aws.account_id`"
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
        aws: aws.map(|a| a.home.clone()),
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
