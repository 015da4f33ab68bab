//! K4.1/K4.2 — ACS Control as the kernel sets it (`drivers/pci/pci.c`:
//! `pci_enable_acs`, `pci_std_enable_acs`, `__pci_config_acs`).
//!
//! PLACEHOLDER being replaced by the full K4.1/K4.2 derivation.

use crate::Topology;
use peerpath_model::{AcsFlags, NodeId};

/// The effective ACS Control of one node.
pub fn effective_acs_ctl(topo: &Topology<'_>, id: NodeId) -> AcsFlags {
    topo.platform()
        .node(id)
        .kind
        .clone()
        .pipe_acs()
        .unwrap_or_default()
}

trait PipeAcs {
    fn pipe_acs(self) -> Option<AcsFlags>;
}

impl PipeAcs for peerpath_model::NodeKind {
    fn pipe_acs(self) -> Option<AcsFlags> {
        use peerpath_model::NodeKind::*;
        match self {
            RootPort(p) | SwitchUpstream(p) | SwitchDownstream(p) => {
                p.acs.map(|a| a.ctl.unwrap_or(a.cap & AcsFlags::REQ))
            }
            Endpoint(e) => e.acs.map(|a| a.ctl.unwrap_or(a.cap & AcsFlags::REQ)),
            _ => None,
        }
    }
}

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<AcsFlags> {
    topo.platform()
        .node_ids()
        .map(|id| effective_acs_ctl(topo, id))
        .collect()
}
