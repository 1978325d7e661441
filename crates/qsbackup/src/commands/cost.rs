//! `qsbackup cost --config FILE [--snapshot ID]`: the monthly cost of running this config's
//! backup on a schedule, from real figures: a snapshot's stored sizes, or (without --snapshot)
//! a dry-run discovery of the account plus its identities. The config has no retention section:
//! how many snapshots are kept comes from forget's --keep-* rules given here (default
//! --keep-daily 30), applied as `forget` applies them to the runs of the schedule.

use anyhow::anyhow;
use chrono::Utc;
use clap::Args;
use qsbackup_core::aws::AwsOptions;
use qsbackup_core::backup::sections::identities_key;
use qsbackup_core::backup::{dry_run, BackupOptions};
use qsbackup_core::cost::{estimate, retained_snapshots, CostEstimate, CostInputs, Prices};
use qsbackup_core::events::NoProgress;
use qsbackup_core::identities::{self, IdentitySnapshot};
use qsbackup_core::repository::retention::RetentionPolicy;
use qsbackup_core::repository::snapshots;
use qsbackup_core::units::human_bytes;
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Take the sizes from this snapshot (an id or `latest`) instead of a dry-run discovery.
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Scheduled runs per day.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub runs_per_day: u32,
    /// Keep the N newest snapshots (forget's rule).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_last: i32,
    /// Keep one snapshot for each of the last N days (forget's rule; 30 when no rule is given).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_daily: i32,
    /// Keep one snapshot for each of the last N weeks (forget's rule).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_weekly: i32,
    /// Keep one snapshot for each of the last N months (forget's rule).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_monthly: i32,
    /// Keep one snapshot for each of the last N years (forget's rule).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_yearly: i32,
    /// Without --snapshot: compressed bundle bytes per exported asset (the AWS blog: a bundle of
    /// 100 assets is about 500 KB).
    #[arg(long, value_name = "BYTES", default_value_t = 5120)]
    pub bytes_per_asset: u64,
    /// Price of S3 Standard storage, USD per GB-month.
    #[arg(long, value_name = "USD", default_value_t = Prices::default().s3_storage_gb_month)]
    pub price_s3_storage: f64,
    /// Price of 1,000 S3 PUT requests, USD.
    #[arg(long, value_name = "USD", default_value_t = Prices::default().s3_put_per_1000)]
    pub price_s3_put: f64,
    /// Price of 1,000 S3 GET requests, USD.
    #[arg(long, value_name = "USD", default_value_t = Prices::default().s3_get_per_1000)]
    pub price_s3_get: f64,
    /// Price of DynamoDB storage, USD per GB-month.
    #[arg(long, value_name = "USD", default_value_t = Prices::default().dynamodb_storage_gb_month)]
    pub price_dynamodb_storage: f64,
    /// Price of one million DynamoDB on-demand write request units, USD.
    #[arg(long, value_name = "USD", default_value_t = Prices::default().dynamodb_write_per_million)]
    pub price_dynamodb_write: f64,
}

impl CostArgs {
    fn policy(&self) -> RetentionPolicy {
        let p = RetentionPolicy {
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            ..Default::default()
        };
        if p.is_empty() {
            RetentionPolicy {
                keep_daily: 30,
                ..Default::default()
            }
        } else {
            p
        }
    }

    fn prices(&self) -> Prices {
        Prices {
            s3_storage_gb_month: self.price_s3_storage,
            s3_put_per_1000: self.price_s3_put,
            s3_get_per_1000: self.price_s3_get,
            dynamodb_storage_gb_month: self.price_dynamodb_storage,
            dynamodb_write_per_million: self.price_dynamodb_write,
        }
    }
}

/// Sizes of one run, and where they came from.
struct Measured {
    source: String,
    /// The snapshot the sizes come from (`--snapshot`).
    snapshot_id: Option<String>,
    assets: usize,
    bundles: usize,
    bundle_bytes: u64,
    other_bytes: u64,
    identity_items: u64,
    identity_bytes: u64,
}

fn identity_items(s: &IdentitySnapshot) -> u64 {
    (s.user_count() + s.group_count() + s.membership_count()) as u64
}

async fn from_snapshot(global: &GlobalArgs, reference: &str) -> Result<Measured, Outcome> {
    let (_, repository) = super::common::open_config_repository(global).await?;
    let m = snapshots::load(&repository, reference)
        .await
        .map_err(Outcome::from_core)?;
    let manifest_bytes = serde_json::to_vec(&m).map(|v| v.len() as u64).unwrap_or(0);
    let mut other = manifest_bytes;
    let (mut items, mut identity_bytes) = (0, 0);
    if let Some(obj) = &m.identities {
        other += obj.size;
        let bytes = repository
            .get_capped(
                &identities_key(&m.id),
                qsbackup_core::limits::MAX_IDENTITIES_BYTES,
                "identities document",
            )
            .await
            .map_err(Outcome::from_core)?;
        let s: IdentitySnapshot = serde_json::from_slice(&bytes)
            .map_err(|e| Outcome::failure(anyhow!("identities of snapshot {}: {e}", m.id)))?;
        items = identity_items(&s);
        identity_bytes = obj.size;
    }
    if let Some(obj) = &m.account {
        other += obj.size;
    }
    Ok(Measured {
        source: format!("snapshot {}", m.id),
        snapshot_id: Some(m.id.clone()),
        assets: m.stored_asset_count(),
        bundles: m.bundles.len(),
        bundle_bytes: m.bundle_bytes(),
        other_bytes: other,
        identity_items: items,
        identity_bytes,
    })
}

async fn from_discovery(global: &GlobalArgs, args: &CostArgs) -> Result<Measured, Outcome> {
    let config = super::common::load_config(global)?;
    let aws = super::common::connect(&config, &AwsOptions::default()).await?;
    let plan = dry_run(&config, &aws, &NoProgress, &BackupOptions::default())
        .await
        .map_err(Outcome::from_core)?;
    let ids = identities::snapshot(&aws.identity_quicksight, &aws.account_id, &Default::default())
        .await
        .map_err(|e| Outcome::failure(anyhow!("reading users and groups: {e}")))?;
    let identity_bytes = serde_json::to_vec(&ids).map(|v| v.len() as u64).unwrap_or(0);
    let assets = plan.bundles.asset_count();
    Ok(Measured {
        source: format!("dry-run discovery of account {}", aws.account_id),
        snapshot_id: None,
        assets,
        bundles: plan.bundles.bundles.len(),
        bundle_bytes: assets as u64 * args.bytes_per_asset,
        // The manifest records about half a KB per asset (its members and checksums).
        other_bytes: identity_bytes + assets as u64 * 512,
        identity_items: identity_items(&ids),
        identity_bytes,
    })
}

pub async fn run(global: &GlobalArgs, args: &CostArgs) -> Outcome {
    match run_inner(global, args).await {
        Ok(o) | Err(o) => o,
    }
}

async fn run_inner(global: &GlobalArgs, args: &CostArgs) -> Result<Outcome, Outcome> {
    let config = super::common::load_config(global)?;
    if config.lists_accounts() {
        // One snapshot priced as the whole run would understate a run of many targets.
        return Err(Outcome::usage(anyhow::anyhow!(
            "cost estimates the runs of one account and the config lists several (`accounts` or \
             `organization`): estimate each with a config naming it in `aws.account_id`, and add them up"
        )));
    }
    let measured = match &args.snapshot {
        Some(id) => from_snapshot(global, id).await?,
        None => from_discovery(global, args).await?,
    };
    let policy = args.policy();
    let runs_per_day = args.runs_per_day.max(1);
    let retained = retained_snapshots(&policy, runs_per_day, Utc::now());
    let items = measured.identity_items;
    let inputs = CostInputs {
        bundle_bytes: measured.bundle_bytes,
        other_bytes: measured.other_bytes,
        // Bundles, the manifest, the identities and account objects.
        objects_per_run: measured.bundles as u64 + 3,
        reads_per_run: measured.bundles as u64,
        identity_items: items,
        identity_item_bytes: if items == 0 {
            0.0
        } else {
            measured.identity_bytes as f64 / items as f64
        },
        runs_per_day: f64::from(runs_per_day),
        retained_snapshots: retained,
        repository_on_s3: config.repository_url().starts_with("s3://"),
        identity_tables: config.dynamodb.is_some(),
    };
    let e = estimate(inputs, args.prices());
    if global.json {
        super::json::emit(
            "cost",
            &json!({
                "source": measured.source,
                "snapshot_id": measured.snapshot_id,
                "assets": measured.assets,
                "bundles": measured.bundles,
                "retention": policy.to_string(),
                "estimate": e,
            }),
        )?;
    } else {
        print!("{}", render(&measured, &policy, &e, &config.repository_url()));
    }
    Ok(Outcome::success())
}

fn render(m: &Measured, policy: &RetentionPolicy, e: &CostEstimate, repository: &str) -> String {
    let i = &e.inputs;
    let p = &e.prices;
    let mut s = String::new();
    let mut line = |t: String| {
        s.push_str(&t);
        s.push('\n');
    };
    line(format!("Sizes from the {}:", m.source));
    if !i.repository_on_s3 {
        line(format!(
            "  The repository ({}) is not on S3: its storage and requests are not priced.",
            repository
        ));
    }
    if !i.identity_tables {
        line("  The config has no `dynamodb` section: no identity tables, no DynamoDB cost.".into());
    }
    line(format!(
        "  {} assets in {} bundles ({}), {} other objects, {} identity items of {} each",
        m.assets,
        m.bundles,
        human_bytes(i.bundle_bytes),
        human_bytes(i.other_bytes),
        i.identity_items,
        human_bytes(i.identity_item_bytes.round() as u64)
    ));
    line(format!(
        "Schedule: {} run(s) a day = {:.2} runs a month; retention ({policy}) keeps {} snapshots",
        i.runs_per_day, e.runs_per_month, i.retained_snapshots
    ));
    line("Prices (USD, override with --price-*):".into());
    line(format!(
        "  S3 storage {}/GB-month, PUT {}/1000, GET {}/1000; DynamoDB storage {}/GB-month, writes {}/million WRU",
        p.s3_storage_gb_month,
        p.s3_put_per_1000,
        p.s3_get_per_1000,
        p.dynamodb_storage_gb_month,
        p.dynamodb_write_per_million
    ));
    line("Per month:".into());
    line(format!(
        "  S3 storage        {:>12.6} GB   ${:.6}",
        e.s3_stored_gb, e.s3_storage
    ));
    line(format!(
        "  S3 requests       {:>9.0} PUT {:>9.0} GET   ${:.6}",
        e.s3_put_requests, e.s3_get_requests, e.s3_requests
    ));
    line(format!(
        "  DynamoDB storage  {:>12.6} GB   ${:.6}",
        e.dynamodb_stored_gb, e.dynamodb_storage
    ));
    line(format!(
        "  DynamoDB writes   {:>12.0} WRU  ${:.6}",
        e.dynamodb_write_units, e.dynamodb_writes
    ));
    line(format!("  Total                              ${:.6}", e.total));
    s
}
