//! What the repository commands (snapshots, show, diff, verify, forget, unlock) share: the
//! `--repository` override, opening the repository, and formatting sizes and times.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use clap::Args;
use qsbackup_core::repository::{Repository, RepositoryOptions};

use super::common;
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

/// Which repository to work on.
#[derive(Debug, Clone, Args, Default)]
pub struct RepoArgs {
    /// Repository URL (a path, file://, s3://bucket/prefix, gs://, az://); defaults to the one
    /// the --config file names, so no config is needed when this is given.
    #[arg(short = 'r', long, value_name = "URL")]
    pub repository: Option<String>,
}

/// Opens `--repository`, or the repository of `--config`.
pub async fn open(global: &GlobalArgs, args: &RepoArgs) -> Result<Repository, Outcome> {
    match &args.repository {
        Some(url) => Repository::open(url, &RepositoryOptions::default())
            .await
            .map_err(Outcome::from_core),
        None if global.config.is_none() => Err(Outcome::usage(anyhow!(
            "this command needs a repository: pass --repository URL or --config FILE"
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

/// `1.5 MiB`-style sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `2026-11-28 07:21:00` (UTC).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A value's serde name (`complete`, `users-only`...).
pub fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Parses `90s`, `30min`, `2h` or `7d` (the safety margin of prune).
pub fn parse_age(s: &str) -> Result<chrono::TimeDelta, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 30min, 2h or 7d"))?;
    let secs = match unit {
        "s" => 1,
        "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration {s:?}: the unit must be s, min, h or d")),
    };
    n.checked_mul(secs)
        .and_then(chrono::TimeDelta::try_seconds)
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(parse_age("30min").unwrap(), chrono::TimeDelta::minutes(30));
        assert_eq!(parse_age("0s").unwrap(), chrono::TimeDelta::zero());
        assert!(parse_age("3w").is_err());
        assert!(parse_age("h").is_err());
    }
}
