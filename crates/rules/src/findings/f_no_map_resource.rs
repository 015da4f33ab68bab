//! `no-map-resource` (error) — K3.6: the importer's DMA goes through architecture DMA
//! ops that cannot map MMIO.
//!
//! Raised when the `thru-host-bridge` mapping takes arch ops (POWER TCE,
//! `dma_iommu_ops`): MMIO needs `map_resource`, which those ops lack, so
//! `dma_map_resource` returns `DMA_MAPPING_ERROR`. The subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k3_dma_path::MapResult;

/// Raises `no-map-resource`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    if cx.k.why.result != Some(MapResult::NoMapResource) {
        return;
    }
    let imp = cx.name(cx.importer());
    let iommu = cx.k.why.path.iommu.map(|i| cx.p().iommu(i).name.clone());
    out.push(
        Finding::new(
            Code::NoMapResource,
            imp,
            format!(
                "{imp} maps DMA through architecture ops (POWER TCE) without map_resource: mapping the MMIO of {} returns DMA_MAPPING_ERROR",
                cx.export().name
            ),
        )
        .with("path", "arch-ops")
        .with("iommu", iommu)
        .fix(
            "none for MMIO through TCE ops; P2P needs bus-addr (a common switch without ACS redirect)"
                .to_owned(),
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, pair_result};
    use crate::DmaPath;
    use peerpath_model::{Arch, IommuKind};

    /// ppc64 with a TCE IOMMU on an allow-listed host bridge (hypothetical, as
    /// f-no-map-resource.yaml): the thru-host-bridge mapping goes through the TCE ops,
    /// which lack `map_resource` (K3.6).
    #[test]
    fn tce_ops_cannot_map_mmio() {
        let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
            b.kernel().arch = Arch::Ppc64;
            testplat::add_iommu(b, IommuKind::Tce);
        });
        let r = pair_result(&p, "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.dma_path, DmaPath::ArchOps);
        let codes: Vec<_> = r.findings.iter().map(|f| f.code.as_str()).collect();
        assert!(codes.contains(&"no-map-resource"), "{codes:?}");
        // The same pairing with VT-d maps through iommu-dma.
        let p = testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
            testplat::add_iommu(b, IommuKind::Vtd);
        });
        assert!(findings_of(&p, "nic0", "gpu0-bar0")
            .iter()
            .all(|(c, _)| *c != "no-map-resource"));
    }
}
