//! `peerpath explain IMPORTER EXPORT`: one pairing, hop by hop — the kernel's decision
//! with the facts and hint the kernel prints (K1.8), then the numbered hops of the
//! representative TLP, then each finding with evidence, rule ids and fix.

use std::fmt::Write;

use peerpath_model::{Platform, TdispState};
use peerpath_rules::k1_map_type::{HostBridgeMatch, MapType};
use peerpath_rules::k3_dma_path::MapResult;
use peerpath_rules::report::PairResult;
use peerpath_topology::Topology;

use crate::simulate::finding_lines;
use crate::style::Style;

/// The explanation of one pairing as numbered text.
pub fn explain_text(topo: &Topology<'_>, pair: &PairResult, style: Style) -> String {
    let p = topo.platform();
    let why = &pair.kernel.why;
    let d = &pair.detail;
    let export = p.export(d.export);
    let mut out = String::new();
    let bar = topo
        .endpoint(d.exporter)
        .and_then(|e| e.bar(export.bar))
        .map(|b| format!("BAR {} {}", b.index, b.range))
        .unwrap_or_else(|| format!("BAR {} (missing)", export.bar));
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{} imports {} ({}, {}, offset {:#x}, {} bytes, via {})",
            pair.importer, pair.export, pair.exporter, bar, export.offset, export.size, export.via
        ))
    );
    let _ = writeln!(
        out,
        "platform {}; outcome: {}",
        p.name,
        style.outcome(pair.outcome, 0)
    );

    // The kernel's side.
    let _ = writeln!(out, "\n{}", style.bold("What Linux decides"));
    let m = &why.map;
    match (m.common_upstream, m.distance) {
        (Some(c), Some(dist)) => {
            let _ = writeln!(
                out,
                "  [K1.3] nearest common upstream device: {}{}, distance {dist}",
                topo.name(c),
                bdf_suffix(topo, c)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  [K1.3] no common upstream device: {} is below {}, {} below {}",
                pair.exporter,
                topo.name(m.allow_list.provider_hb),
                pair.importer,
                topo.name(m.allow_list.client_hb)
            );
        }
    }
    if m.redirecting.is_empty() {
        if m.common_upstream.is_some() {
            let _ = writeln!(out, "  [K1.4] no ACS redirect (RR, CR, EC) on the path");
        }
    } else {
        let names: Vec<String> = m
            .redirecting
            .iter()
            .map(|n| format!("{}{}", topo.name(*n), bdf_suffix(topo, *n)))
            .collect();
        let _ = writeln!(
            out,
            "  [K1.4] ACS redirect is set between the client and provider: {}",
            names.join(", ")
        );
        if let Some(hint) = m.disable_acs_redir_hint(topo) {
            let _ = writeln!(
                out,
                "         to disable ACS redirect for this path, add the kernel parameter: {hint}"
            );
        }
    }
    if m.common_upstream.is_none() || !m.redirecting.is_empty() {
        let cpu = &p.kernel.cpu;
        let _ = writeln!(
            out,
            "  [K1.6] cpu_supports_p2pdma: {} (vendor {}{})",
            yes_no(m.cpu_rule),
            cpu.vendor,
            cpu.family
                .map(|f| format!(", family {f:#x}"))
                .unwrap_or_default()
        );
        let al = &m.allow_list;
        let verdict = if al.allowed { "allowed" } else { "not allowed" };
        if al.same_host_bridge {
            let _ = writeln!(
                out,
                "  [K1.7] host bridge allow-list (both below {}): {} -> {verdict}",
                topo.name(al.provider_hb),
                hb_match(al.provider)
            );
        } else {
            let _ = writeln!(
                out,
                "  [K1.7] host bridge allow-list: {}: {}; {}: {} -> {verdict}",
                topo.name(al.provider_hb),
                hb_match(al.provider),
                topo.name(al.client_hb),
                hb_match(al.client)
            );
        }
    }
    let _ = writeln!(out, "  [K1.5] map type: {}", pair.kernel.map_type.as_str());
    if m.map_type == MapType::NotSupported {
        let _ = writeln!(
            out,
            "         {}: cannot be used for peer-to-peer DMA as the client and provider ({}) do not share an upstream bridge or whitelisted host bridge",
            pair.importer, pair.exporter
        );
    }
    if why.attach.is_empty() {
        let _ = writeln!(out, "  [K2.1] dma-buf attach: accepted");
    } else {
        for r in &why.attach {
            let _ = writeln!(
                out,
                "  [K2.1] dma-buf attach refused: {} ({})",
                r.as_str(),
                r.errno()
            );
        }
    }
    if pair.kernel.map_type == MapType::ThruHostBridge {
        let domain = why
            .path
            .dma_api_domain
            .map(|t| format!("{t} domain"))
            .unwrap_or_else(|| "no IOMMU".to_owned());
        let _ = writeln!(
            out,
            "  [K3.3] importer DMA path: {} ({domain})",
            why.path.path.as_str()
        );
    }
    match &why.result {
        Some(MapResult::Mapped(a)) => {
            let _ = writeln!(out, "  [K3]   mapped: DMA address {a}");
        }
        Some(MapResult::SwiotlbForced(f)) => {
            let _ = writeln!(
                out,
                "  [K3.7] mapping fails: swiotlb is forced ({f:?}); MMIO cannot bounce"
            );
        }
        Some(MapResult::DmaMask { end, limit }) => {
            let _ = writeln!(
                out,
                "  [K3.4] mapping fails: dma_capable: end {end:#x} above the limit {limit:#x}"
            );
        }
        Some(MapResult::IovaExhausted { size, limit }) => {
            let _ = writeln!(
                out,
                "  [K3.5] mapping fails: no IOVA of {size:#x} bytes below {limit:#x}"
            );
        }
        Some(MapResult::NoMapResource) => {
            let _ = writeln!(
                out,
                "  [K3.6] mapping fails: arch DMA ops have no map_resource"
            );
        }
        None => {}
    }
    match (&pair.kernel.dma_address, &why.mapping) {
        (Some(a), Some(map)) => {
            let attrs: Vec<&str> = pair.kernel.attrs.iter().map(|a| a.as_str()).collect();
            let _ = writeln!(
                out,
                "  result: the importer is handed {a} ({}, for CPU physical {}), attrs [{}]",
                map.regime.as_str(),
                map.phys,
                attrs.join(", ")
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  result: nothing is mapped; the importer gets no address"
            );
        }
    }

    // The hardware's side.
    let _ = writeln!(out, "\n{}", style.bold("What the hardware does"));
    let setup = &d.setup;
    if d.probe {
        out.push_str("  (nothing was mapped: a probe write to the BAR, routed as if the importer's stream bypassed translation, shows where such a TLP would go; no finding is drawn from it)\n");
    } else {
        let _ = writeln!(
            out,
            "  importer stream: {}, ATS {}",
            ste_name(&setup.ste),
            if setup.ats_enabled {
                "enabled"
            } else {
                "disabled"
            }
        );
    }
    for (fi, flow) in d.flows.iter().enumerate() {
        let first = flow.traces.first();
        let _ = writeln!(
            out,
            "  flow {}: {} x{} TLP{}{}{}",
            fi + 1,
            flow.flow.op,
            flow.flow.tlps.len(),
            if flow.flow.tlps.len() == 1 { "" } else { "s" },
            if flow.flow.ats { ", ATS" } else { "" },
            if flow.flow.truncated {
                " (truncated)"
            } else {
                ""
            }
        );
        for mb in &flow.merges {
            let _ = writeln!(
                out,
                "    merged: {} writes into one {}-byte burst at {:#x}{}",
                mb.count,
                mb.bytes,
                mb.addr,
                mb.target_root_port
                    .map(|rp| format!(" toward {} (MPS {})", topo.name(rp), topo.mps(rp)))
                    .unwrap_or_default()
            );
        }
        if Some((fi, 0)) == d.route_of {
            if let Some(t) = first {
                for (i, h) in t.hops.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "    {:>2}. {:<12} {:<9} {} {:#x} {}B {}  — {}",
                        i + 1,
                        h.at.name(p),
                        h.event.as_str(),
                        h.tlp.op,
                        h.tlp.addr,
                        h.tlp.payload,
                        h.tlp.at.as_str(),
                        h.why
                    );
                }
            }
        }
        let ends = summarize_ends(p, flow);
        let _ = writeln!(out, "    end: {ends}");
    }

    // Findings.
    let _ = writeln!(out, "\n{}", style.bold("Findings"));
    if pair.findings.is_empty() {
        out.push_str("  none: the pairing works\n");
    }
    for f in &pair.findings {
        finding_lines(&mut out, f, "  ", style);
    }
    out
}

fn summarize_ends(p: &Platform, flow: &peerpath_rules::report::FlowTrace) -> String {
    use std::collections::BTreeMap;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for t in &flow.traces {
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

fn bdf_suffix(topo: &Topology<'_>, n: peerpath_model::NodeId) -> String {
    topo.bdf(n).map(|b| format!(" ({b})")).unwrap_or_default()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
