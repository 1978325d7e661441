//! Identity snapshot and DynamoDB identity tables against the emulated
//! `medium` account (several namespaces, hundreds of users of every identity
//! type, inactive users, a group without members) and a moto DynamoDB.

mod identities_support;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use chrono::NaiveDate;
use identities_support::*;
use qs_emulator::Profile;
use qsbackup_core::dynamodb::{self, TableNames};
use qsbackup_core::identities::{self, IdentityError, IdentityLimits, IdentitySnapshot};

/// Base names unique to one test run, so tests sharing a moto server never
/// see each other's tables.
fn table_names(test: &str) -> TableNames {
    let unique = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_micros());
    TableNames {
        users_table_name: format!("qsb-{test}-{unique}-users"),
        groups_table_name: format!("qsb-{test}-{unique}-groups"),
        users_group_table_name: format!("qsb-{test}-{unique}-members"),
        ..TableNames::default()
    }
}

async fn count_items(client: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .select(Select::Count)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        count += page.count() as usize;
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return count;
        }
    }
}

async fn get_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: (&str, &str),
    namespace: &str,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .key(key.0, AttributeValue::S(key.1.to_string()))
        .key("namespace", AttributeValue::S(namespace.to_string()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item()
        .cloned()
        .unwrap_or_else(|| panic!("no item {key:?} in {namespace} of {table}"))
}

fn same_content(a: &IdentitySnapshot, b: &IdentitySnapshot) -> bool {
    let mut b = b.clone();
    b.taken_at = a.taken_at;
    *a == b
}

#[tokio::test]
async fn medium_account_fills_the_dated_tables_and_a_rerun_rewrites_them() {
    let moto = moto_endpoint();
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    let snapshot = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("identity snapshot");

    // The snapshot holds what the QuickSight API lists, namespace by namespace.
    let expected = api_counts(&qs).await;
    let names: Vec<_> = snapshot.namespaces.iter().map(|ns| ns.name.clone()).collect();
    assert_eq!(names, expected.namespaces);
    assert!(names.len() > 1, "medium has several namespaces: {names:?}");
    assert!(snapshot.namespaces_listed);
    assert_eq!(snapshot.user_count(), expected.users);
    assert_eq!(snapshot.group_count(), expected.groups);
    assert_eq!(snapshot.membership_count(), expected.memberships);
    assert!(expected.users >= 200, "medium has hundreds of users: {expected:?}");
    assert_eq!(snapshot.identity_region, IDENTITY_REGION);
    assert!(snapshot.notes.is_empty(), "{:?}", snapshot.notes);

    let users = || {
        snapshot
            .namespaces
            .iter()
            .flat_map(|ns| ns.users.iter().map(move |u| (ns, u)))
    };
    let mut identity_types: Vec<_> = users().filter_map(|(_, u)| u.identity_type.clone()).collect();
    identity_types.sort();
    identity_types.dedup();
    assert!(identity_types.len() >= 2, "several identity types: {identity_types:?}");
    let (inactive_ns, inactive) = users().find(|(_, u)| !u.active).expect("medium has inactive users");
    let (empty_ns, empty_group) = snapshot
        .namespaces
        .iter()
        .flat_map(|ns| ns.groups.iter().map(move |g| (ns, g)))
        .find(|(_, g)| g.members.is_empty())
        .expect("medium has a group without members");

    // First run of the day: tables created with the date as suffix.
    let ddb = dynamodb(&moto);
    let tables = table_names("full");
    let date = NaiveDate::from_ymd_opt(2025, 10, 19).expect("a date");
    let report = dynamodb::write_identity_tables(&ddb, &tables, &snapshot, "snap-1", date)
        .await
        .expect("tables written");
    assert_eq!(
        report.users.table_name,
        format!("{}-2025-10-19", tables.users_table_name)
    );
    assert_eq!(
        report.groups.table_name,
        format!("{}-2025-10-19", tables.groups_table_name)
    );
    assert_eq!(
        report.memberships.table_name,
        format!("{}-2025-10-19", tables.users_group_table_name)
    );
    assert!(report.users.created && report.groups.created && report.memberships.created);
    assert_eq!(report.users.items_written, expected.users);
    assert_eq!(report.groups.items_written, expected.groups);
    assert_eq!(report.memberships.items_written, expected.memberships);
    assert_eq!(count_items(&ddb, &report.users.table_name).await, expected.users);
    assert_eq!(count_items(&ddb, &report.groups.table_name).await, expected.groups);
    assert_eq!(
        count_items(&ddb, &report.memberships.table_name).await,
        expected.memberships
    );

    // The group without members has no `members` attribute; inactive users
    // are stored as inactive.
    let group_item = get_item(
        &ddb,
        &report.groups.table_name,
        ("group_name", &empty_group.group_name),
        &empty_ns.name,
    )
    .await;
    assert!(!group_item.contains_key("members"), "{group_item:?}");
    assert_eq!(group_item["snapshot_id"], AttributeValue::S("snap-1".into()));
    let user_item = get_item(
        &ddb,
        &report.users.table_name,
        ("user_name", &inactive.user_name),
        &inactive_ns.name,
    )
    .await;
    assert_eq!(user_item["active"], AttributeValue::Bool(false));
    assert!(user_item.contains_key("backup_timestamp"));
    for value in user_item.values().chain(group_item.values()) {
        assert_ne!(value, &AttributeValue::S(String::new()), "empty string stored");
    }

    // Second run the same day: same tables, same counts, no error.
    let again = dynamodb::write_identity_tables(&ddb, &tables, &snapshot, "snap-2", date)
        .await
        .expect("second run the same day");
    assert!(!again.users.created && !again.groups.created && !again.memberships.created);
    assert_eq!(again.users.table_name, report.users.table_name);
    assert_eq!(again.users.stale_items_removed, 0);
    assert_eq!(count_items(&ddb, &again.users.table_name).await, expected.users);
    assert_eq!(count_items(&ddb, &again.groups.table_name).await, expected.groups);
    assert_eq!(
        count_items(&ddb, &again.memberships.table_name).await,
        expected.memberships
    );
    let rewritten = get_item(
        &ddb,
        &again.groups.table_name,
        ("group_name", &empty_group.group_name),
        &empty_ns.name,
    )
    .await;
    assert_eq!(rewritten["snapshot_id"], AttributeValue::S("snap-2".into()));

    // A user deleted between two runs of the day leaves the table too.
    let mut smaller = snapshot.clone();
    let ns = smaller
        .namespaces
        .iter_mut()
        .find(|ns| !ns.users.is_empty())
        .expect("a namespace with users");
    ns.users.pop();
    let third = dynamodb::write_identity_tables(&ddb, &tables, &smaller, "snap-3", date)
        .await
        .expect("third run");
    assert_eq!(third.users.stale_items_removed, 1);
    assert_eq!(count_items(&ddb, &third.users.table_name).await, expected.users - 1);
}

#[tokio::test]
async fn identical_accounts_give_identical_bytes() {
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    let first = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("first");
    // Small pages and little concurrency: other call orders, same bytes.
    let small_pages = IdentityLimits {
        page_size: 7,
        concurrency: 2,
        ..IdentityLimits::default()
    };
    let mut second = identities::snapshot(&qs, ACCOUNT, &small_pages).await.expect("second");
    second.taken_at = first.taken_at;
    let bytes = |s: &IdentitySnapshot| serde_json::to_vec(s).expect("serializable");
    assert_eq!(bytes(&first), bytes(&second));
    let back: IdentitySnapshot = serde_json::from_slice(&bytes(&first)).expect("readable");
    assert_eq!(back, first);
}

#[tokio::test]
async fn wrong_identity_region_tells_which_region_to_set() {
    let emu = emulator(Profile::Small).await;
    let qs = quicksight(&emu.endpoint(), "eu-west-1", true);
    let err = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect_err("identity APIs refuse another region");
    match &err {
        IdentityError::WrongIdentityRegion {
            identity_region,
            called_region,
            ..
        } => {
            assert_eq!(identity_region, IDENTITY_REGION);
            assert_eq!(called_region, "eu-west-1");
        }
        other => panic!("expected WrongIdentityRegion, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("aws.identity_region"), "{message}");
    assert!(message.contains(IDENTITY_REGION), "{message}");
}

#[tokio::test]
async fn throttled_group_memberships_still_give_a_complete_snapshot() {
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    let baseline = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("baseline");

    set_faults(
        &emu,
        serde_json::json!({"seed": 7, "throttle": {"ListGroupMemberships": 0.3}}),
    )
    .await;
    // SDK retries off: qsbackup's own backoff has to carry the snapshot.
    let bare = quicksight(&emu.endpoint(), IDENTITY_REGION, false);
    let throttled = identities::snapshot(&bare, ACCOUNT, &fast_limits(15))
        .await
        .expect("snapshot despite throttling");
    assert!(same_content(&baseline, &throttled), "throttling lost identities");

    let stats = stats(&emu).await;
    let throttled_calls = stats["throttled"]["ListGroupMemberships"].as_u64().unwrap_or(0);
    assert!(throttled_calls > 0, "no throttling happened: {stats}");

    // The same through a client with the SDK's standard retries. qsbackup's policy owns these
    // calls (the SDK tries each once), so its cap is the total number of attempts.
    let with_sdk = identities::snapshot(&qs, ACCOUNT, &fast_limits(12))
        .await
        .expect("snapshot despite throttling");
    assert!(same_content(&baseline, &with_sdk));
}

#[tokio::test]
async fn denied_list_namespaces_falls_back_to_default_with_a_note() {
    let emu = emulator(Profile::Medium).await;
    let qs = quicksight(&emu.endpoint(), IDENTITY_REGION, true);
    let full = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("full snapshot");

    set_faults(&emu, serde_json::json!({"deny": ["ListNamespaces"]})).await;
    let fallback = identities::snapshot(&qs, ACCOUNT, &IdentityLimits::default())
        .await
        .expect("the default namespace is still backed up");
    assert!(!fallback.namespaces_listed);
    let names: Vec<_> = fallback.namespaces.iter().map(|ns| ns.name.as_str()).collect();
    assert_eq!(names, ["default"]);
    assert_eq!(fallback.notes.len(), 1, "{:?}", fallback.notes);
    assert!(fallback.notes[0].contains("ListNamespaces"), "{:?}", fallback.notes);
    assert!(fallback.notes[0].contains("default"), "{:?}", fallback.notes);

    let default = full
        .namespaces
        .iter()
        .find(|ns| ns.name == "default")
        .expect("default namespace");
    assert_eq!(fallback.namespaces[0].users, default.users);
    assert_eq!(fallback.namespaces[0].groups, default.groups);
}

/// The engine spawns these on a multi-threaded runtime.
#[test]
fn futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let qs = quicksight("http://127.0.0.1:9", IDENTITY_REGION, true);
    let ddb = dynamodb("http://127.0.0.1:9");
    let limits = IdentityLimits::default();
    let snapshot = identities::snapshot(&qs, ACCOUNT, &limits);
    assert_send(&snapshot);
    let namespaces = ["default".to_string()];
    let account = qsbackup_core::account_config::snapshot(&qs, ACCOUNT, &namespaces);
    assert_send(&account);
    let empty = IdentitySnapshot {
        schema: 1,
        account_id: ACCOUNT.into(),
        identity_region: IDENTITY_REGION.into(),
        taken_at: chrono::Utc::now(),
        namespaces_listed: true,
        namespaces: Vec::new(),
        notes: Vec::new(),
    };
    let tables = TableNames::default();
    let date = NaiveDate::from_ymd_opt(2025, 10, 19).expect("a date");
    let write = dynamodb::write_identity_tables(&ddb, &tables, &empty, "s", date);
    assert_send(&write);
}
