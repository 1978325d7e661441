//! `qsbackup iam-policy --config FILE [--restore] [--kms-key-arn ARN]`: prints the least-privilege
//! IAM policy document for that config (see [`qsbackup_core::iam_policy`]) on stdout, ready for
//! `aws iam create-policy --policy-document file://...`.

use clap::Args;
use qsbackup_core::iam_policy::{policy, PolicyOptions};

use crate::cli::GlobalArgs;
use crate::exit::Outcome;

#[derive(Debug, Clone, Args)]
pub struct IamPolicyArgs {
    /// Also grant what `qsbackup restore` calls (import jobs, identity creation).
    #[arg(long)]
    pub restore: bool,

    /// The KMS key that encrypts the repository bucket (SSE-KMS): grants kms:GenerateDataKey and
    /// kms:Decrypt on it.
    #[arg(long, value_name = "ARN")]
    pub kms_key_arn: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: &IamPolicyArgs) -> Outcome {
    let config = match super::common::load_config(global) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let options = PolicyOptions {
        restore: args.restore,
        kms_key_arn: args.kms_key_arn.clone(),
    };
    let policy = policy(&config, &options);
    // The policy alone is the text output, ready for `aws iam create-policy`; --json wraps it
    // like every other command's document.
    let printed = if global.json {
        super::json::emit("iam-policy", &serde_json::json!({ "policy": policy }))
    } else {
        serde_json::to_string_pretty(&policy)
            .map(|text| println!("{text}"))
            .map_err(|e| Outcome::failure(e.into()))
    };
    match printed {
        Ok(()) => Outcome::success(),
        Err(o) => o,
    }
}
