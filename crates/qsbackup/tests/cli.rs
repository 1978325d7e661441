//! The command line as a user meets it: the sample tool's configs and flags,
//! config validation with exit code 3, dry runs that change nothing, a backup
//! with no command name, and the demo on a machine without AWS settings.

mod support;

use qs_emulator::{EmulatorOptions, Profile};
use support::*;

async fn emulator(account: &str, region: &str, identity_region: &str) -> qs_emulator::EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 7,
        accounts: vec![account.into()],
        region: region.into(),
        identity_region: identity_region.into(),
        ..Default::default()
    })
    .await
    .expect("emulator")
}

async fn ensure_bucket(name: &str, region: &str) {
    let body = if region == "us-east-1" {
        String::new()
    } else {
        format!(
            "<CreateBucketConfiguration><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
        )
    };
    let resp = reqwest::Client::new()
        .put(format!("{}/{name}", moto_endpoint()))
        .body(body)
        .send()
        .await
        .expect("create bucket");
    assert!(
        resp.status().is_success() || resp.status() == 409,
        "create bucket {name}: {}",
        resp.status()
    );
}

/// Every sample-tool config loads unchanged, and its dry run against the
/// emulator and moto exits 0, starts no export job and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_configs_dry_run_changes_nothing() {
    let cases = [
        (
            "config-basic.yaml",
            "123456789012",
            "us-east-1",
            "us-east-1",
            "my-quicksight-backups",
        ),
        (
            "config-enterprise.yaml",
            "123456789012",
            "us-east-1",
            "us-east-1",
            "enterprise-quicksight-backups-compliance",
        ),
        (
            "config.sample.yaml",
            "123456789123",
            "eu-west-1",
            "us-east-1",
            "sample-backup-bucket",
        ),
    ];
    for (file, account, region, identity_region, bucket) in cases {
        let emu = emulator(account, region, identity_region).await;
        ensure_bucket(bucket, region).await;
        let before = bucket_keys(bucket).await;
        // --log-file keeps the configs' own log paths (./logs, /opt/...) off the test machine: flags win.
        let log = std::env::temp_dir().join(format!("qsbackup-cli-{}-{file}.log", std::process::id()));
        let out = run(qsbackup(&emu.endpoint(), region)
            .arg("--config")
            .arg(seed_config(file))
            .args(["backup", "--dry-run", "--json", "--log-file"])
            .arg(&log));
        let _ = std::fs::remove_file(&log);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document on stdout");
        assert_eq!(doc["dry_run"], true);
        assert!(
            doc["checks"]
                .as_array()
                .map(|c| c.iter().all(|c| c["ok"] == true))
                .unwrap_or(false),
            "{file}: {doc}"
        );
        assert!(
            doc["plan"]["bundles"]["bundles"]
                .as_array()
                .map(|b| !b.is_empty())
                .unwrap_or(false),
            "{file}: plan has bundles"
        );
        assert!(
            !doc["plan"]["skipped"].as_array().map(|s| s.is_empty()).unwrap_or(true),
            "{file}: plan names skipped assets"
        );
        let stats = emulator_stats(&emu.endpoint(), account).await;
        assert!(
            stats["calls"].get("StartAssetBundleExportJob").is_none(),
            "{file}: a dry run started an export job: {stats}"
        );
        assert_eq!(
            bucket_keys(bucket).await,
            before,
            "{file}: a dry run wrote to the bucket"
        );
    }
}

fn bad_config(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    write_file(dir, name, text)
}

const GOOD: &str = "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nrepository: /tmp/qsbackup-never-written\nbackup:\n  max_assets_per_bundle: 50\n";

/// Each config rule refuses a bad value with exit code 3 and a message naming the key.
#[test]
fn bad_config_values_exit_3_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(&str, String, &str)> = vec![
        ("bundle0.yaml", GOOD.replace("max_assets_per_bundle: 50", "max_assets_per_bundle: 0"), "max_assets_per_bundle"),
        ("bundle101.yaml", GOOD.replace("max_assets_per_bundle: 50", "max_assets_per_bundle: 101"), "max_assets_per_bundle"),
        ("account.yaml", GOOD.replace("\"123456789012\"", "\"12345\""), "account_id"),
        ("region.yaml", GOOD.replace("region: us-east-1", "region: mars-north-1"), "region"),
        ("prefix.yaml", format!("{GOOD}s3:\n  bucket_name: b\n  prefix_format: DD/MM/YYYY\n"), "prefix_format"),
        ("format.yaml", GOOD.replace("backup:\n", "backup:\n  export_format: XML\n"), "export_format"),
        ("unknown.yaml", GOOD.replace("backup:\n", "backup:\n  max_asset_per_bundle: 5\n"), "max_asset_per_bundle"),
        ("type.yaml", GOOD.replace("backup:\n", "backup:\n  include_tags: sometimes\n"), "include_tags"),
        ("keys.yaml", GOOD.replace("aws:\n", "aws:\n  access_key_id: AKIAEXAMPLE\n"), "access_key_id"),
        ("bad.json", r#"{"aws": {"account_id": "123456789012", "region": "us-east-1"}, "backup": {"max_assets_per_bundle": 500}}"#.to_string(), "max_assets_per_bundle"),
    ];
    for (name, text, key) in cases {
        let path = bad_config(dir.path(), name, &text);
        let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
            .arg("--config")
            .arg(&path)
            .args(["backup", "--dry-run"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{name}: {err}");
        assert!(err.contains(key), "{name}: message does not name {key}: {err}");
        assert!(err.contains(name), "{name}: message does not name the file: {err}");
    }
    let path = bad_config(
        dir.path(),
        "keys2.yaml",
        &GOOD.replace("aws:\n", "aws:\n  secret_access_key: abc\n"),
    );
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .arg("--config")
        .arg(&path)
        .arg("backup"));
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).to_lowercase().contains("profile"),
        "advice to use a profile or role: {}",
        stderr(&out)
    );
    // A usage error is 3 as well, and global options work after the command name.
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1").args(["backup", "--mode", "everything"]));
    assert_eq!(out.status.code(), Some(3));
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .args(["backup", "--no-progress", "-v", "--config"])
        .arg(dir.path().join("bundle0.yaml")));
    assert_eq!(
        out.status.code(),
        Some(3),
        "global options after the command: {}",
        stderr(&out)
    );
}

/// The sample tool's `logging.file_path` is where the log goes when no
/// --log-file is given, relative to the working directory as the tool had it.
/// Values that used to pass `--dry-run` and then break the run (a panic on a huge timeout, data
/// under another prefix than the banner said, identities dropped, a bucket S3 refuses after ten
/// retries) are refused up front: exit 3, the file, key and line named, nothing created.
#[test]
fn config_values_that_would_break_the_run_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let base = "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nbackup:\n  max_assets_per_bundle: 50\n";
    let local = format!("{base}repository: {}\n", repo.display());
    let dynamodb = "dynamodb:\n  users_table_name: qs-users\n  groups_table_name: qs-groups\n";
    let cases: Vec<(&str, String, &str, usize, &str)> = vec![
        (
            "timeout.yaml",
            local.replace("backup:\n", "backup:\n  job_timeout_seconds: 18446744073709551615\n"),
            "backup.job_timeout_seconds",
            5,
            "86400",
        ),
        (
            "prefix.yaml",
            format!("{base}s3:\n  bucket_name: my-bucket\n  prefix: ../../x\n"),
            "s3.prefix",
            8,
            "`..`",
        ),
        (
            "url.yaml",
            format!("{base}repository: s3://my-bucket/../../x\n"),
            "repository",
            6,
            "`..`",
        ),
        (
            "bucket.yaml",
            format!("{base}s3:\n  bucket_name: My_Bucket!\n"),
            "s3.bucket_name",
            7,
            "3 to 63 characters",
        ),
        (
            "tables.yaml",
            format!("{local}{dynamodb}  table_name_format: \"{{base}}\"\n"),
            "dynamodb.table_name_format",
            10,
            "{date}",
        ),
        (
            "lock.yaml",
            format!("{local}lock:\n  dynamodb_table: \"qs lock\"\n"),
            "lock.dynamodb_table",
            8,
            "3 to 255",
        ),
    ];
    for (name, text, key, line, accepted) in cases {
        let path = bad_config(dir.path(), name, &text);
        for command in [&["backup", "--dry-run"][..], &["backup"], &["iam-policy"]] {
            let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
                .arg("--config")
                .arg(&path)
                .args(command));
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(3), "{name} {command:?}: {err}");
            assert!(
                err.contains(&format!("{name}:{line}: {key}:")),
                "{name} {command:?}: the message names file, line and key: {err}"
            );
            assert!(
                err.contains(accepted),
                "{name} {command:?}: says what is accepted: {err}"
            );
            assert!(stdout(&out).is_empty(), "{name} {command:?}: printed a policy or plan");
        }
    }
    assert!(!repo.exists(), "a refused config created the repository");

    // The unknown-key message lists what `aws:` accepts, not the keys it refuses.
    let path = bad_config(dir.path(), "unknown.yaml", &local.replace("region:", "regoin:"));
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .arg("--config")
        .arg(&path)
        .args(["backup", "--dry-run"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("regoin") && err.contains("identity_region"), "{err}");
    for refused in ["access_key_id", "secret_access_key", "session_token"] {
        assert!(!err.contains(refused), "offers the refused key {refused}: {err}");
    }
}

#[test]
fn config_logging_file_path_is_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        dir.path(),
        "config.yaml",
        &GOOD.replace(
            "backup:\n",
            "logging:\n  level: DEBUG\n  file_path: ./logs/backup.log\nbackup:\n  max_assets_per_bundle: 0\n",
        ),
    );
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .current_dir(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["backup", "--dry-run"]));
    // A config that does not load is refused before any log file is opened.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!dir.path().join("logs/backup.log").exists());
    let config = write_file(
        dir.path(),
        "good.yaml",
        &GOOD.replace(
            "backup:\n",
            "logging:\n  level: DEBUG\n  file_path: ./logs/backup.log\nbackup:\n",
        ),
    );
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .current_dir(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["demo", "--profile", "small", "--no-restore", "--no-progress"]));
    let logged = std::fs::read_to_string(dir.path().join("logs/backup.log")).unwrap_or_default();
    assert!(
        !logged.is_empty(),
        "nothing logged to logging.file_path; exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
}

/// `qsbackup --config FILE` with no command runs a backup, as the sample tool's invocation did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_without_command_runs_a_backup() {
    let emu = emulator("123456789012", "us-east-1", "us-east-1").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let config = write_file(
        dir.path(),
        "config.yaml",
        &format!(
            "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nrepository: \"{}\"\n",
            repo.display()
        ),
    );
    let log = dir.path().join("logs/backup.log");
    let out = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("--config")
        .arg(&config)
        .env("AWS_ACCESS_KEY_ID", "AKIACANARYKEYID77889")
        .env("AWS_SECRET_ACCESS_KEY", "CANARY-SECRET-0a1b2c")
        .env("AWS_SESSION_TOKEN", "CANARY-TOKEN-3d4e5f")
        .args(["--no-progress", "--json", "-vv", "--log-file"])
        .arg(&log));
    // The small account holds assets with definition errors: a partial snapshot, exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Presigned download URLs are bearer secrets: not in the log, even at trace level.
    let logged = std::fs::read_to_string(&log).expect("log file written");
    assert!(!logged.is_empty());
    for text in [&logged, &stderr(&out), &stdout(&out)] {
        assert!(
            !text.contains("X-Amz-Signature") && !text.contains("/_emulator/download/"),
            "a download URL was logged"
        );
        assert!(
            !text.contains("CANARY-SECRET") && !text.contains("CANARY-TOKEN"),
            "a credential was logged"
        );
        assert!(!text.contains("AKIACANARYKEYID"), "the access key id was logged");
    }
    // The log holds account details: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).expect("log file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "log file mode {mode:o}");
    }
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json summary");
    let id = doc["snapshot_id"].as_str().expect("snapshot id");
    assert!(repo.join("snapshots").join(format!("{id}.json")).exists());
    assert!(repo.join("identities").join(format!("{id}.json")).exists());
    assert!(repo.join("account").join(format!("{id}.json")).exists());
    assert!(doc["failed"].as_array().map(|f| !f.is_empty()).unwrap_or(false));
    assert!(
        !stderr(&out).contains("QuickSight backup report"),
        "with --json the document on stdout is the report"
    );
    let stats = emulator_stats(&emu.endpoint(), "123456789012").await;
    assert!(stats["calls"]["StartAssetBundleExportJob"].as_u64().unwrap_or(0) > 0);
}

/// `qsbackup demo` in an empty directory with no AWS settings at all exits 0
/// and leaves a repository and config a later command reads. Its round trip restores as a real
/// DR restore would, IAM users included (it passes `iam_account` in its overrides), and sums the
/// restore up in a few lines instead of printing the plan and report with every dropped
/// permission's ARN.
#[test]
fn demo_needs_no_aws_and_sums_up_a_round_trip_that_restores_iam_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .args(["demo", "--profile", "small", "--no-progress"])
        .output()
        .expect("run demo");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("qsbackup-demo/snapshots"))
        .expect("snapshots dir")
        .collect();
    assert_eq!(snapshots.len(), 1);
    assert!(dir.path().join("qsbackup-demo.yaml").exists());
    assert!(stdout(&out).contains("qsbackup --config qsbackup-demo.yaml"));
    let text = stdout(&out);
    let all = format!("{text}\n{}", stderr(&out));
    assert!(
        !all.contains("IAM identity in the target is not known"),
        "IAM users are mapped with iam_account, not skipped: {all}"
    );
    let start = text
        .find("Round trip:")
        .expect("the demo restores and sums up the round trip");
    let summary: Vec<&str> = text[start..].split("\n\n").next().unwrap_or_default().lines().collect();
    assert!(summary.len() <= 10, "a short summary: {summary:?}");
    assert!(summary.iter().any(|l| l.contains("restored in")), "{summary:?}");
    assert!(summary.iter().any(|l| l.contains("users")), "{summary:?}");
    assert!(!all.contains("Restore plan "), "no full plan in the demo: {all}");
    assert!(
        !text.contains("is not a user or group of the target"),
        "no wall of dropped permissions: {text}"
    );
    // A later command reads what the demo left.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .args(["--config", "qsbackup-demo.yaml", "snapshots", "--json"])
        .output()
        .expect("run snapshots");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("snapshots json");
    assert_eq!(doc["snapshots"].as_array().map(Vec::len), Some(1), "{doc}");
}

async fn dynamodb_tables() -> Vec<String> {
    let text = reqwest::Client::new()
        .post(moto_endpoint())
        .header("X-Amz-Target", "DynamoDB_20120810.ListTables")
        .header("Content-Type", "application/x-amz-json-1.0")
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
        .body("{}")
        .send()
        .await
        .expect("list tables")
        .text()
        .await
        .expect("body");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("tables json");
    doc["TableNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// `--mode users-only` commits a snapshot of identities (and fills the
/// date-suffixed DynamoDB tables) without exporting; `assets-only` leaves
/// identities out. The identity object matches its checksum in the manifest
/// and holds every namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_users_only_and_assets_only() {
    use sha2::Digest;
    let emu = emulator("123456789012", "us-east-1", "us-east-1").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let base = format!("modes{}", std::process::id());
    let config = write_file(
        dir.path(),
        "config.yaml",
        &format!(
            "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nrepository: \"{}\"\ndynamodb:\n  users_table_name: {base}-users\n  groups_table_name: {base}-groups\n  users_group_table_name: {base}-members\n",
            repo.display()
        ),
    );
    let out = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("--config")
        .arg(&config)
        .args(["backup", "--mode", "users-only", "--json", "--no-progress"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json summary");
    assert_eq!(doc["bundles"], 0);
    let identities = doc["identities"].clone();
    let key = identities["key"].as_str().expect("identities key");
    let bytes = std::fs::read(repo.join(key)).expect("identity object");
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        identities["sha256"].as_str().unwrap_or_default()
    );
    let snapshot: serde_json::Value = serde_json::from_slice(&bytes).expect("identity json");
    let namespaces: Vec<&str> = snapshot["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(namespaces, vec!["analytics", "default"]);
    let stats = emulator_stats(&emu.endpoint(), "123456789012").await;
    assert!(
        stats["calls"].get("StartAssetBundleExportJob").is_none(),
        "users-only exported assets"
    );
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let tables = dynamodb_tables().await;
    for t in ["users", "groups", "members"] {
        assert!(
            tables.contains(&format!("{base}-{t}-{date}")),
            "table {base}-{t}-{date} in {tables:?}"
        );
    }

    let out = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("--config")
        .arg(&config)
        .args(["backup", "--mode", "assets-only", "--json", "--no-progress"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json summary");
    assert!(
        doc["identities"].is_null(),
        "assets-only has no identities: {}",
        doc["identities"]
    );
    assert!(doc["bundles"].as_u64().unwrap_or(0) > 0);
    assert!(doc["account"]["key"].as_str().is_some());
}
