//! Restoring again changes nothing that is already there: identities are found, not created;
//! `--conflict skip` starts no import job; `--conflict fail` refuses before any change. And a
//! restore with `--prefix` makes a copy beside the original whose references point at the copy.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;

const IDENTITY_WRITES: [&str; 4] = [
    "CreateNamespace",
    "CreateGroup",
    "RegisterUser",
    "CreateGroupMembership",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_restore_is_harmless_and_a_prefix_makes_a_copy() {
    let emu = emulator(Profile::Small, 17).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let cfg_arg = cfg.to_string_lossy().to_string();
    let restore = |extra: &'static [&'static str]| {
        let mut args = vec![
            "--config",
            cfg_arg.as_str(),
            "--json",
            "restore",
            "--snapshot",
            "latest",
        ];
        args.extend_from_slice(&["--target-account", TARGET, "--yes"]);
        args.extend_from_slice(extra);
        qsbackup(&emu, &args)
    };

    let first = run(restore(&[])).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let created = calls(&emu, TARGET, "RegisterUser").await;
    assert!(created > 0);
    let summary = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;

    reset_stats(&emu).await;
    let skip = run(restore(&["--conflict", "skip"])).await;
    assert_eq!(skip.status.code(), Some(0), "{}", stderr(&skip));
    let report = stdout_json(&skip);
    assert_eq!(report["summary"]["restored"], 0);
    assert!(report["summary"]["skipped"].as_u64().unwrap_or(0) > 0);
    assert_eq!(calls(&emu, TARGET, "StartAssetBundleImportJob").await, 0);
    for op in IDENTITY_WRITES {
        assert_eq!(calls(&emu, TARGET, op).await, 0, "{op} on a re-run");
    }

    let fail = run(restore(&["--conflict", "fail"])).await;
    assert_eq!(fail.status.code(), Some(1));
    assert!(stderr(&fail).contains("--conflict fail"), "{}", stderr(&fail));
    assert_eq!(calls(&emu, TARGET, "StartAssetBundleImportJob").await, 0);
    assert_eq!(
        admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await,
        summary
    );

    let update = run(restore(&[])).await;
    assert_eq!(update.status.code(), Some(0), "{}", stderr(&update));
    let report = stdout_json(&update);
    assert!(report["assets"]
        .as_array()
        .is_some_and(|a| a.iter().all(|a| a["decision"] == "update")));
    for op in IDENTITY_WRITES {
        assert_eq!(calls(&emu, TARGET, op).await, 0, "{op} on a re-run");
    }

    // A copy of one dashboard and what it needs, beside the originals.
    let (_, _, members) = latest(&repo).await;
    let dashboard = members
        .assets
        .keys()
        .find(|k| k.asset_type.as_str() == "dashboard")
        .expect("a dashboard")
        .clone();
    let select = format!("dashboard/{}", dashboard.id);
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
            "--yes",
            "--select",
            &select,
            "--prefix",
            "copy-",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let qs = quicksight(&emu, REGION);
    let copy = qs
        .describe_dashboard()
        .aws_account_id(TARGET)
        .dashboard_id(format!("copy-{}", dashboard.id))
        .send()
        .await
        .expect("the copy exists");
    let sets: Vec<String> = copy
        .dashboard()
        .and_then(|d| d.version())
        .map(|v| v.data_set_arns().to_vec())
        .unwrap_or_default();
    assert!(
        !sets.is_empty() && sets.iter().all(|a| a.contains(":dataset/copy-")),
        "{sets:?}"
    );
    let after = admin(&emu, &format!("/_emulator/accounts/{TARGET}/summary")).await;
    assert!(after["assets"]["dashboard"].as_u64() > summary["assets"]["dashboard"].as_u64());
}
