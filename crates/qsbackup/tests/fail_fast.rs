//! Failing fast and clearly: a QuickSight endpoint that refuses connections, one that accepts
//! and never answers, and a machine without credentials each end the run with one plain line
//! (no SDK debug chain) and the documented exit code, instead of minutes of silent retries.
//! The silent listener is bounded by the call time limit, shortened for the test through
//! `QSBACKUP_AWS_CALL_TIMEOUT`; the waits below are guards against a hang, not timing targets.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "aws:\n  account_id: \"123456789012\"\n  region: us-east-1\nrepository: \"{}\"\n",
            dir.join("repo").display()
        ),
    )
    .expect("config");
    path
}

/// `qsbackup <args>` with nothing from the caller's environment but PATH and `env`.
fn qsbackup(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qsbackup"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-such-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-such-credentials"))
        .envs(env.iter().copied())
        .args(args)
        .arg("--config")
        .arg(config(dir))
        .arg("--no-progress")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn qsbackup");
    let started = Instant::now();
    while child.try_wait().expect("child status").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("reap");
            panic!(
                "qsbackup {args:?} still running after 120 s\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("qsbackup output")
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_no_sdk_chain(text: &str) {
    for chain in ["DispatchFailure", "ConnectorError", "TimeoutError", "source:"] {
        assert!(!text.contains(chain), "no SDK debug chain ({chain}) in:\n{text}");
    }
}

const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")];

#[test]
fn an_endpoint_refusing_connections_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut env = KEYS.to_vec();
    env.push(("AWS_ENDPOINT_URL_QUICKSIGHT", &endpoint));
    for args in [&["backup"][..], &["backup", "--dry-run"][..]] {
        let out = qsbackup(dir.path(), args, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("could not connect to")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line says it:\n{err}");
        assert!(lines[0].contains(&endpoint), "{args:?}: names {endpoint}: {err}");
        assert_no_sdk_chain(&err);
    }
}

#[test]
fn an_endpoint_that_never_answers_ends_the_dry_run_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    // Accepts every connection and never writes a byte.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut env = KEYS.to_vec();
    env.push(("AWS_ENDPOINT_URL_QUICKSIGHT", &endpoint));
    env.push(("QSBACKUP_AWS_CALL_TIMEOUT", "2"));
    let out = qsbackup(dir.path(), &["backup", "--dry-run"], &env);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("could not connect to")).collect();
    assert_eq!(lines.len(), 1, "one line says it:\n{err}");
    assert!(lines[0].contains(&endpoint) && lines[0].contains("no answer"), "{err}");
    assert_no_sdk_chain(&err);
}

#[test]
fn no_credentials_fail_with_one_line_naming_the_credential_chain_exit_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let env = [("AWS_ENDPOINT_URL_QUICKSIGHT", endpoint.as_str())];
    for args in [&["backup"][..], &["backup", "--dry-run"][..]] {
        let out = qsbackup(dir.path(), args, &env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert_eq!(
            err.matches("credential chain").count(),
            1,
            "{args:?}: said once:\n{err}"
        );
        let line = err.lines().find(|l| l.contains("credential chain")).unwrap_or_default();
        for how in ["AWS_PROFILE", "SSO", "AWS_ACCESS_KEY_ID", "instance or task role"] {
            assert!(
                line.contains(how),
                "{args:?}: says how to set credentials ({how}): {line}"
            );
        }
        assert_no_sdk_chain(&err);
    }
}
