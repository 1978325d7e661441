//! `qsbackup iam-policy --config FILE [--restore | --drill [--target-account ID ...]]
//! [--kms-key-arn ARN]`: prints the least-privilege IAM policy document for that config (see
//! [`qsbackup_core::iam_policy`]) on stdout, ready for `aws iam create-policy --policy-document
//! file://...`.

use clap::Args;
use qsbackup_core::iam_policy::{policy, PolicyOptions};

use super::restore::{target_section_of, TargetFlags};
use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct IamPolicyArgs {
    /// Also grant what `qsbackup restore` calls (import jobs, identity creation).
    #[arg(long)]
    pub restore: bool,

    /// Grant what `qsbackup drill` calls: the restore's actions, the export jobs that read the
    /// restored assets back, and every Delete* of `--teardown`.
    #[arg(long)]
    pub drill: bool,

    /// The recovery account the drill restores into (its QuickSight statements name it; attach
    /// the policy to the principal of that account that runs the drill).
    #[arg(long, value_name = "ID", requires = "drill")]
    pub target_account: Option<String>,

    /// The region the drill restores into; defaults to the config's region.
    #[arg(long, value_name = "REGION", requires = "drill")]
    pub target_region: Option<String>,

    /// The identity region of the recovery account; defaults to the target region.
    #[arg(long, value_name = "REGION", requires = "drill")]
    pub identity_region: Option<String>,

    /// The KMS key that encrypts the repository bucket (SSE-KMS): grants kms:GenerateDataKey and
    /// kms:Decrypt on it.
    #[arg(long, value_name = "ARN")]
    pub kms_key_arn: Option<String>,

    /// For a config listing several accounts (`accounts:` with one role name, or
    /// `organization:`): print a CloudFormation template instead, with the runner's policy and
    /// a service-managed StackSet that creates the member role (its trust policy included) in
    /// every account of the organizational units you give it.
    #[arg(long, conflicts_with_all = ["restore", "drill"])]
    pub organization: bool,
}

pub async fn run(global: &GlobalArgs, args: &IamPolicyArgs) -> Outcome {
    let config = match super::common::load_config(global) {
        Ok(c) => c,
        Err(o) => return o,
    };
    if args.organization {
        return match qsbackup_core::iam_policy::organization_template(&config, args.kms_key_arn.as_deref()) {
            Ok(template) => print(global, &template, "template"),
            Err(e) => Outcome::usage(anyhow::anyhow!("iam-policy --organization: {e}")),
        };
    }
    if config.lists_accounts() {
        return Outcome::usage(anyhow::anyhow!(
            "this config lists several accounts: `iam-policy --organization` prints the runner's policy and the \
             member role as one CloudFormation template"
        ));
    }
    let target = if args.target_account.is_some() || args.target_region.is_some() || args.identity_region.is_some() {
        let flags = TargetFlags {
            account: args.target_account.as_deref(),
            region: args.target_region.as_deref(),
            identity_region: args.identity_region.as_deref().or(args.target_region.as_deref()),
        };
        match target_section_of(&flags, &config) {
            Ok(s) => Some(s),
            Err(o) => return o,
        }
    } else {
        None
    };
    let options = PolicyOptions {
        restore: args.restore,
        drill: args.drill,
        target,
        kms_key_arn: args.kms_key_arn.clone(),
    };
    print(global, &policy(&config, &options), "policy")
}

/// The document alone is the text output, ready for `aws iam create-policy` or
/// `aws cloudformation deploy`; --json wraps it like every other command's document.
fn print(global: &GlobalArgs, doc: &serde_json::Value, key: &str) -> Outcome {
    let printed = if global.json {
        super::json::emit("iam-policy", &serde_json::json!({ key: doc }))
    } else {
        serde_json::to_string_pretty(doc)
            .map(|text| println!("{text}"))
            .map_err(|e| Outcome::failure(e.into()))
    };
    match printed {
        Ok(()) => Outcome::success(),
        Err(o) => o,
    }
}
