//! The identity snapshot as stored in the repository
//! (`identities/<snapshot-id>.json`): namespaces, their users and groups,
//! and each group's members, sorted so that identical accounts give
//! identical bytes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use aws_sdk_quicksight::types::{Group, NamespaceInfoV2, User};

/// Every identity of an account, read in its identity region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySnapshot {
    /// The document's schema version ([`crate::repository::layout::SCHEMA_VERSION`]).
    #[serde(default = "crate::repository::layout::schema_v1")]
    pub schema: u32,
    pub account_id: String,
    /// Region the user and group APIs were called in.
    pub identity_region: String,
    pub taken_at: DateTime<Utc>,
    /// False when `ListNamespaces` was denied and only `default` was read.
    pub namespaces_listed: bool,
    pub namespaces: Vec<NamespaceSnapshot>,
    /// What a reader of this snapshot should know about its completeness.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One namespace, as `ListNamespaces` describes it, with its identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSnapshot {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_store: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_identity_center_application_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_identity_center_instance_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_error: Option<NamespaceErrorRecord>,
    pub users: Vec<UserRecord>,
    pub groups: Vec<GroupRecord>,
}

/// Why QuickSight could not create a namespace (`NamespaceError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceErrorRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A user with every field `ListUsers` returns (the same as `DescribeUser`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_permissions_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_login_federation_provider_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_login_federation_provider_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_login_id: Option<String>,
}

/// A group and the names of its members (`ListGroupMemberships`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub group_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Member user names, sorted; empty for a group without members.
    pub members: Vec<String>,
}

impl IdentitySnapshot {
    /// Users of all namespaces.
    pub fn user_count(&self) -> usize {
        self.namespaces.iter().map(|ns| ns.users.len()).sum()
    }

    /// Groups of all namespaces.
    pub fn group_count(&self) -> usize {
        self.namespaces.iter().map(|ns| ns.groups.len()).sum()
    }

    /// Group memberships of all namespaces.
    pub fn membership_count(&self) -> usize {
        self.namespaces
            .iter()
            .flat_map(|ns| &ns.groups)
            .map(|group| group.members.len())
            .sum()
    }

    /// Puts everything in a canonical order (namespaces, users, groups,
    /// members and notes sorted; duplicate names dropped), so that the
    /// order in which concurrent calls finished never shows in the bytes.
    pub fn normalize(&mut self) {
        self.namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        self.namespaces.dedup_by(|a, b| a.name == b.name);
        for ns in &mut self.namespaces {
            ns.users.sort_by(|a, b| a.user_name.cmp(&b.user_name));
            ns.users.dedup_by(|a, b| a.user_name == b.user_name);
            ns.groups.sort_by(|a, b| a.group_name.cmp(&b.group_name));
            ns.groups.dedup_by(|a, b| a.group_name == b.group_name);
            for group in &mut ns.groups {
                group.members.sort();
                group.members.dedup();
            }
        }
        self.notes.sort();
        self.notes.dedup();
    }
}

impl NamespaceSnapshot {
    /// The namespace every account has, for when `ListNamespaces` may not be
    /// called: only its name is known.
    pub fn default_only() -> Self {
        Self::named("default")
    }

    fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            arn: None,
            capacity_region: None,
            creation_status: None,
            identity_store: None,
            iam_identity_center_application_arn: None,
            iam_identity_center_instance_arn: None,
            namespace_error: None,
            users: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The namespace as listed, without identities yet; `None` for an entry
    /// without a name, which no call could address.
    pub(crate) fn from_sdk(info: &NamespaceInfoV2) -> Option<Self> {
        let mut ns = Self::named(non_empty(info.name())?);
        ns.arn = owned(info.arn());
        ns.capacity_region = owned(info.capacity_region());
        ns.creation_status = info.creation_status().map(|s| s.as_str().to_string());
        ns.identity_store = info.identity_store().map(|s| s.as_str().to_string());
        ns.iam_identity_center_application_arn = owned(info.iam_identity_center_application_arn());
        ns.iam_identity_center_instance_arn = owned(info.iam_identity_center_instance_arn());
        ns.namespace_error = info.namespace_error().map(|e| NamespaceErrorRecord {
            r#type: e.r#type().map(|t| t.as_str().to_string()),
            message: owned(e.message()),
        });
        Some(ns)
    }

    /// True when QuickSight reports the namespace as ready for identities
    /// (or does not say, as for the assumed `default`).
    pub(crate) fn is_created(&self) -> bool {
        self.creation_status.as_deref().is_none_or(|s| s == "CREATED")
    }
}

impl UserRecord {
    pub(crate) fn from_sdk(user: &User) -> Option<Self> {
        Some(Self {
            user_name: non_empty(user.user_name())?.to_string(),
            arn: owned(user.arn()),
            email: owned(user.email()),
            role: user.role().map(|r| r.as_str().to_string()),
            identity_type: user.identity_type().map(|t| t.as_str().to_string()),
            active: user.active(),
            principal_id: owned(user.principal_id()),
            custom_permissions_name: owned(user.custom_permissions_name()),
            external_login_federation_provider_type: owned(user.external_login_federation_provider_type()),
            external_login_federation_provider_url: owned(user.external_login_federation_provider_url()),
            external_login_id: owned(user.external_login_id()),
        })
    }
}

impl GroupRecord {
    pub(crate) fn from_sdk(group: &Group) -> Option<Self> {
        Some(Self {
            group_name: non_empty(group.group_name())?.to_string(),
            arn: owned(group.arn()),
            description: owned(group.description()),
            principal_id: owned(group.principal_id()),
            members: Vec::new(),
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Absent and empty strings both become `None`: QuickSight returns either
/// for "not set", and the snapshot should not care which.
fn owned(value: Option<&str>) -> Option<String> {
    non_empty(value).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_quicksight::types::{IdentityType, UserRole};

    fn group(name: &str, members: &[&str]) -> GroupRecord {
        GroupRecord {
            group_name: name.into(),
            arn: None,
            description: None,
            principal_id: None,
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn user_from_sdk_keeps_every_field_and_drops_empty_strings() {
        let user = User::builder()
            .user_name("alice")
            .arn("arn:aws:quicksight:us-east-1:123456789012:user/default/alice")
            .email("")
            .role(UserRole::Reader)
            .identity_type(IdentityType::Quicksight)
            .active(false)
            .principal_id("P1")
            .external_login_id("ext")
            .build();
        let record = UserRecord::from_sdk(&user).expect("named user");
        assert_eq!(record.user_name, "alice");
        assert_eq!(record.email, None);
        assert_eq!(record.role.as_deref(), Some("READER"));
        assert_eq!(record.identity_type.as_deref(), Some("QUICKSIGHT"));
        assert!(!record.active);
        assert_eq!(record.external_login_id.as_deref(), Some("ext"));
        assert!(UserRecord::from_sdk(&User::builder().build()).is_none());
    }

    #[test]
    fn normalize_sorts_everything() {
        let mut ns_b = NamespaceSnapshot::named("b");
        ns_b.groups = vec![group("z", &["u2", "u1", "u2"]), group("a", &[])];
        let mut snapshot = IdentitySnapshot {
            schema: 1,
            account_id: "1".into(),
            identity_region: "us-east-1".into(),
            taken_at: DateTime::<Utc>::UNIX_EPOCH,
            namespaces_listed: true,
            namespaces: vec![ns_b, NamespaceSnapshot::named("a")],
            notes: vec!["z".into(), "a".into()],
        };
        snapshot.normalize();
        assert_eq!(snapshot.namespaces[0].name, "a");
        let groups = &snapshot.namespaces[1].groups;
        assert_eq!(groups[0].group_name, "a");
        assert_eq!(groups[1].members, vec!["u1", "u2"]);
        assert_eq!(snapshot.notes, vec!["a", "z"]);
        assert_eq!(snapshot.membership_count(), 2);
        assert_eq!(snapshot.group_count(), 2);
    }
}
