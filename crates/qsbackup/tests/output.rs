//! What a user sees, command by command: results on stdout and logs and progress on stderr;
//! with `--json` exactly one document carrying `schema_version`, the command's name and
//! `snapshot_id` wherever a snapshot is named; sizes and times one way in text; and, on a
//! terminal (a pty through util-linux `script`), a restore prompt nothing draws over and a
//! backup whose last progress line agrees with its report.

mod restore_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use qs_emulator::{EmulatorHandle, Profile};
use restore_support::*;
use serde_json::Value;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `qsbackup ARGS` with a JSON result and checks it is one document of `command`.
async fn json_doc(emu: &EmulatorHandle, args: &[&str], command: &str) -> Value {
    let out = run(qsbackup(emu, args)).await;
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{args:?}: exit {:?}\n{}",
        out.status.code(),
        stderr(&out)
    );
    let doc = stdout_json(&out);
    assert_eq!(doc["schema_version"], 1, "{args:?}: {doc}");
    assert_eq!(doc["command"], command, "{args:?}: {doc}");
    doc
}

fn id_of(v: &Value) -> String {
    v["snapshot_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no snapshot_id in {v}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_prints_one_versioned_document_naming_snapshots_alike() {
    let emu = emulator(Profile::Small, 21).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo)
        .to_string_lossy()
        .to_string();
    let c = |rest: &[&str]| -> Vec<String> {
        let mut v = vec!["--config".to_string(), cfg.clone()];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    macro_rules! doc {
        ($command:expr, $($arg:expr),+) => {{
            let args = c(&[$($arg),+]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            json_doc(&emu, &args, $command).await
        }};
    }

    let first = doc!("backup", "backup", "--json");
    let a = id_of(&first);
    assert!(first["bytes"].as_u64().is_some_and(|b| b > 0), "exact bytes: {first}");
    let b = id_of(&doc!("backup", "backup", "--json"));
    let dry = doc!("backup", "backup", "--dry-run", "--json");
    assert_eq!(dry["dry_run"], true);

    let listed = doc!("snapshots", "snapshots", "--json");
    let ids: Vec<String> = listed["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![a.clone(), b.clone()]);

    let shown = doc!("show", "show", "latest", "--json");
    assert_eq!(id_of(&shown), b);
    assert_eq!(id_of(&shown["summary"]), b);
    assert_eq!(
        shown["summary"]["bytes"], listed["snapshots"][1]["bytes"],
        "one size for one snapshot"
    );

    let d = doc!("diff", "diff", &a, &b, "--json");
    assert_eq!(d["from_snapshot_id"], a.as_str());
    assert_eq!(d["to_snapshot_id"], b.as_str());

    let v = doc!("verify", "verify", "--all", "--json");
    assert_eq!(v["report"]["snapshot_ids"], serde_json::json!([a, b]));

    let f = doc!("forget", "forget", "--keep-last", "1", "--dry-run", "--json");
    assert_eq!(f["removed_snapshot_ids"], serde_json::json!([a]));
    assert_eq!(id_of(&f["groups"][0]["keep"][0]), b);

    doc!("unlock", "unlock", "--json");

    let cost = doc!("cost", "cost", "--snapshot", "latest", "--json");
    assert_eq!(id_of(&cost), b);

    let policy = doc!("iam-policy", "iam-policy", "--json");
    assert_eq!(policy["policy"]["Version"], "2012-10-17", "{policy}");

    let plan = doc!(
        "restore",
        "restore",
        "--snapshot",
        "latest",
        "--target-account",
        TARGET,
        "--dry-run",
        "--json"
    );
    assert_eq!(id_of(&plan), b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_report_is_on_stdout_with_one_size_and_times_to_the_second() {
    let emu = emulator(Profile::Small, 22).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo)
        .to_string_lossy()
        .to_string();
    let out = run(qsbackup(&emu, &["--config", &cfg, "backup", "--no-progress"])).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("QuickSight backup report"),
        "`backup > file` holds the report; stdout:\n{report}"
    );
    assert!(
        !stderr(&out).contains("QuickSight backup report"),
        "the report is not also on stderr"
    );
    assert!(!report.contains(" bytes)"), "sizes are human in text:\n{report}");
    let started = line_after(&report, "Started:");
    assert!(
        started.ends_with(" UTC") && !started.contains('.') && started.len() == "2026-12-02 06:42:33 UTC".len(),
        "to the second with the zone: {started:?}"
    );
    let size = line_after(&report, "Size:");

    let shown = run(qsbackup(&emu, &["--config", &cfg, "show", "latest"])).await;
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let shown = stdout(&shown);
    assert_eq!(line_after(&shown, "Size"), size, "show and the report agree:\n{shown}");
    let listed = run(qsbackup(&emu, &["--config", &cfg, "snapshots"])).await;
    let listed = stdout(&listed);
    assert!(listed.contains(&size), "snapshots shows {size}:\n{listed}");
    assert!(listed.contains(&started), "snapshots shows {started}:\n{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_one_json_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tokio::task::spawn_blocking({
        let cwd = dir.path().to_path_buf();
        move || {
            Command::new(env!("CARGO_BIN_EXE_qsbackup"))
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", &cwd)
                .current_dir(&cwd)
                .args(["demo", "--profile", "small", "--json"])
                .stdin(Stdio::null())
                .output()
                .expect("run demo")
        }
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "demo");
    let id = id_of(&doc);
    assert_eq!(id_of(&doc["backup"]), id);
    assert_eq!(id_of(&doc["restore"]), id);
}

/// The value after `label` on the first line starting with it.
fn line_after(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"))
        .trim()
        .to_string()
}

/// Runs `qsbackup ARGS` on a pty of 200 columns (util-linux `script`), `input` typed on it;
/// returns the exit status and everything the terminal received.
async fn on_terminal(emu: &EmulatorHandle, args: &[&str], input: &str) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_qsbackup");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let line = format!("stty cols 200 rows 50; exec '{bin}' {}", quoted.join(" "));
    let template = qsbackup(emu, &[]);
    let mut cmd = Command::new("script");
    cmd.env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("TERM", "xterm")
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = input.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("script (util-linux) runs");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait_with_output().expect("script output")
    })
    .await
    .expect("join");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_restore_question_stays_readable_until_answered() {
    let emu = emulator(Profile::Small, 23).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, Path::new(&cfg)).await;
    let (_, manifest, _) = latest(&repo).await;
    let dashboard = manifest
        .bundles
        .iter()
        .flat_map(|b| b.members.iter())
        .find(|m| m.member_type == "dashboard")
        .map(|m| format!("dashboard/{}", m.id))
        .expect("a dashboard in the snapshot");
    let cfg = cfg.to_string_lossy().to_string();
    let args = [
        "--config",
        &cfg,
        "restore",
        "--snapshot",
        "latest",
        "--select",
        &dashboard,
        "--target-account",
        TARGET,
    ];
    let (code, screen) = on_terminal(&emu, &args, "n\n").await;
    assert_eq!(code, Some(1), "answered no: cancelled\n{screen}");
    let plan_at = screen
        .find("Restore plan")
        .unwrap_or_else(|| panic!("the plan is shown:\n{screen:?}"));
    assert_eq!(
        visible_before(&screen, plan_at),
        "",
        "the plan starts a clean line (no spinner left on it):\n{screen:?}"
    );
    let prompt = format!("into account {TARGET} ({REGION})? [y/N] ");
    let at = screen
        .find(&prompt)
        .unwrap_or_else(|| panic!("the question is asked:\n{screen:?}"));
    let question_at = screen[..at].rfind("Restore ").expect("the question");
    assert_eq!(
        visible_before(&screen, question_at),
        "",
        "the question starts a clean line:\n{screen:?}"
    );
    let from_plan = &screen[plan_at..];
    assert!(
        !from_plan.contains('\u{1b}'),
        "nothing draws over the plan, the question or after them: {from_plan:?}"
    );
    assert!(from_plan.contains("restore cancelled"), "{from_plan:?}");
}

/// What a terminal shows on the line of `at` before it: the text after the last line break and
/// carriage return, without escape sequences.
fn visible_before(screen: &str, at: usize) -> String {
    let line = &screen[..at];
    let line = &line[line.rfind('\n').map_or(0, |i| i + 1)..];
    let line = &line[line.rfind('\r').map_or(0, |i| i + 1)..];
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, then one final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The number just before `suffix` in the last occurrence of `suffix` in `text`.
fn number_before(text: &str, suffix: &str) -> Option<u64> {
    let at = text.rfind(suffix)?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The number just after the first occurrence of `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let at = text.find(prefix)? + prefix.len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_last_progress_line_agrees_with_the_report() {
    // The small account holds assets QuickSight refuses to export (docs/emulator.md).
    let emu = emulator(Profile::Small, 24).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo)
        .to_string_lossy()
        .to_string();
    let (code, screen) = on_terminal(&emu, &["--config", &cfg, "backup"], "").await;
    assert_eq!(code, Some(2), "some assets failed: partial\n{screen}");
    let (_, manifest, _) = latest(&repo).await;
    assert!(!manifest.failed.is_empty(), "the account has failing assets");

    let report_at = screen.find("QuickSight backup report").expect("the report");
    let (progress, report) = screen.split_at(report_at);
    let total = report
        .lines()
        .find(|l| l.starts_with("total "))
        .expect("the report's total row");
    let report_failed: u64 = total
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .expect("failed count");
    assert_eq!(report_failed, manifest.failed.len() as u64);

    let last = progress
        .rfind("done: ")
        .map(|i| {
            let end = progress[i..]
                .find(['\r', '\n', '\u{1b}'])
                .map_or(progress.len(), |e| i + e);
            &progress[i..end]
        })
        .unwrap_or_else(|| panic!("a final progress line:\n{progress:?}"));
    assert_eq!(
        number_before(last, " assets failed"),
        Some(report_failed),
        "the last line {last:?} counts the report's failures"
    );
    let bundles_failed = number_after(last, "failed ").expect("bundles failed");
    let planned = number_before(last, " bundles (").expect("bundles planned");
    let stored = number_after(last, "stored ").expect("bundles stored");
    assert_eq!(stored, manifest.bundles.len() as u64, "stored bundles: {last:?}");
    assert_eq!(stored + bundles_failed, planned, "every planned bundle ended: {last:?}");
    let size = qsbackup_core::units::human_bytes(manifest.total_bytes());
    assert!(
        last.contains(&format!("{size} stored")),
        "{last:?} has the snapshot's size {size}"
    );
    assert!(
        report.contains(&format!("Size: {size}")),
        "the report has the same size"
    );
    assert!(last.contains(" in 00:"), "elapsed time: {last:?}");
    assert!(progress.contains("ETA "), "an ETA while it runs");
}
