//! Asset bundle export jobs: start (quotas, validation, refusals), describe
//! (states, fresh download URLs, errors) and list.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::Response;
use rand::SeedableRng;
use serde_json::{json, Map, Value};

use super::Ctx;
use crate::bundle::{self, ExportOptions};
use crate::jobs::{ExportJob, ExportResult, JobStatus};
use crate::model::Arns;
use crate::service::Download;
use crate::wire::{self, ApiError};

/// QuickSight runs at most this many asset bundle jobs of a kind per account.
pub const MAX_CONCURRENT_JOBS: usize = 5;

pub fn valid_job_id(id: &str) -> bool {
    (1..=512).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const ECHOED: [&str; 8] = [
    "ResourceArns",
    "IncludeAllDependencies",
    "ExportFormat",
    "CloudFormationOverridePropertyConfiguration",
    "IncludePermissions",
    "IncludeTags",
    "ValidationStrategy",
    "IncludeFolderMemberships",
];

pub fn start(ctx: &Ctx) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let job_id = body
        .get("AssetBundleExportJobId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("AssetBundleExportJobId is required"))?
        .to_string();
    if !valid_job_id(&job_id) {
        return Err(ApiError::invalid(format!(
            "Value '{job_id}' at 'assetBundleExportJobId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w\\-]+"
        )));
    }
    let arns_in: Vec<String> = body
        .get("ResourceArns")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if arns_in.is_empty() || arns_in.len() > 100 {
        return Err(ApiError::invalid(format!(
            "1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length between 1 and 100 (got {})",
            arns_in.len()
        )));
    }
    let format = body
        .get("ExportFormat")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if format != "QUICKSIGHT_JSON" && format != "CLOUDFORMATION_JSON" {
        return Err(ApiError::invalid(format!("Value '{format}' at 'exportFormat' failed to satisfy constraint: Member must satisfy enum value set: [CLOUDFORMATION_JSON, QUICKSIGHT_JSON]")));
    }
    let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
    let folder_members = body
        .get("IncludeFolderMembers")
        .and_then(Value::as_str)
        .unwrap_or("NONE")
        .to_string();
    if !["NONE", "ONE_LEVEL", "RECURSE"].contains(&folder_members.as_str()) {
        return Err(ApiError::invalid(format!(
            "Invalid IncludeFolderMembers {folder_members}"
        )));
    }
    let opts = ExportOptions {
        include_dependencies: flag("IncludeAllDependencies"),
        include_permissions: flag("IncludePermissions"),
        include_tags: flag("IncludeTags"),
        include_folder_memberships: flag("IncludeFolderMemberships"),
        include_folder_members: folder_members.clone(),
        cloudformation: format == "CLOUDFORMATION_JSON",
    };
    let mut request = Map::new();
    for k in ECHOED {
        if let Some(v) = body.get(k) {
            request.insert(k.to_string(), v.clone());
        }
    }
    request.insert("IncludeFolderMembers".into(), json!(folder_members));
    let (delay, fail) = {
        let mut f = ctx.svc.faults();
        (f.plan.job_delay_ms, f.fail_export_job())
    };
    let svc = ctx.svc;
    let region = ctx.region.clone();
    let arn = format!(
        "arn:{}:quicksight:{}:{}:asset-bundle-export-job/{}",
        crate::model::partition(&region),
        region,
        ctx.account,
        job_id
    );
    svc.with_account(&ctx.account, &region, |acct, stats| {
        let now = Instant::now();
        if acct.export_jobs.get(&job_id).map(|j| j.running(now)).unwrap_or(false) {
            return Err(ApiError::new("ConflictException", format!("An export job with id {job_id} is already running.")));
        }
        let running = acct.export_jobs.values().filter(|j| j.running(now)).count();
        if running >= MAX_CONCURRENT_JOBS {
            return Err(ApiError::new(
                "LimitExceededException",
                format!("You have reached the limit of {MAX_CONCURRENT_JOBS} concurrent asset bundle export jobs in this account."),
            ));
        }
        let account_id = acct.account_id.clone();
        let arns = Arns { region: &region, identity_region: &svc.identity_region, account: &account_id };
        let plan = bundle::plan_export(acct, &arns, &arns_in, &opts)?;
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(svc.seed ^ acct.export_jobs.len() as u64);
        let (queue, run) = svc.timing.export_job(plan.assets.len(), &mut rng);
        let run = run + Duration::from_millis(delay);
        let result = if fail {
            ExportResult::Failed(vec![json!({"Type": "InternalFailure", "Message": "The export job failed because of an internal error. Try again."})])
        } else if !plan.errors.is_empty() {
            ExportResult::Failed(plan.errors.clone())
        } else {
            let (content, content_type) = bundle::build(acct, &arns, &plan, &opts)?;
            ExportResult::Success { content: Arc::new(content), content_type }
        };
        stats.export_job(running as u64 + 1, (queue + run).as_secs_f64());
        acct.export_jobs.insert(
            job_id.clone(),
            ExportJob {
                id: job_id.clone(),
                arn: arn.clone(),
                created: wire::now_epoch(),
                started: now,
                queue,
                run,
                request,
                result,
                warnings: Vec::new(),
            },
        );
        Ok(())
    })?;
    Ok(wire::ok(
        200,
        json!({"Arn": arn, "AssetBundleExportJobId": job_id, "RequestId": wire::request_id()}),
    ))
}

pub fn describe(ctx: &Ctx, job_id: &str) -> Result<Response, ApiError> {
    let svc = ctx.svc;
    let (mut body, download) = svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let job = acct
            .export_jobs
            .get(job_id)
            .ok_or_else(|| ApiError::not_found(format!("Asset bundle export job {job_id} not found.")))?;
        let status = job.status(Instant::now());
        let mut body = Map::new();
        body.insert("JobStatus".into(), json!(status));
        body.insert("Arn".into(), json!(job.arn));
        body.insert("CreatedTime".into(), json!(job.created));
        body.insert("AssetBundleExportJobId".into(), json!(job.id));
        body.insert("AwsAccountId".into(), json!(acct.account_id));
        for (k, v) in &job.request {
            body.insert(k.clone(), v.clone());
        }
        if !job.warnings.is_empty() {
            body.insert("Warnings".into(), json!(job.warnings));
        }
        let mut download = false;
        match (&job.result, status) {
            (ExportResult::Failed(errors), JobStatus::Failed) => {
                body.insert("Errors".into(), json!(errors));
            }
            (ExportResult::Success { .. }, JobStatus::Successful) => download = true,
            _ => {}
        }
        Ok((body, download))
    })?;
    if download {
        let token = format!("{:032x}", rand::random::<u128>());
        let ttl = svc.faults().url_ttl();
        svc.world().downloads.insert(
            token.clone(),
            Download {
                account: ctx.account.clone(),
                region: ctx.region.clone(),
                job_id: job_id.to_string(),
                expires_at: wire::now_epoch() + ttl,
            },
        );
        // Shaped like a presigned S3 URL: a bearer secret until it expires.
        body.insert(
            "DownloadUrl".into(),
            json!(format!(
                "{}/_emulator/download/{token}/assetbundle-{job_id}.qs?X-Amz-Expires={}&X-Amz-Signature={token}",
                svc.base_url, ttl as u64
            )),
        );
    }
    body.insert("RequestId".into(), json!(wire::request_id()));
    Ok(wire::ok(200, Value::Object(std::mem::take(&mut body))))
}

pub fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let items: Vec<Value> = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let now = Instant::now();
        let mut jobs: Vec<&ExportJob> = acct.export_jobs.values().collect();
        jobs.sort_by(|a, b| b.created.total_cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(jobs
            .into_iter()
            .map(|j| {
                let mut v = json!({"JobStatus": j.status(now), "Arn": j.arn, "CreatedTime": j.created, "AssetBundleExportJobId": j.id});
                for k in ["IncludeAllDependencies", "ExportFormat", "IncludePermissions", "IncludeTags"] {
                    if let Some(x) = j.request.get(k) {
                        v[k] = x.clone();
                    }
                }
                v
            })
            .collect())
    })?;
    let (page, next) = wire::paginate(&items, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({"AssetBundleExportJobSummaryList": page, "RequestId": wire::request_id()});
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}
