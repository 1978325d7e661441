//! The admin API under `/_emulator/` that tests, benchmarks and outside checks
//! use: statistics, fault plans, user-like edits and deletions of assets, and
//! the download endpoint that stands in for S3's presigned URLs (which tests
//! can expire at will).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::edit::Edit;
use crate::faults::FaultPlan;
use crate::jobs::ExportResult;
use crate::model::AssetType;
use crate::service::Service;
use crate::wire;

type Svc = State<Arc<Service>>;

pub fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/stats/reset", post(reset_stats))
        .route("/_emulator/faults", put(set_faults).get(get_faults))
        .route(
            "/_emulator/accounts/{account}/assets/{kind}/{id}",
            axum::routing::delete(delete_asset).patch(patch_asset),
        )
        .route("/_emulator/accounts/{account}/summary", get(summary))
        .route("/_emulator/downloads/expire", post(expire_downloads))
        .route("/_emulator/download/{token}/{file}", get(download))
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn stats(State(svc): Svc, Query(q): Query<HashMap<String, String>>) -> Response {
    let world = svc.world();
    let body = match q.get("account") {
        Some(a) => serde_json::to_value(world.stats.get(a).cloned().unwrap_or_default()),
        None => serde_json::to_value(&world.stats),
    };
    match body {
        Ok(v) => Json(v).into_response(),
        Err(e) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn reset_stats(State(svc): Svc) -> Response {
    svc.world().stats.clear();
    Json(json!({"reset": true})).into_response()
}

async fn set_faults(State(svc): Svc, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            svc.faults().set(plan.clone());
            Json(serde_json::to_value(plan).unwrap_or(Value::Null)).into_response()
        }
        Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("invalid fault plan: {e}")),
    }
}

async fn get_faults(State(svc): Svc) -> Response {
    Json(serde_json::to_value(svc.faults().plan.clone()).unwrap_or(Value::Null)).into_response()
}

/// Expires every download URL handed out so far, as the passing of its
/// lifetime would; a later describe hands out a fresh one. Tests use it instead
/// of waiting out `url_ttl_seconds`.
async fn expire_downloads(State(svc): Svc) -> Response {
    let mut world = svc.world();
    let now = wire::now_epoch();
    let mut expired = 0usize;
    for d in world.downloads.values_mut().filter(|d| d.expires_at >= now) {
        d.expires_at = f64::MIN;
        expired += 1;
    }
    Json(json!({"expired": expired})).into_response()
}

fn kind(s: &str) -> Option<AssetType> {
    AssetType::from_resource(s).filter(|t| *t != AssetType::Topic)
}

/// `?region=`: the asset region an admin call edits or reads; the emulator's own by default.
#[derive(serde::Deserialize)]
struct InRegion {
    region: Option<String>,
}

impl InRegion {
    fn or(self, svc: &Service) -> String {
        self.region.unwrap_or_else(|| svc.region.clone())
    }
}

async fn delete_asset(
    State(svc): Svc,
    Path((account, k, id)): Path<(String, String, String)>,
    Query(at): Query<InRegion>,
) -> Response {
    let Some(t) = kind(&k) else {
        return admin_error(StatusCode::BAD_REQUEST, format!("unknown asset type {k}"));
    };
    let region = at.or(&svc);
    let removed = svc.with_account(&account, &region, |acct, _| Ok(acct.remove(t, &id)));
    match removed {
        Ok(Some(_)) => Json(json!({"deleted": format!("{k}/{id}")})).into_response(),
        Ok(None) => admin_error(StatusCode::NOT_FOUND, format!("no {k} {id} in {account}")),
        Err(e) => e.into_response(),
    }
}

async fn patch_asset(
    State(svc): Svc,
    Path((account, k, id)): Path<(String, String, String)>,
    Query(at): Query<InRegion>,
    body: Bytes,
) -> Response {
    let Some(t) = kind(&k) else {
        return admin_error(StatusCode::BAD_REQUEST, format!("unknown asset type {k}"));
    };
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    let edit = match Edit::parse(t, &patch) {
        Ok(e) => e,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let region = at.or(&svc);
    let edited = svc.with_account(&account, &region, |acct, _| {
        Ok(acct.asset_mut(t, &id).map(|a| {
            edit.apply(a);
            (a.version, a.updated)
        }))
    });
    match edited {
        Ok(Some((version, updated))) => {
            Json(json!({"edited": format!("{k}/{id}"), "version": version, "last_updated_time": updated}))
                .into_response()
        }
        Ok(None) => admin_error(StatusCode::NOT_FOUND, format!("no {k} {id} in {account}")),
        Err(e) => e.into_response(),
    }
}

async fn summary(State(svc): Svc, Path(account): Path<String>, Query(at): Query<InRegion>) -> Response {
    let region = at.or(&svc);
    let r = svc.with_account(&account, &region, |acct, _| {
        let users: usize = acct.namespaces.values().map(|n| n.users.len()).sum();
        let groups: usize = acct.namespaces.values().map(|n| n.groups.len()).sum();
        let memberships: usize = acct
            .namespaces
            .values()
            .flat_map(|n| n.groups.values())
            .map(|g| g.members.len())
            .sum();
        Ok(
            json!({"assets": crate::bundle::count_by_type(acct), "namespaces": acct.namespaces.len(),
            "users": users, "groups": groups, "memberships": memberships}),
        )
    });
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn s3_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = (StatusCode::FORBIDDEN, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    r
}

async fn download(State(svc): Svc, Path((token, _file)): Path<(String, String)>) -> Response {
    let found = svc.world().downloads.get(&token).cloned();
    let Some(d) = found else {
        return s3_error("AccessDenied", "Access Denied");
    };
    let account = d.account.clone();
    if wire::now_epoch() > d.expires_at {
        svc.world().stats.entry(account).or_default().downloads_expired += 1;
        return s3_error("AccessDenied", "Request has expired");
    }
    let content = svc.with_account(&d.account, &d.region, |acct, _| {
        Ok(acct.export_jobs.get(&d.job_id).and_then(|j| match &j.result {
            ExportResult::Success { content, content_type } => Some((content.clone(), *content_type)),
            ExportResult::Failed(_) => None,
        }))
    });
    let Ok(Some((content, content_type))) = content else {
        return s3_error("NoSuchKey", "The specified key does not exist.");
    };
    let drop = svc.faults().drop_download();
    {
        let mut world = svc.world();
        let st = world.stats.entry(account).or_default();
        st.downloads += 1;
        if drop {
            st.downloads_dropped += 1;
        }
    }
    let len = content.len();
    let body = if drop {
        // Send half, then break the connection mid-body.
        let half = Bytes::copy_from_slice(&content[..len / 2]);
        let stream = futures::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped by fault injection",
            )),
        ]);
        Body::from_stream(stream)
    } else {
        Body::from(Bytes::copy_from_slice(&content))
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        h.insert("content-length", v);
    }
    r
}
