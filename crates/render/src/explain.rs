//! `peerpath explain IMPORTER EXPORT`: one pairing, hop by hop — the kernel's decision
//! with the facts and hint the kernel prints (K1.8), then the numbered hops of the
//! representative TLP, then each finding with evidence, rule ids and fix.

use std::fmt::{self, Write};

use peerpath_engine::{MergedBurst, StreamSetup, Trace};
use peerpath_model::{Platform, TdispState};
use peerpath_rules::{
    AttachRefusal, FlowTrace, HostBridgeMatch, MapResult, MapType, MapTypeView, PairResult,
    PathChoice,
};
use peerpath_topology::Topology;

mod timing;

pub use timing::explain_timing;

use crate::simulate::finding_lines;
use crate::style::Style;

/// The explanation of one pairing as numbered text.
pub fn explain_text(topo: &Topology<'_>, pair: &PairResult, style: Style) -> String {
    let mut out = Lines::default();
    header(&mut out, topo, pair, style);
    if let Some(vm) = &pair.vm {
        vm_decisions(&mut out, topo, pair, vm, style);
    } else {
        out.section("What Linux decides", style);
        what_linux_decides(&mut out, topo, pair);
    }
    out.section("What the hardware does", style);
    what_the_hardware_does(&mut out, topo, pair);
    out.section("Findings", style);
    findings(&mut out, pair, style);
    if !pair.depends_on.is_empty() {
        out.section("Assumed facts that decide this outcome", style);
        assumed_facts(&mut out, pair);
    }
    out.text
}

/// A pairing inside one VM (rules.md V): the guest kernel's decision on its virtual
/// platform (V6), then what the host decides about the same DMA (V1, V2, V4, V5).
fn vm_decisions(
    out: &mut Lines,
    topo: &Topology<'_>,
    pair: &PairResult,
    vm: &peerpath_rules::VmDetail,
    style: Style,
) {
    let p = topo.platform();
    let g = &vm.guest;
    let gtopo = Topology::new(g);
    let mut gpair = pair.clone();
    gpair.kernel = vm.decision.clone();
    gpair.detail.importer = vm.decision.why.importer;
    gpair.detail.exporter = vm.decision.why.exporter;
    if let Some(e) = g.export_by_name(&pair.export) {
        gpair.detail.export = e;
    }
    let Some(spec) = p.vms.iter().find(|v| v.name == vm.vm) else {
        return;
    };
    let hb = g
        .nodes
        .first()
        .and_then(|n| match &n.kind {
            peerpath_model::NodeKind::HostBridge(h) => h.id,
            _ => None,
        })
        .map_or_else(|| "?".to_owned(), |id| id.to_string());
    two_columns(out, topo, pair, vm, spec, style);
    out.section(
        &format!(
            "What {}'s guest kernel decides (V6, on the guest's platform)",
            vm.vm
        ),
        style,
    );
    out.line(format_args!(
        "  [V6] guest platform: host bridge {hb}, layout {}, virtual ports {} ACS, vIOMMU {}, release {}, CPU {}",
        spec.guest.layout,
        if spec.guest.acs { "with" } else { "without" },
        spec.viommu,
        g.kernel.release.as_deref().unwrap_or("not stated (newest modelled)"),
        g.kernel.cpu.vendor
    ));
    what_linux_decides(out, &gtopo, &gpair);
    out.section("What the host decides (V1, V2, V4, V5)", style);
    let imp = &pair.importer;
    let domain = topo
        .domain(pair.detail.importer)
        .map(|d| d.ty.as_str())
        .unwrap_or("none");
    out.line(format_args!(
        "  [V1] {imp} and {} are assigned to {} ({}): bound to vfio-pci; {imp}'s host domain: {domain}",
        pair.exporter, vm.vm, spec.backend
    ));
    let place = match (vm.gpa, vm.hpa) {
        (Some(g), Some(h)) => format!("GPA {g:#x} -> HPA {h}"),
        _ => "no guest address".to_owned(),
    };
    out.line(format_args!(
        "  [V1] {}'s I/O address space {} {}'s BAR ({place})",
        vm.vm,
        if vm.maps_bars { "maps" } else { "does not map" },
        pair.exporter
    ));
    out.line(match spec.viommu {
        peerpath_model::Viommu::None => {
            "  [V5] no vIOMMU: the guest programs its devices with guest physical addresses".to_owned()
        }
        v => format!(
            "  [V5] vIOMMU {v}: guest IOVA -> GPA (stage 1, the guest's) -> HPA (stage 2, the I/O address space)"
        ),
    });
    out.line(format_args!(
        "  [V4] ATS for {imp}: {} (the host kernel's rule H2{})",
        if vm.ats {
            "enabled: translated requests go straight to the peer"
        } else {
            "disabled: requests carry the guest's address untranslated (V3)"
        },
        if spec.device(pair.detail.importer).and_then(|d| d.ats) == Some(false) {
            ", and vms[].devices[].ats: false"
        } else {
            ""
        }
    ));
    for a in &vm.assumptions {
        out.line(format_args!("  assumed: {a}"));
    }
    let hk = &pair.kernel;
    match hk.dma_address {
        Some(a) => out.line(format_args!(
            "  result: {imp} puts {a} on the wire; the host routes it (below)"
        )),
        None => out.line(
            "  result: the guest mapped nothing; the probe below shows where the GPA would go",
        ),
    }
}

/// The guest kernel's and the host's decisions side by side (issue 18).
fn two_columns(
    out: &mut Lines,
    topo: &Topology<'_>,
    pair: &PairResult,
    vm: &peerpath_rules::VmDetail,
    spec: &peerpath_model::Vm,
    style: Style,
) {
    let g = &vm.decision;
    let hex = |a: Option<u64>| a.map_or("-".to_owned(), |a| format!("{a:#x}"));
    let iommu = topo
        .domain(pair.detail.importer)
        .and_then(|d| d.iommu)
        .map_or("no IOMMU".to_owned(), |i| {
            topo.platform().iommu(i).name.clone()
        });
    let guest_addr = match g.why.mapping {
        Some(m) if m.regime == peerpath_rules::Regime::Iova => {
            format!("{} (guest IOVA)", m.dma)
        }
        Some(m) => format!("{} (GPA)", m.dma),
        None => "none".to_owned(),
    };
    let rows: [(&str, String, String); 5] = [
        (
            "map type",
            match g.distance {
                Some(d) => format!("{} (distance {d})", g.map_type.as_str()),
                None => g.map_type.as_str().to_owned(),
            },
            "not asked: the guest programs the device".to_owned(),
        ),
        (
            "DMA path",
            g.dma_path.as_str().to_owned(),
            format!("{}'s unmanaged domain ({}, {iommu})", vm.vm, spec.backend),
        ),
        (
            "address",
            guest_addr,
            format!(
                "GPA {} -> HPA {} ({})",
                hex(vm.gpa),
                hex(vm.hpa.map(|a| a.0)),
                if vm.maps_bars { "mapped" } else { "not mapped" }
            ),
        ),
        (
            "translation",
            format!("vIOMMU {}", spec.viommu),
            format!("ATS {}", if vm.ats { "enabled" } else { "disabled" }),
        ),
        (
            "outcome",
            if g.why.mapping.is_some() {
                "mapped"
            } else {
                "nothing mapped"
            }
            .to_owned(),
            pair.outcome.as_str().to_owned(),
        ),
    ];
    out.section("Guest kernel and host, side by side", style);
    let guest_head = format!("{}'s guest kernel", vm.vm);
    let w = rows
        .iter()
        .map(|r| r.1.chars().count())
        .chain([guest_head.chars().count()])
        .max()
        .unwrap_or(0);
    out.line(format_args!("  {:<12} {guest_head:<w$}  host", ""));
    for (what, guest, host) in rows {
        out.line(format_args!("  {what:<12} {guest:<w$}  {host}"));
    }
}

/// Issue 24: each assumed fact whose alternative changes the outcome, with how to
/// read it on the machine; then the platform file can state it (and drop it from
/// `assumed`).
fn assumed_facts(out: &mut Lines, pair: &PairResult) {
    for d in &pair.depends_on {
        out.line(format_args!(
            "{}: assumed {}; with {} the pairing {}",
            d.name,
            d.assumed,
            d.alternative,
            d.outcome.as_str()
        ));
        out.line(format_args!("  read it with {}", d.fact.how_to_read()));
    }
    out.line(
        "State what you read in the platform file and remove the fact from `assumed:`; \
         the verdict is then definite.",
    );
}

/// The text being written, one line per call.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    /// Appends `line` and a newline.
    fn line(&mut self, line: impl fmt::Display) {
        // Writing into a `String` cannot fail.
        let _ = writeln!(self.text, "{line}");
    }

    /// A blank line, then `title` in bold.
    fn section(&mut self, title: &str, style: Style) {
        self.line(format_args!("\n{}", style.bold(title)));
    }
}

/// Who imports what (the BAR and the window of it), the platform and the outcome.
fn header(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult, style: Style) {
    let p = topo.platform();
    let export = p.export(pair.detail.export);
    let bar = topo
        .endpoint(pair.detail.exporter)
        .and_then(|e| e.bar(export.bar))
        .map(|b| format!("BAR {} {}", b.index, b.range))
        .unwrap_or_else(|| format!("BAR {} (missing)", export.bar));
    out.line(style.bold(&format!(
        "{} imports {} ({}, {}, offset {:#x}, {} bytes, via {})",
        pair.importer, pair.export, pair.exporter, bar, export.offset, export.size, export.via
    )));
    out.line(format_args!(
        "platform {}; outcome: {}",
        p.name,
        style.verdict(pair.outcome, !pair.depends_on.is_empty(), 0)
    ));
}

/// The kernel's side, in the kernel's order: the map type and the facts behind it
/// (K1), the dma-buf attach (K2.1), the DMA path and mapping (K3), and what the
/// importer is handed.
fn what_linux_decides(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult) {
    let why = &pair.kernel.why;
    let m = &why.map.view(topo);
    if !built_without_p2pdma(out, topo) {
        release_line(out, m);
    }
    common_upstream(out, topo, pair, m);
    acs_redirect(out, m, topo);
    acs_quirks(out, topo, pair);
    if m.common_upstream.is_none() || !m.redirecting.is_empty() {
        cpu_rule_and_allow_list(out, topo, m);
    }
    map_type(out, pair, m);
    if why.driver.is_none() {
        dmabuf_attach(out, &why.attach);
        revocation(out, topo, pair);
    }
    if pair.kernel.map_type == MapType::ThruHostBridge {
        importer_dma_path(out, &why.path);
    }
    if let Some(result) = &why.result {
        mapping_result(out, result);
    }
    handed_address(out, pair);
}

/// Issue 24: what p2pdma could do at the platform's kernel release, where that is less
/// than today's (the CPU rule and the allow-list).
fn release_line(out: &mut Lines, m: &MapTypeView) {
    use peerpath_rules::P2pdma;
    let what = match m.p2pdma {
        P2pdma::CpuRuleAndAllowList => return,
        P2pdma::Absent => "no p2pdma (it came in 4.20)",
        P2pdma::CommonBridgeOnly => {
            "p2pdma below a common upstream bridge only (no path through the root complex before 5.4)"
        }
        P2pdma::AmdRootComplex => {
            "p2pdma below a common upstream bridge, or across AMD Zen 1022:1450 root complexes without an IOMMU"
        }
        P2pdma::AllowList => "the host-bridge allow-list as of this release; no CPU rule (it came in 5.9)",
    };
    out.line(format_args!("  [K1] kernel {}: {what}", m.release));
}

/// Issue 24: ports on the way (and the two devices) whose ACS a device-specific quirk
/// answers for: the grouping and the silicon follow it, p2pdma's K1.4 does not see it.
fn acs_quirks(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult) {
    let (imp, exp) = (pair.detail.importer, pair.detail.exporter);
    let mut nodes: Vec<peerpath_model::NodeId> = Vec::new();
    for dev in [exp, imp] {
        nodes.push(dev);
        nodes.extend(topo.pci_upstream_chain(dev));
    }
    let mut seen = Vec::new();
    for n in nodes {
        if seen.contains(&n) {
            continue;
        }
        seen.push(n);
        if let Some(q) = topo.acs_quirk(n) {
            out.line(format_args!(
                "  [K4.3] {}: ACS quirk {} (isolates as if {} were enabled); p2pdma reads the ACS capability only",
                name_and_bdf(topo, n),
                q.function,
                q.provides | q.ignores
            ));
        }
    }
}

/// Issue 24: a kernel built without `CONFIG_PCI_P2PDMA`.
fn built_without_p2pdma(out: &mut Lines, topo: &Topology<'_>) -> bool {
    if topo.platform().kernel.pci_p2pdma != Some(false) {
        return false;
    }
    out.line("  [K1] the kernel is built without CONFIG_PCI_P2PDMA: no p2pdma");
    true
}

/// K1.3: the nearest common upstream device and the distance, or where each side is.
fn common_upstream(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult, m: &MapTypeView) {
    match m.common_upstream {
        Some((c, dist)) => out.line(format_args!(
            "  [K1.3] nearest common upstream device: {}, distance {dist}",
            name_and_bdf(topo, c)
        )),
        None => out.line(format_args!(
            "  [K1.3] no common upstream device: {} is below {}, {} below {}",
            pair.exporter,
            topo.name(m.allow_list.provider_hb),
            pair.importer,
            topo.name(m.allow_list.client_hb)
        )),
    }
}

/// K1.4: the devices whose ACS redirects, with the kernel's hint to disable it (K1.8).
fn acs_redirect(out: &mut Lines, m: &MapTypeView, topo: &Topology<'_>) {
    if m.redirecting.is_empty() {
        if m.common_upstream.is_some() {
            out.line("  [K1.4] no ACS redirect (RR, CR, EC) on the path");
        }
        return;
    }
    let names: Vec<String> = m
        .redirecting
        .iter()
        .map(|n| name_and_bdf(topo, *n))
        .collect();
    out.line(format_args!(
        "  [K1.4] ACS redirect is set between the client and provider: {}",
        names.join(", ")
    ));
    if let Some(clear) = &m.clear_redirect {
        out.line(format_args!(
            "         to disable ACS redirect for this path, add the kernel parameter: {}",
            clear.parameter
        ));
        out.line("         or at runtime (lost on reboot and hot-plug; clears RR, CR, EC only):");
        for l in &clear.runtime {
            out.line(format_args!("           {}", l.command));
        }
    }
}

/// K1.6 and K1.7: the CPU rule and the host bridge allow-list, consulted when the
/// switches alone do not decide.
fn cpu_rule_and_allow_list(out: &mut Lines, topo: &Topology<'_>, m: &MapTypeView) {
    let cpu = &topo.platform().kernel.cpu;
    out.line(format_args!(
        "  [K1.6] cpu_supports_p2pdma: {} (vendor {}{})",
        yes_no(m.cpu_rule),
        cpu.vendor,
        cpu.family
            .map(|f| format!(", family {f:#x}"))
            .unwrap_or_default()
    ));
    let al = &m.allow_list;
    let verdict = if al.allowed { "allowed" } else { "not allowed" };
    if al.same_host_bridge {
        out.line(format_args!(
            "  [K1.7] host bridge allow-list (both below {}): {} -> {verdict}",
            topo.name(al.provider_hb),
            hb_match(al.provider)
        ));
    } else {
        out.line(format_args!(
            "  [K1.7] host bridge allow-list: {}: {}; {}: {} -> {verdict}",
            topo.name(al.provider_hb),
            hb_match(al.provider),
            topo.name(al.client_hb),
            hb_match(al.client)
        ));
    }
}

/// K1.5: the map type, with the kernel's message when P2P is not supported.
fn map_type(out: &mut Lines, pair: &PairResult, m: &MapTypeView) {
    let why = &pair.kernel.why;
    if let Some(driver) = why.driver {
        out.line(format_args!(
            "  [K1.5] p2pdma's map type: {} (not asked: the driver maps the peer itself)",
            m.map_type.as_str()
        ));
        out.line(format_args!(
            "  [K2.4] the driver's map type: {} ({})",
            driver.as_str(),
            match driver {
                MapType::BusAddr => "the BAR's bus address, whatever ACS does",
                _ => "dma_map_resource for the importer",
            }
        ));
        return;
    }
    out.line(format_args!(
        "  [K1.5] map type: {}",
        pair.kernel.map_type.as_str()
    ));
    if m.map_type == MapType::NotSupported && m.p2pdma != peerpath_rules::P2pdma::Absent {
        out.line(format_args!(
            "         {}: cannot be used for peer-to-peer DMA as the client and provider ({}) do not share an upstream bridge or whitelisted host bridge",
            pair.importer, pair.exporter
        ));
    }
}

/// K2.1: whether the exporter accepts the attach, or each reason it refuses.
fn dmabuf_attach(out: &mut Lines, refusals: &[AttachRefusal]) {
    if refusals.is_empty() {
        out.line("  [K2.1] dma-buf attach: accepted");
    }
    for r in refusals {
        out.line(format_args!(
            "  [K2.1] dma-buf attach refused: {} ({})",
            r.as_str(),
            r.errno()
        ));
    }
}

/// K2.1: an export revoked after the importer mapped it, where the importer survives
/// it (dynamic, and the export comes back): `move_notify`, then the map again.
fn revocation(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult) {
    let p = topo.platform();
    let export = p.export(pair.detail.export);
    let Some(r) = export
        .revoke
        .filter(|_| export.via == peerpath_model::Via::VfioDmabuf)
    else {
        return;
    };
    if r.when != peerpath_model::RevokeWhen::AfterMap || !pair.kernel.why.attach.is_empty() {
        return;
    }
    out.line(format_args!(
        "  [K2.1] export revoked after the map ({}): dma_buf_move_notify; {} unmaps in move_notify and maps again once memory decode is back (vfio_pci_dma_buf_move(vdev, false)), at the same address",
        r.event,
        pair.importer
    ));
}

/// K3.3: the importer's DMA path for `thru-host-bridge`, and its domain.
fn importer_dma_path(out: &mut Lines, path: &PathChoice) {
    let domain = path
        .dma_api_domain
        .map(|t| format!("{t} domain"))
        .unwrap_or_else(|| "no IOMMU".to_owned());
    out.line(format_args!(
        "  [K3.3] importer DMA path: {} ({domain})",
        path.path.as_str()
    ));
    if let Some(w) = path.direct_window {
        out.line(format_args!(
            "         dma_ops_bypass: the DMA mask reaches the end of the {} direct window [{:#x}-{:#x}], so dma_go_direct takes dma-direct instead of the TCE ops",
            w.kind,
            w.base,
            w.last()
        ));
    }
}

/// K3.4–K3.7: how the `thru-host-bridge` mapping ended.
fn mapping_result(out: &mut Lines, result: &MapResult) {
    match result {
        MapResult::Mapped(a) => out.line(format_args!("  [K3]   mapped: DMA address {a}")),
        MapResult::SwiotlbForced(f) => out.line(format_args!(
            "  [K3.7] mapping fails: swiotlb is forced ({f:?}); MMIO cannot bounce"
        )),
        MapResult::DmaMask { end, limit } => out.line(format_args!(
            "  [K3.4] mapping fails: dma_capable: end {end:#x} above the limit {limit:#x}"
        )),
        MapResult::IovaExhausted { size, limit } => out.line(format_args!(
            "  [K3.5] mapping fails: no IOVA of {size:#x} bytes below {limit:#x}"
        )),
        MapResult::NoMapResource => {
            out.line("  [K3.6] mapping fails: arch DMA ops have no map_resource")
        }
    }
}

/// The address the importer is handed, what it stands for and its attributes.
fn handed_address(out: &mut Lines, pair: &PairResult) {
    match (&pair.kernel.dma_address, &pair.kernel.why.mapping) {
        (Some(a), Some(map)) => {
            let attrs: Vec<&str> = pair.kernel.attrs.iter().map(|a| a.as_str()).collect();
            out.line(format_args!(
                "  result: the importer is handed {a} ({}, for CPU physical {}), attrs [{}]",
                map.regime.as_str(),
                map.phys,
                attrs.join(", ")
            ));
        }
        _ => out.line("  result: nothing is mapped; the importer gets no address"),
    }
}

/// The hardware's side: the importer's stream (or the probe note), then each flow.
fn what_the_hardware_does(out: &mut Lines, topo: &Topology<'_>, pair: &PairResult) {
    let d = &pair.detail;
    if d.probe && pair.vm.is_some() {
        out.line("  (the guest mapped nothing: a probe write to the peer's GPA, through the importer's host stream, shows where such a TLP would go; no finding is drawn from it)");
        importer_stream(out, &d.setup);
    } else if d.probe {
        out.line("  (nothing was mapped: a probe write to the BAR, routed as if the importer's stream bypassed translation, shows where such a TLP would go; no finding is drawn from it)");
    } else {
        importer_stream(out, &d.setup);
    }
    for (fi, flow) in d.flows.iter().enumerate() {
        let route = (d.route_of == Some((fi, 0)))
            .then(|| flow.traces.first())
            .flatten();
        flow_lines(out, topo, fi + 1, flow, route);
    }
}

/// The importer's STE as the hardware sees it, and whether ATS is enabled.
fn importer_stream(out: &mut Lines, setup: &StreamSetup) {
    let ats = if setup.ats_enabled {
        "enabled"
    } else {
        "disabled"
    };
    out.line(format_args!(
        "  importer stream: {}, ATS {ats}",
        ste_name(&setup.ste)
    ));
}

/// Flow `number`: what it sends, its merged bursts, the numbered hops of `route`
/// (the representative TLP, when it is this flow's), and how its TLPs ended.
fn flow_lines(
    out: &mut Lines,
    topo: &Topology<'_>,
    number: usize,
    flow: &FlowTrace,
    route: Option<&Trace>,
) {
    let p = topo.platform();
    let tlps = flow.flow.tlps.len();
    out.line(format_args!(
        "  flow {number}: {} x{tlps} TLP{}{}{}",
        flow.flow.op,
        if tlps == 1 { "" } else { "s" },
        if flow.flow.ats { ", ATS" } else { "" },
        if flow.flow.truncated {
            " (truncated)"
        } else {
            ""
        }
    ));
    for mb in &flow.merges {
        merged_burst(out, topo, mb);
    }
    if let Some(t) = route {
        numbered_hops(out, p, t);
    }
    out.line(format_args!("    end: {}", summarize_ends(p, flow)));
    completion_line(out, p, flow);
}

/// The completions of a read flow's delivered TLPs, routed back by ID (H1 CR, H6):
/// the first one's route, and how they ended, counted.
fn completion_line(out: &mut Lines, p: &Platform, flow: &FlowTrace) {
    use peerpath_engine::{CplEnd, Event, Why};
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut first: Option<&Trace> = None;
    for t in &flow.traces {
        let Some(c) = t.completion else { continue };
        first.get_or_insert(t);
        let key = match c.end {
            CplEnd::Returned => format!("returned to {}", p.node(flow_requester(t)).name),
            CplEnd::Fault(f) => format!("fault: {}", fault_text(p, &f)),
            CplEnd::Dropped(d) => format!("dropped: {}", drop_text(p, &d)),
        };
        *counts.entry(key).or_default() += 1;
    }
    let Some(t) = first else { return };
    let route: Vec<String> = t
        .completion_hops
        .iter()
        .map(|h| {
            let name = h.at.name(p);
            match (h.event, h.why) {
                (Event::Redirect, Why::CompletionRedirect { bit } | Why::AcsRedirect { bit }) => {
                    format!("{name} (ACS {bit}: up)")
                }
                (Event::Drop, _) => format!("{name} (dropped)"),
                (Event::Fault, _) => format!("{name} (fault)"),
                _ => name.to_owned(),
            }
        })
        .collect();
    let parts: Vec<String> = counts
        .into_iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if route.is_empty() {
        out.line(format_args!("    completions by ID: {}", parts.join("; ")));
    } else {
        out.line(format_args!(
            "    completions by ID: {}: {}",
            route.join(" → "),
            parts.join("; ")
        ));
    }
}

/// The requester of a trace's TLP.
fn flow_requester(t: &Trace) -> peerpath_model::NodeId {
    t.summary
        .issued
        .map(|tlp| tlp.requester)
        .or_else(|| t.hops.first().map(|h| h.tlp.requester))
        .unwrap_or(peerpath_model::NodeId(0))
}

/// H4: writes merged into one burst, and the root port whose MPS it meets.
fn merged_burst(out: &mut Lines, topo: &Topology<'_>, mb: &MergedBurst) {
    out.line(format_args!(
        "    merged: {} writes into one {}-byte burst at {:#x}{}",
        mb.count,
        mb.bytes,
        mb.addr,
        mb.target_root_port
            .map(|rp| format!(" toward {} (MPS {})", topo.name(rp), topo.mps(rp)))
            .unwrap_or_default()
    ));
}

/// One numbered line per hop: place, event, the TLP as it leaves, and why.
fn numbered_hops(out: &mut Lines, p: &Platform, t: &Trace) {
    for (i, h) in t.hops.iter().enumerate() {
        out.line(format_args!(
            "    {:>2}. {:<12} {:<9} {} {:#x} {}B {}{}  — {}",
            i + 1,
            h.at.name(p),
            h.event.as_str(),
            h.tlp.op,
            h.tlp.addr,
            h.tlp.payload,
            h.tlp.at.as_str(),
            if h.tlp.t { " T=1" } else { "" },
            h.why
        ));
    }
}

/// Each finding with evidence, rule ids and fix, or a line saying there is none.
fn findings(out: &mut Lines, pair: &PairResult, style: Style) {
    if pair.findings.is_empty() {
        out.line("  none: the pairing works");
    }
    for f in &pair.findings {
        finding_lines(&mut out.text, f, "  ", style);
    }
}

/// How the flow's TLPs ended, counted: `16 delivered to gpu0 BAR 1; 1 fault: …`.
fn summarize_ends(p: &Platform, flow: &FlowTrace) -> String {
    use std::collections::BTreeMap;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    // Unmapped IOVAs: one entry with the lowest and highest address, not one per TLP.
    let mut unmapped: Option<(u64, u64, usize)> = None;
    for t in &flow.traces {
        if let peerpath_engine::End::Fault(peerpath_engine::Fault::Unmapped { iova }) = t.end {
            let (lo, hi, n) = unmapped.unwrap_or((iova, iova, 0));
            unmapped = Some((lo.min(iova), hi.max(iova), n + 1));
            continue;
        }
        let key = match &t.end {
            peerpath_engine::End::Delivered {
                target, bar, tdisp, ..
            } => format!(
                "delivered to {} BAR {bar}{}",
                p.node(*target).name,
                match tdisp {
                    Some(TdispState::Unlocked) | None => String::new(),
                    Some(s) => format!(" (TDISP {s})"),
                }
            ),
            peerpath_engine::End::Dram { region, .. } => format!(
                "reached DRAM {}",
                p.memory.get(*region).map_or("?", |m| m.name.as_str())
            ),
            peerpath_engine::End::Fault(f) => format!("fault: {}", fault_text(p, f)),
            peerpath_engine::End::Dropped(d) => format!("dropped: {}", drop_text(p, d)),
            peerpath_engine::End::Merged { .. } => "merged into a burst".to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    if let Some((lo, hi, n)) = unmapped {
        let what = if lo == hi {
            format!("IOVA {lo:#x} is not mapped")
        } else {
            format!("IOVAs {lo:#x} to {hi:#x} are not mapped")
        };
        counts.insert(format!("fault: {what}"), n);
    }
    let parts: Vec<String> = counts
        .into_iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    if parts.is_empty() {
        "no TLPs".to_owned()
    } else {
        parts.join("; ")
    }
}

fn fault_text(p: &Platform, f: &peerpath_engine::Fault) -> String {
    use peerpath_engine::Fault;
    let name = |n: peerpath_model::NodeId| p.node(n).name.as_str();
    match f {
        Fault::StreamAbort { sid } => format!(
            "the STE aborts{}",
            sid.map(|s| format!(" (StreamID {s})")).unwrap_or_default()
        ),
        Fault::NoStreamId { rid } => format!("RID {rid:#06x} has no StreamID in the stream map"),
        Fault::Unmapped { iova } => format!("IOVA {iova:#x} is not mapped"),
        Fault::Permission { iova, op } => format!("IOVA {iova:#x} does not permit {op}"),
        Fault::AtsNotEnabled => "ATS traffic from a stream without EATS".to_owned(),
        Fault::NoTranslationAgent => {
            "ATS traffic reached a root complex with no translation agent".to_owned()
        }
        Fault::AcsViolation { port, bit } => {
            format!("ACS {bit} blocks the request at {}", name(*port))
        }
        Fault::TdispRejected { target } => format!("{} is in TDISP ERROR", name(*target)),
        Fault::TdispRefused {
            target,
            tdisp,
            t: false,
        } => format!(
            "{} (TDISP {tdisp}) serves its TEE MMIO only to T=1 requests: a T=0 request is refused",
            name(*target)
        ),
        Fault::TdispRefused {
            target,
            tdisp,
            t: true,
        } => format!(
            "{} (TDISP {tdisp}, not RUN) refuses T=1 requests",
            name(*target)
        ),
    }
}

fn drop_text(p: &Platform, d: &peerpath_engine::DropReason) -> String {
    use peerpath_engine::DropReason;
    let name = |n: peerpath_model::NodeId| p.node(n).name.as_str();
    let opt = |n: Option<peerpath_model::NodeId>| n.map_or("(integrated)", name);
    match d {
        DropReason::RcNoForward {
            from_root_port,
            to_root_port,
            from_hb,
            to_hb,
        } => format!(
            "the root complex does not forward from {} ({}) to {} ({})",
            opt(*from_root_port),
            name(*from_hb),
            opt(*to_root_port),
            name(*to_hb)
        ),
        DropReason::UnsupportedRequest { addr } => {
            format!("unsupported request: nothing decodes {addr:#x}")
        }
        DropReason::MalformedTlp {
            link_at,
            payload,
            mps,
        } => format!(
            "malformed TLP at {}: payload {payload} above its MPS {mps}",
            name(*link_at)
        ),
    }
}

fn ste_name(ste: &peerpath_engine::Ste) -> &'static str {
    match ste {
        peerpath_engine::Ste::NoIommu => "no IOMMU",
        peerpath_engine::Ste::Abort => "abort",
        peerpath_engine::Ste::Bypass => "bypass",
        peerpath_engine::Ste::Translate(_) => "translate",
    }
}

fn hb_match(m: HostBridgeMatch) -> String {
    match m {
        HostBridgeMatch::NoRootDevice => "no device for the allow-list to look at".to_owned(),
        HostBridgeMatch::Listed {
            id,
            same_host_bridge_only,
        } => format!(
            "{id} listed{}",
            if same_host_bridge_only {
                " (same host bridge only)"
            } else {
                ""
            }
        ),
        HostBridgeMatch::NotListed(id) => format!("Host bridge not in P2PDMA whitelist: {id}"),
    }
}

/// `sw0.dp1 (0000:02:01.0)`, or the bare name of a device without a BDF.
fn name_and_bdf(topo: &Topology<'_>, n: peerpath_model::NodeId) -> String {
    match topo.bdf(n) {
        Some(b) => format!("{} ({b})", topo.name(n)),
        None => topo.name(n).to_owned(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests;
