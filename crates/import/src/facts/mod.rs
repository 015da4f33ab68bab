//! What peerpath knows about hardware from its PCI ids alone: the knowledge base behind
//! the facts an import derives rather than reads (docs/import.md lists them).
//!
//! Every table has one row per fact and a source per row (the kernel file that holds
//! the id, or the `pci.ids` entry, `data/pci.ids`, version in [`pciids::version`]).
//! Tests read these tables; nothing outside this module repeats an id.
//!
//! - [`HOST_BRIDGE_CPUS`]: host bridge (root complex) and root port ids → CPU vendor,
//!   family and generation, read from the root bus's own function (the device the
//!   kernel's `pci_host_bridge_dev` takes);
//! - [`ROOT_VENDORS`]: the vendor id of a root-bus host bridge or root port → the
//!   architecture and CPU vendor;
//! - [`BMC_DISPLAYS`]: display controllers that belong to a baseboard management
//!   controller, not GPUs: they import nothing;
//! - [`pciids`]: device names → ids, for dumps taken without `lspci -nn`.

pub(crate) mod pciids;

use peerpath_model::{Arch, CpuVendor};

/// One CPU fact: a host bridge or root port id and the CPU whose root complex has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostBridgeCpu {
    /// PCI vendor id of the function.
    pub vendor: u16,
    /// PCI device id of the function.
    pub device: u16,
    /// The CPU's vendor.
    pub cpu: CpuVendor,
    /// The lowest x86 family that reports this id.
    pub family_min: u32,
    /// The highest x86 family that reports this id (equal to `family_min` when one
    /// family does).
    pub family_max: u32,
    /// Microarchitecture and code names.
    pub generation: &'static str,
    /// Where the id and its family come from.
    pub source: &'static str,
}

const AMD: u16 = 0x1022;
const INTEL: u16 = 0x8086;

/// Host bridge and root port ids → CPU. A range of families means the same id is
/// reported by parts of more than one family; the kernel's AMD rule (family >= 0x17,
/// `cpu_supports_p2pdma`) reads the same either way when the whole range is on one side.
/// The AMD rows' families come from the kernel's root complex ids, whose macro names say
/// the family and model (`PCI_DEVICE_ID_AMD_19H_M10H_ROOT` is family 19h, models 10h+).
#[rustfmt::skip]
pub(crate) const HOST_BRIDGE_CPUS: &[HostBridgeCpu] = &[
    // AMD, pre-Zen: the kernel refuses P2P through their host bridges (family < 0x17).
    HostBridgeCpu { vendor: AMD, device: 0x1705, cpu: CpuVendor::Amd, family_min: 0x12, family_max: 0x12, generation: "K10 APU (Llano)", source: "pci.ids 1022:1705 \"Family 12h Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1510, cpu: CpuVendor::Amd, family_min: 0x14, family_max: 0x14, generation: "Bobcat (Ontario, Zacate)", source: "pci.ids 1022:1510 \"Family 14h Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1410, cpu: CpuVendor::Amd, family_min: 0x15, family_max: 0x15, generation: "Piledriver APU (Trinity, Richland)", source: "pci.ids 1022:1410 \"Family 15h (Models 10h-1fh) Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1422, cpu: CpuVendor::Amd, family_min: 0x15, family_max: 0x15, generation: "Steamroller APU (Kaveri, Godavari)", source: "pci.ids 1022:1422 \"Family 15h (Models 30h-3fh) Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1576, cpu: CpuVendor::Amd, family_min: 0x15, family_max: 0x15, generation: "Excavator APU (Carrizo)", source: "pci.ids 1022:1576 \"Family 15h (Models 60h-6fh) Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1536, cpu: CpuVendor::Amd, family_min: 0x16, family_max: 0x16, generation: "Jaguar (Kabini, Temash)", source: "pci.ids 1022:1536 \"Family 16h Processor Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1566, cpu: CpuVendor::Amd, family_min: 0x16, family_max: 0x16, generation: "Puma (Beema, Mullins)", source: "pci.ids 1022:1566 \"Family 16h (Models 30h-3fh) Processor Root Complex\"" },
    // AMD Zen 1-5.
    HostBridgeCpu { vendor: AMD, device: 0x1450, cpu: CpuVendor::Amd, family_min: 0x17, family_max: 0x17, generation: "Zen/Zen+ (Naples, Summit Ridge, Pinnacle Ridge, Threadripper 1000/2000)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_17H_ROOT 0x1450; pci.ids \"Family 17h (Models 00h-0fh) Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x15d0, cpu: CpuVendor::Amd, family_min: 0x17, family_max: 0x17, generation: "Zen/Zen+ APU (Raven Ridge, Picasso)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_17H_M10H_ROOT 0x15d0; pci.ids \"Raven/Raven2 Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1480, cpu: CpuVendor::Amd, family_min: 0x17, family_max: 0x19, generation: "Zen 2 (Rome, Matisse, Castle Peak) or Zen 3 (Milan, Vermeer, Chagall)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_17H_M30H_ROOT 0x1480 (no separate root id for family 19h models 00h-2fh); pci.ids \"Starship/Matisse Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1630, cpu: CpuVendor::Amd, family_min: 0x17, family_max: 0x19, generation: "Zen 2 APU (Renoir, Lucienne) or Zen 3 APU (Cezanne)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_17H_M60H_ROOT 0x1630; pci.ids \"Renoir/Cezanne Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x14b5, cpu: CpuVendor::Amd, family_min: 0x17, family_max: 0x19, generation: "Zen 2 APU (Mendocino) or Zen 3+ APU (Rembrandt)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_17H_MA0H_ROOT and PCI_DEVICE_ID_AMD_19H_M40H_ROOT, both 0x14b5; pci.ids \"Family 17h-19h PCIe Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x14a4, cpu: CpuVendor::Amd, family_min: 0x19, family_max: 0x19, generation: "Zen 4 (Genoa, Bergamo)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_19H_M10H_ROOT 0x14a4; pci.ids \"Genoa/Bergamo Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x14d8, cpu: CpuVendor::Amd, family_min: 0x19, family_max: 0x1a, generation: "Zen 4 (Raphael) or Zen 5 (Granite Ridge)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_19H_M60H_ROOT 0x14d8; pci.ids \"Raphael/Granite Ridge Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x14e8, cpu: CpuVendor::Amd, family_min: 0x19, family_max: 0x19, generation: "Zen 4 APU (Phoenix)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_19H_M70H_ROOT 0x14e8; pci.ids \"Phoenix Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x153a, cpu: CpuVendor::Amd, family_min: 0x1a, family_max: 0x1a, generation: "Zen 5 (Turin)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_1AH_M00H_ROOT 0x153a; pci.ids \"Turin Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1507, cpu: CpuVendor::Amd, family_min: 0x1a, family_max: 0x1a, generation: "Zen 5 APU (Strix Point, Strix Halo)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_1AH_M20H_ROOT 0x1507; pci.ids \"Strix/Strix Halo Root Complex\"" },
    HostBridgeCpu { vendor: AMD, device: 0x1122, cpu: CpuVendor::Amd, family_min: 0x1a, family_max: 0x1a, generation: "Zen 5 APU (Krackan Point)", source: "Linux v6.12 arch/x86/kernel/amd_nb.c, amd_root_ids[]: PCI_DEVICE_ID_AMD_1AH_M60H_ROOT 0x1122; pci.ids \"Krackan Root Complex\"" },
    // Intel: family 6 for every generation below (Linux arch/x86/include/asm/intel-family.h:
    // SANDYBRIDGE_X IFM(6, 0x2D), IVYBRIDGE_X 0x3E, HASWELL_X 0x3F, BROADWELL_X 0x4F,
    // SKYLAKE_X 0x55, ICELAKE_X 0x6A, ALDERLAKE 0x97, RAPTORLAKE 0xB7, METEORLAKE 0xAA/0xAC).
    // The kernel's Intel P2P rule is the allow-list by id, not the family.
    HostBridgeCpu { vendor: INTEL, device: 0x3c00, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sandy Bridge-EP (Xeon E5)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Xeon E5/Core i7\"; pci.ids \"Xeon E5/Core i7 DMI2\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x3c01, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sandy Bridge-EP (Xeon E5)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Xeon E5/Core i7\"; pci.ids \"Xeon E5/Core i7 DMI2 in PCI Express Mode\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x0e00, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Ivy Bridge-EP (Xeon E5 v2/E7 v2)", source: "pci.ids 8086:0e00 \"Xeon E7 v2/Xeon E5 v2/Core i7 DMI2\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2f00, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Haswell-EP (Xeon E5 v3/E7 v3)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Xeon E7 v3/Xeon E5 v3/Core i7\"; pci.ids \"Xeon E7 v3/Xeon E5 v3/Core i7 DMI2\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2f01, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Haswell-EP (Xeon E5 v3/E7 v3)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Xeon E7 v3/Xeon E5 v3/Core i7\"; pci.ids \"Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 0\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x6f00, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Broadwell-EP (Xeon E5 v4/E7 v4)", source: "pci.ids 8086:6f00 \"Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D DMI2\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2020, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sky Lake-E (Xeon Scalable 1st/2nd gen: Skylake-SP, Cascade Lake)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Skylake-E\"; pci.ids \"Sky Lake-E DMI3 Registers\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2030, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sky Lake-E (Xeon Scalable 1st/2nd gen)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Skylake-E\"; pci.ids \"Sky Lake-E PCI Express Root Port A\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2031, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sky Lake-E (Xeon Scalable 1st/2nd gen)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Skylake-E\"; pci.ids \"Sky Lake-E PCI Express Root Port B\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2032, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sky Lake-E (Xeon Scalable 1st/2nd gen)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Skylake-E\"; pci.ids \"Sky Lake-E PCI Express Root Port C\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x2033, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Sky Lake-E (Xeon Scalable 1st/2nd gen)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[] \"Intel Skylake-E\"; pci.ids \"Sky Lake-E PCI Express Root Port D\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x09a2, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Ice Lake-SP (Xeon Scalable 3rd gen)", source: "Linux drivers/pci/p2pdma.c, pci_p2pdma_whitelist[], commit \"PCI/P2PDMA: Add Intel 3rd Gen Intel Xeon Scalable Processors to whitelist\" (lore 20220209162801.7647-1-michael.j.ruhl@intel.com); pci.ids \"Ice Lake Memory Map/VT-d\"" },
    // Intel client host bridges (none is on the allow-list: P2P through them is refused).
    HostBridgeCpu { vendor: INTEL, device: 0x4660, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Alder Lake-S (12th Gen Core, W680/Z690 boards)", source: "pci.ids 8086:4660 \"12th Gen Core Processor Host Bridge/DRAM Registers\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x4668, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Alder Lake-S (12th Gen Core)", source: "pci.ids 8086:4668 \"12th Gen Core Processor Host Bridge/DRAM Registers\"" },
    HostBridgeCpu { vendor: INTEL, device: 0xa703, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Raptor Lake-S (13th/14th Gen Core)", source: "pci.ids 8086:a703 \"Raptor Lake-S Host Bridge/DRAM Controller\"" },
    HostBridgeCpu { vendor: INTEL, device: 0x7d01, cpu: CpuVendor::Intel, family_min: 6, family_max: 6, generation: "Meteor Lake-H (Core Ultra 1st gen)", source: "pci.ids 8086:7d01 \"Meteor Lake-H 6p+8e cores Host Bridge/DRAM Controller\"" },
];

/// The CPU a host bridge or root port id belongs to.
pub(crate) fn host_bridge_cpu(vendor: u16, device: u16) -> Option<&'static HostBridgeCpu> {
    HOST_BRIDGE_CPUS
        .iter()
        .find(|r| r.vendor == vendor && r.device == device)
}

/// The row whose code names include one in `name`, for a root complex that lspci names
/// by a `pci.ids` entry this table's `pci.ids` does not have (another version: "Genoa/
/// Genoa-X Root Complex"). Only a name with "Root Complex" in it, only words that are a
/// code name of the row's `generation` (capitalised, four letters or more, not a word
/// every row uses), and only when every row with that word agrees on the CPU and family.
pub(crate) fn host_bridge_cpu_by_code_name(
    vendor: u16,
    name: &str,
) -> Option<(&'static HostBridgeCpu, String)> {
    if !name.contains("Root Complex") {
        return None;
    }
    const GENERIC: [&str; 6] = ["Root", "Complex", "Family", "Models", "PCIe", "Processor"];
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() >= 4 && w.starts_with(|c: char| c.is_ascii_uppercase()))
            .filter(|w| !GENERIC.contains(w))
            .map(str::to_string)
            .collect()
    };
    for w in words(name) {
        let rows: Vec<&'static HostBridgeCpu> = HOST_BRIDGE_CPUS
            .iter()
            .filter(|r| r.vendor == vendor && words(r.generation).contains(&w))
            .collect();
        let Some(first) = rows.first() else { continue };
        let agree = rows.iter().all(|r| {
            r.cpu == first.cpu
                && r.family_min == first.family_min
                && r.family_max == first.family_max
        });
        if agree {
            return Some((first, w));
        }
    }
    None
}

/// One vendor whose host bridges tell the architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RootVendor {
    /// PCI vendor id.
    pub vendor: u16,
    /// The architecture of every CPU whose root complex carries this vendor id.
    pub arch: Arch,
    /// The CPU vendor, as the platform format names it.
    pub cpu: CpuVendor,
    /// Who it is.
    pub who: &'static str,
    /// Where the vendor id comes from.
    pub source: &'static str,
}

/// Vendor ids of root-bus host bridges and root ports → architecture. Only vendors
/// that make CPUs of one architecture only; a host bridge of any other vendor tells
/// nothing (it may be a PCIe switch's or an add-in bridge's id).
#[rustfmt::skip]
pub(crate) const ROOT_VENDORS: &[RootVendor] = &[
    RootVendor { vendor: AMD, arch: Arch::X86_64, cpu: CpuVendor::Amd, who: "AMD", source: "pci.ids 1022 \"Advanced Micro Devices, Inc. [AMD]\"" },
    RootVendor { vendor: INTEL, arch: Arch::X86_64, cpu: CpuVendor::Intel, who: "Intel", source: "pci.ids 8086 \"Intel Corporation\"" },
    RootVendor { vendor: 0x1def, arch: Arch::Arm64, cpu: CpuVendor::Arm, who: "Ampere", source: "pci.ids 1def \"Ampere Computing, LLC\"" },
    RootVendor { vendor: 0x13b5, arch: Arch::Arm64, cpu: CpuVendor::Arm, who: "Arm", source: "pci.ids 13b5 \"ARM\"" },
    RootVendor { vendor: 0x177d, arch: Arch::Arm64, cpu: CpuVendor::Arm, who: "Cavium/Marvell (ThunderX)", source: "pci.ids 177d \"Cavium, Inc.\"" },
    RootVendor { vendor: 0x19e5, arch: Arch::Arm64, cpu: CpuVendor::Arm, who: "Huawei (Kunpeng)", source: "pci.ids 19e5 \"Huawei Technologies Co., Ltd.\"" },
    RootVendor { vendor: 0x17cb, arch: Arch::Arm64, cpu: CpuVendor::Arm, who: "Qualcomm", source: "pci.ids 17cb \"Qualcomm Technologies, Inc\"" },
    RootVendor { vendor: 0x1014, arch: Arch::Ppc64, cpu: CpuVendor::Ibm, who: "IBM", source: "pci.ids 1014 \"IBM\"" },
];

/// The architecture a root-bus vendor id tells.
pub(crate) fn root_vendor(vendor: u16) -> Option<&'static RootVendor> {
    ROOT_VENDORS.iter().find(|r| r.vendor == vendor)
}

/// A display controller of a baseboard management controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BmcDisplay {
    /// PCI vendor id.
    pub vendor: u16,
    /// PCI device id.
    pub device: u16,
    /// What it is.
    pub what: &'static str,
    /// Where the id comes from.
    pub source: &'static str,
}

/// Display controllers that belong to BMCs: a 2D framebuffer for the remote console,
/// never a P2P peer. Matrox's server G200 variants are the ones the kernel's mgag200
/// driver lists as BMC-attached (`drivers/gpu/drm/mgag200/mgag200_drv.c`, `pciidlist[]`).
/// Nuvoton's BMCs show their display through these Matrox ids (G200eW "WPCM450"); pci.ids
/// has no Nuvoton display of its own.
#[rustfmt::skip]
pub(crate) const BMC_DISPLAYS: &[BmcDisplay] = &[
    BmcDisplay { vendor: 0x1a03, device: 0x2000, what: "ASPEED AST2x00 BMC display", source: "pci.ids 1a03:2000 \"ASPEED Graphics Family\"" },
    BmcDisplay { vendor: 0x102b, device: 0x0522, what: "Matrox G200e on a ServerEngines Pilot BMC", source: "pci.ids 102b:0522 \"MGA G200e [Pilot] ServerEngines (SEP1)\"; Linux mgag200 pciidlist[] G200_SE_A" },
    BmcDisplay { vendor: 0x102b, device: 0x0530, what: "Matrox G200eV BMC display", source: "pci.ids 102b:0530 \"MGA G200EV\"; Linux mgag200 pciidlist[] G200_EV" },
    BmcDisplay { vendor: 0x102b, device: 0x0532, what: "Matrox G200eW on a Nuvoton WPCM450 BMC", source: "pci.ids 102b:0532 \"MGA G200eW WPCM450\"; Linux mgag200 pciidlist[] G200_WB" },
    BmcDisplay { vendor: 0x102b, device: 0x0533, what: "Matrox G200eH (HPE iLO) BMC display", source: "pci.ids 102b:0533 \"MGA G200EH\"; Linux mgag200 pciidlist[] G200_EH" },
    BmcDisplay { vendor: 0x102b, device: 0x0534, what: "Matrox G200eR2 on a Renesas BMC", source: "pci.ids 102b:0534 \"G200eR2\"; Linux mgag200 pciidlist[] G200_ER" },
    BmcDisplay { vendor: 0x102b, device: 0x0536, what: "Matrox G200eW3 BMC display", source: "pci.ids 102b:0536 \"Integrated Matrox G200eW3 Graphics Controller\"; Linux mgag200 pciidlist[] G200_EW3" },
    BmcDisplay { vendor: 0x102b, device: 0x0538, what: "Matrox G200eH3 (HPE iLO 5) BMC display", source: "pci.ids 102b:0538 \"MGA G200eH3\"; Linux mgag200 pciidlist[] G200_EH3" },
    BmcDisplay { vendor: 0x19e5, device: 0x1711, what: "Huawei Hi171x iBMC display", source: "pci.ids 19e5:1711 \"Hi171x Series [iBMC Intelligent Management system chip w/VGA support]\"" },
];

/// The BMC display an id belongs to.
pub(crate) fn bmc_display(vendor: u16, device: u16) -> Option<&'static BmcDisplay> {
    BMC_DISPLAYS
        .iter()
        .find(|r| r.vendor == vendor && r.device == device)
}

#[cfg(test)]
mod tests;
