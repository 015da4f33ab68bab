//! K3.2 — each device's IOMMU domain (`drivers/iommu/iommu.c`).
//!
//! PLACEHOLDER being replaced by the full K3.2 derivation.

use crate::Topology;
use peerpath_model::{DomainId, DomainType, IommuId, NodeKind};

/// Where a device's domain type came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainSource {
    /// No IOMMU translates the device: dma-direct.
    NoIommu,
    /// Listed in an explicit `domains` entry.
    Explicit,
    /// Bound to vfio-pci: an unmanaged domain owned by VFIO/iommufd.
    Vfio,
    /// `kernel.default_domain`.
    Default,
    /// Passthrough default turned into translated by memory encryption (CC).
    MemoryEncryption,
    /// Untrusted (external-facing) device forced to `dma`.
    Untrusted,
}

/// A device's IOMMU domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceDomain {
    /// The IOMMU behind the device; `None`: no IOMMU (dma-direct).
    pub iommu: Option<IommuId>,
    /// The domain type (meaningful only with an IOMMU).
    pub ty: DomainType,
    /// Why this type.
    pub source: DomainSource,
    /// The explicit domain entry, if listed.
    pub explicit: Option<DomainId>,
}

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<Option<DeviceDomain>> {
    let p = topo.platform();
    p.node_ids()
        .map(|id| match p.node(id).kind {
            NodeKind::Endpoint(_) => Some(DeviceDomain {
                iommu: topo.iommu_of(id),
                ty: p.kernel.default_domain,
                source: if topo.iommu_of(id).is_some() {
                    DomainSource::Default
                } else {
                    DomainSource::NoIommu
                },
                explicit: None,
            }),
            _ => None,
        })
        .collect()
}
