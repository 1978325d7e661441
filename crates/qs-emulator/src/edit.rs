//! The edits a user makes to an asset in the console, as the admin API's
//! `PATCH` applies them: a rename, JSON Merge Patches (RFC 7386) of the API
//! members and of a definition, and new permissions or tags. Each is recorded
//! as the service records an edit: a later `LastUpdatedTime`, the next version.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::bundle::resolved_definition;
use crate::model::{Asset, AssetType, Definition, Permission, Tag};
use crate::wire;

/// Why an edit was refused; the admin API answers 400 with the message.
#[derive(Debug, Error, PartialEq)]
pub enum EditError {
    #[error("an edit is a JSON object with some of: name, body, definition, permissions, tags")]
    NotAnObject,
    #[error("unknown key {0:?}: an edit takes name, body, definition, permissions and tags")]
    UnknownKey(String),
    #[error("{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> EditError {
    EditError::Invalid {
        key,
        problem: problem.into(),
    }
}

/// One parsed edit, checked before it touches the asset so a refused edit
/// changes nothing.
#[derive(Debug, Default)]
pub struct Edit {
    name: Option<String>,
    body: Option<Value>,
    definition: Option<Value>,
    permissions: Option<Vec<Permission>>,
    tags: Option<Vec<Tag>>,
}

/// Members the asset keeps outside its body: a body patch naming them would
/// bypass what the other keys check, or clash with what describe derives.
fn reserved(t: AssetType) -> [&'static str; 8] {
    [
        t.api_id_field(),
        "Arn",
        "Name",
        "CreatedTime",
        "LastUpdatedTime",
        "Definition",
        "Permissions",
        "Tags",
    ]
}

fn string(v: &Value, key: &'static str, field: &str) -> Result<String, EditError> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| invalid(key, format!("each entry needs a non-empty string {field}")))
}

fn entries<'a>(v: &'a Value, key: &'static str) -> Result<&'a Vec<Value>, EditError> {
    v.as_array().ok_or_else(|| invalid(key, "must be a list"))
}

fn permissions(v: &Value) -> Result<Vec<Permission>, EditError> {
    entries(v, "permissions")?
        .iter()
        .map(|p| {
            let actions = p
                .get("Actions")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid("permissions", "each entry needs a non-empty list Actions"))?
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid("permissions", "Actions are strings"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Permission {
                principal: string(p, "permissions", "Principal")?,
                actions,
            })
        })
        .collect()
}

fn tags(v: &Value) -> Result<Vec<Tag>, EditError> {
    entries(v, "tags")?
        .iter()
        .map(|t| {
            Ok(Tag {
                key: string(t, "tags", "Key")?,
                value: t
                    .get("Value")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| invalid("tags", "each entry needs a string Value"))?,
            })
        })
        .collect()
}

impl Edit {
    /// Reads an edit of an asset of type `t`.
    pub fn parse(t: AssetType, v: &Value) -> Result<Edit, EditError> {
        let obj = v.as_object().ok_or(EditError::NotAnObject)?;
        let mut edit = Edit::default();
        for (k, val) in obj {
            match k.as_str() {
                "name" => {
                    let name = val.as_str().filter(|s| !s.is_empty());
                    edit.name = Some(
                        name.ok_or_else(|| invalid("name", "must be a non-empty string"))?
                            .to_string(),
                    );
                }
                "body" => {
                    let patch = val
                        .as_object()
                        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
                    if let Some(r) = reserved(t).into_iter().find(|r| patch.contains_key(*r)) {
                        return Err(invalid("body", format!("{r} is not edited through body")));
                    }
                    edit.body = Some(val.clone());
                }
                "definition" => {
                    if !matches!(t, AssetType::Analysis | AssetType::Dashboard) {
                        return Err(invalid("definition", format!("a {} has no definition", t.resource())));
                    }
                    if !val.is_object() {
                        return Err(invalid("definition", "must be a JSON object"));
                    }
                    edit.definition = Some(val.clone());
                }
                "permissions" => edit.permissions = Some(permissions(val)?),
                "tags" => edit.tags = Some(tags(val)?),
                other => return Err(EditError::UnknownKey(other.to_string())),
            }
        }
        Ok(edit)
    }

    /// Applies the edit to `a`, recording it as the service records an edit.
    pub fn apply(self, a: &mut Asset) {
        if let Some(name) = self.name {
            a.name = name;
        }
        if let Some(patch) = &self.body {
            let mut body = Value::Object(std::mem::take(&mut a.body));
            json_patch::merge(&mut body, patch);
            a.body = match body {
                Value::Object(m) => m,
                _ => Map::new(),
            };
        }
        if let Some(patch) = &self.definition {
            // A generated definition lives as a seed: resolve it first, so the
            // edit sticks and every later read returns the edited one.
            let mut definition = resolved_definition(a).unwrap_or_else(|| Value::Object(Map::new()));
            json_patch::merge(&mut definition, patch);
            sync_from_definition(a, &definition, patch);
            a.definition = Some(Definition::Stored(definition));
        }
        if let Some(p) = self.permissions {
            a.permissions = p;
        }
        if let Some(t) = self.tags {
            a.tags = t;
        }
        a.updated = wire::now_epoch().max(a.updated + 1.0);
        a.version += 1;
    }
}

/// What describe shows of a definition outside it (`DataSetArns`, `Sheets`)
/// follows an edit of the parts it comes from, as it does in the service.
fn sync_from_definition(a: &mut Asset, definition: &Value, patch: &Value) {
    if patch.get("DataSetIdentifierDeclarations").is_some() {
        let arns: Vec<Value> = definition
            .get("DataSetIdentifierDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| d.get("DataSetArn").cloned())
            .collect();
        a.body.insert("DataSetArns".into(), Value::Array(arns));
    }
    if patch.get("Sheets").is_some() {
        let sheets: Vec<Value> = definition
            .get("Sheets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                let mut m = Map::new();
                for k in ["SheetId", "Name"] {
                    if let Some(v) = s.get(k) {
                        m.insert(k.into(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        a.body.insert("Sheets".into(), Value::Array(sheets));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dashboard() -> Asset {
        Asset {
            id: "dashboard-0001".into(),
            name: "Sales".into(),
            created: 1.0,
            updated: 2.0,
            body: json!({"DataSetArns": ["arn:aws:quicksight:us-east-1:123456789012:dataset/d1"],
                "Sheets": [{"SheetId": "sheet-0", "Name": "Sheet 1"}], "Status": "CREATION_SUCCESSFUL"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            definition: Some(Definition::Generated { seed: 7, visuals: 3 }),
            permissions: Vec::new(),
            tags: Vec::new(),
            refresh_schedules: Vec::new(),
            definition_error: false,
            ml_columns: false,
            version: 4,
        }
    }

    #[test]
    fn unknown_keys_and_misplaced_members_are_refused() {
        let t = AssetType::Dashboard;
        assert_eq!(
            Edit::parse(t, &json!({"Name": "x"})).unwrap_err(),
            EditError::UnknownKey("Name".into())
        );
        assert!(Edit::parse(t, &json!({"body": {"Name": "x"}})).is_err());
        assert!(Edit::parse(AssetType::DataSet, &json!({"definition": {}})).is_err());
        assert!(Edit::parse(t, &json!({"permissions": [{"Principal": "p", "Actions": []}]})).is_err());
        assert!(Edit::parse(t, &json!([])).is_err());
    }

    #[test]
    fn a_definition_edit_materializes_the_generated_one_and_sticks() {
        let mut a = dashboard();
        let before = resolved_definition(&a).unwrap_or_default();
        let edit = json!({"definition": {"Sheets": [{"SheetId": "s-new", "Name": "Only sheet"}],
            "ParameterDeclarations": null}});
        Edit::parse(AssetType::Dashboard, &edit).unwrap().apply(&mut a);
        let after = resolved_definition(&a).unwrap_or_default();
        assert_eq!(
            after["DataSetIdentifierDeclarations"],
            before["DataSetIdentifierDeclarations"]
        );
        assert_eq!(after["Sheets"], json!([{"SheetId": "s-new", "Name": "Only sheet"}]));
        assert!(after.get("ParameterDeclarations").is_none());
        assert_eq!(a.body["Sheets"], json!([{"SheetId": "s-new", "Name": "Only sheet"}]));
        assert_eq!(a.version, 5);
        assert!(a.updated > 2.0);
    }

    #[test]
    fn body_permissions_and_tags() {
        let mut a = dashboard();
        let edit = json!({"body": {"Status": null, "Description": "d"},
            "permissions": [{"Principal": "arn:p", "Actions": ["quicksight:DescribeDashboard"]}],
            "tags": [{"Key": "team", "Value": "ops"}], "name": "Renamed"});
        Edit::parse(AssetType::Dashboard, &edit).unwrap().apply(&mut a);
        assert!(a.body.get("Status").is_none());
        assert_eq!(a.body["Description"], json!("d"));
        assert_eq!(a.permissions[0].principal, "arn:p");
        assert_eq!(
            a.tags,
            vec![Tag {
                key: "team".into(),
                value: "ops".into()
            }]
        );
        assert_eq!(a.name, "Renamed");
    }
}
