//! The kernel side of one pairing: K1 → K2 → K3 in the order the kernel runs them.
//!
//! This module only sequences the rule modules (`k1_map_type`, `k2_dmabuf`,
//! `k2_driver`, `k3_dma_path`, `k3_iova`) into one `KernelDecision`; it decides nothing
//! itself. K1 always runs; where a driver maps the peer itself (K2.4) its choice, not
//! K1's, is the map type the importer gets.

use peerpath_model::{DmaAddr, Import, IommuId, NodeId, PhysAddr};
use peerpath_topology::Topology;

use crate::k1_map_type::{calc_map_type_and_dist, MapType, MapTypeDecision};
use crate::k2_dmabuf::{attach_gates, mapping_attrs, AttachRefusal, Attr, MemType};
use crate::k2_driver::driver_map_type;
use crate::k3_dma_path::{
    bus_address, choose_path, export_phys, map_thru_host_bridge, DmaPath, MapResult, PathChoice,
};

/// What the kernel decides for one pairing (output-format.md, `kernel`).
#[derive(Clone, Debug, PartialEq)]
pub struct KernelDecision {
    /// The map type the importer's address follows: K1's, or the driver's own (K2.4).
    pub map_type: MapType,
    /// K1.3 distance; `None` without a common upstream device.
    pub distance: Option<u32>,
    /// The path the mapping took; `none` when nothing was mapped.
    pub dma_path: DmaPath,
    /// The address handed to the importer; `None` when the mapping failed.
    pub dma_address: Option<DmaAddr>,
    /// Mapping attributes (`mmio`, `cache`; empty = Normal non-cacheable or no IOMMU
    /// mapping).
    pub attrs: Vec<Attr>,
    /// Everything that led to the decision, for `explain` and the findings.
    pub why: KernelWhy,
}

/// The reasons behind a `KernelDecision`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelWhy {
    /// The importer (client).
    pub importer: NodeId,
    /// The exporter (provider).
    pub exporter: NodeId,
    /// K1: p2pdma's decision, computed even where a driver maps the peer itself.
    pub map: MapTypeDecision,
    /// K2.4: the map type the export's driver chose itself, bypassing p2pdma.
    pub driver: Option<MapType>,
    /// K2.1 refusals; non-empty means nothing was mapped.
    pub attach: Vec<AttachRefusal>,
    /// K3.3: the importer's path for `thru-host-bridge`.
    pub path: PathChoice,
    /// K3.4–K3.7: how the `thru-host-bridge` mapping ended; `None` when not attempted.
    pub result: Option<MapResult>,
    /// What the importer was handed and what it stands for.
    pub mapping: Option<Mapping>,
}

/// Which address space the importer's DMA address belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Regime {
    /// A PCI bus address (`bus-addr`): meant to be routed by the switches, untranslated.
    BusAddress,
    /// A raw CPU physical address (dma-direct): meant to bypass any IOMMU.
    RawPhys,
    /// An IOVA in the importer's domain (iommu-dma): meant to be translated.
    Iova,
}

impl Regime {
    /// A short name, for evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::BusAddress => "bus-address",
            Regime::RawPhys => "raw-pa",
            Regime::Iova => "iova",
        }
    }
}

/// The mapping the kernel created.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mapping {
    /// The address regime.
    pub regime: Regime,
    /// The DMA address of the first byte.
    pub dma: DmaAddr,
    /// The CPU physical address it stands for.
    pub phys: PhysAddr,
    /// Bytes mapped.
    pub size: u64,
    /// The page-table memory type (iommu-dma only; otherwise informative).
    pub mem: MemType,
    /// The IOMMU whose page table holds it (iommu-dma only).
    pub iommu: Option<IommuId>,
}

/// Runs K1–K3 for one pairing.
pub(crate) fn decide(topo: &Topology<'_>, import: &Import) -> KernelDecision {
    let p = topo.platform();
    let export = p.export(import.export);
    let importer = import.importer;
    let exporter = export.device;
    let map = calc_map_type_and_dist(topo, exporter, importer);
    let driver = driver_map_type(export.via);
    let map_type = driver.unwrap_or(map.map_type);
    let attach = attach_gates(p, import);
    let path = choose_path(topo, importer);
    let coherent = topo.endpoint(importer).is_none_or(|e| e.coherent);
    let phys = export_phys(p, export);

    let mut result = None;
    let mut mapping = None;
    let mut dma_path = DmaPath::None;
    if attach.is_empty() {
        match map_type {
            MapType::BusAddr => {
                dma_path = DmaPath::BusAddress;
                mapping = bus_address(topo, export)
                    .zip(phys)
                    .map(|(dma, phys)| Mapping {
                        regime: Regime::BusAddress,
                        dma,
                        phys,
                        size: export.size,
                        mem: MemType::of(&[]),
                        iommu: None,
                    });
            }
            MapType::ThruHostBridge => {
                dma_path = path.path;
                result = map_thru_host_bridge(topo, importer, export, &path);
                if let (Some(MapResult::Mapped(dma)), Some(phys)) = (result, phys) {
                    let regime = if path.path == DmaPath::IommuDma {
                        Regime::Iova
                    } else {
                        Regime::RawPhys
                    };
                    let attrs = mapping_attrs(export.via, map_type, path.path, coherent);
                    mapping = Some(Mapping {
                        regime,
                        dma,
                        phys,
                        size: export.size,
                        mem: MemType::of(&attrs),
                        iommu: (regime == Regime::Iova).then_some(path.iommu).flatten(),
                    });
                }
            }
            MapType::NotSupported => {}
        }
    }
    let attrs = if mapping.is_some() {
        mapping_attrs(export.via, map_type, dma_path, coherent)
    } else {
        Vec::new()
    };
    KernelDecision {
        map_type,
        distance: map.distance,
        dma_path,
        dma_address: mapping.map(|m| m.dma),
        attrs,
        why: KernelWhy {
            importer,
            exporter,
            map,
            driver,
            attach,
            path,
            result,
            mapping,
        },
    }
}
