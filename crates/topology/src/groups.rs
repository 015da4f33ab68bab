//! K4.3 — IOMMU groups (`drivers/iommu/iommu.c`: `pci_device_group`; the
//! `reachable` algorithm of "Fix incorrect iommu_groups with PCIe ACS").
//!
//! PLACEHOLDER being replaced by both algorithms.

use crate::Topology;
use peerpath_model::NodeId;

/// One IOMMU group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Group number: groups are sorted by the BDF of their first device, from 0.
    pub id: u32,
    /// Member nodes (endpoints, and bridges/ports the kernel puts in groups), sorted by name.
    pub devices: Vec<NodeId>,
}

/// All IOMMU groups of a platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// The groups, sorted by id.
    pub groups: Vec<Group>,
    /// For each node: its group id, if it has one.
    pub of: Vec<Option<u32>>,
}

impl Groups {
    /// The group of a node.
    pub fn group_of(&self, id: NodeId) -> Option<u32> {
        self.of.get(id.index()).copied().flatten()
    }
}

pub(crate) fn derive(topo: &Topology<'_>) -> Groups {
    Groups {
        groups: Vec::new(),
        of: vec![None; topo.platform().nodes.len()],
    }
}
