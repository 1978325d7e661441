//! The end-of-run report and the sample tool's `--output-dir` files:
//! `backup_manifest_YYYYMMDD_HHMMSS.json` and `backup_report_YYYYMMDD_HHMMSS.txt`.
//! Both are derived from a [`SnapshotManifest`]; neither is part of the repository.

use super::{manifest_key, SnapshotManifest};
use crate::asset::AssetType;
use crate::error::{Error, Result};
use crate::text::printable;
use crate::units::human_bytes;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Per-type counts: (backed up, skipped, failed).
pub fn counts_by_type(m: &SnapshotManifest) -> BTreeMap<AssetType, (usize, usize, usize)> {
    let mut counts: BTreeMap<AssetType, (usize, usize, usize)> = BTreeMap::new();
    for b in &m.bundles {
        counts.entry(b.asset_type).or_default().0 += b.requested_arns.len();
    }
    for s in &m.skipped {
        counts.entry(s.asset_type).or_default().1 += 1;
    }
    for f in &m.failed {
        counts.entry(f.asset_type).or_default().2 += 1;
    }
    counts
}

/// The human-readable report: counts per type, every skipped or failed asset with its reason,
/// bundles and bytes, duration, and where the snapshot is.
pub fn report_text(m: &SnapshotManifest, repository: &str) -> String {
    let mut out = String::new();
    let secs = (m.finished_at - m.started_at).num_milliseconds() as f64 / 1000.0;
    let _ = writeln!(out, "QuickSight backup report");
    let _ = writeln!(out, "========================");
    let _ = writeln!(out, "Snapshot:   {} ({:?})", m.id, m.status);
    let _ = writeln!(
        out,
        "Account:    {} ({}, identities in {})",
        m.account_id, m.region, m.identity_region
    );
    let _ = writeln!(out, "Mode:       {:?}", m.mode);
    let _ = writeln!(out, "Scope:      {}", scope_text(m));
    if let Some(arn) = &m.caller_arn {
        let _ = writeln!(out, "Caller:     {}", printable(arn));
    }
    if let Some(host) = &m.host {
        let _ = writeln!(out, "Host:       {}", printable(host));
    }
    let _ = writeln!(out, "Started:    {}", crate::units::timestamp(&m.started_at));
    let _ = writeln!(out, "Duration:   {secs:.1} s");
    let _ = writeln!(out, "Repository: {repository}");
    let _ = writeln!(out, "Manifest:   {}", manifest_key(&m.id));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<14} {:>10} {:>8} {:>7}",
        "type", "backed up", "skipped", "failed"
    );
    let mut totals = (0, 0, 0);
    for (t, (ok, skipped, failed)) in counts_by_type(m) {
        let _ = writeln!(out, "{:<14} {ok:>10} {skipped:>8} {failed:>7}", t.as_str());
        totals = (totals.0 + ok, totals.1 + skipped, totals.2 + failed);
    }
    let _ = writeln!(out, "{:<14} {:>10} {:>8} {:>7}", "total", totals.0, totals.1, totals.2);
    let _ = writeln!(out);
    let _ = writeln!(out, "Size: {}", human_bytes(m.total_bytes()));
    let _ = writeln!(out, "Bundles: {} ({})", m.bundles.len(), human_bytes(m.bundle_bytes()));
    if let Some(i) = &m.identities {
        match &m.identity_counts {
            Some(counts) => {
                let total = |f: fn(&super::NamespaceCounts) -> usize| counts.iter().map(f).sum::<usize>();
                let _ = writeln!(
                    out,
                    "Identities: {} users, {} groups, {} memberships in {} namespaces ({})",
                    total(|c| c.users),
                    total(|c| c.groups),
                    total(|c| c.memberships),
                    counts.len(),
                    i.key
                );
                if counts.len() > 1 {
                    for c in counts {
                        let _ = writeln!(
                            out,
                            "  {}: {} users, {} groups, {} memberships",
                            printable(&c.namespace),
                            c.users,
                            c.groups,
                            c.memberships
                        );
                    }
                }
            }
            None => {
                let _ = writeln!(out, "Identities: {}", i.key);
            }
        }
    }
    if let Some(a) = &m.account {
        let _ = writeln!(out, "Account settings: {} ({})", a.key, human_bytes(a.size));
    }
    if !m.skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped (cannot be exported):");
        for s in &m.skipped {
            let reason = serde_json::to_value(s.reason).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {} [{}] {}",
                s.asset_type,
                printable(&s.name),
                reason.as_str().unwrap_or(""),
                printable(&s.arn)
            );
            let _ = writeln!(out, "      {}", printable(&s.message));
        }
    }
    if !m.failed.is_empty() {
        failed_text(&mut out, m);
    }
    for note in &m.notes {
        let _ = writeln!(out, "Note: {}", printable(note));
    }
    out
}

/// `full`, `partial (no dashboard; include_tags off)`, or `not recorded` for manifests written
/// before the scope was.
pub fn scope_text(m: &SnapshotManifest) -> String {
    match &m.scope {
        None => "not recorded".to_string(),
        Some(scope) => match scope.describe_exclusions() {
            None => "full".to_string(),
            Some(what) => format!("partial scope ({what})"),
        },
    }
}

/// Dependents named per root cause before "and N more".
const DEPENDENTS_SHOWN: usize = 5;

/// The failures, one line per root cause with the assets that fail because of it.
fn failed_text(out: &mut String, m: &SnapshotManifest) {
    let groups = crate::failures::group(&m.failed);
    let acknowledged = m.failed.iter().filter(|f| f.acknowledged).count();
    let _ = write!(
        out,
        "\nFailed: {} {} from {} {}",
        m.failed.len(),
        if m.failed.len() == 1 { "asset" } else { "assets" },
        groups.len(),
        if groups.len() == 1 { "cause" } else { "causes" }
    );
    if acknowledged > 0 {
        let _ = write!(
            out,
            " ({acknowledged} acknowledged in backup.acknowledged: reported, not counted as a failure)"
        );
    }
    let _ = writeln!(out);
    for g in &groups {
        let name = g
            .name
            .as_deref()
            .map(|n| format!(" \"{}\"", printable(n)))
            .unwrap_or_default();
        let reason = g.reason.map(|r| format!(" [{}]", r.code())).unwrap_or_default();
        let ack = if g.acknowledged { " (acknowledged)" } else { "" };
        let _ = write!(
            out,
            "  {}{name} cannot be exported{reason}{ack}: {}",
            g.key(),
            printable(&g.message)
        );
        if !g.dependents.is_empty() {
            let n = g.dependents.len();
            let shown: Vec<String> = g
                .dependents
                .iter()
                .take(DEPENDENTS_SHOWN)
                .map(|d| {
                    let id = crate::asset::id_from_arn(&d.arn).unwrap_or(&d.arn);
                    format!("{}/{} \"{}\"", d.asset_type, printable(id), printable(&d.name))
                })
                .collect();
            let more = if n > DEPENDENTS_SHOWN {
                format!(" and {} more", n - DEPENDENTS_SHOWN)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                " \u{2014} {n} {} on it: {}{more}",
                if n == 1 { "asset depends" } else { "assets depend" },
                shown.join(", ")
            );
        }
        let _ = writeln!(out);
    }
}

/// The sample tool's manifest document, derived from the snapshot.
pub fn sample_manifest_json(m: &SnapshotManifest, repository: &str) -> serde_json::Value {
    let bundles: Vec<_> = m
        .bundles
        .iter()
        .map(|b| {
            json!({
                "asset_type": b.asset_type,
                "key": b.key,
                "location": format!("{}/{}", repository.trim_end_matches('/'), b.key),
                "size_bytes": b.size,
                "sha256": b.sha256,
                "export_job_id": b.export_job_id,
                "asset_count": b.requested_arns.len(),
                "asset_arns": b.requested_arns,
            })
        })
        .collect();
    json!({
        "backup_id": m.id,
        "backup_timestamp": m.started_at.to_rfc3339(),
        "completed_timestamp": m.finished_at.to_rfc3339(),
        "mode": m.mode,
        "status": m.status,
        "account_id": m.account_id,
        "region": m.region,
        "identity_region": m.identity_region,
        "repository": repository,
        "snapshot_manifest": manifest_key(&m.id),
        "summary": {
            "bundles": m.bundles.len(),
            "assets_backed_up": m.stored_asset_count(),
            "assets_skipped": m.skipped.len(),
            "assets_failed": m.failed.len(),
            "total_bytes": m.bundle_bytes(),
        },
        "asset_bundles": bundles,
        "skipped_assets": m.skipped,
        "failed_assets": m.failed,
        "identities": m.identities,
        "account": m.account,
    })
}

fn stamp(m: &SnapshotManifest) -> String {
    m.started_at.format("%Y%m%d_%H%M%S").to_string()
}

fn write_new(dir: &Path, name: String, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// Writes `backup_manifest_YYYYMMDD_HHMMSS.json` into `dir`; returns its path.
pub fn write_sample_manifest(dir: &Path, m: &SnapshotManifest, repository: &str) -> Result<PathBuf> {
    let json = serde_json::to_vec_pretty(&sample_manifest_json(m, repository)).map_err(|source| Error::Json {
        context: "backup manifest".into(),
        source,
    })?;
    write_new(dir, format!("backup_manifest_{}.json", stamp(m)), &json)
}

/// Writes `backup_report_YYYYMMDD_HHMMSS.txt` into `dir`; returns its path.
pub fn write_sample_report(dir: &Path, m: &SnapshotManifest, repository: &str) -> Result<PathBuf> {
    write_new(
        dir,
        format!("backup_report_{}.txt", stamp(m)),
        report_text(m, repository).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_dir_files_are_named_like_the_sample_tool() {
        let m = super::super::tests::sample();
        let dir = std::env::temp_dir().join(format!("qsb-report-{}-{}", std::process::id(), m.id));
        let manifest = write_sample_manifest(&dir, &m, "s3://b/p").unwrap();
        let report = write_sample_report(&dir, &m, "s3://b/p").unwrap();
        let stamp = m.started_at.format("%Y%m%d_%H%M%S").to_string();
        assert!(manifest.ends_with(format!("backup_manifest_{stamp}.json")));
        assert!(report.ends_with(format!("backup_report_{stamp}.txt")));
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(text.contains("unsupported_data_source_type"), "{text}");
        assert!(text.contains("export_job_failed"));
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        assert_eq!(json["summary"]["assets_backed_up"], 1);
        assert_eq!(
            json["asset_bundles"][0]["location"],
            "s3://b/p/2026/11/28/dataset/dataset-072100.zip"
        );
        assert!(write_sample_report(&dir, &m, "x").is_err(), "never overwrites");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
