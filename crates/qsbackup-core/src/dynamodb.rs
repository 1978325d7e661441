//! Identity tables in DynamoDB, as the AWS reference design keeps them:
//! users, groups and group memberships in three tables whose names carry
//! the run's UTC date, created on demand (pay per request) and filled with
//! `BatchWriteItem`.
//!
//! Re-running on the same day rewrites the same tables: an existing table
//! is reused, a put overwrites the item with the same key, and items of an
//! earlier run that this snapshot no longer has are deleted, so a table
//! always mirrors the day's last snapshot.

pub mod items;
mod names;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, TableStatus, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{NaiveDate, SecondsFormat};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::identities::retry::{self, RetryPolicy};
use crate::identities::IdentitySnapshot;
use items::{IdentityTable, Item, Stamp, SORT_KEY};
pub use names::{is_valid_table_name, ResolvedTableNames, TableNames};

/// Most write requests one `BatchWriteItem` call accepts.
const BATCH_SIZE: usize = 25;

/// How patiently tables are waited for and writes retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableWriteOptions {
    /// Longest wait for a table to become `ACTIVE`.
    pub table_ready_timeout: Duration,
    /// Pause between two looks at a table that is not ready.
    pub table_poll_interval: Duration,
    /// Retries of throttled calls and of unprocessed items.
    pub retry: RetryPolicy,
    /// `BatchWriteItem` calls in flight per table.
    pub batch_concurrency: usize,
}

impl Default for TableWriteOptions {
    fn default() -> Self {
        Self {
            table_ready_timeout: Duration::from_secs(300),
            table_poll_interval: Duration::from_secs(2),
            retry: RetryPolicy::default(),
            batch_concurrency: 4,
        }
    }
}

/// What was written, per table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityTablesReport {
    pub users: TableReport,
    pub groups: TableReport,
    pub memberships: TableReport,
}

/// What was written to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    pub table_name: String,
    /// False when the table already existed (an earlier run that day).
    pub created: bool,
    pub items_written: usize,
    /// Items of an earlier run the same day that this snapshot lacks.
    pub stale_items_removed: usize,
}

/// Why the identity tables could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DynamoDbError {
    #[error("dynamodb.table_name_format `{format}` is not usable: {reason}")]
    InvalidTableNameFormat { format: String, reason: String },
    #[error(
        "DynamoDB table name `{name}` is not valid: names are 3 to 255 characters of letters, \
         digits, `_`, `-` and `.` (check the dynamodb table names and table_name_format)"
    )]
    InvalidTableName { name: String },
    #[error(
        "DynamoDB table `{table}` exists with key schema {found}, but qsbackup needs {expected}; \
         choose another table name or table_name_format"
    )]
    KeySchemaMismatch {
        table: String,
        expected: String,
        found: String,
    },
    #[error("DynamoDB table `{table}` is not usable (status {status})")]
    TableNotUsable { table: String, status: String },
    #[error("DynamoDB table `{table}` was not ACTIVE after {waited:?} (last status {status})")]
    TableNotReady {
        table: String,
        waited: Duration,
        status: String,
    },
    #[error("{remaining} items stayed unprocessed in `{table}` after {attempts} BatchWriteItem attempts")]
    Unprocessed {
        table: String,
        remaining: usize,
        attempts: u32,
    },
    #[error("{operation} on `{table}` failed: {message}")]
    Api {
        operation: &'static str,
        table: String,
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },
    #[error("could not build a DynamoDB request: {0}")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
}

/// Writes the users, groups and memberships of `snapshot` to the day's
/// tables, with default options.
pub async fn write_identity_tables(
    client: &Client,
    tables: &TableNames,
    snapshot: &IdentitySnapshot,
    snapshot_id: &str,
    date: NaiveDate,
) -> Result<IdentityTablesReport, DynamoDbError> {
    write_identity_tables_with(
        client,
        tables,
        snapshot,
        snapshot_id,
        date,
        &TableWriteOptions::default(),
    )
    .await
}

/// [`write_identity_tables`] with explicit waiting and retry options.
pub async fn write_identity_tables_with(
    client: &Client,
    tables: &TableNames,
    snapshot: &IdentitySnapshot,
    snapshot_id: &str,
    date: NaiveDate,
    options: &TableWriteOptions,
) -> Result<IdentityTablesReport, DynamoDbError> {
    let names = tables.resolve(date)?;
    let stamp = Stamp {
        snapshot_id: snapshot_id.to_string(),
        backup_timestamp: snapshot.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    // `crate::retry` owns these calls' retries; the SDK tries each once.
    let client = &crate::retry::dynamodb_single_attempt(client);
    let writer = Writer { client, options };
    let table = |kind: IdentityTable, name: String| {
        let items = items::table_items(kind, &snapshot.namespaces, &stamp);
        writer.write_table(kind, name, items)
    };
    let (users, groups, memberships) = futures::try_join!(
        table(IdentityTable::Users, names.users),
        table(IdentityTable::Groups, names.groups),
        table(IdentityTable::Memberships, names.memberships),
    )?;
    Ok(IdentityTablesReport {
        users,
        groups,
        memberships,
    })
}

struct Writer<'a> {
    client: &'a Client,
    options: &'a TableWriteOptions,
}

impl Writer<'_> {
    async fn write_table(
        &self,
        kind: IdentityTable,
        table: String,
        items: Vec<Item>,
    ) -> Result<TableReport, DynamoDbError> {
        let created = self.ensure_table(kind, &table).await?;

        // One item per key: a batch with a repeated key is refused whole.
        let by_key: BTreeMap<(String, String), Item> = items
            .into_iter()
            .filter_map(|item| Some((items::item_key(kind, &item)?, item)))
            .collect();
        let keys: HashSet<(String, String)> = by_key.keys().cloned().collect();
        let puts = by_key
            .into_values()
            .map(|item| {
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                    .build())
            })
            .collect::<Result<Vec<_>, DynamoDbError>>()?;
        let items_written = puts.len();
        self.write_all(&table, puts).await?;

        let stale_items_removed = if created {
            0
        } else {
            let stale = self.stale_keys(kind, &table, &keys).await?;
            let deletes = stale
                .into_iter()
                .map(|key| {
                    Ok(WriteRequest::builder()
                        .delete_request(DeleteRequest::builder().set_key(Some(key)).build()?)
                        .build())
                })
                .collect::<Result<Vec<_>, DynamoDbError>>()?;
            let count = deletes.len();
            self.write_all(&table, deletes).await?;
            count
        };

        Ok(TableReport {
            table_name: table,
            created,
            items_written,
            stale_items_removed,
        })
    }

    /// Makes sure `table` exists with the right keys and is `ACTIVE`;
    /// true when this call created it.
    async fn ensure_table(&self, kind: IdentityTable, table: &str) -> Result<bool, DynamoDbError> {
        let described = self
            .call("DescribeTable", table, || {
                self.client.describe_table().table_name(table).send()
            })
            .await;
        let created = match described {
            Ok(out) => {
                if let Some(description) = out.table() {
                    check_key_schema(kind, table, description.key_schema())?;
                }
                false
            }
            Err(err) if err_code(&err) == Some("ResourceNotFoundException") => self.create_table(kind, table).await?,
            Err(err) => return Err(err),
        };
        self.wait_active(table).await?;
        Ok(created)
    }

    /// Creates `table`; false when another run created it first.
    async fn create_table(&self, kind: IdentityTable, table: &str) -> Result<bool, DynamoDbError> {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key_schema = vec![
            key(kind.partition_key(), KeyType::Hash)?,
            key(SORT_KEY, KeyType::Range)?,
        ];
        let attributes = vec![attribute(kind.partition_key())?, attribute(SORT_KEY)?];
        let result = self
            .call("CreateTable", table, || {
                self.client
                    .create_table()
                    .table_name(table)
                    .set_key_schema(Some(key_schema.clone()))
                    .set_attribute_definitions(Some(attributes.clone()))
                    .billing_mode(BillingMode::PayPerRequest)
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err_code(&err) == Some("ResourceInUseException") => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Polls until `table` is `ACTIVE`, at most `table_ready_timeout`.
    async fn wait_active(&self, table: &str) -> Result<(), DynamoDbError> {
        let started = tokio::time::Instant::now();
        loop {
            let described = self
                .call("DescribeTable", table, || {
                    self.client.describe_table().table_name(table).send()
                })
                .await;
            let status = match described {
                Ok(out) => out.table().and_then(|t| t.table_status()).cloned(),
                // A table just created may not be visible yet.
                Err(err) if err_code(&err) == Some("ResourceNotFoundException") => None,
                Err(err) => return Err(err),
            };
            let status_text = status.as_ref().map_or("not visible yet", |s| s.as_str()).to_string();
            match status {
                Some(TableStatus::Active) => return Ok(()),
                None | Some(TableStatus::Creating) | Some(TableStatus::Updating) => {}
                Some(_) => {
                    return Err(DynamoDbError::TableNotUsable {
                        table: table.to_string(),
                        status: status_text,
                    })
                }
            }
            let waited = started.elapsed();
            if waited >= self.options.table_ready_timeout {
                return Err(DynamoDbError::TableNotReady {
                    table: table.to_string(),
                    waited,
                    status: status_text,
                });
            }
            tokio::time::sleep(self.options.table_poll_interval).await;
        }
    }

    /// Sends `requests` in batches of 25, a few batches at a time.
    async fn write_all(&self, table: &str, requests: Vec<WriteRequest>) -> Result<(), DynamoDbError> {
        let batches: Vec<Vec<WriteRequest>> = requests.chunks(BATCH_SIZE).map(<[WriteRequest]>::to_vec).collect();
        stream::iter(batches.into_iter().map(|batch| self.write_batch(table, batch)))
            .buffer_unordered(self.options.batch_concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// One batch, with its unprocessed items sent again after a backoff
    /// until none is left or the attempts run out.
    async fn write_batch(&self, table: &str, mut batch: Vec<WriteRequest>) -> Result<(), DynamoDbError> {
        let policy = &self.options.retry;
        let attempts = policy.max_attempts.max(1);
        // Unprocessed items are an answer, not an error: the same backoff as every retry.
        let mut waits = policy.backoff();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(waits.next().unwrap_or(policy.max_delay)).await;
            }
            let request = HashMap::from([(table.to_string(), batch.clone())]);
            let out = self
                .call("BatchWriteItem", table, || {
                    self.client
                        .batch_write_item()
                        .set_request_items(Some(request.clone()))
                        .send()
                })
                .await?;
            batch = out
                .unprocessed_items()
                .and_then(|unprocessed| unprocessed.get(table))
                .cloned()
                .unwrap_or_default();
            if batch.is_empty() {
                return Ok(());
            }
        }
        Err(DynamoDbError::Unprocessed {
            table: table.to_string(),
            remaining: batch.len(),
            attempts,
        })
    }

    /// Keys in `table` that are not in `keep`: what an earlier run of the
    /// same day wrote and this snapshot no longer has.
    async fn stale_keys(
        &self,
        kind: IdentityTable,
        table: &str,
        keep: &HashSet<(String, String)>,
    ) -> Result<Vec<Item>, DynamoDbError> {
        let names = HashMap::from([
            ("#pk".to_string(), kind.partition_key().to_string()),
            ("#sk".to_string(), SORT_KEY.to_string()),
        ]);
        let mut stale = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .call("Scan", table, || {
                    self.client
                        .scan()
                        .table_name(table)
                        // Consistent, so that no write of this run is missed.
                        .consistent_read(true)
                        .projection_expression("#pk, #sk")
                        .set_expression_attribute_names(Some(names.clone()))
                        .set_exclusive_start_key(start.clone())
                        .send()
                })
                .await?;
            for item in page.items() {
                if let Some(key) = items::item_key(kind, item) {
                    if !keep.contains(&key) {
                        stale.push(HashMap::from([
                            (kind.partition_key().to_string(), AttributeValue::S(key.0)),
                            (SORT_KEY.to_string(), AttributeValue::S(key.1)),
                        ]));
                    }
                }
            }
            start = page.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            if start.is_none() {
                return Ok(stale);
            }
        }
    }

    /// One DynamoDB call with throttling and other transient failures
    /// retried.
    async fn call<T, E, F, Fut>(&self, operation: &'static str, table: &str, mut op: F) -> Result<T, DynamoDbError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.options
            .retry
            // Boxed: SDK send futures are large and would otherwise sit
            // inline in the joins of all three tables.
            .run(operation, || Box::pin(op()), crate::retry::transient)
            .await
            .map_err(|err| DynamoDbError::Api {
                operation,
                table: table.to_string(),
                code: retry::error_code(&err).map(str::to_string),
                message: retry::describe(&err),
                source: Box::new(err),
            })
    }
}

fn err_code(err: &DynamoDbError) -> Option<&str> {
    match err {
        DynamoDbError::Api { code, .. } => code.as_deref(),
        _ => None,
    }
}

fn check_key_schema(kind: IdentityTable, table: &str, found: &[KeySchemaElement]) -> Result<(), DynamoDbError> {
    let describe = |keys: &[(&str, &str)]| {
        keys.iter()
            .map(|(name, key_type)| format!("{name} {key_type}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let expected = [(kind.partition_key(), "HASH"), (SORT_KEY, "RANGE")];
    let mut found: Vec<(&str, &str)> = found
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    found.sort_by_key(|(_, key_type)| *key_type != "HASH");
    if found == expected {
        Ok(())
    } else {
        Err(DynamoDbError::KeySchemaMismatch {
            table: table.to_string(),
            expected: describe(&expected),
            found: describe(&found),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_schema_must_match() {
        let element = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("complete")
        };
        let good = [
            element("namespace", KeyType::Range),
            element("user_name", KeyType::Hash),
        ];
        assert!(check_key_schema(IdentityTable::Users, "t", &good).is_ok());
        let seed = [element("user_name", KeyType::Hash)];
        let err = check_key_schema(IdentityTable::Users, "t", &seed).expect_err("mismatch");
        assert!(err.to_string().contains("user_name HASH, namespace RANGE"), "{err}");
    }
}
