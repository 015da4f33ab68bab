//! The platform file: [`PlatformDoc`] → `peerpath_load::raw::RawPlatform`, written by
//! `peerpath_load::to_yaml`, under a comment header.
//!
//! [`PlatformDoc`] mirrors the platform format (spec/platform-format.md) with the model's
//! types plus a comment per node; [`render`] turns it into the loader's raw structs, so
//! that quoting, indentation and number spelling are `peerpath-load`'s (the only crate
//! that knows YAML). Comments are not YAML structure: the header lines and a compact
//! `Devices` section (one line per node: name, ids and name from the dump, IOMMU group)
//! are prepended as `# ` lines.

use peerpath_load::raw::{
    AcsBit, Addr, ExportSel, RawAcs, RawBar, RawBridge, RawCpu, RawDownstreamPort, RawEndpoint,
    RawExport, RawHostBridge, RawImport, RawIommu, RawKernel, RawPciId, RawPlatform, RawRootPort,
    RawSwitch, RawUpstreamPort, RawWindow, Size,
};
use peerpath_model::{
    Acs, Arch, Bdf, CpuVendor, DeviceClass, DomainType, Driver, ForwardsP2p, IommuKind,
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

/// `16MiB` when exact, else the number of bytes: sizes as the header's prose spells them.
pub(crate) fn size(v: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if v != 0 && v.trailing_zeros() >= shift {
            return format!("{}{unit}", v >> shift);
        }
    }
    v.to_string()
}

/// `Some(true)` for a set flag, absent (the format's default, false) otherwise.
fn flag(b: bool) -> Option<bool> {
    b.then_some(true)
}

fn raw_acs(a: &Acs) -> RawAcs {
    RawAcs {
        cap: AcsBit::from_flags(a.cap),
        ctl: a.ctl.map(AcsBit::from_flags),
    }
}

/// The port's name; every root port and downstream port has one (only a switch's
/// upstream port takes the switch's).
fn port_name(p: &DocPort) -> String {
    p.name.clone().unwrap_or_default()
}

fn root_port(p: &DocPort) -> RawRootPort {
    RawRootPort {
        name: port_name(p),
        bdf: p.bdf,
        mpss: p.mpss,
        mps: p.mps,
        acs: p.acs.as_ref().map(raw_acs),
        tbu: None,
        splits_oversized_writes: None,
        multifunction: flag(p.multifunction),
    }
}

fn upstream_port(p: &DocPort) -> RawUpstreamPort {
    RawUpstreamPort {
        bdf: p.bdf,
        mpss: p.mpss,
        mps: p.mps,
        acs: p.acs.as_ref().map(raw_acs),
        multifunction: flag(p.multifunction),
    }
}

fn downstream_port(p: &DocPort) -> RawDownstreamPort {
    RawDownstreamPort {
        name: port_name(p),
        bdf: p.bdf,
        mpss: p.mpss,
        mps: p.mps,
        acs: p.acs.as_ref().map(raw_acs),
        multifunction: flag(p.multifunction),
    }
}

/// The document as the loader's raw structs.
pub(crate) fn to_raw(doc: &PlatformDoc) -> RawPlatform {
    let k = &doc.kernel;
    let mut raw = RawPlatform::new(doc.name.clone());
    raw.description = Some(doc.description.clone());
    raw.kernel = Some(RawKernel {
        release: k.release.clone(),
        arch: Some(k.arch),
        cpu: Some(RawCpu {
            vendor: Some(k.cpu_vendor),
            family: k.cpu_family,
        }),
        default_domain: k.default_domain,
        noats: flag(k.noats),
        pcie_bus_config: k.pcie_bus_config,
        disable_acs_redir: k.disable_acs_redir.clone(),
        ..RawKernel::default()
    });
    raw.iommus = doc
        .iommus
        .iter()
        .map(|i| RawIommu {
            name: i.name.clone(),
            kind: i.kind,
            ats: None,
            disable_bypass: None,
            tbus: Vec::new(),
            stream_map: Vec::new(),
        })
        .collect();
    raw.host_bridges = doc
        .host_bridges
        .iter()
        .map(|hb| RawHostBridge {
            name: hb.name.clone(),
            segment: Some(hb.segment),
            id: hb.id.map(|(vendor, device)| RawPciId { vendor, device }),
            forwards_p2p: hb.forwards_p2p,
            translation: None,
            iommu: hb.iommu.clone(),
            windows: hb
                .windows
                .iter()
                .map(|w| RawWindow {
                    cpu: Addr(w.cpu),
                    bus: Addr(w.bus),
                    size: Size(w.size),
                })
                .collect(),
            root_ports: hb.root_ports.iter().map(root_port).collect(),
        })
        .collect();
    raw.switches = doc
        .switches
        .iter()
        .map(|sw| RawSwitch {
            name: sw.name.clone(),
            parent: sw.parent.clone(),
            upstream: upstream_port(&sw.upstream),
            downstream: sw.downstream.iter().map(downstream_port).collect(),
        })
        .collect();
    raw.bridges = doc
        .bridges
        .iter()
        .map(|b| RawBridge {
            name: b.name.clone(),
            parent: b.parent.clone(),
            bdf: b.bdf,
            mpss: b.mpss,
        })
        .collect();
    raw.endpoints = doc
        .endpoints
        .iter()
        .map(|e| RawEndpoint {
            name: e.name.clone(),
            parent: e.parent.clone(),
            bdf: e.bdf,
            class: Some(e.class),
            mpss: Some(e.mpss),
            mps: e.mps,
            dma_mask_bits: None,
            bus_dma_limit: None,
            coherent: None,
            ats: flag(e.ats),
            trusted: None,
            multifunction: flag(e.multifunction),
            acs: e.acs.as_ref().map(raw_acs),
            driver: e.driver,
            bars: e
                .bars
                .iter()
                .map(|b| RawBar {
                    index: b.index,
                    addr: Addr(b.addr),
                    size: Size(b.size),
                    prefetchable: flag(b.prefetchable),
                })
                .collect(),
            cc: None,
        })
        .collect();
    raw.exports = doc
        .exports
        .iter()
        .map(|x| RawExport {
            name: x.name.clone(),
            device: x.device.clone(),
            bar: x.bar,
            offset: None,
            size: None,
            via: None,
        })
        .collect();
    if !doc.importers.is_empty() {
        raw.imports = Some(
            doc.importers
                .iter()
                .map(|d| RawImport {
                    device: d.clone(),
                    exports: ExportSel::All,
                    allow_peer2peer: None,
                    dynamic: None,
                })
                .collect(),
        );
    }
    raw
}

/// The comment lines: the document's header, then one line per node that has a comment.
fn comment_lines(doc: &PlatformDoc) -> Vec<String> {
    let mut lines = doc.header.clone();
    let mut nodes: Vec<(&str, &str)> = Vec::new();
    for hb in &doc.host_bridges {
        nodes.extend(hb.comment.as_deref().map(|c| (hb.name.as_str(), c)));
        for rp in &hb.root_ports {
            if let (Some(n), Some(c)) = (&rp.name, &rp.comment) {
                nodes.push((n, c));
            }
        }
    }
    for sw in &doc.switches {
        nodes.extend(sw.comment.as_deref().map(|c| (sw.name.as_str(), c)));
        for dp in &sw.downstream {
            if let (Some(n), Some(c)) = (&dp.name, &dp.comment) {
                nodes.push((n, c));
            }
        }
    }
    for b in &doc.bridges {
        nodes.extend(b.comment.as_deref().map(|c| (b.name.as_str(), c)));
    }
    for e in &doc.endpoints {
        nodes.extend(e.comment.as_deref().map(|c| (e.name.as_str(), c)));
    }
    if !nodes.is_empty() {
        lines.push("Devices (name: ids and name from the dump; IOMMU group):".to_string());
        lines.extend(nodes.into_iter().map(|(n, c)| format!("- {n}: {c}")));
    }
    lines
}

/// Writes the document: the comment header, then `peerpath_load::to_yaml` of its raw
/// structs.
pub(crate) fn render(doc: &PlatformDoc) -> String {
    let mut out = String::new();
    for line in comment_lines(doc) {
        out.push_str(format!("# {}", one_line(&line)).trim_end());
        out.push('\n');
    }
    out.push_str(&peerpath_load::to_yaml(&to_raw(doc)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(16 << 20), "16MiB");
        assert_eq!(size(24 << 20), "24MiB");
        assert_eq!(size(0x80000), "512KiB");
        assert_eq!(size(1 << 40), "1TiB");
        assert_eq!(size(100), "100");
        assert_eq!(size(0), "0");
    }
}
