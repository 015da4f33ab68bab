//! `memory` and `interconnect`: DRAM regions and the interconnect's write merging (its
//! fabric and latencies are in [`super::timing`]).

use peerpath_model::{Interconnect, Platform};

use crate::raw::{Addr, RawInterconnect, RawMemory, Size};

use super::size_of;
use super::timing::{fabric, latency};

/// The DRAM regions.
pub(super) fn memory(p: &Platform) -> Vec<RawMemory> {
    p.memory
        .iter()
        .map(|m| RawMemory {
            name: m.name.clone(),
            base: Addr(m.range.start),
            size: Size(size_of(m.range)),
        })
        .collect()
}

/// `interconnect`, unless it is the default.
pub(super) fn interconnect(p: &Platform) -> Option<RawInterconnect> {
    (p.interconnect != Interconnect::default()).then(|| RawInterconnect {
        write_merge_bytes: Some(Size(u64::from(p.interconnect.write_merge_bytes))),
        fabric: fabric(p),
        latency: latency(&p.interconnect.latency),
    })
}
