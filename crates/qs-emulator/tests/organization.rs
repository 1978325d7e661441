//! Several populated accounts in several regions in one emulator, as an organization backup
//! sees them through the official SDK: each (account, region) with its own assets and ARNs,
//! an account sized empty, and an account whose role has no QuickSight permissions.

mod sdk_client;
use aws_sdk_quicksight::error::ProvideErrorMetadata;
use aws_sdk_quicksight::Client;
use qs_emulator::{EmulatorOptions, FaultPlan, Profile};
use sdk_client::client;
use std::collections::BTreeSet;

const A: &str = "111111111111";
const B: &str = "222222222222";
const EMPTY: &str = "333333333333";
const DENIED: &str = "444444444444";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// (id, ARN, last updated) of every dashboard of `account` in `region`.
async fn dashboards(qs: &Client, account: &str) -> Vec<(String, String, i64)> {
    let list = qs
        .list_dashboards()
        .aws_account_id(account)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list dashboards");
    list.into_iter()
        .map(|d| {
            (
                d.dashboard_id().unwrap_or_default().to_string(),
                d.arn().unwrap_or_default().to_string(),
                d.last_updated_time().map_or(0, |t| t.secs()),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_account_is_populated_in_every_region_with_its_own_seed_and_a_denied_account_is_denied() {
    let emu = qs_emulator::start(EmulatorOptions {
        profiles: vec![Profile::Small, Profile::Small, Profile::Empty, Profile::Small],
        accounts: vec![A.into(), B.into(), EMPTY.into(), DENIED.into()],
        region: REGIONS[0].into(),
        regions: REGIONS.map(String::from).to_vec(),
        faults: FaultPlan {
            deny_accounts: BTreeSet::from([DENIED.to_string()]),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("emulator");
    let endpoint = emu.endpoint();

    let mut seen = Vec::new();
    for account in [A, B] {
        for region in REGIONS {
            let found = dashboards(&client(&endpoint, region), account).await;
            assert!(!found.is_empty(), "{account} has dashboards in {region}");
            for (_, arn, _) in &found {
                assert!(
                    arn.starts_with(&format!("arn:aws:quicksight:{region}:{account}:dashboard/")),
                    "{arn} is {account}'s in {region}"
                );
            }
            seen.push(found.iter().map(|(id, _, t)| (id.clone(), *t)).collect::<Vec<_>>());
        }
    }
    // Four (account, region) pairs, four seeds: no two hold the same dashboards.
    for i in 0..seen.len() {
        for j in i + 1..seen.len() {
            assert_ne!(seen[i], seen[j], "pairs {i} and {j} were generated alike");
        }
    }
    for region in REGIONS {
        assert!(dashboards(&client(&endpoint, region), EMPTY).await.is_empty());
        // A region no one populated: the account exists there, empty.
    }
    assert!(dashboards(&client(&endpoint, "ap-southeast-2"), A).await.is_empty());

    let denied = client(&endpoint, REGIONS[1])
        .list_dashboards()
        .aws_account_id(DENIED)
        .send()
        .await
        .expect_err("the account denies QuickSight");
    assert_eq!(denied.code(), Some("AccessDeniedException"), "{denied:?}");

    // The admin API acts in the region it is given.
    let (id, _, _) = dashboards(&client(&endpoint, REGIONS[1]), A).await.remove(0);
    let http = reqwest::Client::new();
    let resp = http
        .delete(format!(
            "{endpoint}/_emulator/accounts/{A}/assets/dashboard/{id}?region={}",
            REGIONS[1]
        ))
        .send()
        .await
        .expect("admin delete");
    assert!(resp.status().is_success(), "{}", resp.status());
    let left = dashboards(&client(&endpoint, REGIONS[1]), A).await;
    assert!(left.iter().all(|(d, _, _)| *d != id), "deleted in {}", REGIONS[1]);
    let home = dashboards(&client(&endpoint, REGIONS[0]), A).await;
    assert_eq!(home.len(), seen[0].len(), "{} is untouched", REGIONS[0]);
}
