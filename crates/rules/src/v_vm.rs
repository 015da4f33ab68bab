//! V1–V6 — P2P between devices assigned to one virtual machine (rules.md V; sources:
//! `drivers/vfio/vfio_iommu_type1.c`, `drivers/vfio/group.c`
//! (`vfio_group_viable`), `drivers/iommu/iommufd/` (`IOMMU_IOAS_MAP_FILE`), QEMU's
//! VFIO memory listener (`hw/vfio/listener.c`), QEMU's q35 and `virt` machines,
//! [PCIe §6.12] ACS, [SMMU] / VT-d nested translation).
//!
//! A pairing whose importer and exporter are assigned to the same VM is decided twice,
//! as it is on a real machine:
//!
//! - **The guest's kernel (V6)** applies K1–K3 to the guest's *virtual* platform
//!   ([`guest_platform_with`]): the VMM's host bridge (QEMU q35, 8086:29c0, on x86_64; the
//!   `virt` machine's generic host bridge 1b36:0008 elsewhere), its root ports or
//!   switch (`guest.layout`), the CPU the guest sees, the guest's release, a vIOMMU
//!   where `viommu` is not `none`, and the assigned devices with their BARs at guest
//!   physical addresses. Its map type and DMA address are what the importer is
//!   programmed with. The virtual ports carry QEMU's ACS capability (`guest.acs`);
//!   the guest kernel enables it only with a vIOMMU (K4.1).
//! - **The host's hardware** then routes that address (V3–V5): the guest's bus
//!   address or physical address is a GPA, and with a vIOMMU the guest's IOVA. The
//!   importer is bound to vfio-pci, so its host domain is the VM's unmanaged one,
//!   whose page table is the VM's I/O address space: it maps the exporter's BAR (GPA
//!   → HPA, or guest IOVA → HPA through both stages with a vIOMMU) only where the VMM
//!   maps BARs (V1: `map_bars`; vfio-type1 does, through QEMU's memory listener;
//!   iommufd only from a VFIO dma-buf with `IOMMU_IOAS_MAP_FILE`). An untranslated
//!   request is routed by the host switches on host bus addresses *before* anything
//!   translates it (V3): a GPA inside a sibling's window goes there
//!   (`guest-address-misroute`); with ACS RR it goes up and the IOMMU translates it;
//!   with ATS (V4) the device sends the translated HPA, which the switch routes
//!   directly.
//! - **Group viability (V2, `drivers/vfio/group.c`)**: every device of an assigned
//!   device's IOMMU group must be bound to vfio-pci (or be a bridge) and belong to no
//!   other VM, or VFIO refuses the group (`vfio-group-not-viable`).
//!
//! Where the guest sees the BARs (`gpa`): `vmm` places them as guest firmware does, in
//! the guest's 64-bit MMIO window from `mmio64_base` (default 512 GiB — an
//! assumption, stated in `explain`), each BAR naturally aligned, in the order of
//! `devices` and BAR index; `identity` puts them at their host addresses; explicit
//! `bars[].gpa` win. Not modelled: the guest's own ATS, guest RAM, PASID, and
//! overlapping explicit guest addresses (not checked).

use peerpath_engine::{Engine, IoPageTable, MemAttr, Ste, StreamSetup};
use peerpath_model::{
    Acs, AcsFlags, Arch, Bdf, BusAddr, DomainType, Driver, Endpoint, Export, GpaPlacement,
    GuestLayout, HostBridge, Import, Iommu, IommuId, IommuKind, Kernel, Node, NodeId, NodeKind,
    PhysAddr, PhysRange, Platform, Port, Switch, Translation, Viommu, Vm, VmmBackend, Window,
};
use peerpath_topology::Topology;

use crate::finding::{outcome_of, sort_and_dedup, Finding};
use crate::findings::{check_guest_kernel, check_vm_host, Cx};
use crate::k3_dma_path::export_phys;
use crate::k3_stream::{ats_enabled, attached_domain, map_whole_pages, stream_setup};
use crate::kernel::{decide, KernelDecision, KernelWhy, Mapping, Regime};
use crate::report::{PairDetail, PairResult, VmDetail};
use crate::routes::{trace, Routes};
use crate::traffic::{flows, probe_flow};

/// The VM both sides of a pairing are assigned to, if they are in one.
pub(crate) fn same_vm<'p>(p: &'p Platform, import: &Import) -> Option<&'p Vm> {
    let vm = p.vm_of(import.importer)?;
    vm.device(p.export(import.export).device).map(|_| vm)
}

/// Whether the VMM maps the assigned devices' BARs into the VM's I/O address space
/// (V1), and whether that is an assumption: vfio-type1 does (QEMU's memory listener
/// maps every RAM-device region of an assigned device); iommufd maps MMIO only from a
/// VFIO dma-buf passed to `IOMMU_IOAS_MAP_FILE`, taken as done where the host release
/// exports VFIO dma-bufs (`releases::Feature::VfioDmabuf`) — an assumption.
pub fn maps_bars(p: &Platform, vm: &Vm) -> (bool, bool) {
    match (vm.map_bars, vm.backend) {
        (Some(b), _) => (b, false),
        (None, VmmBackend::VfioType1) => (true, false),
        (None, VmmBackend::Iommufd) => (
            crate::releases::has(
                crate::releases::Feature::VfioDmabuf,
                p.kernel.release_version(),
            ),
            true,
        ),
    }
}

/// Where the guest sees each BAR of each assigned device: (device, BAR index, guest
/// range), in the order of `devices` and BAR index. A guest range is a guest physical
/// range: the guest platform's CPU physical space, hence a [`PhysRange`] there.
pub(crate) fn guest_bars(p: &Platform, vm: &Vm) -> Vec<(NodeId, u8, PhysRange)> {
    let mut out = Vec::new();
    let mut cursor = vm.mmio64_base;
    for d in &vm.devices {
        let NodeKind::Endpoint(e) = &p.node(d.device).kind else {
            continue;
        };
        for bar in &e.bars {
            let size = bar.range.end.0 - bar.range.start.0 + 1;
            let explicit = d.bars.iter().find(|(i, _)| *i == bar.index).map(|b| b.1);
            let start = match (explicit, vm.gpa) {
                (Some(g), _) => g,
                (None, GpaPlacement::Identity) => bar.range.start.0,
                (None, GpaPlacement::Vmm) => {
                    let align = size.next_power_of_two().max(peerpath_model::PAGE_SIZE);
                    let Some(at) = cursor.checked_next_multiple_of(align) else {
                        continue;
                    };
                    cursor = at.saturating_add(align);
                    at
                }
            };
            if let Some(r) = PhysRange::from_start_and_size(PhysAddr(start), size) {
                out.push((d.device, bar.index, r));
            }
        }
    }
    out
}

/// The guest's virtual platform (V6), and for each of its endpoints the host node it
/// is (guest node id → host node id, endpoints only).
#[cfg(test)]
pub(crate) fn guest_platform(p: &Platform, vm: &Vm) -> (Platform, Vec<(NodeId, NodeId)>) {
    guest_platform_with(p, vm, &guest_bars(p, vm))
}

/// The guest's virtual platform (V6) with the guest's BARs already placed
/// ([`guest_bars`]), and for each of its endpoints the host node it is.
fn guest_platform_with(
    p: &Platform,
    vm: &Vm,
    bars: &[(NodeId, u8, PhysRange)],
) -> (Platform, Vec<(NodeId, NodeId)>) {
    let viommu = vm.viommu != Viommu::None;
    let mut nodes = GuestNodes::default();
    let hb = nodes.push(
        format!("{}/host-bridge", vm.name),
        None,
        None,
        guest_host_bridge(vm, guest_window(vm, bars), viommu),
    );
    let (switches, parents) = guest_ports(&mut nodes, vm, hb);
    let map = guest_endpoints(&mut nodes, p, vm, bars, parents);
    let guest_of = |hid: NodeId| map.iter().find(|m| m.1 == hid).map(|m| m.0);
    let exports: Vec<Export> = p
        .exports
        .iter()
        .filter_map(|x| {
            Some(Export {
                device: guest_of(x.device)?,
                ..x.clone()
            })
        })
        .collect();
    let mut guest = Platform {
        name: format!("{}/guest", vm.name),
        description: None,
        kernel: guest_kernel(&p.kernel, &vm.guest),
        interconnect: p.interconnect.clone(),
        memory: Vec::new(),
        iommus: guest_iommus(vm, p.kernel.arch, viommu),
        nodes: nodes.0,
        switches,
        domains: Vec::new(),
        exports,
        imports: Vec::new(),
        traffic: Vec::new(),
        assumed: Vec::new(),
        vms: Vec::new(),
        ide_streams: None,
    };
    guest.imports = guest.default_imports();
    guest.sort_imports();
    (guest, map)
}

/// The guest's nodes as they are built, each pushed with its id its index.
#[derive(Default)]
struct GuestNodes(Vec<Node>);

impl GuestNodes {
    fn push(
        &mut self,
        name: String,
        parent: Option<NodeId>,
        bdf: Option<Bdf>,
        kind: NodeKind,
    ) -> NodeId {
        self.0.push(Node {
            name,
            parent,
            bdf,
            pci_id: None,
            kind,
            link: None,
        });
        NodeId(self.0.len() as u32 - 1)
    }
}

/// The guest host bridge's one window: the span of the guest's BARs, or a page at
/// `mmio64_base` where the VM has none.
fn guest_window(vm: &Vm, bars: &[(NodeId, u8, PhysRange)]) -> PhysRange {
    bars.iter()
        .map(|b| b.2)
        .reduce(|a, b| a.union(&b))
        .or_else(|| {
            PhysRange::from_start_and_size(PhysAddr(vm.mmio64_base), peerpath_model::PAGE_SIZE)
        })
        .unwrap_or(PhysRange {
            start: PhysAddr(0),
            end: PhysAddr(0xfff),
        })
}

/// The VMM's host bridge (`guest.host_bridge`), translating through the vIOMMU where
/// there is one.
fn guest_host_bridge(vm: &Vm, window: PhysRange, viommu: bool) -> NodeKind {
    NodeKind::HostBridge(HostBridge {
        segment: 0,
        id: Some(vm.guest.host_bridge),
        forwards_p2p: peerpath_model::ForwardsP2p::Any,
        // Reads follow `forwards_p2p`; the guest's platform is only decided on.
        forwards_p2p_reads: None,
        direct_window: None,
        translation: if viommu {
            Translation::Integrated
        } else {
            Translation::None
        },
        iommu: viommu.then_some(IommuId(0)),
        stream_map: Vec::new(),
        windows: vec![Window {
            cpu: window,
            bus: BusAddr(window.start.0),
        }],
        socket: None,
        numa_node: None,
        p2p_bandwidth_mbs: None,
    })
}

/// One of QEMU's virtual PCIe ports, with its ACS capability where `acs`.
fn qemu_port(acs: bool) -> Port {
    Port {
        mpss: 128,
        mps: 128,
        // QEMU's `pcie_acs_init` (hw/pci/pcie.c): SV, TB, RR, CR, UF and DT on
        // downstream ports, Control writable and reset to 0 (`pcie_acs_reset`): left
        // to the guest kernel (K4.1).
        acs: acs.then_some(Acs {
            cap: AcsFlags::SV
                | AcsFlags::TB
                | AcsFlags::RR
                | AcsFlags::CR
                | AcsFlags::UF
                | AcsFlags::DT,
            ctl: None,
        }),
        tbu: None,
        splits_oversized_writes: false,
        multifunction: false,
    }
}

/// Function 0 of device `dev` (modulo 32) on guest bus `bus`.
fn guest_bdf(bus: u8, dev: usize) -> Option<Bdf> {
    Some(Bdf {
        segment: 0,
        bus,
        device: (dev % 32) as u8,
        function: 0,
    })
}

/// The guest's virtual ports below its host bridge `hb` (`guest.layout`): its switch,
/// if any, and for each assigned device, in order, the port it sits below and its
/// address there.
fn guest_ports(
    nodes: &mut GuestNodes,
    vm: &Vm,
    hb: NodeId,
) -> (Vec<Switch>, Vec<(NodeId, Option<Bdf>)>) {
    let acs = vm.guest.acs;
    let mut switches = Vec::new();
    let mut parents: Vec<(NodeId, Option<Bdf>)> = Vec::new();
    let n = vm.devices.len();
    match vm.guest.layout {
        GuestLayout::RootPorts => {
            for i in 0..n {
                let rp = nodes.push(
                    format!("{}/rp{i}", vm.name),
                    Some(hb),
                    guest_bdf(0, i + 1),
                    NodeKind::RootPort(qemu_port(acs)),
                );
                parents.push((rp, guest_bdf((i + 1) as u8, 0)));
            }
        }
        GuestLayout::Switch => {
            let rp = nodes.push(
                format!("{}/rp0", vm.name),
                Some(hb),
                guest_bdf(0, 1),
                NodeKind::RootPort(qemu_port(acs)),
            );
            let up_name = format!("{}/switch", vm.name);
            let up = nodes.push(
                up_name.clone(),
                Some(rp),
                guest_bdf(1, 0),
                NodeKind::SwitchUpstream(qemu_port(false)),
            );
            let mut downstream = Vec::new();
            for i in 0..n {
                let dp = nodes.push(
                    format!("{}/switch-dp{i}", vm.name),
                    Some(up),
                    guest_bdf(2, i),
                    NodeKind::SwitchDownstream(qemu_port(acs)),
                );
                downstream.push(dp);
                parents.push((dp, guest_bdf((3 + i) as u8, 0)));
            }
            switches.push(Switch {
                name: up_name,
                upstream: up,
                downstream,
            });
        }
        GuestLayout::RootBus => {
            for i in 0..n {
                parents.push((hb, guest_bdf(0, i + 1)));
            }
        }
    }
    (switches, parents)
}

/// The assigned endpoints as the guest sees them, under their host names with their
/// guest BARs, each below its port of `parents`; returns guest id → host id.
fn guest_endpoints(
    nodes: &mut GuestNodes,
    p: &Platform,
    vm: &Vm,
    bars: &[(NodeId, u8, PhysRange)],
    parents: Vec<(NodeId, Option<Bdf>)>,
) -> Vec<(NodeId, NodeId)> {
    let mut map = Vec::new();
    for (d, (parent, at)) in vm.devices.iter().zip(parents) {
        let host = p.node(d.device);
        let NodeKind::Endpoint(e) = &host.kind else {
            continue;
        };
        let guest_bars = bars
            .iter()
            .filter(|b| b.0 == d.device)
            .filter_map(|b| {
                let hb = e.bar(b.1)?;
                Some(peerpath_model::Bar {
                    index: b.1,
                    range: b.2,
                    prefetchable: hb.prefetchable,
                })
            })
            .collect();
        let id = nodes.push(
            host.name.clone(),
            Some(parent),
            at,
            NodeKind::Endpoint(Endpoint {
                bars: guest_bars,
                driver: Driver::Kernel,
                trusted: true,
                // The guest's own ATS (with a vIOMMU) is not modelled.
                ats: false,
                cc: None,
                acs: None,
                multifunction: false,
                bus_dma_limit: None,
                ..e.clone()
            }),
        );
        map.push((id, d.device));
    }
    map
}

/// The guest's kernel: its own release where `guest` states one, else the host's; the
/// host's architecture and ACS and group choices; the CPU the guest sees.
fn guest_kernel(hk: &Kernel, g: &peerpath_model::Guest) -> Kernel {
    Kernel {
        release: g.release.clone().or_else(|| hk.release.clone()),
        version: if g.release.is_some() {
            g.version
        } else {
            hk.version
        },
        arch: hk.arch,
        cpu: g.cpu.unwrap_or(hk.cpu),
        ipa_bits: 48,
        acs_decision: hk.acs_decision,
        group_algorithm: hk.group_algorithm,
        ..Kernel::default()
    }
}

/// The vIOMMU, where the VM has one: VT-d on x86_64, else an SMMUv3.
fn guest_iommus(vm: &Vm, arch: Arch, viommu: bool) -> Vec<Iommu> {
    if !viommu {
        return Vec::new();
    }
    vec![Iommu {
        name: format!("{}/viommu", vm.name),
        kind: if arch == Arch::X86_64 {
            IommuKind::Vtd
        } else {
            IommuKind::Smmuv3
        },
        ats: false,
        disable_bypass: true,
        tbus: Vec::new(),
        stream_map: Vec::new(),
    }]
}

/// Evaluates a pairing of two devices assigned to `vm`. See the module documentation.
pub(crate) fn evaluate(
    topo: &Topology<'_>,
    engine: &mut Engine<'_>,
    import: &Import,
    vm: &Vm,
    routes: Routes,
) -> PairResult {
    let p = topo.platform();
    let export = p.export(import.export);
    let importer = import.importer;
    let exporter = export.device;

    // V6: the guest kernel's decision on its own platform.
    let bars = guest_bars(p, vm);
    let (guest, gk, mut findings) = guest_decision(p, vm, import, &bars);

    // V1: the VM's I/O address space.
    let gpa = bars
        .iter()
        .find(|b| b.0 == exporter && b.1 == export.bar)
        .and_then(|b| b.2.start.checked_add(export.offset))
        .map(|a| a.0);
    let hpa = export_phys(p, export);
    let (maps, maps_assumed) = maps_bars(p, vm);
    let assumptions = vm_assumptions(p, vm, export, maps, maps_assumed);
    // The address the importer puts on the wire: the guest's DMA address (a GPA, or
    // with a vIOMMU the guest's IOVA).
    let guest_map = gk.why.mapping;
    let ste = match (maps, gpa, hpa) {
        (true, Some(g), Some(h)) => {
            // Stage 2 holds the BAR at its GPA; with a vIOMMU the guest's IOVA reaches
            // it through stage 1 (nested) or the VMM's shadow (emulated).
            let wire = match guest_map {
                Some(m) if m.regime == Regime::Iova => m.dma.0,
                _ => g,
            };
            host_ste(topo, importer, Some((wire, h.0, export.size)))
        }
        // Without a guest mapping the probe's GPA shows stage 2 alone.
        _ => host_ste(topo, importer, None),
    };
    let ats = ats_enabled(topo, importer) && vm.device(importer).and_then(|d| d.ats) != Some(false);
    let setup = StreamSetup {
        requester: importer,
        ste,
        ats_enabled: ats,
    };
    let (planned, probe) = match guest_map {
        Some(m) => (flows(topo, import, m.dma.0, ats), false),
        None => (
            gpa.map(|a| probe_flow(topo.platform(), import, a))
                .into_iter()
                .collect(),
            true,
        ),
    };
    let (traced, route_of) = trace(engine, &setup, planned, routes);

    let k = host_view(topo, import, &gk, hpa);
    findings.extend(check_vm_host(&Cx {
        topo,
        import,
        k: &k,
        setup: &setup,
        probe,
        flows: &traced,
        vm: Some(vm),
    }));
    sort_and_dedup(&mut findings);
    let outcome = outcome_of(&findings);
    PairResult {
        importer: topo.name(importer).to_owned(),
        export: export.name.clone(),
        exporter: topo.name(exporter).to_owned(),
        kernel: k,
        outcome,
        findings,
        depends_on: Vec::new(),
        vm: Some(Box::new(VmDetail {
            vm: vm.name.clone(),
            guest,
            decision: gk,
            gpa,
            hpa,
            maps_bars: maps,
            ats,
            assumptions,
        })),
        detail: PairDetail {
            importer,
            export: import.export,
            exporter,
            setup,
            probe,
            flows: traced,
            route_of,
        },
    }
}

/// V6: the guest's platform, its kernel's decision on the pairing there (K1–K3), and
/// that kernel's findings, each said to be the guest's.
fn guest_decision(
    p: &Platform,
    vm: &Vm,
    import: &Import,
    bars: &[(NodeId, u8, PhysRange)],
) -> (Platform, KernelDecision, Vec<Finding>) {
    let export = p.export(import.export);
    let (guest, map) = guest_platform_with(p, vm, bars);
    let gtopo = Topology::new(&guest);
    let guest_id = |h: NodeId| map.iter().find(|m| m.1 == h).map(|m| m.0);
    let gimport = Import {
        importer: guest_id(import.importer).unwrap_or(NodeId(0)),
        export: guest
            .export_by_name(&export.name)
            .unwrap_or(peerpath_model::ExportId(0)),
        ..*import
    };
    let gk = decide(&gtopo, &gimport);
    let gsetup = stream_setup(&gtopo, &gk);
    let mut findings = check_guest_kernel(&Cx {
        topo: &gtopo,
        import: &gimport,
        k: &gk,
        setup: &gsetup,
        probe: true,
        flows: &[],
        vm: None,
    });
    for f in &mut findings {
        f.message = format!("in {}'s guest kernel: {}", vm.name, f.message);
        f.evidence.insert("vm".into(), vm.name.clone().into());
        // The guest's platform is the VMM's to change (V6).
        if f.code == crate::Code::P2pNotSupported && vm.guest.layout != GuestLayout::Switch {
            f.fix = Some(format!(
                "in {}: put both devices behind one virtual switch (vms[].guest.layout: switch; libvirt: pcie-switch-upstream-port and pcie-switch-downstream-port controllers), or let the driver map the peer itself (exports[].via, K2.4)",
                vm.name
            ));
        }
    }
    (guest, gk, findings)
}

/// What the VM side of a pairing assumes that the file does not state: whether the
/// VMM maps the BARs (V1, iommufd) and where the guest firmware puts the exporter's BAR.
fn vm_assumptions(
    p: &Platform,
    vm: &Vm,
    export: &Export,
    maps: bool,
    maps_assumed: bool,
) -> Vec<String> {
    let mut assumptions = Vec::new();
    if maps_assumed {
        assumptions.push(format!(
            "map_bars: {} (iommufd maps a BAR only from a VFIO dma-buf; taken as {} where the host release {} VFIO dma-buf export)",
            maps,
            if maps { "done" } else { "not done" },
            if maps { "has" } else { "lacks" }
        ));
    }
    if vm.gpa == GpaPlacement::Vmm
        && vm
            .device(export.device)
            .is_none_or(|d| !d.bars.iter().any(|b| b.0 == export.bar))
    {
        assumptions.push(format!(
            "gpa: the guest firmware places {}'s BAR {} in the 64-bit MMIO window from {:#x} (state vms[].devices[].bars[].gpa to be exact)",
            p.node(export.device).name,
            export.bar,
            vm.mmio64_base
        ));
    }
    assumptions
}

/// The importer's host stream (V1): its domain is the VM's I/O address space, which
/// maps `(wire address, HPA, size)` where the VMM maps the exporter's BAR.
fn host_ste(topo: &Topology<'_>, importer: NodeId, mapped: Option<(u64, u64, u64)>) -> Ste {
    match attached_domain(topo, importer) {
        None => Ste::NoIommu,
        Some(DomainType::Identity) => Ste::Bypass,
        Some(DomainType::Blocked) => Ste::Abort,
        Some(DomainType::Unmanaged | DomainType::Dma | DomainType::DmaFq) => {
            let mut table = IoPageTable::new();
            if let Some((wire, hpa, size)) = mapped {
                map_whole_pages(&mut table, wire, hpa, size, MemAttr::Device);
            }
            Ste::Translate(table)
        }
    }
}

/// The host's view of the guest kernel's mapping `gk`: the guest's address is an IOVA
/// of the VM's unmanaged domain (the IOAS), standing for the exporter's HPA.
fn host_view(
    topo: &Topology<'_>,
    import: &Import,
    gk: &KernelDecision,
    hpa: Option<PhysAddr>,
) -> KernelDecision {
    let importer = import.importer;
    let iommu = topo.domain(importer).and_then(|d| d.iommu);
    let host = decide(topo, import);
    KernelDecision {
        map_type: gk.map_type,
        distance: gk.distance,
        dma_path: gk.dma_path,
        dma_address: gk.dma_address,
        attrs: gk.attrs.clone(),
        why: KernelWhy {
            importer,
            exporter: topo.platform().export(import.export).device,
            map: host.why.map,
            driver: gk.why.driver,
            attach: gk.why.attach.clone(),
            path: host.why.path,
            result: gk.why.result,
            mapping: gk.why.mapping.map(|m| Mapping {
                regime: Regime::Iova,
                dma: m.dma,
                phys: hpa.unwrap_or(m.phys),
                size: m.size,
                mem: m.mem,
                iommu,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat::{self, switch_pair, MIB};
    use peerpath_model::{DEFAULT_MMIO64_BASE, Q35_HOST_BRIDGE};

    /// [`testplat::vm`] of nic0 and gpu0, placed `gpa`, gpu0's BAR 0 at `explicit`.
    fn vm(p: &Platform, gpa: GpaPlacement, explicit: Option<u64>) -> Vm {
        let dev = |n: &str| p.node_by_name(n).expect("node");
        let mut v = testplat::vm(&[dev("nic0"), dev("gpu0")]);
        v.gpa = gpa;
        v.devices[1].bars = explicit.map(|g| vec![(0, g)]).unwrap_or_default();
        v
    }

    /// `gpa: vmm` places BARs in the order of `devices`, each naturally aligned from
    /// `mmio64_base`; `identity` keeps the host addresses; an explicit `gpa` wins.
    #[test]
    fn guest_bars_are_placed_as_firmware_would() {
        let p = switch_pair(|_| {});
        let nic = p.node_by_name("nic0").expect("nic0");
        let gpu = p.node_by_name("gpu0").expect("gpu0");
        let v = vm(&p, GpaPlacement::Vmm, None);
        let bars = guest_bars(&p, &v);
        assert_eq!(bars[0].0, nic);
        assert_eq!(bars[0].2.start.0, DEFAULT_MMIO64_BASE);
        // gpu0's 256 MiB BAR comes after nic0's 1 MiB one, aligned to 256 MiB.
        assert_eq!(bars[1].0, gpu);
        assert_eq!(bars[1].2.start.0, DEFAULT_MMIO64_BASE + 256 * MIB);
        assert_eq!(bars[1].2.size(), Some(256 * MIB));
        let id = guest_bars(&p, &vm(&p, GpaPlacement::Identity, None));
        assert_eq!(id[1].2.start.0, 0x40_0000_0000);
        let ex = guest_bars(&p, &vm(&p, GpaPlacement::Vmm, Some(0x1_0000_0000)));
        assert_eq!(ex[1].2.start.0, 0x1_0000_0000);
    }

    /// The guest's platform: the VMM's host bridge with one root port per device, the
    /// devices under their host names with guest BARs, the exports of assigned devices
    /// only, and the guest kernel's decision on it: q35 is not allow-listed and the
    /// default CPU (`other`) has no CPU rule, so K1 says not-supported (V6).
    #[test]
    fn the_guest_kernel_decides_on_the_virtual_platform() {
        let p = switch_pair(|_| {});
        let v = vm(&p, GpaPlacement::Vmm, None);
        let (g, map) = guest_platform(&p, &v);
        assert_eq!(map.len(), 2);
        let hb = &g.nodes[0];
        let NodeKind::HostBridge(h) = &hb.kind else {
            panic!("{hb:?}")
        };
        assert_eq!(h.id, Some(Q35_HOST_BRIDGE));
        assert_eq!(
            g.nodes
                .iter()
                .filter(|n| matches!(n.kind, NodeKind::RootPort(_)))
                .count(),
            2
        );
        assert_eq!(g.exports.len(), 1);
        // The guest kernel's decision for nic0 importing the guest's one export.
        let decide_nic = |g: &Platform| {
            let importer = g.node_by_name("nic0").expect("guest nic0");
            let export = peerpath_model::ExportId(0);
            decide(
                &Topology::new(g),
                &Import {
                    importer,
                    export,
                    allow_peer2peer: true,
                    dynamic: true,
                },
            )
        };
        let k = decide_nic(&g);
        assert_eq!(k.map_type, crate::MapType::NotSupported);
        // Behind one virtual switch without ACS in use (no vIOMMU): bus-addr.
        let mut sw = v.clone();
        sw.guest.layout = GuestLayout::Switch;
        let (g, _) = guest_platform(&p, &sw);
        let k = decide_nic(&g);
        assert_eq!(k.map_type, crate::MapType::BusAddr);
        assert_eq!(k.distance, Some(4));
    }

    /// V1: iommufd maps BARs only where the host release has VFIO dma-buf export, and
    /// says it assumes so; vfio-type1 maps them; a stated `map_bars` wins.
    #[test]
    fn iommufd_maps_bars_only_with_vfio_dmabuf() {
        let mut p = switch_pair(|_| {});
        let mut v = vm(&p, GpaPlacement::Vmm, None);
        assert_eq!(maps_bars(&p, &v), (true, false));
        v.backend = VmmBackend::Iommufd;
        p.kernel.version = Some(peerpath_model::Release::new(6, 8));
        assert_eq!(maps_bars(&p, &v), (false, true));
        p.kernel.version = None;
        assert_eq!(maps_bars(&p, &v), (true, true));
        v.map_bars = Some(false);
        assert_eq!(maps_bars(&p, &v), (false, false));
    }

    /// A pairing of an assigned device is decided alone: its verdict reads the VM's
    /// whole configuration, which the class key does not hold.
    #[test]
    fn pairings_of_assigned_devices_have_no_class() {
        let mut p = switch_pair(|_| {});
        let imports = p.imports.clone();
        {
            let topo = Topology::new(&p);
            let classes = crate::Classes::new(&topo);
            assert!(imports.iter().all(|i| classes.key(i).is_some()));
        }
        p.vms.push(vm(&p, GpaPlacement::Vmm, None));
        let topo = Topology::new(&p);
        let classes = crate::Classes::new(&topo);
        assert!(imports.iter().all(|i| classes.key(i).is_none()));
    }
}
