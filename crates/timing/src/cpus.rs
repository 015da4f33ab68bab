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
