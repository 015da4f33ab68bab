//! `kernel`: the release, architecture, CPU and command-line knobs.

use peerpath_model::{
    AcsDecision, CcKind, CpuVendor, DomainType, GroupAlgorithm, PassthroughFrom, PcieBusConfig,
    Platform,
};

use crate::raw::{AcsBit, RawConfigAcs, RawCpu, RawKernel};

use super::{name, unless};

/// The `kernel` section, defaults left out (`arch` always written).
pub(super) fn kernel(p: &Platform) -> RawKernel {
    let k = &p.kernel;
    RawKernel {
        release: k.release.clone(),
        arch: Some(k.arch),
        cpu: (k.cpu.vendor != CpuVendor::Other || k.cpu.family.is_some()).then_some(RawCpu {
            vendor: Some(k.cpu.vendor),
            family: k.cpu.family,
        }),
        default_domain: unless(k.default_domain, DomainType::Dma),
        passthrough_from: unless(k.passthrough_from, PassthroughFrom::Cmdline),
        swiotlb_force: unless(k.swiotlb_force, false),
        noats: unless(k.noats, false),
        pcie_bus_config: unless(k.pcie_bus_config, PcieBusConfig::Default),
        disable_acs_redir: k.disable_acs_redir.iter().map(|&n| name(p, n)).collect(),
        config_acs: k
            .config_acs
            .iter()
            .map(|c| RawConfigAcs {
                port: name(p, c.port),
                set: AcsBit::from_flags(c.set),
                clear: AcsBit::from_flags(c.clear),
            })
            .collect(),
        acs_decision: unless(k.acs_decision, AcsDecision::Mainline),
        group_algorithm: unless(k.group_algorithm, GroupAlgorithm::Legacy),
        cc: unless(k.cc, CcKind::None),
        ipa_bits: unless(k.ipa_bits, 48),
        pci_p2pdma: k.pci_p2pdma,
    }
}
