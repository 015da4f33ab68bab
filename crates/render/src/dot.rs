//! `peerpath dot`: the topology as a Graphviz DOT graph (render with `dot -Tsvg`).
//! Host bridges, ports, switches, bridges and endpoints as the PCI tree; IOMMUs and
//! TBUs beside it; optionally one pairing's route drawn over it.
//!
//! Derived state is shown as the kernel would set it: effective MPS, ACS Control,
//! IOMMU group and domain type per device.

use std::fmt::Write;

use peerpath_engine::Place;
use peerpath_model::Platform;
use peerpath_rules::PairResult;
use peerpath_topology::{Link, Topology, Vertex};

use crate::label::{vertex_label, Shape};

/// DOT text of the whole topology; `route` draws one pairing's representative route.
pub fn topology_dot(topo: &Topology<'_>, route: Option<&PairResult>) -> String {
    let p = topo.platform();
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", esc(&p.name));
    out.push_str("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let g = topo.graph();
    for ix in g.node_indices() {
        let label = vertex_label(topo, g[ix]);
        let shape = match label.shape {
            Shape::HostBridge => "box3d",
            Shape::Port => "box",
            Shape::Endpoint => "ellipse",
            Shape::Iommu => "hexagon",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\", shape={shape}, style=filled, fillcolor=\"{}\"];",
            esc(&vertex_id(p, g[ix])),
            esc_label(&label.lines.join("\\n")),
            label.fill
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
