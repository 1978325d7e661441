//! Logging through `tracing`: stderr always (info, or debug with -v; above the
//! progress bars when they are shown), and a file with --log-file. The config's `logging:` section (the sample tool's
//! `level` and `file_path`) applies where no flag says otherwise. Credentials,
//! access key ids and download URLs never reach a log: the engine does not log
//! them, and every other crate (the SDK signs requests and logs them at trace)
//! stays at warn whatever the verbosity. A log file is created readable by its
//! owner only, and control characters from the account (names, messages) are
//! escaped on the way to the terminal or the file.

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
        (0, _) if global.quiet => "warn",
        (1, _) => "debug",
        (2.., _) => "trace",
        (0, Some(LogLevel::Debug)) => "debug",
        (0, Some(LogLevel::Warning)) => "warn",
        (0, Some(LogLevel::Error | LogLevel::Critical)) => "error",
        (0, _) => "info",
    };
    // Only our own crates follow -v: the SDK's signing and transport logs carry request
    // details (the access key id in every signed request) at debug and trace.
    let mut filter = EnvFilter::try_from_env("QSBACKUP_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,qsbackup={level},qsbackup_core={level},qs_emulator={level}"
        ))
    });
    // Even a QSBACKUP_LOG asking for everything does not get signed requests.
    for quiet in SECRET_BEARING {
        if let Ok(directive) = format!("{quiet}=warn").parse() {
            filter = filter.add_directive(directive);
        }
    }
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
    let stderr = || Printable(AboveBars);
    match file {
        Some(file) => builder.with_writer(stderr.and(Mutex::new(Printable(file)))).init(),
        None => builder.with_writer(stderr).init(),
    }
    Ok(LogGuard)
}

/// Crates whose debug and trace logs show signed requests, credentials or presigned URLs.
const SECRET_BEARING: [&str; 10] = [
    "aws_sigv4",
    "aws_runtime",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_config",
    "aws_credential_types",
    "hyper_util",
    "reqwest",
    "object_store",
];

/// Escapes control characters (but line breaks) in what is written: a log line quoting an
/// asset name must not move the cursor or recolour the terminal.
struct Printable<W>(W);

impl<W: std::io::Write> std::io::Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(qsbackup_core::text::printable_lines(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Stderr through the progress display: a log line goes above the bars, never into them.
struct AboveBars;

impl std::io::Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::progress::write_stderr(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn open(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating log directory {}", parent.display()))?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .with_context(|| format!("opening log file {}", path.display()))?;
    // A file created before (by an older version, or by hand) is narrowed too; a device or
    // pipe (`/dev/stderr`) is left as it is.
    #[cfg(unix)]
    if file.metadata().is_ok_and(|m| m.is_file()) {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making log file {} private", path.display()))?;
    }
    Ok(file)
}
