//! The non-asset parts of a snapshot, as [`SnapshotSection`]s the backup runs
//! beside the asset export: identities (users, groups and memberships of every
//! namespace, stored as `identities/<id>.json` and, when configured, in the
//! date-suffixed DynamoDB tables) and account configuration (settings,
//! customizations, brands, custom permissions, folders, stored as
//! `account/<id>.json`).

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;

use crate::account_config::{self, AccountSnapshot};
use crate::aws::AwsContext;
use crate::backup::{SectionKind, SnapshotSection};
use crate::config::Config;
use crate::dynamodb::{self, IdentityTablesReport, TableNames};
use crate::error::{Error, Result};
use crate::events::ProgressSink;
use crate::identities::{self, IdentityLimits, IdentitySnapshot};
use crate::repository::manifest::NamespaceCounts;
use crate::repository::{ObjectRef, Repository};

/// Where the identity snapshot of `snapshot_id` lives.
pub fn identities_key(snapshot_id: &str) -> String {
    crate::repository::layout::identities_key(snapshot_id)
}

/// Where the account configuration of `snapshot_id` lives.
pub fn account_key(snapshot_id: &str) -> String {
    crate::repository::layout::account_key(snapshot_id)
}

/// Where `kind`'s object of `snapshot_id` lives.
pub fn section_key(kind: SectionKind, snapshot_id: &str) -> String {
    match kind {
        SectionKind::Identities => identities_key(snapshot_id),
        SectionKind::Account => account_key(snapshot_id),
    }
}

fn section_error(section: SectionKind, message: String) -> Error {
    Error::Section {
        section: section.name().to_string(),
        message,
    }
}

fn to_json<T: serde::Serialize>(value: &T, context: &str) -> Result<Bytes> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|source| Error::Json {
            context: context.to_string(),
            source,
        })
}

/// Read limits for the sections. The SDK clients of [`AwsContext`] already
/// retry throttling, 5xx and connection errors with capped backoff; one more
/// try around them rides out a longer burst without multiplying the worst-case
/// wait of a call that keeps failing.
fn section_limits() -> IdentityLimits {
    let mut limits = IdentityLimits::default();
    limits.retry.max_attempts = 2;
    limits
}

/// What the identities section learned, for the report.
#[derive(Debug, Clone, Default)]
pub struct IdentitiesSummary {
    pub namespaces: usize,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    /// The same, per namespace.
    pub per_namespace: Vec<NamespaceCounts>,
    pub tables: Option<IdentityTablesReport>,
    pub notes: Vec<String>,
}

/// Users, groups and memberships of every namespace, read in the identity region.
pub struct IdentitiesSection {
    quicksight: aws_sdk_quicksight::Client,
    dynamodb: Option<(aws_sdk_dynamodb::Client, TableNames)>,
    account_id: String,
    limits: IdentityLimits,
    summary: Mutex<IdentitiesSummary>,
}

impl IdentitiesSection {
    pub fn new(config: &Config, aws: &AwsContext) -> IdentitiesSection {
        let dynamodb = config.dynamodb.as_ref().map(|d| {
            (
                aws_sdk_dynamodb::Client::new(&aws.home),
                TableNames {
                    users_table_name: d.users_table_name.clone(),
                    groups_table_name: d.groups_table_name.clone(),
                    users_group_table_name: d.users_group_table_name.clone(),
                    table_name_format: d.table_name_format.clone(),
                },
            )
        });
        IdentitiesSection {
            quicksight: aws.identity_quicksight.clone(),
            dynamodb,
            account_id: aws.account_id.clone(),
            limits: section_limits(),
            summary: Mutex::new(IdentitiesSummary::default()),
        }
    }

    /// What the last run of this section found.
    pub fn summary(&self) -> IdentitiesSummary {
        self.summary.lock().map(|s| s.clone()).unwrap_or_default()
    }

    async fn read(&self) -> Result<IdentitySnapshot> {
        identities::snapshot(&self.quicksight, &self.account_id, &self.limits)
            .await
            .map_err(|e| section_error(SectionKind::Identities, e.to_string()))
    }
}

#[async_trait]
impl SnapshotSection for IdentitiesSection {
    fn kind(&self) -> SectionKind {
        SectionKind::Identities
    }

    async fn backup(&self, snapshot_id: &str, repository: &Repository, _sink: &dyn ProgressSink) -> Result<ObjectRef> {
        let snapshot = self.read().await?;
        let object = repository
            .put_create(&identities_key(snapshot_id), to_json(&snapshot, "identity snapshot")?)
            .await?;
        let tables = match &self.dynamodb {
            Some((client, names)) => Some(
                dynamodb::write_identity_tables(client, names, &snapshot, snapshot_id, Utc::now().date_naive())
                    .await
                    .map_err(|e| section_error(SectionKind::Identities, format!("DynamoDB tables: {e}")))?,
            ),
            None => None,
        };
        if let Ok(mut s) = self.summary.lock() {
            *s = IdentitiesSummary {
                namespaces: snapshot.namespaces.len(),
                users: snapshot.user_count(),
                groups: snapshot.group_count(),
                memberships: snapshot.membership_count(),
                per_namespace: snapshot
                    .namespaces
                    .iter()
                    .map(|ns| NamespaceCounts {
                        namespace: ns.name.clone(),
                        users: ns.users.len(),
                        groups: ns.groups.len(),
                        memberships: ns.groups.iter().map(|g| g.members.len()).sum(),
                    })
                    .collect(),
                tables,
                notes: snapshot.notes.clone(),
            };
        }
        Ok(object)
    }

    fn notes(&self) -> Vec<String> {
        self.summary.lock().map(|s| s.notes.clone()).unwrap_or_default()
    }

    fn identity_counts(&self) -> Option<Vec<NamespaceCounts>> {
        self.summary.lock().ok().map(|s| s.per_namespace.clone())
    }
}

/// Account settings, customizations, brands, custom permissions and folders,
/// read in the asset region.
pub struct AccountSection {
    quicksight: aws_sdk_quicksight::Client,
    account_id: String,
    notes: Mutex<Vec<String>>,
}

impl AccountSection {
    pub fn new(aws: &AwsContext) -> AccountSection {
        AccountSection {
            quicksight: aws.quicksight.clone(),
            account_id: aws.account_id.clone(),
            notes: Mutex::new(Vec::new()),
        }
    }

    /// Namespaces whose customization to read. The identities section runs
    /// concurrently, so this lists them itself; when that is denied, the
    /// `default` namespace is read and a note says so.
    async fn namespaces(&self) -> (Vec<String>, Option<String>) {
        let pages = self
            .quicksight
            .list_namespaces()
            .aws_account_id(&self.account_id)
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await;
        match pages {
            Ok(list) if !list.is_empty() => (list.iter().filter_map(|n| n.name().map(str::to_string)).collect(), None),
            Ok(_) => (vec!["default".to_string()], None),
            Err(e) => (
                vec!["default".to_string()],
                Some(format!(
                    "account configuration: namespaces could not be listed ({}); only the default namespace's customization was read",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )),
            ),
        }
    }
}

#[async_trait]
impl SnapshotSection for AccountSection {
    fn kind(&self) -> SectionKind {
        SectionKind::Account
    }

    async fn backup(&self, snapshot_id: &str, repository: &Repository, _sink: &dyn ProgressSink) -> Result<ObjectRef> {
        let (namespaces, namespace_note) = self.namespaces().await;
        let snapshot: AccountSnapshot =
            account_config::snapshot_with_limits(&self.quicksight, &self.account_id, &namespaces, &section_limits())
                .await
                .map_err(|e| section_error(SectionKind::Account, e.to_string()))?;
        if let Ok(mut notes) = self.notes.lock() {
            *notes = namespace_note
                .into_iter()
                .chain(
                    snapshot
                        .unavailable
                        .iter()
                        // A namespace without a customization is recorded in the snapshot, not worth a note.
                        .filter(|u| !u.reason.starts_with("no customization is set"))
                        .map(|u| format!("account configuration: {} could not be read: {}", u.what, u.reason)),
                )
                .collect();
        }
        repository
            .put_create(&account_key(snapshot_id), to_json(&snapshot, "account snapshot")?)
            .await
    }

    fn notes(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }
}
