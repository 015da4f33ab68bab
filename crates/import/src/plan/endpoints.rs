//! Step 3: endpoints, with their class, MPS, ACS and memory BARs. A BAR that overlaps one
//! already taken is left out; a GPU or accelerator whose dump shows no memory BAR gets
//! one assumed when asked (`--assume-gpu-bar`), above every BAR of the dump.

use std::collections::BTreeMap;

use peerpath_load::raw::{Addr, RawBar, RawEndpoint, Size};
use peerpath_model::{Acs, AcsFlags, AddrRange, Bdf, DeviceClass, Driver, PAGE_SIZE};

use super::acs::{infer, Inferred};
use super::class::{bmc_display, device_class};
use super::names::hb_name;
use super::nodes::Layout;
use super::{flag, raw_acs, Ctx, Role, Tally};
use crate::machine::{BarKind, CapsSeen, DeviceKind, PciDevice};

/// The endpoints, and what the host bridges' windows are made from.
#[derive(Debug, Default)]
pub(super) struct Endpoints {
    pub endpoints: Vec<RawEndpoint>,
    /// The root bus of each endpoint, in the same order.
    pub roots: Vec<(u16, u8)>,
    /// Every BAR written (assumed ones too), with its device.
    pub bars: Vec<(AddrRange, Bdf)>,
    /// BARs left out because they overlap another.
    pub overlapping: Vec<String>,
}

/// Whether the device has peer memory to export: a GPU or accelerator, or a device a
/// kernel p2pdma message names as the provider, whatever its class.
pub(super) fn is_exporter(cx: &Ctx<'_>, class: DeviceClass, b: Bdf) -> bool {
    matches!(class, DeviceClass::Gpu | DeviceClass::Accel)
        || cx.m.p2pdma.iter().any(|p| p.provider == Some(b))
}

/// Every placed endpoint.
pub(super) fn endpoints(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    tally: &mut Tally,
    comments: &mut BTreeMap<String, String>,
) -> Endpoints {
    let mut out = Endpoints::default();
    // Assumed BARs go above every memory BAR of the dump (and above 256 GiB).
    let mut next_assumed: u64 =
        cx.m.devices
            .iter()
            .flat_map(|d| d.bars.iter())
            .filter_map(|b| b.range())
            .map(|r| r.end.saturating_add(1))
            .fold(1 << 38, u64::max);
    for (d, name) in layout.with_role(Role::Endpoint) {
        let parent = match layout.placed_parent(d) {
            Some((_, n)) => n.clone(),
            None => {
                let (s, b) = cx.root_of(d.bdf);
                hb_name(s, b)
            }
        };
        let mpss = tally.mpss(d, cx.opts.default_mpss);
        let mps = tally.mps(d, mpss);
        let multifunction = cx.m.is_multifunction(d.bdf);
        let acs = acs(cx, layout, d, multifunction, tally);
        let mut bars = measured_bars(d, &mut out);
        let class = device_class(d);
        if let Some(b) = bmc_display(d) {
            tally.bmc_displays.push((d.bdf, b));
        }
        let shows_no_mem_bar = !d.bars.iter().any(|b| b.kind == BarKind::Memory);
        if is_exporter(cx, class, d.bdf) && shows_no_mem_bar {
            match assumed_bar(cx, &mut next_assumed) {
                Some((range, bar)) => {
                    out.bars.push((range, d.bdf));
                    tally.assumed_bars.push(d.bdf);
                    bars.push(bar);
                }
                None => tally.no_bar_gpus.push(d.bdf),
            }
        }
        out.roots.push(cx.root_of(d.bdf));
        comments.insert(name.to_string(), cx.comment_for(d));
        out.endpoints.push(RawEndpoint {
            name: name.to_string(),
            parent,
            bdf: d.bdf,
            id: super::ports::raw_id(d),
            class: Some(class),
            mpss: Some(mpss),
            mps,
            dma_mask_bits: None,
            bus_dma_limit: None,
            coherent: None,
            ats: flag(d.ats.is_some()),
            trusted: None,
            multifunction: flag(multifunction),
            acs: acs.as_ref().map(raw_acs),
            driver: (d.driver.as_deref() == Some("vfio-pci")).then_some(Driver::VfioPci),
            bars,
            cc: None,
            pcie: (d.kind == DeviceKind::Conventional).then_some(false),
            link: tally.link(d),
        });
    }
    out
}

/// The endpoint's ACS: measured, or `cap: []` where the groups show it isolating its
/// sibling functions.
fn acs(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    d: &PciDevice,
    multifunction: bool,
    tally: &mut Tally,
) -> Option<Acs> {
    match (d.acs, d.caps, infer(cx, layout, d, Role::Endpoint)) {
        (Some(a), _, _) => Some(tally.measured_acs(a, d.bdf, cx.opts.measured_acs_ctl)),
        (None, CapsSeen::Full, _) => None,
        (None, _, Some(Inferred::Isolates)) => {
            tally.acs_eps_isolating.push(d.bdf);
            Some(Acs {
                cap: AcsFlags::empty(),
                ctl: None,
            })
        }
        (None, _, Some(Inferred::NoAcs)) => None,
        (None, _, None) => {
            if multifunction {
                tally.unknown_ep_acs_mf.push(d.bdf);
            }
            None
        }
    }
}

/// The memory BARs of the dump with an address and size, except those overlapping a BAR
/// already taken (noted in `out.overlapping`).
fn measured_bars(d: &PciDevice, out: &mut Endpoints) -> Vec<RawBar> {
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
        if let Some((_, other)) = out.bars.iter().find(|(r, _)| r.overlaps(&range)) {
            out.overlapping.push(format!(
                "{} BAR {} overlaps a BAR of {other}",
                d.bdf, bar.index
            ));
            continue;
        }
        out.bars.push((range, d.bdf));
        bars.push(RawBar {
            index: bar.index,
            addr: Addr(addr),
            size: Size(sz),
            prefetchable: flag(bar.prefetchable),
        });
    }
    bars
}

/// BAR 0 of the assumed size at the next free aligned address, when one is asked for.
fn assumed_bar(cx: &Ctx<'_>, next: &mut u64) -> Option<(AddrRange, RawBar)> {
    let size = cx
        .opts
        .assumed_gpu_bar
        .filter(|s| s.is_power_of_two() && *s >= PAGE_SIZE)?;
    let addr = next.div_ceil(size).saturating_mul(size);
    match AddrRange::from_start_and_size(addr, size) {
        Some(range) if addr != 0 => {
            *next = range.end.saturating_add(1);
            Some((
                range,
                RawBar {
                    index: 0,
                    addr: Addr(addr),
                    size: Size(size),
                    prefetchable: Some(true),
                },
            ))
        }
        _ => None,
    }
}
