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

mod across;
mod acs_fix;
mod assume;
mod c_cc;
mod class;
mod errors;
mod finding;
mod findings;
mod hex;
mod k1_map_type;
mod k2_dmabuf;
mod k2_driver;
mod k3_dma_path;
mod k3_iova;
mod k3_stream;
mod kernel;
mod pair;
mod releases;
mod report;
mod routes;
mod run;
pub mod throughput;
mod traffic;
mod v_vm;

#[cfg(test)]
mod testplat;
#[cfg(test)]
mod tests;

pub use across::{across, AcrossReleases, AtRelease};
pub use acs_fix::{clear_redirect, ClearRedirect, SetpciLine};
pub use class::{ClassKey, Classes};
pub use errors::UnknownPair;
pub use finding::{Code, Evidence, Finding, Outcome, Severity};
pub use k1_map_type::{AllowList, HostBridgeMatch, MapType, MapTypeView};
pub use k2_dmabuf::{AttachRefusal, Attr};
pub use k3_dma_path::{DmaPath, MapResult, PathChoice};
pub use kernel::{KernelDecision, KernelWhy, Regime};
pub use releases::P2pdma;
pub use report::{
    CauseGroup, CodeSet, DependsOn, FlowTrace, PairDetail, PairResult, Place, Places, Report,
    Summary, Tally, Verdict, VmDetail,
};
pub use routes::Routes;
pub use run::{
    default_jobs, for_each_pair, for_each_pair_where, for_each_verdict, for_each_verdict_where,
};
pub use v_vm::maps_bars;

/// Items public for the tests of other crates only (feature `test-support`, which only
/// dev-dependencies turn on): the reference a class's verdict is checked against, and
/// the rule functions the cross-model properties call directly.
#[cfg(feature = "test-support")]
pub mod testing {
    use peerpath_model::{NodeId, Platform};
    use peerpath_topology::Topology;

    pub use crate::run::verdict_alone;

    /// K1 for `provider` → `client` (`crate::k1_map_type::calc_map_type_and_dist`).
    pub fn calc_map_type_and_dist(
        topo: &Topology<'_>,
        provider: NodeId,
        client: NodeId,
    ) -> crate::k1_map_type::MapTypeDecision {
        crate::k1_map_type::calc_map_type_and_dist(topo, provider, client)
    }

    /// `min_not_zero(dma_mask, bus_dma_limit)` of an endpoint
    /// (`crate::k3_dma_path::dma_limit`).
    pub fn dma_limit(p: &Platform, dev: NodeId) -> u64 {
        crate::k3_dma_path::dma_limit(p, dev)
    }
}

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
