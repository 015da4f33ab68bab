//! What a picture says about each node, shared by `dot` and `draw` so both show the
//! same facts: name, BDF, effective MPS (K5), ACS Control (K4.1/K4.2), IOMMU group
//! (K4.3) and domain type (K3.2) as the topology derived them; IOMMUs and TBUs.

use peerpath_model::{DeviceClass, NodeId, NodeKind};
use peerpath_topology::{Topology, Vertex};

/// How a node is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A host bridge.
    HostBridge,
    /// A root port, switch port or PCIe-to-PCI bridge.
    Port,
    /// An endpoint.
    Endpoint,
    /// An IOMMU or TBU.
    Iommu,
}

/// A node's text lines, shape and fill colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Label {
    pub(crate) lines: Vec<String>,
    pub(crate) shape: Shape,
    pub(crate) fill: &'static str,
}

/// The label of any graph vertex.
pub(crate) fn vertex_label(topo: &Topology<'_>, v: Vertex) -> Label {
    let p = topo.platform();
    match v {
        Vertex::Pci(n) => pci_label(topo, n),
        Vertex::Iommu(i) => {
            let m = p.iommu(i);
            Label {
                lines: vec![
                    m.name.clone(),
                    format!("{}{}", m.kind, if m.ats { ", ATS" } else { "" }),
                ],
                shape: Shape::Iommu,
                fill: "#c9d7f0",
            }
        }
        Vertex::Tbu(t) => {
            let tb = p.tbu(t);
            Label {
                lines: vec![
                    tb.name.clone(),
                    format!(
                        "TLB {}x{}",
                        tb.tlb_entries / tb.tlb_ways.max(1),
                        tb.tlb_ways
                    ),
                ],
                shape: Shape::Iommu,
                fill: "#e0e8f8",
            }
        }
    }
}

/// The label of a PCI node.
pub(crate) fn pci_label(topo: &Topology<'_>, n: NodeId) -> Label {
    let node = topo.platform().node(n);
    let bdf = node.bdf.map(|b| b.to_string());
    let acs = topo.acs_cap(n).map(|_| format!("ACS {}", topo.acs_ctl(n)));
    let group = topo.groups().group_of(n).map(|g| format!("group {g}"));
    let mut lines = Vec::with_capacity(5);
    let (shape, fill) = match &node.kind {
        NodeKind::HostBridge(h) => {
            lines.push(format!(
                "{}{}",
                node.name,
                h.id.map(|i| format!(" ({i})")).unwrap_or_default()
            ));
            lines.push(format!("{}, forwards {}", h.translation, h.forwards_p2p));
            return Label {
                lines,
                shape: Shape::HostBridge,
                fill: "#d9d9d9",
            };
        }
        NodeKind::RootPort(_) | NodeKind::SwitchUpstream(_) | NodeKind::SwitchDownstream(_) => {
            lines.push(node.name.clone());
            lines.extend(bdf);
            lines.push(format!("MPS {}", topo.mps(n)));
            lines.extend(acs);
            (Shape::Port, "#f2f2f2")
        }
        NodeKind::PciBridge(_) => {
            lines.push(node.name.clone());
            lines.extend(bdf);
            (Shape::Port, "#f2f2f2")
        }
        NodeKind::Endpoint(e) => {
            lines.push(format!("{} ({})", node.name, e.class));
            lines.extend(bdf);
            lines.push(format!(
                "MPS {}{}",
                topo.mps(n),
                topo.domain(n)
                    .filter(|d| d.iommu.is_some())
                    .map(|d| format!(", {} domain", d.ty))
                    .unwrap_or_default()
            ));
            lines.extend(acs);
            let fill = match e.class {
                DeviceClass::Gpu => "#d5f0d5",
                DeviceClass::Nic => "#f8e3c6",
                _ => "#ffffff",
            };
            (Shape::Endpoint, fill)
        }
    };
    lines.extend(group);
    Label { lines, shape, fill }
}
