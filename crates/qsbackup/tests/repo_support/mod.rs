//! Support for the repository tests: an emulated account, a local repository and config in a
//! temporary directory, and the real `qsbackup` binary run as a child process (tokio, so the
//! in-process emulator keeps serving while a command runs, and a run can be killed mid-way).
#![allow(dead_code)]

use qs_emulator::{EmulatorHandle, EmulatorOptions, FaultPlan, Profile};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use tokio::process::{Child, Command};

pub const ACCOUNT: &str = "123456789012";
/// A second, empty QuickSight account the emulator knows: a target for restores.
pub const TARGET: &str = "210987654321";

pub struct Env {
    pub emu: EmulatorHandle,
    pub dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub config: PathBuf,
}

/// A small emulated account whose export jobs take `job_delay_ms` longer, and a local
/// repository with bundles of at most `bundle_size` assets.
pub async fn setup(job_delay_ms: u64, bundle_size: usize) -> Env {
    setup_with(job_delay_ms, bundle_size, "").await
}

/// [`setup`] with more `backup:` settings (YAML lines indented by two spaces).
pub async fn setup_with(job_delay_ms: u64, bundle_size: usize, extra_backup: &str) -> Env {
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 11,
        accounts: vec![ACCOUNT.into(), TARGET.into()],
        faults: FaultPlan {
            job_delay_ms,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\nrepository: \"{}\"\nbackup:\n  max_assets_per_bundle: {bundle_size}\n  job_timeout_seconds: 120\n{extra_backup}",
            repo.display()
        ),
    )
    .expect("config");
    Env { emu, dir, repo, config }
}

impl Env {
    /// `qsbackup <args> --config FILE --no-progress` reaching only the emulator.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsbackup"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_QUICKSIGHT", self.emu.endpoint());
        if let Ok(moto) = std::env::var("MOTO_ENDPOINT") {
            cmd.env("AWS_ENDPOINT_URL_S3", &moto)
                .env("AWS_ENDPOINT_URL_DYNAMODB", &moto);
        }
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--no-progress")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("run qsbackup")
    }

    /// Runs with `--json` and parses stdout.
    pub async fn json(&self, args: &[&str]) -> (Output, Value) {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.run(&all).await;
        let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "qsbackup {args:?}: stdout is not one JSON document ({e}); stderr:\n{}",
                stderr(&out)
            )
        });
        (out, doc)
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("spawn qsbackup")
    }

    /// A backup that must commit a snapshot (the small account has broken assets: exit 2).
    pub async fn backup(&self) -> Value {
        let (out, doc) = self.json(&["backup"]).await;
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "backup failed: {:?}\n{}",
            out.status,
            stderr(&out)
        );
        doc
    }

    pub async fn snapshot_ids(&self) -> Vec<String> {
        let (out, doc) = self.json(&["snapshots"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        doc["snapshots"]
            .as_array()
            .expect("snapshots array")
            .iter()
            .map(|s| s["snapshot_id"].as_str().expect("snapshot_id").to_string())
            .collect()
    }

    pub async fn verify_all(&self) -> (Output, Value) {
        self.json(&["verify", "--all"]).await
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = reqwest::Client::new().request(method.clone(), format!("{}{path}", self.emu.endpoint()));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("admin call");
        assert!(resp.status().is_success(), "{method} {path}: {}", resp.status());
        let text = resp.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn stats(&self) -> Value {
        self.admin(
            reqwest::Method::GET,
            &format!("/_emulator/stats?account={ACCOUNT}"),
            None,
        )
        .await
    }

    pub async fn reset_stats(&self) {
        self.admin(reqwest::Method::POST, "/_emulator/stats/reset", None).await;
    }

    /// The repository object `key` on disk.
    pub fn object(&self, key: &str) -> PathBuf {
        self.repo.join(key)
    }

    pub fn manifest(&self, id: &str) -> Value {
        read_json(&self.object(&format!("snapshots/{id}.json")))
    }
}

pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// object_store writes a local object as `NAME#N` and renames it into place when complete.
fn is_staging_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('#'))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Files under `dir` (recursively), as repository keys relative to `root`. Staging files of writes
/// cut short are not keys.
pub fn keys_under(root: &Path, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_staging_file(&p) {
                // A write cut short by SIGKILL: not an object, and the repository's own
                // listing (object_store's) skips it too.
                continue;
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}
