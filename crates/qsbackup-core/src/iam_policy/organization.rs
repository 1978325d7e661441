//! `iam-policy --organization`: one CloudFormation template for a config that lists several
//! accounts. In the account that runs qsbackup it creates the runner's managed policy (the
//! repository, the tables, `sts:AssumeRole` on the member role, `organizations:ListAccounts`);
//! through a service-managed StackSet it creates the member role in every account of the
//! chosen organizational units, trusting the runner's principal alone, with the read-and-export
//! QuickSight policy of its own account.

use serde_json::{json, Value};

use super::{account_level_actions, policy, scoped_actions, PolicyOptions};
use crate::config::{partition, Config};

/// Why no template can be written for a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationPolicyError {
    #[error("the config backs up one account (aws.account_id): `iam-policy` without --organization prints its policy")]
    SingleAccount,
    #[error(
        "the accounts of the config are read without a role (no `role_arn`): give each account the same \
         role, or use `organization.role_name`"
    )]
    NoRole,
    #[error("the accounts' roles have different names ({0}): one StackSet deploys one role name")]
    SeveralRoleNames(String),
    #[error("the role {0} has a path: the StackSet deploys a role without one; name a role at the root (role/NAME)")]
    RoleWithPath(String),
}

/// The member role's name: `organization.role_name`, or the one name of every `role_arn`.
fn role_name(config: &Config) -> Result<String, OrganizationPolicyError> {
    if let Some(org) = &config.organization {
        return Ok(org.role_name.clone());
    }
    if !config.lists_accounts() {
        return Err(OrganizationPolicyError::SingleAccount);
    }
    let mut names = Vec::new();
    for arn in config.accounts.iter().filter_map(|a| a.role_arn.as_deref()) {
        match arn.split_once(":role/") {
            Some((_, name)) if !name.contains('/') => names.push(name.to_string()),
            _ => return Err(OrganizationPolicyError::RoleWithPath(arn.to_string())),
        }
    }
    names.sort();
    names.dedup();
    match names.len() {
        0 => Err(OrganizationPolicyError::NoRole),
        1 => Ok(names.remove(0)),
        _ => Err(OrganizationPolicyError::SeveralRoleNames(names.join(", "))),
    }
}

/// Every region the targets call QuickSight in (asset and identity regions).
fn regions(config: &Config) -> Vec<String> {
    let mut regions = vec![config.aws.region.to_string(), config.aws.identity_region().to_string()];
    if let Some(r) = config.organization.as_ref().and_then(|o| o.regions.as_ref()) {
        regions.extend(r.iter().map(|r| r.to_string()));
    }
    for t in config.listed_targets() {
        regions.push(t.region.to_string());
        regions.push(t.identity_region.to_string());
    }
    regions.sort();
    regions.dedup();
    regions
}

/// The member account's template (the StackSet's body).
fn member_template(role_name: &str, regions: &[String]) -> Value {
    let resources: Vec<Value> = regions
        .iter()
        .map(|r| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:quicksight:{r}:${{AWS::AccountId}}:*")}))
        .collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "qsbackup member role: QuickSight read and export in this account, assumed by the backup runner only",
        "Parameters": {
            "BackupPrincipalArn": {
                "Type": "String",
                "Description": "The IAM role or user that runs qsbackup"
            }
        },
        "Resources": {
            "MemberRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": role_name,
                    "Description": "Assumed by qsbackup to back up QuickSight in this account",
                    "MaxSessionDuration": 43200,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "TheBackupRunnerOnly",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Ref": "BackupPrincipalArn"}},
                            "Action": "sts:AssumeRole"
                        }]
                    },
                    "Policies": [{
                        "PolicyName": "qsbackup-quicksight-read-and-export",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "QuickSightReadAndExport",
                                    "Effect": "Allow",
                                    "Action": scoped_actions(&PolicyOptions::default()),
                                    "Resource": resources
                                },
                                {
                                    "Sid": "QuickSightAccountLevelActionsIamGrantsOnlyOnStar",
                                    "Effect": "Allow",
                                    "Action": account_level_actions(),
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"aws:RequestedRegion": regions}}
                                }
                            ]
                        }
                    }]
                }
            }
        }
    })
}

/// The whole template for `config`.
pub fn organization_template(config: &Config, kms_key_arn: Option<&str>) -> Result<Value, OrganizationPolicyError> {
    let role_name = role_name(config)?;
    let regions = regions(config);
    let partition = partition(config.aws.region.as_str());
    let runner = policy(
        config,
        &PolicyOptions {
            kms_key_arn: kms_key_arn.map(str::to_string),
            ..Default::default()
        },
    );
    let mut statements = runner["Statement"].as_array().cloned().unwrap_or_default();
    // The runner reads its own account (the management account, or `accounts:` entries
    // without a role) in every region a target is in, not only the config's two.
    for statement in &mut statements {
        match statement["Sid"].as_str() {
            Some(sid) if sid.starts_with("QuickSightRead") => {
                statement["Resource"] = json!(regions
                    .iter()
                    .map(|r| format!("arn:{}:quicksight:{r}:*:*", crate::config::partition(r)))
                    .collect::<Vec<_>>());
            }
            Some("QuickSightAccountLevelActionsIamGrantsOnlyOnStar") => {
                statement["Condition"] = json!({"StringEquals": {"aws:RequestedRegion": regions}});
            }
            _ => {}
        }
    }
    statements.push(json!({
        "Sid": "AssumeTheMemberRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": format!("arn:{partition}:iam::*:role/{role_name}")
    }));
    if config.organization.is_some() {
        statements.push(json!({
            "Sid": "ListTheAccountsOfTheOrganizationIamGrantsOnlyOnStar",
            "Effect": "Allow",
            "Action": "organizations:ListAccounts",
            "Resource": "*"
        }));
    }
    let body = serde_json::to_string(&member_template(&role_name, &regions)).unwrap_or_default();
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "qsbackup for several accounts: the runner's policy here, and the role {role_name} in every account \
             of the organizational units by a service-managed StackSet. Deploy in the management account (or a \
             StackSets delegated administrator) and attach the policy to BackupPrincipalArn."
        ),
        "Parameters": {
            "BackupPrincipalArn": {
                "Type": "String",
                "Description": "The IAM role or user that runs qsbackup (the CLI's role, or the Lambda functions' role); the member role trusts it alone",
                "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$"
            },
            "OrganizationalUnitIds": {
                "Type": "CommaDelimitedList",
                "Description": "The organizational units (or the root, r-...) whose accounts get the member role"
            }
        },
        "Resources": {
            "BackupRunnerPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": "qsbackup runner: the repository, the identity tables, the member role and the account list",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}
                }
            },
            "MemberRoleStackSet": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": "qsbackup-member-role",
                    "Description": "The role qsbackup assumes in every member account",
                    "PermissionModel": "SERVICE_MANAGED",
                    "AutoDeployment": {"Enabled": true, "RetainStacksOnAccountRemoval": false},
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "ManagedExecution": {"Active": true},
                    "Parameters": [{"ParameterKey": "BackupPrincipalArn", "ParameterValue": {"Ref": "BackupPrincipalArn"}}],
                    // IAM is global: the role is deployed from one region.
                    "StackInstancesGroup": [{
                        "DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
                        "Regions": [config.aws.region.as_str()]
                    }],
                    "TemplateBody": body
                }
            }
        },
        "Outputs": {
            "RunnerPolicyArn": {
                "Description": "Attach to BackupPrincipalArn",
                "Value": {"Ref": "BackupRunnerPolicy"}
            }
        }
    }))
}
