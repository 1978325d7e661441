//! The overrides file of a restore (`--overrides FILE`, YAML or JSON by extension): what a
//! restore into another account, region or namespace cannot derive by itself — IAM identities
//! of IAM users, renamed groups and namespaces, explicit principal moves, per data source
//! parameters, credentials (`SecretArn`, never a password) and VPC connection, and tags to add.
//! Every value is checked on load; an error names the file and the key.

use super::RestoreError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The whole overrides file. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Source namespace → target namespace (`--namespace` moves all of them into one).
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// Source group name → group name in the target.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// QuickSight user name of an IAM user → the IAM identity to register it with.
    #[serde(default)]
    pub iam_users: BTreeMap<String, IamIdentity>,
    /// IAM role name → role ARN in the target, for every IAM user `<role>/<session>` at once.
    #[serde(default)]
    pub iam_roles: BTreeMap<String, String>,
    /// Account whose IAM roles and users have the same names as the source's (defaults to the
    /// target account when it is the source account).
    #[serde(default)]
    pub iam_account: Option<String>,
    /// Principal ARN in the snapshot → principal ARN in the target, or `null` to drop it.
    #[serde(default)]
    pub principals: BTreeMap<String, Option<String>>,
    /// Data source id (as in the snapshot) → what to change when it is restored.
    #[serde(default)]
    pub data_sources: BTreeMap<String, DataSourceOverride>,
    /// Tags added to (or replaced on) every restored asset.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub identities: IdentityOptions,
}

/// An IAM identity for `RegisterUser`: a role ARN (with the session name, which defaults to
/// the part after `/` of the QuickSight user name) or an IAM user ARN.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IamIdentity {
    Arn(String),
    Full {
        iam_arn: String,
        #[serde(default)]
        session_name: Option<String>,
    },
}

impl IamIdentity {
    pub fn iam_arn(&self) -> &str {
        match self {
            IamIdentity::Arn(a) => a,
            IamIdentity::Full { iam_arn, .. } => iam_arn,
        }
    }
    pub fn session_name(&self) -> Option<&str> {
        match self {
            IamIdentity::Arn(_) => None,
            IamIdentity::Full { session_name, .. } => session_name.as_deref(),
        }
    }
}

/// Changes to one data source.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceOverride {
    /// A new display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `DataSourceParameters` in the API's shape, e.g. `{PostgreSqlParameters: {Host: ..., Port: 5432, Database: ...}}`.
    #[serde(default)]
    pub data_source_parameters: Option<serde_json::Value>,
    /// Secrets Manager secret with the credentials, in the target account.
    #[serde(default)]
    pub secret_arn: Option<String>,
    /// VPC connection in the target account.
    #[serde(default)]
    pub vpc_connection_arn: Option<String>,
    /// `SslProperties.DisableSsl`.
    #[serde(default)]
    pub disable_ssl: Option<bool>,
}

impl DataSourceOverride {
    /// True when something goes through the import job's `OverrideParameters`.
    pub fn has_job_parameters(&self) -> bool {
        self.name.is_some()
            || self.secret_arn.is_some()
            || self.vpc_connection_arn.is_some()
            || self.disable_ssl.is_some()
    }
}

/// How identities are restored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityOptions {
    /// Also register users that never activated their account (QuickSight invites them again).
    #[serde(default)]
    pub include_inactive_users: bool,
}

fn bad(path: &Path, key: &str, message: impl Into<String>) -> RestoreError {
    RestoreError::Overrides {
        file: path.to_path_buf(),
        key: key.to_string(),
        message: message.into(),
    }
}

fn is_arn_of(value: &str, service: &str) -> bool {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == service && !parts[5].is_empty()
}

impl Mapping {
    /// Reads and checks an overrides file (`.json` as JSON, anything else as YAML).
    pub fn load(path: &Path) -> Result<Mapping, RestoreError> {
        let text = std::fs::read_to_string(path).map_err(|e| bad(path, "", format!("cannot read it: {e}")))?;
        Self::parse(&text, path)
    }

    /// Parses and checks overrides text; `path` names it in errors and picks the format.
    pub fn parse(text: &str, path: &Path) -> Result<Mapping, RestoreError> {
        let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let mapping: Mapping = if json {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| bad(path, &e.path().to_string(), e.inner().to_string()))?
        } else if text.trim().is_empty() {
            Mapping::default()
        } else {
            let de = serde_norway::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| bad(path, &e.path().to_string(), e.inner().to_string()))?
        };
        mapping.check(path)?;
        Ok(mapping)
    }

    fn check(&self, path: &Path) -> Result<(), RestoreError> {
        for (user, identity) in &self.iam_users {
            if !is_arn_of(identity.iam_arn(), "iam") {
                return Err(bad(
                    path,
                    &format!("iam_users.{user}"),
                    format!(
                        "`{}` is not an IAM ARN (arn:aws:iam::ACCOUNT:role/NAME or :user/NAME)",
                        identity.iam_arn()
                    ),
                ));
            }
        }
        for (role, arn) in &self.iam_roles {
            if !is_arn_of(arn, "iam") || !arn.contains(":role/") {
                return Err(bad(
                    path,
                    &format!("iam_roles.{role}"),
                    format!("`{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
                ));
            }
        }
        if let Some(account) = &self.iam_account {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    path,
                    "iam_account",
                    format!("`{account}` is not a 12-digit account id"),
                ));
            }
        }
        for (from, to) in &self.principals {
            for (which, arn) in [("key", Some(from)), ("value", to.as_ref())] {
                if let Some(arn) = arn {
                    let principal = is_arn_of(arn, "quicksight") && (arn.contains(":user/") || arn.contains(":group/"));
                    if !principal {
                        return Err(bad(
                            path,
                            &format!("principals.{from}"),
                            format!("the {which} `{arn}` is not a QuickSight user or group ARN"),
                        ));
                    }
                }
            }
        }
        for (id, ds) in &self.data_sources {
            let key = |field: &str| format!("data_sources.{id}.{field}");
            if let Some(secret) = &ds.secret_arn {
                if !is_arn_of(secret, "secretsmanager") {
                    return Err(bad(
                        path,
                        &key("secret_arn"),
                        format!("`{secret}` is not a Secrets Manager ARN"),
                    ));
                }
            }
            if let Some(vpc) = &ds.vpc_connection_arn {
                if !is_arn_of(vpc, "quicksight") || !vpc.contains(":vpcConnection/") {
                    return Err(bad(
                        path,
                        &key("vpc_connection_arn"),
                        format!("`{vpc}` is not a QuickSight VPC connection ARN"),
                    ));
                }
            }
            if let Some(params) = &ds.data_source_parameters {
                let one_kind = params
                    .as_object()
                    .is_some_and(|m| m.len() == 1 && m.keys().all(|k| k.ends_with("Parameters")));
                if !one_kind {
                    return Err(bad(
                        path,
                        &key("data_source_parameters"),
                        "expected one member named like the API's, e.g. {PostgreSqlParameters: {Host: db.example.com, Port: 5432, Database: sales}}",
                    ));
                }
            }
        }
        for (k, v) in &self.tags {
            if k.is_empty() || k.len() > 128 || v.len() > 256 {
                return Err(bad(
                    path,
                    &format!("tags.{k}"),
                    "a tag key is 1 to 128 characters, a value at most 256",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Mapping, RestoreError> {
        Mapping::parse(text, Path::new("overrides.yaml"))
    }

    #[test]
    fn a_full_file_loads() {
        let m = parse(
            r#"
namespaces: {analytics: analytics-dr}
groups: {old-team: new-team}
iam_users:
  "QuickSightRole/ana": arn:aws:iam::210987654321:role/QuickSightRole
  bob: {iam_arn: "arn:aws:iam::210987654321:user/bob"}
iam_roles: {QuickSightRole: "arn:aws:iam::210987654321:role/QuickSightRole"}
principals:
  "arn:aws:quicksight:us-east-1:123456789012:user/default/gone": null
data_sources:
  ds-0001:
    name: Sales (DR)
    secret_arn: arn:aws:secretsmanager:eu-west-1:210987654321:secret:qs/sales-AbCd
    data_source_parameters: {PostgreSqlParameters: {Host: dr.example.com, Port: 5432, Database: sales}}
tags: {restored-by: qsbackup}
identities: {include_inactive_users: true}
"#,
        )
        .unwrap();
        assert_eq!(
            m.iam_users["QuickSightRole/ana"].iam_arn(),
            "arn:aws:iam::210987654321:role/QuickSightRole"
        );
        assert_eq!(m.iam_users["bob"].session_name(), None);
        assert_eq!(m.principals.values().next(), Some(&None));
        assert!(m.data_sources["ds-0001"].has_job_parameters());
        assert!(m.identities.include_inactive_users);
        let json = Mapping::parse(r#"{"tags": {"a": "b"}}"#, Path::new("o.json")).unwrap();
        assert_eq!(json.tags["a"], "b");
        assert_eq!(parse("").unwrap(), Mapping::default());
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = parse("iam_roles: {R: not-an-arn}").unwrap_err().to_string();
        assert!(err.contains("overrides.yaml") && err.contains("iam_roles.R"), "{err}");
        let err = parse("data_sources: {ds1: {secret_arn: 'arn:aws:iam::1:role/x'}}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data_sources.ds1.secret_arn"), "{err}");
        let err = parse("data_sources: {ds1: {data_source_parameters: {Host: x}}}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("PostgreSqlParameters"), "{err}");
        let err = parse("unknown: 1").unwrap_err().to_string();
        assert!(err.contains("unknown"), "{err}");
        let err = parse("data_sources: {ds1: {password: x}}").unwrap_err().to_string();
        assert!(err.contains("data_sources.ds1"), "{err}");
    }
}
