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
