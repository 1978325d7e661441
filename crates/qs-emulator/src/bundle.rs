//! Asset bundles: which assets an export takes (dependencies, folder members),
//! what QuickSight refuses to export, the bundle's members in QUICKSIGHT_JSON
//! or CLOUDFORMATION_JSON form, and reading a bundle back for an import.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{Cursor, Read, Write};

use serde_json::{json, Map, Value};

use crate::account::Account;
use crate::definition::definition_json;
use crate::generate::UNSUPPORTED_SOURCE_TYPES;
use crate::model::{referenced_arns, Arns, Asset, AssetArn, AssetType, Definition, Permission, Tag};
use crate::wire::ApiError;

/// Export request options that shape the bundle.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub include_dependencies: bool,
    pub include_permissions: bool,
    pub include_tags: bool,
    pub include_folder_memberships: bool,
    /// `NONE`, `ONE_LEVEL` or `RECURSE`.
    pub include_folder_members: String,
    pub cloudformation: bool,
}

/// The assets an export takes, or why the start is refused, or why the job
/// will fail.
pub struct ExportPlan {
    pub assets: Vec<(AssetType, String)>,
    pub errors: Vec<Value>,
}

/// Why QuickSight refuses to export an asset, if it does.
pub fn unsupported_reason(acct: &Account, t: AssetType, a: &Asset) -> Option<String> {
    match t {
        AssetType::DataSource => {
            let ty = a.body.get("Type").and_then(Value::as_str).unwrap_or_default();
            if UNSUPPORTED_SOURCE_TYPES.contains(&ty) {
                return Some(format!("data source type {ty} is not supported"));
            }
            if ty == "S3"
                && a.body
                    .get("DataSourceParameters")
                    .and_then(|p| p.get("S3Parameters"))
                    .is_none()
            {
                return Some("S3 data sources created from an uploaded manifest file are not supported".into());
            }
            let vpc = a
                .body
                .get("VpcConnectionProperties")
                .and_then(|v| v.get("VpcConnectionArn"))
                .and_then(Value::as_str);
            if let Some(vpc) = vpc {
                let id = vpc.rsplit_once("vpcConnection/").map(|(_, id)| id).unwrap_or_default();
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Some(format!("VPC connection id {id:?} does not match [\\w\\-]+"));
                }
            }
            None
        }
        AssetType::DataSet => {
            if a.ml_columns {
                return Some(
                    "datasets with machine learning columns inferred through SageMaker are not supported".into(),
                );
            }
            let tables = a.body.get("PhysicalTableMap").and_then(Value::as_object);
            for table in tables.into_iter().flat_map(|m| m.values()) {
                if let Some(s3) = table.get("S3Source") {
                    let src = s3
                        .get("DataSourceArn")
                        .and_then(Value::as_str)
                        .and_then(AssetArn::parse);
                    let listed = src
                        .map(|s| acct.asset(AssetType::DataSource, &s.id).is_some())
                        .unwrap_or(false);
                    if s3.get("UploadSettings").is_some() && !listed {
                        return Some("datasets created from uploaded files are not supported".into());
                    }
                }
            }
            None
        }
        _ => None,
    }
}

fn definition_error(t: AssetType, arn: &str) -> Value {
    let (kind, call) = match t {
        AssetType::Analysis => ("ANALYSIS", "DescribeAnalysisDefinition"),
        AssetType::Theme => ("THEME", "DescribeTheme"),
        _ => ("DASHBOARD", "DescribeDashboardDefinition"),
    };
    json!({"Arn": arn, "Type": kind,
        "Message": format!("{arn} cannot be exported. Call {call} to see the errors in its definition and fix them before exporting.")})
}

fn asset_refs(acct: &Account, t: AssetType, a: &Asset) -> BTreeSet<AssetArn> {
    let mut refs = BTreeSet::new();
    referenced_arns(&Value::Object(a.body.clone()), &mut refs);
    if t == AssetType::DataSet {
        // A file upload's hidden data source is not a dependency of its own.
        refs.retain(|r| !(r.asset_type == AssetType::DataSource && r.id.starts_with("upload-")));
    }
    let _ = acct;
    refs
}

/// Computes what an export of `requested` takes. `Err` is a refused start.
pub fn plan_export(
    acct: &Account,
    arns: &Arns,
    requested: &[String],
    opts: &ExportOptions,
) -> Result<ExportPlan, ApiError> {
    let mut queue: VecDeque<(AssetType, String)> = VecDeque::new();
    for arn in requested {
        let parsed = AssetArn::parse(arn).ok_or_else(|| ApiError::invalid(format!("Invalid resource ARN: {arn}")))?;
        if parsed.account != acct.account_id {
            return Err(ApiError::invalid(format!(
                "Resource {arn} does not belong to account {}",
                acct.account_id
            )));
        }
        if acct.asset(parsed.asset_type, &parsed.id).is_none() {
            return Err(ApiError::not_found(format!("Resource {arn} does not exist.")));
        }
        queue.push_back((parsed.asset_type, parsed.id));
    }
    let mut seen: BTreeSet<(AssetType, String)> = BTreeSet::new();
    let mut order = Vec::new();
    let mut errors = Vec::new();
    while let Some((t, id)) = queue.pop_front() {
        if !seen.insert((t, id.clone())) {
            continue;
        }
        let Some(a) = acct.asset(t, &id) else {
            continue;
        };
        order.push((t, id.clone()));
        if opts.include_dependencies {
            for r in asset_refs(acct, t, a) {
                if acct.asset(r.asset_type, &r.id).is_some() {
                    queue.push_back((r.asset_type, r.id));
                } else {
                    errors.push(json!({"Arn": arns.asset(t, &id), "Type": "DEPENDENCY_NOT_FOUND",
                        "Message": format!("{} depends on {}, which does not exist.", arns.asset(t, &id), arns.asset(r.asset_type, &r.id))}));
                }
            }
        }
        if t == AssetType::Folder && opts.include_folder_members != "NONE" {
            for m in acct.folder_members.get(&id).into_iter().flatten() {
                queue.push_back((m.asset_type, m.id.clone()));
            }
            if opts.include_folder_members == "RECURSE" {
                let me = arns.asset(AssetType::Folder, &id);
                for f in acct.assets_of(AssetType::Folder) {
                    if f.body.get("ParentFolderArn").and_then(Value::as_str) == Some(me.as_str()) {
                        queue.push_back((AssetType::Folder, f.id.clone()));
                    }
                }
            }
        }
    }
    let refused: Vec<String> = order
        .iter()
        .filter_map(|(t, id)| {
            let a = acct.asset(*t, id)?;
            unsupported_reason(acct, *t, a).map(|why| format!("{} ({why})", arns.asset(*t, id)))
        })
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::invalid(format!(
            "The following resources cannot be exported: {}",
            refused.join(", ")
        )));
    }
    for (t, id) in &order {
        if acct.asset(*t, id).map(|a| a.definition_error).unwrap_or(false) {
            errors.push(definition_error(*t, &arns.asset(*t, id)));
        }
    }
    Ok(ExportPlan { assets: order, errors })
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn upper_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The definition of an asset as a bundle carries it.
pub fn resolved_definition(a: &Asset) -> Option<Value> {
    match &a.definition {
        Some(Definition::Stored(v)) => Some(v.clone()),
        Some(Definition::Generated { seed, visuals }) => {
            let arns: Vec<String> = a
                .body
                .get("DataSetArns")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            Some(definition_json(*seed, *visuals, &arns))
        }
        None => None,
    }
}

/// One bundle member of an asset in QUICKSIGHT_JSON form.
pub fn member_json(acct: &Account, arns: &Arns, t: AssetType, a: &Asset, opts: &ExportOptions) -> Value {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!(t.resource()));
    m.insert(t.bundle_id_field().into(), json!(a.id));
    m.insert("name".into(), json!(a.name));
    for (k, v) in &a.body {
        m.insert(lower_first(k), v.clone());
    }
    if let Some(d) = resolved_definition(a) {
        m.insert("definition".into(), d);
    }
    if opts.include_permissions && !a.permissions.is_empty() {
        m.insert(
            "permissions".into(),
            json!(a
                .permissions
                .iter()
                .map(|p| json!({"principal": p.principal, "actions": p.actions}))
                .collect::<Vec<_>>()),
        );
    }
    if opts.include_tags && !a.tags.is_empty() {
        m.insert(
            "tags".into(),
            json!(a
                .tags
                .iter()
                .map(|t| json!({"key": t.key, "value": t.value}))
                .collect::<Vec<_>>()),
        );
    }
    if opts.include_folder_memberships {
        let folders: Vec<String> = acct
            .folder_members
            .iter()
            .filter(|(_, ms)| ms.iter().any(|x| x.asset_type == t && x.id == a.id))
            .map(|(f, _)| arns.asset(AssetType::Folder, f))
            .collect();
        if !folders.is_empty() {
            m.insert("folderArns".into(), json!(folders));
        }
    }
    Value::Object(m)
}

fn schedule_member(data_set_id: &str, schedule: &Value) -> Value {
    let mut s = Map::new();
    if let Some(obj) = schedule.as_object() {
        for (k, v) in obj {
            s.insert(lower_first(k), v.clone());
        }
    }
    json!({"resourceType": "refreshSchedule", "dataSetId": data_set_id, "schedule": s})
}

/// The downloadable content of a finished export: a zip for QUICKSIGHT_JSON,
/// a CloudFormation template for CLOUDFORMATION_JSON.
pub fn build(
    acct: &Account,
    arns: &Arns,
    plan: &ExportPlan,
    opts: &ExportOptions,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let internal = |e: &dyn std::fmt::Display| ApiError::new("InternalFailureException", format!("bundle: {e}"));
    if opts.cloudformation {
        let mut resources = Map::new();
        for (t, id) in &plan.assets {
            let Some(a) = acct.asset(*t, id) else {
                continue;
            };
            let mut props = Map::new();
            props.insert("AwsAccountId".into(), json!({"Ref": "AWS::AccountId"}));
            props.insert(t.api_id_field().into(), json!(a.id));
            props.insert("Name".into(), json!(a.name));
            for (k, v) in &a.body {
                props.insert(k.clone(), v.clone());
            }
            if let Some(d) = resolved_definition(a) {
                props.insert("Definition".into(), d);
            }
            let kind = match t {
                AssetType::DataSource => "DataSource",
                AssetType::DataSet => "DataSet",
                AssetType::Analysis => "Analysis",
                AssetType::Dashboard => "Dashboard",
                AssetType::Theme => "Theme",
                AssetType::VpcConnection => "VPCConnection",
                AssetType::Folder => "Folder",
                AssetType::Topic => "Topic",
            };
            let logical: String = format!("{kind}{}", a.id)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            resources.insert(
                logical,
                json!({"Type": format!("AWS::QuickSight::{kind}"), "Properties": props}),
            );
        }
        let template = json!({"AWSTemplateFormatVersion": "2010-09-09", "Description": "QuickSight asset bundle", "Resources": resources});
        let bytes = serde_json::to_vec_pretty(&template).map_err(|e| internal(&e))?;
        return Ok((bytes, "application/json"));
    }
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (t, id) in &plan.assets {
        let Some(a) = acct.asset(*t, id) else {
            continue;
        };
        let body = serde_json::to_vec_pretty(&member_json(acct, arns, *t, a, opts)).map_err(|e| internal(&e))?;
        zip.start_file(format!("{}/{}.json", t.resource(), a.id), options)
            .map_err(|e| internal(&e))?;
        zip.write_all(&body).map_err(|e| internal(&e))?;
        if *t == AssetType::DataSet {
            for s in &a.refresh_schedules {
                let sid = s.get("ScheduleId").and_then(Value::as_str).unwrap_or_default();
                let body = serde_json::to_vec_pretty(&schedule_member(&a.id, s)).map_err(|e| internal(&e))?;
                zip.start_file(format!("refreshSchedule/{sid}.json"), options)
                    .map_err(|e| internal(&e))?;
                zip.write_all(&body).map_err(|e| internal(&e))?;
            }
        }
    }
    let cursor = zip.finish().map_err(|e| internal(&e))?;
    Ok((cursor.into_inner(), "application/zip"))
}

/// One resource read from an imported bundle.
#[derive(Debug, Clone)]
pub enum BundleResource {
    Asset {
        asset_type: AssetType,
        asset: Asset,
        folder_arns: Vec<String>,
    },
    RefreshSchedule {
        data_set_id: String,
        schedule: Value,
    },
}

/// Reads a QUICKSIGHT_JSON bundle back into resources.
pub fn parse(bytes: &[u8]) -> Result<Vec<BundleResource>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the asset bundle is not a valid zip file: {e}"))?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| format!("bundle member {i}: {e}"))?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().map_err(|e| format!("bundle member {i}: {e}"))?.into_owned();
        if file.size() > 64 * 1024 * 1024 {
            return Err(format!("bundle member {name} is too large"));
        }
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| format!("bundle member {name}: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("bundle member {name} is not JSON: {e}"))?;
        let kind = v
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if kind == "refreshSchedule" {
            let data_set_id = v
                .get("dataSetId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut schedule = Map::new();
            for (k, val) in v.get("schedule").and_then(Value::as_object).into_iter().flatten() {
                schedule.insert(upper_first(k), val.clone());
            }
            out.push(BundleResource::RefreshSchedule {
                data_set_id,
                schedule: Value::Object(schedule),
            });
            continue;
        }
        let asset_type = AssetType::from_resource(&kind)
            .ok_or_else(|| format!("bundle member {name} has unknown resourceType {kind:?}"))?;
        let obj = v.as_object().cloned().unwrap_or_default();
        let id = obj
            .get(asset_type.bundle_id_field())
            .and_then(Value::as_str)
            .ok_or_else(|| format!("bundle member {name} has no {}", asset_type.bundle_id_field()))?;
        let mut asset = Asset {
            id: id.to_string(),
            name: obj.get("name").and_then(Value::as_str).unwrap_or(id).to_string(),
            created: 0.0,
            updated: 0.0,
            body: Map::new(),
            definition: None,
            permissions: Vec::new(),
            tags: Vec::new(),
            refresh_schedules: Vec::new(),
            definition_error: false,
            ml_columns: false,
            version: 1,
        };
        let mut folder_arns = Vec::new();
        for (k, val) in obj {
            match k.as_str() {
                "resourceType" | "name" => {}
                k2 if k2 == asset_type.bundle_id_field() => {}
                "definition" => asset.definition = Some(Definition::Stored(val)),
                "permissions" => {
                    asset.permissions = val
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| {
                            Some(Permission {
                                principal: p.get("principal")?.as_str()?.to_string(),
                                actions: p
                                    .get("actions")?
                                    .as_array()?
                                    .iter()
                                    .filter_map(|a| a.as_str().map(str::to_string))
                                    .collect(),
                            })
                        })
                        .collect()
                }
                "tags" => {
                    asset.tags = val
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| {
                            Some(Tag {
                                key: t.get("key")?.as_str()?.to_string(),
                                value: t.get("value")?.as_str()?.to_string(),
                            })
                        })
                        .collect()
                }
                "folderArns" => {
                    folder_arns = val
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                }
                other => {
                    asset.body.insert(upper_first(other), val);
                }
            }
        }
        out.push(BundleResource::Asset {
            asset_type,
            asset,
            folder_arns,
        });
    }
    Ok(out)
}

/// Counts per asset type, for summaries.
pub fn count_by_type(acct: &Account) -> BTreeMap<&'static str, usize> {
    AssetType::ALL
        .iter()
        .map(|t| (t.resource(), acct.assets_of(*t).count()))
        .collect()
}
