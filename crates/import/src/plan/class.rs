//! An endpoint's class (GPU, NIC, NVMe, accelerator, other), read by the endpoint step
//! and by the names, which take their prefix from it.

use peerpath_model::DeviceClass;

use crate::machine::PciDevice;

/// The display controller of a BMC, by its ids (`facts::BMC_DISPLAYS`).
pub(super) fn bmc_display(d: &PciDevice) -> Option<&'static crate::facts::BmcDisplay> {
    crate::facts::bmc_display(d.vendor?, d.device?)
}

/// The endpoint class from the class code, else the bound driver, else the name. A BMC's
/// display controller is no GPU: `other`, so it exports and imports nothing.
pub(super) fn device_class(d: &PciDevice) -> DeviceClass {
    if bmc_display(d).is_some() {
        return DeviceClass::Other;
    }
    if let Some(c) = d.class {
        return match c >> 16 {
            0x03 => DeviceClass::Gpu,
            0x02 => DeviceClass::Nic,
            0x01 if c >> 8 == 0x0108 => DeviceClass::Nvme,
            0x12 => DeviceClass::Accel,
            0x0b if c >> 8 == 0x0b40 => DeviceClass::Accel,
            _ => DeviceClass::Other,
        };
    }
    // The bound driver, when a kernel log names it (`xe 0000:07:00.0: …`).
    match d.driver.as_deref() {
        Some("xe" | "i915" | "amdgpu" | "radeon" | "nvidia" | "nouveau") => {
            return DeviceClass::Gpu
        }
        Some("nvme") => return DeviceClass::Nvme,
        Some("mlx5_core" | "ice" | "i40e" | "ixgbe" | "igb" | "bnxt_en") => {
            return DeviceClass::Nic
        }
        _ => {}
    }
    let n = d.name.as_deref().unwrap_or_default().to_ascii_lowercase();
    if n.contains("nvme") || n.contains("non-volatile") {
        DeviceClass::Nvme
    } else if n.contains("ethernet") || n.contains("connectx") || n.contains("network") {
        DeviceClass::Nic
    } else if n.contains("graphics")
        || n.contains("geforce")
        || n.contains("rtx")
        || n.contains("vga")
    {
        DeviceClass::Gpu
    } else {
        DeviceClass::Other
    }
}
