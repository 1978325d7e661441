//! Identity planning: what is created, what exists, what is skipped and why.

use super::*;
use chrono::DateTime;

fn user(name: &str, kind: &str, active: bool) -> UserRecord {
    UserRecord {
        user_name: name.into(),
        arn: None,
        email: Some(format!("{}@example.com", name.replace('/', "."))),
        role: Some("READER".into()),
        identity_type: Some(kind.into()),
        active,
        principal_id: None,
        custom_permissions_name: None,
        external_login_federation_provider_type: None,
        external_login_federation_provider_url: None,
        external_login_id: None,
    }
}

fn group(name: &str, members: &[&str]) -> crate::identities::GroupRecord {
    crate::identities::GroupRecord {
        group_name: name.into(),
        arn: None,
        description: Some("d".into()),
        principal_id: None,
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

fn snapshot(namespaces: Vec<crate::identities::NamespaceSnapshot>) -> IdentitySnapshot {
    IdentitySnapshot {
        schema: 1,
        account_id: "123456789012".into(),
        identity_region: "us-east-1".into(),
        taken_at: DateTime::<chrono::Utc>::UNIX_EPOCH,
        namespaces_listed: true,
        namespaces,
        notes: vec![],
    }
}

fn ns(
    name: &str,
    users: Vec<UserRecord>,
    groups: Vec<crate::identities::GroupRecord>,
) -> crate::identities::NamespaceSnapshot {
    let mut n = crate::identities::NamespaceSnapshot::default_only();
    n.name = name.into();
    n.users = users;
    n.groups = groups;
    n
}

fn source() -> IdentitySnapshot {
    snapshot(vec![
        ns(
            "default",
            vec![
                user("ana", "QUICKSIGHT", true),
                user("bob", "QUICKSIGHT", false),
                user("Role/cy", "IAM", true),
                user("dee", "IAM_IDENTITY_CENTER", true),
                user("eve", "IAM_IDENTITY_CENTER", true),
            ],
            vec![group("team", &["ana", "bob", "Role/cy", "dee", "eve"])],
        ),
        ns(
            "analytics",
            vec![user("fay", "QUICKSIGHT", true)],
            vec![group("team", &["fay"])],
        ),
    ])
}

fn target() -> IdentitySnapshot {
    snapshot(vec![ns(
        "default",
        vec![user("dee", "IAM_IDENTITY_CENTER", true)],
        vec![],
    )])
}

fn action_of<'a>(plan: &'a IdentityPlan, source: &str) -> &'a Action {
    &plan
        .users
        .iter()
        .find(|u| u.source == source)
        .expect("user in plan")
        .action
}

#[test]
fn another_account_without_mapping() {
    let mapping = Mapping::default();
    let src = source();
    let naming = Naming::new(&mapping, None, Some(&src), false, "210987654321", "aws");
    let plan = plan(&src, &target(), &naming);
    let ns: Vec<(&str, &Action)> = plan.namespaces.iter().map(|n| (n.name.as_str(), &n.action)).collect();
    assert_eq!(ns, vec![("analytics", &Action::Create), ("default", &Action::Exists)]);
    assert_eq!(action_of(&plan, "default/ana"), &Action::Create);
    assert!(matches!(action_of(&plan, "default/bob"), Action::Skip(r) if r.contains("inactive")));
    assert!(matches!(action_of(&plan, "default/Role/cy"), Action::Skip(r) if r.contains("iam_users")));
    assert_eq!(action_of(&plan, "default/dee"), &Action::Exists);
    assert!(matches!(action_of(&plan, "default/eve"), Action::Skip(r) if r.contains("IAM Identity Center")));
    let ana = plan
        .users
        .iter()
        .find(|u| u.name == "ana")
        .and_then(|u| u.registration.as_ref());
    assert_eq!(
        ana.map(|r| (r.email.as_str(), r.role.as_str())),
        Some(("ana@example.com", "READER"))
    );
    let members: Vec<(&str, bool)> = plan
        .memberships
        .iter()
        .filter(|m| m.namespace == "default")
        .map(|m| (m.user.as_str(), matches!(m.action, Action::Create)))
        .collect();
    assert_eq!(
        members,
        vec![
            ("ana", true),
            ("bob", false),
            ("Role/cy", false),
            ("dee", true),
            ("eve", false)
        ]
    );
    let principals = plan.principals(true);
    assert!(principals.contains(PrincipalKind::User, "analytics", "fay"));
    assert!(principals.contains(PrincipalKind::Group, "default", "team"));
    assert!(!principals.contains(PrincipalKind::User, "default", "bob"));
    assert!(!plan.principals(false).contains(PrincipalKind::User, "default", "ana"));
}

#[test]
fn mapping_moves_iam_users_renames_groups_and_merges_namespaces() {
    let mapping = Mapping::parse(
        "iam_roles: {Role: 'arn:aws:iam::210987654321:role/DrRole'}\ngroups: {team: dr-team}\nidentities: {include_inactive_users: true}",
        std::path::Path::new("o.yaml"),
    )
    .unwrap();
    let src = source();
    let naming = Naming::new(&mapping, Some("dr"), Some(&src), false, "210987654321", "aws");
    let plan = plan(&src, &target(), &naming);
    assert_eq!(plan.namespaces.len(), 1);
    assert_eq!(plan.namespaces[0].from, vec!["default", "analytics"]);
    let cy = plan.users.iter().find(|u| u.source == "default/Role/cy").unwrap();
    assert_eq!(cy.name, "DrRole/cy");
    assert_eq!(cy.action, Action::Create);
    let reg = cy.registration.as_ref().unwrap();
    assert_eq!(reg.iam_arn.as_deref(), Some("arn:aws:iam::210987654321:role/DrRole"));
    assert_eq!(reg.session_name.as_deref(), Some("cy"));
    assert_eq!(action_of(&plan, "default/bob"), &Action::Create);
    assert!(plan.groups.iter().all(|g| g.name == "dr-team" && g.namespace == "dr"));
    assert!(matches!(&plan.groups[1].action, Action::Skip(r) if r.contains("already comes from")));
    assert_eq!(naming.user("default", "Role/cy"), "DrRole/cy");
    assert_eq!(naming.user("default", "unknown"), "unknown");
}

#[test]
fn the_same_account_derives_iam_identities() {
    let mapping = Mapping::default();
    let src = source();
    let naming = Naming::new(&mapping, None, Some(&src), true, "123456789012", "aws");
    assert_eq!(
        naming.iam_identity("Role/cy"),
        Some(("arn:aws:iam::123456789012:role/Role".into(), Some("cy".into())))
    );
    assert_eq!(
        naming.iam_identity("plain"),
        Some(("arn:aws:iam::123456789012:user/plain".into(), None))
    );
    let a_rerun = plan(&src, &src, &naming);
    for (what, c) in a_rerun.counts() {
        assert_eq!(c.create, 0, "{what} would be created again: {c:?}");
    }
}
