//! Names of the identity tables: the config's base names joined with the
//! run's UTC date by `table_name_format`, checked against DynamoDB's rules
//! before anything is created.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::DynamoDbError;

/// The identity tables' base names and how the date joins them, as in the
/// `dynamodb:` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableNames {
    pub users_table_name: String,
    pub groups_table_name: String,
    pub users_group_table_name: String,
    /// `{base}` and `{date}` (YYYY-MM-DD) placeholders; `{date}-{base}` gives
    /// the sample tool's prefix form.
    pub table_name_format: String,
}

impl Default for TableNames {
    fn default() -> Self {
        Self {
            users_table_name: "quicksight-users-backup".into(),
            groups_table_name: "quicksight-groups-backup".into(),
            users_group_table_name: TableNames::DEFAULT_MEMBERSHIPS_TABLE.into(),
            table_name_format: TableNames::DEFAULT_FORMAT.into(),
        }
    }
}

/// The three table names of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedTableNames {
    pub users: String,
    pub groups: String,
    pub memberships: String,
}

impl TableNames {
    /// Default `table_name_format`: the date as a suffix, as the AWS blog
    /// names them (`quicksight-users-backup-2025-10-19`).
    pub const DEFAULT_FORMAT: &'static str = "{base}-{date}";
    /// Base name of the memberships table when the config has none.
    pub const DEFAULT_MEMBERSHIPS_TABLE: &'static str = "quicksight-users-groups-backup";

    /// The table names for the run on `date`, checked against DynamoDB's
    /// naming rules.
    pub fn resolve(&self, date: NaiveDate) -> Result<ResolvedTableNames, DynamoDbError> {
        let format = &self.table_name_format;
        for placeholder in ["{base}", "{date}"] {
            if !format.contains(placeholder) {
                return Err(DynamoDbError::InvalidTableNameFormat {
                    format: format.clone(),
                    reason: format!("it must contain {placeholder}"),
                });
            }
        }
        let date = date.format("%Y-%m-%d").to_string();
        let name = |base: &str| -> Result<String, DynamoDbError> {
            let name = format.replace("{base}", base).replace("{date}", &date);
            check_table_name(&name)?;
            Ok(name)
        };
        Ok(ResolvedTableNames {
            users: name(&self.users_table_name)?,
            groups: name(&self.groups_table_name)?,
            memberships: name(&self.users_group_table_name)?,
        })
    }
}

/// DynamoDB's rule: 3 to 255 of `a-z A-Z 0-9 _ - .`.
pub fn is_valid_table_name(name: &str) -> bool {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (3..=255).contains(&name.len()) && valid_chars
}

fn check_table_name(name: &str) -> Result<(), DynamoDbError> {
    if is_valid_table_name(name) {
        Ok(())
    } else {
        Err(DynamoDbError::InvalidTableName { name: name.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 10, 19).unwrap_or_default()
    }

    #[test]
    fn names_carry_the_date_as_suffix_by_default() {
        let names = TableNames::default().resolve(date()).expect("valid names");
        assert_eq!(names.users, "quicksight-users-backup-2025-10-19");
        assert_eq!(names.groups, "quicksight-groups-backup-2025-10-19");
        assert_eq!(names.memberships, "quicksight-users-groups-backup-2025-10-19");
    }

    #[test]
    fn format_can_put_the_date_first() {
        let tables = TableNames {
            table_name_format: "{date}-{base}".into(),
            ..TableNames::default()
        };
        let names = tables.resolve(date()).expect("valid names");
        assert_eq!(names.users, "2025-10-19-quicksight-users-backup");
    }

    #[test]
    fn bad_formats_and_names_are_refused() {
        let no_date = TableNames {
            table_name_format: "{base}".into(),
            ..TableNames::default()
        };
        assert!(matches!(
            no_date.resolve(date()),
            Err(DynamoDbError::InvalidTableNameFormat { .. })
        ));
        let bad_name = TableNames {
            users_table_name: "users backup".into(),
            ..TableNames::default()
        };
        let err = bad_name.resolve(date()).expect_err("space refused");
        assert!(err.to_string().contains("users backup-2025-10-19"), "{err}");
    }
}
