//! `peerpath draw`: the topology as a self-contained SVG, laid out here (no Graphviz):
//! host bridges, root ports, switches (a frame around the upstream port and its
//! downstream ports), PCIe-to-PCI bridges and endpoints as a tree, the IOMMUs above
//! and the TBUs beside their host bridge; each box says what `dot` says (shared
//! labels: effective MPS, ACS Control, IOMMU group, domain type).
//!
//! With a pairing, its representative route — the engine trace `explain` numbers
//! (`PairResult::route`) — is drawn hop by hop: numbered badges on the boxes, arrows
//! between them; the failing hop (the place of an error finding, or where the TLP was
//! dropped or faulted) in red with the finding's code, a hop with a warning in orange.
//! With `groups`, each IOMMU group gets a fill colour and a legend line.
//!
//! Decides nothing: every fact comes from the topology and the rules. Text is escaped;
//! coordinates are integers, so the same input gives the same bytes.

mod layout;

use std::fmt::Write;

use peerpath_engine::{Event, Hop, Place};
use peerpath_model::{NodeId, NodeKind, Severity};
use peerpath_rules::PairResult;
use peerpath_topology::{Link, Topology, Vertex};

use crate::label::Shape;
use layout::{Layout, Placed, Shown, CHAR_W, LINE_H, MARGIN, PAD};

/// What `draw` adds to the plain topology.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawOptions {
    /// Shade IOMMU groups, with a legend.
    pub groups: bool,
    /// With a route: only the route's hierarchy with a level of context (`draw
    /// --focus`, the default with a pairing), identical siblings folded.
    pub focus: bool,
}

/// Group fill colours, light enough for black text (then generated: `group_fill`).
const GROUP_FILLS: [&str; 12] = [
    "#fde2b8", "#c8e6c9", "#bbdefb", "#f8bbd0", "#e1bee7", "#fff59d", "#b2dfdb", "#ffccbc",
    "#d7ccc8", "#c5cae9", "#dcedc8", "#f0f4c3",
];

const ROUTE: &str = "#1f5fbf";
const FAIL: &str = "#d11a1a";
const WARN: &str = "#e07b00";
/// The completion of a read, routed back by ID.
const COMPLETION: &str = "#2e7d32";

/// The SVG document of the topology; `route`: one pairing's route drawn over it.
pub fn topology_svg(topo: &Topology<'_>, route: Option<&PairResult>, opts: DrawOptions) -> String {
    let shown = route.filter(|_| opts.focus).map(|r| focus(topo, r));
    let lay = layout::layout(topo, shown.as_ref());
    let stops = route.map(|r| stops(topo, &lay, r)).unwrap_or_default();
    let (route_lines, group_lines) = legend(topo, route, opts);
    let title_w = title_lines(topo, route, shown.as_ref())
        .iter()
        .map(|l| l.chars().count() as i32 * CHAR_W + 2 * MARGIN)
        .max()
        .unwrap_or(0);
    let route_w = route_lines
        .iter()
        .map(|(_, l)| l.chars().count() as i32 * CHAR_W + 2 * MARGIN + 24)
        .max()
        .unwrap_or(0);
    let width = lay.width.max(title_w).max(route_w);
    // Group lines flow in columns as wide as the widest line.
    let col_w = group_lines
        .iter()
        .map(|(_, l)| l.chars().count() as i32 * CHAR_W + 24 + 24)
        .max()
        .unwrap_or(1);
    let cols = ((width - 2 * MARGIN) / col_w).max(1);
    let group_rows = (group_lines.len() as i32 + cols - 1) / cols;
    let mut legend_items: Vec<(i32, i32, Option<String>, String)> = Vec::new();
    for (i, (fill, text)) in route_lines.into_iter().enumerate() {
        legend_items.push((MARGIN, lay.height + i as i32 * LINE_H, fill, text));
    }
    let group_top = lay.height + legend_items.len() as i32 * LINE_H;
    for (i, (fill, text)) in group_lines.into_iter().enumerate() {
        let (col, row) = (i as i32 / group_rows.max(1), i as i32 % group_rows.max(1));
        legend_items.push((MARGIN + col * col_w, group_top + row * LINE_H, fill, text));
    }
    let legend_h = legend_items
        .iter()
        .map(|(_, y, _, _)| *y)
        .max()
        .map_or(0, |y| y - lay.height + LINE_H + 8);
    let height = lay.height + legend_h;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<title>{}</title>",
        esc(&title_lines(topo, route, None)[0])
    );
    out.push_str(
        "<defs>\n\
         <marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f5fbf\"/></marker>\n\
         <marker id=\"arrow-cpl\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#2e7d32\"/></marker>\n\
         <marker id=\"arrow-fail\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d11a1a\"/></marker>\n\
         </defs>\n",
    );
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    for (i, line) in title_lines(topo, route, shown.as_ref()).iter().enumerate() {
        let (size, weight) = if i == 0 { (16, "bold") } else { (13, "normal") };
        let _ = writeln!(
            out,
            "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"{size}\" font-weight=\"{weight}\">{}</text>",
            MARGIN + 8 + i as i32 * 20,
            esc(line)
        );
    }
    switch_frames(topo, &lay, &mut out);
    edges(topo, &lay, &mut out);
    boxes(topo, &lay, opts, &stops, &mut out);
    route_arrows(&stops, &mut out);
    if let Some(r) = route {
        completion_arrows(&lay, r, &mut out);
    }
    badges(&stops, &mut out);
    for (x, y, swatch, line) in &legend_items {
        if let Some(fill) = swatch {
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"16\" height=\"11\" fill=\"{fill}\" stroke=\"#555\"/>",
                y - 10
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{y}\">{}</text>",
            x + if swatch.is_some() { 24 } else { 0 },
            esc(line)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The title: the platform, and the pairing with its outcome; focused, what is shown.
fn title_lines(
    topo: &Topology<'_>,
    route: Option<&PairResult>,
    shown: Option<&Shown>,
) -> Vec<String> {
    let p = topo.platform();
    let mut lines = vec![format!("peerpath draw: {}", p.name)];
    if let Some(r) = route {
        lines.push(format!(
            "{} imports {} (from {}): {}, map type {}",
            r.importer,
            r.export,
            r.exporter,
            r.outcome.as_str(),
            r.kernel.map_type.as_str()
        ));
    }
    if let Some(s) = shown {
        let boxes = s.visible.iter().filter(|v| **v).count();
        let folded = s.folds.iter().flatten().count();
        lines.push(format!(
            "focus: the route's hierarchy and the devices beside it, {boxes} of {} PCI nodes drawn{} (--all draws every node)",
            p.nodes.len(),
            if folded > 0 {
                format!(", identical siblings folded into {folded} boxes")
            } else {
                String::new()
            }
        ));
    }
    lines
}

/// Boxes beside one node of a focused picture's chains (folds included); the rest
/// fold into one more.
const BESIDE_MAX: usize = 4;

/// Boxes for the host bridges beside the chains' own.
const HOST_BRIDGES_MAX: usize = 2;

/// What a focused picture shows (`draw --focus`): the chains above the importer and
/// the exporter, and the devices directly below each node of them, and the other host
/// bridges (one box each, their hierarchies left out); siblings beside the chains that
/// are alike — the same kind of node, class of endpoint and count below, and the same
/// subtree shape ([`subtree_shape`]) — fold into one box, `×N class`, when there are
/// three or more; past [`BESIDE_MAX`] boxes beside one node ([`HOST_BRIDGES_MAX`] for
/// the other host bridges), the rest fold into one, `×N more, not alike`.
fn focus(topo: &Topology<'_>, r: &PairResult) -> Shown {
    let p = topo.platform();
    let n = p.nodes.len();
    let mut chain = vec![false; n];
    for end in [r.detail.importer, r.detail.exporter] {
        let mut at = Some(end);
        while let Some(x) = at {
            chain[x.index()] = true;
            at = p.node(x).parent;
        }
    }
    // Hops of the route at PCI nodes (a redirect through another port, say).
    for hop in r.route() {
        if let Place::Pci(x) = hop.at {
            let mut at = Some(x);
            while let Some(y) = at {
                chain[y.index()] = true;
                at = p.node(y).parent;
            }
        }
    }
    let mut visible = chain.clone();
    let mut folds: Vec<Option<(String, String)>> = vec![None; n];
    // The devices beside each node of the chains, and the other host bridges beside
    // the chains' own (each drawn as one box, its hierarchy left out).
    let mut beside_lists: Vec<(usize, Vec<NodeId>)> = p
        .node_ids()
        .filter(|x| chain[x.index()])
        .map(|id| {
            let beside = topo
                .bus_devices(id)
                .iter()
                .copied()
                .filter(|k| !chain[k.index()])
                .collect();
            (BESIDE_MAX, beside)
        })
        .collect();
    beside_lists.push((
        HOST_BRIDGES_MAX,
        p.node_ids()
            .filter(|x| p.node(*x).parent.is_none() && !chain[x.index()])
            .collect(),
    ));
    for (max, beside) in beside_lists {
        // Alike siblings, in bus order, grouped by their look and their whole subtree.
        let mut groups: Vec<((String, u64), Vec<NodeId>)> = Vec::new();
        for k in beside {
            let key = (sibling_kind(topo, k), subtree_shape(topo, k));
            match groups.iter_mut().find(|(g, _)| *g == key) {
                Some((_, v)) => v.push(k),
                None => groups.push((key, vec![k])),
            }
        }
        // Each group of three or more alike is one box; the others one box each —
        // and past `BESIDE_MAX` boxes, the rest (not alike) one box more.
        let mut units: Vec<(Option<String>, Vec<NodeId>)> = Vec::new();
        for ((kind, _), members) in groups {
            if members.len() >= 3 {
                units.push((Some(format!("×{} {kind}", members.len())), members));
            } else {
                units.extend(members.into_iter().map(|m| (None, vec![m])));
            }
        }
        // In bus order, so the boxes kept are the first siblings.
        units.sort_by_key(|(_, m)| m[0]);
        if units.len() > max {
            let rest: Vec<NodeId> = units.drain(max - 1..).flat_map(|(_, m)| m).collect();
            let mut rest_sorted = rest.clone();
            rest_sorted.sort_unstable();
            units.push((
                Some(format!("×{} more, not alike", rest.len())),
                rest_sorted,
            ));
        }
        for (head, members) in units {
            let first = members[0];
            visible[first.index()] = true;
            if let Some(head) = head {
                let last = members[members.len() - 1];
                folds[first.index()] = Some((
                    head,
                    format!("{} … {}", p.node(first).name, p.node(last).name),
                ));
            }
        }
    }
    Shown { visible, folds }
}

/// The shape of the subtree below `k`, hashed: each node's kind (an endpoint's class,
/// a port's ACS Control and effective MPS) and its children's shapes in bus order. Two
/// siblings fold only when their whole subtrees are alike, not just their counts.
fn subtree_shape(topo: &Topology<'_>, k: NodeId) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same shape hashes the same in every run.
    let mut h = std::hash::DefaultHasher::new();
    sibling_kind(topo, k).hash(&mut h);
    topo.mps(k).hash(&mut h);
    format!("{:?}", topo.port_acs(k)).hash(&mut h);
    for c in topo.bus_devices(k) {
        subtree_shape(topo, *c).hash(&mut h);
    }
    h.finish()
}

/// How a sibling looks for folding: its kind (an endpoint's class), and how many
/// devices are below it.
fn sibling_kind(topo: &Topology<'_>, k: NodeId) -> String {
    let node = topo.platform().node(k);
    let kind = match &node.kind {
        NodeKind::Endpoint(e) => e.class.as_str().to_owned(),
        NodeKind::SwitchDownstream(_) => "switch port".to_owned(),
        NodeKind::SwitchUpstream(_) => "switch".to_owned(),
        NodeKind::RootPort(_) => "root port".to_owned(),
        NodeKind::HostBridge(_) => "host bridge".to_owned(),
        NodeKind::PciBridge(_) => "PCI bridge".to_owned(),
    };
    let below = topo.bus_devices(k);
    match below {
        [] => kind,
        [one] if matches!(topo.platform().node(*one).kind, NodeKind::Endpoint(_)) => {
            format!("{kind} → {}", sibling_kind(topo, *one))
        }
        _ => format!("{kind} ({} below)", below.len()),
    }
}

/// A legend line: swatch colour, text.
type LegendLine = (Option<String>, String);

/// Legend lines under the drawing: the route's, one per line; the groups', in columns.
fn legend(
    topo: &Topology<'_>,
    route: Option<&PairResult>,
    opts: DrawOptions,
) -> (Vec<LegendLine>, Vec<LegendLine>) {
    let p = topo.platform();
    let mut lines = Vec::new();
    let mut groups = Vec::new();
    if let Some(r) = route {
        lines.push((
            Some(ROUTE.to_owned()),
            "route of the first write TLP, hops numbered as in `peerpath explain`".to_owned(),
        ));
        if !completion_hops(r).is_empty() {
            lines.push((
                Some(COMPLETION.to_owned()),
                "completion of the first read, routed back by ID (dashed; c1… as `explain`'s `completions by ID` line)".to_owned(),
            ));
        }
        let codes: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| {
                format!(
                    "{} {} at {}",
                    f.severity.as_str(),
                    f.code.as_str(),
                    f.subject
                )
            })
            .collect();
        if !codes.is_empty() {
            lines.push((
                Some(FAIL.to_owned()),
                format!("findings: {}", codes.join("; ")),
            ));
        }
    }
    if opts.groups {
        for g in &topo.groups().groups {
            let names: Vec<&str> = g.devices.iter().map(|d| p.node(*d).name.as_str()).collect();
            groups.push((
                Some(group_fill(g.id)),
                format!("IOMMU group {}: {}", g.id, names.join(", ")),
            ));
        }
    }
    (lines, groups)
}

/// A group's fill: the palette for the first twelve, then light colours spread by
/// the golden angle in hue over three lightness steps, so no two groups share one.
fn group_fill(id: u32) -> String {
    match GROUP_FILLS.get(id as usize) {
        Some(c) => (*c).to_owned(),
        None => {
            let k = id as usize - GROUP_FILLS.len();
            let hue = (k as f64 * 137.507_764) % 360.0;
            let light = [86, 78, 92][k % 3];
            let sat = [70, 55, 85][(k / 3) % 3];
            format!("hsl({hue:.1},{sat}%,{light}%)")
        }
    }
}

/// A dashed frame around each switch: its upstream port and its downstream ports.
fn switch_frames(topo: &Topology<'_>, lay: &Layout, out: &mut String) {
    let p = topo.platform();
    for id in p.node_ids() {
        if !matches!(p.node(id).kind, NodeKind::SwitchUpstream(_)) || !lay.boxes[id.index()].shown {
            continue;
        }
        let mut members: Vec<&Placed> = vec![&lay.boxes[id.index()]];
        members.extend(
            topo.bus_devices(id)
                .iter()
                .filter(|d| matches!(p.node(**d).kind, NodeKind::SwitchDownstream(_)))
                .map(|d| &lay.boxes[d.index()])
                .filter(|b| b.shown),
        );
        let x0 = members.iter().map(|b| b.x).min().unwrap_or(0) - 10;
        let y0 = members.iter().map(|b| b.y).min().unwrap_or(0) - 10;
        let x1 = members.iter().map(|b| b.x + b.w).max().unwrap_or(0) + 10;
        let y1 = members.iter().map(|b| b.y + b.h).max().unwrap_or(0) + 10;
        let _ = writeln!(
            out,
            "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#fafafa\" stroke=\"#999\" stroke-dasharray=\"5 3\"/>",
            x1 - x0,
            y1 - y0
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#666\">switch {}</text>",
            x0 + 6,
            y0 + 13,
            esc(&p.node(id).name)
        );
    }
}

/// The PCI tree as elbow lines, and the IOMMU links as dashed lines.
fn edges(topo: &Topology<'_>, lay: &Layout, out: &mut String) {
    let g = topo.graph();
    for e in g.edge_indices() {
        let Some((a, b)) = g.edge_endpoints(e) else {
            continue;
        };
        let (Some(pa), Some(pb)) = (lay.of(g[a]), lay.of(g[b])) else {
            continue;
        };
        match g[e] {
            Link::Down => {
                let (x0, y0) = (pa.cx(), pa.y + pa.h);
                let (x1, y1) = (pb.cx(), pb.y);
                let mid = y0 + (y1 - y0) / 2;
                let _ = writeln!(
                    out,
                    "<path d=\"M{x0},{y0} V{mid} H{x1} V{y1}\" fill=\"none\" stroke=\"#777\" stroke-width=\"1.5\"/>"
                );
            }
            link => {
                // Upward links: from the top of the lower box to the bottom of the upper.
                let (lo, hi) = if pa.y >= pb.y { (pa, pb) } else { (pb, pa) };
                let (x0, y0) = (lo.cx() + if lo.y == hi.y { 0 } else { lo.w / 4 }, lo.y);
                let (x1, y1) = (hi.cx(), hi.y + hi.h);
                let dash = match link {
                    Link::PartOf => "2 3",
                    _ => "6 4",
                };
                let _ = writeln!(
                    out,
                    "<path d=\"M{x0},{y0} L{x1},{y1}\" fill=\"none\" stroke=\"#6a7fb0\" stroke-width=\"1.3\" stroke-dasharray=\"{dash}\"/>"
                );
            }
        }
    }
}

/// Every box with its text.
fn boxes(topo: &Topology<'_>, lay: &Layout, opts: DrawOptions, stops: &[Stop], out: &mut String) {
    for b in lay.boxes.iter().filter(|b| b.shown) {
        let mut fill = b.label.fill.to_owned();
        if opts.groups {
            if let Vertex::Pci(n) = b.vertex {
                if let Some(g) = topo.groups().group_of(n) {
                    fill = group_fill(g);
                }
            }
        }
        let stop = stops.iter().find(|s| s.vertex == b.vertex);
        let (stroke, sw) = match stop.map(|s| s.mark) {
            Some(Mark::Fail) => (FAIL, 3),
            Some(Mark::Warn) => (WARN, 3),
            Some(Mark::Plain) => (ROUTE, 2),
            None => ("#444", 1),
        };
        let rx = match b.label.shape {
            Shape::Endpoint => 14,
            Shape::HostBridge => 2,
            Shape::Port => 4,
            Shape::Iommu => 8,
        };
        let _ = writeln!(
            out,
            "<g class=\"node\" id=\"{}\">",
            esc(&format!("node-{}", vertex_name(topo, b.vertex)))
        );
        if b.label.shape == Shape::HostBridge {
            // A second outline behind: a host bridge is a box of depth.
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#bdbdbd\" stroke=\"#444\"/>",
                b.x + 4,
                b.y - 4,
                b.w,
                b.h
            );
        }
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/>",
            b.x, b.y, b.w, b.h
        );
        for (i, line) in b.label.lines.iter().enumerate() {
            let weight = if i == 0 { " font-weight=\"bold\"" } else { "" };
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\"{weight}>{}</text>",
                b.x + PAD,
                b.y + PAD + 10 + i as i32 * LINE_H,
                esc(line)
            );
        }
        out.push_str("</g>\n");
    }
}

/// The name of a vertex, as in the platform.
fn vertex_name(topo: &Topology<'_>, v: Vertex) -> String {
    let p = topo.platform();
    match v {
        Vertex::Pci(n) => p.node(n).name.clone(),
        Vertex::Iommu(i) => p.iommu(i).name.clone(),
        Vertex::Tbu(t) => p.tbu(t).name.clone(),
    }
}

/// How a stop of the route is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Plain,
    Warn,
    Fail,
}

/// One box the route passes: the hop numbers there (as `explain` numbers them), its
/// mark and the codes shown beside it.
#[derive(Clone, Debug)]
struct Stop {
    vertex: Vertex,
    hops: Vec<usize>,
    /// Hops at places without a box (the interconnect, DRAM) just before this stop:
    /// numbered on the arrow into it.
    via: Vec<usize>,
    /// Hops without a box after the route's last stop.
    after: Vec<usize>,
    mark: Mark,
    codes: Vec<String>,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

/// The boxes a list of hops passes, consecutive hops at one box merged; places without
/// a box (the interconnect, DRAM) are passed over, keeping the numbering. Also the last
/// event at a box, and the hops without a box after the last one.
fn walk(lay: &Layout, hops: &[Hop]) -> (Vec<Stop>, Option<Event>, Vec<usize>) {
    let mut out: Vec<Stop> = Vec::new();
    let mut last_event = None;
    let mut passed: Vec<usize> = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let v = match hop.at {
            Place::Pci(n) => Vertex::Pci(n),
            Place::Tbu(t) => Vertex::Tbu(t),
            Place::Iommu(m) => Vertex::Iommu(m),
            Place::Interconnect | Place::Memory(_) => {
                passed.push(i + 1);
                continue;
            }
        };
        let Some(b) = lay.of(v) else {
            passed.push(i + 1);
            continue;
        };
        last_event = Some(hop.event);
        match out.last_mut() {
            Some(s) if s.vertex == v && passed.is_empty() => s.hops.push(i + 1),
            _ => out.push(Stop {
                vertex: v,
                hops: vec![i + 1],
                via: std::mem::take(&mut passed),
                after: Vec::new(),
                mark: Mark::Plain,
                codes: Vec::new(),
                x: b.x,
                y: b.y,
                w: b.w,
                h: b.h,
            }),
        }
    }
    (out, last_event, passed)
}

/// The hops of the completion of the pairing's first read that reached a BAR (routed
/// back by ID: H1 CR, H6), as `explain`'s `completions by ID` line lists them.
fn completion_hops(r: &PairResult) -> &[Hop] {
    r.detail
        .flows
        .iter()
        .filter(|f| f.flow.op == peerpath_model::Op::Read)
        .flat_map(|f| f.traces.iter())
        .find(|t| !t.completion_hops.is_empty())
        .map_or(&[], |t| t.completion_hops.as_slice())
}

/// The completion's route: dashed arrows between its boxes, bowed to the other side
/// than the request's, and a badge `c1`, `c2`… at each box's top-right corner (a box
/// passed twice reads `c2,c4`).
fn completion_arrows(lay: &Layout, r: &PairResult, out: &mut String) {
    let (stops, _, _) = walk(lay, completion_hops(r));
    for (i, w) in stops.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        if a.vertex == b.vertex {
            continue;
        }
        let [x0, y0, cx, cy, x1, y1] = bowed(a, b, if i % 2 == 0 { -30.0 } else { 30.0 });
        let _ = writeln!(
            out,
            "<path class=\"completion\" d=\"M{x0},{y0} Q{cx},{cy} {x1},{y1}\" fill=\"none\" stroke=\"{COMPLETION}\" stroke-width=\"2\" stroke-dasharray=\"6 4\" marker-end=\"url(#arrow-cpl)\"/>"
        );
    }
    for (s, same) in per_box(&stops) {
        let hops: Vec<String> = same
            .iter()
            .flat_map(|o| o.hops.iter().map(|h| format!("c{h}")))
            .collect();
        let text = hops.join(",");
        let w = (text.chars().count() as i32 * 8 + 12).max(22);
        badge(out, s.x + s.w - w + 10, s.y - 11, &text, COMPLETION);
    }
}

/// The route's stops, consecutive hops at one box merged; places without a box (the
/// interconnect, DRAM) are passed over, keeping the numbering.
fn stops(topo: &Topology<'_>, lay: &Layout, r: &PairResult) -> Vec<Stop> {
    let (mut out, last_event, passed) = walk(lay, r.route());
    // Findings at a stop: its codes, red for an error, orange for a warning.
    let mut failed = false;
    for s in &mut out {
        let name = vertex_name(topo, s.vertex);
        for f in r.findings.iter().filter(|f| f.subject == name) {
            match f.severity {
                Severity::Error if !failed => {
                    s.mark = Mark::Fail;
                    s.codes.push(f.code.as_str().to_owned());
                }
                Severity::Warning if s.mark == Mark::Plain => {
                    s.mark = Mark::Warn;
                    s.codes.push(f.code.as_str().to_owned());
                }
                Severity::Error | Severity::Warning if s.mark != Mark::Plain => {
                    s.codes.push(f.code.as_str().to_owned());
                }
                _ => {}
            }
        }
        failed |= s.mark == Mark::Fail;
    }
    // No error found a place on the route, but the TLP stopped: the last stop fails,
    // with the pairing's errors (or the event when it has none: a probe).
    if !failed && matches!(last_event, Some(Event::Drop | Event::Fault)) {
        if let Some(s) = out.last_mut() {
            s.mark = Mark::Fail;
            let errors: Vec<String> = r
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.code.as_str().to_owned())
                .collect();
            s.codes = if errors.is_empty() {
                vec![last_event.map_or("drop", Event::as_str).to_owned()]
            } else {
                errors
            };
        }
    }
    for s in &mut out {
        s.codes.dedup();
    }
    // Hops after the last box (a write into DRAM): numbered beside it.
    if let Some(s) = out.last_mut() {
        s.after = passed;
    }
    out
}

/// Arrows between consecutive stops, bowed to the side so they do not hide the tree's
/// lines; the arrow into the failing stop red.
fn route_arrows(stops: &[Stop], out: &mut String) {
    for (i, w) in stops.windows(2).enumerate() {
        let (a, b) = (&w[0], &w[1]);
        if a.vertex == b.vertex {
            // Out through the interconnect and back into the same box: no arrow to
            // draw; the hops between are numbered beside the box's right edge.
            side_badge(out, b, &b.via);
            continue;
        }
        // Alternately left and right.
        let [x0, y0, cx, cy, x1, y1] = bowed(a, b, if i % 2 == 0 { 22.0 } else { -22.0 });
        let (color, marker) = if b.mark == Mark::Fail {
            (FAIL, "arrow-fail")
        } else {
            (ROUTE, "arrow")
        };
        let _ = writeln!(
            out,
            "<path class=\"route\" d=\"M{x0},{y0} Q{cx},{cy} {x1},{y1}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\" marker-end=\"url(#{marker})\"/>"
        );
        // The hops between the two boxes (the interconnect): numbered on the arrow,
        // at the curve's middle.
        if !b.via.is_empty() {
            let (mx, my) = ((x0 + 2 * cx + x1) / 4, (y0 + 2 * cy + y1) / 4);
            badge(out, mx - 11, my - 10, &numbers(&b.via), ROUTE);
        }
    }
    if let Some(last) = stops.last() {
        side_badge(out, last, &last.after);
    }
}

/// The numbers of `hops` (if any) beside the right edge of `stop`'s box.
fn side_badge(out: &mut String, stop: &Stop, hops: &[usize]) {
    if !hops.is_empty() {
        badge(
            out,
            stop.x + stop.w + 4,
            stop.y + stop.h / 2 - 10,
            &numbers(hops),
            ROUTE,
        );
    }
}

fn numbers(hops: &[usize]) -> String {
    hops.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One numbered badge with its top-left corner at (x, y).
fn badge(out: &mut String, x: i32, y: i32, text: &str, color: &str) {
    let w = (text.chars().count() as i32 * 8 + 12).max(22);
    let _ = writeln!(
        out,
        "<g class=\"hop\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"20\" rx=\"10\" fill=\"{color}\"/>\
         <text x=\"{}\" y=\"{}\" fill=\"#ffffff\" font-weight=\"bold\" text-anchor=\"middle\">{}</text></g>",
        x + w / 2,
        y + 14,
        esc(text)
    );
}

/// A curve from box `a` to box `b`: where the line between their centres leaves each,
/// and a control point, the midpoint pushed `bow` pixels sideways (so arrows do not
/// hide the tree's lines): `[x0, y0, cx, cy, x1, y1]`.
fn bowed(a: &Stop, b: &Stop, bow: f64) -> [i32; 6] {
    let (x0, y0) = clip(a, b.x + b.w / 2, b.y + b.h / 2);
    let (x1, y1) = clip(b, a.x + a.w / 2, a.y + a.h / 2);
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len = ((dx * dx + dy * dy) as f64).sqrt().max(1.0);
    let cx = (x0 + x1) / 2 + (-(dy as f64) / len * bow).round() as i32;
    let cy = (y0 + y1) / 2 + ((dx as f64) / len * bow).round() as i32;
    [x0, y0, cx, cy, x1, y1]
}

/// The point where the line from the box's centre towards (tx, ty) leaves the box.
fn clip(s: &Stop, tx: i32, ty: i32) -> (i32, i32) {
    let (cx, cy) = (s.x + s.w / 2, s.y + s.h / 2);
    let (dx, dy) = ((tx - cx) as f64, (ty - cy) as f64);
    if dx == 0.0 && dy == 0.0 {
        return (cx, cy);
    }
    let hw = f64::from(s.w) / 2.0 + 3.0;
    let hh = f64::from(s.h) / 2.0 + 3.0;
    let t = (hw / dx.abs().max(1e-9)).min(hh / dy.abs().max(1e-9));
    (cx + (dx * t).round() as i32, cy + (dy * t).round() as i32)
}

/// Each box a route stops at once, in order of its first stop, with all its stops.
fn per_box(stops: &[Stop]) -> impl Iterator<Item = (&Stop, Vec<&Stop>)> {
    stops
        .iter()
        .enumerate()
        .filter(|&(i, s)| !stops[..i].iter().any(|o| o.vertex == s.vertex))
        .map(|(_, s)| (s, stops.iter().filter(|o| o.vertex == s.vertex).collect()))
}

/// Numbered badges at each box's top-left corner — one per box, with every hop at it
/// (a box the route passes twice reads `2,7`) — and the codes beside a marked stop.
fn badges(stops: &[Stop], out: &mut String) {
    for (s, same) in per_box(stops) {
        let hops: Vec<usize> = same.iter().flat_map(|o| o.hops.iter().copied()).collect();
        let mark = same
            .iter()
            .map(|o| o.mark)
            .find(|m| *m == Mark::Fail)
            .or_else(|| same.iter().map(|o| o.mark).find(|m| *m == Mark::Warn))
            .unwrap_or(Mark::Plain);
        let color = match mark {
            Mark::Fail => FAIL,
            Mark::Warn => WARN,
            Mark::Plain => ROUTE,
        };
        badge(out, s.x - 10, s.y - 11, &numbers(&hops), color);
    }
    for s in stops {
        let color = match s.mark {
            Mark::Fail => FAIL,
            Mark::Warn => WARN,
            Mark::Plain => ROUTE,
        };
        if !s.codes.is_empty() {
            let label = format!("✗ {}", s.codes.join(", "));
            let lw = label.chars().count() as i32 * CHAR_W + 10;
            let (lx, ly) = (s.x + s.w - lw.min(s.w) / 2, s.y + s.h + 4);
            let _ = writeln!(
                out,
                "<g class=\"code\"><rect x=\"{lx}\" y=\"{ly}\" width=\"{lw}\" height=\"18\" rx=\"3\" fill=\"#ffffff\" stroke=\"{color}\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{color}\" font-weight=\"bold\">{}</text></g>",
                lx + 5,
                ly + 13,
                esc(&label)
            );
        }
    }
}

/// Escapes text for SVG/XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
