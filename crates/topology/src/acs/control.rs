//! K4.1/K4.2 — ACS Control as the kernel sets it (`drivers/pci/pci.c`:
//! `pci_enable_acs`, `pci_std_enable_acs`, `__pci_config_acs`; `pci_request_acs` is
//! called by the IOMMU drivers).
//!
//! For every function with an ACS capability (ports, and endpoints that carry one):
//!
//! 1. **Start** (K4.1). A `ctl` written in the platform file is the measured or firmware
//!    state and is kept as it is. Otherwise the register starts at its reset value
//!    (all control bits 0, [PCIe §7.7.8.3]) and, when the platform has any IOMMU
//!    (`pci_request_acs()` is a platform-wide switch), `pci_std_enable_acs` sets
//!    SV, RR, CR and UF where capable, and TB where capable when `pci=noats` is given or
//!    the function is external-facing or untrusted. EC and DT are never set.
//! 2. **Command line** (K4.2), applied even without an IOMMU. Both parameters rebuild
//!    the register from the *firmware* value, not from step 1:
//!    `caps->ctrl = (caps->fw_ctrl & ~mask) | (flags & mask)`.
//!    `pci=disable_acs_redir=` uses mask RR|CR|EC and flags 0, so on a listed port RR,
//!    CR and EC end up clear **and the other bits revert to firmware** (the given `ctl`,
//!    else the reset value 0): the SV/UF/TB that step 1 enabled are dropped too.
//!    `pci=config_acs=` then does the same with the entry's own mask (`set` ∪ `clear`)
//!    and flags (`set`), so on a port named in both only `config_acs` survives; only the
//!    first `config_acs` entry naming a port applies (the parser stops at the first
//!    match).
//! 3. Bits the capability lacks are hard-wired 0 in the Control register, so the result
//!    is masked with `cap`.
//!
//! Model decisions: "external-facing" is a root or switch downstream port with a child
//! endpoint marked `trusted: false` (firmware's `ExternalFacingPort`/`external-facing`
//! property, which the platform format does not carry); "untrusted" is an endpoint
//! marked `trusted: false`. Device-specific ACS quirks (`pci_dev_specific_enable_acs`,
//! `pci_dev_specific_disable_acs_redir`) and the ACS Enhanced bits are not modelled.

use crate::Topology;
use peerpath_model::{AcsFlags, NodeId, NodeKind};

/// What `pci_std_enable_acs` may set: SV | RR | CR | UF (TB separately).
const STD_ENABLE: AcsFlags = AcsFlags::REQ;

/// The effective ACS Control of one node (K4.1, K4.2); empty without an ACS capability.
pub fn effective_acs_ctl(topo: &Topology<'_>, id: NodeId) -> AcsFlags {
    let k = &topo.platform().kernel;
    let redir = k.disable_acs_redir.contains(&id);
    let config_acs = k
        .config_acs
        .iter()
        .find(|c| c.port == id)
        .map(|c| (c.set | c.clear, c.set));
    compute(topo, id, redir, config_acs)
}

/// Steps 1–3 for one node; `redir`: listed in `disable_acs_redir`; `config_acs`: the
/// (mask, flags) of the first `config_acs` entry naming it.
fn compute(
    topo: &Topology<'_>,
    id: NodeId,
    redir: bool,
    config_acs: Option<(AcsFlags, AcsFlags)>,
) -> AcsFlags {
    let p = topo.platform();
    let acs = match &p.node(id).kind {
        NodeKind::RootPort(port)
        | NodeKind::SwitchUpstream(port)
        | NodeKind::SwitchDownstream(port) => port.acs,
        NodeKind::Endpoint(e) => e.acs,
        NodeKind::HostBridge(_) | NodeKind::PciBridge(_) => None,
    };
    let Some(acs) = acs else {
        return AcsFlags::empty();
    };
    let fw_ctrl = acs.ctl.unwrap_or_default();
    let mut ctrl = match acs.ctl {
        Some(given) => given,
        None if !p.iommus.is_empty() => fw_ctrl | std_enable(topo, id, acs.cap),
        None => fw_ctrl,
    };
    if redir {
        ctrl = config(fw_ctrl, AcsFlags::REDIR, AcsFlags::empty());
    }
    if let Some((mask, flags)) = config_acs {
        ctrl = config(fw_ctrl, mask, flags);
    }
    ctrl & acs.cap
}

/// `__pci_config_acs` on a match: mask bits from `flags`, the rest from firmware.
fn config(fw_ctrl: AcsFlags, mask: AcsFlags, flags: AcsFlags) -> AcsFlags {
    (fw_ctrl & !mask) | (flags & mask)
}

/// `pci_std_enable_acs`.
fn std_enable(topo: &Topology<'_>, id: NodeId, cap: AcsFlags) -> AcsFlags {
    let mut ctrl = cap & STD_ENABLE;
    if topo.platform().kernel.noats || is_external_facing(topo, id) || is_untrusted(topo, id) {
        ctrl |= cap & AcsFlags::TB;
    }
    ctrl
}

/// `dev->external_facing` in the model: a root or switch downstream port with an
/// untrusted endpoint directly below it.
pub(crate) fn is_external_facing(topo: &Topology<'_>, id: NodeId) -> bool {
    matches!(
        topo.platform().node(id).kind,
        NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_)
    ) && topo.bus_devices(id).iter().any(|c| is_untrusted(topo, *c))
}

/// `pdev->untrusted` in the model: an endpoint marked `trusted: false`.
pub(crate) fn is_untrusted(topo: &Topology<'_>, id: NodeId) -> bool {
    topo.endpoint(id).is_some_and(|e| !e.trusted)
}

/// Every node's effective ACS Control, with the command-line lists indexed once.
pub(crate) fn derive(topo: &Topology<'_>) -> Vec<AcsFlags> {
    let p = topo.platform();
    let n = p.nodes.len();
    let mut redir = vec![false; n];
    for id in &p.kernel.disable_acs_redir {
        if let Some(slot) = redir.get_mut(id.index()) {
            *slot = true;
        }
    }
    let mut config_acs: Vec<Option<(AcsFlags, AcsFlags)>> = vec![None; n];
    for c in &p.kernel.config_acs {
        // The first entry naming a port wins.
        if let Some(slot @ None) = config_acs.get_mut(c.port.index()) {
            *slot = Some((c.set | c.clear, c.set));
        }
    }
    p.node_ids()
        .map(|id| compute(topo, id, redir[id.index()], config_acs[id.index()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::Topology;
    use peerpath_model::{AcsFlags, ConfigAcs, IommuKind, NodeId, Platform, PlatformBuilder};

    const FULL: AcsFlags = AcsFlags::all();

    struct Fixture {
        p: Platform,
        rp: NodeId,
        dp0: NodeId,
        dp1: NodeId,
    }

    /// hb0 ─ rp0 [cap given] ─ sw0 ─ dp0 [all bits] ─ ep0
    ///                              └ dp1 [all bits] ─ ep1
    fn fixture(
        iommu: bool,
        rp_cap: AcsFlags,
        edit: impl FnOnce(&mut PlatformBuilder, &[NodeId]),
    ) -> Fixture {
        let mut b = PlatformBuilder::new("acs");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        if iommu {
            let smmu = b.iommu("smmu0", IommuKind::Smmuv3);
            b.host_bridge_mut(hb).iommu = Some(smmu);
        }
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        b.acs(rp, rp_cap, None);
        let (_, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0", "02:01.0"], 512);
        for d in &dps {
            b.acs(*d, FULL, None);
        }
        b.endpoint("ep0", dps[0], "03:00.0", 0x40_0000_0000, 0x1000);
        b.endpoint("ep1", dps[1], "04:00.0", 0x40_0001_0000, 0x1000);
        let ids = [rp, dps[0], dps[1]];
        edit(&mut b, &ids);
        Fixture {
            p: b.build(),
            rp,
            dp0: dps[0],
            dp1: dps[1],
        }
    }

    fn flags(names: &[&str]) -> AcsFlags {
        names
            .iter()
            .map(|n| AcsFlags::from_lower_name(n).expect("flag name"))
            .fold(AcsFlags::empty(), |a, b| a | b)
    }

    #[test]
    fn iommu_enables_sv_rr_cr_uf_where_capable_never_ec_dt() {
        let f = fixture(true, flags(&["sv", "tb", "uf"]), |_, _| {});
        let t = Topology::new(&f.p);
        // Ampere Altra root ports: ACSCap SV TB UF → ACSCtl SV UF.
        assert_eq!(t.acs_ctl(f.rp), flags(&["sv", "uf"]));
        assert_eq!(t.acs_ctl(f.dp0), AcsFlags::REQ);
        assert!(!t
            .acs_ctl(f.dp0)
            .intersects(AcsFlags::EC | AcsFlags::DT | AcsFlags::TB));
    }

    #[test]
    fn no_iommu_leaves_acs_at_firmware_state() {
        let f = fixture(false, FULL, |_, _| {});
        let t = Topology::new(&f.p);
        assert_eq!(t.acs_ctl(f.rp), AcsFlags::empty());
        assert_eq!(t.acs_ctl(f.dp0), AcsFlags::empty());
    }

    #[test]
    fn an_iommu_on_another_host_bridge_still_enables_acs_everywhere() {
        let mut f = fixture(false, FULL, |_, _| {});
        f.p.iommus.push(peerpath_model::Iommu {
            name: "elsewhere".into(),
            kind: IommuKind::Smmuv3,
            ats: false,
            disable_bypass: true,
            tbus: Vec::new(),
            stream_map: Vec::new(),
        });
        let t = Topology::new(&f.p);
        assert_eq!(t.acs_ctl(f.dp1), AcsFlags::REQ);
    }

    #[test]
    fn tb_with_noats_or_for_external_facing_ports_and_untrusted_devices() {
        let f = fixture(true, FULL, |b, _| b.kernel().noats = true);
        let t = Topology::new(&f.p);
        assert_eq!(t.acs_ctl(f.rp), AcsFlags::REQ | AcsFlags::TB);

        let f = fixture(true, FULL, |b, _| {
            let ep1 = b.platform_mut().node_by_name("ep1").expect("ep1");
            b.endpoint_mut(ep1).trusted = false;
            b.acs(ep1, FULL, None);
        });
        let t = Topology::new(&f.p);
        let ep1 = f.p.node_by_name("ep1").expect("ep1");
        assert_eq!(
            t.acs_ctl(f.dp1),
            AcsFlags::REQ | AcsFlags::TB,
            "external-facing"
        );
        assert_eq!(t.acs_ctl(ep1), AcsFlags::REQ | AcsFlags::TB, "untrusted");
        assert_eq!(t.acs_ctl(f.dp0), AcsFlags::REQ, "trusted sibling");
        assert_eq!(
            t.acs_ctl(f.rp),
            AcsFlags::REQ,
            "not directly above the device"
        );
    }

    #[test]
    fn given_ctl_is_kept_even_with_an_iommu() {
        let f = fixture(true, FULL, |b, ids| {
            b.acs(ids[0], FULL, Some(flags(&["sv", "ec"])));
        });
        let t = Topology::new(&f.p);
        assert_eq!(t.acs_ctl(f.rp), flags(&["sv", "ec"]));
    }

    #[test]
    fn disable_acs_redir_rebuilds_from_firmware_without_rr_cr_ec() {
        let f = fixture(true, FULL, |b, ids| {
            b.acs(ids[2], FULL, Some(flags(&["sv", "rr", "cr", "uf", "ec"])));
            b.kernel().disable_acs_redir = vec![ids[1], ids[2]];
        });
        let t = Topology::new(&f.p);
        // No firmware ctl: reset value 0, so SV/UF enabled by the kernel are gone too.
        assert_eq!(t.acs_ctl(f.dp0), AcsFlags::empty());
        // Firmware ctl given: only RR, CR and EC are cleared from it.
        assert_eq!(t.acs_ctl(f.dp1), flags(&["sv", "uf"]));
        // Also without an IOMMU.
        let f = fixture(false, FULL, |b, ids| {
            b.acs(ids[2], FULL, Some(flags(&["rr", "cr"])));
            b.kernel().disable_acs_redir = vec![ids[2]];
        });
        assert_eq!(Topology::new(&f.p).acs_ctl(f.dp1), AcsFlags::empty());
    }

    #[test]
    fn config_acs_forces_bits_first_entry_wins_and_masks_with_cap() {
        let f = fixture(true, flags(&["sv", "rr", "cr", "uf"]), |b, ids| {
            b.acs(ids[1], FULL, Some(flags(&["sv", "uf"])));
            b.kernel().disable_acs_redir = vec![ids[1]];
            b.kernel().config_acs = vec![
                ConfigAcs {
                    port: ids[1],
                    set: flags(&["rr", "dt"]),
                    clear: flags(&["uf"]),
                },
                ConfigAcs {
                    port: ids[1],
                    set: flags(&["ec"]),
                    clear: AcsFlags::empty(),
                },
                ConfigAcs {
                    port: ids[0],
                    set: flags(&["ec", "dt"]),
                    clear: flags(&["rr"]),
                },
            ];
        });
        let t = Topology::new(&f.p);
        // dp0: firmware SV UF; mask RR DT UF; flags RR DT → SV RR DT. The first entry
        // wins and overrides disable_acs_redir entirely.
        assert_eq!(t.acs_ctl(f.dp0), flags(&["sv", "rr", "dt"]));
        // rp0 lacks EC and DT in its capability: forcing them changes nothing;
        // the other bits come from firmware (0), not from the kernel's enable.
        assert_eq!(t.acs_ctl(f.rp), AcsFlags::empty());
        assert_eq!(t.acs_ctl(f.dp1), AcsFlags::REQ);
    }

    #[test]
    fn nodes_without_acs_capability_have_empty_control() {
        let f = fixture(true, FULL, |_, _| {});
        let t = Topology::new(&f.p);
        let up = f.p.node_by_name("sw0").expect("sw0");
        let ep0 = f.p.node_by_name("ep0").expect("ep0");
        assert_eq!(t.acs_ctl(up), AcsFlags::empty());
        assert_eq!(t.acs_ctl(ep0), AcsFlags::empty());
        assert_eq!(t.acs_cap(ep0), None);
    }

    #[test]
    fn derived_table_matches_the_per_node_function() {
        let f = fixture(true, FULL, |b, ids| {
            b.kernel().disable_acs_redir = vec![ids[1]; 70];
            b.kernel().config_acs = vec![ConfigAcs {
                port: ids[2],
                set: flags(&["ec"]),
                clear: AcsFlags::empty(),
            }];
        });
        let t = Topology::new(&f.p);
        let per_node: Vec<AcsFlags> =
            f.p.node_ids()
                .map(|id| super::effective_acs_ctl(&t, id))
                .collect();
        assert_eq!(super::derive(&t), per_node);
        assert_eq!(t.acs_ctl(f.dp0), AcsFlags::empty());
        assert_eq!(t.acs_ctl(f.dp1), flags(&["ec"]));
    }
}
