//! The delete operations of every asset type, the analysis recovery window
//! (`DeleteAnalysis` without force, `RestoreAnalysis`) and
//! `DeleteFolderMembership`.
//!
//! What the service model documents is followed: a deleted asset leaves the
//! folders it was in (`Account::remove`), a dataset's refresh schedules go with
//! it, a data source goes even when datasets still use it, `DeleteFolder`
//! deletes only an empty folder, and an analysis deleted without
//! `force-delete-without-recovery` stays visible to the API with `Status`
//! `DELETED` until its recovery window (7 to 30 days, 30 by default) ends.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::assets::{arns, not_found};
use super::Ctx;
use crate::account::{Account, AnalysisDeletion};
use crate::model::{Arns, AssetType, FolderMember};
use crate::wire::{self, ApiError};

const DAY_SECONDS: f64 = 86_400.0;

/// The model's validation error for a query value outside its constraint.
fn validation(value: &str, member: &str, constraint: &str) -> ApiError {
    ApiError::invalid(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

fn query_bool(ctx: &Ctx, name: &str, member: &str) -> Result<Option<bool>, ApiError> {
    match ctx.q(name) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(validation(v, member, "Member must be a boolean")),
    }
}

fn query_int(ctx: &Ctx, name: &str, member: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(v) = ctx.q(name) else {
        return Ok(None);
    };
    let n: i64 = v
        .parse()
        .map_err(|_| validation(v, member, "Member must be an integer"))?;
    if n < min {
        return Err(validation(
            v,
            member,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(validation(
            v,
            member,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(Some(n))
}

/// The response every asset delete shares: the ARN and id of what went.
fn deleted_body(t: AssetType, id: &str, arns: &Arns) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("Arn".into(), json!(arns.asset(t, id)));
    body.insert(t.api_id_field().into(), json!(id));
    body.insert("RequestId".into(), json!(wire::request_id()));
    body
}

/// `DeleteDataSource`, `DeleteDataSet`, `DeleteAnalysis`, `DeleteDashboard`,
/// `DeleteTheme`, `DeleteVPCConnection`, `DeleteFolder` and `DeleteTopic`.
pub fn delete(ctx: &Ctx, t: AssetType, id: &str) -> Result<Response, ApiError> {
    if t == AssetType::Analysis {
        return delete_analysis(ctx, id);
    }
    let arns = arns(ctx);
    // Dashboards and themes can lose one version only; the emulator keeps no
    // content per version, so that leaves the asset as it was.
    let version = match t {
        AssetType::Dashboard | AssetType::Theme => query_int(ctx, "version-number", "versionNumber", 1, i64::MAX)?,
        _ => None,
    };
    ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct.asset(t, id).ok_or_else(|| not_found(t, id, &arns))?;
        if let Some(v) = version {
            if v > a.version {
                return Err(ApiError::not_found(format!(
                    "Version {v} of {} {} not found",
                    t.resource(),
                    arns.asset(t, id)
                )));
            }
            return Ok(());
        }
        if t == AssetType::Folder && !folder_is_empty(acct, id, &arns) {
            return Err(ApiError::new(
                "PreconditionNotMetException",
                format!(
                    "Folder {} is not empty: remove its members and delete its subfolders first.",
                    arns.asset(t, id)
                ),
            ));
        }
        acct.remove(t, id);
        Ok(())
    })?;
    let mut body = deleted_body(t, id, &arns);
    if t == AssetType::VpcConnection {
        body.insert("DeletionStatus".into(), json!("DELETED"));
        body.insert("AvailabilityStatus".into(), json!("UNAVAILABLE"));
    }
    Ok(wire::ok(200, Value::Object(body)))
}

/// No members and no subfolders.
fn folder_is_empty(acct: &Account, id: &str, arns: &Arns) -> bool {
    let me = arns.asset(AssetType::Folder, id);
    let has_members = acct.folder_members.get(id).is_some_and(|m| !m.is_empty());
    let has_subfolders = acct
        .assets_of(AssetType::Folder)
        .any(|f| f.body.get("ParentFolderArn").and_then(Value::as_str) == Some(me.as_str()));
    !has_members && !has_subfolders
}

fn delete_analysis(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let t = AssetType::Analysis;
    let arns = arns(ctx);
    let force = query_bool(ctx, "force-delete-without-recovery", "forceDeleteWithoutRecovery")?.unwrap_or(false);
    let window = query_int(ctx, "recovery-window-in-days", "recoveryWindowInDays", 7, 30)?;
    if force && window.is_some() {
        return Err(ApiError::invalid(
            "RecoveryWindowInDays cannot be used together with ForceDeleteWithoutRecovery.",
        ));
    }
    let now = wire::now_epoch();
    let deletion_time = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        if acct.asset(t, id).is_none() {
            return Err(not_found(t, id, &arns));
        }
        if force {
            acct.remove(t, id);
            return Ok(now);
        }
        // Deleting again keeps the recovery window already running.
        if let Some(d) = acct.analysis_deletions.get(id) {
            return Ok(d.deletion_time);
        }
        let previous_status = acct
            .asset_mut(t, id)
            .and_then(|a| a.body.insert("Status".into(), json!("DELETED")));
        let deletion_time = now + window.unwrap_or(30) as f64 * DAY_SECONDS;
        let folders = acct.folders_of(t, id);
        for f in &folders {
            if let Some(members) = acct.folder_members.get_mut(f) {
                members.retain(|m| !(m.asset_type == t && m.id == id));
            }
        }
        acct.analysis_deletions.insert(
            id.to_string(),
            AnalysisDeletion {
                deletion_time,
                previous_status,
                folders,
            },
        );
        Ok(deletion_time)
    })?;
    let mut body = deleted_body(t, id, &arns);
    body.insert("DeletionTime".into(), json!(deletion_time));
    Ok(wire::ok(200, Value::Object(body)))
}

/// `RestoreAnalysis`: ends the recovery window of a deleted analysis, and with
/// `restore-to-folders=true` puts it back into the folders it was in.
pub fn restore_analysis(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let t = AssetType::Analysis;
    let arns = arns(ctx);
    let to_folders = query_bool(ctx, "restore-to-folders", "restoreToFolders")?.unwrap_or(false);
    let failed = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        if acct.asset(t, id).is_none() {
            return Err(not_found(t, id, &arns));
        }
        let deletion = acct.analysis_deletions.remove(id).ok_or_else(|| {
            ApiError::new(
                "PreconditionNotMetException",
                format!("Analysis {} is not scheduled for deletion.", arns.asset(t, id)),
            )
        })?;
        if let Some(a) = acct.asset_mut(t, id) {
            match deletion.previous_status {
                Some(s) => a.body.insert("Status".into(), s),
                None => a.body.remove("Status"),
            };
        }
        let mut failed = Vec::new();
        if to_folders {
            for f in deletion.folders {
                if acct.asset(AssetType::Folder, &f).is_some() {
                    acct.folder_members.entry(f).or_default().insert(FolderMember {
                        asset_type: t,
                        id: id.to_string(),
                    });
                } else {
                    failed.push(arns.asset(AssetType::Folder, &f));
                }
            }
        }
        Ok(failed)
    })?;
    let mut body = deleted_body(t, id, &arns);
    // The model lists at most one folder here.
    if let Some(first) = failed.into_iter().next() {
        body.insert("RestorationFailedFolderArns".into(), json!([first]));
    }
    Ok(wire::ok(200, Value::Object(body)))
}

/// The asset types `DeleteFolderMembership` takes, by the model's `MemberType`.
fn member_type(s: &str) -> Option<AssetType> {
    match s {
        "DASHBOARD" => Some(AssetType::Dashboard),
        "ANALYSIS" => Some(AssetType::Analysis),
        "DATASET" => Some(AssetType::DataSet),
        "DATASOURCE" => Some(AssetType::DataSource),
        "TOPIC" => Some(AssetType::Topic),
        _ => None,
    }
}

/// `DeleteFolderMembership`: takes an asset out of a folder; the asset stays.
pub fn delete_folder_membership(ctx: &Ctx, folder: &str, kind: &str, member: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let t = member_type(kind).ok_or_else(|| {
        validation(
            kind,
            "memberType",
            "Member must satisfy enum value set: [DASHBOARD, ANALYSIS, DATASET, DATASOURCE, TOPIC]",
        )
    })?;
    ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        if acct.asset(AssetType::Folder, folder).is_none() {
            return Err(not_found(AssetType::Folder, folder, &arns));
        }
        let gone = acct.folder_members.get_mut(folder).is_some_and(|members| {
            members.remove(&FolderMember {
                asset_type: t,
                id: member.to_string(),
            })
        });
        if !gone {
            return Err(ApiError::not_found(format!(
                "{} {} is not a member of folder {}",
                t.resource(),
                arns.asset(t, member),
                arns.asset(AssetType::Folder, folder)
            )));
        }
        Ok(())
    })?;
    // This one operation carries Status in the body, not as the HTTP status.
    Ok(wire::ok(200, json!({"Status": 200, "RequestId": wire::request_id()})))
}
