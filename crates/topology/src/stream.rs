//! H3 StreamIDs, derived once: each requester's RID on the wire, its StreamID through
//! its host bridge's `stream_map` (else its IOMMU's), and which requesters behind one
//! SMMU share a StreamID. The engine (`peerpath_engine::stream_id`) and the groups
//! read these; the rule text lives in `engine/src/stream.rs`.

use std::collections::BTreeMap;

use peerpath_model::{IommuId, IommuKind, NodeId, NodeKind, Rid, StreamId, StreamMapEntry};

use crate::Topology;

/// The requester ID a device's DMA carries on the wire: its own, or, below a
/// PCIe-to-PCI bridge, the topmost such bridge's. `None` for host bridges.
pub(crate) fn wire_rid(topo: &Topology<'_>, dev: NodeId) -> Option<Rid> {
    let p = topo.platform();
    // Nearest first, so the last bridge found is the topmost.
    let alias = topo
        .upstream_chain(dev)
        .into_iter()
        .rev()
        .find(|n| matches!(p.node(*n).kind, NodeKind::PciBridge(_)));
    topo.bdf(alias.unwrap_or(dev)).map(|b| b.rid())
}

/// The map that turns a device's RID into a StreamID: its host bridge's own
/// `stream_map` when it has one, else its IOMMU's (`None` without an IOMMU).
pub(crate) fn stream_map<'p>(topo: &Topology<'p>, dev: NodeId) -> Option<&'p [StreamMapEntry]> {
    let iommu = topo.iommu_of(dev)?;
    let hb = topo.host_bridge(topo.host_bridge_of(dev));
    if hb.stream_map.is_empty() {
        Some(&topo.platform().iommu(iommu).stream_map)
    } else {
        Some(&hb.stream_map)
    }
}

/// `rid` through one `stream_map` (identity when empty).
pub(crate) fn map_rid(map: &[StreamMapEntry], rid: Rid) -> Option<StreamId> {
    if map.is_empty() {
        return Some(StreamId(u32::from(rid.0)));
    }
    let rid = u32::from(rid.0);
    map.iter()
        .find(|e| rid >= e.rid_base && rid - e.rid_base < e.length)
        .and_then(|e| (rid - e.rid_base).checked_add(e.sid_base))
        .map(StreamId)
}

/// Each node's StreamID (`None`: no RID, or outside the map; without an IOMMU, the RID).
pub(crate) fn derive_sids(topo: &Topology<'_>) -> Vec<Option<StreamId>> {
    topo.platform()
        .node_ids()
        .map(|dev| {
            let rid = wire_rid(topo, dev)?;
            match stream_map(topo, dev) {
                Some(map) => map_rid(map, rid),
                None => Some(StreamId(u32::from(rid.0))),
            }
        })
        .collect()
}

/// For each node: the other requesters behind the same SMMUv3 with the same StreamID
/// but another (segment, RID) — two requesters the SMMU cannot tell apart. Requesters
/// are the functions the kernel probes (every node below a host bridge with an IOMMU);
/// two functions with one wire RID (below one PCIe-to-PCI bridge) are DMA aliases of
/// one requester, not this. Sorted by node id.
pub(crate) fn derive_aliases(topo: &Topology<'_>, sids: &[Option<StreamId>]) -> Vec<Vec<NodeId>> {
    let p = topo.platform();
    let mut by_sid: BTreeMap<(IommuId, StreamId), Vec<NodeId>> = BTreeMap::new();
    for dev in p.node_ids() {
        if matches!(p.node(dev).kind, NodeKind::HostBridge(_)) {
            continue;
        }
        let Some(iommu) = topo.iommu_of(dev) else {
            continue;
        };
        if p.iommu(iommu).kind != IommuKind::Smmuv3 {
            continue;
        }
        if let Some(sid) = sids[dev.index()] {
            by_sid.entry((iommu, sid)).or_default().push(dev);
        }
    }
    let mut out = vec![Vec::new(); p.nodes.len()];
    let requester = |d: NodeId| (topo.bdf(d).map(|b| b.segment), wire_rid(topo, d));
    for devs in by_sid.values().filter(|d| d.len() > 1) {
        for &a in devs {
            out[a.index()] = devs
                .iter()
                .copied()
                .filter(|&b| requester(b) != requester(a))
                .collect();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerpath_model::{IommuKind, PlatformBuilder};

    /// Two segments behind one SMMU, a GPU at 01:00.0 on each.
    fn two_segments(hb1_map: Vec<StreamMapEntry>) -> PlatformBuilder {
        let mut b = PlatformBuilder::new("t");
        let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
        let hb0 = b.host_bridge("hb0", 0, 0x1000_0000, 0x1000_0000);
        b.host_bridge_mut(hb0).iommu = Some(smmu);
        let hb1 = b.host_bridge("hb1", 1, 0x2000_0000, 0x1000_0000);
        b.host_bridge_mut(hb1).iommu = Some(smmu);
        b.host_bridge_mut(hb1).stream_map = hb1_map;
        let rp0 = b.root_port("rp0", hb0, "0000:00:01.0", 256);
        b.endpoint("gpu0", rp0, "0000:01:00.0", 0x1000_0000, 0x1000);
        let rp1 = b.root_port("rp1", hb1, "0001:00:02.0", 256);
        b.endpoint("gpu1", rp1, "0001:01:00.0", 0x2000_0000, 0x1000);
        b
    }

    fn names(topo: &Topology<'_>, ids: &[NodeId]) -> Vec<String> {
        ids.iter().map(|i| topo.name(*i).to_owned()).collect()
    }

    #[test]
    fn equal_rids_on_two_segments_alias_under_the_iommu_map() {
        let p = two_segments(Vec::new()).build();
        let topo = Topology::new(&p);
        let gpu0 = p.node_by_name("gpu0").expect("node");
        let gpu1 = p.node_by_name("gpu1").expect("node");
        assert_eq!(topo.stream_id(gpu0), Some(StreamId(0x100)));
        assert_eq!(topo.stream_id(gpu1), Some(StreamId(0x100)));
        assert_eq!(names(&topo, topo.stream_aliases(gpu0)), ["gpu1"]);
        assert_eq!(names(&topo, topo.stream_aliases(gpu1)), ["gpu0"]);
        // The root ports differ in device number: no alias.
        let rp0 = p.node_by_name("rp0").expect("node");
        assert!(topo.stream_aliases(rp0).is_empty());
    }

    #[test]
    fn a_host_bridge_map_moves_its_segment_apart() {
        let p = two_segments(vec![StreamMapEntry {
            rid_base: 0,
            sid_base: 0x1_0000,
            length: 0x1_0000,
        }])
        .build();
        let topo = Topology::new(&p);
        let gpu0 = p.node_by_name("gpu0").expect("node");
        let gpu1 = p.node_by_name("gpu1").expect("node");
        assert_eq!(topo.stream_id(gpu0), Some(StreamId(0x100)));
        assert_eq!(topo.stream_id(gpu1), Some(StreamId(0x1_0100)));
        assert!(topo.stream_aliases(gpu0).is_empty());
        assert!(topo.stream_aliases(gpu1).is_empty());
    }

    #[test]
    fn a_host_bridge_map_can_also_make_an_alias() {
        // hb1 maps its bus 1 onto StreamIDs 0x100.., where hb0's identity puts gpu0.
        let p = two_segments(vec![StreamMapEntry {
            rid_base: 0x100,
            sid_base: 0x100,
            length: 0x100,
        }])
        .build();
        let topo = Topology::new(&p);
        let gpu0 = p.node_by_name("gpu0").expect("node");
        assert_eq!(names(&topo, topo.stream_aliases(gpu0)), ["gpu1"]);
        // rp1 (RID 0x0010) is outside hb1's map: no StreamID.
        let rp1 = p.node_by_name("rp1").expect("node");
        assert_eq!(topo.stream_id(rp1), None);
    }
}
