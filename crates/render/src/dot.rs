//! `peerpath dot`: the topology as a Graphviz DOT graph (render with `dot -Tsvg`).
//! Host bridges, ports, switches, bridges and endpoints as the PCI tree; IOMMUs and
//! TBUs beside it; optionally one pairing's route drawn over it.
//!
//! Derived state is shown as the kernel would set it: effective MPS, ACS Control,
//! IOMMU group and domain type per device.

use std::fmt::Write;

use peerpath_engine::Place;
use peerpath_model::{NodeKind, Platform};
use peerpath_rules::PairResult;
use peerpath_topology::{Link, Topology, Vertex};

/// DOT text of the whole topology; `route` draws one pairing's representative route.
pub fn topology_dot(topo: &Topology<'_>, route: Option<&PairResult>) -> String {
    let p = topo.platform();
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", esc(&p.name));
    out.push_str("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let g = topo.graph();
    for ix in g.node_indices() {
        let (id, label, shape, color) = match g[ix] {
            Vertex::Pci(n) => pci_node(topo, p, n),
            Vertex::Iommu(i) => {
                let m = p.iommu(i);
                (
                    format!("iommu:{}", m.name),
                    format!(
                        "{}\\n{}{}",
                        m.name,
                        m.kind,
                        if m.ats { ", ATS" } else { "" }
                    ),
                    "hexagon",
                    "#c9d7f0",
                )
            }
            Vertex::Tbu(t) => {
                let tb = p.tbu(t);
                (
                    format!("tbu:{}", tb.name),
                    format!(
                        "{}\\nTLB {}x{}",
                        tb.name,
                        tb.tlb_entries / tb.tlb_ways.max(1),
                        tb.tlb_ways
                    ),
                    "hexagon",
                    "#e0e8f8",
                )
            }
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\", shape={shape}, style=filled, fillcolor=\"{color}\"];",
            esc(&id),
            esc_label(&label)
        );
    }
    for e in g.edge_indices() {
        let Some((a, b)) = g.edge_endpoints(e) else {
            continue;
        };
        let style = match g[e] {
            Link::Down => "",
            Link::TranslatedBy => " [style=dashed, label=\"translated by\"]",
            Link::ThroughTbu => " [style=dashed, label=\"upstream via\"]",
            Link::PartOf => " [style=dotted]",
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\"{style};",
            esc(&vertex_id(p, g[a])),
            esc(&vertex_id(p, g[b]))
        );
    }
    if let Some(pair) = route {
        let hops: Vec<String> = pair
            .detail
            .flows
            .get(pair.detail.route_of.map_or(usize::MAX, |r| r.0))
            .and_then(|f| f.traces.first())
            .map(|t| t.hops.iter().filter_map(|h| place_id(p, h.at)).collect())
            .unwrap_or_default();
        for (i, w) in hops.windows(2).enumerate() {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [color=red, penwidth=2, constraint=false, label=\"{}\"];",
                esc(&w[0]),
                esc(&w[1]),
                i + 1
            );
        }
        let _ = writeln!(
            out,
            "  label=\"{} <- {}: {} ({})\";",
            esc(&pair.importer),
            esc(&pair.export),
            pair.outcome.as_str(),
            pair.kernel.map_type.as_str()
        );
    }
    out.push_str("}\n");
    out
}

fn pci_node(
    topo: &Topology<'_>,
    p: &Platform,
    n: peerpath_model::NodeId,
) -> (String, String, &'static str, &'static str) {
    let node = p.node(n);
    let bdf = node.bdf.map(|b| format!("\\n{b}")).unwrap_or_default();
    let acs = {
        let ctl = topo.acs_ctl(n);
        if topo.acs_cap(n).is_some() {
            format!("\\nACS {ctl}")
        } else {
            String::new()
        }
    };
    let group = topo
        .groups()
        .group_of(n)
        .map(|g| format!("\\ngroup {g}"))
        .unwrap_or_default();
    let (label, shape, color) = match &node.kind {
        NodeKind::HostBridge(h) => (
            format!(
                "{}{}\\n{}, forwards {}",
                node.name,
                h.id.map(|i| format!(" ({i})")).unwrap_or_default(),
                h.translation,
                h.forwards_p2p
            ),
            "box3d",
            "#d9d9d9",
        ),
        NodeKind::RootPort(_) | NodeKind::SwitchUpstream(_) | NodeKind::SwitchDownstream(_) => (
            format!("{}{bdf}\\nMPS {}{acs}{group}", node.name, topo.mps(n)),
            "box",
            "#f2f2f2",
        ),
        NodeKind::PciBridge(_) => (format!("{}{bdf}{group}", node.name), "box", "#f2f2f2"),
        NodeKind::Endpoint(e) => (
            format!(
                "{} ({}){bdf}\\nMPS {}{}{acs}{group}",
                node.name,
                e.class,
                topo.mps(n),
                topo.domain(n)
                    .filter(|d| d.iommu.is_some())
                    .map(|d| format!(", {} domain", d.ty))
                    .unwrap_or_default()
            ),
            "ellipse",
            match e.class {
                peerpath_model::DeviceClass::Gpu => "#d5f0d5",
                peerpath_model::DeviceClass::Nic => "#f8e3c6",
                _ => "#ffffff",
            },
        ),
    };
    (node.name.clone(), label, shape, color)
}

fn vertex_id(p: &Platform, v: Vertex) -> String {
    match v {
        Vertex::Pci(n) => p.node(n).name.clone(),
        Vertex::Iommu(i) => format!("iommu:{}", p.iommu(i).name),
        Vertex::Tbu(t) => format!("tbu:{}", p.tbu(t).name),
    }
}

/// The graph node of a route place (the interconnect and DRAM are not drawn).
fn place_id(p: &Platform, place: Place) -> Option<String> {
    match place {
        Place::Pci(n) => Some(p.node(n).name.clone()),
        Place::Tbu(t) => Some(format!("tbu:{}", p.tbu(t).name)),
        Place::Iommu(i) => Some(format!("iommu:{}", p.iommu(i).name)),
        Place::Interconnect | Place::Memory(_) => None,
    }
}

/// Escapes a DOT quoted string.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes a label that already carries `\n` line breaks.
fn esc_label(s: &str) -> String {
    s.replace('"', "\\\"")
}

#[cfg(test)]
mod tests;
