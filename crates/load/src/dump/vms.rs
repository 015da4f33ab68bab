//! `vms` (issue 18): each virtual machine, its devices and its guest, defaults left
//! out.

use peerpath_model::{
    Arch, GpaPlacement, GuestLayout, Platform, Viommu, Vm, VmmBackend, DEFAULT_MMIO64_BASE,
    GPEX_HOST_BRIDGE, Q35_HOST_BRIDGE,
};

use crate::raw::{Addr, RawCpu, RawGuest, RawGuestBar, RawPciId, RawVm, RawVmDevice};

use super::{name, unless};

/// The VMs.
pub(super) fn vms(p: &Platform) -> Vec<RawVm> {
    p.vms.iter().map(|v| vm(p, v)).collect()
}

/// One `vms` entry.
fn vm(p: &Platform, v: &Vm) -> RawVm {
    RawVm {
        name: v.name.clone(),
        devices: v
            .devices
            .iter()
            .map(|d| RawVmDevice {
                device: name(p, d.device),
                ats: d.ats,
                bars: d
                    .bars
                    .iter()
                    .map(|&(index, gpa)| RawGuestBar {
                        index,
                        gpa: Addr(gpa),
                    })
                    .collect(),
            })
            .collect(),
        backend: unless(v.backend, VmmBackend::VfioType1),
        map_bars: v.map_bars,
        viommu: unless(v.viommu, Viommu::None),
        gpa: unless(v.gpa, GpaPlacement::Vmm),
        mmio64_base: unless(v.mmio64_base, DEFAULT_MMIO64_BASE).map(Addr),
        guest: guest(p, v),
    }
}

/// The guest, `None` when every field is the default.
fn guest(p: &Platform, v: &Vm) -> Option<RawGuest> {
    let g = &v.guest;
    let default_hb = if p.kernel.arch == Arch::X86_64 {
        Q35_HOST_BRIDGE
    } else {
        GPEX_HOST_BRIDGE
    };
    let guest = RawGuest {
        host_bridge: (g.host_bridge != default_hb).then_some(RawPciId {
            vendor: g.host_bridge.vendor,
            device: g.host_bridge.device,
        }),
        layout: unless(g.layout, GuestLayout::RootPorts),
        acs: unless(g.acs, true),
        release: g.release.clone(),
        cpu: g.cpu.map(|c| RawCpu {
            vendor: Some(c.vendor),
            family: c.family,
        }),
    };
    let empty = guest.host_bridge.is_none()
        && guest.layout.is_none()
        && guest.acs.is_none()
        && guest.release.is_none()
        && guest.cpu.is_none();
    (!empty).then_some(guest)
}
