//! What one config backs up: `aws.account_id` in `aws.region` alone, the entries of
//! `accounts:` (each in one or more regions, each maybe through a role), or every account of
//! `organization:` (listed at run time by [`crate::organization`]). Each of them is a
//! [`Target`], and [`Config::for_target`] is the single-account config a target runs with, so
//! the engine itself only ever backs up one account in one region.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AccountId, Config, Region};

/// One entry of `accounts:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    pub account_id: AccountId,
    /// A role in that account, assumed with STS for its QuickSight calls. Without it the run's
    /// own credentials are used. The repository and the DynamoDB tables are always reached with
    /// the run's own credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Regions backed up in this account; default `aws.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<Region>>,
    /// Region of this account's users and groups; default `aws.identity_region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_region: Option<Region>,
}

/// `organization:` — every ACTIVE account of the AWS Organization, listed with the run's own
/// credentials (the management account, or a delegated administrator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSection {
    /// The role assumed in every member account (`iam-policy --organization` prints it as a
    /// StackSet). The account the run's own credentials belong to is read with them directly.
    pub role_name: String,
    /// Accounts left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<AccountId>,
    /// Regions backed up in every account; default `aws.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<Region>>,
}

/// One account in one region: what one snapshot is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub account_id: AccountId,
    pub region: Region,
    pub identity_region: Region,
    /// Assumed for the target's QuickSight calls; `None`: the run's own credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.account_id, self.region)
    }
}

impl PartialOrd for AccountId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AccountId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Region {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Region {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Config {
    /// Whether the accounts come from `accounts:` or `organization:` rather than
    /// `aws.account_id`.
    pub fn lists_accounts(&self) -> bool {
        !self.accounts.is_empty() || self.organization.is_some()
    }

    /// The targets the file names, in its order: `aws.account_id` in `aws.region`, or every
    /// region of every `accounts:` entry. Empty for `organization:`, whose accounts are only
    /// known by asking AWS Organizations ([`crate::organization::targets`]).
    pub fn listed_targets(&self) -> Vec<Target> {
        if let Some(account) = &self.aws.account_id {
            return vec![Target {
                account_id: account.clone(),
                region: self.aws.region.clone(),
                identity_region: self.aws.identity_region().clone(),
                role_arn: None,
            }];
        }
        self.accounts
            .iter()
            .flat_map(|entry| {
                self.account_targets(
                    &entry.account_id,
                    entry.role_arn.as_deref(),
                    entry.regions.as_deref(),
                    entry.identity_region.as_ref(),
                )
            })
            .collect()
    }

    /// The targets of one account: one per region (default `aws.region`).
    pub fn account_targets(
        &self,
        account_id: &AccountId,
        role_arn: Option<&str>,
        regions: Option<&[Region]>,
        identity_region: Option<&Region>,
    ) -> Vec<Target> {
        let regions = regions.unwrap_or(std::slice::from_ref(&self.aws.region));
        let identity_region = identity_region.unwrap_or(self.aws.identity_region());
        regions
            .iter()
            .map(|region| Target {
                account_id: account_id.clone(),
                region: region.clone(),
                identity_region: identity_region.clone(),
                role_arn: role_arn.filter(|r| !r.is_empty()).map(str::to_string),
            })
            .collect()
    }

    /// The targets of account `account_id` of `organization:`: one per `organization.regions`,
    /// read through `organization.role_name`, or with the run's own credentials when the account
    /// is the caller's own (`own`), where a StackSet does not deploy the role. Empty without
    /// `organization:`.
    pub fn organization_targets(&self, account_id: &AccountId, own: bool) -> Vec<Target> {
        let Some(org) = &self.organization else {
            return Vec::new();
        };
        let role = (!own).then(|| {
            format!(
                "arn:{}:iam::{account_id}:role/{}",
                super::partition(self.aws.region.as_str()),
                org.role_name
            )
        });
        self.account_targets(account_id, role.as_deref(), org.regions.as_deref(), None)
    }

    /// The single-account config `target` is backed up with: its account and regions in `aws:`,
    /// `{account}` and `{region}` of `dynamodb.table_name_format` filled in, the account lists
    /// gone. Everything else (repository, backup settings, report) is shared.
    pub fn for_target(&self, target: &Target) -> Config {
        let mut config = self.clone();
        config.aws.home_region = Some(self.aws.home_region().clone());
        config.aws.account_id = Some(target.account_id.clone());
        config.aws.region = target.region.clone();
        config.aws.identity_region = Some(target.identity_region.clone());
        config.accounts.clear();
        config.organization = None;
        if let Some(d) = &mut config.dynamodb {
            d.table_name_format = d
                .table_name_format
                .replace("{account}", target.account_id.as_str())
                .replace("{region}", target.region.as_str());
        }
        config
    }
}

/// `items` grouped by account, accounts in the order they first appear, each group in order:
/// what one account's turn of a run over several targets covers.
pub fn group_by_account<T>(items: impl IntoIterator<Item = T>, account: impl Fn(&T) -> &AccountId) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        match groups.iter_mut().find(|g| account(&g[0]) == account(&item)) {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

/// IAM's rule for role names.
pub(crate) fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, the account checked against `account`.
fn check_role_arn(arn: &str, account: &AccountId) -> Result<(), String> {
    let example = format!("arn:aws:iam::{account}:role/QuickSightBackupReader");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[5]
            .strip_prefix("role/")
            .and_then(|p| p.rsplit('/').next())
            .is_some_and(is_role_name);
    if !valid {
        return Err(format!("`{arn}` is not an IAM role ARN (e.g. {example})"));
    }
    if parts[4] != account.as_str() {
        return Err(format!(
            "`{arn}` is a role of account {}, not of {account}: QuickSight is read in the account \
             the role belongs to (e.g. {example})",
            parts[4]
        ));
    }
    Ok(())
}

fn check_regions(key: &str, regions: Option<&[Region]>) -> Result<(), (String, String)> {
    let Some(regions) = regions else { return Ok(()) };
    if regions.is_empty() {
        return Err((
            key.into(),
            "must name at least one region (or leave it out for aws.region)".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for r in regions {
        if !seen.insert(r.as_str()) {
            return Err((key.into(), format!("`{r}` is named twice")));
        }
    }
    Ok(())
}

/// The rules of `aws.account_id`, `accounts` and `organization` together.
pub(crate) fn check(config: &Config) -> Result<(), (String, String)> {
    if !config.accounts.is_empty() && config.organization.is_some() {
        return Err((
            "organization".into(),
            "set either `accounts` (a list) or `organization` (every account), not both".into(),
        ));
    }
    if config.lists_accounts() {
        if let Some(account) = &config.aws.account_id {
            return Err((
                "aws.account_id".into(),
                format!(
                    "`{account}` here and a list of accounts under `{}`: list every account there (this one \
                     too) and leave aws.account_id out",
                    if config.organization.is_some() {
                        "organization"
                    } else {
                        "accounts"
                    }
                ),
            ));
        }
    } else if config.aws.account_id.is_none() {
        return Err((
            "aws.account_id".into(),
            "missing: name the account to back up here (12 digits, quoted), or list several under \
             `accounts` or `organization`"
                .into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, entry) in config.accounts.iter().enumerate() {
        if !seen.insert(entry.account_id.as_str()) {
            return Err((
                format!("accounts[{i}].account_id"),
                format!("`{}` is listed twice", entry.account_id),
            ));
        }
        if let Some(arn) = &entry.role_arn {
            check_role_arn(arn, &entry.account_id).map_err(|m| (format!("accounts[{i}].role_arn"), m))?;
        }
        check_regions(&format!("accounts[{i}].regions"), entry.regions.as_deref())?;
    }
    if let Some(org) = &config.organization {
        if !is_role_name(&org.role_name) {
            return Err((
                "organization.role_name".into(),
                format!(
                    "`{}` is not an IAM role name: 1 to 64 letters, digits and `+=,.@_-` (the name only, \
                     not an ARN)",
                    org.role_name
                ),
            ));
        }
        check_regions("organization.regions", org.regions.as_deref())?;
    }
    check_table_placeholders(config)
}

/// The date-suffixed identity tables hold one account's identities in one region: with
/// several targets, their names must tell the targets apart.
fn check_table_placeholders(config: &Config) -> Result<(), (String, String)> {
    let Some(d) = &config.dynamodb else { return Ok(()) };
    let format = &d.table_name_format;
    let several_accounts = config.organization.is_some() || config.accounts.len() > 1;
    let several_regions = config
        .organization
        .as_ref()
        .map(|o| o.regions.as_ref().is_some_and(|r| r.len() > 1))
        .unwrap_or(false)
        || config
            .accounts
            .iter()
            .any(|a| a.regions.as_ref().is_some_and(|r| r.len() > 1));
    for (needed, placeholder, what) in [
        (several_accounts, "{account}", "accounts"),
        (several_regions, "{region}", "regions"),
    ] {
        if needed && !format.contains(placeholder) {
            return Err((
                "dynamodb.table_name_format".into(),
                format!(
                    "`{format}` would give every target the same tables: with several {what}, add \
                     `{placeholder}` (e.g. \"{{base}}-{{account}}-{{region}}-{{date}}\")"
                ),
            ));
        }
    }
    Ok(())
}
