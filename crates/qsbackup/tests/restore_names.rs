//! The restore plan names things: each asset to create and, separately, each to overwrite
//! (`TYPE/ID "NAME"`, the first 20 then "… and N more", all of them with `-v` and in
//! `--plan-out`); dropped permissions as a count per principal with a few examples; and a
//! one-dashboard restore does not warn about the assets of the snapshot it did not select.

mod restore_support;

use qs_emulator::Profile;
use restore_support::*;

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_names_what_it_creates_and_overwrites() {
    let emu = emulator(Profile::Small, 5).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo").to_string_lossy().to_string();
    let cfg = config(dir.path(), "source.yaml", SOURCE, REGION, &repo);
    backup(&emu, &cfg).await;
    let (_, manifest, members) = latest(&repo).await;
    assert!(
        !manifest.failed.is_empty() || !manifest.skipped.is_empty(),
        "the account has unexportable assets"
    );
    let cfg_arg = cfg.to_string_lossy().to_string();

    // One dashboard over itself: named as overwritten, nothing created, no snapshot-wide warning.
    let dashboard = members
        .assets
        .values()
        .find(|m| m.key.asset_type.as_str() == "dashboard")
        .expect("a dashboard")
        .clone();
    let select = dashboard.key.to_string();
    let out = run(qsbackup(
        &emu,
        &[
            "--config",
            &cfg_arg,
            "restore",
            "--snapshot",
            "latest",
            "--select",
            &select,
            "--dry-run",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = text(&out);
    assert!(plan.contains("To overwrite"), "{plan}");
    assert!(
        plan.contains(&format!("  {select} \"{}\"", dashboard.name)),
        "names the dashboard: {plan}"
    );
    assert!(!plan.contains("To create"), "{plan}");
    assert!(
        !plan.contains("does not hold"),
        "warns only about what it touched: {plan}"
    );

    // The whole snapshot into the empty account: 20 assets named, then how many more.
    let plan_out = dir.path().join("plan.json");
    let args = [
        "--config",
        &cfg_arg,
        "restore",
        "--snapshot",
        "latest",
        "--target-account",
        TARGET,
        "--dry-run",
        "--plan-out",
        &plan_out.to_string_lossy(),
    ];
    let out = run(qsbackup(&emu, &args)).await;
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let plan = text(&out);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&plan_out).expect("plan.json")).expect("json");
    let creates: Vec<String> = json["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter(|a| a["decision"] == "create")
        .map(|a| {
            format!(
                "  {} \"{}\"",
                a["asset"].as_str().unwrap_or_default(),
                a["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(creates.len() > 20, "{}", creates.len());
    assert!(plan.contains(&format!("To create ({}):", creates.len())), "{plan}");
    let listed = creates.iter().filter(|c| plan.lines().any(|l| l == c.as_str())).count();
    assert_eq!(listed, 20, "the first 20: {plan}");
    assert!(
        plan.contains(&format!("\u{2026} and {} more", creates.len() - 20)),
        "{plan}"
    );
    assert!(
        plan.contains("does not hold"),
        "a full restore says what the snapshot lacks: {plan}"
    );

    // Dropped permissions: one line per principal with a count and at most three assets.
    let drops = json["overrides"]["permissions_dropped_by_principal"]
        .as_array()
        .expect("per principal");
    let total = json["overrides"]["permissions_dropped"].as_array().expect("all").len();
    assert!(total > drops.len() && !drops.is_empty(), "{total} {}", drops.len());
    let sum: u64 = drops.iter().map(|d| d["permissions"].as_u64().unwrap_or(0)).sum();
    assert_eq!(sum as usize, total);
    assert!(
        plan.contains(&format!("{total} for {} principals", drops.len())),
        "{plan}"
    );
    let principal_lines: Vec<&str> = plan
        .lines()
        .filter(|l| l.starts_with("    user/") || l.starts_with("    group/"))
        .collect();
    assert_eq!(principal_lines.len(), drops.len().min(10), "{plan}");
    for l in &principal_lines {
        assert!(!l.contains("arn:aws:quicksight"), "no walls of ARNs: {l}");
        assert!(l.matches('/').count() <= 3 + 2 * 3 + 1, "{l}");
    }

    // -v lists every asset.
    let mut verbose = vec!["-v"];
    verbose.extend(
        args.iter()
            .copied()
            .filter(|a| *a != "--plan-out" && !a.ends_with("plan.json")),
    );
    let out = run(qsbackup(&emu, &verbose)).await;
    let plan = text(&out);
    let listed = creates.iter().filter(|c| plan.lines().any(|l| l == c.as_str())).count();
    assert_eq!(listed, creates.len(), "-v lists them all: {plan}");
}
