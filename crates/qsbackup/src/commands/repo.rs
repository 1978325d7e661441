//! What the repository commands (snapshots, show, diff, verify, forget, unlock) share: opening
//! the repository of the global `-r/--repo` (or `QSBACKUP_REPOSITORY`) or of the config,
//! selecting snapshots by account and region, and formatting sizes and times.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use clap::Args;
use qsbackup_core::config::{AccountId, Region};
use qsbackup_core::repository::snapshots::SnapshotFilter;
use qsbackup_core::repository::{Repository, RepositoryOptions};

use super::common;
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

/// Which repository to work on: the global `-r/--repo` (see [`GlobalArgs::repo`]), so
/// it is accepted before or after the command name like restic's. Kept as a per-command
/// group so every repository command names it the same way.
#[derive(Debug, Clone, Args, Default)]
pub struct RepoArgs {}

/// `--account ID` and `--region REGION`: the snapshots of one account and/or region, in a
/// repository that holds several.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    /// Only the snapshots of this AWS account (12 digits); `latest` is its newest.
    #[arg(long, value_name = "ID", value_parser = account_id)]
    pub account: Option<String>,
    /// Only the snapshots of this region; `latest` is its newest.
    #[arg(long, value_name = "REGION", value_parser = region)]
    pub region: Option<String>,
}

impl SelectArgs {
    pub fn filter(&self) -> SnapshotFilter {
        SnapshotFilter {
            account_id: self.account.clone(),
            region: self.region.clone(),
        }
    }
}

pub fn account_id(s: &str) -> Result<String, String> {
    AccountId::try_from(s.to_string()).map(|a| a.to_string())
}

pub fn region(s: &str) -> Result<String, String> {
    Region::try_from(s.to_string()).map(|r| r.as_str().to_string())
}

/// Opens `-r/--repo`, or the repository of `--config`.
pub async fn open(global: &GlobalArgs, _args: &RepoArgs) -> Result<Repository, Outcome> {
    match &global.repo {
        Some(url) => Repository::open(url, &RepositoryOptions::default())
            .await
            .map_err(Outcome::from_core),
        None if global.config.is_none() => Err(Outcome::usage(anyhow!(
            "this command needs a repository: pass -r/--repo URL (or set QSBACKUP_REPOSITORY) or --config FILE (or set QSBACKUP_CONFIG)"
        ))),
        None => common::open_config_repository(global).await.map(|(_, repo)| repo),
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // The last guard: text from the account never drives the terminal.
    let text = qsbackup_core::text::printable_lines(text);
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// `1.50 MiB`-style sizes (binary units), as in every report.
pub fn bytes(n: u64) -> String {
    qsbackup_core::units::human_bytes(n)
}

/// `2026-11-28 07:21:00 UTC`.
pub fn time(t: &DateTime<Utc>) -> String {
    qsbackup_core::units::timestamp(t)
}

/// A value's serde name (`complete`, `users-only`...).
pub fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Parses a duration such as `90s`, `30min`, `2h` or `7d` (the safety margin of prune).
pub fn parse_age(s: &str) -> Result<chrono::TimeDelta, String> {
    let s = s.trim();
    let d = humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}; e.g. 30min, 2h or 7d"))?;
    chrono::TimeDelta::from_std(d).map_err(|_| format!("duration {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.50 MiB");
        assert_eq!(parse_age("90s").unwrap(), chrono::TimeDelta::seconds(90));
        assert_eq!(parse_age("30min").unwrap(), chrono::TimeDelta::minutes(30));
        assert_eq!(parse_age("2h").unwrap(), chrono::TimeDelta::hours(2));
        assert_eq!(parse_age("7d").unwrap(), chrono::TimeDelta::days(7));
        assert_eq!(parse_age("0s").unwrap(), chrono::TimeDelta::zero());
        assert!(parse_age("3x").is_err());
        assert!(parse_age("h").is_err());
    }
}
