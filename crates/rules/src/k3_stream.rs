//! K3.2, H2, H3 — the importer's stream as the kernel leaves it
//! (`drivers/iommu/iommu.c`: `__iommu_attach_device`, `iommu_group_alloc_default_domain`;
//! `drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c`: `arm_smmu_attach_dev`,
//! `arm_smmu_attach_dev_identity`, `arm_smmu_attach_dev_blocked`, `arm_smmu_ats_supported`,
//! `disable_bypass`).
//!
//! The hardware translates with the domain **attached** to the importer, which is not
//! always the one the DMA API mapped into (K3.1, K3.3): no IOMMU → no STE; an
//! `identity` domain → bypass; `blocked` → abort; `dma`/`dma-fq` → translate with the
//! page table holding exactly what iommu-dma mapped for this pairing (the IOVA, the
//! BAR's physical address, read/write, the memory type of K2/K3.5); `unmanaged` (VFIO,
//! iommufd) → translate with a page table the kernel's DMA API never touched (the VMM's
//! mappings are not modelled, so it holds nothing of this buffer). A device behind an
//! IOMMU with no domain is an unattached stream, which the engine aborts under
//! `disable_bypass` (the Linux default) and bypasses otherwise.
//!
//! ATS (H2): the kernel enables it only when the device has the capability and is
//! trusted (`pci_ats_supported`), the IOMMU supports it (`iommus[].ats`), `pci=noats`
//! is not given and the attached domain is a paging domain — SMMUv3 clears EATS for
//! bypass and abort STEs; peerpath applies the same rule to every IOMMU kind.

use peerpath_engine::{IoPageTable, MemAttr, Prot, Ste, StreamSetup};
use peerpath_model::{DomainType, Iova, NodeId, PhysAddr};
use peerpath_topology::Topology;

use crate::k2_dmabuf::MemType;
use crate::kernel::{KernelDecision, Regime};

/// The engine's memory attribute of a K2/K3 memory type.
pub(crate) fn mem_attr(m: MemType) -> MemAttr {
    match m {
        MemType::Device => MemAttr::Device,
        MemType::NormalWb => MemAttr::NormalWb,
        MemType::NormalNc => MemAttr::NormalNc,
    }
}

/// The attached domain's type, if the importer is behind an IOMMU with a domain.
pub(crate) fn attached_domain(topo: &Topology<'_>, dev: NodeId) -> Option<DomainType> {
    topo.domain(dev).filter(|d| d.iommu.is_some()).map(|d| d.ty)
}

/// Whether the kernel enables ATS on the device (H2).
pub(crate) fn ats_enabled(topo: &Topology<'_>, dev: NodeId) -> bool {
    let p = topo.platform();
    let Some(d) = topo.domain(dev) else {
        return false;
    };
    let Some(iommu) = d.iommu else {
        return false;
    };
    let paging = matches!(
        d.ty,
        DomainType::Dma | DomainType::DmaFq | DomainType::Unmanaged
    );
    topo.endpoint(dev).is_some_and(|e| e.ats && e.trusted)
        && p.iommu(iommu).ats
        && !p.kernel.noats
        && paging
}

/// Maps `size` bytes at IOVA `iova` to `pa` read/write as whole pages, the pages
/// around a range that starts inside one included (`__iommu_dma_map`); nothing where
/// the two offsets into their pages differ (no page table can map that).
pub(crate) fn map_whole_pages(
    table: &mut IoPageTable,
    iova: u64,
    pa: u64,
    size: u64,
    attr: MemAttr,
) {
    let off = pa % peerpath_model::PAGE_SIZE;
    if iova % peerpath_model::PAGE_SIZE != off {
        return;
    }
    let _ = table.map(
        Iova(iova - off),
        PhysAddr(pa - off),
        (size + off).next_multiple_of(peerpath_model::PAGE_SIZE),
        Prot::rw(attr),
    );
}

/// The importer's `StreamSetup` for the kernel's decision (K3.2, H2, H3).
pub(crate) fn stream_setup(topo: &Topology<'_>, k: &KernelDecision) -> StreamSetup {
    let dev = k.why.importer;
    let ste = match attached_domain(topo, dev) {
        None => Ste::NoIommu,
        Some(DomainType::Identity) => Ste::Bypass,
        Some(DomainType::Blocked) => Ste::Abort,
        Some(DomainType::Unmanaged) => Ste::Translate(IoPageTable::new()),
        Some(DomainType::Dma | DomainType::DmaFq) => {
            let mut table = IoPageTable::new();
            if let Some(m) = k.why.mapping.filter(|m| m.regime == Regime::Iova) {
                // The kernel maps whole pages (K2.1 makes the export page-aligned); a
                // refused map leaves the table without it, which the route then shows.
                // A driver's `dma_map_resource` (K2.4) may start inside a page:
                // `__iommu_dma_map` maps the whole pages around it.
                map_whole_pages(&mut table, m.dma.0, m.phys.0, m.size, mem_attr(m.mem));
            }
            Ste::Translate(table)
        }
    };
    StreamSetup {
        requester: dev,
        ste,
        ats_enabled: ats_enabled(topo, dev),
    }
}
