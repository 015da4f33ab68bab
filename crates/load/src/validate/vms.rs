//! `vms`: virtual machines and their assigned devices (rules.md V, docs/vms.md). Each
//! device in at most one VM; an assigned device is bound to vfio-pci (V1), so a
//! `driver` other than vfio-pci is an error; explicit guest BAR addresses name BARs the
//! device has; `ats: true` needs the device's ATS capability; the guest's release
//! parses.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{
    Arch, Cpu, Driver, Endpoint, Guest, Node as PNode, NodeId, NodeKind, Release, Vm, VmDevice,
    DEFAULT_MMIO64_BASE, GPEX_HOST_BRIDGE, Q35_HOST_BRIDGE,
};

use crate::raw::{RawVm, RawVmDevice};
use crate::source::{ypath, Msg, Path};

use super::names::{file_index, Entity};
use super::Validator;

impl Validator<'_, '_> {
    /// The `vms`, their devices resolved to endpoints; binds every assigned device to
    /// vfio-pci in `nodes` (V1).
    pub(super) fn vms(
        &mut self,
        node_ids: &HashMap<Entity, NodeId>,
        nodes: &mut [PNode],
        arch: Arch,
    ) -> Vec<Vm> {
        let raw = self.raw;
        let mut out: Vec<Vm> = Vec::new();
        let mut member: HashMap<NodeId, String> = HashMap::default();
        for (i, v) in raw.vms.iter().enumerate() {
            let vp = ypath!["vms", file_index(&self.origins.vms, i)];
            let mut p = vp.clone();
            p.extend(ypath!["name"]);
            self.check_name(&v.name, p.clone());
            if out.iter().any(|o| o.name == v.name) {
                self.report(
                    p,
                    Msg::new(format!("a second VM named `{}`", v.name))
                        .expected("each VM named once"),
                );
            }
            let mut devices = Vec::new();
            for (k, d) in v.devices.iter().enumerate() {
                let mut dp = vp.clone();
                dp.extend(ypath!["devices", k]);
                let mut np = dp.clone();
                np.extend(ypath!["device"]);
                let Some((ri, id)) = self.endpoint_ref(&d.device, np.clone(), node_ids) else {
                    continue;
                };
                if let Some(other) = member.get(&id) {
                    self.report(
                        np,
                        Msg::new(format!(
                            "`{}` is already assigned to VM `{other}`",
                            d.device
                        ))
                        .expected("each device assigned to at most one VM")
                        .help("a device is bound to one VFIO user at a time"),
                    );
                    continue;
                }
                member.insert(id, v.name.clone());
                let stated = raw.endpoints.get(ri).and_then(|e| e.driver);
                if let Some(drv) = stated.filter(|d| *d != Driver::VfioPci) {
                    let mut ep = self.entity_path(Entity::Endpoint(ri));
                    ep.extend(ypath!["driver"]);
                    self.report(
                        ep,
                        Msg::new(format!(
                            "`{}` is assigned to VM `{}` but its driver is {drv}",
                            d.device, v.name
                        ))
                        .expected("vfio-pci (or leave `driver` out: an assigned device is bound to vfio-pci, V1)"),
                    );
                }
                let Some(NodeKind::Endpoint(e)) = nodes.get_mut(id.index()).map(|n| &mut n.kind)
                else {
                    continue;
                };
                e.driver = Driver::VfioPci;
                if d.ats == Some(true) && !e.ats {
                    let mut ap = dp.clone();
                    ap.extend(ypath!["ats"]);
                    self.report(
                        ap,
                        Msg::new(format!("`{}` has no ATS capability", d.device))
                            .expected("false, or leave it out (the host kernel's rule decides, H2)")
                            .help(
                                "set `ats: true` on the endpoint if the device has the capability",
                            ),
                    );
                }
                let bars = self.guest_bars(e, d, &dp);
                devices.push(VmDevice {
                    device: id,
                    ats: d.ats,
                    bars,
                });
            }
            out.push(Vm {
                name: v.name.clone(),
                backend: v.backend.unwrap_or_default(),
                map_bars: v.map_bars,
                viommu: v.viommu.unwrap_or_default(),
                gpa: v.gpa.unwrap_or_default(),
                mmio64_base: v.mmio64_base.map_or(DEFAULT_MMIO64_BASE, |a| a.0),
                devices,
                guest: self.guest(v, &vp, arch),
            });
        }
        out
    }

    /// The guest addresses of a device's BARs (`vms[].devices[].bars`), each naming a BAR
    /// the device has, with room for the whole BAR below 2^64.
    fn guest_bars(&mut self, e: &Endpoint, d: &RawVmDevice, dp: &Path) -> Vec<(u8, u64)> {
        let mut bars = Vec::new();
        for (b, gb) in d.bars.iter().enumerate() {
            let mut bp = dp.clone();
            bp.extend(ypath!["bars", b]);
            match e.bar(gb.index) {
                None => {
                    let have: Vec<String> = e.bars.iter().map(|b| b.index.to_string()).collect();
                    let mut ip = bp.clone();
                    ip.extend(ypath!["index"]);
                    self.report(
                        ip,
                        Msg::new(format!("`{}` has no BAR {}", d.device, gb.index)).expected(
                            format!(
                                "one of its BARs: {}",
                                if have.is_empty() {
                                    "none".to_owned()
                                } else {
                                    have.join(", ")
                                }
                            ),
                        ),
                    );
                }
                Some(bar)
                    if gb
                        .gpa
                        .0
                        .checked_add(bar.range.end.0 - bar.range.start.0)
                        .is_none() =>
                {
                    let mut gp = bp.clone();
                    gp.extend(ypath!["gpa"]);
                    self.report(
                        gp,
                        Msg::new(format!("{:#x} plus the BAR's size passes 2^64", gb.gpa.0))
                            .expected("a guest address with room for the whole BAR"),
                    );
                }
                Some(_) => bars.push((gb.index, gb.gpa.0)),
            }
        }
        bars
    }

    /// The guest's platform and kernel (`vms[].guest`), QEMU's host bridge for the
    /// architecture where it is not given.
    fn guest(&mut self, v: &RawVm, vp: &Path, arch: Arch) -> Guest {
        let g = v.guest.as_ref();
        let release = g.and_then(|g| g.release.clone());
        let version = release.as_deref().and_then(|r| match r.parse::<Release>() {
            Ok(v) => Some(v),
            Err(_) => {
                let mut rp = vp.clone();
                rp.extend(ypath!["guest", "release"]);
                self.report(
                    rp,
                    Msg::new(format!("`{r}` is not a kernel release"))
                        .expected("a release such as `6.8.0-45-generic` or `newest`")
                        .help("leave it out: the guest then runs the host's release"),
                );
                None
            }
        });
        Guest {
            host_bridge: g
                .and_then(|g| g.host_bridge.as_ref())
                .map(|h| peerpath_model::PciId {
                    vendor: h.vendor,
                    device: h.device,
                })
                .unwrap_or(if arch == Arch::X86_64 {
                    Q35_HOST_BRIDGE
                } else {
                    GPEX_HOST_BRIDGE
                }),
            layout: g.and_then(|g| g.layout).unwrap_or_default(),
            acs: g.and_then(|g| g.acs).unwrap_or(true),
            release,
            version,
            cpu: g.and_then(|g| g.cpu.as_ref()).map(|c| Cpu {
                vendor: c.vendor.unwrap_or_default(),
                family: c.family,
            }),
        }
    }
}
