//! Dependency graphs of dashboards and analyses, from their newest stored definitions: every
//! QuickSight asset ARN a member document names is a dependency, followed through datasets and
//! data sources to VPC connections; folders point to what they hold.

use crate::asset::{id_from_arn, AssetType};
use crate::error::Result;
use crate::history::log::ManifestIndex;
use crate::history::report::{AssetStatus, DependencyGraph, GraphNode};
use crate::repository::manifest::BundleMember;
use crate::repository::member_docs::MemberDocs;
use crate::repository::{ObjectRef, Repository};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

pub(super) type Key = (AssetType, String);

/// Types whose definitions name what they need; the rest are leaves of a graph.
const REFERRING: [AssetType; 4] = [
    AssetType::Dashboard,
    AssetType::Analysis,
    AssetType::DataSet,
    AssetType::DataSource,
];

/// What each asset's newest stored member names, read bundle by bundle.
pub(super) async fn references(repo: &Repository, indexes: &[ManifestIndex<'_>]) -> Result<HashMap<Key, Vec<Key>>> {
    // The newest stored occurrence of each referring asset, grouped by bundle.
    let mut seen: BTreeSet<Key> = BTreeSet::new();
    let mut by_bundle: BTreeMap<String, (ObjectRef, Vec<&BundleMember>)> = BTreeMap::new();
    for ix in indexes.iter().rev() {
        for b in &ix.manifest.bundles {
            for m in &b.members {
                let Some(t) = AssetType::from_name(&m.member_type).filter(|t| REFERRING.contains(t)) else {
                    continue;
                };
                if seen.insert((t, m.id.clone())) {
                    by_bundle
                        .entry(b.key.clone())
                        .or_insert_with(|| (b.object(), Vec::new()))
                        .1
                        .push(m);
                }
            }
        }
    }
    let mut docs = MemberDocs::new(repo);
    let mut out = HashMap::new();
    for (bundle, members) in by_bundle.values() {
        let docs_bytes = docs.many_bytes(bundle, members).await?;
        docs.release(bundle);
        for (m, bytes) in members.iter().zip(docs_bytes) {
            let Some(t) = AssetType::from_name(&m.member_type) else {
                continue;
            };
            let me = (t, m.id.clone());
            let mut refs = asset_arns(&bytes);
            refs.remove(&me);
            out.insert(me, refs.into_iter().collect());
        }
    }
    Ok(out)
}

/// The assets whose ARNs a member document names, found in its bytes: parsing every definition
/// of a 10,000-asset account into a tree took seconds, and an ARN is always a whole JSON string
/// value (`"arn:aws:quicksight:…:dataset/<id>"`). Principals of permissions are user, group or
/// namespace ARNs, never assets, so they fall out.
fn asset_arns(doc: &[u8]) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    for start in memchr::memmem::find_iter(doc, b"\"arn:") {
        // `\"arn:` is an escaped quote inside a longer string (SQL, embedded JSON), not a value.
        if start > 0 && doc[start - 1] == b'\\' {
            continue;
        }
        let rest = &doc[start + 1..];
        let Some(end) = memchr::memchr(b'"', rest) else { break };
        let after = rest[end + 1..].iter().find(|b| !b.is_ascii_whitespace());
        // An object key, not a value.
        if after == Some(&b':') {
            continue;
        }
        let Ok(arn) = std::str::from_utf8(&rest[..end]) else {
            continue;
        };
        // JSON may escape `/` as `\/`; any other escape is not an ARN a definition names.
        let arn = arn.replace("\\/", "/");
        if arn.contains('\\') || !arn.contains(":quicksight:") {
            continue;
        }
        if let (Some(t), Some(id)) = (AssetType::from_arn(&arn), id_from_arn(&arn)) {
            out.insert((t, id.to_string()));
        }
    }
    out
}

/// The graph of `root`: what it needs, transitively, and the folders that hold it.
pub(super) fn graph_of(
    root: &Key,
    refs: &HashMap<Key, Vec<Key>>,
    describe: &dyn Fn(&Key) -> (Option<String>, AssetStatus),
) -> DependencyGraph {
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut nodes = Vec::new();
    let mut edges = BTreeSet::new();
    let mut node = |k: &Key, nodes: &mut Vec<GraphNode>| -> usize {
        *index.entry(k.clone()).or_insert_with(|| {
            let (name, status) = describe(k);
            nodes.push(GraphNode {
                key: format!("{}/{}", k.0, k.1),
                asset_type: k.0.as_str().to_string(),
                name,
                status,
            });
            nodes.len() - 1
        })
    };
    let r = node(root, &mut nodes);
    let mut queue = VecDeque::from([(root.clone(), r)]);
    let mut visited = BTreeSet::from([root.clone()]);
    while let Some((k, from)) = queue.pop_front() {
        for dep in refs.get(&k).map(Vec::as_slice).unwrap_or_default() {
            // A folder holds; only the root's folders are drawn, and nothing beyond them.
            if dep.0 == AssetType::Folder {
                if k == *root {
                    let f = node(dep, &mut nodes);
                    edges.insert((f, from));
                }
                continue;
            }
            // Another dashboard or analysis is not a dependency (a dashboard names its source
            // analysis): it would pull in its whole graph.
            if matches!(dep.0, AssetType::Dashboard | AssetType::Analysis) {
                continue;
            }
            let to = node(dep, &mut nodes);
            edges.insert((from, to));
            if visited.insert(dep.clone()) {
                queue.push_back((dep.clone(), to));
            }
        }
    }
    DependencyGraph {
        nodes,
        edges: edges.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(doc: &serde_json::Value) -> BTreeSet<Key> {
        asset_arns(&serde_json::to_vec(doc).unwrap())
    }

    fn k(t: AssetType, id: &str) -> Key {
        (t, id.to_string())
    }

    #[test]
    fn asset_arns_are_references_and_principals_and_other_services_are_not() {
        let doc = json!({"definition": {"DataSetIdentifierDeclarations": [{"Identifier": "a",
            "DataSetArn": "arn:aws:quicksight:us-east-1:1:dataset/d1"}]},
            "themeArn": "arn:aws:quicksight:us-east-1:1:theme/t1",
            "permissions": [{"principal": "arn:aws:quicksight:us-east-1:1:user/default/x"}],
            "folderArns": ["arn:aws:quicksight:us-east-1:1:folder/f1"],
            "roleArn": "arn:aws:iam::1:role/quicksight/reader",
            "s3": "arn:aws:s3:::bucket/dataset/x"});
        assert_eq!(
            collect(&doc),
            [
                k(AssetType::DataSet, "d1"),
                k(AssetType::Theme, "t1"),
                k(AssetType::Folder, "f1")
            ]
            .into()
        );
        // A writer that escapes `/` names the same asset; a cut-off document ends the scan.
        let escaped = br#"{"a":"arn:aws:quicksight:us-east-1:1:datasource\/s1","b":"arn:aws:quicksight:x"#;
        assert_eq!(asset_arns(escaped), [k(AssetType::DataSource, "s1")].into());
        // An ARN quoted inside another string, or used as a key, is not a reference.
        let doc = json!({"sql": "select '\"arn:aws:quicksight:us-east-1:1:dataset/in-sql\"'",
            "arn:aws:quicksight:us-east-1:1:dataset/as-key": 1,
            "DataSetArn": "arn:aws:quicksight:us-east-1:1:dataset/d2"});
        assert_eq!(collect(&doc), [k(AssetType::DataSet, "d2")].into());
    }

    #[test]
    fn a_graph_follows_datasets_to_sources_and_vpc_connections_and_marks_failures() {
        let refs: HashMap<Key, Vec<Key>> = [
            (
                k(AssetType::Dashboard, "db"),
                vec![
                    k(AssetType::DataSet, "d1"),
                    k(AssetType::Folder, "f"),
                    k(AssetType::Analysis, "an"),
                ],
            ),
            (k(AssetType::DataSet, "d1"), vec![k(AssetType::DataSource, "s1")]),
            (k(AssetType::DataSource, "s1"), vec![k(AssetType::VpcConnection, "v1")]),
        ]
        .into();
        let g = graph_of(&k(AssetType::Dashboard, "db"), &refs, &|key| {
            let failed = key.1 == "d1";
            (
                Some(key.1.to_uppercase()),
                if failed {
                    AssetStatus::Failed
                } else {
                    AssetStatus::Stored
                },
            )
        });
        let keys: Vec<&str> = g.nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "dashboard/db",
                "dataset/d1",
                "folder/f",
                "datasource/s1",
                "vpcConnection/v1"
            ]
        );
        assert_eq!(g.edges, vec![(0, 1), (1, 3), (2, 0), (3, 4)]);
        assert_eq!(g.nodes[1].status, AssetStatus::Failed);
    }
}
