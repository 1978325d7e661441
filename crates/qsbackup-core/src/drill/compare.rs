//! Comparing an asset as a restore imported it with the asset as the target gives it back,
//! after leaving out what an import legitimately changes: timestamps, version numbers, the
//! service's status of the resource and its versioned ARN; a field that is null or an empty
//! list is the same as one left out, as the service leaves them out. Keys are compared without regard to
//! the case of their first letter (bundle members are camelCase at the top, describe answers
//! PascalCase), and lists that are sets for QuickSight (permissions, tags, folder ARNs, a
//! permission's actions) without regard to order. Each difference is named by its JSON path.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Keys whose values the service sets on every import.
const VOLATILE: &[&str] = &[
    "createdTime",
    "lastUpdatedTime",
    "lastPublishedTime",
    "deletionTime",
    "versionNumber",
    "consumedSpiceCapacityInBytes",
];

/// Top-level keys the service sets on every import (nested ones of these names are content).
const VOLATILE_TOP: &[&str] = &["status", "arn"];

/// Lists QuickSight treats as sets.
const SETS: &[&str] = &["permissions", "tags", "folderArns", "actions"];

/// How many characters of a value a difference shows.
const EXCERPT: usize = 120;

/// One difference between what was imported and what the target holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// JSON path, as `$.definition.sheets[0].name`.
    pub path: String,
    pub change: Change,
    /// The imported value, shortened (absent when the target added the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The target's value, shortened (absent when the target lacks the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The target lacks a field the import carried.
    Missing,
    /// The target has a field the import did not carry.
    Added,
    /// The field is there with another value.
    Changed,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.change {
            Change::Missing => write!(f, "{}: missing in the target", self.path),
            Change::Added => write!(
                f,
                "{}: only in the target ({})",
                self.path,
                self.found.as_deref().unwrap_or_default()
            ),
            Change::Changed => write!(
                f,
                "{}: {} in the snapshot, {} in the target",
                self.path,
                self.expected.as_deref().unwrap_or_default(),
                self.found.as_deref().unwrap_or_default()
            ),
        }
    }
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `value` with keys in lower camel case, volatile fields left out and sets sorted.
pub fn normalize(value: &Value) -> Value {
    normalize_at(value, true)
}

fn normalize_at(value: &Value, top: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = lower_first(k);
                if VOLATILE.contains(&key.as_str()) || (top && VOLATILE_TOP.contains(&key.as_str())) {
                    continue;
                }
                let mut v = normalize_at(v, false);
                // The service leaves out empty lists and nulls that an import carried.
                if v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                if let (true, Value::Array(items)) = (SETS.contains(&key.as_str()), &mut v) {
                    items.sort_by_cached_key(|i| i.to_string());
                }
                out.insert(key, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| normalize_at(i, false)).collect()),
        other => other.clone(),
    }
}

fn excerpt(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= EXCERPT {
        return text;
    }
    let cut: String = text.chars().take(EXCERPT).collect();
    format!("{cut}…")
}

fn key_path(path: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty() {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

/// Every difference between `expected` (as imported) and `found` (as the target has it), both
/// normalised first.
pub fn differences(expected: &Value, found: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_into("$", &normalize(expected), &normalize(found), &mut out);
    out
}

fn diff_into(path: &str, expected: &Value, found: &Value, out: &mut Vec<Difference>) {
    match (expected, found) {
        (Value::Object(e), Value::Object(f)) => {
            for (k, ev) in e {
                let p = key_path(path, k);
                match f.get(k) {
                    Some(fv) => diff_into(&p, ev, fv, out),
                    None => out.push(Difference {
                        path: p,
                        change: Change::Missing,
                        expected: Some(excerpt(ev)),
                        found: None,
                    }),
                }
            }
            for (k, fv) in f.iter().filter(|(k, _)| !e.contains_key(*k)) {
                out.push(Difference {
                    path: key_path(path, k),
                    change: Change::Added,
                    expected: None,
                    found: Some(excerpt(fv)),
                });
            }
        }
        (Value::Array(e), Value::Array(f)) if e.len() == f.len() => {
            for (i, (ev, fv)) in e.iter().zip(f).enumerate() {
                diff_into(&format!("{path}[{i}]"), ev, fv, out);
            }
        }
        (e, f) if e != f => out.push(Difference {
            path: path.to_string(),
            change: Change::Changed,
            expected: Some(excerpt(e)),
            found: Some(excerpt(f)),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_an_import_changes_is_not_a_difference() {
        let imported = json!({"dashboardId": "d1", "name": "Sales", "versionNumber": 1, "tags": [], "description": null,
            "permissions": [{"principal": "b", "actions": ["x", "y"]}, {"principal": "a", "actions": ["z"]}]});
        let found = json!({"DashboardId": "d1", "Name": "Sales", "VersionNumber": 7, "Arn": "arn:…/version/7",
            "CreatedTime": 1.0, "Status": "CREATION_SUCCESSFUL",
            "Permissions": [{"Principal": "a", "Actions": ["z"]}, {"Principal": "b", "Actions": ["y", "x"]}]});
        assert_eq!(differences(&imported, &found), Vec::new());
    }

    #[test]
    fn each_difference_is_named_by_its_path() {
        let imported = json!({"name": "Sales", "definition": {"sheets": [{"name": "One", "visuals": [1, 2]}]},
            "physicalTableMap": {"t-1": {"sql": "select 1"}}});
        let found = json!({"name": "Sales (copy)", "definition": {"sheets": [{"name": "One", "visuals": [1]}],
            "extra": true}, "physicalTableMap": {}});
        let d = differences(&imported, &found);
        let paths: Vec<(&str, Change)> = d.iter().map(|d| (d.path.as_str(), d.change)).collect();
        assert_eq!(
            paths,
            vec![
                ("$.definition.sheets[0].visuals", Change::Changed),
                ("$.definition.extra", Change::Added),
                ("$.name", Change::Changed),
                ("$.physicalTableMap[\"t-1\"]", Change::Missing),
            ]
        );
        assert_eq!(
            d[2].to_string(),
            "$.name: \"Sales\" in the snapshot, \"Sales (copy)\" in the target"
        );
    }

    #[test]
    fn a_nested_status_is_content() {
        let d = differences(
            &json!({"definition": {"status": "ENABLED"}}),
            &json!({"definition": {"status": "DISABLED"}}),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "$.definition.status");
    }
}
