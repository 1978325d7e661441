//! One repository holding the snapshots of two accounts in two regions: `--account` and
//! `--region` select them in snapshots, show, diff, log, verify, forget and the report, and a
//! snapshot of another account named under a selection is an error, never a silent switch.

mod repo_support;

use qs_emulator::{EmulatorOptions, Profile};
use repo_support::{stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

const A: &str = "111111111111";
const B: &str = "222222222222";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";

struct Org {
    emu: qs_emulator::EmulatorHandle,
    dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Org {
    fn config(&self, account: &str, region: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{account}-{region}.yaml"));
        std::fs::write(
            &path,
            format!(
                "aws:\n  account_id: \"{account}\"\n  region: {region}\n  identity_region: {EAST}\nrepository: \"{}\"\n",
                self.repo.display()
            ),
        )
        .expect("config");
        path
    }

    async fn run(&self, config: Option<&Path>, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_QUICKSIGHT", self.emu.endpoint())
            .arg("--no-progress");
        match config {
            Some(c) => cmd.arg("--config").arg(c),
            None => cmd.arg("-r").arg(&self.repo),
        };
        cmd.args(args).output().await.expect("run qsbackup")
    }

    async fn json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(None, &all).await;
        let doc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&out)));
        (out, doc)
    }

    async fn backup(&self, account: &str, region: &str) -> String {
        let config = self.config(account, region);
        let out = self.run(Some(&config), &["--json", "backup"]).await;
        assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).expect("backup json");
        doc["snapshot_id"].as_str().expect("snapshot id").to_string()
    }

    /// (id, account, region) of the snapshots a selection lists.
    async fn listed(&self, select: &[&str]) -> BTreeSet<(String, String, String)> {
        let mut args = vec!["snapshots"];
        args.extend_from_slice(select);
        let (out, doc) = self.json(&args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        doc["snapshots"]
            .as_array()
            .expect("snapshots")
            .iter()
            .map(|s| {
                let f = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                (f("snapshot_id"), f("account_id"), f("region"))
            })
            .collect()
    }
}

#[tokio::test]
async fn account_and_region_select_the_snapshots_of_every_repository_command() {
    let emu = qs_emulator::start(EmulatorOptions {
        profiles: vec![Profile::Small, Profile::Small],
        accounts: vec![A.into(), B.into()],
        region: EAST.into(),
        regions: vec![EAST.into(), WEST.into()],
        identity_region: EAST.into(),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let org = Org {
        repo: dir.path().join("repo"),
        emu,
        dir,
    };
    let a_east_1 = org.backup(A, EAST).await;
    let a_west = org.backup(A, WEST).await;
    let b_east = org.backup(B, EAST).await;
    let a_east_2 = org.backup(A, EAST).await;

    let all = org.listed(&[]).await;
    assert_eq!(all.len(), 4);
    let ids = |set: &BTreeSet<(String, String, String)>| set.iter().map(|s| s.0.clone()).collect::<BTreeSet<_>>();
    assert_eq!(
        ids(&org.listed(&["--account", A]).await),
        BTreeSet::from([a_east_1.clone(), a_west.clone(), a_east_2.clone()])
    );
    assert_eq!(
        ids(&org.listed(&["--region", WEST]).await),
        BTreeSet::from([a_west.clone()])
    );
    assert_eq!(
        ids(&org.listed(&["--account", B, "--region", EAST]).await),
        BTreeSet::from([b_east.clone()])
    );
    assert!(org.listed(&["--account", B, "--region", WEST]).await.is_empty());
    let bad = org.run(None, &["snapshots", "--account", "12345"]).await;
    assert_ne!(bad.status.code(), Some(0), "an account id is 12 digits");

    // `latest` is the selection's newest; another account's snapshot is refused by name.
    let (out, doc) = org.json(&["show", "latest", "--account", B]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["snapshot_id"], b_east.as_str());
    let (_, doc) = org.json(&["show", "latest", "--region", WEST]).await;
    assert_eq!(doc["snapshot_id"], a_west.as_str());
    let out = org.run(None, &["show", &a_west, "--account", B]).await;
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(&format!("is of account {A} in {WEST}, not of account {B}")),
        "{}",
        stderr(&out)
    );
    let out = org
        .run(None, &["show", "latest", "--account", B, "--region", WEST])
        .await;
    assert!(
        stderr(&out).contains(&format!("no snapshot of account {B} in {WEST}")),
        "{}",
        stderr(&out)
    );

    // diff: both ends resolve within the selection.
    let (out, doc) = org
        .json(&["diff", &a_east_1, "latest", "--account", A, "--region", EAST])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["to_snapshot_id"], a_east_2.as_str(), "{doc:#}");

    // log: only the selected snapshots' lines.
    let (_, doc) = org.json(&["show", &b_east]).await;
    let dashboard = doc["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .find(|a| a["type"] == "dashboard")
        .and_then(|a| a["id"].as_str())
        .expect("a dashboard")
        .to_string();
    let (out, doc) = org
        .json(&["log", &format!("dashboard/{dashboard}"), "--account", B])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let logged: BTreeSet<&str> = doc["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .flat_map(|a| a["entries"].as_array().into_iter().flatten())
        .filter_map(|e| e["snapshot_id"].as_str())
        .collect();
    assert_eq!(logged, BTreeSet::from([b_east.as_str()]), "{doc:#}");

    // verify: the selection's snapshots only.
    let (out, doc) = org.json(&["verify", "--all", "--region", WEST]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["report"]["snapshot_ids"], serde_json::json!([a_west]));

    // The report: the selection's snapshots only.
    let page = org.dir.path().join("a.html");
    let out = org
        .run(
            None,
            &["report", "--html", page.to_str().expect("path"), "--account", A],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.contains(&a_west) && html.contains(&a_east_2) && !html.contains(&b_east));

    // forget: the policy applies to the selected groups; B's snapshot is not touched.
    let out = org
        .run(None, &["forget", "--keep-last", "1", "--account", A, "--region", EAST])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        ids(&org.listed(&[]).await),
        BTreeSet::from([a_west, b_east.clone(), a_east_2]),
        "only A's older us-east-1 snapshot is forgotten"
    );

    // restore: B's snapshot chosen under A's config is not restored over A by default.
    let a_config = org.config(A, EAST);
    let out = org
        .run(Some(&a_config), &["restore", "latest", "--dry-run", "--account", B])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--target-account"), "{}", stderr(&out));
    let out = org
        .run(
            Some(&a_config),
            &[
                "--json",
                "restore",
                "latest",
                "--dry-run",
                "--account",
                B,
                "--target-account",
                B,
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    assert_eq!(plan["snapshot_id"], serde_json::json!(b_east), "B's latest");
}
