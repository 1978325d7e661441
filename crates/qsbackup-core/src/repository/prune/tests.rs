use super::*;
use crate::asset::AssetType;
use crate::repository::journal::{ExportFingerprint, Journal, RunRecord, JOURNAL_PREFIX};
use crate::repository::lock::{LockPurpose, RepositoryLock};
use crate::testutil::{at, manifest, memory_repo, store_bundle};

async fn prune_locked(repo: &Repository, options: &PruneOptions) -> Result<PruneReport> {
    let lock = RepositoryLock::exclusive(repo, LockPurpose::Prune, std::time::Duration::ZERO)
        .await
        .unwrap();
    let report = prune(&lock, options).await;
    lock.release().await.unwrap();
    report
}

async fn forget_locked(repo: &Repository, ids: &[String]) -> Result<()> {
    let lock = RepositoryLock::exclusive(repo, LockPurpose::Forget, std::time::Duration::ZERO)
        .await
        .unwrap();
    let done = forget(&lock, ids).await;
    lock.release().await.unwrap();
    done
}

async fn snapshot(repo: &Repository, id: &str, time: &str, bundles: &[&str]) -> SnapshotManifest {
    let mut m = manifest(id, at(time));
    for key in bundles {
        let b = match repo.head(key).await.unwrap() {
            Some(_) => {
                // Shared with an earlier snapshot: reference the same object.
                let body = repo.get(key).await.unwrap();
                crate::repository::manifest::BundleRecord {
                    key: key.to_string(),
                    size: body.len() as u64,
                    sha256: "shared".into(),
                    export_job_id: "j".into(),
                    asset_type: AssetType::DataSet,
                    requested_arns: vec![],
                    members: vec![],
                }
            }
            None => store_bundle(repo, key, AssetType::DataSet, &[("dataset/d.json", "{}")]).await,
        };
        m.bundles.push(b);
    }
    m.commit(repo).await.unwrap();
    m
}

fn keys(objects: &[PrunedObject]) -> Vec<&str> {
    objects.iter().map(|o| o.key.as_str()).collect()
}

fn no_margin() -> PruneOptions {
    PruneOptions {
        safety_margin: chrono::TimeDelta::zero(),
        ..Default::default()
    }
}

#[tokio::test]
async fn forget_then_prune_removes_only_what_no_kept_snapshot_needs() {
    let repo = memory_repo("prune-forget");
    let s1 = snapshot(&repo, "s1", "2026-11-01T00:00:00Z", &["b/1.zip", "b/shared.zip"]).await;
    let s2 = snapshot(&repo, "s2", "2026-11-02T00:00:00Z", &["b/2.zip", "b/shared.zip"]).await;
    // A bundle of another tool in the same layout: never ours to delete.
    repo.put_create(
        "2026/01/01/dataset/dataset-000000.zip",
        Bytes::from_static(b"sample tool"),
    )
    .await
    .unwrap();

    let policy = RetentionPolicy {
        keep_last: 1,
        ..Default::default()
    };
    let plan = plan_forget(&[s1, s2], &policy, Utc::now());
    assert_eq!(plan.removed_ids(), vec!["s1".to_string()]);
    assert_eq!(plan.groups[0].keep[0].id, "s2");
    forget_locked(&repo, &plan.removed_ids()).await.unwrap();
    assert_eq!(
        crate::repository::snapshots::list_ids(&repo).await.unwrap(),
        vec!["s2".to_string()]
    );

    let pretend = prune_locked(
        &repo,
        &PruneOptions {
            dry_run: true,
            as_if_forgotten: vec!["s2".into()],
            ..no_margin()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        keys(&pretend.deleted),
        vec![
            "b/2.zip",
            "b/shared.zip",
            "snapshots/s2.json",
            "b/1.zip",
            "trash/s1.json"
        ],
        "a dry run counts what forgetting would free"
    );
    let dry = prune_locked(
        &repo,
        &PruneOptions {
            dry_run: true,
            ..no_margin()
        },
    )
    .await
    .unwrap();
    assert_eq!(keys(&dry.deleted), vec!["b/1.zip", "trash/s1.json"]);
    assert!(
        repo.head("b/1.zip").await.unwrap().is_some(),
        "a dry run deletes nothing"
    );

    let report = prune_locked(&repo, &no_margin()).await.unwrap();
    assert_eq!(keys(&report.deleted), vec!["b/1.zip", "trash/s1.json"]);
    assert!(report.bytes_freed > 0);
    for kept in [
        "b/2.zip",
        "b/shared.zip",
        "snapshots/s2.json",
        "2026/01/01/dataset/dataset-000000.zip",
    ] {
        assert!(repo.head(kept).await.unwrap().is_some(), "{kept} must stay");
    }
    let again = prune_locked(&repo, &no_margin()).await.unwrap();
    assert!(again.deleted.is_empty(), "{:?}", again.deleted);
}

#[tokio::test]
async fn crashed_leftovers_go_only_after_the_safety_margin() {
    let repo = memory_repo("prune-crash");
    let kept = snapshot(&repo, "s1", "2026-11-01T00:00:00Z", &["b/kept.zip"]).await;
    let run = RunRecord {
        schema: 1,
        run_id: "crashed".into(),
        snapshot_id: "crashed".into(),
        host: "h".into(),
        pid: 1,
        started_at: Utc::now(),
        fingerprint: ExportFingerprint {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            format: crate::config::ExportFormat::QuickSightJson,
            include_dependencies: true,
            include_permissions: true,
            include_tags: true,
            include_folder_memberships: true,
        },
    };
    let j = Journal::open(&repo, &run).await.unwrap();
    let stored = store_bundle(&repo, "b/crashed.zip", AssetType::DataSet, &[("dataset/x.json", "{}")]).await;
    j.storing("job-1", "b/crashed.zip").await.unwrap();
    j.bundle_stored(&stored).await.unwrap();
    // A half-written upload and a section of the run that never committed.
    j.storing("job-2", "b/half.zip").await.unwrap();
    repo.put_create("tmp/abc.part", Bytes::from_static(b"partial"))
        .await
        .unwrap();
    repo.put_create("identities/crashed.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    // The crashed run resumed a bundle the kept snapshot also uses.
    j.storing("job-3", &kept.bundles[0].key).await.unwrap();

    let young = prune_locked(
        &repo,
        &PruneOptions {
            safety_margin: chrono::TimeDelta::hours(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(young.deleted.is_empty(), "{:?}", young.deleted);
    assert!(keys(&young.kept_recent).contains(&"b/crashed.zip"));

    let old = prune_locked(&repo, &no_margin()).await.unwrap();
    let deleted = keys(&old.deleted);
    for gone in [
        "b/crashed.zip",
        "tmp/abc.part",
        "identities/crashed.json",
        "journal/crashed/run.json",
    ] {
        assert!(deleted.contains(&gone), "{gone} not in {deleted:?}");
    }
    assert!(!deleted.contains(&"b/kept.zip"));
    assert!(repo.list(JOURNAL_PREFIX).await.unwrap().is_empty());
    assert!(repo.head("b/kept.zip").await.unwrap().is_some());
}

#[tokio::test]
async fn prune_refuses_while_a_manifest_is_unreadable() {
    let repo = memory_repo("prune-unreadable");
    repo.put_create("snapshots/bad.json", Bytes::from_static(b"{oops"))
        .await
        .unwrap();
    let err = prune_locked(&repo, &no_margin()).await.unwrap_err().to_string();
    assert!(err.contains("snapshots/bad.json"), "{err}");
}

/// Three partial nights after a complete one: `--keep-last 2` keeps the last
/// complete snapshot anyway, since it may hold the only good copy of an asset
/// that stopped exporting.
#[test]
fn the_last_complete_snapshot_is_never_forgotten() {
    let mut snaps = Vec::new();
    for (id, day, status) in [
        ("c1", "01", SnapshotStatus::Complete),
        ("c2", "02", SnapshotStatus::Complete),
        ("p3", "03", SnapshotStatus::Partial),
        ("p4", "04", SnapshotStatus::Partial),
        ("p5", "05", SnapshotStatus::Partial),
    ] {
        let mut m = manifest(id, at(&format!("2026-11-{day}T00:00:00Z")));
        m.status = status;
        snaps.push(m);
    }
    let policy = RetentionPolicy {
        keep_last: 2,
        ..Default::default()
    };
    let plan = plan_forget(&snaps, &policy, Utc::now());
    let mut removed = plan.removed_ids();
    removed.sort();
    assert_eq!(removed, vec!["c1".to_string(), "p3".to_string()]);
    let kept = &plan.groups[0].keep;
    let c2 = kept.iter().find(|d| d.id == "c2").expect("c2 kept");
    assert_eq!(c2.reasons, vec![LAST_COMPLETE.to_string()]);
}

#[test]
fn snapshots_are_grouped_by_account_region_and_mode() {
    let mut a = manifest("a", at("2026-11-01T00:00:00Z"));
    let b = manifest("b", at("2026-11-02T00:00:00Z"));
    let mut c = manifest("c", at("2026-11-03T00:00:00Z"));
    c.mode = BackupMode::UsersOnly;
    a.account_id = "210987654321".into();
    let policy = RetentionPolicy {
        keep_last: 1,
        ..Default::default()
    };
    let plan = plan_forget(&[a, b, c], &policy, Utc::now());
    assert_eq!(plan.groups.len(), 3);
    assert!(plan.removed_ids().is_empty(), "each group keeps its newest");
}

#[tokio::test]
async fn staging_files_of_killed_local_writes_are_pruned() {
    let dir = std::env::temp_dir().join(format!("qsb-prune-staging-{}", std::process::id()));
    let (repo, _) = Repository::create_or_open(&dir.to_string_lossy(), &Default::default())
        .await
        .unwrap();
    repo.put_create("2026/11/28/dataset/dataset-1.zip", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    std::fs::write(dir.join("2026/11/28/dataset/dataset-2.zip#1"), b"half a bundle").unwrap();
    std::fs::write(dir.join("2026/11/28/dataset/notes#draft"), b"not staging").unwrap();
    let young = prune_locked(
        &repo,
        &PruneOptions {
            safety_margin: chrono::TimeDelta::hours(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(young.deleted.is_empty());
    let report = prune_locked(&repo, &no_margin()).await.unwrap();
    assert_eq!(keys(&report.deleted), vec!["2026/11/28/dataset/dataset-2.zip#1"]);
    assert!(!dir.join("2026/11/28/dataset/dataset-2.zip#1").exists());
    assert!(dir.join("2026/11/28/dataset/notes#draft").exists());
    assert!(dir.join("2026/11/28/dataset/dataset-1.zip").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The state a scheduled run left (and the bundles an aborted one recorded)
/// goes once older than the margin; a bundle a snapshot references stays, and
/// so do restore staging files younger than the margin.
#[tokio::test]
async fn scheduled_run_state_and_restore_staging_are_pruned() {
    let repo = memory_repo("prune-runs");
    let kept = snapshot(&repo, "s1", "2026-11-01T00:00:00Z", &["b/kept.zip"]).await;
    let orphan = store_bundle(&repo, "b/orphan.zip", AssetType::DataSet, &[("dataset/d.json", "{}")]).await;
    // As the export step records them: one result per planned bundle, holding what it stored.
    for (n, record) in [(1, &kept.bundles[0]), (2, &orphan)] {
        let result = crate::backup::state::BundleResult {
            bundles: vec![record.clone()],
            ..Default::default()
        };
        repo.write_record(&crate::repository::layout::run_bundle_key("r1", n), &result)
            .await
            .unwrap();
    }
    repo.put_create("runs/r1/plan.json", Bytes::from_static(b"{}"))
        .await
        .unwrap();
    repo.put_create("restore-staging/x/job-1.zip", Bytes::from_static(b"zip"))
        .await
        .unwrap();
    let report = prune_locked(&repo, &no_margin()).await.unwrap();
    let deleted = keys(&report.deleted);
    for key in [
        "b/orphan.zip",
        "runs/r1/bundles/00001.json",
        "runs/r1/bundles/00002.json",
        "runs/r1/plan.json",
        "restore-staging/x/job-1.zip",
    ] {
        assert!(deleted.contains(&key), "{key} not pruned: {deleted:?}");
    }
    assert!(!deleted.contains(&"b/kept.zip"));
    assert!(repo.head("b/kept.zip").await.unwrap().is_some());
}

fn with_assets(id: &str, day: &str, stored: &[&str], failed: &[&str]) -> SnapshotManifest {
    let arn = |key: &str| format!("arn:aws:quicksight:us-east-1:123456789012:{key}");
    let mut m = manifest(id, at(&format!("2026-11-{day}T00:00:00Z")));
    m.status = SnapshotStatus::Partial;
    m.bundles.push(crate::repository::manifest::BundleRecord {
        key: format!("b/{id}.zip"),
        size: 1,
        sha256: "x".into(),
        export_job_id: "j".into(),
        asset_type: AssetType::Dashboard,
        requested_arns: stored.iter().map(|k| arn(k)).collect(),
        members: vec![],
    });
    m.failed = failed
        .iter()
        .map(|k| crate::repository::manifest::FailedAsset {
            acknowledged: false,
            arn: arn(k),
            asset_type: AssetType::Dashboard,
            name: k.to_string(),
            reason: crate::repository::manifest::FailReason::DownloadFailed,
            message: "download failed".into(),
        })
        .collect();
    m
}

/// Nights after dashboard/b stopped exporting: `--keep-last 1` keeps, besides the newest, the
/// newest snapshot that still holds a stored copy of b, and says so; the night between goes.
#[test]
fn the_last_stored_copy_of_an_asset_is_never_forgotten() {
    let mut s1 = with_assets("s1", "01", &["dashboard/a", "dashboard/b"], &["dashboard/c"]);
    s1.identities = Some(crate::repository::ObjectRef {
        key: "identities/s1.json".into(),
        size: 1,
        sha256: "x".into(),
    });
    let s2 = with_assets("s2", "02", &["dashboard/a"], &["dashboard/b", "dashboard/c"]);
    let s3 = with_assets("s3", "03", &["dashboard/a"], &["dashboard/b", "dashboard/c"]);
    let policy = RetentionPolicy {
        keep_last: 1,
        ..Default::default()
    };
    let plan = plan_forget(&[s1, s2, s3], &policy, Utc::now());
    assert_eq!(plan.removed_ids(), vec!["s2".to_string()]);
    let s1 = plan.groups[0].keep.iter().find(|d| d.id == "s1").expect("s1 kept");
    assert_eq!(
        s1.reasons,
        vec![format!("{LAST_STORED_COPY} 1 assets (dashboard/b) and the identities")]
    );
    // dashboard/c was never stored anywhere: nothing to protect for it, and no rule invented.
    let s3 = plan.groups[0].keep.iter().find(|d| d.id == "s3").expect("s3 kept");
    assert_eq!(s3.reasons, vec!["last".to_string()]);
}
