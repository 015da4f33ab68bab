//! `switches`: each switch's upstream port and its downstream ports.

use peerpath_model::{Node, NodeId, NodeKind, Platform, Port};

use crate::raw::{RawDownstreamPort, RawSwitch, RawUpstreamPort};

use super::ports::{acs, pci_id};
use super::timing::link;
use super::{parent, unless, NO_BDF};

/// The switches in `Platform::switches` order.
pub(super) fn switches(p: &Platform) -> Vec<RawSwitch> {
    p.switches
        .iter()
        .filter_map(|sw| {
            let (up_node, up) = port(p, sw.upstream)?;
            Some(RawSwitch {
                name: sw.name.clone(),
                parent: parent(p, sw.upstream),
                upstream: RawUpstreamPort {
                    bdf: up_node.bdf.unwrap_or(NO_BDF),
                    id: pci_id(up_node.pci_id),
                    mpss: up.mpss,
                    mps: unless(up.mps, 128),
                    acs: acs(up.acs),
                    multifunction: unless(up.multifunction, false),
                    link: link(up_node.link),
                },
                downstream: sw
                    .downstream
                    .iter()
                    .filter_map(|&d| {
                        let (node, dp) = port(p, d)?;
                        Some(RawDownstreamPort {
                            name: node.name.clone(),
                            bdf: node.bdf.unwrap_or(NO_BDF),
                            id: pci_id(node.pci_id),
                            mpss: dp.mpss,
                            mps: unless(dp.mps, 128),
                            acs: acs(dp.acs),
                            multifunction: unless(dp.multifunction, false),
                            link: link(node.link),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A switch port's node and port.
fn port(p: &Platform, id: NodeId) -> Option<(&Node, &Port)> {
    let n = p.node(id);
    match &n.kind {
        NodeKind::SwitchUpstream(port) | NodeKind::SwitchDownstream(port) => Some((n, port)),
        _ => None,
    }
}
