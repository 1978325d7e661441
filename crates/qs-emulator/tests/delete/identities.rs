//! `DeleteUser`, `DeleteGroupMembership`, `DeleteGroup` and `DeleteNamespace`.

use aws_sdk_quicksight::types::IdentityStore;
use aws_sdk_quicksight::Client;

use super::common::{emulator, failure, not_found, stats, ACCOUNT};

async fn users(qs: &Client, ns: &str) -> Vec<String> {
    qs.list_users()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .send()
        .await
        .expect("list users")
        .user_list()
        .iter()
        .filter_map(|u| u.user_name().map(str::to_string))
        .collect()
}

async fn groups(qs: &Client, ns: &str) -> Vec<String> {
    qs.list_groups()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .send()
        .await
        .expect("list groups")
        .group_list()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect()
}

async fn members(qs: &Client, ns: &str, group: &str) -> Vec<String> {
    qs.list_group_memberships()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .group_name(group)
        .send()
        .await
        .expect("list group memberships")
        .group_member_list()
        .iter()
        .filter_map(|m| m.member_name().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn deleted_users_leave_their_groups_and_namespaces_take_their_identities() {
    let (emu, qs) = emulator().await;
    let ns = "default";
    let mut group_members = Vec::new();
    for g in groups(&qs, ns).await {
        let m = members(&qs, ns, &g).await;
        group_members.push((g, m));
    }
    let (group, in_group) = group_members
        .iter()
        .find(|(_, m)| m.len() >= 2)
        .cloned()
        .expect("a group with two members");
    let user = in_group[0].clone();

    qs.delete_user()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .user_name(&user)
        .send()
        .await
        .expect("delete user");
    assert!(!users(&qs, ns).await.contains(&user));
    for (g, _) in &group_members {
        assert!(!members(&qs, ns, g).await.contains(&user), "{user} still in {g}");
    }
    let described = qs
        .describe_user()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .user_name(&user)
        .send()
        .await;
    assert_eq!(described.map_err(failure).err(), Some(not_found()));
    let again = qs
        .delete_user()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .user_name(&user)
        .send()
        .await;
    assert_eq!(again.map_err(failure).err(), Some(not_found()));

    let other = in_group[1].clone();
    let remove = || {
        qs.delete_group_membership()
            .aws_account_id(ACCOUNT)
            .namespace(ns)
            .group_name(&group)
            .member_name(&other)
            .send()
    };
    remove().await.expect("delete group membership");
    assert!(!members(&qs, ns, &group).await.contains(&other));
    assert!(users(&qs, ns).await.contains(&other), "the user stays");
    assert_eq!(remove().await.map_err(failure).err(), Some(not_found()));

    qs.delete_group()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .group_name(&group)
        .send()
        .await
        .expect("delete group");
    assert!(!groups(&qs, ns).await.contains(&group));
    let described = qs
        .describe_group()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .group_name(&group)
        .send()
        .await;
    assert_eq!(described.map_err(failure).err(), Some(not_found()));
    let again = qs
        .delete_group()
        .aws_account_id(ACCOUNT)
        .namespace(ns)
        .group_name(&group)
        .send()
        .await;
    assert_eq!(again.map_err(failure).err(), Some(not_found()));

    qs.create_namespace()
        .aws_account_id(ACCOUNT)
        .namespace("drill")
        .identity_store(IdentityStore::Quicksight)
        .send()
        .await
        .expect("create namespace");
    qs.delete_namespace()
        .aws_account_id(ACCOUNT)
        .namespace("drill")
        .send()
        .await
        .expect("delete namespace");
    let described = qs
        .describe_namespace()
        .aws_account_id(ACCOUNT)
        .namespace("drill")
        .send()
        .await;
    assert_eq!(described.map_err(failure).err(), Some(not_found()));
    let again = qs
        .delete_namespace()
        .aws_account_id(ACCOUNT)
        .namespace("drill")
        .send()
        .await;
    assert_eq!(again.map_err(failure).err(), Some(not_found()));

    let s = stats(&emu.endpoint()).await;
    assert_eq!(s["calls"]["DeleteUser"], 2);
    assert_eq!(s["calls"]["DeleteGroupMembership"], 2);
    assert_eq!(s["calls"]["DeleteGroup"], 2);
    assert_eq!(s["calls"]["DeleteNamespace"], 2);
}
