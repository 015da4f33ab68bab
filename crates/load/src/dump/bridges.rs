//! `bridges`: PCIe-to-PCI bridges, in node order.

use peerpath_model::{NodeKind, Platform};

use crate::raw::RawBridge;

use super::ports::pci_id;
use super::{parent, unless, NO_BDF};

/// The PCI bridges in node order.
pub(super) fn bridges(p: &Platform) -> Vec<RawBridge> {
    p.node_ids()
        .filter_map(|id| {
            let n = p.node(id);
            let NodeKind::PciBridge(br) = &n.kind else {
                return None;
            };
            Some(RawBridge {
                name: n.name.clone(),
                parent: parent(p, id),
                bdf: n.bdf.unwrap_or(NO_BDF),
                id: pci_id(n.pci_id),
                mpss: unless(br.mpss, 128),
            })
        })
        .collect()
}
