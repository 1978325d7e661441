//! Import bundles over the inline limit go through the S3 repository: staged under
//! `restore-staging/`, imported by `S3Uri` (the emulator reads them from moto), removed after
//! their job. The inline limit is lowered here so that a small account needs it; under
//! `--failure-action rollback` the whole restore is still one job.

use aws_credential_types::Credentials;
use qs_emulator::{EmulatorOptions, Profile};
use qsbackup_core::aws::{AwsContext, AwsOptions, RetryPolicy};
use qsbackup_core::backup::export::Tuning;
use qsbackup_core::backup::{run_backup, BackupOptions};
use qsbackup_core::config::{load_str, ConfigFormat};
use qsbackup_core::events::NoProgress;
use qsbackup_core::repository::{Repository, RepositoryOptions};
use qsbackup_core::restore::bundle::{BundleSource, JobLimits};
use qsbackup_core::restore::{plan_restore, run_restore, FailureAction, RestoreOptions};
use std::path::Path;
use std::time::Duration;

const SOURCE: &str = "123456789012";
const TARGET: &str = "210987654321";

fn moto() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` and export \
             MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

async fn aws(endpoint: &str, account: &str) -> AwsContext {
    let text = format!("aws:\n  region: us-east-1\n  account_id: \"{account}\"\n");
    let config = load_str(&text, ConfigFormat::Yaml, Path::new("t.yaml")).expect("config");
    let options = AwsOptions {
        quicksight_endpoint: Some(endpoint.to_string()),
        credentials: Some(Credentials::new("AKIDTEST", "secret", None, None, "tests")),
        retry: RetryPolicy::fast(),
        ..Default::default()
    };
    AwsContext::connect(&config.aws, &options).await.expect("AWS context")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bundles_are_staged_in_s3_and_imported_by_uri() {
    let moto = moto();
    let emu = qs_emulator::start(EmulatorOptions {
        profile: Profile::Small,
        seed: 21,
        accounts: vec![SOURCE.into(), TARGET.into()],
        s3_endpoint: Some(moto.clone()),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let source = aws(&emu.endpoint(), SOURCE).await;
    let target = aws(&emu.endpoint(), TARGET).await;
    let bucket = format!("qsb-staging-{}", std::process::id());
    let resp = reqwest::Client::new()
        .put(format!("{moto}/{bucket}"))
        .send()
        .await
        .expect("bucket");
    assert!(resp.status().is_success());
    let repo = Repository::open(
        &format!("s3://{bucket}/qs"),
        &RepositoryOptions {
            s3_endpoint: Some(moto.clone()),
            aws: Some(source.home.clone()),
        },
    )
    .await
    .expect("S3 repository");
    let config = load_str(
        &format!("aws:\n  region: us-east-1\n  account_id: \"{SOURCE}\"\n"),
        ConfigFormat::Yaml,
        Path::new("t.yaml"),
    )
    .expect("config");
    let backup = BackupOptions {
        tuning: Tuning::fast(),
        ..Default::default()
    };
    let manifest = run_backup(&config, &source, &repo, &NoProgress, &backup)
        .await
        .expect("backup")
        .manifest;

    for failure_action in [FailureAction::DoNothing, FailureAction::Rollback] {
        let options = RestoreOptions {
            failure_action,
            identities: false,
            tuning: Tuning::fast(),
            job_timeout: Duration::from_secs(60),
            limits: JobLimits {
                max_inline_bytes: 500,
                ..Default::default()
            },
            ..Default::default()
        };
        let plan = plan_restore(&repo, &manifest, &target, &options, &NoProgress)
            .await
            .expect("plan");
        assert!(
            plan.jobs.iter().any(|j| j.source == BundleSource::S3),
            "{:?}",
            plan.jobs
        );
        if failure_action == FailureAction::Rollback {
            assert_eq!(plan.jobs.len(), 1, "one job for all or nothing");
        }
        let lock = qsbackup_core::repository::lock::RepositoryLock::shared(
            &repo,
            qsbackup_core::repository::lock::LockPurpose::Restore,
            std::time::Duration::ZERO,
        )
        .await
        .expect("lock");
        let report = run_restore(&lock, &plan, &target, &options, &NoProgress)
            .await
            .expect("restore");
        lock.release().await.expect("release");
        assert!(report.succeeded(), "{:#?}", report.jobs);
        assert!(report.jobs.iter().any(|j| j.source == BundleSource::S3));
        let left = repo.list("restore-staging/").await.expect("list");
        assert!(left.is_empty(), "staging objects left behind: {left:?}");
    }
}
