//! Streaming create-only writes. Bytes are hashed as they pass; an object that fits in one part
//! is written with a single conditional put, a larger one goes through a multipart upload to a
//! staging key and is then published with a create-only copy (a hard link on local disk, an
//! `If-None-Match` multipart copy on S3), so a half-written or existing key is never visible.

use super::{ObjectRef, Repository};
use crate::error::Error;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

/// Why a streamed write failed: the source stream broke (retry the download), or the store did.
#[derive(Debug, thiserror::Error)]
pub enum StreamPutError {
    #[error("source stream failed: {0}")]
    Source(std::io::Error),
    #[error(transparent)]
    Store(#[from] Error),
}

impl Repository {
    /// Consumes `stream` into a new object at `key`, computing its size and SHA-256.
    /// At most one part (plus one in flight) is held in memory.
    pub async fn put_stream_create<S>(&self, key: &str, mut stream: S) -> Result<ObjectRef, StreamPutError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
    {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head: Vec<Bytes> = Vec::new();
        let mut head_len = 0usize;

        while head_len < self.part_size {
            match stream.next().await {
                None => {
                    self.put_payload_create(key, PutPayload::from_iter(head)).await?;
                    return Ok(finish(key, size, hasher));
                }
                Some(Err(e)) => return Err(StreamPutError::Source(e)),
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    head_len += chunk.len();
                    head.push(chunk);
                }
            }
        }

        let staging_key = super::layout::staging_key();
        let staging = self.path(&staging_key)?;
        let upload = self
            .store
            .put_multipart(&staging)
            .await
            .map_err(|e| self.store_error(&staging_key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        for chunk in head {
            writer.put(chunk);
        }
        loop {
            if let Err(e) = writer.wait_for_capacity(1).await {
                let _ = writer.abort().await;
                return Err(self.store_error(&staging_key, e).into());
            }
            match stream.next().await {
                None => break,
                Some(Err(e)) => {
                    let _ = writer.abort().await;
                    return Err(StreamPutError::Source(e));
                }
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    writer.put(chunk);
                }
            }
        }
        writer.finish().await.map_err(|e| self.store_error(&staging_key, e))?;

        let target = self.path(key)?;
        let published = self.store.copy_if_not_exists(&staging, &target).await;
        // The staging object is garbage either way; a failed delete leaves only tmp/ litter.
        let _ = self.store.delete(&staging).await;
        published.map_err(|e| self.store_error(key, e))?;
        Ok(finish(key, size, hasher))
    }
}

fn finish(key: &str, size: u64, hasher: Sha256) -> ObjectRef {
    ObjectRef {
        key: key.to_string(),
        size,
        sha256: hex::encode(hasher.finalize()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use std::sync::Arc;

    fn chunks(n: usize, size: usize) -> Vec<std::io::Result<Bytes>> {
        (0..n).map(|i| Ok(Bytes::from(vec![i as u8; size]))).collect()
    }

    async fn check_round_trip(repo: &Repository, key: &str, n: usize, size: usize) {
        let expected: Vec<u8> = (0..n).flat_map(|i| vec![i as u8; size]).collect();
        let stored = repo
            .put_stream_create(key, futures::stream::iter(chunks(n, size)))
            .await
            .unwrap();
        assert_eq!(stored.size, expected.len() as u64);
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(&expected)));
        assert_eq!(repo.get(key).await.unwrap(), Bytes::from(expected));
        let again = repo.put_stream_create(key, futures::stream::iter(chunks(1, 1))).await;
        assert!(matches!(again, Err(StreamPutError::Store(Error::AlreadyExists { .. }))));
    }

    #[tokio::test]
    async fn small_and_multipart_streams_round_trip_create_only() {
        let mut repo = Repository::from_store(Arc::new(InMemory::new()), "memory://t");
        repo.part_size = 1000;
        check_round_trip(&repo, "small.zip", 3, 100).await;
        check_round_trip(&repo, "large.zip", 25, 333).await;
        assert!(
            repo.list(super::super::layout::TMP).await.unwrap().is_empty(),
            "staging left behind"
        );
    }

    #[tokio::test]
    async fn local_disk_multipart_publishes_without_overwriting() {
        let dir = std::env::temp_dir().join(format!("qsb-stream-{}", std::process::id()));
        let url = dir.to_string_lossy().to_string();
        let (mut repo, _) = Repository::create_or_open(&url, &Default::default()).await.unwrap();
        repo.part_size = 1000;
        check_round_trip(&repo, "2026/01/02/dataset/dataset-010203.zip", 30, 100).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_broken_source_leaves_nothing_behind() {
        let mut repo = Repository::from_store(Arc::new(InMemory::new()), "memory://t");
        repo.part_size = 100;
        let mut items = chunks(5, 60);
        items.push(Err(std::io::Error::other("connection reset")));
        let result = repo.put_stream_create("x.zip", futures::stream::iter(items)).await;
        assert!(matches!(result, Err(StreamPutError::Source(_))));
        assert!(repo.head("x.zip").await.unwrap().is_none());
    }
}
