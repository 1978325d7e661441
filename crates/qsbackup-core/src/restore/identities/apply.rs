//! Carrying out an [`IdentityPlan`] in the target's identity region: namespaces (created, then
//! waited for until `CREATED`), groups and users (at once), memberships, each step's calls
//! concurrent under a bound and retried when throttled. The caller learns when users and
//! groups exist, before the memberships, so that imports need not wait for those. "Already
//! exists" answers count as success, so a re-run is harmless; one failure is recorded and the
//! rest goes on.

use super::{Action, IdentityPlan, Principals};
use crate::events::{Event, ProgressSink};
use crate::identities::retry::{self, RetryPolicy};
use crate::poll::{poll_until, Poll, PollSchedule};
use crate::restore::arn::PrincipalKind;
use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_quicksight::types::{IdentityStore, IdentityType, NamespaceStatus, UserRole};
use aws_sdk_quicksight::Client;
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// How one namespace, group, user or membership fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "message")]
pub enum ItemOutcome {
    Created,
    Existed,
    Skipped(String),
    Failed(String),
}

/// One item of the identity step.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityItem {
    /// `namespace`, `group`, `user` or `membership`.
    pub kind: &'static str,
    pub namespace: String,
    /// The name (for a membership, `group/user`).
    pub name: String,
    pub outcome: ItemOutcome,
}

/// What the identity step did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentityOutcome {
    pub items: Vec<IdentityItem>,
}

impl IdentityOutcome {
    pub fn failed(&self) -> impl Iterator<Item = &IdentityItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.outcome, ItemOutcome::Failed(_)))
    }

    pub fn skipped(&self) -> impl Iterator<Item = &IdentityItem> {
        self.items
            .iter()
            .filter(|i| matches!(i.outcome, ItemOutcome::Skipped(_)))
    }

    /// Users and groups that exist in the target after the step.
    pub fn principals(&self) -> Principals {
        let mut p = Principals::default();
        for i in &self.items {
            let kind = match i.kind {
                "user" => PrincipalKind::User,
                "group" => PrincipalKind::Group,
                _ => continue,
            };
            if matches!(i.outcome, ItemOutcome::Created | ItemOutcome::Existed) {
                p.insert(kind, &i.namespace, &i.name);
            }
        }
        p
    }
}

/// Limits of the identity step.
#[derive(Debug, Clone)]
pub struct ApplyLimits {
    /// Calls in flight at once.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Longest wait for a new namespace to be `CREATED`.
    pub namespace_timeout: Duration,
    pub poll: PollSchedule,
}

impl Default for ApplyLimits {
    fn default() -> Self {
        ApplyLimits {
            concurrency: 8,
            retry: RetryPolicy::default(),
            namespace_timeout: Duration::from_secs(600),
            poll: PollSchedule {
                first: Duration::from_secs(2),
                fraction: 0.2,
                max: Duration::from_secs(15),
            },
        }
    }
}

struct Applier<'a> {
    client: &'a Client,
    account: &'a str,
    limits: &'a ApplyLimits,
    sink: &'a dyn ProgressSink,
}

fn existed_or_failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> ItemOutcome {
    match retry::error_code(err) {
        Some("ResourceExistsException") => ItemOutcome::Existed,
        _ => ItemOutcome::Failed(retry::describe(err)),
    }
}

impl Applier<'_> {
    async fn call<T, E, F, Fut>(&self, what: &str, op: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata,
    {
        crate::retry::Retry::new(&self.limits.retry, what)
            .events(self.sink)
            .run(op, crate::retry::transient)
            .await
    }

    async fn namespace(&self, name: &str) -> ItemOutcome {
        let created = self
            .call("CreateNamespace", || {
                Box::pin(
                    self.client
                        .create_namespace()
                        .aws_account_id(self.account)
                        .namespace(name)
                        .identity_store(IdentityStore::Quicksight)
                        .send(),
                )
            })
            .await;
        let outcome = match &created {
            Ok(_) => ItemOutcome::Created,
            Err(e) => existed_or_failed(e),
        };
        if matches!(outcome, ItemOutcome::Failed(_)) {
            return outcome;
        }
        // QuickSight creates namespaces asynchronously; one that is ready at once (or existed)
        // needs no wait.
        if let Ok(d) = self
            .client
            .describe_namespace()
            .aws_account_id(self.account)
            .namespace(name)
            .send()
            .await
        {
            if d.namespace().and_then(|n| n.creation_status()) == Some(&NamespaceStatus::Created) {
                return outcome;
            }
        }
        let deadline = crate::poll::deadline_after(self.limits.namespace_timeout);
        let ready = poll_until(self.limits.poll, deadline, || async {
            let described = self
                .call("DescribeNamespace", || {
                    Box::pin(
                        self.client
                            .describe_namespace()
                            .aws_account_id(self.account)
                            .namespace(name)
                            .send(),
                    )
                })
                .await;
            Ok(match described {
                Err(e) => Poll::Done(Err(retry::describe(&e))),
                Ok(d) => match d.namespace().and_then(|n| n.creation_status()) {
                    Some(NamespaceStatus::Created) | None => Poll::Done(Ok(())),
                    Some(NamespaceStatus::Creating) => Poll::Pending,
                    Some(other) => {
                        let why = d
                            .namespace()
                            .and_then(|n| n.namespace_error())
                            .and_then(|e| e.message())
                            .unwrap_or_default();
                        Poll::Done(Err(format!("namespace creation ended {}: {why}", other.as_str())))
                    }
                },
            })
        })
        .await;
        match ready {
            Ok(Some(Ok(()))) => outcome,
            Ok(Some(Err(message))) => ItemOutcome::Failed(message),
            Ok(None) => ItemOutcome::Failed(format!(
                "namespace {name} was not CREATED within {} s",
                self.limits.namespace_timeout.as_secs()
            )),
            Err(e) => ItemOutcome::Failed(e.to_string()),
        }
    }
}

/// Collects the futures first: a stream over a borrowing closure is not `Send` for every
/// lifetime (rust-lang/rust#102211), and the CLI runs the restore on a spawned task.
fn collect<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F> {
    futures.collect()
}

fn item(kind: &'static str, namespace: &str, name: &str, outcome: ItemOutcome) -> IdentityItem {
    IdentityItem {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        outcome,
    }
}

fn report(sink: &dyn ProgressSink, what: &str, items: &[IdentityItem]) {
    let n = |f: fn(&ItemOutcome) -> bool| items.iter().filter(|i| f(&i.outcome)).count();
    sink.event(&Event::IdentitiesRestored {
        what: what.to_string(),
        created: n(|o| matches!(o, ItemOutcome::Created)),
        existing: n(|o| matches!(o, ItemOutcome::Existed)),
        skipped: n(|o| matches!(o, ItemOutcome::Skipped(_))),
        failed: n(|o| matches!(o, ItemOutcome::Failed(_))),
    });
}

/// Runs `plan` against the target (`client` in its identity region). Once every user and group
/// is created (or has failed), `principals_ready` gets the ones that exist, so that imports
/// that grant them permissions can start while the memberships are still being created.
pub async fn apply(
    client: &Client,
    account: &str,
    plan: &IdentityPlan,
    limits: &ApplyLimits,
    sink: &dyn ProgressSink,
    principals_ready: &(dyn Fn(Principals) + Sync),
) -> IdentityOutcome {
    // `crate::retry` owns these calls' retries; the SDK tries each once.
    let client = &crate::retry::quicksight_single_attempt(client);
    let a = Applier {
        client,
        account,
        limits,
        sink,
    };
    let n = limits.concurrency.max(1);
    let mut outcome = IdentityOutcome::default();

    let namespaces: Vec<IdentityItem> = futures::stream::iter(collect(plan.namespaces.iter().map(|s| {
        let a = &a;
        async move {
            let o = match &s.action {
                Action::Create => a.namespace(&s.name).await,
                Action::Exists => ItemOutcome::Existed,
                Action::Skip(r) => ItemOutcome::Skipped(r.clone()),
            };
            item("namespace", &s.name, &s.name, o)
        }
    })))
    .buffer_unordered(n)
    .collect()
    .await;
    report(sink, "namespaces", &namespaces);
    let broken: BTreeSet<String> = namespaces
        .iter()
        .filter(|i| matches!(i.outcome, ItemOutcome::Failed(_) | ItemOutcome::Skipped(_)))
        .map(|i| i.name.clone())
        .collect();
    let ns_failed = |ns: &str| ItemOutcome::Failed(format!("namespace {ns} is not available in the target"));
    outcome.items.extend(namespaces);

    // Groups and users do not need each other: both steps run at once, each under the bound.
    let groups = futures::stream::iter(collect(plan.groups.iter().map(|s| {
        let a = &a;
        let broken = &broken;
        async move {
            let o = match &s.action {
                Action::Skip(r) => ItemOutcome::Skipped(r.clone()),
                Action::Exists => ItemOutcome::Existed,
                Action::Create if broken.contains(&s.namespace) => ns_failed(&s.namespace),
                Action::Create => {
                    let r = a
                        .call("CreateGroup", || {
                            Box::pin(
                                a.client
                                    .create_group()
                                    .aws_account_id(a.account)
                                    .namespace(&s.namespace)
                                    .group_name(&s.name)
                                    .set_description(s.description.clone())
                                    .send(),
                            )
                        })
                        .await;
                    r.map(|_| ItemOutcome::Created)
                        .unwrap_or_else(|e| existed_or_failed(&e))
                }
            };
            item("group", &s.namespace, &s.name, o)
        }
    })))
    .buffer_unordered(n)
    .collect::<Vec<IdentityItem>>();

    let users = futures::stream::iter(collect(plan.users.iter().map(|s| {
        let a = &a;
        let broken = &broken;
        async move {
            let o = match (&s.action, &s.registration) {
                (Action::Skip(r), _) => ItemOutcome::Skipped(r.clone()),
                (Action::Exists, _) => ItemOutcome::Existed,
                (Action::Create, _) if broken.contains(&s.namespace) => ns_failed(&s.namespace),
                (Action::Create, None) => ItemOutcome::Failed("nothing to register it with".into()),
                (Action::Create, Some(r)) => {
                    let sent = a
                        .call("RegisterUser", || {
                            Box::pin(
                                a.client
                                    .register_user()
                                    .aws_account_id(a.account)
                                    .namespace(&s.namespace)
                                    .identity_type(IdentityType::from(r.identity_type.as_str()))
                                    .email(&r.email)
                                    .user_role(UserRole::from(r.role.as_str()))
                                    .set_user_name(r.user_name.clone())
                                    .set_iam_arn(r.iam_arn.clone())
                                    .set_session_name(r.session_name.clone())
                                    .set_custom_permissions_name(r.custom_permissions_name.clone())
                                    .set_external_login_federation_provider_type(
                                        r.external_login_federation_provider_type.clone(),
                                    )
                                    .set_custom_federation_provider_url(r.custom_federation_provider_url.clone())
                                    .set_external_login_id(r.external_login_id.clone())
                                    .send(),
                            )
                        })
                        .await;
                    sent.map(|_| ItemOutcome::Created)
                        .unwrap_or_else(|e| existed_or_failed(&e))
                }
            };
            item("user", &s.namespace, &s.name, o)
        }
    })))
    .buffer_unordered(n)
    .collect::<Vec<IdentityItem>>();
    let (groups, users) = futures::join!(groups, users);
    report(sink, "groups", &groups);
    outcome.items.extend(groups);
    report(sink, "users", &users);
    outcome.items.extend(users);

    let present = outcome.principals();
    principals_ready(present.clone());
    let memberships: Vec<IdentityItem> = futures::stream::iter(collect(plan.memberships.iter().map(|s| {
        let a = &a;
        let present = &present;
        async move {
            let o = match &s.action {
                Action::Skip(r) => ItemOutcome::Skipped(r.clone()),
                Action::Exists => ItemOutcome::Existed,
                Action::Create if !present.contains(PrincipalKind::Group, &s.namespace, &s.group) => {
                    ItemOutcome::Failed(format!("group {}/{} is not in the target", s.namespace, s.group))
                }
                Action::Create if !present.contains(PrincipalKind::User, &s.namespace, &s.user) => {
                    ItemOutcome::Failed(format!("user {}/{} is not in the target", s.namespace, s.user))
                }
                Action::Create => {
                    let r = a
                        .call("CreateGroupMembership", || {
                            Box::pin(
                                a.client
                                    .create_group_membership()
                                    .aws_account_id(a.account)
                                    .namespace(&s.namespace)
                                    .group_name(&s.group)
                                    .member_name(&s.user)
                                    .send(),
                            )
                        })
                        .await;
                    r.map(|_| ItemOutcome::Created)
                        .unwrap_or_else(|e| existed_or_failed(&e))
                }
            };
            item("membership", &s.namespace, &format!("{}/{}", s.group, s.user), o)
        }
    })))
    .buffer_unordered(n)
    .collect()
    .await;
    report(sink, "memberships", &memberships);
    outcome.items.extend(memberships);
    outcome
}
