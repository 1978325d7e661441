//! Tampering with a real backup as someone with write access to the repository could: a
//! member of a stored bundle dropped, replaced or made a decompression bomb, with the bundle's
//! size and SHA-256 (and the member's) rewritten in the manifest so every checksum matches.
//! Bundles are rewritten through temporary files, so a bomb never sits in the test's memory.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;

use qs_emulator::{EmulatorHandle, Profile};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::restore_support::*;

/// New bytes of a member from its old ones.
pub type Rewrite = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// What is done to the member.
pub enum Tamper {
    /// Removed from the zip; the manifest still lists it.
    Drop,
    /// Its bytes replaced; the inventory's SHA-256 updated to match.
    Replace(Rewrite),
    /// Replaced by a JSON object of the same type and id padded with spaces to `bytes`,
    /// deflated (a few hundred KB per 64 MiB), written and hashed in chunks.
    Bomb(u64),
    /// A bomb whose zip headers declare `declared` bytes instead of its real size.
    LyingBomb { bytes: u64, declared: u32 },
}

/// Sets the uncompressed size the zip at `file` declares for `name`, in its local and central
/// headers, to `declared`.
pub fn declare_size(file: &Path, name: &str, declared: u32) {
    let mut bytes = std::fs::read(file).expect("bundle");
    let le32 = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let le16 = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let mut patched = 0;
    let mut at = 0;
    while at + 46 <= bytes.len() {
        let sig = le32(&bytes, at);
        let (size_at, name_len_at, name_at) = match sig {
            0x0403_4b50 => (at + 22, at + 26, at + 30),
            0x0201_4b50 => (at + 24, at + 28, at + 46),
            _ => {
                at += 1;
                continue;
            }
        };
        let len = le16(&bytes, name_len_at);
        if bytes.get(name_at..name_at + len) == Some(name.as_bytes()) {
            bytes[size_at..size_at + 4].copy_from_slice(&declared.to_le_bytes());
            patched += 1;
        }
        at += 4;
    }
    assert_eq!(patched, 2, "local and central header of {name}");
    std::fs::write(file, bytes).expect("patch bundle");
}

/// Writes the bomb member `name` (type and id from its path) of `bytes` bytes; its SHA-256.
pub fn write_bomb<W: Write + std::io::Seek>(zip: &mut zip::ZipWriter<W>, name: &str, bytes: u64) -> String {
    let (folder, file) = name.rsplit_once('/').expect("type/id.json");
    let id = file.trim_end_matches(".json");
    let field = match folder {
        "dashboard" => "dashboardId",
        "dataset" => "dataSetId",
        "analysis" => "analysisId",
        other => panic!("no bomb for {other}"),
    };
    let head = format!("{{\"resourceType\":\"{folder}\",\"{field}\":\"{id}\",\"pad\":\"");
    let tail = "\"}";
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(bytes > u32::MAX as u64);
    zip.start_file(name, opts).expect("start bomb");
    let mut hasher = Sha256::new();
    let mut put = |b: &[u8]| {
        hasher.update(b);
        zip.write_all(b).expect("write bomb");
    };
    put(head.as_bytes());
    let chunk = vec![b' '; 1 << 20];
    let mut left = bytes.saturating_sub((head.len() + tail.len()) as u64);
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        put(&chunk[..n]);
        left -= n as u64;
    }
    put(tail.as_bytes());
    hex::encode(hasher.finalize())
}

pub struct World {
    pub emu: EmulatorHandle,
    pub dir: tempfile::TempDir,
    pub repo: String,
    pub cfg: String,
    pub snapshot: String,
}

impl World {
    pub async fn new(seed: u64) -> World {
        let emu = emulator(Profile::Small, seed).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo").to_string_lossy().to_string();
        let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo)
            .to_string_lossy()
            .to_string();
        let doc = backup(&emu, Path::new(&cfg)).await;
        let snapshot = doc["snapshot_id"].as_str().expect("snapshot id").to_string();
        World {
            emu,
            dir,
            repo,
            cfg,
            snapshot,
        }
    }

    pub fn manifest_path(&self) -> std::path::PathBuf {
        Path::new(&self.repo).join(format!("snapshots/{}.json", self.snapshot))
    }

    pub fn manifest(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.manifest_path()).expect("manifest")).expect("manifest JSON")
    }

    /// A member of `member_type` held by exactly one bundle, exported for it (a root asset).
    pub fn lone_member(&self, member_type: &str) -> String {
        let m = self.manifest();
        let bundles = m["bundles"].as_array().expect("bundles");
        let holders = |path: &str| {
            bundles
                .iter()
                .filter(|b| {
                    b["members"]
                        .as_array()
                        .expect("members")
                        .iter()
                        .any(|x| x["path"] == path)
                })
                .count()
        };
        bundles
            .iter()
            .filter(|b| b["asset_type"] == member_type)
            .flat_map(|b| b["members"].as_array().expect("members").iter())
            .filter(|x| x["type"] == member_type)
            .map(|x| x["path"].as_str().expect("path").to_string())
            .find(|p| holders(p) == 1)
            .unwrap_or_else(|| panic!("a {member_type} in one bundle only"))
    }

    /// A member of `member_type` from a bundle exported for it.
    pub fn root_member(&self, member_type: &str) -> String {
        let m = self.manifest();
        m["bundles"]
            .as_array()
            .expect("bundles")
            .iter()
            .filter(|b| b["asset_type"] == member_type)
            .flat_map(|b| b["members"].as_array().expect("members").iter())
            .find(|x| x["type"] == member_type)
            .and_then(|x| x["path"].as_str())
            .unwrap_or_else(|| panic!("a {member_type} bundle"))
            .to_string()
    }

    /// Applies `tamper` to `path` in every bundle that holds it, and rewrites the manifest's
    /// checksums to match, as an attacker with write access would.
    pub fn tamper(&self, path: &str, tamper: &Tamper) {
        let mut m = self.manifest();
        for b in m["bundles"].as_array_mut().expect("bundles") {
            let holds = b["members"]
                .as_array()
                .expect("members")
                .iter()
                .any(|x| x["path"] == path);
            if !holds {
                continue;
            }
            let file = Path::new(&self.repo).join(b["key"].as_str().expect("key"));
            let old = std::fs::File::open(&file).expect("bundle");
            let mut archive = zip::ZipArchive::new(std::io::BufReader::new(old)).expect("zip");
            let temp = file.with_extension("tampered");
            let mut out = zip::ZipWriter::new(std::fs::File::create(&temp).expect("temp bundle"));
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            let mut new_sha = None;
            for i in 0..archive.len() {
                let mut entry = archive.by_index(i).expect("entry");
                let name = entry.name().expect("member name").into_owned();
                let mut body = Vec::new();
                entry.read_to_end(&mut body).expect("read entry");
                if name == path {
                    match tamper {
                        Tamper::Drop => continue,
                        Tamper::Replace(f) => body = f(&body),
                        Tamper::Bomb(bytes) | Tamper::LyingBomb { bytes, .. } => {
                            new_sha = Some(write_bomb(&mut out, &name, *bytes));
                            continue;
                        }
                    }
                    new_sha = Some(hex::encode(Sha256::digest(&body)));
                }
                out.start_file(name, opts).expect("start");
                out.write_all(&body).expect("write");
            }
            out.finish().expect("finish");
            drop(archive);
            if let Tamper::LyingBomb { declared, .. } = tamper {
                declare_size(&temp, path, *declared);
            }
            std::fs::rename(&temp, &file).expect("rewrite bundle");
            let (size, sha) = file_sha256(&file);
            b["size"] = Value::from(size);
            b["sha256"] = Value::from(sha);
            if let Some(sha) = new_sha {
                for x in b["members"].as_array_mut().expect("members") {
                    if x["path"] == path {
                        x["sha256"] = Value::from(sha.clone());
                    }
                }
            }
        }
        let text = serde_json::to_vec_pretty(&m).expect("manifest JSON");
        std::fs::write(self.manifest_path(), text).expect("rewrite manifest");
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--config", self.cfg.as_str(), "--no-progress"];
        all.extend_from_slice(args);
        run(qsbackup(&self.emu, &all)).await
    }

    pub async fn restore(&self, extra: &[&str]) -> Output {
        let mut args = vec!["restore", "--snapshot", "latest", "--target-account", TARGET];
        args.extend_from_slice(extra);
        self.run(&args).await
    }

    /// Ids of the dashboards of the target account.
    pub async fn target_dashboards(&self) -> Vec<String> {
        let qs = quicksight(&self.emu, REGION);
        let mut out = Vec::new();
        let pages = qs
            .list_dashboards()
            .aws_account_id(TARGET)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        for d in pages {
            out.push(d.expect("dashboards").dashboard_id().unwrap_or_default().to_string());
        }
        out
    }
}

/// Size and SHA-256 of a file, read in chunks.
pub fn file_sha256(path: &Path) -> (u64, String) {
    let mut f = std::fs::File::open(path).expect("open");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    (size, hex::encode(hasher.finalize()))
}

pub fn id_of(path: &str) -> String {
    path.rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".json")
        .to_string()
}
