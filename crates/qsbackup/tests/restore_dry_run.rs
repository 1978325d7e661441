//! `restore --dry-run` plans against the real target and changes nothing: no import job, no
//! identity written, no asset created; `--plan-out` has the plan as JSON. Without a terminal a
//! real restore needs `--yes`, and refuses before touching anything.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_starts_no_import_job_and_changes_nothing() {
    let emu = emulator(Profile::Small, 3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    reset_stats(&emu).await;
    let before = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;

    let plan_file = dir.path().join("plan.json");
    let cfg_arg = cfg.to_string_lossy().to_string();
    let plan_arg = plan_file.to_string_lossy().to_string();
    let args = [
        "--config",
        &cfg_arg,
        "restore",
        "--snapshot",
        "latest",
        "--target-account",
        TARGET,
        "--dry-run",
        "--json",
        "--plan-out",
        &plan_arg,
    ];
    let out = run(qsbackup(&emu, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = stdout_json(&out);
    assert_eq!(doc["dry_run"], true);
    let plan = &doc["plan"];
    let assets = plan["assets"].as_array().expect("assets");
    assert!(!assets.is_empty());
    assert!(
        assets.iter().all(|a| a["decision"] == "create"),
        "an empty target: every asset is created"
    );
    assert!(!plan["jobs"].as_array().expect("jobs").is_empty());
    assert!(plan["identities"]["users"].as_array().is_some_and(|u| !u.is_empty()));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).expect("--plan-out file")).expect("plan JSON");
    assert_eq!(written["restore_id"], plan["restore_id"]);

    for op in [
        "StartAssetBundleImportJob",
        "CreateNamespace",
        "CreateGroup",
        "RegisterUser",
        "CreateGroupMembership",
    ] {
        assert_eq!(calls(&emu, TARGET, op).await, 0, "a dry run called {op}");
    }
    assert!(
        calls(&emu, TARGET, "ListDashboards").await > 0,
        "the dry run lists the target"
    );
    let after = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;
    assert_eq!(before, after, "the target changed");

    // A real restore without a terminal and without --yes is refused before anything happens.
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(calls(&emu, TARGET, "StartAssetBundleImportJob").await, 0);

    // While another run holds the repository lock, a restore waits for nothing and exits 4.
    let (repository, _, _) = latest(&repo).await;
    let lock = qsbackup_core::repository::lock::RepositoryLock::exclusive(
        &repository,
        qsbackup_core::repository::lock::LockPurpose::Prune,
        std::time::Duration::ZERO,
    )
    .await
    .expect("lock");
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--yes",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    lock.release().await.expect("release");
    assert_eq!(calls(&emu, TARGET, "StartAssetBundleImportJob").await, 0);
}
