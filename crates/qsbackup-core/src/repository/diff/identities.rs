//! Identity changes between two identity snapshots: namespaces, users and groups added or
//! removed, memberships added or removed, roles changed, and other user fields changed.

use crate::identities::{IdentitySnapshot, UserRecord};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct UserRef {
    pub namespace: String,
    pub user_name: String,
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupRef {
    pub namespace: String,
    pub group_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Membership {
    pub namespace: String,
    pub group_name: String,
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleChange {
    pub namespace: String,
    pub user_name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A user whose fields other than the role changed (email, active, custom permissions...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserChange {
    pub namespace: String,
    pub user_name: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IdentityDiff {
    pub namespaces_added: Vec<String>,
    pub namespaces_removed: Vec<String>,
    pub users_added: Vec<UserRef>,
    pub users_removed: Vec<UserRef>,
    pub role_changes: Vec<RoleChange>,
    pub users_changed: Vec<UserChange>,
    pub groups_added: Vec<GroupRef>,
    pub groups_removed: Vec<GroupRef>,
    pub memberships_added: Vec<Membership>,
    pub memberships_removed: Vec<Membership>,
}

impl IdentityDiff {
    pub fn is_empty(&self) -> bool {
        *self == IdentityDiff::default()
    }
}

fn user_fields(a: &UserRecord, b: &UserRecord) -> Vec<String> {
    let (Ok(serde_json::Value::Object(x)), Ok(serde_json::Value::Object(y))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec![];
    };
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    keys.into_iter()
        .filter(|k| k.as_str() != "role" && x.get(*k) != y.get(*k))
        .map(|k| k.to_string())
        .collect()
}

/// Compares identity snapshot `a` (older) with `b` (newer).
pub fn diff_identities(a: &IdentitySnapshot, b: &IdentitySnapshot) -> IdentityDiff {
    let mut d = IdentityDiff::default();
    let ns_a: BTreeMap<&str, _> = a.namespaces.iter().map(|n| (n.name.as_str(), n)).collect();
    let ns_b: BTreeMap<&str, _> = b.namespaces.iter().map(|n| (n.name.as_str(), n)).collect();
    d.namespaces_added = ns_b
        .keys()
        .filter(|k| !ns_a.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    d.namespaces_removed = ns_a
        .keys()
        .filter(|k| !ns_b.contains_key(*k))
        .map(|k| k.to_string())
        .collect();

    let users = |s: &IdentitySnapshot| -> BTreeMap<(String, String), UserRecord> {
        s.namespaces
            .iter()
            .flat_map(|n| {
                n.users
                    .iter()
                    .map(move |u| ((n.name.clone(), u.user_name.clone()), u.clone()))
            })
            .collect()
    };
    let (ua, ub) = (users(a), users(b));
    for ((ns, name), u) in &ub {
        match ua.get(&(ns.clone(), name.clone())) {
            None => d.users_added.push(UserRef {
                namespace: ns.clone(),
                user_name: name.clone(),
                role: u.role.clone(),
            }),
            Some(old) => {
                if old.role != u.role {
                    d.role_changes.push(RoleChange {
                        namespace: ns.clone(),
                        user_name: name.clone(),
                        from: old.role.clone(),
                        to: u.role.clone(),
                    });
                }
                let fields = user_fields(old, u);
                if !fields.is_empty() {
                    d.users_changed.push(UserChange {
                        namespace: ns.clone(),
                        user_name: name.clone(),
                        fields,
                    });
                }
            }
        }
    }
    for ((ns, name), u) in &ua {
        if !ub.contains_key(&(ns.clone(), name.clone())) {
            d.users_removed.push(UserRef {
                namespace: ns.clone(),
                user_name: name.clone(),
                role: u.role.clone(),
            });
        }
    }

    let groups = |s: &IdentitySnapshot| -> BTreeSet<GroupRef> {
        s.namespaces
            .iter()
            .flat_map(|n| {
                n.groups.iter().map(move |g| GroupRef {
                    namespace: n.name.clone(),
                    group_name: g.group_name.clone(),
                })
            })
            .collect()
    };
    let (ga, gb) = (groups(a), groups(b));
    d.groups_added = gb.difference(&ga).cloned().collect();
    d.groups_removed = ga.difference(&gb).cloned().collect();

    let memberships = |s: &IdentitySnapshot| -> BTreeSet<Membership> {
        s.namespaces
            .iter()
            .flat_map(|n| {
                n.groups.iter().flat_map(move |g| {
                    g.members.iter().map(move |m| Membership {
                        namespace: n.name.clone(),
                        group_name: g.group_name.clone(),
                        user_name: m.clone(),
                    })
                })
            })
            .collect()
    };
    let (ma, mb) = (memberships(a), memberships(b));
    d.memberships_added = mb.difference(&ma).cloned().collect();
    d.memberships_removed = ma.difference(&mb).cloned().collect();
    d
}
