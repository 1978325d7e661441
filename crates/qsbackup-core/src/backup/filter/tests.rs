//! One test per filter rule, over hand-built inventories.

use super::*;

const ACCOUNT: &str = "123456789012";

fn arn(t: AssetType, id: &str) -> String {
    format!("arn:aws:quicksight:us-east-1:{ACCOUNT}:{t}/{id}")
}

fn asset(t: AssetType, id: &str, deps: &[String], facts: Facts) -> Asset {
    Asset {
        asset_type: t,
        arn: arn(t, id),
        id: id.into(),
        name: format!("{id} name"),
        last_updated: None,
        depends_on: Some(deps.to_vec()),
        facts,
    }
}

fn source(id: &str, kind: &str, s3: bool, vpc: Option<&str>) -> Asset {
    let vpc_arn = vpc.map(|v| arn(AssetType::VpcConnection, v));
    asset(
        AssetType::DataSource,
        id,
        &vpc_arn.iter().cloned().collect::<Vec<_>>(),
        Facts::DataSource {
            source_type: kind.into(),
            has_s3_parameters: s3,
            vpc_connection_arn: vpc_arn,
        },
    )
}

fn data_set(id: &str, mode: &str, sources: &[&str], uploaded: &[&str]) -> Asset {
    let deps: Vec<String> = sources.iter().map(|s| arn(AssetType::DataSource, s)).collect();
    asset(
        AssetType::DataSet,
        id,
        &deps,
        Facts::DataSet {
            import_mode: Some(mode.into()),
            uploaded_file_sources: uploaded.iter().map(|s| arn(AssetType::DataSource, s)).collect(),
            describe_refused: None,
        },
    )
}

fn dashboard(id: &str, data_sets: &[&str]) -> Asset {
    let deps: Vec<String> = data_sets.iter().map(|d| arn(AssetType::DataSet, d)).collect();
    asset(AssetType::Dashboard, id, &deps, Facts::Other)
}

fn run(assets: Vec<Asset>, include_dependencies: bool) -> Selection {
    let inventory = Inventory {
        assets,
        ..Default::default()
    };
    filter(
        &inventory,
        &FilterOptions {
            asset_types: AssetType::all(),
            include_dependencies,
            account_id: ACCOUNT.into(),
        },
    )
}

fn reason_of(sel: &Selection, t: AssetType, id: &str) -> Option<SkipReason> {
    let a = arn(t, id);
    sel.skipped.iter().find(|s| s.arn == a).map(|s| s.reason)
}

#[test]
fn unsupported_data_source_types_are_skipped() {
    let sel = run(
        vec![
            source("sf", "SALESFORCE", false, None),
            source("gh", "GITHUB", false, None),
            source("pg", "POSTGRESQL", false, None),
        ],
        true,
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSource, "sf"),
        Some(SkipReason::UnsupportedDataSourceType)
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSource, "gh"),
        Some(SkipReason::UnsupportedDataSourceType)
    );
    assert_eq!(sel.exportable.len(), 1);
    assert!(sel.skipped[0].message.ends_with('.'));
}

#[test]
fn s3_without_s3_parameters_is_an_uploaded_manifest() {
    let sel = run(
        vec![source("up", "S3", false, None), source("ok", "S3", true, None)],
        true,
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSource, "up"),
        Some(SkipReason::UploadedS3Manifest)
    );
    assert_eq!(reason_of(&sel, AssetType::DataSource, "ok"), None);
}

#[test]
fn file_datasets_are_recognised_by_both_signs() {
    let sel = run(
        vec![
            source("pg", "POSTGRESQL", false, None),
            data_set("mode", "FILE", &[], &[]),
            data_set("upload", "SPICE", &["hidden"], &["hidden"]),
            data_set("fine", "SPICE", &["pg"], &[]),
        ],
        false,
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSet, "mode"),
        Some(SkipReason::FileDataSet)
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSet, "upload"),
        Some(SkipReason::FileDataSet)
    );
    assert_eq!(reason_of(&sel, AssetType::DataSet, "fine"), None);
}

#[test]
fn invalid_vpc_connection_ids_are_skipped() {
    let sel = run(
        vec![
            source("vpcds", "POSTGRESQL", false, Some("bad id!")),
            asset(AssetType::VpcConnection, "bad id!", &[], Facts::Other),
            asset(AssetType::VpcConnection, "good-id_1", &[], Facts::Other),
        ],
        false,
    );
    assert_eq!(
        reason_of(&sel, AssetType::DataSource, "vpcds"),
        Some(SkipReason::InvalidVpcConnectionId)
    );
    assert_eq!(
        reason_of(&sel, AssetType::VpcConnection, "bad id!"),
        Some(SkipReason::InvalidVpcConnectionId)
    );
    assert_eq!(reason_of(&sel, AssetType::VpcConnection, "good-id_1"), None);
}

#[test]
fn dependents_of_skipped_assets_are_skipped_only_with_dependencies() {
    let assets = vec![
        source("sf", "SALESFORCE", false, None),
        data_set("sfds", "SPICE", &["sf"], &[]),
        dashboard("dash", &["sfds"]),
    ];
    let sel = run(assets.clone(), true);
    assert_eq!(
        reason_of(&sel, AssetType::DataSet, "sfds"),
        Some(SkipReason::DependsOnSkippedAsset)
    );
    assert_eq!(
        reason_of(&sel, AssetType::Dashboard, "dash"),
        Some(SkipReason::DependsOnSkippedAsset)
    );
    let without = run(assets, false);
    assert_eq!(reason_of(&without, AssetType::Dashboard, "dash"), None);
    assert_eq!(without.exportable.len(), 2);
}

#[test]
fn references_to_missing_assets_are_skipped() {
    let mut dash = dashboard("dash", &["gone"]);
    // A built-in theme lives in the `aws` account: never missing.
    dash.depends_on
        .as_mut()
        .unwrap()
        .push("arn:aws:quicksight::aws:theme/MIDNIGHT".into());
    let sel = run(vec![data_set("orphan", "SPICE", &["deleted-source"], &[]), dash], true);
    assert_eq!(
        reason_of(&sel, AssetType::DataSet, "orphan"),
        Some(SkipReason::MissingReference)
    );
    assert_eq!(
        reason_of(&sel, AssetType::Dashboard, "dash"),
        Some(SkipReason::MissingReference)
    );
}

#[test]
fn vanished_assets_and_unselected_types() {
    let inventory = Inventory {
        assets: vec![
            source("sf", "SALESFORCE", false, None),
            data_set("sfds", "SPICE", &["sf"], &[]),
        ],
        vanished: vec![dashboard("was-here", &[])],
        notes: vec![],
    };
    let sel = filter(
        &inventory,
        &FilterOptions {
            asset_types: vec![AssetType::DataSet, AssetType::Dashboard],
            include_dependencies: true,
            account_id: ACCOUNT.into(),
        },
    );
    // The data source is judged but not reported: its type is not selected.
    assert_eq!(reason_of(&sel, AssetType::DataSource, "sf"), None);
    assert_eq!(
        reason_of(&sel, AssetType::DataSet, "sfds"),
        Some(SkipReason::DependsOnSkippedAsset)
    );
    assert_eq!(
        reason_of(&sel, AssetType::Dashboard, "was-here"),
        Some(SkipReason::DeletedDuringBackup)
    );
    let json = serde_json::to_value(&sel.skipped[0]).unwrap();
    assert_eq!(json["reason"], "depends_on_skipped_asset");
    assert_eq!(json["type"], "dataset");
}
