//! Small platforms for the unit tests (test-only).

use peerpath_model::{
    GpaPlacement, Guest, GuestLayout, IommuKind, NodeId, Platform, PlatformBuilder, Via, Viommu,
    Vm, VmDevice, VmmBackend, DEFAULT_MMIO64_BASE, Q35_HOST_BRIDGE,
};

/// 1 MiB.
pub(crate) const MIB: u64 = 1 << 20;

/// hb0 (window 0x40_0000_0000, 64 GiB, no IOMMU) → rp0 (00:01.0, MPSS 512) → switch
/// sw0 (01:00.0; sw0.dp0 02:00.0, sw0.dp1 02:01.0, MPSS 512) → gpu0 (03:00.0, BAR 0 at
/// 0x40_0000_0000, 256 MiB) and nic0 (04:00.0, BAR 0 at 0x40_1000_0000, 1 MiB);
/// export `gpu0-bar0` (vfio-dmabuf) imported by nic0. DRAM 0x8000_0000, 16 GiB.
/// `f` customises the builder before `build`.
pub(crate) fn switch_pair(f: impl FnOnce(&mut PlatformBuilder)) -> Platform {
    let mut b = PlatformBuilder::new("switch-pair");
    b.memory("dram0", 0x8000_0000, 16 << 30);
    let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
    let rp = b.root_port("rp0", hb, "00:01.0", 512);
    let (_, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0", "02:01.0"], 512);
    let gpu = b.endpoint("gpu0", dps[0], "03:00.0", 0x40_0000_0000, 256 * MIB);
    let nic = b.endpoint("nic0", dps[1], "04:00.0", 0x40_1000_0000, MIB);
    let e = b.export("gpu0-bar0", gpu, 0, Via::VfioDmabuf);
    b.import(nic, e);
    f(&mut b);
    b.build()
}

/// Adds an IOMMU of `kind` to every host bridge of the builder's platform.
pub(crate) fn add_iommu(b: &mut PlatformBuilder, kind: IommuKind) {
    let iommu = b.iommu("iommu0", kind);
    let hbs: Vec<_> = b
        .platform_mut()
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.parent.is_none())
        .map(|(i, _)| peerpath_model::NodeId(i as u32))
        .collect();
    for hb in hbs {
        b.host_bridge_mut(hb).iommu = Some(iommu);
    }
}

/// Two Intel host bridges: hb0 (id 8086:`id0`) with rp0 → gpu0 and rp1 → nic0; hb1
/// (id 8086:`id1`) with rp2 → nic1. `gpu0-bar0` is imported by nic0 and nic1.
pub(crate) fn two_host_bridges(id0: u16, id1: u16) -> Platform {
    two_host_bridges_with(id0, id1, |_| {})
}

/// `two_host_bridges`, customised by `f` before `build`.
pub(crate) fn two_host_bridges_with(
    id0: u16,
    id1: u16,
    f: impl FnOnce(&mut PlatformBuilder),
) -> Platform {
    let mut b = PlatformBuilder::new("two-host-bridges");
    b.kernel().arch = peerpath_model::Arch::X86_64;
    b.kernel().cpu.vendor = peerpath_model::CpuVendor::Intel;
    b.memory("dram0", 0x8000_0000, 16 << 30);
    let hb0 = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
    b.host_bridge_id(hb0, 0x8086, id0);
    let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
    b.host_bridge_id(hb1, 0x8086, id1);
    let rp0 = b.root_port("rp0", hb0, "00:01.0", 256);
    let rp1 = b.root_port("rp1", hb0, "00:02.0", 256);
    let rp2 = b.root_port("rp2", hb1, "0001:00:01.0", 256);
    let gpu = b.endpoint("gpu0", rp0, "01:00.0", 0x40_0000_0000, 256 * MIB);
    let nic0 = b.endpoint("nic0", rp1, "02:00.0", 0x40_1000_0000, MIB);
    let nic1 = b.endpoint("nic1", rp2, "0001:01:00.0", 0x50_0000_0000, MIB);
    let e = b.export("gpu0-bar0", gpu, 0, Via::VfioDmabuf);
    b.import(nic0, e);
    b.import(nic1, e);
    f(&mut b);
    b.build()
}

/// Evaluates `p` and returns the pairing `importer` ← `export`.
pub(crate) fn pair_result(p: &Platform, importer: &str, export: &str) -> crate::PairResult {
    let topo = peerpath_topology::Topology::new(p);
    match crate::evaluate_pair(&topo, importer, export) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// The (code, subject) of every finding of one pairing, in output order.
pub(crate) fn findings_of(
    p: &Platform,
    importer: &str,
    export: &str,
) -> Vec<(&'static str, String)> {
    pair_result(p, importer, export)
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.subject.clone()))
        .collect()
}

/// The node named `name` while building.
pub(crate) fn node(b: &mut PlatformBuilder, name: &str) -> peerpath_model::NodeId {
    match b.platform_mut().node_by_name(name) {
        Some(n) => n,
        None => panic!("no node {name}"),
    }
}

/// VM `vm0` (vfio-type1, no vIOMMU, BARs placed as the VMM does, a q35 guest with a
/// root port per device) with `devices` assigned.
pub(crate) fn vm(devices: &[NodeId]) -> Vm {
    Vm {
        name: "vm0".into(),
        backend: VmmBackend::VfioType1,
        map_bars: None,
        viommu: Viommu::None,
        gpa: GpaPlacement::Vmm,
        mmio64_base: DEFAULT_MMIO64_BASE,
        devices: devices
            .iter()
            .map(|d| VmDevice {
                device: *d,
                ats: None,
                bars: Vec::new(),
            })
            .collect(),
        guest: Guest {
            host_bridge: Q35_HOST_BRIDGE,
            layout: GuestLayout::RootPorts,
            acs: true,
            release: None,
            version: None,
            cpu: None,
        },
    }
}
