//! What a bundle member must be before verify passes it or restore imports it: the manifest's
//! entry names a safe path and id, and the member is a JSON object whose `resourceType` is the
//! entry's type and whose id field is the entry's id. Someone who can write to the repository
//! can rewrite a bundle and its checksums in the manifest; these checks are what stops such a
//! member from being imported under another type or an id like `../../../etc/passwd`.

use super::zip_check::unsafe_path;
use serde::Deserialize;
use serde_json::Value;

/// Longest id QuickSight gives an asset (folder ids; dashboards, analyses and themes take 512).
pub const MAX_ID_CHARS: usize = 2048;

/// Types whose ids the service model restricts to `[\w\-]+` (`ShortRestrictiveResourceId`,
/// `RestrictiveResourceId`). Data set, data source and VPC connection ids are unrestricted
/// there, so only the checks every id gets apply to them.
const RESTRICTED_ID_TYPES: &[&str] = &["dashboard", "analysis", "theme", "folder"];

/// The id field of a member of `member_type` (a JSON pointer), as QuickSight exports it.
pub fn id_pointer(member_type: &str) -> Option<&'static str> {
    Some(match member_type {
        "datasource" => "/dataSourceId",
        "dataset" => "/dataSetId",
        "analysis" => "/analysisId",
        "dashboard" => "/dashboardId",
        "theme" => "/themeId",
        "vpcConnection" => "/vpcConnectionId",
        "folder" => "/folderId",
        "topic" => "/topicId",
        "refreshSchedule" => "/schedule/scheduleId",
        _ => return None,
    })
}

/// Why `id` cannot be used as an id of `member_type` (an import id, a zip path, part of an
/// ARN), if it cannot.
pub fn unsafe_id(member_type: &str, id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("is empty".into());
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Some(format!("is longer than {MAX_ID_CHARS} characters"));
    }
    if id.chars().any(char::is_control) {
        return Some("holds a control character".into());
    }
    if id.contains('/') || id.contains('\\') {
        return Some("holds a path separator".into());
    }
    if id.contains("..") {
        return Some("holds `..`".into());
    }
    if RESTRICTED_ID_TYPES.contains(&member_type)
        && !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Some(format!("is not [\\w-]+, as QuickSight requires of a {member_type} id"));
    }
    None
}

/// `{:?}` of an id, shortened: ids in messages come from untrusted files.
pub fn shown(id: &str) -> String {
    let short: String = id.chars().take(80).collect();
    if short.len() < id.len() {
        format!("{short:?}...")
    } else {
        format!("{short:?}")
    }
}

/// Why the manifest's entry of a member (`path`, type, id) is unusable, if it is.
pub fn check_entry(path: &str, member_type: &str, id: &str) -> Result<(), String> {
    if let Some(why) = unsafe_path(path) {
        return Err(format!("the manifest lists member {} with {why}", shown(path)));
    }
    if let Some(why) = unsafe_id(member_type, id) {
        return Err(format!("the manifest's id {} of member {path} {why}", shown(id)));
    }
    let expected = format!("{member_type}/{id}.json");
    let folder_ok = path.rsplit_once('/').is_some_and(|(folder, file)| {
        folder.rsplit('/').next() == Some(member_type) && file == &expected[member_type.len() + 1..]
    });
    if !folder_ok {
        return Err(format!(
            "the manifest lists member {path} as {member_type} {}, which is not its path",
            shown(id)
        ));
    }
    Ok(())
}

/// The fields of a member that are checked; every other field is skipped without being kept,
/// so checking a large member does not build it in memory.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberHead {
    resource_type: Option<Value>,
    data_source_id: Option<Value>,
    data_set_id: Option<Value>,
    analysis_id: Option<Value>,
    dashboard_id: Option<Value>,
    theme_id: Option<Value>,
    vpc_connection_id: Option<Value>,
    folder_id: Option<Value>,
    topic_id: Option<Value>,
    schedule: Option<Value>,
}

impl MemberHead {
    /// Parses a member's bytes: it must be one JSON object.
    pub fn parse(bytes: &[u8]) -> Result<MemberHead, String> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err("not a JSON object".into());
        }
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))
    }

    /// The head of an already parsed member.
    pub fn of(value: &Value) -> Result<MemberHead, String> {
        if !value.is_object() {
            return Err("not a JSON object".into());
        }
        MemberHead::deserialize(value).map_err(|e| format!("not a bundle member ({e})"))
    }

    fn field(&self, pointer: &str) -> Option<&Value> {
        match pointer {
            "/dataSourceId" => self.data_source_id.as_ref(),
            "/dataSetId" => self.data_set_id.as_ref(),
            "/analysisId" => self.analysis_id.as_ref(),
            "/dashboardId" => self.dashboard_id.as_ref(),
            "/themeId" => self.theme_id.as_ref(),
            "/vpcConnectionId" => self.vpc_connection_id.as_ref(),
            "/folderId" => self.folder_id.as_ref(),
            "/topicId" => self.topic_id.as_ref(),
            "/schedule/scheduleId" => self.schedule.as_ref().and_then(|s| s.get("scheduleId")),
            _ => None,
        }
    }

    /// Why this member is not the `member_type` `id` the manifest says it is, if it is not.
    pub fn check(&self, member_type: &str, id: &str) -> Result<(), String> {
        match self.resource_type.as_ref() {
            Some(Value::String(t)) if t == member_type => {}
            Some(Value::String(t)) => {
                return Err(format!(
                    "its resourceType is {}, the manifest says {member_type}",
                    shown(t)
                ))
            }
            Some(_) => return Err("its resourceType is not a string".into()),
            None => return Err("it has no resourceType".into()),
        }
        let Some(pointer) = id_pointer(member_type) else {
            return Ok(());
        };
        let name = pointer.rsplit('/').next().unwrap_or(pointer);
        match self.field(pointer) {
            Some(Value::String(actual)) if actual == id => {}
            // A schedule's file name is not documented to be its id: its id only has to be
            // safe, as it names the schedule in the import bundle.
            Some(Value::String(actual)) if member_type == "refreshSchedule" => {
                if let Some(why) = unsafe_id(member_type, actual) {
                    return Err(format!("its {name} {} {why}", shown(actual)));
                }
            }
            Some(Value::String(actual)) => {
                return Err(format!(
                    "its {name} is {}, the manifest says {}",
                    shown(actual),
                    shown(id)
                ))
            }
            Some(_) => return Err(format!("its {name} is not a string")),
            None => return Err(format!("it has no {name}")),
        }
        if member_type == "refreshSchedule" {
            match self.data_set_id.as_ref() {
                Some(Value::String(set)) => {
                    if let Some(why) = unsafe_id("dataset", set) {
                        return Err(format!("its dataSetId {} {why}", shown(set)));
                    }
                }
                _ => return Err("it has no dataSetId".into()),
            }
        }
        Ok(())
    }
}

/// Checks a member's bytes against the manifest's entry: JSON, type and id.
pub fn check_bytes(member_type: &str, id: &str, bytes: &[u8]) -> Result<(), String> {
    MemberHead::parse(bytes)?.check(member_type, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_must_be_what_the_manifest_says() {
        let ok = br#"{"resourceType":"dashboard","dashboardId":"d-1","definition":{"x":[1,2]}}"#;
        assert_eq!(check_bytes("dashboard", "d-1", ok), Ok(()));
        let err = |b: &[u8], t: &str, id: &str| check_bytes(t, id, b).unwrap_err();
        assert!(err(b"{", "dashboard", "d-1").contains("not valid JSON"));
        assert!(err(b"[1]", "dashboard", "d-1").contains("not a JSON object"));
        assert!(err(ok, "dataset", "d-1").contains("resourceType is \"dashboard\""));
        assert!(err(ok, "dashboard", "d-2").contains("dashboardId is \"d-1\""));
        assert!(err(br#"{"resourceType":"dashboard"}"#, "dashboard", "d-1").contains("no dashboardId"));
        let sched = br#"{"resourceType":"refreshSchedule","dataSetId":"s1","schedule":{"scheduleId":"daily"}}"#;
        assert_eq!(check_bytes("refreshSchedule", "daily", sched), Ok(()));
        assert_eq!(check_bytes("refreshSchedule", "s1-daily", sched), Ok(()));
        let odd = br#"{"resourceType":"refreshSchedule","dataSetId":"s1","schedule":{"scheduleId":"a/b"}}"#;
        assert!(err(odd, "refreshSchedule", "daily").contains("path separator"));
        let evil = br#"{"resourceType":"refreshSchedule","dataSetId":"../s1","schedule":{"scheduleId":"daily"}}"#;
        assert!(err(evil, "refreshSchedule", "daily").contains("path separator"));
    }

    #[test]
    fn ids_and_paths_must_be_safe() {
        assert_eq!(check_entry("dataset/abc-1.json", "dataset", "abc-1"), Ok(()));
        assert!(check_entry("dataset/../../../etc/passwd.json", "dataset", "../../../etc/passwd").is_err());
        assert!(check_entry("dashboard/a b.json", "dashboard", "a b").is_err());
        assert!(check_entry("dataset/x.json", "dataset", "y").is_err());
        assert!(check_entry("dashboard/x.json", "dataset", "x").is_err());
        assert!(unsafe_id("dataset", "a\u{7}b").is_some());
        assert!(unsafe_id("dataset", &"a".repeat(MAX_ID_CHARS + 1)).is_some());
        assert!(unsafe_id("dashboard", &"a".repeat(512)).is_none());
    }
}
