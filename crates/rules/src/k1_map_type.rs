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
//! The redirecting devices are kept in the kernel's order, for the
//! `pci=disable_acs_redir=<BDF;BDF…>` hint (K1.8). The per-(provider, client) cache of
//! K1.9 has no effect on a static platform and is not modelled.

use peerpath_model::{AcsDecision, Arch, At, CpuVendor, NodeId, PciId};
use peerpath_topology::acs::{AcsTlp, Class, Dest, Reader};
use peerpath_topology::Topology;

/// The class of the importer's peer requests: untranslated memory requests (the
/// kernel's map-type logic ignores ATS, K1.4/H2).
const REQUEST: Class = Class::Request(At::Untranslated);

pub use peerpath_model::MapType;

/// Vendor ids used by the allow-list.
const PCI_VENDOR_ID_INTEL: u16 = 0x8086;
const PCI_VENDOR_ID_GOOGLE: u16 = 0x1ae0;
const PCI_VENDOR_ID_NVIDIA: u16 = 0x10de;

/// One `pci_p2pdma_whitelist` entry: vendor, device (`None` = `PCI_ANY_ID`), and
/// whether it is flagged `REQ_SAME_HOST_BRIDGE`.
type Entry = (u16, Option<u16>, bool);

/// `pci_p2pdma_whitelist[]`, in the kernel's order (first match wins).
const ALLOW_LIST: &[Entry] = &[
    // Intel Xeon E5/Core i7
    (PCI_VENDOR_ID_INTEL, Some(0x3c00), true),
    (PCI_VENDOR_ID_INTEL, Some(0x3c01), true),
    // Intel Xeon E7 v3/Xeon E5 v3/Core i7
    (PCI_VENDOR_ID_INTEL, Some(0x2f00), true),
    (PCI_VENDOR_ID_INTEL, Some(0x2f01), true),
    // Intel Skylake-E
    (PCI_VENDOR_ID_INTEL, Some(0x2030), false),
    (PCI_VENDOR_ID_INTEL, Some(0x2031), false),
    (PCI_VENDOR_ID_INTEL, Some(0x2032), false),
    (PCI_VENDOR_ID_INTEL, Some(0x2033), false),
    (PCI_VENDOR_ID_INTEL, Some(0x2020), false),
    (PCI_VENDOR_ID_INTEL, Some(0x09a2), false),
    // DSA_SPR0, IAX_SPR0, DSA_GNRD, DSA_DMR, IAA_DMR
    (PCI_VENDOR_ID_INTEL, Some(0x0b25), false),
    (PCI_VENDOR_ID_INTEL, Some(0x0cfe), false),
    (PCI_VENDOR_ID_INTEL, Some(0x11fb), false),
    (PCI_VENDOR_ID_INTEL, Some(0x1212), false),
    (PCI_VENDOR_ID_INTEL, Some(0x1216), false),
    // QAT_4XXX, QAT_401XX, QAT_402XX, QAT_420XX, QAT_6XXX
    (PCI_VENDOR_ID_INTEL, Some(0x4940), false),
    (PCI_VENDOR_ID_INTEL, Some(0x4942), false),
    (PCI_VENDOR_ID_INTEL, Some(0x4944), false),
    (PCI_VENDOR_ID_INTEL, Some(0x4946), false),
    (PCI_VENDOR_ID_INTEL, Some(0x4948), false),
    // Google SoCs
    (PCI_VENDOR_ID_GOOGLE, None, false),
    // NVIDIA CPUs
    (PCI_VENDOR_ID_NVIDIA, Some(0x2f95), false),
    (PCI_VENDOR_ID_NVIDIA, Some(0x2f96), false),
    (PCI_VENDOR_ID_NVIDIA, Some(0x2f97), false),
    (PCI_VENDOR_ID_NVIDIA, Some(0x2f98), false),
];

/// An id the allow-list accepts for peers on different host bridges (no
/// `REQ_SAME_HOST_BRIDGE`), of `vendor` where the list has one: what a host bridge
/// whose id is not known could be (issue 24, `assume`).
pub fn listed_example(vendor: Option<u16>) -> PciId {
    let open = |e: &&Entry| !e.2;
    let pick = ALLOW_LIST
        .iter()
        .filter(open)
        .find(|e| Some(e.0) == vendor)
        .or_else(|| ALLOW_LIST.iter().find(open));
    pick.map_or(
        PciId {
            vendor: PCI_VENDOR_ID_GOOGLE,
            device: 0,
        },
        |(v, d, _)| PciId {
            vendor: *v,
            device: d.unwrap_or(0),
        },
    )
}

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

impl HostBridgeMatch {
    /// Looks an id up the way `__host_bridge_whitelist` does.
    pub fn of(id: Option<PciId>) -> Self {
        let Some(id) = id else {
            return HostBridgeMatch::NoRootDevice;
        };
        ALLOW_LIST
            .iter()
            .find(|(v, d, _)| *v == id.vendor && d.is_none_or(|d| d == id.device))
            .map_or(HostBridgeMatch::NotListed(id), |(_, _, same)| {
                HostBridgeMatch::Listed {
                    id,
                    same_host_bridge_only: *same,
                }
            })
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
}

impl MapTypeDecision {
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
pub fn has_acs_redir(topo: &Topology<'_>, node: NodeId, class: Class) -> bool {
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

/// `cpu_supports_p2pdma()` (K1.6): x86 AMD family ≥ 0x17 only.
pub fn cpu_supports_p2pdma(topo: &Topology<'_>) -> bool {
    let k = &topo.platform().kernel;
    k.arch == Arch::X86_64 && k.cpu.vendor == CpuVendor::Amd && k.cpu.family.unwrap_or(0) >= 0x17
}

/// `host_bridge_whitelist(provider, client)` (K1.7).
pub fn host_bridge_allow_list(topo: &Topology<'_>, provider: NodeId, client: NodeId) -> AllowList {
    let provider_hb = topo.host_bridge_of(provider);
    let client_hb = topo.host_bridge_of(client);
    let same = provider_hb == client_hb;
    let p = HostBridgeMatch::of(topo.host_bridge(provider_hb).id);
    let c = HostBridgeMatch::of(topo.host_bridge(client_hb).id);
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

/// `calc_map_type_and_dist(provider, client)` (K1.3–K1.7).
pub fn calc_map_type_and_dist(
    topo: &Topology<'_>,
    provider: NodeId,
    client: NodeId,
) -> MapTypeDecision {
    let cpu_rule = cpu_supports_p2pdma(topo);
    let allow_list = host_bridge_allow_list(topo, provider, client);
    let through_host_bridge = if cpu_rule || allow_list.allowed {
        MapType::ThruHostBridge
    } else {
        MapType::NotSupported
    };
    let Some((common, distance)) = topo.common_upstream(provider, client) else {
        return MapTypeDecision {
            map_type: through_host_bridge,
            common_upstream: None,
            distance: None,
            redirecting: Vec::new(),
            cpu_rule,
            allow_list,
        };
    };
    let redirecting = redirecting_devices(topo, provider, client, common);
    let map_type = if redirecting.is_empty() {
        MapType::BusAddr
    } else {
        through_host_bridge
    };
    MapTypeDecision {
        map_type,
        common_upstream: Some(common),
        distance: Some(distance),
        redirecting,
        cpu_rule,
        allow_list,
    }
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
            HostBridgeMatch::of(Some(PciId {
                vendor: 0x1ae0,
                device: 0x4242
            })),
            HostBridgeMatch::Listed {
                same_host_bridge_only: false,
                ..
            }
        ));
        assert_eq!(HostBridgeMatch::of(None), HostBridgeMatch::NoRootDevice);
    }
}
