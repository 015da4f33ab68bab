//! `iommus`: each IOMMU with its TBUs and stream map.

use peerpath_model::{Platform, StreamMapEntry};

use crate::raw::{RawIommu, RawStreamMap, RawTbu};

use super::unless;

/// The IOMMUs, defaults left out.
pub(super) fn iommus(p: &Platform) -> Vec<RawIommu> {
    p.iommus
        .iter()
        .map(|m| RawIommu {
            name: m.name.clone(),
            kind: m.kind,
            ats: unless(m.ats, false),
            disable_bypass: unless(m.disable_bypass, true),
            tbus: m
                .tbus
                .iter()
                .map(|t| RawTbu {
                    name: t.name.clone(),
                    tlb_entries: t.tlb_entries,
                    tlb_ways: t.tlb_ways,
                })
                .collect(),
            stream_map: stream_map(&m.stream_map),
        })
        .collect()
}

/// A stream map as written (an IOMMU's or a host bridge's).
pub(super) fn stream_map(map: &[StreamMapEntry]) -> Vec<RawStreamMap> {
    map.iter()
        .map(|s| RawStreamMap {
            rid_base: s.rid_base,
            sid_base: s.sid_base,
            length: s.length,
        })
        .collect()
}
