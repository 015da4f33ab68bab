//! peerpath's validated domain types.
//!
//! Architecture invariant: this crate does no IO and knows no file format. A value of
//! these types that exists has been validated by `peerpath-load` (or built by a test
//! helper that upholds the same invariants).

mod acs;
mod addr;
mod assumed;
mod builder;
mod ids;
mod link;
mod platform;
mod release;
mod tlp;
mod verdict;
mod vm;

pub use acs::{Acs, AcsFlags};
pub use addr::{
    AddrRange, Address, BridgeWindows, BusAddr, BusRange, DmaAddr, Iova, PhysAddr, PhysRange, Range,
};
pub use assumed::Fact;
pub use builder::PlatformBuilder;
pub use ids::{Bdf, BdfParseError, DomainId, ExportId, IommuId, NodeId, Rid, StreamId, TbuId};
pub use link::{Fabric, FabricHop, FabricPair, Latencies, Link, LinkSpeed, LINK_WIDTHS};
pub use platform::*;
pub use release::{Introduced, Release, ReleaseParseError};
pub use tlp::At;
pub use verdict::{Code, MapType, Outcome, Severity};
pub use vm::{Guest, Vm, VmDevice, DEFAULT_MMIO64_BASE, GPEX_HOST_BRIDGE, Q35_HOST_BRIDGE};

/// Valid MPS/MPSS values: powers of two from 128 to 4096 bytes.
pub const MPS_VALUES: [u32; 6] = [128, 256, 512, 1024, 2048, 4096];

/// The page size exports must be aligned to (K2.1).
pub const PAGE_SIZE: u64 = 4096;
