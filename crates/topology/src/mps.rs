//! K5 — effective MPS per `kernel.pcie_bus_config` (`drivers/pci/probe.c`:
//! `pci_configure_mps`, `pcie_bus_configure_settings`).
//!
//! PLACEHOLDER being replaced by the full K5 derivation.

use crate::Topology;
use peerpath_model::NodeKind;

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<u32> {
    let p = topo.platform();
    p.nodes
        .iter()
        .map(|n| match &n.kind {
            NodeKind::HostBridge(_) => 4096,
            NodeKind::RootPort(port)
            | NodeKind::SwitchUpstream(port)
            | NodeKind::SwitchDownstream(port) => port.mps,
            NodeKind::PciBridge(b) => b.mpss,
            NodeKind::Endpoint(e) => e.mps,
        })
        .collect()
}
