//! The round trip: back up the `medium` account, restore everything into an empty second
//! account in another region, back that up, and find every asset with the same content apart
//! from account id and region in ARNs, and every namespace, user, group and membership.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;

const TARGET_REGION: &str = "us-west-2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_account_round_trip_into_another_account_and_region() {
    let started = std::time::Instant::now();
    let emu = emulator(Profile::Medium, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let source_repo = dir.path().join("source-repo").to_string_lossy().to_string();
    let target_repo = dir.path().join("target-repo").to_string_lossy().to_string();
    let source_cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &source_repo);
    let target_cfg = config(dir.path(), "target.yaml", TARGET, TARGET_REGION, &target_repo);

    backup(&emu, &source_cfg).await;
    let (repo, manifest, members) = latest(&source_repo).await;
    let source_identities = identities(&repo, &manifest).await;
    provision_identity_center_users(&emu, &source_identities).await;

    let overrides = dir.path().join("overrides.yaml");
    std::fs::write(
        &overrides,
        format!(
            "iam_roles: {{QuickSightRole: \"arn:aws:iam::{TARGET}:role/QuickSightRole\"}}\n\
             identities: {{include_inactive_users: true}}\n"
        ),
    )
    .expect("overrides");
    let cfg = source_cfg.to_string_lossy().to_string();
    let ovr = overrides.to_string_lossy().to_string();
    let restore_started = std::time::Instant::now();
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg,
            "--json",
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--target-region",
            TARGET_REGION,
            "--identity-region",
            REGION,
            "--overrides",
            &ovr,
            "--yes",
        ],
    ))
    .await;
    let restore_secs = restore_started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["summary"]["failed"], 0, "{}", report["summary"]);
    assert_eq!(
        report["summary"]["permissions_dropped"], 0,
        "{}",
        report["permissions_dropped"]
    );
    let restored = report["summary"]["restored"].as_u64().unwrap_or(0) as usize;
    assert_eq!(
        restored,
        members.assets.len(),
        "every asset of the snapshot is restored"
    );
    let stats = admin(&emu, &format!("/_emulator/stats?account={TARGET}")).await;
    let peak = stats["peak_concurrent_import_jobs"].as_u64().unwrap_or(0);
    assert!((1..=5).contains(&peak), "import jobs at once: {peak}");

    backup(&emu, &target_cfg).await;
    let (target_repo_handle, target_manifest, target_members) = latest(&target_repo).await;
    let before = contents(&members);
    let after = contents(&target_members);
    let missing: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(missing.is_empty(), "not in the target's backup: {missing:?}");
    let extra: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(extra.is_empty(), "in the target's backup only: {extra:?}");
    for (key, original) in &before {
        assert_eq!(&after[key], original, "{key} differs after the round trip");
    }

    let target_identities = identities(&target_repo_handle, &target_manifest).await;
    let wanted = identity_names(&source_identities);
    let got = identity_names(&target_identities);
    let lost: Vec<&String> = wanted.iter().filter(|n| !got.contains(n)).collect();
    assert!(lost.is_empty(), "identities missing in the target: {lost:?}");
    assert!(
        wanted.iter().any(|n| n.starts_with("member ")),
        "the medium account has memberships"
    );

    eprintln!(
        "round trip: {} assets, {} identities, restore {restore_secs:.1} s, whole test {:.1} s",
        before.len(),
        wanted.len(),
        started.elapsed().as_secs_f64()
    );
}
