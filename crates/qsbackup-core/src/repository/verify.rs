//! Verifying snapshots: every object a manifest references exists with the recorded size and
//! SHA-256; every bundle is a well-formed zip whose members match the recorded inventory, with
//! unsafe paths, encryption, odd compression and decompression bombs reported ([`zip_check`]);
//! identity and account documents parse. Every inventoried member is parsed and must be the
//! type and id the manifest records, under a safe path and id ([`member`]). Nothing larger than
//! [`crate::limits`] allows is read. Each problem names the snapshot, the key and what is
//! wrong. An object shared by several snapshots (a resumed run reuses bundles) is read once.

pub mod member;
pub mod zip_check;

use crate::account_config::AccountSnapshot;
use crate::config::ExportFormat;
use crate::error::Error;
use crate::identities::IdentitySnapshot;
use crate::repository::bundle_file::fetch;
use crate::repository::lock::SharedLock;
use crate::repository::manifest::{BundleRecord, SnapshotManifest};
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::{ObjectRef, Repository};
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
pub use zip_check::{ZipLimits, ZipProblemKind};

/// What kind of problem verify found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The manifest itself cannot be read.
    UnreadableManifest,
    Missing,
    SizeMismatch,
    ChecksumMismatch,
    /// The store failed while reading it.
    Unreadable,
    MalformedZip,
    UnsafePath,
    Encrypted,
    UnsupportedCompression,
    DecompressionBomb,
    /// A member's bytes are damaged (CRC or deflate error).
    CorruptMember,
    /// An inventoried member is not in the bundle.
    MemberMissing,
    /// A member's SHA-256 differs from the inventory.
    MemberMismatch,
    /// The bundle holds an asset member the inventory does not list.
    UnexpectedMember,
    /// An identities or account document does not parse, or is about another account.
    BadDocument,
    /// A member is not valid JSON, or not the type and id the manifest records for it.
    InvalidMember,
    /// The manifest names a member by an unsafe path or id, or by one that is not its own.
    UnsafeMember,
    /// An object is larger than qsbackup reads ([`crate::limits`]).
    TooLarge,
}

impl From<ZipProblemKind> for ProblemKind {
    fn from(k: ZipProblemKind) -> Self {
        match k {
            ZipProblemKind::MalformedZip => ProblemKind::MalformedZip,
            ZipProblemKind::UnsafePath => ProblemKind::UnsafePath,
            ZipProblemKind::Encrypted => ProblemKind::Encrypted,
            ZipProblemKind::UnsupportedCompression => ProblemKind::UnsupportedCompression,
            ZipProblemKind::DecompressionBomb => ProblemKind::DecompressionBomb,
            ZipProblemKind::Corrupt => ProblemKind::CorruptMember,
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "snapshot_id")]
    pub snapshot: String,
    pub key: String,
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "snapshot {}: {}: {}", self.snapshot, self.key, self.message)
    }
}

/// The result of a verify run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Snapshots checked.
    #[serde(rename = "snapshot_ids")]
    pub snapshots: Vec<String>,
    /// Distinct objects read and checked.
    pub objects: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub limits: ZipLimits,
    /// Objects read at once.
    pub concurrency: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            limits: ZipLimits::default(),
            concurrency: 4,
        }
    }
}

/// What an object is expected to be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Expect {
    Bundle {
        object: ObjectRefKey,
        zip: bool,
        /// The inventory.
        members: Vec<Inventoried>,
        /// `type/id` of the assets the bundle was exported for.
        requested: Vec<String>,
    },
    Identities {
        object: ObjectRefKey,
        account_id: String,
    },
    Account {
        object: ObjectRefKey,
        account_id: String,
    },
}

/// A member as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Inventoried {
    path: String,
    sha256: String,
    member_type: String,
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ObjectRefKey {
    key: String,
    size: u64,
    sha256: String,
}

impl From<&ObjectRef> for ObjectRefKey {
    fn from(o: &ObjectRef) -> Self {
        ObjectRefKey {
            key: o.key.clone(),
            size: o.size,
            sha256: o.sha256.clone(),
        }
    }
}

impl Expect {
    fn object(&self) -> &ObjectRefKey {
        match self {
            Expect::Bundle { object, .. } | Expect::Identities { object, .. } | Expect::Account { object, .. } => {
                object
            }
        }
    }
}

fn bundle_expectation(m: &SnapshotManifest, b: &BundleRecord) -> Expect {
    let zip = match m.export_format {
        ExportFormat::QuickSightJson => true,
        ExportFormat::CloudFormationJson => b.key.ends_with(".zip"),
    };
    Expect::Bundle {
        object: (&b.object()).into(),
        zip,
        members: b
            .members
            .iter()
            .map(|x| Inventoried {
                path: x.path.clone(),
                sha256: x.sha256.clone(),
                member_type: x.member_type.clone(),
                id: x.id.clone(),
            })
            .collect(),
        requested: b
            .requested_arns
            .iter()
            .map(|arn| arn.rsplit(':').next().unwrap_or(arn).to_string())
            .collect(),
    }
}

fn expectations(m: &SnapshotManifest) -> Vec<Expect> {
    let mut out: Vec<Expect> = m.bundles.iter().map(|b| bundle_expectation(m, b)).collect();
    if let Some(o) = &m.identities {
        out.push(Expect::Identities {
            object: o.into(),
            account_id: m.account_id.clone(),
        });
    }
    if let Some(o) = &m.account {
        out.push(Expect::Account {
            object: o.into(),
            account_id: m.account_id.clone(),
        });
    }
    out
}

/// (kind, message) pairs about one object.
type Findings = Vec<(ProblemKind, String)>;

async fn check(repo: &Repository, expect: &Expect, limits: &ZipLimits) -> (Findings, u64) {
    let want = expect.object();
    let mut found = Vec::new();
    match repo.head(&want.key).await {
        Ok(None) => {
            found.push((ProblemKind::Missing, "the object does not exist".to_string()));
            return (found, 0);
        }
        Err(e) => {
            found.push((ProblemKind::Unreadable, e.to_string()));
            return (found, 0);
        }
        Ok(Some(info)) => {
            if let Some((limit, what)) = document_limit(expect) {
                if info.size > limit {
                    let text = crate::limits::too_large_text(what, Some(info.size), limit);
                    found.push((ProblemKind::TooLarge, text));
                    return (found, 0);
                }
            }
        }
    }
    let fetched = match fetch(repo, &want.key).await {
        Ok(f) => f,
        Err(e) => {
            found.push((ProblemKind::Unreadable, e.to_string()));
            return (found, 0);
        }
    };
    let read = fetched.size;
    if fetched.size != want.size {
        found.push((
            ProblemKind::SizeMismatch,
            format!("holds {} bytes, the manifest records {}", fetched.size, want.size),
        ));
    }
    if fetched.sha256 != want.sha256 {
        found.push((
            ProblemKind::ChecksumMismatch,
            format!("SHA-256 is {}, the manifest records {}", fetched.sha256, want.sha256),
        ));
    }
    let path = fetched.file.path().to_path_buf();
    let expect = expect.clone();
    let limits = limits.clone();
    let content = tokio::task::spawn_blocking(move || check_content(&path, &expect, &limits)).await;
    drop(fetched);
    match content {
        Ok(more) => found.extend(more),
        Err(e) => found.push((ProblemKind::Unreadable, format!("content check failed: {e}"))),
    }
    (found, read)
}

/// The size limit of a document that is read whole, and what it is called.
fn document_limit(expect: &Expect) -> Option<(u64, &'static str)> {
    match expect {
        Expect::Bundle { zip: false, .. } => Some((crate::limits::MAX_MEMBER_BYTES, "CloudFormation bundle")),
        Expect::Bundle { .. } => None,
        Expect::Identities { .. } => Some((crate::limits::MAX_IDENTITIES_BYTES, "identities document")),
        Expect::Account { .. } => Some((crate::limits::MAX_ACCOUNT_BYTES, "account document")),
    }
}

/// Parses every inventoried member that passed the zip checks (so it is within the limits)
/// and checks it is the type and id the manifest records.
fn check_members(path: &std::path::Path, members: &[&Inventoried], limits: &ZipLimits) -> Findings {
    let mut found = Vec::new();
    if members.is_empty() {
        return found;
    }
    let archive = std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| e.to_string()));
    let mut archive = match archive {
        Ok(a) => a,
        Err(e) => {
            found.push((ProblemKind::MalformedZip, format!("not a well-formed zip: {e}")));
            return found;
        }
    };
    for m in members {
        let bytes = archive.by_name(&m.path).map_err(|e| e.to_string()).and_then(|entry| {
            let mut body = Vec::new();
            entry
                .take(limits.max_member_bytes)
                .read_to_end(&mut body)
                .map(|_| body)
                .map_err(|e| e.to_string())
        });
        match bytes {
            Err(e) => found.push((ProblemKind::CorruptMember, format!("member {}: {e}", m.path))),
            Ok(bytes) => {
                if let Err(why) = member::check_bytes(&m.member_type, &m.id, &bytes) {
                    found.push((ProblemKind::InvalidMember, format!("member {}: {why}", m.path)));
                }
            }
        }
    }
    found
}

fn check_content(path: &std::path::Path, expect: &Expect, limits: &ZipLimits) -> Findings {
    let mut found = Vec::new();
    let parse_doc = |what: &str| -> Result<serde_json::Value, String> {
        let limit = document_limit(expect).map_or(crate::limits::MAX_MEMBER_BYTES, |(l, _)| l);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > limit {
            return Err(crate::limits::too_large_text(what, None, limit));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("the {what} document does not parse: {e}"))
    };
    match expect {
        Expect::Bundle { zip: false, .. } => {
            if let Err(e) = parse_doc("CloudFormation") {
                found.push((ProblemKind::BadDocument, e));
            }
        }
        Expect::Bundle { members, requested, .. } => {
            let inspection = zip_check::inspect(path, limits);
            found.extend(inspection.problems.iter().map(|p| (p.kind.into(), p.message.clone())));
            let recorded: BTreeMap<&str, &str> = members.iter().map(|m| (m.path.as_str(), m.sha256.as_str())).collect();
            let damaged = !inspection.problems.is_empty();
            let mut to_parse = Vec::new();
            for m in members {
                match member::check_entry(&m.path, &m.member_type, &m.id) {
                    Err(why) => found.push((ProblemKind::UnsafeMember, why)),
                    Ok(()) if inspection.hashes.get(&m.path) == Some(&m.sha256) => to_parse.push(m),
                    Ok(()) => {}
                }
            }
            let listed: std::collections::BTreeSet<String> =
                members.iter().map(|m| format!("{}/{}", m.member_type, m.id)).collect();
            // A bundle without an inventory (an older manifest) has nothing to compare.
            for r in requested.iter().filter(|_| !members.is_empty()) {
                if !listed.contains(r) {
                    found.push((
                        ProblemKind::MemberMissing,
                        format!("the bundle was exported for {r}, but the inventory has no member for it"),
                    ));
                }
            }
            found.extend(check_members(path, &to_parse, limits));
            for (p, sha) in &recorded {
                match inspection.hashes.get(*p) {
                    Some(actual) if actual == sha => {}
                    Some(actual) => found.push((
                        ProblemKind::MemberMismatch,
                        format!("member {p} has SHA-256 {actual}, the inventory records {sha}"),
                    )),
                    // Already explained by a problem above when the archive is damaged.
                    None if damaged => {}
                    None => found.push((
                        ProblemKind::MemberMissing,
                        format!("member {p} is in the inventory but not in the bundle"),
                    )),
                }
            }
            for p in inspection.hashes.keys() {
                let inventoried_shape = p.rsplit_once('/').is_some_and(|(_, file)| file.ends_with(".json"));
                if inventoried_shape && !recorded.contains_key(p.as_str()) {
                    found.push((
                        ProblemKind::UnexpectedMember,
                        format!("member {p} is in the bundle but not in the inventory"),
                    ));
                }
            }
        }
        Expect::Identities { account_id, .. } => match parse_doc("identities") {
            Err(e) => found.push((ProblemKind::BadDocument, e)),
            Ok(v) => match serde_json::from_value::<IdentitySnapshot>(v) {
                Err(e) => found.push((ProblemKind::BadDocument, format!("not an identity snapshot: {e}"))),
                Ok(s) if &s.account_id != account_id => found.push((
                    ProblemKind::BadDocument,
                    format!(
                        "identities of account {}, the snapshot is of {account_id}",
                        s.account_id
                    ),
                )),
                Ok(_) => {}
            },
        },
        Expect::Account { account_id, .. } => match parse_doc("account") {
            Err(e) => found.push((ProblemKind::BadDocument, e)),
            Ok(v) => match serde_json::from_value::<AccountSnapshot>(v) {
                Err(e) => found.push((ProblemKind::BadDocument, format!("not an account snapshot: {e}"))),
                Ok(s) if &s.account_id != account_id => found.push((
                    ProblemKind::BadDocument,
                    format!("settings of account {}, the snapshot is of {account_id}", s.account_id),
                )),
                Ok(_) => {}
            },
        },
    }
    found
}

/// Verifies `manifests`; `unreadable` are manifests that could not be loaded (key, why).
pub async fn verify(
    repo: &Repository,
    manifests: &[SnapshotManifest],
    unreadable: &[(String, String)],
    options: &VerifyOptions,
) -> VerifyReport {
    let mut report = VerifyReport {
        snapshots: manifests.iter().map(|m| m.id.clone()).collect(),
        ..Default::default()
    };
    for (key, why) in unreadable {
        report.problems.push(Problem {
            snapshot: crate::repository::snapshots::id_from_key(key)
                .unwrap_or(key)
                .to_string(),
            key: key.clone(),
            kind: ProblemKind::UnreadableManifest,
            message: why.clone(),
        });
    }
    let mut users: HashMap<Expect, Vec<String>> = HashMap::new();
    let mut order: Vec<Expect> = Vec::new();
    for m in manifests {
        for e in expectations(m) {
            let entry = users.entry(e.clone()).or_default();
            if entry.is_empty() {
                order.push(e);
            }
            entry.push(m.id.clone());
        }
    }
    let limits = &options.limits;
    let results: Vec<(Expect, Findings, u64)> = futures::stream::iter(order)
        .map(|e| async move {
            let (found, bytes) = check(repo, &e, limits).await;
            (e, found, bytes)
        })
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    for (e, found, bytes) in results {
        report.objects += 1;
        report.bytes += bytes;
        for snapshot in users.get(&e).into_iter().flatten() {
            for (kind, message) in &found {
                report.problems.push(Problem {
                    snapshot: snapshot.clone(),
                    key: e.object().key.clone(),
                    kind: *kind,
                    message: message.clone(),
                });
            }
        }
    }
    report
        .problems
        .sort_by(|a, b| (&a.snapshot, &a.key).cmp(&(&b.snapshot, &b.key)));
    report
}

/// Loads and verifies one snapshot by reference (`latest`, id, prefix) among those `filter`
/// selects, in the repository `lock` locks (shared: a prune must not delete what is being read).
pub async fn verify_one(
    lock: &SharedLock,
    reference: &str,
    filter: &SnapshotFilter,
    options: &VerifyOptions,
) -> Result<VerifyReport, Error> {
    let repo = lock.repository();
    if !filter.is_empty() {
        let m = crate::repository::snapshots::load_in(repo, reference, filter).await?;
        return Ok(verify(repo, std::slice::from_ref(&m), &[], options).await);
    }
    let id = crate::repository::snapshots::resolve(repo, reference).await?;
    match SnapshotManifest::load(repo, &id).await {
        Ok(m) => Ok(verify(repo, std::slice::from_ref(&m), &[], options).await),
        Err(e) => Ok(verify(
            repo,
            &[],
            &[(crate::repository::manifest::manifest_key(&id), e.to_string())],
            options,
        )
        .await),
    }
}

/// Verifies every snapshot `filter` selects of the repository `lock` locks (and names every
/// manifest that cannot be read: it may be one of them).
pub async fn verify_all(
    lock: &SharedLock,
    filter: &SnapshotFilter,
    options: &VerifyOptions,
) -> Result<VerifyReport, Error> {
    let repo = lock.repository();
    let mut loaded = crate::repository::snapshots::load_all(repo).await?;
    filter.retain(&mut loaded);
    Ok(verify(repo, &loaded.manifests, &loaded.unreadable, options).await)
}

#[cfg(test)]
mod tests;
