//! The vendors a generated platform can be: architecture, CPU, IOMMU kind,
//! translation placement and host bridge ids. `peerpath generate --flavor` picks one;
//! the testkit's random platforms draw one (its `Knobs::flavor`).

use peerpath_model::{Arch, Cpu, CpuVendor, IommuKind, PciId, Translation};

/// A vendor's platform: architecture, CPU, IOMMU kind, translation placement and the
/// ids its host bridges show the allow-list (K1.6, K1.7).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum Flavor {
    /// arm64, an SMMUv3 per host bridge, root ports behind external TBUs.
    #[default]
    Arm,
    /// x86_64 AMD Zen (family 0x19: the CPU rule holds), AMD-Vi, integrated translation.
    Amd,
    /// x86_64 Intel, VT-d, integrated translation, host bridges on or off the allow-list.
    Intel,
    /// ppc64 with a TCE IOMMU (arch DMA ops without `map_resource`, K3.6).
    Power,
}

impl Flavor {
    /// Every flavor.
    pub const ALL: [Flavor; 4] = [Flavor::Arm, Flavor::Amd, Flavor::Intel, Flavor::Power];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Arm => "arm",
            Flavor::Amd => "amd",
            Flavor::Intel => "intel",
            Flavor::Power => "power",
        }
    }

    /// Parses a name of [`Flavor::as_str`].
    pub fn from_name(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// `kernel.arch`.
    pub fn arch(self) -> Arch {
        match self {
            Flavor::Arm => Arch::Arm64,
            Flavor::Amd | Flavor::Intel => Arch::X86_64,
            Flavor::Power => Arch::Ppc64,
        }
    }

    /// `kernel.cpu`.
    pub fn cpu(self) -> Cpu {
        match self {
            Flavor::Arm => Cpu {
                vendor: CpuVendor::Arm,
                family: None,
            },
            Flavor::Amd => Cpu {
                vendor: CpuVendor::Amd,
                family: Some(0x19),
            },
            Flavor::Intel => Cpu {
                vendor: CpuVendor::Intel,
                family: Some(6),
            },
            Flavor::Power => Cpu {
                vendor: CpuVendor::Ibm,
                family: None,
            },
        }
    }

    /// The IOMMU kind.
    pub fn iommu_kind(self) -> IommuKind {
        match self {
            Flavor::Arm => IommuKind::Smmuv3,
            Flavor::Amd => IommuKind::AmdVi,
            Flavor::Intel => IommuKind::Vtd,
            Flavor::Power => IommuKind::Tce,
        }
    }

    /// Where the translation agent sits.
    pub fn translation(self) -> Translation {
        match self {
            Flavor::Arm => Translation::ExternalTbu,
            Flavor::Amd | Flavor::Intel | Flavor::Power => Translation::Integrated,
        }
    }

    /// Host bridge ids of this vendor as the allow-list sees them; the first is the
    /// usual one. Intel's include one allowed across host bridges (0x09a2), one only
    /// below one host bridge (0x2f00) and one not listed; Arm's an NVIDIA CPU that is
    /// listed (0x2f95) and an Arm one that is not.
    pub fn host_bridge_ids(self) -> &'static [Option<PciId>] {
        const fn id(vendor: u16, device: u16) -> Option<PciId> {
            Some(PciId { vendor, device })
        }
        const ARM: [Option<PciId>; 3] = [id(0x13b5, 0x0001), id(0x10de, 0x2f95), None];
        const AMD: [Option<PciId>; 2] = [id(0x1022, 0x14a4), None];
        const INTEL: [Option<PciId>; 3] =
            [id(0x8086, 0x09a2), id(0x8086, 0x2f00), id(0x8086, 0x0998)];
        const POWER: [Option<PciId>; 2] = [id(0x1014, 0x04c1), None];
        match self {
            Flavor::Arm => &ARM,
            Flavor::Amd => &AMD,
            Flavor::Intel => &INTEL,
            Flavor::Power => &POWER,
        }
    }
}
