//! A deployment whose config lists several accounts (`accounts:` or `organization:`): each
//! target is backed up by the per-account workflow as a child execution of the organization
//! workflow (its own states are in [`crate::organization`]), whose input names the target and
//! the organization run; the run records its outcome when it commits or aborts.
//!
//! [`Envs`] finds each call's [`Env`]: for a config of one account, the one it always was; for
//! several, the target's own (its config from [`Config::for_target`], its role for QuickSight,
//! the run's own credentials for the repository), built on first use and kept for the
//! container's life. `begin-run` is told the target; it is recorded beside the run
//! (`runs/<run-id>/target.json`), so every later state of the run, which passes only its run id,
//! reaches the same account.

use std::collections::HashMap;
use std::sync::Arc;

use qsbackup_core::aws::AwsOptions;
use qsbackup_core::config::{Config, Target};
use qsbackup_core::repository::layout::{self, ObjectKind, RepoFile};
use qsbackup_core::repository::{Repository, RepositoryOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::organization::{list_targets, summarize_targets, TargetOutcome};
use crate::payload::Committed;
use crate::{dispatch, Env, HandlerError, Settings};

/// The target of a run, kept beside its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunTarget {
    #[serde(default = "layout::schema_v1")]
    schema: u32,
    target: Target,
    /// The organization run (its execution name) this run reports its outcome to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization_run: Option<String>,
}

impl RepoFile for RunTarget {
    const KIND: ObjectKind = ObjectKind::Run;
    const WHAT: &'static str = "scheduled run target";
}

/// Every [`Env`] a deployment's handlers may need.
pub struct Envs {
    pub(crate) config: Config,
    aws_options: AwsOptions,
    pub(crate) settings: Settings,
    /// The one environment of a single-account config.
    single: Option<Arc<Env>>,
    /// The repository, with the run's own credentials.
    pub(crate) repository: Repository,
    pub(crate) home: aws_config::SdkConfig,
    by_target: Mutex<HashMap<Target, Arc<Env>>>,
    by_run: Mutex<HashMap<String, RunTarget>>,
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

    /// The target run `run_id` was begun for; a run without one is `UnknownRun` (not retried).
    async fn target_of_run(&self, run_id: &str) -> Result<RunTarget, HandlerError> {
        if let Some(t) = self.by_run.lock().await.get(run_id) {
            return Ok(t.clone());
        }
        let record: RunTarget = self
            .repository
            .read_record_if_any(&layout::run_target_key(run_id))
            .await?
            .ok_or_else(|| {
                HandlerError::new(
                    "UnknownRun",
                    format!("run {run_id} has no target record: it was not begun by this deployment's begin-run"),
                )
            })?;
        self.by_run.lock().await.insert(run_id.to_string(), record.clone());
        Ok(record)
    }

    /// Whether `target` is one of the config's, with the role the config gives it: a child
    /// execution started by hand cannot point the deployment's credentials elsewhere.
    fn check_target(&self, target: &Target) -> Result<(), HandlerError> {
        let refuse = |why: &str| {
            Err(bad_input(format!(
                "begin-run: {target} is not a target of this config: {why}"
            )))
        };
        if !self.config.accounts.is_empty() {
            return match self.config.listed_targets().contains(target) {
                true => Ok(()),
                false => refuse("not among `accounts` with this region, identity region and role"),
            };
        }
        let Some(org) = &self.config.organization else {
            return refuse("the config lists no accounts");
        };
        if org.exclude.contains(&target.account_id) {
            return refuse("excluded");
        }
        // Without a role: the account the deployment's own credentials belong to.
        let candidates = self
            .config
            .organization_targets(&target.account_id, target.role_arn.is_none());
        if candidates.contains(target) {
            Ok(())
        } else if candidates
            .iter()
            .any(|c| c.region == target.region && c.identity_region == target.identity_region)
        {
            refuse("its role is not `organization.role_name`")
        } else {
            refuse("not a region of `organization` (or another identity region)")
        }
    }

    /// Records how a target's run ended, for summarize-targets.
    async fn record_outcome(
        &self,
        run: &RunTarget,
        committed: Option<Committed>,
        error: Option<Value>,
    ) -> Result<(), HandlerError> {
        let Some(org_run) = &run.organization_run else {
            return Ok(());
        };
        let key = layout::organization_target_key(org_run, run.target.account_id.as_str(), run.target.region.as_str());
        let outcome = TargetOutcome {
            target: run.target.clone(),
            committed,
            error,
        };
        self.repository.write_record_once(&key, &outcome).await?;
        Ok(())
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
        envs.check_target(&target)?;
        let record = RunTarget {
            schema: layout::SCHEMA_VERSION,
            target: target.clone(),
            organization_run: payload["organization_run"].as_str().map(str::to_string),
        };
        let env = envs.for_target(&target).await?;
        let out = dispatch(&env, name, payload).await?;
        let run_id = out["run_id"]
            .as_str()
            .ok_or_else(|| HandlerError::new("BadOutput", "begin-run returned no run_id"))?
            .to_string();
        if let Err(e) = envs
            .repository
            .write_record_once(&layout::run_target_key(&run_id), &record)
            .await
        {
            // Without its target the run cannot go on: give its locks back now.
            let _ = dispatch(&env, "abort-run", serde_json::json!({ "run_id": run_id })).await;
            return Err(e.into());
        }
        envs.by_run.lock().await.insert(run_id, record);
        return Ok(out);
    }
    let run_id = payload["run_id"]
        .as_str()
        .ok_or_else(|| bad_input(format!("{name}: {several}, and this call names no run")))?
        .to_string();
    let run = envs.target_of_run(&run_id).await?;
    let env = envs.for_target(&run.target).await?;
    match name {
        "commit-snapshot" => {
            let out = dispatch(&env, name, payload).await?;
            let committed = serde_json::from_value(out.clone()).ok();
            envs.record_outcome(&run, committed, None).await?;
            Ok(out)
        }
        "abort-run" => {
            let error = payload.get("error").cloned().filter(|e| !e.is_null());
            let out = dispatch(&env, name, payload).await;
            // The outcome is recorded even when the locks could not be released.
            envs.record_outcome(
                &run,
                None,
                Some(error.unwrap_or_else(|| serde_json::json!({"Error": "Aborted"}))),
            )
            .await?;
            out
        }
        _ => dispatch(&env, name, payload).await,
    }
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

    #[tokio::test]
    async fn an_organization_deployment_begins_only_its_own_targets_and_knows_its_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "aws:\n  region: us-east-1\norganization:\n  role_name: Reader\n  exclude: [\"333333333333\"]\nrepository: \"{}\"\n",
            dir.path().join("repo").display()
        );
        let config = load_str(&text, ConfigFormat::Yaml, Path::new("QSBACKUP_CONFIG")).expect("config");
        std::fs::create_dir_all(dir.path().join("repo")).expect("repo dir");
        let repository = Repository::open(&config.repository_url(), &Default::default())
            .await
            .expect("repository");
        let home = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let envs = Envs::of_targets(config, &AwsOptions::default(), Settings::default(), repository, home);
        let target = |account: &str, region: &str, role: &str| serde_json::json!({"target": {"account_id": account, "region": region, "identity_region": "us-east-1", "role_arn": role}});
        for (payload, why) in [
            (
                target("222222222222", "us-east-1", "arn:aws:iam::222222222222:role/Admin"),
                "its role",
            ),
            (
                target("333333333333", "us-east-1", "arn:aws:iam::333333333333:role/Reader"),
                "excluded",
            ),
            (
                target("222222222222", "eu-west-1", "arn:aws:iam::222222222222:role/Reader"),
                "not a region",
            ),
        ] {
            let e = dispatch_all(&envs, "begin-run", payload).await.expect_err(why);
            assert_eq!(e.kind, "BadInput", "{why}: {}", e.message);
            assert!(e.message.contains(why), "{why}: {}", e.message);
        }
        let e = dispatch_all(
            &envs,
            "identities",
            serde_json::json!({"run_id": "20261203T000000Z-abcdef"}),
        )
        .await
        .expect_err("a run it never began");
        assert_eq!(e.kind, "UnknownRun", "{}", e.message);
    }
}
