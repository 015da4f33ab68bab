//! Laying a [`Machine`] out as a platform: which node each function becomes, its name,
//! its parent, and every value the dump does not give — each such assumption written to
//! the file's comment header.

use std::collections::{BTreeMap, BTreeSet};

use peerpath_model::{
    Acs, AcsFlags, AddrRange, Arch, Bdf, CpuVendor, DeviceClass, Driver, ForwardsP2p, IommuKind,
    MPS_VALUES, PAGE_SIZE,
};

use crate::emit::{
    render, DocBar, DocBridge, DocEndpoint, DocExport, DocHostBridge, DocIommu, DocKernel, DocPort,
    DocSwitch, DocWindow, PlatformDoc,
};
use crate::machine::{
    kernel_groups, BarKind, CapsSeen, DeviceKind, HierarchySource, KindEvidence, Machine,
    P2pdmaReason, PciDevice,
};

/// Choices for [`to_platform_yaml`] where the dump is silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// The platform's `name` (default `imported-<source>`); made to match
    /// `[a-z0-9][a-z0-9._-]*`.
    pub name: Option<String>,
    /// The platform's `description` (default: what was imported from what).
    pub description: Option<String>,
    /// `kernel.arch`, overriding what the dump says or the vendor-id guess.
    pub arch: Option<Arch>,
    /// `kernel.cpu.vendor`, overriding what the dump says or the vendor-id guess.
    pub cpu_vendor: Option<CpuVendor>,
    /// `kernel.cpu.family` (x86, K1.6), overriding what the dump says.
    pub cpu_family: Option<u32>,
    /// MPSS of ports and endpoints whose Device Capabilities the dump does not show.
    pub default_mpss: u32,
    /// ACS capability assumed for root and downstream ports whose ACS the dump does not
    /// show (dmesg, trees, `<access denied>`). Default SV|RR|CR|UF: the ports isolate, as
    /// on most servers.
    pub assumed_port_acs: AcsFlags,
    /// Write the measured ACS Control as `acs.ctl` (true), or leave `ctl` out so that
    /// peerpath derives it from what the kernel enables (K4.1).
    pub measured_acs_ctl: bool,
    /// Export the largest prefetchable memory BAR of every GPU and accelerator.
    pub export_gpu_bars: bool,
    /// A BAR of this size (bytes, a power of two of at least a page) assumed for every
    /// GPU/accelerator whose dump shows no memory BAR (kernel logs, trees), so that it can
    /// be exported: BAR 0, prefetchable, at a made-up address above every BAR of the dump.
    /// `None` (the default): such devices get no BAR and no export.
    pub assumed_gpu_bar: Option<u64>,
    /// Where the dump has IOMMU groups but no ACS reading, take ACS from the groups: a
    /// root/downstream port whose children share its group does not isolate (no ACS
    /// written), one whose children are in other groups does (`assumed_port_acs`); a
    /// multifunction endpoint in a group apart from its sibling endpoints gets
    /// `acs: { cap: [] }`. Comparing groups peerpath computes for such a platform with
    /// the kernel's is then partly circular; the header lists the devices concerned.
    pub acs_from_groups: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            name: None,
            description: None,
            arch: None,
            cpu_vendor: None,
            cpu_family: None,
            default_mpss: 256,
            assumed_port_acs: AcsFlags::REQ,
            measured_acs_ctl: true,
            export_gpu_bars: true,
            assumed_gpu_bar: None,
            acs_from_groups: true,
        }
    }
}

/// Platform YAML for `m`, with a comment header listing every assumption and warning.
pub fn to_platform_yaml(m: &Machine, opts: &ImportOptions) -> String {
    render(&plan(m, opts))
}

/// What the kernel's groups say about a device whose ACS the dump does not show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inferred {
    Isolates,
    NoAcs,
}

/// The role a function gets in the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    RootPort,
    Upstream,
    Downstream,
    Bridge,
    Endpoint,
}

fn slug(b: Bdf) -> String {
    format!(
        "{:04x}-{:02x}-{:02x}-{:x}",
        b.segment, b.bus, b.device, b.function
    )
}

fn hb_name(segment: u16, bus: u8) -> String {
    format!("hb-{segment:04x}-{bus:02x}")
}

fn node_name(role: Role, b: Bdf) -> String {
    let prefix = match role {
        Role::RootPort => "rp",
        Role::Upstream => "sw",
        Role::Downstream => "dp",
        Role::Bridge => "br",
        Role::Endpoint => "ep",
    };
    format!("{prefix}-{}", slug(b))
}

/// Up to eight BDFs, then a count.
fn bdf_list(v: &[Bdf]) -> String {
    let shown: Vec<String> = v.iter().take(8).map(Bdf::to_string).collect();
    if v.len() > 8 {
        format!("{} and {} more", shown.join(", "), v.len() - 8)
    } else {
        shown.join(", ")
    }
}

/// Collects assumptions as they are made.
#[derive(Debug, Default)]
struct Notes {
    lines: Vec<String>,
}

impl Notes {
    fn add(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    fn list(&mut self, what: &str, v: &[Bdf]) {
        if !v.is_empty() {
            self.add(format!("{what} ({}): {}", v.len(), bdf_list(v)));
        }
    }
}

fn device_class(d: &PciDevice) -> DeviceClass {
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

fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'p');
    }
    out
}

fn valid_mps(v: Option<u32>) -> Option<u32> {
    v.filter(|x| MPS_VALUES.contains(x))
}

/// Builds the document.
fn plan(m: &Machine, opts: &ImportOptions) -> PlatformDoc {
    let mut notes = Notes::default();
    let groups = kernel_groups(m);
    let have_groups = !groups.is_empty();

    // 1. Which functions are nodes.
    let mut skipped_own = Vec::new();
    let mut skipped_iommu = Vec::new();
    let mut emitted: Vec<&PciDevice> = Vec::new();
    for d in &m.devices {
        if d.iommu_group.is_none() && d.is_own_host_bridge_function() {
            skipped_own.push(d.bdf);
        } else if d.iommu_group.is_none() && d.class_base_sub() == Some(0x0806) {
            skipped_iommu.push(d.bdf);
        } else {
            emitted.push(d);
        }
    }
    notes.list(
        "not emitted, host bridge functions at 00.0 on a root bus without an IOMMU group (the root complex itself); its ids become the host bridge's `id` where the dump has them",
        &skipped_own,
    );
    notes.list(
        "not emitted, the IOMMU's own PCI functions (class 0x0806, no IOMMU group)",
        &skipped_iommu,
    );

    // 2. Roles, top-down so that parents are placed first.
    let emitted_set: BTreeSet<Bdf> = emitted.iter().map(|d| d.bdf).collect();
    let eff_parent = |d: &PciDevice| -> Option<Bdf> {
        let mut p = d.parent;
        while let Some(b) = p {
            if emitted_set.contains(&b) {
                return Some(b);
            }
            p = m.device(b).and_then(|x| x.parent);
        }
        None
    };
    let depth_of = |b: Bdf| m.ancestors(b).len();
    let mut order: Vec<&PciDevice> = emitted.clone();
    order.sort_by_key(|d| (depth_of(d.bdf), d.bdf));

    let mut placed: BTreeMap<Bdf, (Role, String)> = BTreeMap::new();
    let mut dropped: Vec<(Bdf, String)> = Vec::new();
    let mut bridge_as_root_port = Vec::new();
    for d in &order {
        let parent = eff_parent(d);
        let parent_role = parent.and_then(|p| placed.get(&p).map(|(r, _)| *r));
        if parent.is_some() && parent_role.is_none() {
            dropped.push((d.bdf, "its parent is not in the platform".to_string()));
            continue;
        }
        let wanted = match d.kind {
            DeviceKind::RootPort => Role::RootPort,
            DeviceKind::SwitchUpstream => Role::Upstream,
            DeviceKind::SwitchDownstream => Role::Downstream,
            DeviceKind::PcieToPciBridge | DeviceKind::PciToPcieBridge | DeviceKind::PciBridge => {
                Role::Bridge
            }
            _ if d.bus_range.is_some() => Role::Bridge,
            _ => Role::Endpoint,
        };
        let role = match (wanted, parent_role) {
            (Role::RootPort, None) => Some(Role::RootPort),
            (Role::Bridge | Role::Downstream, None) => {
                bridge_as_root_port.push(d.bdf);
                Some(Role::RootPort)
            }
            (Role::Upstream, Some(Role::RootPort | Role::Downstream)) => Some(Role::Upstream),
            (Role::Downstream, Some(Role::Upstream)) => Some(Role::Downstream),
            (Role::Bridge, Some(Role::RootPort | Role::Downstream | Role::Bridge)) => {
                Some(Role::Bridge)
            }
            (Role::Endpoint, None | Some(Role::RootPort | Role::Downstream | Role::Bridge)) => {
                Some(Role::Endpoint)
            }
            _ => None,
        };
        match role {
            Some(r) => {
                placed.insert(d.bdf, (r, node_name(r, d.bdf)));
            }
            None => dropped.push((
                d.bdf,
                format!(
                    "a {:?} below a {} cannot be written in the platform format",
                    d.kind,
                    parent_role.map_or("root bus", |r| match r {
                        Role::RootPort => "root port",
                        Role::Upstream => "switch upstream port",
                        Role::Downstream => "switch downstream port",
                        Role::Bridge => "PCI bridge",
                        Role::Endpoint => "endpoint",
                    })
                ),
            )),
        }
    }
    notes.list(
        "type-1 bridges on a root bus written as root ports",
        &bridge_as_root_port,
    );
    for (b, why) in &dropped {
        notes.add(format!("not emitted: {b}: {why}"));
    }

    // ACS from the kernel's groups, for devices whose ACS the dump does not show.
    let children_of = |b: Bdf| -> Vec<Bdf> {
        emitted
            .iter()
            .filter(|c| eff_parent(c) == Some(b) && placed.contains_key(&c.bdf))
            .map(|c| c.bdf)
            .collect()
    };
    let infer_acs = |d: &PciDevice, role: Role| -> Option<Inferred> {
        if !opts.acs_from_groups || d.acs.is_some() || d.caps == CapsSeen::Full {
            return None;
        }
        let own = groups.get(&d.bdf)?;
        match role {
            Role::RootPort | Role::Downstream => {
                let kids: Vec<u32> = children_of(d.bdf)
                    .iter()
                    .filter_map(|c| groups.get(c).copied())
                    .collect();
                if kids.is_empty() {
                    None
                } else if kids.contains(own) {
                    Some(Inferred::NoAcs)
                } else {
                    Some(Inferred::Isolates)
                }
            }
            Role::Endpoint if m.is_multifunction(d.bdf) => {
                let sibs: Vec<u32> = emitted
                    .iter()
                    .filter(|x| {
                        x.bdf != d.bdf
                            && x.bdf.same_slot(&d.bdf)
                            && matches!(placed.get(&x.bdf), Some((Role::Endpoint, _)))
                    })
                    .filter_map(|x| groups.get(&x.bdf).copied())
                    .collect();
                if sibs.is_empty() {
                    None
                } else if sibs.contains(own) {
                    Some(Inferred::NoAcs)
                } else {
                    Some(Inferred::Isolates)
                }
            }
            _ => None,
        }
    };
    let mut acs_ports_isolating = Vec::new();
    let mut acs_ports_not = Vec::new();
    let mut acs_eps_isolating = Vec::new();

    // Kinds the dump did not state.
    let by_shape: Vec<Bdf> = emitted
        .iter()
        .filter(|d| {
            placed.contains_key(&d.bdf) && d.is_bridge() && d.kind_from == KindEvidence::TreeShape
        })
        .map(|d| d.bdf)
        .collect();
    notes.list(
        "bridge roles (root port / switch upstream / switch downstream / PCIe-to-PCI bridge) inferred from the shape of the hierarchy, the dump gives no PCIe port type",
        &by_shape,
    );
    match m.hierarchy {
        HierarchySource::Unknown if !m.devices.is_empty() => notes.add(
            "the dump shows no hierarchy: every device is placed on its own bus's host bridge",
        ),
        HierarchySource::BusNumbers => {
            notes.add("hierarchy rebuilt from the bridges' secondary/subordinate bus numbers")
        }
        _ => {}
    }

    // 3. Kernel, CPU, IOMMU.
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
    if m.kernel.default_domain.is_none() {
        notes.add("kernel.default_domain: not in the dump, left to the format's default (dma)");
    }
    if let Some(n) = &m.kernel.cmdline_note {
        notes.add(format!("kernel command line {n}"));
    }
    let iommu_kind_guess = || match (arch, cpu_vendor) {
        (Arch::Arm64, _) => IommuKind::Smmuv3,
        (Arch::Ppc64, _) => IommuKind::Tce,
        (Arch::X86_64, CpuVendor::Intel) => IommuKind::Vtd,
        (Arch::X86_64, _) => IommuKind::AmdVi,
    };
    let iommu = if m.kernel.iommu_off {
        notes.add("no IOMMU: the kernel command line turns it off");
        None
    } else if let Some(k) = m.kernel.iommu {
        Some(k)
    } else if have_groups {
        let k = iommu_kind_guess();
        notes.add(format!(
            "iommus: one {k} IOMMU translating for every host bridge: the dump has IOMMU groups; the kind is guessed from the architecture"
        ));
        Some(k)
    } else {
        notes.add("iommus: none: the dump shows no IOMMU groups and no IOMMU driver");
        None
    };
    let iommus: Vec<DocIommu> = iommu
        .map(|kind| DocIommu {
            name: "iommu0".to_string(),
            kind,
        })
        .into_iter()
        .collect();
    if iommu == Some(IommuKind::Smmuv3) {
        notes.add("host bridges' translation: left to the format's default (integrated); the dump does not say where the SMMU's TBUs sit");
    }

    // 4. Host bridges and their windows.
    let root_of = |b: Bdf| -> (u16, u8) {
        let top = m.ancestors(b).last().copied().unwrap_or(b);
        (top.segment, top.bus)
    };
    let mut hb_keys: BTreeSet<(u16, u8)> =
        m.root_buses.iter().map(|r| (r.segment, r.bus)).collect();
    for b in placed.keys() {
        hb_keys.insert(root_of(*b));
    }

    // Endpoints first (BAR checks feed the windows).
    let mut all_bars: Vec<(AddrRange, Bdf)> = Vec::new();
    let mut overlapping = Vec::new();
    let mut endpoints = Vec::new();
    let mut ep_root: Vec<(u16, u8)> = Vec::new();
    let mut default_mpss = Vec::new();
    let mut unknown_ep_acs_mf = Vec::new();
    let mut assumed_acs = Vec::new();
    let mut clipped_ctl = Vec::new();
    let mut bad_mps = Vec::new();
    let comment_for = |d: &PciDevice| -> String {
        let mut c = d.describe();
        if let Some(g) = d.iommu_group {
            c.push_str(&format!("; IOMMU group {g}"));
        } else if have_groups {
            c.push_str("; no IOMMU group in the dump");
        }
        if d.kind_from == KindEvidence::TreeShape && d.is_bridge() {
            c.push_str("; role inferred");
        }
        c
    };
    let mpss_of = |d: &PciDevice, default_mpss: &mut Vec<Bdf>| -> u32 {
        match valid_mps(d.mpss) {
            Some(v) => v,
            None => {
                default_mpss.push(d.bdf);
                opts.default_mpss
            }
        }
    };
    let mps_of = |d: &PciDevice, mpss: u32, bad: &mut Vec<Bdf>| -> Option<u32> {
        let v = valid_mps(d.mps)?;
        if v > mpss {
            bad.push(d.bdf);
            return None;
        }
        Some(v)
    };
    let ctl_of = |a: Acs, b: Bdf, clipped: &mut Vec<Bdf>| -> Acs {
        let ctl = if opts.measured_acs_ctl { a.ctl } else { None };
        let ctl = ctl.map(|c| {
            if !a.cap.contains(c) {
                clipped.push(b);
            }
            c & a.cap
        });
        Acs { cap: a.cap, ctl }
    };

    // Assumed BARs go above every memory BAR of the dump (and above 256 GiB).
    let mut next_assumed: u64 = m
        .devices
        .iter()
        .flat_map(|d| d.bars.iter())
        .filter_map(|b| b.range())
        .map(|r| r.end.saturating_add(1))
        .fold(1 << 38, u64::max);
    // A device a kernel p2pdma message names as the provider has peer memory to export,
    // whatever its class.
    let providers: BTreeSet<Bdf> = m.p2pdma.iter().filter_map(|p| p.provider).collect();
    let mut assumed_bars = Vec::new();
    let mut no_bar_gpus = Vec::new();
    for d in &emitted {
        let Some((Role::Endpoint, name)) = placed.get(&d.bdf) else {
            continue;
        };
        let parent = match eff_parent(d).and_then(|p| placed.get(&p)) {
            Some((_, n)) => n.clone(),
            None => {
                let (s, b) = root_of(d.bdf);
                hb_name(s, b)
            }
        };
        let mpss = mpss_of(d, &mut default_mpss);
        let mps = mps_of(d, mpss, &mut bad_mps);
        let multifunction = m.is_multifunction(d.bdf);
        let acs = match (d.acs, d.caps, infer_acs(d, Role::Endpoint)) {
            (Some(a), _, _) => Some(ctl_of(a, d.bdf, &mut clipped_ctl)),
            (None, CapsSeen::Full, _) => None,
            (None, _, Some(Inferred::Isolates)) => {
                acs_eps_isolating.push(d.bdf);
                Some(Acs {
                    cap: AcsFlags::empty(),
                    ctl: None,
                })
            }
            (None, _, Some(Inferred::NoAcs)) => None,
            (None, _, None) => {
                if multifunction {
                    unknown_ep_acs_mf.push(d.bdf);
                }
                None
            }
        };
        let mut bars = Vec::new();
        for bar in &d.bars {
            if bar.kind != BarKind::Memory {
                continue;
            }
            let (Some(addr), Some(sz)) = (bar.addr, bar.size) else {
                continue;
            };
            let Some(range) = AddrRange::from_start_and_size(addr, sz) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            if let Some((_, other)) = all_bars.iter().find(|(r, _)| r.overlaps(&range)) {
                overlapping.push(format!(
                    "{} BAR {} overlaps a BAR of {other}",
                    d.bdf, bar.index
                ));
                continue;
            }
            all_bars.push((range, d.bdf));
            bars.push(DocBar {
                index: bar.index,
                addr,
                size: sz,
                prefetchable: bar.prefetchable,
            });
        }
        let class = device_class(d);
        let is_gpu =
            matches!(class, DeviceClass::Gpu | DeviceClass::Accel) || providers.contains(&d.bdf);
        let shows_no_mem_bar = !d.bars.iter().any(|b| b.kind == BarKind::Memory);
        if is_gpu && shows_no_mem_bar {
            match opts
                .assumed_gpu_bar
                .filter(|s| s.is_power_of_two() && *s >= PAGE_SIZE)
            {
                Some(size) => {
                    let addr = next_assumed.div_ceil(size).saturating_mul(size);
                    match AddrRange::from_start_and_size(addr, size) {
                        Some(range) if addr != 0 => {
                            next_assumed = range.end.saturating_add(1);
                            all_bars.push((range, d.bdf));
                            assumed_bars.push(d.bdf);
                            bars.push(DocBar {
                                index: 0,
                                addr,
                                size,
                                prefetchable: true,
                            });
                        }
                        _ => no_bar_gpus.push(d.bdf),
                    }
                }
                None => no_bar_gpus.push(d.bdf),
            }
        }
        ep_root.push(root_of(d.bdf));
        endpoints.push(DocEndpoint {
            comment: Some(comment_for(d)),
            name: name.clone(),
            parent,
            bdf: d.bdf,
            class,
            mpss,
            mps,
            ats: d.ats.is_some(),
            multifunction,
            acs,
            driver: (d.driver.as_deref() == Some("vfio-pci")).then_some(Driver::VfioPci),
            bars,
        });
    }

    let mut port_doc = |d: &PciDevice, name: Option<String>, role: Role| -> DocPort {
        let mpss = mpss_of(d, &mut default_mpss);
        let mps = mps_of(d, mpss, &mut bad_mps);
        let acs = match (d.acs, d.caps, infer_acs(d, role)) {
            (Some(a), _, _) => Some(ctl_of(a, d.bdf, &mut clipped_ctl)),
            (None, CapsSeen::Full, _) => None,
            (None, _, _) if role == Role::Upstream => None,
            (None, _, Some(Inferred::NoAcs)) => {
                acs_ports_not.push(d.bdf);
                None
            }
            (None, _, Some(Inferred::Isolates)) => {
                acs_ports_isolating.push(d.bdf);
                Some(Acs {
                    cap: opts.assumed_port_acs,
                    ctl: None,
                })
            }
            (None, _, None) => {
                assumed_acs.push(d.bdf);
                Some(Acs {
                    cap: opts.assumed_port_acs,
                    ctl: None,
                })
            }
        };
        DocPort {
            comment: Some(comment_for(d)),
            name,
            bdf: d.bdf,
            mpss,
            mps,
            acs,
            multifunction: m.is_multifunction(d.bdf),
        }
    };

    let mut root_ports: BTreeMap<(u16, u8), Vec<DocPort>> = BTreeMap::new();
    let mut switches = Vec::new();
    let mut bridges = Vec::new();
    for d in &emitted {
        let Some((role, name)) = placed.get(&d.bdf) else {
            continue;
        };
        let parent_name = eff_parent(d)
            .and_then(|p| placed.get(&p))
            .map(|(_, n)| n.clone());
        match role {
            Role::RootPort => {
                let p = port_doc(d, Some(name.clone()), Role::RootPort);
                root_ports.entry(root_of(d.bdf)).or_default().push(p);
            }
            Role::Upstream => {
                let up = port_doc(d, None, Role::Upstream);
                let downstream = emitted
                    .iter()
                    .filter(|c| eff_parent(c) == Some(d.bdf))
                    .filter_map(|c| match placed.get(&c.bdf) {
                        Some((Role::Downstream, n)) => {
                            Some(port_doc(c, Some(n.clone()), Role::Downstream))
                        }
                        _ => None,
                    })
                    .collect();
                switches.push(DocSwitch {
                    comment: up.comment.clone(),
                    name: name.clone(),
                    parent: parent_name.unwrap_or_default(),
                    upstream: DocPort {
                        comment: None,
                        ..up
                    },
                    downstream,
                });
            }
            Role::Bridge => bridges.push(DocBridge {
                comment: Some(comment_for(d)),
                name: name.clone(),
                parent: parent_name.unwrap_or_default(),
                bdf: d.bdf,
                mpss: valid_mps(d.mpss),
            }),
            Role::Downstream | Role::Endpoint => {}
        }
    }

    // Windows.
    let hb_list: Vec<(u16, u8)> = hb_keys.iter().copied().collect();
    let hb_index: BTreeMap<(u16, u8), usize> =
        hb_list.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut ranges: Vec<(AddrRange, usize)> = Vec::new();
    for (r, b) in &all_bars {
        if let Some(i) = hb_index.get(&root_of(*b)) {
            ranges.push((*r, *i));
        }
    }
    for d in &emitted {
        if placed
            .get(&d.bdf)
            .is_some_and(|(r, _)| *r != Role::Endpoint)
        {
            if let Some(i) = hb_index.get(&root_of(d.bdf)) {
                ranges.extend(d.bridge_windows.iter().map(|w| (w.range, *i)));
            }
        }
    }
    let given: BTreeMap<usize, Vec<DocWindow>> = m
        .root_buses
        .iter()
        .filter(|r| !r.windows.is_empty())
        .filter_map(|r| {
            let i = *hb_index.get(&(r.segment, r.bus))?;
            let w = r
                .windows
                .iter()
                .filter_map(|w| {
                    Some(DocWindow {
                        cpu: w.cpu.start,
                        bus: w.bus_start,
                        size: w.cpu.size()?,
                    })
                })
                .collect();
            Some((i, w))
        })
        .collect();
    // Ranges not inside a window the kernel reported are synthesized too.
    let mut outside = Vec::new();
    ranges.retain(|(r, i)| match given.get(i) {
        None => true,
        Some(ws) => {
            let inside = ws.iter().any(|w| {
                AddrRange::from_start_and_size(w.cpu, w.size).is_some_and(|x| x.contains_range(r))
            });
            if !inside {
                outside.push(format!("{r}"));
            }
            !inside
        }
    });
    ranges.sort();
    let mut spans: Vec<(AddrRange, usize)> = Vec::new();
    let mut clashes = Vec::new();
    for (r, i) in ranges {
        let high = |x: &AddrRange| x.start >> 32 != 0;
        match spans.last_mut() {
            Some((last, li)) if *li == i && high(last) == high(&r) => *last = last.union(&r),
            Some((last, li)) if *li != i && last.overlaps(&r) => {
                clashes.push(format!("{r} (host bridges {} and {})", *li, i));
                spans.push((r, i));
            }
            _ => spans.push((r, i)),
        }
    }
    let synthesized_any = hb_list
        .iter()
        .enumerate()
        .any(|(i, _)| !given.contains_key(&i));
    if synthesized_any && !hb_list.is_empty() {
        notes.add("host bridge windows: synthesized as the spans of the BARs and bridge windows below each host bridge (split at 4 GiB, never across another host bridge's ranges), bus address = CPU address; the dump gives no windows");
    }
    if !given.is_empty() {
        notes.add("host bridge windows: the kernel's `root bus resource` lines");
    }
    if !outside.is_empty() {
        notes.add(format!(
            "ranges outside every window the kernel reported got a synthesized window: {}",
            outside.join(", ")
        ));
    }
    for c in &clashes {
        notes.add(format!("windows of two host bridges overlap at {c}: the platform will not validate until this is fixed"));
    }
    for o in &overlapping {
        notes.add(format!("BAR left out: {o}"));
    }

    // H6: whether the root complex forwards peer traffic is not in any dump. AMD Zen
    // (family >= 0x17) forwards between root ports and across root complexes through the
    // data fabric — the property the kernel's CPU rule (K1.6) relies on.
    let zen =
        arch == Arch::X86_64 && cpu_vendor == CpuVendor::Amd && cpu_family.unwrap_or(0) >= 0x17;
    let forwards_p2p = zen.then_some(ForwardsP2p::Any);
    if !hb_list.is_empty() {
        notes.add(if zen {
            "host_bridges[].forwards_p2p: any, assumed for AMD family >= 0x17 (Zen): the data fabric forwards peer traffic between root ports and root complexes, which the kernel's CPU rule (K1.6) relies on"
        } else {
            "host_bridges[].forwards_p2p: left to the format's default (same-host-bridge): the dump does not say whether the root complex forwards peer traffic"
        });
    }
    let mut host_bridges: Vec<DocHostBridge> = hb_list
        .iter()
        .enumerate()
        .map(|(i, (seg, bus))| {
            let first = m
                .devices
                .iter()
                .find(|d| d.bdf.segment == *seg && d.bdf.bus == *bus && d.parent.is_none());
            let id = first
                .filter(|d| d.bdf.devfn() == 0 || d.kind == DeviceKind::RootPort)
                .and_then(|d| Some((d.vendor?, d.device?)));
            let comment = first.map(|d| {
                format!(
                    "root bus {seg:04x}:{bus:02x}; first function {}",
                    d.describe()
                )
            });
            let mut windows: Vec<DocWindow> = given.get(&i).cloned().unwrap_or_default();
            windows.extend(spans.iter().filter(|(_, j)| *j == i).filter_map(|(r, _)| {
                Some(DocWindow {
                    cpu: r.start,
                    bus: r.start,
                    size: r.size()?,
                })
            }));
            windows.sort_by_key(|w| w.cpu);
            DocHostBridge {
                comment,
                name: hb_name(*seg, *bus),
                segment: *seg,
                id,
                forwards_p2p,
                iommu: iommus.first().map(|x| x.name.clone()),
                windows,
                root_ports: root_ports.remove(&(*seg, *bus)).unwrap_or_default(),
            }
        })
        .collect();
    // Windows as the format demands them: no overlaps, within or across host bridges;
    // then every BAR inside a window of its own host bridge.
    let mut window_notes = Vec::new();
    for hb in &mut host_bridges {
        hb.windows.sort_by_key(|w| (w.cpu, w.size));
        let mut kept: Vec<DocWindow> = Vec::new();
        for w in std::mem::take(&mut hb.windows) {
            let Some(r) = AddrRange::from_start_and_size(w.cpu, w.size) else {
                continue;
            };
            match kept.last_mut() {
                Some(last) => {
                    let Some(lr) = AddrRange::from_start_and_size(last.cpu, last.size) else {
                        continue;
                    };
                    if !lr.overlaps(&r) {
                        kept.push(w);
                    } else if last.bus.wrapping_sub(last.cpu) == w.bus.wrapping_sub(w.cpu) {
                        let u = lr.union(&r);
                        if let Some(sz) = u.size() {
                            last.size = sz;
                        }
                    } else {
                        window_notes.push(format!(
                            "{}: window {r} overlaps {lr} with another bus offset: left out",
                            hb.name
                        ));
                    }
                }
                None => kept.push(w),
            }
        }
        hb.windows = kept;
    }
    let mut claimed: Vec<(AddrRange, String)> = Vec::new();
    for hb in &mut host_bridges {
        let mut kept = Vec::new();
        for w in std::mem::take(&mut hb.windows) {
            let Some(r) = AddrRange::from_start_and_size(w.cpu, w.size) else {
                continue;
            };
            match claimed.iter().find(|(c, _)| c.overlaps(&r)) {
                Some((c, other)) => window_notes.push(format!(
                    "{}: window {r} overlaps {other}'s window {c}: left out",
                    hb.name
                )),
                None => kept.push(w),
            }
        }
        claimed.extend(
            kept.iter()
                .filter_map(|w| AddrRange::from_start_and_size(w.cpu, w.size))
                .map(|r| (r, hb.name.clone())),
        );
        hb.windows = kept;
    }
    for (e, root) in endpoints.iter_mut().zip(&ep_root) {
        let hb = host_bridges
            .iter()
            .find(|h| h.segment == root.0 && h.name == hb_name(root.0, root.1));
        e.bars.retain(|b| {
            let inside = hb.is_some_and(|h| {
                h.windows.iter().any(|w| {
                    match (
                        AddrRange::from_start_and_size(w.cpu, w.size),
                        AddrRange::from_start_and_size(b.addr, b.size),
                    ) {
                        (Some(wr), Some(br)) => wr.contains_range(&br),
                        _ => false,
                    }
                })
            });
            if !inside {
                window_notes.push(format!(
                    "{} BAR {}: outside every window of its host bridge: left out",
                    e.name, b.index
                ));
            }
            inside
        });
    }
    for n in window_notes {
        notes.add(n);
    }
    let mut exports = Vec::new();
    if opts.export_gpu_bars {
        for e in endpoints.iter().filter(|e| {
            matches!(e.class, DeviceClass::Gpu | DeviceClass::Accel) || providers.contains(&e.bdf)
        }) {
            let best = e
                .bars
                .iter()
                .filter(|b| b.prefetchable && b.size >= PAGE_SIZE && b.addr % PAGE_SIZE == 0)
                .max_by_key(|b| (b.size, std::cmp::Reverse(b.index)));
            if let Some(b) = best {
                exports.push(DocExport {
                    name: format!("{}-bar{}", e.name, b.index),
                    device: e.name.clone(),
                    bar: b.index,
                });
            }
        }
    }
    // Importers: the devices that DMA into peers in practice (GPUs, NICs, NVMe,
    // accelerators). Host-bridge functions, bridges' helpers, USB/SATA controllers
    // would only flood the report with pairings nobody asks about.
    let importers: Vec<String> = if exports.is_empty() {
        Vec::new()
    } else {
        endpoints
            .iter()
            .filter(|e| {
                matches!(
                    e.class,
                    DeviceClass::Gpu | DeviceClass::Nic | DeviceClass::Nvme | DeviceClass::Accel
                )
            })
            .map(|e| e.name.clone())
            .collect()
    };
    if importers.is_empty() {
        notes.add("imports: the format's default, every endpoint imports every export");
    } else {
        notes.add("imports: every GPU, NIC, NVMe and accelerator imports every export it does not own; other endpoints (host-bridge functions, USB, SATA, ...) import nothing");
    }
    let no_id: Vec<String> = host_bridges
        .iter()
        .filter(|h| h.id.is_none())
        .map(|h| h.name.clone())
        .collect();
    let named_ids: Vec<Bdf> = m
        .devices
        .iter()
        .filter(|d| d.ids_from_name)
        .map(|d| d.bdf)
        .collect();
    notes.list(
        "vendor/device ids read from names such as \"… Device 14a4\" (the dump gives no ids)",
        &named_ids,
    );
    if !no_id.is_empty() {
        notes.add(format!(
            "host bridge id (K1.7 allow-list) unknown for: {}",
            no_id.join(", ")
        ));
    }

    default_mpss.sort();
    default_mpss.dedup();
    notes.list(
        &format!(
            "mpss {} assumed where the dump shows no Device Capabilities",
            opts.default_mpss
        ),
        &default_mpss,
    );
    let mps_known = m.devices.iter().any(|d| d.mps.is_some());
    if !mps_known && !m.devices.is_empty() {
        notes.add("mps: not in the dump anywhere, left to the format's default (128)");
    }
    notes.list("mps above mpss in the dump, left out", &bad_mps);
    notes.list(
        &format!(
            "acs {{ cap: {} }} assumed for root/downstream ports whose ACS capability the dump does not show",
            opts.assumed_port_acs
        ),
        &assumed_acs,
    );
    notes.list(
        &format!(
            "acs {{ cap: {} }} inferred from the kernel's groups for ports whose children sit in other groups (the dump shows no ACS)",
            opts.assumed_port_acs
        ),
        &acs_ports_isolating,
    );
    notes.list(
        "no ACS capability inferred from the kernel's groups for ports sharing a group with their children (the dump shows no ACS)",
        &acs_ports_not,
    );
    notes.list(
        "acs { cap: [] } inferred from the kernel's groups for multifunction endpoints in a group apart from their sibling functions",
        &acs_eps_isolating,
    );
    notes.list(
        "ACS unknown for these multifunction endpoints (no `acs:` written, so they do not isolate, K4.3)",
        &unknown_ep_acs_mf,
    );
    notes.list(
        "ACS Control bits outside the capability were dropped",
        &clipped_ctl,
    );
    if opts.measured_acs_ctl
        && m.devices
            .iter()
            .any(|d| d.acs.is_some_and(|a| a.ctl.is_some()))
    {
        notes.add("acs.ctl: the measured ACS Control of this boot (remove `ctl` to let peerpath derive it, K4.1)");
    }
    if let Some(size) = opts.assumed_gpu_bar {
        notes.list(
            &format!(
                "BAR 0 ({}, prefetchable, at a made-up address) assumed for GPUs/accelerators/p2pdma providers whose dump shows no memory BAR, given on the command line",
                crate::emit::size(size)
            ),
            &assumed_bars,
        );
    }
    notes.list(
        "GPUs/accelerators/p2pdma providers without a memory BAR in the dump: no BAR, no export (`--assume-gpu-bar SIZE` assumes one)",
        &no_bar_gpus,
    );
    if !exports.is_empty() {
        notes.add("exports: the largest prefetchable BAR of every GPU/accelerator (and of every provider a kernel p2pdma message names), whole, via vfio-dmabuf");
    }
    notes.add("memory: DRAM ranges are not in the dump (none written)");

    // 5. Kernel knobs from the command line.
    let port_names: BTreeMap<Bdf, String> = placed
        .iter()
        .filter(|(_, (r, _))| *r != Role::Endpoint)
        .map(|(b, (_, n))| (*b, n.clone()))
        .collect();
    let mut disable_acs_redir = Vec::new();
    for s in &m.kernel.disable_acs_redir {
        let hit = crate::text::bdf_at_start(s)
            .ok()
            .flatten()
            .and_then(|bm| port_names.get(&bm.bdf));
        match hit {
            Some(n) => disable_acs_redir.push(n.clone()),
            None => notes.add(format!(
                "pci=disable_acs_redir entry `{s}` names no port of the platform: left out"
            )),
        }
    }

    // 6. Header.
    let mut header = vec![
        format!(
            "Imported by `peerpath import` from {}: {} PCI functions, {} host bridges.",
            m.source.describe(),
            m.devices.len(),
            hb_list.len()
        ),
        "Names derive from BDFs: hb-ssss-bb, rp-/dp-/br-/ep-ssss-bb-dd-f, switches sw-<upstream BDF>.".to_string(),
        "Everything below comes from the dump except what these lines say was assumed:".to_string(),
    ];
    header.extend(notes.lines.iter().map(|l| format!("- {l}")));
    if have_groups {
        let distinct: BTreeSet<u32> = groups.values().copied().collect();
        header.push(format!(
            "Kernel IOMMU groups in the dump (ground truth, K4.3): {} devices in {} groups, listed per device under Devices below.",
            groups.len(),
            distinct.len()
        ));
    }
    for p in &m.p2pdma {
        let what = match p.reason {
            P2pdmaReason::NoCommonUpstream => {
                "not-supported: no common upstream bridge or whitelisted host bridge"
            }
            P2pdmaReason::AcsRedirect => {
                "thru-host-bridge or not-supported: ACS redirect between client and provider"
            }
            P2pdmaReason::Other => "a p2pdma message",
        };
        header.push(format!(
            "Kernel p2pdma verdict in the dump (line {}): client {}, provider {}: {what}.",
            p.line,
            p.client,
            p.provider.map_or("unknown".to_string(), |b| b.to_string())
        ));
    }
    if !m.warnings.is_empty() {
        header.push(format!(
            "Warnings while reading the dump ({}):",
            m.warnings.len()
        ));
        for w in m.warnings.iter().take(40) {
            header.push(format!("- {w}"));
        }
        if m.warnings.len() > 40 {
            header.push(format!("- … and {} more", m.warnings.len() - 40));
        }
    }

    let name = match &opts.name {
        Some(n) => sanitize_name(n),
        None => format!(
            "imported-{}",
            match m.source {
                crate::SourceKind::Lspci => "lspci",
                crate::SourceKind::LspciTree => "lspci-tree",
                crate::SourceKind::Dmesg => "dmesg",
                crate::SourceKind::Sysfs => "sysfs",
                crate::SourceKind::Markdown => "report",
                crate::SourceKind::Merged => "machine",
            }
        ),
    };
    let description = opts.description.clone().unwrap_or_else(|| {
        format!(
            "Imported from {} ({} PCI functions); see the comments at the top for what was assumed.",
            m.source.describe(),
            m.devices.len()
        )
    });
    switches.sort_by(|a, b| a.name.cmp(&b.name));
    bridges.sort_by(|a, b| a.name.cmp(&b.name));

    PlatformDoc {
        header,
        name,
        description,
        kernel: DocKernel {
            release: m.kernel.release.clone(),
            arch,
            cpu_vendor,
            cpu_family,
            default_domain: m.kernel.default_domain,
            noats: m.kernel.noats,
            pcie_bus_config: m.kernel.pcie_bus_config,
            disable_acs_redir,
        },
        iommus,
        host_bridges,
        switches,
        bridges,
        endpoints,
        exports,
        importers,
    }
}
