//! Platform → `peerpath_load::raw::RawPlatform` → YAML: the dump half of "load → dump →
//! load is the identity" (issue 8, property 7), and how the generators write files.
//!
//! The YAML is `peerpath_load::to_yaml`'s (the only crate that knows YAML). The dump
//! writes what differs from the format's defaults, lists nodes in `Platform::nodes`
//! order, and writes `imports` only when the pairings are not the default expansion.
//! The loader may number nodes in another order than a builder did: compare with
//! [`renumbered_like`].

use std::collections::BTreeMap;

use peerpath_load::raw::{
    AcsBit, Addr, ExportSel, RawAcs, RawBar, RawBridge, RawConfigAcs, RawCpu, RawDeviceCc,
    RawDirectWindow, RawDomain, RawDownstreamPort, RawEndpoint, RawExport, RawFabric, RawFabricHop,
    RawFabricPair, RawHostBridge, RawImport, RawInterconnect, RawIommu, RawKernel, RawLatency,
    RawLink, RawMemory, RawPciId, RawPlatform, RawRootPort, RawStreamMap, RawSwitch, RawTbu,
    RawTraffic, RawUpstreamPort, RawWindow, Size,
};
use peerpath_model::{
    Acs, AcsDecision, AddrRange, AtsUse, Bdf, CcKind, CpuVendor, DeviceClass, DirectWindowKind,
    DomainType, Driver, Fabric, FabricHop, Fact, ForwardsP2p, GroupAlgorithm, Interconnect,
    Latencies, Link, NodeId, NodeKind, Op, PassthroughFrom, Pattern, PcieBusConfig, Platform, Port,
    Translation, Via,
};

/// Only host bridges lack a BDF, and the raw host bridge has no `bdf` key.
const NO_BDF: Bdf = Bdf {
    segment: 0,
    bus: 0,
    device: 0,
    function: 0,
};

/// How to write `imports`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ImportsAs {
    /// Leave `imports` out when `Platform::imports` is the default expansion, else
    /// list the pairings.
    #[default]
    Detect,
    /// Leave `imports` out whatever `Platform::imports` holds: for platforms built
    /// without expanding the default (`PlatformBuilder::build_without_default_imports`).
    Default,
}

/// The platform as raw structs, imports per [`ImportsAs::Detect`].
pub fn to_raw(p: &Platform) -> RawPlatform {
    to_raw_with(p, ImportsAs::Detect)
}

/// The platform as YAML text.
pub fn to_yaml(p: &Platform) -> String {
    peerpath_load::to_yaml(&to_raw(p))
}

fn size_of(r: AddrRange) -> u64 {
    // A range of the whole 64-bit space has no u64 size; the loader rejects it anyway.
    r.size().unwrap_or(u64::MAX)
}

fn acs(a: Option<Acs>) -> Option<RawAcs> {
    a.map(|a| RawAcs {
        cap: AcsBit::from_flags(a.cap),
        ctl: a.ctl.map(AcsBit::from_flags),
    })
}

/// `Some(v)` unless `v` is the format's default.
fn unless<T: PartialEq>(v: T, default: T) -> Option<T> {
    (v != default).then_some(v)
}

/// A link as written.
fn pci_id(id: Option<peerpath_model::PciId>) -> Option<RawPciId> {
    id.map(|i| RawPciId {
        vendor: i.vendor,
        device: i.device,
    })
}

fn link(l: Option<Link>) -> Option<RawLink> {
    l.map(|l| RawLink {
        speed: l.speed.to_string(),
        width: u32::from(l.width),
    })
}

/// A bandwidth as written (MB/s, exact).
fn bandwidth(mbs: u64) -> String {
    format!("{mbs}MB/s")
}

/// A fabric crossing as written.
fn hop(h: FabricHop) -> RawFabricHop {
    RawFabricHop {
        bandwidth: Some(bandwidth(h.bandwidth_mbs)),
        latency: Some(format!("{}ns", h.latency_ns)),
        efficiency: h
            .efficiency_permille
            .map(|e| format!("{}.{:03}", e / 1000, e % 1000)),
    }
}

/// `interconnect.fabric`, unless it is the default.
fn fabric(p: &Platform) -> Option<RawFabric> {
    let f = &p.interconnect.fabric;
    (*f != Fabric::default()).then(|| RawFabric {
        same_socket: Some(hop(f.same_socket)),
        cross_socket: Some(hop(f.cross_socket)),
        pairs: f
            .pairs
            .iter()
            .map(|pair| {
                let h = hop(pair.hop);
                RawFabricPair {
                    between: pair
                        .between
                        .iter()
                        .map(|&n| p.node(n).name.clone())
                        .collect(),
                    bandwidth: h.bandwidth,
                    latency: h.latency,
                    efficiency: h.efficiency,
                }
            })
            .collect(),
    })
}

/// `interconnect.latency`, unless it is the default.
fn latency(l: &Latencies) -> Option<RawLatency> {
    let ns = |v: u32| Some(format!("{v}ns"));
    (*l != Latencies::default()).then(|| RawLatency {
        endpoint: l.endpoint_ns.and_then(ns),
        link: ns(l.link_ns),
        switch: ns(l.switch_ns),
        root_complex: ns(l.root_complex_ns),
        iommu_hit: ns(l.iommu_hit_ns),
        iommu_miss: ns(l.iommu_miss_ns),
    })
}

/// The platform as raw structs.
pub fn to_raw_with(p: &Platform, imports: ImportsAs) -> RawPlatform {
    let name = |id: NodeId| p.node(id).name.clone();
    let mut raw = RawPlatform::new(p.name.clone());
    raw.description = p.description.clone();
    raw.kernel = Some(kernel(p));
    raw.interconnect = (p.interconnect != Interconnect::default()).then(|| RawInterconnect {
        write_merge_bytes: Some(Size(u64::from(p.interconnect.write_merge_bytes))),
        fabric: fabric(p),
        latency: latency(&p.interconnect.latency),
    });
    raw.memory = p
        .memory
        .iter()
        .map(|m| RawMemory {
            name: m.name.clone(),
            base: Addr(m.range.start),
            size: Size(size_of(m.range)),
        })
        .collect();
    raw.iommus = p
        .iommus
        .iter()
        .map(|m| RawIommu {
            name: m.name.clone(),
            kind: m.kind,
            ats: unless(m.ats, false),
            disable_bypass: unless(m.disable_bypass, true),
            tbus: m
                .tbus
                .iter()
                .map(|t| RawTbu {
                    name: t.name.clone(),
                    tlb_entries: t.tlb_entries,
                    tlb_ways: t.tlb_ways,
                })
                .collect(),
            stream_map: m
                .stream_map
                .iter()
                .map(|s| RawStreamMap {
                    rid_base: s.rid_base,
                    sid_base: s.sid_base,
                    length: s.length,
                })
                .collect(),
        })
        .collect();
    // Root ports go inside their host bridge, in node order.
    let mut host_bridges: Vec<(NodeId, RawHostBridge)> = Vec::new();
    for id in p.node_ids() {
        let n = p.node(id);
        let bdf = n.bdf.unwrap_or(NO_BDF);
        let parent = n.parent.map(name).unwrap_or_default();
        match &n.kind {
            NodeKind::HostBridge(hb) => host_bridges.push((
                id,
                RawHostBridge {
                    name: n.name.clone(),
                    segment: Some(hb.segment),
                    id: hb.id.map(|i| RawPciId {
                        vendor: i.vendor,
                        device: i.device,
                    }),
                    forwards_p2p: unless(hb.forwards_p2p, ForwardsP2p::SameHostBridge),
                    forwards_p2p_reads: hb.forwards_p2p_reads,
                    direct_window: hb.direct_window.map(|w| RawDirectWindow {
                        kind: unless(w.kind, DirectWindowKind::PhbBypass),
                        base: Addr(w.base),
                        size: Size(w.size),
                    }),
                    translation: unless(hb.translation, Translation::Integrated),
                    iommu: hb.iommu.map(|i| p.iommu(i).name.clone()),
                    stream_map: hb
                        .stream_map
                        .iter()
                        .map(|s| RawStreamMap {
                            rid_base: s.rid_base,
                            sid_base: s.sid_base,
                            length: s.length,
                        })
                        .collect(),
                    windows: hb
                        .windows
                        .iter()
                        .map(|w| RawWindow {
                            cpu: Addr(w.cpu.start),
                            bus: Addr(w.bus.0),
                            size: Size(size_of(w.cpu)),
                        })
                        .collect(),
                    socket: hb.socket,
                    numa_node: hb.numa_node,
                    p2p_bandwidth: hb.p2p_bandwidth_mbs.map(bandwidth),
                    root_ports: Vec::new(),
                },
            )),
            NodeKind::RootPort(port) => {
                let rp = RawRootPort {
                    name: n.name.clone(),
                    bdf,
                    id: pci_id(n.pci_id),
                    mpss: port.mpss,
                    mps: unless(port.mps, 128),
                    acs: acs(port.acs),
                    tbu: port.tbu.map(|t| p.tbu(t).name.clone()),
                    splits_oversized_writes: unless(port.splits_oversized_writes, false),
                    multifunction: unless(port.multifunction, false),
                    link: link(n.link),
                };
                if let Some((_, hb)) = host_bridges.iter_mut().find(|(h, _)| Some(*h) == n.parent) {
                    hb.root_ports.push(rp);
                }
            }
            // Written with their switch, below.
            NodeKind::SwitchUpstream(_) | NodeKind::SwitchDownstream(_) => {}
            NodeKind::PciBridge(br) => raw.bridges.push(RawBridge {
                name: n.name.clone(),
                parent,
                bdf,
                id: pci_id(n.pci_id),
                mpss: unless(br.mpss, 128),
            }),
            NodeKind::Endpoint(e) => raw.endpoints.push(RawEndpoint {
                name: n.name.clone(),
                parent,
                bdf,
                id: pci_id(n.pci_id),
                class: unless(e.class, DeviceClass::Other),
                mpss: Some(e.mpss),
                mps: unless(e.mps, 128),
                dma_mask_bits: unless(e.dma_mask_bits, 64),
                bus_dma_limit: e.bus_dma_limit.map(Addr),
                coherent: unless(e.coherent, true),
                ats: unless(e.ats, false),
                trusted: unless(e.trusted, true),
                multifunction: unless(e.multifunction, false),
                acs: acs(e.acs),
                driver: unless(e.driver, Driver::Kernel),
                bars: e
                    .bars
                    .iter()
                    .map(|b| RawBar {
                        index: b.index,
                        addr: Addr(b.range.start),
                        size: Size(size_of(b.range)),
                        prefetchable: unless(b.prefetchable, false),
                    })
                    .collect(),
                cc: e.cc.map(|c| RawDeviceCc {
                    state: Some(c.state),
                    tdisp: Some(c.tdisp),
                }),
                pcie: (!e.pcie).then_some(false),
                link: link(n.link),
            }),
        }
    }
    raw.host_bridges = host_bridges.into_iter().map(|(_, hb)| hb).collect();
    let port = |id: NodeId| -> Option<&Port> {
        match &p.node(id).kind {
            NodeKind::SwitchUpstream(port) | NodeKind::SwitchDownstream(port) => Some(port),
            _ => None,
        }
    };
    raw.switches = p
        .switches
        .iter()
        .filter_map(|sw| {
            let up = port(sw.upstream)?;
            let up_node = p.node(sw.upstream);
            Some(RawSwitch {
                name: sw.name.clone(),
                parent: up_node.parent.map(name).unwrap_or_default(),
                upstream: RawUpstreamPort {
                    bdf: up_node.bdf.unwrap_or(NO_BDF),
                    id: pci_id(up_node.pci_id),
                    mpss: up.mpss,
                    mps: unless(up.mps, 128),
                    acs: acs(up.acs),
                    multifunction: unless(up.multifunction, false),
                    link: link(up_node.link),
                },
                downstream: sw
                    .downstream
                    .iter()
                    .filter_map(|&d| {
                        let dp = port(d)?;
                        let node = p.node(d);
                        Some(RawDownstreamPort {
                            name: node.name.clone(),
                            bdf: node.bdf.unwrap_or(NO_BDF),
                            id: pci_id(node.pci_id),
                            mpss: dp.mpss,
                            mps: unless(dp.mps, 128),
                            acs: acs(dp.acs),
                            multifunction: unless(dp.multifunction, false),
                            link: link(node.link),
                        })
                    })
                    .collect(),
            })
        })
        .collect();
    raw.domains = p
        .domains
        .iter()
        .map(|d| RawDomain {
            name: d.name.clone(),
            ty: d.ty,
            devices: d.devices.iter().map(|&x| name(x)).collect(),
        })
        .collect();
    raw.exports = p
        .exports
        .iter()
        .map(|x| {
            let rest = match &p.node(x.device).kind {
                NodeKind::Endpoint(e) => e
                    .bar(x.bar)
                    .map(|b| size_of(b.range).saturating_sub(x.offset)),
                _ => None,
            };
            RawExport {
                name: x.name.clone(),
                device: name(x.device),
                bar: x.bar,
                offset: unless(x.offset, 0).map(Size),
                size: (rest != Some(x.size)).then_some(Size(x.size)),
                via: unless(x.via, Via::VfioDmabuf),
                // Only a VFIO dma-buf is revoked (K2.1; the loader refuses it elsewhere).
                revoke: x
                    .revoke
                    .filter(|_| x.via == Via::VfioDmabuf)
                    .map(|r| r.event),
                revoke_when: x
                    .revoke
                    .filter(|_| x.via == Via::VfioDmabuf)
                    .map(|r| r.when),
            }
        })
        .collect();
    raw.imports = match imports {
        ImportsAs::Default => None,
        ImportsAs::Detect => listed_imports(p),
    };
    raw.traffic = p
        .traffic
        .iter()
        .map(|t| RawTraffic {
            importer: name(t.importer),
            export: p.export(t.export).name.clone(),
            op: unless(t.op, Op::Write),
            bytes: unless(t.bytes, 4096).map(Size),
            payload: t.payload,
            pattern: unless(t.pattern, Pattern::Sequential),
            ats: unless(t.ats, AtsUse::Auto),
        })
        .collect();
    raw.assumed = p
        .assumed
        .iter()
        .map(|f| peerpath_load::raw::RawAssumed {
            fact: f.field().to_owned(),
            node: f.node().map(name),
        })
        .collect();
    raw.vms = p.vms.iter().map(|v| vm(p, v)).collect();
    raw.ide_streams = p.ide_streams.as_ref().map(|list| {
        list.iter()
            .map(|s| peerpath_load::raw::RawIdeStream {
                name: s.name.clone(),
                ends: s.ends.iter().map(|n| name(*n)).collect(),
            })
            .collect()
    });
    raw
}

/// One `vms` entry (issue 18), defaults left out.
fn vm(p: &Platform, v: &peerpath_model::Vm) -> peerpath_load::raw::RawVm {
    use peerpath_load::raw::{RawGuest, RawGuestBar, RawVm, RawVmDevice};
    let g = &v.guest;
    let default_hb = if p.kernel.arch == peerpath_model::Arch::X86_64 {
        peerpath_model::Q35_HOST_BRIDGE
    } else {
        peerpath_model::GPEX_HOST_BRIDGE
    };
    let guest = RawGuest {
        host_bridge: (g.host_bridge != default_hb).then_some(RawPciId {
            vendor: g.host_bridge.vendor,
            device: g.host_bridge.device,
        }),
        layout: unless(g.layout, peerpath_model::GuestLayout::RootPorts),
        acs: unless(g.acs, true),
        release: g.release.clone(),
        cpu: g.cpu.map(|c| RawCpu {
            vendor: Some(c.vendor),
            family: c.family,
        }),
    };
    let empty = guest.host_bridge.is_none()
        && guest.layout.is_none()
        && guest.acs.is_none()
        && guest.release.is_none()
        && guest.cpu.is_none();
    RawVm {
        name: v.name.clone(),
        devices: v
            .devices
            .iter()
            .map(|d| RawVmDevice {
                device: p.node(d.device).name.clone(),
                ats: d.ats,
                bars: d
                    .bars
                    .iter()
                    .map(|&(index, gpa)| RawGuestBar {
                        index,
                        gpa: Addr(gpa),
                    })
                    .collect(),
            })
            .collect(),
        backend: unless(v.backend, peerpath_model::VmmBackend::VfioType1),
        map_bars: v.map_bars,
        viommu: unless(v.viommu, peerpath_model::Viommu::None),
        gpa: unless(v.gpa, peerpath_model::GpaPlacement::Vmm),
        mmio64_base: unless(v.mmio64_base, peerpath_model::DEFAULT_MMIO64_BASE).map(Addr),
        guest: (!empty).then_some(guest),
    }
}

fn kernel(p: &Platform) -> RawKernel {
    let k = &p.kernel;
    let name = |id: NodeId| p.node(id).name.clone();
    RawKernel {
        release: k.release.clone(),
        arch: Some(k.arch),
        cpu: (k.cpu.vendor != CpuVendor::Other || k.cpu.family.is_some()).then_some(RawCpu {
            vendor: Some(k.cpu.vendor),
            family: k.cpu.family,
        }),
        default_domain: unless(k.default_domain, DomainType::Dma),
        passthrough_from: unless(k.passthrough_from, PassthroughFrom::Cmdline),
        swiotlb_force: unless(k.swiotlb_force, false),
        noats: unless(k.noats, false),
        pcie_bus_config: unless(k.pcie_bus_config, PcieBusConfig::Default),
        disable_acs_redir: k.disable_acs_redir.iter().map(|&n| name(n)).collect(),
        config_acs: k
            .config_acs
            .iter()
            .map(|c| RawConfigAcs {
                port: name(c.port),
                set: AcsBit::from_flags(c.set),
                clear: AcsBit::from_flags(c.clear),
            })
            .collect(),
        acs_decision: unless(k.acs_decision, AcsDecision::Mainline),
        group_algorithm: unless(k.group_algorithm, GroupAlgorithm::Legacy),
        cc: unless(k.cc, CcKind::None),
        ipa_bits: unless(k.ipa_bits, 48),
        pci_p2pdma: k.pci_p2pdma,
    }
}

/// `None` when the pairings are the default expansion, else one entry per run of
/// pairings with the same importer and flags.
fn listed_imports(p: &Platform) -> Option<Vec<RawImport>> {
    let mut default = p.clone();
    default.imports = p.default_imports();
    default.sort_imports();
    if default.imports == p.imports {
        return None;
    }
    let mut out: Vec<RawImport> = Vec::new();
    for im in &p.imports {
        let importer = p.node(im.importer).name.clone();
        let export = p.export(im.export).name.clone();
        let allow = unless(im.allow_peer2peer, true);
        let dynamic = unless(im.dynamic, true);
        match out.last_mut() {
            Some(RawImport {
                device,
                exports: ExportSel::List(names),
                allow_peer2peer,
                dynamic: d,
            }) if *device == importer && *allow_peer2peer == allow && *d == dynamic => {
                names.push(export)
            }
            _ => out.push(RawImport {
                device: importer,
                exports: ExportSel::List(vec![export]),
                allow_peer2peer: allow,
                dynamic,
            }),
        }
    }
    Some(out)
}

/// `p` with its nodes renumbered in the order of the same-named nodes of `like`, every
/// reference following: what lets a loaded platform be compared with the one a builder
/// made (the loader numbers nodes depth first). `None` when the names differ.
pub fn renumbered_like(p: &Platform, like: &Platform) -> Option<Platform> {
    if p.nodes.len() != like.nodes.len() {
        return None;
    }
    let by_name: BTreeMap<&str, NodeId> = p
        .node_ids()
        .map(|id| (p.node(id).name.as_str(), id))
        .collect();
    let mut new_of_old = vec![NodeId(0); p.nodes.len()];
    let mut order = Vec::with_capacity(p.nodes.len());
    for (i, n) in like.nodes.iter().enumerate() {
        let old = *by_name.get(n.name.as_str())?;
        new_of_old[old.index()] = NodeId(i as u32);
        order.push(old);
    }
    let map = |id: NodeId| new_of_old[id.index()];
    let mut q = p.clone();
    q.nodes = order
        .iter()
        .map(|&old| {
            let mut n = p.node(old).clone();
            n.parent = n.parent.map(map);
            n
        })
        .collect();
    for sw in &mut q.switches {
        sw.upstream = map(sw.upstream);
        sw.downstream.iter_mut().for_each(|d| *d = map(*d));
    }
    let k = &mut q.kernel;
    k.disable_acs_redir.iter_mut().for_each(|n| *n = map(*n));
    k.config_acs.iter_mut().for_each(|c| c.port = map(c.port));
    for d in &mut q.domains {
        d.devices.iter_mut().for_each(|n| *n = map(*n));
    }
    q.exports.iter_mut().for_each(|x| x.device = map(x.device));
    q.imports
        .iter_mut()
        .for_each(|i| i.importer = map(i.importer));
    q.traffic
        .iter_mut()
        .for_each(|t| t.importer = map(t.importer));
    for v in &mut q.vms {
        v.devices.iter_mut().for_each(|d| d.device = map(d.device));
    }
    for s in q.ide_streams.iter_mut().flatten() {
        s.ends.iter_mut().for_each(|n| *n = map(*n));
    }
    for f in &mut q.assumed {
        *f = match *f {
            Fact::HostBridgeId(n) => Fact::HostBridgeId(map(n)),
            Fact::ForwardsP2p(n) => Fact::ForwardsP2p(map(n)),
            Fact::SplitsOversizedWrites(n) => Fact::SplitsOversizedWrites(map(n)),
            other => other,
        };
    }
    q.assumed.sort();
    Some(q)
}
