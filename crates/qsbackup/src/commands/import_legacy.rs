//! `qsbackup import-legacy --date YYYY-MM-DD`: the AWS sample tool's backup of one day (its
//! bundles in the config's repository, its `YYYY-MM-DD-<base>` identity tables in DynamoDB)
//! made into a verified snapshot that `snapshots`, `verify` and `restore` work with.

use std::time::Duration;

use anyhow::anyhow;
use chrono::NaiveDate;
use clap::Args;
use qsbackup_core::aws::AwsOptions;
use qsbackup_core::dynamodb::TableNames;
use qsbackup_core::repository::lock::{LockPurpose, RepositoryLock};
use qsbackup_core::restore::legacy::{import_legacy, LegacyImport};
use qsbackup_core::restore::RestoreError;
use serde_json::json;

use super::common;
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date as YYYY-MM-DD"))
}

#[derive(Debug, Clone, Args)]
pub struct ImportLegacyArgs {
    /// The day of the sample tool's backup to import (YYYY-MM-DD, as in its S3 keys and tables).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: NaiveDate,
}

pub async fn run(global: &GlobalArgs, args: &ImportLegacyArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &ImportLegacyArgs) -> Result<Outcome, Outcome> {
    let config = common::load_config(global)?;
    let aws = common::connect(&config, &AwsOptions::default()).await?;
    let repository = common::open_repository(&config, Some(&aws)).await?;
    let tables = match &config.dynamodb {
        Some(d) => TableNames {
            users_table_name: d.users_table_name.clone(),
            groups_table_name: d.groups_table_name.clone(),
            users_group_table_name: d.users_group_table_name.clone(),
            table_name_format: d.table_name_format.clone(),
        },
        None => TableNames::default(),
    };
    let job = LegacyImport {
        date: args.date,
        prefix_format: config.prefix_format(),
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        identity_region: aws.identity_region.clone(),
        tables,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws.home);
    let lock = RepositoryLock::exclusive(&repository, LockPurpose::ImportLegacy, Duration::ZERO)
        .await
        .map_err(|e| Outcome::from_core(e.into()))?;
    let result = crate::interrupt::or_interrupt(import_legacy(&lock, Some(&dynamodb), &job)).await;
    if let Err(e) = lock.release().await {
        tracing::warn!("releasing the repository lock: {e}");
    }
    let Some(result) = result else {
        return Err(Outcome::interrupted(
            "stopped before the snapshot was committed and released the repository lock; run it again",
        ));
    };
    let outcome = result.map_err(|e| match e {
        RestoreError::Core(core) => Outcome::from_core(core),
        other => Outcome::failure(anyhow!(other)),
    })?;
    let m = &outcome.manifest;
    let members: usize = m.bundles.iter().map(|b| b.members.len()).sum();
    if global.json {
        super::json::emit(
            "import-legacy",
            &json!({
                "snapshot_id": m.id,
                "date": args.date.to_string(),
                "bundles": m.bundles.len(),
                "members": members,
                "identities": m.identities,
                "ignored": outcome.ignored.iter().map(|(k, why)| json!({"key": k, "reason": why})).collect::<Vec<_>>(),
                "notes": m.notes,
            }),
        )?;
    } else {
        println!(
            "Imported the sample tool's backup of {} as snapshot {} ({} bundles, {members} members{}), verified.",
            args.date,
            m.id,
            m.bundles.len(),
            if m.identities.is_some() {
                ", identities"
            } else {
                ", no identities"
            }
        );
        for (key, why) in &outcome.ignored {
            println!("  ignored {key}: {why}");
        }
        for note in m.notes.iter().skip(1) {
            println!("  note: {note}");
        }
    }
    Ok(Outcome::success())
}
