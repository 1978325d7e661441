//! Selection, dependency closure, decisions and levels.

use super::*;
use crate::asset::AssetType;
use crate::restore::members::AssetMember;

fn key(t: AssetType, id: &str) -> AssetKey {
    AssetKey::new(t, id)
}

/// dashboard d1 → dataset s1 → datasource ds1; dashboard d2 → dataset s2 (→ ds1) and folder f1;
/// s2 also refers to a dataset that is nowhere.
fn members() -> SnapshotMembers {
    let mut m = SnapshotMembers::default();
    let mut add = |k: AssetKey, name: &str, refs: &[AssetKey]| {
        m.assets.insert(
            k.clone(),
            AssetMember {
                key: k,
                name: name.into(),
                json: crate::restore::members::MemberJson::new(&serde_json::Value::Null),
                references: refs.iter().cloned().collect(),
                size: 10,
            },
        );
    };
    add(key(AssetType::DataSource, "ds1"), "Warehouse", &[]);
    add(
        key(AssetType::DataSet, "s1"),
        "Orders",
        &[key(AssetType::DataSource, "ds1")],
    );
    add(
        key(AssetType::DataSet, "s2"),
        "Returns",
        &[key(AssetType::DataSource, "ds1"), key(AssetType::DataSet, "nowhere")],
    );
    add(key(AssetType::Folder, "f1"), "Team", &[]);
    add(
        key(AssetType::Dashboard, "d1"),
        "Sales overview",
        &[key(AssetType::DataSet, "s1")],
    );
    add(
        key(AssetType::Dashboard, "d2"),
        "Returns overview",
        &[key(AssetType::DataSet, "s2"), key(AssetType::Folder, "f1")],
    );
    m
}

fn decisions(assets: &[PlannedAsset]) -> Vec<(String, Decision)> {
    assets.iter().map(|a| (a.key.to_string(), a.decision)).collect()
}

#[test]
fn globs_match_names_case_insensitively() {
    assert!(glob_match("sales*", "Sales overview"));
    assert!(glob_match("*OVER?IEW", "Sales overview"));
    assert!(glob_match("*", ""));
    assert!(!glob_match("sales", "Sales overview"));
    assert!(!glob_match("*x*", "Sales overview"));
    // Brackets are part of names, not character classes.
    assert!(glob_match("sales [eu]*", "Sales [EU] overview"));
    assert!(!glob_match("sales [eu]*", "Sales E overview"));
}

#[test]
fn one_dashboard_brings_what_the_target_lacks() {
    let m = members();
    let spec = SelectionSpec {
        ids: vec![],
        names: vec!["returns OVER*".into()],
    };
    let selected = select(&m, &spec).unwrap();
    let existing: BTreeSet<AssetKey> = [key(AssetType::DataSource, "ds1"), key(AssetType::Dashboard, "d2")]
        .into_iter()
        .collect();
    let id = |k: &AssetKey| k.id.clone();
    let (assets, warnings) = decide(&m, &selected, &existing, ConflictPolicy::Update, &id).unwrap();
    assert_eq!(
        decisions(&assets),
        vec![
            ("datasource/ds1".to_string(), Decision::Keep),
            ("dataset/s2".to_string(), Decision::Create),
            ("dashboard/d2".to_string(), Decision::Update),
            ("folder/f1".to_string(), Decision::Create),
        ]
    );
    assert_eq!(assets[1].missing, vec![key(AssetType::DataSet, "nowhere")]);
    assert!(warnings[0].contains("dataset/nowhere"), "{warnings:?}");

    let (skip, _) = decide(&m, &selected, &existing, ConflictPolicy::Skip, &id).unwrap();
    assert_eq!(decisions(&skip), vec![("dashboard/d2".to_string(), Decision::Skip)]);
    let err = decide(&m, &selected, &existing, ConflictPolicy::Fail, &id).unwrap_err();
    assert!(err.to_string().contains("dashboard/d2"), "{err}");

    // With a prefix the target's copies do not count.
    let prefixed = |k: &AssetKey| format!("dr-{}", k.id);
    let (all_new, _) = decide(&m, &selected, &existing, ConflictPolicy::Fail, &prefixed).unwrap();
    assert!(all_new
        .iter()
        .all(|a| a.decision == Decision::Create && a.target_id.starts_with("dr-")));
}

#[test]
fn selections_that_name_nothing_are_refused() {
    let m = members();
    let missing = SelectionSpec {
        ids: vec![key(AssetType::Dashboard, "zz")],
        names: vec![],
    };
    assert!(select(&m, &missing).unwrap_err().to_string().contains("dashboard/zz"));
    let nothing = SelectionSpec {
        ids: vec![],
        names: vec!["nope*".into()],
    };
    assert!(select(&m, &nothing).is_err());
    assert_eq!(select(&m, &SelectionSpec::default()).unwrap().len(), 6);
}

#[test]
fn a_refused_member_and_what_depends_on_it_are_refused_with_the_reason() {
    let mut m = members();
    // s1's member was unusable: it never became an asset, only a refusal.
    m.assets.remove(&key(AssetType::DataSet, "s1"));
    m.refused.push(crate::restore::members::RefusedMember {
        member: "dataset/s1".into(),
        asset: Some(key(AssetType::DataSet, "s1")),
        name: Some("Orders".into()),
        bundle: "b/s.zip".into(),
        path: "dataset/s1.json".into(),
        reason: "is not valid JSON".into(),
    });
    let (usable, refused) = select_usable(&m, &SelectionSpec::default()).unwrap();
    assert!(!usable.contains(&key(AssetType::Dashboard, "d1")), "{usable:?}");
    assert_eq!(usable.len(), 4);
    let names: Vec<&str> = refused.iter().map(|r| r.asset.as_str()).collect();
    assert_eq!(names, vec!["dataset/s1", "dashboard/d1"], "the cause first");
    assert!(refused[0].reason.contains("not valid JSON"), "{refused:?}");
    assert!(refused[1].reason.contains("depends on dataset/s1"), "{refused:?}");

    for spec in [
        SelectionSpec {
            ids: vec![key(AssetType::Dashboard, "d1")],
            names: vec![],
        },
        SelectionSpec {
            ids: vec![key(AssetType::DataSet, "s1")],
            names: vec![],
        },
        SelectionSpec {
            ids: vec![],
            names: vec!["orders".into()],
        },
    ] {
        let (usable, refused) = select_usable(&m, &spec).unwrap();
        assert!(usable.is_empty(), "{usable:?}");
        assert_eq!(refused[0].asset, "dataset/s1", "{refused:?}");
    }
}

#[test]
fn levels_put_dependencies_first() {
    let m = members();
    let all: BTreeSet<AssetKey> = m.assets.keys().cloned().collect();
    let levels = levels(&all, &m, false);
    let names: Vec<Vec<String>> = levels
        .iter()
        .map(|l| l.iter().map(|k| k.to_string()).collect())
        .collect();
    assert_eq!(
        names,
        vec![
            vec!["datasource/ds1", "folder/f1"],
            vec!["dataset/s1", "dataset/s2"],
            vec!["dashboard/d1", "dashboard/d2"],
        ]
    );
    let apart = super::levels(&all, &m, true);
    assert_eq!(apart.len(), 3);
    assert!(apart[0].contains(&key(AssetType::Folder, "f1")));
    let mut cyclic = m.clone();
    if let Some(ds) = cyclic.assets.get_mut(&key(AssetType::DataSource, "ds1")) {
        ds.references.insert(key(AssetType::Dashboard, "d1"));
    }
    let levels = super::levels(&all, &cyclic, false);
    assert_eq!(levels.iter().map(Vec::len).sum::<usize>(), 6, "{levels:?}");
}
