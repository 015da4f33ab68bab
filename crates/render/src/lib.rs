//! Renderers: text, JSON, explain, groups. Decides nothing.
//!
//! Architecture invariant: renderers only format what the topology and the rules
//! computed; output order never depends on hash order; colour only when asked.

mod dot;
mod explain;
mod groups;
mod json;
mod simulate;
mod style;

pub use dot::topology_dot;
pub use explain::explain_text;
pub use groups::{groups_json, groups_text};
pub use json::{pair_element, pair_json, simulate_json, JsonStream, FORMAT};
pub use simulate::{
    findings_block, simulate_summary, simulate_text, simulate_title, summary_line, OutcomeGrid,
    MATRIX_MAX_EXPORTS, NO_PAIRINGS,
};
pub use style::Style;

#[cfg(test)]
mod tests {
    /// A topology of the repository, loaded.
    pub(crate) fn topology(file: &str) -> peerpath_model::Platform {
        let path = format!("{}/../../topologies/{file}", env!("CARGO_MANIFEST_DIR"));
        peerpath_load::load_file(std::path::Path::new(&path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}
