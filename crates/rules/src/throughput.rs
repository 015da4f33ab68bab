//! `peerpath throughput`: the engine's speed on the user's own platform. Every
//! pairing's traffic is planned once as `simulate` plans it (the kernel's mapping,
//! the importer's stream, its TLPs); the TLPs are then routed again and again, one
//! thread, until the asked number has been routed, through the compiled path (flow
//! cache, no hops kept) or the hop-by-hop reference.

use std::time::{Duration, Instant};

use peerpath_engine::{Engine, StreamSetup, TlbStats, Tlp, Trace};
use peerpath_model::Import;
use peerpath_topology::Topology;

use crate::k3_stream::stream_setup;
use crate::kernel::decide;
use crate::traffic::flows;

/// The traffic of the pairings the kernel mapped (probes of refused pairings aside).
#[derive(Debug)]
pub struct Workload {
    /// One stream and its TLPs per pairing.
    pub streams: Vec<(StreamSetup, Vec<Tlp>)>,
    /// Pairings of the platform.
    pub pairings: usize,
    /// Pairings left out because the kernel maps nothing for them (planned before the
    /// workload was full), and the first [`Workload::EXAMPLES`] of them.
    pub unmapped: (usize, Vec<Import>),
    /// Pairings mapped but with no TLP to route (no flow of theirs), and the first
    /// [`Workload::EXAMPLES`] of them.
    pub idle: (usize, Vec<Import>),
}

impl Workload {
    /// Pairings kept per reason they were left out, to name them.
    pub const EXAMPLES: usize = 3;

    /// TLPs in one pass.
    pub fn tlps(&self) -> usize {
        self.streams.iter().map(|(_, t)| t.len()).sum()
    }
}

/// Plans the traffic of the platform's pairings, stopping once a pass holds `enough`
/// TLPs (a large platform need not be planned whole to be measured).
pub fn workload(topo: &Topology<'_>, enough: usize) -> Workload {
    let p = topo.platform();
    let mut streams = Vec::new();
    let mut tlps = 0;
    let mut unmapped = (0, Vec::new());
    let mut idle = (0, Vec::new());
    let note = |(n, v): &mut (usize, Vec<Import>), import: &Import| {
        *n += 1;
        if v.len() < Workload::EXAMPLES {
            v.push(*import);
        }
    };
    for import in &p.imports {
        if tlps >= enough {
            break;
        }
        let k = decide(topo, import);
        let Some(m) = k.why.mapping else {
            note(&mut unmapped, import);
            continue;
        };
        let setup = stream_setup(topo, &k);
        let all: Vec<Tlp> = flows(topo, import, m.dma.0, setup.ats_enabled)
            .into_iter()
            .flat_map(|f| f.tlps)
            .collect();
        if all.is_empty() {
            note(&mut idle, import);
        }
        tlps += all.len();
        streams.push((setup, all));
    }
    Workload {
        streams,
        pairings: p.imports.len(),
        unmapped,
        idle,
    }
}

/// What a run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measurement {
    /// TLPs routed.
    pub tlps: u64,
    /// Hops those routes took.
    pub hops: u64,
    /// The TLBs' counters over the run.
    pub tlb: TlbStats,
    /// Wall time of the routing.
    pub elapsed: Duration,
}

impl Measurement {
    /// TLPs per second.
    pub fn per_second(&self) -> f64 {
        self.tlps as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How to route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// The hop-by-hop reference router (flow cache off).
    pub reference: bool,
    /// Keep every hop (as `explain` and JSON routes do); implies the reference.
    pub record: bool,
}

/// Routes the workload's TLPs until at least `target` are routed (whole passes;
/// TLBs keep their contents between passes, as a running system's would).
pub fn measure(topo: &Topology<'_>, w: &Workload, target: u64, mode: Mode) -> Measurement {
    let mut engine = Engine::new(topo);
    engine.set_flow_cache(!mode.reference && !mode.record);
    let mut trace = if mode.record {
        Trace::recording()
    } else {
        Trace::summary_only()
    };
    let mut m = Measurement::default();
    if w.tlps() == 0 {
        return m;
    }
    let start = Instant::now();
    while m.tlps < target {
        for (setup, tlps) in &w.streams {
            for tlp in tlps {
                engine.route_into(setup, *tlp, &mut trace);
                m.hops += u64::from(trace.summary.hops);
            }
            m.tlps += tlps.len() as u64;
        }
    }
    m.elapsed = start.elapsed();
    m.tlb = engine.tlb_totals();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;

    #[test]
    fn both_paths_route_the_same_tlps_with_the_same_hops_and_tlb_counts() {
        let p = testplat::switch_pair(|_| {});
        let topo = Topology::new(&p);
        let w = workload(&topo, usize::MAX);
        assert!(w.tlps() > 0);
        let a = measure(&topo, &w, 1000, Mode::default());
        assert!(a.tlps >= 1000);
        for mode in [
            Mode {
                reference: true,
                record: false,
            },
            Mode {
                reference: true,
                record: true,
            },
        ] {
            let b = measure(&topo, &w, 1000, mode);
            assert_eq!((a.tlps, a.hops, a.tlb), (b.tlps, b.hops, b.tlb), "{mode:?}");
        }
        assert!(
            a.hops >= a.tlps * 2,
            "every route has an issue and a delivery hop"
        );
    }
}
