//! What existed when: one asset's history across snapshots ([`log`]), and the repository's
//! history as one self-contained HTML page ([`report`] gathers it, [`html`] draws it).

pub mod html;
pub mod log;
pub mod report;

use crate::repository::layout::report_key;
use crate::repository::Repository;

/// Writes the repository's history to `reports/<snapshot_id>.html` (a new key per snapshot: the
/// repository stays create-only) and returns the key and size.
pub async fn publish_report(repo: &Repository, snapshot_id: &str) -> crate::Result<(String, u64)> {
    let all = crate::repository::snapshots::SnapshotFilter::default();
    let data = report::build(repo, chrono::Utc::now(), &all).await?;
    let page = html::render(&data)?;
    let key = report_key(snapshot_id);
    let bytes = page.len() as u64;
    match repo
        .put_create_typed(&key, bytes::Bytes::from(page), "text/html; charset=utf-8")
        .await
    {
        // A retried step finds the page its first attempt wrote.
        Ok(()) | Err(crate::Error::AlreadyExists { .. }) => Ok((key, bytes)),
        Err(e) => Err(e),
    }
}
