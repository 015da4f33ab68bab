//! Property tests: random small platforms (PlatformBuilder) and random TLPs. Routing
//! terminates within a bound, never panics, is deterministic, and every delivery lands
//! on an endpoint whose BAR holds the address.

use super::*;
use crate::pagetable::{IoPageTable, MemAttr, Prot};
use peerpath_model::NodeKind;
use peerpath_model::{
    AcsFlags, CcState, DeviceCc, ForwardsP2p, IommuKind, Iova, PcieBusConfig, PhysAddr,
    PlatformBuilder, TdispState, Translation, MPS_VALUES,
};
use proptest::prelude::*;

const WINDOW: u64 = 0x1_0000_0000;
const BAR: u64 = 0x10_0000;
const DRAM: u64 = 0x8000_0000;
const IOVA: u64 = 0x1000_0000;

#[derive(Clone, Debug)]
struct EpSpec {
    mps: usize,
    tdisp: Option<u8>,
}

#[derive(Clone, Debug)]
enum Child {
    Endpoint(EpSpec),
    Switch(Vec<(u8, usize, EpSpec)>),
    Bridge(EpSpec),
}

#[derive(Clone, Debug)]
struct RpSpec {
    acs: u8,
    mps: usize,
    splits: bool,
    child: Child,
}

#[derive(Clone, Debug)]
struct HbSpec {
    translation: u8,
    iommu: bool,
    forwards: u8,
    bus_offset: bool,
    ats: bool,
    disable_bypass: bool,
    rps: Vec<RpSpec>,
}

#[derive(Clone, Debug)]
struct Spec {
    hbs: Vec<HbSpec>,
    write_merge: u32,
}

fn ep() -> impl Strategy<Value = EpSpec> {
    (0..MPS_VALUES.len(), proptest::option::of(0u8..4))
        .prop_map(|(mps, tdisp)| EpSpec { mps, tdisp })
}

fn child() -> impl Strategy<Value = Child> {
    prop_oneof![
        ep().prop_map(Child::Endpoint),
        proptest::collection::vec((any::<u8>(), 0..MPS_VALUES.len(), ep()), 1..=3)
            .prop_map(Child::Switch),
        ep().prop_map(Child::Bridge),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let rp = (any::<u8>(), 0..MPS_VALUES.len(), any::<bool>(), child()).prop_map(
        |(acs, mps, splits, child)| RpSpec {
            acs,
            mps,
            splits,
            child,
        },
    );
    let hb = (
        0u8..4,
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(rp, 1..=3),
    )
        .prop_map(
            |(translation, iommu, forwards, bus_offset, ats, disable_bypass, rps)| HbSpec {
                translation,
                iommu,
                forwards,
                bus_offset,
                ats,
                disable_bypass,
                rps,
            },
        );
    (
        proptest::collection::vec(hb, 1..=2),
        prop_oneof![Just(0u32), Just(64), Just(256), Just(512), Just(1024)],
    )
        .prop_map(|(hbs, write_merge)| Spec { hbs, write_merge })
}

/// The built platform and, per endpoint, its id and its host bridge's `bus - cpu`.
fn build(spec: &Spec) -> (Platform, Vec<(NodeId, u64)>) {
    let mut b = PlatformBuilder::new("prop");
    b.kernel().pcie_bus_config = PcieBusConfig::TuneOff;
    b.platform_mut().interconnect.write_merge_bytes = spec.write_merge;
    b.memory("dram0", DRAM, 0x4000_0000);
    let mut eps = Vec::new();
    for (h, hs) in spec.hbs.iter().enumerate() {
        let seg = h as u16;
        let cpu = 0x40_0000_0000 + h as u64 * 0x10_0000_0000;
        let hb = b.host_bridge(&format!("hb{h}"), seg, cpu, WINDOW);
        let offset = if hs.bus_offset {
            0u64.wrapping_sub(0x38_0000_0000)
        } else {
            0
        };
        b.host_bridge_mut(hb).windows[0].bus = cpu.wrapping_add(offset);
        b.host_bridge_mut(hb).translation = match hs.translation {
            0 => Translation::ExternalTbu,
            1 => Translation::DtiAts,
            2 => Translation::Integrated,
            _ => Translation::None,
        };
        b.host_bridge_mut(hb).forwards_p2p = match hs.forwards {
            0 => ForwardsP2p::None,
            1 => ForwardsP2p::SameHostBridge,
            _ => ForwardsP2p::Any,
        };
        let iommu = hs.iommu.then(|| {
            let i = b.iommu(&format!("iommu{h}"), IommuKind::Smmuv3);
            b.iommu_mut(i).ats = hs.ats;
            b.iommu_mut(i).disable_bypass = hs.disable_bypass;
            b.host_bridge_mut(hb).iommu = Some(i);
            i
        });
        let mut bus = 1u8;
        let mut bar = cpu;
        let mut next_bus = || {
            let x = bus;
            bus = bus.wrapping_add(1);
            x
        };
        let mut ep_at =
            |b: &mut PlatformBuilder, name: String, parent: NodeId, busn: u8, e: &EpSpec| {
                let id = b.endpoint(
                    &name,
                    parent,
                    &format!("{seg:04x}:{busn:02x}:00.0"),
                    bar,
                    BAR,
                );
                bar += BAR;
                b.endpoint_mut(id).mps = MPS_VALUES[e.mps];
                b.endpoint_mut(id).cc = e.tdisp.map(|t| DeviceCc {
                    state: CcState::Private,
                    tdisp: [
                        TdispState::Unlocked,
                        TdispState::Locked,
                        TdispState::Run,
                        TdispState::Error,
                    ][t as usize % 4],
                });
                id
            };
        for (r, rs) in hs.rps.iter().enumerate() {
            let rp = b.root_port(
                &format!("hb{h}.rp{r}"),
                hb,
                &format!("{seg:04x}:00:{:02x}.0", r + 1),
                4096,
            );
            b.port_mut(rp).mps = MPS_VALUES[rs.mps];
            b.port_mut(rp).splits_oversized_writes = rs.splits;
            b.acs(
                rp,
                AcsFlags::all(),
                Some(AcsFlags::from_bits_truncate(rs.acs)),
            );
            if let (Some(i), 0) = (iommu, hs.translation) {
                let t = b.tbu(i, &format!("hb{h}.tbu{r}"), 4, 2);
                b.port_mut(rp).tbu = Some(t);
            }
            match &rs.child {
                Child::Endpoint(e) => {
                    let busn = next_bus();
                    let id = ep_at(&mut b, format!("hb{h}.rp{r}.ep"), rp, busn, e);
                    eps.push((id, offset));
                }
                Child::Bridge(e) => {
                    let bb = next_bus();
                    let br = b.pci_bridge(
                        &format!("hb{h}.rp{r}.br"),
                        rp,
                        &format!("{seg:04x}:{bb:02x}:00.0"),
                    );
                    let busn = next_bus();
                    let id = ep_at(&mut b, format!("hb{h}.rp{r}.legacy"), br, busn, e);
                    eps.push((id, offset));
                }
                Child::Switch(dps) => {
                    let up = next_bus();
                    let dbus = next_bus();
                    let dbdfs: Vec<String> = (0..dps.len())
                        .map(|d| format!("{seg:04x}:{dbus:02x}:{d:02x}.0"))
                        .collect();
                    let refs: Vec<&str> = dbdfs.iter().map(String::as_str).collect();
                    let (usp, dpids) = b.switch(
                        &format!("hb{h}.rp{r}.sw"),
                        rp,
                        &format!("{seg:04x}:{up:02x}:00.0"),
                        &refs,
                        4096,
                    );
                    b.port_mut(usp).mps = MPS_VALUES[rs.mps];
                    for (d, (acs, mps, e)) in dps.iter().enumerate() {
                        b.port_mut(dpids[d]).mps = MPS_VALUES[*mps];
                        b.acs(
                            dpids[d],
                            AcsFlags::all(),
                            Some(AcsFlags::from_bits_truncate(*acs)),
                        );
                        let busn = next_bus();
                        let id = ep_at(&mut b, format!("hb{h}.rp{r}.sw.ep{d}"), dpids[d], busn, e);
                        eps.push((id, offset));
                    }
                }
            }
        }
    }
    (b.build(), eps)
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

/// Per TLP spec, the TLP; the STE maps IOVA `IOVA + j * BAR` to endpoint j's BAR.
fn make_tlp(p: &Platform, eps: &[(NodeId, u64)], t: &TlpSpec) -> Tlp {
    let (req, _) = eps[t.requester % eps.len()];
    let j = t.target % eps.len();
    let (tgt, off) = eps[j];
    let bar_cpu = match &p.node(tgt).kind {
        NodeKind::Endpoint(e) => e.bars[0].range.start,
        _ => 0,
    };
    let within = t.raw % BAR;
    let addr = match t.addr_kind {
        0 => bar_cpu.wrapping_add(off).wrapping_add(within), // bus address of the peer
        1 => bar_cpu + within,                               // CPU physical of the peer
        2 => IOVA + j as u64 * BAR + within,                 // IOVA
        3 => DRAM + within,
        _ => t.raw,
    };
    Tlp {
        requester: req,
        op: if t.write { Op::Write } else { Op::Read },
        addr,
        payload: t.payload,
        at: [At::Untranslated, At::TranslationRequest, At::Translated][t.at as usize % 3],
    }
}

fn stream(
    p: &Platform,
    eps: &[(NodeId, u64)],
    req: NodeId,
    ste: u8,
    attr: u8,
    ats: bool,
) -> StreamSetup {
    let ste = match ste % 4 {
        0 => Ste::NoIommu,
        1 => Ste::Abort,
        2 => Ste::Bypass,
        _ => {
            let attr = [MemAttr::Device, MemAttr::NormalWb, MemAttr::NormalNc][attr as usize % 3];
            let mut t = IoPageTable::new();
            for (j, (id, _)) in eps.iter().enumerate() {
                if let NodeKind::Endpoint(e) = &p.node(*id).kind {
                    let ok = t.map(
                        Iova(IOVA + j as u64 * BAR),
                        PhysAddr(e.bars[0].range.start),
                        BAR,
                        Prot::rw(attr),
                    );
                    assert!(ok.is_ok(), "{ok:?}");
                }
            }
            Ste::Translate(t)
        }
    };
    StreamSetup {
        requester: req,
        ste,
        ats_enabled: ats,
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
                    b.range.contains(bus)
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
                prop_assert!(p.memory[i].range.contains(h.tlp.addr));
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
        spec in spec(),
        tlps in proptest::collection::vec(tlp_spec(), 1..12),
        ste in any::<u8>(),
        attr in any::<u8>(),
        ats in any::<bool>(),
    ) {
        let (p, eps) = build(&spec);
        let topo = Topology::new(&p);
        let mut engine = Engine::new(&topo);
        let mut again = Engine::new(&topo);
        for t in &tlps {
            let tlp = make_tlp(&p, &eps, t);
            let s = stream(&p, &eps, tlp.requester, ste, attr, ats);
            let tr = engine.route(&s, tlp);
            check_trace(&p, &eps, &tr)?;
            prop_assert_eq!(&tr, &again.route(&s, tlp));
        }
        // A burst from the first requester: merges never exceed the gathering granule.
        let first = make_tlp(&p, &eps, &tlps[0]);
        let burst: Vec<Tlp> = (0..8u64)
            .map(|i| Tlp { addr: first.addr.wrapping_add(i * u64::from(first.payload)), ..first })
            .collect();
        let s = stream(&p, &eps, first.requester, ste, attr, ats);
        let bt = engine.route_burst(&s, &burst);
        prop_assert_eq!(bt.traces.len(), burst.len());
        for tr in &bt.traces {
            check_trace(&p, &eps, tr)?;
        }
        for m in &bt.merges {
            prop_assert!(m.count >= 2 && m.bytes <= spec.write_merge);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Issue 7: the compiled path (flow cache, summary-only traces) and the hop-by-hop
    /// reference give the same end, memory type, StreamID and summary for every TLP,
    /// and leave the TLBs with the same counters. Each TLP is followed by three more of
    /// its page, so the cache serves most of them.
    #[test]
    fn the_flow_cache_agrees_with_the_reference_router(
        spec in spec(),
        tlps in proptest::collection::vec(tlp_spec(), 1..10),
        ste in any::<u8>(),
        attr in any::<u8>(),
        ats in any::<bool>(),
    ) {
        let (p, eps) = build(&spec);
        let topo = Topology::new(&p);
        let mut reference = Engine::new(&topo);
        let mut cached = reference.fork();
        prop_assert!(cached.flow_cache_enabled(), "1 MiB BARs: every boundary page aligned");
        let mut summary = Trace::summary_only();
        for t in &tlps {
            let first = make_tlp(&p, &eps, t);
            let s = stream(&p, &eps, first.requester, ste, attr, ats);
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
            }
        }
        prop_assert_eq!(cached.tlb_stats(), reference.tlb_stats());
        // Bursts too: the same merges and ends with and without hops.
        let first = make_tlp(&p, &eps, &tlps[0]);
        let burst: Vec<Tlp> = (0..8u64)
            .map(|i| Tlp { addr: first.addr.wrapping_add(i * u64::from(first.payload)), ..first })
            .collect();
        let s = stream(&p, &eps, first.requester, ste, attr, ats);
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
