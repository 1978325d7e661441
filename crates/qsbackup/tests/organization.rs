//! One `qsbackup backup` over a config listing six accounts in two regions, one of which
//! denies QuickSight: the other ten targets commit a complete snapshot each, read through
//! their own account's role (assumed with STS on moto), the denied account is reported
//! failed, and the run exits 2. Then one account alone with `--account`, and the checks of
//! `--dry-run` for every target.

mod repo_support;

use qs_emulator::{EmulatorOptions, FaultPlan, Profile};
use repo_support::stderr;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

const ACCOUNTS: [&str; 6] = [
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
];
const DENIED: &str = "444444444444";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ROLE: &str = "QuickSightBackupReader";
/// Base of the identity tables' names, on moto's DynamoDB.
const TABLES: &str = "org-test";
/// The small profile's assets QuickSight refuses to export, by cause: known, so a snapshot
/// that lists them is still complete (`backup.acknowledged`).
const ACKNOWLEDGED: &str = "export_job_failed, export_refused";

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT")
        .unwrap_or_else(|_| panic!("MOTO_ENDPOINT is not set: run scripts/test, which starts a moto server for STS"))
}

struct Org {
    emu: qs_emulator::EmulatorHandle,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Org {
    async fn start() -> Org {
        let emu = qs_emulator::start(EmulatorOptions {
            profiles: vec![Profile::Small; ACCOUNTS.len()],
            accounts: ACCOUNTS.map(String::from).to_vec(),
            region: REGIONS[0].into(),
            regions: REGIONS.map(String::from).to_vec(),
            identity_region: REGIONS[0].into(),
            faults: FaultPlan {
                deny_accounts: BTreeSet::from([DENIED.to_string()]),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .expect("emulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut yaml = format!(
            "aws:\n  region: {}\n  identity_region: {}\nrepository: \"{}\"\nbackup:\n  max_concurrent_accounts: 6\n  \
             acknowledged: [{ACKNOWLEDGED}]\ndynamodb:\n  users_table_name: {TABLES}-users\n  \
             groups_table_name: {TABLES}-groups\n  users_group_table_name: {TABLES}-members\n  \
             table_name_format: \"{{base}}-{{account}}-{{region}}-{{date}}\"\naccounts:\n",
            REGIONS[0],
            REGIONS[0],
            dir.path().join("repo").display()
        );
        for account in ACCOUNTS {
            yaml.push_str(&format!(
                "  - account_id: \"{account}\"\n    role_arn: arn:aws:iam::{account}:role/{ROLE}\n    regions: [{}]\n",
                REGIONS.join(", ")
            ));
        }
        let config = dir.path().join("org.yaml");
        std::fs::write(&config, yaml).expect("config");
        Org { emu, dir, config }
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_QUICKSIGHT", self.emu.endpoint())
            .env("AWS_ENDPOINT_URL_STS", moto())
            .env("AWS_ENDPOINT_URL_ORGANIZATIONS", moto())
            .env("AWS_ENDPOINT_URL_DYNAMODB", moto())
            .arg("--no-progress")
            .arg("--config")
            .arg(&self.config)
            .args(args);
        cmd.output().await.expect("run qsbackup")
    }

    async fn json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all).await;
        let doc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&out)));
        (out, doc)
    }
}

/// The DynamoDB tables moto holds in `region`.
async fn dynamodb_tables(region: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut body = serde_json::json!({});
    loop {
        let text = reqwest::Client::new()
            .post(moto())
            .header("X-Amz-Target", "DynamoDB_20120810.ListTables")
            .header("Content-Type", "application/x-amz-json-1.0")
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, \
                     Signature=0"
                ),
            )
            .body(body.to_string())
            .send()
            .await
            .expect("list tables")
            .text()
            .await
            .expect("body");
        let doc: Value = serde_json::from_str(&text).expect("tables json");
        tables.extend(
            doc["TableNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string)),
        );
        match doc["LastEvaluatedTableName"].as_str() {
            Some(last) => body = serde_json::json!({ "ExclusiveStartTableName": last }),
            None => return tables,
        }
    }
}

/// When a snapshot's run started and finished, as [`instant`]s.
type Period = ((String, f64), (String, f64));

/// (date, seconds into the day) of an RFC 3339 UTC time, comparable whatever its precision.
fn instant(rfc3339: &str) -> (String, f64) {
    let (date, time) = rfc3339.split_once('T').expect("a date and a time");
    let time = time.trim_end_matches('Z').trim_end_matches("+00:00");
    let seconds = time
        .split(':')
        .map(|p| p.parse::<f64>().expect("a number"))
        .fold(0.0, |acc, p| acc * 60.0 + p);
    (date.to_string(), seconds)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn one_run_backs_up_every_account_and_region_and_reports_the_one_that_denies() {
    let org = Org::start().await;
    let (out, doc) = org.json(&["backup"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "one account denied: exit 2\n{}",
        stderr(&out)
    );
    let targets = doc["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 12, "{doc:#}");
    assert_eq!(doc["complete"], 10, "{doc:#}");
    assert_eq!(doc["failed"], 2, "{doc:#}");
    assert_eq!(
        doc["failed_accounts"],
        serde_json::json!([DENIED]),
        "one account failed, in both its regions"
    );

    let mut snapshots = BTreeMap::new();
    let mut periods: BTreeMap<String, Vec<Period>> = BTreeMap::new();
    for t in targets {
        let (account, region) = (text(t, "account_id"), text(t, "region"));
        if account == DENIED {
            assert_eq!(text(t, "status"), "failed", "{t:#}");
            let error = text(t, "error");
            assert!(error.contains("AccessDenied"), "the failure says why: {error}");
            assert!(t.get("snapshot").is_none(), "{t:#}");
            continue;
        }
        assert_eq!(text(t, "status"), "complete", "{t:#}");
        let snapshot = &t["snapshot"];
        let caller = text(snapshot, "caller_arn");
        assert!(
            caller.contains(&format!(":{account}:assumed-role/{ROLE}/")),
            "{account} {region} was read through its own account's role, not the run's credentials: {caller}"
        );
        periods.entry(account.clone()).or_default().push((
            instant(&text(snapshot, "started_at")),
            instant(&text(snapshot, "finished_at")),
        ));
        snapshots.insert(text(snapshot, "snapshot_id"), (account, region));
    }
    // An account's regions ran one after the other: QuickSight's 5 export jobs are the
    // account's, so two of its regions at once could ask for 10.
    for (account, mut p) in periods {
        p.sort_by(|a, b| a.partial_cmp(b).expect("times"));
        assert_eq!(p.len(), 2, "{account}");
        assert!(p[0].1 <= p[1].0, "{account}'s two regions overlapped: {p:?}");
    }
    assert_eq!(snapshots.len(), 10, "one snapshot per target");

    // The repository holds exactly those ten, each of its own account and region.
    let (out, listed) = org.json(&["snapshots"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed: BTreeMap<String, (String, String)> = listed["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| (text(s, "snapshot_id"), (text(s, "account_id"), text(s, "region"))))
        .collect();
    assert_eq!(listed, snapshots);
    for (id, (account, region)) in &snapshots {
        let (out, show) = org
            .json(&[
                "show",
                id.as_str(),
                "--account",
                account.as_str(),
                "--region",
                region.as_str(),
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let manifest = &show["manifest"];
        assert_eq!(text(manifest, "status"), "complete", "{show:#}");
        let arns: Vec<String> = manifest["bundles"]
            .as_array()
            .expect("bundles")
            .iter()
            .flat_map(|b| b["requested_arns"].as_array().cloned().unwrap_or_default())
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect();
        assert!(!arns.is_empty(), "{id} stored assets");
        for arn in arns {
            assert!(
                arn.starts_with(&format!("arn:aws:quicksight:{region}:{account}:")),
                "{id} of {account} {region} holds only its own assets: {arn}"
            );
        }
    }
    // The identity tables of every target are the run's own, in the config's region (where
    // the run's credentials and policy are), never in the target's region.
    let home = dynamodb_tables(REGIONS[0]).await;
    let elsewhere = dynamodb_tables(REGIONS[1]).await;
    for (account, region) in snapshots.values() {
        let table = format!("{TABLES}-users-{account}-{region}-");
        assert!(
            home.iter().any(|t| t.starts_with(&table)),
            "{table}<date> in {}: {home:?}",
            REGIONS[0]
        );
        assert!(
            !elsewhere.iter().any(|t| t.starts_with(&table)),
            "{table}<date> also in {}",
            REGIONS[1]
        );
    }

    // Every account but the denied one exported its own assets.
    let world = org.emu.service().world();
    for account in ACCOUNTS.iter().filter(|a| **a != DENIED) {
        let stats = world.stats.get(*account).expect("the account was called");
        assert!(stats.export_jobs_started > 0, "{account}");
    }
}

#[tokio::test]
async fn account_runs_one_account_again_and_dry_run_checks_every_target() {
    let org = Org::start().await;
    let (out, doc) = org.json(&["backup", "--account", ACCOUNTS[0]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let regions: BTreeSet<String> = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| format!("{} {}", text(t, "account_id"), text(t, "region")))
        .collect();
    assert_eq!(
        regions,
        REGIONS
            .iter()
            .map(|r| format!("{} {r}", ACCOUNTS[0]))
            .collect::<BTreeSet<_>>()
    );

    let snapshot_of = |region: &str| {
        doc["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| text(t, "region") == region)
            .map(|t| text(&t["snapshot"], "snapshot_id"))
            .expect("a snapshot per region")
    };

    // Restore picks its source among the config's targets, never one of them silently.
    let out = org.run(&["restore", "latest", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--account"), "{}", stderr(&out));
    let out = org
        .run(&["restore", "latest", "--dry-run", "--account", ACCOUNTS[0]])
        .await;
    assert_eq!(out.status.code(), Some(3), "two regions: which one? {}", stderr(&out));
    for region in REGIONS {
        let (out, plan) = org
            .json(&[
                "restore",
                "latest",
                "--dry-run",
                "--account",
                ACCOUNTS[0],
                "--region",
                region,
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(text(&plan, "snapshot_id"), snapshot_of(region), "latest of {region}");
        let target = &plan["plan"]["target"];
        assert_eq!(
            (text(target, "account_id"), text(target, "region")),
            (ACCOUNTS[0].to_string(), region.to_string())
        );
    }

    // A command of one account says so instead of picking one.
    let out = org.run(&["import-legacy", "--date", "2026-12-01"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("works on one account"), "{}", stderr(&out));

    let out = org.run(&["backup", "--account", "999999999999"]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "an account the config does not list is a usage error"
    );
    assert!(
        stderr(&out).contains("111111111111 us-east-1"),
        "it names the targets: {}",
        stderr(&out)
    );

    let (out, dry) = org.json(&["backup", "--dry-run"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the denied account fails its checks: {}",
        stderr(&out)
    );
    let targets = dry["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 12);
    for t in targets {
        let checks = t["checks"].as_array().expect("checks");
        let role = checks.iter().find(|c| c["check"] == "role").expect("a role check");
        assert_eq!(role["ok"], true, "{t:#}");
        let all_ok = checks.iter().all(|c| c["ok"] == true);
        assert_eq!(all_ok, text(t, "account_id") != DENIED, "{t:#}");
    }
    // Nothing was written by the dry run: still the two snapshots of the first run.
    let (_, listed) = org.json(&["snapshots"]).await;
    assert_eq!(listed["snapshots"].as_array().map(Vec::len), Some(2));
}

/// The config file errors of the new keys name the key and its line.
#[test]
fn account_lists_are_checked_like_every_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "aws:\n  region: us-east-1\naccounts:\n  - account_id: \"111111111111\"\n  - account_id: \"222222222222\"\n    role_arn: arn:aws:iam::111111111111:role/R\n",
            "accounts[1].role_arn",
            6,
        ),
        (
            "aws:\n  region: us-east-1\naccounts:\n  - account_id: \"111111111111\"\n  - account_id: \"111111111111\"\n",
            "accounts[1].account_id",
            5,
        ),
        ("aws:\n  region: us-east-1\n", "aws.account_id", 0),
    ];
    for (yaml, key, line) in cases {
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, yaml).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qsbackup"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--config"])
            .arg(Path::new(&path))
            .args(["backup", "--dry-run"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(3), "{yaml}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(key), "{yaml}: names {key}: {err}");
        if line > 0 {
            assert!(err.contains(&format!("c.yaml:{line}:")), "{yaml}: line {line}: {err}");
        }
    }
}

/// The accounts of an organization on moto: every ACTIVE one, `exclude` left out, each member
/// read through `role_name`, the caller's own account (moto's 123456789012) with its own
/// credentials.
#[tokio::test]
async fn an_organization_backs_up_its_active_accounts_through_the_role_less_the_excluded() {
    use aws_sdk_organizations::types::{AccountStatus, OrganizationFeatureSet};
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(moto())
        .load()
        .await;
    let orgs = aws_sdk_organizations::Client::new(&sdk);
    // One moto serves the whole suite: the organization may exist from an earlier run.
    if orgs.describe_organization().send().await.is_err() {
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("create organization");
    }
    let suffix = std::process::id();
    let (kept, left_out) = (format!("qsbackup-kept-{suffix}"), format!("qsbackup-excluded-{suffix}"));
    for name in [&kept, &left_out] {
        orgs.create_account()
            .account_name(name.as_str())
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("create account");
    }
    let mut active = Vec::new();
    let mut excluded = String::new();
    let mut pages = orgs.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        for a in page.expect("list accounts").accounts.unwrap_or_default() {
            #[allow(deprecated)]
            let is_active = a.status == Some(AccountStatus::Active);
            let id = a.id.clone().unwrap_or_default();
            if a.name.as_deref() == Some(left_out.as_str()) {
                excluded = id.clone();
            }
            if is_active {
                active.push(id);
            }
        }
    }
    assert!(active.len() >= 3, "{active:?}");
    let management = "123456789012";
    assert!(
        active.iter().any(|a| a == management),
        "moto's own account manages it: {active:?}"
    );

    let emu = qs_emulator::start(EmulatorOptions {
        profiles: vec![Profile::Small; active.len()],
        accounts: active.clone(),
        region: REGIONS[0].into(),
        identity_region: REGIONS[0].into(),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("org.yaml");
    std::fs::write(
        &config,
        format!(
            "aws:\n  region: {}\nrepository: \"{}\"\nbackup:\n  acknowledged: [{ACKNOWLEDGED}]\n  max_concurrent_accounts: 8\n\
             organization:\n  role_name: {ROLE}\n  exclude: [\"{excluded}\"]\n",
            REGIONS[0],
            dir.path().join("repo").display()
        ),
    )
    .expect("config");
    let org = Org { emu, dir, config };
    let (out, doc) = org.json(&["backup"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let targets = doc["targets"].as_array().expect("targets");
    let backed_up: BTreeSet<String> = targets.iter().map(|t| text(t, "account_id")).collect();
    let expected: BTreeSet<String> = active.iter().filter(|a| **a != excluded).cloned().collect();
    assert_eq!(backed_up, expected, "every ACTIVE account but the excluded one");
    for t in targets {
        let account = text(t, "account_id");
        let caller = text(&t["snapshot"], "caller_arn");
        if account == management {
            assert!(t["role_arn"].is_null(), "{t:#}");
            assert!(!caller.contains("assumed-role"), "its own credentials: {caller}");
        } else {
            assert_eq!(text(t, "role_arn"), format!("arn:aws:iam::{account}:role/{ROLE}"));
            assert!(caller.contains(&format!(":{account}:assumed-role/{ROLE}/")), "{caller}");
        }
    }
}
