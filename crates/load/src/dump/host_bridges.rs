//! `host_bridges`: each host bridge with its windows and, inside it, its root ports.

use peerpath_model::{
    DirectWindow, DirectWindowKind, ForwardsP2p, HostBridge, Node, NodeId, NodeKind, Platform,
    Port, Translation, Window,
};

use crate::raw::{Addr, RawDirectWindow, RawHostBridge, RawRootPort, RawWindow, Size};

use super::iommus::stream_map;
use super::ports::{acs, pci_id};
use super::timing::bandwidth;
use super::{size_of, unless, written};

/// The host bridges in node order, each with its root ports in node order.
pub(super) fn host_bridges(p: &Platform) -> Vec<RawHostBridge> {
    let mut out: Vec<(NodeId, RawHostBridge)> = Vec::new();
    for id in p.node_ids() {
        let n = p.node(id);
        match &n.kind {
            NodeKind::HostBridge(hb) => out.push((id, host_bridge(p, n, hb))),
            NodeKind::RootPort(port) => {
                // Parents come first in node order, so the host bridge is there.
                if let Some((_, hb)) = out.iter_mut().find(|(h, _)| Some(*h) == n.parent) {
                    hb.root_ports.push(root_port(p, n, port));
                }
            }
            _ => {}
        }
    }
    out.into_iter().map(|(_, hb)| hb).collect()
}

/// One host bridge, its root ports left for [`host_bridges`] to add. Of the node, only
/// the name is written: a host bridge has no parent, BDF or link, and its `id` is the
/// host bridge's own (the allow-list's, K1.7).
fn host_bridge(p: &Platform, n: &Node, hb: &HostBridge) -> RawHostBridge {
    let HostBridge {
        segment,
        id,
        forwards_p2p,
        forwards_p2p_reads,
        direct_window,
        translation,
        iommu,
        stream_map: map,
        windows,
        socket,
        numa_node,
        p2p_bandwidth_mbs,
    } = hb;
    RawHostBridge {
        name: n.name.clone(),
        segment: Some(*segment),
        id: pci_id(*id),
        forwards_p2p: unless(*forwards_p2p, ForwardsP2p::SameHostBridge),
        forwards_p2p_reads: *forwards_p2p_reads,
        direct_window: direct_window.map(|DirectWindow { kind, base, size }| RawDirectWindow {
            kind: unless(kind, DirectWindowKind::PhbBypass),
            base: Addr(base),
            size: Size(size),
        }),
        translation: unless(*translation, Translation::Integrated),
        iommu: iommu.map(|i| p.iommu(i).name.clone()),
        stream_map: stream_map(map),
        windows: windows
            .iter()
            .map(|&Window { cpu, bus }| RawWindow {
                cpu: Addr(cpu.start.0),
                bus: Addr(bus.0),
                size: Size(size_of(cpu)),
            })
            .collect(),
        socket: *socket,
        numa_node: *numa_node,
        p2p_bandwidth: p2p_bandwidth_mbs.map(bandwidth),
        root_ports: Vec::new(),
    }
}

/// One root port.
fn root_port(p: &Platform, n: &Node, port: &Port) -> RawRootPort {
    let Port {
        mpss,
        mps,
        acs: a,
        tbu,
        splits_oversized_writes,
        multifunction,
    } = port;
    // The parent is the host bridge the port is written in.
    let w = written(p, n);
    RawRootPort {
        name: w.name,
        bdf: w.bdf,
        id: w.id,
        mpss: *mpss,
        mps: unless(*mps, 128),
        acs: acs(*a),
        tbu: tbu.map(|t| p.tbu(t).name.clone()),
        splits_oversized_writes: unless(*splits_oversized_writes, false),
        multifunction: unless(*multifunction, false),
        link: w.link,
    }
}
