//! `dma-mask` (error) — K3.4, K3.5: the importer's DMA limit cannot reach the buffer.
//!
//! Raised when dma-direct's `dma_capable` fails for the MMIO mapping — its last byte
//! lies above `min_not_zero(dma_mask, bus_dma_limit)`, `DMA_MAPPING_ERROR` — and, on
//! iommu-dma, when no IOVA of the buffer's size fits below that limit (K3.5). The
//! subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};
use crate::hex::json;
use crate::k3_dma_path::MapResult;

/// Raises `dma-mask`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    let ep = cx.topo.endpoint(cx.importer());
    let bits = ep.map_or(64, |e| e.dma_mask_bits);
    let bus_limit = ep.and_then(|e| e.bus_dma_limit);
    let export = cx.export();
    let f = match cx.k.why.result {
        Some(MapResult::DmaMask { end, limit }) => Finding::new(
            Code::DmaMask,
            imp,
            format!(
                "dma-direct hands {imp} the physical address of {}, which ends at {end:#x}, above its DMA limit {limit:#x}: dma_capable fails (DMA_MAPPING_ERROR)",
                export.name
            ),
        )
        .with("path", "dma-direct")
        .with("end", json(end))
        .with("limit", json(limit))
        .fix(format!(
            "give {imp} a DMA mask covering {end:#x}, or a translating IOMMU domain (iommu-dma allocates an IOVA below the mask)"
        )),
        Some(MapResult::IovaExhausted { size, limit }) => Finding::new(
            Code::DmaMask,
            imp,
            format!(
                "iommu-dma finds no free {size:#x}-byte IOVA below {imp}'s DMA limit {limit:#x} for {}",
                export.name
            ),
        )
        .with("path", "iommu-dma")
        .with("size", json(size))
        .with("limit", json(limit))
        .fix(format!("widen {imp}'s DMA mask or export a smaller range")),
        _ => return,
    };
    out.push(
        f.with("dma_mask_bits", bits)
            .with("bus_dma_limit", bus_limit.map(json)),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, node, pair_result};
    use crate::DmaPath;
    use peerpath_model::IommuKind;

    #[test]
    fn no_iova_fits_below_a_tiny_bus_limit() {
        let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
            testplat::add_iommu(b, IommuKind::Vtd);
            let nic = node(b, "nic0");
            b.endpoint_mut(nic).bus_dma_limit = Some(0xff_ffff);
        });
        let r = pair_result(&p, "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.dma_path, DmaPath::IommuDma);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].code.as_str(), "dma-mask");
        assert_eq!(r.findings[0].evidence["path"], "iommu-dma");
    }
}
