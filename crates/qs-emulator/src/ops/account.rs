//! Account-wide configuration: settings, customizations, brands and custom
//! permissions profiles.

use axum::response::Response;
use serde_json::{json, Value};

use super::Ctx;
use crate::wire::{self, ApiError};

pub fn describe_settings(ctx: &Ctx) -> Result<Response, ApiError> {
    let settings = ctx
        .svc
        .with_account(&ctx.account, &ctx.region, |a, _| Ok(a.settings.clone()))?;
    Ok(wire::ok(
        200,
        json!({"AccountSettings": settings, "RequestId": wire::request_id()}),
    ))
}

pub fn describe_customization(ctx: &Ctx) -> Result<Response, ApiError> {
    let ns = ctx.q("namespace").map(str::to_string);
    let resolved = ctx.q("resolved") == Some("true");
    let c = ctx.svc.with_account(&ctx.account, &ctx.region, |a, _| {
        if let Some(ns) = &ns {
            if !a.namespaces.contains_key(ns) {
                return Err(ApiError::not_found(format!("Namespace {ns} not found.")));
            }
        }
        let key = ns.clone().unwrap_or_else(|| "default".to_string());
        match a.customizations.get(&key) {
            Some(c) => Ok(c.clone()),
            None if resolved => Ok(json!({"DefaultTheme": "arn:aws:quicksight::aws:theme/CLASSIC"})),
            None => Err(ApiError::not_found(format!(
                "Account customization for namespace {key} not found."
            ))),
        }
    })?;
    let arn = match &ns {
        Some(n) => format!(
            "arn:{}:quicksight:{}:{}:customization/account/{}/{n}",
            crate::model::partition(&ctx.region),
            ctx.region,
            ctx.account,
            ctx.account
        ),
        None => format!(
            "arn:{}:quicksight:{}:{}:customization/account/{}",
            crate::model::partition(&ctx.region),
            ctx.region,
            ctx.account,
            ctx.account
        ),
    };
    let mut body =
        json!({"Arn": arn, "AwsAccountId": ctx.account, "AccountCustomization": c, "RequestId": wire::request_id()});
    if let Some(n) = ns {
        body["Namespace"] = json!(n);
    }
    Ok(wire::ok(200, body))
}

fn brand_arn(ctx: &Ctx, id: &str) -> String {
    format!(
        "arn:{}:quicksight:{}:{}:brand/{id}",
        crate::model::partition(&ctx.region),
        ctx.region,
        ctx.account
    )
}

pub fn list_brands(ctx: &Ctx) -> Result<Response, ApiError> {
    let items: Vec<Value> = ctx.svc.with_account(&ctx.account, &ctx.region, |a, _| {
        Ok(a.brands
            .values()
            .map(|b| {
                let mut v = json!({"Arn": brand_arn(ctx, &b.id), "BrandId": b.id,
                    "BrandName": b.definition.get("BrandName"), "Description": b.definition.get("Description"),
                    "BrandStatus": "CREATE_SUCCEEDED", "CreatedTime": b.created, "LastUpdatedTime": b.updated});
                wire::strip_nulls(&mut v);
                v
            })
            .collect())
    })?;
    let (page, next) = wire::paginate_with(
        &items,
        ctx.q("next-token"),
        ctx.q("max-results"),
        "InvalidRequestException",
        "InvalidRequestException",
    )?;
    // ListBrandsResponse has no RequestId member.
    let mut body = json!({ "Brands": page });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}

pub fn describe_brand(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    let b = ctx.svc.with_account(&ctx.account, &ctx.region, |a, _| {
        a.brands
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Brand {id} not found.")))
    })?;
    Ok(wire::ok(
        200,
        json!({
            "RequestId": wire::request_id(),
            "BrandDetail": {"BrandId": b.id, "Arn": brand_arn(ctx, &b.id), "BrandStatus": "CREATE_SUCCEEDED",
                "CreatedTime": b.created, "LastUpdatedTime": b.updated, "VersionId": "1", "VersionStatus": "CREATE_SUCCEEDED"},
            "BrandDefinition": b.definition,
        }),
    ))
}

pub fn list_custom_permissions(ctx: &Ctx) -> Result<Response, ApiError> {
    let items: Vec<Value> = ctx.svc.with_account(&ctx.account, &ctx.region, |a, _| {
        Ok(a.custom_permissions
            .iter()
            .map(|(name, v)| {
                let mut v = v.clone();
                v["Arn"] = json!(format!(
                    "arn:{}:quicksight:{}:{}:custompermissions/{name}",
                    crate::model::partition(&ctx.region),
                    ctx.region,
                    ctx.account
                ));
                v
            })
            .collect())
    })?;
    let (page, next) = wire::paginate_with(
        &items,
        ctx.q("next-token"),
        ctx.q("max-results"),
        "InvalidParameterValueException",
        "InvalidParameterValueException",
    )?;
    let mut body = json!({ "CustomPermissionsList": page, "RequestId": wire::request_id() });
    if let Some(n) = next {
        body["NextToken"] = json!(n);
    }
    Ok(wire::ok(200, body))
}
