//! SIGINT and SIGTERM. The first signal cancels the process-wide token that every command hands
//! to the engine (a backup stops starting export jobs, a restore stops starting import jobs,
//! forget, prune and import-legacy stop where they are) so each releases its locks and ends with
//! 130 (SIGINT) or 143 (SIGTERM). A second signal, or a command still running
//! [`HARD_STOP`] after the first, exits at once with the same code.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use qsbackup_core::CancellationToken;

/// After the first signal a command has this long to wind down before the process exits
/// anyway; within the 10 s a user or a service manager waits before a SIGKILL.
const HARD_STOP: Duration = Duration::from_secs(9);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The token every command passes to the engine; cancelled by the first signal.
pub fn token() -> CancellationToken {
    TOKEN.get_or_init(CancellationToken::new).clone()
}

/// The signal received, as `SIGINT` or `SIGTERM`.
pub fn signal_name() -> &'static str {
    match SIGNAL.load(Ordering::SeqCst) {
        SIGTERM => "SIGTERM",
        _ => "SIGINT",
    }
}

/// 130 after SIGINT, 143 after SIGTERM (128 + the signal number, as shells report it).
pub fn exit_code() -> u8 {
    match SIGNAL.load(Ordering::SeqCst) {
        SIGTERM => 128 + SIGTERM as u8,
        _ => 128 + SIGINT as u8,
    }
}

/// Installs the handlers; call inside the runtime. Without them (handlers that cannot be
/// installed) the signals keep their default effect.
pub fn install() {
    let token = token();
    let Some(mut signals) = Signals::new() else { return };
    tokio::spawn(async move {
        let first = signals.next().await;
        SIGNAL.store(first, Ordering::SeqCst);
        tracing::debug!("{}: stopping", signal_name());
        token.cancel();
        tokio::select! {
            _ = signals.next() => {}
            _ = tokio::time::sleep(HARD_STOP) => {
                eprintln!("interrupted by {}: did not stop within {} s, exiting", signal_name(), HARD_STOP.as_secs());
            }
        }
        std::process::exit(i32::from(exit_code()));
    });
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Option<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => SIGINT,
            _ = self.term.recv() => SIGTERM,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Option<Signals> {
        Some(Signals)
    }

    async fn next(&mut self) -> i32 {
        let _ = tokio::signal::ctrl_c().await;
        SIGINT
    }
}

/// `fut`'s output, or `None` as soon as a signal arrives (`fut` is then dropped where it is).
pub async fn or_interrupt<T>(fut: impl std::future::Future<Output = T>) -> Option<T> {
    let token = token();
    tokio::select! {
        biased;
        _ = token.cancelled() => None,
        out = fut => Some(out),
    }
}
