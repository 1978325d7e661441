//! A stored object copied to a private temporary file, with the size and SHA-256 of the bytes
//! actually read, so that verify and diff can open a bundle as a zip without holding it in
//! memory. Member reads are bounded: nothing is ever extracted to disk.

use crate::error::{Error, Result};
use crate::repository::Repository;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A temporary file removed when dropped.
#[derive(Debug)]
pub struct TempCopy {
    path: PathBuf,
}

impl TempCopy {
    fn new() -> Self {
        let name = format!(
            "qsbackup-{}-{}.tmp",
            std::process::id(),
            hex::encode(rand::random::<[u8; 8]>())
        );
        TempCopy {
            path: std::env::temp_dir().join(name),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An object read from the repository into a temporary file.
#[derive(Debug)]
pub struct FetchedObject {
    pub file: TempCopy,
    pub size: u64,
    pub sha256: String,
}

/// Streams object `key` into a temporary file, hashing it on the way.
pub async fn fetch(repo: &Repository, key: &str) -> Result<FetchedObject> {
    let file = TempCopy::new();
    let mut out = tokio::fs::File::create(file.path())
        .await
        .map_err(|e| Error::io(file.path(), e))?;
    let mut stream = repo.get_stream(key).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(|e| Error::io(file.path(), e))?;
    }
    out.flush().await.map_err(|e| Error::io(file.path(), e))?;
    drop(out);
    Ok(FetchedObject {
        file,
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Reads member `name` of the zip at `path`, refusing encrypted members, other compression than
/// stored or deflate, and members larger than `max_bytes` (declared or actual).
pub fn read_member(path: &Path, key: &str, name: &str, max_bytes: u64) -> Result<Vec<u8>> {
    let mut archive = open_zip(path, key)?;
    member_bytes(&mut archive, key, name, max_bytes)
}

/// Reads every member of `names` with one opening of the zip at `path` (see [`read_member`]).
pub fn read_members(path: &Path, key: &str, names: &[String], max_bytes: u64) -> Result<Vec<Vec<u8>>> {
    let mut archive = open_zip(path, key)?;
    names
        .iter()
        .map(|name| member_bytes(&mut archive, key, name, max_bytes))
        .collect()
}

type Zip = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

fn open_zip(path: &Path, key: &str) -> Result<Zip> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| Error::Bundle {
        key: key.to_string(),
        message: format!("not a valid zip: {e}"),
    })
}

fn member_bytes(archive: &mut Zip, key: &str, name: &str, max_bytes: u64) -> Result<Vec<u8>> {
    let bad = |message: String| Error::Bundle {
        key: key.to_string(),
        message,
    };
    let index = archive
        .index_for_name(name)
        .ok_or_else(|| bad(format!("has no member {name}")))?;
    {
        let raw = archive.by_index_raw(index).map_err(|e| bad(format!("{name}: {e}")))?;
        if raw.encrypted() {
            return Err(bad(format!("{name} is encrypted")));
        }
        if !matches!(
            raw.compression(),
            zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
        ) {
            return Err(bad(format!("{name} uses compression {}", raw.compression())));
        }
        if raw.size() > max_bytes {
            return Err(bad(format!(
                "{name} declares {} bytes, over the {max_bytes} limit",
                raw.size()
            )));
        }
    }
    let entry = archive.by_index(index).map_err(|e| bad(format!("{name}: {e}")))?;
    let declared = entry.size();
    let mut body = Vec::new();
    entry.take(max_bytes + 1).read_to_end(&mut body).map_err(|e| {
        if crate::limits::holds_more_than_declared(&e) {
            bad(format!("{name} holds more than the {declared} bytes it declares"))
        } else {
            bad(format!("{name}: {e}"))
        }
    })?;
    if body.len() as u64 > max_bytes {
        return Err(bad(format!("{name} holds more than {max_bytes} bytes")));
    }
    Ok(body)
}
