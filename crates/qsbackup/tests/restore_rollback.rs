//! A restore whose import fails under `--failure-action rollback` leaves the target as it was,
//! and its report names the failing asset and QuickSight's message. The failure: the overrides
//! file points one permission principal at a user the target does not have.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_is_rolled_back_and_reported() {
    let emu = emulator(Profile::Small, 11).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let (_, _, members) = latest(&repo).await;
    let (asset, principal) = members
        .assets
        .values()
        .find_map(|m| {
            let json = m.json.value();
            let p = json["permissions"][0]["principal"].as_str()?;
            Some((m.key.to_string(), p.to_string()))
        })
        .expect("an asset with a permission");
    let nobody = format!("arn:aws:quicksight:{REGION}:{TARGET}:user/default/nobody");
    let overrides = dir.path().join("overrides.yaml");
    std::fs::write(&overrides, format!("principals:\n  \"{principal}\": \"{nobody}\"\n")).expect("overrides");
    let before = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;

    let cfg_arg = cfg.to_string_lossy().to_string();
    let ovr = overrides.to_string_lossy().to_string();
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "--json",
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--failure-action",
            "rollback",
            "--no-identities",
            "--overrides",
            &ovr,
            "--yes",
        ],
    ))
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "some assets were not restored: {}",
        stderr(&out)
    );
    let report = stdout_json(&out);
    let jobs = report["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 1, "rollback puts the restore into one import job: {jobs:?}");
    assert_eq!(jobs[0]["status"], "FAILED_ROLLBACK_COMPLETED");
    assert_eq!(report["summary"]["restored"], 0);
    let failing = report["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .find(|a| a["asset"] == asset.as_str())
        .expect("the asset is in the report");
    assert_eq!(failing["result"], "failed");
    let message = failing["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&nobody) && message.contains("INVALID_PERMISSIONS"),
        "{message}"
    );
    assert!(
        jobs[0]["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains(&nobody)))),
        "the job's errors carry the service's message: {}",
        jobs[0]
    );
    let after = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;
    assert_eq!(before, after, "the target is as it was");
}
