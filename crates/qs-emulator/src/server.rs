//! The HTTP front of the emulator: SigV4 credential scope, axum's routing of
//! QuickSight's REST paths to operations, statistics, injected faults and
//! simulated latency, all in one place before any operation runs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::admin;
use crate::faults::CallFault;
use crate::operation::Operation;
use crate::ops;
use crate::service::Service;
use crate::wire::{self, ApiError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;

/// An injected server error, with a code the operation's model declares
/// (the brand APIs say `InternalServerException`, most others
/// `InternalFailureException`; the asset bundle APIs declare none, and get the
/// common `InternalFailureException`).
fn server_error(op: Operation, fault: CallFault) -> ApiError {
    if op.is_brand() {
        return ApiError::new("InternalServerException", "An internal server error occurred.");
    }
    if fault == CallFault::Unavailable && op.declares_unavailable() {
        return ApiError::new(
            "ResourceUnavailableException",
            "The service is temporarily unavailable.",
        );
    }
    ApiError::new("InternalFailureException", "An internal failure occurred.")
}

/// The service's routes, the admin API's, and QuickSight's answer to anything else.
pub fn router(service: Arc<Service>) -> Router {
    let mut api: Router<Arc<Service>> = Router::new();
    for (method, path, op) in ops::routes() {
        let handler = move |State(svc): State<Arc<Service>>,
                            Path(labels): Path<Vec<String>>,
                            uri: Uri,
                            headers: HeaderMap,
                            body: Bytes| async move {
            call(&svc, op, labels, uri, headers, body)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        };
        let filter = match MethodFilter::try_from(method) {
            Ok(f) => f,
            Err(_) => continue,
        };
        api = api.route(&path, on(filter, handler));
    }
    api.merge(admin::routes())
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .with_state(service)
}

/// A path or method QuickSight has no operation for; unsigned requests are
/// refused first, as AWS refuses them.
async fn unknown_operation(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(e) = wire::signed_region(&headers) {
        return e.into_response();
    }
    ApiError::new(
        "UnknownOperationException",
        format!("No operation at {method} {}", uri.path()),
    )
    .into_response()
}

/// One call of `op`: statistics, injected faults and latency, the identity
/// region check, then the operation. `labels` are the path labels, the
/// account first.
async fn call(
    svc: &Service,
    op: Operation,
    labels: Vec<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let region = wire::signed_region(&headers)?;
    let Some((account, labels)) = labels.split_first() else {
        return Err(ApiError::new("UnknownOperationException", op.name()));
    };
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    let fault = {
        let mut world = svc.world();
        let st = world.stats.entry(account.clone()).or_default();
        *st.calls.entry(op).or_default() += 1;
        let fault = svc.faults().for_call(op, account);
        match fault {
            CallFault::Throttle => *st.throttled.entry(op).or_default() += 1,
            CallFault::ServerError | CallFault::Unavailable => *st.server_errors.entry(op).or_default() += 1,
            _ => {}
        }
        fault
    };
    let latency = {
        let mut rng = svc.latency_rng.lock().unwrap_or_else(|p| p.into_inner());
        svc.timing.api_latency(&mut *rng)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        CallFault::None => {}
        CallFault::Deny => {
            return Err(ApiError::new(
                "AccessDeniedException",
                format!("User: arn:aws:iam::{account}:user/qsbackup is not authorized to perform: quicksight:{op} on resource: arn:aws:quicksight:{region}:{account}:*"),
            ))
        }
        CallFault::Throttle => return Err(ApiError::new("ThrottlingException", "Rate exceeded")),
        CallFault::ServerError | CallFault::Unavailable => return Err(server_error(op, fault)),
        CallFault::LimitExceeded => {
            return Err(ApiError::new("LimitExceededException", "A limit is exceeded: too many concurrent jobs in this account."))
        }
    }
    if op.identity_region_only() && region != svc.identity_region {
        return Err(ApiError::new(
            "AccessDeniedException",
            format!(
                "Operation is being called from endpoint {region}, but your identity region is {}. Please use the {} endpoint.",
                svc.identity_region, svc.identity_region
            ),
        ));
    }
    let ctx = ops::Ctx {
        svc,
        account: account.clone(),
        region,
        query,
        body,
    };
    ops::dispatch(&ctx, op, labels).await
}
