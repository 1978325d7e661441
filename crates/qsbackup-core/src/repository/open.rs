//! Opening a repository from its URL. S3 takes its credentials from `aws-config` (so profiles,
//! SSO, web identity and instance roles work as for every other AWS call) and its endpoint from
//! `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, with path-style addressing and plain HTTP allowed
//! when the endpoint is `http://` (a local S3 such as moto).

use super::Repository;
use crate::error::{Error, Result};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::{AmazonS3Builder, AwsCredential, S3CopyIfNotExists};
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientOptions, CredentialProvider, ObjectStore, RetryConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use url::Url;

/// How to reach an `s3://` repository; everything defaults to the standard AWS environment.
#[derive(Debug, Clone, Default)]
pub struct RepositoryOptions {
    /// S3 endpoint; `None` reads `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`.
    pub s3_endpoint: Option<String>,
    /// AWS configuration for credentials and region; `None` loads the standard chain.
    pub aws: Option<SdkConfig>,
}

const CLOUD_PART_SIZE: usize = 5 * 1024 * 1024;

/// S3 time limits: connecting, one request (a 5 MiB part included), and all retries of one.
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const S3_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const S3_RETRY_BUDGET: Duration = Duration::from_secs(25);

#[derive(Debug)]
enum Target {
    Local(std::path::PathBuf),
    Memory(String),
    S3 { bucket: String, prefix: String },
    Gcs { bucket: String, prefix: String },
    Azure { container: String, prefix: String },
}

fn parse(url: &str) -> std::result::Result<Target, String> {
    if url.trim().is_empty() {
        return Err("the repository URL is empty".into());
    }
    let Some((scheme, _)) = url.split_once("://") else {
        return Ok(Target::Local(url.into()));
    };
    let parsed = Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let prefix = parsed.path().trim_matches('/').to_string();
    if matches!(scheme, "s3" | "gs" | "az" | "azure") {
        check_bucket_and_prefix(scheme, url)?;
    }
    let need_host = |what: &str| -> std::result::Result<String, String> {
        if host.is_empty() {
            Err(format!("{scheme}:// needs a {what}, e.g. {scheme}://my-{what}/prefix"))
        } else {
            Ok(host.clone())
        }
    };
    match scheme {
        "file" => parsed
            .to_file_path()
            .map(Target::Local)
            .map_err(|_| "file:// needs an absolute path, e.g. file:///var/backups/qs".into()),
        "memory" => Ok(Target::Memory(url.to_string())),
        "s3" => Ok(Target::S3 {
            bucket: need_host("bucket")?,
            prefix,
        }),
        "gs" => Ok(Target::Gcs {
            bucket: need_host("bucket")?,
            prefix,
        }),
        "az" | "azure" => Ok(Target::Azure {
            container: need_host("container")?,
            prefix,
        }),
        other => Err(format!(
            "unsupported scheme `{other}://`; accepted: a path, file://, s3://, gs://, az://, memory://"
        )),
    }
}

/// The bucket and prefix of a cloud URL as typed: the URL parser resolves `..` and `.` and
/// percent-encodes, so checking what it returns would pass a prefix that lands elsewhere.
fn check_bucket_and_prefix(scheme: &str, url: &str) -> std::result::Result<(), String> {
    let rest = url.split_once("://").map_or("", |(_, r)| r);
    if rest.contains(['?', '#']) {
        return Err(format!(
            "{scheme}:// URLs take no `?` query or `#` fragment (they are not part of the key prefix)"
        ));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if scheme == "s3" && !bucket.is_empty() {
        super::names::check_s3_bucket(bucket).map_err(|m| format!("bucket {m}"))?;
    }
    super::names::check_prefix(prefix).map_err(|m| format!("prefix {m}"))
}

/// Checks a repository URL without opening it (config validation).
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    parse(url).map(|_| ())
}

/// In-process `memory://` stores, shared by name so a test can reopen what it wrote.
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    let mut stores = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    stores
        .entry(name.to_string())
        .or_insert_with(|| Arc::new(InMemory::new()))
        .clone()
}

fn with_prefix(store: Arc<dyn ObjectStore>, prefix: &str) -> Arc<dyn ObjectStore> {
    if prefix.is_empty() {
        store
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    }
}

impl Repository {
    /// Opens the existing repository at `url` (see the module docs for the accepted forms).
    /// A local directory that does not exist is [`Error::RepositoryNotFound`]: commands that only
    /// read or maintain a repository must not create one on a mistyped path or an unmounted disk.
    pub async fn open(url: &str, options: &RepositoryOptions) -> Result<Repository> {
        Self::open_with(url, options, false).await.map(|(repo, _)| repo)
    }

    /// Opens the repository at `url`, creating a local directory when it is missing (what a
    /// backup does). The flag says whether it was created, so the caller can say so.
    pub async fn create_or_open(url: &str, options: &RepositoryOptions) -> Result<(Repository, bool)> {
        Self::open_with(url, options, true).await
    }

    async fn open_with(url: &str, options: &RepositoryOptions, create: bool) -> Result<(Repository, bool)> {
        let bad = |message: String| Error::RepositoryUrl {
            url: url.to_string(),
            message,
        };
        let target = parse(url).map_err(bad)?;
        let store_err = |e: object_store::Error| bad(e.to_string());
        let mut created = false;
        let (store, part_size): (Arc<dyn ObjectStore>, usize) = match target {
            Target::Local(dir) => {
                match std::fs::metadata(&dir) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                        created = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(Error::RepositoryNotFound {
                            location: dir.display().to_string(),
                            message: "the directory does not exist (check the path and that the disk is \
                                      mounted; only `qsbackup backup` creates a repository)"
                                .into(),
                        })
                    }
                    Err(e) => return Err(Error::io(&dir, e)),
                }
                let fs = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(store_err)?
                    .with_automatic_cleanup(true);
                (Arc::new(fs), 1024 * 1024)
            }
            Target::Memory(name) => (memory_store(&name), 1024 * 1024),
            Target::S3 { bucket, prefix } => {
                let store = s3_store(&bucket, options).await.map_err(bad)?;
                (with_prefix(store, &prefix), CLOUD_PART_SIZE)
            }
            Target::Gcs { bucket, prefix } => {
                let gcs = GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(store_err)?;
                (with_prefix(Arc::new(gcs), &prefix), CLOUD_PART_SIZE)
            }
            Target::Azure { container, prefix } => {
                let az = MicrosoftAzureBuilder::from_env()
                    .with_container_name(container)
                    .build()
                    .map_err(store_err)?;
                (with_prefix(Arc::new(az), &prefix), CLOUD_PART_SIZE)
            }
        };
        Ok((
            Repository {
                store,
                location: url.to_string(),
                part_size,
            },
            created,
        ))
    }
}

/// The S3 endpoint from options or the standard environment variables.
fn s3_endpoint(options: &RepositoryOptions) -> Option<String> {
    if let Some(e) = &options.s3_endpoint {
        return Some(e.clone());
    }
    let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignore {
        return None;
    }
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

async fn s3_store(bucket: &str, options: &RepositoryOptions) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    let sdk = match &options.aws {
        Some(sdk) => sdk.clone(),
        None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    };
    let credentials = sdk.credentials_provider().ok_or_else(|| {
        "no AWS credentials provider is configured (set AWS_PROFILE, use SSO, or an IAM role)".to_string()
    })?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_credentials(Arc::new(SdkCredentials::new(credentials)))
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        // Fail fast on an endpoint that refuses or never answers; throttling (503) still gets
        // ten retries within the budget.
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(S3_CONNECT_TIMEOUT)
                .with_timeout(S3_REQUEST_TIMEOUT),
        )
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 10,
            retry_timeout: S3_RETRY_BUDGET,
        });
    if let Some(endpoint) = s3_endpoint(options) {
        let http = endpoint.starts_with("http://");
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(http)
            .with_virtual_hosted_style_request(false);
    }
    let store = builder.build().map_err(|e| e.to_string())?;
    Ok(Arc::new(store))
}

/// Feeds `object_store` from the `aws-config` credential chain, caching until near expiry
/// (the chain itself may read files or call IMDS on every request otherwise).
#[derive(Debug)]
struct SdkCredentials {
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl SdkCredentials {
    fn new(provider: SharedCredentialsProvider) -> Self {
        SdkCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|t| {
                t.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > Duration::from_secs(300))
            });
            if fresh {
                return Ok(credential.clone());
            }
        }
        let c = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        let credential = Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        });
        *cached = Some((credential.clone(), c.expiry()));
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified() {
        assert!(matches!(parse("./repo"), Ok(Target::Local(_))));
        assert!(matches!(parse("file:///tmp/x"), Ok(Target::Local(_))));
        assert!(matches!(parse("memory://t"), Ok(Target::Memory(_))));
        match parse("s3://bucket/a/b/") {
            Ok(Target::S3 { bucket, prefix }) => {
                assert_eq!(bucket, "bucket");
                assert_eq!(prefix, "a/b");
            }
            _ => panic!("s3 not parsed"),
        }
        assert!(parse("s3:///nobucket").is_err());
        assert!(parse("ftp://x").unwrap_err().contains("unsupported scheme"));
        assert!(parse("").is_err());
    }

    /// `Url` would resolve these to another prefix than the one typed; opening refuses them
    /// whether or not a config check ran first.
    #[tokio::test]
    async fn opening_refuses_urls_whose_data_would_land_elsewhere() {
        for url in [
            "s3://my-bucket/../../x",
            "s3://my-bucket/a/%2e%2e/b",
            "s3://My_Bucket!/x",
            "gs://bucket/a//b",
            "az://container/./x",
        ] {
            let err = Repository::open(url, &RepositoryOptions::default())
                .await
                .err()
                .unwrap_or_else(|| panic!("{url} opened"));
            assert!(matches!(err, Error::RepositoryUrl { .. }), "{url}: {err}");
        }
    }
}
