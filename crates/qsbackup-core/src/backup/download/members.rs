//! The member inventory of a stored bundle: the object is streamed back from the repository into
//! a temporary file (checking it is the object just written: same size, same SHA-256), then each
//! `<type>/<id>.json` member is hashed and its `name` read.

use crate::error::{Error, Result};
use crate::repository::manifest::BundleMember;
use crate::repository::{ObjectRef, Repository};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Members larger than this are hashed but not parsed for their name.
const MAX_PARSED_MEMBER: u64 = 16 * 1024 * 1024;

/// The one field of a member the inventory keeps; serde skips the others without building them.
#[derive(serde::Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
}

/// Hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        let name = format!(
            "qsbackup-{}-{}.zip",
            std::process::id(),
            hex::encode(rand::random::<[u8; 8]>())
        );
        TempFile(std::env::temp_dir().join(name))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads `object` back and lists its members.
pub async fn read_members(repository: &Repository, object: &ObjectRef) -> Result<Vec<BundleMember>> {
    let temp = TempFile::new();
    let mut file = tokio::fs::File::create(&temp.0)
        .await
        .map_err(|e| Error::io(&temp.0, e))?;
    let mut stream = repository.get_stream(&object.key).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(|e| Error::io(&temp.0, e))?;
    }
    file.flush().await.map_err(|e| Error::io(&temp.0, e))?;
    drop(file);
    let sha256 = hex::encode(hasher.finalize());
    if size != object.size || sha256 != object.sha256 {
        return Err(Error::Integrity {
            key: object.key.clone(),
            message: format!(
                "read back {size} bytes with SHA-256 {sha256}, but {} bytes with {} were written",
                object.size, object.sha256
            ),
        });
    }
    let key = object.key.clone();
    let path = temp.0.clone();
    let members = tokio::task::spawn_blocking(move || members_of(&path, &key))
        .await
        .map_err(|e| Error::Bundle {
            key: object.key.clone(),
            message: format!("member inventory task failed: {e}"),
        })?;
    drop(temp);
    members
}

fn members_of(path: &Path, key: &str) -> Result<Vec<BundleMember>> {
    let bad = |message: String| Error::Bundle {
        key: key.to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| bad(format!("not a valid zip: {e}")))?;
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| bad(format!("member {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let member_path = entry.name().map_err(|e| bad(format!("member {i}: {e}")))?.into_owned();
        let Some((folder, file_name)) = member_path.rsplit_once('/') else {
            continue;
        };
        let Some(id) = file_name.strip_suffix(".json") else {
            continue;
        };
        let parse = entry.size() <= MAX_PARSED_MEMBER;
        // Every byte passes the hasher once, below the buffer the parser reads from; only the
        // `name` is kept, the rest of the definition is skipped as it streams by.
        let mut reader = std::io::BufReader::with_capacity(
            64 * 1024,
            Hashing {
                inner: &mut entry,
                hasher: Sha256::new(),
            },
        );
        let name = if parse {
            match serde_json::from_reader::<_, Named>(&mut reader) {
                Ok(named) => named.name,
                Err(e) if e.is_io() => return Err(bad(format!("{member_path}: {e}"))),
                Err(_) => None,
            }
        } else {
            None
        };
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| bad(format!("{member_path}: {e}")))?;
        let hasher = reader.into_inner().hasher;
        members.push(BundleMember {
            member_type: folder.rsplit('/').next().unwrap_or(folder).to_string(),
            id: id.to_string(),
            name,
            sha256: hex::encode(hasher.finalize()),
            last_updated_time: None,
            path: member_path,
        });
    }
    members.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use object_store::memory::InMemory;
    use std::io::Write;
    use std::sync::Arc;

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in files {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[tokio::test]
    async fn members_are_listed_with_type_id_name_and_checksum() {
        let repo = Repository::from_store(Arc::new(InMemory::new()), "memory://members");
        let body = r#"{"resourceType":"dataset","dataSetId":"d1","name":"Sales"}"#;
        let bytes = zip_of(&[("dataset/d1.json", body), ("refreshSchedule/s1.json", "{}")]);
        let object = repo.put_create("b.zip", Bytes::from(bytes)).await.unwrap();
        let members = read_members(&repo, &object).await.unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].path, "dataset/d1.json");
        assert_eq!(members[0].member_type, "dataset");
        assert_eq!(members[0].id, "d1");
        assert_eq!(members[0].name.as_deref(), Some("Sales"));
        assert_eq!(members[0].sha256, hex::encode(Sha256::digest(body.as_bytes())));
        assert_eq!(members[1].member_type, "refreshSchedule");
        assert_eq!(members[1].name, None);

        let mut wrong = object.clone();
        wrong.sha256 = "00".into();
        assert!(matches!(
            read_members(&repo, &wrong).await,
            Err(Error::Integrity { .. })
        ));
    }
}
