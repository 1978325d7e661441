//! The `qsbackup` binary: parses the command line, sets up logging and
//! progress output, runs the engine, and turns the outcome into an exit code
//! (0 success, 1 failure, 2 partial, 3 usage or configuration, 4 lock held, 130/143 interrupted
//! by SIGINT/SIGTERM).

mod cli;
mod commands;
mod exit;
mod help;
mod interrupt;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;

/// One malloc arena instead of glibc's eight per core. A restore parses thousands of members on
/// blocking threads and frees them; with an arena per thread that memory stays resident, which
/// took a full restore of the medium account from 58 to 69 MiB (scripts/bench --release), for
/// no speed: the work waits on QuickSight, not on the allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets a tunable; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn main() -> ExitCode {
    one_malloc_arena();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => exit::USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The config's `logging:` section (the sample tool's) sets defaults for
    // the log; a config that does not load is reported by the command itself.
    let logging_section = cli
        .global
        .config
        .as_deref()
        .and_then(|path| qsbackup_core::config::load(path).ok())
        .and_then(|config| config.logging);
    let _log_guard = match logging::init(&cli.global, logging_section.as_ref()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(exit::USAGE);
        }
    };
    // Blocking threads (local file I/O) are capped: each one costs resident memory.
    // Threads get 8 MiB of stack instead of tokio's 2: an unoptimised build (the demo's, the
    // tests') polls the engine's futures in frames several times a release build's, and the
    // demo's backup came within a few KiB of 2 MiB. Only the pages used become resident.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .max_blocking_threads(8)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let outcome = runtime.block_on(async move {
        interrupt::install();
        let handle = tokio::spawn(run(cli));
        match handle.await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::failure(anyhow::anyhow!("internal error: {e}")),
        }
    });
    // A blocking read still waiting (a restore prompt answered by Ctrl-C) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    outcome.report()
}

async fn run(cli: Cli) -> Outcome {
    let global = cli.global;
    if cli.backup.any() && !matches!(cli.command, None | Some(Command::Backup(_))) {
        return Outcome::usage(anyhow::anyhow!(
            "backup flags (--mode, --dry-run, --output-dir, ...) apply to `backup` only"
        ));
    }
    // Commands that hold a lock or change something stop on a signal by themselves (see
    // `interrupt`); the others have nothing to clean up and stop at once.
    let winds_down = matches!(
        cli.command,
        None | Some(Command::Backup(_))
            | Some(Command::Demo(_))
            | Some(Command::Restore(_))
            | Some(Command::Drill(_))
            | Some(Command::Forget(_))
            | Some(Command::ImportLegacy(_))
    );
    if winds_down {
        run_command(cli.command, global, cli.backup).await
    } else {
        interrupt::or_interrupt(run_command(cli.command, global, cli.backup))
            .await
            .unwrap_or_else(|| Outcome::interrupted("stopped; nothing was changed"))
    }
}

async fn run_command(command: Option<Command>, global: cli::GlobalArgs, backup: cli::BackupArgs) -> Outcome {
    let cli_backup = backup;
    match command {
        Some(Command::Backup(args)) => commands::backup::run(&global, &args.or(&cli_backup)).await,
        Some(Command::Demo(args)) => commands::demo::run(&global, &args).await,
        Some(Command::Snapshots(a)) => commands::snapshots::run(&global, &a).await,
        Some(Command::Show(a)) => commands::show::run(&global, &a).await,
        Some(Command::Diff(a)) => commands::diff::run(&global, &a).await,
        Some(Command::Find(a)) => commands::find::run(&global, &a).await,
        Some(Command::Log(a)) => Box::pin(commands::log::run(&global, &a)).await,
        Some(Command::Dump(a)) => commands::dump::run(&global, &a).await,
        Some(Command::Verify(a)) => commands::verify::run(&global, &a).await,
        Some(Command::Forget(a)) => commands::forget::run(&global, &a).await,
        Some(Command::Unlock(a)) => commands::unlock::run(&global, &a).await,
        Some(Command::Restore(a)) => commands::restore::run(&global, &a).await,
        Some(Command::Drill(a)) => Box::pin(commands::drill::run(&global, &a)).await,
        Some(Command::Drills(a)) => commands::drill::run_list(&global, &a).await,
        Some(Command::Report(a)) => Box::pin(commands::report::run(&global, &a)).await,
        Some(Command::ImportLegacy(a)) => commands::import_legacy::run(&global, &a).await,
        Some(Command::IamPolicy(a)) => commands::iam_policy::run(&global, &a).await,
        Some(Command::Cost(a)) => commands::cost::run(&global, &a).await,
        None if global.config.is_some() => commands::backup::run(&global, &cli_backup).await,
        None => Outcome::usage(anyhow::anyhow!(
            "no command given: run `qsbackup --config FILE` to back up, `qsbackup demo` to try it \
             without an AWS account, or `qsbackup --help`"
        )),
    }
}
