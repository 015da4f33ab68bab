//! K2.1–K2.3 — dma-buf attach gates and how the buffer is mapped
//! (`drivers/vfio/pci/vfio_pci_dmabuf.c`: `vfio_pci_dma_buf_attach`,
//! `vfio_pci_dma_buf_pin`, `validate_dmabuf_input`, `vfio_pci_core_fill_phys_vec`;
//! `drivers/dma-buf/dma-buf-mapping.c`: `dma_buf_phys_vec_to_sgt`;
//! `drivers/pci/p2pdma.c`: `pci_p2pdma_add_resource`; `drivers/iommu/dma-iommu.c`:
//! `iommu_dma_map_sg`, `dma_info_to_prot`).
//!
//! Attach gates (K2.1, `via: vfio-dmabuf`): the kernel release must have VFIO's
//! dma-buf export at all (`releases::Feature::VfioDmabuf`, else `-ENOTTY`); the importer must set `allow_peer2peer`
//! (else `-EOPNOTSUPP`) and be dynamic (VFIO's `pin` returns `-EOPNOTSUPP`); the range
//! must be page-aligned and inside its BAR (`-EINVAL`). The same range checks apply to
//! `via: p2pdma-pages` (`pci_p2pdma_add_resource`), which has no attach step.
//!
//! Revocation (K2.1, `exports[].revoke`, `revoke_when`; VFIO's dma-buf export since
//! its first release, `releases::Feature::VfioDmabuf`): VFIO revokes every dma-buf of
//! a device on reset (`vfio_pci_ioctl_reset`, `vfio_pci_dev_set_hot_reset`), when
//! memory decode is turned off (`vfio_basic_config_write`), both through
//! `vfio_pci_dma_buf_move(vdev, true)` and undone by `vfio_pci_dma_buf_move(vdev,
//! false)` once memory is enabled again, and for good when the device is closed
//! (`vfio_pci_dma_buf_cleanup`). A revoked buffer refuses `attach` and `map_dma_buf`
//! with `-ENODEV` (`vfio_pci_dma_buf_attach`, `vfio_pci_dma_buf_map`). So: revoked
//! `before-attach` (any event) → the attach is refused, `-ENODEV`. Revoked `after-map`
//! → `dma_buf_move_notify` tells each attachment; a dynamic importer unmaps in its
//! `move_notify` and maps again (`dma_buf_map_attachment`) when it next needs the
//! buffer: after a reset or re-enabled memory that map succeeds at the same address
//! and the pairing works (explain says so); after a close it fails with `-ENODEV`.
//! A pinned importer (not dynamic: an RDMA MR without ODP) never got that far: VFIO's
//! `pin` refuses it at attach (`-EOPNOTSUPP`, above), so revocation cannot leave it
//! holding a stale mapping.
//!
//! Mapping by map type (K2.2, `via: vfio-dmabuf`): `bus-addr` gives one bus address per
//! range and no IOVA; `thru-host-bridge` links each range into one contiguous IOVA with
//! `DMA_ATTR_MMIO` when the importer is on iommu-dma, else maps it with
//! `dma_map_phys(DMA_ATTR_MMIO)` (dma-direct or arch ops); anything else is `-EINVAL`.
//! The attribute is `mmio`: the IOMMU page table gets `IOMMU_MMIO`, Device memory.
//!
//! A driver that maps the peer itself (K2.4, `k2_driver`) passes no gate: there is no
//! dma-buf and no P2P resource. `driver-map-resource` gets `mmio` like K2.2
//! (`iommu_dma_map_resource` maps with `IOMMU_MMIO`).
//!
//! Legacy P2P pages (K2.3, `via: p2pdma-pages`): `thru-host-bridge` is mapped like RAM.
//! On iommu-dma a coherent importer gets `IOMMU_CACHE` (attribute `cache`, Normal
//! write-back), a non-coherent one neither (no attribute, Normal non-cacheable) — never
//! Device memory, which is what lets the interconnect merge writes (H4).

use peerpath_model::{Export, Import, Platform, RevokeWhen, Via, PAGE_SIZE};

use crate::k1_map_type::MapType;
use crate::k3_dma_path::DmaPath;

/// A DMA/IOMMU mapping attribute as output (`attrs`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Attr {
    /// `DMA_ATTR_MMIO` / `IOMMU_MMIO`: Device memory.
    Mmio,
    /// `IOMMU_CACHE`: Normal write-back memory.
    Cache,
}

impl Attr {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Attr::Mmio => "mmio",
            Attr::Cache => "cache",
        }
    }
}

/// The memory type an IOMMU page table entry gets (io-pgtable-arm MAIR index).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MemType {
    /// `IOMMU_MMIO`: Device-nGnRE, no gathering.
    Device,
    /// `IOMMU_CACHE`: Normal write-back.
    NormalWb,
    /// Neither: Normal non-cacheable.
    NormalNc,
}

impl MemType {
    /// The memory type of a set of attributes.
    pub fn of(attrs: &[Attr]) -> MemType {
        if attrs.contains(&Attr::Mmio) {
            MemType::Device
        } else if attrs.contains(&Attr::Cache) {
            MemType::NormalWb
        } else {
            MemType::NormalNc
        }
    }
}

/// Why an attach (or, for P2P pages, the resource) is refused (K2.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AttachRefusal {
    /// The buffer belongs to another kernel than the importer's driver (V7): a dma-buf
    /// is a file of the kernel that exported it, which `dma_buf_get` looks up in the
    /// caller's own file table (`-EBADF` for anything else), and P2P pages are
    /// `struct page`s of the kernel whose driver added them. Indices into
    /// `Platform::vms`; `None` is the host.
    OtherKernel {
        /// The kernel of the importer's driver.
        importer: Option<usize>,
        /// The kernel that holds the buffer.
        buffer: Option<usize>,
    },
    /// The kernel release has no VFIO dma-buf export of MMIO
    /// (`VFIO_DEVICE_FEATURE_DMA_BUF` is unknown: `-ENOTTY`; issue 24,
    /// `releases::Feature::VfioDmabuf`).
    NoVfioDmabuf(peerpath_model::Release),
    /// The importer did not set `allow_peer2peer`: `-EOPNOTSUPP`.
    NoPeer2Peer,
    /// The importer is not dynamic and VFIO cannot pin: `-EOPNOTSUPP`.
    NotDynamic,
    /// The export is revoked when the importer attaches, or for good after it mapped
    /// (its re-map after `move_notify` fails): `-ENODEV`.
    Revoked(peerpath_model::Revocation),
    /// Offset or size not page-aligned, or size 0: `-EINVAL`.
    Unaligned {
        /// `exports[].offset`.
        offset: u64,
        /// `exports[].size`.
        size: u64,
    },
    /// The range does not lie inside the BAR: `-EINVAL`.
    OutsideBar {
        /// `exports[].offset`.
        offset: u64,
        /// `exports[].size`.
        size: u64,
        /// The BAR's size (0 when the BAR is missing).
        bar_size: u64,
    },
}

impl AttachRefusal {
    /// The errno the kernel returns.
    pub fn errno(self) -> &'static str {
        match self {
            AttachRefusal::OtherKernel { .. } => "-EBADF",
            AttachRefusal::NoVfioDmabuf(_) => "-ENOTTY",
            AttachRefusal::NoPeer2Peer | AttachRefusal::NotDynamic => "-EOPNOTSUPP",
            AttachRefusal::Revoked(_) => "-ENODEV",
            AttachRefusal::Unaligned { .. } | AttachRefusal::OutsideBar { .. } => "-EINVAL",
        }
    }

    /// A short machine-readable name, for evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachRefusal::OtherKernel { .. } => "other-kernel",
            AttachRefusal::NoVfioDmabuf(_) => "no-vfio-dmabuf",
            AttachRefusal::NoPeer2Peer => "no-allow-peer2peer",
            AttachRefusal::NotDynamic => "not-dynamic",
            AttachRefusal::Revoked(_) => "export-revoked",
            AttachRefusal::Unaligned { .. } => "not-page-aligned",
            AttachRefusal::OutsideBar { .. } => "outside-bar",
        }
    }
}

/// The K2.1 gates for one pairing, in the order the kernel meets them.
pub(crate) fn attach_gates(p: &Platform, import: &Import) -> Vec<AttachRefusal> {
    let export = p.export(import.export);
    let mut out = Vec::new();
    if matches!(export.via, Via::DriverBusAddress | Via::DriverMapResource) {
        return out;
    }
    if let Some(refusal) = other_kernel(p, import) {
        // Nothing else is reached: the importer's kernel has no such buffer.
        return vec![refusal];
    }
    if export.via == Via::VfioDmabuf {
        let r = p.kernel.release_version();
        if !crate::releases::has(crate::releases::Feature::VfioDmabuf, r) {
            // The export itself does not exist: nothing else is reached.
            return vec![AttachRefusal::NoVfioDmabuf(r)];
        }
        if !import.allow_peer2peer {
            out.push(AttachRefusal::NoPeer2Peer);
        }
        // `vfio_pci_dma_buf_attach` checks `revoked` after `peer2peer`; the core
        // pins a non-dynamic importer after the exporter's `attach`.
        match export.revoke {
            Some(r) if r.when == RevokeWhen::BeforeAttach => {
                out.push(AttachRefusal::Revoked(r));
            }
            // Revoked after the map: only a dynamic importer gets there (a pinned one
            // is refused below), and its re-map fails while the export stays revoked.
            Some(r) if import.dynamic && r.permanent() => out.push(AttachRefusal::Revoked(r)),
            _ => {}
        }
        if !import.dynamic {
            out.push(AttachRefusal::NotDynamic);
        }
    }
    out.extend(range_gate(p, export));
    out
}

/// V7 (peerpath's reading of `dma_buf_get` and of P2P pages; not in the spec's V
/// rules, which decide a pairing inside one VM): the kernel that holds the buffer must
/// be the importer's. A VFIO dma-buf is the host's even for a device assigned to a VM
/// (the VMM holds the device's VFIO file on the host and exports from it), so a host
/// importer may take an assigned device's BAR, but a guest's driver cannot take a
/// host's or another VM's buffer; P2P pages are the kernel's whose driver added them:
/// the exporter's (a VM's guest kernel for an assigned device). A pairing inside one
/// VM is decided by `v_vm` on the guest's platform, never here with two kernels.
/// Drivers that map the peer themselves (K2.4) have no buffer: their cross-boundary
/// case is the VM's I/O address space (V1).
fn other_kernel(p: &Platform, import: &Import) -> Option<AttachRefusal> {
    let export = p.export(import.export);
    let vm_index = |dev| p.vms.iter().position(|v| v.device(dev).is_some());
    let importer = vm_index(import.importer);
    let buffer = match export.via {
        Via::VfioDmabuf => None,
        Via::P2pdmaPages => vm_index(export.device),
        Via::DriverBusAddress | Via::DriverMapResource => return None,
    };
    let same_vm = importer.is_some() && importer == vm_index(export.device);
    (importer != buffer && !same_vm).then_some(AttachRefusal::OtherKernel { importer, buffer })
}

/// `validate_dmabuf_input` and `vfio_pci_core_fill_phys_vec` (or the checks of
/// `pci_p2pdma_add_resource`): page alignment and containment in the BAR.
fn range_gate(p: &Platform, export: &Export) -> Option<AttachRefusal> {
    let (offset, size) = (export.offset, export.size);
    if size == 0 || offset % PAGE_SIZE != 0 || size % PAGE_SIZE != 0 {
        return Some(AttachRefusal::Unaligned { offset, size });
    }
    let bar_size = match &p.node(export.device).kind {
        peerpath_model::NodeKind::Endpoint(e) => {
            e.bar(export.bar).and_then(|b| b.range.size()).unwrap_or(0)
        }
        _ => 0,
    };
    let inside = offset.checked_add(size).is_some_and(|end| end <= bar_size);
    (!inside).then_some(AttachRefusal::OutsideBar {
        offset,
        size,
        bar_size,
    })
}

/// The attributes of the mapping the kernel creates (K2.2, K2.3); empty for
/// `bus-addr` (no DMA API call) and for failed mappings.
pub(crate) fn mapping_attrs(
    via: Via,
    map_type: MapType,
    path: DmaPath,
    coherent: bool,
) -> Vec<Attr> {
    if map_type != MapType::ThruHostBridge {
        return Vec::new();
    }
    match (via, path) {
        (_, DmaPath::None | DmaPath::BusAddress) => Vec::new(),
        (Via::VfioDmabuf | Via::DriverMapResource, _) => vec![Attr::Mmio],
        (Via::P2pdmaPages, DmaPath::IommuDma) if coherent => vec![Attr::Cache],
        (Via::P2pdmaPages, _) => Vec::new(),
        (Via::DriverBusAddress, _) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;
    use peerpath_model::NodeId;

    #[test]
    fn gates_refuse_missing_peer2peer_pinning_and_bad_ranges() {
        let mut p = testplat::switch_pair(|_| {});
        let mut imp = p.imports[0];
        assert!(attach_gates(&p, &imp).is_empty());
        imp.allow_peer2peer = false;
        imp.dynamic = false;
        assert_eq!(
            attach_gates(&p, &imp),
            [AttachRefusal::NoPeer2Peer, AttachRefusal::NotDynamic]
        );
        p.exports[0].offset = 0x800;
        assert!(matches!(
            attach_gates(&p, &p.imports[0])[..],
            [AttachRefusal::Unaligned { .. }]
        ));
        p.exports[0].offset = 0x1000;
        assert!(matches!(
            attach_gates(&p, &p.imports[0])[..],
            [AttachRefusal::OutsideBar { .. }]
        ));
    }

    /// V7: a buffer crosses no kernel boundary. nic0 imports gpu0's export; which of
    /// the two is assigned to a VM, and how gpu0 exports, decide.
    #[test]
    fn a_buffer_of_another_kernel_is_refused_before_any_other_gate() {
        let p = testplat::switch_pair(|_| {});
        let (gpu, nic) = (p.export(p.imports[0].export).device, p.imports[0].importer);
        let gates = |assigned: &[NodeId], via: Via| {
            let mut q = p.clone();
            q.exports[0].via = via;
            if !assigned.is_empty() {
                q.vms.push(testplat::vm(assigned));
            }
            attach_gates(&q, &q.imports[0])
        };
        let refused = |importer, buffer| vec![AttachRefusal::OtherKernel { importer, buffer }];
        // Both on the host, or both in one VM: one kernel.
        assert!(gates(&[], Via::VfioDmabuf).is_empty());
        assert!(gates(&[gpu, nic], Via::VfioDmabuf).is_empty());
        assert!(gates(&[gpu, nic], Via::P2pdmaPages).is_empty());
        // The importer in a VM: the host's VFIO dma-buf, or the host's P2P pages.
        assert_eq!(gates(&[nic], Via::VfioDmabuf), refused(Some(0), None));
        assert_eq!(gates(&[nic], Via::P2pdmaPages), refused(Some(0), None));
        // The exporter in a VM: its VFIO dma-buf is still the host's (the VMM exports
        // it), its P2P pages are the guest's.
        assert!(gates(&[gpu], Via::VfioDmabuf).is_empty());
        assert_eq!(gates(&[gpu], Via::P2pdmaPages), refused(None, Some(0)));
        // A driver's own mapping has no buffer.
        assert!(gates(&[nic], Via::DriverMapResource).is_empty());
        // Refused before the other gates (no allow_peer2peer here too).
        let mut q = p.clone();
        q.imports[0].allow_peer2peer = false;
        q.vms.push(testplat::vm(&[nic]));
        assert_eq!(attach_gates(&q, &q.imports[0]), refused(Some(0), None));
    }

    #[test]
    fn revocation_refuses_before_attach_and_after_a_close_but_not_a_dynamic_remap() {
        use peerpath_model::{Revocation, RevokeEvent};
        let mut p = testplat::switch_pair(|_| {});
        let imp = p.imports[0];
        assert!(imp.dynamic);
        let gates = |p: &Platform, event, when, dynamic| {
            let mut p = p.clone();
            p.exports[0].revoke = Some(Revocation { event, when });
            let mut imp = imp;
            imp.dynamic = dynamic;
            attach_gates(&p, &imp)
        };
        for event in RevokeEvent::ALL.iter().copied() {
            let r = Revocation {
                event,
                when: RevokeWhen::BeforeAttach,
            };
            assert_eq!(gates(&p, event, r.when, true), [AttachRefusal::Revoked(r)]);
            assert_eq!(AttachRefusal::Revoked(r).errno(), "-ENODEV");
            // A pinned importer: revoked, and VFIO cannot pin it either.
            assert_eq!(
                gates(&p, event, r.when, false),
                [AttachRefusal::Revoked(r), AttachRefusal::NotDynamic]
            );
            // After the map: a dynamic importer maps again unless the device closed.
            let after = gates(&p, event, RevokeWhen::AfterMap, true);
            assert_eq!(after.is_empty(), event != RevokeEvent::Closed, "{event}");
            // A pinned importer was refused at attach: no revocation reached it.
            assert_eq!(
                gates(&p, event, RevokeWhen::AfterMap, false),
                [AttachRefusal::NotDynamic]
            );
        }
        p.exports[0].revoke = None;
        assert!(attach_gates(&p, &imp).is_empty());
    }

    #[test]
    fn p2pdma_pages_skip_the_dmabuf_flags() {
        let mut p = testplat::switch_pair(|_| {});
        p.exports[0].via = Via::P2pdmaPages;
        let mut imp = p.imports[0];
        imp.allow_peer2peer = false;
        assert!(attach_gates(&p, &imp).is_empty());
    }

    #[test]
    fn attrs_follow_via_path_and_coherence() {
        use DmaPath::*;
        use MapType::*;
        assert_eq!(
            mapping_attrs(Via::VfioDmabuf, BusAddr, BusAddress, true),
            []
        );
        assert_eq!(
            mapping_attrs(Via::VfioDmabuf, ThruHostBridge, IommuDma, true),
            [Attr::Mmio]
        );
        assert_eq!(
            mapping_attrs(Via::VfioDmabuf, ThruHostBridge, DmaDirect, false),
            [Attr::Mmio]
        );
        assert_eq!(
            mapping_attrs(Via::P2pdmaPages, ThruHostBridge, IommuDma, true),
            [Attr::Cache]
        );
        assert_eq!(
            mapping_attrs(Via::P2pdmaPages, ThruHostBridge, IommuDma, false),
            []
        );
        assert_eq!(MemType::of(&[Attr::Cache]), MemType::NormalWb);
        assert_eq!(MemType::of(&[]), MemType::NormalNc);
        assert_eq!(MemType::of(&[Attr::Mmio]), MemType::Device);
    }
}
