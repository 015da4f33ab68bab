//! The only place that writes YAML text.
//!
//! [`PlatformDoc`] mirrors the platform format (spec/platform-format.md) field by field;
//! [`render`] writes it. Strings that are not plainly safe are double-quoted with
//! escapes, comments are single lines, addresses are hex with `_` every four digits and
//! sizes use binary units where exact — the spelling of the spec's examples.
//!
//! When `peerpath-load` publishes its raw serde structs and `to_yaml`, this module becomes
//! a conversion from `PlatformDoc` to those structs; nothing else needs to change.

use std::fmt::Write as _;

use peerpath_model::{
    Acs, AcsFlags, Arch, Bdf, CpuVendor, DeviceClass, DomainType, Driver, ForwardsP2p, IommuKind,
    PcieBusConfig,
};

use crate::text::one_line;

/// A whole platform file.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PlatformDoc {
    /// Comment lines at the top (assumptions, warnings).
    pub header: Vec<String>,
    pub name: String,
    pub description: String,
    pub kernel: DocKernel,
    pub iommus: Vec<DocIommu>,
    pub host_bridges: Vec<DocHostBridge>,
    pub switches: Vec<DocSwitch>,
    pub bridges: Vec<DocBridge>,
    pub endpoints: Vec<DocEndpoint>,
    pub exports: Vec<DocExport>,
    /// Endpoints that import every export (`imports: [{ device, exports: all }]`);
    /// empty: the format's default (every endpoint imports every export).
    pub importers: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct DocKernel {
    pub release: Option<String>,
    pub arch: Arch,
    pub cpu_vendor: CpuVendor,
    pub cpu_family: Option<u32>,
    pub default_domain: Option<DomainType>,
    pub noats: bool,
    pub pcie_bus_config: Option<PcieBusConfig>,
    pub disable_acs_redir: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocIommu {
    pub name: String,
    pub kind: IommuKind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocWindow {
    pub cpu: u64,
    pub bus: u64,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocHostBridge {
    pub comment: Option<String>,
    pub name: String,
    pub segment: u16,
    pub id: Option<(u16, u16)>,
    pub forwards_p2p: Option<ForwardsP2p>,
    pub iommu: Option<String>,
    pub windows: Vec<DocWindow>,
    pub root_ports: Vec<DocPort>,
}

/// A root port, switch upstream port (no name: it takes the switch's) or downstream port.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocPort {
    pub comment: Option<String>,
    pub name: Option<String>,
    pub bdf: Bdf,
    pub mpss: u32,
    pub mps: Option<u32>,
    pub acs: Option<Acs>,
    pub multifunction: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocSwitch {
    pub comment: Option<String>,
    pub name: String,
    pub parent: String,
    pub upstream: DocPort,
    pub downstream: Vec<DocPort>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocBridge {
    pub comment: Option<String>,
    pub name: String,
    pub parent: String,
    pub bdf: Bdf,
    pub mpss: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocBar {
    pub index: u8,
    pub addr: u64,
    pub size: u64,
    pub prefetchable: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocEndpoint {
    pub comment: Option<String>,
    pub name: String,
    pub parent: String,
    pub bdf: Bdf,
    pub class: DeviceClass,
    pub mpss: u32,
    pub mps: Option<u32>,
    pub ats: bool,
    pub multifunction: bool,
    pub acs: Option<Acs>,
    pub driver: Option<Driver>,
    pub bars: Vec<DocBar>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DocExport {
    pub name: String,
    pub device: String,
    pub bar: u8,
}

/// A string as a YAML scalar: plain when it cannot be mistaken for anything else,
/// double-quoted otherwise.
pub(crate) fn string(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !matches!(
            s,
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "nan" | "inf"
        );
    if plain_ok {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `0x3c00_0000_0000`: hex with `_` every four digits from the right.
pub(crate) fn hex(v: u64) -> String {
    let digits = format!("{v:x}");
    let mut groups = Vec::new();
    let mut end = digits.len();
    while end > 0 {
        let start = end.saturating_sub(4);
        groups.push(&digits[start..end]);
        end = start;
    }
    groups.reverse();
    format!("0x{}", groups.join("_"))
}

/// `16MiB` when exact, else the number of bytes.
pub(crate) fn size(v: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if v != 0 && v.trailing_zeros() >= shift {
            return format!("{}{unit}", v >> shift);
        }
    }
    v.to_string()
}

fn bdf(b: Bdf) -> String {
    string(&b.to_string())
}

fn flags(f: AcsFlags) -> String {
    format!("[{}]", f.names().join(", "))
}

fn acs(a: &Acs) -> String {
    match a.ctl {
        Some(ctl) => format!("{{ cap: {}, ctl: {} }}", flags(a.cap), flags(ctl)),
        None => format!("{{ cap: {} }}", flags(a.cap)),
    }
}

struct Out(String);

impl Out {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.0.push(' ');
        }
        self.0.push_str(text);
        self.0.push('\n');
    }

    fn comment(&mut self, indent: usize, text: &str) {
        self.line(indent, format!("# {}", one_line(text)).trim_end());
    }

    fn blank(&mut self) {
        self.0.push('\n');
    }
}

fn port_fields(p: &DocPort) -> Vec<String> {
    let mut f = Vec::new();
    if let Some(n) = &p.name {
        f.push(format!("name: {}", string(n)));
    }
    f.push(format!("bdf: {}", bdf(p.bdf)));
    f.push(format!("mpss: {}", p.mpss));
    if let Some(m) = p.mps {
        f.push(format!("mps: {m}"));
    }
    if let Some(a) = &p.acs {
        f.push(format!("acs: {}", acs(a)));
    }
    if p.multifunction {
        f.push("multifunction: true".to_string());
    }
    f
}

fn block_item(out: &mut Out, indent: usize, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i == 0 {
            out.line(indent, &format!("- {f}"));
        } else {
            out.line(indent + 2, f);
        }
    }
}

fn empty_or_header(out: &mut Out, key: &str, empty: bool) -> bool {
    if empty {
        out.line(0, &format!("{key}: []"));
        out.blank();
        return false;
    }
    out.line(0, &format!("{key}:"));
    true
}

/// Writes the document.
pub(crate) fn render(doc: &PlatformDoc) -> String {
    let mut out = Out(String::new());
    for h in &doc.header {
        out.comment(0, h);
    }
    out.line(0, "format: 1");
    out.line(0, &format!("name: {}", string(&doc.name)));
    out.line(0, &format!("description: {}", string(&doc.description)));
    out.blank();

    let k = &doc.kernel;
    out.line(0, "kernel:");
    if let Some(r) = &k.release {
        out.line(2, &format!("release: {}", string(r)));
    }
    out.line(2, &format!("arch: {}", k.arch));
    match k.cpu_family {
        Some(f) => out.line(
            2,
            &format!(
                "cpu: {{ vendor: {}, family: {f} }}   # family {f:#x}",
                k.cpu_vendor
            ),
        ),
        None => out.line(2, &format!("cpu: {{ vendor: {} }}", k.cpu_vendor)),
    }
    if let Some(d) = k.default_domain {
        out.line(2, &format!("default_domain: {d}"));
    }
    if k.noats {
        out.line(2, "noats: true");
    }
    if let Some(p) = k.pcie_bus_config {
        out.line(2, &format!("pcie_bus_config: {p}"));
    }
    if !k.disable_acs_redir.is_empty() {
        let list: Vec<String> = k.disable_acs_redir.iter().map(|s| string(s)).collect();
        out.line(2, &format!("disable_acs_redir: [{}]", list.join(", ")));
    }
    out.blank();
    out.line(0, "memory: []   # DRAM ranges are not in the dump");
    out.blank();

    if empty_or_header(&mut out, "iommus", doc.iommus.is_empty()) {
        for i in &doc.iommus {
            out.line(
                2,
                &format!("- {{ name: {}, kind: {} }}", string(&i.name), i.kind),
            );
        }
        out.blank();
    }

    if empty_or_header(&mut out, "host_bridges", doc.host_bridges.is_empty()) {
        for hb in &doc.host_bridges {
            if let Some(c) = &hb.comment {
                out.comment(2, c);
            }
            out.line(2, &format!("- name: {}", string(&hb.name)));
            out.line(4, &format!("segment: {}", hb.segment));
            if let Some((v, d)) = hb.id {
                out.line(4, &format!("id: {{ vendor: {v:#06x}, device: {d:#06x} }}"));
            }
            if let Some(f) = hb.forwards_p2p {
                out.line(4, &format!("forwards_p2p: {f}"));
            }
            if let Some(i) = &hb.iommu {
                out.line(4, &format!("iommu: {}", string(i)));
            }
            if hb.windows.is_empty() {
                out.line(4, "windows: []");
            } else {
                out.line(4, "windows:");
                for w in &hb.windows {
                    out.line(
                        6,
                        &format!(
                            "- {{ cpu: {}, bus: {}, size: {} }}",
                            hex(w.cpu),
                            hex(w.bus),
                            size(w.size)
                        ),
                    );
                }
            }
            if hb.root_ports.is_empty() {
                out.line(4, "root_ports: []");
            } else {
                out.line(4, "root_ports:");
                for rp in &hb.root_ports {
                    if let Some(c) = &rp.comment {
                        out.comment(6, c);
                    }
                    block_item(&mut out, 6, &port_fields(rp));
                }
            }
        }
        out.blank();
    }

    if empty_or_header(&mut out, "switches", doc.switches.is_empty()) {
        for sw in &doc.switches {
            if let Some(c) = &sw.comment {
                out.comment(2, c);
            }
            out.line(2, &format!("- name: {}", string(&sw.name)));
            out.line(4, &format!("parent: {}", string(&sw.parent)));
            out.line(
                4,
                &format!("upstream: {{ {} }}", port_fields(&sw.upstream).join(", ")),
            );
            if sw.downstream.is_empty() {
                out.line(4, "downstream: []");
            } else {
                out.line(4, "downstream:");
                for dp in &sw.downstream {
                    if let Some(c) = &dp.comment {
                        out.comment(6, c);
                    }
                    out.line(6, &format!("- {{ {} }}", port_fields(dp).join(", ")));
                }
            }
        }
        out.blank();
    }

    if empty_or_header(&mut out, "bridges", doc.bridges.is_empty()) {
        for b in &doc.bridges {
            if let Some(c) = &b.comment {
                out.comment(2, c);
            }
            let mut f = vec![
                format!("name: {}", string(&b.name)),
                format!("parent: {}", string(&b.parent)),
                format!("bdf: {}", bdf(b.bdf)),
            ];
            if let Some(m) = b.mpss {
                f.push(format!("mpss: {m}"));
            }
            out.line(2, &format!("- {{ {} }}", f.join(", ")));
        }
        out.blank();
    }

    if empty_or_header(&mut out, "endpoints", doc.endpoints.is_empty()) {
        for e in &doc.endpoints {
            if let Some(c) = &e.comment {
                out.comment(2, c);
            }
            let mut f = vec![
                format!("name: {}", string(&e.name)),
                format!("parent: {}", string(&e.parent)),
                format!("bdf: {}", bdf(e.bdf)),
                format!("class: {}", e.class),
                format!("mpss: {}", e.mpss),
            ];
            if let Some(m) = e.mps {
                f.push(format!("mps: {m}"));
            }
            if e.ats {
                f.push("ats: true".to_string());
            }
            if e.multifunction {
                f.push("multifunction: true".to_string());
            }
            if let Some(a) = &e.acs {
                f.push(format!("acs: {}", acs(a)));
            }
            if let Some(d) = e.driver {
                f.push(format!("driver: {d}"));
            }
            block_item(&mut out, 2, &f);
            if !e.bars.is_empty() {
                out.line(4, "bars:");
                for b in &e.bars {
                    let pf = if b.prefetchable {
                        ", prefetchable: true"
                    } else {
                        ""
                    };
                    out.line(
                        6,
                        &format!(
                            "- {{ index: {}, addr: {}, size: {}{pf} }}",
                            b.index,
                            hex(b.addr),
                            size(b.size)
                        ),
                    );
                }
            }
        }
        out.blank();
    }

    if empty_or_header(&mut out, "exports", doc.exports.is_empty()) {
        for x in &doc.exports {
            out.line(
                2,
                &format!(
                    "- {{ name: {}, device: {}, bar: {} }}",
                    string(&x.name),
                    string(&x.device),
                    x.bar
                ),
            );
        }
        out.blank();
    }
    if !doc.importers.is_empty() {
        out.line(0, "imports:");
        for d in &doc.importers {
            out.line(2, &format!("- {{ device: {}, exports: all }}", string(d)));
        }
        out.blank();
    }
    let mut s = out.0;
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(string("rp-0000-00-01-0"), "rp-0000-00-01-0");
        assert_eq!(string("0000:00:01.0"), "\"0000:00:01.0\"");
        assert_eq!(string("yes"), "\"yes\"");
        assert_eq!(string("a \"b\"\n"), "\"a \\\"b\\\"\\n\"");
        assert_eq!(string(""), "\"\"");
        assert_eq!(hex(0x3c00_0000_0000), "0x3c00_0000_0000");
        assert_eq!(hex(0x7000_0000), "0x7000_0000");
        assert_eq!(hex(0x123), "0x123");
        assert_eq!(hex(0), "0x0");
        assert_eq!(size(16 << 20), "16MiB");
        assert_eq!(size(24 << 20), "24MiB");
        assert_eq!(size(0x80000), "512KiB");
        assert_eq!(size(1 << 40), "1TiB");
        assert_eq!(size(100), "100");
        assert_eq!(size(0), "0");
    }
}
