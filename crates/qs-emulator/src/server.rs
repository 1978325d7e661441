//! The HTTP front of the emulator: SigV4 credential scope, axum's routing of
//! QuickSight's REST paths to operations, statistics, injected faults and
//! simulated latency, all in one place before any operation runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::account::Account;
use crate::faults::{CallFault, Faults};
use crate::operation::Operation;
use crate::ops;
use crate::stats::Stats;
use crate::wire::{self, ApiError};
use crate::{admin, generate, EmulatorOptions, Timing};

/// A download served by the emulator in place of S3.
#[derive(Debug, Clone)]
pub struct Download {
    pub account: String,
    pub region: String,
    pub job_id: String,
    pub expires_at: f64,
}

/// Everything mutable about the emulated service.
#[derive(Debug, Default)]
pub struct World {
    /// (region, account id) to account state.
    pub accounts: BTreeMap<(String, String), Account>,
    pub known_accounts: BTreeSet<String>,
    pub stats: BTreeMap<String, Stats>,
    pub downloads: HashMap<String, Download>,
}

/// The emulated QuickSight service.
pub struct Service {
    pub region: String,
    pub identity_region: String,
    pub timing: Timing,
    pub s3_endpoint: Option<String>,
    pub base_url: String,
    pub seed: u64,
    world: Mutex<World>,
    faults: Mutex<Faults>,
    latency_rng: Mutex<ChaCha8Rng>,
    pub http: reqwest::Client,
}

impl Service {
    pub fn new(options: EmulatorOptions, addr: SocketAddr) -> Service {
        let now = wire::now_epoch();
        let mut world = World::default();
        for (i, id) in options.accounts.iter().enumerate() {
            let account = match (&options.state, i) {
                (Some(state), 0) => {
                    let mut a = state.clone();
                    a.account_id = id.clone();
                    a
                }
                (None, 0) => generate::generate(
                    options.profile,
                    options.seed,
                    id,
                    &options.region,
                    &options.identity_region,
                ),
                _ => Account::empty(id, &options.region, now),
            };
            world.known_accounts.insert(id.clone());
            world.accounts.insert((options.region.clone(), id.clone()), account);
        }
        Service {
            region: options.region,
            identity_region: options.identity_region,
            timing: options.timing,
            s3_endpoint: options.s3_endpoint,
            base_url: format!("http://{addr}"),
            seed: options.seed,
            world: Mutex::new(world),
            faults: Mutex::new(Faults::new(options.faults, options.seed)),
            latency_rng: Mutex::new(ChaCha8Rng::seed_from_u64(options.seed)),
            http: reqwest::Client::new(),
        }
    }

    /// Locks the world; never held across an await.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the account in `region`, creating its empty state in a
    /// region first touched (accounts exist in every region).
    pub fn with_account<R>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut Account, &mut Stats) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut world = self.world();
        if !world.known_accounts.contains(account) {
            return Err(ApiError::new(
                "AccessDeniedException",
                format!(
                    "User is not authorized to access account {account}: the account is not signed up for QuickSight."
                ),
            ));
        }
        let key = (region.to_string(), account.to_string());
        let now = wire::now_epoch();
        let World { accounts, stats, .. } = &mut *world;
        let acct = accounts
            .entry(key)
            .or_insert_with(|| Account::empty(account, region, now));
        let st = stats.entry(account.to_string()).or_default();
        ops::import::settle(self, acct, region);
        f(acct, st)
    }
}

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
        let fault = svc.faults().for_call(op);
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
