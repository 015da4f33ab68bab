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

/// A value that names a 64-bit address: the raw `u64` (an address whose space the code
/// does not know, e.g. a dump's text or the engine's compiled tables) or one of the
/// address newtypes above. [`Range`] is generic over it, so a CPU physical range
/// ([`PhysRange`]) and a bus range ([`BusRange`]) are different types.
pub trait Address: Copy + Ord + fmt::Debug {
    /// The raw value.
    fn raw(self) -> u64;
    /// The address with this raw value.
    fn from_raw(v: u64) -> Self;
}

impl Address for u64 {
    #[inline]
    fn raw(self) -> u64 {
        self
    }
    #[inline]
    fn from_raw(v: u64) -> Self {
        v
    }
}

macro_rules! address_impl {
    ($($name:ident),*) => {$(
        impl Address for $name {
            #[inline]
            fn raw(self) -> u64 {
                self.0
            }
            #[inline]
            fn from_raw(v: u64) -> Self {
                Self(v)
            }
        }
    )*};
}
address_impl!(PhysAddr, BusAddr, Iova, DmaAddr);

/// An inclusive range `[start, end]` of addresses of one space `A`; never empty, never
/// wraps.
///
/// Inclusive so that a range ending at `u64::MAX` is representable.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Range<A> {
    /// First address in the range.
    pub start: A,
    /// Last address in the range (inclusive).
    pub end: A,
}

/// A range of raw addresses, its space not stated by the type: dumps being parsed and
/// the engine's compiled decode tables (which hold bus or CPU addresses by table).
pub type AddrRange = Range<u64>;
/// A range of CPU physical addresses: BARs, host bridge windows, DRAM.
pub type PhysRange = Range<PhysAddr>;
/// A range of PCI bus addresses (a window's or a BAR's, as seen below a host bridge).
pub type BusRange = Range<BusAddr>;

impl<A: Address> Range<A> {
    /// The range of `size` bytes starting at `start`; `None` if `size` is 0 or the
    /// range would wrap past 2^64.
    pub fn from_start_and_size(start: A, size: u64) -> Option<Self> {
        let last = size.checked_sub(1)?;
        let end = start.raw().checked_add(last)?;
        Some(Self {
            start,
            end: A::from_raw(end),
        })
    }

    /// The range `[start, end]`; `None` if `end < start`.
    pub fn from_start_and_end(start: A, end: A) -> Option<Self> {
        (end >= start).then_some(Self { start, end })
    }

    /// Size in bytes; `None` only for the full 2^64 range.
    pub fn size(&self) -> Option<u64> {
        (self.end.raw() - self.start.raw()).checked_add(1)
    }

    /// Whether `addr` lies in the range.
    #[inline]
    pub fn contains(&self, addr: A) -> bool {
        self.start <= addr && addr <= self.end
    }

    /// Whether `other` lies wholly inside `self`.
    pub fn contains_range(&self, other: &Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Whether the two ranges share at least one address.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The smallest range covering both.
    pub fn union(&self, other: &Self) -> Self {
        Self {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The part of `self` that also lies in `other`.
    pub fn intersect(&self, other: &Self) -> Option<Self> {
        Self::from_start_and_end(self.start.max(other.start), self.end.min(other.end))
    }

    /// The same range as raw addresses, for tables that hold addresses of several
    /// spaces (the engine's compiled decode tables) and for output.
    #[inline]
    pub fn untyped(self) -> AddrRange {
        Range {
            start: self.start.raw(),
            end: self.end.raw(),
        }
    }
}

impl<A: Address> fmt::Display for Range<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}-{:#x}]", self.start.raw(), self.end.raw())
    }
}

impl<A: Address> fmt::Debug for Range<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A bridge's memory windows: the non-prefetchable window (Memory Base/Limit) and the
/// prefetchable window (Prefetchable Memory Base/Limit) [PCI-to-PCI Bridge
/// Architecture §3.2.5.8–3.2.5.9]. Linux sizes and assigns the two separately
/// (`pci_bus_size_bridges`), so a GPU's 32-bit register BAR and its 64-bit VRAM BAR
/// never make one span that swallows a peer's BAR.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeWindows<A = PhysAddr> {
    /// The span of the non-prefetchable BARs below.
    pub mem: Option<Range<A>>,
    /// The span of the prefetchable BARs below.
    pub pref: Option<Range<A>>,
}

impl<A: Address> fmt::Debug for BridgeWindows<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeWindows")
            .field("mem", &self.mem)
            .field("pref", &self.pref)
            .finish()
    }
}

impl<A> Default for BridgeWindows<A> {
    fn default() -> Self {
        Self {
            mem: None,
            pref: None,
        }
    }
}

impl<A: Address> BridgeWindows<A> {
    /// Widens the window of the BAR's kind to cover `range`.
    pub fn add(&mut self, range: Range<A>, prefetchable: bool) {
        let slot = if prefetchable {
            &mut self.pref
        } else {
            &mut self.mem
        };
        *slot = Some(slot.map_or(range, |w| w.union(&range)));
    }

    /// Widens both windows to cover a child's windows.
    pub fn merge(&mut self, child: &BridgeWindows<A>) {
        if let Some(m) = child.mem {
            self.add(m, false);
        }
        if let Some(p) = child.pref {
            self.add(p, true);
        }
    }

    /// The window holding `addr`, if any.
    #[inline]
    pub fn find(&self, addr: A) -> Option<Range<A>> {
        [self.mem, self.pref]
            .into_iter()
            .flatten()
            .find(|w| w.contains(addr))
    }

    /// Whether a window holds `addr`.
    #[inline]
    pub fn contains(&self, addr: A) -> bool {
        self.find(addr).is_some()
    }

    /// Whether there is no window at all.
    pub fn is_empty(&self) -> bool {
        self.mem.is_none() && self.pref.is_none()
    }

    /// Both windows moved by `f` (e.g. CPU → bus addresses).
    pub fn map<B>(self, f: impl Fn(Range<A>) -> Range<B>) -> BridgeWindows<B> {
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
