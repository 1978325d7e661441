//! `qsbackup cost` on the `medium` emulated account: the figures it prints follow the README's
//! formulas from the inputs it prints, the prices are printed and overridable, and the retention
//! rules count the snapshots kept as `forget` would.

mod support;

use qs_emulator::{EmulatorOptions, Profile};
use serde_json::Value;
use support::{qsbackup, run, stdout, write_file};

const ACCOUNT: &str = "123456789012";
const GIB: f64 = 1_073_741_824.0;

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: printed {a}, formula gives {b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_of_the_medium_account_follows_the_readme_formulas() {
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Medium,
        seed: 3,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let endpoint = emu.endpoint();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        dir.path(),
        "config.yaml",
        // An S3 repository and identity tables: every service the estimate prices is used.
        &format!(
            "aws:\n  account_id: \"{ACCOUNT}\"\n  region: us-east-1\ns3:\n  bucket_name: my-quicksight-backups\n\
             dynamodb:\n  users_table_name: qs-users\n  groups_table_name: qs-groups\n"
        ),
    );
    let out = run(qsbackup(&endpoint, "us-east-1").arg("--config").arg(&config).args([
        "--json",
        "cost",
        "--keep-daily",
        "7",
        "--keep-weekly",
        "4",
        "--price-s3-storage",
        "0.05",
    ]));
    assert!(out.status.success(), "cost failed");
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    let e = &doc["estimate"];
    let (i, p) = (&e["inputs"], &e["prices"]);
    assert!(
        doc["assets"].as_u64().unwrap_or(0) > 100,
        "medium account assets: {doc}"
    );
    assert!(f(i, "identity_items") > 100.0, "medium account identities: {i}");
    assert_eq!(f(p, "s3_storage_gb_month"), 0.05, "the price override is used");
    assert_eq!(f(p, "s3_put_per_1000"), 0.005, "default prices are printed");
    // 7 daily snapshots, then the newest of each of 4 weeks: the days of this week overlap.
    let retained = f(i, "retained_snapshots");
    assert!((9.0..=11.0).contains(&retained), "retained {retained}");
    close(
        f(i, "bundle_bytes"),
        doc["assets"].as_f64().unwrap_or(0.0) * 5120.0,
        "bundle bytes",
    );

    let runs = f(i, "runs_per_day") * 730.0 / 24.0;
    close(f(e, "runs_per_month"), runs, "runs per month");
    let stored = (f(i, "bundle_bytes") + f(i, "other_bytes")) * retained / GIB;
    close(f(e, "s3_stored_gb"), stored, "S3 GB");
    close(f(e, "s3_storage"), stored * f(p, "s3_storage_gb_month"), "S3 storage");
    let puts = f(i, "objects_per_run") * runs;
    let gets = f(i, "reads_per_run") * runs;
    close(
        f(e, "s3_requests"),
        puts / 1000.0 * f(p, "s3_put_per_1000") + gets / 1000.0 * f(p, "s3_get_per_1000"),
        "S3 requests",
    );
    let items = f(i, "identity_items");
    let item_bytes = f(i, "identity_item_bytes");
    let ddb_gb = items * (item_bytes + 100.0) * retained / GIB;
    close(
        f(e, "dynamodb_storage"),
        ddb_gb * f(p, "dynamodb_storage_gb_month"),
        "DynamoDB storage",
    );
    let wru = items * (item_bytes / 1024.0).ceil().max(1.0) * runs;
    close(f(e, "dynamodb_write_units"), wru, "DynamoDB write units");
    close(
        f(e, "dynamodb_writes"),
        wru / 1e6 * f(p, "dynamodb_write_per_million"),
        "DynamoDB writes",
    );
    close(
        f(e, "total"),
        f(e, "s3_storage") + f(e, "s3_requests") + f(e, "dynamodb_storage") + f(e, "dynamodb_writes"),
        "total",
    );

    // The human form prints the prices it used and the total.
    let text = run(qsbackup(&endpoint, "us-east-1")
        .arg("--config")
        .arg(&config)
        .arg("cost"));
    let text = stdout(&text);
    assert!(text.contains("S3 storage 0.023/GB-month"), "{text}");
    assert!(text.contains("keeps 30 snapshots"), "default retention: {text}");
    assert!(text.contains("Total"), "{text}");
}
