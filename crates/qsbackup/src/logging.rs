//! Logging through `tracing`: stderr always (info, or debug with -v), and a
//! file with --log-file. The config's `logging:` section (the sample tool's
//! `level` and `file_path`) applies where no flag says otherwise. Credentials
//! and download URLs never reach a log: the engine does not log them and the
//! SDK's own logs stay at warn.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use qsbackup_core::config::{LogLevel, LoggingSection};
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

pub struct LogGuard;

/// Sets up logging; flags win over `from_config`.
pub fn init(global: &GlobalArgs, from_config: Option<&LoggingSection>) -> anyhow::Result<LogGuard> {
    let level = match (global.verbose, from_config.and_then(|l| l.level)) {
        (1, _) => "debug",
        (2.., _) => "trace",
        (0, Some(LogLevel::Debug)) => "debug",
        (0, Some(LogLevel::Warning)) => "warn",
        (0, Some(LogLevel::Error | LogLevel::Critical)) => "error",
        (0, _) => "info",
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
    let file = match (&global.log_file, from_config.and_then(|l| l.file_path.as_deref())) {
        (Some(flag), _) => Some(open(flag)?),
        // A log file named by the config is a convenience: when it cannot be
        // opened the run goes on, logging to stderr only.
        (None, Some(path)) => match open(&PathBuf::from(path)) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("warning: logging.file_path from the config is not usable ({e:#}); logging to stderr only");
                None
            }
        },
        (None, None) => None,
    };
    match file {
        Some(file) => builder.with_writer(std::io::stderr.and(Mutex::new(file))).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(LogGuard)
}

fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating log directory {}", parent.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening log file {}", path.display()))
}
