//! A deployment whose config lists several accounts (`accounts:` or `organization:`), run by
//! `deploy/organization.asl.json`: `list-targets` gives its Map one item per account × region,
//! each backed up by the per-account workflow as a child execution that names its target;
//! `summarize-targets` records every target's outcome in the repository
//! (`organization-runs/<id>.json`) and fails the execution when one failed, so the one alarm
//! on the organization's state machine fires.
//!
//! [`Envs`] finds each call's [`Env`]: for a config of one account, the one it always was; for
//! several, the target's own (its config from [`Config::for_target`], its role for QuickSight,
//! the run's own credentials for the repository), built on first use and kept for the
//! container's life. `begin-run` is told the target; it is recorded beside the run
//! (`runs/<run-id>/target.json`), so every later state of the run, which passes only its run id,
//! reaches the same account.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use qsbackup_core::aws::AwsOptions;
use qsbackup_core::config::{Config, Target};
use qsbackup_core::repository::layout::{self, ObjectKind, RepoFile};
use qsbackup_core::repository::manifest::new_snapshot_id;
use qsbackup_core::repository::{Repository, RepositoryOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::payload::Committed;
use crate::{dispatch, Env, HandlerError, Settings};

/// The target of a run, kept beside its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunTarget {
    #[serde(default = "layout::schema_v1")]
    schema: u32,
    target: Target,
}

impl RepoFile for RunTarget {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run target";
}

/// One account's targets, backed up one after the other.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountTargets {
    pub account_id: String,
    pub targets: Vec<Target>,
}

/// Output of list-targets: the Map's items (accounts) and how many run at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetList {
    pub accounts: Vec<AccountTargets>,
    /// Read by the Map's `MaxConcurrencyPath` (`QSBACKUP_MAX_CONCURRENT_ACCOUNTS`).
    pub max_concurrency: u32,
    /// Accounts of the organization that are not ACTIVE, with their state: not backed up.
    pub inactive: Vec<(String, String)>,
}

/// One item of the Map's result: the child execution's output, or the error it was caught with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetOutcome {
    pub target: Target,
    /// The per-account workflow's output (commit-snapshot's).
    #[serde(default)]
    pub committed: Option<Committed>,
    /// `{"Error": ..., "Cause": ...}` of a child execution that failed.
    #[serde(default)]
    pub error: Option<Value>,
}

/// Input of summarize-targets: the Map's result, one list of outcomes per account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummarizeInput {
    pub results: Vec<Vec<TargetOutcome>>,
    #[serde(default)]
    pub inactive: Vec<(String, String)>,
}

/// The record summarize-targets writes, and its output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganizationRun {
    #[serde(default = "layout::schema_v1")]
    pub schema: u32,
    pub id: String,
    pub key: String,
    pub complete: usize,
    pub partial: usize,
    pub failed: usize,
    pub targets: Vec<TargetOutcome>,
    pub inactive: Vec<(String, String)>,
}

impl RepoFile for OrganizationRun {
    const KIND: ObjectKind = ObjectKind::OrganizationRun;
    const WHAT: &'static str = "organization run record";
}

/// Every [`Env`] a deployment's handlers may need.
pub struct Envs {
    config: Config,
    aws_options: AwsOptions,
    settings: Settings,
    /// The one environment of a single-account config.
    single: Option<Arc<Env>>,
    /// The repository, with the run's own credentials.
    repository: Repository,
    home: aws_config::SdkConfig,
    by_target: Mutex<HashMap<Target, Arc<Env>>>,
    by_run: Mutex<HashMap<String, Target>>,
}

impl Envs {
    /// The environments of `config`; a single-account config connects now, as before.
    pub async fn new(config: Config, aws_options: &AwsOptions, settings: Settings) -> Result<Envs, HandlerError> {
        let home = qsbackup_core::aws::home_config(config.aws.home_region().as_str(), aws_options).await?;
        let repository = Repository::open(
            &config.repository_url(),
            &RepositoryOptions {
                s3_endpoint: None,
                aws: Some(home.clone()),
            },
        )
        .await?;
        if config.lists_accounts() {
            return Ok(Envs::of_targets(config, aws_options, settings, repository, home));
        }
        let single = Arc::new(Env::new(config.clone(), aws_options).await?.with(&settings));
        let mut envs = Envs::of_targets(config, aws_options, settings, repository, home);
        envs.single = Some(single);
        Ok(envs)
    }

    /// The environments of a config listing several accounts, over clients built elsewhere
    /// (tests, embedders): `repository` and `home` with the run's own credentials.
    pub fn of_targets(
        config: Config,
        aws_options: &AwsOptions,
        settings: Settings,
        repository: Repository,
        home: aws_config::SdkConfig,
    ) -> Envs {
        Envs {
            config,
            aws_options: aws_options.clone(),
            settings,
            single: None,
            repository,
            home,
            by_target: Mutex::new(HashMap::new()),
            by_run: Mutex::new(HashMap::new()),
        }
    }

    /// The environment of `target`, built on first use.
    async fn for_target(&self, target: &Target) -> Result<Arc<Env>, HandlerError> {
        let mut cache = self.by_target.lock().await;
        if let Some(env) = cache.get(target) {
            return Ok(env.clone());
        }
        let options = AwsOptions {
            role_arn: target.role_arn.clone(),
            ..self.aws_options.clone()
        };
        let config = self.config.for_target(target);
        let aws = qsbackup_core::aws::AwsContext::connect(&config.aws, &options).await?;
        // One repository for every target, reached with the run's own credentials.
        let mut env = Env::from_parts(config, aws, self.repository.clone()).with(&self.settings);
        env.aws_options = options;
        let env = Arc::new(env);
        cache.insert(target.clone(), env.clone());
        Ok(env)
    }

    /// The target run `run_id` was begun for.
    async fn target_of_run(&self, run_id: &str) -> Result<Target, HandlerError> {
        if let Some(t) = self.by_run.lock().await.get(run_id) {
            return Ok(t.clone());
        }
        let record: RunTarget = self.repository.read_record(&layout::run_target_key(run_id)).await?;
        self.by_run
            .lock()
            .await
            .insert(run_id.to_string(), record.target.clone());
        Ok(record.target)
    }
}

fn to_value<T: Serialize>(v: T) -> Result<Value, HandlerError> {
    serde_json::to_value(v).map_err(|e| HandlerError::new("BadOutput", e.to_string()))
}

fn bad_input(message: impl Into<String>) -> HandlerError {
    HandlerError::new("BadInput", message)
}

/// Runs handler `name` on `payload` with the environment the call needs.
pub async fn dispatch_all(envs: &Envs, name: &str, payload: Value) -> Result<Value, HandlerError> {
    match name {
        "list-targets" => return to_value(list_targets(envs).await?),
        "summarize-targets" => {
            let input = serde_json::from_value(payload).map_err(|e| bad_input(format!("{name}: {e}")))?;
            return to_value(summarize_targets(envs, input).await?);
        }
        _ => {}
    }
    if let Some(env) = &envs.single {
        // A target named to a deployment of one account must be that account, never ignored.
        if let Some(t) = payload.get("target").filter(|t| !t.is_null()) {
            let (account, region) = (t["account_id"].as_str(), t["region"].as_str());
            if account != Some(env.aws.account_id.as_str()) || region != Some(env.aws.region.as_str()) {
                return Err(bad_input(format!(
                    "{name}: this deployment backs up account {} in {}, not the target {t}",
                    env.aws.account_id, env.aws.region
                )));
            }
        }
        return dispatch(env, name, payload).await;
    }
    let several = "the config lists several accounts";
    if name == "drill" {
        return Err(HandlerError::new(
            "ConfigError",
            format!("drill: {several}; the scheduled drill is for a deployment of one account (qsbackup drill --account ID drills a member account)"),
        ));
    }
    if name == "begin-run" {
        let target: Target = serde_json::from_value(payload.get("target").cloned().unwrap_or(Value::Null))
            .map_err(|e| bad_input(format!("begin-run: {several}: the input names the target ({e})")))?;
        let env = envs.for_target(&target).await?;
        let out = dispatch(&env, name, payload).await?;
        let run_id = out["run_id"]
            .as_str()
            .ok_or_else(|| HandlerError::new("BadOutput", "begin-run returned no run_id"))?;
        envs.repository
            .write_record_once(
                &layout::run_target_key(run_id),
                &RunTarget {
                    schema: layout::SCHEMA_VERSION,
                    target: target.clone(),
                },
            )
            .await?;
        envs.by_run.lock().await.insert(run_id.to_string(), target);
        return Ok(out);
    }
    let run_id = payload["run_id"]
        .as_str()
        .ok_or_else(|| bad_input(format!("{name}: {several}, and this call names no run")))?
        .to_string();
    let target = envs.target_of_run(&run_id).await?;
    let env = envs.for_target(&target).await?;
    dispatch(&env, name, payload).await
}

/// First state of the organization workflow: every target, as the CLI would back them up.
async fn list_targets(envs: &Envs) -> Result<TargetList, HandlerError> {
    let listed = qsbackup_core::organization::targets(&envs.config, &envs.home).await?;
    if !envs.config.lists_accounts() || listed.targets.is_empty() {
        return Err(HandlerError::new(
            "ConfigError",
            "the organization workflow needs a config listing several accounts (`accounts` or `organization`)",
        ));
    }
    let mut accounts: Vec<AccountTargets> = Vec::new();
    for t in listed.targets {
        match accounts.iter_mut().find(|a| a.account_id == t.account_id.as_str()) {
            Some(a) => a.targets.push(t),
            None => accounts.push(AccountTargets {
                account_id: t.account_id.to_string(),
                targets: vec![t],
            }),
        }
    }
    Ok(TargetList {
        accounts,
        max_concurrency: envs.settings.max_concurrent_accounts,
        inactive: listed.inactive,
    })
}

/// Last state: the record of every target's outcome; an error when any target failed.
async fn summarize_targets(envs: &Envs, input: SummarizeInput) -> Result<OrganizationRun, HandlerError> {
    use qsbackup_core::repository::manifest::SnapshotStatus;
    let results: Vec<TargetOutcome> = input.results.into_iter().flatten().collect();
    let id = new_snapshot_id(Utc::now());
    let key = layout::organization_run_key(&id);
    let count = |status: SnapshotStatus| {
        results
            .iter()
            .filter(|r| r.committed.as_ref().is_some_and(|c| c.status == status))
            .count()
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.committed.is_none())
        .map(|r| {
            let why = r
                .error
                .as_ref()
                .and_then(|e| e["Cause"].as_str().or(e["Error"].as_str()))
                .unwrap_or("no outcome");
            format!("{}: {why}", r.target)
        })
        .collect();
    let record = OrganizationRun {
        schema: layout::SCHEMA_VERSION,
        id,
        key: key.clone(),
        complete: count(SnapshotStatus::Complete),
        partial: count(SnapshotStatus::Partial),
        failed: failed.len(),
        targets: results,
        inactive: input.inactive,
    };
    envs.repository.write_record(&key, &record).await?;
    if !failed.is_empty() {
        return Err(HandlerError::new(
            "TargetsFailed",
            format!(
                "{} of {} targets failed (recorded in {key}): {}",
                failed.len(),
                record.targets.len(),
                failed.join("; ")
            ),
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qsbackup_core::config::{load_str, ConfigFormat};
    use std::path::Path;

    #[tokio::test]
    async fn a_deployment_of_one_account_refuses_another_target_and_the_organization_handlers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "aws:\n  account_id: \"111111111111\"\n  region: us-east-1\nrepository: \"{}\"\n",
            dir.path().join("repo").display()
        );
        let config = load_str(&text, ConfigFormat::Yaml, Path::new("QSBACKUP_CONFIG")).expect("config");
        std::fs::create_dir_all(dir.path().join("repo")).expect("repo dir");
        let options = AwsOptions {
            credentials: Some(aws_credential_types::Credentials::new("t", "t", None, None, "tests")),
            ..Default::default()
        };
        let envs = Envs::new(config, &options, Settings::default()).await.expect("envs");
        let other = serde_json::json!({"target": {"account_id": "222222222222", "region": "us-east-1", "identity_region": "us-east-1"}});
        let e = dispatch_all(&envs, "begin-run", other)
            .await
            .expect_err("another account");
        assert_eq!(e.kind, "BadInput");
        assert!(e.message.contains("222222222222"), "{}", e.message);
        let e = dispatch_all(&envs, "list-targets", Value::Null)
            .await
            .expect_err("one account");
        assert_eq!(e.kind, "ConfigError");
    }
}
