//! Account configuration snapshot, read in the asset region: account
//! settings, account customization per namespace, brands with their
//! definitions, custom permissions profiles, and every folder with its
//! permissions and members.
//!
//! Whatever the caller may not read is recorded under `unavailable` with
//! the service's reason, never silently left out. Values are the service's
//! own JSON (see [`raw`]), minus per-request noise, in a stable order.

mod model;
mod raw;

use std::future::Future;
use std::sync::Mutex;

use aws_sdk_quicksight::config::http::HttpResponse;
use aws_sdk_quicksight::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_quicksight::Client;
use chrono::{SubsecRound, Utc};
use futures::future::try_join_all;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::identities::retry::{self, ReadLimits};
use crate::repository::layout::{ObjectKind, RepoFile};
pub use model::{AccountSnapshot, BrandRecord, FolderRecord, Unavailable};
use raw::Capture;

/// Error codes meaning "you may not read this": recorded, not fatal.
const NOT_ALLOWED_CODES: &[&str] = &["AccessDeniedException", "UnsupportedUserEditionException"];

const NOT_FOUND: &str = "ResourceNotFoundException";

/// Why an account configuration snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum AccountConfigError {
    /// A call failed for good, for a reason other than permissions.
    #[error("{operation} ({what}) failed: {message}")]
    Api {
        operation: &'static str,
        what: String,
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },
    /// The service answered with a body that is not the expected JSON.
    #[error("{operation} ({what}) answered unreadably: {message}")]
    Decode {
        operation: &'static str,
        what: String,
        message: String,
    },
}

impl AccountConfigError {
    fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            Self::Decode { .. } => None,
        }
    }
}

/// Reads the account configuration with default limits; `namespaces` are
/// those whose customization to read (typically every namespace of the
/// identity snapshot).
pub async fn snapshot(
    client: &Client,
    account_id: &str,
    namespaces: &[String],
) -> Result<AccountSnapshot, AccountConfigError> {
    snapshot_with_limits(client, account_id, namespaces, &ReadLimits::default()).await
}

/// [`snapshot`] with explicit concurrency, page size and retries.
pub async fn snapshot_with_limits(
    client: &Client,
    account_id: &str,
    namespaces: &[String],
    limits: &ReadLimits,
) -> Result<AccountSnapshot, AccountConfigError> {
    let taken_at = Utc::now().trunc_subsecs(0);
    // `crate::retry` owns these calls' retries; the SDK tries each once.
    let client = &crate::retry::quicksight_single_attempt(client);
    let reader = Reader {
        client,
        account_id,
        limits,
        permits: Semaphore::new(limits.concurrency.max(1)),
        unavailable: Mutex::new(Vec::new()),
    };
    let mut namespaces: Vec<&String> = namespaces.iter().collect();
    namespaces.sort();
    namespaces.dedup();

    let (account_settings, customizations, brands, custom_permissions, folders) = futures::try_join!(
        reader.account_settings(),
        try_join_all(namespaces.into_iter().map(|ns| reader.customization(ns))),
        reader.brands(),
        reader.custom_permissions(),
        reader.folders(),
    )?;

    let mut unavailable = reader
        .unavailable
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    unavailable.sort();
    unavailable.dedup();
    Ok(AccountSnapshot {
        schema: crate::repository::layout::SCHEMA_VERSION,
        account_id: account_id.to_string(),
        region: client.config().region().map(ToString::to_string).unwrap_or_default(),
        taken_at,
        account_settings,
        customizations: customizations.into_iter().flatten().collect(),
        brands,
        custom_permissions,
        folders,
        unavailable,
    })
}

struct Reader<'a> {
    client: &'a Client,
    account_id: &'a str,
    limits: &'a ReadLimits,
    /// Bounds the calls in flight; a permit is held for one attempt, never
    /// across a backoff sleep.
    permits: Semaphore,
    unavailable: Mutex<Vec<Unavailable>>,
}

impl Reader<'_> {
    /// One call under the concurrency limit with transient failures
    /// retried; returns the answer's JSON body as sent.
    async fn call<T, E, F, Fut>(
        &self,
        operation: &'static str,
        what: &str,
        mut op: F,
    ) -> Result<Value, AccountConfigError>
    where
        F: FnMut(Capture) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let capture = Capture::default();
        let permits = &self.permits;
        let result = self
            .limits
            .retry
            .run(
                operation,
                || {
                    // Boxed: SDK send futures are large, and nesting many of them
                    // inline in joins overflows a 2 MiB thread stack.
                    let attempt = Box::pin(op(capture.clone()));
                    async move {
                        // Only fails once closed, which this semaphore never is.
                        let _permit = permits.acquire().await.ok();
                        attempt.await
                    }
                },
                crate::retry::transient,
            )
            .await;
        match result {
            Ok(_) => capture.json().await.map_err(|message| AccountConfigError::Decode {
                operation,
                what: what.to_string(),
                message,
            }),
            Err(err) => Err(AccountConfigError::Api {
                operation,
                what: what.to_string(),
                code: retry::error_code(&err).map(str::to_string),
                message: retry::describe(&err),
                source: Box::new(err),
            }),
        }
    }

    /// Every item under `list_key` of a paginated list call; `op` gets the
    /// capture to attach and the page token.
    async fn list<T, E, F, Fut>(
        &self,
        operation: &'static str,
        what: &str,
        list_key: &str,
        mut op: F,
    ) -> Result<Vec<Value>, AccountConfigError>
    where
        F: FnMut(Capture, Option<String>) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut page = self.call(operation, what, |capture| op(capture, token.clone())).await?;
            if let Some(Value::Array(list)) = page.get_mut(list_key).map(Value::take) {
                items.extend(list.into_iter().map(|mut item| {
                    raw::scrub_presigned(&mut item);
                    item
                }));
            }
            token = page
                .get("NextToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// Turns a refusal (`codes` beyond the permission ones) into an
    /// `unavailable` entry and `None`; other failures stay errors.
    fn allow<T>(
        &self,
        result: Result<T, AccountConfigError>,
        what: &str,
        not_found_means: Option<&str>,
    ) -> Result<Option<T>, AccountConfigError> {
        let err = match result {
            Ok(value) => return Ok(Some(value)),
            Err(err) => err,
        };
        let reason = match (err.code(), &err) {
            (Some(code), AccountConfigError::Api { message, .. }) if NOT_ALLOWED_CODES.contains(&code) => {
                message.clone()
            }
            (Some(NOT_FOUND), AccountConfigError::Api { message, .. }) => match not_found_means {
                Some(meaning) => format!("{meaning} ({message})"),
                None => return Err(err),
            },
            _ => return Err(err),
        };
        self.unavailable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Unavailable {
                what: what.to_string(),
                reason,
            });
        Ok(None)
    }

    async fn account_settings(&self) -> Result<Option<Value>, AccountConfigError> {
        let what = "account settings (DescribeAccountSettings)";
        let answer = self
            .call("DescribeAccountSettings", what, |capture| {
                self.client
                    .describe_account_settings()
                    .aws_account_id(self.account_id)
                    .customize()
                    .interceptor(capture)
                    .send()
            })
            .await;
        Ok(self
            .allow(answer, what, None)?
            .map(raw::clean)
            .and_then(|mut answer| answer.get_mut("AccountSettings").map(Value::take)))
    }

    async fn customization(&self, namespace: &str) -> Result<Option<(String, Value)>, AccountConfigError> {
        let what = format!("account customization of namespace `{namespace}` (DescribeAccountCustomization)");
        let answer = self
            .call("DescribeAccountCustomization", &what, |capture| {
                self.client
                    .describe_account_customization()
                    .aws_account_id(self.account_id)
                    .namespace(namespace)
                    .resolved(false)
                    .customize()
                    .interceptor(capture)
                    .send()
            })
            .await;
        Ok(self
            .allow(answer, &what, Some("no customization is set"))?
            .map(|answer| (namespace.to_string(), raw::clean(answer))))
    }

    async fn brands(&self) -> Result<Vec<BrandRecord>, AccountConfigError> {
        let what = "brands (ListBrands)";
        let listed = self
            .list("ListBrands", what, "Brands", |capture, token| {
                self.client
                    .list_brands()
                    .aws_account_id(self.account_id)
                    .max_results(self.limits.max_results())
                    .set_next_token(token)
                    .customize()
                    .interceptor(capture)
                    .send()
            })
            .await;
        let Some(summaries) = self.allow(listed, what, None)? else {
            return Ok(Vec::new());
        };
        let mut brands = try_join_all(summaries.into_iter().map(|summary| self.brand(summary))).await?;
        brands.sort_by(|a, b| a.brand_id.cmp(&b.brand_id));
        Ok(brands)
    }

    async fn brand(&self, summary: Value) -> Result<BrandRecord, AccountConfigError> {
        let brand_id = string_field(&summary, "BrandId");
        let what = format!("brand `{brand_id}` (DescribeBrand)");
        let answer = self
            .call("DescribeBrand", &what, |capture| {
                self.client
                    .describe_brand()
                    .aws_account_id(self.account_id)
                    .brand_id(&brand_id)
                    .customize()
                    .interceptor(capture)
                    .send()
            })
            .await;
        let mut answer = self
            .allow(answer, &what, Some("the brand was deleted while being read"))?
            .map(raw::clean);
        let mut part = |key: &str| answer.as_mut().and_then(|a| a.get_mut(key)).map(Value::take);
        let (detail, definition) = (part("BrandDetail"), part("BrandDefinition"));
        Ok(BrandRecord {
            brand_id,
            summary,
            detail,
            definition,
        })
    }

    async fn custom_permissions(&self) -> Result<Vec<Value>, AccountConfigError> {
        let what = "custom permissions profiles (ListCustomPermissions)";
        let listed = self
            .list(
                "ListCustomPermissions",
                what,
                "CustomPermissionsList",
                |capture, token| {
                    self.client
                        .list_custom_permissions()
                        .aws_account_id(self.account_id)
                        .max_results(self.limits.max_results())
                        .set_next_token(token)
                        .customize()
                        .interceptor(capture)
                        .send()
                },
            )
            .await;
        let mut profiles = self.allow(listed, what, None)?.unwrap_or_default();
        raw::sort_by_key(&mut profiles, "CustomPermissionsName");
        Ok(profiles)
    }

    async fn folders(&self) -> Result<Vec<FolderRecord>, AccountConfigError> {
        let what = "folders (ListFolders)";
        let listed = self
            .list("ListFolders", what, "FolderSummaryList", |capture, token| {
                self.client
                    .list_folders()
                    .aws_account_id(self.account_id)
                    .max_results(self.limits.max_results())
                    .set_next_token(token)
                    .customize()
                    .interceptor(capture)
                    .send()
            })
            .await;
        let Some(summaries) = self.allow(listed, what, None)? else {
            return Ok(Vec::new());
        };
        let mut folders = try_join_all(summaries.into_iter().map(|summary| self.folder(summary))).await?;
        folders.sort_by(|a, b| a.folder_id.cmp(&b.folder_id));
        Ok(folders)
    }

    async fn folder(&self, summary: Value) -> Result<FolderRecord, AccountConfigError> {
        const GONE: Option<&str> = Some("the folder was deleted while being read");
        let folder_id = string_field(&summary, "FolderId");
        let id = folder_id.as_str();
        let describe_what = format!("folder `{id}` (DescribeFolder)");
        let permissions_what = format!("permissions of folder `{id}` (DescribeFolderPermissions)");
        let members_what = format!("members of folder `{id}` (ListFolderMembers)");

        let (folder, permissions, members) = futures::join!(
            self.call("DescribeFolder", &describe_what, |capture| {
                self.client
                    .describe_folder()
                    .aws_account_id(self.account_id)
                    .folder_id(id)
                    .customize()
                    .interceptor(capture)
                    .send()
            }),
            self.list(
                "DescribeFolderPermissions",
                &permissions_what,
                "Permissions",
                |capture, token| {
                    self.client
                        .describe_folder_permissions()
                        .aws_account_id(self.account_id)
                        .folder_id(id)
                        .max_results(self.limits.max_results())
                        .set_next_token(token)
                        .customize()
                        .interceptor(capture)
                        .send()
                }
            ),
            self.list(
                "ListFolderMembers",
                &members_what,
                "FolderMemberList",
                |capture, token| {
                    self.client
                        .list_folder_members()
                        .aws_account_id(self.account_id)
                        .folder_id(id)
                        .max_results(self.limits.max_results())
                        .set_next_token(token)
                        .customize()
                        .interceptor(capture)
                        .send()
                }
            ),
        );
        let folder = self
            .allow(folder, &describe_what, GONE)?
            .map(raw::clean)
            .and_then(|mut answer| answer.get_mut("Folder").map(Value::take));
        let permissions = self.allow(permissions, &permissions_what, GONE)?.map(|mut p| {
            raw::sort_by_key(&mut p, "Principal");
            p
        });
        let members = self.allow(members, &members_what, GONE)?.map(|mut m| {
            raw::sort_by_key(&mut m, "MemberId");
            m
        });
        Ok(FolderRecord {
            folder_id,
            summary,
            folder,
            permissions,
            members,
        })
    }
}

fn string_field(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl RepoFile for AccountSnapshot {
    const KIND: ObjectKind = ObjectKind::Account;
    const WHAT: &'static str = "account document";
    const MAX_BYTES: u64 = crate::limits::MAX_ACCOUNT_BYTES;
}
