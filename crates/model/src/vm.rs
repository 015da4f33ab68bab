//! Virtual machines with assigned devices (rules.md V, issue 18): which devices a VM
//! has, how its VMM maps them, where the guest sees their BARs and the guest's own
//! virtual platform. A peerpath addition to the platform format (docs/vms.md).

use crate::{GpaPlacement, GuestLayout, NodeId, PciId, Viommu, VmmBackend};

/// One VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    /// `name`.
    pub name: String,
    /// `backend`.
    pub backend: VmmBackend,
    /// `map_bars`: whether the VMM maps the assigned devices' BARs into the IOAS (V1);
    /// `None`: not stated (vfio-type1: yes; iommufd: where the host kernel exports
    /// VFIO dma-bufs, an assumption said out loud).
    pub map_bars: Option<bool>,
    /// `viommu`.
    pub viommu: Viommu,
    /// `gpa`.
    pub gpa: GpaPlacement,
    /// `mmio64_base`: start of the guest's 64-bit MMIO window (`gpa: vmm`).
    pub mmio64_base: u64,
    /// `devices`, in file order.
    pub devices: Vec<VmDevice>,
    /// `guest`.
    pub guest: Guest,
}

impl Vm {
    /// The assigned device entry of `dev`, if it is assigned to this VM.
    pub fn device(&self, dev: NodeId) -> Option<&VmDevice> {
        self.devices.iter().find(|d| d.device == dev)
    }
}

/// One assigned device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmDevice {
    /// `device`: the host endpoint.
    pub device: NodeId,
    /// `ats`: `Some(false)` keeps ATS off for it (V4); `None`/`Some(true)`: the host
    /// kernel's rule (H2) decides.
    pub ats: Option<bool>,
    /// `bars`: explicit guest addresses, by BAR index.
    pub bars: Vec<(u8, u64)>,
}

/// `vms[].guest`: the guest's virtual platform (V6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guest {
    /// `host_bridge`: the VMM's host bridge id as the guest's allow-list sees it.
    pub host_bridge: PciId,
    /// `layout`.
    pub layout: GuestLayout,
    /// `acs`: the VMM's virtual ports have an ACS capability (QEMU's `pcie-root-port`
    /// and xio3130 ports do unless `disable-acs`).
    pub acs: bool,
    /// `release` as written; `None`: the host's.
    pub release: Option<String>,
    /// The mainline release `release` names.
    pub version: Option<crate::Release>,
    /// `cpu`: what the guest's CPUID says; `None`: the host's (`-cpu host`).
    pub cpu: Option<crate::Cpu>,
}

/// QEMU's q35 host bridge (`hw/pci-host/q35.c`: `PCI_DEVICE_ID_INTEL_Q35_MCH`).
pub const Q35_HOST_BRIDGE: PciId = PciId {
    vendor: 0x8086,
    device: 0x29c0,
};
/// QEMU's generic PCIe host bridge of the Arm `virt` machine (`hw/pci-host/gpex.c`:
/// `PCI_DEVICE_ID_REDHAT_PCIE_HOST`).
pub const GPEX_HOST_BRIDGE: PciId = PciId {
    vendor: 0x1b36,
    device: 0x0008,
};
/// The default `mmio64_base`: 512 GiB (an assumption: the guest firmware chooses).
pub const DEFAULT_MMIO64_BASE: u64 = 0x80_0000_0000;
