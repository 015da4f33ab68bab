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
    //! Fixtures shared by the renderers' snapshot tests.

    use peerpath_model::Platform;
    use peerpath_rules::PairResult;
    use peerpath_topology::Topology;

    /// A topology of the repository, loaded.
    pub(crate) fn topology(file: &str) -> Platform {
        fixture(&format!("topologies/{file}"))
    }

    /// A platform of the repository by its path from the root: a platform file
    /// (`topologies/…`) or a scenario file's platform (`scenarios/…`).
    pub(crate) fn fixture(path: &str) -> Platform {
        let full = std::path::PathBuf::from(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")));
        let loaded = if path.starts_with("scenarios/") {
            peerpath_load::scenario::load_scenario(&full).map(|s| s.platform)
        } else {
            peerpath_load::load_file(&full)
        };
        loaded.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// One pairing, every route recorded, as `peerpath explain` evaluates it.
    pub(crate) fn pair(topo: &Topology<'_>, importer: &str, export: &str) -> PairResult {
        peerpath_rules::evaluate_pair(topo, importer, export)
            .unwrap_or_else(|e| panic!("{importer} {export}: {e}"))
    }
}
