//! The crate's errors (style.md habit 6). Findings are not errors: a failing pairing
//! is a result.

/// `evaluate_pair` was asked for a pairing the platform does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no pairing of importer `{importer}` with export `{export}`")]
pub struct UnknownPair {
    /// The importer asked for.
    pub importer: String,
    /// The export asked for.
    pub export: String,
    /// Every importer of the platform's pairings, sorted.
    pub valid_importers: Vec<String>,
    /// The exports `importer` imports (every export when `importer` imports nothing),
    /// sorted.
    pub valid_exports: Vec<String>,
}
