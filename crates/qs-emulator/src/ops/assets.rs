//! List and describe operations of every asset type, plus refresh schedules,
//! folder permissions and folder members.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::Ctx;
use crate::account::Account;
use crate::model::{Arns, Asset, AssetType};
use crate::wire::{self, ApiError};

const BUILT_IN_THEMES: [&str; 4] = ["CLASSIC", "MIDNIGHT", "SEASIDE", "RAINIER"];

fn pick(body: &Map<String, Value>, keys: &[&str], out: &mut Map<String, Value>) {
    for k in keys {
        if let Some(v) = body.get(*k) {
            out.insert((*k).to_string(), v.clone());
        }
    }
}

pub(super) fn arns<'a>(ctx: &'a Ctx<'_>) -> Arns<'a> {
    Arns {
        region: &ctx.region,
        identity_region: &ctx.svc.identity_region,
        account: &ctx.account,
    }
}

/// The API summary of an asset as its list operation returns it.
pub fn summary(t: AssetType, a: &Asset, arns: &Arns) -> Value {
    let mut m = Map::new();
    m.insert("Arn".into(), json!(arns.asset(t, &a.id)));
    m.insert(t.api_id_field().into(), json!(a.id));
    m.insert("Name".into(), json!(a.name));
    match t {
        AssetType::DataSource => {
            pick(
                &a.body,
                &[
                    "Type",
                    "Status",
                    "DataSourceParameters",
                    "AlternateDataSourceParameters",
                    "VpcConnectionProperties",
                    "SslProperties",
                    "SecretArn",
                ],
                &mut m,
            );
        }
        AssetType::DataSet => {
            pick(&a.body, &["ImportMode", "RowLevelPermissionDataSet"], &mut m);
            m.insert("RowLevelPermissionTagConfigurationApplied".into(), json!(false));
            m.insert("ColumnLevelPermissionRulesApplied".into(), json!(false));
        }
        AssetType::Analysis => pick(&a.body, &["Status"], &mut m),
        AssetType::Dashboard => {
            m.insert("PublishedVersionNumber".into(), json!(a.version));
            m.insert("LastPublishedTime".into(), json!(a.updated));
        }
        AssetType::Theme => {
            m.insert("LatestVersionNumber".into(), json!(a.version));
        }
        AssetType::VpcConnection => {
            pick(
                &a.body,
                &[
                    "VPCId",
                    "SecurityGroupIds",
                    "DnsResolvers",
                    "Status",
                    "AvailabilityStatus",
                    "NetworkInterfaces",
                    "RoleArn",
                ],
                &mut m,
            );
        }
        AssetType::Folder => pick(&a.body, &["FolderType", "SharingModel"], &mut m),
        AssetType::Topic => {
            pick(&a.body, &["UserExperienceVersion"], &mut m);
            return Value::Object(m);
        }
    }
    m.insert("CreatedTime".into(), json!(a.created));
    m.insert("LastUpdatedTime".into(), json!(a.updated));
    Value::Object(m)
}

fn list_key(t: AssetType) -> &'static str {
    match t {
        AssetType::DataSource => "DataSources",
        AssetType::DataSet => "DataSetSummaries",
        AssetType::Analysis => "AnalysisSummaryList",
        AssetType::Dashboard => "DashboardSummaryList",
        AssetType::Theme => "ThemeSummaryList",
        AssetType::VpcConnection => "VPCConnectionSummaries",
        AssetType::Folder => "FolderSummaryList",
        AssetType::Topic => "TopicsSummaries",
    }
}

pub fn list(ctx: &Ctx, t: AssetType) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let items: Vec<Value> = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let mut items: Vec<Value> = Vec::new();
        if t == AssetType::Theme {
            let kind = ctx.q("type").unwrap_or("ALL");
            if !["ALL", "CUSTOM", "QUICKSIGHT"].contains(&kind) {
                return Err(ApiError::invalid(format!("Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [QUICKSIGHT, CUSTOM, ALL]")));
            }
            if kind != "CUSTOM" {
                for b in BUILT_IN_THEMES {
                    items.push(json!({"Arn": format!("arn:aws:quicksight::aws:theme/{b}"), "Name": b.to_lowercase(), "ThemeId": b,
                        "LatestVersionNumber": 1, "CreatedTime": 1_546_300_800.0, "LastUpdatedTime": 1_546_300_800.0}));
                }
            }
            if kind == "QUICKSIGHT" {
                return Ok(items);
            }
        }
        items.extend(acct.assets_of(t).map(|a| summary(t, a, &arns)));
        Ok(items)
    })?;
    let (page, next) = wire::paginate(&items, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({ list_key(t): page, "RequestId": wire::request_id() });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}

/// An AWS-managed theme, which every account can describe.
fn built_in_theme(id: &str) -> Value {
    let arn = format!("arn:aws:quicksight::aws:theme/{id}");
    json!({"Theme": {"Arn": arn, "Name": id.to_lowercase(), "ThemeId": id, "Type": "QUICKSIGHT",
        "CreatedTime": 1_546_300_800.0, "LastUpdatedTime": 1_546_300_800.0,
        "Version": {"VersionNumber": 1, "Arn": format!("{arn}/version/1"), "CreatedTime": 1_546_300_800.0,
            "Status": "CREATION_SUCCESSFUL", "Description": format!("The {} theme", id.to_lowercase()),
            "Configuration": {"DataColorPalette": {"Colors": ["#1F77B4", "#FF7F0E", "#2CA02C"]}}}},
        "RequestId": wire::request_id()})
}

pub(super) fn not_found(t: AssetType, id: &str, arns: &Arns) -> ApiError {
    ApiError::not_found(format!("{} {} not found", t.resource(), arns.asset(t, id)))
}

/// The describe response body of an asset (without `RequestId`).
pub fn describe_body(acct: &Account, t: AssetType, a: &Asset, arns: &Arns) -> Value {
    let arn = arns.asset(t, &a.id);
    match t {
        AssetType::DataSource => json!({ "DataSource": summary(t, a, arns) }),
        AssetType::DataSet => {
            let mut m = Map::new();
            m.insert("Arn".into(), json!(arn));
            m.insert("DataSetId".into(), json!(a.id));
            m.insert("Name".into(), json!(a.name));
            m.insert("CreatedTime".into(), json!(a.created));
            m.insert("LastUpdatedTime".into(), json!(a.updated));
            pick(
                &a.body,
                &[
                    "PhysicalTableMap",
                    "LogicalTableMap",
                    "OutputColumns",
                    "ImportMode",
                    "ConsumedSpiceCapacityInBytes",
                    "RowLevelPermissionDataSet",
                    "ColumnGroups",
                    "FieldFolders",
                    "DatasetParameters",
                    "UseAs",
                ],
                &mut m,
            );
            json!({ "DataSet": m })
        }
        AssetType::Analysis => {
            let mut m = Map::new();
            m.insert("AnalysisId".into(), json!(a.id));
            m.insert("Arn".into(), json!(arn));
            m.insert("Name".into(), json!(a.name));
            pick(&a.body, &["Status", "DataSetArns", "ThemeArn", "Sheets"], &mut m);
            m.insert("CreatedTime".into(), json!(a.created));
            m.insert("LastUpdatedTime".into(), json!(a.updated));
            json!({ "Analysis": m })
        }
        AssetType::Dashboard => {
            let mut v = Map::new();
            v.insert("CreatedTime".into(), json!(a.updated));
            v.insert("VersionNumber".into(), json!(a.version));
            v.insert("Arn".into(), json!(format!("{arn}/version/{}", a.version)));
            pick(
                &a.body,
                &[
                    "Status",
                    "DataSetArns",
                    "ThemeArn",
                    "Sheets",
                    "Description",
                    "SourceEntityArn",
                ],
                &mut v,
            );
            json!({ "Dashboard": { "DashboardId": a.id, "Arn": arn, "Name": a.name, "Version": v,
                "CreatedTime": a.created, "LastPublishedTime": a.updated, "LastUpdatedTime": a.updated } })
        }
        AssetType::Theme => {
            let mut v = Map::new();
            v.insert("VersionNumber".into(), json!(a.version));
            v.insert("Arn".into(), json!(format!("{arn}/version/{}", a.version)));
            pick(&a.body, &["Description", "BaseThemeId"], &mut v);
            v.insert("CreatedTime".into(), json!(a.updated));
            if let Some(crate::model::Definition::Stored(c)) = &a.definition {
                v.insert("Configuration".into(), c.clone());
            }
            v.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
            json!({ "Theme": { "Arn": arn, "Name": a.name, "ThemeId": a.id, "Version": v,
                "CreatedTime": a.created, "LastUpdatedTime": a.updated, "Type": "CUSTOM" } })
        }
        AssetType::VpcConnection => json!({ "VPCConnection": summary(t, a, arns), "Status": 200 }),
        AssetType::Folder => {
            let mut s = summary(t, a, arns);
            // The model's FolderPath has at least one element: root folders omit it.
            let path = folder_path(acct, a, arns);
            if !path.is_empty() {
                s["FolderPath"] = json!(path);
            }
            json!({ "Folder": s })
        }
        AssetType::Topic => {
            let mut topic = Map::new();
            topic.insert("Name".into(), json!(a.name));
            pick(
                &a.body,
                &["Description", "UserExperienceVersion", "DataSets"],
                &mut topic,
            );
            json!({ "Arn": arn, "TopicId": a.id, "Topic": topic })
        }
    }
}

/// ARNs of a folder's ancestors, root first.
fn folder_path(acct: &Account, a: &Asset, arns: &Arns) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = a
        .body
        .get("ParentFolderArn")
        .and_then(Value::as_str)
        .map(str::to_string);
    while let Some(parent_arn) = cur {
        if path.contains(&parent_arn) || path.len() > 10 {
            break;
        }
        let parent_id = parent_arn.rsplit('/').next().unwrap_or_default().to_string();
        path.push(parent_arn);
        cur = acct.asset(AssetType::Folder, &parent_id).and_then(|p| {
            p.body
                .get("ParentFolderArn")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    }
    let _ = arns;
    path.reverse();
    path
}

pub fn describe(ctx: &Ctx, t: AssetType, id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    if t == AssetType::Theme && BUILT_IN_THEMES.contains(&id) {
        return Ok(wire::ok(200, built_in_theme(id)));
    }
    let mut body = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct.asset(t, id).ok_or_else(|| not_found(t, id, &arns))?;
        Ok(describe_body(acct, t, a, &arns))
    })?;
    body["RequestId"] = json!(wire::request_id());
    Ok(wire::ok(200, body))
}

pub fn list_refresh_schedules(ctx: &Ctx, data_set_id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let schedules = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct
            .asset(AssetType::DataSet, data_set_id)
            .ok_or_else(|| not_found(AssetType::DataSet, data_set_id, &arns))?;
        Ok(a.refresh_schedules.clone())
    })?;
    Ok(wire::ok(
        200,
        json!({ "RefreshSchedules": schedules, "RequestId": wire::request_id() }),
    ))
}

pub fn describe_folder_permissions(ctx: &Ctx, folder_id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let perms = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct
            .asset(AssetType::Folder, folder_id)
            .ok_or_else(|| not_found(AssetType::Folder, folder_id, &arns))?;
        Ok(a.permissions
            .iter()
            .map(|p| json!({"Principal": p.principal, "Actions": p.actions}))
            .collect::<Vec<_>>())
    })?;
    let (page, next) = wire::paginate(&perms, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({ "FolderId": folder_id, "Arn": arns.asset(AssetType::Folder, folder_id), "Permissions": page, "RequestId": wire::request_id() });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}

/// `Describe{DataSource,DataSet,Analysis,Dashboard,Theme}Permissions`: the
/// asset's permissions, under its id and its ARN as `<Type>Arn`.
pub fn describe_permissions(ctx: &Ctx, t: AssetType, id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let perms = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct.asset(t, id).ok_or_else(|| not_found(t, id, &arns))?;
        Ok(a.permissions
            .iter()
            .map(|p| json!({"Principal": p.principal, "Actions": p.actions}))
            .collect::<Vec<_>>())
    })?;
    let arn_field = format!("{}Arn", t.api_id_field().trim_end_matches("Id"));
    let mut body = json!({ "Permissions": perms, "RequestId": wire::request_id() });
    body[t.api_id_field()] = json!(id);
    body[arn_field] = json!(arns.asset(t, id));
    Ok(wire::ok(200, body))
}

pub fn list_folder_members(ctx: &Ctx, folder_id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let members = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        acct.asset(AssetType::Folder, folder_id)
            .ok_or_else(|| not_found(AssetType::Folder, folder_id, &arns))?;
        let mut members: Vec<Value> = acct
            .folder_members
            .get(folder_id)
            .into_iter()
            .flatten()
            .map(|m| json!({"MemberId": m.id, "MemberArn": arns.asset(m.asset_type, &m.id)}))
            .collect();
        // Subfolders are members of their parent as well.
        let me = arns.asset(AssetType::Folder, folder_id);
        for f in acct.assets_of(AssetType::Folder) {
            if f.body.get("ParentFolderArn").and_then(Value::as_str) == Some(me.as_str()) {
                members.push(json!({"MemberId": f.id, "MemberArn": arns.asset(AssetType::Folder, &f.id)}));
            }
        }
        Ok(members)
    })?;
    let (page, next) = wire::paginate(&members, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({ "FolderMemberList": page, "RequestId": wire::request_id() });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}
