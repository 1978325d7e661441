//! The locks on real wire protocols (moto): the repository lock on S3, where conditional
//! create (`If-None-Match: *`) lets exactly one of many contenders win, and the DynamoDB lease.

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use qsbackup_core::repository::lock::{dynamodb, LockError, LockOptions, LockPurpose, ManualClock, RepositoryLock};
use qsbackup_core::repository::{Repository, RepositoryOptions};
use std::sync::Arc;
use std::time::Duration;

fn moto_endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` \
             and export MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

fn sdk(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut b = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "tests",
        )))
        .behavior_version(aws_config::BehaviorVersion::latest());
    if let Some(e) = endpoint {
        b = b.endpoint_url(e);
    }
    b.build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_exactly_one_of_many_contenders_takes_the_lock() {
    let moto = moto_endpoint();
    let bucket = format!("qsb-lock-{}", hex::encode(rand::random::<[u8; 4]>()));
    let created = reqwest::Client::new()
        .put(format!("{moto}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let repo = Repository::open(
        &format!("s3://{bucket}/backups"),
        &RepositoryOptions {
            s3_endpoint: Some(moto),
            aws: Some(sdk(None)),
        },
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { RepositoryLock::exclusive(&repo, LockPurpose::Prune, Duration::ZERO).await })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(g) => winners.push(g),
            Err(LockError::Held { holder, .. }) => assert_eq!(holder.pid, std::process::id()),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let winner = winners.pop().unwrap();
    winner.confirm().await.unwrap();
    winner.release().await.unwrap();
    let next = RepositoryLock::exclusive(&repo, LockPurpose::Prune, Duration::ZERO)
        .await
        .unwrap();
    next.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_lease_is_exclusive_and_expires() {
    let client = aws_sdk_dynamodb::Client::new(&sdk(Some(&moto_endpoint())));
    let table = format!("qsb-locks-{}", hex::encode(rand::random::<[u8; 4]>()));
    let long = LockOptions::default();
    let a = dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &long)
        .await
        .unwrap();
    let held = dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &long)
        .await
        .unwrap_err();
    match &held {
        LockError::Held { holder, .. } => assert_eq!(holder.token, a.info().token),
        other => panic!("{other:?}"),
    }
    assert!(held.to_string().contains("pid"), "{held}");
    // Another lock id is independent.
    let other = dynamodb::acquire(&client, &table, "acct-2", LockPurpose::Backup, Duration::ZERO, &long)
        .await
        .unwrap();
    other.release().await.unwrap();
    a.release().await.unwrap();

    // A lease that is not renewed runs out and can be taken: the clock is moved past it.
    let clock = ManualClock::starting_now();
    let short = LockOptions {
        ttl: Duration::from_secs(60),
        renew_every: Duration::from_secs(3600),
        clock: Arc::new(clock.clone()),
    };
    let frozen = dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &short)
        .await
        .unwrap();
    let later = LockOptions {
        ttl: Duration::from_secs(3600),
        ..short.clone()
    };
    assert!(
        dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &later)
            .await
            .is_err(),
        "held until it runs out"
    );
    clock.advance(Duration::from_secs(61));
    let waited = dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &later)
        .await
        .unwrap();
    assert_ne!(waited.info().token, frozen.info().token);
    frozen.release().await.unwrap();
    let still = dynamodb::acquire(&client, &table, "acct-1", LockPurpose::Backup, Duration::ZERO, &long).await;
    assert!(still.is_err(), "the stale holder's release does not free the new lease");
    waited.release().await.unwrap();
}
