//! `iommus`: each IOMMU with its TBUs and stream map.

use peerpath_model::{Iommu, StreamMapEntry, Tbu};

use crate::raw::{RawIommu, RawStreamMap, RawTbu};

use super::unless;

/// The IOMMUs, defaults left out.
pub(super) fn iommus(iommus: &[Iommu]) -> Vec<RawIommu> {
    iommus
        .iter()
        .map(|m| {
            let Iommu {
                name,
                kind,
                ats,
                disable_bypass,
                tbus,
                stream_map: map,
            } = m;
            RawIommu {
                name: name.clone(),
                kind: *kind,
                ats: unless(*ats, false),
                disable_bypass: unless(*disable_bypass, true),
                tbus: tbus
                    .iter()
                    .map(
                        |Tbu {
                             name,
                             tlb_entries,
                             tlb_ways,
                         }| RawTbu {
                            name: name.clone(),
                            tlb_entries: *tlb_entries,
                            tlb_ways: *tlb_ways,
                        },
                    )
                    .collect(),
                stream_map: stream_map(map),
            }
        })
        .collect()
}

/// A stream map as written (an IOMMU's or a host bridge's).
pub(super) fn stream_map(map: &[StreamMapEntry]) -> Vec<RawStreamMap> {
    map.iter()
        .map(
            |&StreamMapEntry {
                 rid_base,
                 sid_base,
                 length,
             }| RawStreamMap {
                rid_base,
                sid_base,
                length,
            },
        )
        .collect()
}
