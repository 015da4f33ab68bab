//! K1.2–K1.8 — the P2PDMA map type and distance (`drivers/pci/p2pdma.c`:
//! `calc_map_type_and_dist`, `pci_bridge_has_acs_redir`, `cpu_supports_p2pdma`,
//! `host_bridge_whitelist`, `__host_bridge_whitelist`, `pci_host_bridge_dev`).
//!
//! The provider is the exporting endpoint, the client the importer. The kernel walks the
//! provider's upstream chain (`pci_upstream_bridge`, host bridges excluded) and, for
//! each ancestor, the client's chain; the first match is the nearest common upstream
//! device and the distance is the sum of the hops (K1.3).
//!
//! Which devices redirect (K1.4) depends on `kernel.acs_decision`:
//! - `mainline`: while walking, the kernel collects the devices whose ACS Control has
//!   RR, CR or EC (`pci_bridge_has_acs_redir`): on the provider side up to **and
//!   including** the common ancestor, on the client side up to but **excluding** it;
//!   endpoints count too, so two functions of one device below a redirecting port are
//!   not `bus-addr`.
//! - `egress-aware`: the per-TLP-class rewrite under review upstream (a
//!   `calc_map_type_and_dist` taking `tlp_flags`, in the leon/linux-rdma tree; see
//!   docs/research/kernel-facts.md, K1.11), for the class the dma-buf mapping uses
//!   (untranslated requests, strictly ordered completions). Only the two **divergence
//!   ports** — the children of the common ancestor on each side — are read: the
//!   client-side one redirects the importer's requests when it has RR or EC (EC is
//!   taken as redirect because Linux does not read the egress vector), the
//!   provider-side one redirects the read completions when it has CR. The common
//!   ancestor and the ports below the divergence are not consulted. This is the
//!   kernel's reading; what the hardware does with EC without RR (an ACS violation,
//!   H1) is the engine's.
//!
//! A common ancestor and no redirect gives `bus-addr`. Otherwise (K1.5) the result is
//! `thru-host-bridge` when the CPU rule holds — x86 AMD family ≥ 0x17 (K1.6) — or the
//! host-bridge allow-list does (K1.7): the kernel looks at the first device on each
//! host bridge's root bus (`host_bridges[].id`, absent when that device is neither
//! devfn 00.0 nor a root port); entries flagged same-host-bridge (Intel 0x3c00, 0x3c01,
//! 0x2f00, 0x2f01) allow P2P only below one host bridge, the others (Intel 0x2020,
//! 0x2030–0x2033, 0x09a2, the DSA/IAA/QAT accelerators, any Google device, NVIDIA
//! 0x2f95–0x2f98) also across host bridges when both match. Anything else is
//! `not-supported`. The distance never changes with the outcome; peerpath reports it
//! only when there is a common upstream device (without one the kernel still sets the
//! sum of both chain lengths, which `pci_p2pdma_distance_many` uses for ranking and
//! which means nothing to a user).
//!
//! All of this as of the platform's kernel release (issue 24, `releases`): no p2pdma
//! before 4.20 (`not-supported` whatever the topology), no path through the root complex
//! before 5.4 (5.2–5.3: AMD Zen 1022:1450 root complexes without an IOMMU only), the CPU
//! rule from 5.9, and [`ALLOW_LIST`] as of that release — each row with the release and
//! commit it came in (the AMD rows of 5.4–5.8 included; rows after 6.8 whose first
//! release is not verified are taken as present after 6.8). ACS quirks do not enter
//! K1.4: `pci_bridge_has_acs_redir` reads the capability only.
//!
//! The redirecting devices are kept in the kernel's order, for the
//! `pci=disable_acs_redir=<BDF;BDF…>` hint (K1.8). The per-(provider, client) cache of
//! K1.9 has no effect on a static platform and is not modelled.

use peerpath_model::{AcsDecision, Arch, At, CpuVendor, Introduced, NodeId, PciId, Release};

use crate::releases::{self, Feature, P2pdma};
use peerpath_topology::acs::{AcsTlp, Class, Dest, Reader};
use peerpath_topology::Topology;

/// The class of the importer's peer requests: untranslated memory requests (the
/// kernel's map-type logic ignores ATS, K1.4/H2).
const REQUEST: Class = Class::Request(At::Untranslated);

pub use peerpath_model::MapType;

/// Vendor ids used by the allow-list.
const INTEL: u16 = 0x8086;
const AMD: u16 = 0x1022;
const GOOGLE: u16 = 0x1ae0;
const NVIDIA: u16 = 0x10de;

/// One `pci_p2pdma_whitelist[]` entry, with the releases it was in and its source.
#[derive(Clone, Copy, Debug)]
pub struct AllowEntry {
    /// Vendor id.
    pub vendor: u16,
    /// Device id; `None` = `PCI_ANY_ID`.
    pub device: Option<u16>,
    /// `REQ_SAME_HOST_BRIDGE`.
    pub same_host_bridge_only: bool,
    /// The release it came in.
    pub since: Introduced,
    /// The first release without it, if it was removed.
    pub until: Option<Release>,
    /// The commit that added it.
    pub commit: &'static str,
    /// How the release was verified.
    pub source: &'static str,
}

impl AllowEntry {
    /// Whether the entry is in the table at release `r`.
    pub fn present_at(&self, r: Release) -> bool {
        self.since.present_at(r) && self.until.is_none_or(|u| r < u)
    }

    fn matches(&self, id: PciId) -> bool {
        self.vendor == id.vendor && self.device.is_none_or(|d| d == id.device)
    }
}

/// One table row per device id.
const fn entry(
    vendor: u16,
    device: Option<u16>,
    same_host_bridge_only: bool,
    since: Introduced,
    until: Option<Release>,
    commit: &'static str,
    source: &'static str,
) -> AllowEntry {
    AllowEntry {
        vendor,
        device,
        same_host_bridge_only,
        since,
        until,
        commit,
        source,
    }
}

const V5_4: Introduced = Introduced::In(Release::new(5, 4));
const V5_6: Introduced = Introduced::In(Release::new(5, 6));
const V5_7: Introduced = Introduced::In(Release::new(5, 7));
const V5_8: Introduced = Introduced::In(Release::new(5, 8));
const V5_18: Introduced = Introduced::In(Release::new(5, 18));
/// Entries after 6.8 whose first release is not verified: the hardware (Sapphire
/// Rapids DSA/IAA, QAT 6xxx, Granite Rapids/Diamond Rapids DSA, Google SoCs, NVIDIA
/// Vera Rubin) and the neighbouring commits are 2024 or later; 6.8 is March 2024.
const AFTER_6_8: Introduced = Introduced::NotVerified {
    after: Release::new(6, 8),
};
/// `cpu_supports_p2pdma()` replaced the AMD entries in 5.9 (dea286bb71ba).
const UNTIL_5_9: Option<Release> = Some(Release::new(5, 9));

const C_INTEL: &str = "494d63b0d5d0 PCI/P2PDMA: Whitelist some Intel host bridges";
const S_V5_4: &str = "[GIT PULL] PCI changes for v5.4";
const C_AMD_RC: &str = "494d63b0d5d0 (the 5.2 AMD ZEN check, 0f97da831026, as a table entry)";
const C_RAVEN: &str =
    "7d5b10fcb81e PCI/P2PDMA: Add AMD Zen Raven and Renoir Root Ports to whitelist";
const S_RAVEN: &str = "Bjorn Helgaas: \"Applied with Huang's ack to pci/p2pdma for v5.8\"";
const C_SKX: &str = "bc123a515cb7 PCI/P2PDMA: Add Intel SkyLake-E to the whitelist";
const S_SKX: &str = "[GIT PULL] PCI changes for v5.6";
const C_SKX_BCD: &str =
    "7b94b53db34f PCI/P2PDMA: Add Intel Sky Lake-E Root Ports B, C, D to the whitelist";
const S_SKX_BCD: &str =
    "Bjorn Helgaas: \"Applied with Logan's reviewed-by to pci/p2pdma for v5.7\"";
const C_ICX: &str =
    "feaea1fe8b36 PCI/P2PDMA: Add Intel 3rd Gen Intel Xeon Scalable Processors to whitelist";
const S_ICX: &str = "Bjorn Helgaas: \"applied as below to pci/p2pdma for v5.18\"";
const C_ACCEL: &str = "ae32e372b35b PCI/P2PDMA: Add Intel QAT, DSA, IAA devices to whitelist";
const S_AFTER: &str =
    "present in leon/linux-rdma p2pdma.c 04673b71; introduction release not verified";
const C_GOOGLE: &str = "70cf146a674c PCI/P2PDMA: Add Google SoCs to the P2P DMA host bridge list; 1a1f96e3e2a8 Allow wildcard Device IDs";
const C_NVIDIA: &str = "894a78088fc3 PCI/P2PDMA: Add Nvidia Vera Rubin to whitelist";

/// `pci_p2pdma_whitelist[]` over its history, in the kernel's order (first match wins).
/// Rows are added where they came in; a row with `until` was dropped at that release.
pub(crate) const ALLOW_LIST: &[AllowEntry] = &[
    // AMD ZEN (5.4–5.8; replaced by the CPU rule in 5.9)
    entry(AMD, Some(0x1450), false, V5_4, UNTIL_5_9, C_AMD_RC, S_V5_4),
    entry(AMD, Some(0x15d0), false, V5_8, UNTIL_5_9, C_RAVEN, S_RAVEN),
    entry(AMD, Some(0x1630), false, V5_8, UNTIL_5_9, C_RAVEN, S_RAVEN),
    // Intel Xeon E5/Core i7
    entry(INTEL, Some(0x3c00), true, V5_4, None, C_INTEL, S_V5_4),
    entry(INTEL, Some(0x3c01), true, V5_4, None, C_INTEL, S_V5_4),
    // Intel Xeon E7 v3/Xeon E5 v3/Core i7
    entry(INTEL, Some(0x2f00), true, V5_4, None, C_INTEL, S_V5_4),
    entry(INTEL, Some(0x2f01), true, V5_4, None, C_INTEL, S_V5_4),
    // Intel Skylake-E
    entry(INTEL, Some(0x2030), false, V5_6, None, C_SKX, S_SKX),
    entry(INTEL, Some(0x2031), false, V5_7, None, C_SKX_BCD, S_SKX_BCD),
    entry(INTEL, Some(0x2032), false, V5_7, None, C_SKX_BCD, S_SKX_BCD),
    entry(INTEL, Some(0x2033), false, V5_7, None, C_SKX_BCD, S_SKX_BCD),
    entry(INTEL, Some(0x2020), false, V5_6, None, C_SKX, S_SKX),
    entry(INTEL, Some(0x09a2), false, V5_18, None, C_ICX, S_ICX),
    // DSA_SPR0, IAX_SPR0, DSA_GNRD, DSA_DMR, IAA_DMR
    entry(
        INTEL,
        Some(0x0b25),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x0cfe),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x11fb),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x1212),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x1216),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    // QAT_4XXX, QAT_401XX, QAT_402XX, QAT_420XX, QAT_6XXX
    entry(
        INTEL,
        Some(0x4940),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x4942),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x4944),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x4946),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    entry(
        INTEL,
        Some(0x4948),
        false,
        AFTER_6_8,
        None,
        C_ACCEL,
        S_AFTER,
    ),
    // Google SoCs
    entry(GOOGLE, None, false, AFTER_6_8, None, C_GOOGLE, S_AFTER),
    // NVIDIA CPUs
    entry(
        NVIDIA,
        Some(0x2f95),
        false,
        AFTER_6_8,
        None,
        C_NVIDIA,
        S_AFTER,
    ),
    entry(
        NVIDIA,
        Some(0x2f96),
        false,
        AFTER_6_8,
        None,
        C_NVIDIA,
        S_AFTER,
    ),
    entry(
        NVIDIA,
        Some(0x2f97),
        false,
        AFTER_6_8,
        None,
        C_NVIDIA,
        S_AFTER,
    ),
    entry(
        NVIDIA,
        Some(0x2f98),
        false,
        AFTER_6_8,
        None,
        C_NVIDIA,
        S_AFTER,
    ),
];

/// The AMD Zen host bridge `root_complex_whitelist` knew (5.2–5.3, 0f97da831026).
const AMD_ZEN_ROOT: PciId = PciId {
    vendor: AMD,
    device: 0x1450,
};

/// What the allow-list says about one host bridge (`__host_bridge_whitelist`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HostBridgeMatch {
    /// No device the allow-list can look at (`pci_host_bridge_dev` returned NULL).
    NoRootDevice,
    /// The first entry matching the id; `same_host_bridge_only` if flagged.
    Listed {
        /// The id the kernel saw.
        id: PciId,
        /// `REQ_SAME_HOST_BRIDGE`.
        same_host_bridge_only: bool,
    },
    /// Not in the list ("Host bridge not in P2PDMA whitelist").
    NotListed(PciId),
}

/// An id the allow-list accepts at release `r` for peers on different host bridges
/// (no `REQ_SAME_HOST_BRIDGE`), of `vendor` where the list has one: what a host bridge
/// whose id is not known could be (issue 24, `assume`). `None` before the list.
pub(crate) fn listed_example(vendor: Option<u16>, r: Release) -> Option<PciId> {
    let open = |e: &&AllowEntry| !e.same_host_bridge_only && e.present_at(r);
    let pick = ALLOW_LIST
        .iter()
        .filter(open)
        .find(|e| Some(e.vendor) == vendor)
        .or_else(|| ALLOW_LIST.iter().find(open))?;
    releases::has(Feature::ThruHostBridge, r).then_some(PciId {
        vendor: pick.vendor,
        device: pick.device.unwrap_or(0),
    })
}

impl HostBridgeMatch {
    /// Looks an id up the way `__host_bridge_whitelist` does, in the table as of
    /// release `r` (before 5.4 the table does not exist: nothing is listed).
    pub fn of(id: Option<PciId>, r: Release) -> Self {
        let Some(id) = id else {
            return HostBridgeMatch::NoRootDevice;
        };
        if !releases::has(Feature::ThruHostBridge, r) {
            return HostBridgeMatch::NotListed(id);
        }
        ALLOW_LIST
            .iter()
            .find(|e| e.present_at(r) && e.matches(id))
            .map_or(HostBridgeMatch::NotListed(id), |e| {
                HostBridgeMatch::Listed {
                    id,
                    same_host_bridge_only: e.same_host_bridge_only,
                }
            })
    }

    /// The table row the kernel matched at release `r`, if any.
    pub fn entry(id: PciId, r: Release) -> Option<&'static AllowEntry> {
        ALLOW_LIST.iter().find(|e| e.present_at(r) && e.matches(id))
    }

    /// Whether this host bridge passes, given whether both peers are below it.
    fn allows(self, same_host_bridge: bool) -> bool {
        match self {
            HostBridgeMatch::Listed {
                same_host_bridge_only,
                ..
            } => !same_host_bridge_only || same_host_bridge,
            _ => false,
        }
    }

    /// The id the kernel saw, if any.
    pub fn id(self) -> Option<PciId> {
        match self {
            HostBridgeMatch::NoRootDevice => None,
            HostBridgeMatch::Listed { id, .. } | HostBridgeMatch::NotListed(id) => Some(id),
        }
    }
}

/// The allow-list verdict for a (provider, client) pair (`host_bridge_whitelist`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AllowList {
    /// The provider's host bridge.
    pub provider_hb: NodeId,
    /// The client's host bridge.
    pub client_hb: NodeId,
    /// Both below one host bridge.
    pub same_host_bridge: bool,
    /// The provider host bridge's entry.
    pub provider: HostBridgeMatch,
    /// The client host bridge's entry.
    pub client: HostBridgeMatch,
    /// The verdict.
    pub allowed: bool,
}

/// The K1 decision with everything that led to it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapTypeDecision {
    /// The map type.
    pub map_type: MapType,
    /// The nearest common upstream device (K1.3), if any.
    pub common_upstream: Option<NodeId>,
    /// The distance, only with a common upstream device.
    pub distance: Option<u32>,
    /// Devices whose ACS redirects, in the kernel's walk order; only collected into the
    /// decision when there is a common upstream device (the kernel ignores them
    /// otherwise).
    pub redirecting: Vec<NodeId>,
    /// `cpu_supports_p2pdma()` (K1.6).
    pub cpu_rule: bool,
    /// The allow-list verdict (K1.7).
    pub allow_list: AllowList,
    /// The release whose behaviour applied (issue 24).
    pub release: Release,
    /// What p2pdma could decide at that release.
    pub p2pdma: P2pdma,
    /// 5.2–5.3 only: both host bridges are AMD Zen 1022:1450 and no IOMMU is present
    /// (`root_complex_whitelist`), which allowed P2P across the root complex.
    pub amd_root_complex: bool,
}

/// What `explain` shows of the K1 decision (render's view of a `MapTypeDecision`):
/// the facts behind the map type as plain data, with the way to clear a redirect (K1.8,
/// `acs_fix`) worked out, so that render names no type of this module but this one's
/// parts and calls none of the rule's functions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MapTypeView {
    /// What p2pdma decided (K1.5).
    pub map_type: MapType,
    /// The release whose behaviour applied (issue 24).
    pub release: Release,
    /// What p2pdma could decide at that release.
    pub p2pdma: P2pdma,
    /// The nearest common upstream device and the distance (K1.3), if any.
    pub common_upstream: Option<(NodeId, u32)>,
    /// Devices whose ACS redirects (K1.4), in the kernel's walk order.
    pub redirecting: Vec<NodeId>,
    /// The kernel parameter and runtime commands that clear the redirect (K1.8).
    pub clear_redirect: Option<crate::acs_fix::ClearRedirect>,
    /// `cpu_supports_p2pdma()` (K1.6).
    pub cpu_rule: bool,
    /// The allow-list verdict (K1.7).
    pub allow_list: AllowList,
}

impl MapTypeDecision {
    /// The decision as `explain` shows it.
    pub fn view(&self, topo: &Topology<'_>) -> MapTypeView {
        MapTypeView {
            map_type: self.map_type,
            release: self.release,
            p2pdma: self.p2pdma,
            common_upstream: self.common_upstream.zip(self.distance),
            redirecting: self.redirecting.clone(),
            clear_redirect: self.clear_redirect(topo),
            cpu_rule: self.cpu_rule,
            allow_list: self.allow_list,
        }
    }

    /// The `pci=disable_acs_redir=` value naming the redirecting devices (K1.8).
    pub fn disable_acs_redir_hint(&self, topo: &Topology<'_>) -> Option<String> {
        self.clear_redirect(topo).map(|c| c.parameter)
    }

    /// Clearing ACS redirect on the redirecting devices: the hint and the runtime
    /// `setpci` commands (`acs_fix`).
    pub fn clear_redirect(&self, topo: &Topology<'_>) -> Option<crate::acs_fix::ClearRedirect> {
        crate::acs_fix::clear_redirect(topo, &self.redirecting)
    }
}

/// Whether a device redirects peer TLPs of `class` as p2pdma reads its ACS under
/// `kernel.acs_decision` (K1.4): the one ACS decision with `Reader::P2pdma`. Under
/// `mainline` (`pci_bridge_has_acs_redir`) an ACS capability whose Control has RR, CR
/// or EC redirects every class.
pub(crate) fn has_acs_redir(topo: &Topology<'_>, node: NodeId, class: Class) -> bool {
    let reader = Reader::P2pdma(topo.platform().kernel.acs_decision);
    let tlp = AcsTlp {
        class,
        requester_in_range: true,
        dest: Dest::PeerPort,
    };
    topo.acs_decide(node, reader, tlp).redirected()
}

/// The redirecting devices between provider and client below `common`, in the order
/// the kernel lists them (K1.4, per `kernel.acs_decision`).
fn redirecting_devices(
    topo: &Topology<'_>,
    provider: NodeId,
    client: NodeId,
    common: NodeId,
) -> Vec<NodeId> {
    let pchain = topo.pci_upstream_chain(provider);
    let cchain = topo.pci_upstream_chain(client);
    match topo.platform().kernel.acs_decision {
        AcsDecision::Mainline => {
            // Provider side: up to and including the common ancestor; client side: up
            // to but excluding it.
            let provider_side = pchain
                .iter()
                .position(|n| *n == common)
                .map_or(&pchain[..], |i| &pchain[..=i]);
            let client_side = cchain.iter().take_while(|n| **n != common);
            provider_side
                .iter()
                .chain(client_side)
                .copied()
                .filter(|n| has_acs_redir(topo, *n, REQUEST))
                .collect()
        }
        AcsDecision::EgressAware => {
            let child_below = |chain: &[NodeId]| {
                chain
                    .iter()
                    .position(|n| *n == common)
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| chain.get(i).copied())
            };
            let (Some(a_child), Some(b_child)) = (child_below(&pchain), child_below(&cchain))
            else {
                return Vec::new();
            };
            // The provider side returns the read completions, the client side issues
            // the requests.
            let mut out = Vec::new();
            if has_acs_redir(topo, a_child, Class::Completion) {
                out.push(a_child);
            }
            if has_acs_redir(topo, b_child, REQUEST) {
                out.push(b_child);
            }
            out
        }
    }
}

/// `cpu_supports_p2pdma()` (K1.6): x86 AMD family ≥ 0x17 only, from 5.9 (before,
/// the function does not exist: false).
pub(crate) fn cpu_supports_p2pdma(topo: &Topology<'_>) -> bool {
    let k = &topo.platform().kernel;
    releases::has(Feature::CpuRule, k.release_version())
        && k.arch == Arch::X86_64
        && k.cpu.vendor == CpuVendor::Amd
        && k.cpu.family.unwrap_or(0) >= 0x17
}

/// `root_complex_whitelist()` of 5.2–5.3: both host bridges' first device is AMD Zen
/// 1022:1450 and no IOMMU is present (`iommu_present(&pci_bus_type)`: any host bridge
/// with an IOMMU counts).
fn amd_root_complex(topo: &Topology<'_>, provider_hb: NodeId, client_hb: NodeId) -> bool {
    let p = topo.platform();
    let no_iommu = p
        .node_ids()
        .filter_map(|n| match &p.node(n).kind {
            peerpath_model::NodeKind::HostBridge(h) => Some(h.iommu.is_none()),
            _ => None,
        })
        .all(|x| x);
    no_iommu
        && [provider_hb, client_hb]
            .iter()
            .all(|hb| topo.host_bridge(*hb).id == Some(AMD_ZEN_ROOT))
}

/// `host_bridge_whitelist(provider, client)` (K1.7).
pub(crate) fn host_bridge_allow_list(
    topo: &Topology<'_>,
    provider: NodeId,
    client: NodeId,
) -> AllowList {
    let provider_hb = topo.host_bridge_of(provider);
    let client_hb = topo.host_bridge_of(client);
    let same = provider_hb == client_hb;
    let r = topo.platform().kernel.release_version();
    let p = HostBridgeMatch::of(topo.host_bridge(provider_hb).id, r);
    let c = HostBridgeMatch::of(topo.host_bridge(client_hb).id, r);
    let allowed = if same {
        p.allows(true)
    } else {
        p.allows(false) && c.allows(false)
    };
    AllowList {
        provider_hb,
        client_hb,
        same_host_bridge: same,
        provider: p,
        client: c,
        allowed,
    }
}

/// `calc_map_type_and_dist(provider, client)` (K1.3–K1.7), as of the platform's
/// kernel release (`releases::P2pdma`).
pub(crate) fn calc_map_type_and_dist(
    topo: &Topology<'_>,
    provider: NodeId,
    client: NodeId,
) -> MapTypeDecision {
    let release = topo.platform().kernel.release_version();
    let era = P2pdma::of(&topo.platform().kernel);
    let cpu_rule = cpu_supports_p2pdma(topo);
    let allow_list = host_bridge_allow_list(topo, provider, client);
    let common = topo.common_upstream(provider, client);
    let amd_rc = era == P2pdma::AmdRootComplex
        && common.is_none()
        && amd_root_complex(topo, allow_list.provider_hb, allow_list.client_hb);
    let through_host_bridge = match era {
        P2pdma::Absent | P2pdma::CommonBridgeOnly => MapType::NotSupported,
        P2pdma::AmdRootComplex if amd_rc => MapType::ThruHostBridge,
        P2pdma::AmdRootComplex => MapType::NotSupported,
        P2pdma::AllowList | P2pdma::CpuRuleAndAllowList if cpu_rule || allow_list.allowed => {
            MapType::ThruHostBridge
        }
        P2pdma::AllowList | P2pdma::CpuRuleAndAllowList => MapType::NotSupported,
    };
    let decision = |map_type, common_upstream, distance, redirecting| MapTypeDecision {
        map_type,
        common_upstream,
        distance,
        redirecting,
        cpu_rule,
        allow_list,
        release,
        p2pdma: era,
        amd_root_complex: amd_rc,
    };
    let Some((common, distance)) = common else {
        return decision(through_host_bridge, None, None, Vec::new());
    };
    if era == P2pdma::Absent {
        return decision(
            MapType::NotSupported,
            Some(common),
            Some(distance),
            Vec::new(),
        );
    }
    let redirecting = redirecting_devices(topo, provider, client, common);
    let map_type = if redirecting.is_empty() {
        MapType::BusAddr
    } else {
        through_host_bridge
    };
    decision(map_type, Some(common), Some(distance), redirecting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testplat;
    use peerpath_model::{AcsFlags, NodeId, PlatformBuilder};

    fn decide(p: &peerpath_model::Platform, provider: &str, client: &str) -> MapTypeDecision {
        let topo = Topology::new(p);
        let id = |n: &str| p.node_by_name(n).expect("node");
        calc_map_type_and_dist(&topo, id(provider), id(client))
    }

    #[test]
    fn sibling_downstream_ports_without_acs_are_bus_addr_distance_4() {
        let p = testplat::switch_pair(|_| {});
        let d = decide(&p, "gpu0", "nic0");
        assert_eq!(d.map_type, MapType::BusAddr);
        assert_eq!(d.distance, Some(4));
        assert_eq!(p.node(d.common_upstream.expect("common")).name, "sw0");
    }

    #[test]
    fn redirect_on_either_side_forces_thru_host_bridge_and_is_listed_in_walk_order() {
        let p = testplat::switch_pair(|b| {
            let dp0 = b.platform_mut().node_by_name("sw0.dp0").expect("dp0");
            let dp1 = b.platform_mut().node_by_name("sw0.dp1").expect("dp1");
            b.acs(dp0, AcsFlags::REQ, Some(AcsFlags::RR));
            b.acs(dp1, AcsFlags::REQ, Some(AcsFlags::CR));
            b.kernel().arch = peerpath_model::Arch::X86_64;
            b.kernel().cpu.vendor = CpuVendor::Amd;
            b.kernel().cpu.family = Some(0x19);
        });
        let d = decide(&p, "gpu0", "nic0");
        assert_eq!(d.map_type, MapType::ThruHostBridge);
        assert_eq!(d.distance, Some(4));
        let names: Vec<_> = d
            .redirecting
            .iter()
            .map(|n| p.node(*n).name.as_str())
            .collect();
        assert_eq!(names, ["sw0.dp0", "sw0.dp1"]);
        let topo = Topology::new(&p);
        assert_eq!(
            d.disable_acs_redir_hint(&topo).as_deref(),
            Some("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0")
        );
    }

    #[test]
    fn common_ancestor_counts_on_the_provider_side_only() {
        // ACS redirect on the switch upstream port (the common ancestor) counts.
        let p = testplat::switch_pair(|b| {
            let up = b.platform_mut().node_by_name("sw0").expect("sw0");
            b.acs(up, AcsFlags::REQ | AcsFlags::EC, Some(AcsFlags::EC));
        });
        let d = decide(&p, "gpu0", "nic0");
        assert_eq!(d.map_type, MapType::NotSupported, "arm, no allow-list");
        assert_eq!(d.redirecting.len(), 1);
    }

    fn egress_aware(
        f: impl FnOnce(&mut PlatformBuilder, NodeId, NodeId, NodeId),
    ) -> MapTypeDecision {
        let p = testplat::switch_pair(|b| {
            let up = b.platform_mut().node_by_name("sw0").expect("sw0");
            let dp0 = b.platform_mut().node_by_name("sw0.dp0").expect("dp0");
            let dp1 = b.platform_mut().node_by_name("sw0.dp1").expect("dp1");
            b.kernel().acs_decision = AcsDecision::EgressAware;
            f(b, up, dp0, dp1);
        });
        decide(&p, "gpu0", "nic0")
    }

    #[test]
    fn egress_aware_reads_only_the_divergence_ports() {
        let all = AcsFlags::all();
        // The provider-side port (gpu0's) only matters for completions: CR.
        let d = egress_aware(|b, _, dp0, _| {
            b.acs(dp0, all, Some(AcsFlags::RR | AcsFlags::EC));
        });
        assert_eq!(d.map_type, MapType::BusAddr);
        let d = egress_aware(|b, _, dp0, _| {
            b.acs(dp0, all, Some(AcsFlags::CR));
        });
        assert_eq!(d.map_type, MapType::NotSupported);
        assert_eq!(d.redirecting.len(), 1);
        // The client-side port (nic0's) redirects requests on RR, and on EC alone.
        let d = egress_aware(|b, _, _, dp1| {
            b.acs(dp1, all, Some(AcsFlags::EC));
        });
        assert_eq!(d.map_type, MapType::NotSupported);
        let d = egress_aware(|b, _, _, dp1| {
            b.acs(dp1, all, Some(AcsFlags::CR));
        });
        assert_eq!(d.map_type, MapType::BusAddr);
        // The common ancestor is not consulted.
        let d = egress_aware(|b, up, _, _| {
            b.acs(up, all, Some(all));
        });
        assert_eq!(d.map_type, MapType::BusAddr);
    }

    #[test]
    fn allow_list_same_host_bridge_entries_need_one_host_bridge() {
        let p = testplat::two_host_bridges(0x2f00, 0x2f00);
        assert_eq!(decide(&p, "gpu0", "nic0").map_type, MapType::ThruHostBridge);
        assert_eq!(decide(&p, "gpu0", "nic1").map_type, MapType::NotSupported);
        let q = testplat::two_host_bridges(0x2030, 0x2020);
        assert_eq!(decide(&q, "gpu0", "nic1").map_type, MapType::ThruHostBridge);
        let r = testplat::two_host_bridges(0x2030, 0x1234);
        let d = decide(&r, "gpu0", "nic1");
        assert_eq!(d.map_type, MapType::NotSupported);
        assert!(matches!(d.allow_list.client, HostBridgeMatch::NotListed(_)));
        assert_eq!(d.distance, None);
    }

    #[test]
    fn cpu_rule_is_amd_zen_on_x86_only() {
        let mut b = PlatformBuilder::new("t");
        b.kernel().arch = Arch::X86_64;
        b.kernel().cpu.vendor = CpuVendor::Amd;
        b.kernel().cpu.family = Some(0x16);
        let p = b.build();
        assert!(!cpu_supports_p2pdma(&Topology::new(&p)));
        let mut b = PlatformBuilder::new("t");
        b.kernel().arch = Arch::X86_64;
        b.kernel().cpu.vendor = CpuVendor::Amd;
        b.kernel().cpu.family = Some(0x17);
        let p = b.build();
        assert!(cpu_supports_p2pdma(&Topology::new(&p)));
    }

    #[test]
    fn google_matches_any_device() {
        assert!(matches!(
            HostBridgeMatch::of(
                Some(PciId {
                    vendor: 0x1ae0,
                    device: 0x4242
                }),
                Release::NEWEST
            ),
            HostBridgeMatch::Listed {
                same_host_bridge_only: false,
                ..
            }
        ));
        assert_eq!(
            HostBridgeMatch::of(None, Release::NEWEST),
            HostBridgeMatch::NoRootDevice
        );
    }

    fn at(p: &peerpath_model::Platform, release: &str) -> peerpath_model::Platform {
        let mut q = p.clone();
        q.kernel.version = Some(release.parse().expect("release"));
        q
    }

    #[test]
    fn allow_list_follows_the_release_each_entry_came_in() {
        // Sky Lake-E 2030 (5.6) and B, C, D 2031–2033 (5.7), Ice Lake-SP 09a2 (5.18).
        let p = testplat::two_host_bridges(0x2030, 0x2031);
        let map = |r| decide(&at(&p, r), "gpu0", "nic1").map_type;
        assert_eq!(map("5.4"), MapType::NotSupported);
        assert_eq!(map("5.6"), MapType::NotSupported, "2031 came in 5.7");
        assert_eq!(map("5.7"), MapType::ThruHostBridge);
        let q = testplat::two_host_bridges(0x09a2, 0x09a2);
        let map = |r| decide(&at(&q, r), "gpu0", "nic1").map_type;
        assert_eq!(map("5.15.0-105-generic"), MapType::NotSupported);
        assert_eq!(map("5.18"), MapType::ThruHostBridge);
        assert_eq!(map("6.8.0-45-generic"), MapType::ThruHostBridge);
        // Haswell-EP (5.4) within one host bridge.
        let h = testplat::two_host_bridges(0x2f00, 0x2f00);
        assert_eq!(
            decide(&at(&h, "5.3"), "gpu0", "nic0").map_type,
            MapType::NotSupported
        );
        assert_eq!(
            decide(&at(&h, "5.4"), "gpu0", "nic0").map_type,
            MapType::ThruHostBridge
        );
    }

    #[test]
    fn a_kernel_built_without_config_pci_p2pdma_has_none() {
        let mut p = at(&testplat::switch_pair(|_| {}), "5.15.0-134-generic");
        assert_eq!(decide(&p, "gpu0", "nic0").map_type, MapType::BusAddr);
        p.kernel.pci_p2pdma = Some(false);
        let d = decide(&p, "gpu0", "nic0");
        assert_eq!(
            (d.map_type, d.p2pdma),
            (MapType::NotSupported, P2pdma::Absent)
        );
    }

    #[test]
    fn p2pdma_does_not_exist_before_4_20() {
        let p = testplat::switch_pair(|_| {});
        let d = decide(&at(&p, "4.18.0-553.el8_10.x86_64"), "gpu0", "nic0");
        assert_eq!(d.map_type, MapType::NotSupported);
        assert_eq!(d.p2pdma, P2pdma::Absent);
        assert_eq!(d.distance, Some(4), "the topology is the same");
        assert_eq!(
            decide(&at(&p, "4.20"), "gpu0", "nic0").map_type,
            MapType::BusAddr
        );
    }

    #[test]
    fn amd_cpu_rule_comes_in_5_9_and_the_amd_entries_leave() {
        // Two AMD Zen host bridges (1022:1450) with an IOMMU: before 5.9 the allow-list
        // entry decides, from 5.9 the CPU rule does.
        let mut b = PlatformBuilder::new("amd");
        b.kernel().arch = Arch::X86_64;
        b.kernel().cpu.vendor = CpuVendor::Amd;
        b.kernel().cpu.family = Some(0x17);
        b.memory("dram0", 0x8000_0000, 16 << 30);
        let hb0 = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        b.host_bridge_id(hb0, 0x1022, 0x1450);
        let hb1 = b.host_bridge("hb1", 1, 0x50_0000_0000, 0x10_0000_0000);
        b.host_bridge_id(hb1, 0x1022, 0x1450);
        let rp0 = b.root_port("rp0", hb0, "00:01.0", 256);
        let rp1 = b.root_port("rp1", hb1, "0001:00:01.0", 256);
        b.endpoint("gpu0", rp0, "01:00.0", 0x40_0000_0000, 1 << 20);
        b.endpoint("nic0", rp1, "0001:01:00.0", 0x50_0000_0000, 1 << 20);
        let no_iommu = b.clone().build();
        testplat::add_iommu(&mut b, peerpath_model::IommuKind::AmdVi);
        let p = b.build();
        let d = |p: &peerpath_model::Platform, r| decide(&at(p, r), "gpu0", "nic0");
        assert_eq!(
            d(&p, "5.3").map_type,
            MapType::NotSupported,
            "IOMMU present"
        );
        assert_eq!(d(&no_iommu, "5.2").map_type, MapType::ThruHostBridge);
        assert!(d(&no_iommu, "5.2").amd_root_complex);
        assert_eq!(d(&no_iommu, "5.1").map_type, MapType::NotSupported);
        let five_eight = d(&p, "5.8");
        assert_eq!(five_eight.map_type, MapType::ThruHostBridge);
        assert!(!five_eight.cpu_rule && five_eight.allow_list.allowed);
        let five_nine = d(&p, "5.9");
        assert_eq!(five_nine.map_type, MapType::ThruHostBridge);
        assert!(five_nine.cpu_rule && !five_nine.allow_list.allowed);
    }

    #[test]
    fn newest_table_is_the_kernel_facts_table() {
        // docs/research/kernel-facts.md lists the entries of p2pdma.c 04673b71: every
        // row except the AMD ones (dropped in 5.9) is in the newest table, in order.
        let newest: Vec<(u16, Option<u16>)> = ALLOW_LIST
            .iter()
            .filter(|e| e.present_at(Release::NEWEST))
            .map(|e| (e.vendor, e.device))
            .collect();
        assert_eq!(newest.len(), 25);
        assert_eq!(newest[0], (0x8086, Some(0x3c00)));
        assert_eq!(newest[20], (0x1ae0, None));
        assert!(ALLOW_LIST
            .iter()
            .filter(|e| !e.present_at(Release::NEWEST))
            .all(|e| e.vendor == 0x1022 && e.until == Some(Release::new(5, 9))));
        // Every row names its commit and source.
        assert!(ALLOW_LIST
            .iter()
            .all(|e| e.commit.len() > 12 && !e.source.is_empty()));
    }
}
