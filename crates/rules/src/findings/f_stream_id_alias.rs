//! `stream-id-alias` (warning) — H3, K4.3: the importer and another requester behind
//! the same SMMU map to one StreamID, so they share its translation context and IOMMU
//! group.
//!
//! Raised when the importer sits behind an SMMUv3 and another function behind that
//! SMMU — on another segment, or with another RID — gets the same StreamID from its
//! host bridge's `stream_map` (else the IOMMU's; engine `stream`). The usual cause is
//! one SMMU behind several root complexes with one map for all of them: equal BDFs on
//! two segments then meet (the IORT of such a machine gives each root complex node its
//! own ID mappings; `drivers/acpi/arm64/iort.c`, `iort_match_node_callback`). Two
//! functions below one PCIe-to-PCI bridge share the bridge's RID: that is one
//! requester's DMA alias, grouped by K4.3, not this finding. The kernel's arm-smmu-v3
//! driver refuses the second such device at probe (`arm_smmu_insert_master`: "stream
//! %u already in tree", `-EINVAL`), so on Linux one of the two has no IOMMU at all;
//! peerpath reports what the hardware shares. The subject is the importer; the
//! evidence names the StreamID, the IOMMU and the other requesters.

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `stream-id-alias`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.importer();
    let others = cx.topo.stream_aliases(imp);
    let (Some(sid), Some(iommu)) = (cx.topo.stream_id(imp), cx.topo.iommu_of(imp)) else {
        return;
    };
    if others.is_empty() {
        return;
    }
    let iname = cx.name(imp);
    let iommu_name = &cx.p().iommu(iommu).name;
    let names: Vec<&str> = others.iter().map(|n| cx.name(*n)).collect();
    let hb = cx.name(cx.topo.host_bridge_of(imp));
    out.push(
        Finding::new(
            Code::StreamIdAlias,
            iname,
            format!(
                "{iname} shares StreamID {sid} at {iommu_name} with {}: they share its translation context and IOMMU group",
                names.join(", ")
            ),
        )
        .with("stream_id", sid.to_string())
        .with("iommu", iommu_name.as_str())
        .with("shared_with", names.clone())
        .fix(format!(
            "give {hb} its own stream_map (the root complex's IORT ID mapping or iommu-map) so that its RIDs map to StreamIDs no other root complex uses"
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{IommuKind, StreamMapEntry};

    fn codes(p: &peerpath_model::Platform, importer: &str) -> Vec<&'static str> {
        findings_of(p, importer, "gpu0-bar0")
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    }

    #[test]
    fn equal_bdfs_on_two_segments_behind_one_smmu() {
        // gpu0 (0000:01:00.0) and nic1 (0001:01:00.0): one RID, one identity map.
        let p = testplat::two_host_bridges_with(0x2020, 0x2020, |b| {
            testplat::add_iommu(b, IommuKind::Smmuv3)
        });
        let f = findings_of(&p, "nic1", "gpu0-bar0");
        assert!(f.contains(&("stream-id-alias", "nic1".to_owned())), "{f:?}");
        let r = testplat::pair_result(&p, "nic1", "gpu0-bar0");
        let alias = r
            .findings
            .iter()
            .find(|f| f.code.as_str() == "stream-id-alias")
            .expect("raised");
        assert_eq!(alias.evidence["stream_id"], "0x100");
        assert_eq!(alias.evidence["shared_with"], serde_json::json!(["gpu0"]));
        // nic0 (0000:02:00.0) has a StreamID of its own.
        assert!(!codes(&p, "nic0").contains(&"stream-id-alias"));
    }

    #[test]
    fn a_map_per_host_bridge_tells_the_segments_apart() {
        let p = testplat::two_host_bridges_with(0x2020, 0x2020, |b| {
            testplat::add_iommu(b, IommuKind::Smmuv3);
            let hb1 = node(b, "hb1");
            b.host_bridge_mut(hb1).stream_map = vec![StreamMapEntry {
                rid_base: 0,
                sid_base: 0x1_0000,
                length: 0x1_0000,
            }];
        });
        assert!(!codes(&p, "nic1").contains(&"stream-id-alias"));
    }

    #[test]
    fn only_an_smmu_aliases() {
        // VT-d's context tables are per segment: no StreamID to share.
        let p = testplat::two_host_bridges_with(0x2020, 0x2020, |b| {
            testplat::add_iommu(b, IommuKind::Vtd)
        });
        assert!(!codes(&p, "nic1").contains(&"stream-id-alias"));
    }
}
