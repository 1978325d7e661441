//! Asset bundle import jobs: read a bundle from the request body or from S3,
//! move it into the target account (ARNs, id prefix, overrides, permissions,
//! tags), check it, and apply it when the job's time has come: all or nothing
//! under `ROLLBACK`, what succeeded under `DO_NOTHING`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::response::Response;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::Ctx;
use crate::account::Account;
use crate::bundle::{self, BundleResource};
use crate::jobs::{ImportJob, JobStatus};
use crate::model::{referenced_arns, rewrite_strings, Arns, Asset, AssetArn, AssetType, FolderMember, Permission, Tag};
use crate::wire::{self, ApiError};

/// The largest inline `Body` QuickSight accepts.
pub const MAX_INLINE_BODY: usize = 20_971_520;

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

async fn read_source(ctx: &Ctx<'_>, source: &Value) -> Result<Vec<u8>, ApiError> {
    if let Some(b64) = field(source, "Body") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| ApiError::invalid("AssetBundleImportSource.Body is not valid base64"))?;
        if bytes.len() > MAX_INLINE_BODY {
            return Err(ApiError::invalid(format!(
                "AssetBundleImportSource.Body is {} bytes; the limit is {MAX_INLINE_BODY} bytes. Use S3Uri for larger bundles.",
                bytes.len()
            )));
        }
        return Ok(bytes);
    }
    let uri = field(source, "S3Uri").ok_or_else(|| ApiError::invalid("AssetBundleImportSource needs Body or S3Uri"))?;
    let rest = uri
        .strip_prefix("s3://")
        .ok_or_else(|| ApiError::invalid(format!("Invalid S3Uri {uri}")))?;
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| ApiError::invalid(format!("Invalid S3Uri {uri}")))?;
    let endpoint = ctx.svc.s3_endpoint.as_deref().ok_or_else(|| {
        ApiError::invalid("This emulator has no S3 endpoint (start it with --s3-endpoint) to read S3Uri sources from")
    })?;
    let url = format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/'));
    // QuickSight reads the bundle as itself, not anonymously (a private bucket refuses anonymous
    // reads). The local S3 this emulator talks to does not check signatures, so an
    // unsigned credential scope is enough to be an authenticated reader there.
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=QUICKSIGHTEMULATOR/{}/{}/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
        &date[..8],
        ctx.region
    );
    let resp = ctx
        .svc
        .http
        .get(&url)
        .header("x-amz-date", date)
        .header("authorization", authorization)
        .send()
        .await
        .map_err(|e| ApiError::invalid(format!("Could not read {uri}: {e}")))?;
    if !resp.status().is_success() {
        return Err(ApiError::invalid(format!(
            "Could not read {uri}: HTTP {}",
            resp.status()
        )));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("Could not read {uri}: {e}")))?;
    Ok(bytes.to_vec())
}

fn ids_matching(entry: &Value, key: &str, id: &str) -> bool {
    entry
        .get(key)
        .and_then(Value::as_array)
        .map(|ids| ids.iter().any(|x| x.as_str() == Some("*") || x.as_str() == Some(id)))
        .unwrap_or(false)
}

fn override_key(t: AssetType) -> (&'static str, &'static str, &'static str) {
    // (override list, id member of a parameter override, id list member of permission/tag overrides)
    match t {
        AssetType::DataSource => ("DataSources", "DataSourceId", "DataSourceIds"),
        AssetType::DataSet => ("DataSets", "DataSetId", "DataSetIds"),
        AssetType::Theme => ("Themes", "ThemeId", "ThemeIds"),
        AssetType::Analysis => ("Analyses", "AnalysisId", "AnalysisIds"),
        AssetType::Dashboard => ("Dashboards", "DashboardId", "DashboardIds"),
        AssetType::Folder => ("Folders", "FolderId", "FolderIds"),
        AssetType::VpcConnection => ("VPCConnections", "VPCConnectionId", "VPCConnectionIds"),
        AssetType::Topic => ("TopicsV2", "TopicId", "TopicIds"),
    }
}

/// Applies `OverrideParameters` for one asset (matched by its bundle id).
fn apply_parameter_overrides(t: AssetType, bundle_id: &str, a: &mut Asset, overrides: &Value) {
    let (list, id_key, _) = override_key(t);
    for o in overrides.get(list).and_then(Value::as_array).into_iter().flatten() {
        if field(o, id_key) != Some(bundle_id) {
            continue;
        }
        if let Some(name) = field(o, "Name") {
            a.name = name.to_string();
        }
        for k in [
            "DataSourceParameters",
            "VpcConnectionProperties",
            "SslProperties",
            "ParentFolderArn",
            "SubnetIds",
            "SecurityGroupIds",
            "DnsResolvers",
            "RoleArn",
            "Description",
        ] {
            if let Some(v) = o.get(k) {
                a.body.insert(k.to_string(), v.clone());
            }
        }
        if let Some(secret) = o.get("Credentials").and_then(|c| c.get("SecretArn")) {
            a.body.insert("SecretArn".into(), secret.clone());
        }
    }
}

fn apply_permission_overrides(t: AssetType, bundle_id: &str, a: &mut Asset, overrides: &Value) {
    let (list, _, ids) = override_key(t);
    for o in overrides.get(list).and_then(Value::as_array).into_iter().flatten() {
        if !ids_matching(o, ids, bundle_id) {
            continue;
        }
        if let Some(p) = o.get("Permissions") {
            let actions: Vec<String> = p
                .get("Actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            a.permissions = p
                .get("Principals")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str())
                .map(|principal| Permission {
                    principal: principal.to_string(),
                    actions: actions.clone(),
                })
                .collect();
        }
    }
}

fn apply_tag_overrides(t: AssetType, bundle_id: &str, a: &mut Asset, overrides: &Value) {
    let (list, _, ids) = override_key(t);
    for o in overrides.get(list).and_then(Value::as_array).into_iter().flatten() {
        if !ids_matching(o, ids, bundle_id) {
            continue;
        }
        a.tags = o
            .get("Tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(Tag {
                    key: field(t, "Key")?.to_string(),
                    value: field(t, "Value")?.to_string(),
                })
            })
            .collect();
    }
}

/// The users and groups of each namespace of an account, as permissions may name them.
struct Principals {
    account_id: String,
    namespaces: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
}

impl Principals {
    /// Identities live in the identity region's state, whatever region the assets are in.
    fn of(acct: &Account) -> Principals {
        Principals {
            account_id: acct.account_id.clone(),
            namespaces: acct
                .namespaces
                .iter()
                .map(|(name, n)| {
                    (
                        name.clone(),
                        (n.users.keys().cloned().collect(), n.groups.keys().cloned().collect()),
                    )
                })
                .collect(),
        }
    }
}

/// Checks a principal exists in the target account's identities.
fn principal_error(acct: &Principals, principal: &str, identity_region: &str) -> Option<String> {
    let bad = || {
        Some(format!(
            "Principal {principal} is not a valid user or group of account {} in {identity_region}.",
            acct.account_id
        ))
    };
    let rest = match crate::model::quicksight_arn_rest(principal) {
        Some(r) => r,
        None => return bad(),
    };
    let parts: Vec<&str> = rest.splitn(3, ':').collect();
    if parts.len() != 3 || parts[1] != acct.account_id {
        return bad();
    }
    let mut res = parts[2].splitn(3, '/');
    let (kind, ns, name) = (
        res.next().unwrap_or_default(),
        res.next().unwrap_or_default(),
        res.next().unwrap_or_default(),
    );
    let Some(n) = acct.namespaces.get(ns) else {
        return bad();
    };
    let found = match kind {
        "user" => n.0.contains(name),
        "group" => n.1.contains(name),
        _ => false,
    };
    if found {
        None
    } else {
        bad()
    }
}

pub async fn start(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let job_id = body
        .get("AssetBundleImportJobId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("AssetBundleImportJobId is required"))?
        .to_string();
    if !super::export::valid_job_id(&job_id) {
        return Err(ApiError::invalid(format!(
            "Value '{job_id}' at 'assetBundleImportJobId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\-]+"
        )));
    }
    let source = body
        .get("AssetBundleImportSource")
        .cloned()
        .ok_or_else(|| ApiError::invalid("AssetBundleImportSource is required"))?;
    let failure_action = body
        .get("FailureAction")
        .and_then(Value::as_str)
        .unwrap_or("DO_NOTHING")
        .to_string();
    if failure_action != "DO_NOTHING" && failure_action != "ROLLBACK" {
        return Err(ApiError::invalid(format!("Invalid FailureAction {failure_action}")));
    }
    let bytes = read_source(ctx, &source).await?;
    let resources = bundle::parse(&bytes).map_err(ApiError::invalid)?;
    let overrides = body.get("OverrideParameters").cloned().unwrap_or(Value::Null);
    let perm_overrides = body.get("OverridePermissions").cloned().unwrap_or(Value::Null);
    let tag_overrides = body.get("OverrideTags").cloned().unwrap_or(Value::Null);
    let prefix = overrides
        .get("ResourceIdOverrideConfiguration")
        .and_then(|r| field(r, "PrefixForAllResources"))
        .unwrap_or_default()
        .to_string();
    let mut request = Map::new();
    for k in [
        "OverrideParameters",
        "OverridePermissions",
        "OverrideTags",
        "OverrideValidationStrategy",
    ] {
        if let Some(v) = body.get(k) {
            request.insert(k.to_string(), v.clone());
        }
    }
    request.insert("FailureAction".into(), json!(failure_action));
    if let Some(uri) = field(&source, "S3Uri") {
        request.insert("AssetBundleImportSource".into(), json!({"S3Uri": uri}));
    } else {
        request.insert("AssetBundleImportSource".into(), json!({}));
    }
    let svc = ctx.svc;
    let region = ctx.region.clone();
    let arn = format!(
        "arn:{}:quicksight:{}:{}:asset-bundle-import-job/{}",
        crate::model::partition(&region),
        region,
        ctx.account,
        job_id
    );
    let (delay, rollback_fails) = {
        let mut f = svc.faults();
        (f.plan.job_delay_ms, f.fail_rollback())
    };
    let principals = svc.with_account(&ctx.account, &svc.region, |acct, _| Ok(Principals::of(acct)))?;
    svc.with_account(&ctx.account, &region, |acct, stats| {
        let now = Instant::now();
        if acct.import_jobs.get(&job_id).map(|j| j.running(now)).unwrap_or(false) {
            return Err(ApiError::new("ConflictException", format!("An import job with id {job_id} is already running.")));
        }
        let running = acct.import_jobs.values().filter(|j| j.running(now)).count();
        if running >= super::export::MAX_CONCURRENT_JOBS {
            return Err(ApiError::new("LimitExceededException", "You have reached the limit of 5 concurrent asset bundle import jobs in this account."));
        }
        let account_id = acct.account_id.clone();
        let arns = Arns { region: &region, identity_region: &svc.identity_region, account: &account_id };
        let in_bundle: BTreeSet<(AssetType, String)> = resources
            .iter()
            .filter_map(|r| match r {
                BundleResource::Asset { asset_type, asset, .. } => Some((*asset_type, asset.id.clone())),
                _ => None,
            })
            .collect();
        // Move every asset ARN to this account and region, with the id prefix
        // for assets that travel in the bundle.
        let move_arn = |s: &str| -> Option<String> {
            let a = AssetArn::parse(s)?;
            let id = if in_bundle.contains(&(a.asset_type, a.id.clone())) { format!("{prefix}{}", a.id) } else { a.id.clone() };
            Some(arns.asset(a.asset_type, &id))
        };
        let mut planned = Vec::new();
        let mut schedules = Vec::new();
        let mut errors = Vec::new();
        for r in &resources {
            match r {
                BundleResource::Asset { asset_type, asset, folder_arns } => {
                    let t = *asset_type;
                    let mut a = asset.clone();
                    let bundle_id = a.id.clone();
                    a.id = format!("{prefix}{bundle_id}");
                    let mut body = Value::Object(std::mem::take(&mut a.body));
                    rewrite_strings(&mut body, &move_arn);
                    a.body = body.as_object().cloned().unwrap_or_default();
                    if let Some(crate::model::Definition::Stored(d)) = &mut a.definition {
                        rewrite_strings(d, &move_arn);
                    }
                    apply_parameter_overrides(t, &bundle_id, &mut a, &overrides);
                    apply_permission_overrides(t, &bundle_id, &mut a, &perm_overrides);
                    apply_tag_overrides(t, &bundle_id, &mut a, &tag_overrides);
                    let my_arn = arns.asset(t, &a.id);
                    let mut refs = BTreeSet::new();
                    referenced_arns(&Value::Object(a.body.clone()), &mut refs);
                    for dep in refs {
                        let moved = in_bundle.iter().any(|(bt, bid)| *bt == dep.asset_type && format!("{prefix}{bid}") == dep.id);
                        let upload = dep.asset_type == AssetType::DataSource && dep.id.starts_with("upload-");
                        if !moved && !upload && acct.asset(dep.asset_type, &dep.id).is_none() {
                            errors.push(json!({"Arn": my_arn, "Type": "DEPENDENCY_NOT_FOUND",
                                "Message": format!("{my_arn} depends on {}, which is neither in the bundle nor in the account.", arns.asset(dep.asset_type, &dep.id))}));
                        }
                    }
                    for p in &a.permissions {
                        if let Some(msg) = principal_error(&principals, &p.principal, &svc.identity_region) {
                            errors.push(json!({"Arn": my_arn, "Type": "INVALID_PERMISSIONS", "Message": msg}));
                        }
                    }
                    let folders: Vec<String> = folder_arns.iter().filter_map(|f| move_arn(f)).collect();
                    planned.push((t, a, folders));
                }
                BundleResource::RefreshSchedule { data_set_id, schedule } => {
                    let mut s = schedule.clone();
                    rewrite_strings(&mut s, &|x: &str| {
                        // Schedule ARNs are dataset ARNs with a suffix.
                        let (base, rest) = x.split_once("/refresh-schedule/")?;
                        Some(format!("{}/refresh-schedule/{rest}", move_arn(base)?))
                    });
                    schedules.push((format!("{prefix}{data_set_id}"), s));
                }
            }
        }
        let (queue, run) = svc.timing.import_job(planned.len());
        let run = run + Duration::from_millis(delay);
        stats.import_job(running as u64 + 1, run.as_secs_f64());
        acct.import_jobs.insert(
            job_id.clone(),
            ImportJob {
                id: job_id.clone(),
                arn: arn.clone(),
                created: wire::now_epoch(),
                started: now,
                run,
                request,
                rollback: failure_action == "ROLLBACK",
                planned,
                schedules,
                errors,
                outcome: None,
                queue,
                rollback_time: if queue.is_zero() { Duration::ZERO } else { Duration::from_secs(1) },
                settled_at: None,
                rollback_fails,
            },
        );
        Ok(())
    })?;
    Ok(wire::ok(
        202,
        json!({"Arn": arn, "AssetBundleImportJobId": job_id, "RequestId": wire::request_id()}),
    ))
}

/// Applies import jobs whose time has come. Called before every access to an
/// account so that jobs finish without a background task.
pub fn settle(acct: &mut Account) {
    let now = Instant::now();
    let due: Vec<String> = acct
        .import_jobs
        .values()
        .filter(|j| j.outcome.is_none() && now >= j.started + j.run)
        .map(|j| j.id.clone())
        .collect();
    for id in due {
        let Some(job) = acct.import_jobs.get(&id).cloned() else {
            continue;
        };
        let failed: BTreeSet<String> = job
            .errors
            .iter()
            .filter_map(|e| field(e, "Arn").map(str::to_string))
            .collect();
        let outcome = if job.errors.is_empty() {
            JobStatus::Successful
        } else if job.rollback && job.rollback_fails {
            // The rollback broke down: what had succeeded stays in the account.
            JobStatus::FailedRollbackError
        } else if job.rollback {
            JobStatus::FailedRollbackCompleted
        } else {
            JobStatus::Failed
        };
        if outcome != JobStatus::FailedRollbackCompleted {
            let stamp = wire::now_epoch();
            let account_id = acct.account_id.clone();
            let mut schedules_by_set: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (ds, s) in &job.schedules {
                schedules_by_set.entry(ds.clone()).or_default().push(s.clone());
            }
            for (t, a, folders) in &job.planned {
                let arn_suffix = format!(":{}/{}", t.resource(), a.id);
                if failed
                    .iter()
                    .any(|f| f.ends_with(&arn_suffix) && f.contains(&account_id))
                {
                    continue;
                }
                let mut a = a.clone();
                match acct.asset(*t, &a.id) {
                    Some(existing) => {
                        a.created = existing.created;
                        a.version = existing.version + 1;
                    }
                    None => {
                        a.created = stamp;
                        a.version = 1;
                    }
                }
                a.updated = stamp;
                if *t == AssetType::DataSet {
                    a.refresh_schedules = schedules_by_set.remove(&a.id).unwrap_or_default();
                }
                for f in folders {
                    if let Some(fid) = AssetArn::parse(f).map(|p| p.id) {
                        acct.folder_members.entry(fid).or_default().insert(FolderMember {
                            asset_type: *t,
                            id: a.id.clone(),
                        });
                    }
                }
                acct.insert(*t, a);
            }
        }
        if let Some(j) = acct.import_jobs.get_mut(&id) {
            j.outcome = Some(outcome);
            j.settled_at = Some(now);
        }
    }
}

pub fn describe(ctx: &Ctx, job_id: &str) -> Result<Response, ApiError> {
    let body = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let job = acct
            .import_jobs
            .get(job_id)
            .ok_or_else(|| ApiError::not_found(format!("Asset bundle import job {job_id} not found.")))?;
        let status = job.status(Instant::now());
        let mut body = Map::new();
        body.insert("JobStatus".into(), json!(status));
        body.insert("Arn".into(), json!(job.arn));
        body.insert("CreatedTime".into(), json!(job.created));
        body.insert("AssetBundleImportJobId".into(), json!(job.id));
        body.insert("AwsAccountId".into(), json!(acct.account_id));
        for (k, v) in &job.request {
            body.insert(k.clone(), v.clone());
        }
        if status.is_failed() {
            body.insert("Errors".into(), json!(job.errors));
        }
        if status == JobStatus::FailedRollbackCompleted {
            body.insert("RollbackErrors".into(), json!([]));
        }
        if status == JobStatus::FailedRollbackError {
            let left: Vec<Value> = job
                .planned
                .iter()
                .filter(|(_, a, _)| {
                    !job.errors
                        .iter()
                        .any(|e| field(e, "Arn").is_some_and(|arn| arn.ends_with(&format!("/{}", a.id))))
                })
                .map(|(t, a, _)| {
                    let arn = format!(
                        "arn:{}:quicksight:{}:{}:{}/{}",
                        crate::model::partition(&ctx.region),
                        ctx.region,
                        acct.account_id,
                        t.resource(),
                        a.id
                    );
                    json!({"Arn": arn, "Type": "ROLLBACK_FAILED",
                        "Message": format!("{arn} could not be rolled back and remains in the account.")})
                })
                .collect();
            body.insert("RollbackErrors".into(), json!(left));
        }
        body.insert("RequestId".into(), json!(wire::request_id()));
        Ok(Value::Object(body))
    })?;
    Ok(wire::ok(200, body))
}

pub fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let items: Vec<Value> = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let mut jobs: Vec<&ImportJob> = acct.import_jobs.values().collect();
        jobs.sort_by(|a, b| b.created.total_cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(jobs
            .into_iter()
            .map(|j| {
                json!({"JobStatus": j.status(Instant::now()), "Arn": j.arn, "CreatedTime": j.created, "AssetBundleImportJobId": j.id,
                "FailureAction": j.request.get("FailureAction")})
            })
            .collect())
    })?;
    let (page, next) = wire::paginate(&items, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({"AssetBundleImportJobSummaryList": page, "RequestId": wire::request_id()});
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}
