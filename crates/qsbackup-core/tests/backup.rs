//! The asset backup against the emulated QuickSight: a medium account into a moto S3 bucket,
//! the same snapshot under injected faults, and the API call and concurrency figures from
//! `/_emulator/stats`. Endpoints and credentials are passed explicitly; no global env is touched.

use aws_credential_types::Credentials;
use qs_emulator::{EmulatorHandle, EmulatorOptions, FaultPlan, Profile};
use qsbackup_core::asset::AssetType;
use qsbackup_core::aws::{AwsContext, AwsOptions, RetryPolicy};
use qsbackup_core::backup::export::Tuning;
use qsbackup_core::backup::{dry_run, run_backup, BackupOptions, BackupOutcome};
use qsbackup_core::config::{load_str, Config, ConfigFormat};
use qsbackup_core::events::NoProgress;
use qsbackup_core::repository::manifest::{FailReason, SnapshotManifest, SnapshotStatus};
use qsbackup_core::repository::{Repository, RepositoryOptions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ACCOUNT: &str = "123456789012";

async fn emulator(profile: Profile, seed: u64, faults: FaultPlan) -> EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile,
        seed,
        accounts: vec![ACCOUNT.into()],
        faults,
        ..Default::default()
    })
    .await
    .expect("the emulator starts")
}

fn config(extra_backup: &str) -> Config {
    let text = format!(
        "aws:\n  region: us-east-1\n  account_id: \"{ACCOUNT}\"\nbackup:\n  job_timeout_seconds: 120\n{extra_backup}"
    );
    load_str(&text, ConfigFormat::Yaml, Path::new("test.yaml")).expect("test config")
}

async fn aws(emu: &EmulatorHandle, config: &Config) -> AwsContext {
    let options = AwsOptions {
        quicksight_endpoint: Some(emu.endpoint()),
        credentials: Some(Credentials::new("AKIDTEST", "secret", None, None, "tests")),
        retry: RetryPolicy::fast(),
        ..Default::default()
    };
    AwsContext::connect(&config.aws, &options).await.expect("AWS context")
}

fn options() -> BackupOptions {
    BackupOptions {
        tuning: Tuning::fast(),
        ..Default::default()
    }
}

fn moto_endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` \
             and export MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

async fn admin(emu: &EmulatorHandle, path: &str) -> Value {
    let url = format!("{}{path}", emu.endpoint());
    let resp = reqwest::get(url).await.expect("admin call");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    serde_json::from_str(&resp.text().await.expect("admin body")).expect("admin JSON")
}

/// Every member `path -> sha256` over all bundles, plus the skipped and failed ARNs.
fn fingerprint(m: &SnapshotManifest) -> (BTreeMap<String, String>, BTreeSet<String>, BTreeSet<String>) {
    let members = m
        .bundles
        .iter()
        .flat_map(|b| b.members.iter().map(|x| (x.path.clone(), x.sha256.clone())))
        .collect();
    let skipped = m.skipped.iter().map(|s| s.arn.clone()).collect();
    let failed = m.failed.iter().map(|f| f.arn.clone()).collect();
    (members, skipped, failed)
}

/// Checks that each asset of the account appears exactly once: stored, skipped or failed.
async fn assert_accounted_for(emu: &EmulatorHandle, m: &SnapshotManifest) {
    let summary = admin(emu, &format!("/_emulator/accounts/{ACCOUNT}/summary")).await;
    let mut seen: BTreeMap<AssetType, BTreeSet<String>> = BTreeMap::new();
    let all = m
        .bundles
        .iter()
        .flat_map(|b| b.requested_arns.iter().map(move |a| (b.asset_type, a)))
        .chain(m.skipped.iter().map(|s| (s.asset_type, &s.arn)))
        .chain(m.failed.iter().map(|f| (f.asset_type, &f.arn)));
    for (t, arn) in all {
        assert!(seen.entry(t).or_default().insert(arn.clone()), "{arn} recorded twice");
    }
    for t in AssetType::ALL {
        let expected = summary["assets"][t.as_str()].as_u64().unwrap_or(0) as usize;
        let got = seen.get(&t).map_or(0, |s| s.len());
        assert_eq!(got, expected, "{t}: stored + skipped + failed vs. the account");
    }
}

/// Exports `arn` alone with its dependencies, straight through the SDK: did QuickSight take it?
async fn emulator_exports_alone(qs: &aws_sdk_quicksight::Client, arn: &str, n: usize) -> bool {
    let job_id = format!("probe-{n}");
    let started = qs
        .start_asset_bundle_export_job()
        .aws_account_id(ACCOUNT)
        .asset_bundle_export_job_id(&job_id)
        .resource_arns(arn)
        .export_format(aws_sdk_quicksight::types::AssetBundleExportFormat::QuicksightJson)
        .include_all_dependencies(true)
        .send()
        .await;
    if started.is_err() {
        return false;
    }
    loop {
        let d = qs
            .describe_asset_bundle_export_job()
            .aws_account_id(ACCOUNT)
            .asset_bundle_export_job_id(&job_id)
            .send()
            .await
            .expect("describe probe job");
        match d.job_status().map(|s| s.as_str()) {
            Some("SUCCESSFUL") => return true,
            Some("FAILED") => return false,
            _ => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
}

async fn create_bucket(endpoint: &str, bucket: &str) {
    let resp = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("create bucket");
    assert!(resp.status().is_success(), "create bucket: {}", resp.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn medium_account_into_a_moto_bucket_accounts_for_every_asset() {
    let moto = moto_endpoint();
    let emu = emulator(Profile::Medium, 11, FaultPlan::default()).await;
    let config = config("");
    let aws = aws(&emu, &config).await;
    let bucket = format!("qsb-medium-{}", hex::encode(rand::random::<[u8; 4]>()));
    create_bucket(&moto, &bucket).await;
    let repo = Repository::open(
        &format!("s3://{bucket}/quicksight-backups"),
        &RepositoryOptions {
            s3_endpoint: Some(moto.clone()),
            aws: Some(aws.home.clone()),
        },
    )
    .await
    .expect("open the S3 repository");

    let outcome: BackupOutcome = run_backup(&config, &aws, &repo, &NoProgress, &options())
        .await
        .expect("the backup runs");
    let m = &outcome.manifest;
    assert_accounted_for(&emu, m).await;
    assert_eq!(m.status, SnapshotStatus::Partial, "definition errors make it partial");

    // Every stored bundle is in the bucket as recorded, and holds its requested assets.
    for b in &m.bundles {
        let info = repo.head(&b.key).await.unwrap().expect("bundle stored");
        assert_eq!(info.size, b.size, "{}", b.key);
        assert!(b.key.ends_with(".zip") && b.key.contains(&format!("/{}/", b.asset_type)));
        for arn in &b.requested_arns {
            let id = arn.rsplit('/').next().unwrap();
            let path = format!("{}/{id}.json", b.asset_type);
            assert!(b.members.iter().any(|x| x.path == path), "{path} missing in {}", b.key);
        }
    }
    assert!(repo.head(&outcome.manifest_key).await.unwrap().is_some());
    assert_eq!(SnapshotManifest::load(&repo, &m.id).await.unwrap(), *m);

    // The dashboard with a definition error failed with the service's message; the other
    // dashboards of its planned bundle (the first 50) are stored.
    let broken = format!("arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/dashboard-0005");
    let f = m
        .failed
        .iter()
        .find(|f| f.arn == broken)
        .expect("dashboard-0005 failed");
    assert_eq!(f.reason, FailReason::ExportJobFailed);
    assert!(f.message.contains("cannot be exported"), "{}", f.message);
    let stored: BTreeSet<&String> = m.bundles.iter().flat_map(|b| &b.requested_arns).collect();
    let skipped_or_failed: BTreeSet<&String> = m
        .skipped
        .iter()
        .map(|s| &s.arn)
        .chain(m.failed.iter().map(|f| &f.arn))
        .collect();
    for i in 0..50 {
        let arn = format!("arn:aws:quicksight:us-east-1:{ACCOUNT}:dashboard/dashboard-{i:04}");
        assert!(stored.contains(&arn) || skipped_or_failed.contains(&arn), "{arn}");
    }
    assert!(stored.len() > 800, "most of the account is stored: {}", stored.len());

    // Nothing was skipped that QuickSight would have exported on its own.
    for (n, s) in m.skipped.iter().enumerate() {
        assert!(
            !emulator_exports_alone(&aws.quicksight, &s.arn, n).await,
            "{} was skipped ({:?}) but exports",
            s.arn,
            s.reason
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_do_not_change_what_the_snapshot_holds() {
    let faults: FaultPlan = serde_json::from_value(serde_json::json!({
        "seed": 7,
        "throttle": {"StartAssetBundleExportJob": 0.3, "DescribeAssetBundleExportJob": 0.3},
        "server_error": {"*": 0.05},
        "drop_download": 0.1,
        "url_ttl_seconds": 2
    }))
    .unwrap();
    // One asset per bundle: many jobs and downloads, so every kind of fault shows up.
    let config = config("  max_assets_per_bundle: 1\n");
    let mut runs = Vec::new();
    for plan in [FaultPlan::default(), faults] {
        let emu = emulator(Profile::Small, 5, plan).await;
        let aws = aws(&emu, &config).await;
        let repo = Repository::open(
            &format!("memory://faults-{}", rand::random::<u64>()),
            &Default::default(),
        )
        .await
        .unwrap();
        let outcome = run_backup(&config, &aws, &repo, &NoProgress, &options())
            .await
            .expect("backup");
        let stats = admin(&emu, &format!("/_emulator/stats?account={ACCOUNT}")).await;
        runs.push((fingerprint(&outcome.manifest), stats));
    }
    let (clean, clean_stats) = &runs[0];
    let (faulty, faulty_stats) = &runs[1];
    assert!(!clean.0.is_empty());
    assert_eq!(clean.0, faulty.0, "same members with the same checksums");
    assert_eq!(clean.1, faulty.1, "same skipped assets");
    assert_eq!(clean.2, faulty.2, "same failed assets");
    assert_eq!(clean_stats["downloads_dropped"], 0);
    // The faults did happen.
    let throttled: u64 = faulty_stats["throttled"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(throttled > 0, "{faulty_stats}");
    assert!(
        faulty_stats["downloads_dropped"].as_u64().unwrap() > 0,
        "{faulty_stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_asset_is_described_once_and_jobs_reach_the_configured_concurrency() {
    let plan: FaultPlan = serde_json::from_value(serde_json::json!({"job_delay_ms": 150})).unwrap();
    let emu = emulator(Profile::Small, 3, plan).await;
    let config = config("  max_assets_per_bundle: 2\n  max_concurrent_jobs: 3\n");
    let aws = aws(&emu, &config).await;

    // A dry run starts no job and describes what discovery needs.
    let planned = dry_run(&config, &aws, &NoProgress, &options()).await.unwrap();
    assert!(planned.bundles.bundles.len() > 6);
    let stats = admin(&emu, &format!("/_emulator/stats?account={ACCOUNT}")).await;
    assert_eq!(stats["export_jobs_started"], 0);
    reqwest::Client::new()
        .post(format!("{}/_emulator/stats/reset", emu.endpoint()))
        .send()
        .await
        .unwrap();

    let repo = Repository::open(
        &format!("memory://stats-{}", rand::random::<u64>()),
        &Default::default(),
    )
    .await
    .unwrap();
    let outcome = run_backup(&config, &aws, &repo, &NoProgress, &options()).await.unwrap();
    let stats = admin(&emu, &format!("/_emulator/stats?account={ACCOUNT}")).await;
    let calls = &stats["calls"];
    let summary = admin(&emu, &format!("/_emulator/accounts/{ACCOUNT}/summary")).await;
    for (op, t) in [
        ("DescribeDataSet", "dataset"),
        ("DescribeAnalysis", "analysis"),
        ("DescribeDashboard", "dashboard"),
    ] {
        assert_eq!(calls[op], summary["assets"][t], "{op}: one describe per {t}");
    }
    for op in [
        "DescribeDataSource",
        "DescribeTheme",
        "DescribeFolder",
        "DescribeVPCConnection",
    ] {
        assert!(calls[op].is_null() || calls[op] == 0, "{op} is never needed: {calls}");
    }
    assert_eq!(stats["peak_concurrent_export_jobs"], 3, "{stats}");
    assert!(outcome.manifest.bundles.len() > 6);
}

/// An embedder may build a config in code and skip the file checks: a job timeout too large for
/// the clock must not panic the run (it once did, "overflow when adding duration to instant",
/// leaving the lock behind); the engine treats it as "no timeout worth the name".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_timeout_set_in_code_beyond_the_clock_does_not_panic_the_backup() {
    let emu = emulator(Profile::Small, 11, FaultPlan::default()).await;
    let mut config = config("");
    config.backup.job_timeout_seconds = u64::MAX;
    let aws = aws(&emu, &config).await;
    let repo = Repository::open(
        &format!("memory://huge-timeout-{}", rand::random::<u64>()),
        &Default::default(),
    )
    .await
    .unwrap();
    let outcome = run_backup(&config, &aws, &repo, &NoProgress, &options()).await.unwrap();
    assert!(!outcome.manifest.bundles.is_empty(), "the backup stored bundles");
    assert!(
        matches!(
            outcome.manifest.status,
            SnapshotStatus::Complete | SnapshotStatus::Partial
        ),
        "{:?}",
        outcome.manifest.status
    );
    // The lock was released: the exclusive lock can be taken at once. (A second backup could
    // start within the same second and would then find its bundle keys taken.)
    let lock = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &repo,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("the backup released its lock");
    lock.release().await.expect("release");
}

/// Every bundle's events tell one story (queued, at most one start, exactly one end), so a
/// display counting them adds up: running never exceeds the job limit, and the failures and
/// stored bundles counted are the manifest's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bundle_events_add_up_to_the_snapshot() {
    use qsbackup_core::events::{CollectingSink, Event};
    use std::collections::HashMap;
    let plan: FaultPlan = serde_json::from_value(serde_json::json!({"job_delay_ms": 30})).unwrap();
    let emu = emulator(Profile::Small, 4, plan).await;
    let config = config("  max_assets_per_bundle: 4\n  max_concurrent_jobs: 2\n");
    let aws = aws(&emu, &config).await;
    let repo = Repository::open(
        &format!("memory://events-{}", rand::random::<u64>()),
        &Default::default(),
    )
    .await
    .unwrap();
    let sink = CollectingSink::default();
    let outcome = run_backup(&config, &aws, &repo, &sink, &options()).await.unwrap();
    let m = &outcome.manifest;
    assert!(!m.failed.is_empty(), "the small account has failing assets");

    #[derive(Default, Debug)]
    struct Story {
        queued: usize,
        started: usize,
        ends: Vec<&'static str>,
    }
    let mut stories: HashMap<String, Story> = HashMap::new();
    let (mut slots, mut peak, mut assets_failed, mut splits) = (0i64, 0i64, 0usize, 0usize);
    let mut holding: std::collections::HashSet<String> = Default::default();
    for e in sink.events() {
        let mut end = |id: &str, what: &'static str, holding: &mut std::collections::HashSet<String>| {
            stories.entry(id.to_string()).or_default().ends.push(what);
            if holding.remove(id) {
                slots -= 1;
            }
        };
        match &e {
            Event::BundleQueued { job_id, .. } => stories.entry(job_id.clone()).or_default().queued += 1,
            Event::BundleStarted { job_id, .. } => {
                stories.entry(job_id.clone()).or_default().started += 1;
                holding.insert(job_id.clone());
                slots += 1;
                peak = peak.max(slots);
            }
            Event::BundleExported { job_id, .. } if holding.remove(job_id) => slots -= 1,
            Event::BundleStored { job_id, .. } => end(job_id, "stored", &mut holding),
            Event::BundleFailed { job_id, .. } => end(job_id, "failed", &mut holding),
            Event::BundleSplit { job_id, .. } => {
                splits += 1;
                end(job_id, "split", &mut holding)
            }
            Event::BundleAbandoned { job_id, .. } => end(job_id, "abandoned", &mut holding),
            Event::AssetFailed { .. } => assets_failed += 1,
            _ => {}
        }
    }
    assert!(splits > 0, "failing assets were isolated by splitting");
    for (id, s) in &stories {
        assert_eq!(s.queued, 1, "{id}: {s:?}");
        assert!(s.started <= 1, "{id}: {s:?}");
        assert_eq!(s.ends.len(), 1, "{id} has one end: {s:?}");
    }
    assert!(peak <= 2, "at most max_concurrent_jobs running: {peak}");
    let stored = stories.values().filter(|s| s.ends == ["stored"]).count();
    assert_eq!(stored, m.bundles.len());
    assert_eq!(assets_failed, m.failed.len());
}
