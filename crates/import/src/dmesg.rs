//! Kernel logs: `dmesg`, `journalctl -k`, and logs that quote kernel lines.
//!
//! Enumeration lines come from `drivers/pci/probe.c` (`pci_setup_device`:
//! `[vvvv:dddd] type 01 class 0x060400 PCIe Root Port`; `pci_read_bridge_bases`:
//! `PCI bridge to [bus 01-04]`) and `drivers/pci/setup-res.c`/`probe.c` (BARs, printed
//! `BAR 0 [mem …]` by recent kernels and `reg 0x10: [mem …]` by older ones). Groups come
//! from `drivers/iommu/iommu.c` (`Adding to iommu group N`), p2pdma verdicts from
//! `drivers/pci/p2pdma.c`.

use peerpath_model::{AddrRange, Arch, Bdf, CpuVendor, DomainType, IommuKind};

use crate::machine::{
    finished, kind_from_class, BarKind, BridgeWindow, BusRange, CapsSeen, DeviceKind, DeviceSet,
    HostWindow, ImportWarning, KindEvidence, Machine, P2pdmaMessage, P2pdmaReason, PciBar, RootBus,
    SourceKind, WarningKind,
};
use crate::text::{bdf_at_start, find_bdfs, parse_dec, parse_hex_u64, strip_log_prefix};

/// Parses a kernel log. Besides the kernel's own lines it reads group listings that
/// scripts print (`IOMMU Group 19 03:00.0 …`, `03:00.0 -> group 19`).
pub fn parse_dmesg(text: &str) -> Machine {
    let mut m = Machine::new(SourceKind::Dmesg);
    let mut set = DeviceSet::default();
    let mut translated: Option<bool> = None;
    let mut lazy: Option<bool> = None;
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let t = strip_log_prefix(raw);
        if t.is_empty() {
            continue;
        }
        if kernel_line(&mut m, t, &mut translated, &mut lazy) {
            continue;
        }
        if let Some(rest) = t.strip_prefix("pci_bus ") {
            root_bus_resource(&mut m, rest, no);
            continue;
        }
        if let Some(bus) = t.strip_prefix("PCI host bridge to bus ") {
            host_bridge_line(&mut m, bus, no);
            continue;
        }
        if device_line(&mut m, &mut set, t, no) {
            continue;
        }
        if cpu_line(&mut m, t) {
            continue;
        }
        script_group_line(&mut m, &mut set, t, no);
    }
    match (translated, lazy) {
        (Some(false), _) => m.kernel.default_domain = Some(DomainType::Identity),
        (Some(true), Some(true)) => m.kernel.default_domain = Some(DomainType::DmaFq),
        (Some(true), _) => m.kernel.default_domain = Some(DomainType::Dma),
        (None, _) => {}
    }
    set.into_machine(&mut m);
    finished(m, "no PCI device lines found in the log")
}

/// A kernel log or a script's log that quotes kernel lines, as `peerpath import --dmesg`
/// reads it: [`parse_dmesg`], plus any `lspci -t`/`-tv` tree embedded in the text (test
/// scripts paste one to show where the cards sit), merged in.
pub fn parse_log(text: &str) -> Machine {
    let mut m = parse_dmesg(text);
    let tree = crate::tree::parse_lspci_tree(text);
    if tree.entries.is_empty() {
        return m;
    }
    if m.devices.is_empty() {
        // The tree supplies the devices the kernel lines did not.
        m.warnings
            .retain(|w| !(w.kind == WarningKind::Unparsed && w.bdf.is_none() && w.line.is_none()));
    }
    m.merge(tree.to_machine());
    m.source = SourceKind::Dmesg;
    m
}

/// A CPU named by a script or `lscpu` rather than the kernel:
/// `CPU      : AMD Ryzen 9 9950X 16-Core Processor  (CPU family 26 = 0x1a, …)`,
/// `Model name: AMD EPYC 9654 …`, `Vendor ID: AuthenticAMD`, `CPU family: 25`.
/// Fills only what the kernel's own lines have not given; true when consumed.
fn cpu_line(m: &mut Machine, t: &str) -> bool {
    let Some((key, val)) = t.split_once(':') else {
        return false;
    };
    let key = key.trim().to_ascii_lowercase();
    let val = val.trim();
    let vendor_of = |s: &str| {
        let l = s.to_ascii_lowercase();
        if l.starts_with("amd") || l.contains("authenticamd") {
            Some(CpuVendor::Amd)
        } else if l.starts_with("intel") || l.contains("genuineintel") {
            Some(CpuVendor::Intel)
        } else {
            None
        }
    };
    match key.as_str() {
        "cpu" | "model name" | "vendor id" => {
            let Some(v) = vendor_of(val) else {
                return false;
            };
            m.kernel.cpu_vendor.get_or_insert(v);
            m.kernel.arch.get_or_insert(Arch::X86_64);
            if let Some(f) = family_in(val) {
                m.kernel.cpu_family.get_or_insert(f);
            }
            true
        }
        "cpu family" => match family_number(val) {
            Some(f) => {
                m.kernel.cpu_family.get_or_insert(f);
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// `… (CPU family 26 = 0x1a, …)` or `… (family: 0x19, …)`.
fn family_in(s: &str) -> Option<u32> {
    let at = s.to_ascii_lowercase().find("family")?;
    let rest = s.get(at + "family".len()..)?;
    family_number(rest.trim_start_matches([':', ' ']))
}

/// `0x1a`, `26`, `1ah` at the start of `s`.
fn family_number(s: &str) -> Option<u32> {
    let tok: String = s
        .trim()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let v = if tok.starts_with("0x") {
        parse_hex_u64(&tok)?
    } else if let Some(h) = tok.strip_suffix('h') {
        u64::from_str_radix(h, 16).ok()?
    } else {
        parse_dec::<u64>(&tok)?
    };
    u32::try_from(v).ok()
}

/// Lines about the kernel itself; true when consumed.
fn kernel_line(
    m: &mut Machine,
    t: &str,
    translated: &mut Option<bool>,
    lazy: &mut Option<bool>,
) -> bool {
    if let Some(r) = t.strip_prefix("Linux version ") {
        if let Some(rel) = r.split_whitespace().next() {
            m.kernel.release = Some(rel.to_string());
            if rel.contains("x86_64") {
                m.kernel.arch = Some(Arch::X86_64);
            } else if rel.contains("aarch64") || rel.contains("arm64") {
                m.kernel.arch = Some(Arch::Arm64);
            } else if rel.contains("ppc64") {
                m.kernel.arch = Some(Arch::Ppc64);
            }
        }
        return true;
    }
    if let Some(c) = t
        .strip_prefix("Command line: ")
        .or_else(|| t.strip_prefix("Kernel command line: "))
    {
        m.kernel.apply_cmdline(c);
        return true;
    }
    if let Some(r) = t.strip_prefix("smpboot: CPU0: ") {
        // `AMD EPYC 9654 96-Core Processor (family: 0x19, model: 0x11, stepping: 0x1)`
        if r.starts_with("AMD") {
            m.kernel.cpu_vendor = Some(CpuVendor::Amd);
        } else if r.starts_with("Intel") {
            m.kernel.cpu_vendor = Some(CpuVendor::Intel);
        }
        if let Some(p) = r.find("(family: ") {
            let fam = r[p + "(family: ".len()..]
                .split(',')
                .next()
                .unwrap_or_default();
            m.kernel.cpu_family = parse_hex_u64(fam).and_then(|v| u32::try_from(v).ok());
        }
        m.kernel.arch.get_or_insert(Arch::X86_64);
        return true;
    }
    if let Some(r) = t.strip_prefix("iommu: Default domain type: ") {
        if r.starts_with("Translated") {
            *translated = Some(true);
        } else if r.starts_with("Passthrough") {
            *translated = Some(false);
        }
        return true;
    }
    if let Some(r) = t.strip_prefix("iommu: DMA domain TLB invalidation policy: ") {
        *lazy = Some(r.starts_with("lazy"));
        return true;
    }
    if t.starts_with("AMD-Vi: Interrupt remapping")
        || t.starts_with("AMD-Vi: Extended features")
        || t.contains(" AMD-Vi: Found IOMMU")
    {
        m.kernel.iommu = Some(IommuKind::AmdVi);
        return true;
    }
    if t.starts_with("DMAR: IOMMU enabled")
        || t.starts_with("DMAR: Intel(R) Virtualization Technology for Directed I/O")
    {
        m.kernel.iommu = Some(IommuKind::Vtd);
        return true;
    }
    if t.starts_with("arm-smmu-v3 ") && t.contains("probing hardware configuration") {
        m.kernel.iommu = Some(IommuKind::Smmuv3);
        return true;
    }
    false
}

/// `PCI host bridge to bus 0000:60`
fn host_bridge_line(m: &mut Machine, bus: &str, no: usize) {
    let Some((seg, b)) = seg_bus(bus.trim()) else {
        m.warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(no),
            None,
            format!("host bridge bus `{}` not readable", bus.trim()),
        ));
        return;
    };
    if !m.root_buses.iter().any(|r| r.segment == seg && r.bus == b) {
        m.root_buses.push(RootBus {
            segment: seg,
            bus: b,
            last_bus: None,
            declared: true,
            windows: Vec::new(),
            numa_node: None,
        });
    }
}

/// `ssss:bb`
fn seg_bus(s: &str) -> Option<(u16, u8)> {
    let (seg, bus) = s.split_once(':')?;
    let bus = bus.get(..2)?;
    Some((
        u16::from_str_radix(seg, 16).ok()?,
        u8::from_str_radix(bus, 16).ok()?,
    ))
}

/// `0000:60: root bus resource [mem 0xd2000000-0xd34fffff window]`, with an optional
/// ` (bus address [0x…-0x…])`, or `[bus 60-7f]`.
fn root_bus_resource(m: &mut Machine, rest: &str, no: usize) {
    let Some((sb, msg)) = rest.split_once(": ") else {
        return;
    };
    let Some((segment, bus)) = seg_bus(sb) else {
        return;
    };
    if let Some(n) = msg.strip_prefix("on NUMA node ") {
        let node = crate::text::parse_dec::<u16>(n);
        if let Some(r) = m
            .root_buses
            .iter_mut()
            .find(|r| r.segment == segment && r.bus == bus)
        {
            r.numa_node = node.map(|n| (n, no));
        }
        return;
    }
    let Some(res) = msg.strip_prefix("root bus resource ") else {
        return;
    };
    let idx = match m
        .root_buses
        .iter()
        .position(|r| r.segment == segment && r.bus == bus)
    {
        Some(i) => i,
        None => {
            m.root_buses.push(RootBus {
                segment,
                bus,
                last_bus: None,
                declared: true,
                windows: Vec::new(),
                numa_node: None,
            });
            m.root_buses.len() - 1
        }
    };
    let Some(r) = m.root_buses.get_mut(idx) else {
        return;
    };
    if let Some(b) = res.strip_prefix("[bus ") {
        let inner = b.split(']').next().unwrap_or_default();
        let last = inner.split_once('-').map_or(inner, |(_, l)| l);
        r.last_bus = u8::from_str_radix(last.trim(), 16).ok();
        return;
    }
    if let Some(mem) = res.strip_prefix("[mem ") {
        let Some(cpu) = mem_range(mem.split(']').next().unwrap_or_default()) else {
            m.warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(no),
                None,
                format!("root bus resource `{res}` not readable"),
            ));
            return;
        };
        let bus_start = res
            .find("(bus address [")
            .and_then(|p| res[p + "(bus address [".len()..].split('-').next())
            .and_then(parse_hex_u64)
            .unwrap_or(cpu.start);
        r.windows.push(HostWindow { cpu, bus_start });
    }
}

/// `0xd2000000-0xd34fffff window` / `0x38420f00000-0x38420ffffff 64bit pref` -> range.
fn mem_range(s: &str) -> Option<AddrRange> {
    let tok = s.split_whitespace().next()?;
    let (a, b) = tok.split_once('-')?;
    AddrRange::from_start_and_end(parse_hex_u64(a)?, parse_hex_u64(b)?)
}

/// `<subsystem> ssss:bb:dd.f: <message>`; true when consumed.
fn device_line(m: &mut Machine, set: &mut DeviceSet, t: &str, no: usize) -> bool {
    let Some((word, rest)) = t.split_once(' ') else {
        return false;
    };
    if word.is_empty()
        || !word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        return false;
    }
    let Ok(Some(bm)) = bdf_at_start(rest) else {
        return false;
    };
    let Some(msg) = rest.get(bm.len..).and_then(|r| r.strip_prefix(": ")) else {
        return false;
    };
    let bdf = bm.bdf;
    // `xe 0000:07:00.0: …`: the word before the address is the bound driver (`pci` is
    // the PCI core, `pci_bus` a bus). Recorded for devices the log already names.
    if !matches!(word, "pci" | "pci_bus") {
        if let Some(d) = set.devices.get_mut(&bdf) {
            d.driver.get_or_insert_with(|| word.to_string());
        }
    }
    if let Some(g) = msg.strip_prefix("Adding to iommu group ") {
        match parse_dec::<u32>(g) {
            Some(n) => set.get(bdf, Some(no)).iommu_group = Some(n),
            None => m.warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(no),
                Some(bdf),
                format!("iommu group `{g}` is not a number"),
            )),
        }
        return true;
    }
    // arm-smmu-v3 `arm_smmu_insert_master`: another device holds this StreamID (H3).
    if msg.starts_with("stream ") && msg.contains(" already in tree") {
        if !m.kernel.stream_id_refused.contains(&bdf) {
            m.kernel.stream_id_refused.push(bdf);
        }
        m.kernel.iommu.get_or_insert(IommuKind::Smmuv3);
        return true;
    }
    if msg.starts_with("Removing from iommu group") {
        set.get(bdf, Some(no)).iommu_group = None;
        return true;
    }
    if msg.contains("peer-to-peer DMA") {
        let provider = msg
            .find('(')
            .and_then(|p| find_bdfs(&msg[p..]).into_iter().next());
        let reason = if msg.contains("do not share an upstream bridge") {
            P2pdmaReason::NoCommonUpstream
        } else if msg.contains("ACS redirect") {
            P2pdmaReason::AcsRedirect
        } else {
            P2pdmaReason::Other
        };
        set.get(bdf, Some(no))
            .driver
            .get_or_insert_with(|| word.to_string());
        if let Some(p) = provider {
            set.get(p, Some(no));
        }
        m.p2pdma.push(P2pdmaMessage {
            client: bdf,
            provider,
            reason,
            line: no,
        });
        return true;
    }
    if word != "pci" {
        return false;
    }
    pci_message(m, set, bdf, msg.trim(), no);
    true
}

fn pci_message(m: &mut Machine, set: &mut DeviceSet, bdf: Bdf, msg: &str, no: usize) {
    // `[1022:14a4] type 00 class 0x060000 conventional PCI endpoint`
    if msg.starts_with('[') {
        enumeration(m, set, bdf, msg, no);
        return;
    }
    if let Some(r) = msg.strip_prefix("PCI bridge to [bus ") {
        let inner = r.split(']').next().unwrap_or_default();
        let (s, u) = inner.split_once('-').unwrap_or((inner, inner));
        match (
            u8::from_str_radix(s.trim(), 16),
            u8::from_str_radix(u.trim(), 16),
        ) {
            (Ok(secondary), Ok(subordinate)) if secondary <= subordinate => {
                let d = set.get(bdf, Some(no));
                d.bus_range = Some(BusRange {
                    secondary,
                    subordinate,
                });
                d.header_type = Some(1);
            }
            _ => m.warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(no),
                Some(bdf),
                format!("bridge bus range `[bus {inner}]` not readable"),
            )),
        }
        return;
    }
    if let Some(r) = msg.strip_prefix("bridge window [mem ") {
        let inner = r.split(']').next().unwrap_or_default();
        if let Some(range) = mem_range(inner) {
            let prefetchable = inner.contains("pref");
            let d = set.get(bdf, Some(no));
            d.bridge_windows.retain(|w| w.prefetchable != prefetchable);
            d.bridge_windows.push(BridgeWindow {
                range,
                prefetchable,
            });
        }
        return;
    }
    if msg.starts_with("VF") || msg.starts_with("ROM") {
        return;
    }
    // `BAR 0 [mem …]`, `BAR 0: assigned [mem …]`, `reg 0x10: [mem …]`
    let index = if let Some(r) = msg.strip_prefix("BAR ") {
        r.split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(parse_dec::<u8>)
    } else if let Some(r) = msg.strip_prefix("reg 0x") {
        let reg = r.split(':').next().and_then(parse_hex_u64).unwrap_or(0);
        (0x10..=0x24)
            .contains(&reg)
            .then(|| ((reg - 0x10) / 4) as u8)
    } else {
        None
    };
    let Some(index) = index.filter(|i| *i <= 5) else {
        return;
    };
    let Some(open) = msg.find('[') else {
        return;
    };
    let inner = msg[open + 1..].split(']').next().unwrap_or_default();
    let (kind, range_text) = if let Some(r) = inner.strip_prefix("mem ") {
        (BarKind::Memory, r)
    } else if let Some(r) = inner.strip_prefix("io ") {
        (BarKind::Io, r.trim_start())
    } else {
        return;
    };
    if range_text.starts_with("size ") {
        return; // an unassigned BAR (`[mem size 0x…]`)
    }
    let Some(range) = mem_range(range_text) else {
        m.warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(no),
            Some(bdf),
            format!("BAR {index} `[{inner}]` not readable"),
        ));
        return;
    };
    let d = set.get(bdf, Some(no));
    d.bars.retain(|b| b.index != index);
    d.bars.push(PciBar {
        index,
        kind,
        addr: Some(range.start),
        size: range.size(),
        prefetchable: range_text.contains("pref"),
        is_64bit: range_text.contains("64bit"),
        disabled: false,
    });
    d.bars.sort_by_key(|b| b.index);
}

/// `[1022:14a4] type 00 class 0x060000 conventional PCI endpoint`
fn enumeration(m: &mut Machine, set: &mut DeviceSet, bdf: Bdf, msg: &str, no: usize) {
    let close = msg.find(']').unwrap_or(0);
    let ids = msg.get(1..close).and_then(|s| s.split_once(':'));
    let rest = msg.get(close + 1..).unwrap_or_default().trim();
    let mut header_type = None;
    let mut class = None;
    let mut type_str = "";
    let mut words = rest.splitn(5, ' ');
    while let Some(w) = words.next() {
        match w {
            "type" => header_type = words.next().and_then(|h| u8::from_str_radix(h, 16).ok()),
            "class" => {
                class = words
                    .next()
                    .and_then(parse_hex_u64)
                    .and_then(|c| u32::try_from(c).ok());
                // `splitn(5)` leaves the kernel's type string whole as the last piece.
                type_str = words.next().unwrap_or_default().trim();
                break;
            }
            _ => {}
        }
    }
    let Some((v, dv)) = ids.and_then(|(v, d)| {
        Some((
            u16::from_str_radix(v, 16).ok()?,
            u16::from_str_radix(d, 16).ok()?,
        ))
    }) else {
        m.warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(no),
            Some(bdf),
            format!("enumeration line not readable: `{msg}`"),
        ));
        return;
    };
    let d = set.get(bdf, Some(no));
    d.vendor = Some(v);
    d.device = Some(dv);
    d.header_type = header_type.map(|h| h & 0x7f).or(d.header_type);
    d.class = class.or(d.class);
    d.caps = CapsSeen::Unknown;
    let by_type = match type_str {
        "PCIe Endpoint" | "PCIe Legacy Endpoint" => Some(DeviceKind::Endpoint),
        "PCIe Root Port" => Some(DeviceKind::RootPort),
        "PCIe Switch Upstream Port" => Some(DeviceKind::SwitchUpstream),
        "PCIe Switch Downstream Port" => Some(DeviceKind::SwitchDownstream),
        "PCIe to PCI/PCI-X bridge" => Some(DeviceKind::PcieToPciBridge),
        "PCI/PCI-X to PCIe bridge" => Some(DeviceKind::PciToPcieBridge),
        "PCIe Root Complex Integrated Endpoint" => Some(DeviceKind::RcEndpoint),
        "PCIe Root Complex Event Collector" => Some(DeviceKind::RcEventCollector),
        "conventional PCI endpoint" => Some(DeviceKind::Conventional),
        "conventional PCI bridge" | "CardBus bridge" => Some(DeviceKind::PciBridge),
        _ => None,
    };
    match by_type {
        Some(_) if crate::machine::is_host_bridge_function(d.class, d.header_type) => {
            d.kind = DeviceKind::HostBridge;
            d.kind_from = KindEvidence::ClassCode;
        }
        Some(k) => {
            d.kind = k;
            d.kind_from = KindEvidence::KernelLog;
        }
        None => {
            if let Some(c) = d.class {
                let k = kind_from_class(c, d.header_type);
                if k != DeviceKind::Unknown {
                    d.kind = k;
                    d.kind_from = KindEvidence::ClassCode;
                }
            }
        }
    }
}

/// Group listings printed by scripts: `IOMMU Group 19 03:00.0 …`, `IOMMU group 19: …`,
/// `03:00.0 -> group 19`.
fn script_group_line(m: &mut Machine, set: &mut DeviceSet, t: &str, no: usize) {
    let lower = t.to_ascii_lowercase();
    if let Some(r) = lower.strip_prefix("iommu group ") {
        let num: String = r.chars().take_while(char::is_ascii_digit).collect();
        let after = &t["iommu group ".len() + num.len()..];
        let after = after.trim_start_matches(':').trim_start();
        if let (Some(n), Ok(Some(bm))) = (parse_dec::<u32>(&num), bdf_at_start(after)) {
            set.get(bm.bdf, Some(no)).iommu_group = Some(n);
        }
        return;
    }
    if let Ok(Some(bm)) = bdf_at_start(t) {
        let after = t.get(bm.len..).unwrap_or_default().trim_start();
        if let Some(g) = after.strip_prefix("-> group ") {
            match parse_dec::<u32>(g) {
                Some(n) => set.get(bm.bdf, Some(no)).iommu_group = Some(n),
                None => m.warnings.push(ImportWarning::new(
                    WarningKind::Unparsed,
                    Some(no),
                    Some(bm.bdf),
                    format!("group `{g}` is not a number"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::HierarchySource;

    fn bdf(s: &str) -> Bdf {
        s.parse().expect("valid bdf")
    }

    const LOG: &str = "\
[    0.000000] Linux version 5.14.0-570.23.1.el9_6.x86_64 (mockbuild@x) (gcc) #1 SMP
[    0.319630] smpboot: CPU0: AMD EPYC 9654 96-Core Processor (family: 0x19, model: 0x11, stepping: 0x1)
[    1.263303] PCI host bridge to bus 0000:60
[    1.263309] pci_bus 0000:60: root bus resource [mem 0xd2000000-0xd34fffff window]
[    1.263311] pci_bus 0000:60: root bus resource [mem 0x18421000000-0x28420ffffff window]
[    1.263313] pci_bus 0000:60: root bus resource [bus 60-7f]
[    1.263328] pci 0000:60:00.0: [1022:14a4] type 00 class 0x060000 conventional PCI endpoint
[    1.264549] pci 0000:60:07.0: [1022:149f] type 00 class 0x060000 conventional PCI endpoint
[    1.264622] pci 0000:60:07.1: [1022:14a7] type 01 class 0x060400 PCIe Root Port
[    1.264638] pci 0000:60:07.1: PCI bridge to [bus 64]
[    1.264650] pci 0000:60:07.1:   bridge window [mem 0x28420f00000-0x28420ffffff 64bit pref]
[    1.266624] pci 0000:64:00.1: [1022:14dc] type 00 class 0x088000 PCIe Endpoint
[    1.266646] pci 0000:64:00.1: BAR 0 [mem 0x28420f80000-0x28420ffffff 64bit pref]
[    1.266649] pci 0000:64:00.1: reg 0x18: [mem 0x28420f00000-0x28420f7ffff 64bit pref]
[    1.266650] pci 0000:64:00.1: VF BAR 0 [mem 0xc4000000-0xc403ffff]
[    1.266651] pci 0000:64:00.1: ROM [mem 0xf7040000-0xf707ffff pref]
[    3.328212] iommu: Default domain type: Translated
[    3.328212] iommu: DMA domain TLB invalidation policy: lazy mode
[    3.355308] pci 0000:60:07.0: Adding to iommu group 8
[    3.355342] pci 0000:60:07.1: Adding to iommu group 8
[    3.355463] pci 0000:64:00.1: Adding to iommu group 8
";

    #[test]
    fn arm_smmu_v3_refusing_a_taken_stream_id_is_recorded() {
        let m = parse_dmesg(
            "[    5.1] pci 0001:01:00.0: stream 256 already in tree from dev 0000:01:00.0\n\
             [    5.2] pci 0002:01:00.0: stream 256 already in tree\n\
             [    5.3] pci 0001:01:00.0: stream 256 already in tree from dev 0000:01:00.0\n",
        );
        assert_eq!(
            m.kernel.stream_id_refused,
            [bdf("0001:01:00.0"), bdf("0002:01:00.0")]
        );
        assert_eq!(m.kernel.iommu, Some(IommuKind::Smmuv3));
    }

    #[test]
    fn enumeration_hierarchy_bars_groups() {
        let m = parse_dmesg(LOG);
        assert_eq!(
            m.kernel.release.as_deref(),
            Some("5.14.0-570.23.1.el9_6.x86_64")
        );
        assert_eq!(m.kernel.cpu_family, Some(0x19));
        assert_eq!(m.kernel.default_domain, Some(DomainType::DmaFq));
        assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
        let rp = m.device(bdf("0000:60:07.1")).expect("rp");
        assert_eq!(rp.kind, DeviceKind::RootPort);
        assert_eq!(rp.kind_from, KindEvidence::KernelLog);
        let ep = m.device(bdf("0000:64:00.1")).expect("ep");
        assert_eq!(ep.parent, Some(bdf("0000:60:07.1")));
        assert_eq!(ep.bars.len(), 2);
        assert_eq!(ep.bars[1].index, 2);
        assert_eq!(ep.bars[1].size, Some(0x80000));
        let hb = m.device(bdf("0000:60:07.0")).expect("dummy host bridge");
        assert_eq!(hb.kind, DeviceKind::HostBridge);
        assert_eq!(m.root_buses.len(), 1);
        assert_eq!(m.root_buses[0].windows.len(), 2);
        assert_eq!(m.root_buses[0].last_bus, Some(0x7f));
        assert_eq!(crate::kernel_groups(&m).len(), 3);
        // 60:00.0 is the host bridge's own function: no group expected, no warning.
        assert!(
            !m.warnings.iter().any(|w| w.kind == WarningKind::NoGroup),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn p2pdma_refusal_and_script_groups() {
        let text = "  03:00.0 -> group 19\n  07:00.0 -> group 24\n[18.887] xe 0000:07:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0) do not share an upstream bridge or whitelisted host bridge\nIOMMU Group 5 00:02.0 VGA compatible controller\n";
        let m = parse_dmesg(text);
        let g = crate::kernel_groups(&m);
        assert_eq!(g.get(&bdf("03:00.0")), Some(&19));
        assert_eq!(g.get(&bdf("07:00.0")), Some(&24));
        assert_eq!(g.get(&bdf("00:02.0")), Some(&5));
        assert_eq!(m.p2pdma.len(), 1);
        assert_eq!(m.p2pdma[0].client, bdf("07:00.0"));
        assert_eq!(m.p2pdma[0].provider, Some(bdf("03:00.0")));
        assert_eq!(m.p2pdma[0].reason, P2pdmaReason::NoCommonUpstream);
    }

    /// Issue 24: the root bus's NUMA node (`pci_acpi_scan_root`'s `on NUMA node` line).
    #[test]
    fn root_bus_numa_node() {
        let m = parse_dmesg(
            "[    1.2] PCI host bridge to bus 0000:c0\n[    1.3] pci_bus 0000:c0: on NUMA node 1\n[    1.4] pci 0000:c0:01.1: [1022:14ab] type 01 class 0x060400 PCIe Root Port\n",
        );
        let rb = m
            .root_buses
            .iter()
            .find(|r| r.bus == 0xc0)
            .expect("root bus");
        assert_eq!(rb.numa_node, Some((1, 2)));
    }

    #[test]
    fn script_cpu_lines_and_an_embedded_tree() {
        let log = [
            "CPU      : AMD Ryzen 9 9950X 16-Core Processor  (CPU family 26 = 0x1a, >= 0x17)",
            "  -[0000:00]-+-00.0  Advanced Micro Devices, Inc. [AMD] Root Complex",
            "             +-01.1-[01]----00.0  Intel Corporation Battlemage G31 [Intel Graphics]",
        ]
        .join("\n");
        let log = log.as_str();
        let m = parse_log(log);
        assert_eq!(m.kernel.cpu_vendor, Some(CpuVendor::Amd));
        assert_eq!(m.kernel.cpu_family, Some(0x1a));
        assert_eq!(m.kernel.arch, Some(Arch::X86_64));
        assert_eq!(m.devices.len(), 3);
        // Only the names pci.ids cannot resolve to one id: this "Root Complex" is no
        // pci.ids name, and four Battlemage G31 devices share that one.
        let kinds: Vec<_> = m.warnings.iter().map(|w| (w.kind, w.bdf)).collect();
        assert_eq!(
            kinds,
            [
                (WarningKind::Names, Some(bdf("00:00.0"))),
                (WarningKind::Names, Some(bdf("01:00.0")))
            ],
            "{:?}",
            m.warnings
        );
        let mut k = Machine::new(SourceKind::Dmesg);
        assert!(cpu_line(&mut k, "CPU family: 25"));
        assert!(cpu_line(&mut k, "Model name: Intel(R) Xeon(R)"));
        assert!(!cpu_line(&mut k, "CPU: Physical Processor ID: 0"));
        assert_eq!(
            (k.kernel.cpu_family, k.kernel.cpu_vendor),
            (Some(25), Some(CpuVendor::Intel))
        );
    }
}
