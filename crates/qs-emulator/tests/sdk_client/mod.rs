//! The official SDK's client for an emulator: test credentials, the region given, and no
//! retries, so each test sees every answer as the service gave it.

use aws_sdk_quicksight::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_quicksight::Client;

pub fn client(endpoint: &str, region: &str) -> Client {
    let conf = aws_sdk_quicksight::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_quicksight::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}
