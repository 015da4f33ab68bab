//! Facts a platform file says it does not know (`assumed:`), so that a verdict resting
//! on one is not printed as definite (issue 24).
//!
//! The file still gives a value for each (or the format's default applies): that is
//! the *assumed* value every verdict is decided with. The rules then decide the
//! verdicts that could depend on the fact again under the alternatives
//! (`peerpath_rules::assume`) and report those that change as `depends_on`.

use crate::NodeId;

/// One fact a platform states as assumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    /// `kernel.cpu.vendor` (K1.6).
    CpuVendor,
    /// `kernel.cpu.family` (K1.6: AMD from family 0x17).
    CpuFamily,
    /// `kernel.default_domain` (K3.2).
    DefaultDomain,
    /// `kernel.release` (version-dependent behaviour).
    KernelRelease,
    /// A host bridge's `id`, as the allow-list reads it (K1.7).
    HostBridgeId(NodeId),
    /// A host bridge's `forwards_p2p` (H6).
    ForwardsP2p(NodeId),
    /// A root port's `splits_oversized_writes` (H4).
    SplitsOversizedWrites(NodeId),
}

impl Fact {
    /// The field's name in the platform format: `kernel.cpu.family`, or the key of a
    /// host bridge or root port (`id`, `forwards_p2p`, …) with [`Fact::node`].
    pub fn field(self) -> &'static str {
        match self {
            Fact::CpuVendor => "kernel.cpu.vendor",
            Fact::CpuFamily => "kernel.cpu.family",
            Fact::DefaultDomain => "kernel.default_domain",
            Fact::KernelRelease => "kernel.release",
            Fact::HostBridgeId(_) => "id",
            Fact::ForwardsP2p(_) => "forwards_p2p",
            Fact::SplitsOversizedWrites(_) => "splits_oversized_writes",
        }
    }

    /// The node the fact is of, if any.
    pub fn node(self) -> Option<NodeId> {
        match self {
            Fact::HostBridgeId(n) | Fact::ForwardsP2p(n) | Fact::SplitsOversizedWrites(n) => {
                Some(n)
            }
            _ => None,
        }
    }

    /// Every accepted `fact:` name, for messages.
    pub const NAMES: &'static [&'static str] = &[
        "kernel.cpu.vendor",
        "kernel.cpu.family",
        "kernel.default_domain",
        "kernel.release",
        "id",
        "forwards_p2p",
        "splits_oversized_writes",
    ];

    /// How to read the fact on the machine itself.
    pub fn how_to_read(self) -> &'static str {
        match self {
            Fact::CpuVendor | Fact::CpuFamily => {
                "`lscpu` (Vendor ID, CPU family) or `grep -m2 -E 'vendor_id|cpu family' /proc/cpuinfo`"
            }
            Fact::DefaultDomain => {
                "`dmesg | grep -i 'default domain type'`, or `cat /sys/kernel/iommu_groups/*/type`"
            }
            Fact::KernelRelease => "`uname -r`",
            Fact::HostBridgeId(_) => {
                "`lspci -nn -s 00:00.0` (the first device on the host bridge's root bus)"
            }
            Fact::ForwardsP2p(_) => {
                "the platform vendor's documentation of peer-to-peer between root ports; or a P2P test between two root ports (p2pBandwidthLatencyTest, `peerpath bandwidth --compare`)"
            }
            Fact::SplitsOversizedWrites(_) => {
                "the root complex's documentation (whether it splits writes larger than the port's MPS)"
            }
        }
    }
}
