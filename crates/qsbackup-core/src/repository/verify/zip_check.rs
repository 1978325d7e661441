//! Inspecting a bundle zip without trusting it: every entry's path, encryption and compression
//! are checked from the central directory first, and only entries that pass are decompressed —
//! into a hasher, never to disk — with the declared size, the compression ratio and the running
//! total bounded, so a decompression bomb is reported instead of being inflated.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bounds on what a bundle may hold.
#[derive(Debug, Clone)]
pub struct ZipLimits {
    /// Largest member, declared or actual.
    pub max_member_bytes: u64,
    /// Largest sum of members.
    pub max_total_bytes: u64,
    /// Largest uncompressed:compressed ratio of a member bigger than `ratio_floor_bytes`.
    pub max_ratio: u64,
    pub ratio_floor_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        // The same bounds restore, diff and import-legacy apply (see `crate::limits` for why).
        ZipLimits {
            max_member_bytes: crate::limits::MAX_MEMBER_BYTES,
            max_total_bytes: crate::limits::MAX_BUNDLE_MEMBERS_BYTES,
            max_ratio: crate::limits::MAX_MEMBER_RATIO,
            ratio_floor_bytes: crate::limits::RATIO_FLOOR_BYTES,
        }
    }
}

/// What is wrong with one entry or with the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZipProblemKind {
    MalformedZip,
    UnsafePath,
    Encrypted,
    UnsupportedCompression,
    DecompressionBomb,
    Corrupt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipProblem {
    pub kind: ZipProblemKind,
    pub message: String,
}

/// The result of inspecting one archive.
#[derive(Debug, Default)]
pub struct ZipInspection {
    /// SHA-256 of every entry that passed and was read, by path.
    pub hashes: BTreeMap<String, String>,
    pub problems: Vec<ZipProblem>,
}

/// Why a member path is unsafe to extract, if it is.
pub fn unsafe_path(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("an empty name");
    }
    if name.contains('\0') {
        return Some("a NUL byte in the name");
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Some("a drive letter");
    }
    if name.contains('\\') {
        return Some("a backslash (a Windows path separator)");
    }
    if name.split('/').any(|part| part == "..") {
        return Some("a `..` component that leaves the extraction directory");
    }
    None
}

/// Entries the central directory says the archive has (from the end-of-central-directory
/// record); `None` for ZIP64 archives or when the record is not found.
fn declared_entries(path: &Path) -> Option<u64> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.seek(SeekFrom::End(0)).ok()?;
    let tail = len.min(66 * 1024);
    f.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = Vec::with_capacity(tail as usize);
    f.take(tail).read_to_end(&mut buf).ok()?;
    let at = buf.windows(4).rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])?;
    let total = buf.get(at + 10..at + 12)?;
    let n = u16::from_le_bytes([total[0], total[1]]);
    (n != 0xFFFF).then_some(u64::from(n))
}

/// Inspects the zip at `path`.
pub fn inspect(path: &Path, limits: &ZipLimits) -> ZipInspection {
    let mut out = ZipInspection::default();
    let problem = |out: &mut ZipInspection, kind, message: String| out.problems.push(ZipProblem { kind, message });
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            problem(&mut out, ZipProblemKind::MalformedZip, format!("cannot open: {e}"));
            return out;
        }
    };
    let mut archive = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
        Ok(a) => a,
        Err(e) => {
            problem(
                &mut out,
                ZipProblemKind::MalformedZip,
                format!("not a well-formed zip: {e}"),
            );
            return out;
        }
    };
    if let Some(declared) = declared_entries(path) {
        if declared > archive.len() as u64 {
            problem(
                &mut out,
                ZipProblemKind::MalformedZip,
                format!(
                    "the central directory lists {declared} entries but only {} distinct names: duplicate member names",
                    archive.len()
                ),
            );
        }
    }
    let mut declared_total = 0u64;
    let mut actual_total = 0u64;
    for i in 0..archive.len() {
        let (name, safe) = {
            let raw = match archive.by_index_raw(i) {
                Ok(r) => r,
                Err(e) => {
                    problem(&mut out, ZipProblemKind::MalformedZip, format!("entry {i}: {e}"));
                    continue;
                }
            };
            let name = String::from_utf8_lossy(raw.name_raw()).into_owned();
            let mut safe = true;
            if let Some(why) = unsafe_path(&name) {
                problem(
                    &mut out,
                    ZipProblemKind::UnsafePath,
                    format!("member {name:?} has {why}"),
                );
                safe = false;
            }
            if raw.is_symlink() {
                problem(
                    &mut out,
                    ZipProblemKind::UnsafePath,
                    format!("member {name:?} is a symbolic link"),
                );
                safe = false;
            }
            if raw.encrypted() {
                problem(
                    &mut out,
                    ZipProblemKind::Encrypted,
                    format!("member {name:?} is encrypted"),
                );
                safe = false;
            }
            let method = raw.compression();
            if !matches!(
                method,
                zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
            ) {
                problem(
                    &mut out,
                    ZipProblemKind::UnsupportedCompression,
                    format!("member {name:?} uses compression method {method}; bundles use only stored or deflate"),
                );
                safe = false;
            }
            let size = raw.size();
            declared_total = declared_total.saturating_add(size);
            if size > limits.max_member_bytes {
                problem(
                    &mut out,
                    ZipProblemKind::DecompressionBomb,
                    format!(
                        "member {name:?} declares {size} bytes, over the {} byte limit",
                        limits.max_member_bytes
                    ),
                );
                safe = false;
            } else if size > limits.ratio_floor_bytes && size / raw.compressed_size().max(1) > limits.max_ratio {
                problem(
                    &mut out,
                    ZipProblemKind::DecompressionBomb,
                    format!(
                        "member {name:?} expands {} bytes to {size} (over {}:1): a decompression bomb",
                        raw.compressed_size(),
                        limits.max_ratio
                    ),
                );
                safe = false;
            }
            (name, safe && !raw.is_dir())
        };
        if !safe {
            continue;
        }
        if actual_total > limits.max_total_bytes {
            continue;
        }
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                problem(&mut out, ZipProblemKind::Corrupt, format!("member {name:?}: {e}"));
                continue;
            }
        };
        let declared = entry.size();
        let cap = limits
            .max_member_bytes
            .min(limits.max_total_bytes.saturating_sub(actual_total));
        let mut limited = entry.take(cap.saturating_add(1));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut read = 0u64;
        let result = loop {
            match limited.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    read += n as u64;
                }
                Err(e) => break Err(e),
            }
        };
        actual_total = actual_total.saturating_add(read);
        if let Err(e) = result {
            if crate::limits::holds_more_than_declared(&e) {
                problem(
                    &mut out,
                    ZipProblemKind::DecompressionBomb,
                    format!("member {name:?} holds more than the {declared} bytes it declares"),
                );
                continue;
            }
            // The zip reader checks the CRC and the declared size as it goes.
            problem(&mut out, ZipProblemKind::Corrupt, format!("member {name:?}: {e}"));
            continue;
        }
        if read > cap {
            problem(
                &mut out,
                ZipProblemKind::DecompressionBomb,
                format!("member {name:?} inflates past {cap} bytes though it declares {declared}"),
            );
            continue;
        }
        if read != declared {
            problem(
                &mut out,
                ZipProblemKind::DecompressionBomb,
                format!("member {name:?} declares {declared} bytes but holds {read}"),
            );
            continue;
        }
        out.hashes.insert(name, hex::encode(hasher.finalize()));
    }
    if declared_total > limits.max_total_bytes || actual_total > limits.max_total_bytes {
        problem(
            &mut out,
            ZipProblemKind::DecompressionBomb,
            format!(
                "members total more than {} bytes uncompressed (declared {declared_total})",
                limits.max_total_bytes
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests;
