//! Member rewriting: ARNs moved, ids prefixed, permissions mapped or dropped, overrides applied.

use super::*;
use crate::restore::identities::{Naming, Principals};
use crate::restore::members::{AssetMember, MemberJson};
use serde_json::json;
use std::path::Path;

const SRC: &str = "123456789012";
const DST: &str = "210987654321";

fn member(json: Value) -> AssetMember {
    let t = AssetType::from_name(json["resourceType"].as_str().unwrap()).unwrap();
    let id = json[id_field(t)].as_str().unwrap().to_string();
    AssetMember {
        key: AssetKey::new(t, &id),
        name: id.clone(),
        size: json.to_string().len(),
        references: BTreeSet::new(),
        json: MemberJson::new(&json),
    }
}

fn with_context(mapping: &Mapping, f: impl FnOnce(&Context)) {
    with_context_in("eu-west-1", "us-east-1", mapping, f)
}

fn with_context_in(region: &str, identity_region: &str, mapping: &Mapping, f: impl FnOnce(&Context)) {
    let snapshot: BTreeSet<AssetKey> = [
        AssetKey::new(AssetType::Dashboard, "d1"),
        AssetKey::new(AssetType::DataSet, "s1"),
        AssetKey::new(AssetType::DataSource, "ds1"),
    ]
    .into_iter()
    .collect();
    let naming = Naming::new(mapping, None, None, false, DST, "aws");
    let mut principals = Principals::default();
    principals.insert(PrincipalKind::User, "default", "ana");
    principals.insert(PrincipalKind::Group, "default", "dr-team");
    let ctx = Context {
        source_account: SRC,
        target_account: DST,
        target_region: region,
        target_identity_region: identity_region,
        prefix: "dr-",
        snapshot_assets: &snapshot,
        naming: &naming,
        principals: Some(&principals),
        mapping,
    };
    f(&ctx)
}

#[test]
fn a_dashboard_moves_with_its_references_and_permissions() {
    let mapping = Mapping::parse("groups: {team: dr-team}\ntags: {restored: 'yes'}", Path::new("o.yaml")).unwrap();
    let d = member(json!({
        "resourceType": "dashboard", "dashboardId": "d1", "name": "Sales",
        "dataSetArns": [format!("arn:aws:quicksight:us-east-1:{SRC}:dataset/s1"),
                        format!("arn:aws:quicksight:us-east-1:{SRC}:dataset/elsewhere")],
        "sourceEntity": {"arn": "arn:aws:quicksight:us-east-1:999999999999:template/shared"},
        "permissions": [
            {"principal": format!("arn:aws:quicksight:us-east-1:{SRC}:user/default/ana"), "actions": ["quicksight:QueryDashboard"]},
            {"principal": format!("arn:aws:quicksight:us-east-1:{SRC}:group/default/team"), "actions": ["quicksight:DescribeDashboard"]},
            {"principal": format!("arn:aws:quicksight:us-east-1:{SRC}:user/default/gone"), "actions": ["quicksight:DescribeDashboard"]}
        ],
        "tags": [{"key": "restored", "value": "no"}, {"key": "team", "value": "sales"}]
    }));
    with_context(&mapping, |ctx| {
        let r = ctx.rewrite_asset(&d);
        let j = &r.json;
        assert_eq!(j["dashboardId"], "dr-d1");
        assert_eq!(
            j["dataSetArns"][0],
            format!("arn:aws:quicksight:eu-west-1:{DST}:dataset/dr-s1")
        );
        // Not in the snapshot: moved, not prefixed.
        assert_eq!(
            j["dataSetArns"][1],
            format!("arn:aws:quicksight:eu-west-1:{DST}:dataset/elsewhere")
        );
        assert_eq!(
            j["sourceEntity"]["arn"],
            "arn:aws:quicksight:us-east-1:999999999999:template/shared"
        );
        let principals: Vec<&str> = j["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["principal"].as_str().unwrap())
            .collect();
        assert_eq!(
            principals,
            vec![
                format!("arn:aws:quicksight:us-east-1:{DST}:user/default/ana"),
                format!("arn:aws:quicksight:us-east-1:{DST}:group/default/dr-team"),
            ]
        );
        assert_eq!(r.dropped.len(), 1);
        assert!(r.dropped[0].principal.ends_with("user/default/gone"));
        assert!(r.dropped[0].reason.contains("not a user or group of the target"));
        assert_eq!(
            j["tags"],
            json!([{"key": "team", "value": "sales"}, {"key": "restored", "value": "yes"}])
        );
        assert_eq!(
            ctx.target_arn(&d.key),
            format!("arn:aws:quicksight:eu-west-1:{DST}:dashboard/dr-d1")
        );
    });
}

#[test]
fn data_sources_take_their_overrides() {
    let mapping = Mapping::parse(
        r#"
data_sources:
  ds1:
    name: Sales DR
    secret_arn: arn:aws:secretsmanager:eu-west-1:210987654321:secret:sales
    vpc_connection_arn: arn:aws:quicksight:eu-west-1:210987654321:vpcConnection/vpc-dr
    disable_ssl: false
    data_source_parameters: {PostgreSqlParameters: {Host: dr.example.com, Port: 5432, Database: sales}}
"#,
        Path::new("o.yaml"),
    )
    .unwrap();
    let ds = member(
        json!({"resourceType": "datasource", "dataSourceId": "ds1", "name": "Sales",
        "dataSourceParameters": {"PostgreSqlParameters": {"Host": "prod.example.com", "Port": 5432, "Database": "sales"}}}),
    );
    let lower = member(
        json!({"resourceType": "datasource", "dataSourceId": "ds1", "name": "Sales",
        "dataSourceParameters": {"postgreSqlParameters": {"host": "prod.example.com"}}}),
    );
    with_context(&mapping, |ctx| {
        let r = ctx.rewrite_asset(&ds);
        assert_eq!(
            r.json["dataSourceParameters"]["PostgreSqlParameters"]["Host"],
            "dr.example.com"
        );
        let r = ctx.rewrite_asset(&lower);
        assert_eq!(
            r.json["dataSourceParameters"]["postgreSqlParameters"]["host"],
            "dr.example.com"
        );
        let o = ctx.data_source_overrides(&["ds1", "other"]);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].data_source_id(), "dr-ds1");
        assert_eq!(o[0].name(), Some("Sales DR"));
        assert_eq!(
            o[0].credentials().and_then(|c| c.secret_arn()),
            Some("arn:aws:secretsmanager:eu-west-1:210987654321:secret:sales")
        );
        assert!(o[0].vpc_connection_properties().is_some());
    });
}

#[test]
fn schedules_follow_their_dataset_and_explicit_principals_win() {
    let mapping = Mapping::parse(
        &format!(
            "principals:\n  'arn:aws:quicksight:us-east-1:{SRC}:user/default/bob': 'arn:aws:quicksight:us-east-1:{DST}:user/default/ana'\n  'arn:aws:quicksight:us-east-1:{SRC}:user/default/ana': null"
        ),
        Path::new("o.yaml"),
    )
    .unwrap();
    with_context(&mapping, |ctx| {
        let s = ScheduleMember {
            data_set_id: "s1".into(),
            schedule_id: "daily".into(),
            json: MemberJson::new(&json!({"resourceType": "refreshSchedule", "dataSetId": "s1",
                "schedule": {"scheduleId": "daily", "arn": format!("arn:aws:quicksight:us-east-1:{SRC}:dataset/s1/refresh-schedule/daily")}})),
        };
        let j = ctx.rewrite_schedule(&s);
        assert_eq!(j["dataSetId"], "dr-s1");
        assert_eq!(
            j["schedule"]["arn"],
            format!("arn:aws:quicksight:eu-west-1:{DST}:dataset/dr-s1/refresh-schedule/daily")
        );
        let bob = format!("arn:aws:quicksight:us-east-1:{SRC}:user/default/bob");
        assert_eq!(
            ctx.map_principal(&bob),
            Ok(format!("arn:aws:quicksight:us-east-1:{DST}:user/default/ana"))
        );
        let ana = format!("arn:aws:quicksight:us-east-1:{SRC}:user/default/ana");
        assert_eq!(ctx.map_principal(&ana), Err("dropped by the overrides file".into()));
        let foreign = "arn:aws:quicksight:us-east-1:555555555555:user/default/x";
        assert!(ctx.map_principal(foreign).is_err());
    });
}

#[test]
fn restored_arns_are_in_the_partition_of_the_target_region() {
    let mapping = Mapping::default();
    for (region, partition) in [
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("eu-west-1", "aws"),
    ] {
        with_context_in(region, region, &mapping, |ctx| {
            let d1 = AssetKey::new(AssetType::Dashboard, "d1");
            assert_eq!(
                ctx.target_arn(&d1),
                format!("arn:{partition}:quicksight:{region}:{DST}:dashboard/dr-d1")
            );
            let moved = ctx.move_string(&format!("arn:aws:quicksight:us-east-1:{SRC}:dataset/s1"));
            assert_eq!(
                moved.as_deref(),
                Some(format!("arn:{partition}:quicksight:{region}:{DST}:dataset/dr-s1").as_str())
            );
            let user = ctx.map_principal(&format!("arn:aws:quicksight:us-east-1:{SRC}:user/default/ana"));
            assert_eq!(
                user.as_deref(),
                Ok(format!("arn:{partition}:quicksight:{region}:{DST}:user/default/ana").as_str())
            );
        });
    }
}
