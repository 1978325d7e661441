//! The repository's write discipline on a real S3 wire protocol (moto): create-only puts, and a
//! streamed object larger than one part (multipart to a staging key, then a create-only copy).

use aws_credential_types::Credentials;
use bytes::Bytes;
use qsbackup_core::repository::{Repository, RepositoryOptions, StreamPutError};
use qsbackup_core::Error;
use sha2::{Digest, Sha256};

fn moto_endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` \
             and export MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

#[tokio::test]
async fn s3_writes_are_create_only_and_stream_in_parts() {
    let moto = moto_endpoint();
    let bucket = format!("qsb-repo-{}", hex::encode(rand::random::<[u8; 4]>()));
    let created = reqwest::Client::new()
        .put(format!("{moto}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            Credentials::new("test", "test", None, None, "tests"),
        ))
        .build();
    let repo = Repository::open(
        &format!("s3://{bucket}/backups"),
        &RepositoryOptions {
            s3_endpoint: Some(moto),
            aws: Some(sdk),
        },
    )
    .await
    .unwrap();

    repo.put_create("snapshots/a.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let again = repo.put_create("snapshots/a.json", Bytes::from_static(b"[]")).await;
    assert!(matches!(again, Err(Error::AlreadyExists { .. })), "{again:?}");
    assert_eq!(repo.get("snapshots/a.json").await.unwrap(), Bytes::from_static(b"{}"));

    // 12 MiB in 64 KiB chunks: three 5 MiB parts, never the whole object in one buffer.
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let chunks = || futures::stream::iter((0..192).map(|_| Ok::<_, std::io::Error>(chunk.clone())));
    let stored = repo
        .put_stream_create("2026/11/28/dashboard/dashboard-072100.zip", chunks())
        .await
        .unwrap();
    assert_eq!(stored.size, 12 * 1024 * 1024);
    let mut h = Sha256::new();
    for _ in 0..192 {
        h.update(&chunk);
    }
    assert_eq!(stored.sha256, hex::encode(h.finalize()));
    let head = repo.head(&stored.key).await.unwrap().expect("published");
    assert_eq!(head.size, stored.size);
    let again = repo.put_stream_create(&stored.key, chunks()).await;
    assert!(
        matches!(again, Err(StreamPutError::Store(Error::AlreadyExists { .. }))),
        "{again:?}"
    );
    assert!(
        repo.list("tmp/").await.unwrap().is_empty(),
        "staging objects are removed"
    );
    assert_eq!(repo.list("").await.unwrap().len(), 2);
    repo.delete(&stored.key).await.unwrap();
    assert!(repo.head(&stored.key).await.unwrap().is_none());
}
