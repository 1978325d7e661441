//! A full restore at the service's pace: import jobs planned as a dependency graph that fills
//! QuickSight's 5 job slots, and imports that need no restored user or group running beside
//! the identity step.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;
use serde_json::Value;

/// `PUT /_emulator/faults`.
async fn faults(emu: &qs_emulator::EmulatorHandle, plan: Value) {
    let resp = reqwest::Client::new()
        .put(format!("{}/_emulator/faults", emu.endpoint()))
        .header("content-type", "application/json")
        .body(plan.to_string())
        .send()
        .await
        .expect("set faults");
    assert!(resp.status().is_success(), "faults: {}", resp.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_restore_of_a_medium_account_keeps_five_jobs_running_and_imports_beside_the_identity_step() {
    let emu = emulator(Profile::Medium, 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let cfg = cfg.to_string_lossy().to_string();
    let restore = |extra: &[&str]| {
        let mut args = vec![
            "--config",
            &cfg,
            "--json",
            "-v",
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--yes",
        ];
        args.extend_from_slice(extra);
        qsbackup(&emu, &args)
    };

    // The plan: jobs numbered in start order, each after the jobs it depends on; more than one
    // wave of jobs that depend on nothing; some of them start beside the identity step.
    let out = run(restore(&["--dry-run"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = stdout_json(&out)["plan"].clone();
    let jobs = plan["jobs"].as_array().expect("jobs").clone();
    for job in &jobs {
        let number = job["number"].as_u64().expect("number");
        for d in job["depends_on"].as_array().expect("depends_on") {
            assert!(
                d.as_u64().expect("job number") < number,
                "job {number} starts after {d}: {job}"
            );
        }
    }
    let roots: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["depends_on"].as_array().is_some_and(|d| d.is_empty()))
        .collect();
    assert!(roots.len() >= 5, "jobs that can start at once: {}", roots.len());
    let beside = roots.iter().filter(|j| j.get("waits_for_identities").is_none()).count();
    assert!(beside > 0, "no job starts beside the identity step: {jobs:?}");
    assert!(
        jobs.iter().any(|j| j["waits_for_identities"] == true),
        "jobs granting permissions to restored users and groups wait for them"
    );

    // Slow jobs (so that several run at once) and a slow identity step (memberships throttled,
    // then retried): the jobs that need no restored principal start while it runs.
    faults(
        &emu,
        serde_json::json!({"seed": 3, "job_delay_ms": 1500, "throttle": {"CreateGroupMembership": 0.5}}),
    )
    .await;
    reset_stats(&emu).await;
    let out = run(restore(&[])).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let report = stdout_json(&out);
    assert_eq!(report["summary"]["failed"], 0, "{}", report["summary"]);
    let stats = admin(&emu, &format!("/_emulator/stats?account={TARGET}")).await;
    assert_eq!(stats["peak_concurrent_import_jobs"], 5, "{stats}");
    assert_eq!(
        stats["import_jobs_started"].as_u64(),
        Some(jobs.len() as u64),
        "{stats}"
    );
    let log = stderr(&out);
    let first_job = log.find("import job ").expect("a job started");
    let memberships = log
        .find("memberships: ")
        .expect("the identity step reports its memberships");
    assert!(
        first_job < memberships,
        "an import job starts before the identity step ends:\n{log}"
    );
}
