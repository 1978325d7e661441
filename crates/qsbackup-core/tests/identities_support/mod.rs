//! Shared helpers of the identity tests: an emulated QuickSight, SDK clients
//! with explicit endpoints and test credentials, and the emulator's admin API.

#![allow(dead_code)]

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_quicksight::config::retry::RetryConfig;
use aws_sdk_quicksight::config::{BehaviorVersion, Region};
use qs_emulator::{EmulatorHandle, EmulatorOptions, Profile};
use qsbackup_core::identities::{IdentityLimits, RetryPolicy};

pub const ACCOUNT: &str = "123456789012";
pub const IDENTITY_REGION: &str = "us-east-1";

pub async fn emulator(profile: Profile) -> EmulatorHandle {
    qs_emulator::start(EmulatorOptions {
        profile,
        seed: 4,
        accounts: vec![ACCOUNT.to_string()],
        region: IDENTITY_REGION.to_string(),
        identity_region: IDENTITY_REGION.to_string(),
        ..Default::default()
    })
    .await
    .expect("the emulator starts")
}

fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "qsbackup-tests")
}

/// A QuickSight client for `endpoint` in `region`; `sdk_retries: false`
/// leaves every retry to qsbackup's own policy.
pub fn quicksight(endpoint: &str, region: &str, sdk_retries: bool) -> aws_sdk_quicksight::Client {
    let retry = if sdk_retries {
        RetryConfig::standard()
    } else {
        RetryConfig::disabled()
    };
    let config = aws_sdk_quicksight::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials())
        .retry_config(retry)
        .build();
    aws_sdk_quicksight::Client::from_conf(config)
}

/// The moto server the test script started; a test needing it fails
/// loudly rather than passing without it.
pub fn moto_endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run the tests through scripts/test, or start \
             `moto_server -H 127.0.0.1 -p PORT` and export MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

pub fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new(IDENTITY_REGION))
        .credentials_provider(credentials())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Quick retries, so throttling tests do not sleep for long.
pub fn fast_limits(max_attempts: u32) -> IdentityLimits {
    IdentityLimits {
        retry: RetryPolicy {
            max_attempts,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::fast()
        },
        ..IdentityLimits::default()
    }
}

/// Replaces the emulator's fault plan.
pub async fn set_faults(emu: &EmulatorHandle, plan: serde_json::Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", emu.endpoint()))
        .header("content-type", "application/json")
        .body(plan.to_string())
        .send()
        .await
        .expect("the admin API answers");
    assert!(
        response.status().is_success(),
        "fault plan refused: {}",
        response.text().await.unwrap_or_default()
    );
}

/// The emulator's call statistics for the test account.
pub async fn stats(emu: &EmulatorHandle) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{}/_emulator/stats?account={ACCOUNT}", emu.endpoint()))
        .send()
        .await
        .expect("the admin API answers")
        .bytes()
        .await
        .map(|body| serde_json::from_slice(&body).expect("stats are JSON"))
        .expect("stats are readable")
}

/// Users, groups and memberships of every namespace, counted straight from
/// the QuickSight API with the SDK's paginators (independently of the code
/// under test).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApiCounts {
    pub namespaces: Vec<String>,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

pub async fn api_counts(client: &aws_sdk_quicksight::Client) -> ApiCounts {
    let mut counts = ApiCounts::default();
    let namespaces: Vec<_> = client
        .list_namespaces()
        .aws_account_id(ACCOUNT)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListNamespaces");
    for ns in namespaces {
        let ns = ns.name().expect("namespace name").to_string();
        let users: Vec<_> = client
            .list_users()
            .aws_account_id(ACCOUNT)
            .namespace(&ns)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("ListUsers");
        counts.users += users.len();
        let groups: Vec<_> = client
            .list_groups()
            .aws_account_id(ACCOUNT)
            .namespace(&ns)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("ListGroups");
        counts.groups += groups.len();
        for group in groups {
            let members: Vec<_> = client
                .list_group_memberships()
                .aws_account_id(ACCOUNT)
                .namespace(&ns)
                .group_name(group.group_name().expect("group name"))
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .expect("ListGroupMemberships");
            counts.memberships += members.len();
        }
        counts.namespaces.push(ns);
    }
    counts.namespaces.sort();
    counts
}
