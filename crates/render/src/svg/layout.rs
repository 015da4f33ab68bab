//! Where each box of the picture goes: a tidy tree of its own (no layout crate).
//!
//! Rows, top to bottom: the IOMMUs; the host bridges, each with the TBUs its root
//! ports pass beside it; then the PCI tree by depth. A subtree is as wide as the
//! wider of its own row's boxes and its children side by side; a parent is centred
//! over its children. All coordinates are integers, so the same platform gives the
//! same bytes.

use std::collections::HashMap;

use peerpath_model::NodeId;
use peerpath_topology::{Link, Topology, Vertex};

use crate::label::{vertex_label, Label};

/// Width of one character of the monospace font (12 px DejaVu Sans Mono is 7.2 px;
/// rounded up so that text never overflows its box).
pub(crate) const CHAR_W: i32 = 8;
/// Height of a text line.
pub(crate) const LINE_H: i32 = 15;
/// Padding inside a box.
pub(crate) const PAD: i32 = 8;
/// Space between sibling subtrees.
const GAP_X: i32 = 22;
/// Space between rows.
const GAP_Y: i32 = 58;
/// Margin around the drawing (room for the title above).
pub(crate) const MARGIN: i32 = 24;
/// Height of the title block.
pub(crate) const TITLE_H: i32 = 56;

/// Which PCI nodes a focused picture shows, and the boxes that stand for folded
/// siblings (`draw --focus`).
#[derive(Clone, Debug)]
pub(crate) struct Shown {
    /// Per node: drawn.
    pub(crate) visible: Vec<bool>,
    /// Per node: the first line of a box that stands for several identical siblings
    /// (`×56 gpu`) and the names it covers, first and last.
    pub(crate) folds: Vec<Option<(String, String)>>,
}

/// A placed box.
#[derive(Clone, Debug)]
pub(crate) struct Placed {
    /// Drawn (a focused picture leaves boxes out).
    pub(crate) shown: bool,
    pub(crate) vertex: Vertex,
    pub(crate) label: Label,
    pub(crate) x: i32,
    pub(crate) y: i32,
    pub(crate) w: i32,
    pub(crate) h: i32,
}

impl Placed {
    pub(crate) fn cx(&self) -> i32 {
        self.x + self.w / 2
    }
}

/// The placed boxes, one per graph vertex in graph order (PCI nodes by `NodeId`
/// first) and the size of the drawing.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) boxes: Vec<Placed>,
    /// The box index of each vertex that is not a PCI node (IOMMUs, TBUs): a lookup,
    /// not a search of every box (600,000 boxes at 100,000 endpoints).
    others: HashMap<Vertex, usize>,
    pub(crate) width: i32,
    pub(crate) height: i32,
}

impl Layout {
    /// The box of a graph vertex.
    pub(crate) fn of(&self, v: Vertex) -> Option<&Placed> {
        match v {
            Vertex::Pci(n) => self.boxes.get(n.index()),
            _ => self.others.get(&v).and_then(|&i| self.boxes.get(i)),
        }
        .filter(|b| b.shown)
    }
}

fn size(label: &Label) -> (i32, i32) {
    let chars = label
        .lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let w = i32::try_from(chars).unwrap_or(i32::MAX / 4) * CHAR_W + 2 * PAD;
    let h = i32::try_from(label.lines.len()).unwrap_or(1) * LINE_H + 2 * PAD - 4;
    (w.max(60), h)
}

/// Lays the topology out; with `shown`, only the nodes it shows (and the IOMMUs and
/// TBUs beside them).
pub(crate) fn layout(topo: &Topology<'_>, shown: Option<&Shown>) -> Layout {
    let p = topo.platform();
    let pci_shown = |n: NodeId| shown.is_none_or(|s| s.visible[n.index()]);
    let others: HashMap<Vertex, usize> = topo
        .graph()
        .node_indices()
        .filter(|&i| !matches!(topo.graph()[i], Vertex::Pci(_)))
        .map(|i| (topo.graph()[i], i.index()))
        .collect();
    let mut boxes = unplaced(topo, shown);
    let (tbus_of_hb, placed_tbu) = tbus_beside_host_bridges(topo, &mut boxes, shown);
    // IOMMUs: drawn with what they translate for.
    let g = topo.graph();
    for e in g.edge_indices() {
        if let Some((a, b)) = g.edge_endpoints(e) {
            if matches!(g[b], Vertex::Iommu(_)) && boxes[a.index()].shown {
                boxes[b.index()].shown = true;
            }
        }
    }
    let (row_y, height) = rows(topo, &boxes, shown);

    // Subtree widths, children before parents (parents come first in `nodes`).
    let mut sub_w = vec![0i32; p.nodes.len()];
    for id in p.node_ids().rev().filter(|n| pci_shown(*n)) {
        let kids: Vec<NodeId> = topo
            .bus_devices(id)
            .iter()
            .copied()
            .filter(|k| pci_shown(*k))
            .collect();
        let kids_w: i32 = kids.iter().map(|k| sub_w[k.index()]).sum::<i32>()
            + GAP_X * (kids.len() as i32 - 1).max(0);
        let own = own_width(&boxes, &tbus_of_hb, id);
        sub_w[id.index()] = own.max(kids_w);
    }

    // Place the forest left to right.
    let mut x = MARGIN;
    let roots: Vec<NodeId> = p
        .node_ids()
        .filter(|id| p.node(*id).parent.is_none() && pci_shown(*id))
        .collect();
    for r in &roots {
        place(topo, &mut boxes, &tbus_of_hb, &sub_w, &row_y, *r, x);
        x += sub_w[r.index()] + GAP_X * 2;
    }
    // TBUs no root port passes: after the forest, on the host bridges' row.
    for (t, b) in boxes.iter_mut().enumerate() {
        if b.shown && matches!(b.vertex, Vertex::Tbu(_)) && !placed_tbu.contains(&t) {
            b.x = x;
            b.y = row_y[1];
            x += b.w + GAP_X;
        }
    }
    place_iommus(topo, &mut boxes, &others, row_y[0], x);

    let width = boxes
        .iter()
        .filter(|b| b.shown)
        .map(|b| b.x + b.w)
        .max()
        .unwrap_or(0)
        .max(x)
        + MARGIN;
    Layout {
        boxes,
        others,
        width,
        height,
    }
}

/// One box per graph vertex, sized to its label (a fold's two lines where `shown`
/// folds the node), at the origin.
fn unplaced(topo: &Topology<'_>, shown: Option<&Shown>) -> Vec<Placed> {
    let g = topo.graph();
    g.node_indices()
        .map(|ix| {
            let mut label = vertex_label(topo, g[ix]);
            if let (Vertex::Pci(n), Some(s)) = (g[ix], shown) {
                if let Some((head, names)) = &s.folds[n.index()] {
                    label.lines = vec![head.clone(), names.clone()];
                }
            }
            let (w, h) = size(&label);
            Placed {
                shown: match g[ix] {
                    Vertex::Pci(n) => shown.is_none_or(|s| s.visible[n.index()]),
                    _ => shown.is_none(),
                },
                vertex: g[ix],
                label,
                x: 0,
                y: 0,
                w,
                h,
            }
        })
        .collect()
}

/// TBUs beside the host bridge of the first shown root port that passes them: per
/// node, the boxes of the TBUs beside it, and every TBU box so placed (each shown).
fn tbus_beside_host_bridges(
    topo: &Topology<'_>,
    boxes: &mut [Placed],
    shown: Option<&Shown>,
) -> (Vec<Vec<usize>>, Vec<usize>) {
    let g = topo.graph();
    let mut tbus_of_hb: Vec<Vec<usize>> = vec![Vec::new(); topo.platform().nodes.len()];
    let mut placed_tbu: Vec<usize> = Vec::new();
    for e in g.edge_indices() {
        if g[e] != Link::ThroughTbu {
            continue;
        }
        let Some((a, b)) = g.edge_endpoints(e) else {
            continue;
        };
        if let Vertex::Pci(rp) = g[a] {
            if !shown.is_none_or(|s| s.visible[rp.index()]) {
                continue;
            }
            boxes[b.index()].shown = true;
            if !placed_tbu.contains(&b.index()) {
                placed_tbu.push(b.index());
                tbus_of_hb[topo.host_bridge_of(rp).index()].push(b.index());
            }
        }
    }
    (tbus_of_hb, placed_tbu)
}

/// Each row's top, and the drawing's height: row 0 IOMMUs (none where the platform
/// has no IOMMU), row 1 host bridges and TBUs, row 1 + d PCI depth d.
fn rows(topo: &Topology<'_>, boxes: &[Placed], shown: Option<&Shown>) -> (Vec<i32>, i32) {
    let p = topo.platform();
    let max_depth = p
        .node_ids()
        .filter(|n| shown.is_none_or(|s| s.visible[n.index()]))
        .map(|n| topo.depth(n) as usize)
        .max()
        .unwrap_or(0);
    let mut row_h = vec![0i32; max_depth + 2];
    for b in boxes.iter().filter(|b| b.shown) {
        let row = match b.vertex {
            Vertex::Iommu(_) => 0,
            Vertex::Tbu(_) => 1,
            Vertex::Pci(n) => 1 + topo.depth(n) as usize,
        };
        row_h[row] = row_h[row].max(b.h);
    }
    let has_iommus = !p.iommus.is_empty();
    let mut row_y = vec![0i32; row_h.len()];
    // A focused picture's title has a third line (what is shown).
    let title_h = TITLE_H + if shown.is_some() { 20 } else { 0 };
    let mut y = MARGIN + title_h;
    for (r, h) in row_h.iter().enumerate() {
        if r == 0 && !has_iommus {
            continue;
        }
        row_y[r] = y;
        y += h + GAP_Y;
    }
    (row_y, y - GAP_Y + MARGIN)
}

/// IOMMUs on row `y`, each over what it translates for (host bridges, TBUs), kept
/// apart; one that translates for nothing shown at `x`.
fn place_iommus(
    topo: &Topology<'_>,
    boxes: &mut [Placed],
    others: &HashMap<Vertex, usize>,
    y: i32,
    x: i32,
) {
    let g = topo.graph();
    let vix = |v: Vertex| others.get(&v).copied();
    let mut iommus: Vec<(i32, usize)> = Vec::new();
    for (i, _) in topo.platform().iommus.iter().enumerate() {
        let Some(ix) = vix(Vertex::Iommu(peerpath_model::IommuId(i as u32))) else {
            continue;
        };
        if !boxes[ix].shown {
            continue;
        }
        let mut xs: Vec<i32> = Vec::new();
        for e in g.edge_indices() {
            if let Some((a, b)) = g.edge_endpoints(e) {
                if b.index() == ix && boxes[a.index()].shown {
                    xs.push(boxes[a.index()].cx());
                }
            }
        }
        let want = if xs.is_empty() {
            x
        } else {
            xs.iter().sum::<i32>() / xs.len() as i32
        };
        iommus.push((want - boxes[ix].w / 2, ix));
    }
    iommus.sort();
    let mut next = MARGIN;
    for (want, ix) in iommus {
        let left = want.max(next);
        boxes[ix].x = left;
        boxes[ix].y = y;
        next = left + boxes[ix].w + GAP_X;
    }
}

/// The width a node needs on its own row: its box, and for a host bridge the TBUs
/// beside it.
fn own_width(boxes: &[Placed], tbus_of_hb: &[Vec<usize>], id: NodeId) -> i32 {
    let tbus = &tbus_of_hb[id.index()];
    boxes[id.index()].w + tbus.iter().map(|t| GAP_X + boxes[*t].w).sum::<i32>()
}

/// Places the subtree of `id` in the span starting at `left`.
fn place(
    topo: &Topology<'_>,
    boxes: &mut [Placed],
    tbus_of_hb: &[Vec<usize>],
    sub_w: &[i32],
    row_y: &[i32],
    id: NodeId,
    left: i32,
) {
    let kids: Vec<NodeId> = topo
        .bus_devices(id)
        .iter()
        .copied()
        .filter(|k| boxes[k.index()].shown)
        .collect();
    let kids_w: i32 =
        kids.iter().map(|k| sub_w[k.index()]).sum::<i32>() + GAP_X * (kids.len() as i32 - 1).max(0);
    let span = sub_w[id.index()];
    let mut x = left + (span - kids_w) / 2;
    let mut centres = Vec::with_capacity(kids.len());
    for k in &kids {
        place(topo, boxes, tbus_of_hb, sub_w, row_y, *k, x);
        centres.push(boxes[k.index()].cx());
        x += sub_w[k.index()] + GAP_X;
    }
    let own = own_width(boxes, tbus_of_hb, id);
    let centre = match (centres.first(), centres.last()) {
        (Some(a), Some(b)) => (a + b) / 2,
        _ => left + span / 2,
    };
    // The node's group (its box, then its TBUs) centred on its children, kept inside
    // its span.
    let start = (centre - own / 2).clamp(left, left + span - own);
    let row = 1 + topo.depth(id) as usize;
    let b = &mut boxes[id.index()];
    b.x = start;
    b.y = row_y[row];
    let mut tx = start + b.w + GAP_X;
    for t in &tbus_of_hb[id.index()] {
        boxes[*t].x = tx;
        boxes[*t].y = row_y[1];
        tx += boxes[*t].w + GAP_X;
    }
}
