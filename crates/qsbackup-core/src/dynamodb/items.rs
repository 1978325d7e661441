//! DynamoDB items for the identity tables, built from an identity
//! snapshot: the AWS sample tool's attributes plus `namespace` (the sort
//! key) and `snapshot_id`.
//!
//! An absent value is left out of the item: DynamoDB refuses empty sets and
//! an empty string says nothing a missing attribute does not.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::identities::{GroupRecord, NamespaceSnapshot, UserRecord};

/// One DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Sort key of every identity table.
pub const SORT_KEY: &str = "namespace";

/// Which of the three identity tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityTable {
    Users,
    Groups,
    Memberships,
}

impl IdentityTable {
    /// The partition key attribute.
    pub fn partition_key(self) -> &'static str {
        match self {
            Self::Users => "user_name",
            Self::Groups => "group_name",
            Self::Memberships => "membership_id",
        }
    }
}

/// What every item carries to say which backup wrote it.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub snapshot_id: String,
    /// RFC 3339 UTC time of the snapshot.
    pub backup_timestamp: String,
}

/// The users table item of `user` in `namespace`.
pub fn user_item(namespace: &str, user: &UserRecord, stamp: &Stamp) -> Item {
    let mut item = base(IdentityTable::Users, &user.user_name, namespace, stamp);
    put_s(&mut item, "arn", user.arn.as_deref());
    put_s(&mut item, "email", user.email.as_deref());
    put_s(&mut item, "role", user.role.as_deref());
    put_s(&mut item, "identity_type", user.identity_type.as_deref());
    item.insert("active".into(), AttributeValue::Bool(user.active));
    put_s(&mut item, "principal_id", user.principal_id.as_deref());
    put_s(
        &mut item,
        "custom_permissions_name",
        user.custom_permissions_name.as_deref(),
    );
    put_s(
        &mut item,
        "external_login_federation_provider_type",
        user.external_login_federation_provider_type.as_deref(),
    );
    put_s(
        &mut item,
        "external_login_federation_provider_url",
        user.external_login_federation_provider_url.as_deref(),
    );
    put_s(&mut item, "external_login_id", user.external_login_id.as_deref());
    item
}

/// The groups table item of `group` in `namespace`; a group without
/// members has no `members` attribute.
pub fn group_item(namespace: &str, group: &GroupRecord, stamp: &Stamp) -> Item {
    let mut item = base(IdentityTable::Groups, &group.group_name, namespace, stamp);
    put_s(&mut item, "arn", group.arn.as_deref());
    put_s(&mut item, "description", group.description.as_deref());
    put_s(&mut item, "principal_id", group.principal_id.as_deref());
    let members: BTreeSet<&str> = group
        .members
        .iter()
        .map(String::as_str)
        .filter(|m| !m.is_empty())
        .collect();
    if !members.is_empty() {
        item.insert(
            "members".into(),
            AttributeValue::Ss(members.into_iter().map(str::to_string).collect()),
        );
    }
    item
}

/// The memberships table items of every group of `ns`, keyed
/// `membership_id` = `user#group` as the sample tool does.
pub fn membership_items(ns: &NamespaceSnapshot, stamp: &Stamp) -> Vec<Item> {
    let user_arns: HashMap<&str, &str> = ns
        .users
        .iter()
        .filter_map(|u| Some((u.user_name.as_str(), u.arn.as_deref()?)))
        .collect();
    let mut items = Vec::new();
    for group in &ns.groups {
        for member in group.members.iter().filter(|m| !m.is_empty()) {
            let id = format!("{member}#{}", group.group_name);
            let mut item = base(IdentityTable::Memberships, &id, &ns.name, stamp);
            put_s(&mut item, "user_name", Some(member));
            put_s(&mut item, "group_name", Some(&group.group_name));
            put_s(&mut item, "user_arn", user_arns.get(member.as_str()).copied());
            put_s(&mut item, "group_arn", group.arn.as_deref());
            items.push(item);
        }
    }
    items
}

/// The items of `table` for every namespace of the snapshot.
pub fn table_items(table: IdentityTable, namespaces: &[NamespaceSnapshot], stamp: &Stamp) -> Vec<Item> {
    namespaces
        .iter()
        .flat_map(|ns| match table {
            IdentityTable::Users => ns.users.iter().map(|u| user_item(&ns.name, u, stamp)).collect(),
            IdentityTable::Groups => ns.groups.iter().map(|g| group_item(&ns.name, g, stamp)).collect(),
            IdentityTable::Memberships => membership_items(ns, stamp),
        })
        .collect()
}

/// The (partition key, sort key) of an item of `table`, if it has both.
pub fn item_key(table: IdentityTable, item: &Item) -> Option<(String, String)> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    Some((text(table.partition_key())?, text(SORT_KEY)?))
}

fn base(table: IdentityTable, key: &str, namespace: &str, stamp: &Stamp) -> Item {
    let mut item = Item::new();
    put_s(&mut item, table.partition_key(), Some(key));
    put_s(&mut item, SORT_KEY, Some(namespace));
    put_s(&mut item, "snapshot_id", Some(&stamp.snapshot_id));
    put_s(&mut item, "backup_timestamp", Some(&stamp.backup_timestamp));
    item
}

fn put_s(item: &mut Item, name: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        item.insert(name.to_string(), AttributeValue::S(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            snapshot_id: "snap-1".into(),
            backup_timestamp: "2025-10-19T08:00:00Z".into(),
        }
    }

    fn user(name: &str, active: bool) -> UserRecord {
        UserRecord {
            user_name: name.into(),
            arn: Some(format!("arn:user/{name}")),
            email: Some(String::new()),
            role: Some("READER".into()),
            identity_type: Some("QUICKSIGHT".into()),
            active,
            principal_id: None,
            custom_permissions_name: None,
            external_login_federation_provider_type: None,
            external_login_federation_provider_url: None,
            external_login_id: None,
        }
    }

    fn group(name: &str, members: &[&str]) -> GroupRecord {
        GroupRecord {
            group_name: name.into(),
            arn: Some(format!("arn:group/{name}")),
            description: Some(String::new()),
            principal_id: None,
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn group_without_members_has_no_members_attribute() {
        let item = group_item("default", &group("empty", &[]), &stamp());
        assert!(!item.contains_key("members"), "{item:?}");
        assert!(!item.contains_key("description"), "empty string kept: {item:?}");
        assert!(!item.contains_key("principal_id"), "absent value kept: {item:?}");
        assert_eq!(item["group_name"], AttributeValue::S("empty".into()));
        assert_eq!(item["namespace"], AttributeValue::S("default".into()));
        assert_eq!(item["snapshot_id"], AttributeValue::S("snap-1".into()));
        assert!(item.contains_key("backup_timestamp"));
    }

    #[test]
    fn group_members_are_a_string_set_without_empties() {
        let item = group_item("default", &group("g", &["b", "a", "", "a"]), &stamp());
        assert_eq!(item["members"], AttributeValue::Ss(vec!["a".into(), "b".into()]));
        let only_blank = group_item("default", &group("g", &[""]), &stamp());
        assert!(!only_blank.contains_key("members"));
    }

    #[test]
    fn no_item_holds_an_empty_string_or_set() {
        let mut ns = NamespaceSnapshot::default_only();
        ns.users = vec![user("alice", true), user("bob", false)];
        ns.groups = vec![group("g", &["alice", "ghost"]), group("empty", &[])];
        let items = [IdentityTable::Users, IdentityTable::Groups, IdentityTable::Memberships]
            .into_iter()
            .flat_map(|t| table_items(t, std::slice::from_ref(&ns), &stamp()));
        for item in items {
            for (name, value) in &item {
                match value {
                    AttributeValue::S(s) => assert!(!s.is_empty(), "{name} empty in {item:?}"),
                    AttributeValue::Ss(set) => assert!(!set.is_empty(), "{name} in {item:?}"),
                    AttributeValue::Bool(_) => {}
                    other => panic!("unexpected {name}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn inactive_user_is_stored_as_false() {
        let item = user_item("ns1", &user("bob", false), &stamp());
        assert_eq!(item["active"], AttributeValue::Bool(false));
        assert!(!item.contains_key("email"));
        assert_eq!(item["role"], AttributeValue::S("READER".into()));
        assert_eq!(item["namespace"], AttributeValue::S("ns1".into()));
    }

    #[test]
    fn memberships_name_user_and_group_and_their_arns() {
        let mut ns = NamespaceSnapshot::default_only();
        ns.users = vec![user("alice", true)];
        ns.groups = vec![group("g", &["alice", "ghost"]), group("empty", &[])];
        let items = membership_items(&ns, &stamp());
        assert_eq!(items.len(), 2);
        let alice = &items[0];
        assert_eq!(alice["membership_id"], AttributeValue::S("alice#g".into()));
        assert_eq!(alice["user_arn"], AttributeValue::S("arn:user/alice".into()));
        assert_eq!(alice["group_arn"], AttributeValue::S("arn:group/g".into()));
        // A member missing from the user list keeps its names, not an empty ARN.
        assert!(!items[1].contains_key("user_arn"));
        assert_eq!(
            item_key(IdentityTable::Memberships, &items[1]),
            Some(("ghost#g".into(), "default".into()))
        );
    }
}
