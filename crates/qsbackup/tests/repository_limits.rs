//! Bounded memory on hostile input: a bundle member that inflates past the member limit, a
//! manifest past the manifest limit, and an import-legacy bundle with a zip-slip member or a
//! decompression bomb are refused with an error naming the object and the limit, before they
//! are read whole (see `qsbackup_core::limits`).

mod restore_support;
mod tamper_support;

use std::io::Write;
use std::path::Path;

use qs_emulator::Profile;
use qsbackup_core::limits::{MAX_IDENTITIES_BYTES, MAX_MANIFEST_BYTES, MAX_MEMBER_BYTES};
use restore_support::*;
use tamper_support::*;

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_decompression_bomb_naming_the_member_and_the_limit() {
    let w = World::new(31).await;
    let path = w.lone_member("dashboard");
    let asset = format!("dashboard/{}", id_of(&path));
    let limit = MAX_MEMBER_BYTES.to_string();
    w.tamper(&path, &Tamper::Bomb(MAX_MEMBER_BYTES + MIB));
    let out = w.restore(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&asset) && err.contains(&path) && err.contains(&format!("{limit} byte limit")),
        "the refusal names the member and the limit: {err}"
    );
    let out = w.run(&["verify", "--all"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&path), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bomb_that_lies_about_its_size_is_cut_off_at_the_limit() {
    let w = World::new(33).await;
    let path = w.lone_member("dashboard");
    let asset = format!("dashboard/{}", id_of(&path));
    // It declares 1,000 bytes, so no header check stops it: only the capped reader does.
    w.tamper(
        &path,
        &Tamper::LyingBomb {
            bytes: MAX_MEMBER_BYTES + MIB,
            declared: 1000,
        },
    );
    let out = w.restore(&["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&asset) && err.contains(&format!("{MAX_MEMBER_BYTES} byte limit")),
        "{err}"
    );
    let out = w.run(&["verify", "--all"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(&path), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_manifest_is_unreadable_and_refused_without_being_read() {
    let w = World::new(32).await;
    let huge = "29991231T000000Z-ffffff";
    let key = format!("snapshots/{huge}.json");
    let file = Path::new(&w.repo).join(&key);
    // A valid manifest followed by whitespace past the limit, written in chunks.
    let mut m = w.manifest();
    m["id"] = serde_json::Value::from(huge);
    let mut f = std::fs::File::create(&file).expect("manifest");
    f.write_all(&serde_json::to_vec(&m).expect("JSON")).expect("write");
    let chunk = vec![b' '; MIB as usize];
    for _ in 0..(MAX_MANIFEST_BYTES / MIB + 1) {
        f.write_all(&chunk).expect("pad");
    }
    drop(f);
    let size = std::fs::metadata(&file).expect("size").len().to_string();
    let limit = format!("{MAX_MANIFEST_BYTES} byte limit");

    let out = w.run(&["--json", "snapshots"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unreadable manifest is not a green listing"
    );
    let doc = stdout_json(&out);
    let unreadable = doc["unreadable"].as_array().expect("unreadable");
    assert_eq!(unreadable.len(), 1, "{doc}");
    assert_eq!(unreadable[0]["key"], key.as_str());
    let why = unreadable[0]["error"].as_str().unwrap_or_default();
    assert!(why.contains(&limit) && why.contains(&size), "{why}");
    let listed: Vec<&str> = doc["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .filter_map(|s| s["snapshot_id"].as_str())
        .collect();
    assert_eq!(listed, vec![w.snapshot.as_str()]);

    for args in [
        vec!["show", huge],
        vec!["restore", "--snapshot", huge, "--dry-run"],
        vec!["verify", "--all"],
    ] {
        let out = w.run(&args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&key) && err.contains(&limit), "{args:?}: {err}");
    }
}

/// A bundle in the sample tool's layout with `members`, the bomb written in chunks.
fn legacy_bundle(file: &Path, members: &[(&str, &str)], bomb: Option<(&str, u64)>) {
    std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(file).expect("bundle"));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in members {
        zip.start_file(*name, opts).expect("entry");
        zip.write_all(body.as_bytes()).expect("write");
    }
    if let Some((name, bytes)) = bomb {
        write_bomb(&mut zip, name, bytes);
    }
    zip.finish().expect("finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_legacy_refuses_a_zip_slip_member_and_a_bomb_instead_of_saying_verified() {
    let emu = emulator(Profile::Small, 34).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let cfg = config(dir.path(), "legacy.yaml", SOURCE, REGION, &repo.to_string_lossy());
    let cfg = cfg.to_string_lossy().to_string();
    let dashboard = r#"{"resourceType":"dashboard","dashboardId":"d1","name":"Sales"}"#;
    legacy_bundle(
        &repo.join("2026/08/17/dashboards/dashboards-010203.zip"),
        &[("dashboard/d1.json", dashboard), ("../x.json", "{}")],
        None,
    );
    legacy_bundle(
        &repo.join("2026/08/18/dashboards/dashboards-010203.zip"),
        &[],
        Some(("dashboard/d1.json", MAX_MEMBER_BYTES + MIB)),
    );
    for (date, named) in [
        ("2026-08-17", "../x.json".to_string()),
        ("2026-08-18", format!("{MAX_MEMBER_BYTES} byte limit")),
    ] {
        let out = run(qsbackup(
            &emu,
            &["--config", &cfg, "--no-progress", "import-legacy", "--date", date],
        ))
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(1), "{date}: {stdout}{}", stderr(&out));
        assert!(!stdout.contains("verified"), "{date}: {stdout}");
        let err = stderr(&out);
        assert!(
            err.contains(&named) && err.contains("dashboards-010203.zip"),
            "{date}: the error names the member: {err}"
        );
        assert!(
            !repo.join("snapshots").exists() || std::fs::read_dir(repo.join("snapshots")).expect("dir").count() == 0,
            "{date}: no snapshot is committed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identities_document_past_its_limit_is_refused_unread() {
    let w = World::new(35).await;
    let key = w.manifest()["identities"]["key"]
        .as_str()
        .expect("identities key")
        .to_string();
    // Sparse: the size is what the store reports; nothing is written.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(Path::new(&w.repo).join(&key))
        .expect("identities");
    file.set_len(MAX_IDENTITIES_BYTES + 1).expect("grow");
    drop(file);
    let limit = format!("{MAX_IDENTITIES_BYTES} byte limit");
    for args in [
        vec!["verify", "--all"],
        vec![
            "restore",
            "--snapshot",
            "latest",
            "--target-account",
            TARGET,
            "--dry-run",
        ],
        vec!["show", "latest"],
    ] {
        let out = w.run(&args).await;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(text.contains(&key) && text.contains(&limit), "{args:?}: {text}");
        if args[0] != "show" {
            assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        }
    }
}
