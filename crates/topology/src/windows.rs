//! Derived memory windows: each node's window is the span of the BARs at or below it
//! (platform-format.md, "Derived, not written"). Bridges forward a memory TLP
//! downstream when its address falls in their window.

use crate::Topology;
use peerpath_model::{AddrRange, NodeKind};

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<Option<AddrRange>> {
    let p = topo.platform();
    let mut out: Vec<Option<AddrRange>> = vec![None; p.nodes.len()];
    // Children come after parents, so a reverse pass folds each child into its parent.
    for id in p.node_ids().rev() {
        let node = p.node(id);
        if let NodeKind::Endpoint(ep) = &node.kind {
            for bar in &ep.bars {
                out[id.index()] = Some(match out[id.index()] {
                    Some(w) => w.union(&bar.range),
                    None => bar.range,
                });
            }
        }
        if let (Some(parent), Some(w)) = (node.parent, out[id.index()]) {
            out[parent.index()] = Some(match out[parent.index()] {
                Some(pw) => pw.union(&w),
                None => w,
            });
        }
    }
    out
}
