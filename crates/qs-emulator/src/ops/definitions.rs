//! `DescribeDashboardDefinition` and `DescribeAnalysisDefinition`: the
//! definition an analysis or dashboard is built from, in the API's own shape
//! (the same one its bundle member carries), with the errors of a definition
//! that has them — the call an export failure tells the user to make.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::assets::{arns, not_found};
use super::Ctx;
use crate::bundle::resolved_definition;
use crate::model::AssetType;
use crate::wire::{self, ApiError};

/// `t` is `Analysis` or `Dashboard`.
pub fn describe_definition(ctx: &Ctx, t: AssetType, id: &str) -> Result<Response, ApiError> {
    let arns = arns(ctx);
    let version = match (t, ctx.q("version-number")) {
        (AssetType::Dashboard, Some(v)) => Some(v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid(format!(
                "1 validation error detected: Value '{v}' at 'versionNumber' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ))
        })?),
        _ => None,
    };
    let mut body = ctx.svc.with_account(&ctx.account, &ctx.region, |acct, _| {
        let a = acct.asset(t, id).ok_or_else(|| not_found(t, id, &arns))?;
        if let Some(v) = version {
            if v > a.version {
                return Err(ApiError::not_found(format!(
                    "Version {v} of dashboard {} not found",
                    arns.asset(t, id)
                )));
            }
        }
        let mut m = Map::new();
        m.insert(t.api_id_field().into(), json!(a.id));
        m.insert("Name".into(), json!(a.name));
        if let Some(s) = a.body.get("Status") {
            m.insert("ResourceStatus".into(), s.clone());
        }
        if let Some(theme) = a.body.get("ThemeArn") {
            m.insert("ThemeArn".into(), theme.clone());
        }
        if let Some(d) = resolved_definition(a) {
            m.insert("Definition".into(), d);
        }
        if a.definition_error {
            m.insert(
                "Errors".into(),
                json!([{"Type": "PARAMETER_NOT_FOUND",
                    "Message": "A visual filters on parameter p0, which the definition does not declare."}]),
            );
        }
        Ok(Value::Object(m))
    })?;
    body["RequestId"] = json!(wire::request_id());
    Ok(wire::ok(200, body))
}
