//! `switches`: each switch is its upstream port (whose `parent` is resolved in
//! [`super::hierarchy`]) followed by its downstream ports.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{NodeId, NodeKind, Switch};

use super::hierarchy::{Parent, PendingNode};
use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// Each switch's upstream port, followed by its downstream ports, as pending nodes.
    pub(super) fn switch_nodes(&mut self, out: &mut Vec<PendingNode>) {
        let raw = self.raw;
        for (i, sw) in raw.switches.iter().enumerate() {
            let up = &sw.upstream;
            let port = self.port(
                Entity::Switch(i),
                up.mpss,
                up.mps,
                &up.acs,
                up.multifunction,
            );
            let upstream_index = out.len();
            out.push(PendingNode {
                name: sw.name.clone(),
                entity: Entity::Switch(i),
                parent: Parent::Broken,
                bdf: Some(up.bdf),
                kind: NodeKind::SwitchUpstream(port),
            });
            for (j, dp) in sw.downstream.iter().enumerate() {
                let e = Entity::Downstream(i, j);
                let port = self.port(e, dp.mpss, dp.mps, &dp.acs, dp.multifunction);
                out.push(PendingNode {
                    name: dp.name.clone(),
                    entity: e,
                    parent: Parent::Idx(upstream_index),
                    bdf: Some(dp.bdf),
                    kind: NodeKind::SwitchDownstream(port),
                });
            }
        }
    }

    /// The switches of the model, once their ports have node ids: a switch whose
    /// ports did not all become nodes is left out (its errors are reported).
    pub(super) fn switches(&self, node_ids: &HashMap<Entity, NodeId>) -> Vec<Switch> {
        self.raw
            .switches
            .iter()
            .enumerate()
            .filter_map(|(i, sw)| {
                Some(Switch {
                    name: sw.name.clone(),
                    upstream: *node_ids.get(&Entity::Switch(i))?,
                    downstream: (0..sw.downstream.len())
                        .map(|j| node_ids.get(&Entity::Downstream(i, j)).copied())
                        .collect::<Option<Vec<_>>>()?,
                })
            })
            .collect()
    }
}
