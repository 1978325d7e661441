//! Logging through `tracing`: stderr always (info, or debug with -v), and a
//! file with --log-file. Credentials and download URLs never reach a log: the
//! engine does not log them and the SDK's own logs stay at warn.

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

pub struct LogGuard;

pub fn init(global: &GlobalArgs) -> anyhow::Result<LogGuard> {
    let level = match global.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // AWS SDK internals at debug can print request details; keep them at warn.
    let filter = EnvFilter::try_from_env("QSBACKUP_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,aws_config=warn,aws_sdk_quicksight=warn,aws_sdk_dynamodb=warn,hyper=warn,hyper_util=warn,reqwest=warn,object_store=warn,h2=warn,rustls=warn"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .compact();
    match &global.log_file {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating log directory {}", parent.display()))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            builder.with_writer(std::io::stderr.and(Mutex::new(file))).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(LogGuard)
}
