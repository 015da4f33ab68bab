//! Step 4: root ports, switches (upstream port and downstream ports) and PCIe-to-PCI
//! bridges. A root or downstream port whose ACS the dump does not show gets it from the
//! kernel's groups, or else the assumed capability (`ImportOptions::assumed_port_acs`).

use std::collections::BTreeMap;

use peerpath_load::raw::{RawBridge, RawDownstreamPort, RawRootPort, RawSwitch, RawUpstreamPort};
use peerpath_model::{Acs, Bdf};

use super::acs::{infer, Inferred};
use super::nodes::Layout;
use super::{flag, raw_acs, valid_mps, Ctx, Role, Tally};
use crate::machine::{CapsSeen, PciDevice};

/// The ports and bridges of the platform.
#[derive(Debug, Default)]
pub(super) struct Ports {
    /// Root ports by the root bus (segment, bus) of their host bridge.
    pub root_ports: BTreeMap<(u16, u8), Vec<RawRootPort>>,
    /// Switches, sorted by name.
    pub switches: Vec<RawSwitch>,
    /// PCIe-to-PCI bridges, sorted by name.
    pub bridges: Vec<RawBridge>,
}

/// A port's fields, common to root, upstream and downstream ports.
struct Port {
    bdf: Bdf,
    mpss: u32,
    mps: Option<u32>,
    acs: Option<Acs>,
    multifunction: Option<bool>,
}

/// Every placed port and bridge, in the machine's order.
pub(super) fn ports(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    tally: &mut Tally,
    comments: &mut BTreeMap<String, String>,
) -> Ports {
    let mut out = Ports::default();
    for d in &layout.emitted {
        let Some((role, name)) = layout.placed.get(&d.bdf) else {
            continue;
        };
        let parent_name = layout.placed_parent(d).map(|(_, n)| n.clone());
        match role {
            Role::RootPort => {
                let p = port(cx, layout, d, Role::RootPort, tally);
                comments.insert(name.clone(), cx.comment_for(d));
                out.root_ports
                    .entry(cx.root_of(d.bdf))
                    .or_default()
                    .push(RawRootPort {
                        name: name.clone(),
                        bdf: p.bdf,
                        id: raw_id(d),
                        mpss: p.mpss,
                        mps: p.mps,
                        acs: p.acs.as_ref().map(raw_acs),
                        tbu: None,
                        splits_oversized_writes: None,
                        multifunction: p.multifunction,
                        link: tally.link(d),
                    });
            }
            Role::Upstream => {
                let up = port(cx, layout, d, Role::Upstream, tally);
                comments.insert(name.clone(), cx.comment_for(d));
                let mut downstream = Vec::new();
                for c in layout
                    .emitted
                    .iter()
                    .filter(|c| layout.parent(c) == Some(d.bdf))
                {
                    let Some((Role::Downstream, n)) = layout.placed.get(&c.bdf) else {
                        continue;
                    };
                    let p = port(cx, layout, c, Role::Downstream, tally);
                    comments.insert(n.clone(), cx.comment_for(c));
                    downstream.push(RawDownstreamPort {
                        name: n.clone(),
                        bdf: p.bdf,
                        id: raw_id(c),
                        mpss: p.mpss,
                        mps: p.mps,
                        acs: p.acs.as_ref().map(raw_acs),
                        multifunction: p.multifunction,
                        link: tally.link(c),
                    });
                }
                out.switches.push(RawSwitch {
                    name: name.clone(),
                    parent: parent_name.unwrap_or_default(),
                    upstream: RawUpstreamPort {
                        bdf: up.bdf,
                        id: raw_id(d),
                        mpss: up.mpss,
                        mps: up.mps,
                        acs: up.acs.as_ref().map(raw_acs),
                        multifunction: up.multifunction,
                        link: tally.link(d),
                    },
                    downstream,
                });
            }
            Role::Bridge => {
                comments.insert(name.clone(), cx.comment_for(d));
                out.bridges.push(RawBridge {
                    name: name.clone(),
                    parent: parent_name.unwrap_or_default(),
                    bdf: d.bdf,
                    id: raw_id(d),
                    mpss: valid_mps(d.mpss),
                });
            }
            Role::Downstream | Role::Endpoint => {}
        }
    }
    out.switches.sort_by(|a, b| a.name.cmp(&b.name));
    out.bridges.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A port's MPSS, MPS and ACS.
fn port(cx: &Ctx<'_>, layout: &Layout<'_>, d: &PciDevice, role: Role, tally: &mut Tally) -> Port {
    let mpss = tally.mpss(d, cx.opts.default_mpss);
    let mut mps = tally.mps(d, mpss);
    if mps.is_none() && matches!(role, Role::RootPort | Role::Downstream) {
        // Issue 23: a port the dump does not show (the realdata reports list the GPUs
        // only) takes the MPS its device below shows, not the format's 128.
        let below = layout
            .emitted
            .iter()
            .filter(|c| layout.parent(c) == Some(d.bdf))
            .filter_map(|c| valid_mps(c.mps))
            .min();
        if let Some(v) = below.filter(|v| *v <= mpss) {
            tally.mps_from_below.push(d.bdf);
            mps = Some(v);
        }
    }
    let assumed = || Acs {
        cap: cx.opts.assumed_port_acs,
        ctl: None,
    };
    let acs = match (d.acs, d.caps, infer(cx, layout, d, role)) {
        (Some(a), _, _) => Some(tally.measured_acs(a, d.bdf, cx.opts.measured_acs_ctl)),
        (None, CapsSeen::Full, _) => None,
        (None, _, _) if role == Role::Upstream => None,
        (None, _, Some(Inferred::NoAcs)) => {
            tally.acs_ports_not.push(d.bdf);
            None
        }
        (None, _, Some(Inferred::Isolates)) => {
            tally.acs_ports_isolating.push(d.bdf);
            Some(assumed())
        }
        (None, _, None) => {
            tally.assumed_acs.push(d.bdf);
            Some(assumed())
        }
    };
    Port {
        bdf: d.bdf,
        mpss,
        mps,
        acs,
        multifunction: flag(cx.m.is_multifunction(d.bdf)),
    }
}

/// A function's own vendor/device id, where the dump gives both (`lspci -nn`, sysfs,
/// or a tree's `Device 14a4`), for the kernel's device-specific quirks.
pub(super) fn raw_id(d: &crate::machine::PciDevice) -> Option<peerpath_load::raw::RawPciId> {
    Some(peerpath_load::raw::RawPciId {
        vendor: d.vendor?,
        device: d.device?,
    })
}
