//! `qsbackup iam-policy` grants what a real backup calls and nothing beyond its resources: a
//! full backup runs through the binary against the emulator (QuickSight) and moto (S3 and
//! DynamoDB, with its request recorder on); every QuickSight operation the emulator counted and
//! every S3 and DynamoDB request moto recorded must be allowed by the printed policy, judged by a
//! small IAM evaluator (action and resource wildcards, the two condition keys the policy uses).

mod support;

use qs_emulator::{EmulatorOptions, Profile};
use serde_json::Value;
use support::{create_bucket, emulator_stats, moto_endpoint, qsbackup, run, stdout, write_file};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// `*` matches any run of characters, `?` one character (IAM's wildcards).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) && p[pi] != '*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// One request as IAM sees it.
#[derive(Debug)]
struct Request {
    action: String,
    resource: String,
    /// Condition context: `s3:prefix`, `aws:RequestedRegion`.
    context: Vec<(String, String)>,
}

fn conditions_hold(statement: &Value, r: &Request) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(op, keys)| {
        keys.as_object().into_iter().flatten().all(|(key, wanted)| {
            let Some((_, have)) = r.context.iter().find(|(k, _)| k == key) else {
                return false;
            };
            let wanted = strings(wanted);
            match op.as_str() {
                "StringEquals" => wanted.iter().any(|w| w == have),
                "StringLike" => wanted.iter().any(|w| glob(w, have)),
                other => panic!("the evaluator does not know condition operator {other}"),
            }
        })
    })
}

fn allowed(policy: &Value, r: &Request) -> bool {
    policy["Statement"].as_array().into_iter().flatten().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| glob(a, &r.action))
            && strings(&s["Resource"]).iter().any(|res| glob(res, &r.resource))
            && conditions_hold(s, r)
    })
}

fn header<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn body(entry: &Value) -> Vec<u8> {
    let text = entry["body"].as_str().unwrap_or_default();
    if entry["body_encoded"].as_bool().unwrap_or(false) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The IAM view of one S3 request of `bucket` recorded by moto; `None` for other buckets.
fn s3_request(entry: &Value, bucket: &str) -> Option<Request> {
    let url = url::Url::parse(entry["url"].as_str()?).ok()?;
    let path = url.path().trim_start_matches('/');
    let (b, key) = path.split_once('/').unwrap_or((path, ""));
    if b != bucket {
        return None;
    }
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let has = |k: &str| query.iter().any(|(q, _)| q == k);
    let method = entry["method"].as_str()?;
    let key = decode(key);
    let object = format!("arn:aws:s3:::{bucket}/{key}");
    let (action, resource, mut context) = match (method, key.is_empty()) {
        ("GET", true) => {
            let prefix = query
                .iter()
                .find(|(k, _)| k == "prefix")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (
                "s3:ListBucket",
                format!("arn:aws:s3:::{bucket}"),
                vec![("s3:prefix".to_string(), prefix)],
            )
        }
        ("POST", true) if has("delete") => {
            // A multi-object delete is authorised per key as DeleteObject.
            let xml = String::from_utf8_lossy(&body(entry)).into_owned();
            let first = xml
                .split("<Key>")
                .nth(1)
                .and_then(|s| s.split("</Key>").next())
                .unwrap_or("");
            ("s3:DeleteObject", format!("arn:aws:s3:::{bucket}/{first}"), Vec::new())
        }
        ("GET" | "HEAD", false) => ("s3:GetObject", object, Vec::new()),
        ("DELETE", false) if has("uploadId") => ("s3:AbortMultipartUpload", object, Vec::new()),
        ("DELETE", false) => ("s3:DeleteObject", object, Vec::new()),
        ("PUT" | "POST", false) => ("s3:PutObject", object, Vec::new()),
        (m, _) => panic!("the evaluator does not map S3 request {m} {url}"),
    };
    context.push(("aws:RequestedRegion".into(), REGION.into()));
    Some(Request {
        action: action.into(),
        resource,
        context,
    })
}

/// The IAM view of one DynamoDB request on a table named `prefix...`; `None` for other tables.
fn dynamodb_request(entry: &Value, prefix: &str) -> Option<Request> {
    let target = header(entry, "X-Amz-Target")?;
    let operation = target.strip_prefix("DynamoDB_20120810.")?;
    let doc: Value = serde_json::from_slice(&body(entry)).ok()?;
    let table = match doc["TableName"].as_str() {
        Some(t) => t.to_string(),
        // BatchWriteItem names its tables as the keys of RequestItems.
        None => doc["RequestItems"].as_object()?.keys().next()?.clone(),
    };
    if !table.starts_with(prefix) {
        return None;
    }
    Some(Request {
        action: format!("dynamodb:{operation}"),
        resource: format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"),
        context: vec![("aws:RequestedRegion".into(), REGION.into())],
    })
}

/// moto's recorder appends each request as `json` then `\n` in two writes, so a large record
/// whose newline comes late can share its line with another request's record (the file then has
/// fewer lines than records). Read as a stream of concatenated JSON values, which is what the
/// file is whatever the interleaving of whole records.
fn recorded_requests(recording: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(recording)
        .into_iter::<Value>()
        .enumerate()
        .map(|(i, entry)| entry.unwrap_or_else(|e| panic!("moto recording, record {i}: {e}")))
        .collect()
}

#[test]
fn the_recording_reader_separates_records_that_share_a_line() {
    let a = r#"{"method": "PUT", "url": "http://h/b/k1", "body": "eA==", "body_encoded": true}"#;
    let b = r#"{"method": "GET", "url": "http://h/b?prefix=x", "body": "", "body_encoded": false}"#;
    // What two concurrent requests wrote: a's JSON, b's whole record, then a's newline.
    let text = format!("{a}{b}\n\n{b}\n");
    let records = recorded_requests(&text);
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["url"], "http://h/b/k1");
    assert_eq!(records[1]["method"], "GET");
    assert!(recorded_requests("").is_empty());
    assert!(recorded_requests("\n\n").is_empty());
}

async fn recorder(action: &str) -> String {
    let client = reqwest::Client::new();
    let url = format!("{}/moto-api/recorder/{action}", moto_endpoint());
    let resp = if action.starts_with("download") {
        client.get(url).send().await
    } else {
        client.post(url).send().await
    }
    .expect("moto recorder");
    assert!(resp.status().is_success(), "moto recorder {action}: {}", resp.status());
    resp.text().await.expect("recorder body")
}

/// Every resource a statement names belongs to this account, bucket or tables; `*` only where
/// the Sid says IAM grants the actions on `*` alone.
fn assert_scoped(policy: &Value, bucket: &str, tables: &str) {
    for s in policy["Statement"].as_array().expect("statements") {
        let sid = s["Sid"].as_str().unwrap_or_default();
        for a in strings(&s["Action"]) {
            assert!(
                !a.ends_with(":*") && a != "*",
                "{sid} grants every action of a service: {a}"
            );
        }
        for r in strings(&s["Resource"]) {
            if r == "*" {
                assert!(sid.contains("OnlyOnStar"), "{sid} grants on * without saying why");
                assert!(s.get("Condition").is_some(), "{sid} grants on * without a condition");
                continue;
            }
            let ok = r.starts_with(&format!("arn:aws:quicksight:{REGION}:{ACCOUNT}:"))
                || r == format!("arn:aws:s3:::{bucket}")
                || r.starts_with(&format!("arn:aws:s3:::{bucket}/qsb/"))
                || r.starts_with(&format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{tables}"));
            assert!(
                ok,
                "{sid} grants on {r}, beyond this config's account, bucket, prefix and tables"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_policy_allows_every_call_of_a_backup_and_nothing_beyond_its_resources() {
    let _ = moto_endpoint();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 5,
        accounts: vec![ACCOUNT.into()],
        ..Default::default()
    })
    .await
    .expect("emulator");
    let endpoint = emu.endpoint();
    let bucket = create_bucket("iam-policy").await;
    // Unique like the bucket (pid and a random part), so no other run's tables match the prefix.
    let tables = format!("iamt{}", bucket.trim_start_matches("iam-policy-"));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_file(
        dir.path(),
        "config.yaml",
        &format!(
            "aws:\n  account_id: \"{ACCOUNT}\"\n  region: {REGION}\ns3:\n  bucket_name: {bucket}\n  prefix: qsb\n\
             dynamodb:\n  users_table_name: {tables}-users\n  groups_table_name: {tables}-groups\n  users_group_table_name: {tables}-members\n\
             lock:\n  dynamodb_table: {tables}-lock\nbackup:\n  job_timeout_seconds: 120\n"
        ),
    );
    let out = run(qsbackup(&endpoint, REGION)
        .arg("--config")
        .arg(&config)
        .arg("iam-policy"));
    assert!(out.status.success(), "iam-policy failed");
    let policy: Value = serde_json::from_str(&stdout(&out)).expect("the policy is one JSON document");
    assert_scoped(&policy, &bucket, &tables);

    reqwest::Client::new()
        .post(format!("{endpoint}/_emulator/stats/reset"))
        .send()
        .await
        .expect("reset stats");
    // Only this test uses the recorder; the reset keeps records of earlier runs against the same
    // server out. Requests of tests running alongside are recorded too and left out below by
    // bucket and table names unique to this run.
    recorder("reset-recording").await;
    recorder("start-recording").await;
    let backup = run(qsbackup(&endpoint, REGION)
        .arg("--config")
        .arg(&config)
        .args(["--no-progress", "backup"]));
    let recording = recorder("download-recording").await;
    recorder("stop-recording").await;
    assert!(
        matches!(backup.status.code(), Some(0) | Some(2)),
        "backup failed: {:?}",
        backup.status
    );

    let mut requests = Vec::new();
    let stats = emulator_stats(&endpoint, ACCOUNT).await;
    let calls = stats["calls"].as_object().expect("calls");
    assert!(
        calls.contains_key("StartAssetBundleExportJob"),
        "no export in {calls:?}"
    );
    for op in calls.keys() {
        requests.push(Request {
            action: format!("quicksight:{op}"),
            resource: format!("arn:aws:quicksight:{REGION}:{ACCOUNT}:resource/any"),
            context: vec![("aws:RequestedRegion".into(), REGION.into())],
        });
    }
    let (mut s3, mut dynamodb) = (0, 0);
    for entry in recorded_requests(&recording) {
        if let Some(r) = s3_request(&entry, &bucket) {
            s3 += 1;
            requests.push(r);
        } else if let Some(r) = dynamodb_request(&entry, &format!("{tables}-")) {
            dynamodb += 1;
            requests.push(r);
        }
    }
    assert!(s3 > 10, "moto recorded only {s3} requests to {bucket}");
    assert!(
        dynamodb > 3,
        "moto recorded only {dynamodb} DynamoDB requests on {tables}-*"
    );
    let denied: Vec<&Request> = requests.iter().filter(|r| !allowed(&policy, r)).collect();
    assert!(
        denied.is_empty(),
        "the policy denies calls the backup made: {denied:#?}"
    );

    // The evaluator itself denies what the policy does not name.
    for (action, resource) in [
        ("s3:PutObject", format!("arn:aws:s3:::{bucket}/elsewhere/x")),
        ("s3:PutObject", "arn:aws:s3:::another-bucket/qsb/x".to_string()),
        (
            "dynamodb:PutItem",
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other"),
        ),
        (
            "quicksight:DeleteDashboard",
            format!("arn:aws:quicksight:{REGION}:{ACCOUNT}:dashboard/d"),
        ),
        (
            "quicksight:ListDashboards",
            format!("arn:aws:quicksight:eu-west-1:{ACCOUNT}:dashboard/d"),
        ),
    ] {
        let r = Request {
            action: action.into(),
            resource,
            context: vec![("aws:RequestedRegion".into(), REGION.into())],
        };
        assert!(!allowed(&policy, &r), "the policy allows {r:?}");
    }
    let list_elsewhere = Request {
        action: "s3:ListBucket".into(),
        resource: format!("arn:aws:s3:::{bucket}"),
        context: vec![("s3:prefix".into(), "other/".into())],
    };
    assert!(
        !allowed(&policy, &list_elsewhere),
        "listing outside the prefix is allowed"
    );
}
