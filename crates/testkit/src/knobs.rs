//! The knobs of the random-platform generator: what kind of platform to draw. The
//! seed then draws the details (which port gets a switch, each port's ACS bits, BAR
//! sizes, …) within what the knobs allow.
//!
//! Every knob's first value (or its lowest number, or `false`) is the simplest
//! platform, so proptest's shrinking of the knobs moves towards small, plain
//! platforms: one host bridge, one root port, no switch, no ACS, default domains.

use peerpath_model::{AcsDecision, CcKind, DomainType, GroupAlgorithm, PcieBusConfig, Translation};

/// The vendor knob is `peerpath generate`'s flavor: one list of vendors for both.
pub use peerpath_generate::Flavor;

/// ACS capability and control of the ports (and, with `multifunction`, endpoints).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum AcsKnob {
    /// No ACS capability anywhere.
    #[default]
    Off,
    /// Every root and downstream port has SV, RR, CR, UF; Control is what the kernel
    /// enables (K4.1).
    On,
    /// Per port: no capability, the full capability, a capability lacking some of
    /// SV/RR/CR/UF (hard-wired, K4.3), or a given (measured) Control.
    Partial,
    /// Any capability bits, any Control within them, on any port and upstream port.
    Random,
}

/// Which host bridges have an IOMMU, and of which kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum IommuKnob {
    /// One IOMMU of the flavor's kind per host bridge.
    #[default]
    Flavor,
    /// No IOMMU at all (dma-direct; the kernel enables no ACS, K4.1).
    None,
    /// Per host bridge: none, or one of any kind, with random `ats` and `disable_bypass`.
    Mixed,
}

/// Where each host bridge's translation agent sits (`host_bridges[].translation`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum TranslationKnob {
    /// The flavor's placement.
    #[default]
    Flavor,
    /// This placement on every host bridge (external TBUs exist only on SMMUv3).
    All(Translation),
    /// A random placement per host bridge.
    Mixed,
}

/// IOMMU domains of the endpoints (K3.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum DomainKnob {
    /// Every endpoint gets `kernel.default_domain`.
    #[default]
    Default,
    /// Some endpoints are listed in explicit domains (dma, dma-fq, identity, blocked,
    /// unmanaged) and some are bound to vfio-pci (unmanaged).
    Mixed,
}

/// Confidential computing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum CcKnob {
    /// `cc: none`, no device CC state.
    #[default]
    None,
    /// A CC guest of this kind; endpoints get random CC state (shared/private) and
    /// TDISP states (unlocked, locked, run, error).
    Guest(CcKind),
}

/// The `via` of the exports.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ViaKnob {
    /// Every export `vfio-dmabuf` (K2.2).
    #[default]
    VfioDmabuf,
    /// Every export `p2pdma-pages` (K2.3).
    P2pdmaPages,
    /// A random `via` per export.
    Mixed,
}

/// Which pairings there are.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ImportKnob {
    /// The default: every endpoint imports every export it does not own.
    #[default]
    Default,
    /// An explicit random subset, some without `allow_peer2peer` or `dynamic` (K2.1).
    Explicit,
}

/// Explicit `traffic` entries.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum TrafficKnob {
    /// None: each pairing gets the default traffic.
    #[default]
    Default,
    /// Some pairings get random traffic (op, bytes, payload, pattern, ATS use).
    Random,
}

/// What kind of platform to draw. See the module documentation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Knobs {
    /// Vendor: arch, CPU, IOMMU kind, translation placement, host bridge ids.
    pub flavor: Flavor,
    /// Host bridges, each its own PCI segment (1..).
    pub host_bridges: u8,
    /// Root ports per host bridge (1..).
    pub root_ports: u8,
    /// Most switch levels below a root port (0: endpoints on the root ports).
    pub depth: u8,
    /// Most downstream ports per switch (1..).
    pub fanout: u8,
    /// Most endpoint functions in the platform; ports past it stay empty.
    pub max_endpoints: u8,
    /// ACS capability and control.
    pub acs: AcsKnob,
    /// `disable_acs_redir` and `config_acs` on random ports (K4.2).
    pub acs_cmdline: bool,
    /// The IOMMUs.
    pub iommu: IommuKnob,
    /// Translation placement.
    pub translation: TranslationKnob,
    /// Explicit domains and vfio-pci drivers.
    pub domains: DomainKnob,
    /// `kernel.default_domain`.
    pub default_domain: DomainType,
    /// `kernel.cc` and device CC/TDISP states.
    pub cc: CcKnob,
    /// `kernel.pcie_bus_config` (K5).
    pub pcie_bus_config: PcieBusConfig,
    /// `kernel.group_algorithm` (K4.3).
    pub group_algorithm: GroupAlgorithm,
    /// `kernel.acs_decision` (K1.4).
    pub acs_decision: AcsDecision,
    /// Exports (whole BARs or page-aligned parts of them).
    pub exports: u8,
    /// The exports' `via`.
    pub via: ViaKnob,
    /// Default or explicit imports.
    pub imports: ImportKnob,
    /// Default or explicit traffic.
    pub traffic: TrafficKnob,
    /// PCIe-to-PCI bridges with conventional PCI devices below.
    pub bridges: bool,
    /// Multifunction endpoints (some with ACS) and root ports sharing a slot.
    pub multifunction: bool,
    /// Root-complex integrated endpoints.
    pub rcieps: bool,
    /// Everything else a real machine may have: bus offsets in host bridge windows,
    /// `forwards_p2p` other than same-host-bridge, DMA masks and bus limits,
    /// non-coherent and untrusted devices, vfio-noiommu, `swiotlb_force`, `noats`,
    /// IOMMUs that bypass, StreamID maps, root ports that split writes, firmware MPS
    /// values, misaligned exports.
    pub quirks: bool,
    /// Virtual machines (issue 18): some endpoints assigned to one or two VMs, with
    /// random VMM, vIOMMU, guest layout and placement settings.
    pub vms: bool,
}

impl Default for Knobs {
    /// The simplest platform: one Arm host bridge, one root port, one endpoint slot.
    fn default() -> Self {
        Knobs {
            flavor: Flavor::Arm,
            host_bridges: 1,
            root_ports: 1,
            depth: 0,
            fanout: 1,
            max_endpoints: 2,
            acs: AcsKnob::Off,
            acs_cmdline: false,
            iommu: IommuKnob::Flavor,
            translation: TranslationKnob::Flavor,
            domains: DomainKnob::Default,
            default_domain: DomainType::Dma,
            cc: CcKnob::None,
            pcie_bus_config: PcieBusConfig::Default,
            group_algorithm: GroupAlgorithm::Legacy,
            acs_decision: AcsDecision::Mainline,
            exports: 1,
            via: ViaKnob::VfioDmabuf,
            imports: ImportKnob::Default,
            traffic: TrafficKnob::Default,
            bridges: false,
            multifunction: false,
            rcieps: false,
            quirks: false,
            vms: false,
        }
    }
}

/// The most of each count knob the generator honours: more would not fit 256 buses
/// per segment (depth × fanout) or would make properties slow.
pub mod limits {
    /// Most host bridges.
    pub const HOST_BRIDGES: u8 = 3;
    /// Most root ports per host bridge.
    pub const ROOT_PORTS: u8 = 4;
    /// Most switch levels.
    pub const DEPTH: u8 = 3;
    /// Most downstream ports per switch.
    pub const FANOUT: u8 = 3;
    /// Most endpoint functions.
    pub const ENDPOINTS: u8 = 48;
    /// Most exports.
    pub const EXPORTS: u8 = 4;
}
