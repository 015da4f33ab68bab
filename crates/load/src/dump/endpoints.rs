//! `endpoints`: each endpoint with its BARs, in node order.

use peerpath_model::{DeviceClass, Driver, Endpoint, Node, NodeId, NodeKind, Platform};

use crate::raw::{Addr, RawBar, RawDeviceCc, RawEndpoint, Size};

use super::ports::{acs, pci_id};
use super::timing::link;
use super::{parent, size_of, unless, NO_BDF};

/// The endpoints in node order.
pub(super) fn endpoints(p: &Platform) -> Vec<RawEndpoint> {
    p.node_ids()
        .filter_map(|id| {
            let n = p.node(id);
            match &n.kind {
                NodeKind::Endpoint(e) => Some(endpoint(p, id, n, e)),
                _ => None,
            }
        })
        .collect()
}

/// One endpoint, defaults left out (`mpss` always written).
fn endpoint(p: &Platform, id: NodeId, n: &Node, e: &Endpoint) -> RawEndpoint {
    RawEndpoint {
        name: n.name.clone(),
        parent: parent(p, id),
        bdf: n.bdf.unwrap_or(NO_BDF),
        id: pci_id(n.pci_id),
        class: unless(e.class, DeviceClass::Other),
        mpss: Some(e.mpss),
        mps: unless(e.mps, 128),
        dma_mask_bits: unless(e.dma_mask_bits, 64),
        bus_dma_limit: e.bus_dma_limit.map(Addr),
        coherent: unless(e.coherent, true),
        ats: unless(e.ats, false),
        trusted: unless(e.trusted, true),
        multifunction: unless(e.multifunction, false),
        acs: acs(e.acs),
        driver: unless(e.driver, Driver::Kernel),
        bars: e
            .bars
            .iter()
            .map(|b| RawBar {
                index: b.index,
                addr: Addr(b.range.start),
                size: Size(size_of(b.range)),
                prefetchable: unless(b.prefetchable, false),
            })
            .collect(),
        cc: e.cc.map(|c| RawDeviceCc {
            state: Some(c.state),
            tdisp: Some(c.tdisp),
        }),
        pcie: (!e.pcie).then_some(false),
        link: link(n.link),
    }
}
