//! One test per config rule, plus the sample tool's configs.

use super::*;
use crate::error::Error;
use std::path::{Path, PathBuf};

const BASE: &str = r#"
aws:
  region: us-east-1
  account_id: "123456789012"
"#;

fn yaml(text: &str) -> Result<Config, Error> {
    load_str(text, ConfigFormat::Yaml, Path::new("qs.yaml"))
}

/// (key, line, message) of a config error.
fn refused(text: &str) -> (String, Option<usize>, String) {
    match yaml(text) {
        Err(Error::Config {
            key,
            line,
            message,
            file,
        }) => {
            assert_eq!(file, PathBuf::from("qs.yaml"));
            (key, line, message)
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn the_sample_tool_configs_load_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-tool-configs");
    let basic = load(&dir.join("config-basic.yaml")).unwrap();
    assert_eq!(basic.aws.account_id.as_ref().map(|a| a.as_str()), Some("123456789012"));
    assert_eq!(basic.repository_url(), "s3://my-quicksight-backups/quicksight-backups");
    assert_eq!(basic.backup.max_assets_per_bundle.get(), 50);
    let enterprise = load(&dir.join("config-enterprise.yaml")).unwrap();
    assert_eq!(enterprise.backup.max_assets_per_bundle.get(), 25);
    assert_eq!(
        enterprise.dynamodb.unwrap().users_group_table_name,
        "quicksight-users-groups-backup"
    );
    let sample = load(&dir.join("config.sample.yaml")).unwrap();
    assert_eq!(sample.aws.region.as_str(), "eu-west-1");
    assert_eq!(sample.aws.identity_region().as_str(), "us-east-1");
    assert_eq!(sample.backup.max_assets_per_bundle.get(), 99);
}

#[test]
fn defaults_fill_a_minimal_config() {
    let c = yaml(BASE).unwrap();
    assert_eq!(c.aws.identity_region(), &c.aws.region);
    assert_eq!(c.repository_url(), DEFAULT_REPOSITORY);
    assert_eq!(c.backup.max_concurrent_jobs.get(), 5);
    assert_eq!(c.backup.asset_types, AssetType::all());
    assert_eq!(c.backup.job_timeout_seconds, 1800);
    assert_eq!(c.backup.export_format, ExportFormat::QuickSightJson);
    assert_eq!(c.prefix_format(), PrefixFormat::Slashes);
}

#[test]
fn json_configs_load_by_extension() {
    let json = r#"{"aws": {"region": "us-west-2", "account_id": "123456789012"},
        "repository": "memory://x", "backup": {"asset_types": ["dashboard", "theme"]}}"#;
    let c = load_str(json, ConfigFormat::Json, Path::new("qs.json")).unwrap();
    assert_eq!(c.repository_url(), "memory://x");
    assert_eq!(c.backup.asset_types, vec![AssetType::Dashboard, AssetType::Theme]);
    let bad = load_str(
        "{\n  \"aws\": {\"region\": \"us-west-2\", \"account_id\": \"12\"}\n}",
        ConfigFormat::Json,
        Path::new("qs.json"),
    );
    match bad {
        Err(Error::Config { key, line, .. }) => {
            assert_eq!(key, "aws.account_id");
            assert_eq!(line, Some(2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ConfigFormat::from_path(Path::new("a.YML")), Some(ConfigFormat::Yaml));
    assert!(load(Path::new("config.toml")).is_err());
}

#[test]
fn account_id_must_be_12_digits() {
    let (key, line, message) = refused(&BASE.replace("\"123456789012\"", "\"12345\""));
    assert_eq!(key, "aws.account_id");
    assert_eq!(line, Some(4));
    assert!(message.contains("12 digits"), "{message}");
}

#[test]
fn regions_must_be_known() {
    let (key, _, message) = refused(&BASE.replace("us-east-1", "us-east-9"));
    assert_eq!(key, "aws.region");
    assert!(message.contains("eu-west-1"), "lists what is accepted: {message}");
    let (key, _, _) = refused(&format!("{BASE}  identity_region: mars-1\n"));
    assert_eq!(key, "aws.identity_region");
}

#[test]
fn bundle_size_is_1_to_100() {
    for bad in ["0", "101", "-3"] {
        let (key, line, message) = refused(&format!("{BASE}backup:\n  max_assets_per_bundle: {bad}\n"));
        assert_eq!(key, "backup.max_assets_per_bundle");
        assert_eq!(line, Some(6));
        assert!(message.contains("1 to 100"), "{message}");
    }
    let (key, _, _) = refused(&format!("{BASE}backup:\n  max_assets_per_bundle: fifty\n"));
    assert_eq!(key, "backup.max_assets_per_bundle");
}

#[test]
fn concurrent_jobs_are_1_to_5() {
    let (key, _, message) = refused(&format!("{BASE}backup:\n  max_concurrent_jobs: 6\n"));
    assert_eq!(key, "backup.max_concurrent_jobs");
    assert!(message.contains("1 to 5"), "{message}");
}

#[test]
fn prefix_and_export_formats_are_enumerated() {
    let (key, _, message) = refused(&format!("{BASE}s3:\n  bucket_name: b\n  prefix_format: DD-MM-YYYY\n"));
    assert_eq!(key, "s3.prefix_format");
    assert!(
        message.contains("YYYY/MM/DD") && message.contains("YYYYMMDD"),
        "{message}"
    );
    let (key, _, message) = refused(&format!("{BASE}backup:\n  export_format: YAML\n"));
    assert_eq!(key, "backup.export_format");
    assert!(message.contains("CLOUDFORMATION_JSON"), "{message}");
}

#[test]
fn unknown_keys_are_refused() {
    let (key, line, message) = refused(&format!("{BASE}backup:\n  include_dependancies: true\n"));
    assert!(key.starts_with("backup"), "{key}");
    assert_eq!(line, Some(6));
    assert!(message.contains("include_dependancies"), "{message}");
    let (_, _, message) = refused(&format!("{BASE}extra_section: 1\n"));
    assert!(message.contains("extra_section"), "{message}");
}

#[test]
fn plain_access_keys_are_refused_with_advice() {
    for k in ["access_key_id", "secret_access_key", "session_token"] {
        let (key, line, message) = refused(&format!("{BASE}  {k}: AKIAEXAMPLE\n"));
        assert_eq!(key, format!("aws.{k}"));
        assert_eq!(line, Some(5));
        assert!(message.contains("profile") && message.contains("role"), "{message}");
        assert!(!message.contains("AKIAEXAMPLE"), "never echo a secret");
    }
}

#[test]
fn rules_across_keys() {
    let (key, line, _) = refused(&format!("{BASE}repository: memory://a\ns3:\n  bucket_name: b\n"));
    assert_eq!((key.as_str(), line), ("repository", Some(5)));
    let (key, _, _) = refused(&format!("{BASE}repository: \"ftp://x\"\n"));
    assert_eq!(key, "repository");
    let (key, _, _) = refused(&format!("{BASE}backup:\n  asset_types: []\n"));
    assert_eq!(key, "backup.asset_types");
    let (key, _, _) = refused(&format!("{BASE}backup:\n  asset_types: [dashbord]\n"));
    assert!(key.starts_with("backup.asset_types"), "{key}");
    let (key, _, _) = refused(&format!("{BASE}backup:\n  job_timeout_seconds: 0\n"));
    assert_eq!(key, "backup.job_timeout_seconds");
    let (key, _, _) = refused(&format!("{BASE}s3:\n  bucket_name: \"\"\n"));
    assert_eq!(key, "s3.bucket_name");
    let (key, _, _) = refused("");
    assert_eq!(key, "(file)");
    let (key, _, _) = refused("aws:\n  region: us-east-1\n");
    assert_eq!(key, "aws.account_id");
}

#[test]
fn prefix_formats_write_dates_like_the_sample_tool() {
    let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 8).unwrap();
    assert_eq!(PrefixFormat::Slashes.format(d), "2026/11/08");
    assert_eq!(PrefixFormat::Dashes.format(d), "2026-11-08");
    assert_eq!(PrefixFormat::Compact.format(d), "20261108");
}

#[test]
fn job_timeout_is_1_second_to_24_hours() {
    for bad in [
        "0",
        "86401",
        "18446744073709551615",
        "99999999999999999999999",
        "-1",
        "1.5",
    ] {
        let (key, line, message) = refused(&format!("{BASE}backup:\n  job_timeout_seconds: {bad}\n"));
        assert_eq!(key, "backup.job_timeout_seconds", "{bad}");
        assert_eq!(line, Some(6), "{bad}");
        assert!(message.contains("1 to 86400"), "{bad}: {message}");
    }
    let c = yaml(&format!("{BASE}backup:\n  job_timeout_seconds: 86400\n")).unwrap();
    assert_eq!(c.backup.job_timeout_seconds, MAX_JOB_TIMEOUT_SECONDS);
    let json = load_str(
        r#"{"aws": {"region": "us-east-1", "account_id": "123456789012"},
        "backup": {"job_timeout_seconds": 18446744073709551615}}"#,
        ConfigFormat::Json,
        Path::new("qs.json"),
    );
    assert!(
        matches!(json, Err(Error::Config { ref key, .. }) if key == "backup.job_timeout_seconds"),
        "{json:?}"
    );
}

#[test]
fn bounded_numbers_refuse_values_beyond_64_bits() {
    let (key, _, message) = refused(&format!(
        "{BASE}backup:\n  max_assets_per_bundle: 18446744073709551616\n"
    ));
    assert_eq!(key, "backup.max_assets_per_bundle");
    assert!(message.contains("1 to 100"), "{message}");
    let (key, _, message) = refused(&format!("{BASE}backup:\n  max_concurrent_jobs: 18446744073709551615\n"));
    assert_eq!(key, "backup.max_concurrent_jobs");
    assert!(message.contains("1 to 5"), "{message}");
}

#[test]
fn s3_prefix_is_refused_when_it_would_land_elsewhere() {
    for bad in ["../../x", "a/../b", "./x", "/rooted", "a//b", "my prefix", "a%2E%2E"] {
        let (key, line, message) = refused(&format!("{BASE}s3:\n  bucket_name: my-bucket\n  prefix: \"{bad}\"\n"));
        assert_eq!(key, "s3.prefix", "{bad}");
        assert_eq!(line, Some(7), "{bad}");
        assert!(message.contains("segments separated by"), "{bad}: {message}");
    }
    let c = yaml(&format!(
        "{BASE}s3:\n  bucket_name: my-bucket\n  prefix: team-a/qs.backups/\n"
    ))
    .unwrap();
    assert_eq!(c.repository_url(), "s3://my-bucket/team-a/qs.backups");
}

#[test]
fn repository_url_prefixes_are_checked_as_typed() {
    for bad in [
        "s3://my-bucket/../../x",
        "s3://my-bucket//x",
        "s3://my-bucket/a/./b",
        "gs://my-bucket/a//b",
        "az://container/../x",
        "s3://my-bucket/x?versionId=1",
    ] {
        let (key, line, message) = refused(&format!("{BASE}repository: \"{bad}\"\n"));
        assert_eq!(key, "repository", "{bad}");
        assert_eq!(line, Some(5), "{bad}");
        assert!(
            message.contains("prefix") || message.contains("query"),
            "{bad}: {message}"
        );
    }
    for good in [
        "s3://my-bucket/qsb/",
        "gs://b_with_underscore/x",
        "az://c/x/y",
        "memory://x",
        "./repo",
    ] {
        yaml(&format!("{BASE}repository: \"{good}\"\n")).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn bucket_names_follow_s3_naming_rules() {
    for bad in [
        "My_Bucket!",
        "ab",
        "my..bucket",
        "192.168.5.4",
        "xn--bucket",
        "bucket-s3alias",
        "-bucket",
    ] {
        let (key, line, message) = refused(&format!("{BASE}s3:\n  bucket_name: \"{bad}\"\n"));
        assert_eq!(key, "s3.bucket_name", "{bad}");
        assert_eq!(line, Some(6), "{bad}");
        assert!(message.contains("3 to 63 characters"), "{bad}: {message}");
        let (key, _, message) = refused(&format!("{BASE}repository: \"s3://{bad}/x\"\n"));
        assert_eq!(key, "repository", "{bad}");
        assert!(message.contains("3 to 63 characters"), "{bad}: {message}");
    }
}

#[test]
fn table_name_format_needs_base_and_date_and_makes_valid_names() {
    let section = |format: &str, users: &str| {
        format!(
            "{BASE}dynamodb:\n  users_table_name: {users}\n  groups_table_name: groups\n  table_name_format: \"{format}\"\n"
        )
    };
    for (format, missing) in [("{base}", "{date}"), ("{date}", "{base}"), ("backup", "{base}")] {
        let (key, line, message) = refused(&section(format, "users"));
        assert_eq!(key, "dynamodb.table_name_format", "{format}");
        assert_eq!(line, Some(8), "{format}");
        assert!(
            message.contains(missing) && message.contains("both"),
            "{format}: {message}"
        );
    }
    let (key, _, message) = refused(&section("{base}/{date}", "users"));
    assert_eq!(key, "dynamodb.table_name_format");
    assert!(message.contains("letters, digits"), "{message}");
    let (key, line, message) = refused(&section("{base}-{date}", "users backup"));
    assert_eq!((key.as_str(), line), ("dynamodb.users_table_name", Some(6)));
    assert!(message.contains("3 to 255"), "{message}");
    let long = "u".repeat(250);
    let (key, _, _) = refused(&section("{base}-{date}", &long));
    assert_eq!(key, "dynamodb.users_table_name");
    yaml(&section("{date}-{base}", "users")).unwrap();
}

#[test]
fn lock_table_name_follows_dynamodb_rules() {
    let (key, line, message) = refused(&format!("{BASE}lock:\n  dynamodb_table: \"qs lock\"\n"));
    assert_eq!((key.as_str(), line), ("lock.dynamodb_table", Some(6)));
    assert!(message.contains("3 to 255"), "{message}");
}

#[test]
fn unknown_key_message_lists_only_accepted_keys() {
    let (key, _, message) = refused(&format!("{BASE}  regoin: us-east-1\n"));
    assert!(key.starts_with("aws"), "{key}");
    assert!(
        message.contains("regoin") && message.contains("identity_region"),
        "{message}"
    );
    for refused_key in AwsSection::REFUSED_KEYS {
        assert!(
            !message.contains(refused_key),
            "offers refused {refused_key}: {message}"
        );
    }
    let (_, _, message) = refused(&format!("{BASE}backup:\n  include_dependancies: true\n"));
    assert!(
        message.contains("accepted: ") && message.contains("include_dependencies"),
        "{message}"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_files_directory() {
    let sub = std::env::temp_dir().join(format!("qsbackup-config-paths-{}/conf", std::process::id()));
    std::fs::create_dir_all(&sub).unwrap();
    let write = |name: &str, extra: &str| {
        let path = sub.join(name);
        std::fs::write(&path, format!("{BASE}{extra}")).unwrap();
        path
    };
    let c = load(&write(
        "rel.yaml",
        "repository: ./repo\nlogging:\n  file_path: logs/qs.log\n",
    ))
    .unwrap();
    assert_eq!(c.repository_url(), sub.join("repo").to_string_lossy());
    assert_eq!(
        c.logging.and_then(|l| l.file_path).as_deref(),
        Some(&*sub.join("logs/qs.log").to_string_lossy())
    );
    let c = load(&write("default.yaml", "")).unwrap();
    assert_eq!(c.repository_url(), sub.join("qsbackup-repo").to_string_lossy());
    for url in [
        "/var/backups/qs",
        "s3://bucket/prefix",
        "gs://bucket/p",
        "az://container/p",
        "file:///srv/qs",
    ] {
        let c = load(&write("abs.yaml", &format!("repository: \"{url}\"\n"))).unwrap();
        assert_eq!(c.repository_url(), url);
    }
    let c = load(&write("s3.yaml", "s3:\n  bucket_name: my-bucket\n")).unwrap();
    assert_eq!(c.repository_url(), "s3://my-bucket/quicksight-backups");
    let _ = std::fs::remove_dir_all(sub.parent().unwrap());
}

const ACCOUNTS: &str = r#"
aws:
  region: us-east-1
  identity_region: eu-west-1
accounts:
  - account_id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/Reader
    regions: [us-east-1, eu-west-1]
  - account_id: "222222222222"
    identity_region: us-west-2
dynamodb:
  users_table_name: users
  groups_table_name: groups
  table_name_format: "{base}-{account}-{region}-{date}"
"#;

#[test]
fn accounts_expand_to_one_target_per_region_with_their_own_role() {
    let c = yaml(ACCOUNTS).unwrap();
    assert!(c.lists_accounts());
    let targets: Vec<String> = c
        .listed_targets()
        .iter()
        .map(|t| format!("{} {} {} {:?}", t.account_id, t.region, t.identity_region, t.role_arn))
        .collect();
    assert_eq!(
        targets,
        [
            "111111111111 us-east-1 eu-west-1 Some(\"arn:aws:iam::111111111111:role/Reader\")",
            "111111111111 eu-west-1 eu-west-1 Some(\"arn:aws:iam::111111111111:role/Reader\")",
            "222222222222 us-east-1 us-west-2 None",
        ]
    );
    let one = c.for_target(&c.listed_targets()[1]);
    assert_eq!(one.aws.account_id.as_ref().map(|a| a.as_str()), Some("111111111111"));
    assert_eq!(one.aws.region.as_str(), "eu-west-1");
    assert!(!one.lists_accounts());
    assert_eq!(
        one.dynamodb.unwrap().table_name_format,
        "{base}-111111111111-eu-west-1-{date}",
        "each target gets tables of its own"
    );
    // The single form is one target, and means its own account by `{account}`.
    let single = yaml(&format!(
        "{BASE}dynamodb:\n  users_table_name: u\n  groups_table_name: g\n  table_name_format: \"{{base}}-{{account}}-{{date}}\"\n"
    ))
    .unwrap();
    assert_eq!(single.listed_targets().len(), 1);
    assert_eq!(single.dynamodb.unwrap().table_name_format, "{base}-123456789012-{date}");
}

#[test]
fn account_lists_are_refused_naming_the_key_and_line() {
    let (key, line, message) = refused(&ACCOUNTS.replace("regions: [us-east-1, eu-west-1]", "regions: []"));
    assert_eq!(key, "accounts[0].regions");
    assert!(message.contains("at least one"), "{message}");
    assert_eq!(line, Some(8));
    let (key, line, message) = refused(&ACCOUNTS.replace(
        "identity_region: us-west-2",
        "role_arn: arn:aws:iam::111111111111:role/Reader",
    ));
    assert_eq!(key, "accounts[1].role_arn");
    assert_eq!(line, Some(10));
    assert!(message.contains("not of 222222222222"), "{message}");
    let (key, _, message) = refused(&ACCOUNTS.replace("role/Reader", "user/Reader"));
    assert_eq!(key, "accounts[0].role_arn");
    assert!(message.contains("not an IAM role ARN"), "{message}");
    let (key, _, _) = refused(&ACCOUNTS.replace("222222222222", "111111111111"));
    assert_eq!(key, "accounts[1].account_id");
    let (key, _, message) = refused(&ACCOUNTS.replace("{account}-", ""));
    assert_eq!(key, "dynamodb.table_name_format");
    assert!(message.contains("{account}"), "{message}");
    let (key, _, message) = refused(&ACCOUNTS.replace(
        "  region: us-east-1\n",
        "  region: us-east-1\n  account_id: \"333333333333\"\n",
    ));
    assert_eq!(key, "aws.account_id");
    assert!(message.contains("leave aws.account_id out"), "{message}");
    let (key, _, message) = refused("aws:\n  region: us-east-1\n");
    assert_eq!(key, "aws.account_id");
    assert!(message.contains("accounts"), "{message}");
    let (key, _, _) = refused(&format!("{ACCOUNTS}organization:\n  role_name: Reader\n"));
    assert_eq!(key, "organization");
}

#[test]
fn an_organization_names_a_role_and_concurrency_is_bounded() {
    let org = yaml(
        "aws:\n  region: us-east-1\norganization:\n  role_name: QuickSightBackupReader\n  exclude: [\"333333333333\"]\n  \
         regions: [us-east-1, eu-west-1]\nbackup:\n  max_concurrent_accounts: 12\n",
    )
    .unwrap();
    assert!(org.lists_accounts());
    assert!(
        org.listed_targets().is_empty(),
        "listed by AWS Organizations at run time"
    );
    assert_eq!(org.backup.max_concurrent_accounts.get(), 12);
    assert_eq!(yaml(BASE).unwrap().backup.max_concurrent_accounts.get(), 4);
    let (key, _, message) = refused("aws:\n  region: us-east-1\norganization:\n  role_name: arn:aws:iam::1:role/x\n");
    assert_eq!(key, "organization.role_name");
    assert!(message.contains("not an ARN"), "{message}");
    let (key, _, _) = refused(&format!("{BASE}backup:\n  max_concurrent_accounts: 0\n"));
    assert_eq!(key, "backup.max_concurrent_accounts");
}
