//! What the restore tests share: an emulator with a source and an empty target account, the
//! real `qsbackup` binary run against it (on a blocking thread, so the in-process emulator keeps
//! serving), configs in a temp dir, snapshots read back through the engine, and member JSON
//! compared with account ids and regions taken out of ARNs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use qs_emulator::{EmulatorHandle, EmulatorOptions, Profile};
use qsbackup_core::repository::manifest::SnapshotManifest;
use qsbackup_core::repository::Repository;
use qsbackup_core::restore::members::SnapshotMembers;
use serde_json::Value;

pub const SOURCE: &str = "123456789012";
pub const TARGET: &str = "210987654321";
pub const REGION: &str = "us-east-1";

/// The moto server `scripts/test` starts; tests that need it fail without it.
pub fn moto() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` and export \
             MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// A bucket in moto with a name unique to this test.
pub async fn bucket(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("{prefix}-{}-{:x}", std::process::id(), nanos as u64).to_lowercase();
    let resp = reqwest::Client::new()
        .put(format!("{}/{name}", moto()))
        .send()
        .await
        .expect("create bucket in moto");
    assert!(resp.status().is_success(), "create bucket {name}: {}", resp.status());
    name
}

/// An emulator with `profile` in the source account and an empty target account.
pub async fn emulator(profile: Profile, seed: u64) -> EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile,
        seed,
        accounts: vec![SOURCE.into(), TARGET.into()],
        s3_endpoint: std::env::var("MOTO_ENDPOINT").ok(),
        ..Default::default()
    })
    .await
    .expect("the emulator starts")
}

/// `qsbackup ARGS` with an environment that reaches only the emulator (and moto).
pub fn qsbackup(emu: &EmulatorHandle, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsbackup"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_QUICKSIGHT", emu.endpoint())
        .stdin(std::process::Stdio::null())
        .args(args);
    if let Ok(moto) = std::env::var("MOTO_ENDPOINT") {
        cmd.env("AWS_ENDPOINT_URL_S3", &moto)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &moto);
    }
    cmd
}

/// Runs the binary on a blocking thread; prints its stderr when it fails (not when it only
/// reports a partial result, exit 2).
pub async fn run(mut cmd: Command) -> Output {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run qsbackup");
    if !matches!(out.status.code(), Some(0 | 2)) {
        eprintln!("qsbackup stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A config for `account` in `region` with a local repository in `dir`.
pub fn config(dir: &Path, name: &str, account: &str, region: &str, repository: &str) -> PathBuf {
    let path = dir.join(name);
    let text = format!(
        "aws:\n  account_id: \"{account}\"\n  region: {region}\n  identity_region: {REGION}\nrepository: {repository}\n"
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Backs up with `config` through the binary; a partial snapshot (exit 2) is fine.
pub async fn backup(emu: &EmulatorHandle, config: &Path) -> Value {
    let out = run(qsbackup(
        emu,
        &["--config", &config.to_string_lossy(), "backup", "--json"],
    ))
    .await;
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "backup failed: {}",
        stderr(&out)
    );
    stdout_json(&out)
}

/// The newest snapshot of a repository, with its members.
pub async fn latest(repository: &str) -> (Repository, SnapshotManifest, SnapshotMembers) {
    let repo = Repository::open(repository, &Default::default())
        .await
        .expect("open repository");
    let manifest = qsbackup_core::repository::snapshots::load(&repo, "latest")
        .await
        .expect("latest snapshot");
    let members = SnapshotMembers::load(&repo, &manifest)
        .await
        .expect("members of the snapshot");
    (repo, manifest, members)
}

/// `value` with every `:<region>:<account>:` of an ARN replaced, so that the same asset in two
/// accounts or regions compares equal.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::String(s) if s.starts_with("arn:") => {
            let parts: Vec<&str> = s.splitn(6, ':').collect();
            if parts.len() == 6 && parts[2] == "quicksight" {
                Value::String(format!("arn:{}:quicksight:REGION:ACCOUNT:{}", parts[1], parts[5]))
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

/// Every asset and refresh schedule of a snapshot as `type/id -> normalized member`.
pub fn contents(members: &SnapshotMembers) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = members
        .assets
        .iter()
        .map(|(k, m)| (k.to_string(), normalize(&m.json.value())))
        .collect();
    for (set, schedules) in &members.schedules {
        for s in schedules {
            out.insert(
                format!("refreshSchedule/{set}/{}", s.schedule_id),
                normalize(&s.json.value()),
            );
        }
    }
    out
}

/// A QuickSight client on the emulator.
pub fn quicksight(emu: &EmulatorHandle, region: &str) -> aws_sdk_quicksight::Client {
    let conf = aws_sdk_quicksight::Config::builder()
        .behavior_version(aws_sdk_quicksight::config::BehaviorVersion::latest())
        .region(aws_sdk_quicksight::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_quicksight::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(emu.endpoint())
        .build();
    aws_sdk_quicksight::Client::from_conf(conf)
}

/// `GET /_emulator/...` as JSON.
pub async fn admin(emu: &EmulatorHandle, path: &str) -> Value {
    let resp = reqwest::get(format!("{}{path}", emu.endpoint()))
        .await
        .expect("admin call");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    serde_json::from_str(&resp.text().await.expect("admin body")).expect("admin JSON")
}

/// Calls of `op` the emulator has seen for `account` since the last stats reset.
pub async fn calls(emu: &EmulatorHandle, account: &str, op: &str) -> u64 {
    let stats = admin(emu, &format!("/_emulator/stats?account={account}")).await;
    stats["calls"][op].as_u64().unwrap_or(0)
}

pub async fn reset_stats(emu: &EmulatorHandle) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/stats/reset", emu.endpoint()))
        .send()
        .await
        .expect("reset stats");
    assert!(resp.status().is_success());
}

/// Every namespace, user, group and membership of an identity snapshot, by name.
pub fn identity_names(identities: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for ns in identities["namespaces"].as_array().into_iter().flatten() {
        let n = ns["name"].as_str().unwrap_or_default();
        out.push(format!("namespace {n}"));
        for u in ns["users"].as_array().into_iter().flatten() {
            out.push(format!("user {n}/{}", u["user_name"].as_str().unwrap_or_default()));
        }
        for g in ns["groups"].as_array().into_iter().flatten() {
            let gname = g["group_name"].as_str().unwrap_or_default();
            out.push(format!("group {n}/{gname}"));
            for m in g["members"].as_array().into_iter().flatten() {
                out.push(format!("member {n}/{gname}/{}", m.as_str().unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// The identity snapshot a manifest names.
pub async fn identities(repo: &Repository, manifest: &SnapshotManifest) -> Value {
    let key = &manifest.identities.as_ref().expect("the snapshot has identities").key;
    serde_json::from_slice(&repo.get(key).await.expect("identities object")).expect("identities JSON")
}

/// Users of IAM Identity Center come from the directory, not from a restore: provision the
/// target's as the directory would before the restore (the restore only checks them).
pub async fn provision_identity_center_users(emu: &qs_emulator::EmulatorHandle, identities: &serde_json::Value) {
    let qs = quicksight(emu, REGION);
    for ns in identities["namespaces"].as_array().into_iter().flatten() {
        let name = ns["name"].as_str().unwrap_or_default();
        let idc: Vec<&serde_json::Value> = ns["users"]
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
