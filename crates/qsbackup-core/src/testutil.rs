//! Fixtures shared by the unit tests of the repository operations: manifests with given ids and
//! times, bundle zips written into an in-memory repository.

use crate::asset::AssetType;
use crate::config::ExportFormat;
use crate::repository::manifest::{BackupMode, BundleMember, BundleRecord, SnapshotManifest, SnapshotStatus};
use crate::repository::Repository;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use object_store::memory::InMemory;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::Arc;

pub fn memory_repo(name: &str) -> Repository {
    Repository::from_store(Arc::new(InMemory::new()), format!("memory://{name}"))
}

/// `2026-11-28T07:21:00Z`-style text to a time.
pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(Into::into)
        .expect("test time")
}

/// An empty complete snapshot taken at `time`.
pub fn manifest(id: &str, time: DateTime<Utc>) -> SnapshotManifest {
    SnapshotManifest {
        schema: 1,
        id: id.into(),
        started_at: time,
        finished_at: time,
        tool_version: "0.1.0".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        identity_region: "us-east-1".into(),
        mode: BackupMode::Full,
        status: SnapshotStatus::Complete,
        export_format: ExportFormat::QuickSightJson,
        include_dependencies: true,
        bundles: vec![],
        skipped: vec![],
        failed: vec![],
        identities: None,
        account: None,
        notes: vec![],
        scope: None,
        host: None,
        caller_arn: None,
        identity_counts: None,
    }
}

/// A deflated zip of `(path, body)` members.
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in files {
        zip.start_file(*name, opts).expect("zip entry");
        zip.write_all(body.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip finish").into_inner()
}

/// Stores a bundle of `(path, body)` members at `key` and returns its record, with each
/// `<type>/<id>.json` member inventoried as the export stage does.
pub async fn store_bundle(repo: &Repository, key: &str, asset_type: AssetType, files: &[(&str, &str)]) -> BundleRecord {
    let bytes = zip_of(files);
    store_raw_bundle(repo, key, asset_type, files, bytes).await
}

/// Like [`store_bundle`] with the zip bytes given (tampered archives).
pub async fn store_raw_bundle(
    repo: &Repository,
    key: &str,
    asset_type: AssetType,
    files: &[(&str, &str)],
    bytes: Vec<u8>,
) -> BundleRecord {
    let object = repo.put_create(key, Bytes::from(bytes)).await.expect("store bundle");
    let members = files
        .iter()
        .filter_map(|(path, body)| {
            let (folder, file) = path.rsplit_once('/')?;
            let id = file.strip_suffix(".json")?;
            let name = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
            Some(BundleMember {
                path: path.to_string(),
                member_type: folder.to_string(),
                id: id.to_string(),
                name,
                sha256: hex::encode(Sha256::digest(body.as_bytes())),
                last_updated_time: None,
            })
        })
        .collect();
    BundleRecord {
        key: object.key,
        size: object.size,
        sha256: object.sha256,
        export_job_id: format!("job-{key}").replace('/', "-"),
        asset_type,
        requested_arns: files
            .iter()
            .filter_map(|(p, _)| {
                let (folder, file) = p.split_once('/')?;
                (folder == asset_type.as_str()).then(|| {
                    format!(
                        "arn:aws:quicksight:us-east-1:123456789012:{folder}/{}",
                        file.trim_end_matches(".json")
                    )
                })
            })
            .collect(),
        members,
    }
}
