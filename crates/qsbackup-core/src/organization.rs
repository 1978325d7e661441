//! The targets of `organization:`: every ACTIVE account AWS Organizations lists to the run's own
//! credentials (the management account or a delegated administrator), less
//! `organization.exclude`, each in `organization.regions`. Member accounts are read through the
//! role `organization.role_name`; the caller's own account with the run's own credentials,
//! since a StackSet does not deploy the role there.

use aws_config::SdkConfig;
use aws_sdk_organizations::types::{AccountState, AccountStatus};

use crate::aws::describe_failure;
use crate::config::{partition, AccountId, Config, Target};
use crate::error::{Error, Result};

/// The region whose endpoint serves the global Organizations API in a partition.
fn organizations_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// What a config backs up, and what the organization listed but is left out.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub targets: Vec<Target>,
    /// Accounts of the organization that are not ACTIVE (suspended, closing, ...), with their
    /// state: listed by the run so that none is left out unsaid.
    pub inactive: Vec<(String, String)>,
}

/// The targets of `config`: [`Config::listed_targets`], or for `organization:` the accounts
/// listed with `home` (the run's own configuration), in account id order.
pub async fn targets(config: &Config, home: &SdkConfig) -> Result<Targets> {
    let Some(org) = &config.organization else {
        return Ok(Targets {
            targets: config.listed_targets(),
            inactive: Vec::new(),
        });
    };
    let partition = partition(config.aws.region.as_str());
    let region = organizations_region(partition);
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(home)
            .region(aws_config::Region::new(region))
            .build(),
    );
    let endpoint = format!("organizations.{region}.amazonaws.com");
    let mut pages = client.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    let mut inactive = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::Organization(describe_failure(&e, &endpoint)))?;
        for account in page.accounts.unwrap_or_default() {
            // `State` replaces the deprecated `Status`; either may be the one filled in.
            #[allow(deprecated)]
            let (active, state) = match (&account.state, &account.status) {
                (Some(state), _) => (*state == AccountState::Active, state.as_str().to_string()),
                (None, Some(status)) => (*status == AccountStatus::Active, status.as_str().to_string()),
                (None, None) => (false, "unknown".to_string()),
            };
            let Some(id) = account.id else { continue };
            if !active {
                inactive.push((id, state));
                continue;
            }
            let id = AccountId::try_from(id).map_err(Error::Organization)?;
            if !org.exclude.contains(&id) {
                accounts.push(id);
            }
        }
    }
    accounts.sort();
    accounts.dedup();
    if accounts.is_empty() {
        return Err(Error::Organization(
            "no ACTIVE account is left to back up (all are excluded or none are listed)".into(),
        ));
    }
    let own = caller_account(home).await;
    let targets = accounts
        .iter()
        .flat_map(|id| config.organization_targets(id, own.as_ref() == Some(id)))
        .collect();
    Ok(Targets { targets, inactive })
}

/// The account of the run's own credentials; `None` when STS does not say (then every account,
/// this one too, is read through the role).
async fn caller_account(home: &SdkConfig) -> Option<AccountId> {
    let out = aws_sdk_sts::Client::new(home).get_caller_identity().send().await;
    match out {
        Ok(out) => out.account.and_then(|a| AccountId::try_from(a).ok()),
        Err(e) => {
            tracing::debug!("GetCallerIdentity: {}", describe_failure(&e, "STS"));
            None
        }
    }
}
