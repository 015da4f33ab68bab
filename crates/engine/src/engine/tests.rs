//! Routing tests (H1–H7, C3) on small platforms built with `PlatformBuilder`.
//!
//! Every fixture uses `pcie_bus_config: tune-off` and explicit ACS `ctl` so that the
//! expected routes depend only on the engine, not on the derivations of K4/K5.

use super::*;
use crate::pagetable::{IoPageTable, MemAttr, Prot};
use crate::types::{BurstTrace, MergedBurst, Ste};
use crate::AcsReader;
use peerpath_model::{
    IommuId, IommuKind, Iova, PcieBusConfig, PhysAddr, Platform, PlatformBuilder, TdispState,
    Translation,
};

const GPU_BAR: u64 = 0x40_0000_0000;
const NIC0_BAR: u64 = 0x40_1000_0000;
const NIC1_BAR: u64 = 0x40_2000_0000;
const DRAM: u64 = 0x8000_0000;

/// hb0 ─ rp0 ─ sw0 ─ dp0 ─ gpu0
///            │     └ dp1 ─ nic0
///            └ rp1 ─ nic1
/// All MPS 256 (tune-off), no ACS, no IOMMU, DRAM at 2 GiB.
struct Fx {
    b: PlatformBuilder,
    hb: NodeId,
    rp0: NodeId,
    rp1: NodeId,
    dp0: NodeId,
    dp1: NodeId,
    gpu: NodeId,
    nic0: NodeId,
    nic1: NodeId,
}

fn fixture() -> Fx {
    let mut b = PlatformBuilder::new("fx");
    b.kernel().pcie_bus_config = PcieBusConfig::TuneOff;
    b.memory("dram0", DRAM, 0x1_0000_0000);
    let hb = b.host_bridge("hb0", 0, GPU_BAR, 0x10_0000_0000);
    let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
    let (sw, dps) = b.switch("sw0", rp0, "01:00.0", &["02:00.0", "02:01.0"], 512);
    let gpu = b.endpoint("gpu0", dps[0], "03:00.0", GPU_BAR, 0x1000_0000);
    let nic0 = b.endpoint("nic0", dps[1], "04:00.0", NIC0_BAR, 0x10_0000);
    let rp1 = b.root_port("rp1", hb, "00:02.0", 512);
    let nic1 = b.endpoint("nic1", rp1, "05:00.0", NIC1_BAR, 0x10_0000);
    for port in [rp0, sw, dps[0], dps[1], rp1] {
        b.port_mut(port).mps = 256;
    }
    for ep in [gpu, nic0, nic1] {
        b.endpoint_mut(ep).mps = 256;
    }
    Fx {
        b,
        hb,
        rp0,
        rp1,
        dp0: dps[0],
        dp1: dps[1],
        gpu,
        nic0,
        nic1,
    }
}

impl Fx {
    /// Gives every switch downstream port and root port this measured ACS Control.
    fn acs_everywhere(&mut self, ctl: AcsFlags) {
        for port in [self.dp0, self.dp1, self.rp0, self.rp1] {
            self.b.acs(port, AcsFlags::all(), Some(ctl));
        }
    }

    /// An SMMU behind hb0 with the given translation placement; external-tbu gets a
    /// TBU (8 entries, 2 ways) per root port.
    fn smmu(&mut self, translation: Translation) -> IommuId {
        let smmu = self.b.iommu("smmu0", IommuKind::Smmuv3);
        self.b.iommu_mut(smmu).ats = true;
        self.b.host_bridge_mut(self.hb).iommu = Some(smmu);
        self.b.host_bridge_mut(self.hb).translation = translation;
        if translation == Translation::ExternalTbu {
            let t0 = self.b.tbu(smmu, "tbu0", 8, 2);
            let t1 = self.b.tbu(smmu, "tbu1", 8, 2);
            self.b.port_mut(self.rp0).tbu = Some(t0);
            self.b.port_mut(self.rp1).tbu = Some(t1);
        }
        smmu
    }
}

fn setup(requester: NodeId, ste: Ste) -> StreamSetup {
    StreamSetup {
        requester,
        ste,
        ats_enabled: false,
    }
}

/// A paging STE mapping `iova` → `pa` for `size` bytes.
fn paging(maps: &[(u64, u64, u64, MemAttr)]) -> Ste {
    let mut t = IoPageTable::new();
    for (iova, pa, size, attr) in maps {
        t.map(Iova(*iova), PhysAddr(*pa), *size, Prot::rw(*attr))
            .expect("test mapping");
    }
    Ste::Translate(t)
}

/// "place event" per hop.
fn path(p: &Platform, tr: &Trace) -> Vec<String> {
    tr.hops
        .iter()
        .map(|h| format!("{} {}", h.at.name(p), h.event))
        .collect()
}

fn route(p: &Platform, s: &StreamSetup, tlp: Tlp) -> Trace {
    let topo = Topology::new(p);
    let mut e = Engine::new(&topo);
    e.route(s, tlp)
}

fn delivered(target: NodeId, offset: u64) -> End {
    End::Delivered {
        target,
        bar: 0,
        offset,
        tdisp: None,
    }
}

#[test]
fn without_acs_a_peer_write_stays_in_the_switch() {
    let f = fixture();
    let (nic0, gpu, dp0) = (f.nic0, f.gpu, f.dp0);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::write(nic0, GPU_BAR + 0x1000, 256),
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(tr.hops[1].why, Why::SwitchPeer { egress: dp0 });
    assert_eq!(tr.end, delivered(gpu, 0x1000));
    assert!(!tr.translated());
}

#[test]
fn acs_redirect_at_a_switch_downstream_port_sends_a_peer_write_to_the_root_complex() {
    // Identity domain: the importer uses the peer's address, which decodes to a
    // sibling port, so RR redirects it.
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::Integrated);
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::Bypass),
        Tlp::write(nic0, GPU_BAR + 0x40, 256),
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 redirect",
            "sw0 forward",
            "rp0 redirect",
            "hb0 forward",
            "interconnect forward",
            "hb0 forward",
            "rp0 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(tr.hops[1].why, Why::AcsRedirect { bit: AcsFlags::RR });
    assert_eq!(tr.hops[3].why, Why::AcsUpstreamForwarding);
    assert_eq!(
        tr.hops[4].why,
        Why::StreamBypass {
            sid: StreamId(0x0400)
        }
    );
    assert_eq!(tr.end, delivered(gpu, 0x40));
    assert_eq!(tr.attr, None);
}

#[test]
fn an_iova_is_no_peer_address_and_goes_upstream_by_decode() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::Integrated);
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let ste = paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]);
    let tr = route(&p, &setup(nic0, ste), Tlp::write(nic0, 0x1000_0040, 256));
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 forward",
            "sw0 forward",
            "rp0 forward",
            "hb0 translate",
            "interconnect forward",
            "hb0 forward",
            "rp0 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(tr.hops[1].why, Why::NotBelow);
    assert_eq!(tr.hops[4].tlp.addr, GPU_BAR + 0x40);
    assert_eq!(tr.end, delivered(gpu, 0x40));
    assert_eq!(tr.attr, Some(MemAttr::Device));
}

#[test]
fn a_redirected_bus_address_is_looked_up_as_an_iova_and_faults() {
    // bus-addr mapping (K1.10) meeting an ACS redirect: the bypass-mismatch case.
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::Integrated);
    let nic0 = f.nic0;
    let p = f.b.build();
    let tr = route(&p, &setup(nic0, paging(&[])), Tlp::write(nic0, GPU_BAR, 64));
    assert_eq!(tr.end, End::Fault(Fault::Unmapped { iova: GPU_BAR }));
    assert_eq!(path(&p, &tr).last().map(String::as_str), Some("hb0 fault"));
    // The bus address lies below rp0 itself: UF sends it on up.
    assert_eq!(tr.hops[3].why, Why::AcsUpstreamForwarding);
}

#[test]
fn root_port_without_uf_turns_a_redirected_request_back_down() {
    let mut f = fixture();
    f.b.acs(f.dp1, AcsFlags::all(), Some(AcsFlags::REQ));
    f.b.acs(f.rp0, AcsFlags::all(), Some(AcsFlags::SV | AcsFlags::RR));
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::write(nic0, GPU_BAR, 64),
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 redirect",
            "sw0 forward",
            "rp0 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(tr.hops[3].why, Why::TurnBack);
    assert_eq!(tr.end, delivered(gpu, 0));
}

#[test]
fn dt_routes_translated_requests_directly_despite_rr() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ | AcsFlags::DT);
    f.smmu(Translation::Integrated);
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let s = setup(nic0, paging(&[]));
    let tlp = Tlp::write(nic0, GPU_BAR, 64).with_at(At::Translated);
    let tr = route(&p, &s, tlp);
    assert_eq!(tr.hops[1].why, Why::AcsDirectTranslated);
    assert_eq!(tr.end, delivered(gpu, 0));
    assert!(!path(&p, &tr).iter().any(|h| h.starts_with("hb0")));
    // Without DT the same TLP is redirected, and the SMMU refuses it: EATS=0.
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::Integrated);
    let p = f.b.build();
    let tr = route(&p, &s, tlp);
    assert_eq!(tr.hops[1].event, Event::Redirect);
    assert_eq!(tr.end, End::Fault(Fault::AtsNotEnabled));
}

#[test]
fn ec_without_rr_is_an_acs_violation() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::SV | AcsFlags::EC);
    let (nic0, dp1) = (f.nic0, f.dp1);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::write(nic0, GPU_BAR, 64),
    );
    assert_eq!(
        tr.end,
        End::Fault(Fault::AcsViolation {
            port: dp1,
            bit: AcsFlags::EC
        })
    );
    assert_eq!(path(&p, &tr), ["nic0 issue", "sw0.dp1 fault"]);
    // The kernel's mainline reading (what-if) would have redirected it instead.
    let topo = Topology::new(&p);
    let mut e = Engine::with_acs_reader(
        &topo,
        AcsReader::P2pdma(peerpath_model::AcsDecision::Mainline),
    );
    let tr = e.route(&setup(nic0, Ste::NoIommu), Tlp::write(nic0, GPU_BAR, 64));
    assert_eq!(tr.hops[1].why, Why::AcsRedirect { bit: AcsFlags::EC });
}

#[test]
fn tb_blocks_translated_requests_going_upstream() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ | AcsFlags::TB);
    let (nic0, dp1) = (f.nic0, f.dp1);
    let p = f.b.build();
    let tlp = Tlp::write(nic0, DRAM, 64).with_at(At::Translated);
    let tr = route(&p, &setup(nic0, Ste::NoIommu), tlp);
    assert_eq!(
        tr.end,
        End::Fault(Fault::AcsViolation {
            port: dp1,
            bit: AcsFlags::TB
        })
    );
    // Untranslated traffic passes.
    let tr = route(&p, &setup(nic0, Ste::NoIommu), Tlp::write(nic0, DRAM, 64));
    assert_eq!(
        tr.end,
        End::Dram {
            region: 0,
            addr: DRAM
        }
    );
}

#[test]
fn external_tbu_loops_same_root_port_p2p_back_through_the_interconnect() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::ExternalTbu);
    let (nic0, gpu, rp0) = (f.nic0, f.gpu, f.rp0);
    let p = f.b.build();
    let ste = paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]);
    let topo = Topology::new(&p);
    let mut e = Engine::new(&topo);
    let tr = e.route(
        &setup(nic0, ste.clone()),
        Tlp::write(nic0, 0x1000_0000, 128),
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 forward",
            "sw0 forward",
            "rp0 forward",
            "tbu0 translate",
            "interconnect forward",
            "hb0 forward",
            "rp0 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(
        tr.hops[5].why,
        Why::HostBridgeWindow {
            host_bridge: NodeId(0),
            bus_offset: 0
        }
    );
    assert_eq!(tr.end, delivered(gpu, 0));
    assert_eq!(tr.sid, Some(StreamId(0x0400)));
    // The root port appears on the way up and again on the way down.
    assert_eq!(
        tr.hops.iter().filter(|h| h.at == Place::Pci(rp0)).count(),
        2
    );
}

#[test]
fn tbu_tlb_counts_hits_and_misses() {
    let mut f = fixture();
    f.smmu(Translation::ExternalTbu);
    let nic1 = f.nic1;
    let p = f.b.build();
    let topo = Topology::new(&p);
    let mut e = Engine::new(&topo);
    let s = setup(
        nic1,
        paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]),
    );
    for page in [0u64, 0, 1, 0, 2] {
        let tr = e.route(&s, Tlp::write(nic1, 0x1000_0000 + page * 0x1000, 64));
        assert!(matches!(tr.end, End::Delivered { .. }), "{tr:?}");
    }
    let stats = e.tlb_stats();
    let tbu1 = stats
        .iter()
        .find(|(id, _)| matches!(id, TlbId::Tbu(t) if t.index == 1))
        .map(|(_, s)| *s);
    assert_eq!(
        tbu1,
        Some(TlbStats {
            hits: 2,
            misses: 3,
            evictions: 0
        })
    );
    // The TLB of rp0's TBU saw nothing.
    assert_eq!(stats[0].1, TlbStats::default());
    // A changed table never hits the stale entries.
    let s2 = setup(
        nic1,
        paging(&[(0x1000_0000, GPU_BAR + 0x2000, 0x1000, MemAttr::Device)]),
    );
    let tr = e.route(&s2, Tlp::write(nic1, 0x1000_0000, 64));
    assert_eq!(
        tr.hops[2].why,
        Why::TlbMiss {
            sid: StreamId(0x0500)
        }
    );
    assert_eq!(tr.end, delivered(f_gpu(&p), 0x2000));
}

fn f_gpu(p: &Platform) -> NodeId {
    p.node_by_name("gpu0").expect("gpu0")
}

#[test]
fn tlb_evicts_least_recently_used_way_through_the_engine() {
    // 8 entries, 2 ways: 4 sets; sid 0x500 ^ page picks the set, so pages 0, 4, 8
    // share a set.
    let mut f = fixture();
    f.smmu(Translation::ExternalTbu);
    let nic1 = f.nic1;
    let p = f.b.build();
    let topo = Topology::new(&p);
    let mut e = Engine::new(&topo);
    let s = setup(nic1, paging(&[(0, GPU_BAR, 0x10_0000, MemAttr::Device)]));
    let mut hit = |page: u64| {
        let tr = e.route(&s, Tlp::write(nic1, page * 0x1000, 64));
        matches!(tr.hops[2].why, Why::TlbHit { .. })
    };
    assert!(!hit(0));
    assert!(!hit(4));
    assert!(hit(0)); // 4 is now least recently used
    assert!(!hit(8)); // evicts 4
    assert!(hit(0));
    assert!(hit(8));
    assert!(!hit(4));
}

#[test]
fn forwards_p2p_none_refuses_even_same_root_port_loopback() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::ExternalTbu);
    f.b.host_bridge_mut(f.hb).forwards_p2p = ForwardsP2p::None;
    let (nic0, rp0, hb) = (f.nic0, f.rp0, f.hb);
    let p = f.b.build();
    let ste = paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]);
    let tr = route(&p, &setup(nic0, ste), Tlp::write(nic0, 0x1000_0000, 128));
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::RcNoForward {
            from_root_port: Some(rp0),
            to_root_port: Some(rp0),
            from_hb: hb,
            to_hb: hb
        })
    );
    assert_eq!(path(&p, &tr).last().map(String::as_str), Some("hb0 drop"));
    // DRAM is still reachable.
    let ste = paging(&[(0x1000_0000, DRAM, 0x1000, MemAttr::NormalWb)]);
    let tr = route(&p, &setup(nic0, ste), Tlp::write(nic0, 0x1000_0000, 128));
    assert!(matches!(tr.end, End::Dram { .. }));
}

#[test]
fn same_host_bridge_forwarding_refuses_cross_host_bridge_p2p() {
    let mut f = fixture();
    let hb1 = f.b.host_bridge("hb1", 1, 0x50_0000_0000, 0x1_0000_0000);
    let rp2 = f.b.root_port("rp2", hb1, "0001:00:01.0", 256);
    let nic2 =
        f.b.endpoint("nic2", rp2, "0001:01:00.0", 0x50_0000_0000, 0x1000);
    f.b.port_mut(rp2).mps = 256;
    f.b.endpoint_mut(nic2).mps = 256;
    let (nic1, rp1, hb0) = (f.nic1, f.rp1, f.hb);
    let p = f.b.build();
    let s = setup(nic1, Ste::NoIommu);
    let tr = route(&p, &s, Tlp::write(nic1, 0x50_0000_0000, 64));
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::RcNoForward {
            from_root_port: Some(rp1),
            to_root_port: Some(rp2),
            from_hb: hb0,
            to_hb: hb1
        })
    );
    // Within the host bridge it forwards.
    let tr = route(&p, &s, Tlp::write(nic1, GPU_BAR, 64));
    assert_eq!(tr.end, delivered(f_gpu(&p), 0));
    assert!(path(&p, &tr).contains(&"hb0 forward".to_owned()));
    assert_eq!(tr.hops[2].why, Why::RootComplexInternal);
}

#[test]
fn an_address_outside_every_window_is_an_unsupported_request() {
    let f = fixture();
    let nic1 = f.nic1;
    let p = f.b.build();
    let tr = route(&p, &setup(nic1, Ste::NoIommu), Tlp::write(nic1, 0x1000, 64));
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::UnsupportedRequest { addr: 0x1000 })
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic1 issue",
            "rp1 forward",
            "hb0 forward",
            "interconnect drop"
        ]
    );
    // Inside a host bridge window but in no BAR.
    let tr = route(
        &p,
        &setup(nic1, Ste::NoIommu),
        Tlp::write(nic1, 0x4f_0000_0000, 64),
    );
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::UnsupportedRequest {
            addr: 0x4f_0000_0000
        })
    );
}

#[test]
fn a_dram_address_reaches_dram() {
    let mut f = fixture();
    f.smmu(Translation::Integrated);
    let nic1 = f.nic1;
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic1, Ste::Bypass),
        Tlp::read(nic1, DRAM + 0x40, 64),
    );
    assert_eq!(
        tr.end,
        End::Dram {
            region: 0,
            addr: DRAM + 0x40
        }
    );
    assert_eq!(
        tr.hops[2].why,
        Why::StreamBypass {
            sid: StreamId(0x0500)
        }
    );
    assert_eq!(
        path(&p, &tr),
        [
            "nic1 issue",
            "rp1 forward",
            "hb0 forward",
            "interconnect forward",
            "dram0 deliver"
        ]
    );
}

#[test]
fn mps_exceeded_is_malformed_at_the_first_receiver_with_a_smaller_mps() {
    let mut f = fixture();
    f.b.port_mut(f.dp0).mps = 128;
    let (nic0, dp0) = (f.nic0, f.dp0);
    let p = f.b.build();
    let s = setup(nic0, Ste::NoIommu);
    let tr = route(&p, &s, Tlp::write(nic0, GPU_BAR, 256));
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::MalformedTlp {
            link_at: dp0,
            payload: 256,
            mps: 128
        })
    );
    assert_eq!(
        path(&p, &tr).last().map(String::as_str),
        Some("sw0.dp0 drop")
    );
    // Reads are bounded by MRRS, not MPS.
    let tr = route(&p, &s, Tlp::read(nic0, GPU_BAR, 256));
    assert_eq!(tr.end, delivered(f_gpu(&p), 0));
}

/// nic1 writes 8 × 256 B to gpu0's BAR through rp1's TBU and back down rp0 (MPS 256).
fn merge_burst(attr: MemAttr, splits: bool) -> (Platform, BurstTrace) {
    let mut f = fixture();
    f.smmu(Translation::ExternalTbu);
    f.b.platform_mut().interconnect.write_merge_bytes = 512;
    f.b.port_mut(f.rp0).splits_oversized_writes = splits;
    let nic1 = f.nic1;
    let p = f.b.build();
    let s = setup(nic1, paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, attr)]));
    let tlps: Vec<Tlp> = (0..8)
        .map(|i| Tlp::write(nic1, 0x1000_0000 + i * 256, 256))
        .collect();
    let bt = {
        let topo = Topology::new(&p);
        let mut e = Engine::new(&topo);
        e.route_burst(&s, &tlps)
    };
    (p, bt)
}

#[test]
fn write_merge_of_normal_memory_exceeds_the_target_root_port_mps() {
    let (p, bt) = merge_burst(MemAttr::NormalWb, false);
    let rp0 = p.node_by_name("rp0").expect("rp0");
    assert_eq!(bt.merges.len(), 4);
    assert_eq!(
        bt.merges[0],
        MergedBurst {
            first: 0,
            count: 2,
            bytes: 512,
            addr: GPU_BAR,
            target_root_port: Some(rp0)
        }
    );
    assert_eq!(
        bt.traces[0].end,
        End::Dropped(DropReason::MalformedTlp {
            link_at: rp0,
            payload: 512,
            mps: 256
        })
    );
    assert_eq!(bt.traces[1].end, End::Merged { into: 0 });
    assert_eq!(
        path(&p, &bt.traces[0]),
        [
            "nic1 issue",
            "rp1 forward",
            "tbu1 translate",
            "interconnect merge",
            "interconnect forward",
            "hb0 forward",
            "rp0 drop"
        ]
    );
    assert_eq!(
        bt.traces[1].hops.last().map(|h| h.why),
        Some(Why::Merged {
            count: 2,
            bytes: 512
        })
    );
    // Non-cacheable Normal merges too.
    let (_, bt) = merge_burst(MemAttr::NormalNc, false);
    assert_eq!(bt.merges.len(), 4);
}

#[test]
fn write_merge_is_split_by_a_splitting_root_port_and_never_happens_for_device_memory() {
    let (p, bt) = merge_burst(MemAttr::NormalWb, true);
    let gpu = f_gpu(&p);
    assert_eq!(bt.traces[2].end, delivered(gpu, 512));
    assert!(bt.traces[2]
        .hops
        .iter()
        .any(|h| h.why == Why::SplitOversized { chunk: 256 }));
    let (_, bt) = merge_burst(MemAttr::Device, false);
    assert!(bt.merges.is_empty());
    for (i, tr) in bt.traces.iter().enumerate() {
        assert_eq!(tr.end, delivered(gpu, i as u64 * 256));
    }
}

#[test]
fn no_iommu_mapping_means_no_memory_type_and_no_merge() {
    let mut f = fixture();
    f.b.platform_mut().interconnect.write_merge_bytes = 512;
    let nic1 = f.nic1;
    let p = f.b.build();
    let tlps: Vec<Tlp> = (0..4)
        .map(|i| Tlp::write(nic1, GPU_BAR + i * 256, 256))
        .collect();
    let topo = Topology::new(&p);
    let mut e = Engine::new(&topo);
    let bt = e.route_burst(&setup(nic1, Ste::NoIommu), &tlps);
    assert!(bt.merges.is_empty());
    assert!(bt
        .traces
        .iter()
        .all(|t| matches!(t.end, End::Delivered { .. })));
}

#[test]
fn ats_translation_request_then_translated_request_routes_directly_with_dt() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ | AcsFlags::DT);
    f.smmu(Translation::DtiAts);
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let mut s = setup(
        nic0,
        paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]),
    );
    s.ats_enabled = true;
    let tlp = Tlp::write(nic0, 0x1000_0080, 64).with_at(At::TranslationRequest);
    let tr = route(&p, &s, tlp);
    assert_eq!(
        path(&p, &tr),
        [
            "nic0 issue",
            "sw0.dp1 forward",
            "sw0 forward",
            "rp0 forward",
            "smmu0 translate",
            "nic0 issue",
            "sw0.dp1 forward",
            "sw0 forward",
            "sw0.dp0 forward",
            "gpu0 deliver"
        ]
    );
    assert_eq!(tr.hops[4].tlp.at, At::Translated);
    assert_eq!(tr.hops[4].tlp.addr, GPU_BAR + 0x80);
    assert_eq!(tr.hops[5].why, Why::AtsReissue);
    assert_eq!(tr.end, delivered(gpu, 0x80));
    // Bypass (identity) STE: EATS=0, the translation request faults.
    s.ste = Ste::Bypass;
    assert_eq!(route(&p, &s, tlp).end, End::Fault(Fault::AtsNotEnabled));
    // Without ATS enabled by the kernel, too.
    s.ste = paging(&[(0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::Device)]);
    s.ats_enabled = false;
    assert_eq!(route(&p, &s, tlp).end, End::Fault(Fault::AtsNotEnabled));
}

#[test]
fn translated_request_through_the_root_complex_passes_with_eats() {
    let mut f = fixture();
    f.smmu(Translation::Integrated);
    let (nic1, gpu) = (f.nic1, f.gpu);
    let p = f.b.build();
    let mut s = setup(nic1, paging(&[]));
    s.ats_enabled = true;
    let tlp = Tlp::write(nic1, GPU_BAR, 64).with_at(At::Translated);
    let tr = route(&p, &s, tlp);
    assert_eq!(tr.end, delivered(gpu, 0));
    assert_eq!(
        tr.hops[2].why,
        Why::TranslatedPassThrough {
            sid: StreamId(0x0500)
        }
    );
    // No merge source: ATS-translated traffic has no page-table memory type.
    assert_eq!(tr.attr, None);
}

#[test]
fn stream_faults_abort_unattached_unmapped_permission_and_no_stream_id() {
    let mut f = fixture();
    f.smmu(Translation::Integrated);
    let nic1 = f.nic1;
    let p = f.b.build();
    let w = Tlp::write(nic1, 0x1000_0000, 64);
    let sid = Some(StreamId(0x0500));
    assert_eq!(
        route(&p, &setup(nic1, Ste::Abort), w).end,
        End::Fault(Fault::StreamAbort { sid })
    );
    // Unattached + disable_bypass (default) aborts.
    assert_eq!(
        route(&p, &setup(nic1, Ste::NoIommu), w).end,
        End::Fault(Fault::StreamAbort { sid })
    );
    let mut ro = IoPageTable::new();
    ro.map(
        Iova(0x1000_0000),
        PhysAddr(DRAM),
        0x1000,
        Prot {
            read: true,
            write: false,
            attr: MemAttr::NormalWb,
        },
    )
    .expect("map");
    let s = setup(nic1, Ste::Translate(ro));
    assert_eq!(
        route(&p, &s, w).end,
        End::Fault(Fault::Permission {
            iova: 0x1000_0000,
            op: Op::Write
        })
    );
    assert!(matches!(
        route(&p, &s, Tlp::read(nic1, 0x1000_0000, 64)).end,
        End::Dram { .. }
    ));
    assert_eq!(
        route(&p, &s, Tlp::read(nic1, 0x2000_0000, 64)).end,
        End::Fault(Fault::Unmapped { iova: 0x2000_0000 })
    );
    // Without disable_bypass an unattached stream bypasses.
    let mut f = fixture();
    let smmu2 = f.smmu(Translation::Integrated);
    f.b.iommu_mut(smmu2).disable_bypass = false;
    f.b.iommu_mut(smmu2).stream_map = vec![peerpath_model::StreamMapEntry {
        rid_base: 0x0500,
        sid_base: 0x20,
        length: 1,
    }];
    let (nic0, nic1b) = (f.nic0, f.nic1);
    let p2 = f.b.build();
    let tr = route(
        &p2,
        &setup(nic1b, Ste::NoIommu),
        Tlp::write(nic1b, DRAM, 64),
    );
    assert_eq!(
        tr.hops[2].why,
        Why::StreamBypass {
            sid: StreamId(0x20)
        }
    );
    // nic0 (RID 0x0400) is outside the stream map.
    let tr = route(&p2, &setup(nic0, Ste::Bypass), Tlp::write(nic0, DRAM, 64));
    assert_eq!(tr.end, End::Fault(Fault::NoStreamId { rid: 0x0400 }));
}

#[test]
fn the_host_bridge_map_comes_before_the_iommus_issue_22() {
    // The IOMMU's map would give nic1 (RID 0x0500) StreamID 0x20; its host bridge's own
    // map gives 0x1_0500, and the routed TLP carries it.
    let mut f = fixture();
    let smmu = f.smmu(Translation::Integrated);
    f.b.iommu_mut(smmu).disable_bypass = false;
    f.b.iommu_mut(smmu).stream_map = vec![peerpath_model::StreamMapEntry {
        rid_base: 0x0500,
        sid_base: 0x20,
        length: 1,
    }];
    f.b.host_bridge_mut(f.hb).stream_map = vec![peerpath_model::StreamMapEntry {
        rid_base: 0,
        sid_base: 0x1_0000,
        length: 0x1_0000,
    }];
    let nic1 = f.nic1;
    let p = f.b.build();
    let tr = route(&p, &setup(nic1, Ste::NoIommu), Tlp::write(nic1, DRAM, 64));
    assert_eq!(
        tr.hops[2].why,
        Why::StreamBypass {
            sid: StreamId(0x1_0500)
        }
    );
    assert_eq!(tr.sid, Some(StreamId(0x1_0500)));
}

#[test]
fn tdisp_error_rejects_and_other_states_are_reported() {
    let mut f = fixture();
    f.b.endpoint_mut(f.gpu).cc = Some(peerpath_model::DeviceCc {
        state: peerpath_model::CcState::Private,
        tdisp: TdispState::Error,
    });
    f.b.endpoint_mut(f.nic1).cc = Some(peerpath_model::DeviceCc {
        state: peerpath_model::CcState::Private,
        tdisp: TdispState::Run,
    });
    let (nic0, gpu, nic1) = (f.nic0, f.gpu, f.nic1);
    let p = f.b.build();
    let s = setup(nic0, Ste::NoIommu);
    assert_eq!(
        route(&p, &s, Tlp::write(nic0, GPU_BAR, 64)).end,
        End::Fault(Fault::TdispRejected { target: gpu })
    );
    // C3 on the wire: RUN serves its TEE MMIO only to T=1 requests.
    let tr = route(&p, &s, Tlp::write(nic0, NIC1_BAR, 64));
    assert_eq!(
        tr.end,
        End::Fault(Fault::TdispRefused {
            target: nic1,
            tdisp: TdispState::Run,
            t: false
        })
    );
    let tr = route(&p, &s, Tlp::write(nic0, NIC1_BAR, 64).with_t(true));
    assert_eq!(
        tr.end,
        End::Delivered {
            target: nic1,
            bar: 0,
            offset: 0,
            tdisp: Some(TdispState::Run)
        }
    );
}

/// C3: CONFIG_UNLOCKED and CONFIG_LOCKED refuse T=1 requests and serve T=0 ones; a
/// device without TDISP state ignores the bit.
#[test]
fn a_tdi_not_in_run_refuses_t1_requests() {
    for tdisp in [TdispState::Unlocked, TdispState::Locked] {
        let mut f = fixture();
        f.b.endpoint_mut(f.nic1).cc = Some(peerpath_model::DeviceCc {
            state: peerpath_model::CcState::Private,
            tdisp,
        });
        let (nic0, nic1) = (f.nic0, f.nic1);
        let p = f.b.build();
        let s = setup(nic0, Ste::NoIommu);
        let t1 = route(&p, &s, Tlp::write(nic0, NIC1_BAR, 64).with_t(true));
        assert_eq!(
            t1.end,
            End::Fault(Fault::TdispRefused {
                target: nic1,
                tdisp,
                t: true
            })
        );
        let t0 = route(&p, &s, Tlp::write(nic0, NIC1_BAR, 64));
        assert!(matches!(t0.end, End::Delivered { target, .. } if target == nic1));
    }
    let f = fixture();
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let s = setup(nic0, Ste::NoIommu);
    let tr = route(&p, &s, Tlp::write(nic0, GPU_BAR, 64).with_t(true));
    assert!(matches!(tr.end, End::Delivered { target, tdisp: None, .. } if target == gpu));
}

#[test]
fn host_bridge_bus_offset_is_applied_on_the_way_down() {
    // CPU 0x40_0000_0000 appears on the bus at 0x8_0000_0000.
    let mut b = PlatformBuilder::new("offset");
    b.kernel().pcie_bus_config = PcieBusConfig::TuneOff;
    let hb = b.host_bridge("hb0", 0, GPU_BAR, 0x1_0000_0000);
    b.host_bridge_mut(hb).windows[0].bus = peerpath_model::BusAddr(0x8_0000_0000);
    let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
    b.host_bridge_mut(hb).iommu = Some(smmu);
    let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
    let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
    let gpu = b.endpoint("gpu0", rp0, "01:00.0", GPU_BAR, 0x1000_0000);
    let nic = b.endpoint("nic0", rp1, "02:00.0", NIC0_BAR, 0x1000);
    for n in [rp0, rp1] {
        b.port_mut(n).mps = 256;
    }
    let p = b.build();
    // The IOMMU maps to the CPU physical address of the BAR.
    let s = setup(nic, paging(&[(0x1000, GPU_BAR, 0x1000, MemAttr::Device)]));
    let tr = route(&p, &s, Tlp::write(nic, 0x1010, 64));
    assert_eq!(tr.end, delivered(gpu, 0x10));
    let down = tr
        .hops
        .iter()
        .find(|h| h.at == Place::Pci(hb) && h.event == Event::Forward)
        .map(|h| h.tlp.addr);
    assert_eq!(down, Some(0x8_0000_0010));
    // Identity (bypass) with a bus address: looked up as a CPU address, decodes to
    // nothing — the regime mismatch.
    let tr = route(
        &p,
        &setup(nic, Ste::Bypass),
        Tlp::write(nic, 0x8_0000_0010, 64),
    );
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::UnsupportedRequest {
            addr: 0x8_0000_0010
        })
    );
}

#[test]
fn pci_bridge_devices_use_the_bridge_rid_and_route_up() {
    let mut f = fixture();
    let br = f.b.pci_bridge("br0", f.rp1, "07:00.0");
    let legacy =
        f.b.endpoint("legacy", br, "08:00.0", NIC1_BAR + 0x10_0000, 0x1000);
    f.smmu(Translation::Integrated);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(legacy, Ste::Bypass),
        Tlp::write(legacy, DRAM, 64),
    );
    assert_eq!(tr.sid, Some(StreamId(0x0700)));
    assert!(matches!(tr.end, End::Dram { .. }));
}

#[test]
fn routing_is_deterministic() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::REQ);
    f.smmu(Translation::ExternalTbu);
    f.b.platform_mut().interconnect.write_merge_bytes = 512;
    let (nic0, nic1) = (f.nic0, f.nic1);
    let p = f.b.build();
    let ste = paging(&[
        (0x1000_0000, GPU_BAR, 0x10_0000, MemAttr::NormalWb),
        (0x2000_0000, DRAM, 0x10_0000, MemAttr::NormalWb),
    ]);
    let run = || {
        let topo = Topology::new(&p);
        let mut e = Engine::new(&topo);
        let mut out = Vec::new();
        for req in [nic0, nic1] {
            let s = setup(req, ste.clone());
            let tlps: Vec<Tlp> = (0..16)
                .map(|i| Tlp::write(req, 0x1000_0000 + (i % 5) * 0x100, 256))
                .chain([Tlp::read(req, 0x2000_0000, 64), Tlp::write(req, 0x30, 4)])
                .collect();
            out.push(e.route_burst(&s, &tlps));
        }
        (out, e.tlb_stats())
    };
    assert_eq!(run(), run());
}

/// Property 6 of issue 8 found it: a conventional PCI device has no MPS. Its write to
/// a peer on the same PCI bus never becomes a TLP; one going upstream leaves the
/// PCIe-to-PCI bridge as TLPs of the bridge's MPS, not as a malformed TLP.
#[test]
fn conventional_pci_writes_are_packetized_at_the_bridge() {
    let mut f = fixture();
    let br = f.b.pci_bridge("br0", f.rp1, "06:00.0");
    let dev0 =
        f.b.endpoint("dev0", br, "07:00.0", NIC1_BAR + 0x10_0000, 0x1000);
    let dev1 =
        f.b.endpoint("dev1", br, "07:01.0", NIC1_BAR + 0x20_0000, 0x1000);
    f.b.endpoint_mut(dev0).mps = 512;
    f.b.endpoint_mut(dev1).mps = 512;
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let s = setup(dev1, Ste::NoIommu);
    let tr = route(&p, &s, Tlp::write(dev1, NIC1_BAR + 0x10_0000, 512));
    assert_eq!(tr.end, delivered(dev0, 0));
    assert_eq!(path(&p, &tr), ["dev1 issue", "br0 forward", "dev0 deliver"]);
    let tr = route(&p, &s, Tlp::write(dev1, GPU_BAR, 512));
    assert_eq!(tr.end, delivered(gpu, 0));
    let mps = Topology::new(&p).mps(br);
    assert!(mps < 512);
    let split = tr
        .hops
        .iter()
        .find(|h| h.at == Place::Pci(br))
        .expect("bridge hop");
    assert_eq!(split.why, Why::SplitOversized { chunk: mps });
    assert_eq!(split.tlp.payload, mps);
    // A PCIe device's oversized TLP is still malformed.
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::write(nic0, NIC1_BAR, 512),
    );
    assert!(matches!(
        tr.end,
        End::Dropped(DropReason::MalformedTlp { .. })
    ));
}

/// "place event" per completion hop.
fn cpl_path(p: &Platform, tr: &Trace) -> Vec<String> {
    tr.completion_hops
        .iter()
        .map(|h| format!("{} {}", h.at.name(p), h.event))
        .collect()
}

#[test]
fn a_read_through_a_switch_completes_across_it_with_cr_clear() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::empty());
    let (nic0, gpu) = (f.nic0, f.gpu);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::read(nic0, GPU_BAR, 256),
    );
    assert_eq!(tr.end, delivered(gpu, 0));
    let c = tr.completion.expect("a delivered read completes");
    assert_eq!(c.end, CplEnd::Returned);
    assert_eq!(
        (c.completer, c.redirected_at, c.root_complex),
        (gpu, None, None)
    );
    assert_eq!(
        cpl_path(&p, &tr),
        [
            "gpu0 issue",
            "sw0.dp0 forward",
            "sw0 forward",
            "sw0.dp1 forward",
            "nic0 deliver"
        ]
    );
    assert_eq!(c.hops as usize, tr.completion_hops.len());
    // A write has no completion.
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::write(nic0, GPU_BAR, 256),
    );
    assert_eq!(tr.completion, None);
}

#[test]
fn cr_redirects_the_completion_to_the_root_complex_which_may_not_forward_reads() {
    let mut f = fixture();
    // CR (and UF at the root ports): the read request crosses the switch, its
    // completion goes up to the root complex.
    f.acs_everywhere(AcsFlags::CR | AcsFlags::UF);
    let (nic0, gpu, dp0, rp0, hb) = (f.nic0, f.gpu, f.dp0, f.rp0, f.hb);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::read(nic0, GPU_BAR, 256),
    );
    assert_eq!(tr.end, delivered(gpu, 0));
    let c = tr.completion.expect("completion");
    assert_eq!(c.end, CplEnd::Returned);
    assert_eq!((c.redirected_at, c.root_complex), (Some(dp0), Some(hb)));
    assert_eq!(
        cpl_path(&p, &tr),
        [
            "gpu0 issue",
            "sw0.dp0 redirect",
            "sw0 forward",
            "rp0 redirect",
            "hb0 forward",
            "rp0 forward",
            "sw0 forward",
            "sw0.dp1 forward",
            "nic0 deliver"
        ]
    );
    // The same with a root complex that forwards writes but not reads.
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::CR | AcsFlags::UF);
    f.b.host_bridge_mut(f.hb).forwards_p2p_reads = Some(ForwardsP2p::None);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::read(nic0, GPU_BAR, 256),
    );
    assert_eq!(
        tr.end,
        delivered(gpu, 0),
        "the request itself never met the root complex"
    );
    let c = tr.completion.expect("completion");
    assert_eq!(
        c.end,
        CplEnd::Dropped(DropReason::RcNoForward {
            from_root_port: Some(rp0),
            to_root_port: Some(rp0),
            from_hb: hb,
            to_hb: hb
        })
    );
    assert_eq!(
        cpl_path(&p, &tr).last().map(String::as_str),
        Some("hb0 drop")
    );
    assert!(matches!(
        tr.completion_hops.last().map(|h| h.why),
        Some(Why::RcNoForwardRead {
            forwards: ForwardsP2p::None
        })
    ));
    // Without UF the root port turns the redirected completion back itself.
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::CR);
    f.b.host_bridge_mut(f.hb).forwards_p2p_reads = Some(ForwardsP2p::None);
    let p = f.b.build();
    let tr = route(
        &p,
        &setup(nic0, Ste::NoIommu),
        Tlp::read(nic0, GPU_BAR, 256),
    );
    let c = tr.completion.expect("completion");
    assert_eq!((c.end, c.root_complex), (CplEnd::Returned, None));
}

#[test]
fn a_root_complex_that_forwards_writes_but_not_reads_drops_the_read_request() {
    let mut f = fixture();
    f.b.host_bridge_mut(f.hb).forwards_p2p_reads = Some(ForwardsP2p::None);
    let (nic1, rp0, rp1, hb, gpu) = (f.nic1, f.rp0, f.rp1, f.hb, f.gpu);
    let p = f.b.build();
    let s = setup(nic1, Ste::NoIommu);
    let tr = route(&p, &s, Tlp::write(nic1, GPU_BAR, 64));
    assert_eq!(tr.end, delivered(gpu, 0), "writes are forwarded");
    let tr = route(&p, &s, Tlp::read(nic1, GPU_BAR, 64));
    assert_eq!(
        tr.end,
        End::Dropped(DropReason::RcNoForward {
            from_root_port: Some(rp1),
            to_root_port: Some(rp0),
            from_hb: hb,
            to_hb: hb
        })
    );
    assert_eq!(tr.completion, None);
    assert!(matches!(
        tr.hops.last().map(|h| h.why),
        Some(Why::RcNoForwardRead {
            forwards: ForwardsP2p::None
        })
    ));
    // Forwarded, the completion comes back through the root complex by ID.
    let mut f = fixture();
    f.b.host_bridge_mut(f.hb).forwards_p2p_reads = Some(ForwardsP2p::SameHostBridge);
    let p = f.b.build();
    let tr = route(&p, &s, Tlp::read(nic1, GPU_BAR, 64));
    let c = tr.completion.expect("completion");
    assert_eq!((c.end, c.root_complex), (CplEnd::Returned, Some(hb)));
    assert_eq!(
        cpl_path(&p, &tr),
        [
            "gpu0 issue",
            "sw0.dp0 forward",
            "sw0 forward",
            "rp0 forward",
            "hb0 forward",
            "rp1 forward",
            "nic1 deliver"
        ]
    );
}

#[test]
fn the_flow_cache_keeps_the_completion() {
    let mut f = fixture();
    f.acs_everywhere(AcsFlags::CR);
    f.b.host_bridge_mut(f.hb).forwards_p2p_reads = Some(ForwardsP2p::None);
    let nic0 = f.nic0;
    let p = f.b.build();
    let topo = Topology::new(&p);
    let mut e = Engine::new(&topo);
    let s = setup(nic0, Ste::NoIommu);
    let reference = e.route(&s, Tlp::read(nic0, GPU_BAR + 0x40, 64));
    let mut t = Trace::summary_only();
    for addr in [GPU_BAR, GPU_BAR + 0x40] {
        e.route_into(&s, Tlp::read(nic0, addr, 64), &mut t);
        assert_eq!(t.completion, reference.completion);
    }
}
