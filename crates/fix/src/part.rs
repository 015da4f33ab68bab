//! The part of a platform one pairing's search runs on (issue 19): the hierarchies of
//! the importer's and the exporter's host bridges, whole — every port, switch and
//! endpoint below them, so MPS (K5), groups (K4.3), ACS (K4.1, K4.2) and windows are
//! derived as on the whole platform — with every IOMMU, memory region, kernel knob,
//! and the exports of the devices kept. Other host bridges and what is below them go.
//!
//! What a rule reads outside these hierarchies: the interconnect between host bridges
//! (only the two kept ones are on the route), another host bridge's window where an
//! address goes astray (a bus address looked up as a physical address), and StreamIDs
//! aliased across segments (H3; a `stream_map` shared by host bridges). The part is
//! therefore used only where the caller checks it: the search compares the pairing's
//! state on the part with the whole platform before it starts and every proposal's
//! outcome after (`crate::fix`), and falls back to the whole platform on any
//! difference; and a platform whose kept devices have a StreamID alias is not cut, nor
//! one with VMs (issue 18: a VM's guest addresses depend on all its devices, wherever
//! they sit).

use peerpath_model::{ExportId, NodeId, Platform};
use peerpath_topology::Topology;

use crate::Change;

/// A part of a platform and how ids map into it.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) platform: Platform,
    node: Vec<Option<NodeId>>,
    export: Vec<Option<ExportId>>,
}

impl Part {
    /// The part for the pairing `imp` ← `export` of `alone` (a platform holding only
    /// that pairing). `None` when it would hold more than half the nodes (unless
    /// `any_size`), when a kept device has a StreamID alias, or when the platform has
    /// VMs.
    pub(crate) fn of(
        alone: &Platform,
        topo: &Topology<'_>,
        imp: NodeId,
        exp: NodeId,
        any_size: bool,
    ) -> Option<Part> {
        let hbs = [topo.host_bridge_of(imp), topo.host_bridge_of(exp)];
        let keep: Vec<bool> = alone
            .node_ids()
            .map(|n| hbs.contains(&topo.host_bridge_of(n)))
            .collect();
        let kept = keep.iter().filter(|k| **k).count();
        if kept == keep.len() || (!any_size && kept * 2 > keep.len()) || !alone.vms.is_empty() {
            return None;
        }
        if alone
            .node_ids()
            .filter(|n| keep[n.index()])
            .any(|n| !topo.stream_aliases(n).is_empty())
        {
            return None;
        }
        let node: Vec<Option<NodeId>> = renumber(keep.iter().copied())
            .map(|i| i.map(NodeId))
            .collect();
        let map = |n: NodeId| node[n.index()];
        let export: Vec<Option<ExportId>> =
            renumber(alone.exports.iter().map(|e| map(e.device).is_some()))
                .map(|i| i.map(ExportId))
                .collect();
        Some(Part {
            platform: part_platform(alone, &node, &export),
            node,
            export,
        })
    }

    /// A change of the whole platform as a change of the part; `None` when it names a
    /// node or export the part does not hold.
    pub(crate) fn change(&self, c: &Change) -> Option<Change> {
        let map = |n: &NodeId| self.node[n.index()];
        Some(match c {
            Change::DisableAcsRedir(ports) => {
                Change::DisableAcsRedir(ports.iter().map(map).collect::<Option<Vec<_>>>()?)
            }
            Change::ConfigAcs { port, set } => Change::ConfigAcs {
                port: map(port)?,
                set: *set,
            },
            Change::DeviceDomain { device, ty } => Change::DeviceDomain {
                device: map(device)?,
                ty: *ty,
            },
            Change::Via { export, via } => Change::Via {
                export: self.export[export.index()]?,
                via: *via,
            },
            other => other.clone(),
        })
    }
}

/// Ids `0, 1, …` for the places `keep` marks, in order; `None` for the others.
fn renumber(keep: impl Iterator<Item = bool>) -> impl Iterator<Item = Option<u32>> {
    keep.scan(0u32, |next, k| {
        Some(k.then(|| {
            *next += 1;
            *next - 1
        }))
    })
}

/// `alone` holding only the nodes `node` numbers and the exports `export` numbers,
/// each reference to a node or export renumbered, and whatever names a node left out
/// dropped.
fn part_platform(
    alone: &Platform,
    node: &[Option<NodeId>],
    export: &[Option<ExportId>],
) -> Platform {
    let map = |n: NodeId| node[n.index()];
    let mapx = |e: ExportId| export[e.index()];
    let mut p = alone.clone();
    p.nodes = alone
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| node[*i].is_some())
        .map(|(_, n)| {
            let mut n = n.clone();
            n.parent = n.parent.and_then(map);
            n
        })
        .collect();
    let k = &mut p.kernel;
    k.disable_acs_redir = k.disable_acs_redir.iter().filter_map(|n| map(*n)).collect();
    k.config_acs = k
        .config_acs
        .iter()
        .filter_map(|c| map(c.port).map(|port| peerpath_model::ConfigAcs { port, ..*c }))
        .collect();
    p.interconnect.fabric.pairs = alone
        .interconnect
        .fabric
        .pairs
        .iter()
        .filter_map(|f| {
            Some(peerpath_model::FabricPair {
                between: [map(f.between[0])?, map(f.between[1])?],
                ..*f
            })
        })
        .collect();
    p.ide_streams = alone.ide_streams.as_ref().map(|list| {
        list.iter()
            .filter_map(|s| {
                Some(peerpath_model::IdeStream {
                    name: s.name.clone(),
                    ends: [map(s.ends[0])?, map(s.ends[1])?],
                })
            })
            .collect()
    });
    p.switches = alone
        .switches
        .iter()
        .filter_map(|s| {
            Some(peerpath_model::Switch {
                name: s.name.clone(),
                upstream: map(s.upstream)?,
                downstream: s.downstream.iter().filter_map(|d| map(*d)).collect(),
            })
        })
        .collect();
    p.domains = alone
        .domains
        .iter()
        .filter_map(|d| {
            let devices: Vec<NodeId> = d.devices.iter().filter_map(|n| map(*n)).collect();
            (!devices.is_empty()).then(|| peerpath_model::Domain {
                devices,
                ..d.clone()
            })
        })
        .collect();
    p.exports = alone
        .exports
        .iter()
        .filter_map(|e| {
            let device = map(e.device)?;
            Some(peerpath_model::Export {
                device,
                ..e.clone()
            })
        })
        .collect();
    p.imports = alone
        .imports
        .iter()
        .filter_map(|i| {
            Some(peerpath_model::Import {
                importer: map(i.importer)?,
                export: mapx(i.export)?,
                ..*i
            })
        })
        .collect();
    p.traffic = alone
        .traffic
        .iter()
        .filter_map(|t| {
            Some(peerpath_model::Traffic {
                importer: map(t.importer)?,
                export: mapx(t.export)?,
                ..*t
            })
        })
        .collect();
    p.assumed = alone
        .assumed
        .iter()
        .filter_map(|f| {
            use peerpath_model::Fact;
            Some(match *f {
                Fact::HostBridgeId(n) => Fact::HostBridgeId(map(n)?),
                Fact::ForwardsP2p(n) => Fact::ForwardsP2p(map(n)?),
                Fact::SplitsOversizedWrites(n) => Fact::SplitsOversizedWrites(map(n)?),
                other => other,
            })
        })
        .collect();
    p
}
