//! K3.1–K3.4, K3.6, K3.7, K1.10 — the importer's DMA path and the address it is handed
//! (`kernel/dma/mapping.c`: `dma_map_phys`, `dma_map_resource`, `dma_go_direct`;
//! `kernel/dma/direct.h`: `dma_direct_map_phys`, `dma_capable`;
//! `drivers/iommu/iommu.c`: `iommu_setup_dma_ops`, `iommu_get_def_domain_type`;
//! `drivers/pci/p2pdma.c`: `pci_p2pdma_bus_addr_map`; `arch/powerpc/kernel/dma-iommu.c`).
//!
//! Mapping is done for the **importer**; the exporter's (VFIO) domain is irrelevant to
//! it (K3.1). `bus-addr` never calls the DMA API: the address is the BAR's CPU address
//! plus the exporter host bridge window's `bus_offset` (K1.10). `not-supported` maps
//! nothing. `thru-host-bridge` takes the importer's path (K3.3), chosen by the domain
//! the DMA API was set up for — the device's **default** domain (`dev->dma_iommu`):
//! an explicit `dma`, `dma-fq` or `identity` domain is that default; a `blocked` or
//! `unmanaged` (VFIO) domain is only attached on top of it, so the kernel still maps as
//! its default says while the hardware uses the attached domain (a disagreement the
//! findings report). The default is `kernel.default_domain`, made translated by memory
//! encryption or for untrusted devices (K3.2).
//!
//! - no IOMMU, or an identity default → **dma-direct** (K3.4): MMIO is not bounced, so a
//!   forced swiotlb (`swiotlb=force`, or any CC guest, K3.7) makes the mapping fail; the
//!   DMA address is the CPU physical address, unmodified (no `dma_range_map` offset, no
//!   CC bit), and must pass `dma_capable`: end ≤ `min_not_zero(dma_mask,
//!   bus_dma_limit)`, else `DMA_MAPPING_ERROR`;
//! - a `dma`/`dma-fq` default behind SMMUv3, VT-d or AMD-Vi → **iommu-dma** (K3.5): an
//!   IOVA from `k3_iova`;
//! - a translated default behind POWER TCE whose mask reaches the end of the host
//!   bridge's `direct_window` (and with no `bus_dma_limit`) → **dma-direct** through the
//!   64-bit direct window (`dma_ops_bypass`, `dma_go_direct`; [`tce_bypass`]): the MMIO
//!   mapping succeeds as dma-direct's always does, and the address is the BAR's CPU
//!   physical address (`dma_direct_map_phys` with `DMA_ATTR_MMIO`: `dma_addr = phys`,
//!   no window offset — the window's `base` offsets memory, `phys_to_dma`, not MMIO),
//!   checked by `dma_capable` against the mask; the same for `map_sg` of P2P pages
//!   (`dma_direct_map_sg` maps a `thru-host-bridge` page with `DMA_ATTR_MMIO`);
//! - any other translated default behind POWER TCE → **arch ops** (K3.6):
//!   `dma_iommu_ops` has no `map_resource` (nor an MMIO `map_phys`), so the MMIO
//!   mapping fails.
//!
//! Versions. The swiotlb failure is mainline's merged phys-API conversion
//! (`dma_direct_map_phys` checks `is_swiotlb_force_bounce` first and refuses
//! `DMA_ATTR_MMIO`); the development `kernel/dma/direct.h` of the leon/linux-rdma tree
//! maps MMIO before that check and hands out the raw PA even under force-bounce
//! (docs/research/kernel-facts.md, summary 8). POWER's bypass (kernel-facts.md, summary
//! 6) is `host_bridges[].direct_window` (status 38): `dma_ops_bypass` and
//! CONFIG_DMA_OPS_BYPASS date from 5.9 (powerpc's switch to the generic bypass), so
//! every release peerpath evaluates has them; the `map_page_direct` hooks were renamed
//! `arch_dma_map_phys_direct` with the phys-API conversion and never apply to MMIO.

use peerpath_model::{
    CcKind, DirectWindow, DirectWindowKind, DmaAddr, DomainType, Export, IommuId, IommuKind,
    NodeId, NodeKind, PhysAddr, Platform,
};
use peerpath_topology::Topology;

use crate::k3_iova::IovaSpace;

/// The importer's DMA path as output (`dma_path`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum DmaPath {
    /// `bus-addr`: no DMA API, a PCI bus address.
    BusAddress,
    /// iommu-dma: an IOVA in the importer's domain.
    IommuDma,
    /// dma-direct: the CPU physical address.
    DmaDirect,
    /// Architecture DMA ops (POWER TCE).
    ArchOps,
    /// Nothing is mapped.
    None,
}

impl DmaPath {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DmaPath::BusAddress => "bus-address",
            DmaPath::IommuDma => "iommu-dma",
            DmaPath::DmaDirect => "dma-direct",
            DmaPath::ArchOps => "arch-ops",
            DmaPath::None => "none",
        }
    }
}

/// Why the importer's path is what it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PathChoice {
    /// The path `thru-host-bridge` mappings take.
    pub path: DmaPath,
    /// The IOMMU behind the importer, if any.
    pub iommu: Option<IommuId>,
    /// The domain type the DMA API follows (the default domain); `None` without IOMMU.
    pub dma_api_domain: Option<DomainType>,
    /// POWER: the direct window the importer's mask reaches, which sends it to
    /// dma-direct (`dma_ops_bypass`); `None` elsewhere.
    pub direct_window: Option<DirectWindow>,
}

/// What forces swiotlb bouncing for every device (K3.7).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SwiotlbForce {
    /// `swiotlb=force`.
    Param,
    /// A confidential-computing guest (realm, SEV, TDX).
    Cc(CcKind),
}

/// Whether swiotlb bouncing is forced on this platform; CC wins over the parameter,
/// since it is the cause that cannot be turned off.
pub(crate) fn swiotlb_force(p: &Platform) -> Option<SwiotlbForce> {
    if p.kernel.cc != CcKind::None {
        Some(SwiotlbForce::Cc(p.kernel.cc))
    } else if p.kernel.swiotlb_force {
        Some(SwiotlbForce::Param)
    } else {
        None
    }
}

/// The importer's path (K3.3).
pub(crate) fn choose_path(topo: &Topology<'_>, importer: NodeId) -> PathChoice {
    let p = topo.platform();
    let Some(iommu) = topo.domain(importer).and_then(|d| d.iommu) else {
        return PathChoice {
            path: DmaPath::DmaDirect,
            iommu: None,
            dma_api_domain: None,
            direct_window: None,
        };
    };
    // The DMA API follows the device's default domain (`dev->dma_iommu`), also when a
    // blocked or unmanaged domain is attached on top (K3.2, derived once in topology).
    let ty = match topo.domain(importer) {
        Some(d) => match d.ty {
            t @ (DomainType::Dma | DomainType::DmaFq | DomainType::Identity) => t,
            _ => d.default_ty,
        },
        None => DomainType::Dma,
    };
    let mut direct_window = None;
    let path = match (ty, p.iommu(iommu).kind) {
        (DomainType::Identity, _) => DmaPath::DmaDirect,
        (_, IommuKind::Tce) => {
            direct_window = tce_bypass(topo, importer);
            if direct_window.is_some() {
                DmaPath::DmaDirect
            } else {
                DmaPath::ArchOps
            }
        }
        _ => DmaPath::IommuDma,
    };
    PathChoice {
        path,
        iommu: Some(iommu),
        dma_api_domain: Some(ty),
        direct_window,
    }
}

/// K3.3 on POWER: the direct window that puts a TCE importer on dma-direct, if its
/// mask reaches the window's end. `dma_iommu_dma_supported`
/// (arch/powerpc/kernel/dma-iommu.c) asks the PHB whether it can bypass for the mask
/// (`pnv_pci_ioda_iommu_bypass_supported`, powernv: `dma_mask >= tce_bypass_base +
/// memblock_end_of_DRAM() - 1`; `iommu_bypass_supported_pSeriesLP`, pseries: only a
/// 64-bit mask, then `enable_ddw` maps all memory directly) and sets
/// `dev->dma_ops_bypass` only when the device has no `bus_dma_limit` (else "64-bit OK
/// but direct DMA is limited by …", and MMIO stays on the TCE ops, which have no
/// `map_resource`). `dma_go_direct` (kernel/dma/mapping.c, CONFIG_DMA_OPS_BYPASS) then
/// takes dma-direct when `min_not_zero(mask, bus_dma_limit)` reaches
/// `dma_direct_get_required_mask`, the window's last address — the same test. (For
/// memory, not MMIO, a device with a `bus_dma_limit` may still go direct page by page
/// through `arch_dma_map_phys_direct`; `DMA_ATTR_MMIO` is excluded from that hook.)
pub(crate) fn tce_bypass(topo: &Topology<'_>, importer: NodeId) -> Option<DirectWindow> {
    let hb = topo.host_bridge_of(importer);
    let w = topo
        .platform()
        .nodes
        .get(hb.index())
        .and_then(|n| match &n.kind {
            NodeKind::HostBridge(h) => h.direct_window,
            _ => None,
        })?;
    let NodeKind::Endpoint(e) = &topo.platform().node(importer).kind else {
        return None;
    };
    if e.bus_dma_limit.is_some_and(|l| l != 0) {
        return None;
    }
    let mask = e.dma_mask();
    let reaches = match w.kind {
        DirectWindowKind::PhbBypass => mask >= w.last(),
        DirectWindowKind::Ddw => mask == u64::MAX,
    };
    reaches.then_some(w)
}

/// How a `thru-host-bridge` (or `bus-addr`) mapping ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapResult {
    /// Mapped: the address handed to the importer.
    Mapped(DmaAddr),
    /// dma-direct under forced swiotlb (K3.4, K3.7).
    SwiotlbForced(SwiotlbForce),
    /// dma-direct: `dma_capable` fails (K3.4).
    DmaMask {
        /// Last byte of the mapping.
        end: u64,
        /// `min_not_zero(dma_mask, bus_dma_limit)`.
        limit: u64,
    },
    /// iommu-dma: no IOVA fits below the limit (K3.5).
    IovaExhausted {
        /// Bytes requested.
        size: u64,
        /// `min_not_zero(dma_mask, bus_dma_limit)`.
        limit: u64,
    },
    /// Arch ops without `map_resource` (K3.6).
    NoMapResource,
}

/// `min_not_zero(dma_mask, bus_dma_limit)` of an endpoint.
pub(crate) fn dma_limit(p: &Platform, dev: NodeId) -> u64 {
    match &p.node(dev).kind {
        NodeKind::Endpoint(e) => match e.bus_dma_limit {
            Some(l) if l != 0 => e.dma_mask().min(l),
            _ => e.dma_mask(),
        },
        _ => u64::MAX,
    }
}

/// The CPU physical address of an export's first byte.
pub(crate) fn export_phys(p: &Platform, export: &Export) -> Option<PhysAddr> {
    match &p.node(export.device).kind {
        NodeKind::Endpoint(e) => e.bar(export.bar)?.range.start.checked_add(export.offset),
        _ => None,
    }
}

/// `pci_p2pdma_bus_addr_map`: the exporter host bridge window's bus address of the
/// CPU address (K1.2, K1.10, [`peerpath_model::Window::to_bus`]); the CPU address
/// itself outside every window.
pub(crate) fn bus_address(topo: &Topology<'_>, export: &Export) -> Option<DmaAddr> {
    let phys = export_phys(topo.platform(), export)?;
    let hb = topo.host_bridge(topo.host_bridge_of(export.device));
    let bus = hb.windows.iter().find_map(|w| w.to_bus(phys));
    Some(DmaAddr(bus.map_or(phys.0, |b| b.0)))
}

/// Maps an export for the importer along `choice` (K3.4–K3.7).
pub(crate) fn map_thru_host_bridge(
    topo: &Topology<'_>,
    importer: NodeId,
    export: &Export,
    choice: &PathChoice,
) -> Option<MapResult> {
    let p = topo.platform();
    let phys = export_phys(p, export)?;
    let limit = dma_limit(p, importer);
    Some(match choice.path {
        DmaPath::DmaDirect => {
            if let Some(force) = swiotlb_force(p) {
                MapResult::SwiotlbForced(force)
            } else {
                let end = phys.0.checked_add(export.size.saturating_sub(1))?;
                if end > limit {
                    MapResult::DmaMask { end, limit }
                } else {
                    // `dma_direct_map_resource`: the DMA address is the physical one.
                    MapResult::Mapped(DmaAddr(phys.0))
                }
            }
        }
        DmaPath::IommuDma => {
            let kind = p.iommu(choice.iommu?).kind;
            // `__iommu_dma_map`: whole pages are mapped and the IOVA keeps the
            // address's offset in its page (only K2.4's driver mappings can be
            // unaligned; K2.1 makes every other export page-aligned).
            let off = phys.0 % peerpath_model::PAGE_SIZE;
            let pages = export
                .size
                .saturating_add(off)
                .next_multiple_of(peerpath_model::PAGE_SIZE);
            match IovaSpace::for_device(topo, importer, kind).alloc(pages, limit) {
                Some(iova) => MapResult::Mapped(DmaAddr(iova + off)),
                None => MapResult::IovaExhausted {
                    size: export.size,
                    limit,
                },
            }
        }
        DmaPath::ArchOps => MapResult::NoMapResource,
        DmaPath::BusAddress | DmaPath::None => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;
    use peerpath_model::IommuKind;

    fn choice(p: &Platform, dev: &str) -> PathChoice {
        let topo = Topology::new(p);
        choose_path(&topo, p.node_by_name(dev).expect("dev"))
    }

    #[test]
    fn no_iommu_is_dma_direct_and_iommu_is_iommu_dma() {
        let p = testplat::switch_pair(|_| {});
        assert_eq!(choice(&p, "nic0").path, DmaPath::DmaDirect);
        let p = testplat::switch_pair(|b| testplat::add_iommu(b, IommuKind::Smmuv3));
        assert_eq!(choice(&p, "nic0").path, DmaPath::IommuDma);
        let p = testplat::switch_pair(|b| testplat::add_iommu(b, IommuKind::Tce));
        assert_eq!(choice(&p, "nic0").path, DmaPath::ArchOps);
    }

    #[test]
    fn identity_default_is_dma_direct_unless_untrusted_or_cc() {
        let p = testplat::switch_pair(|b| {
            testplat::add_iommu(b, IommuKind::Smmuv3);
            b.kernel().default_domain = DomainType::Identity;
        });
        assert_eq!(choice(&p, "nic0").path, DmaPath::DmaDirect);
        let p = testplat::switch_pair(|b| {
            testplat::add_iommu(b, IommuKind::Smmuv3);
            b.kernel().default_domain = DomainType::Identity;
            let nic = b.platform_mut().node_by_name("nic0").expect("nic0");
            b.endpoint_mut(nic).trusted = false;
        });
        assert_eq!(choice(&p, "nic0").path, DmaPath::IommuDma);
    }

    #[test]
    fn dma_direct_checks_swiotlb_then_the_mask() {
        let p = testplat::switch_pair(|b| {
            let nic = b.platform_mut().node_by_name("nic0").expect("nic0");
            b.endpoint_mut(nic).dma_mask_bits = 32;
        });
        let topo = Topology::new(&p);
        let nic = p.node_by_name("nic0").expect("nic0");
        let c = choose_path(&topo, nic);
        assert!(matches!(
            map_thru_host_bridge(&topo, nic, &p.exports[0], &c),
            Some(MapResult::DmaMask {
                limit: 0xffff_ffff,
                ..
            })
        ));
        let mut q = p.clone();
        q.kernel.swiotlb_force = true;
        let topo = Topology::new(&q);
        assert_eq!(
            map_thru_host_bridge(&topo, nic, &q.exports[0], &c),
            Some(MapResult::SwiotlbForced(SwiotlbForce::Param))
        );
        q.kernel.cc = CcKind::ArmCcaRealm;
        let topo = Topology::new(&q);
        assert_eq!(
            map_thru_host_bridge(&topo, nic, &q.exports[0], &c),
            Some(MapResult::SwiotlbForced(SwiotlbForce::Cc(
                CcKind::ArmCcaRealm
            )))
        );
    }

    #[test]
    fn bus_address_adds_the_window_offset() {
        let mut p = testplat::switch_pair(|_| {});
        let topo = Topology::new(&p);
        assert_eq!(
            bus_address(&topo, &p.exports[0]),
            Some(DmaAddr(0x40_0000_0000))
        );
        if let NodeKind::HostBridge(hb) = &mut p.nodes[0].kind {
            hb.windows[0].bus = peerpath_model::BusAddr(0x1000_0000);
        }
        let topo = Topology::new(&p);
        assert_eq!(
            bus_address(&topo, &p.exports[0]),
            Some(DmaAddr(0x1000_0000))
        );
    }
}

#[cfg(test)]
mod regression_tests {
    use super::*;
    use peerpath_model::{IommuKind, PlatformBuilder};

    /// Found by the scenario review: the DMA API followed the device's own `trusted`
    /// flag, while the kernel picks the default domain per group
    /// (`iommu_get_default_domain_type`): one untrusted member forces `dma` on all.
    #[test]
    fn untrusted_group_member_forces_translation_on_the_whole_group() {
        let mut b = PlatformBuilder::new("t");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let iommu = b.iommu("smmu0", IommuKind::Smmuv3);
        b.host_bridge_mut(hb).iommu = Some(iommu);
        b.kernel().default_domain = DomainType::Identity;
        // A root port without ACS: both functions below it share its group (K4.3).
        let rp = b.root_port("rp0", hb, "00:01.0", 256);
        let nic = b.endpoint("nic0", rp, "01:00.0", 0x40_0000_0000, 0x10_0000);
        let ext = b.endpoint("ext0", rp, "01:00.1", 0x40_0010_0000, 0x10_0000);
        b.endpoint_mut(ext).trusted = false;
        b.domain("blk", DomainType::Blocked, &[nic]);
        let p = b.build();
        let topo = Topology::new(&p);
        assert_eq!(topo.groups().group_of(nic), topo.groups().group_of(ext));
        assert_eq!(choose_path(&topo, nic).path, DmaPath::IommuDma);
        assert_eq!(
            choose_path(&topo, nic).dma_api_domain,
            Some(DomainType::Dma)
        );
    }
}
