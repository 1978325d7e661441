//! Backups written by the AWS sample tool, made into snapshots (`qsbackup import-legacy`): its
//! bundles under `<date>/<types>/<types>[_bundle_N]-HHMMSS.zip` in the repository (the tool
//! names type folders in the plural, `datasets/`; our own layout in the singular is accepted
//! too) and its identity tables `YYYY-MM-DD-<base>` in DynamoDB. The bundles stay where they
//! are; each is read back and checksummed, its members inventoried, the identities written as
//! `identities/<id>.json`, and a manifest committed last — then verified, so the snapshot can be
//! listed, verified and restored like one of ours. Before anything is written, every bundle
//! passes the checks `qsbackup verify` runs (unsafe paths, decompression bombs, members that are
//! not what their path says): a backup that verify would refuse is not imported.

use super::RestoreError;
use crate::asset::AssetType;
use crate::config::{ExportFormat, PrefixFormat};
use crate::dynamodb::TableNames;
use crate::error::Error;
use crate::identities::{GroupRecord, IdentitySnapshot, NamespaceSnapshot, UserRecord};
use crate::repository::lock::ExclusiveLock;
use crate::repository::manifest::{new_snapshot_id, BackupMode, BundleRecord, SnapshotManifest, SnapshotStatus};
use crate::repository::verify::zip_check;
use crate::repository::verify::{VerifyOptions, ZipLimits};
use crate::repository::{ObjectRef, Repository};
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The note that marks a snapshot imported from the sample tool's backup of a day.
pub fn marker(date: NaiveDate) -> String {
    format!("legacy-import:{}", date.format("%Y-%m-%d"))
}

/// What to import.
#[derive(Debug, Clone)]
pub struct LegacyImport {
    pub date: NaiveDate,
    pub prefix_format: PrefixFormat,
    pub account_id: String,
    pub region: String,
    pub identity_region: String,
    /// Base names of the identity tables (the `{date}-{base}` form is the sample tool's).
    pub tables: TableNames,
}

/// The imported snapshot.
#[derive(Debug, Clone)]
pub struct LegacyOutcome {
    pub manifest: SnapshotManifest,
    /// Keys under the day's folder that were not imported, with why.
    pub ignored: Vec<(String, String)>,
}

/// The asset type of a type folder of either layout.
pub fn folder_type(folder: &str) -> Option<AssetType> {
    let f = folder.to_ascii_lowercase().replace(['_', '-'], "");
    let plural = if f == "analyses" {
        "analysis".to_string()
    } else {
        f.strip_suffix('s').unwrap_or(&f).to_string()
    };
    AssetType::ALL.into_iter().find(|t| {
        let name = t.as_str().to_ascii_lowercase();
        name == f || name == plural
    })
}

/// `HHMMSS` from `<types>[_bundle_N]-HHMMSS.zip`.
fn file_time(file: &str) -> Option<NaiveTime> {
    let stem = file.strip_suffix(".zip")?;
    let (_, hhmmss) = stem.rsplit_once('-')?;
    NaiveTime::parse_from_str(hhmmss, "%H%M%S").ok()
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn strings(item: &HashMap<String, AttributeValue>, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::Ss(v)) => v.clone(),
        Some(AttributeValue::L(v)) => v
            .iter()
            .filter_map(|x| match x {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn active(item: &HashMap<String, AttributeValue>) -> bool {
    match item.get("active") {
        Some(AttributeValue::Bool(b)) => *b,
        Some(AttributeValue::S(s)) => !s.eq_ignore_ascii_case("false"),
        Some(AttributeValue::N(n)) => n != "0",
        _ => true,
    }
}

async fn scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Option<Vec<HashMap<String, AttributeValue>>>, String> {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "Scan of {table}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ))
            }
        };
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(Some(items)),
        }
    }
}

/// The identity snapshot in the sample tool's tables of `date`, if they exist.
pub async fn read_identity_tables(
    client: &aws_sdk_dynamodb::Client,
    job: &LegacyImport,
    taken_at: DateTime<Utc>,
) -> Result<Option<IdentitySnapshot>, RestoreError> {
    let tables = TableNames {
        table_name_format: "{date}-{base}".into(),
        ..job.tables.clone()
    };
    let names = tables
        .resolve(job.date)
        .map_err(|e| RestoreError::Unsupported(e.to_string()))?;
    let failed = |m: String| RestoreError::Unsupported(format!("reading the identity tables of {}: {m}", job.date));
    let Some(users) = scan(client, &names.users).await.map_err(failed)? else {
        return Ok(None);
    };
    let groups = scan(client, &names.groups).await.map_err(failed)?.unwrap_or_default();
    let memberships = scan(client, &names.memberships)
        .await
        .map_err(failed)?
        .unwrap_or_default();
    let ns_of = |item: &HashMap<String, AttributeValue>| text(item, "namespace").unwrap_or_else(|| "default".into());
    let mut namespaces: BTreeMap<String, NamespaceSnapshot> = BTreeMap::new();
    let mut ns = |name: String| {
        namespaces.entry(name.clone()).or_insert_with(|| {
            let mut n = NamespaceSnapshot::default_only();
            n.name = name;
            n
        });
    };
    for item in users.iter().chain(&groups).chain(&memberships) {
        ns(ns_of(item));
    }
    ns("default".into());
    for item in &users {
        let Some(user_name) = text(item, "user_name") else {
            continue;
        };
        let record = UserRecord {
            user_name,
            arn: text(item, "arn"),
            email: text(item, "email"),
            role: text(item, "role"),
            identity_type: text(item, "identity_type"),
            active: active(item),
            principal_id: text(item, "principal_id"),
            custom_permissions_name: text(item, "custom_permissions_name"),
            external_login_federation_provider_type: text(item, "external_login_federation_provider_type"),
            external_login_federation_provider_url: text(item, "external_login_federation_provider_url"),
            external_login_id: text(item, "external_login_id"),
        };
        if let Some(n) = namespaces.get_mut(&ns_of(item)) {
            n.users.push(record);
        }
    }
    let mut members: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for item in &memberships {
        if let (Some(user), Some(group)) = (text(item, "user_name"), text(item, "group_name")) {
            members.entry((ns_of(item), group)).or_default().insert(user);
        }
    }
    for item in &groups {
        let Some(group_name) = text(item, "group_name") else {
            continue;
        };
        let key = (ns_of(item), group_name.clone());
        let mut all: BTreeSet<String> = strings(item, "members").into_iter().collect();
        all.extend(members.remove(&key).unwrap_or_default());
        let record = GroupRecord {
            group_name,
            arn: text(item, "arn"),
            description: text(item, "description"),
            principal_id: text(item, "principal_id"),
            members: all.into_iter().collect(),
        };
        if let Some(n) = namespaces.get_mut(&key.0) {
            n.groups.push(record);
        }
    }
    let mut snapshot = IdentitySnapshot {
        schema: crate::repository::layout::SCHEMA_VERSION,
        account_id: job.account_id.clone(),
        identity_region: job.identity_region.clone(),
        taken_at,
        namespaces_listed: false,
        namespaces: namespaces.into_values().collect(),
        notes: vec![format!(
            "imported from the DynamoDB tables {}, {} and {}",
            names.users, names.groups, names.memberships
        )],
    };
    snapshot.normalize();
    Ok(Some(snapshot))
}

/// Turns the sample tool's backup of `job.date` into a committed, verified snapshot in the
/// repository `lock` locks (exclusive: it writes a snapshot no backup journal knows of).
pub async fn import_legacy(
    lock: &ExclusiveLock,
    dynamodb: Option<&aws_sdk_dynamodb::Client>,
    job: &LegacyImport,
) -> Result<LegacyOutcome, RestoreError> {
    let repository = lock.repository();
    let mark = marker(job.date);
    let existing = crate::repository::snapshots::load_all(repository).await?;
    if let Some(m) = existing.manifests.iter().find(|m| m.notes.contains(&mark)) {
        return Err(RestoreError::Unsupported(format!(
            "the backup of {} is already imported as snapshot {}",
            job.date, m.id
        )));
    }
    let ours: BTreeSet<String> = existing
        .manifests
        .iter()
        .flat_map(crate::repository::snapshots::referenced_keys)
        .collect();
    let folder = job.prefix_format.format(job.date);
    let mut ignored = Vec::new();
    let mut found: Vec<(String, AssetType, NaiveTime)> = Vec::new();
    for object in repository.list(&format!("{folder}/")).await? {
        let key = object.key;
        let rest = key.strip_prefix(&format!("{folder}/")).unwrap_or(&key);
        let parsed = rest
            .split_once('/')
            .and_then(|(t, file)| Some((folder_type(t)?, file_time(file)?)))
            .filter(|_| rest.ends_with(".zip") && rest.matches('/').count() == 1);
        match parsed {
            _ if ours.contains(&key) => ignored.push((key, "already part of a snapshot".into())),
            Some((t, time)) => found.push((key, t, time)),
            None => ignored.push((key, "not a bundle of the sample tool's layout".into())),
        }
    }
    if found.is_empty() {
        return Err(RestoreError::Unsupported(format!(
            "no bundles of the sample tool's layout under {folder}/ in {} (expected {folder}/<type>/<type>[_bundle_N]-HHMMSS.zip)",
            repository.location()
        )));
    }
    found.sort();
    let at = |t: NaiveTime| job.date.and_time(t).and_utc();
    let started_at = found.iter().map(|f| at(f.2)).min().unwrap_or_else(Utc::now);
    let finished_at = found.iter().map(|f| at(f.2)).max().unwrap_or(started_at);
    let mut bundles = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for (key, asset_type, _) in &found {
        let fetched = crate::repository::bundle_file::fetch(repository, key).await?;
        let object = ObjectRef {
            key: key.clone(),
            size: fetched.size,
            sha256: fetched.sha256.clone(),
        };
        // The zip checks of verify come before any member is inflated for the inventory.
        let inspection = tokio::task::spawn_blocking(move || {
            let found = zip_check::inspect(fetched.file.path(), &ZipLimits::default());
            drop(fetched);
            found
        })
        .await
        .map_err(|e| Error::Bundle {
            key: key.clone(),
            message: format!("checking the bundle failed: {e}"),
        })?;
        if !inspection.problems.is_empty() {
            refused.extend(inspection.problems.iter().map(|p| format!("{key}: {}", p.message)));
            continue;
        }
        // Reads the object again and checks it against what was just hashed.
        let members = crate::backup::download::read_members(repository, &object).await?;
        if members.is_empty() {
            ignored.push((
                key.clone(),
                "no QUICKSIGHT_JSON members (a CloudFormation bundle?)".into(),
            ));
            continue;
        }
        let requested_arns = members
            .iter()
            .filter(|m| m.member_type == asset_type.as_str())
            .map(|m| {
                format!(
                    "arn:{}:quicksight:{}:{}:{asset_type}/{}",
                    crate::config::partition(&job.region),
                    job.region,
                    job.account_id,
                    m.id
                )
            })
            .collect();
        bundles.push(BundleRecord {
            key: key.clone(),
            size: object.size,
            sha256: object.sha256,
            export_job_id: format!(
                "legacy-{}",
                key.rsplit('/').next().unwrap_or(key).trim_end_matches(".zip")
            ),
            asset_type: *asset_type,
            requested_arns,
            members,
        });
    }
    let id = new_snapshot_id(started_at);
    let mut manifest = SnapshotManifest {
        schema: crate::repository::layout::SCHEMA_VERSION,
        id: id.clone(),
        started_at,
        finished_at,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        account_id: job.account_id.clone(),
        region: job.region.clone(),
        identity_region: job.identity_region.clone(),
        mode: BackupMode::AssetsOnly,
        status: SnapshotStatus::Complete,
        export_format: ExportFormat::QuickSightJson,
        include_dependencies: true,
        bundles,
        skipped: Vec::new(),
        failed: Vec::new(),
        identities: None,
        account: None,
        notes: Vec::new(),
        // The sample tool recorded neither its selection nor its caller.
        scope: None,
        host: Some(crate::repository::lock::host_name()),
        caller_arn: None,
        identity_counts: None,
    };
    if refused.is_empty() {
        // Member by member, as verify will: JSON, type and id as the inventory says, safe ids.
        let report = crate::repository::verify::verify(
            repository,
            std::slice::from_ref(&manifest),
            &[],
            &VerifyOptions::default(),
        )
        .await;
        refused.extend(report.problems.iter().map(|p| format!("{}: {}", p.key, p.message)));
    }
    if !refused.is_empty() {
        let shown: Vec<&str> = refused.iter().take(10).map(String::as_str).collect();
        return Err(RestoreError::Unsupported(format!(
            "the backup of {} is not imported: {} problems that `qsbackup verify` would report: {}{}",
            job.date,
            refused.len(),
            shown.join("; "),
            if refused.len() > shown.len() {
                format!("; and {} more", refused.len() - shown.len())
            } else {
                String::new()
            }
        )));
    }
    let mut notes = vec![
        mark,
        format!(
            "imported from the AWS sample tool's backup of {} ({} bundles under {folder}/)",
            job.date,
            manifest.bundles.len()
        ),
    ];
    let identities = match dynamodb {
        Some(client) => read_identity_tables(client, job, started_at).await?,
        None => None,
    };
    if identities.is_none() {
        notes.push(format!(
            "no identity tables of {} were found; the snapshot has no identities",
            job.date
        ));
    }
    let identities = match identities {
        Some(snapshot) => {
            let json = serde_json::to_vec_pretty(&snapshot).map_err(|source| Error::Json {
                context: "legacy identities".into(),
                source,
            })?;
            Some(
                repository
                    .put_create(&crate::repository::layout::identities_key(&id), Bytes::from(json))
                    .await?,
            )
        }
        None => None,
    };
    if identities.is_some() {
        manifest.mode = BackupMode::Full;
    }
    manifest.identities = identities;
    manifest.notes = notes;
    manifest.commit(repository).await?;
    verify(repository, &manifest).await?;
    Ok(LegacyOutcome { manifest, ignored })
}

/// Reads every object of the committed snapshot back against its recorded size and checksum.
async fn verify(repository: &Repository, m: &SnapshotManifest) -> Result<(), Error> {
    let objects = m.bundles.iter().map(BundleRecord::object).chain(m.identities.clone());
    for object in objects {
        let fetched = crate::repository::bundle_file::fetch(repository, &object.key).await?;
        if fetched.size != object.size || fetched.sha256 != object.sha256 {
            return Err(Error::Integrity {
                key: object.key.clone(),
                message: format!(
                    "changed while it was imported: {} bytes, SHA-256 {}",
                    fetched.size, fetched.sha256
                ),
            });
        }
    }
    SnapshotManifest::load(repository, &m.id).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_folders_of_both_layouts() {
        assert_eq!(folder_type("datasets"), Some(AssetType::DataSet));
        assert_eq!(folder_type("dataset"), Some(AssetType::DataSet));
        assert_eq!(folder_type("datasources"), Some(AssetType::DataSource));
        assert_eq!(folder_type("data_sources"), Some(AssetType::DataSource));
        assert_eq!(folder_type("analyses"), Some(AssetType::Analysis));
        assert_eq!(folder_type("analysis"), Some(AssetType::Analysis));
        assert_eq!(folder_type("vpc_connections"), Some(AssetType::VpcConnection));
        assert_eq!(folder_type("vpcConnection"), Some(AssetType::VpcConnection));
        assert_eq!(folder_type("dashboards"), Some(AssetType::Dashboard));
        assert_eq!(folder_type("topics"), None);
        assert_eq!(
            file_time("datasets_bundle_2-071530.zip"),
            NaiveTime::from_hms_opt(7, 15, 30)
        );
        assert_eq!(file_time("datasets-251530.zip"), None);
        assert_eq!(file_time("datasets.zip"), None);
    }
}
