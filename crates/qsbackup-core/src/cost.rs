//! The monthly cost estimate of a backup schedule (the AWS blog's estimate, from real figures):
//! what one run stores (bundle bytes, other objects, identity items) times how many runs the
//! retention policy keeps, priced as S3 storage and requests and DynamoDB storage and writes.
//! Only what the config uses is priced: S3 when the repository is on S3, DynamoDB when the
//! config has a `dynamodb` section (its identity tables).
//! Pure arithmetic on [`CostInputs`] and [`Prices`]; the README's "Cost estimate" section gives
//! the same formulas so a reader can check every figure.

use crate::repository::retention::{apply, RetentionPolicy};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// One GiB: AWS bills storage per "GB" of 2^30 bytes.
pub const GIB: f64 = 1_073_741_824.0;

/// Days in a billing month, as AWS prices a month (730 hours).
pub const DAYS_PER_MONTH: f64 = 730.0 / 24.0;

/// Bytes DynamoDB adds to every item for storage billing.
pub const DYNAMODB_ITEM_OVERHEAD: f64 = 100.0;

/// Prices in USD (us-east-1 list prices; every one is overridable).
#[derive(Debug, Clone, Serialize)]
pub struct Prices {
    /// S3 Standard storage per GB-month.
    pub s3_storage_gb_month: f64,
    /// S3 PUT, COPY, POST, LIST requests per 1,000.
    pub s3_put_per_1000: f64,
    /// S3 GET and other requests per 1,000.
    pub s3_get_per_1000: f64,
    /// DynamoDB standard table storage per GB-month.
    pub dynamodb_storage_gb_month: f64,
    /// DynamoDB on-demand write request units per million.
    pub dynamodb_write_per_million: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            s3_storage_gb_month: 0.023,
            s3_put_per_1000: 0.005,
            s3_get_per_1000: 0.0004,
            dynamodb_storage_gb_month: 0.25,
            dynamodb_write_per_million: 0.625,
        }
    }
}

/// What one run stores and how often runs happen.
#[derive(Debug, Clone, Serialize)]
pub struct CostInputs {
    /// Bytes of the asset bundles of one snapshot.
    pub bundle_bytes: u64,
    /// Bytes of a snapshot's other objects (manifest, identities, account settings).
    pub other_bytes: u64,
    /// Objects one run writes (bundles plus the other objects).
    pub objects_per_run: u64,
    /// Objects one run reads back (each bundle, for its member inventory).
    pub reads_per_run: u64,
    /// Items one run writes to the identity tables (users, groups, memberships).
    pub identity_items: u64,
    /// Average stored size of one identity item, bytes.
    pub identity_item_bytes: f64,
    /// Runs per day on the schedule.
    pub runs_per_day: f64,
    /// Snapshots the retention policy keeps at any time (and days of identity tables).
    pub retained_snapshots: u64,
    /// The repository is on S3 (`s3://`, or the `s3` section): its storage and requests are
    /// priced. A local, `gs://` or `az://` repository costs nothing here.
    pub repository_on_s3: bool,
    /// The config has a `dynamodb` section: identities also go to date-suffixed tables.
    pub identity_tables: bool,
}

/// The estimate, each figure per month in USD unless named otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct CostEstimate {
    pub inputs: CostInputs,
    pub prices: Prices,
    pub runs_per_month: f64,
    pub s3_stored_gb: f64,
    pub s3_storage: f64,
    pub s3_put_requests: f64,
    pub s3_get_requests: f64,
    pub s3_requests: f64,
    pub dynamodb_stored_gb: f64,
    pub dynamodb_storage: f64,
    pub dynamodb_write_units: f64,
    pub dynamodb_writes: f64,
    pub total: f64,
}

/// Applies the formulas (see the module docs and the README).
pub fn estimate(inputs: CostInputs, prices: Prices) -> CostEstimate {
    let runs_per_month = inputs.runs_per_day * DAYS_PER_MONTH;
    let retained = inputs.retained_snapshots as f64;
    // What the config does not use costs nothing: zero factors keep one set of formulas.
    let on_s3 = if inputs.repository_on_s3 { 1.0 } else { 0.0 };
    let tables = if inputs.identity_tables { 1.0 } else { 0.0 };
    let s3_stored_gb = on_s3 * (inputs.bundle_bytes + inputs.other_bytes) as f64 * retained / GIB;
    let s3_storage = s3_stored_gb * prices.s3_storage_gb_month;
    let s3_put_requests = on_s3 * inputs.objects_per_run as f64 * runs_per_month;
    let s3_get_requests = on_s3 * inputs.reads_per_run as f64 * runs_per_month;
    let s3_requests =
        s3_put_requests / 1000.0 * prices.s3_put_per_1000 + s3_get_requests / 1000.0 * prices.s3_get_per_1000;
    // One set of date-suffixed tables per day; the retention keeps as many days as snapshots.
    let dynamodb_stored_gb =
        tables * inputs.identity_items as f64 * (inputs.identity_item_bytes + DYNAMODB_ITEM_OVERHEAD) * retained / GIB;
    let dynamodb_storage = dynamodb_stored_gb * prices.dynamodb_storage_gb_month;
    // A write costs one unit per started KB of item.
    let units_per_item = (inputs.identity_item_bytes / 1024.0).ceil().max(1.0);
    let dynamodb_write_units = tables * inputs.identity_items as f64 * units_per_item * runs_per_month;
    let dynamodb_writes = dynamodb_write_units / 1_000_000.0 * prices.dynamodb_write_per_million;
    let total = s3_storage + s3_requests + dynamodb_storage + dynamodb_writes;
    CostEstimate {
        inputs,
        prices,
        runs_per_month,
        s3_stored_gb,
        s3_storage,
        s3_put_requests,
        s3_get_requests,
        s3_requests,
        dynamodb_stored_gb,
        dynamodb_storage,
        dynamodb_write_units,
        dynamodb_writes,
        total,
    }
}

/// How many snapshots `policy` keeps in the steady state of `runs_per_day` runs a day: the
/// policy applied (restic's semantics, as `forget` applies it) to ten years of runs.
pub fn retained_snapshots(policy: &RetentionPolicy, runs_per_day: u32, now: DateTime<Utc>) -> u64 {
    let per_day = runs_per_day.max(1);
    let step = TimeDelta::seconds(86_400 / i64::from(per_day));
    let runs = 3650 * per_day as usize;
    let snapshots: Vec<(String, DateTime<Utc>)> = (0..runs).map(|i| (format!("s{i}"), now - step * i as i32)).collect();
    apply(policy, &snapshots, now).iter().filter(|d| d.keep).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_runs_kept_by_days_weeks_and_months() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let daily = RetentionPolicy {
            keep_daily: 30,
            ..Default::default()
        };
        assert_eq!(retained_snapshots(&daily, 1, now), 30);
        let mixed = RetentionPolicy {
            keep_daily: 7,
            keep_weekly: 4,
            ..Default::default()
        };
        let kept = retained_snapshots(&mixed, 1, now);
        assert!((9..=11).contains(&kept), "kept {kept}");
    }

    #[test]
    fn a_gib_of_bundles_kept_thirty_times_costs_thirty_gib_months() {
        let e = estimate(
            CostInputs {
                bundle_bytes: GIB as u64,
                other_bytes: 0,
                objects_per_run: 1000,
                reads_per_run: 0,
                identity_items: 0,
                identity_item_bytes: 200.0,
                runs_per_day: 1.0,
                retained_snapshots: 30,
                repository_on_s3: true,
                identity_tables: false,
            },
            Prices::default(),
        );
        assert!((e.s3_storage - 30.0 * 0.023).abs() < 1e-9);
        assert!((e.s3_requests - 1000.0 * DAYS_PER_MONTH / 1000.0 * 0.005).abs() < 1e-9);
    }

    #[test]
    fn services_the_config_does_not_use_cost_nothing() {
        let inputs = CostInputs {
            bundle_bytes: GIB as u64,
            other_bytes: 1000,
            objects_per_run: 10,
            reads_per_run: 10,
            identity_items: 500,
            identity_item_bytes: 200.0,
            runs_per_day: 1.0,
            retained_snapshots: 30,
            repository_on_s3: false,
            identity_tables: false,
        };
        let e = estimate(inputs, Prices::default());
        assert_eq!(
            (e.s3_storage, e.s3_requests, e.dynamodb_storage, e.dynamodb_writes),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(e.total, 0.0);
    }
}
