//! Runs one real asset backup against a QuickSight endpoint (the emulator, for `scripts/bench`)
//! into a local repository and prints one JSON line: wall time, outcome counts and peak memory.
//!
//! Usage: bench_backup ENDPOINT REPOSITORY_DIR [ACCOUNT_ID]

use aws_credential_types::Credentials;
use qsbackup_core::aws::{AwsContext, AwsOptions};
use qsbackup_core::backup::{run_backup, BackupOptions};
use qsbackup_core::config::{AccountId, Config, Region};
use qsbackup_core::events::{Event, NoProgress, ProgressSink};
use qsbackup_core::repository::Repository;
use std::time::Instant;

/// With `QSB_BENCH_TRACE=1`: a timeline of discovery and jobs on stderr.
struct Trace(Instant);

impl ProgressSink for Trace {
    fn event(&self, event: &Event) {
        let show = !matches!(
            event,
            Event::AssetsDescribed { .. } | Event::AssetSkipped { .. } | Event::AssetFailed { .. }
        );
        if show {
            eprintln!("{:8.3} {event:?}", self.0.elapsed().as_secs_f64());
        }
    }
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(endpoint), Some(repo_dir)) = (args.get(1), args.get(2)) else {
        return Err("usage: bench_backup ENDPOINT REPOSITORY_DIR [ACCOUNT_ID]".into());
    };
    let account = args.get(3).map(String::as_str).unwrap_or("123456789012");
    let config = Config::new(
        AccountId::try_from(account.to_string())?,
        Region::try_from("us-east-1".to_string())?,
    );
    let aws = AwsContext::connect(
        &config.aws,
        &AwsOptions {
            quicksight_endpoint: Some(endpoint.clone()),
            credentials: Some(Credentials::new("bench", "bench", None, None, "bench")),
            ..Default::default()
        },
    )
    .await?;
    let (repository, _) = Repository::create_or_open(repo_dir, &Default::default()).await?;
    let started = Instant::now();
    let trace = Trace(started);
    let sink: &dyn ProgressSink = if std::env::var_os("QSB_BENCH_TRACE").is_some() {
        &trace
    } else {
        &NoProgress
    };
    let outcome = run_backup(&config, &aws, &repository, sink, &BackupOptions::default()).await?;
    let wall = started.elapsed().as_secs_f64();
    let m = &outcome.manifest;
    let summary = serde_json::json!({
        "wall_seconds": wall,
        "snapshot": m.id,
        "status": m.status,
        "bundles": m.bundles.len(),
        "bytes": m.bundle_bytes(),
        "assets_stored": m.stored_asset_count(),
        "assets_skipped": m.skipped.len(),
        "assets_failed": m.failed.len(),
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{summary}");
    Ok(())
}
