//! `switches`: each switch's upstream port and its downstream ports.

use peerpath_model::{NodeId, NodeKind, Platform, Port, Switch};

use crate::raw::{RawDownstreamPort, RawSwitch, RawUpstreamPort};

use super::ports::acs;
use super::{unless, written, Written};

/// The switches in `Platform::switches` order.
pub(super) fn switches(p: &Platform) -> Vec<RawSwitch> {
    p.switches
        .iter()
        .filter_map(|sw| {
            let Switch {
                name,
                upstream,
                downstream,
            } = sw;
            // The upstream port takes the switch's name.
            let (up_node, up) = port(p, *upstream)?;
            let up_port = fields(up);
            Some(RawSwitch {
                name: name.clone(),
                parent: up_node.parent,
                upstream: RawUpstreamPort {
                    bdf: up_node.bdf,
                    id: up_node.id,
                    mpss: up_port.mpss,
                    mps: up_port.mps,
                    acs: up_port.acs,
                    multifunction: up_port.multifunction,
                    link: up_node.link,
                },
                downstream: downstream
                    .iter()
                    .filter_map(|&d| {
                        let (node, dp) = port(p, d)?;
                        let dp = fields(dp);
                        Some(RawDownstreamPort {
                            name: node.name,
                            bdf: node.bdf,
                            id: node.id,
                            mpss: dp.mpss,
                            mps: dp.mps,
                            acs: dp.acs,
                            multifunction: dp.multifunction,
                            link: node.link,
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A switch port's node, as written, and its port.
fn port(p: &Platform, id: NodeId) -> Option<(Written, &Port)> {
    let n = p.node(id);
    match &n.kind {
        NodeKind::SwitchUpstream(port) | NodeKind::SwitchDownstream(port) => {
            Some((written(p, n), port))
        }
        _ => None,
    }
}

/// What a switch port writes of its [`Port`].
struct PortFields {
    mpss: u32,
    mps: Option<u32>,
    acs: Option<crate::raw::RawAcs>,
    multifunction: Option<bool>,
}

fn fields(port: &Port) -> PortFields {
    let Port {
        mpss,
        mps,
        acs: a,
        // A TBU sits in front of a root port only (the loader refuses it elsewhere).
        tbu: _,
        // A root complex's property, written on root ports only.
        splits_oversized_writes: _,
        multifunction,
    } = port;
    PortFields {
        mpss: *mpss,
        mps: unless(*mps, 128),
        acs: acs(*a),
        multifunction: unless(*multifunction, false),
    }
}
