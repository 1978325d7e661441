use super::*;
use crate::asset::AssetType;
use crate::testutil::{at, manifest, memory_repo, store_bundle, store_raw_bundle, zip_of};
use bytes::Bytes;

const DS: &str = r#"{"resourceType":"dataset","dataSetId":"d1","name":"Sales"}"#;

async fn one_bundle_snapshot(repo: &Repository, id: &str, key: &str) -> SnapshotManifest {
    let mut m = manifest(id, at("2026-11-28T07:21:00Z"));
    m.bundles
        .push(store_bundle(repo, key, AssetType::DataSet, &[("dataset/d1.json", DS)]).await);
    m
}

fn kinds(r: &VerifyReport) -> Vec<(String, ProblemKind)> {
    r.problems.iter().map(|p| (p.key.clone(), p.kind)).collect()
}

#[tokio::test]
async fn an_intact_snapshot_verifies() {
    let repo = memory_repo("verify-ok");
    let mut m = one_bundle_snapshot(&repo, "s1", "2026/11/28/dataset/dataset-072100.zip").await;
    let ids = serde_json::json!({
        "account_id": "123456789012", "identity_region": "us-east-1", "taken_at": "2026-11-28T07:21:00Z",
        "namespaces_listed": true, "namespaces": []
    });
    m.identities = Some(
        repo.put_create("identities/s1.json", Bytes::from(ids.to_string()))
            .await
            .unwrap(),
    );
    let r = verify(&repo, &[m], &[], &VerifyOptions::default()).await;
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.objects, 2);
}

#[tokio::test]
async fn a_flipped_byte_and_a_deleted_bundle_are_named() {
    let repo = memory_repo("verify-bad");
    let a = one_bundle_snapshot(&repo, "s1", "b/a.zip").await;
    let b = one_bundle_snapshot(&repo, "s2", "b/b.zip").await;
    let mut bytes = repo.get("b/a.zip").await.unwrap().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    repo.delete("b/a.zip").await.unwrap();
    repo.put_create("b/a.zip", Bytes::from(bytes)).await.unwrap();
    repo.delete("b/b.zip").await.unwrap();
    let r = verify(&repo, &[a, b], &[], &VerifyOptions::default()).await;
    let k = kinds(&r);
    assert!(k.contains(&("b/a.zip".into(), ProblemKind::ChecksumMismatch)), "{k:?}");
    assert_eq!(k.last(), Some(&("b/b.zip".into(), ProblemKind::Missing)));
    assert!(r.problems.iter().all(|p| p.to_string().contains(&p.key)));
}

#[tokio::test]
async fn members_must_match_the_inventory() {
    let repo = memory_repo("verify-members");
    let mut m = one_bundle_snapshot(&repo, "s1", "b/a.zip").await;
    m.bundles[0].members[0].sha256 = "00".repeat(32);
    m.bundles[0].members.push(crate::repository::manifest::BundleMember {
        path: "dataset/gone.json".into(),
        member_type: "dataset".into(),
        id: "gone".into(),
        name: None,
        sha256: "11".repeat(32),
        last_updated_time: None,
    });
    let extra = zip_of(&[("dataset/d1.json", DS), ("dataset/extra.json", "{}")]);
    let mut n = manifest("s2", at("2026-11-28T08:00:00Z"));
    n.bundles.push(
        store_raw_bundle(
            &repo,
            "b/extra.zip",
            AssetType::DataSet,
            &[("dataset/d1.json", DS)],
            extra,
        )
        .await,
    );
    let r = verify(&repo, &[m, n], &[], &VerifyOptions::default()).await;
    let k: Vec<ProblemKind> = r.problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        k,
        vec![
            ProblemKind::MemberMismatch,
            ProblemKind::MemberMissing,
            ProblemKind::UnexpectedMember
        ],
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn unsafe_bundles_and_bad_documents_are_reported() {
    let repo = memory_repo("verify-unsafe");
    let mut m = manifest("s1", at("2026-11-28T07:21:00Z"));
    let evil = zip_of(&[("../../etc/cron.d/x.json", "{}")]);
    m.bundles
        .push(store_raw_bundle(&repo, "b/evil.zip", AssetType::DataSet, &[], evil).await);
    m.account = Some(
        repo.put_create("account/s1.json", Bytes::from_static(b"[1,2]"))
            .await
            .unwrap(),
    );
    let r = verify(
        &repo,
        &[m],
        &[("snapshots/s0.json".into(), "bad JSON".into())],
        &VerifyOptions::default(),
    )
    .await;
    let k = kinds(&r);
    assert_eq!(
        k,
        vec![
            ("snapshots/s0.json".into(), ProblemKind::UnreadableManifest),
            ("account/s1.json".into(), ProblemKind::BadDocument),
            ("b/evil.zip".into(), ProblemKind::UnsafePath),
        ],
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn a_bundle_shared_by_snapshots_is_read_once_and_blamed_on_each() {
    let repo = memory_repo("verify-shared");
    let a = one_bundle_snapshot(&repo, "s1", "b/shared.zip").await;
    let mut b = manifest("s2", at("2026-11-29T07:21:00Z"));
    b.bundles = a.bundles.clone();
    let r = verify(&repo, &[a.clone(), b.clone()], &[], &VerifyOptions::default()).await;
    assert!(r.is_ok());
    assert_eq!(r.objects, 1);
    repo.delete("b/shared.zip").await.unwrap();
    let r = verify(&repo, &[a, b], &[], &VerifyOptions::default()).await;
    let snaps: Vec<&str> = r.problems.iter().map(|p| p.snapshot.as_str()).collect();
    assert_eq!(snaps, vec!["s1", "s2"]);
}

#[tokio::test]
async fn members_must_be_the_type_and_id_the_manifest_records() {
    let repo = memory_repo("verify-semantics");
    let theme = r#"{"resourceType":"theme","themeId":"d1"}"#;
    let mut m = manifest("s1", at("2026-11-28T07:21:00Z"));
    m.bundles.push(
        store_bundle(
            &repo,
            "b/a.zip",
            AssetType::DataSet,
            &[("dataset/d1.json", theme), ("dataset/d2.json", "{\"resourceType\":")],
        )
        .await,
    );
    let mut unsafe_entry = store_bundle(&repo, "b/b.zip", AssetType::DataSet, &[("dataset/d3.json", DS)]).await;
    unsafe_entry.members[0].id = "../../../etc/passwd".into();
    m.bundles.push(unsafe_entry);
    let r = verify(&repo, &[m], &[], &VerifyOptions::default()).await;
    let found: Vec<(ProblemKind, &str)> = r.problems.iter().map(|p| (p.kind, p.message.as_str())).collect();
    assert!(
        found.iter().any(|(k, msg)| *k == ProblemKind::InvalidMember
            && msg.contains("dataset/d1.json")
            && msg.contains("\"theme\"")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(k, msg)| *k == ProblemKind::InvalidMember
            && msg.contains("dataset/d2.json")
            && msg.contains("not valid JSON")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(k, msg)| *k == ProblemKind::UnsafeMember && msg.contains("../../../etc/passwd")),
        "{found:?}"
    );
    // The bundle was exported for dataset/d3, which its inventory no longer names.
    assert!(
        found
            .iter()
            .any(|(k, msg)| *k == ProblemKind::MemberMissing && msg.contains("dataset/d3")),
        "{found:?}"
    );
}
