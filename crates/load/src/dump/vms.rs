//! `vms` (issue 18): each virtual machine, its devices and its guest, defaults left
//! out; and `ide_streams` (issue 22), the P2P IDE streams between TDIs.

use peerpath_model::{
    Arch, Cpu, GpaPlacement, Guest, GuestLayout, Platform, Viommu, Vm, VmDevice, VmmBackend,
    DEFAULT_MMIO64_BASE, GPEX_HOST_BRIDGE, Q35_HOST_BRIDGE,
};

use crate::raw::{Addr, RawCpu, RawGuest, RawGuestBar, RawIdeStream, RawVm, RawVmDevice};

use super::ports::pci_id;
use super::{name, unless};

/// The VMs.
pub(super) fn vms(p: &Platform, vms: &[Vm]) -> Vec<RawVm> {
    vms.iter().map(|v| vm(p, v)).collect()
}

/// The P2P IDE streams (C3), as listed.
pub(super) fn ide_streams(p: &Platform, list: &[peerpath_model::IdeStream]) -> Vec<RawIdeStream> {
    list.iter()
        .map(|s| {
            let peerpath_model::IdeStream { name: n, ends } = s;
            RawIdeStream {
                name: n.clone(),
                ends: ends.iter().map(|e| name(p, *e)).collect(),
            }
        })
        .collect()
}

/// One `vms` entry.
fn vm(p: &Platform, v: &Vm) -> RawVm {
    let Vm {
        name: n,
        backend,
        map_bars,
        viommu,
        gpa,
        mmio64_base,
        devices,
        guest: g,
    } = v;
    RawVm {
        name: n.clone(),
        devices: devices
            .iter()
            .map(|VmDevice { device, ats, bars }| RawVmDevice {
                device: name(p, *device),
                ats: *ats,
                bars: bars
                    .iter()
                    .map(|&(index, gpa)| RawGuestBar {
                        index,
                        gpa: Addr(gpa),
                    })
                    .collect(),
            })
            .collect(),
        backend: unless(*backend, VmmBackend::VfioType1),
        map_bars: *map_bars,
        viommu: unless(*viommu, Viommu::None),
        gpa: unless(*gpa, GpaPlacement::Vmm),
        mmio64_base: unless(*mmio64_base, DEFAULT_MMIO64_BASE).map(Addr),
        guest: guest(p, g),
    }
}

/// The guest, `None` when every field is the default.
fn guest(p: &Platform, g: &Guest) -> Option<RawGuest> {
    let Guest {
        host_bridge,
        layout,
        acs,
        release,
        // Parsed from `release` by the loader.
        version: _,
        cpu,
    } = g;
    let default_hb = if p.kernel.arch == Arch::X86_64 {
        Q35_HOST_BRIDGE
    } else {
        GPEX_HOST_BRIDGE
    };
    let guest = RawGuest {
        host_bridge: pci_id((*host_bridge != default_hb).then_some(*host_bridge)),
        layout: unless(*layout, GuestLayout::RootPorts),
        acs: unless(*acs, true),
        release: release.clone(),
        cpu: cpu.map(|Cpu { vendor, family }| RawCpu {
            vendor: Some(vendor),
            family,
        }),
    };
    let empty = guest.host_bridge.is_none()
        && guest.layout.is_none()
        && guest.acs.is_none()
        && guest.release.is_none()
        && guest.cpu.is_none();
    (!empty).then_some(guest)
}
