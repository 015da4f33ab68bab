//! An I/O page table: the IOVA → PA mappings of one IOMMU domain, with protection and
//! memory type (H3, H4).
//!
//! An ordered map searched with `range(..=iova).next_back()` (style.md habit 3, after
//! cloud-hypervisor `virtio-devices/src/iommu.rs` and vm-memory `src/iommu.rs`), which
//! reports "unmapped" apart from "not permitted". Mappings are 4 KiB granular, as the
//! TLBs cache 4 KiB pages.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use peerpath_model::{AddrRange, Iova, Op, PhysAddr, PAGE_SIZE};

use crate::errors::MapError;

/// The memory type a mapping gives the interconnect (H4; io-pgtable-arm MAIR indices:
/// `IOMMU_MMIO` → Device-nGnRE 0x04, `IOMMU_CACHE` → Normal WB 0xff, neither → Normal
/// NC 0x44).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemAttr {
    /// `IOMMU_MMIO`: Device-nGnRE, no gathering.
    Device,
    /// `IOMMU_CACHE`: Normal write-back cacheable.
    NormalWb,
    /// Neither: Normal non-cacheable.
    NormalNc,
}

impl MemAttr {
    /// Whether the interconnect may gather (merge) consecutive writes (H4).
    pub fn allows_merge(self) -> bool {
        matches!(self, MemAttr::NormalWb | MemAttr::NormalNc)
    }
}

/// Protection of one mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prot {
    /// `IOMMU_READ`.
    pub read: bool,
    /// `IOMMU_WRITE`.
    pub write: bool,
    /// Memory type.
    pub attr: MemAttr,
}

impl Prot {
    /// Read and write with a memory type.
    pub fn rw(attr: MemAttr) -> Self {
        Self {
            read: true,
            write: true,
            attr,
        }
    }

    /// Whether this protection permits `op`.
    pub fn permits(&self, op: Op) -> bool {
        match op {
            Op::Read => self.read,
            Op::Write => self.write,
        }
    }
}

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No mapping covers the IOVA.
    Unmapped,
    /// A mapping covers it but does not permit the operation.
    NotPermitted,
}

/// One mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The IOVA range.
    pub iova: AddrRange,
    /// PA of `iova.start`.
    pub pa: PhysAddr,
    /// Protection and memory type.
    pub prot: Prot,
}

/// A successful translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translated {
    /// The physical address.
    pub pa: PhysAddr,
    /// The mapping's protection.
    pub prot: Prot,
}

/// Process-wide source of table tags (see `IoPageTable::tag`).
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

fn fresh_tag() -> u64 {
    NEXT_TAG.fetch_add(1, Ordering::Relaxed)
}

/// The IOVA → PA mappings of one domain.
#[derive(Clone, Debug)]
pub struct IoPageTable {
    /// Keyed by IOVA start.
    map: BTreeMap<u64, Mapping>,
    /// Identifies this table's contents for TLB tagging, like an ASID: a fresh value
    /// on creation and on every change, kept by `clone` (same contents). TLB entries
    /// carry it, so a TLB never serves a translation from another table or an older
    /// version of this one (an implicit invalidation on every change). Only compared
    /// for equality; never part of any output.
    tag: u64,
}

impl PartialEq for IoPageTable {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl Eq for IoPageTable {}

impl Default for IoPageTable {
    fn default() -> Self {
        Self::new()
    }
}

impl IoPageTable {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            map: BTreeMap::new(),
            tag: fresh_tag(),
        }
    }

    /// Maps `size` bytes at `iova` to `pa`. All three must be 4 KiB aligned; the
    /// ranges must not wrap; the IOVA range must not overlap an existing mapping.
    pub fn map(&mut self, iova: Iova, pa: PhysAddr, size: u64, prot: Prot) -> Result<(), MapError> {
        if size == 0 {
            return Err(MapError::Empty);
        }
        if iova.0 % PAGE_SIZE != 0 || pa.0 % PAGE_SIZE != 0 || size % PAGE_SIZE != 0 {
            return Err(MapError::Unaligned { iova, pa, size });
        }
        let range = AddrRange::from_start_and_size(iova.0, size).ok_or(MapError::Wraps)?;
        AddrRange::from_start_and_size(pa.0, size).ok_or(MapError::Wraps)?;
        let before = self.map.range(..=range.end).next_back();
        if let Some((_, m)) = before {
            if m.iova.overlaps(&range) {
                return Err(MapError::Overlap {
                    iova,
                    existing: m.iova,
                });
            }
        }
        self.map.insert(
            iova.0,
            Mapping {
                iova: range,
                pa,
                prot,
            },
        );
        self.tag = fresh_tag();
        Ok(())
    }

    /// Removes the mapping that starts at `iova`; returns it.
    pub fn unmap(&mut self, iova: Iova) -> Option<Mapping> {
        let m = self.map.remove(&iova.0);
        if m.is_some() {
            self.tag = fresh_tag();
        }
        m
    }

    /// The mapping covering `iova`.
    pub fn mapping(&self, iova: Iova) -> Option<&Mapping> {
        self.map
            .range(..=iova.0)
            .next_back()
            .map(|(_, m)| m)
            .filter(|m| m.iova.contains(iova.0))
    }

    /// Translates `iova` for `op`: unmapped and not permitted are told apart.
    pub fn lookup(&self, iova: Iova, op: Op) -> Result<Translated, LookupError> {
        let m = self.mapping(iova).ok_or(LookupError::Unmapped)?;
        if !m.prot.permits(op) {
            return Err(LookupError::NotPermitted);
        }
        Ok(Translated {
            pa: PhysAddr(m.pa.0 + (iova.0 - m.iova.start)),
            prot: m.prot,
        })
    }

    /// Every mapping, by IOVA.
    pub fn mappings(&self) -> impl Iterator<Item = &Mapping> + '_ {
        self.map.values()
    }

    /// Number of mappings.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table has no mapping.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The contents tag (see the field); for TLBs.
    pub(crate) fn tag(&self) -> u64 {
        self.tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> IoPageTable {
        let mut t = IoPageTable::new();
        t.map(
            Iova(0x1000),
            PhysAddr(0x40_0000_0000),
            0x2000,
            Prot::rw(MemAttr::Device),
        )
        .expect("map");
        t.map(
            Iova(0x10_0000),
            PhysAddr(0x8000_0000),
            0x1000,
            Prot {
                read: true,
                write: false,
                attr: MemAttr::NormalWb,
            },
        )
        .expect("map");
        t
    }

    #[test]
    fn lookup_tells_unmapped_from_not_permitted() {
        let t = table();
        assert_eq!(
            t.lookup(Iova(0x1234), Op::Write).map(|x| x.pa),
            Ok(PhysAddr(0x40_0000_0234))
        );
        assert_eq!(
            t.lookup(Iova(0x2fff), Op::Read).map(|x| x.pa),
            Ok(PhysAddr(0x40_0000_1fff))
        );
        assert_eq!(t.lookup(Iova(0x3000), Op::Read), Err(LookupError::Unmapped));
        assert_eq!(t.lookup(Iova(0xfff), Op::Read), Err(LookupError::Unmapped));
        assert_eq!(
            t.lookup(Iova(0x10_0010), Op::Write),
            Err(LookupError::NotPermitted)
        );
        assert!(t.lookup(Iova(0x10_0010), Op::Read).is_ok());
    }

    #[test]
    fn map_rejects_overlap_misalignment_and_wrap() {
        let mut t = table();
        let p = Prot::rw(MemAttr::Device);
        assert!(matches!(
            t.map(Iova(0x2000), PhysAddr(0), 0x1000, p),
            Err(MapError::Overlap { .. })
        ));
        assert!(matches!(
            t.map(Iova(0), PhysAddr(0), 0x2000, p),
            Err(MapError::Overlap { .. })
        ));
        assert!(matches!(
            t.map(Iova(0x10), PhysAddr(0), 0x1000, p),
            Err(MapError::Unaligned { .. })
        ));
        assert_eq!(
            t.map(Iova(u64::MAX - 0xfff), PhysAddr(0), 0x2000, p),
            Err(MapError::Wraps)
        );
        assert_eq!(t.map(Iova(0x5000), PhysAddr(0), 0, p), Err(MapError::Empty));
        // Adjacent is fine.
        assert!(t.map(Iova(0), PhysAddr(0), 0x1000, p).is_ok());
        assert!(t.map(Iova(0x3000), PhysAddr(0), 0x1000, p).is_ok());
    }

    #[test]
    fn tag_changes_with_contents_and_survives_clone() {
        let mut t = table();
        let c = t.clone();
        assert_eq!(t.tag(), c.tag());
        let before = t.tag();
        assert!(t.unmap(Iova(0x1000)).is_some());
        assert_ne!(t.tag(), before);
        assert!(t.unmap(Iova(0x1000)).is_none());
    }
}
