//! Where backups live: a [`Repository`] is an `object_store` behind a URL (local path, `file://`,
//! `s3://`, `gs://`, `az://`, `memory://`). It owns the write discipline of the design: objects are
//! written create-only (nothing that exists is ever overwritten) and large objects are streamed
//! through a multipart upload while their size and SHA-256 are computed, never held whole.
//!
//! The operations on a repository live below it: the lock, the crash-resume journal, snapshot
//! manifests and finding them (and one asset across them), verify, diff, retention and forget/prune; [`layout`] names every
//! kind of object it holds.

pub mod bundle_file;
pub mod diff;
pub mod find;
pub mod journal;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod member_docs;
mod names;
mod open;
pub mod prune;
pub mod retention;
pub mod snapshots;
mod stream;
pub mod verify;

use crate::error::{Error, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use names::{check_prefix, check_s3_bucket};
pub use open::{check_url, RepositoryOptions};
pub use stream::StreamPutError;

/// A stored object as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub key: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the object's bytes.
    pub sha256: String,
}

/// What a listing or `head` tells about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// A backup repository.
#[derive(Debug, Clone)]
pub struct Repository {
    store: Arc<dyn ObjectStore>,
    /// The URL it was opened from, for messages (never carries credentials).
    location: String,
    /// Bytes buffered before a streamed object switches to a multipart upload; also the part
    /// size. Cloud stores need at least 5 MiB per part.
    part_size: usize,
}

impl Repository {
    /// Wraps an existing store (tests, embedders). `location` names it in messages.
    pub fn from_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Repository {
            store,
            location: location.into(),
            part_size: 1024 * 1024,
        }
    }

    /// The URL or description the repository was opened with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The underlying store, for modules that need an operation this type does not wrap.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn path(&self, key: &str) -> Result<Path> {
        Path::parse(key).map_err(|e| Error::Repository {
            repository: self.location.clone(),
            key: key.to_string(),
            source: e.into(),
        })
    }

    pub(crate) fn store_error(&self, key: &str, source: object_store::Error) -> Error {
        match source {
            object_store::Error::AlreadyExists { .. } => Error::AlreadyExists {
                repository: self.location.clone(),
                key: key.to_string(),
            },
            source => Error::Repository {
                repository: self.location.clone(),
                key: key.to_string(),
                source,
            },
        }
    }

    /// Writes `bytes` at `key` unless `key` exists ([`Error::AlreadyExists`] then).
    pub async fn put_create(&self, key: &str, bytes: Bytes) -> Result<ObjectRef> {
        let size = bytes.len() as u64;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        self.put_payload_create(key, PutPayload::from(bytes)).await?;
        Ok(ObjectRef {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    /// [`Repository::put_create`] for a document a browser opens straight from the store
    /// (`text/html; charset=utf-8`), so S3 serves it as a page rather than a download.
    pub async fn put_create_typed(&self, key: &str, bytes: Bytes, content_type: &'static str) -> Result<()> {
        let path = self.path(key)?;
        let mut attributes = object_store::Attributes::new();
        attributes.insert(object_store::Attribute::ContentType, content_type.into());
        let opts = PutOptions {
            mode: PutMode::Create,
            attributes,
            ..Default::default()
        };
        match self.store.put_opts(&path, PutPayload::from(bytes.clone()), opts).await {
            Ok(_) => Ok(()),
            // A local directory keeps no content types.
            Err(object_store::Error::NotImplemented { .. }) => self.put_create(key, bytes).await.map(|_| ()),
            Err(e) => Err(self.store_error(key, e)),
        }
    }

    pub(crate) async fn put_payload_create(&self, key: &str, payload: PutPayload) -> Result<()> {
        let path = self.path(key)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.store
            .put_opts(&path, payload, opts)
            .await
            .map(|_| ())
            .map_err(|e| self.store_error(key, e))
    }

    /// Reads a whole object (manifests and other small documents).
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        let result = self.store.get(&path).await.map_err(|e| self.store_error(key, e))?;
        result.bytes().await.map_err(|e| self.store_error(key, e))
    }

    /// Reads a whole object of at most `limit` bytes ([`crate::limits`]): an object the store
    /// says is larger is refused before its body is read, and the body is capped in case the
    /// store's size is wrong. `what` names the object in the error (`snapshot manifest`).
    pub async fn get_capped(&self, key: &str, limit: u64, what: &'static str) -> Result<Bytes> {
        let path = self.path(key)?;
        let result = self.store.get(&path).await.map_err(|e| self.store_error(key, e))?;
        if result.meta.size > limit {
            return Err(Error::too_large(key, what, Some(result.meta.size), limit));
        }
        let mut body = Vec::with_capacity(usize::try_from(result.meta.size).unwrap_or(0));
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.store_error(key, e))?;
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::too_large(key, what, None, limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }

    /// Reads an object as a stream of chunks.
    pub async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        let path = self.path(key)?;
        let result = self.store.get(&path).await.map_err(|e| self.store_error(key, e))?;
        let repository = self.location.clone();
        let key = key.to_string();
        Ok(result
            .into_stream()
            .map_err(move |source| Error::Repository {
                repository: repository.clone(),
                key: key.clone(),
                source,
            })
            .boxed())
    }

    /// Size and time of an object, `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(info(meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.store_error(key, e)),
        }
    }

    /// Every object under `prefix` (recursively), e.g. `snapshots/`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let trimmed = prefix.trim_end_matches('/');
        let path = if trimmed.is_empty() {
            None
        } else {
            Some(self.path(trimmed)?)
        };
        self.store
            .list(path.as_ref())
            .map_ok(info)
            .try_collect()
            .await
            .map_err(|e| self.store_error(prefix, e))
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.store_error(key, e)),
        }
    }
}

fn info(meta: object_store::ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: meta.location.to_string(),
        size: meta.size,
        last_modified: meta.last_modified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn create_only_refuses_an_existing_key() {
        let repo = Repository::from_store(Arc::new(InMemory::new()), "memory://t");
        let first = repo.put_create("a/b.json", Bytes::from_static(b"one")).await.unwrap();
        assert_eq!(first.size, 3);
        let again = repo.put_create("a/b.json", Bytes::from_static(b"two")).await;
        assert!(matches!(again, Err(Error::AlreadyExists { .. })), "{again:?}");
        assert_eq!(repo.get("a/b.json").await.unwrap(), Bytes::from_static(b"one"));
        assert_eq!(repo.list("a/").await.unwrap().len(), 1);
        repo.delete("a/b.json").await.unwrap();
        assert!(repo.head("a/b.json").await.unwrap().is_none());
    }
}
