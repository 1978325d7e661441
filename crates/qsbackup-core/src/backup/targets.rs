//! One run over several targets (accounts × regions): up to `max_concurrent_accounts`
//! accounts at once, the regions of one account one after the other (QuickSight's 5 export jobs
//! are a quota of the account), each target a whole single-account backup ([`run_backup`]) with
//! its own clients, role, job budget, lock and snapshot. A target that fails is an outcome
//! among the others, never the end of the run.

use std::sync::Arc;

use futures::StreamExt;

use super::sections::{AccountSection, IdentitiesSection};
use super::{run_backup, BackupOptions, BackupOutcome};
use crate::aws::{AwsContext, AwsOptions};
use crate::config::{group_by_account, Config, Target};
use crate::error::{Error, Result};
use crate::events::ProgressSink;
use crate::repository::Repository;

/// Where the events of each target go, and the word when one ends.
pub trait TargetProgress: Send + Sync {
    /// The sink of `target`'s events, asked for when its backup begins.
    fn started(&self, target: &Target) -> Box<dyn ProgressSink>;
    /// `target`'s backup is over.
    fn finished(&self, result: &TargetResult);
}

/// How one target ended: its committed snapshot (complete or partial), or why none was.
#[derive(Debug)]
pub struct TargetResult {
    pub target: Target,
    pub outcome: Result<BackupOutcome>,
}

impl TargetResult {
    pub fn is_complete(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|o| o.is_complete())
    }
}

/// Backs up every target of `targets` into `repository` and returns one result per target,
/// in the order of `targets`. `aws` is the run's own AWS settings; a target's `role_arn` is
/// assumed on top of them for its QuickSight calls only. `options.identities` and
/// `options.account` are replaced by each target's own sections.
pub async fn run_targets(
    config: &Config,
    targets: &[Target],
    aws: &AwsOptions,
    repository: &Repository,
    progress: &dyn TargetProgress,
    options: &BackupOptions,
) -> Vec<TargetResult> {
    // Accounts in the order they first appear, each with its regions in order.
    // Owned, so the stream's futures borrow nothing from their argument (spawnable).
    let accounts = group_by_account(targets.iter().cloned().enumerate(), |(_, t)| &t.account_id);
    let width = config.backup.max_concurrent_accounts.get();
    let mut results: Vec<(usize, TargetResult)> = futures::stream::iter(accounts)
        .map(|regions| async move {
            let mut done = Vec::with_capacity(regions.len());
            for (i, target) in regions {
                let outcome = if options.cancel.is_cancelled() {
                    Err(Error::Interrupted {
                        stored_bundles: 0,
                        running_jobs: 0,
                    })
                } else {
                    let sink = progress.started(&target);
                    Box::pin(run_target(config, &target, aws, repository, sink.as_ref(), options)).await
                };
                let result = TargetResult { target, outcome };
                progress.finished(&result);
                done.push((i, result));
            }
            done
        })
        .buffer_unordered(width)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The single-account backup of one target.
async fn run_target(
    config: &Config,
    target: &Target,
    aws: &AwsOptions,
    repository: &Repository,
    sink: &dyn ProgressSink,
    options: &BackupOptions,
) -> Result<BackupOutcome> {
    let config = config.for_target(target);
    let aws = AwsContext::connect(
        &config.aws,
        &AwsOptions {
            role_arn: target.role_arn.clone(),
            ..aws.clone()
        },
    )
    .await?;
    let options = BackupOptions {
        identities: Some(Arc::new(IdentitiesSection::new(&config, &aws))),
        account: Some(Arc::new(AccountSection::new(&aws))),
        ..options.clone()
    };
    run_backup(&config, &aws, repository, sink, &options).await
}
