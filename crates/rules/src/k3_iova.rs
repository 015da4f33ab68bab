//! K3.5 — IOVA allocation for an MMIO mapping (`drivers/iommu/dma-iommu.c`:
//! `iommu_dma_alloc_iova`, `iova_reserve_pci_windows`, `iova_reserve_iommu_regions`;
//! `drivers/iommu/iova.c`: `alloc_iova_fast`, `__alloc_and_insert_iova_range`; the
//! IOMMU drivers' `get_resv_regions`).
//!
//! iommu-dma allocates below the device's limit, `min_not_zero(dma_mask,
//! bus_dma_limit)` capped by the domain aperture; a PCI device first tries below 4 GiB
//! (the SAC trick, `pci_32bit_workaround`) and only then the full limit. Sizes under 32
//! pages are rounded up to a power of two, and every allocation is aligned to its size
//! rounded up to a power of two. The allocator searches top-down: the highest free,
//! aligned range wins. Reserved, never allocated: the importer's host bridge windows as
//! bus addresses (`iova_reserve_pci_windows`, so an IOVA never aliases a peer's BAR) and
//! the IOMMU's reserved regions — the SMMUv3 software MSI window (0x800_0000, 1 MiB),
//! the x86 interrupt range (0xfee0_0000–0xfeef_ffff) and, for AMD-Vi, the HyperTransport
//! hole (0xfd_0000_0000–0xff_ffff_ffff).
//!
//! peerpath evaluates each pairing in a fresh domain, as if its buffer were the only
//! mapping, so that `explain` of one pairing gives the same IOVA as `simulate` of all.
//! The aperture is taken as 48 bits (SMMUv3 IAS, VT-d and AMD-Vi 4-level tables).

use peerpath_model::{AddrRange, IommuKind, NodeId, PAGE_SIZE};
use peerpath_topology::Topology;

/// The last address of a 48-bit aperture.
pub(crate) const APERTURE_END: u64 = (1 << 48) - 1;

/// `DMA_BIT_MASK(32)`.
const MASK_32: u64 = 0xffff_ffff;

/// `IOVA_RANGE_CACHE_MAX_SIZE`: allocations under 2^(6-1) pages are rounded to a power
/// of two.
const ROUND_BELOW_PAGES: u64 = 1 << 5;

/// One importer's IOVA space: what is reserved in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IovaSpace {
    /// Reserved ranges, sorted by start.
    pub reserved: Vec<AddrRange>,
}

impl IovaSpace {
    /// The space of a device behind `kind`: its host bridge's windows (bus addresses)
    /// and the IOMMU's reserved regions.
    pub(crate) fn for_device(topo: &Topology<'_>, dev: NodeId, kind: IommuKind) -> Self {
        let hb = topo.host_bridge(topo.host_bridge_of(dev));
        let mut reserved: Vec<AddrRange> = hb
            .windows
            .iter()
            .filter_map(|w| w.bus_range().map(|r| r.untyped()))
            .collect();
        let regions: &[(u64, u64)] = match kind {
            IommuKind::Smmuv3 => &[(0x800_0000, 0x10_0000)],
            IommuKind::Vtd => &[(0xfee0_0000, 0x10_0000)],
            IommuKind::AmdVi => &[(0xfee0_0000, 0x10_0000), (0xfd_0000_0000, 0x3_0000_0000)],
            IommuKind::Tce => &[],
        };
        reserved.extend(
            regions
                .iter()
                .filter_map(|(s, n)| AddrRange::from_start_and_size(*s, *n)),
        );
        reserved.sort();
        Self { reserved }
    }

    /// `iommu_dma_alloc_iova(size, dma_limit)`: the IOVA, or `None` when nothing fits.
    pub(crate) fn alloc(&self, size: u64, dma_limit: u64) -> Option<u64> {
        let mut pages = size.div_ceil(PAGE_SIZE).max(1);
        if pages < ROUND_BELOW_PAGES {
            pages = pages.next_power_of_two();
        }
        let len = pages.checked_mul(PAGE_SIZE)?;
        let align = pages.checked_next_power_of_two()?.checked_mul(PAGE_SIZE)?;
        let limit = dma_limit.min(APERTURE_END);
        if limit > MASK_32 {
            if let Some(iova) = self.alloc_below(len, align, MASK_32) {
                return Some(iova);
            }
        }
        self.alloc_below(len, align, limit)
    }

    /// Top-down first fit of `len` bytes aligned to `align`, ending at or below `limit`,
    /// never at IOVA 0's page.
    fn alloc_below(&self, len: u64, align: u64, limit: u64) -> Option<u64> {
        let align_down = |a: u64| a & !(align - 1);
        let mut start = align_down(limit.checked_add(1)?.checked_sub(len)?);
        loop {
            if start < PAGE_SIZE {
                return None;
            }
            let cand = AddrRange::from_start_and_size(start, len)?;
            match self.reserved.iter().rev().find(|r| r.overlaps(&cand)) {
                None => return Some(start),
                Some(r) => start = align_down(r.start.checked_sub(len)?),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(reserved: &[(u64, u64)]) -> IovaSpace {
        let mut reserved: Vec<AddrRange> = reserved
            .iter()
            .filter_map(|(s, n)| AddrRange::from_start_and_size(*s, *n))
            .collect();
        reserved.sort();
        IovaSpace { reserved }
    }

    #[test]
    fn small_buffers_go_just_below_4g() {
        let s = space(&[(0xfee0_0000, 0x10_0000)]);
        assert_eq!(s.alloc(0x1000, u64::MAX), Some(0xffff_f000));
        // 3 pages round up to 4, aligned to 16 KiB.
        assert_eq!(s.alloc(0x3000, u64::MAX), Some(0xffff_c000));
    }

    #[test]
    fn reserved_ranges_are_skipped_with_alignment() {
        let s = space(&[(0xfee0_0000, 0x10_0000)]);
        assert_eq!(s.alloc(0x1000_0000, u64::MAX), Some(0xe000_0000));
    }

    #[test]
    fn falls_back_above_4g_then_fails() {
        let s = space(&[]);
        // 8 GiB does not fit below 4 GiB: allocated at the top of the 48-bit aperture.
        assert_eq!(s.alloc(0x2_0000_0000, u64::MAX), Some(0xfffe_0000_0000));
        // With a 32-bit mask it cannot fit at all.
        assert_eq!(s.alloc(0x2_0000_0000, MASK_32), None);
        // A 16 MiB limit and a 16 MiB buffer: only IOVA 0 would fit, which is never used.
        assert_eq!(s.alloc(0x100_0000, 0xff_ffff), None);
    }

    #[test]
    fn host_bridge_window_below_4g_is_avoided() {
        let s = space(&[(0xc000_0000, 0x4000_0000)]);
        assert_eq!(s.alloc(0x1000, u64::MAX), Some(0xbfff_f000));
    }
}
