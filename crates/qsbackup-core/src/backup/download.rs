//! Storing a finished export: the bundle is streamed from its `DownloadUrl` straight into the
//! repository (size and SHA-256 computed as bytes pass). An expired URL (403) is renewed by
//! describing the job again; a dropped or short download is retried, a bounded number of times
//! ([`crate::retry`], with the download policy the exporter passes in).
//! The URL is a bearer secret: it never appears in an error, event or log.
//! The stored object is then read back to record its member inventory ([`members`]).

mod members;

use crate::asset::AssetType;
use crate::aws::AwsContext;
use crate::config::ExportFormat;
use crate::error::Error;
use crate::events::{Event, ProgressSink};
use crate::repository::manifest::{BundleRecord, FailReason};
use crate::repository::{ObjectRef, Repository, StreamPutError};
use crate::retry::{Retry, RetryPolicy};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

pub use members::read_members;

/// Passes the body through and fails at the end if fewer bytes came than announced, so a
/// truncated download is never published.
fn checked_body(response: reqwest::Response) -> impl Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static {
    let expected = response.content_length();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let body = response
        .bytes_stream()
        .map_ok(move |b| {
            counter.fetch_add(b.len() as u64, Ordering::Relaxed);
            b
        })
        .map_err(|e| std::io::Error::other(e.without_url()));
    let tail = futures::stream::once(async move {
        let got = seen.load(Ordering::Relaxed);
        match expected {
            Some(n) if n != got => Some(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("download ended after {got} of {n} bytes"),
            ))),
            _ => None,
        }
    })
    .filter_map(futures::future::ready);
    Box::pin(body.chain(tail))
}

/// A download that stored the bundle.
enum Got {
    Stored(ObjectRef),
    /// The key already holds an object (a retried invocation stored it); the download
    /// announced this many bytes.
    Exists(Option<u64>),
}

/// A download that did not.
enum Failed {
    /// Worth another try (see [`Failed::transient`]); the URL is renewed first.
    Retry(String),
    Fatal(FailReason, Error),
}

impl Failed {
    /// Dropped or short downloads, expired URLs and error answers are retried; a store that
    /// refuses the object or a job that describes no URL is not.
    fn transient(&self) -> Option<String> {
        match self {
            Failed::Retry(problem) => Some(problem.clone()),
            Failed::Fatal(..) => None,
        }
    }
}

/// What storing a finished export needs: the repository, an HTTP client for the download,
/// QuickSight to renew an expired URL, and how often to try.
pub(crate) struct Downloader<'a> {
    pub(crate) aws: &'a AwsContext,
    pub(crate) repository: &'a Repository,
    pub(crate) http: &'a reqwest::Client,
    pub(crate) format: ExportFormat,
    pub(crate) policy: RetryPolicy,
    pub(crate) sink: &'a dyn ProgressSink,
}

impl Downloader<'_> {
    async fn download_once(&self, key: &str, url: &str, adopt_existing: bool) -> Result<Got, Failed> {
        let response = match self.http.get(url).send().await {
            Ok(r) => r,
            Err(e) => return Err(Failed::Retry(e.without_url().to_string())),
        };
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN {
            return Err(Failed::Retry("the download URL has expired (403)".into()));
        }
        if !status.is_success() {
            return Err(Failed::Retry(format!("the download answered HTTP {status}")));
        }
        let announced = response.content_length();
        match self.repository.put_stream_create(key, checked_body(response)).await {
            Ok(object) => Ok(Got::Stored(object)),
            Err(StreamPutError::Source(e)) => Err(Failed::Retry(format!("the download broke off: {e}"))),
            Err(StreamPutError::Store(Error::AlreadyExists { .. })) if adopt_existing => Ok(Got::Exists(announced)),
            Err(StreamPutError::Store(e)) => Err(Failed::Fatal(FailReason::StoreFailed, e)),
        }
    }

    async fn fresh_url(&self, job_id: &str) -> Result<String, Error> {
        let out = self.aws.describe_export_job(job_id).await?;
        out.download_url().map(str::to_string).ok_or_else(|| Error::Download {
            job_id: job_id.to_string(),
            message: "the job describes no DownloadUrl".into(),
        })
    }

    /// The object an earlier attempt at this very job left at `key`, taken as the bundle only
    /// when it is a zip bundle of the size the download announces (its members are then read
    /// from it, which fails for anything but a readable zip).
    async fn existing_bundle(&self, key: &str, announced: Option<u64>) -> Result<ObjectRef, (FailReason, Error)> {
        let refuse = |message: String| {
            (
                FailReason::StoreFailed,
                Error::Bundle {
                    key: key.to_string(),
                    message,
                },
            )
        };
        if self.format != ExportFormat::QuickSightJson {
            return Err(refuse("the key is already taken".into()));
        }
        let mut stream = self
            .repository
            .get_stream(key)
            .await
            .map_err(|e| (FailReason::StoreFailed, e))?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| (FailReason::StoreFailed, e))?;
            sha2::Digest::update(&mut hasher, &chunk);
            size += chunk.len() as u64;
        }
        if announced != Some(size) {
            return Err(refuse(format!(
                "the key already holds {size} bytes, but the export job's download is {}",
                announced.map_or("of unknown size".to_string(), |n| format!("{n} bytes"))
            )));
        }
        Ok(ObjectRef {
            key: key.to_string(),
            size,
            sha256: hex::encode(sha2::Digest::finalize(hasher)),
        })
    }

    /// Downloads the bundle of finished job `job_id` into `key`, then records its members.
    /// With `adopt_existing`, an object already at `key` (stored by an earlier attempt at this
    /// job) is taken as the bundle instead of failing.
    pub(crate) async fn store(
        &self,
        job_id: &str,
        key: &str,
        first_url: Option<String>,
        asset_type: AssetType,
        requested_arns: &[String],
        adopt_existing: bool,
    ) -> Result<BundleRecord, (FailReason, Error)> {
        // The first attempt uses the URL the job reported; every retry describes the job again
        // for a fresh one, since an expired URL looks like any other failed download.
        let url = &std::sync::Mutex::new(first_url);
        let attempts = &AtomicU32::new(0);
        let downloaded = Retry::new(&self.policy, format!("download of export job {job_id}"))
            .events(self.sink)
            .run(
                move || async move {
                    attempts.fetch_add(1, Ordering::Relaxed);
                    let first = url.lock().map(|mut u| u.take()).unwrap_or(None);
                    let current = match first {
                        Some(u) => u,
                        None => self
                            .fresh_url(job_id)
                            .await
                            .map_err(|e| Failed::Fatal(FailReason::DownloadFailed, e))?,
                    };
                    self.download_once(key, &current, adopt_existing).await
                },
                Failed::transient,
            )
            .await;
        let object = match downloaded {
            Ok(Got::Stored(object)) => object,
            Ok(Got::Exists(announced)) => self.existing_bundle(key, announced).await?,
            Err(Failed::Fatal(reason, e)) => return Err((reason, e)),
            Err(Failed::Retry(last_problem)) => {
                return Err((
                    FailReason::DownloadFailed,
                    Error::Download {
                        job_id: job_id.to_string(),
                        message: format!(
                            "gave up after {} attempts: {last_problem}",
                            attempts.load(Ordering::Relaxed)
                        ),
                    },
                ))
            }
        };
        self.sink.event(&Event::BytesStored { bytes: object.size });
        let members = match self.format {
            ExportFormat::QuickSightJson => read_members(self.repository, &object)
                .await
                .map_err(|e| (FailReason::StoreFailed, e))?,
            // A CloudFormation template is one JSON document, not a zip of members.
            ExportFormat::CloudFormationJson => Vec::new(),
        };
        Ok(BundleRecord {
            key: object.key,
            size: object.size,
            sha256: object.sha256,
            export_job_id: job_id.to_string(),
            asset_type,
            requested_arns: requested_arns.to_vec(),
            members,
        })
    }
}
