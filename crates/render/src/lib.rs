//! Renderers: text, JSON, explain, groups. Decides nothing.
//!
//! Architecture invariant: renderers only format what the topology and the rules
//! computed; output order never depends on hash order; colour only when asked.

mod audit;
mod bandwidth;
mod dot;
mod explain;
mod fix;
mod groups;
mod html;
mod json;
mod kernels;
mod label;
mod matrix;
mod simulate;
mod style;
mod svg;

pub use audit::{
    audit_html, audit_json, audit_text, AUDIT_DIFFERENCES_SHOWN, AUDIT_MACHINES_SHOWN,
};
pub use bandwidth::{
    bandwidth_json, bandwidth_text, calibrate_text, compare_json, compare_text, concurrent_json,
    concurrent_text,
};
pub use dot::topology_dot;
pub use explain::{explain_text, explain_timing};
pub use fix::{fix_json, fix_text};
pub use groups::{groups_json, groups_text};
pub use html::big::{report_html_big, ReportCells, REPRESENTATIVES_MAX};
pub use html::report_html;
pub use json::{pair_element, pair_json, simulate_json, JsonStream, FORMAT};
pub use kernels::{kernels_json, kernels_text};
pub use matrix::{matrix_json, matrix_legend, matrix_text, MatrixCell, MatrixGrid, MatrixJson};
pub use simulate::{
    depends_on_lines, findings_block, no_pairings, no_pairings_why, simulate_summary,
    simulate_text, simulate_title, summary_line, OutcomeGrid, MATRIX_MAX_EXPORTS, NO_PAIRINGS,
    UNSURE_LEGEND,
};
pub use style::Style;
pub use svg::{topology_svg, DrawOptions};

#[cfg(test)]
mod tests {
    //! Fixtures shared by the renderers' snapshot tests.

    use peerpath_model::{ExportId, Platform, PlatformBuilder, Via};
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

    /// hb0 ─ rp0 ─ sw0 with one downstream port per endpoint: `gpus` GPUs, each exporting
    /// its BAR 0 as `gpuI-bar0`, then nic0. No IOMMU, so every pairing turns in the
    /// switch and works; every endpoint imports every other's export unless the caller
    /// adds imports.
    pub(crate) fn gpus_and_a_nic(gpus: usize) -> PlatformBuilder {
        const WINDOW: u64 = 0x40_0000_0000;
        const BAR: u64 = 0x100_0000;
        let mut b = PlatformBuilder::new("gpus-and-a-nic");
        b.memory("dram0", 0x8000_0000, 0x1_0000_0000);
        let hb = b.host_bridge("hb0", 0, WINDOW, 0x10_0000_0000);
        let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
        let dp_bdfs: Vec<String> = (0..=gpus).map(|i| format!("02:{i:02x}.0")).collect();
        let dp_bdfs: Vec<&str> = dp_bdfs.iter().map(String::as_str).collect();
        let (_, dps) = b.switch("sw0", rp0, "01:00.0", &dp_bdfs, 256);
        for (i, dp) in dps.iter().enumerate() {
            let bdf = format!("{:02x}:00.0", 3 + i);
            let bar = WINDOW + i as u64 * BAR;
            if i < gpus {
                let gpu = b.endpoint(&format!("gpu{i}"), *dp, &bdf, bar, BAR);
                b.export(&format!("gpu{i}-bar0"), gpu, 0, Via::P2pdmaPages);
            } else {
                b.endpoint("nic0", *dp, &bdf, bar, BAR);
            }
        }
        b
    }

    /// [`gpus_and_a_nic`] where only nic0 imports, every export.
    pub(crate) fn nic_imports_every_gpu(gpus: usize) -> Platform {
        let mut b = gpus_and_a_nic(gpus);
        let nic = b
            .platform_mut()
            .node_ids()
            .last()
            .expect("nic0 is the last node");
        let exports = b.platform_mut().exports.len() as u32;
        for e in 0..exports {
            b.import(nic, ExportId(e));
        }
        b.build()
    }
}
