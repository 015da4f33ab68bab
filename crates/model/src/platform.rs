//! The validated platform: what `peerpath-load` produces and everything downstream trusts.
//!
//! A `Platform` that exists is valid: names are unique, references resolve, the
//! hierarchy is a forest rooted at host bridges, BARs lie in their host bridge's
//! windows and do not overlap, MPS values are powers of two in 128..=4096.
//! Values the spec calls *derived* (bridge windows, effective MPS, ACS Control where
//! absent, IOMMU domains, groups) are not stored here: `peerpath-topology` computes them.

use crate::{
    Acs, Bdf, BusAddr, BusRange, DomainId, ExportId, IommuId, NodeId, PhysAddr, PhysRange, TbuId,
};

macro_rules! kebab_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ } default $default:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in platform files and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// Parses the name used in platform files.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Every accepted name, for "expected one of" messages.
            pub fn names() -> &'static [&'static str] {
                &[$($text),+]
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kebab_enum!(
    /// `kernel.arch`.
    Arch { Arm64 = "arm64", X86_64 = "x86_64", Ppc64 = "ppc64", } default Arm64
);
kebab_enum!(
    /// `kernel.cpu.vendor`.
    CpuVendor { Amd = "amd", Intel = "intel", Arm = "arm", Ibm = "ibm", Other = "other", } default Other
);
kebab_enum!(
    /// Default or explicit IOMMU domain type (K3.2).
    DomainType {
        /// iommu-dma translates.
        Dma = "dma",
        /// iommu-dma with a flush queue.
        DmaFq = "dma-fq",
        /// IOVA = PA; the device uses dma-direct.
        Identity = "identity",
        /// All DMA aborts.
        Blocked = "blocked",
        /// Owned by VFIO/iommufd.
        Unmanaged = "unmanaged",
    } default Dma
);
kebab_enum!(
    /// `kernel.passthrough_from`: where an `identity` default domain comes from (K3.2).
    /// `iommu_subsys_init` turns a passthrough default into translated under memory
    /// encryption only when it came from the build configuration
    /// (`CONFIG_IOMMU_DEFAULT_PASSTHROUGH`), never when `iommu.passthrough=1` or
    /// `iommu=pt` was given on the command line.
    PassthroughFrom {
        /// `iommu.passthrough=1` / `iommu=pt` on the command line: always honoured.
        Cmdline = "cmdline",
        /// `CONFIG_IOMMU_DEFAULT_PASSTHROUGH=y`: overridden by memory encryption.
        Kconfig = "kconfig",
    } default Cmdline
);
kebab_enum!(
    /// `kernel.pcie_bus_config` (K5).
    PcieBusConfig { Default = "default", TuneOff = "tune-off", Safe = "safe", Perf = "perf", Peer2Peer = "peer2peer", } default Default
);
kebab_enum!(
    /// `kernel.acs_decision` (rules.md, "Version knobs").
    AcsDecision { Mainline = "mainline", EgressAware = "egress-aware", } default Mainline
);
kebab_enum!(
    /// `kernel.group_algorithm` (K4.3).
    GroupAlgorithm { Legacy = "legacy", Reachable = "reachable", } default Legacy
);
kebab_enum!(
    /// `kernel.cc`: the confidential-computing guest type.
    CcKind { None = "none", ArmCcaRealm = "arm-cca-realm", Sev = "sev", Tdx = "tdx", } default None
);
kebab_enum!(
    /// `iommus[].kind`.
    IommuKind { Smmuv3 = "smmuv3", Vtd = "vtd", AmdVi = "amd-vi", Tce = "tce", } default Smmuv3
);
kebab_enum!(
    /// `exports[].revoke`: what revokes a VFIO dma-buf (K2.1;
    /// `drivers/vfio/pci/vfio_pci_dmabuf.c`): a device reset (`vfio_pci_ioctl_reset`,
    /// `vfio_pci_dev_set_hot_reset`), memory decode turned off (`vfio_basic_config_write`
    /// clearing `PCI_COMMAND_MEMORY`) — both `vfio_pci_dma_buf_move(vdev, true)`, undone
    /// when memory is enabled again — or the VFIO device closed
    /// (`vfio_pci_dma_buf_cleanup`, for good).
    RevokeEvent { Reset = "reset", MemoryDisabled = "memory-disabled", Closed = "closed", } default Reset
);
kebab_enum!(
    /// `exports[].revoke_when`: whether the export is revoked before the importer
    /// attaches, or after it attached and mapped the buffer.
    RevokeWhen { AfterMap = "after-map", BeforeAttach = "before-attach", } default AfterMap
);
kebab_enum!(
    /// `host_bridges[].direct_window.kind`: who sets up POWER's 64-bit direct DMA
    /// window (K3.3).
    DirectWindowKind { PhbBypass = "phb-bypass", Ddw = "ddw", } default PhbBypass
);
kebab_enum!(
    /// `host_bridges[].forwards_p2p` (H6).
    ForwardsP2p { None = "none", SameHostBridge = "same-host-bridge", Any = "any", } default SameHostBridge
);
kebab_enum!(
    /// `host_bridges[].translation`: where the translation agent sits (H3).
    Translation { ExternalTbu = "external-tbu", DtiAts = "dti-ats", Integrated = "integrated", None = "none", } default Integrated
);
kebab_enum!(
    /// `endpoints[].class`: a free label for display.
    DeviceClass { Gpu = "gpu", Nic = "nic", Nvme = "nvme", Accel = "accel", Other = "other", } default Other
);
kebab_enum!(
    /// `endpoints[].driver`.
    Driver { VfioPci = "vfio-pci", Kernel = "kernel", VfioNoiommu = "vfio-noiommu", } default Kernel
);
kebab_enum!(
    /// `endpoints[].cc.state`.
    CcState { Shared = "shared", Private = "private", } default Shared
);
kebab_enum!(
    /// `endpoints[].cc.tdisp` [PCIe §11].
    TdispState { Unlocked = "unlocked", Locked = "locked", Run = "run", Error = "error", } default Unlocked
);
kebab_enum!(
    /// `exports[].via`: which mapping path — the kernel's (K2.2, K2.3) or a driver's
    /// own (K2.4).
    Via {
        /// K2.2: a VFIO dma-buf, mapped by the importer per K1's map type.
        VfioDmabuf = "vfio-dmabuf",
        /// K2.3: legacy P2P pages, mapped like RAM.
        P2pdmaPages = "p2pdma-pages",
        /// K2.4: the driver hands the importer the BAR's bus address, whatever K1 says.
        DriverBusAddress = "driver-bus-address",
        /// K2.4: the driver hands the importer its `dma_map_resource` result.
        DriverMapResource = "driver-map-resource",
    } default VfioDmabuf
);
kebab_enum!(
    /// `traffic[].op`.
    Op { Write = "write", Read = "read", } default Write
);
kebab_enum!(
    /// `traffic[].pattern`.
    Pattern { Sequential = "sequential", Random = "random", } default Sequential
);
kebab_enum!(
    /// `traffic[].ats`: whether the importer issues translated requests.
    AtsUse {
        /// Translated when the importer has ATS enabled (H2), else untranslated.
        Auto = "auto",
        /// Always translated (a translation request first).
        On = "on",
        /// Always untranslated.
        Off = "off",
    } default Auto
);

kebab_enum!(
    /// `vms[].backend`: how the VMM gives the VM its I/O address space (V1).
    VmmBackend {
        /// A VFIO type1 container (`vfio_iommu_type1.c`): QEMU's memory listener maps
        /// the assigned devices' BARs too.
        VfioType1 = "vfio-type1",
        /// iommufd: an IOAS that maps MMIO only from a VFIO dma-buf passed to
        /// `IOMMU_IOAS_MAP_FILE`.
        Iommufd = "iommufd",
    } default VfioType1
);
kebab_enum!(
    /// `vms[].viommu` (V5).
    Viommu {
        /// No vIOMMU: the guest programs its devices with guest physical addresses.
        None = "none",
        /// An emulated vIOMMU whose mappings the VMM shadows into the IOAS.
        Emulated = "emulated",
        /// Nested translation in hardware (SMMUv3 nested, VT-d scalable mode).
        Nested = "nested",
    } default None
);
kebab_enum!(
    /// `vms[].gpa`: where the guest sees the assigned devices' BARs.
    GpaPlacement {
        /// As the guest firmware places them: in the guest's 64-bit MMIO window
        /// (`mmio64_base`), each BAR naturally aligned, in the order of `devices`.
        Vmm = "vmm",
        /// Guest physical = host physical.
        Identity = "identity",
    } default Vmm
);
kebab_enum!(
    /// `vms[].guest.layout`: where the VMM puts the assigned devices in the guest.
    GuestLayout {
        /// Each device below its own root port (libvirt's q35 default,
        /// `pcie-root-port`).
        RootPorts = "root-ports",
        /// All devices below one virtual switch (x3130 upstream, xio3130 downstream
        /// ports) below one root port.
        Switch = "switch",
        /// On the root bus, as integrated endpoints.
        RootBus = "root-bus",
    } default RootPorts
);

/// The whole validated platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Platform {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// `kernel`.
    pub kernel: Kernel,
    /// `interconnect`.
    pub interconnect: Interconnect,
    /// `memory`: DRAM regions in the CPU physical address space.
    pub memory: Vec<MemRegion>,
    /// `iommus`.
    pub iommus: Vec<Iommu>,
    /// Every PCI node: host bridges, root ports, switch ports, PCI bridges, endpoints.
    /// Parents come before children (a topological order), so a single forward pass
    /// over `nodes` visits every parent first.
    pub nodes: Vec<Node>,
    /// `switches`: groups the switch port nodes.
    pub switches: Vec<Switch>,
    /// `domains`: explicit IOMMU domains.
    pub domains: Vec<Domain>,
    /// `exports`.
    pub exports: Vec<Export>,
    /// Every (importer, export) pairing, expanded from `imports` (or the default: every
    /// endpoint imports every export it does not own), sorted by (importer name, export name).
    pub imports: Vec<Import>,
    /// `traffic`: explicit traffic per pairing; pairings not listed get the default.
    pub traffic: Vec<Traffic>,
    /// `assumed`: facts the file does not know, each given its assumed value above;
    /// sorted, each once.
    pub assumed: Vec<crate::Fact>,
    /// `vms`: virtual machines and the devices assigned to them (rules.md V).
    pub vms: Vec<crate::Vm>,
    /// `ide_streams`: the P2P selective IDE streams bound between two TDIs (C3).
    /// `None`: the file does not say, and two private TDIs in RUN are assumed to have
    /// one between them (said where a verdict rests on it); `Some`: exactly these.
    pub ide_streams: Option<Vec<IdeStream>>,
}

impl Platform {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Maps every export `via` (`--via`: "what would a vendor stack's own peer
    /// mapping do on this machine?", K2.4).
    pub fn override_via(&mut self, via: Via) {
        for e in &mut self.exports {
            e.via = via;
        }
    }

    /// The node with this name.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u32))
    }

    /// All node ids, parents before children.
    pub fn node_ids(&self) -> impl DoubleEndedIterator<Item = NodeId> + ExactSizeIterator + '_ {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The export with this name.
    pub fn export_by_name(&self, name: &str) -> Option<ExportId> {
        self.exports
            .iter()
            .position(|e| e.name == name)
            .map(|i| ExportId(i as u32))
    }

    /// The export with this id.
    pub fn export(&self, id: ExportId) -> &Export {
        &self.exports[id.index()]
    }

    /// The IOMMU with this id.
    pub fn iommu(&self, id: IommuId) -> &Iommu {
        &self.iommus[id.index()]
    }

    /// The TBU with this id.
    pub fn tbu(&self, id: TbuId) -> &Tbu {
        &self.iommus[id.iommu.index()].tbus[id.index as usize]
    }

    /// The VM a device is assigned to, if any.
    pub fn vm_of(&self, dev: NodeId) -> Option<&crate::Vm> {
        self.vms.iter().find(|v| v.device(dev).is_some())
    }

    /// The explicit domain a device is listed in, if any.
    pub fn explicit_domain(&self, dev: NodeId) -> Option<DomainId> {
        self.domains
            .iter()
            .position(|d| d.devices.contains(&dev))
            .map(|i| DomainId(i as u32))
    }
}

/// `kernel`: the kernel's configuration and version knobs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Kernel {
    /// `release` as written (`6.8.0-45-generic`).
    pub release: Option<String>,
    /// The mainline release `release` names (issue 24): selects the version-dependent
    /// behaviour (p2pdma, the allow-list, the CPU rule, ACS quirks). `None`: not
    /// stated; peerpath behaves as [`crate::Release::NEWEST`] and says so.
    pub version: Option<crate::Release>,
    /// `arch`.
    pub arch: Arch,
    /// `cpu`.
    pub cpu: Cpu,
    /// `default_domain` (default `dma`).
    pub default_domain: DomainType,
    /// `passthrough_from` (default `cmdline`): where an `identity` default comes from.
    pub passthrough_from: PassthroughFrom,
    /// `swiotlb_force`.
    pub swiotlb_force: bool,
    /// `noats` (`pci=noats`).
    pub noats: bool,
    /// `pcie_bus_config` (K5).
    pub pcie_bus_config: PcieBusConfig,
    /// `disable_acs_redir`, resolved to port nodes (K4.2).
    pub disable_acs_redir: Vec<NodeId>,
    /// `config_acs` (K4.2).
    pub config_acs: Vec<ConfigAcs>,
    /// `acs_decision`.
    pub acs_decision: AcsDecision,
    /// `group_algorithm`.
    pub group_algorithm: GroupAlgorithm,
    /// `cc`.
    pub cc: CcKind,
    /// `ipa_bits` (default 48).
    pub ipa_bits: u8,
    /// `pci_p2pdma`: `CONFIG_PCI_P2PDMA`; `None`: not stated, taken as built.
    pub pci_p2pdma: Option<bool>,
}

impl Kernel {
    /// The release whose behaviour applies: the stated one, else
    /// [`crate::Release::NEWEST`] (an assumption; see [`Kernel::release_assumed`]).
    pub fn release_version(&self) -> crate::Release {
        self.version.unwrap_or(crate::Release::NEWEST)
    }

    /// Whether the release is an assumption (the platform states none).
    pub fn release_assumed(&self) -> bool {
        self.version.is_none()
    }
}

/// `kernel.cpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Cpu {
    /// `vendor`.
    pub vendor: CpuVendor,
    /// `family` (x86; K1.6 uses it).
    pub family: Option<u32>,
}

/// One `kernel.config_acs` entry: `pci=config_acs=` forcing bits on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigAcs {
    /// The port (or multifunction endpoint).
    pub port: NodeId,
    /// Bits forced on.
    pub set: crate::AcsFlags,
    /// Bits forced off.
    pub clear: crate::AcsFlags,
}

/// `interconnect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interconnect {
    /// Largest burst consecutive Normal-memory writes may be merged into (default 64).
    pub write_merge_bytes: u32,
    /// `fabric`: between host bridges and sockets (timing only).
    pub fabric: crate::Fabric,
    /// `latency`: per kind of place (timing only).
    pub latency: crate::Latencies,
}

impl Default for Interconnect {
    fn default() -> Self {
        Self {
            write_merge_bytes: 64,
            fabric: crate::Fabric::default(),
            latency: crate::Latencies::default(),
        }
    }
}

/// A DRAM region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemRegion {
    /// `name`.
    pub name: String,
    /// CPU physical range.
    pub range: PhysRange,
}

/// An IOMMU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iommu {
    /// `name`.
    pub name: String,
    /// `kind`.
    pub kind: IommuKind,
    /// `ats`: FEAT_ATS and the root complex is declared ATS-capable (default false).
    pub ats: bool,
    /// `disable_bypass` (default true).
    pub disable_bypass: bool,
    /// `tbus` (smmuv3 only).
    pub tbus: Vec<Tbu>,
    /// `stream_map`; empty means identity (sid = rid).
    pub stream_map: Vec<StreamMapEntry>,
}

/// An SMMU translation buffer unit with its TLB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tbu {
    /// `name`.
    pub name: String,
    /// `tlb_entries`.
    pub tlb_entries: u32,
    /// `tlb_ways`.
    pub tlb_ways: u32,
}

/// One `iommu-map` entry: `sid = rid - rid_base + sid_base` for `rid_base..rid_base+length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamMapEntry {
    /// First RID covered.
    pub rid_base: u32,
    /// StreamID of `rid_base`.
    pub sid_base: u32,
    /// Number of RIDs covered.
    pub length: u32,
}

/// One node of the PCI hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique name. A switch's upstream port takes the switch's name.
    pub name: String,
    /// The node above; `None` only for host bridges.
    pub parent: Option<NodeId>,
    /// PCI address; `None` only for host bridges.
    pub bdf: Option<Bdf>,
    /// `id`: the function's own vendor/device id, where the file gives it (ports,
    /// bridges, endpoints; a host bridge's `id` is in [`HostBridge::id`]). Read by the
    /// device-specific ACS and DMA alias quirks (`peerpath_topology::quirks`).
    pub pci_id: Option<PciId>,
    /// What kind of node, with its own fields.
    pub kind: NodeKind,
    /// `link`: what the node's PCIe link supports (its Link Capabilities), for a
    /// port or endpoint that gives it; `None`: not stated (the timing model assumes
    /// the other end's, and says so).
    pub link: Option<crate::Link>,
}

/// The kinds of node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A host bridge (root complex), the root of one hierarchy.
    HostBridge(HostBridge),
    /// A root port.
    RootPort(Port),
    /// A switch upstream port.
    SwitchUpstream(Port),
    /// A switch downstream port.
    SwitchDownstream(Port),
    /// A PCIe-to-PCI(-X) bridge; conventional devices below it DMA with its RID.
    PciBridge(PciBridge),
    /// An endpoint (or RCiEP when its parent is a host bridge, or a conventional
    /// PCI device when its parent is a PCI bridge).
    Endpoint(Endpoint),
}

/// A host bridge's own fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostBridge {
    /// `segment`.
    pub segment: u16,
    /// `id`: the first device on the root bus, as the allow-list sees it (K1.7).
    pub id: Option<PciId>,
    /// `forwards_p2p` (H6; default same-host-bridge): peer writes, and peer reads
    /// unless `forwards_p2p_reads` says otherwise.
    pub forwards_p2p: ForwardsP2p,
    /// `forwards_p2p_reads` (H6): peer read requests and their completions; `None`:
    /// as `forwards_p2p` (the meaning before the key existed).
    pub forwards_p2p_reads: Option<ForwardsP2p>,
    /// `direct_window`: the 64-bit direct DMA window of a TCE IOMMU (K3.3; POWER's
    /// PHB bypass or an LPAR's DDW); `None`: every device translates through TCEs.
    pub direct_window: Option<DirectWindow>,
    /// `translation`.
    pub translation: Translation,
    /// `iommu`: the IOMMU translating traffic from below (absent: none).
    pub iommu: Option<IommuId>,
    /// `stream_map`: this root complex's RID → StreamID map (IORT root complex ID
    /// mappings, DT `iommu-map` of the host bridge node; H3). Empty: the IOMMU's
    /// `stream_map`.
    pub stream_map: Vec<StreamMapEntry>,
    /// `windows`.
    pub windows: Vec<Window>,
    /// `socket` (timing: which fabric joins two host bridges); `None`: not stated.
    pub socket: Option<u16>,
    /// `numa_node`: the NUMA node of the devices below (a peerpath addition, issue 24);
    /// several per socket on parts in NPS2/NPS4 or sub-NUMA clustering. Path classes
    /// (NODE/SYS) read it before `socket`. `None`: not stated.
    pub numa_node: Option<u16>,
    /// `p2p_bandwidth` in MB/s: what the root complex forwards between root ports,
    /// both directions together, where the file states it (timing).
    pub p2p_bandwidth_mbs: Option<u64>,
}

impl HostBridge {
    /// What the root complex forwards for a request of `op` (H6): `forwards_p2p`,
    /// or `forwards_p2p_reads` for reads where the file states it.
    pub fn forwards(&self, op: Op) -> ForwardsP2p {
        match op {
            Op::Read => self.forwards_p2p_reads.unwrap_or(self.forwards_p2p),
            Op::Write => self.forwards_p2p,
        }
    }
}

/// A vendor/device id pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciId {
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
}

impl std::fmt::Display for PciId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)
    }
}

/// POWER's 64-bit direct DMA window (K3.3): DMA addresses `base..base + size` reach
/// memory `0..size` without a TCE. Its setup: `pnv_pci_ioda2_set_bypass` (powernv:
/// TVE#1, `tce_bypass_base = 1 << 59`, up to the end of DRAM) or `enable_ddw` (pseries:
/// a dynamic DMA window the hypervisor creates, mapping all of the partition's memory
/// directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirectWindow {
    /// Who set it up.
    pub kind: DirectWindowKind,
    /// First DMA address of the window.
    pub base: u64,
    /// Bytes of memory it maps (the window spans `base..=base + size - 1`).
    pub size: u64,
}

impl DirectWindow {
    /// The last DMA address of the window (`base + size - 1`; the loader refuses a
    /// window that wraps).
    pub fn last(&self) -> u64 {
        self.base.saturating_add(self.size.saturating_sub(1))
    }
}

/// A host bridge window: CPU physical range → PCI bus addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// CPU physical range.
    pub cpu: PhysRange,
    /// Bus address of `cpu.start`.
    pub bus: BusAddr,
}

impl Window {
    /// `bus - cpu` as a wrapping offset (K1.2 `bus_offset`): what the engine's compiled
    /// interconnect adds on its hot path; [`Window::to_bus`] is the same rule, typed.
    pub fn bus_offset(&self) -> u64 {
        self.bus.0.wrapping_sub(self.cpu.start.0)
    }

    /// The bus address of CPU physical address `a` below this window
    /// (`pci_bus_address`: CPU address + `bus_offset`); `None` outside the window.
    /// The one CPU → bus conversion: the rules (K1.2, K1.10) and the engine's compiled
    /// tables ([`Window::to_bus_range`]) both go through it.
    pub fn to_bus(&self, a: PhysAddr) -> Option<BusAddr> {
        self.cpu
            .contains(a)
            .then(|| BusAddr(a.0.wrapping_add(self.bus_offset())))
    }

    /// The window's own bus range (`bus .. bus + (cpu.end - cpu.start)`); `None` if it
    /// would pass 2^64 (the loader refuses such a window).
    pub fn bus_range(&self) -> Option<BusRange> {
        BusRange::from_start_and_end(
            self.bus,
            self.bus.checked_add(self.cpu.end.0 - self.cpu.start.0)?,
        )
    }

    /// The bus range of a CPU range whose first address this window holds (a BAR, a
    /// bridge's window): both ends moved by [`Window::to_bus`]'s offset. `None` when the
    /// window does not hold `r.start` or the end wraps. Linux's
    /// `pcibios_resource_to_bus` (drivers/pci/host-bridge.c) takes the window that
    /// contains the whole resource; the loader puts every BAR wholly inside one window
    /// of its own host bridge and windows do not overlap, so for a BAR the two agree.
    /// A bridge's span of BARs in two windows is an assumption: moved by the offset of
    /// the window holding its start.
    pub fn to_bus_range(&self, r: PhysRange) -> Option<BusRange> {
        let start = self.to_bus(r.start)?;
        BusRange::from_start_and_end(start, BusAddr(r.end.0.wrapping_add(self.bus_offset())))
    }
}

/// Fields of a PCIe port (root port, switch upstream or downstream port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// `mpss`: max payload supported.
    pub mpss: u32,
    /// `mps`: firmware-programmed MPS (default 128; used by tune-off).
    pub mps: u32,
    /// `acs`; `None`: no ACS capability.
    pub acs: Option<Acs>,
    /// `tbu` (root ports behind an external TBU).
    pub tbu: Option<TbuId>,
    /// `splits_oversized_writes` (H4; default false).
    pub splits_oversized_writes: bool,
    /// `multifunction`.
    pub multifunction: bool,
}

/// A PCIe-to-PCI bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciBridge {
    /// `mpss` of its PCIe side (default 128).
    pub mpss: u32,
}

/// An endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `class`.
    pub class: DeviceClass,
    /// `mpss`.
    pub mpss: u32,
    /// `mps` (firmware value, tune-off; default 128).
    pub mps: u32,
    /// `dma_mask_bits` (default 64).
    pub dma_mask_bits: u8,
    /// `bus_dma_limit` (optional: a bus limit below the mask, K3.4).
    pub bus_dma_limit: Option<u64>,
    /// `coherent` (default true).
    pub coherent: bool,
    /// `ats`: has an ATS capability.
    pub ats: bool,
    /// `trusted` (default true; false = external-facing).
    pub trusted: bool,
    /// `multifunction`.
    pub multifunction: bool,
    /// `acs` (a multifunction endpoint's own ACS).
    pub acs: Option<Acs>,
    /// `driver`.
    pub driver: Driver,
    /// `bars`, sorted by index.
    pub bars: Vec<Bar>,
    /// `cc`.
    pub cc: Option<DeviceCc>,
    /// `pcie` (default true): the function has a PCI Express capability. `false`: a
    /// conventional PCI function — on a root bus, an integrated function that is not a
    /// Root Complex Integrated Endpoint (`pci_pcie_type` is not `PCI_EXP_TYPE_RC_END`),
    /// which the kernel's RCiEP ACS quirk does not cover.
    pub pcie: bool,
}

impl Endpoint {
    /// The BAR with this index.
    pub fn bar(&self, index: u8) -> Option<&Bar> {
        self.bars.iter().find(|b| b.index == index)
    }

    /// The DMA mask as a value: `2^bits - 1`.
    pub fn dma_mask(&self) -> u64 {
        if self.dma_mask_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.dma_mask_bits) - 1
        }
    }
}

/// A memory BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// BAR index 0..=5.
    pub index: u8,
    /// CPU physical range.
    pub range: PhysRange,
    /// `prefetchable`.
    pub prefetchable: bool,
}

impl Bar {
    /// First CPU physical address.
    pub fn addr(&self) -> PhysAddr {
        self.range.start
    }
}

/// An endpoint's confidential-computing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DeviceCc {
    /// `state`.
    pub state: CcState,
    /// `tdisp`.
    pub tdisp: TdispState,
}

/// A P2P selective IDE stream bound between two TDIs ([PCIe §6.33], C3): a T=1
/// request of one to the other's TEE MMIO travels on it, encrypted and with its header
/// under the stream's MAC, from one end to the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdeStream {
    /// `name`.
    pub name: String,
    /// `ends`: the two endpoints.
    pub ends: [NodeId; 2],
}

/// Whether a P2P IDE stream is bound between two endpoints (C3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdeBinding<'p> {
    /// No stream: the file lists streams and none joins them, or (nothing listed) they
    /// are not both private TDIs in RUN.
    None,
    /// The file lists this stream between them.
    Listed(&'p str),
    /// The file lists no `ide_streams`; both are private TDIs in RUN, so a stream is
    /// assumed (an assumption, said where a verdict rests on it).
    Assumed,
}

impl Platform {
    /// The P2P IDE stream between endpoints `a` and `b`, if any (C3; see
    /// [`Platform::ide_streams`]).
    pub fn ide_binding(&self, a: NodeId, b: NodeId) -> IdeBinding<'_> {
        match &self.ide_streams {
            Some(list) => list
                .iter()
                .find(|s| s.ends == [a, b] || s.ends == [b, a])
                .map_or(IdeBinding::None, |s| IdeBinding::Listed(s.name.as_str())),
            None => {
                let run = |n: NodeId| match self.nodes.get(n.index()).map(|x| &x.kind) {
                    Some(NodeKind::Endpoint(e)) => e
                        .cc
                        .is_some_and(|c| c.state == CcState::Private && c.tdisp == TdispState::Run),
                    _ => false,
                };
                if a != b && run(a) && run(b) {
                    IdeBinding::Assumed
                } else {
                    IdeBinding::None
                }
            }
        }
    }
}

/// A switch: its upstream port and downstream ports (all also in `Platform::nodes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// `name` (also the upstream port node's name).
    pub name: String,
    /// The upstream port node.
    pub upstream: NodeId,
    /// The downstream port nodes.
    pub downstream: Vec<NodeId>,
}

/// An explicit IOMMU domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// `name`.
    pub name: String,
    /// `type`.
    pub ty: DomainType,
    /// `devices`.
    pub devices: Vec<NodeId>,
}

/// An exported BAR range (a dma-buf).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// `name`.
    pub name: String,
    /// `device`: the exporting endpoint.
    pub device: NodeId,
    /// `bar`: BAR index.
    pub bar: u8,
    /// `offset` into the BAR (default 0).
    pub offset: u64,
    /// `size` (default: the rest of the BAR).
    pub size: u64,
    /// `via`.
    pub via: Via,
    /// `revoke` and `revoke_when` (K2.1; `via: vfio-dmabuf` only): `None`, never revoked.
    pub revoke: Option<Revocation>,
}

/// A revocation of a VFIO dma-buf export (K2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Revocation {
    /// What revokes it.
    pub event: RevokeEvent,
    /// Before the importer attaches, or after it mapped the buffer.
    pub when: RevokeWhen,
}

impl Revocation {
    /// Whether the export is still revoked when the importer maps it again: a closed
    /// device never restores its dma-bufs; a reset or disabled memory is undone when
    /// memory decode is enabled again (`vfio_pci_dma_buf_move(vdev, false)`).
    pub fn permanent(self) -> bool {
        self.event == RevokeEvent::Closed
    }
}

/// One (importer, export) pairing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Import {
    /// The importing endpoint.
    pub importer: NodeId,
    /// The export.
    pub export: ExportId,
    /// `allow_peer2peer` (default true).
    pub allow_peer2peer: bool,
    /// `dynamic` (default true).
    pub dynamic: bool,
}

/// A `traffic` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traffic {
    /// The importer issuing the traffic.
    pub importer: NodeId,
    /// The export it targets.
    pub export: ExportId,
    /// `op`.
    pub op: Op,
    /// `bytes`.
    pub bytes: u64,
    /// `payload` per TLP; `None`: the importer's effective MPS.
    pub payload: Option<u32>,
    /// `pattern`.
    pub pattern: Pattern,
    /// `ats`.
    pub ats: AtsUse,
}

#[cfg(test)]
mod window_tests {
    use crate::{BusAddr, BusRange, PhysAddr, PhysRange, Window};

    #[test]
    fn to_bus_adds_the_offset_inside_the_window_only() {
        let w = Window {
            cpu: PhysRange::from_start_and_size(PhysAddr(0x40_0000_0000), 0x1000).expect("range"),
            bus: BusAddr(0x1000),
        };
        assert_eq!(w.to_bus(PhysAddr(0x40_0000_0010)), Some(BusAddr(0x1010)));
        assert_eq!(w.to_bus(PhysAddr(0x40_0000_1000)), None);
        assert_eq!(w.to_bus(PhysAddr(0x3f_ffff_ffff)), None);
        assert_eq!(
            w.bus_offset().wrapping_add(0x40_0000_0fff),
            w.to_bus(PhysAddr(0x40_0000_0fff)).expect("inside").0
        );
    }

    #[test]
    fn to_bus_range_moves_both_ends_by_the_window_holding_the_start() {
        let w = Window {
            cpu: PhysRange::from_start_and_size(PhysAddr(0x40_0000_0000), 0x10_0000)
                .expect("range"),
            bus: BusAddr(0x8000_0000),
        };
        let bar = PhysRange::from_start_and_size(PhysAddr(0x40_0000_1000), 0x1000).expect("bar");
        assert_eq!(
            w.to_bus_range(bar),
            BusRange::from_start_and_size(BusAddr(0x8000_1000), 0x1000)
        );
        let outside = PhysRange::from_start_and_size(PhysAddr(0x3f_ffff_f000), 0x2000)
            .expect("straddles the start");
        assert_eq!(w.to_bus_range(outside), None);
        assert_eq!(
            w.bus_range(),
            BusRange::from_start_and_size(BusAddr(0x8000_0000), 0x10_0000)
        );
    }
}
