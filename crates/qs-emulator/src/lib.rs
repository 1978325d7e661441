//! `qs-emulator`: a local Amazon QuickSight API that speaks the real restJson1
//! wire protocol, so qsbackup's tests, benchmarks and demo run through the same
//! AWS SDK code paths they use against AWS.
//!
//! The crate owns the emulated service: generated accounts ([`generate`],
//! [`definition`]), the state model ([`model`], [`account`], [`jobs`]), the
//! HTTP front ([`server`]), the operations ([`ops`]), asset bundles
//! ([`bundle`]), fault injection ([`faults`]) and call statistics ([`stats`]).

pub mod account;
pub mod admin;
pub mod bundle;
pub mod definition;
pub mod edit;
pub mod faults;
pub mod generate;
pub mod jobs;
pub mod model;
pub mod operation;
pub mod ops;
pub mod server;
pub mod service;
pub mod stats;
pub mod timing;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

pub use faults::FaultPlan;
pub use generate::Profile;
pub use timing::Timing;

/// Everything that shapes an emulated QuickSight.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Size and content of the first account, when `profiles` is empty.
    pub profile: Profile,
    /// Size and content of each account of `accounts`, in order; empty: the first account gets
    /// `profile` and the others start empty.
    pub profiles: Vec<Profile>,
    /// Seed of the generated account and of fault decisions.
    pub seed: u64,
    /// Account ids; the first gets the profile, the others start empty.
    pub accounts: Vec<String>,
    /// The asset region: where the admin API's edits go unless they name one.
    pub region: String,
    /// The regions every account is populated in, each (account, region) with its own seed;
    /// empty: `region` alone. Accounts exist, empty, in every other region, as they do in
    /// QuickSight.
    pub regions: Vec<String>,
    /// Where user and group APIs must be called.
    pub identity_region: String,
    /// How long calls and jobs take.
    pub timing: Timing,
    /// Faults to inject from the start.
    pub faults: FaultPlan,
    /// S3 endpoint that import jobs read `S3Uri` sources from.
    pub s3_endpoint: Option<String>,
    /// A saved account (from `generate`) to load instead of generating one.
    pub state: Option<account::Account>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            profile: Profile::Small,
            profiles: Vec::new(),
            seed: 1,
            accounts: vec!["123456789012".to_string()],
            region: "us-east-1".to_string(),
            regions: Vec::new(),
            identity_region: "us-east-1".to_string(),
            timing: Timing::Instant,
            faults: FaultPlan::default(),
            s3_endpoint: None,
            state: None,
        }
    }
}

/// A running emulator; the server stops when this is dropped.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    service: Arc<service::Service>,
}

impl EmulatorHandle {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Direct access to the emulated service, for in-process checks.
    pub fn service(&self) -> &Arc<service::Service> {
        &self.service
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the emulator on `127.0.0.1` with a free port.
pub async fn start(options: EmulatorOptions) -> std::io::Result<EmulatorHandle> {
    start_on("127.0.0.1:0", options).await
}

/// Starts the emulator on `listen` (for example `127.0.0.1:0`).
pub async fn start_on(listen: &str, options: EmulatorOptions) -> std::io::Result<EmulatorHandle> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let service = Arc::new(service::Service::new(options, addr, ops::settle));
    let app = server::router(service.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(EmulatorHandle {
        addr,
        shutdown: Some(tx),
        service,
    })
}
