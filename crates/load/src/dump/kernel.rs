//! `kernel`: the release, architecture, CPU and command-line knobs.

use peerpath_model::{
    AcsDecision, CcKind, ConfigAcs, Cpu, CpuVendor, DomainType, GroupAlgorithm, Kernel,
    PassthroughFrom, PcieBusConfig, Platform,
};

use crate::raw::{AcsBit, RawConfigAcs, RawCpu, RawKernel};

use super::{name, unless};

/// The `kernel` section, defaults left out (`arch` always written).
pub(super) fn kernel(p: &Platform, k: &Kernel) -> RawKernel {
    let Kernel {
        release,
        // Parsed from `release` by the loader.
        version: _,
        arch,
        cpu,
        default_domain,
        passthrough_from,
        swiotlb_force,
        noats,
        pcie_bus_config,
        disable_acs_redir,
        config_acs,
        acs_decision,
        group_algorithm,
        cc,
        ipa_bits,
        pci_p2pdma,
    } = k;
    let &Cpu { vendor, family } = cpu;
    RawKernel {
        release: release.clone(),
        arch: Some(*arch),
        cpu: (vendor != CpuVendor::Other || family.is_some()).then_some(RawCpu {
            vendor: Some(vendor),
            family,
        }),
        default_domain: unless(*default_domain, DomainType::Dma),
        passthrough_from: unless(*passthrough_from, PassthroughFrom::Cmdline),
        swiotlb_force: unless(*swiotlb_force, false),
        noats: unless(*noats, false),
        pcie_bus_config: unless(*pcie_bus_config, PcieBusConfig::Default),
        disable_acs_redir: disable_acs_redir.iter().map(|&n| name(p, n)).collect(),
        config_acs: config_acs
            .iter()
            .map(|&ConfigAcs { port, set, clear }| RawConfigAcs {
                port: name(p, port),
                set: AcsBit::from_flags(set),
                clear: AcsBit::from_flags(clear),
            })
            .collect(),
        acs_decision: unless(*acs_decision, AcsDecision::Mainline),
        group_algorithm: unless(*group_algorithm, GroupAlgorithm::Legacy),
        cc: unless(*cc, CcKind::None),
        ipa_bits: unless(*ipa_bits, 48),
        pci_p2pdma: *pci_p2pdma,
    }
}
