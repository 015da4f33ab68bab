//! The dump (`Platform` → raw structs → YAML) is `peerpath_load::dump`, re-exported
//! here for the tests that used it from testkit; [`renumbered_like`], which only tests
//! need, lets a loaded platform be compared with one a builder made (the loader numbers
//! nodes depth first).

use std::collections::BTreeMap;

pub use peerpath_load::dump::{to_raw, to_raw_with, to_yaml, ImportsAs};
use peerpath_model::{Fact, NodeId, Platform};

/// `p` with its nodes renumbered in the order of the same-named nodes of `like`, every
/// reference following: what lets a loaded platform be compared with the one a builder
/// made (the loader numbers nodes depth first). `None` when the names differ.
pub fn renumbered_like(p: &Platform, like: &Platform) -> Option<Platform> {
    if p.nodes.len() != like.nodes.len() {
        return None;
    }
    let by_name: BTreeMap<&str, NodeId> = p
        .node_ids()
        .map(|id| (p.node(id).name.as_str(), id))
        .collect();
    let mut new_of_old = vec![NodeId(0); p.nodes.len()];
    let mut order = Vec::with_capacity(p.nodes.len());
    for (i, n) in like.nodes.iter().enumerate() {
        let old = *by_name.get(n.name.as_str())?;
        new_of_old[old.index()] = NodeId(i as u32);
        order.push(old);
    }
    let map = |id: NodeId| new_of_old[id.index()];
    let mut q = p.clone();
    q.nodes = order
        .iter()
        .map(|&old| {
            let mut n = p.node(old).clone();
            n.parent = n.parent.map(map);
            n
        })
        .collect();
    for sw in &mut q.switches {
        sw.upstream = map(sw.upstream);
        sw.downstream.iter_mut().for_each(|d| *d = map(*d));
    }
    let k = &mut q.kernel;
    k.disable_acs_redir.iter_mut().for_each(|n| *n = map(*n));
    k.config_acs.iter_mut().for_each(|c| c.port = map(c.port));
    for d in &mut q.domains {
        d.devices.iter_mut().for_each(|n| *n = map(*n));
    }
    q.exports.iter_mut().for_each(|x| x.device = map(x.device));
    q.imports
        .iter_mut()
        .for_each(|i| i.importer = map(i.importer));
    q.traffic
        .iter_mut()
        .for_each(|t| t.importer = map(t.importer));
    for v in &mut q.vms {
        v.devices.iter_mut().for_each(|d| d.device = map(d.device));
    }
    for s in q.ide_streams.iter_mut().flatten() {
        s.ends.iter_mut().for_each(|n| *n = map(*n));
    }
    for f in &mut q.assumed {
        *f = match *f {
            Fact::HostBridgeId(n) => Fact::HostBridgeId(map(n)),
            Fact::ForwardsP2p(n) => Fact::ForwardsP2p(map(n)),
            Fact::SplitsOversizedWrites(n) => Fact::SplitsOversizedWrites(map(n)),
            other => other,
        };
    }
    q.assumed.sort();
    Some(q)
}
