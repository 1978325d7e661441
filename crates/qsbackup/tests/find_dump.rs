//! "Where is my dashboard?": after a dashboard is deleted and backed up again, `find` lists the
//! snapshot that still stores it (and what became of a failing asset in each snapshot), a
//! restore or dump from the newest snapshot names the one that holds it, and `dump` prints the
//! asset's JSON member byte for byte (or, with `--zip`, its bundle), refusing a tampered bundle.

mod repo_support;

use repo_support::*;
use reqwest::Method;
use serde_json::Value;
use std::io::Read;

/// A dashboard stored in `manifest`: (id, name, bundle key, member path).
fn stored_dashboard(manifest: &Value) -> (String, String, String, String) {
    manifest["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .filter(|b| b["asset_type"] == "dashboard")
        .find_map(|b| {
            b["members"]
                .as_array()
                .expect("members")
                .iter()
                .find(|m| m["type"] == "dashboard")
                .map(|m| {
                    (
                        m["id"].as_str().expect("id").to_string(),
                        m["name"].as_str().expect("name").to_string(),
                        b["key"].as_str().expect("key").to_string(),
                        m["path"].as_str().expect("path").to_string(),
                    )
                })
        })
        .expect("a stored dashboard")
}

fn member_of(zip_path: &std::path::Path, member: &str) -> Vec<u8> {
    let file = std::fs::File::open(zip_path).expect("bundle");
    let mut archive = zip::ZipArchive::new(file).expect("zip");
    let mut entry = archive.by_name(member).expect("member");
    let mut body = Vec::new();
    entry.read_to_end(&mut body).expect("read member");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_names_the_snapshot_that_still_holds_a_deleted_dashboard_and_dump_prints_it() {
    let env = setup(0, 25).await;
    let first = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    let manifest = env.manifest(&first);
    let (dashboard, name, bundle, path) = stored_dashboard(&manifest);
    let asset = format!("dashboard/{dashboard}");
    env.admin(
        Method::DELETE,
        &format!("/_emulator/accounts/{ACCOUNT}/assets/dashboard/{dashboard}"),
        None,
    )
    .await;
    let second = env.backup().await["snapshot_id"].as_str().expect("id").to_string();
    assert_ne!(first, second);

    // find: only the first snapshot stores it.
    let (out, doc) = env.json(&["find", &asset]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = doc["found"].as_array().expect("found");
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(found[0]["snapshot_id"], first.as_str());
    assert_eq!(found[0]["status"], "stored");
    assert_eq!(found[0]["bundle"], bundle.as_str());
    assert_eq!(doc["snapshots_searched"], 2);
    let text = stdout(&env.run(&["find", &asset]).await);
    let row = text
        .lines()
        .find(|l| l.starts_with(&first))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("stored") && row.contains(&bundle), "{row}");

    // --name finds it by its name, whatever the case.
    let (out, doc) = env.json(&["find", "--name", &name.to_uppercase()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        doc["found"]
            .as_array()
            .expect("found")
            .iter()
            .any(|s| s["id"] == dashboard.as_str()),
        "{doc}"
    );

    // A failing asset is listed in both snapshots, newest first, with its reason.
    let failed = manifest["failed"].as_array().expect("failed");
    let broken = failed.first().expect("the small account has a failing asset");
    let broken_arn = broken["arn"].as_str().expect("arn");
    let broken_ref = format!(
        "{}/{}",
        broken["type"].as_str().expect("type"),
        broken_arn.rsplit_once('/').expect("arn id").1
    );
    let (_, doc) = env.json(&["find", &broken_ref]).await;
    let rows: Vec<(&str, &str)> = doc["found"]
        .as_array()
        .expect("found")
        .iter()
        .filter(|s| s["status"] == "failed")
        .map(|s| {
            (
                s["snapshot_id"].as_str().unwrap_or(""),
                s["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{doc}");
    assert_eq!(rows[0].0, second.as_str(), "newest first: {doc}");
    assert_eq!(rows[0].1, broken["reason"].as_str().expect("reason"));

    // Nothing anywhere: exit 1, saying so.
    let none = env.run(&["find", "dashboard/no-such-dashboard"]).await;
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("no snapshot"), "{}", stderr(&none));

    // The newest snapshot does not hold it: dump and restore name the one that does.
    let out = env.run(&["dump", "latest", &asset]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no such asset"), "{err}");
    assert!(
        err.contains(&format!("the newest snapshot that holds it is {first}")),
        "{err}"
    );
    let out = env
        .run(&[
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--dry-run",
            "--select",
            &asset,
        ])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no such asset") && err.contains(&format!("the newest snapshot that holds it is {first}")),
        "{err}"
    );
    let out = env.run(&["dump", "latest", "dashboard/no-such-dashboard"]).await;
    assert!(
        stderr(&out).contains("no snapshot in the repository holds it"),
        "{}",
        stderr(&out)
    );

    // dump by a unique prefix of the id: the member's exact bytes.
    let prefix = &first[..first.len() - 2];
    let out = env.run(&["dump", prefix, &asset]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = member_of(&env.object(&bundle), &path);
    assert_eq!(out.stdout, expected, "dump prints the member as stored");
    serde_json::from_slice::<Value>(&out.stdout).expect("the member is JSON");

    // --zip: the bundle's exact bytes (stdout is a pipe here).
    let out = env.run(&["dump", &first, &asset, "--zip"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, std::fs::read(env.object(&bundle)).expect("bundle"));

    // A bundle that no longer matches its checksum is refused, not printed.
    let mut bytes = std::fs::read(env.object(&bundle)).expect("bundle");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(env.object(&bundle), bytes).expect("tamper");
    let out = env.run(&["dump", &first, &asset]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains(&bundle), "{}", stderr(&out));
}
