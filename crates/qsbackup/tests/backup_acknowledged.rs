//! Known failures: the backup report names each root cause once with what depends on it, and
//! `backup.acknowledged` lets a nightly run in an account with unexportable assets exit 0 while
//! still listing (and the manifest recording) those failures, marked acknowledged. A malformed
//! list is refused like any other config value (exit 3, naming the key).

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;
use serde_json::Value;

/// The backup report's lines (the text after its title, without log lines), from either stream.
fn report(out: &std::process::Output) -> Vec<String> {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let start = text.find("QuickSight backup report").expect("a backup report");
    text[start..]
        .lines()
        .filter(|l| !l.starts_with("20") && !l.contains(" INFO ") && !l.contains(" WARN "))
        .map(str::to_string)
        .collect()
}

fn with_acknowledged(cfg: &std::path::Path, name: &str, list: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(cfg).expect("config");
    let path = cfg.with_file_name(name);
    std::fs::write(&path, format!("{text}backup:\n  acknowledged: {list}\n")).expect("write config");
    path
}

async fn backup_run(emu: &qs_emulator::EmulatorHandle, cfg: &std::path::Path) -> std::process::Output {
    run(qsbackup(
        emu,
        &["--config", &cfg.to_string_lossy(), "--no-progress", "backup"],
    ))
    .await
}

async fn newest_manifest(repo: &str) -> Value {
    let (_, manifest, _) = latest(repo).await;
    serde_json::to_value(&manifest).expect("manifest json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_grouped_by_cause_and_acknowledged_ones_do_not_make_the_run_partial() {
    let emu = emulator(Profile::Small, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);

    // Today's account: assets QuickSight refuses, so the run is partial.
    let out = backup_run(&emu, &cfg).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let manifest = newest_manifest(&repo).await;
    let failed = manifest["failed"].as_array().expect("failed").clone();
    let roots: Vec<&Value> = failed
        .iter()
        .filter(|f| !f["message"].as_str().unwrap_or_default().starts_with("It depends on "))
        .collect();
    let dependents = failed.len() - roots.len();
    assert!(
        dependents >= 2,
        "the small account has assets that fail through a dependency: {failed:?}"
    );
    let ml = roots
        .iter()
        .find(|f| f["message"].as_str().unwrap_or_default().contains("machine learning"))
        .expect("a dataset with ML columns");
    let ml_id = ml["arn"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();

    // The log gives QuickSight's message once, on the root's line; its dependents name the root.
    let log = stderr(&out);
    let logged: Vec<&str> = log.lines().filter(|l| l.contains("machine learning")).collect();
    assert_eq!(logged.len(), 1, "the root cause's message logged once:\n{log}");
    assert!(
        log.lines()
            .filter(|l| l.contains(" WARN ")
                && l.contains(&format!("depends on {}", ml["arn"].as_str().unwrap_or_default())))
            .count()
            >= 2,
        "its dependents' lines name it:\n{log}"
    );

    // The report names the cause once, with the assets that depend on it.
    let lines = report(&out);
    let cause: Vec<&String> = lines.iter().filter(|l| l.contains("machine learning")).collect();
    assert_eq!(cause.len(), 1, "one line for one root cause:\n{}", lines.join("\n"));
    let line = cause[0];
    assert!(
        line.contains(&format!("dataset/{ml_id}")) && line.contains("cannot be exported"),
        "{line}"
    );
    assert!(
        line.contains(&format!("{dependents} assets depend on it: ")),
        "the dependents are counted and named: {line}"
    );
    for f in failed
        .iter()
        .filter(|f| f["message"].as_str().unwrap_or_default().contains(&ml_id))
    {
        assert!(
            line.contains(f["name"].as_str().unwrap_or_default()),
            "{line} names {}",
            f["name"]
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("Failed: {} assets from {} causes", failed.len(), roots.len()))),
        "{}",
        lines.join("\n")
    );

    // Acknowledging only the ML dataset (by id) covers it and what depends on it, not the rest.
    let some = with_acknowledged(&cfg, "some.yaml", &format!("[{ml_id}]"));
    let out = backup_run(&emu, &some).await;
    assert_eq!(out.status.code(), Some(2), "other failures remain: {}", stderr(&out));
    let manifest = newest_manifest(&repo).await;
    assert_eq!(manifest["status"], "partial");
    let acked = manifest["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .filter(|f| f["acknowledged"] == true)
        .count();
    assert_eq!(acked, dependents + 1, "{}", manifest["failed"]);

    // Every cause acknowledged (by TYPE/ID, ARN or reason code): exit 0, a complete snapshot
    // that still lists every failure, marked acknowledged, in the manifest and the report.
    let entries: Vec<String> = roots
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let arn = f["arn"].as_str().unwrap_or_default();
            match i % 3 {
                0 => format!(
                    "{}/{}",
                    f["type"].as_str().unwrap_or_default(),
                    arn.rsplit('/').next().unwrap_or_default()
                ),
                1 => format!("\"{arn}\""),
                _ => f["reason"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    let all = with_acknowledged(&cfg, "all.yaml", &format!("[{}]", entries.join(", ")));
    let out = backup_run(&emu, &all).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "only acknowledged failures: {}",
        stderr(&out)
    );
    let manifest = newest_manifest(&repo).await;
    assert_eq!(manifest["status"], "complete");
    let listed = manifest["failed"].as_array().expect("failed");
    assert_eq!(listed.len(), failed.len(), "still recorded");
    assert!(listed.iter().all(|f| f["acknowledged"] == true), "{listed:?}");
    let lines = report(&out);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{} acknowledged", failed.len()))),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines.iter().any(|l| l.contains("(acknowledged)")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn a_malformed_acknowledged_list_exits_3_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nrepository: /tmp/qsbackup-never-written\n";
    for (name, value) in [
        ("string.yaml", "dataset-0011"),
        ("space.yaml", "[\"dataset 0011\"]"),
        ("type.yaml", "[widget/abc]"),
        ("arn.yaml", "[\"arn:aws:iam::123456789012:user/x\"]"),
        ("map.yaml", "[{id: x}]"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{base}backup:\n  acknowledged: {value}\n")).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("--config")
            .arg(&path)
            .args(["backup", "--dry-run"])
            .output()
            .expect("run qsbackup");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {err}");
        assert!(err.contains("backup.acknowledged"), "{name} names the key: {err}");
    }
}
