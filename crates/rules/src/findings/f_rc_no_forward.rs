//! `rc-no-forward` (error) — H6: the root complex does not forward the importer's
//! request between the root ports (or host bridges) the route needs, whatever the
//! kernel decided.
//!
//! Raised for a trace dropped by the forwarding rule: `forwards_p2p: none` sends no
//! request that came up a root port back down any root port, `same-host-bridge` none
//! to another host bridge. The subject is the host bridge the request came up through.

use peerpath_engine::{DropReason, End};

use super::{already, Cx};
use crate::finding::{Code, Finding};

/// Raises `rc-no-forward`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    for (_, tr) in cx.traces() {
        let End::Dropped(DropReason::RcNoForward {
            from_root_port,
            to_root_port,
            from_hb,
            to_hb,
        }) = tr.end
        else {
            continue;
        };
        if already(out, Code::RcNoForward, cx.name(from_hb)) {
            continue;
        }
        let forwards = cx.topo.host_bridge(from_hb).forwards_p2p;
        let from = from_root_port.map_or("an integrated endpoint", |n| cx.name(n));
        let to = to_root_port.map_or("an integrated endpoint", |n| cx.name(n));
        let across = if from_hb == to_hb {
            String::new()
        } else {
            format!(" of {}", cx.name(to_hb))
        };
        out.push(
            Finding::new(
                Code::RcNoForward,
                cx.name(from_hb),
                format!(
                    "{} does not forward {imp}'s request from {from} down {to}{across} (forwards_p2p: {forwards}); the kernel decided {}",
                    cx.name(from_hb),
                    cx.k.map_type.as_str()
                ),
            )
            .with("forwards_p2p", forwards.as_str())
            .with("from_root_port", from_root_port.map(|n| cx.name(n)))
            .with("to_root_port", to_root_port.map(|n| cx.name(n)))
            .with("to_host_bridge", cx.name(to_hb))
            .with("kernel_map_type", cx.k.map_type.as_str())
            .fix(match forwards {
                peerpath_model::ForwardsP2p::None => {
                    "none in software: this root complex routes no P2P between root ports; put both devices below one switch".to_owned()
                }
                _ => "none in software: this root complex does not forward P2P to another host bridge; put both devices below one host bridge or switch".to_owned(),
            }),
        );
    }
}
