//! One pairing end to end: the kernel's decision (K1–K3), the importer's stream and
//! traffic, the engine's routes, the findings.
//!
//! Each pairing starts with empty TLBs (`Engine::invalidate_all`) and a fresh IOVA
//! space, so a pairing evaluates the same alone (`explain`) as among all others
//! (`simulate`), on any engine of any thread.
//!
//! Routes keep their hops only where something will print them ([`Routes`]): the
//! verdict path records nothing (the engine's flow cache serves it), JSON records the
//! representative route, `explain` and pictures every route.

use peerpath_engine::{BurstTrace, Engine, Record, Ste, StreamSetup, Tlp};
use peerpath_model::{Import, Op};
use peerpath_topology::Topology;

use crate::finding::{outcome_of, sort_and_dedup};
use crate::findings::{check_all, Cx};
use crate::k3_dma_path::{bus_address, export_phys};
use crate::k3_stream::stream_setup;
use crate::kernel::decide;
use crate::report::{FlowTrace, PairDetail, PairResult};
use crate::traffic::{flows, Flow};

/// Payload of a probe write when the kernel mapped nothing.
const PROBE_PAYLOAD: u32 = 128;

/// The probe: one untranslated write of `PROBE_PAYLOAD` bytes to `addr`, showing where
/// a TLP would go when nothing was mapped; its T bit is the pairing's (C3).
pub(crate) fn probe_flow(p: &peerpath_model::Platform, import: &Import, addr: u64) -> Flow {
    let t = crate::c_cc::t_bit(p, import.importer, p.export(import.export).device);
    Flow {
        op: Op::Write,
        ats: false,
        tlps: vec![Tlp::write(import.importer, addr, PROBE_PAYLOAD).with_t(t)],
        truncated: false,
    }
}

/// Which routes keep their hops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Routes {
    /// None (the verdict: findings read the routes' summaries).
    #[default]
    None,
    /// The representative route only (JSON `route`).
    Representative,
    /// Every route (`explain`, pictures).
    All,
}

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

/// Routes each planned flow on `engine` (TLBs emptied first), keeping the hops
/// `routes` asks for; returns the traces and the representative route (the first
/// write's first TLP, else the first TLP).
pub(crate) fn trace(
    engine: &mut Engine<'_>,
    setup: &StreamSetup,
    planned: Vec<Flow>,
    routes: Routes,
) -> (Vec<FlowTrace>, Option<(usize, usize)>) {
    let route_of = planned
        .iter()
        .position(|f| f.op == Op::Write && !f.tlps.is_empty())
        .or_else(|| planned.iter().position(|f| !f.tlps.is_empty()))
        .map(|i| (i, 0));

    engine.invalidate_all();
    engine.reset_tlb_stats();
    let traced: Vec<FlowTrace> = planned
        .into_iter()
        .enumerate()
        .map(|(i, flow)| {
            let record = match routes {
                Routes::All => Record::All,
                Routes::Representative if route_of.map(|r| r.0) == Some(i) => Record::First,
                _ => Record::Nothing,
            };
            let mut burst = BurstTrace::default();
            engine.route_burst_into(setup, &flow.tlps, record, &mut burst);
            FlowTrace {
                flow,
                traces: burst.traces,
                merges: burst.merges,
            }
        })
        .collect();
    (traced, route_of)
}
