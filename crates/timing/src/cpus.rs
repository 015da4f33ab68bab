//! Root-complex forwarding between host bridges, per CPU generation (issue 23).
//!
//! A P2P write from a device below one host bridge to a device below another passes
//! the root complexes' forwarding between them (AMD: between I/O die quadrants and,
//! across sockets, xGMI; Intel: between IIO stacks, and across UPI). On the measured
//! corpus such pairs reach a steady share of what their links carry — Intel Ice Lake
//! 74% and Sky Lake-SP 72% between IIO stacks, AMD 89–99% between quadrants — a share
//! no vendor publishes. The model takes it as `efficiency` on the fabric crossing
//! (`interconnect.fabric.*.efficiency`): a bound of that share of the route's own
//! link rate, in each direction. Where the file states none, the CPU generation's
//! (`kernel.cpu` vendor and family) corpus fit below applies, stated in the output;
//! a generation not in the table gets no such bound.
//!
//! Each row is the fit on every corpus machine of the generation
//! (`validate::fit_forwarding`; `tests/corpus.rs` checks the table equals it, and
//! `cargo xtask timing-validate` predicts every machine with the fit on the others).
//!
//! The fabric between sockets, per CPU generation: where a file states no
//! `cross_socket` bandwidth, the model takes [`CROSS_SOCKET_FIT`] (the corpus fit on
//! every machine of the generation), else [`CROSS_SOCKET`] (a published one-way P2P
//! figure across sockets, each row with its source), else the format's default. The
//! published rows are also what `timing-validate` uses where leaving a machine out
//! leaves no other 2-socket machine of its generation.

use peerpath_model::{Cpu, CpuVendor};

/// One CPU generation's forwarding share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forwarding {
    /// Vendor.
    pub vendor: CpuVendor,
    /// x86 family.
    pub family: u32,
    /// The share of the links' rate, thousandths.
    pub efficiency_permille: u16,
    /// Where it comes from.
    pub source: &'static str,
}

/// Per CPU generation: fits on the whole corpus (docs/timing.md).
pub const FORWARDING: &[Forwarding] = &[
    Forwarding {
        vendor: CpuVendor::Amd,
        family: 0x17,
        efficiency_permille: 886,
        source: "corpus fit; two machines (Rome)",
    },
    Forwarding {
        vendor: CpuVendor::Amd,
        family: 0x19,
        efficiency_permille: 916,
        source: "corpus fit; four machines (Genoa, Threadripper PRO 5000 and 7000)",
    },
    Forwarding {
        vendor: CpuVendor::Amd,
        family: 0x1a,
        efficiency_permille: 974,
        source: "corpus fit; three machines (Turin)",
    },
    Forwarding {
        vendor: CpuVendor::Intel,
        family: 6,
        efficiency_permille: 718,
        source: "corpus fit; two machines (Sky Lake-SP, Ice Lake-W)",
    },
];

/// The corpus fit for a CPU, if its generation has one.
pub fn forwarding(cpu: &Cpu) -> Option<&'static Forwarding> {
    let family = cpu.family?;
    FORWARDING
        .iter()
        .find(|f| f.vendor == cpu.vendor && f.family == family)
}

/// A CPU generation's name in output: `intel family 0x6`.
pub fn generation_name(cpu: &Cpu) -> String {
    match cpu.family {
        Some(f) => format!("{} family {f:#x}", cpu.vendor.as_str()),
        None => format!("{} (no family)", cpu.vendor.as_str()),
    }
}

/// A CPU generation's one-way P2P limit across sockets from a published source, for
/// the generations the corpus cannot fit (one 2-socket machine: leaving it out leaves
/// none). Never the corpus machine's own figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossSocket {
    /// Vendor.
    pub vendor: CpuVendor,
    /// x86 family.
    pub family: u32,
    /// One direction, MB/s (10^6 bytes/s, as `p2pBandwidthLatencyTest` reports).
    pub bandwidth_mbs: u64,
    /// Where it comes from.
    pub source: &'static str,
}

/// Published cross-socket P2P figures, one row per CPU generation that has one
/// (docs/timing.md). `cargo xtask timing-validate` uses a row where no other corpus
/// machine of the generation gives a fit; a generation without a row keeps the
/// format's default (64 GB/s).
///
/// Which source, in this order: a published measurement of P2P across sockets on the
/// generation (a benchmark write-up); else NVIDIA NCCL's inter-CPU bandwidth for the
/// generation (`ncclTopoGetInterCpuBw`, NVIDIA/nccl `src/graph/topo.cc` and
/// `src/graph/topo.h` at 069a3d4), the figure NCCL's own topology model gives a GPU
/// path across sockets.
pub const CROSS_SOCKET: &[CrossSocket] = &[
    CrossSocket {
        vendor: CpuVendor::Amd,
        family: 0x17,
        bandwidth_mbs: 16_000,
        source: "NVIDIA/nccl src/graph/topo.h (069a3d4): AMD_ZEN12_BW 16 GB/s, \
                 the inter-CPU bandwidth ncclTopoGetInterCpuBw gives Zen 1 and 2",
    },
    CrossSocket {
        vendor: CpuVendor::Amd,
        family: 0x19,
        bandwidth_mbs: 35_500,
        source: "github voipmonitor/rtx6kpro hardware/pcie-bandwidth.md (1306de8): \
                 dual EPYC 9374F (Genoa), cross-NUMA ~39 GB/s one way, ~64 GB/s both ways \
                 (orangezed); the median of 39 and 64 / 2, as the corpus fit pools them",
    },
    CrossSocket {
        vendor: CpuVendor::Intel,
        family: 6,
        bandwidth_mbs: 10_000,
        source: "NVIDIA/nccl src/graph/topo.h (069a3d4): SKL_QPI_BW 10 GB/s, \
                 Sky Lake-SP and later until Sapphire Rapids (22) and Emerald Rapids (40), \
                 which x86 family 6 does not tell apart",
    },
];

/// Per CPU generation: the `cross_socket` one-way figure fitted on every corpus machine
/// of the generation (`validate::fit_cross_socket`; `tests/corpus.rs` checks the table
/// equals it). The model's default where a file states no `cross_socket` bandwidth.
pub const CROSS_SOCKET_FIT: &[CrossSocket] = &[
    CrossSocket {
        vendor: CpuVendor::Amd,
        family: 0x17,
        bandwidth_mbs: 20_932,
        source: "corpus fit; one machine (Rome)",
    },
    CrossSocket {
        vendor: CpuVendor::Amd,
        family: 0x19,
        bandwidth_mbs: 38_250,
        source: "corpus fit; one machine (Genoa)",
    },
    CrossSocket {
        vendor: CpuVendor::Amd,
        family: 0x1a,
        bandwidth_mbs: 55_540,
        source: "corpus fit; three machines (Turin)",
    },
    CrossSocket {
        vendor: CpuVendor::Intel,
        family: 6,
        bandwidth_mbs: 8_047,
        source: "corpus fit; one machine (Sky Lake-SP)",
    },
];

/// The published cross-socket figure for a CPU, if its generation has one.
pub fn cross_socket(cpu: &Cpu) -> Option<&'static CrossSocket> {
    let family = cpu.family?;
    CROSS_SOCKET
        .iter()
        .find(|c| c.vendor == cpu.vendor && c.family == family)
}

/// The `cross_socket` bandwidth (one direction, MB/s) the model takes where the file
/// states none, and where it comes from: the generation's corpus fit
/// ([`CROSS_SOCKET_FIT`]), else its published figure ([`CROSS_SOCKET`]); `None` for a
/// generation with neither (the format's default applies).
pub fn cross_socket_default(cpu: &Cpu) -> Option<&'static CrossSocket> {
    let family = cpu.family?;
    CROSS_SOCKET_FIT
        .iter()
        .find(|c| c.vendor == cpu.vendor && c.family == family)
        .or_else(|| cross_socket(cpu))
}
