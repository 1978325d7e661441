//! Field-level differences between two versions of one bundle member, in QuickSight's words:
//! `sheet "Overview" › visual "Revenue" title`, `calculated field "margin" expression`,
//! `permission of user/default/alice actions`. Lists whose items carry an id QuickSight uses
//! (`SheetId`, `VisualId`, `Name`, `principal`, `key`, ...) are matched by that id and lists of
//! plain values as sets, so reordering alone is no change; volatile fields are dropped first
//! ([`super::normalize`]). Each change keeps a JSON path into the newer (or, when removed, the
//! older) document.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// What happened to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldChangeKind {
    Added,
    Removed,
    Changed,
}

/// Which part of an asset a change touches, for the log's one-line summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeArea {
    Name,
    Permissions,
    Tags,
    /// Anything else: the definition, columns, SQL, parameters, settings.
    Definition,
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub kind: FieldChangeKind,
    pub area: ChangeArea,
    /// JSONPath of the field, lists addressed by their items' ids:
    /// `$.definition.Sheets[?(@.SheetId=='s1')].Name`.
    pub path: String,
    /// The same place in QuickSight's words: `sheet "Overview" › name`.
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl FieldChange {
    /// One line for a person: `calculated field "margin" › expression: "{a}" -> "{b}"`.
    pub fn describe(&self) -> String {
        match self.kind {
            FieldChangeKind::Added => format!("{} added{}", self.what, value_suffix(self.after.as_ref())),
            FieldChangeKind::Removed => format!("{} removed{}", self.what, value_suffix(self.before.as_ref())),
            FieldChangeKind::Changed => format!(
                "{}: {} -> {}",
                self.what,
                short(self.before.as_ref()),
                short(self.after.as_ref())
            ),
        }
    }
}

fn value_suffix(v: Option<&Value>) -> String {
    match v {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => format!(": {}", short(Some(v))),
        _ => String::new(),
    }
}

/// A value in at most 80 characters.
fn short(v: Option<&Value>) -> String {
    let s = match v {
        None => "(none)".to_string(),
        Some(Value::Object(m)) => format!("{{{} fields}}", m.len()),
        Some(Value::Array(a)) => format!("[{} items]", a.len()),
        Some(v) => v.to_string(),
    };
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(79).collect::<String>())
    } else {
        s
    }
}

/// Keys that identify an item of a list, most specific first. `Name` comes after the ids
/// because calculated fields and parameters have nothing better, while sheets have both.
const ID_KEYS: &[&str] = &[
    "SheetId",
    "VisualId",
    "FilterGroupId",
    "FilterId",
    "ColumnId",
    "FieldId",
    "ElementId",
    "Identifier",
    "principal",
    "Principal",
    "key",
    "Key",
    "ColumnName",
    "Name",
    "name",
    "Alias",
];

/// Field names that, within an item, are what people call it.
const TITLE_KEYS: &[&str] = &["Name", "name", "ColumnName", "Alias", "Identifier", "principal", "key"];

/// Every change from `old` to `new` (both already normalized).
pub fn diff_documents(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut at = Cursor {
        path: "$".to_string(),
        words: Vec::new(),
        area: ChangeArea::Definition,
        item: false,
    };
    compare(&mut at, None, old, new, &mut out);
    out
}

struct Cursor {
    path: String,
    words: Vec<String>,
    area: ChangeArea,
    /// At a list item: a lone key wrapping it (`BarChartVisual`) adds no word.
    item: bool,
}

impl Cursor {
    fn what(&self) -> String {
        if self.words.is_empty() {
            "document".to_string()
        } else {
            self.words.join(" › ")
        }
    }

    fn child(&self, path: String, word: Option<String>, area: ChangeArea) -> Cursor {
        let mut words = self.words.clone();
        words.extend(word);
        Cursor {
            path,
            words,
            area,
            item: false,
        }
    }
}

fn push(out: &mut Vec<FieldChange>, at: &Cursor, kind: FieldChangeKind, before: Option<&Value>, after: Option<&Value>) {
    out.push(FieldChange {
        kind,
        area: at.area,
        path: at.path.clone(),
        what: at.what(),
        before: before.cloned(),
        after: after.cloned(),
    });
}

fn compare(at: &mut Cursor, key: Option<&str>, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => compare_objects(at, a, b, out),
        (Value::Array(a), Value::Array(b)) => compare_lists(at, key, a, b, out),
        (a, b) if a == b => {}
        (a, b) => push(out, at, FieldChangeKind::Changed, Some(a), Some(b)),
    }
}

fn compare_objects(at: &Cursor, a: &Map<String, Value>, b: &Map<String, Value>, out: &mut Vec<FieldChange>) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    // A map keyed by generated ids (`PhysicalTableMap`) has items, not fields.
    let parent_is_map = at.words.last().is_some_and(|w| w.ends_with("map"));
    let wrapper = at.item && a.len() == 1 && b.len() == 1 && a.keys().eq(b.keys());
    for k in keys {
        let area = if at.words.is_empty() && at.area == ChangeArea::Definition {
            area_of(k)
        } else {
            at.area
        };
        let path = format!("{}{}", at.path, path_key(k));
        if parent_is_map {
            // `PhysicalTableMap` › `pt-1`: the entry is a `physical table "pt-1"`.
            let item = b.get(k).or_else(|| a.get(k));
            let noun = at.words.last().map_or("", |w| w.trim_end_matches("map").trim_end());
            let name = item.and_then(title).unwrap_or_else(|| k.to_string());
            let mut child = list_item(at, path, format!("{noun} \"{name}\""));
            child.item = false;
            compare_entry(&mut child, k, a.get(k), b.get(k), out);
            continue;
        }
        let word = if wrapper || matches!(k.as_str(), "FormatText" | "PlainText" | "RichText") {
            None
        } else {
            Some(field_words(k))
        };
        let mut child = at.child(path, word, area);
        compare_entry(&mut child, k, a.get(k), b.get(k), out);
    }
}

fn compare_entry(at: &mut Cursor, k: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(x), Some(y)) => compare(at, Some(k), x, y, out),
        (None, Some(y)) if !is_empty(y) => push(out, at, FieldChangeKind::Added, None, Some(y)),
        (Some(x), None) if !is_empty(x) => push(out, at, FieldChangeKind::Removed, Some(x), None),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn area_of(top_level_key: &str) -> ChangeArea {
    match top_level_key {
        "name" | "Name" => ChangeArea::Name,
        "permissions" | "Permissions" => ChangeArea::Permissions,
        "tags" | "Tags" => ChangeArea::Tags,
        _ => ChangeArea::Definition,
    }
}

fn path_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with(|c: char| c.is_ascii_digit())
    {
        format!(".{k}")
    } else {
        format!("['{}']", k.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// `DataSourceParameters` → `data source parameters`; QuickSight's few odd spellings by name.
fn field_words(k: &str) -> String {
    match k {
        "SqlQuery" | "sqlQuery" => return "SQL".to_string(),
        "CustomSql" | "customSql" => return "custom SQL".to_string(),
        _ => {}
    }
    let mut words = String::new();
    let mut prev_lower = false;
    for c in k.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            words.push(' ');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        words.extend(c.to_lowercase());
    }
    words
}

/// The noun for one item of the list under `list_key`: `Sheets` → `sheet`.
fn item_noun(list_key: Option<&str>, item: &Value) -> String {
    let k = list_key.unwrap_or("");
    let noun = match k.to_ascii_lowercase().as_str() {
        "sheets" => "sheet",
        "visuals" => "visual",
        "calculatedfields" => "calculated field",
        "parameterdeclarations" => "parameter",
        "filtergroups" => "filter group",
        "filters" => "filter",
        "datasetidentifierdeclarations" => "dataset",
        "permissions" => "permission of",
        "tags" => "tag",
        "columns" | "inputcolumns" | "outputcolumns" | "projectedcolumns" => "column",
        "datatransforms" => "transform",
        _ => "",
    };
    if !noun.is_empty() {
        // A calculated column is a `CreateColumnsOperation` column with an expression.
        if noun == "column" && item.get("Expression").is_some() {
            return "calculated field".to_string();
        }
        return noun.to_string();
    }
    let words = field_words(k);
    words.strip_suffix('s').map(str::to_string).unwrap_or(words)
}

/// The id of a list item and the field path to it (`SheetId`, or `BarChartVisual.VisualId` for
/// items wrapped in one object naming their kind).
fn identity(item: &Value) -> Option<(String, String)> {
    let obj = item.as_object()?;
    for k in ID_KEYS {
        if let Some(v) = obj.get(*k).and_then(scalar) {
            return Some((k.to_string(), v));
        }
    }
    if obj.len() == 1 {
        let (kind, inner) = obj.iter().next()?;
        let inner = inner.as_object()?;
        for k in ID_KEYS {
            if let Some(v) = inner.get(*k).and_then(scalar) {
                return Some((format!("{kind}.{k}"), v));
            }
        }
    }
    None
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What people call an item: its title text, name, or id.
fn title(item: &Value) -> Option<String> {
    let obj = item.as_object()?;
    let inner = if obj.len() == 1 {
        obj.values().next().and_then(Value::as_object).unwrap_or(obj)
    } else {
        obj
    };
    if let Some(t) = inner
        .get("Title")
        .and_then(|t| t.get("FormatText"))
        .and_then(|f| f.get("PlainText").or_else(|| f.get("RichText")))
        .and_then(Value::as_str)
    {
        return Some(t.to_string());
    }
    TITLE_KEYS
        .iter()
        .find_map(|k| inner.get(*k).and_then(scalar))
        .or_else(|| identity(item).map(|(_, v)| v))
        .map(|t| short_principal(&t))
}

/// `arn:aws:quicksight:us-east-1:111:user/default/alice` → `user/default/alice`.
fn short_principal(s: &str) -> String {
    if s.starts_with("arn:") {
        s.rsplit(':').next().unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

fn compare_lists(at: &Cursor, key: Option<&str>, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    if a.iter().chain(b).all(|v| !v.is_object() && !v.is_array()) {
        return compare_value_sets(at, a, b, out);
    }
    let ids_a: Option<Vec<(String, String)>> = a.iter().map(identity).collect();
    let ids_b: Option<Vec<(String, String)>> = b.iter().map(identity).collect();
    if let (Some(ia), Some(ib)) = (ids_a, ids_b) {
        if unique(&ia) && unique(&ib) {
            return compare_by_id(at, key, (a, &ia), (b, &ib), out);
        }
    }
    compare_unkeyed(at, key, a, b, out);
}

fn unique(ids: &[(String, String)]) -> bool {
    let set: BTreeSet<&(String, String)> = ids.iter().collect();
    set.len() == ids.len()
}

fn item_cursor(at: &Cursor, key: Option<&str>, item: &Value, id_field: &str, id: &str) -> Cursor {
    let noun = item_noun(key, item);
    let name = title(item).unwrap_or_else(|| id.to_string());
    let path = format!("{}[?(@.{id_field}=='{}')]", at.path, id.replace('\'', "\\'"));
    list_item(at, path, format!("{noun} \"{name}\""))
}

/// A cursor at an item of the list at `at`: the item's noun takes the place of the list's name
/// (`sheet "Overview"`, not `sheets › sheet "Overview"`).
fn list_item(at: &Cursor, path: String, word: String) -> Cursor {
    let mut words = at.words.clone();
    words.pop();
    words.push(word);
    Cursor {
        path,
        words,
        area: at.area,
        item: true,
    }
}

fn compare_by_id(
    at: &Cursor,
    key: Option<&str>,
    (a, ia): (&[Value], &[(String, String)]),
    (b, ib): (&[Value], &[(String, String)]),
    out: &mut Vec<FieldChange>,
) {
    let old: HashMap<&(String, String), &Value> = ia.iter().zip(a).collect();
    let new_ids: BTreeSet<&(String, String)> = ib.iter().collect();
    for (id, item) in ia.iter().zip(a) {
        if !new_ids.contains(id) {
            let c = item_cursor(at, key, item, &id.0, &id.1);
            push(out, &c, FieldChangeKind::Removed, Some(item), None);
        }
    }
    for (id, item) in ib.iter().zip(b) {
        let mut c = item_cursor(at, key, item, &id.0, &id.1);
        match old.get(id) {
            None => push(out, &c, FieldChangeKind::Added, None, Some(item)),
            Some(before) => compare(&mut c, None, before, item, out),
        }
    }
}

/// Lists of plain values compared as sets: `actions`, `ProjectedColumns`, static values.
fn compare_value_sets(at: &Cursor, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    let key = |v: &Value| v.to_string();
    let sa: BTreeSet<String> = a.iter().map(key).collect();
    let sb: BTreeSet<String> = b.iter().map(key).collect();
    for v in a.iter().filter(|v| !sb.contains(&key(v))) {
        push(out, at, FieldChangeKind::Removed, Some(v), None);
    }
    for v in b.iter().filter(|v| !sa.contains(&key(v))) {
        push(out, at, FieldChangeKind::Added, None, Some(v));
    }
}

/// Lists of objects without ids: equal items match wherever they are; what is left is paired
/// in order and compared field by field, the surplus added or removed.
fn compare_unkeyed(at: &Cursor, key: Option<&str>, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    let mut unmatched_b: Vec<(usize, &Value)> = b.iter().enumerate().collect();
    let mut unmatched_a = Vec::new();
    for (i, x) in a.iter().enumerate() {
        match unmatched_b.iter().position(|(_, y)| *y == x) {
            Some(p) => {
                unmatched_b.remove(p);
            }
            None => unmatched_a.push((i, x)),
        }
    }
    let pairs = unmatched_a.len().min(unmatched_b.len());
    for n in 0..pairs {
        let ((_, x), (j, y)) = (unmatched_a[n], unmatched_b[n]);
        let word = format!("{} {}", item_noun(key, y), j + 1);
        let mut c = list_item(at, format!("{}[{j}]", at.path), word);
        compare(&mut c, None, x, y, out);
    }
    for &(i, x) in &unmatched_a[pairs..] {
        let c = list_item(at, format!("{}[{i}]", at.path), item_noun(key, x));
        push(out, &c, FieldChangeKind::Removed, Some(x), None);
    }
    for &(j, y) in &unmatched_b[pairs..] {
        let c = list_item(at, format!("{}[{j}]", at.path), item_noun(key, y));
        push(out, &c, FieldChangeKind::Added, None, Some(y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(a: Value, b: Value) -> Vec<String> {
        diff_documents(&a, &b).iter().map(FieldChange::describe).collect()
    }

    #[test]
    fn reordering_lists_is_no_change() {
        let a = json!({"definition": {"Sheets": [{"SheetId": "s1", "Name": "A"}, {"SheetId": "s2", "Name": "B"}]},
            "permissions": [{"principal": "p1", "actions": ["x", "y"]}, {"principal": "p2", "actions": ["z"]}]});
        let b = json!({"definition": {"Sheets": [{"SheetId": "s2", "Name": "B"}, {"SheetId": "s1", "Name": "A"}]},
            "permissions": [{"principal": "p2", "actions": ["z"]}, {"principal": "p1", "actions": ["y", "x"]}]});
        assert!(diff_documents(&a, &b).is_empty());
    }

    #[test]
    fn sheets_visuals_and_calculated_fields_are_named_in_quicksights_words() {
        let visual = |t: &str| json!({"BarChartVisual": {"VisualId": "v1", "Title": {"FormatText": {"PlainText": t}}}});
        let a = json!({"definition": {
            "Sheets": [{"SheetId": "s1", "Name": "Overview", "Visuals": [visual("Revenue")]}],
            "CalculatedFields": [{"DataSetIdentifier": "ds0", "Name": "margin", "Expression": "{a} / {b}"}]}});
        let b = json!({"definition": {
            "Sheets": [{"SheetId": "s1", "Name": "Overview", "Visuals": [visual("Revenue by month")]},
                       {"SheetId": "s2", "Name": "Detail"}],
            "CalculatedFields": [{"DataSetIdentifier": "ds0", "Name": "margin", "Expression": "{a} - {b}"}]}});
        let changes = diff_documents(&a, &b);
        let said: Vec<String> = changes.iter().map(FieldChange::describe).collect();
        assert!(said.contains(&"definition › sheet \"Overview\" › visual \"Revenue by month\" › title: \"Revenue\" -> \"Revenue by month\"".to_string()), "{said:#?}");
        assert!(
            said.contains(&"definition › sheet \"Detail\" added".to_string()),
            "{said:#?}"
        );
        assert!(
            said.contains(
                &"definition › calculated field \"margin\" › expression: \"{a} / {b}\" -> \"{a} - {b}\"".to_string()
            ),
            "{said:#?}"
        );
        let expr = changes.iter().find(|c| c.what.contains("expression")).unwrap();
        assert_eq!(
            expr.path,
            "$.definition.CalculatedFields[?(@.Name=='margin')].Expression"
        );
        let title = changes.iter().find(|c| c.what.contains("title")).unwrap();
        assert_eq!(
            title.path,
            "$.definition.Sheets[?(@.SheetId=='s1')].Visuals[?(@.BarChartVisual.VisualId=='v1')].BarChartVisual.Title.FormatText.PlainText"
        );
    }

    #[test]
    fn permission_actions_and_principals_tags_and_name_have_their_areas() {
        let a = json!({"name": "Sales", "permissions": [{"principal": "arn:aws:quicksight:us-east-1:1:user/default/alice", "actions": ["quicksight:DescribeDashboard"]}],
            "tags": [{"key": "team", "value": "bi"}]});
        let b = json!({"name": "Revenue", "permissions": [
            {"principal": "arn:aws:quicksight:us-east-1:1:user/default/alice", "actions": ["quicksight:DescribeDashboard", "quicksight:UpdateDashboard"]},
            {"principal": "arn:aws:quicksight:us-east-1:1:group/default/bi", "actions": ["quicksight:DescribeDashboard"]}],
            "tags": [{"key": "team", "value": "finance"}]});
        let changes = diff_documents(&a, &b);
        let areas: BTreeSet<ChangeArea> = changes.iter().map(|c| c.area).collect();
        assert_eq!(
            areas,
            [ChangeArea::Name, ChangeArea::Permissions, ChangeArea::Tags].into()
        );
        let said = lines(a, b);
        assert!(
            said.contains(&"name: \"Sales\" -> \"Revenue\"".to_string()),
            "{said:#?}"
        );
        assert!(
            said.contains(
                &"permission of \"user/default/alice\" › actions added: \"quicksight:UpdateDashboard\"".to_string()
            ),
            "{said:#?}"
        );
        assert!(
            said.contains(&"permission of \"group/default/bi\" added".to_string()),
            "{said:#?}"
        );
        assert!(
            said.contains(&"tag \"team\" › value: \"bi\" -> \"finance\"".to_string()),
            "{said:#?}"
        );
    }

    #[test]
    fn dataset_sql_and_columns_and_maps_keyed_by_generated_ids() {
        let a = json!({"physicalTableMap": {"pt-1": {"CustomSql": {"Name": "q", "SqlQuery": "SELECT 1", "Columns": [{"Name": "a", "Type": "STRING"}]}}}});
        let b = json!({"physicalTableMap": {"pt-1": {"CustomSql": {"Name": "q", "SqlQuery": "SELECT 2", "Columns": [{"Name": "a", "Type": "INTEGER"}, {"Name": "b", "Type": "STRING"}]}}}});
        let said = lines(a, b);
        assert_eq!(
            said,
            vec![
                "physical table \"q\" › custom SQL › column \"a\" › type: \"STRING\" -> \"INTEGER\"".to_string(),
                "physical table \"q\" › custom SQL › column \"b\" added".to_string(),
                "physical table \"q\" › custom SQL › SQL: \"SELECT 1\" -> \"SELECT 2\"".to_string(),
            ]
        );
    }

    #[test]
    fn empty_and_missing_are_the_same() {
        assert!(diff_documents(&json!({"tags": [], "x": null}), &json!({})).is_empty());
    }
}
