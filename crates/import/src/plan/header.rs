//! Step 7: the comment header: what was imported, every assumption the steps noted, the
//! kernel's groups and p2pdma verdicts in the dump, and the reader's warnings.

use std::collections::BTreeSet;

use peerpath_load::raw::RawHostBridge;
use peerpath_model::Bdf;

use super::{Ctx, Notes, Tally};
use crate::machine::P2pdmaReason;

/// Notes the assumptions counted across the steps, after the windows' and exports'.
pub(super) fn note_assumptions(
    cx: &Ctx<'_>,
    host_bridges: &[RawHostBridge],
    tally: &Tally,
    any_exports: bool,
    notes: &mut Notes,
) {
    note_ids_and_drivers(cx, host_bridges, tally, notes);
    note_mps_and_links(cx, tally, notes);
    note_acs(cx, tally, notes);
    note_bars_and_exports(cx, tally, any_exports, notes);
}

/// Ids read from names, BMC displays, devices bound to vfio-pci, host bridges with no id.
fn note_ids_and_drivers(
    cx: &Ctx<'_>,
    host_bridges: &[RawHostBridge],
    tally: &Tally,
    notes: &mut Notes,
) {
    let m = cx.m;
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
        &format!(
            "vendor/device ids read from the devices' names (\"… Device 14a4\", or the name through pci.ids {}; the dump gives no ids)",
            crate::facts::pciids::version()
        ),
        &named_ids,
    );
    for (b, bmc) in &tally.bmc_displays {
        notes.add(format!(
            "{b}: a BMC's display controller ({}; {}), not a GPU: written as class other, it exports and imports nothing",
            bmc.what, bmc.source
        ));
    }
    // Issue 18: a device bound to vfio-pci is probably assigned to a VM, but the dump
    // says nothing of the VM's side (rules.md V).
    let vfio: Vec<Bdf> = m
        .devices
        .iter()
        .filter(|d| d.driver.as_deref() == Some("vfio-pci"))
        .map(|d| d.bdf)
        .collect();
    notes.list(
        "bound to vfio-pci (written `driver: vfio-pci`). The dump cannot show which VM holds each, the VMM's backend (vfio-type1 or iommufd) and whether it maps BARs, the guest's addresses (GPA), a vIOMMU, or the guest's own platform and kernel: add a `vms:` entry to evaluate P2P inside the VM (docs/vms.md)",
        &vfio,
    );
    if !no_id.is_empty() {
        notes.add(format!(
            "host bridge id (K1.7 allow-list) unknown for: {}",
            no_id.join(", ")
        ));
    }
}

/// MPSS, MPS and link figures the dump does not give.
fn note_mps_and_links(cx: &Ctx<'_>, tally: &Tally, notes: &mut Notes) {
    let (m, opts) = (cx.m, cx.opts);
    let mut default_mpss = tally.default_mpss.clone();
    default_mpss.sort();
    default_mpss.dedup();
    notes.list(
        &format!(
            "mpss {} assumed where the dump shows no Device Capabilities",
            opts.default_mpss
        ),
        &default_mpss,
    );
    notes.list(
        "link: the Link Capabilities (LnkCap) written where the Link Status (LnkSta) shows less; an idle device's link is often downgraded (2.5GT/s) by power management, while under load it trains to the lower end's LnkCap, which the timing model predicts for",
        &tally.link_sta_lower,
    );
    notes.list(
        "link: only the Link Status (LnkSta) in the dump, written as the link",
        &tally.link_from_sta,
    );
    notes.list(
        "link: not in the dump (the timing model takes the other end's link and says so)",
        &tally.no_link,
    );
    let mps_known = m.devices.iter().any(|d| d.mps.is_some());
    if !mps_known && !m.devices.is_empty() {
        notes.add("mps: not in the dump anywhere, left to the format's default (128)");
    }
    notes.list("mps above mpss in the dump, left out", &tally.bad_mps);
    notes.list(
        "mps: not in the dump for these ports, taken from the device below (its DevCtl): the two ends of a link carry one MPS, or the port would reject the device's TLPs [PCIe r6.0 §7.5.3.4]",
        &tally.mps_from_below,
    );
}

/// ACS assumed, inferred from the kernel's groups, unknown or clipped.
fn note_acs(cx: &Ctx<'_>, tally: &Tally, notes: &mut Notes) {
    let (m, opts) = (cx.m, cx.opts);
    notes.list(
        &format!(
            "acs {{ cap: {} }} assumed for root/downstream ports whose ACS capability the dump does not show",
            opts.assumed_port_acs
        ),
        &tally.assumed_acs,
    );
    notes.list(
        &format!(
            "acs {{ cap: {} }} inferred from the kernel's groups for ports whose children sit in other groups (the dump shows no ACS)",
            opts.assumed_port_acs
        ),
        &tally.acs_ports_isolating,
    );
    notes.list(
        "no ACS capability inferred from the kernel's groups for ports sharing a group with their children (the dump shows no ACS)",
        &tally.acs_ports_not,
    );
    notes.list(
        "acs { cap: [] } inferred from the kernel's groups for multifunction endpoints in a group apart from their sibling functions",
        &tally.acs_eps_isolating,
    );
    notes.list(
        "ACS unknown for these multifunction endpoints (no `acs:` written, so they do not isolate, K4.3)",
        &tally.unknown_ep_acs_mf,
    );
    notes.list(
        "ACS Control bits outside the capability were dropped",
        &tally.clipped_ctl,
    );
    if opts.measured_acs_ctl
        && m.devices
            .iter()
            .any(|d| d.acs.is_some_and(|a| a.ctl.is_some()))
    {
        notes.add("acs.ctl: the measured ACS Control of this boot (remove `ctl` to let peerpath derive it, K4.1)");
    }
}

/// BARs assumed or missing, the exports, and the DRAM the dump leaves out.
fn note_bars_and_exports(cx: &Ctx<'_>, tally: &Tally, any_exports: bool, notes: &mut Notes) {
    let opts = cx.opts;
    if let Some(size) = opts.assumed_gpu_bar {
        notes.list(
            &format!(
                "BAR 0 ({}, prefetchable, at a made-up address) assumed for GPUs/accelerators/p2pdma providers whose dump shows no memory BAR, given on the command line",
                crate::emit::size(size)
            ),
            &tally.assumed_bars,
        );
    }
    notes.list(
        "GPUs/accelerators/p2pdma providers without a memory BAR in the dump: no BAR, no export (`--assume-gpu-bar SIZE` assumes one)",
        &tally.no_bar_gpus,
    );
    if any_exports {
        notes.add("exports: the largest prefetchable BAR of every GPU/accelerator (and of every provider a kernel p2pdma message names), whole, via vfio-dmabuf");
    }
    notes.add("memory: DRAM ranges are not in the dump (none written)");
}

/// The header lines: the source, the naming rule, the notes, the kernel's groups and
/// p2pdma verdicts, the reader's warnings (at most 40).
pub(super) fn header(cx: &Ctx<'_>, host_bridges: usize, notes: &Notes) -> Vec<String> {
    let m = cx.m;
    let mut header = vec![
        format!(
            "Imported by `peerpath import` from {}: {} PCI functions, {} host bridges.",
            m.source.describe(),
            m.devices.len(),
            host_bridges
        ),
        "Names derive from BDFs: hb-ssss-bb, rp-/dp-/br-ssss-bb-dd-f, endpoints gpu-/nic-/nvme-/accel-/ep-ssss-bb-dd-f by class, switches sw-<upstream BDF>, exports <endpoint>-bar<i>.".to_string(),
        "Everything below comes from the dump except what these lines say was assumed:".to_string(),
    ];
    header.extend(notes.lines.iter().map(|l| format!("- {l}")));
    if cx.have_groups() {
        let distinct: BTreeSet<u32> = cx.groups.values().copied().collect();
        header.push(format!(
            "Kernel IOMMU groups in the dump (ground truth, K4.3): {} devices in {} groups, listed per device under Devices below.",
            cx.groups.len(),
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
    header
}

/// The platform's description: the user's, or what was imported from what.
pub(super) fn description(cx: &Ctx<'_>) -> String {
    cx.opts.description.clone().unwrap_or_else(|| {
        format!(
            "Imported from {} ({} PCI functions); see the comments at the top for what was assumed.",
            cx.m.source.describe(),
            cx.m.devices.len()
        )
    })
}
