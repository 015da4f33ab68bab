//! H3 — requester IDs on the wire and StreamIDs (`iommu-map`:
//! `sid = rid - rid_base + sid_base`).
//!
//! **One map per root complex.** The RID carries no segment, so the StreamID space is
//! told apart per root complex by firmware: ACPI IORT gives each PCI root complex node
//! its own ID mappings, matched to a device by `pci_rc->pci_segment_number ==
//! pci_domain_nr(bus)` (`drivers/acpi/arm64/iort.c`: `iort_match_node_callback`, then
//! `iort_node_map_id` in `iort_pci_iommu_init`), and devicetree gives each host bridge
//! node its own `iommu-map` (`Documentation/devicetree/bindings/pci/pci-iommu.txt`,
//! `of_map_id`). So `host_bridges[].stream_map` is read first; a host bridge without
//! one uses its IOMMU's `stream_map` (identity when empty), which is peerpath's
//! behaviour before issue 22 and one shared map for every segment behind the IOMMU.
//!
//! **Two requesters, one StreamID.** When the maps send two requesters behind one
//! SMMUv3 (another segment or another RID) to one StreamID, the SMMU holds one STE for
//! both: they share its translation context. The kernel notices at probe:
//! `arm_smmu_insert_master` (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c`) finds the
//! StreamID already in `smmu->streams` from another master, warns "stream %u already
//! in tree" (later releases add "from dev %s"; which release was not checked) and
//! fails the second device's probe with `-EINVAL`; only duplicate IDs of one master
//! ("Bridged PCI devices may end up with duplicated IDs") are accepted. Releases
//! before that tree kept the IDs per master only (`master->sids`, written by
//! `arm_smmu_install_ste_for_dev`): nothing refuses the second device there, and the
//! last STE written for the StreamID serves both. The release that added the tree (the
//! patch that turns `master->sids` into `master->streams`) was not verified.
//! peerpath follows the hardware and the spec (both share one context and group,
//! `topology::groups`) and reports it as `stream-id-alias`; docs/status.md says where
//! this differs from the kernel's refusal.

use peerpath_model::{NodeId, Rid, StreamId};
use peerpath_topology::Topology;

/// The requester ID a device's DMA carries on the wire: its own, or, below a
/// PCIe-to-PCI bridge, the topmost such bridge's (a DMA alias, platform-format.md
/// `bridges`). `None` for host bridges.
pub fn wire_rid(topo: &Topology<'_>, dev: NodeId) -> Option<Rid> {
    topo.wire_rid(dev)
}

/// The StreamID of a device's DMA at its host bridge's IOMMU (H3): the wire RID
/// through the host bridge's own `stream_map` when it has one, else the IOMMU's
/// (identity when empty). `None` when the device has no RID (a host bridge) or the map
/// does not cover it. Without an IOMMU, the RID. Derived once by the topology.
pub fn stream_id(topo: &Topology<'_>, dev: NodeId) -> Option<StreamId> {
    topo.stream_id(dev)
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
