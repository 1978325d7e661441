//! The drill's teardown: deleting from the target exactly what the drill's restore created,
//! by the restore's own record. Assets it planned to create (whether or not their import
//! succeeded: a failed job may leave one behind) and identities its identity step created; never
//! an asset it updated, kept or skipped, nor an identity that was already there. Dependents go
//! before what they depend on (dashboards, analyses, datasets, data sources, VPC connections,
//! themes, then folders, deepest first), memberships before users and groups, namespaces last.
//! An asset already gone counts as removed. The SDK retries throttled calls.

use crate::asset::AssetType;
use crate::aws::{error_code, AwsContext};
use crate::restore::identities::apply::{IdentityOutcome, ItemOutcome};
use crate::restore::plan::Decision;
use crate::restore::RestoreReport;
use aws_sdk_quicksight::types::MemberType;
use aws_sdk_quicksight::Client;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Delete calls in flight at once.
const CONCURRENCY: usize = 8;

/// What the teardown did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TeardownReport {
    pub seconds: f64,
    /// Objects deleted.
    pub deleted: usize,
    /// Objects the restore created that were gone already.
    pub already_gone: usize,
    /// Objects that could not be deleted, with why: they are still in the target.
    pub failed: Vec<TeardownFailure>,
}

/// One object the teardown could not delete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeardownFailure {
    /// `dashboard/ID`, `user default/NAME`, ...
    pub object: String,
    pub message: String,
}

enum Gone {
    Deleted,
    AlreadyGone,
}

/// One thing to delete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Asset(AssetType, String),
    Membership {
        namespace: String,
        group: String,
        user: String,
    },
    User {
        namespace: String,
        name: String,
    },
    Group {
        namespace: String,
        name: String,
    },
    Namespace(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Asset(t, id) => write!(f, "{t}/{id}"),
            Target::Membership { namespace, group, user } => write!(f, "membership {namespace}/{group}/{user}"),
            Target::User { namespace, name } => write!(f, "user {namespace}/{name}"),
            Target::Group { namespace, name } => write!(f, "group {namespace}/{name}"),
            Target::Namespace(n) => write!(f, "namespace {n}"),
        }
    }
}

/// The order in which types are deleted: what refers to others first.
const ASSET_ORDER: [AssetType; 7] = [
    AssetType::Dashboard,
    AssetType::Analysis,
    AssetType::DataSet,
    AssetType::DataSource,
    AssetType::VpcConnection,
    AssetType::Theme,
    AssetType::Folder,
];

/// The stages of the teardown, each finished before the next begins.
fn stages(report: &RestoreReport) -> Vec<Vec<Target>> {
    let created: Vec<(AssetType, String)> = report
        .assets
        .iter()
        .filter(|a| a.decision == Decision::Create)
        .map(|a| (a.asset.asset_type, a.target_id.clone()))
        .collect();
    let mut out: Vec<Vec<Target>> = ASSET_ORDER
        .iter()
        .filter(|t| **t != AssetType::Folder)
        .map(|t| {
            created
                .iter()
                .filter(|(ct, _)| ct == t)
                .map(|(ct, id)| Target::Asset(*ct, id.clone()))
                .collect()
        })
        .collect();
    // Folders go one at a time, in passes (see `run`): a parent is refused while it has children.
    out.push(
        created
            .iter()
            .filter(|(t, _)| *t == AssetType::Folder)
            .map(|(t, id)| Target::Asset(*t, id.clone()))
            .collect(),
    );
    if let Some(ids) = &report.identities {
        out.extend(identity_stages(ids));
    }
    out.retain(|s| !s.is_empty());
    out
}

fn identity_stages(ids: &IdentityOutcome) -> Vec<Vec<Target>> {
    let created = |kind: &'static str| {
        ids.items
            .iter()
            .filter(move |i| i.kind == kind && i.outcome == ItemOutcome::Created)
    };
    let users: BTreeSet<(String, String)> = created("user").map(|i| (i.namespace.clone(), i.name.clone())).collect();
    let groups: BTreeSet<(String, String)> = created("group")
        .map(|i| (i.namespace.clone(), i.name.clone()))
        .collect();
    let namespaces: BTreeSet<String> = created("namespace").map(|i| i.name.clone()).collect();
    // A membership goes with its user or group when either was created; only one joining two
    // identities that were there before needs its own call.
    let memberships = created("membership")
        .filter_map(|i| {
            let (group, user) = i.name.split_once('/')?;
            let ns = i.namespace.clone();
            let implied = users.contains(&(ns.clone(), user.to_string()))
                || groups.contains(&(ns.clone(), group.to_string()))
                || namespaces.contains(&ns);
            (!implied).then(|| Target::Membership {
                namespace: ns,
                group: group.to_string(),
                user: user.to_string(),
            })
        })
        .collect();
    let in_created_namespace = |ns: &String| namespaces.contains(ns);
    vec![
        memberships,
        users
            .iter()
            .filter(|(ns, _)| !in_created_namespace(ns))
            .map(|(namespace, name)| Target::User {
                namespace: namespace.clone(),
                name: name.clone(),
            })
            .collect(),
        groups
            .iter()
            .filter(|(ns, _)| !in_created_namespace(ns))
            .map(|(namespace, name)| Target::Group {
                namespace: namespace.clone(),
                name: name.clone(),
            })
            .collect(),
        namespaces.into_iter().map(Target::Namespace).collect(),
    ]
}

/// How many assets and identities the teardown of `report` deletes.
pub fn count(report: &RestoreReport) -> usize {
    stages(report).iter().map(Vec::len).sum()
}

/// Deletes what the restore of `report` created in `target`.
pub async fn teardown(target: &AwsContext, report: &RestoreReport) -> TeardownReport {
    let started = std::time::Instant::now();
    let mut out = TeardownReport::default();
    for stage in stages(report) {
        let folders = matches!(stage.first(), Some(Target::Asset(AssetType::Folder, _)));
        let mut pending = stage;
        loop {
            let before = pending.len();
            let results: Vec<(Target, Result<Gone, String>)> =
                futures::stream::iter(pending.into_iter().map(|t| async {
                    let r = delete(target, &t).await;
                    (t, r)
                }))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut refused = Vec::new();
            for (t, r) in results {
                match r {
                    Ok(Gone::Deleted) => out.deleted += 1,
                    Ok(Gone::AlreadyGone) => out.already_gone += 1,
                    Err(message) => refused.push((t, message)),
                }
            }
            // A folder refused while its subfolders were still there goes in the next pass, as
            // long as a pass deletes something.
            if folders && !refused.is_empty() && refused.len() < before {
                pending = refused.into_iter().map(|(t, _)| t).collect();
                continue;
            }
            out.failed
                .extend(refused.into_iter().map(|(t, message)| TeardownFailure {
                    object: t.to_string(),
                    message,
                }));
            break;
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    out
}

/// Takes every asset out of a folder the drill created (QuickSight deletes only empty
/// folders). The memberships in it are the drill's own: the folder did not exist before.
/// Subfolders stay: they go in an earlier pass, deepest first.
async fn empty_folder(target: &AwsContext, id: &str) -> Result<(), String> {
    let qs = &target.quicksight;
    let account = target.account_id.as_str();
    let members = qs
        .list_folder_members()
        .aws_account_id(account)
        .folder_id(id)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    for m in members {
        let m = match m {
            Ok(m) => m,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(()),
            Err(e) => return Err(crate::aws::service_error("ListFolderMembers", id.to_string(), &e).to_string()),
        };
        let Some(arn) = m.member_arn() else { continue };
        let Some((kind, member_id)) = arn.rsplit(':').next().and_then(|r| r.split_once('/')) else {
            continue;
        };
        let member_type = match kind {
            "dashboard" => MemberType::Dashboard,
            "analysis" => MemberType::Analysis,
            "dataset" => MemberType::Dataset,
            "datasource" => MemberType::Datasource,
            "topic" => MemberType::Topic,
            // Subfolders are deleted themselves, before their parent.
            _ => continue,
        };
        let removed = qs
            .delete_folder_membership()
            .aws_account_id(account)
            .folder_id(id)
            .member_id(member_id)
            .member_type(member_type)
            .send()
            .await;
        match removed {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
            Err(e) => {
                return Err(crate::aws::service_error("DeleteFolderMembership", format!("{id} {arn}"), &e).to_string())
            }
        }
    }
    Ok(())
}

async fn delete(target: &AwsContext, t: &Target) -> Result<Gone, String> {
    let account = target.account_id.as_str();
    let qs: &Client = &target.quicksight;
    let ids: &Client = &target.identity_quicksight;
    macro_rules! answer {
        ($op:literal, $call:expr) => {
            match $call.await {
                Ok(_) => Ok(Gone::Deleted),
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Gone::AlreadyGone),
                Err(e) => Err(crate::aws::service_error($op, t.to_string(), &e).to_string()),
            }
        };
    }
    match t {
        Target::Asset(kind, id) => match kind {
            AssetType::Dashboard => answer!(
                "DeleteDashboard",
                qs.delete_dashboard().aws_account_id(account).dashboard_id(id).send()
            ),
            // Without force, QuickSight keeps a deleted analysis for a recovery window under its
            // id; the drill's copy is not worth recovering and would block the next drill.
            AssetType::Analysis => answer!(
                "DeleteAnalysis",
                qs.delete_analysis()
                    .aws_account_id(account)
                    .analysis_id(id)
                    .force_delete_without_recovery(true)
                    .send()
            ),
            AssetType::DataSet => answer!(
                "DeleteDataSet",
                qs.delete_data_set().aws_account_id(account).data_set_id(id).send()
            ),
            AssetType::DataSource => answer!(
                "DeleteDataSource",
                qs.delete_data_source()
                    .aws_account_id(account)
                    .data_source_id(id)
                    .send()
            ),
            AssetType::VpcConnection => answer!(
                "DeleteVPCConnection",
                qs.delete_vpc_connection()
                    .aws_account_id(account)
                    .vpc_connection_id(id)
                    .send()
            ),
            AssetType::Theme => answer!(
                "DeleteTheme",
                qs.delete_theme().aws_account_id(account).theme_id(id).send()
            ),
            AssetType::Folder => {
                empty_folder(target, id).await?;
                answer!(
                    "DeleteFolder",
                    qs.delete_folder().aws_account_id(account).folder_id(id).send()
                )
            }
        },
        Target::Membership { namespace, group, user } => answer!(
            "DeleteGroupMembership",
            ids.delete_group_membership()
                .aws_account_id(account)
                .namespace(namespace)
                .group_name(group)
                .member_name(user)
                .send()
        ),
        Target::User { namespace, name } => answer!(
            "DeleteUser",
            ids.delete_user()
                .aws_account_id(account)
                .namespace(namespace)
                .user_name(name)
                .send()
        ),
        Target::Group { namespace, name } => answer!(
            "DeleteGroup",
            ids.delete_group()
                .aws_account_id(account)
                .namespace(namespace)
                .group_name(name)
                .send()
        ),
        Target::Namespace(name) => answer!(
            "DeleteNamespace",
            ids.delete_namespace().aws_account_id(account).namespace(name).send()
        ),
    }
}
