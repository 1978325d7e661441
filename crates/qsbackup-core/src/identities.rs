//! Identity snapshot: every namespace of an account, and in each its users,
//! groups and group memberships, read in the account's identity region.
//!
//! Owns the reading (paginated, concurrent under a limit, throttling
//! retried) and the snapshot's shape; storing it in the repository and in
//! DynamoDB is the caller's business (see [`crate::dynamodb`]).

mod model;
pub mod retry;

use std::future::Future;

use crate::repository::layout::{ObjectKind, RepoFile};
use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_quicksight::Client;
use chrono::{SubsecRound, Utc};
use futures::future::try_join_all;
use tokio::sync::Semaphore;

pub use model::{GroupRecord, IdentitySnapshot, NamespaceErrorRecord, NamespaceSnapshot, UserRecord};
pub use retry::{ReadLimits, RetryPolicy};

/// Limits on reading identities: concurrency, page size and retries.
pub type IdentityLimits = ReadLimits;

/// Error codes under which a namespace that is not (yet, or any more)
/// `CREATED` refuses to list its identities.
const NAMESPACE_NOT_READY_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "PreconditionNotMetException",
    "ResourceUnavailableException",
    "InvalidParameterValueException",
];

/// Why an identity snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The user and group APIs were called outside the identity region.
    #[error(
        "QuickSight user and group APIs of account {account_id} must be called in its identity \
         region {identity_region}, but were called in {called_region}: set \
         `aws.identity_region: {identity_region}` in the config"
    )]
    WrongIdentityRegion {
        account_id: String,
        called_region: String,
        identity_region: String,
    },
    /// A QuickSight call failed for good (after retries, if transient).
    #[error("{operation} {target} failed: {message}")]
    Api {
        operation: &'static str,
        /// What the call was about, e.g. "in namespace `default`".
        target: String,
        /// The service's error code, when it answered with one.
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },
}

impl IdentityError {
    /// The service's error code, if the service answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::WrongIdentityRegion { .. } => Some("AccessDeniedException"),
            Self::Api { code, .. } => code.as_deref(),
        }
    }
}

/// Reads every namespace (or only `default`, with a note, when
/// `ListNamespaces` is denied) with its users, groups and memberships.
///
/// `client` must be configured for the identity region.
pub async fn snapshot(
    client: &Client,
    account_id: &str,
    limits: &IdentityLimits,
) -> Result<IdentitySnapshot, IdentityError> {
    let taken_at = Utc::now().trunc_subsecs(0);
    // `crate::retry` owns these calls' retries; the SDK tries each once.
    let client = &crate::retry::quicksight_single_attempt(client);
    let reader = Reader {
        client,
        account_id,
        limits,
        permits: Semaphore::new(limits.concurrency.max(1)),
        region: client.config().region().map(ToString::to_string).unwrap_or_default(),
    };

    let mut notes = Vec::new();
    let (namespaces, namespaces_listed) = match reader.list_namespaces().await {
        Ok(namespaces) => (namespaces, true),
        Err(IdentityError::Api {
            code: Some(code),
            message,
            ..
        }) if code == "AccessDeniedException" => {
            notes.push(format!(
                "ListNamespaces was denied ({message}); only the `default` namespace was backed \
                 up. Allow quicksight:ListNamespaces to back up every namespace."
            ));
            (vec![NamespaceSnapshot::default_only()], false)
        }
        Err(err) => return Err(err),
    };

    let filled = try_join_all(namespaces.into_iter().map(|ns| reader.fill_namespace(ns))).await?;
    let mut namespaces = Vec::with_capacity(filled.len());
    for (ns, ns_notes) in filled {
        namespaces.push(ns);
        notes.extend(ns_notes);
    }

    let mut snapshot = IdentitySnapshot {
        schema: crate::repository::layout::SCHEMA_VERSION,
        account_id: account_id.to_string(),
        identity_region: reader.region,
        taken_at,
        namespaces_listed,
        namespaces,
        notes,
    };
    snapshot.normalize();
    Ok(snapshot)
}

struct Reader<'a> {
    client: &'a Client,
    account_id: &'a str,
    limits: &'a ReadLimits,
    /// Bounds the calls in flight; a permit is held for one attempt, never
    /// across a backoff sleep.
    permits: Semaphore,
    region: String,
}

impl Reader<'_> {
    /// Runs one QuickSight call under the concurrency limit, retrying
    /// transient failures, and turns a final failure into an
    /// [`IdentityError`].
    async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        target: impl FnOnce() -> String,
        mut op: F,
    ) -> Result<T, IdentityError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let permits = &self.permits;
        let result = self
            .limits
            .retry
            .run(
                operation,
                || {
                    // Boxed: SDK send futures are large, and nesting many of them
                    // inline in joins overflows a 2 MiB thread stack.
                    let attempt = Box::pin(op());
                    async move {
                        // Only fails once closed, which this semaphore never is.
                        let _permit = permits.acquire().await.ok();
                        attempt.await
                    }
                },
                crate::retry::transient,
            )
            .await;
        result.map_err(|err| self.error(operation, target(), err))
    }

    fn error<E>(&self, operation: &'static str, target: String, err: SdkError<E, HttpResponse>) -> IdentityError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = retry::error_code(&err).map(str::to_string);
        if code.as_deref() == Some("AccessDeniedException") {
            let message = err.message().unwrap_or_default();
            if let Some(identity_region) = identity_region_from_message(message) {
                return IdentityError::WrongIdentityRegion {
                    account_id: self.account_id.to_string(),
                    called_region: called_region_from_message(message).unwrap_or_else(|| self.region.clone()),
                    identity_region,
                };
            }
        }
        IdentityError::Api {
            operation,
            target,
            code,
            message: retry::describe(&err),
            source: Box::new(err),
        }
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceSnapshot>, IdentityError> {
        let mut namespaces = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListNamespaces",
                    || format!("in account {}", self.account_id),
                    || {
                        self.client
                            .list_namespaces()
                            .aws_account_id(self.account_id)
                            .max_results(self.limits.max_results())
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            namespaces.extend(page.namespaces().iter().filter_map(NamespaceSnapshot::from_sdk));
            token = next(page.next_token());
            if token.is_none() {
                return Ok(namespaces);
            }
        }
    }

    /// Lists the users and groups of `ns` and the members of each group;
    /// returns the namespace filled in and notes on anything left out.
    async fn fill_namespace(
        &self,
        mut ns: NamespaceSnapshot,
    ) -> Result<(NamespaceSnapshot, Vec<String>), IdentityError> {
        let mut notes = Vec::new();
        let listed = futures::try_join!(self.list_users(&ns.name), self.list_groups(&ns.name));
        let ((users, unnamed_users), (groups, unnamed_groups)) = match listed {
            Ok(listed) => listed,
            Err(err)
                if !ns.is_created() && err.code().is_some_and(|code| NAMESPACE_NOT_READY_CODES.contains(&code)) =>
            {
                notes.push(format!(
                    "namespace `{}` is {}: its users and groups could not be listed ({err})",
                    ns.name,
                    ns.creation_status.as_deref().unwrap_or("not ready"),
                ));
                return Ok((ns, notes));
            }
            Err(err) => return Err(err),
        };
        if unnamed_users + unnamed_groups > 0 {
            notes.push(format!(
                "namespace `{}`: {unnamed_users} users and {unnamed_groups} groups were listed \
                 without a name and could not be backed up",
                ns.name
            ));
        }

        let members = try_join_all(
            groups
                .iter()
                .map(|group| self.list_members(&ns.name, &group.group_name)),
        )
        .await?;
        ns.users = users;
        for (mut group, members) in groups.into_iter().zip(members) {
            match members {
                Some(members) => {
                    group.members = members;
                    ns.groups.push(group);
                }
                None => notes.push(format!(
                    "group `{}` of namespace `{}` was deleted while its members were read; it is \
                     not in this snapshot",
                    group.group_name, ns.name
                )),
            }
        }
        Ok((ns, notes))
    }

    /// Users of `ns`, and how many came without a name.
    async fn list_users(&self, ns: &str) -> Result<(Vec<UserRecord>, usize), IdentityError> {
        let mut users = Vec::new();
        let mut unnamed = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListUsers",
                    || format!("in namespace `{ns}`"),
                    || {
                        self.client
                            .list_users()
                            .aws_account_id(self.account_id)
                            .namespace(ns)
                            .max_results(self.limits.max_results())
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            for user in page.user_list() {
                match UserRecord::from_sdk(user) {
                    Some(record) => users.push(record),
                    None => unnamed += 1,
                }
            }
            token = next(page.next_token());
            if token.is_none() {
                return Ok((users, unnamed));
            }
        }
    }

    /// Groups of `ns` (members not yet filled in), and how many came
    /// without a name.
    async fn list_groups(&self, ns: &str) -> Result<(Vec<GroupRecord>, usize), IdentityError> {
        let mut groups = Vec::new();
        let mut unnamed = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListGroups",
                    || format!("in namespace `{ns}`"),
                    || {
                        self.client
                            .list_groups()
                            .aws_account_id(self.account_id)
                            .namespace(ns)
                            .max_results(self.limits.max_results())
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            for group in page.group_list() {
                match GroupRecord::from_sdk(group) {
                    Some(record) => groups.push(record),
                    None => unnamed += 1,
                }
            }
            token = next(page.next_token());
            if token.is_none() {
                return Ok((groups, unnamed));
            }
        }
    }

    /// Member user names of `group`, or `None` when the group no longer
    /// exists.
    async fn list_members(&self, ns: &str, group: &str) -> Result<Option<Vec<String>>, IdentityError> {
        let mut members = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call(
                    "ListGroupMemberships",
                    || format!("of group `{group}` in namespace `{ns}`"),
                    || {
                        self.client
                            .list_group_memberships()
                            .aws_account_id(self.account_id)
                            .namespace(ns)
                            .group_name(group)
                            .max_results(self.limits.max_results())
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await;
            let page = match page {
                Ok(page) => page,
                Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
                Err(err) => return Err(err),
            };
            members.extend(
                page.group_member_list()
                    .iter()
                    .filter_map(|m| m.member_name())
                    .filter(|name| !name.is_empty())
                    .map(str::to_string),
            );
            token = next(page.next_token());
            if token.is_none() {
                return Ok(Some(members));
            }
        }
    }
}

/// The token of the next page; an empty token ends the list like an
/// absent one.
fn next(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_string)
}

/// The identity region named in QuickSight's wrong-region answer, e.g.
/// "Operation is being called from endpoint eu-west-1, but your identity
/// region is us-east-1. Please use the us-east-1 endpoint."
fn identity_region_from_message(message: &str) -> Option<String> {
    region_after(message, "identity region is ").or_else(|| region_after(message, "use the "))
}

/// The region QuickSight says it was called in, from the same answer.
fn called_region_from_message(message: &str) -> Option<String> {
    region_after(message, "called from endpoint ")
}

/// The region name that follows `marker` in `message` (case-insensitive),
/// if what follows looks like one (`xx-name-1`).
fn region_after(message: &str, marker: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find(marker)? + marker.len();
    let candidate: String = lower[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let candidate = candidate.trim_end_matches('-');
    let looks_like_region = candidate.split('-').count() >= 3
        && candidate.ends_with(|c: char| c.is_ascii_digit())
        && candidate.starts_with(|c: char| c.is_ascii_alphabetic());
    looks_like_region.then(|| candidate.to_string())
}

impl RepoFile for IdentitySnapshot {
    const KIND: ObjectKind = ObjectKind::Identities;
    const WHAT: &'static str = "identities document";
    const MAX_BYTES: u64 = crate::limits::MAX_IDENTITIES_BYTES;
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRONG_REGION: &str = "Operation is being called from endpoint eu-west-1, but your \
                                identity region is us-east-1. Please use the us-east-1 endpoint.";

    #[test]
    fn reads_both_regions_from_the_wrong_region_answer() {
        assert_eq!(identity_region_from_message(WRONG_REGION).as_deref(), Some("us-east-1"));
        assert_eq!(called_region_from_message(WRONG_REGION).as_deref(), Some("eu-west-1"));
        assert_eq!(
            identity_region_from_message("Please use the ap-southeast-2 endpoint.").as_deref(),
            Some("ap-southeast-2")
        );
        assert_eq!(
            identity_region_from_message("User: arn:aws:iam::1:user/x is not authorized"),
            None
        );
        assert_eq!(identity_region_from_message("please use the console"), None);
    }

    #[test]
    fn wrong_region_error_says_what_to_set() {
        let err = IdentityError::WrongIdentityRegion {
            account_id: "123456789012".into(),
            called_region: "eu-west-1".into(),
            identity_region: "us-east-1".into(),
        };
        let text = err.to_string();
        assert!(text.contains("aws.identity_region: us-east-1"), "{text}");
        assert!(text.contains("eu-west-1"), "{text}");
    }

    #[test]
    fn empty_next_token_ends_the_list() {
        assert_eq!(next(Some("")), None);
        assert_eq!(next(None), None);
        assert_eq!(next(Some("t")).as_deref(), Some("t"));
    }
}
