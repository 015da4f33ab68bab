//! K4.3 — the kernel's device-specific quirks that change isolation and grouping
//! (issue 24, item 5), as data: `drivers/pci/quirks.c` `pci_dev_acs_enabled[]` (ACS
//! quirks) and the `DECLARE_PCI_FIXUP_HEADER` DMA alias quirks (`quirk_dma_func0_alias`,
//! `quirk_dma_func1_alias`, `quirk_mic_x200_dma_alias`, `quirk_pex_vca_alias`). Rows
//! from the leon/linux-rdma tree, `drivers/pci/quirks.c` 58ea35f1; each with the release
//! it came in where that was verified.
//!
//! **ACS quirks.** `pci_acs_enabled()` asks `pci_dev_specific_acs_enabled()` first: the
//! first row matching the function's `id` (vendor, device; `PCI_ANY_ID` rows test the
//! device further, e.g. the Intel PCH list or the port type) answers whether the function
//! provides the requested ACS controls, whatever its ACS capability says. A row here
//! gives the flags the quirk function asserts ([`AcsQuirk::provides`]) and the ones it
//! filters out as not applicable ([`AcsQuirk::ignores`]). They enter the one ACS
//! decision (`acs::decide`) through [`crate::PortAcs::quirk`]: the isolation reader (the
//! grouping) reads `provides ∪ ignores` as the Control and ignores the capability; the
//! silicon (engine, reach) acts on `provides` where the function has no ACS capability
//! (the quirk says what the hardware does without one); p2pdma's redirect check reads
//! the capability only, as `pci_bridge_has_acs_redir` does — a quirk is invisible to it.
//!
//! Not modelled: `pci_quirk_intel_spt_pch_acs` (Sunrise/Union Point: a real ACS
//! capability at a non-standard Control offset — give the port its `acs` as measured),
//! the Intel PCH quirk's failure path (`pci_quirk_enable_intel_pch_acs` could not enable
//! it: then the port isolates nothing), Wangxun devices outside the quirk's list (its
//! function returns 0, "not isolated", for them), and the AMD southbridge quirk's IVRS
//! check, read here as "an AMD-Vi IOMMU translates the host bridge".
//!
//! **DMA alias quirks.** A function whose DMA carries another devfn's requester id
//! (`pci_add_dma_alias`) shares an IOMMU group with the device at that devfn on its bus
//! (`pci_device_group`: `pci_for_each_dma_alias` and `get_pci_alias_group`, both
//! directions). Modelled for grouping only: the engine's requester id and StreamID stay
//! the function's own. `quirk_fixed_dma_alias` (Adaptec, matched by subsystem ids, which
//! the format has not), `quirk_use_pcie_bridge_dma_alias` and the PLX NTB alias of 5.6
//! are not modelled.

use peerpath_model::{AcsFlags, Introduced, NodeId, NodeKind, PciId, Release};

use crate::Topology;

/// Which functions a row applies to, beyond its ids (the quirk function's own tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// Any function with a matching id.
    Any,
    /// Root ports only.
    RootPort,
    /// Root ports and switch downstream ports.
    RootOrDownstreamPort,
    /// Root-complex integrated endpoints (an endpoint directly below a host bridge).
    RcEndpoint,
    /// `pci_quirk_amd_sb_acs`: a multifunction device on a root bus, with an AMD IOMMU
    /// (the ACPI IVRS table) present.
    AmdSouthbridge,
}

/// Which device ids a row matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Devices {
    /// `PCI_ANY_ID`.
    Any,
    /// These ids.
    List(&'static [u16]),
    /// These inclusive ranges.
    Ranges(&'static [(u16, u16)]),
}

impl Devices {
    fn matches(self, device: u16) -> bool {
        match self {
            Devices::Any => true,
            Devices::List(l) => l.contains(&device),
            Devices::Ranges(r) => r.iter().any(|(a, b)| (*a..=*b).contains(&device)),
        }
    }
}

/// One modelled row of `pci_dev_acs_enabled[]`.
#[derive(Clone, Copy, Debug)]
pub struct AcsQuirk {
    /// Vendor id.
    pub vendor: u16,
    /// Device ids.
    pub devices: Devices,
    /// The quirk function's own test of the device.
    pub applies: Applies,
    /// ACS controls the device provides without an ACS capability.
    pub provides: AcsFlags,
    /// Requested controls the quirk filters out as not applicable (taken as met).
    pub ignores: AcsFlags,
    /// The quirk function.
    pub function: &'static str,
    /// When the row came in.
    pub since: Introduced,
    /// The row's source.
    pub source: &'static str,
}

const SV_RR_CR_UF: AcsFlags = AcsFlags::SV
    .union(AcsFlags::RR)
    .union(AcsFlags::CR)
    .union(AcsFlags::UF);
const MF_ENDPOINT: AcsFlags = SV_RR_CR_UF.union(AcsFlags::TB).union(AcsFlags::DT);
const NONE: AcsFlags = AcsFlags::empty();

const SRC: &str =
    "leon/linux-rdma drivers/pci/quirks.c 58ea35f1; introduction release not verified";
const V5_4: Introduced = Introduced::In(Release::new(5, 4));
const V5_7: Introduced = Introduced::In(Release::new(5, 7));
const V5_8: Introduced = Introduced::In(Release::new(5, 8));
const UNKNOWN: Introduced = Introduced::Unknown;

// One table row per call, in the kernel table's column order: a struct literal per row
// would triple the table's length.
#[allow(clippy::too_many_arguments)]
const fn row(
    vendor: u16,
    devices: Devices,
    applies: Applies,
    provides: AcsFlags,
    ignores: AcsFlags,
    function: &'static str,
    since: Introduced,
    source: &'static str,
) -> AcsQuirk {
    AcsQuirk {
        vendor,
        devices,
        applies,
        provides,
        ignores,
        function,
        since,
        source,
    }
}

/// Intel PCH root ports without an ACS capability (`pci_quirk_intel_pch_acs_ids`, from
/// Red Hat bugzilla 1037684): Ibexpeak, Cougarpoint, Pantherpoint, Lynxpoint-H/-LP,
/// Wildcat, Patsburg, Wellsburg, Lynx Point 9 series.
const INTEL_PCH: &[(u16, u16)] = &[
    (0x3b42, 0x3b51),
    (0x1c10, 0x1c1f),
    (0x1e10, 0x1e1f),
    (0x8c10, 0x8c1f),
    (0x9c10, 0x9c1b),
    (0x9c90, 0x9c9b),
    (0x1d10, 0x1d10),
    (0x1d12, 0x1d12),
    (0x1d14, 0x1d14),
    (0x1d16, 0x1d16),
    (0x1d18, 0x1d18),
    (0x1d1a, 0x1d1a),
    (0x1d1c, 0x1d1c),
    (0x1d1e, 0x1d1e),
    (0x8d10, 0x8d1e),
    (0x8c90, 0x8c90),
    (0x8c92, 0x8c92),
    (0x8c94, 0x8c94),
    (0x8c96, 0x8c96),
    (0x8c98, 0x8c98),
    (0x8c9a, 0x8c9a),
    (0x8c9c, 0x8c9c),
    (0x8c9e, 0x8c9e),
];

/// Intel multifunction NICs of `pci_quirk_mf_endpoint_acs` (82598/82599/X540/X550,
/// 82580, 82576, 82575, I350, 82571, I219).
const INTEL_MF: &[u16] = &[
    0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507,
    0x1514, 0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558, 0x1509, 0x150e, 0x150f, 0x1510,
    0x1511, 0x1516, 0x1527, 0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526, 0x10a7,
    0x10a9, 0x10d6, 0x1521, 0x1522, 0x1523, 0x1524, 0x105e, 0x105f, 0x1060, 0x10d9, 0x15b7, 0x15b8,
];

/// NXP LX2xx0/LX2xx2 root ports (`pci_quirk_nxp_rp_acs`).
const NXP_RP: &[u16] = &[
    0x8d81, 0x8da1, 0x8d83, 0x8d80, 0x8da0, 0x8d82, 0x8d90, 0x8db0, 0x8d92, 0x8d91, 0x8db1, 0x8d93,
    0x8d89, 0x8da9, 0x8d8b, 0x8d88, 0x8da8, 0x8d8a, 0x8d98, 0x8db8, 0x8d9a, 0x8d99, 0x8db9, 0x8d9b,
];

/// `pci_dev_acs_enabled[]`, in the kernel's order (first applying row wins).
pub const ACS_QUIRKS: &[AcsQuirk] = &[
    row(0x1002, Devices::List(&[0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399]), Applies::AmdSouthbridge,
        AcsFlags::RR.union(AcsFlags::CR), AcsFlags::SV.union(AcsFlags::TB).union(AcsFlags::UF),
        "pci_quirk_amd_sb_acs", UNKNOWN, SRC),
    row(0x1022, Devices::List(&[0x780f, 0x7809]), Applies::AmdSouthbridge,
        AcsFlags::RR.union(AcsFlags::CR), AcsFlags::SV.union(AcsFlags::TB).union(AcsFlags::UF),
        "pci_quirk_amd_sb_acs", UNKNOWN, SRC),
    row(0x1924, Devices::List(&[0x0903, 0x0923, 0x0a03]), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x8086, Devices::List(INTEL_MF), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x8086, Devices::Any, Applies::RcEndpoint, SV_RR_CR_UF, NONE, "pci_quirk_rciep_acs", V5_8,
        "3247bd10a450 PCI: Add ACS quirk for Intel Root Complex Integrated Endpoints; in the PCI pull with 7d5b10fcb81e, which was applied for v5.8"),
    row(0x17cb, Devices::List(&[0x0400, 0x0401, 0x0115, 0x0111, 0x0120]), Applies::Any, SV_RR_CR_UF,
        NONE, "pci_quirk_qcom_rp_acs", UNKNOWN, SRC),
    row(0x1dbf, Devices::List(&[0x0401]), Applies::Any, SV_RR_CR_UF, NONE,
        "pci_quirk_qcom_rp_acs", UNKNOWN, SRC),
    row(0x8086, Devices::Ranges(INTEL_PCH), Applies::RootPort, SV_RR_CR_UF, NONE,
        "pci_quirk_intel_pch_acs", UNKNOWN,
        "leon/linux-rdma drivers/pci/quirks.c 58ea35f1 (assumes pci_quirk_enable_intel_pch_acs succeeded); introduction release not verified"),
    row(0x19a2, Devices::List(&[0x0710]), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x10df, Devices::List(&[0x0720]), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x177d, Devices::Ranges(&[(0xa000, 0xa7ff), (0xaf84, 0xaf84), (0xb884, 0xb884)]),
        Applies::RootPort, SV_RR_CR_UF, NONE, "pci_quirk_cavium_acs", UNKNOWN, SRC),
    row(0x177d, Devices::List(&[0xa026, 0xa059, 0xa060]), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x10e8, Devices::List(&[0xe004]), Applies::Any, SV_RR_CR_UF, NONE,
        "pci_quirk_xgene_acs", UNKNOWN, SRC),
    row(0x1def, Devices::Ranges(&[(0xe005, 0xe00c)]), Applies::Any, SV_RR_CR_UF, NONE,
        "pci_quirk_xgene_acs", UNKNOWN, SRC),
    row(0x14e4, Devices::List(&[0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763]),
        Applies::Any, MF_ENDPOINT, NONE, "pci_quirk_mf_endpoint_acs", UNKNOWN, SRC),
    row(0x14e4, Devices::List(&[0xd714]), Applies::Any, SV_RR_CR_UF, NONE, "pci_quirk_brcm_acs",
        V5_4, "46b2c32df7a4 PCI: Add ACS quirk for iProc PAXB; [GIT PULL] PCI changes for v5.4"),
    row(0x0014, Devices::List(&[0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69]),
        Applies::Any, SV_RR_CR_UF, NONE, "pci_quirk_loongson_acs", UNKNOWN, SRC),
    row(0x1c36, Devices::List(&[0x0031]), Applies::RootPort, SV_RR_CR_UF, NONE, "pci_quirk_al_acs",
        V5_4, "76e67e9e0f0f PCI: Add ACS quirk for Amazon Annapurna Labs root ports; [GIT PULL] PCI changes for v5.4"),
    row(0x1d17, Devices::List(&[0x3038, 0x3104, 0x9083]), Applies::Any, MF_ENDPOINT, NONE,
        "pci_quirk_mf_endpoint_acs", V5_7,
        "0325837c51cb PCI: Add ACS quirk for Zhaoxin multi-function devices; in the PCI pull with 7b94b53db34f, which was applied for v5.7"),
    row(0x1957, Devices::List(NXP_RP), Applies::Any, SV_RR_CR_UF, NONE, "pci_quirk_nxp_rp_acs",
        UNKNOWN, SRC),
    row(0x1d17, Devices::Ranges(&[(0x0710, 0x071e), (0x0721, 0x0721), (0x0723, 0x0752)]),
        Applies::RootOrDownstreamPort, SV_RR_CR_UF, NONE, "pci_quirk_zhaoxin_pcie_ports_acs", V5_7,
        "299bd044a6f3 PCI: Add ACS quirk for Zhaoxin Root/Downstream Ports; in the PCI pull with 7b94b53db34f, which was applied for v5.7 (device ranges as at 58ea35f1)"),
    row(0x8088, Devices::Ranges(&[(0x0100, 0x010f), (0x1001, 0x1001), (0x2001, 0x2001), (0x5010, 0x5010),
        (0x5025, 0x5025), (0x5040, 0x5040), (0x5110, 0x5110), (0x5125, 0x5125), (0x5140, 0x5140)]),
        Applies::Any, SV_RR_CR_UF, NONE, "pci_quirk_wangxun_nic_acs", UNKNOWN, SRC),
];

/// Where a DMA alias quirk makes the function's DMA appear from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AliasTo {
    /// Function `n` of its own slot (unless it is function `n`).
    Function(u8),
    /// These (device, function) pairs on its bus.
    Devfns(&'static [(u8, u8)]),
    /// Functions `0..n` of every slot of its bus.
    EverySlot(u8),
}

/// One modelled DMA alias quirk.
#[derive(Clone, Copy, Debug)]
pub struct DmaAliasQuirk {
    /// Vendor id.
    pub vendor: u16,
    /// Device ids.
    pub devices: &'static [u16],
    /// The alias.
    pub alias: AliasTo,
    /// The fixup.
    pub function: &'static str,
    /// When the row came in.
    pub since: Introduced,
    /// The row's source.
    pub source: &'static str,
}

const fn alias(
    vendor: u16,
    devices: &'static [u16],
    alias: AliasTo,
    function: &'static str,
) -> DmaAliasQuirk {
    DmaAliasQuirk {
        vendor,
        devices,
        alias,
        function,
        since: UNKNOWN,
        source: SRC,
    }
}

/// The DMA alias fixups modelled.
pub const DMA_ALIAS_QUIRKS: &[DmaAliasQuirk] = &[
    // Ricoh, bugzilla.redhat.com 605888
    alias(
        0x1180,
        &[0xe832, 0xe476],
        AliasTo::Function(0),
        "quirk_dma_func0_alias",
    ),
    // Glenfly
    alias(
        0x6766,
        &[0x3d40, 0x3d41],
        AliasTo::Function(0),
        "quirk_dma_func0_alias",
    ),
    // Marvell 88SE91xx/92xx SATA, bugzilla.kernel.org 42679
    alias(
        0x1b4b,
        &[
            0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0,
            0x9215, 0x9220, 0x9230, 0x9235,
        ],
        AliasTo::Function(1),
        "quirk_dma_func1_alias",
    ),
    // TTI
    alias(
        0x1103,
        &[0x0642, 0x0645],
        AliasTo::Function(1),
        "quirk_dma_func1_alias",
    ),
    // JMicron JMB388_ESD
    alias(
        0x197b,
        &[0x2392],
        AliasTo::Function(1),
        "quirk_dma_func1_alias",
    ),
    // Lite-On Plextor M6E (Marvell 88SS9183)
    alias(
        0x1c28,
        &[0x0122],
        AliasTo::Function(1),
        "quirk_dma_func1_alias",
    ),
    // Intel MIC x200 NTB
    alias(
        0x8086,
        &[0x2260, 0x2264],
        AliasTo::Devfns(&[(0x10, 0), (0x11, 0), (0x12, 3)]),
        "quirk_mic_x200_dma_alias",
    ),
    // Intel Visual Compute Accelerator
    alias(
        0x8086,
        &[0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a],
        AliasTo::EverySlot(5),
        "quirk_pex_vca_alias",
    ),
];

/// The port type the ACS quirk functions test.
fn applies(topo: &Topology<'_>, id: NodeId, a: Applies) -> bool {
    let p = topo.platform();
    let kind = &p.node(id).kind;
    let parent_is_hb = topo
        .parent(id)
        .is_some_and(|q| matches!(p.node(q).kind, NodeKind::HostBridge(_)));
    match a {
        Applies::Any => true,
        Applies::RootPort => matches!(kind, NodeKind::RootPort(_)),
        Applies::RootOrDownstreamPort => {
            matches!(kind, NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_))
        }
        // `pci_quirk_rciep_acs` returns -ENOTTY unless `pci_pcie_type(dev) ==
        // PCI_EXP_TYPE_RC_END`: a conventional function on the root bus is not one.
        Applies::RcEndpoint => matches!(kind, NodeKind::Endpoint(e) if e.pcie) && parent_is_hb,
        Applies::AmdSouthbridge => {
            let hb = topo.host_bridge(topo.host_bridge_of(id));
            parent_is_hb
                && topo.multifunction(id)
                && hb
                    .iommu
                    .is_some_and(|i| p.iommu(i).kind == peerpath_model::IommuKind::AmdVi)
        }
    }
}

/// The ACS quirk row that answers for `id` at release `r`, if any: the first row whose
/// ids, device test and release match.
pub fn acs_quirk(topo: &Topology<'_>, id: NodeId, r: Release) -> Option<&'static AcsQuirk> {
    let pid = topo.platform().node(id).pci_id?;
    ACS_QUIRKS.iter().find(|q| {
        q.vendor == pid.vendor
            && q.devices.matches(pid.device)
            && q.since.present_at(r)
            && applies(topo, id, q.applies)
    })
}

/// The DMA alias quirk of a function id at release `r`, if any.
pub fn dma_alias_quirk(id: PciId, r: Release) -> Option<&'static DmaAliasQuirk> {
    DMA_ALIAS_QUIRKS
        .iter()
        .find(|q| q.vendor == id.vendor && q.devices.contains(&id.device) && q.since.present_at(r))
}

/// For each node, the functions on its bus it is a DMA alias of or aliased by
/// (`pci_devs_are_dma_aliases`, either direction), sorted; empty for most.
pub(crate) fn dma_alias_partners(topo: &Topology<'_>) -> Vec<Vec<NodeId>> {
    let p = topo.platform();
    let r = p.kernel.release_version();
    let mut out: Vec<Vec<NodeId>> = vec![Vec::new(); p.nodes.len()];
    for id in p.node_ids() {
        let (Some(pid), Some(bdf), Some(parent)) =
            (p.node(id).pci_id, topo.bdf(id), topo.parent(id))
        else {
            continue;
        };
        let Some(q) = dma_alias_quirk(pid, r) else {
            continue;
        };
        let aliased = |dev: u8, func: u8| -> bool {
            match q.alias {
                AliasTo::Function(n) => bdf.function != n && dev == bdf.device && func == n,
                AliasTo::Devfns(l) => l.contains(&(dev, func)),
                AliasTo::EverySlot(n) => func < n,
            }
        };
        for &other in topo.bus_devices(parent) {
            let Some(ob) = topo.bdf(other) else {
                continue;
            };
            if other != id
                && ob.bus == bdf.bus
                && ob.segment == bdf.segment
                && aliased(ob.device, ob.function)
            {
                out[id.index()].push(other);
                out[other.index()].push(id);
            }
        }
    }
    for v in &mut out {
        v.sort();
        v.dedup();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_its_source_and_a_verified_release_names_its_commit() {
        for q in ACS_QUIRKS {
            assert!(q.function.starts_with("pci_quirk_"), "{}", q.function);
            assert!(!q.source.is_empty());
            if let Introduced::In(_) = q.since {
                assert!(
                    q.source.len() > 20 && q.source.contains(' '),
                    "{}",
                    q.source
                );
            }
            assert!(q.provides.bits() != 0);
        }
        for a in DMA_ALIAS_QUIRKS {
            assert!(a.function.starts_with("quirk_"), "{}", a.function);
        }
    }

    #[test]
    fn id_lists_match_the_kernel_tables_they_come_from() {
        // pci_quirk_intel_pch_acs_ids has 16+16+16+16+12+12+8+15+8 = 119 ids.
        let pch: usize = INTEL_PCH.iter().map(|(a, b)| usize::from(b - a) + 1).sum();
        assert_eq!(pch, 119);
        assert_eq!(INTEL_MF.len(), 48);
        assert_eq!(NXP_RP.len(), 24);
        assert!(Devices::Ranges(INTEL_PCH).matches(0x1c12));
        assert!(
            !Devices::Ranges(INTEL_PCH).matches(0x1d11),
            "Patsburg: even ids only"
        );
        assert!(
            !Devices::Ranges(INTEL_PCH).matches(0x9d10),
            "Sunrise Point: the SPT quirk"
        );
    }
}
