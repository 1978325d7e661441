//! Namespaces, users, groups and group memberships, including the writes a
//! restore uses (CreateNamespace, RegisterUser, CreateGroup, CreateGroupMembership)
//! and the deletes a teardown uses (DeleteNamespace, DeleteUser, DeleteGroup,
//! DeleteGroupMembership).

use axum::response::Response;
use serde_json::{json, Value};

use super::Ctx;
use crate::model::{Arns, Group, Namespace, User};
use crate::wire::{self, ApiError};

fn arns<'a>(ctx: &'a Ctx<'_>) -> Arns<'a> {
    Arns {
        region: &ctx.svc.region,
        identity_region: &ctx.svc.identity_region,
        account: &ctx.account,
    }
}

/// Identities live in the identity region whatever region the caller signed for.
fn with_ns<R>(ctx: &Ctx, ns: &str, f: impl FnOnce(&mut Namespace) -> Result<R, ApiError>) -> Result<R, ApiError> {
    let region = ctx.svc.region.clone();
    ctx.svc.with_account(&ctx.account, &region, |acct, _| {
        let n = acct
            .namespaces
            .get_mut(ns)
            .ok_or_else(|| ApiError::not_found(format!("Namespace {ns} not found in account {}", ctx.account)))?;
        f(n)
    })
}

pub fn user_json(u: &User, ns: &str, arns: &Arns) -> Value {
    let mut v = json!({
        "Arn": arns.user(ns, &u.user_name), "UserName": u.user_name, "Role": u.role,
        "IdentityType": u.identity_type, "Active": u.active, "PrincipalId": u.principal_id,
        "Email": u.email, "CustomPermissionsName": u.custom_permissions_name,
        "ExternalLoginFederationProviderType": u.external_login_federation_provider_type,
        "ExternalLoginId": u.external_login_id,
    });
    wire::strip_nulls(&mut v);
    v
}

fn group_json(g: &Group, ns: &str, arns: &Arns) -> Value {
    let mut v = json!({"Arn": arns.group(ns, &g.group_name), "GroupName": g.group_name,
        "Description": g.description, "PrincipalId": g.principal_id});
    wire::strip_nulls(&mut v);
    v
}

fn page(ctx: &Ctx, key: &str, items: Vec<Value>) -> Result<Response, ApiError> {
    let (page, next) = wire::paginate(&items, ctx.q("next-token"), ctx.q("max-results"))?;
    let mut body = json!({ key: page, "RequestId": wire::request_id() });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}

fn namespace_json(n: &Namespace, arns: &Arns) -> Value {
    json!({"Name": n.name, "Arn": arns.namespace(&n.name), "CapacityRegion": n.capacity_region,
    "CreationStatus": "CREATED", "IdentityStore": "QUICKSIGHT"})
}

pub fn list_namespaces(ctx: &Ctx) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let region = ctx.svc.region.clone();
    let items = ctx.svc.with_account(&ctx.account, &region, |acct, _| {
        Ok(acct
            .namespaces
            .values()
            .map(|n| namespace_json(n, &arns))
            .collect::<Vec<_>>())
    })?;
    page(ctx, "Namespaces", items)
}

pub fn describe_namespace(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let n = with_ns(ctx, ns, |n| Ok(namespace_json(n, &arns)))?;
    Ok(wire::ok(200, json!({"Namespace": n, "RequestId": wire::request_id()})))
}

/// Creates a namespace. QuickSight creates it asynchronously; here it is
/// `CREATED` at once, which a caller that waits for it handles the same way.
pub fn create_namespace(ctx: &Ctx) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let body = ctx.json_body()?;
    let name = body
        .get("Namespace")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("Namespace is required"))?
        .to_string();
    let store = body.get("IdentityStore").and_then(Value::as_str).unwrap_or_default();
    if store != "QUICKSIGHT" {
        return Err(ApiError::invalid(format!(
            "Invalid IdentityStore {store:?}: only QUICKSIGHT is supported"
        )));
    }
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !valid {
        return Err(ApiError::invalid(format!("Invalid namespace name {name:?}")));
    }
    // Identities live in the identity region's state; the capacity region is where it was called.
    let region = ctx.svc.region.clone();
    let n = ctx.svc.with_account(&ctx.account, &region, |acct, _| {
        if acct.namespaces.contains_key(&name) {
            return Err(ApiError::new(
                "ResourceExistsException",
                format!("The namespace {name} already exists in account {}.", ctx.account),
            ));
        }
        let n = Namespace {
            name: name.clone(),
            capacity_region: ctx.region.clone(),
            created: wire::now_epoch(),
            users: Default::default(),
            groups: Default::default(),
        };
        let v = namespace_json(&n, &arns);
        acct.namespaces.insert(name.clone(), n);
        Ok(v)
    })?;
    let mut body = json!({"RequestId": wire::request_id()});
    for k in ["Arn", "Name", "CapacityRegion", "CreationStatus", "IdentityStore"] {
        body[k] = n[k].clone();
    }
    Ok(wire::ok(201, body))
}

pub fn list_users(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let items = with_ns(ctx, ns, |n| {
        Ok(n.users.values().map(|u| user_json(u, ns, &arns)).collect())
    })?;
    page(ctx, "UserList", items)
}

pub fn describe_user(ctx: &Ctx, ns: &str, user: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let u = with_ns(ctx, ns, |n| {
        n.users
            .get(user)
            .map(|u| user_json(u, ns, &arns))
            .ok_or_else(|| ApiError::not_found(format!("User {} not found.", arns.user(ns, user))))
    })?;
    Ok(wire::ok(200, json!({"User": u, "RequestId": wire::request_id()})))
}

pub fn register_user(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let body = ctx.json_body()?;
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let identity_type = s("IdentityType").ok_or_else(|| ApiError::invalid("IdentityType is required"))?;
    let email = s("Email").ok_or_else(|| ApiError::invalid("Email is required"))?;
    let role = s("UserRole").ok_or_else(|| ApiError::invalid("UserRole is required"))?;
    if !["IAM", "QUICKSIGHT", "IAM_IDENTITY_CENTER"].contains(&identity_type.as_str()) {
        return Err(ApiError::invalid(format!("Invalid IdentityType {identity_type}")));
    }
    let user_name = match identity_type.as_str() {
        "IAM" => {
            let iam = s("IamArn").ok_or_else(|| ApiError::invalid("IamArn is required for IAM users"))?;
            let role_name = iam.rsplit('/').next().unwrap_or_default().to_string();
            match s("SessionName") {
                Some(session) => format!("{role_name}/{session}"),
                None => role_name,
            }
        }
        _ => s("UserName").ok_or_else(|| ApiError::invalid("UserName is required for QUICKSIGHT users"))?,
    };
    let u = with_ns(ctx, ns, |n| {
        if n.users.contains_key(&user_name) {
            return Err(ApiError::new(
                "ResourceExistsException",
                format!("The user {user_name} already exists in namespace {ns}."),
            ));
        }
        let user = User {
            user_name: user_name.clone(),
            email: Some(email),
            role,
            identity_type,
            active: true,
            principal_id: format!("federated/iam/AIDA{:016X}", rand::random::<u64>()),
            custom_permissions_name: s("CustomPermissionsName"),
            external_login_federation_provider_type: s("ExternalLoginFederationProviderType"),
            external_login_id: s("ExternalLoginId"),
        };
        let v = user_json(&user, ns, &arns);
        n.users.insert(user_name.clone(), user);
        Ok(v)
    })?;
    Ok(wire::ok(201, json!({"User": u, "RequestId": wire::request_id()})))
}

pub fn list_groups(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let items = with_ns(ctx, ns, |n| {
        Ok(n.groups.values().map(|g| group_json(g, ns, &arns)).collect())
    })?;
    page(ctx, "GroupList", items)
}

pub fn describe_group(ctx: &Ctx, ns: &str, group: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let g = with_ns(ctx, ns, |n| {
        n.groups
            .get(group)
            .map(|g| group_json(g, ns, &arns))
            .ok_or_else(|| ApiError::not_found(format!("Group {} not found.", arns.group(ns, group))))
    })?;
    Ok(wire::ok(200, json!({"Group": g, "RequestId": wire::request_id()})))
}

pub fn create_group(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let body = ctx.json_body()?;
    let name = body
        .get("GroupName")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("GroupName is required"))?
        .to_string();
    let description = body.get("Description").and_then(Value::as_str).map(str::to_string);
    let g = with_ns(ctx, ns, |n| {
        if n.groups.contains_key(&name) {
            return Err(ApiError::new(
                "ResourceExistsException",
                format!("The group {name} already exists in namespace {ns}."),
            ));
        }
        let g = Group {
            group_name: name.clone(),
            description,
            principal_id: format!("group/d-emulator/{:032x}", rand::random::<u128>()),
            members: Default::default(),
        };
        let v = group_json(&g, ns, &arns);
        n.groups.insert(name.clone(), g);
        Ok(v)
    })?;
    Ok(wire::ok(200, json!({"Group": g, "RequestId": wire::request_id()})))
}

pub fn list_group_memberships(ctx: &Ctx, ns: &str, group: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let items = with_ns(ctx, ns, |n| {
        let g = n
            .groups
            .get(group)
            .ok_or_else(|| ApiError::not_found(format!("Group {} not found.", arns.group(ns, group))))?;
        Ok(g.members
            .iter()
            .map(|m| json!({"Arn": arns.user(ns, m), "MemberName": m}))
            .collect())
    })?;
    page(ctx, "GroupMemberList", items)
}

pub fn create_group_membership(ctx: &Ctx, ns: &str, group: &str, member: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    with_ns(ctx, ns, |n| {
        if !n.users.contains_key(member) {
            return Err(ApiError::not_found(format!(
                "User {} not found.",
                arns.user(ns, member)
            )));
        }
        let g = n
            .groups
            .get_mut(group)
            .ok_or_else(|| ApiError::not_found(format!("Group {} not found.", arns.group(ns, group))))?;
        g.members.insert(member.to_string());
        Ok(())
    })?;
    Ok(wire::ok(
        200,
        json!({"GroupMember": {"Arn": arns.user(ns, member), "MemberName": member}, "RequestId": wire::request_id()}),
    ))
}

/// The response of the identity deletes: only the request id, with `Status` as the HTTP status.
fn deleted() -> Response {
    wire::ok(200, json!({"RequestId": wire::request_id()}))
}

/// Deletes a namespace with its users and groups. QuickSight does this
/// asynchronously; here it is gone at once. Assets are not touched.
pub fn delete_namespace(ctx: &Ctx, ns: &str) -> Result<Response, ApiError> {
    let region = ctx.svc.region.clone();
    ctx.svc.with_account(&ctx.account, &region, |acct, _| {
        acct.namespaces
            .remove(ns)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found(format!("Namespace {ns} not found in account {}", ctx.account)))
    })?;
    Ok(deleted())
}

/// Deletes a user, who leaves every group of the namespace with it.
pub fn delete_user(ctx: &Ctx, ns: &str, user: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    with_ns(ctx, ns, |n| {
        n.users
            .remove(user)
            .ok_or_else(|| ApiError::not_found(format!("User {} not found.", arns.user(ns, user))))?;
        for g in n.groups.values_mut() {
            g.members.remove(user);
        }
        Ok(())
    })?;
    Ok(deleted())
}

pub fn delete_group(ctx: &Ctx, ns: &str, group: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    with_ns(ctx, ns, |n| {
        n.groups
            .remove(group)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found(format!("Group {} not found.", arns.group(ns, group))))
    })?;
    Ok(deleted())
}

pub fn delete_group_membership(ctx: &Ctx, ns: &str, group: &str, member: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    with_ns(ctx, ns, |n| {
        let g = n
            .groups
            .get_mut(group)
            .ok_or_else(|| ApiError::not_found(format!("Group {} not found.", arns.group(ns, group))))?;
        if !g.members.remove(member) {
            return Err(ApiError::not_found(format!(
                "User {} is not a member of group {}.",
                arns.user(ns, member),
                arns.group(ns, group)
            )));
        }
        Ok(())
    })?;
    Ok(deleted())
}
