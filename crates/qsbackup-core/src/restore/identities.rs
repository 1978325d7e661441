//! Identities of a restore: how the snapshot's namespaces, groups and users are named in the
//! target ([`Naming`]: `--namespace`, renamed groups and namespaces, IAM users through the
//! overrides file), and the plan that brings them there — groups, then users (QUICKSIGHT users
//! registered with their email and role, IAM users with their mapped IAM identity, IAM Identity
//! Center users only verified), then memberships. What exists already is left alone, so a
//! re-run changes nothing; an inactive or unmappable user is skipped with the reason, never
//! fatal to the rest. [`apply`] carries the plan out.

pub mod apply;

use super::arn::PrincipalKind;
use super::mapping::Mapping;
use crate::identities::{IdentitySnapshot, UserRecord};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What happens to one namespace, group, user or membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "reason")]
pub enum Action {
    Create,
    /// Already in the target (or, for an IAM Identity Center user, present there).
    Exists,
    Skip(String),
}

/// A namespace of the target.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceStep {
    pub name: String,
    /// Source namespaces that land in it.
    pub from: Vec<String>,
    pub action: Action,
}

/// A group of the target.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStep {
    pub namespace: String,
    pub name: String,
    /// `namespace/name` in the snapshot.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub action: Action,
}

/// What `RegisterUser` is called with.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    pub identity_type: String,
    pub email: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_permissions_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_login_federation_provider_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_federation_provider_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_login_id: Option<String>,
}

/// A user of the target.
#[derive(Debug, Clone, Serialize)]
pub struct UserStep {
    pub namespace: String,
    pub name: String,
    pub source: String,
    pub identity_type: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// A group membership of the target.
#[derive(Debug, Clone, Serialize)]
pub struct MembershipStep {
    pub namespace: String,
    pub group: String,
    pub user: String,
    pub action: Action,
}

/// Everything the identity step will do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentityPlan {
    pub namespaces: Vec<NamespaceStep>,
    pub groups: Vec<GroupStep>,
    pub users: Vec<UserStep>,
    pub memberships: Vec<MembershipStep>,
}

/// Counts of one step, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub exists: usize,
    pub skip: usize,
}

fn count<'a>(actions: impl Iterator<Item = &'a Action>) -> Counts {
    let mut c = Counts::default();
    for a in actions {
        match a {
            Action::Create => c.create += 1,
            Action::Exists => c.exists += 1,
            Action::Skip(_) => c.skip += 1,
        }
    }
    c
}

impl IdentityPlan {
    pub fn counts(&self) -> [(&'static str, Counts); 4] {
        [
            ("namespaces", count(self.namespaces.iter().map(|s| &s.action))),
            ("groups", count(self.groups.iter().map(|s| &s.action))),
            ("users", count(self.users.iter().map(|s| &s.action))),
            ("memberships", count(self.memberships.iter().map(|s| &s.action))),
        ]
    }

    /// Principals of the target once the plan has run (`planned`) or as it is now.
    pub fn principals(&self, planned: bool) -> Principals {
        let keep = |a: &Action| matches!(a, Action::Exists) || (planned && matches!(a, Action::Create));
        let mut p = Principals::default();
        for g in self.groups.iter().filter(|g| keep(&g.action)) {
            p.insert(PrincipalKind::Group, &g.namespace, &g.name);
        }
        for u in self.users.iter().filter(|u| keep(&u.action)) {
            p.insert(PrincipalKind::User, &u.namespace, &u.name);
        }
        p
    }
}

/// Users and groups known to exist in the target: `(kind, namespace, name)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals(BTreeSet<(PrincipalKind, String, String)>);

impl Principals {
    pub fn insert(&mut self, kind: PrincipalKind, ns: &str, name: &str) {
        self.0.insert((kind, ns.to_string(), name.to_string()));
    }
    pub fn contains(&self, kind: PrincipalKind, ns: &str, name: &str) -> bool {
        self.0.contains(&(kind, ns.to_string(), name.to_string()))
    }
    /// Everything an identity listing of the target shows.
    pub fn of(snapshot: &IdentitySnapshot) -> Principals {
        let mut p = Principals::default();
        for ns in &snapshot.namespaces {
            for u in &ns.users {
                p.insert(PrincipalKind::User, &ns.name, &u.user_name);
            }
            for g in &ns.groups {
                p.insert(PrincipalKind::Group, &ns.name, &g.group_name);
            }
        }
        p
    }
    pub fn extend(&mut self, other: &Principals) {
        self.0.extend(other.0.iter().cloned());
    }
}

/// How names of the snapshot become names of the target.
#[derive(Debug, Clone)]
pub struct Naming<'a> {
    pub mapping: &'a Mapping,
    /// `--namespace`: every namespace lands in this one.
    pub namespace: Option<&'a str>,
    /// Users of the snapshot by (namespace, name), to know which are IAM users.
    users: BTreeMap<(String, String), &'a UserRecord>,
    /// Account of IAM identities with the same names as the source's, if any.
    iam_account: Option<String>,
    partition: String,
}

impl<'a> Naming<'a> {
    pub fn new(
        mapping: &'a Mapping,
        namespace: Option<&'a str>,
        source: Option<&'a IdentitySnapshot>,
        same_account: bool,
        target_account: &str,
        partition: &str,
    ) -> Naming<'a> {
        let users = source
            .into_iter()
            .flat_map(|s| &s.namespaces)
            .flat_map(|ns| {
                ns.users
                    .iter()
                    .map(move |u| ((ns.name.clone(), u.user_name.clone()), u))
            })
            .collect();
        let iam_account = mapping
            .iam_account
            .clone()
            .or_else(|| same_account.then(|| target_account.to_string()));
        Naming {
            mapping,
            namespace,
            users,
            iam_account,
            partition: partition.to_string(),
        }
    }

    pub fn namespace(&self, ns: &str) -> String {
        self.namespace
            .map(str::to_string)
            .or_else(|| self.mapping.namespaces.get(ns).cloned())
            .unwrap_or_else(|| ns.to_string())
    }

    pub fn group(&self, name: &str) -> String {
        self.mapping
            .groups
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// The IAM identity for IAM user `user_name`: `(iam_arn, session_name)`.
    pub fn iam_identity(&self, user_name: &str) -> Option<(String, Option<String>)> {
        let after_slash = user_name.split_once('/').map(|(_, s)| s.to_string());
        if let Some(identity) = self.mapping.iam_users.get(user_name) {
            let arn = identity.iam_arn().to_string();
            let session = identity.session_name().map(str::to_string).or_else(|| {
                if arn.contains(":role/") {
                    after_slash
                } else {
                    None
                }
            });
            return Some((arn, session));
        }
        if let Some((role, session)) = user_name.split_once('/') {
            if let Some(arn) = self.mapping.iam_roles.get(role) {
                return Some((arn.clone(), Some(session.to_string())));
            }
            let account = self.iam_account.as_ref()?;
            return Some((
                format!("arn:{}:iam::{account}:role/{role}", self.partition),
                Some(session.to_string()),
            ));
        }
        let account = self.iam_account.as_ref()?;
        Some((format!("arn:{}:iam::{account}:user/{user_name}", self.partition), None))
    }

    /// The QuickSight user name an IAM identity gets: `<role>/<session>` or `<user>`.
    pub fn iam_user_name(iam_arn: &str, session: Option<&str>) -> String {
        let name = iam_arn.rsplit('/').next().unwrap_or(iam_arn);
        match session {
            Some(s) => format!("{name}/{s}"),
            None => name.to_string(),
        }
    }

    /// The target name of user `name` of namespace `ns` (an IAM user may change name with its
    /// mapped identity); unknown users keep their name.
    pub fn user(&self, ns: &str, name: &str) -> String {
        let iam = self
            .users
            .get(&(ns.to_string(), name.to_string()))
            .is_some_and(|u| u.identity_type.as_deref() == Some("IAM"));
        if iam {
            if let Some((arn, session)) = self.iam_identity(name) {
                return Self::iam_user_name(&arn, session.as_deref());
            }
        }
        name.to_string()
    }
}

/// Plans the identity step: `source` is the snapshot's, `target` what the target has now.
pub fn plan(source: &IdentitySnapshot, target: &IdentitySnapshot, naming: &Naming) -> IdentityPlan {
    let existing = Principals::of(target);
    let target_ns: BTreeSet<&str> = target.namespaces.iter().map(|n| n.name.as_str()).collect();
    let members_now: BTreeSet<(String, String, String)> = target
        .namespaces
        .iter()
        .flat_map(|ns| {
            ns.groups.iter().flat_map(move |g| {
                g.members
                    .iter()
                    .map(move |m| (ns.name.clone(), g.group_name.clone(), m.clone()))
            })
        })
        .collect();
    let include_inactive = naming.mapping.identities.include_inactive_users;
    let mut plan = IdentityPlan::default();

    let mut namespaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ns in &source.namespaces {
        namespaces
            .entry(naming.namespace(&ns.name))
            .or_default()
            .push(ns.name.clone());
    }
    for (name, from) in namespaces {
        let action = if target_ns.contains(name.as_str()) {
            Action::Exists
        } else {
            Action::Create
        };
        plan.namespaces.push(NamespaceStep { name, from, action });
    }

    let mut seen_groups: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut seen_users: BTreeMap<(String, String), String> = BTreeMap::new();
    // Target (namespace, user) of each source (namespace, user) that will exist.
    let mut user_names: BTreeMap<(String, String), Option<(String, String)>> = BTreeMap::new();
    for ns in &source.namespaces {
        let tns = naming.namespace(&ns.name);
        for g in &ns.groups {
            let name = naming.group(&g.group_name);
            let source_name = format!("{}/{}", ns.name, g.group_name);
            let action = match seen_groups.get(&(tns.clone(), name.clone())) {
                Some(first) => Action::Skip(format!("group {tns}/{name} already comes from {first}")),
                None if existing.contains(PrincipalKind::Group, &tns, &name) => Action::Exists,
                None => Action::Create,
            };
            seen_groups
                .entry((tns.clone(), name.clone()))
                .or_insert(source_name.clone());
            plan.groups.push(GroupStep {
                namespace: tns.clone(),
                name,
                source: source_name,
                description: g.description.clone(),
                action,
            });
        }
        for u in &ns.users {
            let step = user_step(&ns.name, &tns, u, naming, &existing, include_inactive);
            let key = (tns.clone(), step.name.clone());
            let step = match seen_users.get(&key) {
                Some(first) if !matches!(step.action, Action::Skip(_)) => UserStep {
                    action: Action::Skip(format!("user {}/{} already comes from {first}", key.0, key.1)),
                    registration: None,
                    ..step
                },
                _ => step,
            };
            if !matches!(step.action, Action::Skip(_)) {
                seen_users.insert(key.clone(), step.source.clone());
            }
            let lands = (!matches!(step.action, Action::Skip(_))).then(|| key.clone());
            user_names.insert((ns.name.clone(), u.user_name.clone()), lands);
            plan.users.push(step);
        }
    }

    for ns in &source.namespaces {
        let tns = naming.namespace(&ns.name);
        for g in &ns.groups {
            let group = naming.group(&g.group_name);
            for member in &g.members {
                let target_user = user_names.get(&(ns.name.clone(), member.clone())).cloned().flatten();
                let (user, action) = match target_user {
                    Some((_, user)) if members_now.contains(&(tns.clone(), group.clone(), user.clone())) => {
                        (user, Action::Exists)
                    }
                    Some((_, user)) => (user, Action::Create),
                    None => {
                        // The member was skipped; it may still exist in the target.
                        let user = naming.user(&ns.name, member);
                        if existing.contains(PrincipalKind::User, &tns, &user) {
                            let action = if members_now.contains(&(tns.clone(), group.clone(), user.clone())) {
                                Action::Exists
                            } else {
                                Action::Create
                            };
                            (user, action)
                        } else {
                            (user, Action::Skip("its user is not restored".into()))
                        }
                    }
                };
                plan.memberships.push(MembershipStep {
                    namespace: tns.clone(),
                    group: group.clone(),
                    user,
                    action,
                });
            }
        }
    }
    plan
}

fn user_step(
    ns: &str,
    tns: &str,
    u: &UserRecord,
    naming: &Naming,
    existing: &Principals,
    include_inactive: bool,
) -> UserStep {
    let identity_type = u.identity_type.clone().unwrap_or_else(|| "QUICKSIGHT".into());
    let mut step = UserStep {
        namespace: tns.to_string(),
        name: u.user_name.clone(),
        source: format!("{ns}/{}", u.user_name),
        identity_type: identity_type.clone(),
        action: Action::Create,
        registration: None,
    };
    let mut registration = Registration {
        identity_type: identity_type.clone(),
        email: u.email.clone().unwrap_or_default(),
        role: u.role.clone().unwrap_or_default(),
        user_name: None,
        iam_arn: None,
        session_name: None,
        custom_permissions_name: u.custom_permissions_name.clone(),
        external_login_federation_provider_type: u.external_login_federation_provider_type.clone(),
        custom_federation_provider_url: u.external_login_federation_provider_url.clone(),
        external_login_id: u.external_login_id.clone(),
    };
    match identity_type.as_str() {
        "IAM" => match naming.iam_identity(&u.user_name) {
            Some((arn, session)) => {
                step.name = Naming::iam_user_name(&arn, session.as_deref());
                registration.iam_arn = Some(arn);
                registration.session_name = session;
            }
            None => {
                step.action = Action::Skip(
                    "IAM user whose IAM identity in the target is not known: map it in the overrides file \
                     (iam_users: {\"ROLE/SESSION\": arn:aws:iam::ACCOUNT:role/ROLE}, iam_roles or iam_account)"
                        .into(),
                );
                return step;
            }
        },
        "IAM_IDENTITY_CENTER" => {
            step.action = if existing.contains(PrincipalKind::User, tns, &u.user_name) {
                Action::Exists
            } else {
                Action::Skip(
                    "IAM Identity Center user not found in the target: it is provisioned through IAM Identity \
                     Center, not by a restore"
                        .into(),
                )
            };
            return step;
        }
        _ => registration.user_name = Some(u.user_name.clone()),
    }
    if existing.contains(PrincipalKind::User, tns, &step.name) {
        step.action = Action::Exists;
        return step;
    }
    if !u.active && !include_inactive {
        step.action = Action::Skip(
            "inactive: the user never activated the account; set identities.include_inactive_users: true in the \
             overrides file to invite it again"
                .into(),
        );
        return step;
    }
    if registration.email.is_empty() || registration.role.is_empty() {
        step.action = Action::Skip("the snapshot has no email or role for this user, which RegisterUser needs".into());
        return step;
    }
    step.registration = Some(registration);
    step
}

#[cfg(test)]
mod tests;
