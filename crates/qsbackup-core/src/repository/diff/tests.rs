use super::*;
use crate::asset::AssetType;
use crate::identities::{GroupRecord, NamespaceSnapshot, UserRecord};
use crate::repository::manifest::{FailReason, FailedAsset};
use crate::testutil::{at, manifest, memory_repo, store_bundle};
use bytes::Bytes;

fn user(name: &str, role: &str) -> UserRecord {
    UserRecord {
        user_name: name.into(),
        arn: None,
        email: Some(format!("{name}@example.com")),
        role: Some(role.into()),
        identity_type: Some("QUICKSIGHT".into()),
        active: true,
        principal_id: None,
        custom_permissions_name: None,
        external_login_federation_provider_type: None,
        external_login_federation_provider_url: None,
        external_login_id: None,
    }
}

fn group(name: &str, members: &[&str]) -> GroupRecord {
    GroupRecord {
        group_name: name.into(),
        arn: None,
        description: None,
        principal_id: None,
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

fn identities(users: Vec<UserRecord>, groups: Vec<GroupRecord>) -> IdentitySnapshot {
    let mut ns = NamespaceSnapshot::default_only();
    ns.users = users;
    ns.groups = groups;
    IdentitySnapshot {
        schema: 1,
        account_id: "123456789012".into(),
        identity_region: "us-east-1".into(),
        taken_at: at("2026-11-28T07:21:00Z"),
        namespaces_listed: true,
        namespaces: vec![ns],
        notes: vec![],
    }
}

fn account(edition: &str) -> AccountSnapshot {
    AccountSnapshot {
        schema: 1,
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        taken_at: at("2026-11-28T07:21:00Z"),
        account_settings: Some(serde_json::json!({"Edition": edition, "LastUpdatedTime": 5})),
        customizations: Default::default(),
        brands: vec![],
        custom_permissions: vec![],
        folders: vec![],
        unavailable: vec![],
    }
}

async fn put_doc(repo: &Repository, key: &str, v: &impl Serialize) -> ObjectRef {
    repo.put_create(key, Bytes::from(serde_json::to_vec(v).unwrap()))
        .await
        .unwrap()
}

#[test]
fn volatile_fields_are_dropped_at_every_depth() {
    let mut v =
        serde_json::json!({"name": "x", "createdTime": 1, "definition": {"sheets": [{"LastUpdatedTime": 2, "id": 1}]}});
    normalize(&mut v);
    assert_eq!(
        v,
        serde_json::json!({"name": "x", "definition": {"sheets": [{"id": 1}]}})
    );
}

#[tokio::test]
async fn a_diff_shows_real_changes_and_nothing_else() {
    let repo = memory_repo("diff");
    let mut a = manifest("a", at("2026-11-28T07:00:00Z"));
    a.bundles.push(
        store_bundle(
            &repo,
            "a/dataset.zip",
            AssetType::DataSet,
            &[
                (
                    "dataset/d1.json",
                    r#"{"resourceType":"dataset","dataSetId":"d1","name":"Sales","createdTime":1}"#,
                ),
                (
                    "dataset/d2.json",
                    r#"{"resourceType":"dataset","dataSetId":"d2","name":"Old data"}"#,
                ),
                (
                    "refreshSchedule/s1.json",
                    r#"{"resourceType":"refreshSchedule","dataSetId":"d2","schedule":{"scheduleId":"s1"}}"#,
                ),
            ],
        )
        .await,
    );
    a.bundles.push(
        store_bundle(
            &repo,
            "a/dashboard.zip",
            AssetType::Dashboard,
            &[
                (
                    "dashboard/x1.json",
                    r#"{"resourceType":"dashboard","dashboardId":"x1","name":"Revenue"}"#,
                ),
                (
                    "dashboard/x9.json",
                    r#"{"resourceType":"dashboard","dashboardId":"x9","name":"Flaky"}"#,
                ),
            ],
        )
        .await,
    );
    a.identities = Some(
        put_doc(
            &repo,
            "identities/a.json",
            &identities(
                vec![user("alice", "READER"), user("bob", "AUTHOR")],
                vec![group("g1", &["alice"])],
            ),
        )
        .await,
    );
    a.account = Some(put_doc(&repo, "account/a.json", &account("ENTERPRISE")).await);

    let mut b = manifest("b", at("2026-11-29T07:00:00Z"));
    b.bundles.push(
        store_bundle(
            &repo,
            "b/dataset.zip",
            AssetType::DataSet,
            &[
                (
                    "dataset/d1.json",
                    r#"{"resourceType":"dataset","dataSetId":"d1","name":"Sales","createdTime":2}"#,
                ),
                (
                    "dataset/d3.json",
                    r#"{"resourceType":"dataset","dataSetId":"d3","name":"New data"}"#,
                ),
            ],
        )
        .await,
    );
    b.bundles.push(
        store_bundle(
            &repo,
            "b/dashboard.zip",
            AssetType::Dashboard,
            &[(
                "dashboard/x1.json",
                r#"{"resourceType":"dashboard","dashboardId":"x1","name":"Revenue 2027"}"#,
            )],
        )
        .await,
    );
    b.failed.push(FailedAsset {
        acknowledged: false,
        arn: "arn:aws:quicksight:us-east-1:123456789012:dashboard/x9".into(),
        asset_type: AssetType::Dashboard,
        name: "Flaky".into(),
        reason: FailReason::ExportJobFailed,
        message: "definition errors".into(),
    });
    b.identities = Some(
        put_doc(
            &repo,
            "identities/b.json",
            &identities(
                vec![user("alice", "AUTHOR"), user("carol", "READER")],
                vec![group("g1", &["alice", "carol"]), group("g2", &[])],
            ),
        )
        .await,
    );
    b.account = Some(put_doc(&repo, "account/b.json", &account("ENTERPRISE")).await);

    let d = diff(&repo, &a, &b).await.unwrap();
    let types: Vec<&str> = d.assets.keys().map(String::as_str).collect();
    assert_eq!(types, vec!["dashboard", "dataset", "refreshSchedule"], "{d:#?}");
    let dash = &d.assets["dashboard"];
    assert_eq!(dash.changed.len(), 1);
    assert_eq!(dash.changed[0].id, "x1");
    assert_eq!(dash.changed[0].old_name.as_deref(), Some("Revenue"));
    assert_eq!(dash.changed[0].fields, vec!["name"]);
    assert!(dash.added.is_empty() && dash.removed.is_empty());
    let ds = &d.assets["dataset"];
    assert_eq!(ds.added.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), vec!["d3"]);
    assert_eq!(ds.removed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), vec!["d2"]);
    assert!(ds.changed.is_empty(), "d1 only got a new createdTime");
    let rs = &d.assets["refreshSchedule"];
    assert_eq!(rs.removed[0].data_set_id.as_deref(), Some("d2"));
    assert_eq!(d.unavailable.len(), 1);
    assert_eq!(
        (d.unavailable[0].id.as_str(), d.unavailable[0].missing_in.as_str()),
        ("x9", "b")
    );

    let ids = d.identities.as_ref().unwrap();
    assert_eq!(
        ids.users_added.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(),
        vec!["carol"]
    );
    assert_eq!(
        ids.users_removed
            .iter()
            .map(|u| u.user_name.as_str())
            .collect::<Vec<_>>(),
        vec!["bob"]
    );
    assert_eq!(ids.role_changes.len(), 1);
    assert_eq!(ids.role_changes[0].to.as_deref(), Some("AUTHOR"));
    assert!(ids.users_changed.is_empty());
    assert_eq!(
        ids.groups_added
            .iter()
            .map(|g| g.group_name.as_str())
            .collect::<Vec<_>>(),
        vec!["g2"]
    );
    assert_eq!(ids.memberships_added.len(), 1);
    assert_eq!(ids.memberships_added[0].user_name, "carol");
    assert!(ids.memberships_removed.is_empty());
    let acct = d.account.as_ref().unwrap();
    assert!(acct.changed.is_empty(), "only LastUpdatedTime differs: {acct:?}");

    let same = diff(&repo, &a, &a).await.unwrap();
    assert!(same.is_empty(), "{same:#?}");
}
