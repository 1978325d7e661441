//! What a new user meets in the first hour, through the real binary: a config means the same
//! from any working directory, restic's habits (`-r` anywhere, `QSBACKUP_REPOSITORY`,
//! `restore SNAPSHOT`, `-q`, help with global options apart and examples), `cost` prices only
//! what the config uses, the README's IAM policy is the one `iam-policy` prints, and the
//! demo's config never reaches AWS.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use qs_emulator::{EmulatorOptions, Profile};
use serde_json::Value;
use support::*;

const ACCOUNT: &str = "123456789012";

async fn emulator() -> qs_emulator::EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 5,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator")
}

/// Runs `qsbackup demo --profile small --no-restore` in `dir`; returns the config it wrote.
fn demo_in(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("demo dir");
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1").current_dir(dir).args([
        "demo",
        "--profile",
        "small",
        "--no-restore",
        "--no-progress",
    ]));
    assert_eq!(out.status.code(), Some(0), "demo: {}", stderr(&out));
    dir.join("qsbackup-demo.yaml")
}

fn snapshot_count(out: &Output) -> usize {
    let doc: Value = serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)));
    doc["snapshots"].as_array().map(Vec::len).unwrap_or(0)
}

/// Point 1: after the demo, its config read from another directory finds the demo's snapshot
/// and creates nothing where it runs; `logging.file_path` is relative to the config too.
#[test]
fn config_paths_resolve_against_the_config_files_directory() {
    let root = tempfile::tempdir().expect("tempdir");
    let (home, elsewhere) = (root.path().join("home"), root.path().join("elsewhere"));
    let config = demo_in(&home);
    std::fs::create_dir_all(&elsewhere).expect("elsewhere");
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .current_dir(&elsewhere)
        .arg("--config")
        .arg(Path::new("../home/qsbackup-demo.yaml"))
        .args(["snapshots", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        snapshot_count(&out),
        1,
        "the demo's snapshot, read from another directory"
    );
    assert!(
        !elsewhere.join("qsbackup-demo").exists(),
        "created a repository in the working directory"
    );

    let logged = write_file(
        &home,
        "logged.yaml",
        &std::fs::read_to_string(&config)
            .expect("demo config")
            .replace("backup:\n", "logging:\n  file_path: logs/qs.log\nbackup:\n"),
    );
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .current_dir(&elsewhere)
        .arg("--config")
        .arg(&logged)
        .args(["verify", "--all"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(home.join("logs/qs.log").exists(), "the log file beside the config");
    assert!(
        !elsewhere.join("logs").exists(),
        "a log directory in the working directory"
    );
}

/// Point 7: `-r/--repo` before or after the command and `QSBACKUP_REPOSITORY`; `restore
/// SNAPSHOT` positional (and `--snapshot`), one of them required; `-q`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restic_habits_hold() {
    let root = tempfile::tempdir().expect("tempdir");
    demo_in(root.path());
    let repo = root.path().join("qsbackup-demo");
    let repo = repo.to_str().expect("utf-8 path");
    for args in [
        vec!["-r", repo, "snapshots", "--json"],
        vec!["snapshots", "-r", repo, "--json"],
        vec!["--repo", repo, "--json", "snapshots"],
        vec!["snapshots", "--repository", repo, "--json"],
    ] {
        let out = run(qsbackup("http://127.0.0.1:9", "us-east-1").args(&args));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(snapshot_count(&out), 1, "{args:?}");
    }
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .env("QSBACKUP_REPOSITORY", repo)
        .args(["snapshots", "--json"]));
    assert_eq!(out.status.code(), Some(0), "QSBACKUP_REPOSITORY: {}", stderr(&out));
    assert_eq!(snapshot_count(&out), 1);

    // restore against an emulated account with a config of its own; -r names the repository.
    let emu = emulator().await;
    let config = write_file(
        root.path(),
        "config.yaml",
        &format!("aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\nrepository: ./nowhere\n"),
    );
    for snapshot in [&["latest"][..], &["--snapshot", "latest"]] {
        let out = run(qsbackup(&emu.endpoint(), "us-east-1")
            .arg("-c")
            .arg(&config)
            .args(["-r", repo, "restore"])
            .args(snapshot)
            .arg("--dry-run"));
        assert_eq!(out.status.code(), Some(0), "restore {snapshot:?}: {}", stderr(&out));
        assert!(!stdout(&out).is_empty(), "restore {snapshot:?} prints its plan");
    }
    assert!(
        !root.path().join("nowhere").exists(),
        "-r wins over the config's repository"
    );
    let out =
        run(qsbackup(&emu.endpoint(), "us-east-1")
            .arg("-c")
            .arg(&config)
            .args(["-r", repo, "restore", "--dry-run"]));
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("<SNAPSHOT") && err.contains("--snapshot"),
        "names both forms: {err}"
    );

    // -q: the result, no informational lines on stderr.
    let backup_config = write_file(
        root.path(),
        "backup.yaml",
        &format!("aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\nrepository: ./quiet-repo\n"),
    );
    let loud = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("-c")
        .arg(&backup_config)
        .args(["backup", "--dry-run"]));
    assert!(stderr(&loud).contains(" INFO "), "without -q: {}", stderr(&loud));
    let quiet = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("-c")
        .arg(&backup_config)
        .args(["backup", "--dry-run", "-q"]));
    assert_eq!(quiet.status.code(), loud.status.code(), "{}", stderr(&quiet));
    assert!(!stderr(&quiet).contains(" INFO "), "-q: {}", stderr(&quiet));
    assert!(!stdout(&quiet).is_empty(), "-q still prints the result");
}

/// Point 7: `--help` lists global options under their own heading and ends with examples,
/// for the program and for every command.
#[test]
fn help_separates_global_options_and_ends_with_examples() {
    // Every command the top-level help lists, so a new command cannot ship without examples.
    let top = stdout(&run(qsbackup("http://127.0.0.1:9", "us-east-1").arg("--help")));
    let listed: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .expect("a Commands section")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line; its description may wrap onto deeper-indented lines.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    for expected in ["backup", "restore", "find", "dump", "snapshots"] {
        assert!(listed.iter().any(|c| c == expected), "{expected} not in:\n{top}");
    }
    let commands: Vec<&str> = std::iter::once("").chain(listed.iter().map(String::as_str)).collect();
    for command in commands {
        for flag in ["-h", "--help"] {
            let mut cmd = qsbackup("http://127.0.0.1:9", "us-east-1");
            if !command.is_empty() {
                cmd.arg(command);
            }
            let out = run(cmd.arg(flag));
            assert_eq!(out.status.code(), Some(0), "{command} {flag}");
            let text = stdout(&out);
            let global = text
                .find("Global options:")
                .unwrap_or_else(|| panic!("{command} {flag}: no global heading:\n{text}"));
            let (own, rest) = text.split_at(global);
            assert!(
                rest.contains("--repo") && rest.contains("--quiet") && rest.contains("--config"),
                "{command} {flag}: global options under their heading:\n{text}"
            );
            assert!(
                !own.contains("--config"),
                "{command} {flag}: --config among the command's options"
            );
            let examples = text
                .rfind("Examples:")
                .unwrap_or_else(|| panic!("{command} {flag}: no examples:\n{text}"));
            let lines = text[examples..]
                .lines()
                .filter(|l| l.trim_start().starts_with("qsbackup "))
                .count();
            assert!(lines >= 2, "{command} {flag}: {lines} examples");
            if !command.is_empty() {
                assert!(
                    text[examples..].contains(&format!("qsbackup -c config.yaml {command}"))
                        || text[examples..].contains(&format!("qsbackup {command}")),
                    "{command} {flag}: examples of this command:\n{}",
                    &text[examples..]
                );
            }
        }
    }
}

/// Point 11: `cost` of a config with a local repository and no `dynamodb` section prices
/// neither S3 nor DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_counts_only_what_the_config_uses() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        dir.path(),
        "config.yaml",
        &format!("aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\nrepository: ./repo\n"),
    );
    let out = run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("--config")
        .arg(&config)
        .args(["cost", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("cost json");
    let e = &doc["estimate"];
    for key in [
        "dynamodb_write_units",
        "dynamodb_writes",
        "dynamodb_storage",
        "s3_storage",
        "s3_requests",
        "total",
    ] {
        assert_eq!(
            e[key].as_f64(),
            Some(0.0),
            "{key} of a config that uses neither S3 nor DynamoDB: {e}"
        );
    }
    let text = stdout(&run(qsbackup(&emu.endpoint(), "us-east-1")
        .arg("--config")
        .arg(&config)
        .arg("cost")));
    assert!(text.contains("no `dynamodb` section"), "{text}");
    assert!(text.contains("is not on S3"), "{text}");
}

/// The first fenced block of `lang` after the heading line `heading` in the README.
fn readme_block(readme: &str, heading: &str, lang: &str) -> String {
    let from = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let fence = format!("```{lang}\n");
    let start = readme[from..]
        .find(&fence)
        .map(|i| from + i + fence.len())
        .expect("block start");
    let end = readme[start..].find("```").map(|i| start + i).expect("block end");
    // The config block is indented under a list item.
    readme[start..end]
        .lines()
        .map(|l| l.strip_prefix("   ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Point 11: the README's IAM policy is exactly what `iam-policy` prints for the README's
/// example config, so the two cannot drift apart again.
#[test]
fn readme_iam_policy_is_the_one_iam_policy_prints() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).expect("README");
    let config_text = readme_block(&readme, "## Quick start against AWS", "yaml");
    let documented: Value = serde_json::from_str(&readme_block(&readme, "### IAM permissions for a backup", "json"))
        .expect("the README's policy is JSON");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(dir.path(), "config.yaml", &config_text);
    let out = run(qsbackup("http://127.0.0.1:9", "us-east-1")
        .arg("--config")
        .arg(&config)
        .arg("iam-policy"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed: Value = serde_json::from_str(&stdout(&out)).expect("policy JSON");
    assert_eq!(
        documented,
        printed,
        "README policy differs from `iam-policy`; it prints:\n{}",
        stdout(&out)
    );
}

/// Point 11: the demo's config names its emulated QuickSight and marks itself; commands that
/// would call AWS with it refuse it (exit 3) before any call, repository commands read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_config_never_reaches_aws() {
    let root = tempfile::tempdir().expect("tempdir");
    let config = demo_in(root.path());
    let text = std::fs::read_to_string(&config).expect("demo config");
    assert!(text.starts_with("# Written by `qsbackup demo`"), "{text}");
    assert!(text.contains("quicksight_endpoint: \"http://127.0.0.1:"), "{text}");
    // An account that answers, as ambient credentials would reach one: it must get no call.
    let emu = emulator().await;
    for args in [
        &["backup", "--dry-run"][..],
        &["backup"],
        &["restore", "latest", "--dry-run"],
        &["restore", "latest", "--yes"],
        &["cost"],
    ] {
        let out = run(qsbackup(&emu.endpoint(), "us-east-1")
            .current_dir(root.path())
            .arg("--config")
            .arg(&config)
            .args(args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains("qsbackup demo") && err.contains("refused"),
            "{args:?}: {err}"
        );
    }
    let stats = emulator_stats(&emu.endpoint(), ACCOUNT).await;
    assert!(
        stats["calls"].as_object().map(|c| c.is_empty()).unwrap_or(true),
        "the demo's config reached QuickSight: {stats}"
    );
    for args in [
        &["snapshots"][..],
        &["show", "latest"],
        &["verify", "--all"],
        &["iam-policy"],
    ] {
        let out = run(qsbackup(&emu.endpoint(), "us-east-1")
            .current_dir(root.path())
            .arg("--config")
            .arg(&config)
            .args(args));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
}
