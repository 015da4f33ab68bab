//! Policy: the kernel's decisions (K1–K5, C1–C3) and the findings (F), one module per
//! rule, each citing its source.
//!
//! `evaluate` takes a platform's topology through every pairing of `platform.imports`:
//! the kernel side (`kernel`: K1 map type, K2 dma-buf, K3 DMA path and address), the
//! importer's stream as the hardware sees it (`k3_stream`), its traffic (`traffic`)
//! routed by `peerpath-engine`, and the findings (`findings`, one module per code of
//! rules.md section F). The `Report` serializes to output-format.md's JSON as is.
//!
//! Architecture invariants: findings are data, never `Err`; rules format no text
//! beyond a finding's message and fix; output order never depends on hash order; every
//! pairing is evaluated alone (fresh engine, fresh IOVA space), so `evaluate_pair`
//! agrees with `evaluate`.

pub mod acs_fix;
pub mod assume;
pub mod c_cc;
mod class;
mod errors;
pub mod finding;
mod findings;
mod hex;
pub mod k1_map_type;
pub mod k2_dmabuf;
pub mod k2_driver;
pub mod k3_dma_path;
pub mod k3_iova;
pub mod k3_stream;
pub mod kernel;
mod pair;
pub mod releases;
pub mod report;
mod run;
pub mod throughput;
pub mod traffic;
pub mod v_vm;

#[cfg(test)]
mod testplat;
#[cfg(test)]
mod tests;

pub use class::{ClassKey, Classes};
pub use errors::UnknownPair;
pub use finding::{Code, Evidence, Finding, Outcome, Severity};
pub use k1_map_type::MapType;
pub use k2_dmabuf::Attr;
pub use k3_dma_path::DmaPath;
pub use kernel::{KernelDecision, KernelWhy};
pub use pair::Routes;
pub use report::{
    CauseGroup, CodeSet, FlowTrace, PairDetail, PairResult, Place, Places, Report, Summary, Tally,
    Verdict,
};
pub use run::{
    default_jobs, for_each_pair, for_each_pair_where, for_each_verdict, for_each_verdict_where,
    verdict_alone,
};

use peerpath_engine::Engine;
use peerpath_topology::Topology;

/// The JSON output format version.
pub const FORMAT: u32 = 1;

/// Evaluates every pairing of the platform, in `platform.imports` order (sorted by
/// importer, export), representative routes recorded, collected (small platforms and
/// tests; large ones stream with `for_each_pair`).
pub fn evaluate(topo: &Topology<'_>) -> Report {
    let mut pairs = Vec::with_capacity(topo.platform().imports.len());
    let _: Result<(), std::convert::Infallible> = for_each_pair(
        topo,
        1,
        Routes::Representative,
        |p| p,
        |p| {
            pairs.push(p);
            Ok(())
        },
    );
    Report {
        platform: topo.platform().name.clone(),
        summary: Summary::of(&pairs),
        pairs,
    }
}

/// Evaluates one pairing by names, every route recorded (for `peerpath explain`).
pub fn evaluate_pair(
    topo: &Topology<'_>,
    importer: &str,
    export: &str,
) -> Result<PairResult, UnknownPair> {
    let p = topo.platform();
    let found = p
        .imports
        .iter()
        .find(|i| topo.name(i.importer) == importer && p.export(i.export).name == export);
    if let Some(i) = found {
        let mut pair = pair::evaluate_import(topo, &mut Engine::new(topo), i, Routes::All);
        let alternatives = assume::Alternatives::of(p);
        if !alternatives.is_empty() {
            pair.depends_on =
                assume::Tried::new(&alternatives).depends_on(topo, i, None, pair.outcome);
        }
        return Ok(pair);
    }
    let mut valid_importers: Vec<String> = p
        .imports
        .iter()
        .map(|i| topo.name(i.importer).to_owned())
        .collect();
    valid_importers.sort();
    valid_importers.dedup();
    let mut valid_exports: Vec<String> = p
        .imports
        .iter()
        .filter(|i| topo.name(i.importer) == importer)
        .map(|i| p.export(i.export).name.clone())
        .collect();
    if valid_exports.is_empty() {
        valid_exports = p.exports.iter().map(|e| e.name.clone()).collect();
    }
    valid_exports.sort();
    valid_exports.dedup();
    Err(UnknownPair {
        importer: importer.to_owned(),
        export: export.to_owned(),
        valid_importers,
        valid_exports,
    })
}
