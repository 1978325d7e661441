//! Moving bundle members into the target. Every QuickSight ARN of the source account inside a
//! member is moved to the target account and region (asset ids with `--prefix`, principals to
//! the target's identity region and namespace with their target names); permissions whose
//! principal will not exist in the target are dropped and reported, since QuickSight refuses
//! them; tags from the overrides file are added; a data source's parameters are replaced as the
//! overrides file says. Name, credentials (`SecretArn`), VPC connection and SSL of a data source
//! go through the import job's `OverrideParameters`.
//!
//! Rewriting the members ourselves (rather than `PrefixForAllResources` and per-type
//! `OverridePermissions`) keeps references between assets of different import jobs right, and
//! gives each asset exactly its own permissions (`OverridePermissions` allows 2 entries per type).

use super::arn::{asset_ref, principal_arn, principal_ref, PrincipalKind, QsArn};
use super::identities::{Naming, Principals};
use super::mapping::{DataSourceOverride, Mapping};
use super::members::{id_field, AssetMember, ScheduleMember};
use super::AssetKey;
use crate::asset::AssetType;
use aws_sdk_quicksight::types::{
    AssetBundleImportJobDataSourceCredentials, AssetBundleImportJobDataSourceOverrideParameters, SslProperties,
    VpcConnectionProperties,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A permission left out of a restored asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedPermission {
    pub asset: AssetKey,
    pub principal: String,
    pub reason: String,
}

/// The permissions dropped for one principal: how many, and on which assets (the first few).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalDrops {
    pub principal: String,
    pub reason: String,
    /// Permissions dropped (one per asset).
    pub permissions: usize,
    /// The first assets that lose it; the full list is `permissions_dropped`.
    pub examples: Vec<AssetKey>,
}

/// Assets named per principal in [`PrincipalDrops::examples`].
pub const DROP_EXAMPLES: usize = 3;

/// `dropped` per principal, the principals that lose the most first.
pub fn drops_by_principal(dropped: &[DroppedPermission]) -> Vec<PrincipalDrops> {
    let mut by: std::collections::BTreeMap<&str, PrincipalDrops> = std::collections::BTreeMap::new();
    for d in dropped {
        let e = by.entry(&d.principal).or_insert_with(|| PrincipalDrops {
            principal: d.principal.clone(),
            reason: d.reason.clone(),
            permissions: 0,
            examples: Vec::new(),
        });
        e.permissions += 1;
        if e.examples.len() < DROP_EXAMPLES && !e.examples.contains(&d.asset) {
            e.examples.push(d.asset.clone());
        }
    }
    let mut out: Vec<PrincipalDrops> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.permissions
            .cmp(&a.permissions)
            .then_with(|| a.principal.cmp(&b.principal))
    });
    out
}

/// Where members go and how names change.
pub struct Context<'a> {
    pub source_account: &'a str,
    pub target_account: &'a str,
    pub target_region: &'a str,
    pub target_identity_region: &'a str,
    /// `--prefix`, applied to the id of every asset of the snapshot.
    pub prefix: &'a str,
    /// Assets of the snapshot (their ids get the prefix).
    pub snapshot_assets: &'a BTreeSet<AssetKey>,
    pub naming: &'a Naming<'a>,
    /// Users and groups the target will have; `None` when they could not be listed.
    pub principals: Option<&'a Principals>,
    pub mapping: &'a Mapping,
}

/// A member ready for the target.
#[derive(Debug, Clone)]
pub struct Rewritten {
    pub json: Value,
    pub dropped: Vec<DroppedPermission>,
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `value` with every object key in lower camel case.
fn lower_keys(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (lower_first(k), lower_keys(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

fn walk(value: &mut Value, f: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = f(s) {
                *s = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| walk(v, f)),
        _ => {}
    }
}

impl Context<'_> {
    /// The id an asset of the source has in the target.
    pub fn target_id(&self, key: &AssetKey) -> String {
        if self.snapshot_assets.contains(key) {
            format!("{}{}", self.prefix, key.id)
        } else {
            key.id.clone()
        }
    }

    /// The ARN of an asset of the source in the target.
    pub fn target_arn(&self, key: &AssetKey) -> String {
        AssetKey::new(key.asset_type, &self.target_id(key)).arn(
            crate::config::partition(self.target_region),
            self.target_region,
            self.target_account,
        )
    }

    /// Where permission principal `arn` goes, or why it cannot go.
    pub fn map_principal(&self, arn: &str) -> Result<String, String> {
        let check = |target: String| -> Result<String, String> {
            let Some(known) = self.principals else {
                return Ok(target);
            };
            let present = QsArn::parse(&target)
                .and_then(|a| principal_ref(&a))
                .is_none_or(|(kind, ns, name)| known.contains(kind, ns, name));
            if present {
                Ok(target)
            } else {
                Err(format!("{target} is not a user or group of the target"))
            }
        };
        // An explicit mapping is taken as given: the user knows the target; QuickSight checks it.
        if let Some(explicit) = self.mapping.principals.get(arn) {
            return match explicit {
                Some(target) => Ok(target.clone()),
                None => Err("dropped by the overrides file".into()),
            };
        }
        let Some(parsed) = QsArn::parse(arn) else {
            return Err("not a QuickSight principal ARN".into());
        };
        if parsed.account == self.target_account && parsed.account != self.source_account {
            return check(arn.to_string());
        }
        if parsed.account != self.source_account {
            return Err(format!(
                "a principal of account {}, neither the snapshot's nor the target's",
                parsed.account
            ));
        }
        match principal_ref(&parsed) {
            Some((kind, ns, name)) => {
                let tns = self.naming.namespace(ns);
                let tname = match kind {
                    PrincipalKind::User => self.naming.user(ns, name),
                    PrincipalKind::Group => self.naming.group(name),
                };
                check(principal_arn(
                    crate::config::partition(self.target_identity_region),
                    self.target_identity_region,
                    self.target_account,
                    kind,
                    &tns,
                    &tname,
                ))
            }
            None if parsed.kind == "namespace" => Ok(parsed.with(
                self.target_identity_region,
                self.target_account,
                &self.naming.namespace(parsed.rest),
            )),
            None => Err("not a user, group or namespace".into()),
        }
    }

    /// Any string of a member: an ARN of the source account moved to the target, else `None`.
    fn move_string(&self, s: &str) -> Option<String> {
        let arn = QsArn::parse(s).filter(|a| a.account == self.source_account)?;
        if let Some(key) = asset_ref(&arn) {
            let tail = arn.rest.split_once('/').map(|(_, t)| t);
            let rest = match tail {
                Some(t) => format!("{}/{t}", self.target_id(&key)),
                None => self.target_id(&key),
            };
            return Some(arn.with(self.target_region, self.target_account, &rest));
        }
        if let Some((kind, ns, name)) = principal_ref(&arn) {
            return Some(self.map_principal(s).unwrap_or_else(|_| {
                let tname = match kind {
                    PrincipalKind::User => self.naming.user(ns, name),
                    PrincipalKind::Group => self.naming.group(name),
                };
                principal_arn(
                    crate::config::partition(self.target_identity_region),
                    self.target_identity_region,
                    self.target_account,
                    kind,
                    &self.naming.namespace(ns),
                    &tname,
                )
            }));
        }
        if arn.kind == "namespace" {
            let ns = self.naming.namespace(arn.rest);
            return Some(arn.with(self.target_identity_region, self.target_account, &ns));
        }
        Some(arn.with(self.target_region, self.target_account, arn.rest))
    }

    /// The member of `m` as it is imported into the target.
    pub fn rewrite_asset(&self, m: &AssetMember) -> Rewritten {
        let mut json = m.json.value();
        let mut dropped = Vec::new();
        let permissions = json.as_object_mut().and_then(|o| o.remove("permissions"));
        walk(&mut json, &|s| self.move_string(s));
        if let Some(Value::Array(perms)) = permissions {
            // In the member's order, so that a restored asset exports as it was exported.
            let mut kept: Vec<(String, Vec<String>)> = Vec::new();
            for p in perms {
                let principal = p.get("principal").and_then(Value::as_str).unwrap_or_default();
                let actions = p.get("actions").and_then(Value::as_array).into_iter().flatten();
                match self.map_principal(principal) {
                    Ok(target) => {
                        let at = match kept.iter().position(|(p, _)| *p == target) {
                            Some(i) => i,
                            None => {
                                kept.push((target, Vec::new()));
                                kept.len() - 1
                            }
                        };
                        for a in actions.filter_map(|a| a.as_str()) {
                            if !kept[at].1.iter().any(|x| x == a) {
                                kept[at].1.push(a.to_string());
                            }
                        }
                    }
                    Err(reason) => dropped.push(DroppedPermission {
                        asset: m.key.clone(),
                        principal: principal.to_string(),
                        reason,
                    }),
                }
            }
            let list: Vec<Value> = kept
                .into_iter()
                .map(|(principal, actions)| json!({"principal": principal, "actions": actions}))
                .collect();
            if let Some(o) = json.as_object_mut() {
                o.insert("permissions".into(), Value::Array(list));
            }
        }
        if let Some(o) = json.as_object_mut() {
            o.insert(id_field(m.key.asset_type).into(), json!(self.target_id(&m.key)));
            if !self.mapping.tags.is_empty() {
                add_tags(o, &self.mapping.tags);
            }
            if m.key.asset_type == AssetType::DataSource {
                if let Some(params) = self
                    .mapping
                    .data_sources
                    .get(&m.key.id)
                    .and_then(|d| d.data_source_parameters.as_ref())
                {
                    let lower = o
                        .get("dataSourceParameters")
                        .and_then(Value::as_object)
                        .and_then(|p| p.keys().next())
                        .is_some_and(|k| k.starts_with(|c: char| c.is_ascii_lowercase()));
                    let value = if lower { lower_keys(params) } else { params.clone() };
                    o.insert("dataSourceParameters".into(), value);
                }
            }
        }
        Rewritten { json, dropped }
    }

    /// The permissions of `m` that cannot go to the target (what [`Context::rewrite_asset`]
    /// would drop), without rewriting the member.
    pub fn dropped(&self, m: &AssetMember) -> Vec<DroppedPermission> {
        m.json
            .value()
            .get("permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let principal = p.get("principal").and_then(Value::as_str).unwrap_or_default();
                self.map_principal(principal).err().map(|reason| DroppedPermission {
                    asset: m.key.clone(),
                    principal: principal.to_string(),
                    reason,
                })
            })
            .collect()
    }

    /// A refresh schedule as it is imported with its dataset.
    pub fn rewrite_schedule(&self, s: &ScheduleMember) -> Value {
        let mut json = s.json.value();
        walk(&mut json, &|x| self.move_string(x));
        let key = AssetKey::new(AssetType::DataSet, &s.data_set_id);
        if let Some(o) = json.as_object_mut() {
            o.insert("dataSetId".into(), json!(self.target_id(&key)));
        }
        json
    }

    /// `OverrideParameters.DataSources` for the data sources `ids` (source ids) of one job.
    pub fn data_source_overrides(&self, ids: &[&str]) -> Vec<AssetBundleImportJobDataSourceOverrideParameters> {
        ids.iter()
            .filter_map(|id| {
                let o = self.mapping.data_sources.get(*id).filter(|o| o.has_job_parameters())?;
                let key = AssetKey::new(AssetType::DataSource, id);
                data_source_override(&self.target_id(&key), o)
            })
            .collect()
    }
}

fn add_tags(o: &mut Map<String, Value>, tags: &BTreeMap<String, String>) {
    let mut list: Vec<Value> = o
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or_default();
            !tags.contains_key(k)
        })
        .collect();
    list.extend(tags.iter().map(|(k, v)| json!({"key": k, "value": v})));
    o.insert("tags".into(), Value::Array(list));
}

fn data_source_override(
    target_id: &str,
    o: &DataSourceOverride,
) -> Option<AssetBundleImportJobDataSourceOverrideParameters> {
    let vpc = match &o.vpc_connection_arn {
        Some(arn) => Some(
            VpcConnectionProperties::builder()
                .vpc_connection_arn(arn)
                .build()
                .ok()?,
        ),
        None => None,
    };
    let ssl = o
        .disable_ssl
        .map(|disable| SslProperties::builder().disable_ssl(disable).build());
    let credentials = o.secret_arn.as_ref().map(|secret| {
        AssetBundleImportJobDataSourceCredentials::builder()
            .secret_arn(secret)
            .build()
    });
    AssetBundleImportJobDataSourceOverrideParameters::builder()
        .data_source_id(target_id)
        .set_name(o.name.clone())
        .set_vpc_connection_properties(vpc)
        .set_ssl_properties(ssl)
        .set_credentials(credentials)
        .build()
        .ok()
}

#[cfg(test)]
mod tests;
