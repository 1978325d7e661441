//! Deterministic generation of realistic accounts from a profile and a seed:
//! every asset type, the assets QuickSight cannot export, broken references,
//! definition errors, nested folders, several namespaces and hundreds of users.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Map, Value};

use crate::account::Account;
use crate::model::{Arns, Asset, AssetType, Brand, Definition, FolderMember, Group, Namespace, Permission, Tag, User};

/// Account sizes: `small` about 60 assets, `medium` about 1,000, `large` about 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Empty,
    Small,
    Medium,
    Large,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "empty" => Ok(Profile::Empty),
            "small" => Ok(Profile::Small),
            "medium" => Ok(Profile::Medium),
            "large" => Ok(Profile::Large),
            other => Err(format!(
                "unknown profile {other:?}: expected empty, small, medium or large"
            )),
        }
    }
}

struct Sizes {
    vpc: usize,
    data_sources: usize,
    data_sets: usize,
    themes: usize,
    analyses: usize,
    dashboards: usize,
    folders: usize,
    topics: usize,
    namespaces: usize,
    users: usize,
    groups: usize,
}

impl Profile {
    fn sizes(self) -> Option<Sizes> {
        let s = match self {
            Profile::Empty => return None,
            Profile::Small => Sizes {
                vpc: 2,
                data_sources: 6,
                data_sets: 12,
                themes: 3,
                analyses: 10,
                dashboards: 12,
                folders: 5,
                topics: 2,
                namespaces: 2,
                users: 40,
                groups: 6,
            },
            Profile::Medium => Sizes {
                vpc: 8,
                data_sources: 60,
                data_sets: 240,
                themes: 15,
                analyses: 250,
                dashboards: 330,
                folders: 60,
                topics: 12,
                namespaces: 3,
                users: 320,
                groups: 30,
            },
            Profile::Large => Sizes {
                vpc: 40,
                data_sources: 600,
                data_sets: 2400,
                themes: 60,
                analyses: 2600,
                dashboards: 3700,
                folders: 500,
                topics: 60,
                namespaces: 4,
                users: 2500,
                groups: 200,
            },
        };
        Some(s)
    }
}

/// Kinds of data source that export, each generated with its parameters: the kind is the
/// DataSourceType, except `RDS_INSTANCE`, which is typed by its engine (see [`RDS_ENGINES`]).
const SUPPORTED_SOURCES: &[&str] = &[
    "ATHENA",
    "REDSHIFT",
    "POSTGRESQL",
    "MYSQL",
    "SNOWFLAKE",
    "S3",
    "AURORA_POSTGRESQL",
    "SQLSERVER",
    "RDS_INSTANCE",
];
/// Engines an RDS-backed source is typed by: QuickSight has no `RDS` DataSourceType; a source
/// built on an RDS instance carries `RdsParameters` and the engine's type.
const RDS_ENGINES: &[&str] = &["MYSQL", "POSTGRESQL", "MARIADB", "ORACLE", "SQLSERVER"];
/// Data source types the AssetsAsBundle APIs refuse (QUICKSIGHT_FACTS.md).
pub const UNSUPPORTED_SOURCE_TYPES: &[&str] = &[
    "ADOBE_ANALYTICS",
    "GITHUB",
    "JIRA",
    "SALESFORCE",
    "SERVICENOW",
    "TWITTER",
];

const EPOCH_BASE: f64 = 1_672_531_200.0; // 2023-01-01

struct Gen<'a> {
    rng: ChaCha8Rng,
    arns: Arns<'a>,
    account: Account,
    principals: Vec<String>,
}

/// Generates the account `account_id` for `profile` and `seed`.
pub fn generate(profile: Profile, seed: u64, account_id: &str, region: &str, identity_region: &str) -> Account {
    let mut account = Account::empty(account_id, region, EPOCH_BASE);
    let Some(sizes) = profile.sizes() else {
        return account;
    };
    account.namespaces.clear();
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        arns: Arns {
            region,
            identity_region,
            account: account_id,
        },
        account,
        principals: Vec::new(),
    };
    g.identities(&sizes);
    g.account_config(&sizes);
    let vpcs = g.vpc_connections(sizes.vpc);
    let sources = g.data_sources(sizes.data_sources, &vpcs);
    let (data_sets, clean_data_sets) = g.data_sets(sizes.data_sets, &sources);
    let themes = g.themes(sizes.themes);
    let analyses = g.sheets_assets(AssetType::Analysis, sizes.analyses, &clean_data_sets, &themes);
    let dashboards = g.sheets_assets(AssetType::Dashboard, sizes.dashboards, &clean_data_sets, &themes);
    g.topics(sizes.topics, &clean_data_sets);
    g.folders(sizes.folders, &[&analyses, &dashboards, &data_sets]);
    g.account
}

impl Gen<'_> {
    fn time(&mut self) -> (f64, f64) {
        let created = EPOCH_BASE + self.rng.random_range(0..60_000_000) as f64;
        let updated = created + self.rng.random_range(0..20_000_000) as f64;
        (created, updated)
    }

    fn uuid(&mut self) -> String {
        let a: u128 = self.rng.random();
        let h = format!("{a:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn permissions(&mut self, actions: &[&str]) -> Vec<Permission> {
        let n = self.rng.random_range(1..=3).min(self.principals.len());
        let mut chosen: Vec<String> = self.principals.sample(&mut self.rng, n).cloned().collect();
        chosen.sort();
        chosen
            .into_iter()
            .map(|principal| Permission {
                principal,
                actions: actions.iter().map(|a| a.to_string()).collect(),
            })
            .collect()
    }

    fn tags(&mut self) -> Vec<Tag> {
        let teams = ["finance", "sales", "ops", "hr", "marketing"];
        let mut tags = vec![Tag {
            key: "team".into(),
            value: teams.choose(&mut self.rng).copied().unwrap_or("ops").into(),
        }];
        if self.rng.random_bool(0.5) {
            tags.push(Tag {
                key: "env".into(),
                value: "prod".into(),
            });
        }
        tags
    }

    fn asset(&mut self, id: String, name: String, body: Map<String, Value>, actions: &[&str]) -> Asset {
        let (created, updated) = self.time();
        let permissions = self.permissions(actions);
        let tags = self.tags();
        Asset {
            id,
            name,
            created,
            updated,
            body,
            definition: None,
            permissions,
            tags,
            refresh_schedules: Vec::new(),
            definition_error: false,
            ml_columns: false,
            version: 1,
        }
    }

    fn identities(&mut self, s: &Sizes) {
        let custom = ["analytics", "partners", "emea", "apac"];
        let mut names = vec!["default".to_string()];
        names.extend(
            custom
                .iter()
                .take(s.namespaces.saturating_sub(1))
                .map(|n| n.to_string()),
        );
        let roles = [
            "ADMIN",
            "AUTHOR",
            "READER",
            "ADMIN_PRO",
            "AUTHOR_PRO",
            "READER_PRO",
            "RESTRICTED_READER",
        ];
        let first = [
            "ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lea", "mo", "nia",
            "omar", "pia",
        ];
        for (ni, ns) in names.iter().enumerate() {
            let users_here = if ni == 0 {
                s.users * 6 / 10
            } else {
                s.users * 4 / 10 / (names.len() - 1).max(1)
            };
            let mut users = BTreeMap::new();
            for i in 0..users_here.max(3) {
                let identity_type = match i % 5 {
                    0 | 1 => "QUICKSIGHT",
                    2 | 3 => "IAM",
                    _ => "IAM_IDENTITY_CENTER",
                };
                let base = format!("{}.{}{}", first[i % first.len()], ns, i);
                let user_name = match identity_type {
                    "IAM" => format!("QuickSightRole/{base}"),
                    _ => base.clone(),
                };
                let user = User {
                    user_name: user_name.clone(),
                    email: Some(format!("{base}@example.com")),
                    role: roles[(i * 3 + ni) % roles.len()].to_string(),
                    identity_type: identity_type.to_string(),
                    active: i % 11 != 7,
                    principal_id: format!("federated/iam/AIDA{:016X}", self.rng.random::<u64>()),
                    custom_permissions_name: (i % 13 == 3).then(|| "restricted-export".to_string()),
                    external_login_federation_provider_type: (i % 17 == 5).then(|| "COGNITO".to_string()),
                    external_login_id: (i % 17 == 5).then(|| format!("ext-{i}")),
                };
                users.insert(user_name, user);
            }
            let user_names: Vec<String> = users.keys().cloned().collect();
            let mut groups = BTreeMap::new();
            let groups_here = if ni == 0 { s.groups } else { (s.groups / 3).max(2) };
            for gi in 0..groups_here {
                let group_name = format!("{ns}-team-{gi:03}");
                // The last group of each namespace stays empty: DynamoDB refuses empty sets.
                let members: BTreeSet<String> = if gi + 1 == groups_here {
                    BTreeSet::new()
                } else {
                    let n = self.rng.random_range(1..=user_names.len().min(25));
                    user_names.sample(&mut self.rng, n).cloned().collect()
                };
                groups.insert(
                    group_name.clone(),
                    Group {
                        group_name,
                        description: (gi % 3 != 0).then(|| format!("Team {gi} of {ns}")),
                        principal_id: format!("group/d-{:010x}/{}", self.rng.random::<u64>() >> 24, self.uuid()),
                        members,
                    },
                );
            }
            if ni == 0 {
                for u in users.values().filter(|u| u.active).take(12) {
                    self.principals.push(self.arns.user(ns, &u.user_name));
                }
                for gname in groups.keys().take(4) {
                    self.principals.push(self.arns.group(ns, gname));
                }
            }
            self.account.namespaces.insert(
                ns.clone(),
                Namespace {
                    name: ns.clone(),
                    capacity_region: self.arns.region.to_string(),
                    created: EPOCH_BASE + ni as f64 * 86_400.0,
                    users,
                    groups,
                },
            );
        }
    }

    fn account_config(&mut self, _s: &Sizes) {
        let names: Vec<String> = self.account.namespaces.keys().cloned().collect();
        for (i, ns) in names.iter().enumerate() {
            if ns == "default" || i % 2 == 1 {
                self.account.customizations.insert(
                    ns.clone(),
                    json!({"DefaultTheme": "arn:aws:quicksight::aws:theme/MIDNIGHT"}),
                );
            }
        }
        for (i, brand) in ["Corporate", "Partner Portal"].iter().enumerate() {
            let id = format!("brand-{}", i + 1);
            self.account.brands.insert(
                id.clone(),
                Brand {
                    id,
                    created: EPOCH_BASE + 1000.0 * i as f64,
                    updated: EPOCH_BASE + 5000.0 * i as f64,
                    definition: json!({
                        "BrandName": brand,
                        "Description": format!("{brand} look and feel"),
                        "ApplicationTheme": {"BrandColorPalette": {
                            "Primary": {"Foreground": "#FFFFFF", "Background": "#0B5394"},
                            "Secondary": {"Foreground": "#000000", "Background": "#CFE2F3"}}}
                    }),
                },
            );
        }
        for (name, state) in [
            ("restricted-export", "DENY"),
            ("authors-no-share", "DENY"),
            ("power-readers", "ALLOW"),
        ] {
            self.account.custom_permissions.insert(
                name.to_string(),
                json!({"CustomPermissionsName": name, "Capabilities": {
                    "ExportToCsv": state, "ExportToExcel": state, "ShareDashboards": state, "PrintReports": "ALLOW"}}),
            );
        }
    }

    fn vpc_connections(&mut self, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..n {
            let id = format!("vpc-conn-{i:03}");
            let body = json!({
                "VPCId": format!("vpc-{:08x}", self.rng.random::<u32>()),
                "SecurityGroupIds": [format!("sg-{:08x}", self.rng.random::<u32>())],
                "DnsResolvers": ["10.0.0.2"],
                "Status": "CREATION_SUCCESSFUL",
                "AvailabilityStatus": "AVAILABLE",
                "NetworkInterfaces": [{"SubnetId": format!("subnet-{:08x}", self.rng.random::<u32>()),
                    "AvailabilityZone": format!("{}a", self.arns.region), "Status": "AVAILABLE",
                    "NetworkInterfaceId": format!("eni-{:08x}", self.rng.random::<u32>())}],
                "RoleArn": format!("arn:aws:iam::{}:role/quicksight-vpc", self.arns.account)
            });
            let a = self.asset(id.clone(), format!("VPC connection {i}"), obj(body), &[]);
            self.account.insert(AssetType::VpcConnection, a);
            ids.push(id);
        }
        ids
    }

    fn data_sources(&mut self, n: usize, vpcs: &[String]) -> Vec<String> {
        let actions = [
            "quicksight:DescribeDataSource",
            "quicksight:DescribeDataSourcePermissions",
            "quicksight:PassDataSource",
        ];
        let mut exportable = Vec::new();
        for i in 0..n {
            let id = format!("ds-{i:04}");
            let kind = SUPPORTED_SOURCES[i % SUPPORTED_SOURCES.len()];
            let mut body = Map::new();
            let (t, params) = match kind {
                "ATHENA" => ("ATHENA", json!({"AthenaParameters": {"WorkGroup": "primary"}})),
                "REDSHIFT" => (
                    "REDSHIFT",
                    json!({"RedshiftParameters": {"Host": format!("cluster-{i}.example.com"), "Port": 5439, "Database": "dev"}}),
                ),
                "POSTGRESQL" => (
                    "POSTGRESQL",
                    json!({"PostgreSqlParameters": {"Host": format!("pg-{i}.example.com"), "Port": 5432, "Database": "sales"}}),
                ),
                "MYSQL" => (
                    "MYSQL",
                    json!({"MySqlParameters": {"Host": format!("mysql-{i}.example.com"), "Port": 3306, "Database": "app"}}),
                ),
                "SNOWFLAKE" => (
                    "SNOWFLAKE",
                    json!({"SnowflakeParameters": {"Host": "acme.snowflakecomputing.com", "Database": "BI", "Warehouse": "WH"}}),
                ),
                "S3" => (
                    "S3",
                    json!({"S3Parameters": {"ManifestFileLocation": {"Bucket": "acme-data", "Key": format!("manifests/{i}.json")}}}),
                ),
                "AURORA_POSTGRESQL" => (
                    "AURORA_POSTGRESQL",
                    json!({"AuroraPostgreSqlParameters": {"Host": format!("aurora-{i}.example.com"), "Port": 5432, "Database": "dw"}}),
                ),
                "SQLSERVER" => (
                    "SQLSERVER",
                    json!({"SqlServerParameters": {"Host": format!("mssql-{i}.example.com"), "Port": 1433, "Database": "erp"}}),
                ),
                _ => (
                    RDS_ENGINES[(i / SUPPORTED_SOURCES.len()) % RDS_ENGINES.len()],
                    json!({"RdsParameters": {"InstanceId": format!("db-{i}"), "Database": "ops"}}),
                ),
            };
            body.insert("Type".into(), json!(t));
            body.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
            body.insert("DataSourceParameters".into(), params);
            body.insert("SslProperties".into(), json!({"DisableSsl": false}));
            if !vpcs.is_empty() && i % 4 == 1 && t != "ATHENA" && t != "S3" {
                let vpc = &vpcs[i % vpcs.len()];
                body.insert(
                    "VpcConnectionProperties".into(),
                    json!({"VpcConnectionArn": self.arns.asset(AssetType::VpcConnection, vpc)}),
                );
            }
            if i % 3 == 0 {
                body.insert(
                    "SecretArn".into(),
                    json!(format!(
                        "arn:aws:secretsmanager:{}:{}:secret:qs/{id}-AbCdEf",
                        self.arns.region, self.arns.account
                    )),
                );
            }
            let a = self.asset(id.clone(), format!("{} source {i}", t.to_lowercase()), body, &actions);
            self.account.insert(AssetType::DataSource, a);
            exportable.push(id);
        }
        // One of every type the bundle APIs refuse.
        for (j, t) in UNSUPPORTED_SOURCE_TYPES.iter().enumerate() {
            let id = format!("ds-unsupported-{}", t.to_lowercase().replace('_', "-"));
            let params = match *t {
                "JIRA" => json!({"JiraParameters": {"SiteBaseUrl": "https://acme.atlassian.net"}}),
                "SERVICENOW" => {
                    json!({"ServiceNowParameters": {"SiteBaseUrl": "https://acme.service-now.com"}})
                }
                "TWITTER" => json!({"TwitterParameters": {"Query": "#acme", "MaxRows": 1000}}),
                _ => Value::Null,
            };
            let mut body = Map::new();
            body.insert("Type".into(), json!(t));
            body.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
            if !params.is_null() {
                body.insert("DataSourceParameters".into(), params);
            }
            let a = self.asset(
                id.clone(),
                format!("{} connector {j}", t.to_lowercase()),
                body,
                &actions,
            );
            self.account.insert(AssetType::DataSource, a);
        }
        // An S3 data source made from an uploaded manifest: no S3Parameters.
        let mut body = Map::new();
        body.insert("Type".into(), json!("S3"));
        body.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
        let a = self.asset(
            "ds-s3-local-manifest".into(),
            "uploaded manifest".into(),
            body,
            &actions,
        );
        self.account.insert(AssetType::DataSource, a);
        // A VPC connection id QuickSight's bundle APIs cannot take.
        let mut body = Map::new();
        body.insert("Type".into(), json!("POSTGRESQL"));
        body.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
        body.insert(
            "DataSourceParameters".into(),
            json!({"PostgreSqlParameters": {"Host": "legacy.example.com", "Port": 5432, "Database": "legacy"}}),
        );
        body.insert("VpcConnectionProperties".into(), json!({"VpcConnectionArn": format!("arn:aws:quicksight:{}:{}:vpcConnection/legacy vpc (old)", self.arns.region, self.arns.account)}));
        let a = self.asset("ds-invalid-vpc-id".into(), "legacy postgres".into(), body, &actions);
        self.account.insert(AssetType::DataSource, a);
        exportable
    }

    fn columns(&mut self) -> Vec<(String, &'static str)> {
        let names = [
            "order_id",
            "customer",
            "region",
            "amount",
            "quantity",
            "order_date",
            "channel",
            "margin",
            "segment",
            "country",
            "product",
            "discount",
        ];
        let types = ["STRING", "INTEGER", "DECIMAL", "DATETIME"];
        let n = self.rng.random_range(5..=names.len());
        names[..n]
            .iter()
            .map(|c| (c.to_string(), *types.choose(&mut self.rng).unwrap_or(&"STRING")))
            .collect()
    }

    /// All datasets, and those that export cleanly (what most analyses use).
    fn data_sets(&mut self, n: usize, sources: &[String]) -> (Vec<String>, Vec<String>) {
        let actions = [
            "quicksight:DescribeDataSet",
            "quicksight:DescribeDataSetPermissions",
            "quicksight:PassDataSet",
            "quicksight:DescribeIngestion",
            "quicksight:ListIngestions",
        ];
        let mut ids = Vec::new();
        let mut clean = Vec::new();
        let mut schedule_no = 0usize;
        let unsupported: Vec<String> = UNSUPPORTED_SOURCE_TYPES
            .iter()
            .map(|t| format!("ds-unsupported-{}", t.to_lowercase().replace('_', "-")))
            .collect();
        for i in 0..n {
            let id = format!("dataset-{i:04}");
            let cols = self.columns();
            // Mostly supported sources; a few datasets sit on unsupported ones.
            let source_id = match i {
                1 => unsupported[0].clone(),
                4 => unsupported[2].clone(),
                6 => "ds-s3-local-manifest".to_string(),
                8 => "ds-invalid-vpc-id".to_string(),
                _ => sources[i % sources.len()].clone(),
            };
            let source_arn = if i == 9 {
                // Broken reference: the data source was deleted.
                self.arns.asset(AssetType::DataSource, "ds-deleted-long-ago")
            } else {
                self.arns.asset(AssetType::DataSource, &source_id)
            };
            let input_columns: Vec<Value> = cols.iter().map(|(c, t)| json!({"Name": c, "Type": t})).collect();
            let physical = if i == 3 || (i > 20 && i % 37 == 3) {
                // A file upload: S3Source with UploadSettings on a hidden data source.
                let upload = format!("upload-{}", self.uuid());
                json!({"S3Source": {"DataSourceArn": self.arns.asset(AssetType::DataSource, &upload),
                    "UploadSettings": {"Format": "CSV", "StartFromRow": 1, "ContainsHeader": true, "TextQualifier": "DOUBLE_QUOTE", "Delimiter": ","},
                    "InputColumns": input_columns}})
            } else if i % 3 == 0 {
                json!({"CustomSql": {"DataSourceArn": source_arn, "Name": format!("query {i}"),
                    "SqlQuery": format!("SELECT * FROM sales.orders_{i} WHERE order_date > current_date - interval '90' day"),
                    "Columns": input_columns}})
            } else {
                json!({"RelationalTable": {"DataSourceArn": source_arn, "Schema": "public", "Name": format!("orders_{i}"), "InputColumns": input_columns}})
            };
            let pt = format!("pt-{}", self.uuid());
            let calculated = calculated_column(i, &physical);
            let mut body = Map::new();
            body.insert("PhysicalTableMap".into(), json!({ pt.clone(): physical }));
            let mut projected: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
            let mut outputs: Vec<Value> = cols.iter().map(|(c, t)| json!({"Name": c, "Type": if *t == "STRING" {"STRING"} else if *t == "INTEGER" {"INTEGER"} else if *t == "DECIMAL" {"DECIMAL"} else {"DATETIME"}})).collect();
            let mut transforms = Vec::new();
            if let Some(calc) = calculated {
                projected.push(calc.name.into());
                outputs.push(json!({"Name": calc.name, "Type": calc.output_type}));
                transforms.push(json!({"CreateColumnsOperation": {"Columns": [
                    {"ColumnName": calc.name, "ColumnId": calc.id, "Expression": calc.expression}]}}));
            }
            transforms.push(json!({"ProjectOperation": {"ProjectedColumns": projected}}));
            body.insert("LogicalTableMap".into(), json!({ format!("lt-{}", &pt[3..11]): {"Alias": format!("orders {i}"), "Source": {"PhysicalTableId": pt},
                "DataTransforms": transforms}}));
            body.insert("OutputColumns".into(), Value::Array(outputs));
            let spice = i % 2 == 0;
            body.insert("ImportMode".into(), json!(if spice { "SPICE" } else { "DIRECT_QUERY" }));
            if spice {
                body.insert(
                    "ConsumedSpiceCapacityInBytes".into(),
                    json!(self.rng.random_range(10_000..50_000_000u64)),
                );
            }
            // Row-level security from an earlier rules dataset.
            if i % 10 == 7 {
                body.insert("RowLevelPermissionDataSet".into(), json!({"Namespace": "default", "Arn": self.arns.asset(AssetType::DataSet, &format!("dataset-{:04}", i - 5)),
                    "PermissionPolicy": "GRANT_ACCESS", "FormatVersion": "VERSION_1", "Status": "ENABLED"}));
            }
            let mut a = self.asset(id.clone(), format!("Orders dataset {i}"), body, &actions);
            a.ml_columns = i == 11 || (i > 20 && i % 97 == 11);
            if spice {
                let schedules = self.rng.random_range(0..=5);
                for k in 0..schedules {
                    schedule_no += 1;
                    let sid = format!("sched-{schedule_no:05}");
                    let interval = ["DAILY", "HOURLY", "WEEKLY", "MONTHLY", "MINUTE30"][k % 5];
                    let mut freq = json!({"Interval": interval, "Timezone": "UTC", "TimeOfTheDay": "03:00"});
                    if interval == "WEEKLY" {
                        freq["RefreshOnDay"] = json!({"DayOfWeek": "MONDAY"});
                    }
                    if interval == "MONTHLY" {
                        freq["RefreshOnDay"] = json!({"DayOfMonth": "1"});
                    }
                    a.refresh_schedules
                        .push(json!({"ScheduleId": sid, "ScheduleFrequency": freq,
                        "StartAfterDateTime": EPOCH_BASE + 86_400.0 * k as f64,
                        "RefreshType": if k == 0 { "FULL_REFRESH" } else { "INCREMENTAL_REFRESH" },
                        "Arn": format!("{}/refresh-schedule/{sid}", self.arns.asset(AssetType::DataSet, &id))}));
                }
            }
            let special = [1, 3, 4, 6, 8, 9].contains(&i) || (i > 20 && i % 37 == 3) || a.ml_columns;
            self.account.insert(AssetType::DataSet, a);
            if !special {
                clean.push(id.clone());
            }
            ids.push(id);
        }
        (ids, clean)
    }

    fn themes(&mut self, n: usize) -> Vec<String> {
        let actions = [
            "quicksight:DescribeTheme",
            "quicksight:DescribeThemeAlias",
            "quicksight:ListThemeVersions",
        ];
        let mut ids = Vec::new();
        for i in 0..n {
            let id = format!("theme-{i:03}");
            let colors: Vec<String> = (0..8)
                .map(|_| format!("#{:06X}", self.rng.random::<u32>() & 0xFF_FFFF))
                .collect();
            let base = ["CLASSIC", "MIDNIGHT", "SEASIDE", "RAINIER"][i % 4];
            let body = obj(json!({"BaseThemeId": base,
                "Description": format!("Brand theme {i}")}));
            let mut a = self.asset(id.clone(), format!("Brand theme {i}"), body, &actions);
            a.definition = Some(Definition::Stored(
                json!({"DataColorPalette": {"Colors": colors, "EmptyFillColor": "#FFFFFF"},
                "UIColorPalette": {"PrimaryForeground": "#111111", "PrimaryBackground": "#FAFAFA"},
                "Sheet": {"Tile": {"Border": {"Show": true}}}, "Typography": {"FontFamilies": [{"FontFamily": "Amazon Ember"}]}}),
            ));
            self.account.insert(AssetType::Theme, a);
            ids.push(id);
        }
        ids
    }

    fn sheets_assets(&mut self, t: AssetType, n: usize, data_sets: &[String], themes: &[String]) -> Vec<String> {
        let actions: &[&str] = if t == AssetType::Dashboard {
            &[
                "quicksight:DescribeDashboard",
                "quicksight:ListDashboardVersions",
                "quicksight:QueryDashboard",
            ]
        } else {
            &[
                "quicksight:DescribeAnalysis",
                "quicksight:QueryAnalysis",
                "quicksight:UpdateAnalysis",
            ]
        };
        let prefix = if t == AssetType::Dashboard {
            "dashboard"
        } else {
            "analysis"
        };
        let mut ids = Vec::new();
        for i in 0..n {
            let id = format!("{prefix}-{i:04}");
            let k = self.rng.random_range(1..=3usize);
            let mut chosen: Vec<String> = data_sets.sample(&mut self.rng, k).cloned().collect();
            chosen.sort();
            let mut arns: Vec<String> = chosen.iter().map(|d| self.arns.asset(AssetType::DataSet, d)).collect();
            // A sprinkling of assets built on datasets that cannot be exported
            // (unsupported source, ML columns) or whose data source is gone.
            let special = match i % 50 {
                2 => Some("dataset-0001"),
                4 => Some("dataset-0011"),
                7 => Some("dataset-0009"),
                _ => None,
            };
            if let Some(d) = special.filter(|d| self.account.asset(AssetType::DataSet, d).is_some()) {
                arns.push(self.arns.asset(AssetType::DataSet, d));
            }
            let mut body = Map::new();
            body.insert("DataSetArns".into(), json!(arns));
            if !themes.is_empty() && i % 3 == 0 {
                let theme_arn = if t == AssetType::Dashboard && i == 6 {
                    // Broken reference: the theme was deleted.
                    self.arns.asset(AssetType::Theme, "theme-deleted")
                } else {
                    self.arns.asset(AssetType::Theme, &themes[i % themes.len()])
                };
                body.insert("ThemeArn".into(), json!(theme_arn));
            }
            let sheets: Vec<Value> = (0..self.rng.random_range(1..=4))
                .map(|s| json!({"SheetId": format!("sheet-{s}"), "Name": format!("Sheet {}", s + 1)}))
                .collect();
            body.insert("Sheets".into(), Value::Array(sheets));
            body.insert("Status".into(), json!("CREATION_SUCCESSFUL"));
            let name = format!(
                "{} {i}",
                if t == AssetType::Dashboard {
                    "Sales dashboard"
                } else {
                    "Sales analysis"
                }
            );
            let mut a = self.asset(id.clone(), name, body, actions);
            a.definition = Some(Definition::Generated {
                seed: self.rng.random(),
                visuals: self.rng.random_range(20..60),
            });
            a.definition_error = i == 5 || (i > 20 && i % 113 == 5);
            if t == AssetType::Dashboard {
                a.version = self.rng.random_range(1..=12);
            }
            self.account.insert(t, a);
            ids.push(id);
        }
        ids
    }

    fn topics(&mut self, n: usize, data_sets: &[String]) {
        for i in 0..n {
            let id = format!("topic-{i:03}");
            let ds = data_sets[(i * 7 + 2) % data_sets.len()].clone();
            let body = obj(
                json!({"Description": format!("Ask questions about orders {i}"), "UserExperienceVersion": "NEW_READER_EXPERIENCE",
                "DataSets": [{"DatasetArn": self.arns.asset(AssetType::DataSet, &ds), "DatasetName": format!("Orders {i}")}]}),
            );
            let a = self.asset(id, format!("Orders topic {i}"), body, &["quicksight:DescribeTopic"]);
            self.account.insert(AssetType::Topic, a);
        }
    }

    fn folders(&mut self, n: usize, member_pools: &[&Vec<String>]) {
        let actions = [
            "quicksight:DescribeFolder",
            "quicksight:CreateFolderMembership",
            "quicksight:DeleteFolderMembership",
        ];
        let mut ids: Vec<String> = Vec::new();
        for i in 0..n {
            let id = format!("folder-{i:03}");
            let mut body = Map::new();
            body.insert("FolderType".into(), json!("SHARED"));
            body.insert("SharingModel".into(), json!("ACCOUNT"));
            // Nest up to three levels: every third folder under an earlier one.
            if i >= 3 && i % 3 != 0 {
                let parent = ids[i / 3 - 1 + usize::from(i % 3 == 2)].clone();
                body.insert(
                    "ParentFolderArn".into(),
                    json!(self.arns.asset(AssetType::Folder, &parent)),
                );
            }
            let a = self.asset(id.clone(), format!("Team folder {i}"), body, &actions);
            self.account.insert(AssetType::Folder, a);
            let mut members = BTreeSet::new();
            for (pi, pool) in member_pools.iter().enumerate() {
                let asset_type = [AssetType::Analysis, AssetType::Dashboard, AssetType::DataSet][pi];
                for m in pool.sample(&mut self.rng, 3) {
                    members.insert(FolderMember {
                        asset_type,
                        id: m.clone(),
                    });
                }
            }
            self.account.folder_members.insert(id.clone(), members);
            ids.push(id);
        }
    }
}

/// A calculated column of a generated dataset.
struct Calculated {
    name: &'static str,
    id: String,
    expression: &'static str,
    output_type: &'static str,
}

/// The calculated column of dataset `i`, if it has one: every 4th dataset read
/// with SQL or from a table carries one, as datasets edited in the console
/// commonly do. Chosen by index, not drawn, so the generator's sequence (and
/// so every other asset of a seed) stays what it was. `region` and `customer`
/// are among the columns every generated dataset has.
fn calculated_column(i: usize, physical: &Value) -> Option<Calculated> {
    let sql_or_table = physical.get("CustomSql").is_some() || physical.get("RelationalTable").is_some();
    (i % 4 == 2 && sql_or_table).then(|| Calculated {
        name: "region_customer",
        id: format!("calc-{i:04}-region-customer"),
        expression: "concat(toString({region}), ' / ', toString({customer}))",
        output_type: "STRING",
    })
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
