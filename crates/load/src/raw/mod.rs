//! The platform file as written: serde structs mirroring `platform-format.md` key for
//! key, before validation. `None` and empty lists mean "absent" (the default applies),
//! so a raw platform serializes back to a minimal file.
//!
//! `peerpath-import` builds these and writes them with [`crate::to_yaml`]; nothing
//! downstream of `peerpath-load` sees them.

use peerpath_model::{
    AcsDecision, Arch, AtsUse, Bdf, CcKind, CcState, CpuVendor, DeviceClass, DirectWindowKind,
    DomainType, Driver, ForwardsP2p, GpaPlacement, GroupAlgorithm, GuestLayout, IommuKind, Op,
    PassthroughFrom, Pattern, PcieBusConfig, RevokeEvent, RevokeWhen, TdispState, Translation, Via,
    Viommu, VmmBackend,
};
use serde::{Serialize, Serializer};

use crate::conv::{platform_struct, raw_struct, Conv};
use crate::source::{Kind, Msg, Node, Seg};

mod values;

pub use values::{AcsBit, Addr, ExportSel, Size};

/// Serializes `Some(v)` as a flow mapping (`{ vendor: amd, family: 26 }`), as the spec's
/// examples write small mappings of scalars.
fn flow_opt<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => serde_saphyr::FlowMap(x).serialize(s),
        None => s.serialize_none(),
    }
}

/// Serializes a list of small mappings with one flow mapping per item
/// (`- { cpu: 0x40_0000_0000, bus: 0x40_0000_0000, size: 64GiB }`).
fn flow_items<T: Serialize, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(serde_saphyr::FlowMap))
}

/// [`flow_items`] of `Some(list)`; `Some(vec![])` stays `[]`.
fn flow_opt_items<T: Serialize, S: Serializer>(
    v: &Option<Vec<T>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(items) => flow_items(items, s),
        None => s.serialize_none(),
    }
}

platform_struct! {
    /// The whole file (`format: 1`): the one declaration of the top-level keys.
    pub struct RawPlatform {
        single {
            /// `format`: must be 1.
            pub format: u32 = 1,
            /// `name`.
            pub name: String = String::new(),
            /// `description`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub description: Option<String> = None,
            /// `kernel` (every field has a default).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub kernel: Option<RawKernel> = None,
            /// `interconnect`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub interconnect: Option<RawInterconnect> = None,
        }
        lists {
            /// `memory`.
            #[serde(
                default,
                skip_serializing_if = "Vec::is_empty",
                serialize_with = "flow_items"
            )]
            pub memory: Vec<RawMemory>,
            /// `iommus`.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub iommus: Vec<RawIommu>,
            /// `host_bridges` (root ports nested inside).
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub host_bridges: Vec<RawHostBridge>,
            /// `switches`.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub switches: Vec<RawSwitch>,
            /// `endpoints`.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub endpoints: Vec<RawEndpoint>,
            /// `bridges`: PCIe-to-PCI(-X) bridges.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub bridges: Vec<RawBridge>,
            /// `domains`.
            #[serde(
                default,
                skip_serializing_if = "Vec::is_empty",
                serialize_with = "flow_items"
            )]
            pub domains: Vec<RawDomain>,
            /// `exports`.
            #[serde(
                default,
                skip_serializing_if = "Vec::is_empty",
                serialize_with = "flow_items"
            )]
            pub exports: Vec<RawExport>,
            /// `imports`; `None`: every endpoint imports every export it does not own.
            /// `Some(vec![])`: no pairings.
            #[serde(
                default,
                skip_serializing_if = "Option::is_none",
                serialize_with = "flow_opt_items"
            )]
            pub imports: Option<Vec<RawImport>>,
            /// `traffic`.
            #[serde(
                default,
                skip_serializing_if = "Vec::is_empty",
                serialize_with = "flow_items"
            )]
            pub traffic: Vec<RawTraffic>,
            /// `assumed`: facts the file does not know (an import's guesses); each
            /// verdict that depends on one says so (`depends_on`).
            #[serde(
                default,
                skip_serializing_if = "Vec::is_empty",
                serialize_with = "flow_items"
            )]
            pub assumed: Vec<RawAssumed>,
            /// `vms`: virtual machines and the devices assigned to them (rules.md V,
            /// docs/vms.md).
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub vms: Vec<RawVm>,
            /// `ide_streams`: P2P selective IDE streams bound between two TDIs (C3);
            /// `None`: not stated (two private TDIs in RUN are assumed to have one).
            #[serde(
                default,
                skip_serializing_if = "Option::is_none",
                serialize_with = "flow_opt_items"
            )]
            pub ide_streams: Option<Vec<RawIdeStream>>,
        }
    }
}

impl RawPlatform {
    /// An empty platform of format 1 with this name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::placeholder()
        }
    }
}

/// Converts the platform mapping. Top-level lists keep the elements that converted
/// (with their file indices in the returned origins), so validation can still check
/// the rest of the file; the caller knows from the sink that something failed.
pub(crate) fn convert_platform(
    node: &Node,
    cv: &mut Conv<'_, '_>,
) -> Option<(RawPlatform, Origins)> {
    let src = cv.src();
    let entries = match &node.kind {
        Kind::Map(entries) => entries,
        Kind::Null => {
            // Where the parser stopped is not interesting: point at the start.
            let start = Node {
                kind: Kind::Null,
                loc: crate::source::Loc {
                    line: 1,
                    col: 1,
                    bytes: Some((0, 0)),
                },
            };
            cv.err(
                &start,
                Msg::new("the document is empty")
                    .expected("a platform: a mapping with `format: 1`, `name:` and the hardware"),
            );
            return None;
        }
        _ => {
            let found = node.describe(src);
            cv.err(
                node,
                Msg::new(format!("found {found}"))
                    .expected("a platform: a mapping with `format: 1`, `name:` and the hardware"),
            );
            return None;
        }
    };
    cv.check_keys(entries, RawPlatform::KEYS);
    if let Some(eps) = node.get("endpoints", src) {
        if let Kind::Seq(items) = &eps.kind {
            if items.len() > crate::limits::MAX_ENDPOINTS {
                cv.within(Seg::from("endpoints"), |cv| {
                    cv.err(
                        eps,
                        Msg::new(format!("{} endpoints", items.len())).expected(format!(
                            "at most {} endpoints",
                            crate::limits::MAX_ENDPOINTS
                        )),
                    )
                });
                return None;
            }
        }
    }
    Some(RawPlatform::convert_keys(node, entries, cv))
}

raw_struct! {
    /// `kernel`.
    #[derive(Default)]
    pub struct RawKernel {
        /// `release` (`6.8.0-45-generic`): selects version-dependent behaviour
        /// (docs/kernels.md); absent: the newest modelled release, stated as an
        /// assumption.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub release: Option<String>,
        /// `arch`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub arch: Option<Arch>,
        /// `cpu`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub cpu: Option<RawCpu>,
        /// `default_domain` (default dma).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub default_domain: Option<DomainType>,
        /// `passthrough_from` (default cmdline).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub passthrough_from: Option<PassthroughFrom>,
        /// `swiotlb_force` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub swiotlb_force: Option<bool>,
        /// `noats` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub noats: Option<bool>,
        /// `pcie_bus_config` (default `default`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pcie_bus_config: Option<PcieBusConfig>,
        /// `disable_acs_redir`: port names or BDFs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub disable_acs_redir: Vec<String>,
        /// `config_acs`.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub config_acs: Vec<RawConfigAcs>,
        /// `acs_decision` (default mainline).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub acs_decision: Option<AcsDecision>,
        /// `group_algorithm` (default legacy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group_algorithm: Option<GroupAlgorithm>,
        /// `cc` (default none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cc: Option<CcKind>,
        /// `ipa_bits` (default 48).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ipa_bits: Option<u8>,
        /// `pci_p2pdma`: whether the kernel is built with `CONFIG_PCI_P2PDMA` (absent:
        /// taken as built; Ubuntu 22.04's default 5.15 kernel is not, docs/kernels.md).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pci_p2pdma: Option<bool>,
    }
}

raw_struct! {
    /// `kernel.cpu`.
    pub struct RawCpu {
        /// `vendor` (default other).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub vendor: Option<CpuVendor>,
        /// `family`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub family: Option<u32>,
    }
}

raw_struct! {
    /// One `kernel.config_acs` entry.
    pub struct RawConfigAcs {
        /// `port`: a port name or BDF.
        pub port: String,
        /// `set`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub set: Vec<AcsBit>,
        /// `clear`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub clear: Vec<AcsBit>,
    }
}

raw_struct! {
    /// `interconnect`.
    pub struct RawInterconnect {
        /// `write_merge_bytes` (default 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub write_merge_bytes: Option<Size>,
        /// `fabric` (timing; defaults in docs/timing.md).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub fabric: Option<RawFabric>,
        /// `latency` (timing; defaults in docs/timing.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub latency: Option<RawLatency>,
    }
}

raw_struct! {
    /// `interconnect.fabric`.
    pub struct RawFabric {
        /// `same_socket`: between host bridges of one socket.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub same_socket: Option<RawFabricHop>,
        /// `cross_socket`: between sockets.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub cross_socket: Option<RawFabricHop>,
        /// `pairs`: explicit host-bridge pairs.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub pairs: Vec<RawFabricPair>,
    }
}

raw_struct! {
    /// A fabric crossing: `{ bandwidth: 64GB/s, latency: 150ns }`.
    pub struct RawFabricHop {
        /// `bandwidth` (`64GB/s`, `500MB/s`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bandwidth: Option<String>,
        /// `latency` (`150ns`, `1.2us`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub latency: Option<String>,
        /// `efficiency` (`72%`, `0.72`): the share of the links' rate a P2P transfer
        /// reaches crossing here (root-complex forwarding; timing only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub efficiency: Option<String>,
    }
}

raw_struct! {
    /// An `interconnect.fabric.pairs` entry.
    pub struct RawFabricPair {
        /// `between`: two host bridge names.
        pub between: Vec<String>,
        /// `bandwidth`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bandwidth: Option<String>,
        /// `latency`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub latency: Option<String>,
        /// `efficiency`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub efficiency: Option<String>,
    }
}

raw_struct! {
    /// `interconnect.latency`: each a duration (`150ns`, `1us`).
    pub struct RawLatency {
        /// `endpoint`: the initiator's own work per transfer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub endpoint: Option<String>,
        /// `link`: one link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub link: Option<String>,
        /// `switch`: ingress to egress.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub switch: Option<String>,
        /// `root_complex`: peer forwarding between root ports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub root_complex: Option<String>,
        /// `iommu_hit`: a translation that hits the TLB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub iommu_hit: Option<String>,
        /// `iommu_miss`: a translation that walks the page table.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub iommu_miss: Option<String>,
    }
}

raw_struct! {
    /// A port's or endpoint's `link`: `{ speed: 16GT/s, width: 16 }`.
    pub struct RawLink {
        /// `speed`: `16GT/s`, `2.5GT/s` or `gen4`.
        pub speed: String,
        /// `width`: lanes.
        pub width: u32,
    }
}

raw_struct! {
    /// A `memory` region.
    pub struct RawMemory {
        /// `name`.
        pub name: String,
        /// `base`.
        pub base: Addr,
        /// `size`.
        pub size: Size,
    }
}

raw_struct! {
    /// An `iommus` entry.
    pub struct RawIommu {
        /// `name`.
        pub name: String,
        /// `kind`.
        pub kind: IommuKind,
        /// `ats` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ats: Option<bool>,
        /// `disable_bypass` (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub disable_bypass: Option<bool>,
        /// `tbus` (smmuv3 only).
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub tbus: Vec<RawTbu>,
        /// `stream_map` (default identity).
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub stream_map: Vec<RawStreamMap>,
    }
}

raw_struct! {
    /// A TBU.
    pub struct RawTbu {
        /// `name`.
        pub name: String,
        /// `tlb_entries`.
        pub tlb_entries: u32,
        /// `tlb_ways`.
        pub tlb_ways: u32,
    }
}

raw_struct! {
    /// A `stream_map` entry.
    pub struct RawStreamMap {
        /// `rid_base`.
        pub rid_base: u32,
        /// `sid_base`.
        pub sid_base: u32,
        /// `length`.
        pub length: u32,
    }
}

raw_struct! {
    /// A `host_bridges` entry.
    pub struct RawHostBridge {
        /// `name`.
        pub name: String,
        /// `segment` (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub segment: Option<u16>,
        /// `id`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `forwards_p2p` (default same-host-bridge).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub forwards_p2p: Option<ForwardsP2p>,
        /// `forwards_p2p_reads` (default: as `forwards_p2p`): what the root complex
        /// forwards of peer reads and their completions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub forwards_p2p_reads: Option<ForwardsP2p>,
        /// `translation` (default integrated).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub translation: Option<Translation>,
        /// `direct_window`: POWER's 64-bit direct DMA window (a `tce` IOMMU only).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub direct_window: Option<RawDirectWindow>,
        /// `iommu`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub iommu: Option<String>,
        /// `stream_map`: this root complex's RID → StreamID map (IORT root complex
        /// ID mappings, DT `iommu-map`; default the IOMMU's `stream_map`).
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub stream_map: Vec<RawStreamMap>,
        /// `windows`.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub windows: Vec<RawWindow>,
        /// `socket` (timing: which fabric joins host bridges).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub socket: Option<u16>,
        /// `numa_node`: the NUMA node of the devices below (path classes NODE/SYS;
        /// several per socket in NPS2/NPS4 or sub-NUMA clustering).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub numa_node: Option<u16>,
        /// `p2p_bandwidth`: what the root complex forwards between root ports
        /// (timing; absent: no limit of its own).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub p2p_bandwidth: Option<String>,
        /// `root_ports`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub root_ports: Vec<RawRootPort>,
    }
}

/// PCI ids as people read them: `"0x1def"`, not `7663`.
fn hex16<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#06x}"))
}

raw_struct! {
    /// A vendor/device id.
    pub struct RawPciId {
        /// `vendor`.
        #[serde(serialize_with = "hex16")]
        pub vendor: u16,
        /// `device`.
        #[serde(serialize_with = "hex16")]
        pub device: u16,
    }
}

raw_struct! {
    /// `host_bridges[].direct_window`.
    pub struct RawDirectWindow {
        /// `kind` (default phb-bypass).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<DirectWindowKind>,
        /// `base`: the window's first DMA address.
        pub base: Addr,
        /// `size`: the memory it maps.
        pub size: Size,
    }
}

raw_struct! {
    /// A host bridge window.
    pub struct RawWindow {
        /// `cpu`: CPU physical start.
        pub cpu: Addr,
        /// `bus`: PCI bus address of `cpu`.
        pub bus: Addr,
        /// `size`.
        pub size: Size,
    }
}

raw_struct! {
    /// `acs`.
    pub struct RawAcs {
        /// `cap`: the ACS Capability register.
        #[serde(default)]
        pub cap: Vec<AcsBit>,
        /// `ctl`: the ACS Control register (absent: what the kernel enables).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ctl: Option<Vec<AcsBit>>,
    }
}

raw_struct! {
    /// A root port.
    pub struct RawRootPort {
        /// `name`.
        pub name: String,
        /// `bdf`.
        pub bdf: Bdf,
        /// `id`: the function's own vendor/device id (`lspci -nn`), read by the
        /// kernel's device-specific ACS and DMA alias quirks (docs/kernels.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `mpss`.
        pub mpss: u32,
        /// `mps` (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mps: Option<u32>,
        /// `acs` (absent: no ACS capability).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub acs: Option<RawAcs>,
        /// `tbu`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tbu: Option<String>,
        /// `splits_oversized_writes` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub splits_oversized_writes: Option<bool>,
        /// `multifunction` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub multifunction: Option<bool>,
        /// `link` (timing: what the link supports).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub link: Option<RawLink>,
    }
}

raw_struct! {
    /// A switch.
    pub struct RawSwitch {
        /// `name` (also the upstream port's name).
        pub name: String,
        /// `parent`: a root port or a switch downstream port.
        pub parent: String,
        /// `upstream`.
        pub upstream: RawUpstreamPort,
        /// `downstream`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub downstream: Vec<RawDownstreamPort>,
    }
}

raw_struct! {
    /// A switch's upstream port.
    pub struct RawUpstreamPort {
        /// `bdf`.
        pub bdf: Bdf,
        /// `id`: the function's own vendor/device id (`lspci -nn`), read by the
        /// kernel's device-specific ACS and DMA alias quirks (docs/kernels.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `mpss`.
        pub mpss: u32,
        /// `mps` (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mps: Option<u32>,
        /// `acs`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub acs: Option<RawAcs>,
        /// `multifunction` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub multifunction: Option<bool>,
        /// `link` (timing: what the link supports).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub link: Option<RawLink>,
    }
}

raw_struct! {
    /// A switch downstream port.
    pub struct RawDownstreamPort {
        /// `name`.
        pub name: String,
        /// `bdf`.
        pub bdf: Bdf,
        /// `id`: the function's own vendor/device id (`lspci -nn`), read by the
        /// kernel's device-specific ACS and DMA alias quirks (docs/kernels.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `mpss`.
        pub mpss: u32,
        /// `mps` (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mps: Option<u32>,
        /// `acs`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub acs: Option<RawAcs>,
        /// `multifunction` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub multifunction: Option<bool>,
        /// `link` (timing: what the link supports).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub link: Option<RawLink>,
    }
}

raw_struct! {
    /// An endpoint.
    pub struct RawEndpoint {
        /// `name`.
        pub name: String,
        /// `parent`: a root port, switch downstream port, bridge or host bridge.
        pub parent: String,
        /// `bdf`.
        pub bdf: Bdf,
        /// `id`: the function's own vendor/device id (`lspci -nn`), read by the
        /// kernel's device-specific ACS and DMA alias quirks (docs/kernels.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `class` (default other).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub class: Option<DeviceClass>,
        /// `mpss` (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mpss: Option<u32>,
        /// `mps` (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mps: Option<u32>,
        /// `dma_mask_bits` (default 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub dma_mask_bits: Option<u8>,
        /// `bus_dma_limit`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bus_dma_limit: Option<Addr>,
        /// `coherent` (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub coherent: Option<bool>,
        /// `ats` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ats: Option<bool>,
        /// `trusted` (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub trusted: Option<bool>,
        /// `multifunction` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub multifunction: Option<bool>,
        /// `acs`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub acs: Option<RawAcs>,
        /// `driver` (default kernel).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub driver: Option<Driver>,
        /// `bars`.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            serialize_with = "flow_items"
        )]
        pub bars: Vec<RawBar>,
        /// `cc`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub cc: Option<RawDeviceCc>,
        /// `pcie` (default true): the function has a PCI Express capability; `false`
        /// for a conventional PCI function (on a root bus: not an RCiEP).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pcie: Option<bool>,
        /// `link` (timing: what the link supports).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub link: Option<RawLink>,
    }
}

raw_struct! {
    /// A memory BAR.
    pub struct RawBar {
        /// `index` (0..=5).
        pub index: u8,
        /// `addr`: CPU physical address.
        pub addr: Addr,
        /// `size`.
        pub size: Size,
        /// `prefetchable` (default false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub prefetchable: Option<bool>,
    }
}

raw_struct! {
    /// An endpoint's `cc`.
    pub struct RawDeviceCc {
        /// `state` (default shared).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub state: Option<CcState>,
        /// `tdisp` (default unlocked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tdisp: Option<TdispState>,
    }
}

raw_struct! {
    /// A PCIe-to-PCI(-X) bridge.
    pub struct RawBridge {
        /// `name`.
        pub name: String,
        /// `parent`.
        pub parent: String,
        /// `bdf`.
        pub bdf: Bdf,
        /// `id`: the function's own vendor/device id (`lspci -nn`), read by the
        /// kernel's device-specific ACS and DMA alias quirks (docs/kernels.md).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub id: Option<RawPciId>,
        /// `mpss` of its PCIe side (default 128).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mpss: Option<u32>,
    }
}

raw_struct! {
    /// An explicit IOMMU domain.
    pub struct RawDomain {
        /// `name`.
        pub name: String,
        /// `type`.
        pub ty ["type"]: DomainType,
        /// `devices`: endpoint names.
        #[serde(default)]
        pub devices: Vec<String>,
    }
}

raw_struct! {
    /// An exported BAR range.
    pub struct RawExport {
        /// `name`.
        pub name: String,
        /// `device`: the exporting endpoint.
        pub device: String,
        /// `bar`: BAR index.
        pub bar: u8,
        /// `offset` (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub offset: Option<Size>,
        /// `size` (default: the rest of the BAR).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub size: Option<Size>,
        /// `via` (default vfio-dmabuf).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub via: Option<Via>,
        /// `revoke`: what revokes the VFIO dma-buf (absent: never revoked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub revoke: Option<RevokeEvent>,
        /// `revoke_when` (default after-map; only with `revoke`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub revoke_when: Option<RevokeWhen>,
    }
}

raw_struct! {
    /// An `imports` entry.
    pub struct RawImport {
        /// `device`: the importing endpoint.
        pub device: String,
        /// `exports`.
        pub exports: ExportSel,
        /// `allow_peer2peer` (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub allow_peer2peer: Option<bool>,
        /// `dynamic` (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub dynamic: Option<bool>,
    }
}

raw_struct! {
    /// An `assumed` entry: a fact the file does not know.
    pub struct RawAssumed {
        /// `fact`: `kernel.cpu.vendor`, `kernel.cpu.family`, `kernel.default_domain`,
        /// `kernel.release`, or a node's `id`, `forwards_p2p` (host bridges) or
        /// `splits_oversized_writes` (root ports).
        pub fact: String,
        /// `node`: the host bridge or root port, for a node's fact.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node: Option<String>,
    }
}

raw_struct! {
    /// A `traffic` entry.
    pub struct RawTraffic {
        /// `importer`.
        pub importer: String,
        /// `export`.
        pub export: String,
        /// `op` (default write).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub op: Option<Op>,
        /// `bytes` (default 4KiB).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bytes: Option<Size>,
        /// `payload` per TLP (default: the importer's effective MPS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub payload: Option<u32>,
        /// `pattern` (default sequential).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pattern: Option<Pattern>,
        /// `ats` (default auto).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ats: Option<AtsUse>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_mappings_are_written_in_flow_style_and_read_back() {
        let mut p = RawPlatform::new("flow");
        p.kernel = Some(RawKernel {
            cpu: Some(RawCpu {
                vendor: Some(CpuVendor::Amd),
                family: Some(26),
            }),
            ..RawKernel::default()
        });
        p.imports = Some(vec![RawImport {
            device: "e0".to_owned(),
            exports: ExportSel::All,
            allow_peer2peer: None,
            dynamic: None,
        }]);
        let yaml = crate::to_yaml(&p);
        assert!(yaml.contains("cpu: {vendor: amd, family: 26}"), "{yaml}");
        assert!(yaml.contains("- {device: e0, exports: all}"), "{yaml}");
        let again = crate::load_raw_str("flow.yaml", &yaml).expect("reads back");
        assert_eq!(again, p);
    }
}

raw_struct! {
    /// An `ide_streams` entry: a P2P selective IDE stream between two TDIs (C3).
    pub struct RawIdeStream {
        /// `name`.
        pub name: String,
        /// `ends`: the two endpoints it is bound between.
        pub ends: Vec<String>,
    }
}

raw_struct! {
    /// A `vms` entry: one virtual machine (docs/vms.md).
    pub struct RawVm {
        /// `name`.
        pub name: String,
        /// `devices`: the host endpoints assigned to it (bound to vfio-pci, V1).
        pub devices: Vec<RawVmDevice>,
        /// `backend` (default vfio-type1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub backend: Option<VmmBackend>,
        /// `map_bars`: the VMM maps the assigned devices' BARs into the VM's I/O
        /// address space (V1). Default: vfio-type1 yes; iommufd where the host kernel
        /// exports VFIO dma-bufs (an assumption, stated).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub map_bars: Option<bool>,
        /// `viommu` (default none, V5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub viommu: Option<Viommu>,
        /// `gpa`: where the guest sees the BARs (default vmm).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub gpa: Option<GpaPlacement>,
        /// `mmio64_base`: the guest's 64-bit MMIO window (default 0x8000000000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mmio64_base: Option<Addr>,
        /// `guest`: the guest's virtual platform (V6).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub guest: Option<RawGuest>,
    }
}

raw_struct! {
    /// A device assigned to a VM.
    pub struct RawVmDevice {
        /// `device`: the host endpoint.
        pub device: String,
        /// `ats`: false keeps ATS off for it (default: the host kernel's rule, H2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ats: Option<bool>,
        /// `bars`: where the guest sees each BAR (default: `gpa`'s placement).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub bars: Vec<RawGuestBar>,
    }
}

raw_struct! {
    /// A BAR's guest physical address.
    pub struct RawGuestBar {
        /// `index` (0..=5).
        pub index: u8,
        /// `gpa`.
        pub gpa: Addr,
    }
}

raw_struct! {
    /// A VM's `guest`: the VMM's virtual platform as the guest kernel sees it.
    pub struct RawGuest {
        /// `host_bridge`: the VMM's host bridge id (default: QEMU q35 8086:29c0 on
        /// x86_64, the `virt` machine's 1b36:0008 elsewhere).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "flow_opt"
        )]
        pub host_bridge: Option<RawPciId>,
        /// `layout` (default root-ports).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub layout: Option<GuestLayout>,
        /// `acs`: the virtual ports have an ACS capability (default true, QEMU's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub acs: Option<bool>,
        /// `release`: the guest kernel (default: the host's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub release: Option<String>,
        /// `cpu`: what the guest's CPUID says (default: the host's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cpu: Option<RawCpu>,
    }
}
