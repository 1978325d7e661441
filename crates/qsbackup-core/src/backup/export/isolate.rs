//! Isolating the assets that break a bundle. When QuickSight refuses a start
//! (`InvalidParameterValueException`) or a job ends `FAILED`, the ARNs it names — directly, or
//! through the dependencies discovery learned — are the offenders; every other asset of the bundle
//! goes into a new bundle. When nothing can be pinned on an asset, the bundle is split in halves
//! until the offender stands alone.

use crate::backup::plan::BundleAsset;
use std::collections::{HashMap, HashSet};

/// What the service said about one resource (or about the job, when `arn` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub arn: Option<String>,
    pub message: String,
}

/// Dependencies by ARN, as discovery learned them (direct references only).
#[derive(Debug, Clone, Default)]
pub struct DependencyIndex {
    direct: HashMap<String, Vec<String>>,
}

impl DependencyIndex {
    /// Builds the index from `(arn, depends_on)` pairs.
    pub fn new(entries: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        DependencyIndex {
            direct: entries.into_iter().collect(),
        }
    }

    /// Every ARN `arn` needs, transitively.
    fn closure(&self, arn: &str) -> HashSet<&str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = self.direct.get(arn).into_iter().flatten().map(String::as_str).collect();
        while let Some(a) = stack.pop() {
            if seen.insert(a) {
                stack.extend(self.direct.get(a).into_iter().flatten().map(String::as_str));
            }
        }
        seen
    }
}

/// The ARNs in a service message, e.g. "The following resources cannot be exported: arn:aws:...".
pub(crate) fn arns_in(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find("arn:") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | '"' | '\'' | '[' | ']' | ';'))
            .unwrap_or(tail.len());
        let arn = tail[..end].trim_end_matches('.');
        if arn.len() > 4 {
            out.push(arn.to_string());
        }
        rest = &tail[end.max(4)..];
    }
    out
}

/// The decision for a bundle that failed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Isolation {
    /// Assets to record as failed, each with its message.
    pub offenders: Vec<(BundleAsset, String)>,
    /// Asset groups to export again.
    pub retry: Vec<Vec<BundleAsset>>,
}

/// Decides who is to blame among `assets` for `problems`; `retry_whole` allows one more try
/// of the same bundle when the service named no resource at all (an internal failure).
pub(crate) fn isolate(
    assets: &[BundleAsset],
    problems: &[Problem],
    deps: &DependencyIndex,
    retry_whole: bool,
) -> Isolation {
    let named: Vec<(&str, &str)> = problems
        .iter()
        .filter_map(|p| p.arn.as_deref().map(|a| (a, p.message.as_str())))
        .collect();
    let mut result = Isolation::default();
    let mut rest = Vec::new();
    for asset in assets {
        let direct = named.iter().find(|(arn, _)| *arn == asset.arn);
        let blame = match direct {
            Some((_, message)) => Some(message.to_string()),
            None if !named.is_empty() => {
                let closure = deps.closure(&asset.arn);
                named
                    .iter()
                    .find(|(arn, _)| closure.contains(arn))
                    .map(|(arn, message)| format!("{}{arn}: {message}", crate::asset::DEPENDS_ON))
            }
            None => None,
        };
        match blame {
            Some(message) => result.offenders.push((asset.clone(), message)),
            None => rest.push(asset.clone()),
        }
    }
    if !result.offenders.is_empty() {
        if !rest.is_empty() {
            result.retry.push(rest);
        }
        return result;
    }
    let whole_message = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if retry_whole && named.is_empty() {
        result.retry.push(assets.to_vec());
    } else if assets.len() == 1 {
        result.offenders.push((assets[0].clone(), whole_message));
    } else {
        let (a, b) = assets.split_at(assets.len() / 2);
        result.retry.push(a.to_vec());
        result.retry.push(b.to_vec());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(t: &str, id: &str) -> String {
        format!("arn:aws:quicksight:us-east-1:123456789012:{t}/{id}")
    }

    fn assets(ids: &[&str]) -> Vec<BundleAsset> {
        ids.iter()
            .map(|id| BundleAsset {
                arn: arn("dashboard", id),
                name: id.to_string(),
                last_updated: None,
            })
            .collect()
    }

    #[test]
    fn arns_are_found_in_service_messages() {
        let m = format!(
            "The following resources cannot be exported: {} (data source type JIRA is not supported), {}.",
            arn("datasource", "a"),
            arn("dataset", "b")
        );
        assert_eq!(arns_in(&m), vec![arn("datasource", "a"), arn("dataset", "b")]);
        assert!(arns_in("nothing here").is_empty());
    }

    #[test]
    fn a_named_asset_is_failed_and_the_rest_retried() {
        let bundle = assets(&["a", "b", "c"]);
        let problems = vec![Problem {
            arn: Some(arn("dashboard", "b")),
            message: "b cannot be exported.".into(),
        }];
        let r = isolate(&bundle, &problems, &DependencyIndex::default(), false);
        assert_eq!(r.offenders.len(), 1);
        assert_eq!(r.offenders[0].0.name, "b");
        assert_eq!(r.retry, vec![assets(&["a", "c"])]);
    }

    #[test]
    fn a_named_dependency_blames_its_dependents() {
        let bundle = assets(&["a", "b"]);
        let deps = DependencyIndex::new([
            (arn("dashboard", "a"), vec![arn("dataset", "d")]),
            (arn("dataset", "d"), vec![arn("dataset", "ml")]),
        ]);
        let problems = vec![Problem {
            arn: Some(arn("dataset", "ml")),
            message: "ML columns are not supported".into(),
        }];
        let r = isolate(&bundle, &problems, &deps, false);
        assert_eq!(r.offenders.len(), 1);
        assert!(r.offenders[0].1.contains("depends on"));
        assert_eq!(r.retry, vec![assets(&["b"])]);
    }

    #[test]
    fn without_a_culprit_the_bundle_is_halved_down_to_one() {
        let problems = vec![Problem {
            arn: Some(arn("dataset", "unknown")),
            message: "x".into(),
        }];
        let none = DependencyIndex::default();
        let r = isolate(&assets(&["a", "b", "c"]), &problems, &none, false);
        assert!(r.offenders.is_empty());
        assert_eq!(r.retry, vec![assets(&["a"]), assets(&["b", "c"])]);
        let single = isolate(&assets(&["a"]), &problems, &none, false);
        assert_eq!(single.offenders.len(), 1);
        assert!(single.retry.is_empty());
    }

    #[test]
    fn an_internal_failure_retries_the_whole_bundle_once() {
        let problems = vec![Problem {
            arn: None,
            message: "internal error".into(),
        }];
        let none = DependencyIndex::default();
        let r = isolate(&assets(&["a", "b"]), &problems, &none, true);
        assert_eq!(r.retry, vec![assets(&["a", "b"])]);
        let r = isolate(&assets(&["a", "b"]), &problems, &none, false);
        assert_eq!(r.retry.len(), 2);
    }
}
