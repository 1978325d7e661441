//! Reading member documents (`dashboard/<id>.json`) out of stored bundles for the commands that
//! look inside definitions (diff, log, the HTML report): each bundle is fetched once, checked
//! against the manifest's SHA-256, and read with bounded member sizes; a member that is not what
//! the manifest says is an error naming `qsbackup verify`, never compared.

use crate::error::{Error, Result};
use crate::limits::MAX_MEMBER_BYTES;
use crate::repository::bundle_file::{fetch, read_members, FetchedObject};
use crate::repository::manifest::BundleMember;
use crate::repository::{ObjectRef, Repository};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Member documents of a repository's bundles, each bundle fetched at most once.
pub struct MemberDocs<'a> {
    repo: &'a Repository,
    bundles: HashMap<String, Arc<FetchedObject>>,
}

impl<'a> MemberDocs<'a> {
    pub fn new(repo: &'a Repository) -> Self {
        MemberDocs {
            repo,
            bundles: HashMap::new(),
        }
    }

    async fn bundle(&mut self, bundle: &ObjectRef) -> Result<Arc<FetchedObject>> {
        if let Some(f) = self.bundles.get(&bundle.key) {
            return Ok(f.clone());
        }
        let f = fetch(self.repo, &bundle.key).await?;
        if f.sha256 != bundle.sha256 {
            return Err(Error::Integrity {
                key: bundle.key.clone(),
                message: format!(
                    "SHA-256 is {}, the manifest records {}; run `qsbackup verify`",
                    f.sha256, bundle.sha256
                ),
            });
        }
        let f = Arc::new(f);
        self.bundles.insert(bundle.key.clone(), f.clone());
        Ok(f)
    }

    /// The JSON of `member` of `bundle`.
    pub async fn json(&mut self, bundle: &ObjectRef, member: &BundleMember) -> Result<Value> {
        let mut docs = self.many(bundle, &[member]).await?;
        docs.pop().ok_or_else(|| Error::Bundle {
            key: bundle.key.clone(),
            message: format!("member {} was not read", member.path),
        })
    }

    /// The JSON of several members of one bundle, in order, with one opening of the zip.
    pub async fn many(&mut self, bundle: &ObjectRef, members: &[&BundleMember]) -> Result<Vec<Value>> {
        let read = self.many_bytes(bundle, members).await?;
        members
            .iter()
            .zip(read)
            .map(|(m, bytes)| parse(bundle, m, &bytes))
            .collect()
    }

    /// The bytes of several members of one bundle, in order, each checked to be the JSON
    /// document of the asset the manifest names (type and id), with one opening of the zip.
    pub async fn many_bytes(&mut self, bundle: &ObjectRef, members: &[&BundleMember]) -> Result<Vec<Vec<u8>>> {
        let fetched = self.bundle(bundle).await?;
        let path = fetched.file.path().to_path_buf();
        let names: Vec<String> = members.iter().map(|m| m.path.clone()).collect();
        let key = bundle.key.clone();
        let read = tokio::task::spawn_blocking(move || read_members(&path, &key, &names, MAX_MEMBER_BYTES))
            .await
            .map_err(|e| Error::Bundle {
                key: bundle.key.clone(),
                message: format!("reading members: {e}"),
            })??;
        for (m, bytes) in members.iter().zip(&read) {
            check(bundle, m, bytes)?;
        }
        Ok(read)
    }

    /// Drops the temporary copy of `bundle` (read everything needed from it).
    pub fn release(&mut self, bundle: &ObjectRef) {
        self.bundles.remove(&bundle.key);
    }
}

fn check(bundle: &ObjectRef, m: &BundleMember, bytes: &[u8]) -> Result<()> {
    crate::repository::verify::member::check_entry(&m.path, &m.member_type, &m.id)
        .and_then(|()| crate::repository::verify::member::check_bytes(&m.member_type, &m.id, bytes))
        .map_err(|why| Error::Bundle {
            key: bundle.key.clone(),
            message: format!("member {}: {why}; run `qsbackup verify`", m.path),
        })
}

fn parse(bundle: &ObjectRef, m: &BundleMember, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        context: format!("{} in bundle {}", m.path, bundle.key),
        source,
    })
}
