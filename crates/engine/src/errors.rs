//! The engine's internal errors (style.md habit 6). A failing route is not an error:
//! it is a `Trace` ending in a fault or a drop.

use peerpath_model::{AddrRange, Iova, PhysAddr};

/// Why `IoPageTable::map` refused a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Size 0.
    #[error("mapping of size 0")]
    Empty,
    /// Not 4 KiB aligned.
    #[error("mapping {iova} -> {pa} of {size:#x} bytes is not 4 KiB aligned")]
    Unaligned {
        /// IOVA.
        iova: Iova,
        /// PA.
        pa: PhysAddr,
        /// Size.
        size: u64,
    },
    /// The IOVA or PA range wraps past 2^64.
    #[error("mapping wraps past the top of the address space")]
    Wraps,
    /// Overlaps an existing mapping.
    #[error("mapping at {iova} overlaps the existing mapping {existing}")]
    Overlap {
        /// IOVA of the refused mapping.
        iova: Iova,
        /// The existing mapping's IOVA range.
        existing: AddrRange,
    },
}
