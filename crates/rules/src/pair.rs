//! One pairing end to end: the kernel's decision (K1–K3), the importer's stream and
//! traffic, the engine's routes, the findings.
//!
//! Each pairing starts with empty TLBs (`Engine::invalidate_all`) and a fresh IOVA
//! space, so a pairing evaluates the same alone (`explain`) as among all others
//! (`simulate`), on any engine of any thread.
//!
//! Routes keep their hops only where something will print them
//! ([`crate::routes::Routes`]).

use peerpath_engine::{Engine, Ste, StreamSetup};
use peerpath_model::Import;
use peerpath_topology::Topology;

use crate::finding::{outcome_of, sort_and_dedup};
use crate::findings::{check_all, Cx};
use crate::k3_dma_path::{bus_address, export_phys};
use crate::k3_stream::stream_setup;
use crate::kernel::decide;
use crate::report::{PairDetail, PairResult};
use crate::routes::{trace, Routes};
use crate::traffic::{flows, probe_flow};

/// Evaluates one pairing, on `engine` (built from `topo`).
pub(crate) fn evaluate_import(
    topo: &Topology<'_>,
    engine: &mut Engine<'_>,
    import: &Import,
    routes: Routes,
) -> PairResult {
    let p = topo.platform();
    if let Some(vm) = crate::v_vm::same_vm(p, import) {
        return crate::v_vm::evaluate(topo, engine, import, vm, routes);
    }
    let k = decide(topo, import);
    let export = p.export(import.export);
    let importer = import.importer;

    let (setup, probe, planned) = match k.why.mapping {
        Some(m) => {
            let setup = stream_setup(topo, &k);
            // With ATS enabled the device asks for a translation of whatever address
            // it was handed — a bus address or a raw PA too (H2).
            let planned = flows(topo, import, m.dma.0, setup.ats_enabled);
            (setup, false, planned)
        }
        None => {
            // Nothing was mapped: show where a write to the BAR would go, through a
            // bypassing stream, below a common upstream device as a bus address.
            let addr = if k.why.map.common_upstream.is_some() {
                bus_address(topo, export).map(|a| a.0)
            } else {
                // A raw CPU address on the wire: what a bypassing stream carries.
                export_phys(p, export).map(|a| a.0)
            };
            let setup = StreamSetup {
                requester: importer,
                ste: Ste::Bypass,
                ats_enabled: false,
            };
            let planned = addr.map(|a| probe_flow(p, import, a)).into_iter().collect();
            (setup, true, planned)
        }
    };

    let (traced, route_of) = trace(engine, &setup, planned, routes);

    let mut findings = check_all(&Cx {
        topo,
        import,
        k: &k,
        setup: &setup,
        probe,
        flows: &traced,
        vm: None,
    });
    sort_and_dedup(&mut findings);
    let outcome = outcome_of(&findings);
    PairResult {
        importer: topo.name(importer).to_owned(),
        export: export.name.clone(),
        exporter: topo.name(export.device).to_owned(),
        kernel: k,
        outcome,
        findings,
        depends_on: Vec::new(),
        vm: None,
        detail: PairDetail {
            importer,
            export: import.export,
            exporter: export.device,
            setup,
            probe,
            flows: traced,
            route_of,
        },
    }
}
