//! `memory` and `interconnect`: DRAM regions and the interconnect's write merging (its
//! fabric and latencies are in [`super::timing`]).

use peerpath_model::{Interconnect, MemRegion, Platform};

use crate::raw::{Addr, RawInterconnect, RawMemory, Size};

use super::size_of;
use super::timing::{fabric, latency};

/// The DRAM regions.
pub(super) fn memory(memory: &[MemRegion]) -> Vec<RawMemory> {
    memory
        .iter()
        .map(|MemRegion { name, range }| RawMemory {
            name: name.clone(),
            base: Addr(range.start.0),
            size: Size(size_of(*range)),
        })
        .collect()
}

/// `interconnect`, unless it is the default.
pub(super) fn interconnect(p: &Platform, i: &Interconnect) -> Option<RawInterconnect> {
    let Interconnect {
        write_merge_bytes,
        fabric: f,
        latency: l,
    } = i;
    (*i != Interconnect::default()).then(|| RawInterconnect {
        write_merge_bytes: Some(Size(u64::from(*write_merge_bytes))),
        fabric: fabric(p, f),
        latency: latency(l),
    })
}
