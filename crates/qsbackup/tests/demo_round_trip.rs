//! The demo's round trip restores as a real DR restore would, IAM users included (it passes
//! `iam_account` in its overrides), and sums the restore up in a few lines instead of printing
//! the plan and report with every dropped permission's ARN.

#[test]
fn the_demo_restores_iam_users_and_prints_a_short_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .args(["demo", "--profile", "small", "--no-progress"])
        .output()
        .expect("run qsbackup demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        !all.contains("IAM identity in the target is not known"),
        "IAM users are mapped with iam_account, not skipped: {all}"
    );
    let start = stdout.find("Round trip:").expect("a round-trip summary");
    let summary: Vec<&str> = stdout[start..]
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .lines()
        .collect();
    assert!(summary.len() <= 10, "a short summary: {summary:?}");
    assert!(summary.iter().any(|l| l.contains("restored in")), "{summary:?}");
    assert!(summary.iter().any(|l| l.contains("users")), "{summary:?}");
    assert!(!all.contains("Restore plan "), "no full plan in the demo: {all}");
    assert!(
        !stdout.contains("is not a user or group of the target"),
        "no wall of dropped permissions: {stdout}"
    );
}
