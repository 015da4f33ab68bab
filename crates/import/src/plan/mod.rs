//! Laying a [`Machine`] out as a platform: which node each function becomes, its name,
//! its parent, and every value the dump does not give — each such assumption written to
//! the file's comment header.
//!
//! One module per step, run in this order by [`plan`], each building its part of the
//! loader's raw platform (`peerpath_load::raw`) directly:
//!
//! 1. [`nodes`]: which functions become nodes, and their roles (root port, switch,
//!    bridge, endpoint) and names;
//! 2. [`kernel`]: architecture, CPU, IOMMU and the kernel's knobs;
//! 3. [`endpoints`]: endpoints with their class ([`class`], which the names read too)
//!    and BARs;
//! 4. [`ports`]: root ports, switches and bridges, with ACS (measured, or inferred from
//!    the kernel's groups, [`acs`]);
//! 5. [`windows`]: host bridges and their windows, and the BARs outside them left out;
//! 6. [`exports`]: exports and importers;
//! 7. [`header`]: the comment header, from the notes every step took.

mod acs;
mod class;
mod endpoints;
mod exports;
mod header;
mod kernel;
mod names;
mod nodes;
mod ports;
mod windows;

use std::collections::BTreeMap;

use peerpath_load::raw::{AcsBit, RawAcs, RawAssumed, RawHostBridge, RawLink, RawPlatform};
use peerpath_model::{Acs, AcsFlags, Arch, Bdf, CpuVendor, MPS_VALUES};

use crate::emit::render;
use crate::machine::{kernel_groups, Machine, PciDevice};

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
    let p = plan(m, opts);
    render(&p.header, &p.comments, &p.raw)
}

/// The platform `to_platform_yaml` writes, as the loader's raw structs (without the
/// comment header): what `peerpath audit` fingerprints and validates.
pub fn to_platform_raw(m: &Machine, opts: &ImportOptions) -> RawPlatform {
    plan(m, opts).raw
}

/// The planned file: the raw platform, its comment header and a comment per node name.
#[derive(Debug)]
struct Planned {
    raw: RawPlatform,
    header: Vec<String>,
    comments: BTreeMap<String, String>,
}

/// What every step reads: the machine, the options and the kernel's IOMMU groups.
#[derive(Debug)]
struct Ctx<'m> {
    m: &'m Machine,
    opts: &'m ImportOptions,
    groups: BTreeMap<Bdf, u32>,
}

impl Ctx<'_> {
    fn have_groups(&self) -> bool {
        !self.groups.is_empty()
    }

    /// The root bus (segment, bus) a function sits below.
    fn root_of(&self, b: Bdf) -> (u16, u8) {
        let top = self.m.ancestors(b).last().copied().unwrap_or(b);
        (top.segment, top.bus)
    }

    /// The comment of a node: what the dump says of the function, and its group.
    fn comment_for(&self, d: &PciDevice) -> String {
        let mut c = d.describe();
        if let Some(g) = d.iommu_group {
            c.push_str(&format!("; IOMMU group {g}"));
        } else if self.have_groups() {
            c.push_str("; no IOMMU group in the dump");
        }
        if d.kind_from == crate::machine::KindEvidence::TreeShape && d.is_bridge() {
            c.push_str("; role inferred");
        }
        c
    }
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

/// The devices each kind of assumption touched, across the endpoint and port steps;
/// listed in the header after the windows and exports.
#[derive(Debug, Default)]
struct Tally {
    default_mpss: Vec<Bdf>,
    bad_mps: Vec<Bdf>,
    mps_from_below: Vec<Bdf>,
    clipped_ctl: Vec<Bdf>,
    assumed_acs: Vec<Bdf>,
    acs_ports_isolating: Vec<Bdf>,
    acs_ports_not: Vec<Bdf>,
    acs_eps_isolating: Vec<Bdf>,
    unknown_ep_acs_mf: Vec<Bdf>,
    assumed_bars: Vec<Bdf>,
    no_bar_gpus: Vec<Bdf>,
    link_sta_lower: Vec<Bdf>,
    link_from_sta: Vec<Bdf>,
    no_link: Vec<Bdf>,
    /// BMC display controllers, written as `other` endpoints (no GPU).
    bmc_displays: Vec<(Bdf, &'static crate::facts::BmcDisplay)>,
}

impl Tally {
    /// The link to write for a port or endpoint: its Link Capabilities, since a loaded
    /// link trains to the lower end's capability (the timing model takes the lower of
    /// both ends); the Link Status only when the dump has no capability. An idle
    /// device's status often reads 2.5GT/s (downgraded by power management): noted.
    fn link(&mut self, d: &PciDevice) -> Option<RawLink> {
        let link = match (d.link_cap, d.link_sta) {
            (Some(cap), sta) => {
                if sta.is_some_and(|s| s != cap) {
                    self.link_sta_lower.push(d.bdf);
                }
                cap
            }
            (None, Some(sta)) => {
                self.link_from_sta.push(d.bdf);
                sta
            }
            (None, None) => {
                self.no_link.push(d.bdf);
                return None;
            }
        };
        Some(RawLink {
            speed: link.speed.to_string(),
            width: u32::from(link.width),
        })
    }

    /// MPSS from the dump, or the default (noted).
    fn mpss(&mut self, d: &PciDevice, default: u32) -> u32 {
        match valid_mps(d.mpss) {
            Some(v) => v,
            None => {
                self.default_mpss.push(d.bdf);
                default
            }
        }
    }

    /// MPS from the dump when it is valid and not above `mpss` (else noted and left out).
    fn mps(&mut self, d: &PciDevice, mpss: u32) -> Option<u32> {
        let v = valid_mps(d.mps)?;
        if v > mpss {
            self.bad_mps.push(d.bdf);
            return None;
        }
        Some(v)
    }

    /// The measured ACS, its Control kept when asked for and clipped to the capability.
    fn measured_acs(&mut self, a: Acs, b: Bdf, measured_ctl: bool) -> Acs {
        let ctl = if measured_ctl { a.ctl } else { None };
        let ctl = ctl.map(|c| {
            if !a.cap.contains(c) {
                self.clipped_ctl.push(b);
            }
            c & a.cap
        });
        Acs { cap: a.cap, ctl }
    }
}

fn valid_mps(v: Option<u32>) -> Option<u32> {
    v.filter(|x| MPS_VALUES.contains(x))
}

fn raw_acs(a: &Acs) -> RawAcs {
    RawAcs {
        cap: AcsBit::from_flags(a.cap),
        ctl: a.ctl.map(AcsBit::from_flags),
    }
}

/// `Some(true)` for a set flag, absent (the format's default, false) otherwise.
fn flag(b: bool) -> Option<bool> {
    b.then_some(true)
}

/// Builds the platform, step by step.
/// The facts no dump shows, or this one did not (issue 24): the kernel's as the
/// kernel step found them; each host bridge's `forwards_p2p` (no dump shows it) and
/// its `id` where the root bus had no function to read it from; each root port's
/// `splits_oversized_writes` (no dump shows it). The rules try each both ways.
fn assumed(kernel: &kernel::Kernel, host_bridges: &[RawHostBridge]) -> Vec<RawAssumed> {
    let fact = |fact: &str, node: Option<&str>| RawAssumed {
        fact: fact.to_owned(),
        node: node.map(str::to_owned),
    };
    let mut out: Vec<RawAssumed> = kernel.assumed.iter().map(|f| fact(f, None)).collect();
    for hb in host_bridges {
        if hb.id.is_none() {
            out.push(fact("id", Some(&hb.name)));
        }
        out.push(fact("forwards_p2p", Some(&hb.name)));
        for rp in &hb.root_ports {
            out.push(fact("splits_oversized_writes", Some(&rp.name)));
        }
    }
    out
}

fn plan(m: &Machine, opts: &ImportOptions) -> Planned {
    let cx = Ctx {
        m,
        opts,
        groups: kernel_groups(m),
    };
    let mut notes = Notes::default();
    let mut tally = Tally::default();
    let mut comments = BTreeMap::new();

    let layout = nodes::layout(&cx, &mut notes);
    let kernel = kernel::kernel(&cx, &mut notes);
    let mut eps = endpoints::endpoints(&cx, &layout, &mut tally, &mut comments);
    let ports = ports::ports(&cx, &layout, &mut tally, &mut comments);
    let host_bridges = windows::host_bridges(
        &cx,
        &layout,
        &kernel,
        ports.root_ports,
        &mut eps,
        &mut notes,
        &mut comments,
    );
    let (exports, importers) = exports::exports(&cx, &eps.endpoints, &mut notes);
    header::note_assumptions(&cx, &host_bridges, &tally, !exports.is_empty(), &mut notes);
    let disable_acs_redir = kernel::disable_acs_redir(&cx, &layout, &mut notes);
    let header = header::header(&cx, host_bridges.len(), &notes);

    let mut raw = RawPlatform::new(names::platform_name(&cx));
    raw.description = Some(header::description(&cx));
    raw.kernel = Some(kernel.raw(&cx, disable_acs_redir));
    raw.assumed = assumed(&kernel, &host_bridges);
    raw.iommus = kernel.iommus;
    raw.host_bridges = host_bridges;
    raw.switches = ports.switches;
    raw.bridges = ports.bridges;
    raw.endpoints = eps.endpoints;
    raw.exports = exports;
    raw.imports = importers;
    Planned {
        raw,
        header,
        comments,
    }
}
