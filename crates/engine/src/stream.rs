//! H3 — requester IDs on the wire and StreamIDs (`iommu-map`:
//! `sid = rid - rid_base + sid_base`).

use peerpath_model::{NodeId, NodeKind, Rid, StreamId};
use peerpath_topology::Topology;

/// The requester ID a device's DMA carries on the wire: its own, or, below a
/// PCIe-to-PCI bridge, the topmost such bridge's (a DMA alias, platform-format.md
/// `bridges`). `None` for host bridges.
pub fn wire_rid(topo: &Topology<'_>, dev: NodeId) -> Option<Rid> {
    let p = topo.platform();
    // Nearest first, so the last bridge found is the topmost.
    let alias = topo
        .upstream_chain(dev)
        .into_iter()
        .rev()
        .find(|n| matches!(p.node(*n).kind, NodeKind::PciBridge(_)));
    topo.bdf(alias.unwrap_or(dev)).map(|b| b.rid())
}

/// The StreamID of a device's DMA at its host bridge's IOMMU (H3): the wire RID
/// through the IOMMU's `stream_map` (identity when empty). `None` when the device has
/// no RID (a host bridge) or the map does not cover it. Without an IOMMU, the RID.
///
/// The map is keyed by the 16-bit RID alone, as `iommu-map` is per root complex;
/// peerpath's `stream_map` is per IOMMU, so two segments sharing one IOMMU share it.
pub fn stream_id(topo: &Topology<'_>, dev: NodeId) -> Option<StreamId> {
    let rid = wire_rid(topo, dev)?;
    let Some(iommu) = topo.iommu_of(dev) else {
        return Some(StreamId(u32::from(rid.0)));
    };
    map_rid(&topo.platform().iommu(iommu).stream_map, rid)
}

/// `rid` through one `stream_map` (identity when empty).
pub(crate) fn map_rid(map: &[peerpath_model::StreamMapEntry], rid: Rid) -> Option<StreamId> {
    if map.is_empty() {
        return Some(StreamId(u32::from(rid.0)));
    }
    let rid = u32::from(rid.0);
    map.iter()
        .find(|e| rid >= e.rid_base && rid - e.rid_base < e.length)
        .and_then(|e| (rid - e.rid_base).checked_add(e.sid_base))
        .map(StreamId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerpath_model::{IommuKind, PlatformBuilder, StreamMapEntry};

    #[test]
    fn stream_map_offsets_and_aliases() {
        let mut b = PlatformBuilder::new("t");
        let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
        b.iommu_mut(smmu).stream_map = vec![StreamMapEntry {
            rid_base: 0x100,
            sid_base: 0x8000,
            length: 0x100,
        }];
        let hb = b.host_bridge("hb0", 0, 0x1000_0000, 0x1000_0000);
        b.host_bridge_mut(hb).iommu = Some(smmu);
        let rp = b.root_port("rp0", hb, "00:01.0", 256);
        let ep = b.endpoint("ep", rp, "01:00.0", 0x1000_0000, 0x1000);
        let rp2 = b.root_port("rp1", hb, "00:02.0", 256);
        let br = b.pci_bridge("br", rp2, "02:00.0");
        let legacy = b.endpoint("legacy", br, "03:04.0", 0x1001_0000, 0x1000);
        let p = b.build();
        let topo = Topology::new(&p);
        assert_eq!(stream_id(&topo, ep), Some(StreamId(0x8000)));
        assert_eq!(wire_rid(&topo, legacy), Some(Rid(0x0200)));
        // 0x0200 is outside the map.
        assert_eq!(stream_id(&topo, legacy), None);
        assert_eq!(stream_id(&topo, hb), None);
    }
}
