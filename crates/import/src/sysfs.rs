//! A `/sys` tree: `ROOT/sys/bus/pci/devices/*/{config,resource,class,vendor,device,
//! iommu_group,driver,numa_node}`, `ROOT/sys/kernel/iommu_groups/*/{devices,type}`,
//! `ROOT/sys/class/iommu`, `ROOT/proc/cmdline`, `ROOT/proc/sys/kernel/osrelease`.
//!
//! The binary `config` file is decoded with the `pcics` crate (header, PCI Express,
//! ACS and ATS structures); the capability lists are walked here, with the kernel's
//! loop bounds, so that a corrupt list cannot hang or panic the import.

use std::fs;
use std::path::{Path, PathBuf};

use pcics::capabilities::pci_express::{DeviceType, MaxSize, PciExpress};
use pcics::extended_capabilities::access_control_services::AccessControlServices;
use pcics::extended_capabilities::address_translation_services::AddressTranslationServices;
use pcics::header::{Header, HeaderType};
use peerpath_model::{Acs, AcsFlags, Arch, Bdf, DomainType, IommuKind};

use crate::machine::{
    finalize, finished, Ats, BarKind, BusRange, CapsSeen, DeviceKind, DeviceSet, HierarchySource,
    ImportWarning, KindEvidence, Machine, PciBar, PciDevice, SourceKind, WarningKind,
};
use crate::text::{bdf_at_start, parse_dec, parse_hex_u64};

/// `PCI_FIND_CAP_TTL` in `drivers/pci/pci.c`: at most 48 standard capabilities.
const CAP_TTL: usize = 48;
/// At most (4096 - 256) / 8 extended capabilities (`pci_find_next_ext_capability`).
const EXT_CAP_TTL: usize = (4096 - 256) / 8;
/// Configuration space offsets [PCIe §7.5.1].
const STATUS: usize = 0x06;
const STATUS_CAP_LIST: u8 = 1 << 4;
const CAP_PTR: usize = 0x34;
const CAP_ID_EXP: u8 = 0x10;
const EXT_CAP_START: usize = 0x100;
const EXT_CAP_ID_ACS: u16 = 0x000d;
const EXT_CAP_ID_ATS: u16 = 0x000f;

/// What a binary config space says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigFacts {
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// 24-bit class code.
    pub class: u32,
    /// Header type without the multifunction bit.
    pub header_type: u8,
    /// The header's multifunction bit.
    pub multifunction: bool,
    /// Primary bus and secondary..=subordinate of a type-1 header.
    pub bridge_buses: Option<(u8, BusRange)>,
    /// The PCIe capability's device/port type.
    pub pcie_kind: Option<DeviceKind>,
    /// Device Capabilities Max_Payload_Size Supported.
    pub mpss: Option<u32>,
    /// Device Control Max_Payload_Size.
    pub mps: Option<u32>,
    /// ACS capability and control.
    pub acs: Option<Acs>,
    /// ATS capability.
    pub ats: Option<Ats>,
    /// How much was readable.
    pub caps: CapsSeen,
}

/// Decodes a config space image (64, 256 or 4096 bytes; anything shorter is rejected),
/// with messages for what could not be decoded.
pub fn decode_config(cfg: &[u8]) -> (Option<ConfigFacts>, Vec<String>) {
    let mut notes = Vec::new();
    let Some(head) = cfg.get(..Header::TOTAL_SIZE) else {
        notes.push(format!(
            "config space has {} bytes, fewer than the 64-byte header",
            cfg.len()
        ));
        return (None, notes);
    };
    let Ok(header) = Header::try_from(head) else {
        notes.push("config header not decodable".to_string());
        return (None, notes);
    };
    let cc = &header.class_code;
    let mut f = ConfigFacts {
        vendor: header.vendor_id,
        device: header.device_id,
        class: u32::from(cc.base) << 16 | u32::from(cc.sub) << 8 | u32::from(cc.interface),
        header_type: u8::from(&header.header_type) & 0x7f,
        multifunction: header.is_multi_function,
        caps: CapsSeen::Unknown,
        ..ConfigFacts::default()
    };
    if let HeaderType::Bridge(b) = &header.header_type {
        f.bridge_buses = Some((
            b.primary_bus_number,
            BusRange {
                secondary: b.secondary_bus_number,
                subordinate: b.subordinate_bus_number,
            },
        ));
    }
    if cfg.len() < 256 {
        notes.push(format!(
            "config space has only {} bytes (read without root?): PCIe type, ACS, ATS and MPS unknown",
            cfg.len()
        ));
        return (Some(f), notes);
    }
    f.caps = CapsSeen::NoExtended;
    standard_caps(cfg, &mut f, &mut notes);
    if cfg.len() >= 4096 {
        f.caps = CapsSeen::Full;
        // Conventional PCI functions have no extended space: it reads as all ones or zero.
        if f.pcie_kind.is_some() {
            extended_caps(cfg, &mut f, &mut notes);
        }
    } else {
        notes.push(format!(
            "config space has {} bytes, no extended capabilities: ACS and ATS unknown",
            cfg.len()
        ));
    }
    (Some(f), notes)
}

fn max_size(m: MaxSize) -> Option<u32> {
    Some(match m {
        MaxSize::B128 => 128,
        MaxSize::B256 => 256,
        MaxSize::B512 => 512,
        MaxSize::B1024 => 1024,
        MaxSize::B2048 => 2048,
        MaxSize::B4096 => 4096,
        MaxSize::Reserved0 | MaxSize::Reserved1 => return None,
    })
}

fn standard_caps(cfg: &[u8], f: &mut ConfigFacts, notes: &mut Vec<String>) {
    let has_list = cfg.get(STATUS).is_some_and(|s| s & STATUS_CAP_LIST != 0);
    if !has_list {
        return;
    }
    let mut ptr = usize::from(cfg.get(CAP_PTR).copied().unwrap_or(0) & 0xfc);
    for _ in 0..CAP_TTL {
        if ptr < 0x40 {
            return;
        }
        let (Some(id), Some(next)) = (cfg.get(ptr).copied(), cfg.get(ptr + 1).copied()) else {
            notes.push(format!("capability pointer {ptr:#x} outside config space"));
            return;
        };
        if id == 0xff {
            return;
        }
        if id == CAP_ID_EXP {
            match PciExpress::try_from(cfg.get(ptr + 2..).unwrap_or_default()) {
                Ok(e) => {
                    f.pcie_kind = Some(match e.device_type {
                        DeviceType::Endpoint { .. } | DeviceType::LegacyEndpoint { .. } => {
                            DeviceKind::Endpoint
                        }
                        DeviceType::RootComplexIntegratedEndpoint => DeviceKind::RcEndpoint,
                        DeviceType::RootComplexEventCollector { .. } => {
                            DeviceKind::RcEventCollector
                        }
                        DeviceType::RootPort { .. } => DeviceKind::RootPort,
                        DeviceType::UpstreamPort { .. } => DeviceKind::SwitchUpstream,
                        DeviceType::DownstreamPort { .. } => DeviceKind::SwitchDownstream,
                        DeviceType::PcieToPciBridge { .. } => DeviceKind::PcieToPciBridge,
                        DeviceType::PciToPcieBridge { .. } => DeviceKind::PciToPcieBridge,
                        DeviceType::Reserved { id, .. } => {
                            notes.push(format!("reserved PCIe device/port type {id}"));
                            DeviceKind::Unknown
                        }
                    });
                    f.mpss = max_size(e.device.capabilities.max_payload_size_supported);
                    f.mps = max_size(e.device.control.max_payload_size);
                }
                Err(e) => notes.push(format!("PCI Express capability at {ptr:#x}: {e}")),
            }
        }
        ptr = usize::from(next & 0xfc);
    }
    notes.push("standard capability list longer than 48 entries (a loop?): cut".to_string());
}

fn extended_caps(cfg: &[u8], f: &mut ConfigFacts, notes: &mut Vec<String>) {
    let mut off = EXT_CAP_START;
    for _ in 0..EXT_CAP_TTL {
        let Some(h) = cfg.get(off..off + 4) else {
            return;
        };
        let header = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        if header == 0 || header == u32::MAX {
            return;
        }
        let id = (header & 0xffff) as u16;
        let body = cfg.get(off + 4..).unwrap_or_default();
        match id {
            EXT_CAP_ID_ACS => match AccessControlServices::try_from(body) {
                Ok(a) => {
                    let c = &a.acs_capability;
                    let k = &a.acs_control;
                    f.acs = Some(Acs {
                        cap: flags([
                            c.acs_source_validation,
                            c.acs_translation_blocking,
                            c.acs_p2p_request_redirect,
                            c.acs_p2p_completion_redirect,
                            c.acs_upstream_forwarding,
                            c.acs_p2p_egress_control,
                            c.acs_direct_translated_p2p,
                        ]),
                        ctl: Some(flags([
                            k.acs_source_validation_enable,
                            k.acs_translation_blocking_enable,
                            k.acs_p2p_request_redirect_enable,
                            k.acs_p2p_completion_redirect_enable,
                            k.acs_upstream_forwarding_enable,
                            k.acs_p2p_egress_control_enable,
                            k.acs_direct_translated_p2p_enable,
                        ])),
                    });
                }
                Err(e) => notes.push(format!("ACS capability at {off:#x}: {e}")),
            },
            EXT_CAP_ID_ATS => match AddressTranslationServices::try_from(body) {
                Ok(a) => {
                    f.ats = Some(Ats {
                        enabled: Some(a.ats_control.enable),
                    })
                }
                Err(e) => notes.push(format!("ATS capability at {off:#x}: {e}")),
            },
            _ => {}
        }
        // Next Capability Offset, bits 31:20, dword aligned.
        let next = ((header >> 20) & 0xffc) as usize;
        if next < EXT_CAP_START {
            return;
        }
        off = next;
    }
    notes.push("extended capability list too long (a loop?): cut".to_string());
}

/// ACS bits in register order (SV, TB, RR, CR, UF, EC, DT) [PCIe §7.7.8.2].
fn flags(bits: [bool; 7]) -> AcsFlags {
    let all = [
        AcsFlags::SV,
        AcsFlags::TB,
        AcsFlags::RR,
        AcsFlags::CR,
        AcsFlags::UF,
        AcsFlags::EC,
        AcsFlags::DT,
    ];
    bits.iter()
        .zip(all)
        .filter(|(b, _)| **b)
        .fold(AcsFlags::empty(), |acc, (_, f)| acc | f)
}

/// Reads a `/sys` tree below `root` (`/` for the running machine).
pub fn parse_sysfs(root: &Path) -> Machine {
    let mut m = Machine::new(SourceKind::Sysfs);
    let devices_dir = root.join("sys/bus/pci/devices");
    let entries = match fs::read_dir(&devices_dir) {
        Ok(e) => e,
        Err(e) => {
            m.warnings.push(ImportWarning::new(
                WarningKind::Io,
                None,
                None,
                format!("cannot read {}: {e}", devices_dir.display()),
            ));
            finalize(&mut m);
            return m;
        }
    };
    let mut names: Vec<(Bdf, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        match bdf_at_start(&name) {
            Ok(Some(bm)) if bm.len == name.len() && bm.had_segment => {
                names.push((bm.bdf, e.path()))
            }
            _ => m.warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                None,
                None,
                format!("{}: not a PCI address, skipped", name),
            )),
        }
    }
    names.sort();
    let mut set = DeviceSet::default();
    let mut any_path = false;
    for (bdf, path) in &names {
        let d = set.get(*bdf, None);
        if read_device(d, path, &mut m.warnings) {
            any_path = true;
        }
    }
    groups_dir(root, &mut set, &mut m);
    set.into_machine(&mut m);
    if any_path {
        m.hierarchy = HierarchySource::SysfsPaths;
    }
    kernel_files(root, &mut m);
    finished(m, format!("no PCI devices under {}", devices_dir.display()))
}

fn read_text(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn link_name(path: &Path) -> Option<String> {
    let target = fs::read_link(path).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Fills one device from its directory; true when its parent came from the sysfs path.
fn read_device(d: &mut PciDevice, dir: &Path, warnings: &mut Vec<ImportWarning>) -> bool {
    let bdf = d.bdf;
    let warn = |warnings: &mut Vec<ImportWarning>, kind, msg: String| {
        warnings.push(ImportWarning::new(kind, None, Some(bdf), msg));
    };
    // Hierarchy from the symlink: ../../../devices/pci0000:00/0000:00:01.1/0000:01:00.0
    let mut from_path = false;
    if let Ok(target) = fs::read_link(dir) {
        let bdfs: Vec<Bdf> = target
            .components()
            .filter_map(|c| {
                let s = c.as_os_str().to_string_lossy();
                match bdf_at_start(&s) {
                    Ok(Some(bm)) if bm.len == s.len() => Some(bm.bdf),
                    _ => None,
                }
            })
            .collect();
        if bdfs.last() == Some(&bdf) {
            d.parent = bdfs.len().checked_sub(2).and_then(|i| bdfs.get(i)).copied();
            from_path = true;
        }
    }
    let hex = |name: &str| {
        read_text(&dir.join(name))
            .as_deref()
            .and_then(parse_hex_u64)
    };
    d.vendor = hex("vendor").and_then(|v| u16::try_from(v).ok());
    d.device = hex("device").and_then(|v| u16::try_from(v).ok());
    d.class = hex("class").and_then(|v| u32::try_from(v).ok());
    d.iommu_group = link_name(&dir.join("iommu_group")).and_then(|n| parse_dec(&n));
    d.driver = link_name(&dir.join("driver"));
    // `numa_node` is -1 where the firmware gives no proximity domain.
    d.numa_node = read_text(&dir.join("numa_node"))
        .as_deref()
        .and_then(parse_dec::<u16>)
        .map(|n| (n, None));
    let link = |speed: &str, width: &str| {
        crate::machine::parse_link(&read_text(&dir.join(speed))?, &read_text(&dir.join(width))?)
    };
    d.link_cap = link("max_link_speed", "max_link_width");
    d.link_sta = link("current_link_speed", "current_link_width");
    match fs::read(dir.join("config")) {
        Ok(cfg) => {
            let (facts, notes) = decode_config(&cfg);
            for n in notes {
                warn(warnings, WarningKind::Unknown, n);
            }
            if let Some(f) = facts {
                apply_config(d, &f);
            }
        }
        Err(e) => warn(
            warnings,
            WarningKind::Io,
            format!("cannot read config: {e}"),
        ),
    }
    match fs::read_to_string(dir.join("resource")) {
        Ok(text) => d.bars = resource_bars(&text, d.header_type),
        Err(e) => warn(
            warnings,
            WarningKind::Io,
            format!("cannot read resource: {e}"),
        ),
    }
    from_path
}

fn apply_config(d: &mut PciDevice, f: &ConfigFacts) {
    d.vendor = d.vendor.or(Some(f.vendor));
    d.device = d.device.or(Some(f.device));
    d.class = d.class.or(Some(f.class));
    d.header_type = Some(f.header_type);
    d.multifunction = Some(f.multifunction);
    if let Some((primary, range)) = f.bridge_buses {
        d.primary_bus = Some(primary);
        d.bus_range = Some(range);
    }
    d.caps = f.caps;
    d.mpss = f.mpss;
    d.mps = f.mps;
    d.acs = f.acs;
    d.ats = f.ats;
    match f.pcie_kind {
        Some(_) if crate::machine::is_host_bridge_function(d.class, d.header_type) => {
            d.kind = DeviceKind::HostBridge;
            d.kind_from = KindEvidence::ClassCode;
        }
        Some(k) => {
            d.kind = k;
            d.kind_from = KindEvidence::PcieCapability;
        }
        None => {
            let class = d.class.unwrap_or(0);
            let k = crate::machine::kind_from_class(class, Some(f.header_type));
            if k != DeviceKind::Unknown {
                d.kind = k;
                d.kind_from = KindEvidence::ClassCode;
            } else if f.caps >= CapsSeen::NoExtended {
                d.kind = DeviceKind::Conventional;
                d.kind_from = KindEvidence::PcieCapability;
            }
        }
    }
}

/// `resource`: one line per resource, `start end flags` in hex; lines 0..=5 are the
/// BARs of a type-0 header (0..=1 of a bridge). Flags: `IORESOURCE_IO` 0x100,
/// `IORESOURCE_MEM` 0x200, `IORESOURCE_PREFETCH` 0x2000, `IORESOURCE_MEM_64` 0x100000
/// (`include/linux/ioport.h`).
pub fn resource_bars(text: &str, header_type: Option<u8>) -> Vec<PciBar> {
    let count = if header_type == Some(1) { 2 } else { 6 };
    let mut bars = Vec::new();
    for (i, line) in text.lines().take(count).enumerate() {
        let mut it = line.split_whitespace().map(parse_hex_u64);
        let (Some(Some(start)), Some(Some(end)), Some(Some(flags))) =
            (it.next(), it.next(), it.next())
        else {
            continue;
        };
        if start == 0 && end == 0 {
            continue;
        }
        let kind = if flags & 0x200 != 0 {
            BarKind::Memory
        } else if flags & 0x100 != 0 {
            BarKind::Io
        } else {
            continue;
        };
        let size = end.checked_sub(start).and_then(|s| s.checked_add(1));
        bars.push(PciBar {
            index: i as u8,
            kind,
            addr: Some(start),
            size,
            prefetchable: flags & 0x2000 != 0,
            is_64bit: flags & 0x0010_0000 != 0,
            disabled: false,
        });
    }
    bars
}

/// `ROOT/sys/kernel/iommu_groups/N/devices/BDF` and `…/N/type`.
fn groups_dir(root: &Path, set: &mut DeviceSet, m: &mut Machine) {
    let dir = root.join("sys/kernel/iommu_groups");
    let Ok(groups) = fs::read_dir(&dir) else {
        return;
    };
    let mut types = Vec::new();
    let mut any = false;
    for g in groups.flatten() {
        let Some(n) = parse_dec::<u32>(&g.file_name().to_string_lossy()) else {
            continue;
        };
        any = true;
        if let Some(t) = read_text(&g.path().join("type")) {
            types.push(t);
        }
        let Ok(devs) = fs::read_dir(g.path().join("devices")) else {
            continue;
        };
        for d in devs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            if let Ok(Some(bm)) = bdf_at_start(&name) {
                if bm.len == name.len() {
                    if let Some(dev) = set.devices.get_mut(&bm.bdf) {
                        if dev.iommu_group.is_some_and(|old| old != n) {
                            m.warnings.push(ImportWarning::new(
                                WarningKind::Conflict,
                                None,
                                Some(bm.bdf),
                                "iommu_group link and iommu_groups directory disagree",
                            ));
                        }
                        dev.iommu_group.get_or_insert(n);
                    }
                }
            }
        }
    }
    if any && m.kernel.iommu.is_none() {
        // Groups exist, so an IOMMU driver is active; its kind comes from sys/class/iommu.
        m.kernel.iommu = iommu_class(root);
    }
    // The default domain is the type of the groups the kernel made (vfio's are unmanaged).
    let defaults: Vec<DomainType> = types
        .iter()
        .filter_map(|t| match t.as_str() {
            "DMA-FQ" => Some(DomainType::DmaFq),
            "DMA" => Some(DomainType::Dma),
            "identity" => Some(DomainType::Identity),
            _ => None,
        })
        .collect();
    if let Some(first) = defaults.first() {
        if defaults.iter().all(|t| t == first) {
            m.kernel.default_domain = Some(*first);
        } else {
            m.warnings.push(ImportWarning::new(
                WarningKind::Conflict,
                None,
                None,
                "iommu groups have different domain types; default domain left unknown",
            ));
        }
    }
}

/// The IOMMU driver from `ROOT/sys/class/iommu` entry names.
fn iommu_class(root: &Path) -> Option<IommuKind> {
    let entries = fs::read_dir(root.join("sys/class/iommu")).ok()?;
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("dmar") {
            return Some(IommuKind::Vtd);
        }
        if n.starts_with("ivhd") {
            return Some(IommuKind::AmdVi);
        }
        if n.starts_with("smmu3") {
            return Some(IommuKind::Smmuv3);
        }
    }
    None
}

fn kernel_files(root: &Path, m: &mut Machine) {
    if let Some(c) = read_text(&root.join("proc/cmdline")) {
        m.kernel.apply_cmdline(&c);
    }
    if let Some(r) = read_text(&root.join("proc/sys/kernel/osrelease")) {
        if r.contains("x86_64") {
            m.kernel.arch = Some(Arch::X86_64);
        } else if r.contains("aarch64") {
            m.kernel.arch = Some(Arch::Arm64);
        }
        m.kernel.release = Some(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_lines() {
        let text = "0x0000000070000000 0x0000000070ffffff 0x0000000000040200\n\
                    0x00003c0000000000 0x00003c000fffffff 0x000000000014220c\n\
                    0x0000000000000000 0x0000000000000000 0x0000000000000000\n\
                    garbage\n\
                    0x0000000000005000 0x000000000000507f 0x0000000000040101\n";
        let bars = resource_bars(text, Some(0));
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[0].size, Some(16 << 20));
        assert!(!bars[0].prefetchable);
        assert_eq!(bars[1].index, 1);
        assert!(bars[1].prefetchable && bars[1].is_64bit);
        assert_eq!(bars[2].kind, BarKind::Io);
        assert_eq!(bars[2].index, 4);
    }

    #[test]
    fn short_config_is_not_a_panic() {
        for len in [0usize, 3, 63, 64, 100, 255, 256, 300, 4095, 4096] {
            let cfg = vec![0xffu8; len];
            let _ = decode_config(&cfg);
            let cfg = vec![0u8; len];
            let _ = decode_config(&cfg);
        }
    }
}
