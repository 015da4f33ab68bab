//! `lspci` text: `-vvv`, `-vvnn`, `-vvvnn`, `-v`, plain; optionally with a `-tv` tree.
//!
//! A record starts with a line beginning with a BDF (`0000:00:01.0 PCI bridge [0604]: …`
//! or `c1:00.0 VGA compatible controller: …`) and ends at the next blank line. Detail
//! lines are read by their labels, whatever the indentation (tabs in a real dump, spaces
//! in a pasted one). Labels follow pciutils' `ls-caps.c`, `ls-ecaps.c` and `lspci.c`.

use peerpath_model::{Acs, AcsFlags, AddrRange};

use crate::machine::{
    finished, is_host_bridge_function, kind_from_class, Ats, BarKind, BridgeWindow, BusRange,
    CapsSeen, DeviceKind, DeviceSet, ImportWarning, KindEvidence, Machine, PciBar, PciDevice,
    SourceKind, WarningKind,
};
use crate::text::{
    bdf_at_start, parse_dec, parse_hex_u64, parse_lspci_size, trailing_id_pair, BdfTrouble,
};
use crate::tree::{apply_tree, parse_lspci_tree};

/// Parses `lspci` text, and an `lspci -tv` tree when given (which then decides the
/// hierarchy; bus numbers fill in devices the tree does not show).
pub fn parse_lspci(text: &str, tree: Option<&str>) -> Machine {
    let mut m = Machine::new(SourceKind::Lspci);
    parse_lspci_into(&mut m, text, 0);
    if let Some(t) = tree {
        let parsed = parse_lspci_tree(t);
        apply_tree(&mut m, &parsed);
    }
    crate::nvsmi::apply_topo_m(&mut m, text);
    finished(
        m,
        "no lspci device records found (a record starts with a line `bb:dd.f class: name`)",
    )
}

/// Which capability the detail lines currently describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cap {
    None,
    Express,
    Acs,
    Ats,
    Other,
}

/// State of one record.
#[derive(Debug)]
struct Record {
    bdf: peerpath_model::Bdf,
    cap: Cap,
    /// The last register label seen (`DevCtl`), for continuation lines.
    reg: String,
    caps_listed: bool,
    caps_denied: bool,
    caps_absent: bool,
    registers_seen: bool,
    acs_listed: bool,
    acs_cap: Option<AcsFlags>,
    acs_ctl: Option<AcsFlags>,
    express_kind: Option<DeviceKind>,
    bus_line: bool,
}

impl Record {
    fn new(bdf: peerpath_model::Bdf) -> Self {
        Self {
            bdf,
            cap: Cap::None,
            reg: String::new(),
            caps_listed: false,
            caps_denied: false,
            caps_absent: false,
            registers_seen: false,
            acs_listed: false,
            acs_cap: None,
            acs_ctl: None,
            express_kind: None,
            bus_line: false,
        }
    }
}

/// Parses lspci records of `text` into `m` (devices merged by BDF); `line_offset` is
/// added to line numbers (text cut out of a bigger file).
pub(crate) fn parse_lspci_into(m: &mut Machine, text: &str, line_offset: usize) {
    let mut set = DeviceSet::default();
    let mut warnings = Vec::new();
    let mut cur: Option<Record> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = line_offset + i + 1;
        let t = raw.trim();
        if t.is_empty() {
            if let Some(r) = cur.take() {
                close_record(&mut set, r, &mut warnings);
            }
            continue;
        }
        match bdf_at_start(t) {
            Ok(Some(bm)) if t.as_bytes().get(bm.len) == Some(&b' ') => {
                if let Some(r) = cur.take() {
                    close_record(&mut set, r, &mut warnings);
                }
                let rest = t.get(bm.len..).unwrap_or_default();
                let dev = set.get(bm.bdf, Some(line_no));
                parse_header(dev, rest, line_no, &mut warnings);
                cur = Some(Record::new(bm.bdf));
                continue;
            }
            Err(BdfTrouble::SegmentTooLarge) => {
                if let Some(r) = cur.take() {
                    close_record(&mut set, r, &mut warnings);
                }
                warnings.push(ImportWarning::new(
                    WarningKind::Unparsed,
                    Some(line_no),
                    None,
                    "PCI segment above 0xffff (e.g. an Intel VMD domain): record skipped",
                ));
                continue;
            }
            _ => {}
        }
        if let Some(rec) = cur.as_mut() {
            let dev = set.get(rec.bdf, Some(line_no));
            parse_detail(dev, rec, t, line_no, &mut warnings);
        }
    }
    if let Some(r) = cur.take() {
        close_record(&mut set, r, &mut warnings);
    }
    set.into_machine(m);
    m.warnings.extend(warnings);
}

/// `PCI bridge [0604]: Ampere … Root Port a0 [1def:e101] (rev 04) (prog-if 00 [Normal decode])`
fn parse_header(dev: &mut PciDevice, rest: &str, line: usize, warnings: &mut Vec<ImportWarning>) {
    let rest = rest.trim();
    let Some((class_part, desc)) = rest.split_once(": ") else {
        // `bb:dd.f name` without a class (unusual): keep the text as the name.
        if !rest.is_empty() {
            dev.name = Some(rest.to_string());
        }
        warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            Some(dev.bdf),
            "record header has no `class: name` part",
        ));
        return;
    };
    // Class: `VGA compatible controller [0300]` or `Host bridge`.
    let class_part = class_part.trim();
    let (class_name, class_hex) = match class_part
        .strip_suffix(']')
        .and_then(|s| s.rsplit_once(" ["))
    {
        Some((name, hex)) if hex.len() == 4 => (name, u16::from_str_radix(hex, 16).ok()),
        _ => (class_part, None),
    };
    dev.class_name = Some(class_name.to_string());
    // Description: strip `(prog-if xx [..])`, then `(rev xx)`, then `[vvvv:dddd]`.
    let mut d = desc.trim();
    let mut prog_if = None;
    if let Some(p) = d.rfind(" (prog-if ") {
        let tail = &d[p + " (prog-if ".len()..];
        prog_if = tail.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok());
        d = d[..p].trim_end();
    }
    if let Some(p) = d.rfind(" (rev ") {
        if d.ends_with(')') {
            d = d[..p].trim_end();
        }
    }
    if let Some((name, v, dv)) = trailing_id_pair(d) {
        dev.vendor = Some(v);
        dev.device = Some(dv);
        d = name;
    }
    if !d.is_empty() {
        dev.name = Some(d.to_string());
    }
    let base_sub = class_hex.or_else(|| class_from_name(class_name));
    if let Some(bs) = base_sub {
        dev.class = Some(u32::from(bs) << 8 | u32::from(prog_if.unwrap_or(0)));
    }
}

/// Class codes of the class names lspci prints without `-nn` (pciutils `pci.ids`).
fn class_from_name(name: &str) -> Option<u16> {
    Some(match name {
        "Host bridge" => 0x0600,
        "ISA bridge" => 0x0601,
        "PCI bridge" => 0x0604,
        "CardBus bridge" => 0x0607,
        "Bridge" => 0x0680,
        "IOMMU" => 0x0806,
        "VGA compatible controller" => 0x0300,
        "XGA compatible controller" => 0x0301,
        "3D controller" => 0x0302,
        "Display controller" => 0x0380,
        "Ethernet controller" => 0x0200,
        "Network controller" => 0x0280,
        "Infiniband controller" => 0x0207,
        "Fabric controller" => 0x0208,
        "Non-Volatile memory controller" => 0x0108,
        "RAID bus controller" => 0x0104,
        "SATA controller" => 0x0106,
        "Serial Attached SCSI controller" => 0x0107,
        "Mass storage controller" => 0x0180,
        "Audio device" => 0x0403,
        "Multimedia audio controller" => 0x0401,
        "USB controller" => 0x0c03,
        "SMBus" => 0x0c05,
        "Processing accelerators" => 0x1200,
        "Co-processor" => 0x0b40,
        "Encryption controller" => 0x1080,
        "Signal processing controller" => 0x1180,
        "System peripheral" => 0x0880,
        "Non-Essential Instrumentation" => 0x1300,
        _ => return None,
    })
}

fn label_of(t: &str) -> Option<&str> {
    let first = t.split_whitespace().next()?;
    let label = first.strip_suffix(':')?;
    (!label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric())).then_some(label)
}

fn parse_detail(
    dev: &mut PciDevice,
    rec: &mut Record,
    t: &str,
    line: usize,
    warnings: &mut Vec<ImportWarning>,
) {
    if let Some(rest) = t.strip_prefix("Capabilities:") {
        capability_header(dev, rec, rest, line, warnings);
        return;
    }
    if let Some(l) = label_of(t) {
        rec.reg = l.to_string();
    }
    let rest_after = |label: &str| t.strip_prefix(label).map(str::trim);

    // Lines outside capabilities.
    if let Some(s) = rest_after("Status:") {
        if rec.cap == Cap::None && s.starts_with("Cap-") {
            rec.caps_absent = true;
        }
    }
    if let Some(g) = rest_after("IOMMU group:") {
        match parse_dec::<u32>(g) {
            Some(n) => {
                if dev.iommu_group.is_some_and(|old| old != n) {
                    warnings.push(ImportWarning::new(
                        WarningKind::Conflict,
                        Some(line),
                        Some(dev.bdf),
                        "two different IOMMU group lines; the last one is kept",
                    ));
                }
                dev.iommu_group = Some(n);
            }
            None => warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(line),
                Some(dev.bdf),
                format!("IOMMU group `{g}` is not a number"),
            )),
        }
        return;
    }
    if let Some(n) = rest_after("NUMA node:") {
        match parse_dec::<u16>(n) {
            Some(n) => dev.numa_node = Some((n, Some(line))),
            None => warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(line),
                Some(dev.bdf),
                format!("NUMA node `{n}` is not a number"),
            )),
        }
        return;
    }
    if let Some(drv) = rest_after("Kernel driver in use:") {
        if !drv.is_empty() {
            dev.driver = Some(drv.to_string());
        }
        return;
    }
    if let Some(b) = rest_after("Bus:") {
        rec.bus_line = true;
        parse_bus_line(dev, b, line, warnings);
        return;
    }
    if t.starts_with("Region ") {
        parse_region(dev, t, line, warnings);
        return;
    }
    if let Some(w) = rest_after("Memory behind bridge:") {
        parse_bridge_window(dev, w, false);
        return;
    }
    if let Some(w) = rest_after("Prefetchable memory behind bridge:") {
        parse_bridge_window(dev, w, true);
        return;
    }
    capability_register(dev, rec, t, line, warnings);
}

/// A `Capabilities: [70] Express (v2) Root Port …` line: which capability the lines
/// that follow belong to.
fn capability_header(
    dev: &mut PciDevice,
    rec: &mut Record,
    rest: &str,
    line: usize,
    warnings: &mut Vec<ImportWarning>,
) {
    rec.reg.clear();
    let rest = rest.trim();
    if rest.starts_with("<access denied>") {
        rec.caps_denied = true;
        rec.cap = Cap::None;
        return;
    }
    rec.caps_listed = true;
    // `[70] Express (v2) Root Port (Slot+), MSI 00`, `[230 v1] Access Control Services`
    let what = match rest.split_once(']') {
        Some((_, w)) => w.trim(),
        None => {
            warnings.push(ImportWarning::new(
                WarningKind::Unparsed,
                Some(line),
                Some(dev.bdf),
                format!("capability line without `[offset]`: `{rest}`"),
            ));
            ""
        }
    };
    rec.cap = if let Some(e) = what.strip_prefix("Express") {
        rec.express_kind = express_kind(e, dev, line, warnings);
        Cap::Express
    } else if what.starts_with("Access Control Services") {
        rec.acs_listed = true;
        Cap::Acs
    } else if what.starts_with("Address Translation Service") {
        dev.ats.get_or_insert(Ats { enabled: None });
        Cap::Ats
    } else {
        Cap::Other
    };
}

/// A register line of a capability (`ACSCap:`, `LnkSta:`, `DevCtl:` …); the labels are
/// unique enough to match anywhere.
fn capability_register(
    dev: &mut PciDevice,
    rec: &mut Record,
    t: &str,
    line: usize,
    warnings: &mut Vec<ImportWarning>,
) {
    let rest_after = |label: &str| t.strip_prefix(label).map(str::trim);
    if let Some(f) = rest_after("ACSCap:") {
        rec.registers_seen = true;
        rec.acs_cap = Some(parse_acs_flags(f, dev, line, warnings));
        return;
    }
    if let Some(f) = rest_after("ACSCtl:") {
        rec.registers_seen = true;
        rec.acs_ctl = Some(parse_acs_flags(f, dev, line, warnings));
        return;
    }
    if rest_after("ATSCap:").is_some() {
        rec.registers_seen = true;
        dev.ats.get_or_insert(Ats { enabled: None });
        return;
    }
    if let Some(c) = rest_after("ATSCtl:") {
        rec.registers_seen = true;
        let enabled = if c.starts_with("Enable+") {
            Some(true)
        } else if c.starts_with("Enable-") {
            Some(false)
        } else {
            None
        };
        dev.ats = Some(Ats { enabled });
        return;
    }
    if rec.cap == Cap::Express {
        for (label, cap) in [("LnkCap:", true), ("LnkSta:", false)] {
            if let Some(c) = rest_after(label) {
                rec.registers_seen = true;
                let link = link_fields(c);
                if cap {
                    dev.link_cap = link;
                } else {
                    dev.link_sta = link;
                }
                return;
            }
        }
        if let Some(c) = rest_after("DevCap:") {
            rec.registers_seen = true;
            if let Some(v) = max_payload(c) {
                dev.mpss = Some(v);
            }
            return;
        }
        if rec.reg == "DevCtl" {
            rec.registers_seen = true;
            if let Some(v) = max_payload(t) {
                dev.mps = Some(v);
            }
        }
    }
}

/// `Port #0, Speed 16GT/s, Width x16, …` or `Speed 2.5GT/s (downgraded), Width x16`.
fn link_fields(t: &str) -> Option<peerpath_model::Link> {
    let field = |key: &str| {
        t.split(',')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(key))
            .map(|v| v.split_whitespace().next().unwrap_or(""))
    };
    crate::machine::parse_link(field("Speed ")?, field("Width ")?)
}

/// `MaxPayload 512 bytes` anywhere in the text.
fn max_payload(t: &str) -> Option<u32> {
    let at = t.find("MaxPayload ")?;
    let num = t[at + "MaxPayload ".len()..].split_whitespace().next()?;
    parse_dec(num)
}

/// The text after `Express`: `(v2) Root Port (Slot+), MSI 00`.
fn express_kind(
    e: &str,
    dev: &PciDevice,
    line: usize,
    warnings: &mut Vec<ImportWarning>,
) -> Option<DeviceKind> {
    let mut s = e.trim_start();
    if s.starts_with("(v") {
        if let Some(close) = s.find(')') {
            s = s[close + 1..].trim_start();
        }
    }
    // Order matters: longer names before their prefixes.
    let table: [(&str, DeviceKind); 9] = [
        ("Root Complex Integrated Endpoint", DeviceKind::RcEndpoint),
        ("Root Complex Event Collector", DeviceKind::RcEventCollector),
        ("Legacy Endpoint", DeviceKind::Endpoint),
        ("Endpoint", DeviceKind::Endpoint),
        ("Root Port", DeviceKind::RootPort),
        ("Upstream Port", DeviceKind::SwitchUpstream),
        ("Downstream Port", DeviceKind::SwitchDownstream),
        (
            "PCI-Express to PCI/PCI-X Bridge",
            DeviceKind::PcieToPciBridge,
        ),
        (
            "PCI/PCI-X to PCI-Express Bridge",
            DeviceKind::PciToPcieBridge,
        ),
    ];
    for (name, kind) in table {
        if s.starts_with(name) {
            return Some(kind);
        }
    }
    warnings.push(ImportWarning::new(
        WarningKind::Unparsed,
        Some(line),
        Some(dev.bdf),
        format!("unknown PCIe device/port type `{}`", s.trim()),
    ));
    None
}

/// `SrcValid+ TransBlk+ ReqRedir- CmpltRedir- UpstreamFwd+ EgressCtrl- DirectTrans-`
fn parse_acs_flags(
    f: &str,
    dev: &PciDevice,
    line: usize,
    warnings: &mut Vec<ImportWarning>,
) -> AcsFlags {
    let names = [
        ("SrcValid", AcsFlags::SV),
        ("TransBlk", AcsFlags::TB),
        ("ReqRedir", AcsFlags::RR),
        ("CmpltRedir", AcsFlags::CR),
        ("UpstreamFwd", AcsFlags::UF),
        ("EgressCtrl", AcsFlags::EC),
        ("DirectTrans", AcsFlags::DT),
    ];
    let mut flags = AcsFlags::empty();
    let mut recognised = 0;
    for tok in f.split_whitespace() {
        let Some((name, on)) = tok
            .strip_suffix('+')
            .map(|n| (n, true))
            .or_else(|| tok.strip_suffix('-').map(|n| (n, false)))
        else {
            continue;
        };
        if let Some((_, flag)) = names.iter().find(|(n, _)| *n == name) {
            recognised += 1;
            if on {
                flags |= *flag;
            }
        }
    }
    if recognised < names.len() {
        warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            Some(dev.bdf),
            format!(
                "ACS register line shows {recognised} of 7 bits; the missing ones are taken as clear"
            ),
        ));
    }
    flags
}

/// `primary=00, secondary=01, subordinate=04, sec-latency=0`
fn parse_bus_line(dev: &mut PciDevice, b: &str, line: usize, warnings: &mut Vec<ImportWarning>) {
    let mut primary = None;
    let mut secondary = None;
    let mut subordinate = None;
    for part in b.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = u8::from_str_radix(v.trim(), 16).ok();
        match k.trim() {
            "primary" => primary = v,
            "secondary" => secondary = v,
            "subordinate" => subordinate = v,
            _ => {}
        }
    }
    dev.primary_bus = primary.or(dev.primary_bus);
    match (secondary, subordinate) {
        (Some(s), Some(u)) if s <= u => {
            dev.bus_range = Some(BusRange {
                secondary: s,
                subordinate: u,
            })
        }
        _ => warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            Some(dev.bdf),
            format!("bridge bus numbers not readable: `{b}`"),
        )),
    }
}

/// `Region 1: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]`,
/// `Region 5: I/O ports at <ignored> [disabled]`, `Region 2: I/O ports at 5000 [size=128]`.
fn parse_region(dev: &mut PciDevice, t: &str, line: usize, warnings: &mut Vec<ImportWarning>) {
    let Some((head, body)) = t.split_once(':') else {
        return;
    };
    let Some(index) = head
        .strip_prefix("Region ")
        .and_then(parse_dec::<u8>)
        .filter(|i| *i <= 5)
    else {
        warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            Some(dev.bdf),
            format!("BAR index not readable: `{head}`"),
        ));
        return;
    };
    let body = body.trim();
    let (kind, after) = if let Some(at) = body.find("Memory at ") {
        (BarKind::Memory, &body[at + "Memory at ".len()..])
    } else if let Some(at) = body.find("I/O ports at ") {
        (BarKind::Io, &body[at + "I/O ports at ".len()..])
    } else {
        warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            Some(line),
            Some(dev.bdf),
            format!("BAR {index} not readable: `{body}`"),
        ));
        return;
    };
    let addr_tok = after.split_whitespace().next().unwrap_or_default();
    let addr = if addr_tok.starts_with('<') {
        None
    } else {
        parse_hex_u64(addr_tok)
    };
    let size = after
        .find("[size=")
        .and_then(|p| after[p + "[size=".len()..].split(']').next())
        .and_then(parse_lspci_size);
    let bar = PciBar {
        index,
        kind,
        addr,
        size,
        prefetchable: after.contains(", prefetchable)"),
        is_64bit: after.contains("(64-bit"),
        disabled: after.contains("[disabled]"),
    };
    dev.bars.retain(|b| b.index != index);
    dev.bars.push(bar);
    dev.bars.sort_by_key(|b| b.index);
}

/// `70000000-717fffff [size=24M]`, `[disabled]`, `None`.
fn parse_bridge_window(dev: &mut PciDevice, w: &str, prefetchable: bool) {
    let tok = w.split_whitespace().next().unwrap_or_default();
    let Some((a, b)) = tok.split_once('-') else {
        return;
    };
    if let (Some(start), Some(end)) = (parse_hex_u64(a), parse_hex_u64(b)) {
        if let Some(range) = AddrRange::from_start_and_end(start, end) {
            dev.bridge_windows.push(BridgeWindow {
                range,
                prefetchable,
            });
        }
    }
}

fn close_record(set: &mut DeviceSet, rec: Record, warnings: &mut Vec<ImportWarning>) {
    let dev = set.get(rec.bdf, None);
    if rec.caps_denied {
        dev.caps = CapsSeen::Unknown;
        warnings.push(ImportWarning::new(
            WarningKind::Unknown,
            dev.line,
            Some(dev.bdf),
            "`Capabilities: <access denied>` (lspci not run as root): PCIe type, ACS, ATS and MPS unknown",
        ));
    } else if rec.caps_listed || rec.caps_absent {
        dev.caps = if rec.caps_listed && !rec.registers_seen && rec.express_kind.is_some() {
            CapsSeen::ListedOnly
        } else {
            CapsSeen::Full
        };
    }
    match (rec.acs_cap, rec.acs_ctl) {
        (Some(cap), ctl) => dev.acs = Some(Acs { cap, ctl }),
        (None, Some(ctl)) => {
            dev.acs = Some(Acs {
                cap: ctl,
                ctl: Some(ctl),
            });
            warnings.push(ImportWarning::new(
                WarningKind::Unknown,
                dev.line,
                Some(dev.bdf),
                "ACSCtl without ACSCap: the capability is taken to be the enabled bits",
            ));
        }
        (None, None) if rec.acs_listed => {
            if dev.caps == CapsSeen::Full {
                dev.caps = CapsSeen::ListedOnly;
            }
            warnings.push(ImportWarning::new(
                WarningKind::Unknown,
                dev.line,
                Some(dev.bdf),
                "the ACS capability is listed without its registers (run lspci -vv as root): ACS bits unknown",
            ));
        }
        (None, None) => {}
    }
    // Kind: the PCIe capability's type wins, but class 0x0600 functions without a bridge
    // header (no `Bus:` line) are host bridge functions whatever the type says.
    let header_type = rec.bus_line.then_some(1);
    if let Some(k) = rec.express_kind {
        if is_host_bridge_function(dev.class, header_type) {
            dev.kind = DeviceKind::HostBridge;
            dev.kind_from = KindEvidence::ClassCode;
        } else {
            dev.kind = k;
            dev.kind_from = KindEvidence::PcieCapability;
        }
    } else if let Some(c) = dev.class {
        let k = kind_from_class(c, header_type);
        if k != DeviceKind::Unknown {
            dev.kind = k;
            dev.kind_from = KindEvidence::ClassCode;
        } else if dev.caps == CapsSeen::Full {
            // All capabilities seen and no PCIe capability: a conventional PCI function.
            dev.kind = DeviceKind::Conventional;
            dev.kind_from = KindEvidence::PcieCapability;
        }
    } else if rec.bus_line {
        dev.kind = DeviceKind::PciBridge;
        dev.kind_from = KindEvidence::ClassCode;
    }
    if rec.bus_line {
        dev.header_type = Some(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bdf(s: &str) -> peerpath_model::Bdf {
        s.parse().expect("valid bdf")
    }

    const ROOT_PORT: &str = "\
0000:00:01.0 PCI bridge [0604]: Ampere Computing, LLC Altra PCI Express Root Port a0 [1def:e101] (rev 04) (prog-if 00 [Normal decode])
\tIOMMU group: 2
\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
\tMemory behind bridge: 70000000-717fffff [size=24M]
\tCapabilities: [70] Express (v2) Root Port (Slot+), MSI 00
\t\tDevCap:\tMaxPayload 512 bytes, PhantFunc 0
\t\tDevCtl:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-
\t\t\tRlxdOrd+ ExtTag+ PhantFunc- AuxPwr- NoSnoop+
\t\t\tMaxPayload 128 bytes, MaxReadReq 512 bytes
\t\tDevSta:\tCorrErr- NonFatalErr- FatalErr- UnsupReq- AuxPwr- TransPend-
\tCapabilities: [230 v1] Access Control Services
\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir- CmpltRedir- UpstreamFwd+ EgressCtrl- DirectTrans-
\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir- CmpltRedir- UpstreamFwd+ EgressCtrl- DirectTrans-
\tKernel driver in use: pcieport

0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3090] [10de:2204] (rev a1) (prog-if 00 [VGA controller])
\tRegion 0: Memory at 70000000 (32-bit, non-prefetchable) [size=16M]
\tRegion 1: Memory at 3c0000000000 (64-bit, prefetchable) [size=256M]
\tRegion 5: I/O ports at <ignored> [disabled]
";

    #[test]
    fn root_port_record() {
        let m = parse_lspci(ROOT_PORT, None);
        let rp = m.device(bdf("0000:00:01.0")).expect("root port");
        assert_eq!(rp.kind, DeviceKind::RootPort);
        assert_eq!((rp.vendor, rp.device), (Some(0x1def), Some(0xe101)));
        assert_eq!(rp.class, Some(0x060400));
        assert_eq!((rp.mpss, rp.mps), (Some(512), Some(128)));
        let acs = rp.acs.expect("acs");
        assert_eq!(acs.cap, AcsFlags::SV | AcsFlags::TB | AcsFlags::UF);
        assert_eq!(acs.ctl, Some(AcsFlags::SV | AcsFlags::UF));
        assert_eq!(rp.iommu_group, Some(2));
        assert_eq!(rp.driver.as_deref(), Some("pcieport"));
        assert_eq!(rp.bridge_windows.len(), 1);
        let gpu = m.device(bdf("0000:01:00.0")).expect("gpu");
        assert_eq!(gpu.parent, Some(bdf("0000:00:01.0")));
        assert_eq!(gpu.bars.len(), 3);
        assert_eq!(gpu.bars[1].addr, Some(0x3c00_0000_0000));
        assert_eq!(gpu.bars[1].size, Some(256 << 20));
        assert!(gpu.bars[1].prefetchable && gpu.bars[1].is_64bit);
        assert_eq!(gpu.bars[2].kind, BarKind::Io);
        assert_eq!(gpu.bars[2].addr, None);
        assert_eq!(gpu.class, Some(0x030000));
    }

    #[test]
    fn access_denied_and_plain_lspci() {
        let text = "\
00:01.1 PCI bridge: Advanced Micro Devices, Inc. [AMD] Device 14ab (rev 01)
\tCapabilities: <access denied>

00:00.0 Host bridge: Advanced Micro Devices, Inc. [AMD] Device 14a4 (rev 01)
";
        let m = parse_lspci(text, None);
        let rp = m.device(bdf("00:01.1")).expect("rp");
        assert_eq!(rp.caps, CapsSeen::Unknown);
        assert_eq!(rp.class, Some(0x060400));
        assert!(m
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::Unknown && w.bdf == Some(bdf("00:01.1"))));
        let hb = m.device(bdf("00:00.0")).expect("hb");
        assert_eq!(hb.kind, DeviceKind::HostBridge);
        assert_eq!(
            hb.name.as_deref(),
            Some("Advanced Micro Devices, Inc. [AMD] Device 14a4")
        );
    }

    /// Issue 24: plain lspci's names give the ids through pci.ids, `Device 14a4` its
    /// number; `NUMA node:` lines give each function's node, with the line.
    #[test]
    fn ids_from_names_and_numa_nodes() {
        let text = "\
00:00.0 Host bridge: Advanced Micro Devices, Inc. [AMD] Device 14a4 (rev 01)
\tNUMA node: 1

c1:00.0 VGA compatible controller: ASPEED Technology, Inc. ASPEED Graphics Family (rev 52) (prog-if 00 [VGA controller])
\tNUMA node: x
";
        let m = parse_lspci(text, None);
        let hb = m.device(bdf("00:00.0")).expect("hb");
        assert_eq!((hb.vendor, hb.device), (Some(0x1022), Some(0x14a4)));
        assert!(hb.ids_from_name);
        assert_eq!(hb.numa_node, Some((1, Some(2))));
        let vga = m.device(bdf("c1:00.0")).expect("vga");
        assert_eq!((vga.vendor, vga.device), (Some(0x1a03), Some(0x2000)));
        assert_eq!(vga.numa_node, None);
        assert!(m
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::Unparsed && w.line == Some(5)));
    }

    /// Intel Xeon E5 v3/v4's DMI2 port: class Host bridge, a PCIe capability of type Root
    /// Port, a type-0 header (no `Bus:` line). It is the host bridge's own function, not a
    /// root port; the real root port beside it stays one.
    #[test]
    fn intel_dmi2_root_port_capability_is_a_host_bridge_function() {
        let text = "\
00:00.0 Host bridge: Intel Corporation Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D DMI2 (rev 01)
\tIOMMU group: 0
\tCapabilities: [90] Express (v2) Root Port (Slot-), MSI 00
\t\tDevCap:\tMaxPayload 128 bytes, PhantFunc 0

00:02.0 PCI bridge: Intel Corporation Xeon E7 v4/Xeon E5 v4/Xeon E3 v4/Xeon D PCI Express Root Port 2 (rev 01) (prog-if 00 [Normal decode])
\tBus: primary=00, secondary=02, subordinate=05, sec-latency=0
\tCapabilities: [90] Express (v2) Root Port (Slot+), MSI 00
";
        let m = parse_lspci(text, None);
        let hb = m.device(bdf("00:00.0")).expect("dmi2");
        assert_eq!(hb.kind, DeviceKind::HostBridge);
        assert!(hb.is_own_host_bridge_function());
        let rp = m.device(bdf("00:02.0")).expect("root port");
        assert_eq!(rp.kind, DeviceKind::RootPort);
    }

    #[test]
    fn garbage_warns() {
        let m = parse_lspci("hello\n\tRegion x: what\n00:00.0 \n", None);
        assert!(!m.warnings.is_empty());
    }
}
