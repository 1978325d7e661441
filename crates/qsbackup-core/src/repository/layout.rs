//! The repository layout: every kind of object qsbackup writes, the key it lives at and, for the
//! records read back, the type it holds (as rustic's `FileType`/`RepoFile`). No other module
//! spells a prefix; they ask here for a key, and read and write records through
//! [`Repository::read_record`] and [`Repository::write_record`], which bound the read
//! ([`crate::limits`]) and refuse a record written by a newer qsbackup.
//!
//! ```text
//! <date-prefix>/<type>/<file>.zip   bundles, as exported (the AWS sample tool's layout)
//! snapshots/<id>.json               snapshot manifests: a snapshot exists iff its manifest does
//! trash/<id>.json                   manifests of forgotten snapshots, until prune
//! identities/<id>.json              users, groups and memberships of a snapshot
//! account/<id>.json                 account settings of a snapshot
//! locks/<token>-<n>.json            one object per lock holder and renewal (and the dry run's
//!                                   write probe)
//! journal/<run-id>/<record>.json    progress of a running backup, for resuming after a crash
//! runs/<run-id>/…                   state of a scheduled (Step Functions) run
//! tmp/<random>.part                 staging of multipart uploads
//! restore-staging/<id>/job-<n>.zip  bundles a restore stages for S3Uri imports
//! drills/<id>.json                  results of recovery drills (`qsbackup drill`)
//! ```

use crate::asset::AssetType;
use crate::error::{Error, Result};
use crate::repository::{ObjectRef, Repository};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Snapshot manifests.
pub const SNAPSHOTS: &str = "snapshots/";
/// Manifests of forgotten snapshots, until prune deletes what only they referenced.
pub const TRASH: &str = "trash/";
/// Identities documents.
pub const IDENTITIES: &str = "identities/";
/// Account documents.
pub const ACCOUNT: &str = "account/";
/// The repository lock's objects.
pub const LOCKS: &str = "locks/";
/// Progress journals of backup runs.
pub const JOURNAL: &str = "journal/";
/// State of scheduled runs.
pub const RUNS: &str = "runs/";
/// Staging of streamed uploads.
pub const TMP: &str = "tmp/";
/// Bundles a restore stages for `S3Uri` imports.
pub const RESTORE_STAGING: &str = "restore-staging/";

/// Results of recovery drills.
pub const DRILLS: &str = "drills/";

/// HTML reports written beside snapshots (`report.html: true`).
pub const REPORTS: &str = "reports/";

/// Outcomes of the organization workflow's runs, one record each; kept (prune leaves them).
pub const ORGANIZATION_RUNS: &str = "organization-runs/";

/// The schema version this qsbackup writes into records that outlive a release. A record
/// without one was written before versions existed and reads as version 1.
pub const SCHEMA_VERSION: u32 = 1;

/// The serde default of a record's `schema` field.
pub fn schema_v1() -> u32 {
    1
}

/// Every kind of object in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Bundle,
    Snapshot,
    Trash,
    Identities,
    Account,
    Lock,
    Journal,
    Run,
    Staging,
    RestoreStaging,
    Drill,
    Report,
    OrganizationRun,
}

impl ObjectKind {
    /// Where objects of this kind live; bundles go under the configured date prefix instead.
    pub const fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Bundle => "",
            ObjectKind::Snapshot => SNAPSHOTS,
            ObjectKind::Trash => TRASH,
            ObjectKind::Identities => IDENTITIES,
            ObjectKind::Account => ACCOUNT,
            ObjectKind::Lock => LOCKS,
            ObjectKind::Journal => JOURNAL,
            ObjectKind::Run => RUNS,
            ObjectKind::Staging => TMP,
            ObjectKind::RestoreStaging => RESTORE_STAGING,
            ObjectKind::Drill => DRILLS,
            ObjectKind::Report => REPORTS,
            ObjectKind::OrganizationRun => ORGANIZATION_RUNS,
        }
    }
}

/// `<date_prefix>/<type>/<type>[_bundle_<n>]-<tag>.<ext>`, `tag` from [`bundle_tag`].
pub fn bundle_key(date_prefix: &str, asset_type: AssetType, number: Option<usize>, tag: &str, ext: &str) -> String {
    let t = asset_type.as_str();
    let file = match number {
        None => format!("{t}-{tag}.{ext}"),
        Some(n) => format!("{t}_bundle_{n}-{tag}.{ext}"),
    };
    format!("{}/{t}/{file}", date_prefix.trim_matches('/'))
}

/// The last part of a run's bundle names: `<account>-<region>-<HHMMSS>` of its start. The
/// sample tool's names end in `-<HHMMSS>` alone; one repository holding several accounts and
/// regions, backed up at the same second, needs the account and region too, since objects
/// are never overwritten.
pub fn bundle_tag(account_id: &str, region: &str, started_at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{account_id}-{region}-{}", started_at.format("%H%M%S"))
}

/// The manifest key of snapshot `id`.
pub fn snapshot_key(id: &str) -> String {
    format!("{SNAPSHOTS}{id}.json")
}

/// The snapshot id of the manifest at `key`, if `key` is one.
pub fn snapshot_id(key: &str) -> Option<&str> {
    let id = key.strip_prefix(SNAPSHOTS)?.strip_suffix(".json")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Where forgotten snapshot `id`'s manifest waits for prune.
pub fn trash_key(id: &str) -> String {
    format!("{TRASH}{id}.json")
}

/// The identities document of snapshot `id`.
pub fn identities_key(id: &str) -> String {
    format!("{IDENTITIES}{id}.json")
}

/// The account document of snapshot `id`.
pub fn account_key(id: &str) -> String {
    format!("{ACCOUNT}{id}.json")
}

/// Renewal `n` of lock holder `token`.
pub fn lock_key(token: &str, n: u64) -> String {
    format!("{LOCKS}{token}-{n:010}.json")
}

/// `(token, n)` of a lock object this version writes; `None` for other keys (objects of the
/// older generation-numbered lock are still read as locks, see [`is_lock_key`]).
pub fn lock_holder(key: &str) -> Option<(&str, u64)> {
    let name = key.strip_prefix(LOCKS)?.strip_suffix(".json")?;
    let (token, n) = name.rsplit_once('-')?;
    Some((token, n.parse().ok()?))
}

/// Whether `key` is a lock object of any version (not the dry run's probe).
pub fn is_lock_key(key: &str) -> bool {
    key.strip_prefix(LOCKS)
        .is_some_and(|name| name.ends_with(".json") && !name.starts_with('.') && !name.contains('/'))
}

/// The object a dry run writes and deletes to prove the repository is writable; under `locks/`
/// so prune and verify never mistake it for data.
pub fn dry_run_probe_key(pid: u32) -> String {
    format!("{LOCKS}.dry-run-probe-{pid}")
}

/// Every journal object of run `run_id`.
pub fn journal_prefix(run_id: &str) -> String {
    format!("{JOURNAL}{run_id}/")
}

/// Journal record `name` (`run`, `job-<id>`, ...) of run `run_id`.
pub fn journal_key(run_id: &str, name: &str) -> String {
    format!("{}{name}.json", journal_prefix(run_id))
}

/// The run a journal object belongs to.
pub fn journal_run_of(key: &str) -> Option<&str> {
    key.strip_prefix(JOURNAL)?.split_once('/').map(|(run, _)| run)
}

/// Every state object of scheduled run `run_id`.
pub fn run_prefix(run_id: &str) -> String {
    format!("{RUNS}{run_id}/")
}

/// `runs/<run-id>/target.json`: the account and region a run of a config listing several
/// accounts backs up, so every later step of the run reaches the same one.
pub fn run_target_key(run_id: &str) -> String {
    format!("{}target.json", run_prefix(run_id))
}

/// `organization-runs/<id>.json`: every target's outcome of one organization run.
pub fn organization_run_key(id: &str) -> String {
    format!("{ORGANIZATION_RUNS}{id}.json")
}

/// `organization-runs/<id>/<account>-<region>.json`: one target's outcome, written by its own
/// run when it commits or aborts.
pub fn organization_target_key(id: &str, account_id: &str, region: &str) -> String {
    format!("{ORGANIZATION_RUNS}{id}/{account_id}-{region}.json")
}

/// `runs/<run-id>/run.json`: the run record.
pub fn run_record_key(run_id: &str) -> String {
    format!("{}run.json", run_prefix(run_id))
}

/// `runs/<run-id>/plan.json`: the plan.
pub fn run_plan_key(run_id: &str) -> String {
    format!("{}plan.json", run_prefix(run_id))
}

/// `runs/<run-id>/sections.json`: what the identities and account sections stored.
pub fn run_sections_key(run_id: &str) -> String {
    format!("{}sections.json", run_prefix(run_id))
}

/// `runs/<run-id>/bundles/<n>.json`: what became of planned bundle `n`.
pub fn run_bundle_key(run_id: &str, bundle: usize) -> String {
    format!("{}bundles/{bundle:05}.json", run_prefix(run_id))
}

/// Whether `key` is a bundle result of some scheduled run.
pub fn is_run_bundle_key(key: &str) -> bool {
    key.strip_prefix(RUNS)
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, rest)| rest.starts_with("bundles/"))
}

/// A fresh staging key for a multipart upload.
pub fn staging_key() -> String {
    format!("{TMP}{}.part", hex::encode(rand::random::<[u8; 12]>()))
}

/// Where restore `restore_id` stages the bundle of import job `number`.
pub fn restore_staging_key(restore_id: &str, number: usize) -> String {
    format!("{RESTORE_STAGING}{restore_id}/job-{number}.zip")
}

/// `drills/<id>.json`.
pub fn drill_key(id: &str) -> String {
    format!("{DRILLS}{id}.json")
}

/// `reports/<snapshot id>.html`: the repository's history as it stood when that snapshot was
/// committed.
pub fn report_key(snapshot_id: &str) -> String {
    format!("{REPORTS}{snapshot_id}.html")
}

/// The drill id of a drill record's key.
pub fn drill_id(key: &str) -> Option<&str> {
    key.strip_prefix(DRILLS)?.strip_suffix(".json")
}

/// A record qsbackup writes and reads back as JSON.
pub trait RepoFile: Serialize + DeserializeOwned {
    /// The kind of object it is; its key starts with the kind's prefix.
    const KIND: ObjectKind;
    /// What it is called in errors (`snapshot manifest`).
    const WHAT: &'static str;
    /// The largest such record qsbackup reads.
    const MAX_BYTES: u64 = SMALL_RECORD_BYTES;
}

/// Bound of the bookkeeping records (journal, run state): a plan lists each asset in about
/// 200 bytes, so the largest accounts' stay far below it.
const SMALL_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// The version a record says it was written with, read before the record itself so a newer
/// record is refused with its version rather than with whatever field it changed.
#[derive(Deserialize)]
struct SchemaProbe {
    #[serde(default = "schema_v1")]
    schema: u32,
}

/// Refuses a record of schema `found` at `key` when it is newer than this qsbackup writes.
pub fn check_schema(key: &str, what: &'static str, found: u32) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(Error::UnsupportedSchema {
            key: key.to_string(),
            what,
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

impl Repository {
    /// Reads the record at `key`: size-capped, version-checked, parsed.
    pub async fn read_record<T: RepoFile>(&self, key: &str) -> Result<T> {
        let bytes = self.get_capped(key, T::MAX_BYTES, T::WHAT).await?;
        parse_record(self, key, &bytes)
    }

    /// Writes `record` at `key`, create-only ([`Error::AlreadyExists`] when something is there).
    pub async fn write_record<T: RepoFile>(&self, key: &str, record: &T) -> Result<ObjectRef> {
        debug_assert!(key.starts_with(T::KIND.prefix()), "{key} is not a {}", T::WHAT);
        let json = serde_json::to_vec_pretty(record).map_err(|source| Error::Json {
            context: format!("{} {key}", T::WHAT),
            source,
        })?;
        self.put_create(key, Bytes::from(json)).await
    }

    /// Writes `record` at `key` unless a record is there already; `false` then (a retried step
    /// finds what its first attempt wrote).
    pub async fn write_record_once<T: RepoFile>(&self, key: &str, record: &T) -> Result<bool> {
        match self.write_record(key, record).await {
            Ok(_) => Ok(true),
            Err(Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The record at `key`, `None` when there is none.
    pub async fn read_record_if_any<T: RepoFile>(&self, key: &str) -> Result<Option<T>> {
        match self.head(key).await? {
            None => Ok(None),
            Some(_) => self.read_record(key).await.map(Some),
        }
    }
}

/// Parses the bytes of a record read from `key`.
pub fn parse_record<T: RepoFile>(repo: &Repository, key: &str, bytes: &[u8]) -> Result<T> {
    let json = |source| Error::Json {
        context: format!("{key} in {}", repo.location()),
        source,
    };
    let probe: SchemaProbe = serde_json::from_slice(bytes).map_err(json)?;
    check_schema(key, T::WHAT, probe.schema)?;
    serde_json::from_slice(bytes).map_err(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::state::BundleResult;
    use object_store::memory::InMemory;
    use std::sync::Arc;

    #[test]
    fn targets_backed_up_at_the_same_second_write_different_bundle_keys() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T11:58:29Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let key = |account: &str, region: &str| {
            bundle_key(
                "2026/12/03",
                AssetType::Dashboard,
                None,
                &bundle_tag(account, region, at),
                "zip",
            )
        };
        assert_eq!(
            key("111111111111", "us-east-1"),
            "2026/12/03/dashboard/dashboard-111111111111-us-east-1-115829.zip"
        );
        let keys: std::collections::BTreeSet<String> = [
            key("111111111111", "us-east-1"),
            key("111111111111", "eu-west-1"),
            key("222222222222", "us-east-1"),
        ]
        .into();
        assert_eq!(keys.len(), 3, "{keys:?}");
    }

    #[tokio::test]
    async fn records_of_a_newer_schema_are_refused_and_unversioned_ones_read() {
        let repo = Repository::from_store(Arc::new(InMemory::new()), "memory://layout");
        let key = run_bundle_key("r1", 0);
        repo.put_create(
            &key,
            Bytes::from_static(b"{\"bundles\":[],\"failed\":[],\"skipped\":[],\"notes\":[]}"),
        )
        .await
        .unwrap();
        let old: BundleResult = repo.read_record(&key).await.expect("a record from before versions");
        assert_eq!(old.schema, SCHEMA_VERSION);
        let newer = run_bundle_key("r1", 1);
        repo.put_create(&newer, Bytes::from_static(b"{\"schema\":2,\"changed\":true}"))
            .await
            .unwrap();
        let err = repo
            .read_record::<BundleResult>(&newer)
            .await
            .expect_err("newer schema");
        assert!(
            matches!(
                err,
                Error::UnsupportedSchema {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("newer qsbackup"), "{err}");
    }

    #[test]
    fn keys_and_their_parsers_agree() {
        assert_eq!(
            snapshot_id(&snapshot_key("20261128T072100Z-abcdef")),
            Some("20261128T072100Z-abcdef")
        );
        assert_eq!(journal_run_of(&journal_key("r9", "run")), Some("r9"));
        assert!(is_run_bundle_key(&run_bundle_key("r9", 3)));
        assert!(!is_run_bundle_key(&run_plan_key("r9")));
        assert!(staging_key().starts_with(ObjectKind::Staging.prefix()));
        assert_eq!(
            drill_id(&drill_key("20261202T100000Z-ab12cd")),
            Some("20261202T100000Z-ab12cd")
        );
    }
}
