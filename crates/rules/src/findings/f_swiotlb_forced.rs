//! `swiotlb-forced` (error) — K3.4, K3.7: `swiotlb=force` makes dma-direct bounce
//! every mapping, and MMIO cannot be bounced, so the importer's mapping fails.
//!
//! Raised when the importer's `thru-host-bridge` mapping takes dma-direct and
//! `kernel.swiotlb_force` is set outside a CC guest (a CC guest raises
//! `cc-swiotlb-forced` instead). `bus-addr` pairings never call the DMA API and are not
//! affected. The subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k3_dma_path::{MapResult, SwiotlbForce};

/// Raises `swiotlb-forced`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    if cx.k.why.result != Some(MapResult::SwiotlbForced(SwiotlbForce::Param)) {
        return;
    }
    let imp = cx.name(cx.importer());
    out.push(
        Finding::new(
            Code::SwiotlbForced,
            imp,
            format!(
                "swiotlb=force makes dma-direct bounce every mapping and MMIO cannot be bounced: mapping {} for {imp} fails",
                cx.export().name
            ),
        )
        .with("path", "dma-direct")
        .with("swiotlb_force", true)
        .fix(format!(
            "drop swiotlb=force, or give {imp} a translating IOMMU domain (iommu-dma does not bounce page-aligned MMIO)"
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of};

    /// nic0 ← gpu0 across two root ports of an allow-listed host bridge, no IOMMU:
    /// dma-direct, which `swiotlb=force` makes bounce.
    #[test]
    fn swiotlb_force_fails_a_dma_direct_mmio_mapping() {
        let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
            b.kernel().swiotlb_force = true;
        });
        assert_eq!(
            findings_of(&p, "nic0", "gpu0-bar0"),
            [("swiotlb-forced", "nic0".to_owned())]
        );
        let p = testplat::two_host_bridges(0x2f00, 0x2f00);
        assert_eq!(findings_of(&p, "nic0", "gpu0-bar0"), []);
    }

    /// A `bus-addr` pairing never calls the DMA API.
    #[test]
    fn bus_addr_pairings_are_not_bounced() {
        let p = testplat::switch_pair(|b| b.kernel().swiotlb_force = true);
        assert_eq!(findings_of(&p, "nic0", "gpu0-bar0"), []);
    }
}
