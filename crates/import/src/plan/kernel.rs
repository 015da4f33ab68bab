//! Step 2: the kernel section: architecture and CPU (from the dump, the command line, or
//! guessed from the host bridges' vendor ids and names), the IOMMU, and the kernel's
//! command-line knobs.

use peerpath_load::raw::{RawCpu, RawIommu, RawKernel};
use peerpath_model::{Arch, Bdf, CpuVendor, IommuKind};

use super::nodes::Layout;
use super::{flag, Ctx, Notes, Role};
use crate::machine::{DeviceKind, Machine};

/// The kernel and CPU the platform is written for, and its IOMMUs.
#[derive(Debug)]
pub(super) struct Kernel {
    pub arch: Arch,
    pub cpu_vendor: CpuVendor,
    pub cpu_family: Option<u32>,
    pub iommus: Vec<RawIommu>,
}

impl Kernel {
    /// The `kernel` section, with the `disable_acs_redir` ports found by name.
    pub(super) fn raw(&self, cx: &Ctx<'_>, disable_acs_redir: Vec<String>) -> RawKernel {
        let k = &cx.m.kernel;
        RawKernel {
            // Only a release the loader reads (issue 24); `kernel()` notes the others.
            release: k
                .release
                .clone()
                .filter(|r| r.parse::<peerpath_model::Release>().is_ok()),
            arch: Some(self.arch),
            cpu: Some(RawCpu {
                vendor: Some(self.cpu_vendor),
                family: self.cpu_family,
            }),
            default_domain: k.default_domain,
            noats: flag(k.noats),
            pcie_bus_config: k.pcie_bus_config,
            disable_acs_redir,
            ..RawKernel::default()
        }
    }

    /// AMD Zen (family >= 0x17), whose data fabric forwards peer traffic.
    pub(super) fn is_zen(&self) -> bool {
        self.arch == Arch::X86_64
            && self.cpu_vendor == CpuVendor::Amd
            && self.cpu_family.unwrap_or(0) >= 0x17
    }
}

/// Architecture, CPU and IOMMU; notes every one not read from the dump.
pub(super) fn kernel(cx: &Ctx<'_>, notes: &mut Notes) -> Kernel {
    let (m, opts) = (cx.m, cx.opts);
    let guess = guess_platform(m);
    let arch = if let Some(a) = opts.arch {
        notes.add(format!("kernel.arch: {a}, given on the command line"));
        a
    } else if let Some(a) = m.kernel.arch {
        a
    } else if let Some((a, _, why)) = &guess {
        notes.add(format!("kernel.arch: {a}, {why}"));
        *a
    } else {
        notes.add(
            "kernel.arch: arm64, the format's default: nothing in the dump tells the architecture",
        );
        Arch::Arm64
    };
    let cpu_vendor = match (opts.cpu_vendor.or(m.kernel.cpu_vendor), &guess) {
        (Some(v), _) => {
            if opts.cpu_vendor.is_some() {
                notes.add(format!("kernel.cpu.vendor: {v}, given on the command line"));
            }
            v
        }
        (None, Some((_, v, why))) => {
            notes.add(format!("kernel.cpu.vendor: {v}, {why}"));
            *v
        }
        (None, None) => match arch {
            Arch::Arm64 => CpuVendor::Arm,
            Arch::Ppc64 => CpuVendor::Ibm,
            Arch::X86_64 => {
                notes.add("kernel.cpu.vendor: other, not in the dump");
                CpuVendor::Other
            }
        },
    };
    let cpu_family = match (
        opts.cpu_family.or(m.kernel.cpu_family),
        family_from_names(m),
    ) {
        (Some(f), _) => {
            if opts.cpu_family.is_some() {
                notes.add(format!(
                    "kernel.cpu.family: {f:#x}, given on the command line"
                ));
            }
            Some(f)
        }
        (None, Some((f, b))) => {
            notes.add(format!("kernel.cpu.family: {f:#x}, from the name of {b}"));
            Some(f)
        }
        (None, None) => {
            if cpu_vendor == CpuVendor::Amd {
                notes.add("kernel.cpu.family: not in the dump; K1.6 allows P2P through AMD host bridges only for family >= 0x17 (Zen): add it");
            }
            None
        }
    };
    if let Some(r) = m
        .kernel
        .release
        .as_deref()
        .filter(|r| r.parse::<peerpath_model::Release>().is_err())
    {
        notes.add(format!(
            "kernel.release: `{r}` in the dump is not a release peerpath reads; left out, so the newest modelled kernel applies"
        ));
    }
    if m.kernel.default_domain.is_none() {
        notes.add("kernel.default_domain: not in the dump, left to the format's default (dma)");
    }
    if let Some(n) = &m.kernel.cmdline_note {
        notes.add(format!("kernel command line {n}"));
    }
    let iommu = iommu(cx, arch, cpu_vendor, notes);
    let iommus = iommu
        .map(|kind| RawIommu {
            name: "iommu0".to_string(),
            kind,
            ats: None,
            disable_bypass: None,
            tbus: Vec::new(),
            stream_map: Vec::new(),
        })
        .into_iter()
        .collect();
    Kernel {
        arch,
        cpu_vendor,
        cpu_family,
        iommus,
    }
}

/// The IOMMU's kind: from the dump, or guessed from the architecture when the dump has
/// IOMMU groups; none when the command line turns it off or nothing shows one.
fn iommu(cx: &Ctx<'_>, arch: Arch, cpu_vendor: CpuVendor, notes: &mut Notes) -> Option<IommuKind> {
    let m = cx.m;
    let iommu = if m.kernel.iommu_off {
        notes.add("no IOMMU: the kernel command line turns it off");
        None
    } else if let Some(k) = m.kernel.iommu {
        Some(k)
    } else if cx.have_groups() {
        let k = match (arch, cpu_vendor) {
            (Arch::Arm64, _) => IommuKind::Smmuv3,
            (Arch::Ppc64, _) => IommuKind::Tce,
            (Arch::X86_64, CpuVendor::Intel) => IommuKind::Vtd,
            (Arch::X86_64, _) => IommuKind::AmdVi,
        };
        notes.add(format!(
            "iommus: one {k} IOMMU translating for every host bridge: the dump has IOMMU groups; the kind is guessed from the architecture"
        ));
        Some(k)
    } else {
        notes.add("iommus: none: the dump shows no IOMMU groups and no IOMMU driver");
        None
    };
    if iommu == Some(IommuKind::Smmuv3) {
        notes.add("host bridges' translation: left to the format's default (integrated); the dump does not say where the SMMU's TBUs sit");
    }
    iommu
}

/// Architecture and CPU vendor from the host bridges' vendor ids or names.
fn guess_platform(m: &Machine) -> Option<(Arch, CpuVendor, String)> {
    let vendor_of = |v: u16| -> Option<(Arch, CpuVendor, &'static str)> {
        Some(match v {
            0x1022 => (Arch::X86_64, CpuVendor::Amd, "AMD"),
            0x8086 => (Arch::X86_64, CpuVendor::Intel, "Intel"),
            0x1def => (Arch::Arm64, CpuVendor::Arm, "Ampere"),
            0x13b5 => (Arch::Arm64, CpuVendor::Arm, "Arm"),
            0x177d => (Arch::Arm64, CpuVendor::Arm, "Cavium/Marvell"),
            0x19e5 => (Arch::Arm64, CpuVendor::Arm, "Huawei"),
            0x17cb => (Arch::Arm64, CpuVendor::Arm, "Qualcomm"),
            0x1014 => (Arch::Ppc64, CpuVendor::Ibm, "IBM"),
            _ => return None,
        })
    };
    let root_fns = m.devices.iter().filter(|d| {
        d.parent.is_none() && (d.kind == DeviceKind::HostBridge || d.kind == DeviceKind::RootPort)
    });
    for d in root_fns.clone() {
        if let Some((arch, cpu, who)) = d.vendor.and_then(vendor_of) {
            return Some((
                arch,
                cpu,
                format!(
                    "guessed from vendor id {:#06x} ({who}) of {} on a root bus",
                    d.vendor.unwrap_or(0),
                    d.bdf
                ),
            ));
        }
    }
    for d in root_fns.chain(m.devices.iter()) {
        let n = d.name.as_deref().unwrap_or_default();
        let hit = if n.starts_with("Advanced Micro Devices") {
            Some((Arch::X86_64, CpuVendor::Amd, "Advanced Micro Devices"))
        } else if n.starts_with("Intel Corporation") && d.parent.is_none() {
            Some((Arch::X86_64, CpuVendor::Intel, "Intel Corporation"))
        } else if n.starts_with("Ampere Computing") {
            Some((Arch::Arm64, CpuVendor::Arm, "Ampere Computing"))
        } else {
            None
        };
        if let Some((arch, cpu, who)) = hit {
            return Some((
                arch,
                cpu,
                format!("guessed from the name \"{who}\" of {}", d.bdf),
            ));
        }
    }
    None
}

/// x86 family from names such as "Family 17h (Models 00h-0fh) Root Complex".
fn family_from_names(m: &Machine) -> Option<(u32, Bdf)> {
    m.devices.iter().find_map(|d| {
        let n = d.name.as_deref()?;
        let at = n.find("Family ")?;
        let tok = n[at + "Family ".len()..].split_whitespace().next()?;
        let hex = tok.strip_suffix('h')?;
        Some((u32::from_str_radix(hex, 16).ok()?, d.bdf))
    })
}

/// `pci=disable_acs_redir` entries of the command line, as the names of the ports they
/// name; entries that name no port are noted and left out.
pub(super) fn disable_acs_redir(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    notes: &mut Notes,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in &cx.m.kernel.disable_acs_redir {
        let hit = crate::text::bdf_at_start(s)
            .ok()
            .flatten()
            .and_then(|bm| layout.placed.get(&bm.bdf))
            .filter(|(r, _)| *r != Role::Endpoint);
        match hit {
            Some((_, n)) => out.push(n.clone()),
            None => notes.add(format!(
                "pci=disable_acs_redir entry `{s}` names no port of the platform: left out"
            )),
        }
    }
    out
}
