//! The PCI hierarchy: the nodes of [`super::host_bridges`], [`super::switches`],
//! [`super::bridges`] and [`super::endpoints`] are gathered as pending nodes, their
//! `parent` references resolved, and ordered parents-first (the model's `NodeId`
//! order); loops in the hierarchy, BDFs used twice and BDFs outside their host
//! bridge's segment are reported.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Bdf, NodeId, NodeKind};

use crate::source::{Msg, Seg};

use super::names::Entity;
use super::Validator;

/// How a node hangs in the hierarchy before ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Parent {
    /// A host bridge: a root.
    Root,
    /// The pending node at this index.
    Idx(usize),
    /// The parent did not resolve (already reported).
    Broken,
}

/// A node of the hierarchy before its parent is resolved and the nodes are ordered.
pub(super) struct PendingNode {
    pub(super) name: String,
    pub(super) entity: Entity,
    pub(super) parent: Parent,
    pub(super) bdf: Option<Bdf>,
    pub(super) kind: NodeKind,
}

impl Validator<'_, '_> {
    /// Pending nodes in declaration order: host bridges, root ports, switch ports,
    /// bridges, endpoints. Parents of switches, bridges and endpoints are resolved
    /// later.
    pub(super) fn pending_nodes(&mut self) -> Vec<PendingNode> {
        let mut out = Vec::new();
        self.host_bridge_nodes(&mut out);
        self.switch_nodes(&mut out);
        self.bridge_nodes(&mut out);
        self.endpoint_nodes(&mut out);
        out
    }

    /// Resolves the `parent` of each switch, bridge and endpoint to a pending node;
    /// one that does not resolve is reported and left `Broken`.
    pub(super) fn resolve_parents(&mut self, pending: &mut [PendingNode]) {
        let raw = self.raw;
        let index: HashMap<Entity, usize> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| (p.entity, i))
            .collect();
        for pr in pending.iter_mut() {
            let (parent, ok, expected): (&str, fn(Entity) -> bool, &str) = match pr.entity {
                Entity::Switch(i) => match raw.switches.get(i) {
                    Some(sw) => (
                        &sw.parent,
                        |e| matches!(e, Entity::RootPort(..) | Entity::Downstream(..)),
                        "the name of a root port or switch downstream port",
                    ),
                    None => continue,
                },
                Entity::Bridge(i) => match raw.bridges.get(i) {
                    Some(b) => (
                        &b.parent,
                        |e| {
                            matches!(
                                e,
                                Entity::RootPort(..) | Entity::Downstream(..) | Entity::Bridge(_) | Entity::HostBridge(_)
                            )
                        },
                        "the name of a root port, switch downstream port, bridge or host bridge",
                    ),
                    None => continue,
                },
                Entity::Endpoint(i) => match raw.endpoints.get(i) {
                    Some(ep) => (
                        &ep.parent,
                        |e| {
                            matches!(
                                e,
                                Entity::RootPort(..) | Entity::Downstream(..) | Entity::Bridge(_) | Entity::HostBridge(_)
                            )
                        },
                        "the name of a root port, switch downstream port, bridge or host bridge (RCiEP)",
                    ),
                    None => continue,
                },
                _ => continue,
            };
            let entity = pr.entity;
            let p = |v: &Self| {
                let mut p = v.entity_path(entity);
                p.push(Seg::from("parent"));
                p
            };
            pr.parent = match self.resolve_at(parent, p, ok, expected) {
                Some(e) => index.get(&e).map_or(Parent::Broken, |&i| Parent::Idx(i)),
                None => Parent::Broken,
            };
        }
    }

    /// Parents-first order (a pre-order walk from each host bridge, children in
    /// declaration order), and each pending node's `NodeId`. Reports hierarchy loops.
    pub(super) fn order(&mut self, pending: &[PendingNode]) -> (Vec<usize>, Vec<Option<NodeId>>) {
        let n = pending.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, p) in pending.iter().enumerate() {
            if let Parent::Idx(q) = p.parent {
                if let Some(c) = children.get_mut(q) {
                    c.push(i);
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut ids: Vec<Option<NodeId>> = vec![None; n];
        for (r, p) in pending.iter().enumerate() {
            if p.parent != Parent::Root {
                continue;
            }
            let mut stack = vec![r];
            while let Some(u) = stack.pop() {
                if ids.get(u).copied().flatten().is_some() {
                    continue;
                }
                if let Some(slot) = ids.get_mut(u) {
                    *slot = Some(NodeId(order.len() as u32));
                }
                order.push(u);
                if let Some(c) = children.get(u) {
                    stack.extend(c.iter().rev());
                }
            }
        }
        // Nodes not reached hang below a broken parent (reported) or sit in a loop.
        // 0 = unknown, 1 = on the current walk, 2 = done.
        let mut state = vec![0u8; n];
        for (i, slot) in ids.iter().enumerate() {
            if slot.is_some() {
                if let Some(s) = state.get_mut(i) {
                    *s = 2;
                }
            }
        }
        for start in 0..n {
            if state.get(start) != Some(&0) {
                continue;
            }
            let mut walk = Vec::new();
            let mut cur = start;
            loop {
                match state.get(cur) {
                    Some(0) => {}
                    Some(1) => {
                        let from = walk.iter().position(|&w| w == cur).unwrap_or(0);
                        let cycle = walk.get(from..).unwrap_or(&[]).to_vec();
                        self.report_loop(pending, &cycle);
                        break;
                    }
                    _ => break,
                }
                if let Some(s) = state.get_mut(cur) {
                    *s = 1;
                }
                walk.push(cur);
                match pending.get(cur).map(|p| p.parent) {
                    Some(Parent::Idx(q)) => cur = q,
                    _ => break,
                }
            }
            for w in walk {
                if let Some(s) = state.get_mut(w) {
                    *s = 2;
                }
            }
        }
        (order, ids)
    }

    fn report_loop(&mut self, pending: &[PendingNode], cycle: &[usize]) {
        // Report at the first member (in declaration order) that has a `parent` key.
        let Some(&anchor) = cycle
            .iter()
            .filter(|&&c| {
                pending.get(c).is_some_and(|p| {
                    matches!(
                        p.entity,
                        Entity::Switch(_) | Entity::Bridge(_) | Entity::Endpoint(_)
                    )
                })
            })
            .min()
        else {
            return;
        };
        let pos = cycle.iter().position(|&c| c == anchor).unwrap_or(0);
        let mut names: Vec<&str> = Vec::new();
        for k in 0..=cycle.len() {
            if let Some(p) = cycle
                .get((pos + k) % cycle.len())
                .and_then(|&c| pending.get(c))
            {
                names.push(&p.name);
            }
        }
        let Some(pr) = pending.get(anchor) else {
            return;
        };
        let mut p = self.entity_path(pr.entity);
        p.push(Seg::from("parent"));
        let chain = names.join(" → ");
        self.report(
            p,
            Msg::new(format!("hierarchy loop: {chain}"))
                .expected("a tree: every parent chain ends at a host bridge")
                .help(format!(
                    "`{}` is its own ancestor; fix one of these `parent` keys",
                    pr.name
                )),
        );
    }

    /// Each BDF once; each node's segment is its host bridge's.
    pub(super) fn check_bdfs(&mut self, pending: &[PendingNode], order: &[usize]) {
        let mut seen: HashMap<Bdf, usize> = HashMap::default();
        for (i, p) in pending.iter().enumerate() {
            let Some(bdf) = p.bdf else { continue };
            if let Some(&first) = seen.get(&bdf) {
                let other = pending.get(first).map(|f| f.name.as_str()).unwrap_or("?");
                let mut bp = self.port_path(p.entity);
                bp.push(Seg::from("bdf"));
                self.report(
                    bp,
                    Msg::new(format!("BDF {bdf} is already used by `{other}`"))
                        .expected("each BDF once"),
                );
            } else {
                seen.insert(bdf, i);
            }
        }
        let hbs = host_bridge_of(pending, order);
        for &i in order {
            let (Some(p), Some(Some(h))) = (pending.get(i), hbs.get(i)) else {
                continue;
            };
            let (Some(bdf), Some(hp)) = (p.bdf, pending.get(*h)) else {
                continue;
            };
            let NodeKind::HostBridge(hb) = &hp.kind else {
                continue;
            };
            if bdf.segment != hb.segment {
                let mut bp = self.port_path(p.entity);
                bp.push(Seg::from("bdf"));
                self.report(
                    bp,
                    Msg::new(format!(
                        "`{}` is below host bridge `{}` (segment {:04x}) but its BDF {bdf} is in segment {:04x}",
                        p.name, hp.name, hb.segment, bdf.segment
                    ))
                    .expected(format!("a BDF in segment {:04x}", hb.segment)),
                );
            }
        }
    }
}

/// For each pending node reached from a host bridge, the index of that host bridge.
pub(super) fn host_bridge_of(pending: &[PendingNode], order: &[usize]) -> Vec<Option<usize>> {
    let mut hb: Vec<Option<usize>> = vec![None; pending.len()];
    for &i in order {
        let h = match pending.get(i).map(|p| p.parent) {
            Some(Parent::Root) => Some(i),
            Some(Parent::Idx(q)) => hb.get(q).copied().flatten(),
            _ => None,
        };
        if let Some(slot) = hb.get_mut(i) {
            *slot = h;
        }
    }
    hb
}
