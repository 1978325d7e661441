//! The least-privilege IAM policy for a config: the QuickSight actions a backup (or a restore,
//! or a recovery drill) calls, scoped to the account and its regions; the repository bucket and prefix; the
//! date-suffixed identity tables and the lock table by name pattern; the KMS key when one is
//! given. A statement only uses `"Resource": "*"` for actions IAM grants on `*` alone, and its
//! `Sid` says so. The action lists are checked against what a real run calls (the emulator's and
//! moto's request logs) by the `iam_policy` test of the `qsbackup` binary.

use crate::config::{AwsSection, Config};
use serde_json::{json, Value};

mod organization;
pub use organization::{organization_template, OrganizationPolicyError};

/// What the policy is for.
#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    /// Add what `qsbackup restore` calls (import jobs, identity creation).
    pub restore: bool,
    /// Add what `qsbackup drill` calls: the restore's actions, the check's export jobs and the
    /// teardown's `Delete*` calls.
    pub drill: bool,
    /// The account and regions a drill restores into, when not the config's own: the QuickSight
    /// statements name it instead. IAM grants QuickSight actions only on the caller's own
    /// account (QuickSight has no resource policies), so a drill into a recovery account runs as
    /// a principal of that account and this policy is attached there.
    pub target: Option<AwsSection>,
    /// The KMS key that encrypts the bucket (SSE-KMS), if any.
    pub kms_key_arn: Option<String>,
}

/// QuickSight actions of a backup that IAM scopes by resource ARN.
const BACKUP_SCOPED: &[&str] = &[
    "DescribeAnalysis",
    "DescribeAssetBundleExportJob",
    "DescribeDashboard",
    "DescribeDataSet",
    "DescribeDataSource",
    "DescribeFolder",
    "DescribeFolderPermissions",
    "DescribeGroup",
    "DescribeTheme",
    "DescribeUser",
    "ListAnalyses",
    "ListAssetBundleExportJobs",
    "ListDashboards",
    "ListDataSets",
    "ListDataSources",
    "ListFolderMembers",
    "ListFolders",
    "ListGroupMemberships",
    "ListGroups",
    "ListRefreshSchedules",
    "ListThemes",
    "ListTopics",
    "ListUsers",
    "ListVPCConnections",
    "StartAssetBundleExportJob",
];

/// Account-level QuickSight actions: the Service Authorization Reference lists no resource type
/// for them, so IAM only grants them on `*` (narrowed here by `aws:RequestedRegion`).
const ACCOUNT_LEVEL: &[&str] = &[
    "DescribeAccountCustomization",
    "DescribeAccountSettings",
    "DescribeBrand",
    "ListBrands",
    "ListCustomPermissions",
    "ListNamespaces",
];

/// Added for a restore: import jobs and the identities they need. QuickSight also checks that
/// the caller may create and update every imported resource type (and pass data sets and data
/// sources to them), so those actions come with the import.
const RESTORE_SCOPED: &[&str] = &[
    "CreateAnalysis",
    "CreateDashboard",
    "CreateDataSet",
    "CreateDataSource",
    "CreateFolder",
    "CreateFolderMembership",
    "CreateGroup",
    "CreateGroupMembership",
    "CreateNamespace",
    "CreateRefreshSchedule",
    "CreateTheme",
    "CreateVPCConnection",
    "DescribeAssetBundleImportJob",
    "DescribeNamespace",
    "DescribeDashboardPermissions",
    "DescribeAnalysisPermissions",
    "DescribeDataSetPermissions",
    "DescribeDataSourcePermissions",
    "DescribeThemePermissions",
    "DescribeRefreshSchedule",
    "DescribeVPCConnection",
    "PassDataSet",
    "PassDataSource",
    "RegisterUser",
    "StartAssetBundleImportJob",
    "TagResource",
    "UpdateAnalysis",
    "UpdateAnalysisPermissions",
    "UpdateDashboard",
    "UpdateDashboardPermissions",
    "UpdateDashboardPublishedVersion",
    "UpdateDataSet",
    "UpdateDataSetPermissions",
    "UpdateDataSource",
    "UpdateDataSourcePermissions",
    "UpdateFolder",
    "UpdateFolderPermissions",
    "UpdateRefreshSchedule",
    "UpdateTheme",
    "UpdateThemePermissions",
    "UpdateVPCConnection",
];

/// Added for a drill: every `Delete*` its teardown calls (`drill::teardown`), so it can remove
/// exactly what its restore created; a folder is emptied (`DeleteFolderMembership`) before it
/// can be deleted. The check reads the restored assets back with export jobs, which the
/// backup's actions already cover.
pub const DRILL_SCOPED: &[&str] = &[
    "DeleteAnalysis",
    "DeleteDashboard",
    "DeleteDataSet",
    "DeleteDataSource",
    "DeleteFolder",
    "DeleteFolderMembership",
    "DeleteGroup",
    "DeleteGroupMembership",
    "DeleteNamespace",
    "DeleteTheme",
    "DeleteUser",
    "DeleteVPCConnection",
];

/// DynamoDB actions on the identity tables (one set of tables per day: created, described,
/// written in batches, scanned to remove items a re-run of the same day no longer has).
const IDENTITY_TABLE_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:Scan",
];

/// DynamoDB actions on the lock table (conditional lease writes).
const LOCK_TABLE_ACTIONS: &[&str] = &[
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// The bucket and key prefix of an `s3://bucket/prefix` repository URL.
pub fn s3_location(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    Some((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// A table name pattern for `base` under `format` (`{base}`, `{date}`): the date becomes `*`.
fn table_pattern(format: &str, base: &str) -> String {
    format
        .replace("{base}", base)
        .replace("{date}", "*")
        .replace("{account}", "*")
        .replace("{region}", "*")
}

fn actions(names: &[&str]) -> Vec<String> {
    names.iter().map(|a| format!("quicksight:{a}")).collect()
}

/// The regions the run calls QuickSight in: the account's and its identity region.
fn regions(aws: &AwsSection) -> Vec<String> {
    let mut r = vec![aws.region.as_str().to_string()];
    let identity = aws.identity_region().as_str().to_string();
    if !r.contains(&identity) {
        r.push(identity);
    }
    r
}

/// The QuickSight actions IAM scopes by resource ARN that `options` asks for, sorted, with the
/// `quicksight:` prefix (the deployment's drill role lists the same ones).
pub fn scoped_actions(options: &PolicyOptions) -> Vec<String> {
    let mut scoped: Vec<&str> = BACKUP_SCOPED.to_vec();
    if options.restore || options.drill {
        scoped.extend_from_slice(RESTORE_SCOPED);
    }
    if options.drill {
        scoped.extend_from_slice(DRILL_SCOPED);
    }
    scoped.sort_unstable();
    scoped.dedup();
    actions(&scoped)
}

/// The account-level QuickSight actions (granted on `*` only), with the `quicksight:` prefix.
pub fn account_level_actions() -> Vec<String> {
    actions(ACCOUNT_LEVEL)
}

/// The policy document for `config`.
pub fn policy(config: &Config, options: &PolicyOptions) -> Value {
    let quicksight_account = options.target.as_ref().unwrap_or(&config.aws);
    // A config listing several accounts has none here: its policies come from
    // `iam-policy --organization`, so `*` only keeps this total.
    let account = config.aws.account_id.as_ref().map_or("*", |a| a.as_str());
    let qs_account = quicksight_account.account_id.as_ref().map_or("*", |a| a.as_str());
    let regions = regions(quicksight_account);
    let partition = crate::config::partition(config.aws.region.as_str());
    let quicksight_resources: Vec<String> = regions
        .iter()
        .map(|r| format!("arn:{}:quicksight:{r}:{qs_account}:*", crate::config::partition(r)))
        .collect();
    let sid = match (options.drill, options.restore) {
        (true, _) => "QuickSightDrillRestoreCheckAndTeardown",
        (false, true) => "QuickSightReadExportAndImport",
        (false, false) => "QuickSightReadAndExport",
    };
    let mut statements = vec![
        json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": scoped_actions(options),
            "Resource": quicksight_resources,
        }),
        json!({
            "Sid": "QuickSightAccountLevelActionsIamGrantsOnlyOnStar",
            "Effect": "Allow",
            "Action": actions(ACCOUNT_LEVEL),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": regions}},
        }),
    ];
    if let Some((bucket, prefix)) = s3_location(&config.repository_url()) {
        let objects = if prefix.is_empty() {
            format!("arn:{partition}:s3:::{bucket}/*")
        } else {
            format!("arn:{partition}:s3:::{bucket}/{prefix}/*")
        };
        statements.push(json!({
            "Sid": "RepositoryObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": objects,
        }));
        let mut listing = json!({
            "Sid": "RepositoryListing",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:{partition}:s3:::{bucket}"),
        });
        if !prefix.is_empty() {
            listing["Condition"] = json!({"StringLike": {"s3:prefix": [prefix.clone(), format!("{prefix}/*")]}});
        }
        statements.push(listing);
    }
    let region = config.aws.region.as_str();
    if let Some(d) = &config.dynamodb {
        let tables: Vec<String> = [&d.users_table_name, &d.groups_table_name, &d.users_group_table_name]
            .iter()
            .map(|base| {
                format!(
                    "arn:{partition}:dynamodb:{region}:{account}:table/{}",
                    table_pattern(&d.table_name_format, base)
                )
            })
            .collect();
        statements.push(json!({
            "Sid": "IdentityTablesByDateSuffixedName",
            "Effect": "Allow",
            "Action": IDENTITY_TABLE_ACTIONS,
            "Resource": tables,
        }));
    }
    if let Some(table) = config.lock.as_ref().and_then(|l| l.dynamodb_table.as_deref()) {
        statements.push(json!({
            "Sid": "LockTable",
            "Effect": "Allow",
            "Action": LOCK_TABLE_ACTIONS,
            "Resource": format!("arn:{partition}:dynamodb:{region}:{account}:table/{table}"),
        }));
    }
    if let Some(key) = &options.kms_key_arn {
        statements.push(json!({
            "Sid": "RepositoryKmsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_patterns_put_a_wildcard_where_the_date_goes() {
        assert_eq!(table_pattern("{base}-{date}", "users"), "users-*");
        assert_eq!(table_pattern("{date}_{base}", "users"), "*_users");
    }

    #[test]
    fn s3_locations_split_bucket_and_prefix() {
        assert_eq!(s3_location("s3://b/p/q/"), Some(("b".into(), "p/q".into())));
        assert_eq!(s3_location("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(s3_location("/tmp/repo"), None);
    }

    #[test]
    fn every_arn_is_in_the_partition_of_the_region() {
        for (region, partition) in [
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-east-1", "aws"),
        ] {
            let text = format!(
                "aws:\n  region: {region}\n  account_id: \"123456789012\"\ns3:\n  bucket_name: backups\n  prefix: qs\n"
            );
            let config = crate::config::load_str(
                &text,
                crate::config::ConfigFormat::Yaml,
                std::path::Path::new("qs.yaml"),
            )
            .expect("config");
            let doc = policy(
                &config,
                &PolicyOptions {
                    restore: true,
                    ..Default::default()
                },
            )
            .to_string();
            let arns: Vec<&str> = doc.split('"').filter(|s| s.starts_with("arn:")).collect();
            assert!(arns.len() >= 3, "{doc}");
            for arn in arns {
                assert!(arn.starts_with(&format!("arn:{partition}:")), "{region}: {arn}");
            }
            assert!(
                doc.contains(&format!("arn:{partition}:quicksight:{region}:123456789012:*")),
                "{doc}"
            );
            assert!(doc.contains(&format!("arn:{partition}:s3:::backups/qs/*")), "{doc}");
        }
    }
}
