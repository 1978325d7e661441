//! The optional DynamoDB lease lock (`lock.dynamodb_table`), for teams that back up one
//! QuickSight account into different repositories: one item per lock id (qsbackup uses the
//! account id), taken with a conditional `PutItem` that only succeeds when the item is absent,
//! released or expired; renewed and released with conditions on the holder's token, so no run
//! ever overwrites another's live lease. A lease of a dead process on this host is taken over
//! with a condition on that lease's token (DynamoDB has the compare-and-swap object stores lack).
//!
//! The table needs a string partition key `lock_id`; it is created (pay per request) when absent.

use super::{host_name, LockError, LockInfo, LockOptions, LockPurpose, LockState};
use crate::error::Error;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

const KEY: &str = "lock_id";

fn store_error(table: &str, what: &str, e: impl std::fmt::Display) -> LockError {
    LockError::Store(Error::Integrity {
        key: format!("dynamodb:{table}"),
        message: format!("{what}: {e}"),
    })
}

fn item(lock_id: &str, info: &LockInfo) -> Result<HashMap<String, AttributeValue>, LockError> {
    let json = serde_json::to_string(info).map_err(|source| {
        LockError::Store(Error::Json {
            context: "DynamoDB lock item".into(),
            source,
        })
    })?;
    Ok(HashMap::from([
        (KEY.to_string(), AttributeValue::S(lock_id.to_string())),
        ("token".to_string(), AttributeValue::S(info.token.clone())),
        (
            "expires_at".to_string(),
            AttributeValue::N(info.expires_at.timestamp().to_string()),
        ),
        ("released".to_string(), AttributeValue::Bool(info.released)),
        ("holder".to_string(), AttributeValue::S(json)),
    ]))
}

async fn ensure_table(client: &Client, table: &str) -> Result<(), LockError> {
    match client.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some("ResourceNotFoundException") => {}
        Err(e) => return Err(store_error(table, "DescribeTable", e.into_service_error())),
    }
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| store_error(table, "CreateTable", e))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| store_error(table, "CreateTable", e))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => return Err(store_error(table, "CreateTable", e.into_service_error())),
    }
    for _ in 0..150 {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error(table, "DescribeTable", e.into_service_error()))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(store_error(
        table,
        "CreateTable",
        "the table did not become ACTIVE within 5 minutes",
    ))
}

async fn current(client: &Client, table: &str, lock_id: &str) -> Result<Option<LockInfo>, LockError> {
    let out = client
        .get_item()
        .table_name(table)
        .key(KEY, AttributeValue::S(lock_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| store_error(table, "GetItem", e.into_service_error()))?;
    let holder = out.item().and_then(|i| i.get("holder")).and_then(|v| v.as_s().ok());
    Ok(holder.and_then(|h| serde_json::from_str(h).ok()))
}

/// A held DynamoDB lease; release it when done.
pub struct DynamoLockGuard {
    client: Client,
    table: String,
    lock_id: String,
    info: LockInfo,
    lost: Arc<Mutex<Option<String>>>,
    renewer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DynamoLockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoLockGuard")
            .field("table", &self.table)
            .field("lock_id", &self.lock_id)
            .finish()
    }
}

/// Takes lease `lock_id` in `table`, waiting up to `wait` while another run holds it.
pub async fn acquire(
    client: &Client,
    table: &str,
    lock_id: &str,
    purpose: LockPurpose,
    wait: Duration,
    options: &LockOptions,
) -> Result<DynamoLockGuard, LockError> {
    ensure_table(client, table).await?;
    let deadline = crate::poll::deadline_after(wait);
    let mut backoff = Duration::from_millis(200);
    loop {
        let now = options.clock.now();
        let info = LockInfo {
            token: hex::encode(rand::random::<[u8; 12]>()),
            exclusive: true,
            purpose,
            account: None,
            generation: None,
            host: host_name(),
            pid: std::process::id(),
            started_at: now,
            renewed_at: now,
            expires_at: now + super::ttl_delta(options.ttl),
            released: false,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            process_scope: super::process_scope(),
        };
        let holder = current(client, table, lock_id).await?;
        let mut put = client
            .put_item()
            .table_name(table)
            .set_item(Some(item(lock_id, &info)?))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .expression_attribute_values(":yes", AttributeValue::Bool(true));
        // A lease of a dead process here is taken over only if it is still that lease.
        let takeover = holder
            .as_ref()
            .filter(|h| matches!(h.state(now), LockState::Stale(_)))
            .map(|h| h.token.clone());
        put = match &takeover {
            Some(token) => put
                .condition_expression(
                    "attribute_not_exists(lock_id) OR released = :yes OR expires_at < :now OR #t = :theirs",
                )
                .expression_attribute_names("#t", "token")
                .expression_attribute_values(":theirs", AttributeValue::S(token.clone())),
            None => put.condition_expression("attribute_not_exists(lock_id) OR released = :yes OR expires_at < :now"),
        };
        match put.send().await {
            Ok(_) => {
                let lost = Arc::new(Mutex::new(None));
                let renewer = tokio::spawn(renew_loop(
                    client.clone(),
                    table.to_string(),
                    lock_id.to_string(),
                    info.clone(),
                    options.clone(),
                    lost.clone(),
                ));
                return Ok(DynamoLockGuard {
                    client: client.clone(),
                    table: table.to_string(),
                    lock_id: lock_id.to_string(),
                    info,
                    lost,
                    renewer: Some(renewer),
                });
            }
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {}
            Err(e) => return Err(store_error(table, "PutItem", e.into_service_error())),
        }
        let holder = current(client, table, lock_id).await?;
        let wait_now = tokio::time::Instant::now();
        if wait_now >= deadline {
            let holder = holder.unwrap_or(info);
            return Err(LockError::Held {
                repository: format!("DynamoDB table {table}"),
                key: lock_id.to_string(),
                holder: Box::new(holder),
            });
        }
        tokio::time::sleep(backoff.min(deadline - wait_now)).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn renew_loop(
    client: Client,
    table: String,
    lock_id: String,
    info: LockInfo,
    options: LockOptions,
    lost: Arc<Mutex<Option<String>>>,
) {
    let mut expires_at = info.expires_at;
    loop {
        tokio::time::sleep(options.renew_every).await;
        let now = options.clock.now();
        if now > expires_at {
            let mut l = lost.lock().unwrap_or_else(|p| p.into_inner());
            l.get_or_insert_with(|| "the lease could not be renewed before it ended".into());
            return;
        }
        match renew_at(&client, &table, &lock_id, &info, options.ttl, now).await {
            Ok(next) => expires_at = next.expires_at,
            Err(LockError::Lost { reason, .. }) => {
                let mut l = lost.lock().unwrap_or_else(|p| p.into_inner());
                l.get_or_insert(reason);
                return;
            }
            Err(_) => {}
        }
    }
}

/// Extends lease `info` (held under `info.token`) by `ttl` from now and rewrites its holder
/// record from `info`; [`LockError::Lost`] when the item is no longer that token's or was
/// released. For holders that renew across processes (the Lambda workflow), with the
/// [`LockInfo`] kept by [`DynamoLockGuard::detach`].
pub async fn renew(
    client: &Client,
    table: &str,
    lock_id: &str,
    info: &LockInfo,
    ttl: Duration,
) -> Result<LockInfo, LockError> {
    renew_at(client, table, lock_id, info, ttl, Utc::now()).await
}

/// [`renew`] from `now`.
pub async fn renew_at(
    client: &Client,
    table: &str,
    lock_id: &str,
    info: &LockInfo,
    ttl: Duration,
    now: chrono::DateTime<Utc>,
) -> Result<LockInfo, LockError> {
    let mut next = info.clone();
    next.renewed_at = now;
    next.expires_at = now + super::ttl_delta(ttl);
    let holder = serde_json::to_string(&next).map_err(|source| {
        LockError::Store(Error::Json {
            context: "DynamoDB lock item".into(),
            source,
        })
    })?;
    let renewed = client
        .update_item()
        .table_name(table)
        .key(KEY, AttributeValue::S(lock_id.to_string()))
        .update_expression("SET expires_at = :exp, holder = :holder")
        .condition_expression("#t = :mine AND released = :no")
        .expression_attribute_names("#t", "token")
        .expression_attribute_values(":exp", AttributeValue::N(next.expires_at.timestamp().to_string()))
        .expression_attribute_values(":holder", AttributeValue::S(holder))
        .expression_attribute_values(":mine", AttributeValue::S(info.token.clone()))
        .expression_attribute_values(":no", AttributeValue::Bool(false))
        .send()
        .await;
    match renewed {
        Ok(_) => Ok(next),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Err(LockError::Lost {
            repository: format!("DynamoDB table {table}"),
            key: lock_id.to_string(),
            reason: "another run took the lease over".into(),
        }),
        Err(e) => Err(store_error(table, "UpdateItem", e.into_service_error())),
    }
}

/// Marks lease `lock_id` released if `token` still holds it (another holder's is left alone).
pub async fn release(client: &Client, table: &str, lock_id: &str, token: &str) -> Result<(), LockError> {
    let done = client
        .update_item()
        .table_name(table)
        .key(KEY, AttributeValue::S(lock_id.to_string()))
        .update_expression("SET released = :yes")
        .condition_expression("#t = :mine")
        .expression_attribute_names("#t", "token")
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .expression_attribute_values(":mine", AttributeValue::S(token.to_string()))
        .send()
        .await;
    match done {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
        Err(e) => Err(store_error(table, "UpdateItem", e.into_service_error())),
    }
}

impl DynamoLockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// `Err(LockError::Lost)` once the lease is no longer ours.
    pub fn check(&self) -> Result<(), LockError> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            None => Ok(()),
            Some(reason) => Err(LockError::Lost {
                repository: format!("DynamoDB table {}", self.table),
                key: self.lock_id.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// Stops renewing and marks the lease released (only if it is still ours).
    pub async fn release(mut self) -> Result<(), LockError> {
        if let Some(t) = self.renewer.take() {
            t.abort();
        }
        release(&self.client, &self.table, &self.lock_id, &self.info.token).await
    }

    /// Stops renewing and hands back the lease without releasing it: it stays held until its
    /// expiry unless [`renew`] extends it or [`release`] ends it by its token.
    pub fn detach(mut self) -> LockInfo {
        if let Some(t) = self.renewer.take() {
            t.abort();
        }
        self.info.clone()
    }
}

impl Drop for DynamoLockGuard {
    fn drop(&mut self) {
        if let Some(t) = self.renewer.take() {
            t.abort();
        }
    }
}

#[async_trait::async_trait]
impl super::HeldLock for DynamoLockGuard {
    async fn confirm(&self) -> Result<(), LockError> {
        self.check()
    }
}
