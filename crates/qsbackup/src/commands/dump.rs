//! `qsbackup dump SNAPSHOT TYPE/ID`: one asset's JSON member, exactly as stored, on stdout; with
//! `--zip`, the whole bundle that holds it. Both are checked against the manifest's sizes and
//! checksums first.

use anyhow::anyhow;
use clap::Args;
use qsbackup_core::asset::AssetKey;
use qsbackup_core::repository::find;
use qsbackup_core::repository::snapshots;
use std::io::{IsTerminal, Write};

use super::repo::{self, RepoArgs};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// Snapshot id, a unique prefix of one, or `latest`.
    #[arg(value_name = "ID|latest")]
    pub snapshot: String,

    /// The asset as TYPE/ID, e.g. dashboard/3f2a-...
    #[arg(value_name = "TYPE/ID")]
    pub asset: String,

    /// Write the whole bundle (a zip) that holds the asset instead of its JSON; stdout must be
    /// redirected to a file or a pipe.
    #[arg(long)]
    pub zip: bool,

    #[command(flatten)]
    pub repo: RepoArgs,
}

pub async fn run(global: &GlobalArgs, args: &DumpArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Outcome> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Outcome::failure(anyhow!("writing to stdout: {e}")))
}

async fn run_inner(global: &GlobalArgs, args: &DumpArgs) -> Result<Outcome, Outcome> {
    let asset = AssetKey::parse(&args.asset).map_err(|e| Outcome::usage(anyhow!(e)))?;
    // Checked before any read: a zip on a terminal is noise and can drive it.
    if args.zip && std::io::stdout().is_terminal() {
        return Err(Outcome::usage(anyhow!(
            "--zip writes binary data: redirect stdout, e.g. `qsbackup dump {} {} --zip > bundle.zip`",
            args.snapshot,
            args.asset
        )));
    }
    let repository = repo::open(global, &args.repo).await?;
    let m = snapshots::load(&repository, &args.snapshot)
        .await
        .map_err(Outcome::from_core)?;
    if args.zip {
        let (bundle, _) = find::locate(&repository, &m, &asset)
            .await
            .map_err(Outcome::from_core)?;
        let fetched = find::fetch_bundle(&repository, bundle)
            .await
            .map_err(Outcome::from_core)?;
        let mut file = std::fs::File::open(fetched.file.path())
            .map_err(|e| Outcome::failure(anyhow!("reading the fetched bundle: {e}")))?;
        let mut stdout = std::io::stdout().lock();
        std::io::copy(&mut file, &mut stdout)
            .and_then(|_| stdout.flush())
            .map_err(|e| Outcome::failure(anyhow!("writing to stdout: {e}")))?;
        tracing::info!("{} ({} bytes) of snapshot {}", bundle.key, bundle.size, m.id);
        return Ok(Outcome::success());
    }
    let body = find::asset_member(&repository, &m, &asset)
        .await
        .map_err(Outcome::from_core)?;
    write_stdout(&body)?;
    Ok(Outcome::success())
}
