//! `bridges`: PCIe-to-PCI bridges, in node order.

use peerpath_model::{NodeKind, PciBridge, Platform};

use crate::raw::RawBridge;

use super::{unless, written};

/// The PCI bridges in node order. A bridge has no `link` key (the loader gives it none).
pub(super) fn bridges(p: &Platform) -> Vec<RawBridge> {
    p.nodes
        .iter()
        .filter_map(|n| {
            let NodeKind::PciBridge(PciBridge { mpss }) = &n.kind else {
                return None;
            };
            let w = written(p, n);
            Some(RawBridge {
                name: w.name,
                parent: w.parent,
                bdf: w.bdf,
                id: w.id,
                mpss: unless(*mpss, 128),
            })
        })
        .collect()
}
