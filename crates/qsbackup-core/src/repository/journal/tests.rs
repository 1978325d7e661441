use super::*;
use crate::backup::plan::BundleAsset;
use crate::testutil::{manifest, memory_repo, store_bundle};

fn arn(t: &str, id: &str) -> String {
    format!("arn:aws:quicksight:us-east-1:123456789012:{t}/{id}")
}

fn fingerprint() -> ExportFingerprint {
    ExportFingerprint {
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        format: ExportFormat::QuickSightJson,
        include_dependencies: true,
        include_permissions: true,
        include_tags: true,
        include_folder_memberships: true,
    }
}

fn run(id: &str) -> RunRecord {
    RunRecord {
        schema: 1,
        run_id: id.into(),
        snapshot_id: id.into(),
        host: "h".into(),
        pid: 1,
        started_at: Utc::now(),
        fingerprint: fingerprint(),
    }
}

fn planned(t: AssetType, number: usize, of: usize, ids: &[&str]) -> PlannedBundle {
    PlannedBundle {
        asset_type: t,
        number,
        of,
        assets: ids
            .iter()
            .map(|id| BundleAsset {
                arn: arn(t.as_str(), id),
                name: id.to_string(),
                last_updated: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_crashed_run_leaves_its_stored_bundles_and_running_jobs() {
    let repo = memory_repo("journal-crash");
    let j = Journal::open(&repo, &run("r1")).await.unwrap();
    assert!(Journal::open(&repo, &run("r1")).await.is_err(), "run ids are unique");
    let mut stored = store_bundle(
        &repo,
        "2026/11/28/dataset/dataset-1.zip",
        AssetType::DataSet,
        &[("dataset/d1.json", "{}")],
    )
    .await;
    stored.export_job_id = "job-a".into();
    j.job_started("job-a", AssetType::DataSet, &stored.requested_arns)
        .await
        .unwrap();
    j.storing("job-a", &stored.key).await.unwrap();
    j.bundle_stored(&stored).await.unwrap();
    j.job_started("job-b", AssetType::Dashboard, &[arn("dashboard", "x")])
        .await
        .unwrap();
    j.storing("job-c", "2026/11/28/theme/theme-1.zip").await.unwrap();
    j.section_stored(SectionKind::Identities, "identities/r1.json")
        .await
        .unwrap();

    let runs = crashed_runs(&repo).await.unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r.bundles, vec![stored.clone()]);
    assert_eq!(r.jobs.len(), 2);
    let written: Vec<String> = r.written_keys().into_iter().collect();
    assert_eq!(
        written,
        vec![
            "2026/11/28/dataset/dataset-1.zip".to_string(),
            "2026/11/28/theme/theme-1.zip".to_string(),
            "identities/r1.json".to_string()
        ]
    );

    let state = Journal::find_resumable(&repo, &fingerprint(), chrono::TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(state.runs, vec!["r1".to_string()]);
    assert_eq!(state.bundles, vec![stored.clone()]);
    assert_eq!(
        state.jobs.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        vec!["job-b"]
    );

    let mut other = fingerprint();
    other.include_tags = false;
    assert!(Journal::find_resumable(&repo, &other, chrono::TimeDelta::hours(1))
        .await
        .unwrap()
        .is_empty());

    // A stored bundle that has since disappeared is not offered.
    repo.delete(&stored.key).await.unwrap();
    let state = Journal::find_resumable(&repo, &fingerprint(), chrono::TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(state.bundles.is_empty());

    // Once the snapshot is committed the journal is a leftover, not a crash.
    manifest("r1", Utc::now()).commit(&repo).await.unwrap();
    let all = journals(&repo).await.unwrap();
    assert!(all.crashed.is_empty());
    assert_eq!(all.committed, vec!["r1".to_string()]);
    discard(&repo, &all.committed).await.unwrap();
    assert!(repo.list(JOURNAL_PREFIX).await.unwrap().is_empty());
}

#[test]
fn resuming_takes_stored_bundles_out_of_the_plan_and_adopts_exact_jobs() {
    let plan = BundlePlan {
        bundles: vec![
            planned(AssetType::DataSet, 1, 2, &["d1", "d2", "d3"]),
            planned(AssetType::DataSet, 2, 2, &["d4", "d5"]),
            planned(AssetType::Dashboard, 1, 1, &["x1", "x2"]),
        ],
    };
    let bundle = |t: AssetType, ids: &[&str], job: &str| BundleRecord {
        key: format!("k/{job}.zip"),
        size: 1,
        sha256: "00".into(),
        export_job_id: job.into(),
        asset_type: t,
        requested_arns: ids.iter().map(|i| arn(t.as_str(), i)).collect(),
        members: vec![],
    };
    let state = ResumeState {
        runs: vec!["r1".into()],
        bundles: vec![
            bundle(AssetType::DataSet, &["d1", "d2"], "split-part"),
            bundle(AssetType::DataSet, &["d5", "d4"], "whole"),
            bundle(AssetType::DataSet, &["d9"], "no-longer-planned"),
            bundle(AssetType::Dashboard, &["x1", "x3"], "straddles"),
        ],
        jobs: vec![
            JobRecord {
                job_id: "running-d3".into(),
                asset_type: AssetType::DataSet,
                arns: vec![arn("dataset", "d3")],
                started_at: Utc::now(),
            },
            JobRecord {
                job_id: "running-x1".into(),
                asset_type: AssetType::Dashboard,
                arns: vec![arn("dashboard", "x1")],
                started_at: Utc::now(),
            },
        ],
    };
    let r = plan_resume(&plan, &state);
    let mut reused: Vec<&str> = r.reused.iter().map(|b| b.export_job_id.as_str()).collect();
    reused.sort();
    assert_eq!(reused, vec!["split-part", "whole"]);
    assert_eq!(r.plan.bundles.len(), 2);
    assert_eq!(r.plan.bundles[0].assets.len(), 1);
    assert_eq!((r.plan.bundles[0].number, r.plan.bundles[0].of), (1, 2));
    assert_eq!(
        r.plan.bundles[1].assets.len(),
        2,
        "a bundle straddling planned and unplanned assets is not used"
    );
    assert_eq!(r.adoptable.len(), 1);
    assert_eq!(
        r.adoptable.get(&(AssetType::DataSet, vec![arn("dataset", "d3")])),
        Some(&"running-d3".to_string())
    );
    let rj = RunJournal::new(
        Journal {
            repo: memory_repo("rj"),
            run_id: "r2".into(),
        },
        r.adoptable.clone(),
    );
    assert_eq!(
        rj.adopt(AssetType::DataSet, &[arn("dataset", "d3")]).as_deref(),
        Some("running-d3")
    );
    assert_eq!(
        rj.adopt(AssetType::DataSet, &[arn("dataset", "d3")]),
        None,
        "handed out once"
    );
}
