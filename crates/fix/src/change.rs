//! The knobs a user controls, as changes to a platform: what each change does to the
//! model, how it is written (kernel parameter, platform key, runtime command), and what
//! it costs besides the pairing it fixes.
//!
//! Knobs (platform-format.md; rules.md): `kernel.disable_acs_redir` (K4.2, K1.8),
//! `kernel.config_acs` per port (K4.2), `kernel.default_domain` (K3.2; `identity` is
//! `iommu.passthrough=1`), a device's own domain (`domains`, K3.2),
//! `kernel.pcie_bus_config` (K5), `kernel.swiotlb_force` (K3.7), `exports[].via`
//! (K2.2–K2.4), and a VM's (issue 18): a device's `ats` (V4), `map_bars` (V1), which devices
//! a VM has (V2). What a knob gives up is its `cost` (documented per variant), used only
//! to rank proposals of the same size.

use peerpath_model::{
    AcsFlags, ConfigAcs, Domain, DomainType, ExportId, NodeId, PcieBusConfig, Platform, Via,
};
use peerpath_rules::{clear_redirect, SetpciLine};
use peerpath_topology::Topology;

/// One change to one knob.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Add ports to `kernel.disable_acs_redir` (clears RR, CR, EC; K4.2). Cost 2: the
    /// ports' devices lose IOMMU isolation from each other (K4.3).
    DisableAcsRedir(Vec<NodeId>),
    /// Force ACS bits on a port with `kernel.config_acs` (K4.2). Cost 1.
    ConfigAcs {
        /// The port.
        port: NodeId,
        /// Bits forced on.
        set: AcsFlags,
    },
    /// `kernel.default_domain` (K3.2). Cost 3 for `identity` (every device loses DMA
    /// protection), 1 otherwise.
    DefaultDomain(DomainType),
    /// One device's own domain (K3.2). Cost 2 for `identity`, 1 otherwise.
    DeviceDomain {
        /// The device.
        device: NodeId,
        /// Its domain type.
        ty: DomainType,
    },
    /// `kernel.pcie_bus_config` (K5). Cost 1 (`peer2peer` caps MPS at 128 everywhere).
    PcieBusConfig(PcieBusConfig),
    /// `kernel.swiotlb_force` (K3.7). Cost 1.
    SwiotlbForce(bool),
    /// `kernel.noats` (`pci=noats`; H2, K4.1). Cost 1: no device uses ATS.
    Noats(bool),
    /// An export's `via` (K2.2–K2.4). Cost 2 between the kernel's paths (another
    /// exporter interface), 3 to or from a driver's own mapping (another driver stack).
    Via {
        /// The export.
        export: ExportId,
        /// Its new path.
        via: Via,
    },
    /// Issue 18: a VM device's `ats: false` becomes `ats: true` (it has the
    /// capability), so the host kernel's rule (H2) enables ATS for it (V4). Cost 1.
    VmAts {
        /// The assigned device.
        device: NodeId,
    },
    /// Issue 18: the VMM maps the assigned devices' BARs into the VM's I/O address
    /// space (V1; iommufd: a VFIO dma-buf per BAR to `IOMMU_IOAS_MAP_FILE`). Cost 1.
    VmMapBars {
        /// Index of the VM in `Platform::vms`.
        vm: u32,
    },
    /// Issue 18: assign a device to a VM (from the host or another VM), bound to
    /// vfio-pci, so the VM's IOMMU groups are viable (V2). Cost 2: the host or the
    /// other VM loses the device.
    VmAssign {
        /// The device.
        device: NodeId,
        /// Index of the VM in `Platform::vms`.
        vm: u32,
    },
    /// Issue 18: give an assigned device back to the host (its kernel driver), so a
    /// pairing with a host device is the host's. Cost 2: the VM loses the device.
    VmUnassign {
        /// The device.
        device: NodeId,
    },
}

impl Change {
    /// Which knob the change sets: two changes of one knob never combine.
    pub fn knob(&self) -> (u8, u32) {
        match self {
            Change::DisableAcsRedir(_) => (0, 0),
            Change::ConfigAcs { port, .. } => (1, port.0),
            Change::DefaultDomain(_) => (2, 0),
            Change::DeviceDomain { device, .. } => (3, device.0),
            Change::PcieBusConfig(_) => (4, 0),
            Change::SwiotlbForce(_) => (5, 0),
            Change::Noats(_) => (6, 0),
            Change::Via { export, .. } => (7, export.0),
            Change::VmAts { device } => (8, device.0),
            Change::VmMapBars { vm } => (9, *vm),
            Change::VmAssign { device, .. } => (10, device.0),
            Change::VmUnassign { device } => (10, device.0),
        }
    }

    /// What the change gives up besides the pairing (see each variant).
    pub fn cost(&self) -> u32 {
        match self {
            Change::DisableAcsRedir(_) => 2,
            Change::DefaultDomain(DomainType::Identity) => 3,
            Change::DeviceDomain {
                ty: DomainType::Identity,
                ..
            } => 2,
            Change::Via {
                via: Via::VfioDmabuf | Via::P2pdmaPages,
                ..
            } => 2,
            Change::Via { .. } => 3,
            Change::VmAssign { .. } | Change::VmUnassign { .. } => 2,
            _ => 1,
        }
    }

    /// Applies the change to a platform.
    pub fn apply(&self, p: &mut Platform) {
        let k = &mut p.kernel;
        match self {
            Change::DisableAcsRedir(ports) => {
                for port in ports {
                    if !k.disable_acs_redir.contains(port) {
                        k.disable_acs_redir.push(*port);
                    }
                }
            }
            Change::ConfigAcs { port, set } => {
                match k.config_acs.iter_mut().find(|c| c.port == *port) {
                    Some(c) => {
                        c.set |= *set;
                        c.clear.remove(*set);
                    }
                    None => k.config_acs.push(ConfigAcs {
                        port: *port,
                        set: *set,
                        clear: AcsFlags::empty(),
                    }),
                }
            }
            Change::DefaultDomain(ty) => k.default_domain = *ty,
            Change::DeviceDomain { device, ty } => {
                for d in &mut p.domains {
                    d.devices.retain(|n| n != device);
                }
                p.domains.retain(|d| !d.devices.is_empty());
                let name = format!("{}-{}", p.node(*device).name, ty.as_str());
                p.domains.push(Domain {
                    name,
                    ty: *ty,
                    devices: vec![*device],
                });
            }
            Change::PcieBusConfig(c) => k.pcie_bus_config = *c,
            Change::SwiotlbForce(f) => k.swiotlb_force = *f,
            Change::Noats(f) => k.noats = *f,
            Change::Via { export, via } => {
                let x = &mut p.exports[export.index()];
                x.via = *via;
                // A revocation is VFIO's (K2.1): another exporter has none.
                if *via != Via::VfioDmabuf {
                    x.revoke = None;
                }
            }
            Change::VmAts { device } => {
                for v in &mut p.vms {
                    for d in &mut v.devices {
                        if d.device == *device {
                            d.ats = Some(true);
                        }
                    }
                }
            }
            Change::VmMapBars { vm } => {
                if let Some(v) = p.vms.get_mut(*vm as usize) {
                    v.map_bars = Some(true);
                }
            }
            Change::VmAssign { device, vm } => {
                for v in &mut p.vms {
                    v.devices.retain(|d| d.device != *device);
                }
                if let Some(v) = p.vms.get_mut(*vm as usize) {
                    v.devices.push(peerpath_model::VmDevice {
                        device: *device,
                        ats: None,
                        bars: Vec::new(),
                    });
                }
                if let peerpath_model::NodeKind::Endpoint(e) = &mut p.nodes[device.index()].kind {
                    e.driver = peerpath_model::Driver::VfioPci;
                }
            }
            Change::VmUnassign { device } => {
                for v in &mut p.vms {
                    v.devices.retain(|d| d.device != *device);
                }
                p.vms.retain(|v| !v.devices.is_empty());
                if let peerpath_model::NodeKind::Endpoint(e) = &mut p.nodes[device.index()].kind {
                    e.driver = peerpath_model::Driver::Kernel;
                }
            }
        }
    }

    /// How the change is written, on the platform it applies to.
    #[allow(
        clippy::too_many_lines,
        reason = "a table-like dispatcher: one arm per kind of change (docs/architecture.md)"
    )]
    pub fn describe(&self, topo: &Topology<'_>) -> Described {
        let p = topo.platform();
        let name = |n: &NodeId| topo.name(*n).to_owned();
        let bdf = |n: &NodeId| topo.bdf(*n).map(|b| b.to_string()).unwrap_or_default();
        let d = |knob, value: String, text: String, parameter: Option<String>| Described {
            knob,
            value,
            text,
            parameter,
            runtime: Vec::new(),
            cost: self.cost(),
            clears: Vec::new(),
            without: None,
            why: None,
        };
        match self {
            Change::DisableAcsRedir(ports) => {
                let mut all: Vec<NodeId> = p.kernel.disable_acs_redir.clone();
                for n in ports {
                    if !all.contains(n) {
                        all.push(*n);
                    }
                }
                let names: Vec<String> = ports.iter().map(name).collect();
                Described {
                    runtime: clear_redirect(topo, ports)
                        .map(|c| c.runtime)
                        .unwrap_or_default(),
                    ..d(
                        "kernel.disable_acs_redir",
                        all.iter().map(name).collect::<Vec<_>>().join(", "),
                        format!("clear ACS redirect (RR, CR, EC) on {}", names.join(", ")),
                        clear_redirect(topo, &all).map(|c| c.parameter),
                    )
                }
            }
            // `pci=config_acs=<flags>@<BDF>` (K4.2, `__pci_config_acs`).
            Change::ConfigAcs { port, set } => d(
                "kernel.config_acs",
                format!("{}: {}", name(port), set.names().join(", ")),
                format!("enable ACS {} on {}", set.names().join(", "), name(port)),
                Some(format!(
                    "pci=config_acs={}@{}",
                    config_acs_flags(*set),
                    bdf(port)
                )),
            ),
            Change::DefaultDomain(ty) => d(
                "kernel.default_domain",
                ty.as_str().to_owned(),
                format!("make {} the default IOMMU domain", ty.as_str()),
                Some(
                    match ty {
                        DomainType::Identity => "iommu.passthrough=1",
                        DomainType::DmaFq => "iommu.passthrough=0 iommu.strict=0",
                        _ => "iommu.passthrough=0 iommu.strict=1",
                    }
                    .to_owned(),
                ),
            ),
            // The group's sysfs `type` file (`iommu_group_store_type`), with the
            // group's drivers unbound first.
            Change::DeviceDomain { device, ty } => d(
                "domains",
                format!("{}: {}", name(device), ty.as_str()),
                format!(
                    "give {} {} {} domain",
                    name(device),
                    if ty.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
                    ty.as_str()
                ),
                Some(format!(
                    "echo {} > /sys/bus/pci/devices/{}/iommu_group/type (drivers of the group unbound first)",
                    match ty {
                        DomainType::Identity => "identity",
                        DomainType::DmaFq => "DMA-FQ",
                        DomainType::Dma => "DMA",
                        DomainType::Blocked | DomainType::Unmanaged => "auto",
                    },
                    bdf(device)
                )),
            ),
            Change::PcieBusConfig(c) => d(
                "kernel.pcie_bus_config",
                c.as_str().to_owned(),
                format!("set pcie_bus_config to {}", c.as_str()),
                match c {
                    PcieBusConfig::Default => None,
                    other => Some(format!("pci=pcie_bus_{}", other.as_str().replace('-', "_"))),
                },
            ),
            Change::SwiotlbForce(f) => d(
                "kernel.swiotlb_force",
                f.to_string(),
                if *f {
                    "force swiotlb bouncing".to_owned()
                } else {
                    "stop forcing swiotlb bouncing".to_owned()
                },
                Some(if *f { "swiotlb=force" } else { "no swiotlb=force" }.to_owned()),
            ),
            Change::Noats(f) => d(
                "kernel.noats",
                f.to_string(),
                if *f {
                    "disable ATS on every device".to_owned()
                } else {
                    "let devices use ATS".to_owned()
                },
                Some(if *f { "pci=noats" } else { "no pci=noats" }.to_owned()),
            ),
            Change::Via { export, via } => d(
                "exports[].via",
                format!("{}: {}", p.export(*export).name, via.as_str()),
                format!("export {} via {}", p.export(*export).name, via.as_str()),
                None,
            ),
            Change::VmAts { device } => d(
                "vms[].devices[].ats",
                format!("{}: true", name(device)),
                format!(
                    "let {} use ATS in its VM, so it sends translated addresses (V4)",
                    name(device)
                ),
                None,
            ),
            Change::VmMapBars { vm } => {
                let v = p.vms.get(*vm as usize).map_or("", |v| v.name.as_str());
                d(
                    "vms[].map_bars",
                    format!("{v}: true"),
                    format!(
                        "map the assigned BARs into {v}'s I/O address space (iommufd: each BAR's VFIO dma-buf to IOMMU_IOAS_MAP_FILE)"
                    ),
                    None,
                )
            }
            Change::VmAssign { device, vm } => {
                let v = p.vms.get(*vm as usize).map_or("", |v| v.name.as_str());
                d(
                    "vms[].devices",
                    format!("{v}: + {}", name(device)),
                    format!("assign {} to {v} as well (bound to vfio-pci)", name(device)),
                    Some(format!("driverctl set-override {} vfio-pci", bdf(device))),
                )
            }
            Change::VmUnassign { device } => {
                let v = p.vm_of(*device).map_or("", |v| v.name.as_str());
                d(
                    "vms[].devices",
                    format!("{v}: - {}", name(device)),
                    format!("give {} back to the host (its kernel driver)", name(device)),
                    Some(format!("driverctl unset-override {}", bdf(device))),
                )
            }
        }
    }
}

/// The `pci=config_acs=` flags forcing `set` on: bit 6 (DT) first down to bit 0 (SV),
/// `1` where forced on, `x` where unchanged (Documentation/admin-guide/
/// kernel-parameters.txt, `config_acs`).
fn config_acs_flags(set: AcsFlags) -> String {
    (0..7)
        .rev()
        .map(|i| if set.bits() & (1 << i) != 0 { '1' } else { 'x' })
        .collect()
}

/// A change as written for people and scripts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Described {
    /// The platform key it sets.
    pub knob: &'static str,
    /// The key's new value, as text.
    pub value: String,
    /// What it does, in words.
    pub text: String,
    /// The kernel parameter (or sysfs write) that makes it on a real machine.
    pub parameter: Option<String>,
    /// Runtime `setpci` commands, where the change clears ACS redirect.
    pub runtime: Vec<SetpciLine>,
    /// What it gives up besides the pairing (ranking only).
    pub cost: u32,
    /// The finding codes the pairing has with the proposal's other changes alone and
    /// not with the whole proposal: what this change is there to clear.
    pub clears: Vec<peerpath_model::Code>,
    /// The pairing's outcome with the proposal's other changes alone.
    pub without: Option<peerpath_model::Outcome>,
    /// The first finding cleared, as the other changes alone leave it: code, place
    /// and message.
    pub why: Option<String>,
}
