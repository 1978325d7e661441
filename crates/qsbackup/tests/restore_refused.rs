//! What the manifest lists is what restore restores, or it says why. A real backup is made into
//! a local repository, then one member is tampered with as someone with write access to the
//! repository could — dropped from its bundle, made invalid JSON, given another resourceType,
//! given the id `../../../etc/passwd` — with the bundle's size and SHA-256 (and the member's)
//! rewritten in the manifest so that every checksum still matches. `verify --all` names the
//! member; `restore --dry-run` and a real restore exit 2 naming the asset and import nothing of
//! it (nor what depends on it); `restore --select` of it names the problem.

mod restore_support;
mod tamper_support;

use restore_support::*;
use serde_json::Value;
use tamper_support::*;

/// Asserts verify, a dry run, `--select` and a real restore all name `asset` (member `path`)
/// and `why`, and that the real restore imports every other restorable asset but not it.
async fn assert_refused(w: &World, path: &str, asset: &str, why: &str) {
    let out = w.run(&["verify", "--all"]).await;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "verify passed a tampered member: {text}");
    assert!(text.contains(path), "verify does not name {path}: {text}");

    let out = w.restore(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(2), "dry run: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(asset) && err.contains(why),
        "dry run does not name {asset} ({why}): {err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Refused: "),
        "the plan lists the refused assets: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = w.restore(&["--dry-run", "--select", asset]).await;
    assert_eq!(out.status.code(), Some(2), "--select: {}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("no such asset"), "{err}");
    assert!(
        err.contains(asset) && err.contains(why),
        "--select does not name the problem: {err}"
    );

    let out = w.restore(&["--yes", "--json", "--no-identities"]).await;
    assert_eq!(out.status.code(), Some(2), "restore: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(asset) && err.contains(why),
        "restore does not name {asset}: {err}"
    );
    let report = stdout_json(&out);
    let refused: Vec<&str> = report["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .filter_map(|r| r["asset"].as_str())
        .collect();
    assert!(refused.contains(&asset), "{refused:?}");
    assert_eq!(report["summary"]["refused"].as_u64(), Some(refused.len() as u64));
    assert_eq!(report["summary"]["failed"].as_u64(), Some(0), "{}", report["summary"]);
    assert_eq!(
        report["summary"]["not_attempted"].as_u64(),
        Some(0),
        "{}",
        report["summary"]
    );
    // Every asset the snapshot holds is either restored or refused with a reason.
    let (_, manifest, _) = latest(&w.repo).await;
    let listed: std::collections::BTreeSet<String> = manifest
        .bundles
        .iter()
        .flat_map(|b| b.members.iter())
        .filter(|m| qsbackup_core::asset::AssetType::from_name(&m.member_type).is_some())
        .map(|m| format!("{}/{}", m.member_type, m.id))
        .collect();
    let restored = report["summary"]["restored"].as_u64().unwrap_or(0) as usize;
    assert_eq!(
        restored + refused.len(),
        listed.len(),
        "restored {restored} + refused {} != {} assets listed: {}",
        refused.len(),
        listed.len(),
        report["summary"]
    );
    if let Some(id) = asset.strip_prefix("dashboard/") {
        let target = w.target_dashboards().await;
        assert!(!target.iter().any(|d| d == id), "the refused dashboard was imported");
        assert!(!target.is_empty(), "the other dashboards were imported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_missing_from_its_bundle_is_named_not_skipped() {
    let w = World::new(21).await;
    let path = w.lone_member("dashboard");
    w.tamper(&path, &Tamper::Drop);
    let asset = format!("dashboard/{}", id_of(&path));
    assert_refused(&w, &path, &asset, "not in the bundle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_is_not_json_is_refused_with_what_depends_on_it() {
    let w = World::new(22).await;
    let path = w.root_member("dataset");
    // Every copy of it (datasets travel as dependencies in other bundles too).
    w.tamper(&path, &Tamper::Replace(Box::new(|b: &[u8]| b[..b.len() / 2].to_vec())));
    let asset = format!("dataset/{}", id_of(&path));
    assert_refused(&w, &path, &asset, "not valid JSON").await;
    let out = w.restore(&["--dry-run", "--json"]).await;
    let doc = stdout_json(&out);
    let dependents: Vec<String> = doc["plan"]["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .filter(|r| {
            r["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("depends on {asset}"))
        })
        .map(|r| r["asset"].as_str().unwrap_or_default().to_string())
        .collect();
    let planned: Vec<&str> = doc["plan"]["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a["asset"].as_str())
        .collect();
    assert!(!planned.contains(&asset.as_str()), "{planned:?}");
    assert!(
        !dependents.is_empty(),
        "every dataset of the small account has a dependent"
    );
    for d in &dependents {
        assert!(
            !planned.contains(&d.as_str()),
            "{d} depends on a refused asset but is planned"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_another_resource_type_is_refused() {
    let w = World::new(23).await;
    let path = w.lone_member("dashboard");
    w.tamper(
        &path,
        &Tamper::Replace(Box::new(|b: &[u8]| {
            let mut v: Value = serde_json::from_slice(b).expect("member JSON");
            v["resourceType"] = Value::from("theme");
            serde_json::to_vec(&v).expect("JSON")
        })),
    );
    let asset = format!("dashboard/{}", id_of(&path));
    assert_refused(&w, &path, &asset, "resourceType is \"theme\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_id_is_a_path_is_refused_and_never_imported() {
    let w = World::new(24).await;
    let path = w.lone_member("dashboard");
    w.tamper(
        &path,
        &Tamper::Replace(Box::new(|b: &[u8]| {
            let mut v: Value = serde_json::from_slice(b).expect("member JSON");
            v["dashboardId"] = Value::from("../../../etc/passwd");
            serde_json::to_vec(&v).expect("JSON")
        })),
    );
    let asset = format!("dashboard/{}", id_of(&path));
    assert_refused(&w, &path, &asset, "../../../etc/passwd").await;
    let out = w.restore(&["--yes", "--prefix", "wrongid-", "--no-identities"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let target = w.target_dashboards().await;
    assert!(
        target.iter().all(|d| !d.contains("passwd") && !d.contains("..")),
        "{target:?}"
    );
    drop(w.dir);
}
