//! Shared test support: run the real `qsbackup` binary against an emulated
//! QuickSight and the moto server that `scripts/test` starts (S3, DynamoDB).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The moto server's endpoint; tests that need it fail loudly without it.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests through scripts/test, which starts a moto server on loopback")
    })
}

/// A bucket in moto with a name unique to this test.
pub async fn create_bucket(prefix: &str) -> String {
    let name = format!("{prefix}-{}-{:x}", std::process::id(), rand_suffix()).to_lowercase();
    let resp = reqwest::Client::new()
        .put(format!("{}/{name}", moto_endpoint()))
        .send()
        .await
        .expect("create bucket in moto");
    assert!(resp.status().is_success(), "create bucket {name}: {}", resp.status());
    name
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (n as u64) ^ (n >> 64) as u64
}

/// Keys of every object in a moto bucket.
pub async fn bucket_keys(bucket: &str) -> Vec<String> {
    let text = reqwest::Client::new()
        .get(format!("{}/{bucket}?list-type=2", moto_endpoint()))
        .send()
        .await
        .expect("list bucket")
        .text()
        .await
        .expect("list body");
    text.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_string)
        .collect()
}

/// The seed tool's configs, copied into the project.
pub fn seed_config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../qsbackup-core/tests/fixtures/seed-tool-configs")
        .join(name)
}

/// `qsbackup` with an environment that reaches only the emulator and moto.
pub fn qsbackup(quicksight: &str, region: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsbackup"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", region)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_QUICKSIGHT", quicksight);
    if let Ok(moto) = std::env::var("MOTO_ENDPOINT") {
        cmd.env("AWS_ENDPOINT_URL_S3", &moto)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &moto);
    }
    cmd
}

/// Runs a command and returns its output, with stderr printed on failure to help debugging.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run qsbackup");
    if !out.status.success() {
        eprintln!("stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `GET /_emulator/stats?account=` as JSON.
pub async fn emulator_stats(endpoint: &str, account: &str) -> serde_json::Value {
    let text = reqwest::get(format!("{endpoint}/_emulator/stats?account={account}"))
        .await
        .expect("stats")
        .text()
        .await
        .expect("stats body");
    serde_json::from_str(&text).expect("stats json")
}

/// Writes `text` into `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}
