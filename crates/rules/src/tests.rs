//! End-to-end tests of `evaluate`: the cases of the issue that started the project,
//! each on a minimal `PlatformBuilder` platform, plus a property test.

use peerpath_model::{
    AcsFlags, Arch, AtsUse, CcKind, CcState, CpuVendor, DeviceCc, DomainType, Driver, ForwardsP2p,
    IommuKind, NodeId, Op, PcieBusConfig, Platform, PlatformBuilder, TdispState, Traffic,
    Translation, Via,
};
use peerpath_topology::Topology;

use crate::testplat::{self, MIB};
use crate::{evaluate, evaluate_pair, Attr, DmaPath, MapType, Outcome, PairResult, Report};

fn eval(p: &Platform) -> Report {
    evaluate(&Topology::new(p))
}

fn pair<'r>(r: &'r Report, importer: &str, export: &str) -> &'r PairResult {
    r.pairs
        .iter()
        .find(|x| x.importer == importer && x.export == export)
        .unwrap_or_else(|| panic!("no pairing {importer} -> {export}"))
}

/// A recorded hop as names: (place, event, TLP).
#[derive(Debug)]
struct H {
    at: String,
    event: &'static str,
    tlp: peerpath_engine::Tlp,
}

fn hops(p: &Platform, x: &PairResult) -> Vec<H> {
    x.route()
        .iter()
        .map(|h| H {
            at: h.at.name(p).to_owned(),
            event: h.event.as_str(),
            tlp: h.tlp,
        })
        .collect()
}

fn codes(pr: &PairResult) -> Vec<&'static str> {
    pr.findings.iter().map(|f| f.code.as_str()).collect()
}

fn id(b: &mut PlatformBuilder, name: &str) -> NodeId {
    b.platform_mut()
        .node_by_name(name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn amd_zen(b: &mut PlatformBuilder) {
    b.kernel().arch = Arch::X86_64;
    b.kernel().cpu.vendor = CpuVendor::Amd;
    b.kernel().cpu.family = Some(0x19);
}

/// ACS capability SV|RR|CR|UF (control derived by the kernel) on the root port and both
/// downstream ports of `switch_pair`.
fn acs_everywhere(b: &mut PlatformBuilder) {
    for n in ["rp0", "sw0.dp0", "sw0.dp1"] {
        let n = id(b, n);
        b.acs(n, AcsFlags::REQ, None);
    }
}

// (1) Two endpoints on sibling downstream ports, no IOMMU: bus-addr, distance 4, and
// the route turns in the switch without reaching the root complex.
#[test]
fn issue_1_sibling_dsps_without_iommu_are_bus_addr_and_turn_in_the_switch() {
    let p = testplat::switch_pair(|_| {});
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::BusAddr);
    assert_eq!(x.kernel.distance, Some(4));
    assert_eq!(x.kernel.dma_path, DmaPath::BusAddress);
    assert_eq!(x.kernel.dma_address.map(|a| a.0), Some(0x40_0000_0000));
    let rt = hops(&p, x);
    let at: Vec<&str> = rt.iter().map(|h| h.at.as_str()).collect();
    assert_eq!(at, ["nic0", "sw0.dp1", "sw0", "sw0.dp0", "gpu0"], "{rt:#?}");
    assert_eq!(rt.last().map(|h| h.event), Some("deliver"));
    assert!(!at.contains(&"rp0") && !at.contains(&"hb0"));
    assert_eq!(x.outcome, Outcome::Works, "{:#?}", x.findings);
}

// (2) The same switch behind an IOMMU on Arm: the kernel enables ACS redirect, so P2P
// must go through the host bridge, which Arm does not allow.
#[test]
fn issue_2_iommu_on_arm_enables_redirect_and_refuses_p2p() {
    let p = testplat::switch_pair(|b| {
        testplat::add_iommu(b, IommuKind::Smmuv3);
        acs_everywhere(b);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::NotSupported);
    assert_eq!(x.kernel.distance, Some(4));
    assert_eq!(x.kernel.dma_path, DmaPath::None);
    assert_eq!(x.outcome, Outcome::Fails);
    assert!(codes(x).contains(&"p2p-not-supported"), "{:?}", codes(x));
    let redirect = x
        .findings
        .iter()
        .find(|f| f.code.as_str() == "acs-redirect")
        .expect("acs-redirect");
    assert_eq!(redirect.subject, "sw0.dp0");
    assert_eq!(
        redirect.evidence["hint"],
        "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"
    );
    assert!(redirect
        .fix
        .as_deref()
        .is_some_and(|f| f.contains("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0")));
}

// (3) The same on AMD Zen: thru-host-bridge by the CPU rule, iommu-dma, an IOVA below
// 4 GiB mapped as MMIO; the hardware redirects, translates and loops back.
#[test]
fn issue_3_amd_zen_maps_an_mmio_iova_through_the_host_bridge() {
    let p = testplat::switch_pair(|b| {
        testplat::add_iommu(b, IommuKind::AmdVi);
        acs_everywhere(b);
        amd_zen(b);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(x.kernel.dma_path, DmaPath::IommuDma);
    assert_eq!(x.kernel.attrs, [Attr::Mmio]);
    // 256 MiB, size-aligned, top-down below 4 GiB, skipping the interrupt range.
    assert_eq!(x.kernel.dma_address.map(|a| a.0), Some(0xe000_0000));
    let rt = hops(&p, x);
    let events: Vec<&str> = rt.iter().map(|h| h.event).collect();
    // The IOVA lies in no peer window: the switch sends it up by address decode, the
    // IOMMU translates it, and the root complex turns it back down rp0.
    assert!(events.contains(&"translate"), "{events:?}");
    assert!(rt.iter().any(|h| h.at == "hb0"), "{rt:#?}");
    assert_eq!(rt.last().map(|h| h.at.as_str()), Some("gpu0"));
    assert_eq!(x.outcome, Outcome::Works, "{:#?}", x.findings);
}

// (5) Two root ports of one 8086:2f00 host bridge: thru-host-bridge; across two such
// host bridges: not-supported (the entry is same-host-bridge only).
#[test]
fn issue_5_same_host_bridge_allow_list_entry() {
    let p = testplat::two_host_bridges(0x2f00, 0x2f00);
    let r = eval(&p);
    let same = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(same.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(same.kernel.distance, None);
    assert_eq!(same.kernel.dma_path, DmaPath::DmaDirect);
    assert_eq!(same.outcome, Outcome::Works, "{:#?}", same.findings);
    let across = pair(&r, "nic1", "gpu0-bar0");
    assert_eq!(across.kernel.map_type, MapType::NotSupported);
    let f = &across.findings[0];
    assert_eq!(f.code.as_str(), "p2p-not-supported");
    assert_eq!(f.subject, "hb1");
    assert_eq!(f.evidence["common_upstream"], serde_json::Value::Null);
    assert_eq!(f.evidence["allow_listed"], false);
}

/// Arm, one SMMUv3 with two TBUs, one allow-listed host bridge (NVIDIA Grace 0x2f95)
/// whose root ports send upstream traffic to an external TBU each; gpu0 below rp0, nic0
/// below rp1, MPS 256 throughout, interconnect gathering 512 bytes.
fn external_tbu(via: Via) -> Platform {
    let mut b = PlatformBuilder::new("external-tbu");
    b.memory("dram0", 0x8000_0000, 16 << 30);
    let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
    let tbu0 = b.tbu(smmu, "tbu0", 2048, 4);
    let tbu1 = b.tbu(smmu, "tbu1", 2048, 4);
    let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
    b.host_bridge_id(hb, 0x10de, 0x2f95);
    b.host_bridge_mut(hb).iommu = Some(smmu);
    b.host_bridge_mut(hb).translation = Translation::ExternalTbu;
    b.platform_mut().interconnect.write_merge_bytes = 512;
    let rp0 = b.root_port("rp0", hb, "00:01.0", 256);
    let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
    for (rp, tbu) in [(rp0, tbu0), (rp1, tbu1)] {
        b.port_mut(rp).tbu = Some(tbu);
        b.port_mut(rp).mps = 256;
    }
    let gpu = b.endpoint("gpu0", rp0, "01:00.0", 0x40_0000_0000, 256 * MIB);
    let nic = b.endpoint("nic0", rp1, "02:00.0", 0x40_1000_0000, MIB);
    for ep in [gpu, nic] {
        b.endpoint_mut(ep).mps = 256;
    }
    let e = b.export("gpu0-bar0", gpu, 0, via);
    b.import(nic, e);
    b.build()
}

// (7) External TBU, allow-listed host bridge, P2P pages, coherent importer: the BAR is
// mapped Normal write-back, the interconnect merges 256-byte writes into 512-byte
// bursts, which the target root port (MPS 256) cannot take. vfio-dmabuf maps it as
// Device memory: nothing merges.
#[test]
fn issue_7_p2p_pages_merge_writes_beyond_the_target_root_port_mps() {
    let p = external_tbu(Via::P2pdmaPages);
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(x.kernel.dma_path, DmaPath::IommuDma);
    assert_eq!(x.kernel.attrs, [Attr::Cache]);
    let merge = x
        .findings
        .iter()
        .find(|f| f.code.as_str() == "mps-write-merge")
        .unwrap_or_else(|| panic!("{:#?}", x.findings));
    assert_eq!(merge.subject, "rp0");
    assert_eq!(merge.evidence["burst_bytes"], 512);
    assert_eq!(x.outcome, Outcome::Fails);

    let q = external_tbu(Via::VfioDmabuf);
    let r = eval(&q);
    let y = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(y.kernel.attrs, [Attr::Mmio]);
    assert!(!codes(y).contains(&"mps-write-merge"), "{:?}", codes(y));
    let rt = hops(&q, y);
    let at: Vec<&str> = rt.iter().map(|h| h.at.as_str()).collect();
    assert!(at.contains(&"tbu1"), "{at:?}");
    assert_eq!(y.outcome, Outcome::Works, "{:#?}", y.findings);
}

// (7, variant) A root port that splits oversized writes takes the burst.
#[test]
fn splitting_root_port_takes_the_merged_burst() {
    let mut p = external_tbu(Via::P2pdmaPages);
    let rp0 = p.node_by_name("rp0").expect("rp0");
    if let peerpath_model::NodeKind::RootPort(port) = &mut p.nodes[rp0.index()].kind {
        port.splits_oversized_writes = true;
    }
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert!(!codes(x).contains(&"mps-write-merge"), "{:#?}", x.findings);
}

// (8) An identity-domain importer with a 32-bit mask and a BAR above 4 GiB: dma-direct
// hands it the physical address, which dma_capable rejects.
#[test]
fn issue_8_identity_importer_with_32_bit_mask_hits_dma_mask() {
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        testplat::add_iommu(b, IommuKind::Vtd);
        let nic = id(b, "nic0");
        b.endpoint_mut(nic).dma_mask_bits = 32;
        b.domain("nic0-pt", DomainType::Identity, &[nic]);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(x.kernel.dma_path, DmaPath::DmaDirect);
    assert_eq!(x.kernel.dma_address, None);
    assert_eq!(codes(x), ["dma-mask"]);
    assert_eq!(x.findings[0].subject, "nic0");
    assert_eq!(x.findings[0].evidence["limit"], "0xffffffff");
}

// (9) swiotlb=force: the dma-direct MMIO mapping fails, while a bus-addr pairing
// (no DMA API) works.
#[test]
fn issue_9_swiotlb_force_fails_dma_direct_but_not_bus_addr() {
    let p = testplat::switch_pair(|b| {
        b.kernel().swiotlb_force = true;
        b.kernel().arch = Arch::X86_64;
        b.kernel().cpu.vendor = CpuVendor::Intel;
        let hb = id(b, "hb0");
        b.host_bridge_id(hb, 0x8086, 0x2f00);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
        let nic1 = b.endpoint("nic1", rp1, "05:00.0", 0x40_2000_0000, MIB);
        b.import(nic1, peerpath_model::ExportId(0));
    });
    let r = eval(&p);
    let bus = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(bus.kernel.map_type, MapType::BusAddr);
    assert_eq!(bus.outcome, Outcome::Works, "{:#?}", bus.findings);
    let direct = pair(&r, "nic1", "gpu0-bar0");
    assert_eq!(direct.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(direct.kernel.dma_path, DmaPath::DmaDirect);
    assert_eq!(codes(direct), ["swiotlb-forced"]);
}

// (10) An Arm CCA realm: dma-direct fails (swiotlb forced), a bus-addr mapping lacks the
// shared alias, and a shared importer must not touch a locked TDI.
#[test]
fn issue_10_cca_realm() {
    let p = testplat::switch_pair(|b| {
        b.kernel().cc = CcKind::ArmCcaRealm;
        b.kernel().ipa_bits = 48;
        let hb = id(b, "hb0");
        b.host_bridge_id(hb, 0x1ae0, 0x0001);
        let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
        let nic1 = b.endpoint("nic1", rp1, "05:00.0", 0x40_2000_0000, MIB);
        b.import(nic1, peerpath_model::ExportId(0));
    });
    let r = eval(&p);
    let bus = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(bus.kernel.map_type, MapType::BusAddr);
    assert_eq!(codes(bus), ["cc-alias"]);
    assert_eq!(bus.findings[0].subject, "nic0");
    assert_eq!(
        bus.findings[0].evidence["shared_alias_bit"],
        "0x800000000000"
    );
    let direct = pair(&r, "nic1", "gpu0-bar0");
    assert_eq!(codes(direct), ["cc-swiotlb-forced"]);

    let mut q = p.clone();
    let gpu = q.node_by_name("gpu0").expect("gpu0");
    if let peerpath_model::NodeKind::Endpoint(e) = &mut q.nodes[gpu.index()].kind {
        e.cc = Some(DeviceCc {
            state: CcState::Private,
            tdisp: TdispState::Run,
        });
    }
    let r = eval(&q);
    let bus = pair(&r, "nic0", "gpu0-bar0");
    let subjects: Vec<(&str, &str)> = bus
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.subject.as_str()))
        .collect();
    assert!(subjects.contains(&("cc-alias", "gpu0")), "{subjects:?}");
    assert!(subjects.contains(&("tdisp-error", "gpu0")), "{subjects:?}");
}

/// Arm, SMMUv3 with ATS behind a DTI-ATS root complex (allow-listed Google host bridge);
/// nic0 and gpu0 with ATS below one switch whose downstream ports have RR and DT set.
fn ats_switch(f: impl FnOnce(&mut PlatformBuilder)) -> Platform {
    testplat::switch_pair(|b| {
        testplat::add_iommu(b, IommuKind::Smmuv3);
        let smmu = peerpath_model::IommuId(0);
        b.iommu_mut(smmu).ats = true;
        let hb = id(b, "hb0");
        b.host_bridge_id(hb, 0x1ae0, 0x0001);
        b.host_bridge_mut(hb).translation = Translation::DtiAts;
        let rp = id(b, "rp0");
        b.acs(rp, AcsFlags::REQ, None);
        let rr_dt = AcsFlags::REQ | AcsFlags::DT;
        for dp in ["sw0.dp0", "sw0.dp1"] {
            let dp = id(b, dp);
            b.acs(dp, rr_dt, Some(rr_dt));
        }
        for ep in ["gpu0", "nic0"] {
            let ep = id(b, ep);
            b.endpoint_mut(ep).ats = true;
        }
        f(b);
    })
}

// (11) ATS with RR and DT: the kernel says thru-host-bridge (it ignores ATS and DT),
// while the translated requests route directly in the switch. An identity importer
// forced to use ATS gets `ats-identity`.
#[test]
fn issue_11_ats_translated_requests_route_directly_with_dt() {
    let p = ats_switch(|_| {});
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(x.kernel.dma_path, DmaPath::IommuDma);
    assert!(x.detail.setup.ats_enabled);
    let rt = hops(&p, x);
    let reissue = rt
        .iter()
        .rposition(|h| h.event == "issue")
        .expect("re-issue");
    assert!(reissue > 0, "{rt:#?}");
    let after: Vec<&str> = rt[reissue..].iter().map(|h| h.at.as_str()).collect();
    assert_eq!(
        after,
        ["nic0", "sw0.dp1", "sw0", "sw0.dp0", "gpu0"],
        "{rt:#?}"
    );
    assert!(rt[reissue..]
        .iter()
        .all(|h| h.tlp.at == peerpath_engine::At::Translated));
    assert_eq!(x.outcome, Outcome::Works, "{:#?}", x.findings);

    let q = ats_switch(|b| {
        let nic = id(b, "nic0");
        b.domain("nic0-pt", DomainType::Identity, &[nic]);
        let e = peerpath_model::ExportId(0);
        b.platform_mut().traffic.push(Traffic {
            importer: nic,
            export: e,
            op: Op::Write,
            bytes: 4096,
            payload: None,
            pattern: peerpath_model::Pattern::Sequential,
            ats: AtsUse::On,
        });
    });
    let r = eval(&q);
    let y = pair(&r, "nic0", "gpu0-bar0");
    assert!(!y.detail.setup.ats_enabled);
    assert!(codes(y).contains(&"ats-identity"), "{:?}", codes(y));
    assert!(codes(y).contains(&"bypass-mismatch"), "{:?}", codes(y));
}

fn perf_mps(config: PcieBusConfig) -> Platform {
    testplat::switch_pair(|b| {
        b.kernel().pcie_bus_config = config;
        let nic = id(b, "nic0");
        b.endpoint_mut(nic).mpss = 512;
        let gpu = id(b, "gpu0");
        b.endpoint_mut(gpu).mpss = 256;
    })
}

// (12) `pcie_bus_config=perf`: nic0 writes 512-byte TLPs that gpu0 (MPS 256) drops;
// `peer2peer` (128 everywhere) is safe.
#[test]
fn issue_12_perf_mps_exceeds_the_peer_and_peer2peer_does_not() {
    let p = perf_mps(PcieBusConfig::Perf);
    let topo = Topology::new(&p);
    let nic = p.node_by_name("nic0").expect("nic0");
    let gpu = p.node_by_name("gpu0").expect("gpu0");
    assert_eq!((topo.mps(nic), topo.mps(gpu)), (512, 256));
    let r = evaluate(&topo);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(codes(x), ["mps-exceeded"]);
    assert_eq!(x.findings[0].subject, "gpu0");
    assert_eq!(x.findings[0].evidence["payload"], 512);

    let q = perf_mps(PcieBusConfig::Peer2Peer);
    let r = eval(&q);
    let y = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(y.outcome, Outcome::Works, "{:#?}", y.findings);
}

// (13) AMD Zen allows P2P between root ports (CPU rule), but this root complex does not
// forward it.
#[test]
fn issue_13_rc_without_forwarding_drops_cross_root_port_p2p() {
    let p = testplat::two_host_bridges_with(0x1234, 0x1234, |b| {
        amd_zen(b);
        let hb = id(b, "hb0");
        b.host_bridge_mut(hb).forwards_p2p = ForwardsP2p::None;
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::ThruHostBridge);
    assert_eq!(codes(x), ["rc-no-forward"]);
    assert_eq!(x.findings[0].subject, "hb0");
    assert_eq!(hops(&p, x).last().map(|h| h.event), Some("drop"));
}

#[test]
fn attach_refused_maps_nothing_and_probes_the_route() {
    let mut p = testplat::switch_pair(|_| {});
    p.imports[0].allow_peer2peer = false;
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.dma_path, DmaPath::None);
    assert_eq!(codes(x), ["dmabuf-attach-refused"]);
    assert!(x.detail.probe);
    assert_eq!(hops(&p, x).last().map(|h| h.at.as_str()), Some("gpu0"));
}

#[test]
fn vfio_noiommu_on_either_side_is_unsupported() {
    let p = testplat::switch_pair(|b| {
        let gpu = id(b, "gpu0");
        b.endpoint_mut(gpu).driver = Driver::VfioNoiommu;
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(codes(x), ["noiommu-unsupported"]);
    assert_eq!(x.findings[0].subject, "gpu0");
}

/// Issue 22: a root complex that forwards writes and not reads drops the read request,
/// and the finding says it is a read; a write's evidence is as before.
#[test]
fn rc_no_forward_of_a_read_says_read() {
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        let hb0 = b.platform_mut().node_by_name("hb0").expect("hb0");
        b.host_bridge_mut(hb0).forwards_p2p_reads = Some(peerpath_model::ForwardsP2p::None);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(codes(x), ["rc-no-forward"]);
    let f = &x.findings[0];
    assert_eq!(f.evidence["op"], "read");
    assert_eq!(f.evidence["tlp"], "request");
    assert_eq!(f.evidence["forwards_p2p_reads"], "none");
    assert_eq!(f.evidence["forwards_p2p"], "same-host-bridge");
    assert!(f.message.contains("read request"), "{}", f.message);
    // The write of the same pairing was forwarded: its flow ended at the GPU.
    let write = &x.detail.flows[0];
    assert_eq!(write.flow.op, peerpath_model::Op::Write);
    assert!(write
        .traces
        .iter()
        .all(|t| matches!(t.end, peerpath_engine::End::Delivered { .. })));
    // A write the root complex refuses keeps the evidence it always had.
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        let hb0 = b.platform_mut().node_by_name("hb0").expect("hb0");
        b.host_bridge_mut(hb0).forwards_p2p = peerpath_model::ForwardsP2p::None;
    });
    let r = eval(&p);
    let f = &pair(&r, "nic0", "gpu0-bar0").findings[0];
    assert_eq!(f.code, peerpath_model::Code::RcNoForward);
    assert!(!f.evidence.contains_key("op") && !f.evidence.contains_key("tlp"));
}

#[test]
fn power_direct_window_sends_a_64_bit_importer_to_dma_direct() {
    use peerpath_model::{DirectWindow, DirectWindowKind};
    let with = |kind, bits: u8, limit: Option<u64>| {
        testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
            b.kernel().arch = Arch::Ppc64;
            testplat::add_iommu(b, IommuKind::Tce);
            let hb0 = b.platform_mut().node_by_name("hb0").expect("hb0");
            b.host_bridge_mut(hb0).direct_window = Some(DirectWindow {
                kind,
                base: 1 << 59,
                size: 64 << 30,
            });
            let nic0 = b.platform_mut().node_by_name("nic0").expect("nic0");
            b.endpoint_mut(nic0).dma_mask_bits = bits;
            b.endpoint_mut(nic0).bus_dma_limit = limit;
        })
    };
    let p = with(DirectWindowKind::PhbBypass, 64, None);
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.dma_path, DmaPath::DmaDirect);
    // dma-direct's MMIO address: the BAR's CPU address, not the window's base.
    assert_eq!(x.kernel.dma_address.map(|a| a.0), Some(0x40_0000_0000));
    // Up rp1 to the PHB, that raw address is no TCE and not in the window: a fault
    // (and the kernel's raw address meets a translating IOMMU: bypass-mismatch).
    assert_eq!(codes(x), ["bypass-mismatch", "iommu-fault"]);
    // A mask that ends just below the window's end, a bus_dma_limit, or a DDW without a
    // 64-bit mask: the TCE ops, no map_resource.
    for (kind, bits, limit) in [
        (DirectWindowKind::PhbBypass, 59, None),
        (DirectWindowKind::PhbBypass, 64, Some(u64::MAX >> 1)),
        (DirectWindowKind::Ddw, 63, None),
    ] {
        let p = with(kind, bits, limit);
        let r = eval(&p);
        let x = pair(&r, "nic0", "gpu0-bar0");
        assert_eq!(
            x.kernel.dma_path,
            DmaPath::ArchOps,
            "{kind} {bits} {limit:?}"
        );
        assert_eq!(codes(x), ["no-map-resource"]);
    }
    let p = with(DirectWindowKind::Ddw, 64, None);
    assert_eq!(
        pair(&eval(&p), "nic0", "gpu0-bar0").kernel.dma_path,
        DmaPath::DmaDirect
    );
    let p = with(DirectWindowKind::PhbBypass, 60, None);
    assert_eq!(
        pair(&eval(&p), "nic0", "gpu0-bar0").kernel.dma_path,
        DmaPath::DmaDirect
    );
}

#[test]
fn power_tce_has_no_map_resource() {
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        b.kernel().arch = Arch::Ppc64;
        testplat::add_iommu(b, IommuKind::Tce);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.dma_path, DmaPath::ArchOps);
    assert_eq!(codes(x), ["no-map-resource"]);
}

#[test]
fn blocked_domain_aborts_the_kernels_iova() {
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        testplat::add_iommu(b, IommuKind::Vtd);
        let nic = id(b, "nic0");
        b.domain("nic0-blocked", DomainType::Blocked, &[nic]);
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(
        x.kernel.dma_path,
        DmaPath::IommuDma,
        "the default domain maps"
    );
    assert_eq!(codes(x), ["iommu-fault"]);
    assert_eq!(x.findings[0].subject, "hb0");
    assert_eq!(x.findings[0].evidence["fault"], "stream-abort");
}

#[test]
fn vfio_importer_translates_with_a_table_the_kernel_never_filled() {
    // Default `dma`: the kernel's IOVA is unmapped in VFIO's unmanaged domain.
    let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
        testplat::add_iommu(b, IommuKind::Vtd);
        let nic = id(b, "nic0");
        b.endpoint_mut(nic).driver = Driver::VfioPci;
    });
    let r = eval(&p);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(codes(x), ["iommu-fault"]);
    assert_eq!(x.findings[0].evidence["domain"], "unmanaged");
    // Default `identity`: the kernel hands a raw PA, which the unmanaged domain looks
    // up as an IOVA.
    let mut q = p.clone();
    q.kernel.default_domain = DomainType::Identity;
    let r = eval(&q);
    let y = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(y.kernel.dma_path, DmaPath::DmaDirect);
    // The cause, and the fault the IOMMU logs for it (rules.md K2.4).
    assert_eq!(codes(y), ["bypass-mismatch", "iommu-fault"]);
    assert_eq!(y.findings[0].evidence["kernel_regime"], "raw-pa");
}

#[test]
fn bus_addr_below_an_iommu_reports_the_legacy_group_hole() {
    // No ACS on the downstream ports, ACS on the root port: the legacy algorithm gives
    // the two endpoints separate groups although they reach each other untranslated.
    let p = testplat::switch_pair(|b| {
        testplat::add_iommu(b, IommuKind::Smmuv3);
        let rp = id(b, "rp0");
        b.acs(rp, AcsFlags::REQ, None);
    });
    let topo = Topology::new(&p);
    let (nic, gpu) = (
        p.node_by_name("nic0").expect("nic0"),
        p.node_by_name("gpu0").expect("gpu0"),
    );
    assert_ne!(topo.groups().group_of(nic), topo.groups().group_of(gpu));
    let r = evaluate(&topo);
    let x = pair(&r, "nic0", "gpu0-bar0");
    assert_eq!(x.kernel.map_type, MapType::BusAddr);
    assert_eq!(codes(x), ["group-isolation-hole"], "{:#?}", x.findings);
    assert_eq!(x.findings[0].subject, "sw0");
    assert_eq!(x.outcome, Outcome::Degraded);

    // The reachable algorithm groups them together instead.
    let mut q = p.clone();
    q.kernel.group_algorithm = peerpath_model::GroupAlgorithm::Reachable;
    let r = eval(&q);
    assert_eq!(codes(pair(&r, "nic0", "gpu0-bar0")), ["iommu-group-shared"]);
}

#[test]
fn evaluate_pair_agrees_with_evaluate_and_reports_unknown_pairs() {
    let p = testplat::two_host_bridges(0x2f00, 0x2f00);
    let topo = Topology::new(&p);
    let r = evaluate(&topo);
    for x in &r.pairs {
        let y = evaluate_pair(&topo, &x.importer, &x.export).expect("known pair");
        assert_eq!(
            (&x.kernel, x.outcome, &x.findings, x.route()),
            (&y.kernel, y.outcome, &y.findings, y.route())
        );
    }
    let e = evaluate_pair(&topo, "nic0", "nope").expect_err("unknown");
    assert_eq!(e.valid_importers, ["nic0", "nic1"]);
    assert_eq!(e.valid_exports, ["gpu0-bar0"]);
}

mod proptests {
    //! Random platforms (the testkit generator): `evaluate` never panics, is deterministic, and each
    //! outcome agrees with its findings' severities.

    use super::*;
    use crate::finding::Severity;
    use proptest::prelude::*;

    proptest! {
        // 64 cases by default; PROPTEST_CASES overrides (ProptestConfig::default reads it).
        #![proptest_config(ProptestConfig {
            cases: if std::env::var_os("PROPTEST_CASES").is_some() {
                ProptestConfig::default().cases
            } else {
                64
            },
            .. ProptestConfig::default()
        })]

        #[test]
        fn evaluate_is_total_deterministic_and_consistent(case in peerpath_testkit::strategy::cases()) {
            let p = case.platform();
            let topo = Topology::new(&p);
            let a = evaluate(&topo);
            let b = evaluate(&Topology::new(&p));
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.pairs.len(), p.imports.len());
            for x in &a.pairs {
                let worst = x.findings.iter().map(|f| f.severity).min();
                let want = match worst {
                    Some(Severity::Error) => Outcome::Fails,
                    Some(Severity::Warning) => Outcome::Degraded,
                    _ => Outcome::Works,
                };
                prop_assert_eq!(x.outcome, want);
                let keys: Vec<_> = x.findings.iter()
                    .map(|f| (f.severity, f.code.as_str(), f.subject.clone()))
                    .collect();
                let mut sorted = keys.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(keys, sorted);
                if x.kernel.map_type == MapType::NotSupported {
                    prop_assert!(x.findings.iter().any(|f| f.code.as_str() == "p2p-not-supported"));
                }
                prop_assert_eq!(x.kernel.dma_address.is_some(), x.kernel.why.mapping.is_some());
            }
        }
    }
}
