//! Routing a pairing's flows on the engine, keeping the hops that something will print
//! ([`Routes`]): the verdict path records nothing (the engine's flow cache serves it),
//! JSON records the representative route, `explain` and pictures every route. Used by
//! `pair` (host pairings) and `v_vm` (pairings inside a VM).

use peerpath_engine::{BurstTrace, Engine, Record, StreamSetup};
use peerpath_model::Op;

use crate::report::FlowTrace;
use crate::traffic::Flow;

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
