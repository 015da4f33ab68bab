//! K5 — effective MPS per `kernel.pcie_bus_config` (`drivers/pci/probe.c`:
//! `pci_configure_mps`, `pcie_bus_configure_settings`, `pcie_find_smpss`,
//! `pcie_bus_configure_set`, `pcie_write_mps`; `drivers/pci/pci.c`: `pcie_set_mps`).
//!
//! Linux sets MPS in two passes, and the mode (`pci=pcie_bus_*`) decides what each does:
//!
//! 1. **At enumeration** (`pci_configure_mps`, called from `pci_device_add` in scan
//!    order, parents first). RCiEPs get their MPSS (128 under `peer2peer`) in every mode,
//!    `tune-off` included. Other devices are compared with their upstream PCIe bridge;
//!    when the values differ, only `default` acts: a *root port* above a device with a
//!    smaller MPSS is lowered to that MPSS, then the device is set to the bridge's MPS.
//!    `pcie_set_mps` refuses a value above the device's MPSS, so below a switch port
//!    whose MPS exceeds the device's MPSS the device keeps its firmware value (the
//!    kernel only warns "can't set Max Payload Size").
//! 2. **Per root port** (`pcie_bus_configure_settings`, from `pci_host_probe` and the
//!    ACPI root driver, for every child bus of a root bus). `default` and `tune-off`
//!    stop here. `safe`: the smallest MPSS of the root port and every PCIe function
//!    below it, written everywhere ("assumes no peer-to-peer DMA" says the source).
//!    `perf`: the root port gets its MPSS, every other function min(own MPSS, MPS of
//!    the bridge above), top down. `peer2peer`: 128 everywhere.
//!
//! Starting values are the firmware ones (`mps`, default 128). Conventional PCI
//! devices (endpoints below a PCIe-to-PCI bridge) have no PCIe capability: the kernel
//! leaves them alone and so do we (their `mps` stays as written). A PCIe-to-PCI
//! bridge is a PCIe function: the model has no firmware `mps` for it, so it starts at
//! the reset value 128 and is then configured like any other function. Host bridges
//! get 4096, a sentinel for "no limit of their own".
//!
//! Not modelled: hot-plug bridges (`pcie_find_smpss` drops `safe` to 128 when a
//! non-root-port hot-plug bridge is in the fabric), MPS quirks, VFs.

use crate::Topology;
use peerpath_model::{NodeId, NodeKind, PcieBusConfig};

/// The sentinel effective MPS of a host bridge.
pub(crate) const HOST_BRIDGE_MPS: u32 = 4096;

/// What K5 needs to know about one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A host bridge: no MPS of its own.
    HostBridge,
    /// A conventional PCI device: no PCIe capability, not configured.
    Conventional,
    /// A root complex integrated endpoint.
    Rciep { mpss: u32 },
    /// A root port.
    RootPort { mpss: u32 },
    /// Any other PCIe function (switch ports, PCIe-to-PCI bridges, endpoints).
    Other { mpss: u32 },
}

impl Role {
    fn mpss(self) -> Option<u32> {
        match self {
            Role::HostBridge | Role::Conventional => None,
            Role::Rciep { mpss } | Role::RootPort { mpss } | Role::Other { mpss } => Some(mpss),
        }
    }
}

fn role(topo: &Topology<'_>, id: NodeId) -> Role {
    let p = topo.platform();
    let parent_kind = topo.parent(id).map(|par| &p.node(par).kind);
    match &p.node(id).kind {
        NodeKind::HostBridge(_) => Role::HostBridge,
        NodeKind::RootPort(port) => Role::RootPort { mpss: port.mpss },
        NodeKind::SwitchUpstream(port) | NodeKind::SwitchDownstream(port) => {
            Role::Other { mpss: port.mpss }
        }
        // A bridge below a PCIe-to-PCI bridge is a conventional PCI-to-PCI bridge.
        NodeKind::PciBridge(_) if matches!(parent_kind, Some(NodeKind::PciBridge(_))) => {
            Role::Conventional
        }
        NodeKind::PciBridge(b) => Role::Other { mpss: b.mpss },
        NodeKind::Endpoint(_) if matches!(parent_kind, Some(NodeKind::PciBridge(_))) => {
            Role::Conventional
        }
        NodeKind::Endpoint(e) if matches!(parent_kind, Some(NodeKind::HostBridge(_))) => {
            Role::Rciep { mpss: e.mpss }
        }
        NodeKind::Endpoint(e) => Role::Other { mpss: e.mpss },
    }
}

/// The firmware-programmed MPS a node starts with.
fn firmware_mps(topo: &Topology<'_>, id: NodeId) -> u32 {
    match &topo.platform().node(id).kind {
        NodeKind::HostBridge(_) => HOST_BRIDGE_MPS,
        NodeKind::RootPort(port)
        | NodeKind::SwitchUpstream(port)
        | NodeKind::SwitchDownstream(port) => port.mps,
        // No `mps` in the model: the Device Control reset value.
        NodeKind::PciBridge(b) => b.mpss.min(128),
        NodeKind::Endpoint(e) => e.mps,
    }
}

/// `pcie_set_mps`: refuses values above the function's MPSS (the register keeps its
/// old value). Returns whether the write took.
fn set_mps(mps: &mut [u32], id: NodeId, role: Role, value: u32) -> bool {
    match role.mpss() {
        Some(mpss) if value <= mpss => {
            mps[id.index()] = value;
            true
        }
        _ => false,
    }
}

pub(crate) fn derive(topo: &Topology<'_>) -> Vec<u32> {
    let p = topo.platform();
    let cfg = p.kernel.pcie_bus_config;
    let roles: Vec<Role> = p.node_ids().map(|id| role(topo, id)).collect();
    let mut mps: Vec<u32> = p.node_ids().map(|id| firmware_mps(topo, id)).collect();

    // Pass 1: pci_configure_mps, in enumeration order.
    for &dev in topo.enumeration_order() {
        let r = roles[dev.index()];
        match r {
            Role::HostBridge | Role::Conventional => continue,
            Role::Rciep { mpss } => {
                let v = if cfg == PcieBusConfig::Peer2Peer {
                    128
                } else {
                    mpss
                };
                set_mps(&mut mps, dev, r, v);
                continue;
            }
            Role::RootPort { .. } | Role::Other { .. } => {}
        }
        // pci_upstream_bridge(): none for root ports (their bus is a root bus).
        let Some(bridge) = topo.parent(dev) else {
            continue;
        };
        let br = roles[bridge.index()];
        if matches!(br, Role::HostBridge | Role::Conventional) {
            continue;
        }
        let dev_mps = mps[dev.index()];
        let mut p_mps = mps[bridge.index()];
        // tune-off warns and keeps; safe/perf/peer2peer act in pass 2.
        if dev_mps == p_mps || cfg != PcieBusConfig::Default {
            continue;
        }
        let Some(mpss) = r.mpss() else { continue };
        if mpss < p_mps && matches!(br, Role::RootPort { .. }) {
            set_mps(&mut mps, bridge, br, mpss);
            p_mps = mps[bridge.index()];
        }
        // May fail (p_mps above this function's MPSS): the firmware value stays.
        set_mps(&mut mps, dev, r, p_mps);
    }

    // Pass 2: pcie_bus_configure_settings for each root port's secondary bus.
    if matches!(
        cfg,
        PcieBusConfig::Safe | PcieBusConfig::Perf | PcieBusConfig::Peer2Peer
    ) {
        for rp in p.node_ids() {
            let Role::RootPort { mpss: rp_mpss } = roles[rp.index()] else {
                continue;
            };
            let subtree = subtree_top_down(topo, rp);
            let smpss = match cfg {
                PcieBusConfig::Safe => subtree
                    .iter()
                    .filter_map(|n| roles[n.index()].mpss())
                    .fold(rp_mpss, u32::min),
                _ => 128,
            };
            for &dev in &subtree {
                let r = roles[dev.index()];
                let Some(mpss) = r.mpss() else { continue };
                let value = if cfg == PcieBusConfig::Perf {
                    match (r, topo.parent(dev)) {
                        (Role::RootPort { .. }, _) | (_, None) => mpss,
                        (_, Some(parent)) => mpss.min(mps[parent.index()]),
                    }
                } else {
                    smpss
                };
                set_mps(&mut mps, dev, r, value);
            }
        }
    }
    mps
}

/// A node and everything below it, parents before children (`pci_walk_bus` order).
fn subtree_top_down(topo: &Topology<'_>, top: NodeId) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut stack = vec![top];
    while let Some(n) = stack.pop() {
        out.push(n);
        stack.extend(topo.bus_devices(n).iter().rev().copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::Topology;
    use peerpath_model::{NodeId, PcieBusConfig, Platform, PlatformBuilder};

    /// hb0 ─ rp0 (MPSS 512, fw 256) ─ sw0 (MPSS 512) ─ dp0 (512) ─ gpu (MPSS 512, fw 128)
    ///                                              └ dp1 (512) ─ nic (MPSS 256, fw 128)
    ///     └ rp1 (MPSS 256, fw 256) ─ nvme (MPSS 128, fw 128)
    ///     └ rciep (MPSS 512, fw 128)
    fn platform(cfg: PcieBusConfig, sw_fw: u32) -> Platform {
        let mut b = PlatformBuilder::new("mps");
        b.kernel().pcie_bus_config = cfg;
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp0 = b.root_port("rp0", hb, "00:01.0", 512);
        b.port_mut(rp0).mps = 256;
        let (up, dps) = b.switch("sw0", rp0, "01:00.0", &["02:00.0", "02:01.0"], 512);
        for n in std::iter::once(up).chain(dps.iter().copied()) {
            b.port_mut(n).mps = sw_fw;
        }
        let gpu = b.endpoint("gpu", dps[0], "03:00.0", 0x40_0000_0000, 0x100_0000);
        b.endpoint_mut(gpu).mpss = 512;
        let nic = b.endpoint("nic", dps[1], "04:00.0", 0x40_1000_0000, 0x10_0000);
        b.endpoint_mut(nic).mpss = 256;
        let rp1 = b.root_port("rp1", hb, "00:02.0", 256);
        b.port_mut(rp1).mps = 256;
        let nvme = b.endpoint("nvme", rp1, "05:00.0", 0x40_2000_0000, 0x4000);
        b.endpoint_mut(nvme).mpss = 128;
        let rc = b.endpoint("rciep", hb, "00:07.0", 0x40_3000_0000, 0x4000);
        b.endpoint_mut(rc).mpss = 512;
        b.build()
    }

    fn mps_of(p: &Platform) -> Vec<(String, u32)> {
        let t = Topology::new(p);
        p.node_ids()
            .map(|id: NodeId| (t.name(id).to_owned(), t.mps(id)))
            .collect()
    }

    fn check(cfg: PcieBusConfig, sw_fw: u32, expect: &[(&str, u32)]) {
        let p = platform(cfg, sw_fw);
        let got = mps_of(&p);
        let want: Vec<(String, u32)> = expect.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect();
        assert_eq!(got, want, "pcie_bus_config {cfg}");
    }

    #[test]
    fn default_copies_the_bridge_and_lowers_root_ports_only() {
        // sw0 fw 128 ≠ rp0 256 → sw0 takes 256; the DSPs then copy 256; gpu (MPSS 512)
        // copies 256; nic (MPSS 256) copies 256. rp1 256 is lowered to nvme's MPSS 128.
        check(
            PcieBusConfig::Default,
            128,
            &[
                ("hb0", 4096),
                ("rp0", 256),
                ("sw0", 256),
                ("sw0.dp0", 256),
                ("sw0.dp1", 256),
                ("gpu", 256),
                ("nic", 256),
                ("rp1", 128),
                ("nvme", 128),
                ("rciep", 512),
            ],
        );
    }

    #[test]
    fn default_cannot_raise_a_device_above_its_mpss_below_a_switch() {
        // Firmware left the switch at 512: nic (MPSS 256) cannot take 512 and is not
        // below a root port, so it keeps its firmware 128 (the kernel only warns).
        // sw0 (512) ≠ rp0 (256) and MPSS 512 ≥ 256: sw0 is set to 256 first, so its
        // DSPs (fw 512) are lowered to 256 too; nic then takes 256 normally.
        let p = platform(PcieBusConfig::Default, 512);
        let t = Topology::new(&p);
        let by = |n: &str| t.mps(p.node_by_name(n).expect("node"));
        assert_eq!(by("sw0"), 256);
        assert_eq!(by("sw0.dp1"), 256);
        assert_eq!(by("nic"), 256);

        // A device whose MPSS is below a switch port's MPS keeps firmware MPS.
        let mut b = PlatformBuilder::new("stuck");
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        b.port_mut(rp).mps = 512;
        let (up, dps) = b.switch("sw0", rp, "01:00.0", &["02:00.0"], 512);
        b.port_mut(up).mps = 512;
        b.port_mut(dps[0]).mps = 512;
        let ep = b.endpoint("ep", dps[0], "03:00.0", 0x40_0000_0000, 0x1000);
        b.endpoint_mut(ep).mpss = 256;
        let p = b.build();
        let t = Topology::new(&p);
        assert_eq!(t.mps(ep), 128, "pcie_set_mps(512) fails on MPSS 256");
        assert_eq!(t.mps(dps[0]), 512, "only root ports are lowered");
    }

    #[test]
    fn tune_off_keeps_firmware_values_except_rcieps() {
        check(
            PcieBusConfig::TuneOff,
            128,
            &[
                ("hb0", 4096),
                ("rp0", 256),
                ("sw0", 128),
                ("sw0.dp0", 128),
                ("sw0.dp1", 128),
                ("gpu", 128),
                ("nic", 128),
                ("rp1", 256),
                ("nvme", 128),
                ("rciep", 512),
            ],
        );
    }

    #[test]
    fn safe_uses_the_smallest_mpss_below_each_root_port() {
        check(
            PcieBusConfig::Safe,
            128,
            &[
                ("hb0", 4096),
                ("rp0", 256),
                ("sw0", 256),
                ("sw0.dp0", 256),
                ("sw0.dp1", 256),
                ("gpu", 256),
                ("nic", 256),
                ("rp1", 128),
                ("nvme", 128),
                ("rciep", 512),
            ],
        );
    }

    #[test]
    fn perf_takes_min_of_own_mpss_and_parent_mps_top_down() {
        // gpu gets 512 while its peer nic is at 256: a P2P write of 512 from gpu
        // to nic's BAR is malformed at nic (H5).
        check(
            PcieBusConfig::Perf,
            128,
            &[
                ("hb0", 4096),
                ("rp0", 512),
                ("sw0", 512),
                ("sw0.dp0", 512),
                ("sw0.dp1", 512),
                ("gpu", 512),
                ("nic", 256),
                ("rp1", 256),
                ("nvme", 128),
                ("rciep", 512),
            ],
        );
    }

    #[test]
    fn peer2peer_is_128_everywhere() {
        let p = platform(PcieBusConfig::Peer2Peer, 512);
        let t = Topology::new(&p);
        for id in p.node_ids() {
            let want = if p.node(id).parent.is_none() {
                4096
            } else {
                128
            };
            assert_eq!(t.mps(id), want, "{}", t.name(id));
        }
    }

    #[test]
    fn conventional_devices_are_left_alone_and_pci_bridges_configured() {
        let mut b = PlatformBuilder::new("conv");
        b.kernel().pcie_bus_config = PcieBusConfig::Perf;
        let hb = b.host_bridge("hb0", 0, 0x40_0000_0000, 0x10_0000_0000);
        let rp = b.root_port("rp0", hb, "00:01.0", 512);
        let br = b.pci_bridge("ast-bridge", rp, "01:00.0");
        let vga = b.endpoint("vga", br, "02:00.0", 0x40_0000_0000, 0x1000);
        b.endpoint_mut(vga).mps = 256;
        let p = b.build();
        let t = Topology::new(&p);
        assert_eq!(t.mps(rp), 512);
        assert_eq!(t.mps(br), 128, "bridge MPSS 128");
        assert_eq!(t.mps(vga), 256, "conventional PCI: untouched");
    }
}
