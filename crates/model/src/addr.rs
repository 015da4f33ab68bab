//! Address newtypes and an inclusive address range.
//!
//! Mixing up an IOVA, a CPU physical address and a PCI bus address is the very bug
//! peerpath explains, so each address space gets its own type and the compiler keeps
//! them apart in our own code.

use std::fmt;

macro_rules! addr_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw value.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// `self + off`, or `None` on overflow.
            pub fn checked_add(self, off: u64) -> Option<Self> {
                self.0.checked_add(off).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }
    };
}

addr_newtype!(
    /// A CPU physical address (the interconnect's physical address map).
    PhysAddr
);
addr_newtype!(
    /// A PCI bus address, as seen below a host bridge (`bus = cpu + bus_offset`).
    BusAddr
);
addr_newtype!(
    /// An I/O virtual address allocated by iommu-dma for one device's domain.
    Iova
);
addr_newtype!(
    /// The address a device puts on the wire, before anything translates it:
    /// whichever regime (bus address, raw PA, IOVA) the kernel handed it.
    DmaAddr
);

/// An inclusive range `[start, end]` of 64-bit addresses; never empty, never wraps.
///
/// Inclusive so that a range ending at `u64::MAX` is representable.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct AddrRange {
    /// First address in the range.
    pub start: u64,
    /// Last address in the range (inclusive).
    pub end: u64,
}

impl AddrRange {
    /// The range of `size` bytes starting at `start`; `None` if `size` is 0 or the
    /// range would wrap past 2^64.
    pub fn from_start_and_size(start: u64, size: u64) -> Option<Self> {
        let last = size.checked_sub(1)?;
        let end = start.checked_add(last)?;
        Some(Self { start, end })
    }

    /// The range `[start, end]`; `None` if `end < start`.
    pub fn from_start_and_end(start: u64, end: u64) -> Option<Self> {
        (end >= start).then_some(Self { start, end })
    }

    /// Size in bytes; `None` only for the full 2^64 range.
    pub fn size(&self) -> Option<u64> {
        (self.end - self.start).checked_add(1)
    }

    /// Whether `addr` lies in the range.
    #[inline]
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr <= self.end
    }

    /// Whether `other` lies wholly inside `self`.
    pub fn contains_range(&self, other: &AddrRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Whether the two ranges share at least one address.
    pub fn overlaps(&self, other: &AddrRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The smallest range covering both.
    pub fn union(&self, other: &AddrRange) -> AddrRange {
        AddrRange {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The part of `self` that also lies in `other`.
    pub fn intersect(&self, other: &AddrRange) -> Option<AddrRange> {
        AddrRange::from_start_and_end(self.start.max(other.start), self.end.min(other.end))
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}-{:#x}]", self.start, self.end)
    }
}

impl fmt::Debug for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A bridge's memory windows: the non-prefetchable window (Memory Base/Limit) and the
/// prefetchable window (Prefetchable Memory Base/Limit) [PCI-to-PCI Bridge
/// Architecture §3.2.5.8–3.2.5.9]. Linux sizes and assigns the two separately
/// (`pci_bus_size_bridges`), so a GPU's 32-bit register BAR and its 64-bit VRAM BAR
/// never make one span that swallows a peer's BAR.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct BridgeWindows {
    /// The span of the non-prefetchable BARs below.
    pub mem: Option<AddrRange>,
    /// The span of the prefetchable BARs below.
    pub pref: Option<AddrRange>,
}

impl BridgeWindows {
    /// Widens the window of the BAR's kind to cover `range`.
    pub fn add(&mut self, range: AddrRange, prefetchable: bool) {
        let slot = if prefetchable {
            &mut self.pref
        } else {
            &mut self.mem
        };
        *slot = Some(slot.map_or(range, |w| w.union(&range)));
    }

    /// Widens both windows to cover a child's windows.
    pub fn merge(&mut self, child: &BridgeWindows) {
        if let Some(m) = child.mem {
            self.add(m, false);
        }
        if let Some(p) = child.pref {
            self.add(p, true);
        }
    }

    /// The window holding `addr`, if any.
    #[inline]
    pub fn find(&self, addr: u64) -> Option<AddrRange> {
        [self.mem, self.pref]
            .into_iter()
            .flatten()
            .find(|w| w.contains(addr))
    }

    /// Whether a window holds `addr`.
    #[inline]
    pub fn contains(&self, addr: u64) -> bool {
        self.find(addr).is_some()
    }

    /// Whether there is no window at all.
    pub fn is_empty(&self) -> bool {
        self.mem.is_none() && self.pref.is_none()
    }

    /// Both windows moved by `f` (e.g. CPU → bus addresses).
    pub fn map(self, f: impl Fn(AddrRange) -> AddrRange) -> BridgeWindows {
        BridgeWindows {
            mem: self.mem.map(&f),
            pref: self.pref.map(&f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_at_top_of_space_does_not_wrap() {
        assert!(AddrRange::from_start_and_size(u64::MAX, 2).is_none());
        let r = AddrRange::from_start_and_size(u64::MAX, 1).expect("one byte at the top fits");
        assert_eq!(r.end, u64::MAX);
        assert_eq!(r.size(), Some(1));
        assert!(AddrRange::from_start_and_size(0, 0).is_none());
        let all = AddrRange::from_start_and_end(0, u64::MAX).expect("full range");
        assert_eq!(all.size(), None);
    }

    #[test]
    fn bridge_windows_keep_prefetchable_and_not_apart() {
        let reg = AddrRange::from_start_and_size(0xb400_0000, 0x100_0000).expect("reg");
        let vram = AddrRange::from_start_and_size(0x130_0000_0000, 0x10_0000_0000).expect("vram");
        let mut w = BridgeWindows::default();
        w.add(reg, false);
        w.add(vram, true);
        // A peer's BAR between the two spans is in neither window.
        assert!(!w.contains(0x110_0000_0000));
        assert_eq!(w.find(0xb400_1000), Some(reg));
        assert_eq!(w.find(0x130_0000_1000), Some(vram));
        let mut parent = BridgeWindows::default();
        parent.merge(&w);
        assert_eq!(parent, w);
    }

    #[test]
    fn overlap_and_containment() {
        let a = AddrRange::from_start_and_size(0x1000, 0x1000).expect("a");
        let b = AddrRange::from_start_and_size(0x1fff, 0x10).expect("b");
        let c = AddrRange::from_start_and_size(0x2000, 0x10).expect("c");
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
        assert!(a.union(&c).contains_range(&b));
        assert_eq!(
            a.intersect(&b),
            AddrRange::from_start_and_end(0x1fff, 0x1fff)
        );
        assert_eq!(a.intersect(&c), None);
    }
}
