//! The intermediate representation: what a dump told us about a machine, nothing invented.
//!
//! The parsers fill a [`Machine`]; [`finalize`] then derives what follows from the dump
//! alone (parents from bus numbers, bridge roles from the shape of the tree) and records
//! where each fact came from, so that the platform emitter can say what was assumed.

use std::collections::BTreeMap;
use std::fmt;

use peerpath_model::{Acs, AddrRange, Arch, Bdf, CpuVendor, DomainType, IommuKind, PcieBusConfig};
mod finalize;

pub(crate) use finalize::{finalize, finished};

/// Which kind of dump a [`Machine`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    /// `lspci` text (`-vvv`, `-vvnn`, plain), optionally with a `-tv` tree.
    Lspci,
    /// Only an `lspci -t`/`-tv` tree.
    LspciTree,
    /// Kernel log (`dmesg`, `journalctl -k`) or a log quoting kernel lines.
    Dmesg,
    /// A `/sys` tree.
    Sysfs,
    /// A markdown report with the dumps in fenced blocks.
    Markdown,
    /// Several dumps merged with [`Machine::merge`].
    Merged,
}

impl SourceKind {
    /// A short description for comments and messages.
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::Lspci => "lspci text",
            SourceKind::LspciTree => "an lspci -t tree",
            SourceKind::Dmesg => "a kernel log",
            SourceKind::Sysfs => "sysfs",
            SourceKind::Markdown => "a markdown report (lspci blocks)",
            SourceKind::Merged => "several merged dumps",
        }
    }
}

/// Where the parent relations of a [`Machine`] came from (best source that contributed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HierarchySource {
    /// Nothing in the dump tells which bridge a device sits below.
    Unknown,
    /// Bridges' secondary/subordinate bus numbers.
    BusNumbers,
    /// The `/sys/devices/pci…/…/…` paths.
    SysfsPaths,
    /// An `lspci -t` tree.
    Tree,
}

/// What a PCI function is, as far as the dump says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKind {
    /// A host bridge function (class 0x0600): the root complex's own function, AMD's
    /// "dummy host bridges", data-fabric functions. Imported as RCiEPs of their host bridge.
    HostBridge,
    /// A PCIe root port.
    RootPort,
    /// A switch upstream port.
    SwitchUpstream,
    /// A switch downstream port.
    SwitchDownstream,
    /// A PCIe-to-PCI/PCI-X bridge.
    PcieToPciBridge,
    /// A PCI/PCI-X-to-PCIe bridge (reverse bridge).
    PciToPcieBridge,
    /// A type-1 bridge whose PCIe role the dump does not give (a conventional
    /// PCI-to-PCI bridge, or a bridge seen only by class code).
    PciBridge,
    /// A PCIe endpoint or legacy endpoint.
    Endpoint,
    /// A root complex integrated endpoint.
    RcEndpoint,
    /// A root complex event collector.
    RcEventCollector,
    /// A conventional PCI function (no PCIe capability).
    Conventional,
    /// Nothing is known about the function's role.
    Unknown,
}

impl DeviceKind {
    /// Whether this kind is a type-1 bridge of some sort.
    pub fn is_bridge(self) -> bool {
        matches!(
            self,
            DeviceKind::RootPort
                | DeviceKind::SwitchUpstream
                | DeviceKind::SwitchDownstream
                | DeviceKind::PcieToPciBridge
                | DeviceKind::PciToPcieBridge
                | DeviceKind::PciBridge
        )
    }
}

/// Why a device got its [`DeviceKind`]; weaker evidence is an assumption worth stating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KindEvidence {
    /// The PCIe capability's Device/Port Type (lspci `Express … Root Port`, config space).
    PcieCapability,
    /// The kernel's enumeration line (`PCIe Root Port`, `PCIe Switch Upstream Port`…).
    KernelLog,
    /// Only the class code (e.g. 0x0604 PCI bridge).
    ClassCode,
    /// The shape of the hierarchy (a bridge on a root bus is a root port; a bridge with
    /// bridges below a port is a switch upstream port; …).
    TreeShape,
    /// The device's name text (e.g. "Root Complex", "Dummy Host Bridge").
    Name,
    /// No evidence.
    None,
}

/// How much of a device's capability list the dump shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CapsSeen {
    /// Nothing (plain lspci, dmesg, `<access denied>`, a 64-byte sysfs `config`).
    #[default]
    Unknown,
    /// Capability names without their registers (`lspci -v`).
    ListedOnly,
    /// The standard list with registers, but no extended capabilities (256-byte config):
    /// ACS and ATS unknown.
    NoExtended,
    /// Everything: a missing ACS capability really is missing.
    Full,
}

/// A bridge's secondary..=subordinate bus numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusRange {
    /// The bus directly below the bridge.
    pub secondary: u8,
    /// The highest bus below the bridge.
    pub subordinate: u8,
}

impl BusRange {
    /// Whether `bus` is below the bridge.
    pub fn contains(&self, bus: u8) -> bool {
        self.secondary <= bus && bus <= self.subordinate
    }
}

/// Memory or I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BarKind {
    /// A memory BAR (the only kind P2P can target, K1.2).
    Memory,
    /// An I/O port BAR.
    Io,
}

/// One base address register as the dump shows it (CPU physical addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciBar {
    /// BAR index 0..=5.
    pub index: u8,
    /// Memory or I/O.
    pub kind: BarKind,
    /// Address, when assigned and shown.
    pub addr: Option<u64>,
    /// Size in bytes, when shown.
    pub size: Option<u64>,
    /// Prefetchable.
    pub prefetchable: bool,
    /// 64-bit BAR.
    pub is_64bit: bool,
    /// lspci says `[disabled]` (decode off in the Command register).
    pub disabled: bool,
}

impl PciBar {
    /// The BAR's range, when address and size are both known and it does not wrap.
    pub fn range(&self) -> Option<AddrRange> {
        AddrRange::from_start_and_size(self.addr?, self.size?)
    }
}

/// A bridge's forwarding window (`Memory behind bridge`, `bridge window [mem …]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BridgeWindow {
    /// CPU physical range.
    pub range: AddrRange,
    /// The prefetchable window.
    pub prefetchable: bool,
}

/// An ATS capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ats {
    /// ATS Control Enable, when the dump shows it.
    pub enabled: Option<bool>,
}

/// One PCI function.
#[derive(Clone, Debug, PartialEq)]
pub struct PciDevice {
    /// Its address.
    pub bdf: Bdf,
    /// Vendor id.
    pub vendor: Option<u16>,
    /// Device id.
    pub device: Option<u16>,
    /// 24-bit class code: base << 16 | sub-class << 8 | programming interface.
    pub class: Option<u32>,
    /// The class as text (`VGA compatible controller`).
    pub class_name: Option<String>,
    /// The device's name text.
    pub name: Option<String>,
    /// Vendor and device id were read from the name text (a tree's
    /// `Advanced Micro Devices, Inc. [AMD] Device 14a4`), not from ids in the dump.
    pub ids_from_name: bool,
    /// Its role.
    pub kind: DeviceKind,
    /// Why it has that role.
    pub kind_from: KindEvidence,
    /// Header type (0 normal, 1 bridge, 2 CardBus), without the multifunction bit.
    pub header_type: Option<u8>,
    /// The header's multifunction bit, when the dump shows it (sysfs config space).
    /// See [`Machine::is_multifunction`] for the inferred value.
    pub multifunction: Option<bool>,
    /// Primary bus of a bridge.
    pub primary_bus: Option<u8>,
    /// Secondary..=subordinate of a bridge.
    pub bus_range: Option<BusRange>,
    /// A bridge's memory windows.
    pub bridge_windows: Vec<BridgeWindow>,
    /// How much of the capability list the dump shows.
    pub caps: CapsSeen,
    /// The ACS capability (`cap`) and control (`ctl`, the measured state); `None` with
    /// `caps == Full` means the device has no ACS capability.
    pub acs: Option<Acs>,
    /// The ATS capability.
    pub ats: Option<Ats>,
    /// Device Capabilities Max_Payload_Size Supported, bytes.
    pub mpss: Option<u32>,
    /// Device Control Max_Payload_Size, bytes (the programmed value).
    pub mps: Option<u32>,
    /// Link Capabilities: the speed and width the device supports (`LnkCap`,
    /// sysfs `max_link_speed`/`max_link_width`).
    pub link_cap: Option<peerpath_model::Link>,
    /// Link Status: how the link trained at dump time (`LnkSta`, sysfs
    /// `current_link_*`); idle GPUs often show 2.5GT/s here.
    pub link_sta: Option<peerpath_model::Link>,
    /// BARs, sorted by index.
    pub bars: Vec<PciBar>,
    /// The kernel's IOMMU group.
    pub iommu_group: Option<u32>,
    /// The bridge above it; `None` on a root bus (or when the hierarchy is unknown).
    pub parent: Option<Bdf>,
    /// The bound driver.
    pub driver: Option<String>,
    /// The NUMA node the kernel gives the device (lspci `NUMA node:`, sysfs
    /// `numa_node`, `nvidia-smi topo -m`'s NUMA affinity), with the dump line.
    pub numa_node: Option<(u16, Option<usize>)>,
    /// `numa_node` came from `nvidia-smi topo -m`, matched to the GPU by PCI order.
    pub numa_from_topo: bool,
    /// 1-based line of the dump where the device was first seen.
    pub line: Option<usize>,
}

impl PciDevice {
    /// A device about which nothing but its address is known.
    pub fn new(bdf: Bdf) -> Self {
        Self {
            bdf,
            vendor: None,
            device: None,
            class: None,
            class_name: None,
            name: None,
            ids_from_name: false,
            kind: DeviceKind::Unknown,
            kind_from: KindEvidence::None,
            header_type: None,
            multifunction: None,
            primary_bus: None,
            bus_range: None,
            bridge_windows: Vec::new(),
            caps: CapsSeen::Unknown,
            acs: None,
            ats: None,
            mpss: None,
            mps: None,
            link_cap: None,
            link_sta: None,
            bars: Vec::new(),
            iommu_group: None,
            parent: None,
            driver: None,
            numa_node: None,
            numa_from_topo: false,
            line: None,
        }
    }

    /// Base class and sub-class (`0x0604` for a PCI bridge).
    pub fn class_base_sub(&self) -> Option<u16> {
        self.class.map(|c| (c >> 8) as u16)
    }

    /// Whether the device is a type-1 bridge by any evidence.
    pub fn is_bridge(&self) -> bool {
        self.bus_range.is_some() || self.kind.is_bridge() || self.header_type == Some(1)
    }

    /// Whether the kernel would be expected to put it in an IOMMU group: everything but
    /// the IOMMU's own function (class 0x0806) and a host bridge's function 00.0 on a root
    /// bus (neither gets a group on the realdata machines).
    pub fn expects_iommu_group(&self) -> bool {
        let iommu_fn = self.class_base_sub() == Some(0x0806);
        !(iommu_fn || self.is_own_host_bridge_function())
    }

    /// A host bridge's own function: class 0x0600 at devfn 00.0 on a root bus.
    pub fn is_own_host_bridge_function(&self) -> bool {
        self.kind == DeviceKind::HostBridge && self.bdf.devfn() == 0 && self.parent.is_none()
    }

    /// The name with ids, for comments: `10de:2204 NVIDIA Corporation GA102 …`.
    pub fn describe(&self) -> String {
        let ids = match (self.vendor, self.device) {
            (Some(v), Some(d)) => format!("{v:04x}:{d:04x} "),
            _ => String::new(),
        };
        let name = match (&self.name, &self.class_name, self.class, self.bus_range) {
            (Some(n), _, _, _) | (None, Some(n), _, _) => n.clone(),
            (None, None, Some(c), _) => class_label(c),
            (None, None, None, Some(r)) => {
                format!("bridge to buses {:02x}-{:02x}", r.secondary, r.subordinate)
            }
            (None, None, None, None) => "unnamed device".to_string(),
        };
        format!("{ids}{name}")
    }

    /// Fills every field `self` does not know from `other` (same BDF).
    pub(crate) fn fill_from(&mut self, other: &PciDevice) {
        fn fill<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        if self.vendor.is_none() && other.vendor.is_some() {
            self.ids_from_name = other.ids_from_name;
        }
        fill(&mut self.vendor, &other.vendor);
        fill(&mut self.device, &other.device);
        fill(&mut self.class, &other.class);
        fill(&mut self.class_name, &other.class_name);
        fill(&mut self.name, &other.name);
        if other.kind_from < self.kind_from {
            self.kind = other.kind;
            self.kind_from = other.kind_from;
        }
        fill(&mut self.header_type, &other.header_type);
        fill(&mut self.multifunction, &other.multifunction);
        fill(&mut self.primary_bus, &other.primary_bus);
        fill(&mut self.bus_range, &other.bus_range);
        if self.bridge_windows.is_empty() {
            self.bridge_windows.clone_from(&other.bridge_windows);
        }
        if other.caps > self.caps {
            self.caps = other.caps;
            self.acs = other.acs;
            self.ats = other.ats;
        } else {
            fill(&mut self.acs, &other.acs);
            fill(&mut self.ats, &other.ats);
        }
        fill(&mut self.mpss, &other.mpss);
        fill(&mut self.mps, &other.mps);
        if self.bars.is_empty() {
            self.bars.clone_from(&other.bars);
        }
        fill(&mut self.iommu_group, &other.iommu_group);
        fill(&mut self.parent, &other.parent);
        fill(&mut self.driver, &other.driver);
        if self.numa_node.is_none() && other.numa_node.is_some() {
            self.numa_from_topo = other.numa_from_topo;
        }
        fill(&mut self.numa_node, &other.numa_node);
        fill(&mut self.line, &other.line);
    }
}

/// A short description of a class code, for comments.
pub(crate) fn class_label(class: u32) -> String {
    let name = match class >> 8 {
        0x0600 => "host bridge",
        0x0601 => "ISA bridge",
        0x0604 => "PCI bridge",
        0x0806 => "IOMMU",
        0x0807 => "root complex event collector",
        0x0880 => "system peripheral",
        0x0300 => "VGA controller",
        0x0302 => "3D controller",
        0x0200 => "Ethernet controller",
        0x0207 => "InfiniBand controller",
        0x0108 => "NVMe controller",
        0x0104 => "RAID controller",
        0x0106 => "SATA controller",
        0x0c03 => "USB controller",
        0x0c05 => "SMBus controller",
        0x1080 => "encryption controller",
        0x1200 => "processing accelerator",
        0x1300 => "non-essential instrumentation",
        _ => return format!("class {class:#08x}"),
    };
    format!("{name} (class {class:#08x})")
}

/// A host bridge window as the kernel reports it (`root bus resource [mem … window]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostWindow {
    /// CPU physical range.
    pub cpu: AddrRange,
    /// PCI bus address of `cpu.start` (equal to it unless the log says `bus address`).
    pub bus_start: u64,
}

/// A root bus: one host bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootBus {
    /// PCI segment.
    pub segment: u16,
    /// Root bus number.
    pub bus: u8,
    /// Last bus number the host bridge decodes, when the dump gives it.
    pub last_bus: Option<u8>,
    /// Memory windows, when the dump gives them (dmesg).
    pub windows: Vec<HostWindow>,
    /// The dump names it as a root bus (dmesg `PCI host bridge to bus`, a tree's
    /// `[ssss:bb]`); otherwise it was inferred from devices with no bridge above them,
    /// and is dropped again once they get one (e.g. after [`Machine::merge`]).
    pub declared: bool,
    /// The NUMA node the kernel gives the root bus (dmesg `pci_bus 0000:60: on NUMA
    /// node 0`, from the host bridge's ACPI `_PXM`), with the dump line.
    pub numa_node: Option<(u16, usize)>,
}

/// What the kernel log, command line or sysfs said about the kernel and CPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelFacts {
    /// Kernel release (`5.14.0-570.23.1.el9_6.x86_64`).
    pub release: Option<String>,
    /// The kernel command line.
    pub cmdline: Option<String>,
    /// Architecture, when stated (release suffix, lscpu).
    pub arch: Option<Arch>,
    /// CPU vendor, when stated.
    pub cpu_vendor: Option<CpuVendor>,
    /// x86 CPU family, when stated (K1.6).
    pub cpu_family: Option<u32>,
    /// An IOMMU driver reported in (AMD-Vi, DMAR, arm-smmu-v3).
    pub iommu: Option<IommuKind>,
    /// The command line turned the IOMMU off (`amd_iommu=off`, `intel_iommu=off`).
    pub iommu_off: bool,
    /// Default domain type (`iommu: Default domain type: …`, `iommu=pt`, group `type`).
    pub default_domain: Option<DomainType>,
    /// `pci=noats`.
    pub noats: bool,
    /// `pci=pcie_bus_*`.
    pub pcie_bus_config: Option<PcieBusConfig>,
    /// `pci=disable_acs_redir=` entries (BDFs as written).
    pub disable_acs_redir: Vec<String>,
    /// Where the command line came from, when it is not the running kernel's.
    pub cmdline_note: Option<String>,
    /// Devices arm-smmu-v3 refused because their StreamID was already another
    /// device's (`stream N already in tree`, H3), in log order.
    pub stream_id_refused: Vec<Bdf>,
}

impl KernelFacts {
    /// Reads the knobs peerpath models from a kernel command line.
    pub fn apply_cmdline(&mut self, cmdline: &str) {
        self.cmdline = Some(cmdline.trim().to_string());
        let mut translated_lazy: Option<bool> = None;
        for arg in cmdline.split_whitespace() {
            let arg = arg.trim_matches('"');
            let (key, val) = arg.split_once('=').unwrap_or((arg, ""));
            match (key, val) {
                ("iommu", "pt") | ("iommu.passthrough", "1" | "y" | "on") => {
                    self.default_domain = Some(DomainType::Identity);
                }
                ("iommu.passthrough", "0" | "n" | "off") | ("iommu", "nopt")
                    if self.default_domain == Some(DomainType::Identity) =>
                {
                    self.default_domain = None;
                }
                ("iommu.strict", "1" | "y" | "on") => translated_lazy = Some(false),
                ("iommu.strict", "0" | "n" | "off") => translated_lazy = Some(true),
                ("amd_iommu", v) if v.split(',').any(|o| o == "off") => self.iommu_off = true,
                ("intel_iommu", v) if v.split(',').any(|o| o == "off") => self.iommu_off = true,
                ("iommu", "off") => self.iommu_off = true,
                ("pci", v) => {
                    for opt in v.split(',') {
                        match opt {
                            "noats" => self.noats = true,
                            "pcie_bus_tune_off" => {
                                self.pcie_bus_config = Some(PcieBusConfig::TuneOff)
                            }
                            "pcie_bus_safe" => self.pcie_bus_config = Some(PcieBusConfig::Safe),
                            "pcie_bus_perf" => self.pcie_bus_config = Some(PcieBusConfig::Perf),
                            "pcie_bus_peer2peer" => {
                                self.pcie_bus_config = Some(PcieBusConfig::Peer2Peer)
                            }
                            o => {
                                if let Some(list) = o.strip_prefix("disable_acs_redir=") {
                                    self.disable_acs_redir.extend(
                                        list.split(';')
                                            .filter(|s| !s.is_empty())
                                            .map(str::to_string),
                                    );
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(lazy) = translated_lazy {
            if self.default_domain != Some(DomainType::Identity) {
                self.default_domain = Some(if lazy {
                    DomainType::DmaFq
                } else {
                    DomainType::Dma
                });
            }
        }
    }

    fn fill_from(&mut self, other: &KernelFacts) {
        fn fill<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        fill(&mut self.release, &other.release);
        fill(&mut self.cmdline, &other.cmdline);
        fill(&mut self.arch, &other.arch);
        fill(&mut self.cpu_vendor, &other.cpu_vendor);
        fill(&mut self.cpu_family, &other.cpu_family);
        fill(&mut self.iommu, &other.iommu);
        self.iommu_off |= other.iommu_off;
        fill(&mut self.default_domain, &other.default_domain);
        self.noats |= other.noats;
        fill(&mut self.pcie_bus_config, &other.pcie_bus_config);
        if self.disable_acs_redir.is_empty() {
            self.disable_acs_redir.clone_from(&other.disable_acs_redir);
        }
        fill(&mut self.cmdline_note, &other.cmdline_note);
        for b in &other.stream_id_refused {
            if !self.stream_id_refused.contains(b) {
                self.stream_id_refused.push(*b);
            }
        }
    }
}

/// Why the kernel refused peer-to-peer DMA (`drivers/pci/p2pdma.c` messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum P2pdmaReason {
    /// "do not share an upstream bridge or whitelisted host bridge" (K1.5–K1.7).
    NoCommonUpstream,
    /// "ACS redirect is set between the client and provider" (K1.4).
    AcsRedirect,
    /// Another message mentioning peer-to-peer DMA.
    Other,
}

/// A kernel p2pdma verdict quoted in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P2pdmaMessage {
    /// The client (the device the message is logged for).
    pub client: Bdf,
    /// The provider named in parentheses.
    pub provider: Option<Bdf>,
    /// The reason.
    pub reason: P2pdmaReason,
    /// 1-based line.
    pub line: usize,
}

/// What kind of trouble a warning reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WarningKind {
    /// A line that should have carried data could not be read.
    Unparsed,
    /// The dump withholds something (`<access denied>`, truncated config space).
    Unknown,
    /// A device without an IOMMU group line while others have one.
    NoGroup,
    /// Two lines or sources disagree.
    Conflict,
    /// The hierarchy has a hole or a loop.
    Hierarchy,
    /// A file could not be read (sysfs).
    Io,
    /// A device's name gave no ids, or several (a dump taken without `lspci -nn`).
    Names,
}

/// Something the importer could not know, or had to assume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    /// What kind of trouble.
    pub kind: WarningKind,
    /// 1-based line in the dump, when there is one.
    pub line: Option<usize>,
    /// The device concerned.
    pub bdf: Option<Bdf>,
    /// What happened, lower-case, no trailing period.
    pub message: String,
}

impl ImportWarning {
    pub(crate) fn new(
        kind: WarningKind,
        line: Option<usize>,
        bdf: Option<Bdf>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            line,
            bdf,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        if let Some(b) = self.bdf {
            write!(f, "{b}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Everything a dump told us about one machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// The kind of dump.
    pub source: SourceKind,
    /// Every function, sorted by BDF, one entry per BDF.
    pub devices: Vec<PciDevice>,
    /// Where the `parent` fields came from.
    pub hierarchy: HierarchySource,
    /// Root buses (one per host bridge), sorted.
    pub root_buses: Vec<RootBus>,
    /// Kernel and CPU facts.
    pub kernel: KernelFacts,
    /// p2pdma verdicts quoted in the dump.
    pub p2pdma: Vec<P2pdmaMessage>,
    /// What could not be known or was assumed. Parsing never panics; it warns.
    pub warnings: Vec<ImportWarning>,
}

impl Machine {
    /// An empty machine.
    pub fn new(source: SourceKind) -> Self {
        Self {
            source,
            devices: Vec::new(),
            hierarchy: HierarchySource::Unknown,
            root_buses: Vec::new(),
            kernel: KernelFacts::default(),
            p2pdma: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The device at `bdf`.
    pub fn device(&self, bdf: Bdf) -> Option<&PciDevice> {
        self.devices
            .binary_search_by_key(&bdf, |d| d.bdf)
            .ok()
            .and_then(|i| self.devices.get(i))
    }

    /// The devices whose parent is `bdf`, in BDF order.
    pub fn children(&self, bdf: Bdf) -> impl Iterator<Item = &PciDevice> + '_ {
        self.devices.iter().filter(move |d| d.parent == Some(bdf))
    }

    /// Upstream chain of `bdf`: its parent, the parent's parent, … (loop-safe).
    pub fn ancestors(&self, bdf: Bdf) -> Vec<Bdf> {
        let mut out = Vec::new();
        let mut cur = self.device(bdf).and_then(|d| d.parent);
        while let Some(p) = cur {
            if out.contains(&p) || out.len() > self.devices.len() {
                break;
            }
            out.push(p);
            cur = self.device(p).and_then(|d| d.parent);
        }
        out
    }

    /// Whether the function is part of a multifunction device: the header's bit when the
    /// dump shows it, else whether another function of the same slot is in the dump.
    pub fn is_multifunction(&self, bdf: Bdf) -> bool {
        if let Some(mf) = self.device(bdf).and_then(|d| d.multifunction) {
            return mf;
        }
        self.devices
            .iter()
            .any(|d| d.bdf != bdf && d.bdf.same_slot(&bdf))
    }

    /// Merges another dump of the same machine into this one: fields this one lacks are
    /// taken from `other`, then everything derived is derived again.
    pub fn merge(&mut self, other: Machine) {
        for od in &other.devices {
            match self.devices.binary_search_by_key(&od.bdf, |d| d.bdf) {
                Ok(i) => {
                    if let Some(d) = self.devices.get_mut(i) {
                        d.fill_from(od);
                    }
                }
                Err(i) => self.devices.insert(i, od.clone()),
            }
        }
        for rb in other.root_buses {
            match self
                .root_buses
                .iter_mut()
                .find(|r| r.segment == rb.segment && r.bus == rb.bus)
            {
                Some(r) => {
                    r.declared |= rb.declared;
                    if r.windows.is_empty() {
                        r.windows = rb.windows;
                    }
                    if r.last_bus.is_none() {
                        r.last_bus = rb.last_bus;
                    }
                    if r.numa_node.is_none() {
                        r.numa_node = rb.numa_node;
                    }
                }
                None => self.root_buses.push(rb),
            }
        }
        self.kernel.fill_from(&other.kernel);
        self.p2pdma.extend(other.p2pdma);
        self.warnings.extend(other.warnings);
        self.hierarchy = self.hierarchy.max(other.hierarchy);
        if self.source != other.source {
            self.source = SourceKind::Merged;
        }
        finalize(self);
    }
}

/// The kernel's IOMMU groups as the dump gives them: ground truth to compare with the
/// groups peerpath computes (K4.3).
pub fn kernel_groups(m: &Machine) -> BTreeMap<Bdf, u32> {
    m.devices
        .iter()
        .filter_map(|d| d.iommu_group.map(|g| (d.bdf, g)))
        .collect()
}

/// A set of devices under construction, indexed by BDF.
#[derive(Debug, Default)]
pub(crate) struct DeviceSet {
    pub devices: BTreeMap<Bdf, PciDevice>,
}

impl DeviceSet {
    /// The device at `bdf`, created if new (`line` recorded on creation).
    pub(crate) fn get(&mut self, bdf: Bdf, line: Option<usize>) -> &mut PciDevice {
        self.devices.entry(bdf).or_insert_with(|| {
            let mut d = PciDevice::new(bdf);
            d.line = line;
            d
        })
    }

    /// Moves the devices into `m`, merging with devices already there.
    pub(crate) fn into_machine(self, m: &mut Machine) {
        for (_, d) in self.devices {
            match m.devices.binary_search_by_key(&d.bdf, |x| x.bdf) {
                Ok(i) => {
                    if let Some(x) = m.devices.get_mut(i) {
                        x.fill_from(&d);
                    }
                }
                Err(i) => m.devices.insert(i, d),
            }
        }
    }
}

/// Whether a function is the root complex's own (host bridge) function whatever type its
/// PCIe capability gives: class 0x0600 without a type-1 (bridge) header. Intel Xeon E5
/// v3/v4's DMI2 port at 00:00.0 (8086:2f00, 8086:6f00) is one: its capability says "Root
/// Port", yet its header is type 0, it has no bus numbers and no device below it, and it is
/// the function `pci_host_bridge_dev()` hands the p2pdma allow-list
/// (`drivers/pci/p2pdma.c`, K1.7). AMD's host bridges say "Endpoint" or have no PCIe
/// capability; both are covered.
pub(crate) fn is_host_bridge_function(class: Option<u32>, header_type: Option<u8>) -> bool {
    class.is_some_and(|c| c >> 8 == 0x0600) && header_type.is_none_or(|h| h & 0x7f != 1)
}

/// Kind from the class code alone (used when nothing better is known).
pub(crate) fn kind_from_class(class: u32, header_type: Option<u8>) -> DeviceKind {
    match (class >> 8, header_type) {
        (0x0600, _) => DeviceKind::HostBridge,
        (0x0604 | 0x0609, _) | (_, Some(1)) => DeviceKind::PciBridge,
        _ => DeviceKind::Unknown,
    }
}

/// A link figure as dumps print it: the speed from `Speed 16GT/s` (lspci) or
/// `16.0 GT/s PCIe` (sysfs), the width from `Width x16` or `16`. `None` when either is
/// missing or not a PCIe value (`Unknown`, `x0`).
pub(crate) fn parse_link(speed: &str, width: &str) -> Option<peerpath_model::Link> {
    let num = speed.split("GT/s").next()?.trim();
    let num = num.strip_suffix(".0").unwrap_or(num);
    let speed = peerpath_model::LinkSpeed::parse(num)?;
    let w = width.trim().trim_start_matches('x');
    let width: u8 = w.parse().ok()?;
    peerpath_model::LINK_WIDTHS
        .contains(&width)
        .then_some(peerpath_model::Link { speed, width })
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerpath_model::{Link, LinkSpeed};

    #[test]
    fn cmdline_knobs() {
        let mut k = KernelFacts::default();
        k.apply_cmdline("ro quiet amd_iommu=off iommu=pt pci=noats,pcie_bus_perf,disable_acs_redir=0000:00:01.0;0000:00:02.0");
        assert!(k.iommu_off);
        assert!(k.noats);
        assert_eq!(k.default_domain, Some(DomainType::Identity));
        assert_eq!(k.pcie_bus_config, Some(PcieBusConfig::Perf));
        assert_eq!(k.disable_acs_redir, vec!["0000:00:01.0", "0000:00:02.0"]);
        let mut k = KernelFacts::default();
        k.apply_cmdline("iommu.strict=0");
        assert_eq!(k.default_domain, Some(DomainType::DmaFq));
    }

    #[test]
    fn links_parse_as_lspci_and_sysfs_print_them() {
        let g4 = Some(Link {
            speed: LinkSpeed::Gen4,
            width: 16,
        });
        assert_eq!(parse_link("16GT/s", "x16"), g4);
        assert_eq!(parse_link("16.0 GT/s PCIe", "16"), g4);
        assert_eq!(
            parse_link("2.5 GT/s PCIe", "8"),
            Some(Link {
                speed: LinkSpeed::Gen1,
                width: 8
            })
        );
        assert_eq!(parse_link("Unknown", "16"), None);
        assert_eq!(parse_link("8GT/s", "x0"), None);
    }
}
