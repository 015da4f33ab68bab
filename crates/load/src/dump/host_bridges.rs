//! `host_bridges`: each host bridge with its windows and, inside it, its root ports.

use peerpath_model::{
    DirectWindowKind, ForwardsP2p, HostBridge, Node, NodeId, NodeKind, Platform, Port, Translation,
};

use crate::raw::{Addr, RawDirectWindow, RawHostBridge, RawRootPort, RawWindow, Size};

use super::iommus::stream_map;
use super::ports::{acs, pci_id};
use super::timing::{bandwidth, link};
use super::{size_of, unless, NO_BDF};

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

/// One host bridge, its root ports left for [`host_bridges`] to add.
fn host_bridge(p: &Platform, n: &Node, hb: &HostBridge) -> RawHostBridge {
    RawHostBridge {
        name: n.name.clone(),
        segment: Some(hb.segment),
        id: pci_id(hb.id),
        forwards_p2p: unless(hb.forwards_p2p, ForwardsP2p::SameHostBridge),
        forwards_p2p_reads: hb.forwards_p2p_reads,
        direct_window: hb.direct_window.map(|w| RawDirectWindow {
            kind: unless(w.kind, DirectWindowKind::PhbBypass),
            base: Addr(w.base),
            size: Size(w.size),
        }),
        translation: unless(hb.translation, Translation::Integrated),
        iommu: hb.iommu.map(|i| p.iommu(i).name.clone()),
        stream_map: stream_map(&hb.stream_map),
        windows: hb
            .windows
            .iter()
            .map(|w| RawWindow {
                cpu: Addr(w.cpu.start),
                bus: Addr(w.bus.0),
                size: Size(size_of(w.cpu)),
            })
            .collect(),
        socket: hb.socket,
        numa_node: hb.numa_node,
        p2p_bandwidth: hb.p2p_bandwidth_mbs.map(bandwidth),
        root_ports: Vec::new(),
    }
}

/// One root port.
fn root_port(p: &Platform, n: &Node, port: &Port) -> RawRootPort {
    RawRootPort {
        name: n.name.clone(),
        bdf: n.bdf.unwrap_or(NO_BDF),
        id: pci_id(n.pci_id),
        mpss: port.mpss,
        mps: unless(port.mps, 128),
        acs: acs(port.acs),
        tbu: port.tbu.map(|t| p.tbu(t).name.clone()),
        splits_oversized_writes: unless(port.splits_oversized_writes, false),
        multifunction: unless(port.multifunction, false),
        link: link(n.link),
    }
}
