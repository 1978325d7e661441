//! What existed when: one asset's history across snapshots ([`log`]), and the repository's
//! history as one self-contained HTML page ([`report`] gathers it, [`html`] draws it).

pub mod html;
pub mod log;
pub mod report;
