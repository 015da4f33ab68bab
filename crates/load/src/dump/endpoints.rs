//! `endpoints`: each endpoint with its BARs, in node order.

use peerpath_model::{Bar, DeviceCc, DeviceClass, Driver, Endpoint, Node, NodeKind, Platform};

use crate::raw::{Addr, RawBar, RawDeviceCc, RawEndpoint, Size};

use super::ports::acs;
use super::{size_of, unless, written};

/// The endpoints in node order.
pub(super) fn endpoints(p: &Platform) -> Vec<RawEndpoint> {
    p.nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Endpoint(e) => Some(endpoint(p, n, e)),
            _ => None,
        })
        .collect()
}

/// One endpoint, defaults left out (`mpss` always written).
fn endpoint(p: &Platform, n: &Node, e: &Endpoint) -> RawEndpoint {
    let Endpoint {
        class,
        mpss,
        mps,
        dma_mask_bits,
        bus_dma_limit,
        coherent,
        ats,
        trusted,
        multifunction,
        acs: a,
        driver,
        bars,
        cc,
        pcie,
    } = e;
    let w = written(p, n);
    RawEndpoint {
        name: w.name,
        parent: w.parent,
        bdf: w.bdf,
        id: w.id,
        class: unless(*class, DeviceClass::Other),
        mpss: Some(*mpss),
        mps: unless(*mps, 128),
        dma_mask_bits: unless(*dma_mask_bits, 64),
        bus_dma_limit: bus_dma_limit.map(Addr),
        coherent: unless(*coherent, true),
        ats: unless(*ats, false),
        trusted: unless(*trusted, true),
        multifunction: unless(*multifunction, false),
        acs: acs(*a),
        driver: unless(*driver, Driver::Kernel),
        bars: bars
            .iter()
            .map(
                |&Bar {
                     index,
                     range,
                     prefetchable,
                 }| RawBar {
                    index,
                    addr: Addr(range.start.0),
                    size: Size(size_of(range)),
                    prefetchable: unless(prefetchable, false),
                },
            )
            .collect(),
        cc: cc.map(|DeviceCc { state, tdisp }| RawDeviceCc {
            state: Some(state),
            tdisp: Some(tdisp),
        }),
        pcie: (!*pcie).then_some(false),
        link: w.link,
    }
}
