//! K2.4 — drivers that map peers themselves (`exports[].via: driver-bus-address |
//! driver-map-resource`).
//!
//! Some stacks never ask p2pdma: a GPU driver's peer access between its own devices, or
//! an RDMA stack that takes a GPU BAR's pages from the GPU driver (e.g. NVIDIA's
//! `nvidia_p2p_dma_map_pages`, AMD's `amdgpu_dma_buf` peer path without
//! `pci_p2pdma_distance`). They hand the importer either
//! - the exporter BAR's **bus address** (`pci_bus_address`), whatever K1 would decide:
//!   treated as `bus-addr`, no DMA API call; or
//! - the importer's **`dma_map_resource`** result (`kernel/dma/mapping.c`): treated as
//!   `thru-host-bridge` — an IOVA under iommu-dma (`iommu_dma_map_resource`, with
//!   `IOMMU_MMIO`: Device memory), the physical address under dma-direct.
//!
//! K1's verdict is still computed (`KernelWhy::map`) and shown beside the driver's
//! choice; `driver-bypasses-p2pdma` reports where they differ. K2.1's dma-buf gates do
//! not apply: there is no dma-buf attach.

use peerpath_model::{MapType, Via};

/// The map type a driver that maps peers itself uses (K2.4); `None` when the export
/// goes through the kernel's p2pdma (K2.2, K2.3), whose K1 verdict then decides.
pub(crate) fn driver_map_type(via: Via) -> Option<MapType> {
    match via {
        Via::DriverBusAddress => Some(MapType::BusAddr),
        Via::DriverMapResource => Some(MapType::ThruHostBridge),
        Via::VfioDmabuf | Via::P2pdmaPages => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_driver_vias_choose_their_own_map_type() {
        assert_eq!(
            driver_map_type(Via::DriverBusAddress),
            Some(MapType::BusAddr)
        );
        assert_eq!(
            driver_map_type(Via::DriverMapResource),
            Some(MapType::ThruHostBridge)
        );
        assert_eq!(driver_map_type(Via::VfioDmabuf), None);
        assert_eq!(driver_map_type(Via::P2pdmaPages), None);
    }
}
