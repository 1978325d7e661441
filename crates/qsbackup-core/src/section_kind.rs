//! The kinds of snapshot section beside the asset bundles, named as the journal,
//! events and notes name them.

use serde::{Deserialize, Serialize};

/// The parts of a snapshot beside the asset bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    /// Users, groups and memberships.
    Identities,
    /// Account settings, customizations, brands, custom permissions and folders.
    Account,
}

impl SectionKind {
    /// The name used in events, notes and journal records.
    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Identities => "identities",
            SectionKind::Account => "account",
        }
    }
}

impl std::fmt::Display for SectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
