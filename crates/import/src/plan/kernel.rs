//! Step 2: the kernel section: architecture and CPU (from the dump, the command line, or
//! guessed from the host bridges' vendor ids and names), the IOMMU, and the kernel's
//! command-line knobs.

use peerpath_load::raw::{RawCpu, RawIommu, RawKernel};
use peerpath_model::{Arch, Bdf, CpuVendor, IommuKind};

use super::nodes::Layout;
use super::{flag, Ctx, Notes, Role};
use crate::facts;
use crate::machine::{DeviceKind, Machine, PciDevice};

/// The kernel and CPU the platform is written for, and its IOMMUs.
#[derive(Debug)]
pub(super) struct Kernel {
    pub arch: Arch,
    pub cpu_vendor: CpuVendor,
    pub cpu_family: Option<u32>,
    pub iommus: Vec<RawIommu>,
    /// The kernel facts the dump did not give (`assumed:`, issue 24).
    pub assumed: Vec<&'static str>,
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
    let mut assumed = Vec::new();
    let from_ids = cpu_from_host_bridges(m, notes);
    let cpu_vendor = match (opts.cpu_vendor.or(m.kernel.cpu_vendor), &from_ids, &guess) {
        (Some(v), _, _) => {
            if opts.cpu_vendor.is_some() {
                notes.add(format!("kernel.cpu.vendor: {v}, given on the command line"));
            }
            v
        }
        (None, Some((v, _, _)), _) => {
            notes.add(format!(
                "kernel.cpu.vendor: {v}, derived from the host bridge id that gives kernel.cpu.family"
            ));
            *v
        }
        (None, None, Some((_, v, why))) => {
            notes.add(format!("kernel.cpu.vendor: {v}, {why}"));
            assumed.push("kernel.cpu.vendor");
            *v
        }
        (None, None, None) => match arch {
            Arch::Arm64 => CpuVendor::Arm,
            Arch::Ppc64 => CpuVendor::Ibm,
            Arch::X86_64 => {
                notes.add("kernel.cpu.vendor: other, not in the dump");
                assumed.push("kernel.cpu.vendor");
                CpuVendor::Other
            }
        },
    };
    // A family derived from ids counts only for the vendor it belongs to.
    let from_ids = from_ids.filter(|(v, _, _)| *v == cpu_vendor);
    let cpu_family = match (
        opts.cpu_family.or(m.kernel.cpu_family),
        from_ids,
        family_from_names(m),
    ) {
        (Some(f), _, _) => {
            if opts.cpu_family.is_some() {
                notes.add(format!(
                    "kernel.cpu.family: {f:#x}, given on the command line"
                ));
            }
            Some(f)
        }
        (None, Some((_, f, why)), _) => {
            notes.add(format!("kernel.cpu.family: {why}"));
            Some(f)
        }
        (None, None, Some((f, b))) => {
            notes.add(format!("kernel.cpu.family: {f:#x}, from the name of {b}"));
            assumed.push("kernel.cpu.family");
            Some(f)
        }
        (None, None, None) => {
            if cpu_vendor == CpuVendor::Amd {
                assumed.push("kernel.cpu.family");
                notes.add("kernel.cpu.family: not in the dump, and not derived from the root-bus host bridge ids (none is in peerpath's table, crates/import/src/facts, or they disagree); K1.6 allows P2P through AMD host bridges only for family >= 0x17 (Zen): give --cpu-family");
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
        assumed.push("kernel.default_domain");
    }
    if m.kernel.release.is_none() {
        assumed.push("kernel.release");
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
        assumed,
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

/// The functions on root buses that tell the CPU: host bridge functions and root ports
/// (the kernel's `pci_host_bridge_dev` takes the first of them on each root bus).
fn root_functions(m: &Machine) -> impl Iterator<Item = &PciDevice> + '_ {
    m.devices.iter().filter(|d| {
        d.parent.is_none() && (d.kind == DeviceKind::HostBridge || d.kind == DeviceKind::RootPort)
    })
}

/// Where a fact was read: `0000:00:00.0 (1022:14a4, line 1)`.
fn at(d: &PciDevice) -> String {
    let ids = match (d.vendor, d.device) {
        (Some(v), Some(dv)) => format!("{v:04x}:{dv:04x}"),
        (Some(v), None) => format!("vendor {v:04x}"),
        _ => "no ids".to_string(),
    };
    let from_name = if d.ids_from_name {
        ", ids from its name"
    } else {
        ""
    };
    match d.line {
        Some(l) => format!("{} ({ids}{from_name}, dump line {l})", d.bdf),
        None => format!("{} ({ids}{from_name})", d.bdf),
    }
}

/// CPU vendor and family from a code name in a root complex's name, where no id is known
/// (lspci's `pci.ids` names it differently from ours, so the name gave no device id):
/// said as the guess it is, with the word and the row it matched.
fn cpu_from_code_names(m: &Machine, notes: &mut Notes) -> Option<(CpuVendor, u32, String)> {
    let (d, r, word) = root_functions(m).find_map(|d| {
        let vendor = d.vendor?;
        let name = d.name.as_deref()?;
        let (r, w) = facts::host_bridge_cpu_by_code_name(vendor, name)?;
        Some((d, r, w))
    })?;
    if d.device.is_some() {
        // The id is known and in no row: the name does not overrule it.
        return None;
    }
    notes.add(format!(
        "kernel.cpu: derived from the code name \"{word}\" in the name of {} (`{}`), which pci.ids {} does not have: the row of {:04x}:{:04x} ({}) is the only one with that code name; an assumption, give --cpu-family to override",
        at(d),
        d.name.as_deref().unwrap_or_default(),
        facts::pciids::version(),
        r.vendor,
        r.device,
        r.generation
    ));
    Some((
        r.cpu,
        r.family_min,
        format!(
            "{:#x}, {}, by the code name \"{word}\" of {} (source of the row: {})",
            r.family_min,
            r.generation,
            at(d),
            r.source
        ),
    ))
}

/// Architecture and CPU vendor from the vendor ids of the root buses' host bridges and
/// root ports (`facts::ROOT_VENDORS`).
fn guess_platform(m: &Machine) -> Option<(Arch, CpuVendor, String)> {
    root_functions(m).find_map(|d| {
        let r = facts::root_vendor(d.vendor?)?;
        Some((
            r.arch,
            r.cpu,
            format!(
                "derived from the {} vendor id of {} on a root bus ({})",
                r.who,
                at(d),
                r.source
            ),
        ))
    })
}

/// CPU vendor and family from the root buses' host bridge and root port ids
/// (`facts::HOST_BRIDGE_CPUS`): `None` when no id is known; a note, and `None`, when the
/// known ids disagree.
fn cpu_from_host_bridges(m: &Machine, notes: &mut Notes) -> Option<(CpuVendor, u32, String)> {
    let hits: Vec<(&PciDevice, &'static facts::HostBridgeCpu)> = root_functions(m)
        .filter_map(|d| Some((d, facts::host_bridge_cpu(d.vendor?, d.device?)?)))
        .collect();
    if hits.is_empty() {
        return cpu_from_code_names(m, notes);
    }
    let (d, first) = *hits.first()?;
    if let Some((other, r)) = hits.iter().find(|(_, r)| {
        r.cpu != first.cpu || r.family_min != first.family_min || r.family_max != first.family_max
    }) {
        notes.add(format!(
            "kernel.cpu: not derived: the host bridges disagree ({} says {}, {} says {})",
            at(d),
            first.generation,
            at(other),
            r.generation
        ));
        return None;
    }
    let family = if first.family_min == first.family_max {
        format!("{:#x}", first.family_min)
    } else {
        format!(
            "{:#x} (the id is reported by families {:#x} to {:#x}; K1.6 reads the same for all of them)",
            first.family_min, first.family_min, first.family_max
        )
    };
    Some((
        first.cpu,
        first.family_min,
        format!(
            "{family}, {}, derived from host bridge {} ({} root-bus function(s) with ids in the table, all agreeing; source: {})",
            first.generation,
            at(d),
            hits.len(),
            first.source
        ),
    ))
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

#[cfg(test)]
mod tests {
    use crate::{parse_lspci, to_platform_yaml, ImportOptions};

    fn yaml(text: &str) -> String {
        to_platform_yaml(&parse_lspci(text, None), &ImportOptions::default())
    }

    /// Issue 24: the family from the root complex's id, with the row and the line.
    #[test]
    fn family_from_the_root_complex_id() {
        let y = yaml("00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Device [1022:14a4] (rev 01)\n");
        assert!(y.contains("cpu: {vendor: amd, family: 25}"), "{y}");
        assert!(y.contains("kernel.cpu.family: 0x19, Zen 4 (Genoa, Bergamo), derived from host bridge 0000:00:00.0 (1022:14a4, dump line 1)"), "{y}");
    }

    /// A name from another pci.ids version gives no id; its code name gives the family,
    /// said as an assumption.
    #[test]
    fn family_from_a_code_name_when_the_name_gives_no_id() {
        let y = yaml("00:00.0 Host bridge: Advanced Micro Devices, Inc. [AMD] Genoa/Genoa-X Root Complex (rev 01)\n");
        assert!(y.contains("cpu: {vendor: amd, family: 25}"), "{y}");
        assert!(
            y.contains("kernel.cpu: derived from the code name \"Genoa\""),
            "{y}"
        );
        // A known id that is in no row is not overruled by its name.
        let y = yaml("00:00.0 Host bridge [0600]: Advanced Micro Devices, Inc. [AMD] Genoa Root Complex [1022:9999]\n");
        assert!(y.contains("cpu: {vendor: amd}"), "{y}");
        assert!(y.contains("give --cpu-family"), "{y}");
    }

    /// Disagreeing root complexes derive nothing.
    #[test]
    fn disagreeing_root_complexes_derive_nothing() {
        let y = yaml("00:00.0 Host bridge [0600]: AMD [1022:14a4]\n\n40:00.0 Host bridge [0600]: AMD [1022:1450]\n");
        assert!(
            y.contains("kernel.cpu: not derived: the host bridges disagree"),
            "{y}"
        );
        assert!(y.contains("cpu: {vendor: amd}"), "{y}");
    }
}
