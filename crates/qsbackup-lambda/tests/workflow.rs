//! The handlers driven by `deploy/statemachine.asl.json` itself: a small interpreter of the
//! states the workflow uses (Task, Parallel, Map with ItemSelector and MaxConcurrencyPath, Wait,
//! Choice, Succeed, Fail; Parameters, ResultSelector, ResultPath, Catch) runs a scheduled backup
//! of an emulated account into an S3 repository on moto, with identity tables in moto's
//! DynamoDB. The snapshot it commits holds the same assets and member checksums as a backup of
//! the same account by the `qsbackup` binary, and no payload between states exceeds 256 KB; the
//! `large` account is planned too, to check its payloads. The scheduled drill's handler drills
//! a snapshot the workflow committed into an empty recovery account.

use aws_credential_types::Credentials;
use futures::future::BoxFuture;
use futures::FutureExt;
use qs_emulator::{EmulatorOptions, Profile};
use qsbackup_core::aws::{AwsContext, AwsOptions, RetryPolicy};
use qsbackup_core::backup::export::Tuning;
use qsbackup_core::config::{load_str, ConfigFormat};
use qsbackup_core::repository::manifest::SnapshotManifest;
use qsbackup_core::repository::{Repository, RepositoryOptions};
use qsbackup_lambda::targets::{dispatch_all, Envs};
use qsbackup_lambda::{dispatch, Env, HandlerError, Settings};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const ACCOUNT: &str = "123456789012";
const LIMIT: usize = 256 * 1024;

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests through scripts/test, which starts a moto server on loopback")
    })
}

fn asl() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/statemachine.asl.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the state machine")).expect("ASL JSON")
}

/// `BeginRun` in `${BeginRunFunctionArn}` is handler `begin-run`.
fn handler_of(resource: &str) -> String {
    let name = resource
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix("FunctionArn}"))
        .unwrap_or_else(|| panic!("Task resource {resource} is not a ${{<Name>FunctionArn}} substitution"));
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The subset of JSONPath the workflow uses: `$`, `$.a.b`, `$[1].a`, `$$.Map.Item.Value`.
fn get(input: &Value, context: &Value, path: &str) -> Value {
    let (mut cur, rest) = match path.strip_prefix("$$") {
        Some(rest) => (context, rest),
        None => (
            input,
            path.strip_prefix('$').unwrap_or_else(|| panic!("bad path {path}")),
        ),
    };
    let normalized = rest.replace('[', ".[");
    for part in normalized.split('.').filter(|p| !p.is_empty()) {
        cur = match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(i) => &cur[i.parse::<usize>().expect("index")],
            None => &cur[part],
        };
    }
    cur.clone()
}

fn template(t: &Value, input: &Value, context: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in t.as_object().expect("Parameters object") {
        match k.strip_suffix(".$") {
            Some(key) => out.insert(key.to_string(), get(input, context, v.as_str().expect("path"))),
            None => out.insert(k.clone(), v.clone()),
        };
    }
    Value::Object(out)
}

fn put_result(state: &Value, input: Value, result: Value) -> Value {
    match state.get("ResultPath") {
        None => result,
        Some(Value::Null) => input,
        Some(Value::String(p)) if p == "$" => result,
        Some(Value::String(p)) => {
            let key = p.strip_prefix("$.").expect("ResultPath $.key");
            let mut input = input;
            input[key] = result;
            input
        }
        Some(other) => panic!("ResultPath {other}"),
    }
}

/// What a Task's Lambda function runs: one account's [`Env`], or a deployment's [`Envs`].
trait Handlers: Sync {
    fn call<'a>(&'a self, name: &'a str, payload: Value) -> BoxFuture<'a, Result<Value, HandlerError>>;
}

impl Handlers for Env {
    fn call<'a>(&'a self, name: &'a str, payload: Value) -> BoxFuture<'a, Result<Value, HandlerError>> {
        dispatch(self, name, payload).boxed()
    }
}

impl Handlers for Envs {
    fn call<'a>(&'a self, name: &'a str, payload: Value) -> BoxFuture<'a, Result<Value, HandlerError>> {
        dispatch_all(self, name, payload).boxed()
    }
}

/// `arn:aws:states:::states:startExecution.sync:2` of the organization workflow: the account
/// workflow, interpreted as a child execution.
const START_EXECUTION_SYNC: &str = "arn:aws:states:::states:startExecution.sync:2";

struct Run<'a> {
    env: &'a dyn Handlers,
    /// (state, bytes) of every payload that crossed a state boundary.
    payloads: Mutex<Vec<(String, usize)>>,
    /// Stop after the Parallel (the large account's plan only).
    stop_after_plan: bool,
}

impl Run<'_> {
    fn record(&self, state: &str, v: &Value) {
        let n = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
        self.payloads.lock().unwrap().push((state.to_string(), n));
    }

    fn states<'b>(
        &'b self,
        states: &'b Value,
        start: &'b str,
        input: Value,
        context: Value,
    ) -> BoxFuture<'b, Result<Value, (String, String)>> {
        async move {
            let mut name = start.to_string();
            let mut input = input;
            loop {
                let state = &states[&name];
                self.record(&name, &input);
                let outcome: Result<Value, (String, String)> = match state["Type"].as_str().expect("Type") {
                    "Task" if state["Resource"] == START_EXECUTION_SYNC => {
                        let params = template(&state["Parameters"], &input, &context);
                        assert!(params["StateMachineArn"].is_string(), "{params}");
                        let child_input = template(&params["Input"], &input, &context);
                        let child = asl();
                        let id = format!("child-{}", child_input["target"]);
                        let out = self
                            .states(
                                &child["States"],
                                child["StartAt"].as_str().expect("StartAt"),
                                child_input.clone(),
                                json!({"Execution": {"Id": id}}),
                            )
                            .await;
                        // What `.sync:2` returns: the child's input and output, parsed; a failed
                        // child is `States.TaskFailed` with the execution's description as cause.
                        out.map(|output| {
                            let described = json!({"Input": child_input, "Output": output, "Status": "SUCCEEDED"});
                            match state.get("ResultSelector") {
                                Some(sel) => template(sel, &described, &context),
                                None => described,
                            }
                        })
                        .map_err(|(error, cause)| {
                            let described =
                                json!({"Input": child_input, "Status": "FAILED", "Error": error, "Cause": cause});
                            ("States.TaskFailed".to_string(), described.to_string())
                        })
                    }
                    "Task" => {
                        let payload = match state.get("Parameters") {
                            Some(p) => template(p, &input, &context),
                            None => input.clone(),
                        };
                        let handler = handler_of(state["Resource"].as_str().expect("Resource"));
                        let mut attempt = 0;
                        loop {
                            attempt += 1;
                            match self.env.call(&handler, payload.clone()).await {
                                Ok(v) => break Ok(v),
                                // The workflow retries a full account's job limit; so does this.
                                Err(e) if e.kind == "QuickSightLimitExceeded" && attempt < 50 => {
                                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                                }
                                Err(e) => break Err((e.kind, e.message)),
                            }
                        }
                    }
                    "Parallel" => {
                        let branches = state["Branches"].as_array().expect("Branches");
                        let runs = branches.iter().map(|b| {
                            self.states(
                                &b["States"],
                                b["StartAt"].as_str().expect("StartAt"),
                                input.clone(),
                                context.clone(),
                            )
                        });
                        let results: Result<Vec<Value>, _> =
                            futures::future::join_all(runs).await.into_iter().collect();
                        results.map(|r| {
                            let r = Value::Array(r);
                            match state.get("ResultSelector") {
                                Some(sel) => template(sel, &r, &context),
                                None => r,
                            }
                        })
                    }
                    "Map" => {
                        let items = get(&input, &context, state["ItemsPath"].as_str().expect("ItemsPath"));
                        let max = match state.get("MaxConcurrencyPath") {
                            Some(path) => get(&input, &context, path.as_str().expect("MaxConcurrencyPath")),
                            None => state["MaxConcurrency"].clone(),
                        }
                        .as_u64()
                        .expect("MaxConcurrency number") as usize;
                        let processor = &state["ItemProcessor"];
                        let start = processor["StartAt"].as_str().expect("StartAt");
                        let items: Vec<Value> = items.as_array().expect("items").clone();
                        let mut results = Vec::new();
                        for chunk in items.chunks(max.max(1)) {
                            let runs = chunk.iter().map(|item| {
                                let mut ctx = json!({"Map": {"Item": {"Value": item}}});
                                ctx["Execution"] = context["Execution"].clone();
                                let item_input = template(&state["ItemSelector"], &input, &ctx);
                                self.record("Map item", &item_input);
                                self.states(&processor["States"], start, item_input, ctx)
                            });
                            for r in futures::future::join_all(runs).await {
                                results.push(r);
                            }
                        }
                        results.into_iter().collect::<Result<Vec<Value>, _>>().map(Value::Array)
                    }
                    "Wait" => {
                        let s = get(&input, &context, state["SecondsPath"].as_str().expect("SecondsPath"));
                        assert!(s.as_u64().is_some(), "Wait SecondsPath is not a number: {s}");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(input.clone())
                    }
                    "Choice" => {
                        let next = state["Choices"]
                            .as_array()
                            .expect("Choices")
                            .iter()
                            .find(|c| {
                                let value = get(&input, &context, c["Variable"].as_str().expect("Variable"));
                                match c.get("IsPresent") {
                                    Some(present) => present.as_bool() == Some(!value.is_null()),
                                    None => value == c["StringEquals"],
                                }
                            })
                            .map(|c| c["Next"].clone())
                            .unwrap_or_else(|| state["Default"].clone());
                        name = next.as_str().expect("Next").to_string();
                        continue;
                    }
                    "Pass" => Ok(match (state.get("Result"), state.get("Parameters")) {
                        (Some(result), _) => result.clone(),
                        (None, Some(p)) => template(p, &input, &context),
                        (None, None) => input.clone(),
                    }),
                    "Succeed" => return Ok(input),
                    "Fail" => {
                        let cause = match state.get("CausePath") {
                            Some(path) => get(&input, &context, path.as_str().expect("CausePath")),
                            None => state["Cause"].clone(),
                        };
                        return Err((
                            state["Error"].as_str().unwrap_or("Fail").to_string(),
                            cause.as_str().unwrap_or_default().to_string(),
                        ));
                    }
                    other => panic!("the interpreter does not know state type {other}"),
                };
                match outcome {
                    Ok(result) => {
                        self.record(&name, &result);
                        input = put_result(state, input, result);
                    }
                    Err((error, cause)) => {
                        let caught = state["Catch"].as_array().and_then(|cs| {
                            cs.iter().find(|c| {
                                c["ErrorEquals"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .any(|e| e == "States.ALL" || *e == error)
                            })
                        });
                        let Some(c) = caught else { return Err((error, cause)) };
                        // ResultPath null keeps the input as it was.
                        if !c["ResultPath"].is_null() {
                            let key = c["ResultPath"]
                                .as_str()
                                .and_then(|p| p.strip_prefix("$."))
                                .expect("Catch ResultPath");
                            input[key] = json!({"Error": error, "Cause": cause});
                        }
                        name = c["Next"].as_str().expect("Catch Next").to_string();
                        continue;
                    }
                }
                if self.stop_after_plan && name == "DiscoverAndIdentities" {
                    return Ok(input);
                }
                if state.get("End").and_then(Value::as_bool) == Some(true) {
                    return Ok(input);
                }
                name = state["Next"].as_str().expect("Next").to_string();
            }
        }
        .boxed()
    }
}

async fn create_bucket(moto: &str, name: &str) {
    let resp = reqwest::Client::new()
        .put(format!("{moto}/{name}"))
        .send()
        .await
        .expect("create bucket");
    assert!(resp.status().is_success(), "create bucket {name}: {}", resp.status());
}

fn config_text(bucket: &str, prefix: &str, tables: Option<&str>) -> String {
    let mut t = format!(
        "aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\ns3:\n  bucket_name: {bucket}\n  prefix: {prefix}\nbackup:\n  job_timeout_seconds: 120\n"
    );
    if let Some(base) = tables {
        t.push_str(&format!(
            "dynamodb:\n  users_table_name: {base}-users\n  groups_table_name: {base}-groups\n  users_group_table_name: {base}-members\n"
        ));
    }
    t
}

async fn env_for(endpoint: &str, text: &str) -> Env {
    let moto = moto();
    let config = load_str(text, ConfigFormat::Yaml, Path::new("workflow.yaml")).expect("config");
    let options = AwsOptions {
        quicksight_endpoint: Some(endpoint.to_string()),
        credentials: Some(Credentials::new("test", "test", None, None, "tests")),
        retry: RetryPolicy::fast(),
        ..Default::default()
    };
    let mut aws = AwsContext::connect(&config.aws, &options).await.expect("AWS context");
    let drill_options = options.clone();
    // DynamoDB (identity tables) on moto; QuickSight keeps its own endpoint.
    aws.home = aws.home.to_builder().endpoint_url(&moto).build();
    let repository = Repository::open(
        &config.repository_url(),
        &RepositoryOptions {
            s3_endpoint: Some(moto),
            aws: Some(aws.home.clone()),
        },
    )
    .await
    .expect("repository");
    let mut env = Env::from_parts(config, aws, repository);
    // The drill reaches its recovery account on the emulator too.
    env.aws_options = drill_options;
    env.tuning = Tuning::fast();
    env.poll_seconds = 1;
    env
}

/// The `qsbackup` binary of this build (scripts/test exports QSBACKUP_BIN).
fn qsbackup_bin() -> PathBuf {
    if let Ok(p) = std::env::var("QSBACKUP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("qsbackup"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (scripts/test does)",
        bin.display()
    );
    bin
}

/// `(member type, id, sha256)` of every bundle member of a snapshot.
fn members(m: &SnapshotManifest) -> BTreeSet<(String, String, String)> {
    m.bundles
        .iter()
        .flat_map(|b| &b.members)
        .map(|x| (x.member_type.clone(), x.id.clone(), x.sha256.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_machine_commits_the_snapshot_a_cli_backup_commits() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 8,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let endpoint = emu.endpoint();
    let bucket = format!("qsb-sfn-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let tables = format!("sfn{}", std::process::id());
    let env = env_for(&endpoint, &config_text(&bucket, "sfn", Some(&tables))).await;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    let out = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({}),
        )
        .await
        .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    let committed = out.clone();
    assert!(
        matches!(committed["status"].as_str(), Some("complete" | "partial")),
        "{committed}"
    );
    let snapshot_id = committed["snapshot_id"].as_str().expect("snapshot id").to_string();
    for (state, n) in run.payloads.lock().unwrap().iter() {
        assert!(*n < LIMIT, "{state} passed {n} bytes");
    }
    let lambda = SnapshotManifest::load(&env.repository, &snapshot_id)
        .await
        .expect("manifest");
    assert!(lambda.identities.is_some(), "identities are in the snapshot");
    assert!(!lambda.bundles.is_empty());
    // The lock is released: another run may take it at once.
    let again = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &env.repository,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("the run released its lock");
    again.release().await.expect("release");

    // The same account backed up by the binary.
    let dir = tempfile::tempdir().expect("tempdir");
    let cli_config = dir.path().join("cli.yaml");
    std::fs::write(&cli_config, config_text(&bucket, "cli", None)).expect("config");
    let out = std::process::Command::new(qsbackup_bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_QUICKSIGHT", &endpoint)
        .env("AWS_ENDPOINT_URL_S3", &moto)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &moto)
        .arg("--config")
        .arg(&cli_config)
        .args(["--no-progress", "--json", "backup"])
        .output()
        .expect("run qsbackup");
    assert!(
        matches!(out.status.code(), Some(0) | Some(2)),
        "CLI backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_env = env_for(&endpoint, &config_text(&bucket, "cli", None)).await;
    let cli_id = qsbackup_core::repository::snapshots::resolve(&cli_env.repository, "latest")
        .await
        .expect("CLI snapshot");
    let cli = SnapshotManifest::load(&cli_env.repository, &cli_id)
        .await
        .expect("CLI manifest");

    assert_eq!(members(&lambda), members(&cli), "bundle members and checksums differ");
    let arns = |v: &Vec<qsbackup_core::repository::manifest::FailedAsset>| {
        v.iter().map(|f| f.arn.clone()).collect::<BTreeSet<_>>()
    };
    assert_eq!(arns(&lambda.failed), arns(&cli.failed), "failed assets differ");
    let skipped = |m: &SnapshotManifest| m.skipped.iter().map(|s| s.arn.clone()).collect::<BTreeSet<_>>();
    assert_eq!(skipped(&lambda), skipped(&cli), "skipped assets differ");
    assert_eq!(lambda.status, cli.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_of_the_large_account_stay_under_256_kb() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Large,
        seed: 2,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-large-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let mut env = env_for(&emu.endpoint(), &config_text(&bucket, "large", None)).await;
    // Assets only: the plan is what grows with the account.
    env.mode = qsbackup_core::repository::manifest::BackupMode::AssetsOnly;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: true,
    };
    let asl = asl();
    let out = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({}),
        )
        .await
        .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    let bundles = out["planned"]["bundle_count"].as_u64().expect("bundle count");
    assert!(bundles > 20, "the large account plans {bundles} bundles");
    let payloads = run.payloads.lock().unwrap().clone();
    assert!(payloads.iter().any(|(s, _)| s == "DiscoverAndIdentities"));
    for (state, n) in &payloads {
        assert!(*n < LIMIT, "{state} passed {n} bytes");
    }
    let plan_key = qsbackup_core::repository::layout::run_plan_key(out["run_id"].as_str().expect("run id"));
    let plan = env
        .repository
        .head(&plan_key)
        .await
        .expect("head")
        .expect("the plan is stored");
    eprintln!("large plan: {bundles} bundles, plan.json {} bytes", plan.size);
    let run_id = out["run_id"].as_str().expect("run id").to_string();
    dispatch(&env, "abort-run", json!({"run_id": run_id}))
        .await
        .expect("abort releases the lock");
}

/// Step Functions retries check-export after the bundle was stored but before its record was
/// written: the retry finds the bundle's key taken and records the stored object, not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_check_export_records_the_bundle_it_already_stored() {
    use qsbackup_core::backup::state::BundleResult;
    use qsbackup_core::repository::layout;
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 3,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-retry-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let mut env = env_for(&emu.endpoint(), &config_text(&bucket, "retry", None)).await;
    env.mode = qsbackup_core::repository::manifest::BackupMode::AssetsOnly;
    let begun = dispatch(&env, "begin-run", json!({})).await.expect("begin-run");
    let run_id = begun["run_id"].as_str().expect("run id").to_string();
    let planned = dispatch(&env, "discover-and-plan", json!({"run_id": run_id}))
        .await
        .expect("discover-and-plan");
    let count = planned["bundle_count"]
        .as_u64()
        .unwrap_or_else(|| panic!("bundle count in {planned}"));
    // The first bundle whose export job QuickSight starts.
    let mut bundle = None;
    for n in 0..count {
        let started = dispatch(&env, "start-export", json!({"run_id": run_id, "bundle": n}))
            .await
            .expect("start-export");
        if started["status"] == "RUNNING" {
            bundle = Some((n as usize, started));
            break;
        }
    }
    let (bundle, mut polled) = bundle.expect("a bundle ran as an export job");
    let mut running = polled.clone();
    for _ in 0..200 {
        if polled["status"] == "DONE" {
            break;
        }
        running = polled.clone();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        polled = dispatch(&env, "check-export", polled).await.expect("check-export");
    }
    assert_eq!(polled["status"], "DONE", "{polled}");
    let key = layout::run_bundle_key(&run_id, bundle);
    let first: BundleResult = env.repository.read_record(&key).await.expect("bundle record");
    assert!(!first.bundles.is_empty() && first.failed.is_empty(), "{first:?}");

    // The record is lost as if the invocation died right after storing the bundle.
    env.repository.delete(&key).await.expect("delete record");
    let again = dispatch(&env, "check-export", running)
        .await
        .expect("retried check-export");
    assert_eq!(again["status"], "DONE", "{again}");
    let retried: BundleResult = env.repository.read_record(&key).await.expect("bundle record");
    assert!(
        retried.failed.is_empty(),
        "the retry failed the assets: {:?}",
        retried.failed
    );
    let object = |r: &BundleResult| r.bundles.iter().map(|b| b.object()).collect::<Vec<_>>();
    assert_eq!(object(&retried), object(&first));
    let members = |r: &BundleResult| r.bundles.iter().map(|b| b.members.len()).sum::<usize>();
    assert_eq!(members(&retried), members(&first));
    dispatch(&env, "abort-run", json!({"run_id": run_id}))
        .await
        .expect("abort releases the lock");
}

/// With `lock.dynamodb_table`, a run holds the account's DynamoDB lease from begin-run to its
/// end: a run of the same account into another repository, or a CLI backup, cannot start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_holds_the_accounts_dynamodb_lease_until_it_ends() {
    use qsbackup_core::repository::lock::{dynamodb, LockError, LockPurpose};
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Empty,
        seed: 1,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-lock-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let table = format!("qsb-sfn-locks-{}", std::process::id());
    let with_lock = |prefix: &str| {
        format!(
            "{}lock:\n  dynamodb_table: {table}\n",
            config_text(&bucket, prefix, None)
        )
    };
    let first = env_for(&emu.endpoint(), &with_lock("one")).await;
    let second = env_for(&emu.endpoint(), &with_lock("two")).await;

    let begun = dispatch(&first, "begin-run", json!({})).await.expect("begin-run");
    let run_id = begun["run_id"].as_str().expect("run id").to_string();
    let refused = dispatch(&second, "begin-run", json!({}))
        .await
        .expect_err("the account is locked by the first run");
    assert_eq!(refused.kind, "RepositoryLocked", "{refused}");
    let client = aws_sdk_dynamodb::Client::new(&first.aws.home);
    let lock_id = format!("qsbackup/quicksight-account/{ACCOUNT}");
    let cli = dynamodb::acquire(
        &client,
        &table,
        &lock_id,
        LockPurpose::Backup,
        std::time::Duration::ZERO,
        &Default::default(),
    )
    .await;
    match cli {
        Err(LockError::Held { holder, .. }) => assert_eq!(holder.host, format!("step-functions:{run_id}")),
        other => panic!("a CLI backup took the account lock: {other:?}"),
    }
    // Every state renews it.
    dispatch(&first, "identities", json!({"run_id": run_id}))
        .await
        .expect("identities renews both leases");

    dispatch(&first, "abort-run", json!({"run_id": run_id}))
        .await
        .expect("abort releases the locks");
    let begun = dispatch(&second, "begin-run", json!({}))
        .await
        .expect("the account lock was released");
    let run_id = begun["run_id"].as_str().expect("run id").to_string();
    dispatch(&second, "abort-run", json!({"run_id": run_id}))
        .await
        .expect("abort");
}

/// The identities state retried after it stored its objects but before it
/// recorded them (the invocation died): the retry stores them again instead
/// of failing on the objects its first attempt left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_identities_state_stores_its_sections_again() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 3,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-ids-retry-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let env = env_for(&emu.endpoint(), &config_text(&bucket, "ids-retry", None)).await;
    let begun = dispatch(&env, "begin-run", json!({})).await.expect("begin-run");
    let run_id = begun["run_id"].as_str().expect("run id").to_string();
    let first = dispatch(&env, "identities", json!({"run_id": run_id}))
        .await
        .expect("identities");
    assert_eq!(first["errors"], 0, "{first}");
    // The record is lost as if the invocation died right after storing the sections.
    env.repository
        .delete(&qsbackup_core::repository::layout::run_sections_key(&run_id))
        .await
        .expect("delete record");
    let again = dispatch(&env, "identities", json!({"run_id": run_id}))
        .await
        .expect("identities again");
    assert_eq!(
        again["errors"], 0,
        "a retry must not fail on its own earlier objects: {again}"
    );
    assert_eq!(again["stored"], first["stored"]);
    dispatch(&env, "abort-run", json!({"run_id": run_id}))
        .await
        .expect("abort");
}

/// Every download fails: the scheduled run stores no bundle, so CommitSnapshot refuses
/// (`NothingStored`), the Catch aborts the run and the execution fails — no snapshot that
/// retention would count or `latest` would name, and the locks are released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_that_stores_nothing_commits_no_snapshot_and_fails() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 8,
        accounts: vec![ACCOUNT.into()],
        faults: qs_emulator::FaultPlan {
            drop_download: 1.0,
            url_ttl_seconds: Some(0.0),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-nothing-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let env = env_for(&emu.endpoint(), &config_text(&bucket, "nothing", None)).await;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    let failed = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({}),
        )
        .await
        .expect_err("a run that stored nothing must fail the execution");
    assert_eq!(failed.0, "BackupRunFailed", "{failed:?}");
    let ids = qsbackup_core::repository::snapshots::list_ids(&env.repository)
        .await
        .expect("list snapshots");
    assert!(ids.is_empty(), "no snapshot of nothing: {ids:?}");
    let again = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &env.repository,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("the aborted run released its lock");
    again.release().await.expect("release");
}

/// A scheduled run aborted after it stored bundles (the Catch of a failed state) leaves them
/// recorded only in its run state: prune deletes them and the run state, and nothing a
/// committed snapshot references. The committed run writes under another date-prefix format,
/// so the two runs' bundle keys cannot meet whatever second they start in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_the_bundles_an_aborted_scheduled_run_stored() {
    use qsbackup_core::backup::state::BundleResult;
    use qsbackup_core::repository::layout;
    use qsbackup_core::repository::prune::{prune, PruneOptions};
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 3,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-prune-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let dashes = config_text(&bucket, "prune", None).replace("\nbackup:", "\n  prefix_format: YYYY-MM-DD\nbackup:");
    let committing = env_for(&emu.endpoint(), &dashes).await;
    let mut aborting = env_for(&emu.endpoint(), &config_text(&bucket, "prune", None)).await;
    aborting.mode = qsbackup_core::repository::manifest::BackupMode::AssetsOnly;

    let run = Run {
        env: &committing,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    let committed = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({}),
        )
        .await
        .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    let snapshot_id = committed["snapshot_id"].as_str().expect("snapshot id");
    let snapshot = SnapshotManifest::load(&committing.repository, snapshot_id)
        .await
        .expect("manifest");
    assert!(!snapshot.bundles.is_empty(), "the committed run stored bundles");

    // The second run stores every bundle of its plan, then a later state fails: the Catch aborts.
    let begun = dispatch(&aborting, "begin-run", json!({})).await.expect("begin-run");
    let run_id = begun["run_id"].as_str().expect("run id").to_string();
    let planned = dispatch(&aborting, "discover-and-plan", json!({"run_id": run_id}))
        .await
        .expect("discover-and-plan");
    let count = planned["bundle_count"].as_u64().expect("bundle count");
    for n in 0..count {
        let mut state = dispatch(&aborting, "start-export", json!({"run_id": run_id, "bundle": n}))
            .await
            .expect("start-export");
        for _ in 0..200 {
            if state["status"] == "DONE" {
                break;
            }
            state = dispatch(&aborting, "check-export", state).await.expect("check-export");
        }
        assert_eq!(state["status"], "DONE", "{state}");
    }
    let mut aborted_bundles = Vec::new();
    for n in 0..count as usize {
        let result: BundleResult = aborting
            .repository
            .read_record(&layout::run_bundle_key(&run_id, n))
            .await
            .expect("bundle result");
        aborted_bundles.extend(result.bundles.into_iter().map(|b| b.key));
    }
    assert!(!aborted_bundles.is_empty(), "the aborted run stored bundles");
    dispatch(
        &aborting,
        "abort-run",
        json!({"run_id": run_id, "error": {"Error": "States.Timeout", "Cause": "test"}}),
    )
    .await
    .expect("abort-run");

    // The abort released the run's lease, so prune gets the exclusive lock at once.
    let exclusive = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &aborting.repository,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("the aborted run released its lock");
    let report = prune(
        &exclusive,
        &PruneOptions {
            safety_margin: chrono::TimeDelta::zero(),
            ..Default::default()
        },
    )
    .await
    .expect("prune");
    exclusive.release().await.expect("release");
    let deleted: BTreeSet<&str> = report.deleted.iter().map(|d| d.key.as_str()).collect();
    for key in &aborted_bundles {
        assert!(
            deleted.contains(key.as_str()),
            "{key} of the aborted run was not pruned: {deleted:?}"
        );
        assert!(
            aborting.repository.head(key).await.expect("head").is_none(),
            "{key} still stored"
        );
    }
    let state = aborting
        .repository
        .list(&layout::run_prefix(&run_id))
        .await
        .expect("list run state");
    assert!(state.is_empty(), "the aborted run's state stays: {state:?}");
    for b in &snapshot.bundles {
        assert!(
            !deleted.contains(b.key.as_str()),
            "prune deleted {} of snapshot {snapshot_id}",
            b.key
        );
        assert!(committing.repository.head(&b.key).await.expect("head").is_some());
    }
}

const TARGET: &str = "210987654321";

/// Users of IAM Identity Center come from the directory, not from a restore: provision the
/// recovery account's as the directory would before the drill (the restore only checks them).
async fn provision_identity_center_users(endpoint: &str, identities: &Value) {
    let conf = aws_sdk_quicksight::Config::builder()
        .behavior_version(aws_sdk_quicksight::config::BehaviorVersion::latest())
        .region(aws_sdk_quicksight::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .build();
    let qs = aws_sdk_quicksight::Client::from_conf(conf);
    for ns in identities["namespaces"].as_array().into_iter().flatten() {
        let name = ns["name"].as_str().unwrap_or_default();
        let idc: Vec<&Value> = ns["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["identity_type"] == "IAM_IDENTITY_CENTER")
            .collect();
        if idc.is_empty() {
            continue;
        }
        if name != "default" {
            qs.create_namespace()
                .aws_account_id(TARGET)
                .namespace(name)
                .identity_store(aws_sdk_quicksight::types::IdentityStore::Quicksight)
                .send()
                .await
                .expect("namespace of the directory");
        }
        for u in idc {
            qs.register_user()
                .aws_account_id(TARGET)
                .namespace(name)
                .identity_type(aws_sdk_quicksight::types::IdentityType::IamIdentityCenter)
                .user_name(u["user_name"].as_str().unwrap_or_default())
                .email(u["email"].as_str().unwrap_or("x@example.com"))
                .user_role(aws_sdk_quicksight::types::UserRole::from(
                    u["role"].as_str().unwrap_or("READER"),
                ))
                .send()
                .await
                .expect("directory user");
        }
    }
}

/// The monthly rule's drill: a snapshot the scheduled workflow committed, drilled into an empty
/// recovery account by the `drill` handler with the rule's input, comes back equal; the
/// summary carries the figures and the record is in the repository. A second drill into the
/// same account finds everything there already, proves nothing, and fails the invocation with
/// its figures (what the alarm on the function's errors sees).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_handler_drills_a_scheduled_snapshot_into_an_empty_account() {
    use qsbackup_core::drill::DrillReport;
    use qsbackup_core::repository::layout;
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 5,
        accounts: vec![ACCOUNT.into(), TARGET.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let endpoint = emu.endpoint();
    let bucket = format!("qsb-sfn-drill-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let env = env_for(&endpoint, &config_text(&bucket, "drill", None)).await;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    let committed = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({}),
        )
        .await
        .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    let snapshot_id = committed["snapshot_id"].as_str().expect("snapshot id").to_string();
    let manifest = SnapshotManifest::load(&env.repository, &snapshot_id)
        .await
        .expect("manifest");
    let identities_key = &manifest.identities.as_ref().expect("identities in the snapshot").key;
    let identities: Value =
        serde_json::from_slice(&env.repository.get(identities_key).await.expect("identities")).expect("JSON");
    provision_identity_center_users(&endpoint, &identities).await;

    // The input deploy/template.yaml's rule sends, teardown off so the second drill finds it all.
    let input = json!({"drill": {
        "snapshot": "latest",
        "target_account": TARGET,
        "target_region": "us-east-1",
        "identity_region": "us-east-1",
        "role_arn": "",
        "overrides": {
            "iam_roles": {"QuickSightRole": format!("arn:aws:iam::{TARGET}:role/QuickSightRole")},
            "identities": {"include_inactive_users": true}
        },
        "teardown": false
    }});
    let summary = dispatch(&env, "drill", input.clone())
        .await
        .unwrap_or_else(|e| panic!("the drill failed: {e}"));
    assert_eq!(summary["passed"], true, "{summary:#}");
    assert_eq!(summary["snapshot_id"], snapshot_id.as_str());
    let total = summary["assets_total"].as_u64().expect("assets_total");
    assert!(total > 0, "{summary:#}");
    assert_eq!(summary["assets_equal"], total, "{summary:#}");
    assert_eq!(summary["assets_different"], 0);
    assert_eq!(summary["identities_missing"], 0);
    assert!(summary["rto_seconds"].as_f64().unwrap_or(0.0) > 0.0);
    let rpo = summary["rpo_seconds"].as_i64().expect("rpo_seconds");
    assert!((0..3600).contains(&rpo), "RPO {rpo}");
    assert_eq!(summary["teardown_failed"], Value::Null, "no teardown was asked for");
    let drill_id = summary["drill_id"].as_str().expect("drill id");
    assert_eq!(summary["record_key"], layout::drill_key(drill_id));
    let record: DrillReport = env
        .repository
        .read_record(&layout::drill_key(drill_id))
        .await
        .expect("drills/<id>.json is in the repository");
    assert!(record.passed);
    assert_eq!(record.target.account_id, TARGET);
    assert_eq!(record.assets_equal as u64, total);

    // Everything is in the recovery account now: the next drill proves nothing and fails.
    let err = dispatch(&env, "drill", input)
        .await
        .expect_err("a drill that proves nothing fails the invocation");
    assert_eq!(err.kind, "DrillFailed", "{err}");
    assert!(err.message.contains("did not pass"), "{err}");
    assert!(err.message.contains("0 of 0 assets equal"), "{err}");
    assert!(err.message.contains("record: drills/"), "{err}");
    let (drills, unreadable) = qsbackup_core::drill::list(&env.repository).await.expect("drills");
    assert!(unreadable.is_empty(), "{unreadable:?}");
    assert_eq!(drills.len(), 2, "both drills are kept");
    assert!(!drills[1].passed);

    // The drills released their shared lock: a prune may take the repository at once.
    let again = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &env.repository,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("the drill released its lock");
    again.release().await.expect("release");
}

/// A request the handler cannot run is refused before anything is restored: a drill into the
/// account the snapshot was taken from, in the same region, without a prefix; a bad prefix; an
/// unknown field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_into_the_backed_up_account_is_refused() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 6,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-drill-self-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let mut env = env_for(&emu.endpoint(), &config_text(&bucket, "self", None)).await;
    env.mode = qsbackup_core::repository::manifest::BackupMode::AssetsOnly;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    run.states(
        &asl["States"],
        asl["StartAt"].as_str().expect("StartAt"),
        json!({}),
        json!({}),
    )
    .await
    .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    let err = dispatch(&env, "drill", json!({"drill": {"target_account": ACCOUNT}}))
        .await
        .expect_err("refused");
    assert_eq!(err.kind, "BadInput", "{err}");
    assert!(err.message.contains("recovery account"), "{err}");
    // A prefix QuickSight would refuse, and a misspelt field (a teardown silently skipped).
    for request in [
        json!({"drill": {"target_account": TARGET, "prefix": "dr/"}}),
        json!({"drill": {"target_account": TARGET, "teardwon": true}}),
    ] {
        let err = dispatch(&env, "drill", request.clone()).await.expect_err("refused");
        assert_eq!(err.kind, "BadInput", "{request}: {err}");
    }
    let (drills, _) = qsbackup_core::drill::list(&env.repository).await.expect("drills");
    assert!(drills.is_empty(), "nothing ran, nothing is recorded");
}

/// A drill that runs out of the function's budget stops waiting, is kept as not passed, and
/// fails the invocation saying to run `qsbackup drill` outside Lambda.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_past_the_functions_budget_fails_and_says_where_to_run_it() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 7,
        accounts: vec![ACCOUNT.into(), TARGET.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-sfn-drill-budget-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let mut env = env_for(&emu.endpoint(), &config_text(&bucket, "budget", None)).await;
    env.mode = qsbackup_core::repository::manifest::BackupMode::AssetsOnly;
    let run = Run {
        env: &env,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = asl();
    run.states(
        &asl["States"],
        asl["StartAt"].as_str().expect("StartAt"),
        json!({}),
        json!({}),
    )
    .await
    .unwrap_or_else(|e| panic!("the workflow failed: {e:?}"));
    // No time at all: the drill is stopped before its imports.
    env.handler_budget = std::time::Duration::ZERO;
    let err = dispatch(&env, "drill", json!({"drill": {"target_account": TARGET}}))
        .await
        .expect_err("a drill stopped by the budget does not pass");
    assert!(
        err.message.contains("budget of 0s") && err.message.contains("qsbackup drill"),
        "{err}"
    );
    let (drills, _) = qsbackup_core::drill::list(&env.repository).await.expect("drills");
    assert_eq!(drills.len(), 1, "the stopped drill is kept");
    assert!(!drills[0].passed);
}

fn organization_asl() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/organization.asl.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the organization workflow")).expect("ASL JSON")
}

/// The organization workflow (`deploy/organization.asl.json`) over a config listing three
/// emulated accounts, one of them in two regions and one denying QuickSight: list-targets gives
/// the Map four targets, each backed up by the account workflow itself as a child execution
/// (through `BeginRunForTarget`), two at a time; the denied account's failure is its outcome,
/// not the end of the others; summarize-targets records all four in
/// `organization-runs/<id>.json` and fails the run, which is what the alarm watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_workflow_backs_up_each_target_as_a_child_run_and_records_every_outcome() {
    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const DENIED: &str = "333333333333";
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profiles: vec![Profile::Small; 3],
        accounts: vec![A.into(), B.into(), DENIED.into()],
        region: "us-east-1".into(),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        faults: qs_emulator::FaultPlan {
            deny_accounts: BTreeSet::from([DENIED.to_string()]),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("emulator");
    let bucket = format!("qsb-org-{}", std::process::id());
    create_bucket(&moto, &bucket).await;
    let text = format!(
        "aws:\n  region: us-east-1\ns3:\n  bucket_name: {bucket}\n  prefix: org\nbackup:\n  job_timeout_seconds: 120\n  \
         acknowledged: [export_job_failed, export_refused]\naccounts:\n  - account_id: \"{A}\"\n    regions: [us-east-1, eu-west-1]\n  \
         - account_id: \"{B}\"\n  - account_id: \"{DENIED}\"\n"
    );
    let config = load_str(&text, ConfigFormat::Yaml, Path::new("organization.yaml")).expect("config");
    let options = AwsOptions {
        quicksight_endpoint: Some(emu.endpoint()),
        credentials: Some(Credentials::new("test", "test", None, None, "tests")),
        retry: RetryPolicy::fast(),
        ..Default::default()
    };
    let home = qsbackup_core::aws::home_config("us-east-1", &options)
        .await
        .expect("home config")
        .to_builder()
        .endpoint_url(&moto)
        .build();
    let repository = Repository::open(
        &config.repository_url(),
        &RepositoryOptions {
            s3_endpoint: Some(moto.clone()),
            aws: Some(home.clone()),
        },
    )
    .await
    .expect("repository");
    let settings = Settings {
        max_concurrent_accounts: 2,
        poll_seconds: 1,
        tuning: Tuning::fast(),
        ..Default::default()
    };
    let envs = Envs::of_targets(config, &options, settings, repository.clone(), home);
    let run = Run {
        env: &envs,
        payloads: Mutex::new(Vec::new()),
        stop_after_plan: false,
    };
    let asl = organization_asl();
    let result = run
        .states(
            &asl["States"],
            asl["StartAt"].as_str().expect("StartAt"),
            json!({}),
            json!({"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:org:organization-test", "Name": "organization-test"}}),
        )
        .await;
    let Err((error, cause)) = result else {
        panic!("a target failed, so the run fails (and the alarm fires): {result:?}");
    };
    assert_eq!(error, "TargetsFailed", "{cause}");
    assert!(
        cause.contains(&format!("{DENIED} us-east-1")),
        "names the target: {cause}"
    );
    assert!(cause.contains("AccessDenied"), "and why: {cause}");
    for (state, n) in run.payloads.lock().unwrap().iter() {
        assert!(*n < LIMIT, "{state} passed {n} bytes");
    }

    // The record of the run: every target's outcome.
    let records: Vec<String> = repository
        .list("organization-runs/")
        .await
        .expect("list")
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.trim_start_matches("organization-runs/").contains('/'))
        .collect();
    assert_eq!(
        records,
        ["organization-runs/organization-test.json"],
        "named by the execution"
    );
    let record: Value = serde_json::from_slice(&repository.get(&records[0]).await.expect("record")).expect("json");
    assert_eq!(
        (record["complete"].as_u64(), record["failed"].as_u64()),
        (Some(3), Some(1)),
        "{record:#}"
    );
    let mut committed = BTreeSet::new();
    for t in record["targets"].as_array().expect("targets") {
        let (account, region) = (
            t["target"]["account_id"].as_str().expect("account").to_string(),
            t["target"]["region"].as_str().expect("region").to_string(),
        );
        if account == DENIED {
            assert!(t["committed"].is_null(), "{t:#}");
            let cause = t["error"]["Cause"].as_str().unwrap_or_default();
            assert!(cause.contains("AccessDenied"), "the run recorded why it failed: {t:#}");
            continue;
        }
        let id = t["committed"]["snapshot_id"].as_str().expect("snapshot id");
        let manifest = SnapshotManifest::load(&repository, id).await.expect("manifest");
        assert_eq!(
            (manifest.account_id.as_str(), manifest.region.as_str()),
            (account.as_str(), region.as_str())
        );
        assert!(manifest.identities.is_some() && !manifest.bundles.is_empty(), "{id}");
        committed.insert((account, region));
    }
    assert_eq!(
        committed,
        BTreeSet::from([
            (A.to_string(), "us-east-1".to_string()),
            (A.to_string(), "eu-west-1".to_string()),
            (B.to_string(), "us-east-1".to_string()),
        ])
    );
}
