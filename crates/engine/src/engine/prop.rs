//! Property tests: random platforms (the testkit generator) and random TLPs. Routing
//! terminates within a bound, never panics, is deterministic, and every delivery lands
//! on an endpoint whose BAR holds the address.

use super::*;
use crate::pagetable::{IoPageTable, MemAttr, Prot};
use crate::types::Ste;
use peerpath_model::{AddrRange, Iova, NodeKind, PhysAddr};
use peerpath_testkit::strategy::cases;
use proptest::prelude::*;

/// Where the IOVA of endpoint j's BAR 0 starts: `IOVA + j * stride`.
const IOVA: u64 = 0x1000_0000;

/// Per endpoint with a BAR: its id and its host bridge window's `bus - cpu`.
fn endpoints(topo: &Topology<'_>) -> Vec<(NodeId, u64)> {
    topo.endpoints()
        .filter(|id| topo.endpoint(*id).is_some_and(|e| !e.bars.is_empty()))
        .map(|id| {
            let hb = topo.host_bridge(topo.host_bridge_of(id));
            (id, hb.windows.first().map_or(0, |w| w.bus_offset()))
        })
        .collect()
}

fn bar0(p: &Platform, id: NodeId) -> AddrRange {
    match &p.node(id).kind {
        NodeKind::Endpoint(e) => e.bars[0].range.untyped(),
        _ => unreachable!("endpoints() keeps endpoints with a BAR"),
    }
}

/// The IOVA stride: the largest BAR 0, so that the endpoints' IOVA ranges never overlap.
fn stride(p: &Platform, eps: &[(NodeId, u64)]) -> u64 {
    eps.iter()
        .filter_map(|(id, _)| bar0(p, *id).size())
        .max()
        .unwrap_or(4096)
        .next_power_of_two()
}

#[derive(Clone, Debug)]
struct TlpSpec {
    requester: usize,
    target: usize,
    addr_kind: u8,
    raw: u64,
    at: u8,
    write: bool,
    payload: u32,
}

fn tlp_spec() -> impl Strategy<Value = TlpSpec> {
    (
        any::<usize>(),
        any::<usize>(),
        0u8..5,
        any::<u64>(),
        0u8..3,
        any::<bool>(),
        prop_oneof![
            Just(4u32),
            Just(64),
            Just(128),
            Just(256),
            Just(512),
            Just(4096)
        ],
    )
        .prop_map(
            |(requester, target, addr_kind, raw, at, write, payload)| TlpSpec {
                requester,
                target,
                addr_kind,
                raw,
                at,
                write,
                payload,
            },
        )
}

/// Per TLP spec, the TLP; the STE maps IOVA `IOVA + j * stride` to endpoint j's BAR 0.
fn make_tlp(p: &Platform, eps: &[(NodeId, u64)], t: &TlpSpec) -> Tlp {
    let (req, _) = eps[t.requester % eps.len()];
    let j = t.target % eps.len();
    let (tgt, off) = eps[j];
    let bar = bar0(p, tgt);
    let within = t.raw % bar.size().unwrap_or(u64::MAX);
    let dram = p.memory.first().map_or(0, |m| m.range.start.0);
    let addr = match t.addr_kind {
        0 => bar.start.wrapping_add(off).wrapping_add(within), // bus address of the peer
        1 => bar.start + within,                               // CPU physical of the peer
        2 => IOVA + j as u64 * stride(p, eps) + within,        // IOVA
        3 => dram + within % 4096,
        _ => t.raw,
    };
    Tlp {
        requester: req,
        op: if t.write { Op::Write } else { Op::Read },
        addr,
        payload: t.payload,
        at: [At::Untranslated, At::TranslationRequest, At::Translated][t.at as usize % 3],
        t: t.raw >> 63 == 1,
    }
}

/// How a requester's stream is set up: the STE (`ste % 4`: none, abort, bypass,
/// translate), the page table's memory type (`attr % 3`), ATS enabled.
#[derive(Clone, Copy, Debug)]
struct StreamSpec {
    ste: u8,
    attr: u8,
    ats: bool,
}

fn stream_spec() -> impl Strategy<Value = StreamSpec> {
    (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(ste, attr, ats)| StreamSpec {
        ste,
        attr,
        ats,
    })
}

/// Eight back-to-back TLPs from the TLP `t` makes on, each starting where the last
/// one's payload ends, and their requester's stream.
fn burst(
    p: &Platform,
    eps: &[(NodeId, u64)],
    t: &TlpSpec,
    spec: StreamSpec,
) -> (Vec<Tlp>, StreamSetup) {
    let first = make_tlp(p, eps, t);
    let burst = (0..8u64)
        .map(|i| Tlp {
            addr: first.addr.wrapping_add(i * u64::from(first.payload)),
            ..first
        })
        .collect();
    (burst, stream(p, eps, first.requester, spec))
}

fn stream(p: &Platform, eps: &[(NodeId, u64)], req: NodeId, spec: StreamSpec) -> StreamSetup {
    let ste = match spec.ste % 4 {
        0 => Ste::NoIommu,
        1 => Ste::Abort,
        2 => Ste::Bypass,
        _ => {
            let attr =
                [MemAttr::Device, MemAttr::NormalWb, MemAttr::NormalNc][spec.attr as usize % 3];
            let mut t = IoPageTable::new();
            let stride = stride(p, eps);
            for (j, (id, _)) in eps.iter().enumerate() {
                let bar = bar0(p, *id);
                let ok = t.map(
                    Iova(IOVA + j as u64 * stride),
                    PhysAddr(bar.start),
                    bar.size().unwrap_or(4096),
                    Prot::rw(attr),
                );
                assert!(ok.is_ok(), "{ok:?}");
            }
            Ste::Translate(t)
        }
    };
    StreamSetup {
        requester: req,
        ste,
        ats_enabled: spec.ats,
    }
}

fn check_trace(p: &Platform, eps: &[(NodeId, u64)], tr: &Trace) -> Result<(), TestCaseError> {
    let bound = 4 * p.nodes.len() + 16;
    prop_assert!(!tr.hops.is_empty());
    prop_assert!(tr.hops.len() <= bound, "{} hops > {bound}", tr.hops.len());
    prop_assert_eq!(tr.hops[0].event, Event::Issue);
    let last = tr.hops[tr.hops.len() - 1];
    let expect_last = match tr.end {
        End::Delivered { .. } | End::Dram { .. } => Event::Deliver,
        End::Fault(_) => Event::Fault,
        End::Dropped(_) => Event::Drop,
        End::Merged { .. } => Event::Merge,
    };
    prop_assert_eq!(last.event, expect_last);
    for h in &tr.hops {
        if h.event != Event::Deliver {
            continue;
        }
        match h.at {
            Place::Pci(n) => {
                let e = match &p.node(n).kind {
                    NodeKind::Endpoint(e) => e,
                    other => return Err(TestCaseError::fail(format!("delivered to {other:?}"))),
                };
                let off = eps
                    .iter()
                    .find(|(id, _)| *id == n)
                    .map(|(_, o)| *o)
                    .unwrap_or(0);
                let holds = e.bars.iter().any(|b| {
                    let bus = h.tlp.addr.wrapping_sub(off);
                    b.range.contains(PhysAddr(bus))
                });
                prop_assert!(
                    holds,
                    "{:#x} not in a BAR of {}",
                    h.tlp.addr,
                    p.node(n).name
                );
                if let End::Delivered {
                    target,
                    bar,
                    offset,
                    ..
                } = tr.end
                {
                    prop_assert_eq!(target, n);
                    let b = e.bar(bar).map(|b| b.range);
                    prop_assert!(b.is_some_and(|r| r
                        .start
                        .checked_add(offset)
                        .is_some_and(|a| r.contains(a))));
                } else {
                    return Err(TestCaseError::fail("deliver hop without End::Delivered"));
                }
            }
            Place::Memory(i) => {
                prop_assert!(p.memory[i].range.contains(PhysAddr(h.tlp.addr)));
            }
            other => return Err(TestCaseError::fail(format!("deliver at {other:?}"))),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_platforms_route_without_panics_and_deliver_only_into_bars(
        case in cases(),
        tlps in proptest::collection::vec(tlp_spec(), 1..12),
        spec in stream_spec(),
    ) {
        let p = case.platform();
        let topo = Topology::new(&p);
        let eps = endpoints(&topo);
        prop_assert!(!eps.is_empty(), "the generator always places an endpoint");
        let mut engine = Engine::new(&topo);
        let mut again = Engine::new(&topo);
        for t in &tlps {
            let tlp = make_tlp(&p, &eps, t);
            let s = stream(&p, &eps, tlp.requester, spec);
            let tr = engine.route(&s, tlp);
            check_trace(&p, &eps, &tr)?;
            prop_assert_eq!(&tr, &again.route(&s, tlp));
        }
        // A burst from the first requester: merges never exceed the gathering granule.
        let (burst, s) = burst(&p, &eps, &tlps[0], spec);
        let bt = engine.route_burst(&s, &burst);
        prop_assert_eq!(bt.traces.len(), burst.len());
        for tr in &bt.traces {
            check_trace(&p, &eps, tr)?;
        }
        for m in &bt.merges {
            prop_assert!(m.count >= 2 && m.bytes <= p.interconnect.write_merge_bytes);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Issue 7: the compiled path (flow cache, summary-only traces), the hop-by-hop
    /// router keeping only a summary, and the reference recording every hop give the
    /// same end, memory type, StreamID and summary for every TLP,
    /// and leave the TLBs with the same counters. Each TLP is followed by three more of
    /// its page, so the cache serves most of them.
    #[test]
    fn the_flow_cache_agrees_with_the_reference_router(
        case in cases(),
        tlps in proptest::collection::vec(tlp_spec(), 1..10),
        spec in stream_spec(),
    ) {
        let p = case.platform();
        let topo = Topology::new(&p);
        let eps = endpoints(&topo);
        let mut reference = Engine::new(&topo);
        let mut cached = reference.fork();
        prop_assert!(cached.flow_cache_enabled(), "testkit lays BARs out page aligned");
        // The hop-by-hop router keeping only the summary (what the flow cache stores).
        let mut plain = reference.fork();
        plain.set_flow_cache(false);
        let mut summary = Trace::summary_only();
        let mut plain_summary = Trace::summary_only();
        for t in &tlps {
            let first = make_tlp(&p, &eps, t);
            let s = stream(&p, &eps, first.requester, spec);
            for k in 0..4u64 {
                let tlp = Tlp {
                    addr: (first.addr & !0xfff) | ((first.addr + k * 0x140) & 0xfff),
                    ..first
                };
                let want = reference.route(&s, tlp);
                cached.route_into(&s, tlp, &mut summary);
                prop_assert!(summary.hops.is_empty());
                prop_assert_eq!(summary.end, want.end, "{:?}", tlp);
                prop_assert_eq!(summary.attr, want.attr);
                prop_assert_eq!(summary.sid, want.sid);
                prop_assert_eq!(summary.summary, want.summary);
                prop_assert_eq!(summary.completion, want.completion);
                prop_assert_eq!(
                    want.completion.map(|c| c.hops as usize),
                    (!want.completion_hops.is_empty()).then_some(want.completion_hops.len())
                );
                plain.route_into(&s, tlp, &mut plain_summary);
                prop_assert_eq!(plain_summary.end, want.end);
                prop_assert_eq!(plain_summary.summary, want.summary);
                prop_assert_eq!(plain_summary.completion, want.completion);
            }
        }
        prop_assert_eq!(cached.tlb_stats(), reference.tlb_stats());
        // Bursts too: the same merges and ends with and without hops.
        let (burst, s) = burst(&p, &eps, &tlps[0], spec);
        let want = reference.route_burst(&s, &burst);
        let mut got = crate::BurstTrace::default();
        cached.route_burst_into(&s, &burst, crate::Record::Nothing, &mut got);
        prop_assert_eq!(&got.merges, &want.merges);
        for (g, w) in got.traces.iter().zip(&want.traces) {
            prop_assert_eq!(g.end, w.end);
            prop_assert_eq!(g.summary, w.summary);
        }
    }
}
