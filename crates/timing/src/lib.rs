//! The timing twin (issue 11): for each pairing, the P2P bandwidth of posted writes
//! and of reads one way, both ways at once, and the latency of a write, with the
//! bottleneck named and every assumption stated. `docs/timing.md` gives the model and
//! the source of every parameter.
//!
//! The route is the engine's, read from the rules' evaluation of the pairing
//! ([`route`]): nothing is routed again. Per direction, each stage offers a bandwidth
//! — a link what its speed, width and line encoding carry times the protocol
//! efficiency ([`protocol`]); the fabric and a root complex's stated P2P limit what
//! the file gives — and the lowest is the bottleneck. Links are full duplex, so the
//! two directions of a bidirectional transfer each have their lanes, and pay for the
//! Ack and UpdateFC DLLPs the other direction's TLPs cause; the fabric has a limit per
//! direction (its links are full duplex); a root complex's stated P2P limit is shared,
//! so each direction gets half of it. Latency is the
//! sum of each stage's latency along the route, with the initiator's own work.
//!
//! Architecture invariant: the model reads verdicts and traces, never decides
//! routing, ACS or MPS itself (it takes the effective MPS the TLPs carry).

pub mod calibrate;
pub mod compare;
pub mod concurrent;
pub mod cpus;
pub mod devices;
pub mod matrix;
pub mod measured;
pub mod protocol;
pub mod route;
pub mod validate;

use peerpath_model::{ExportId, NodeId, NodeKind, Outcome};
use peerpath_rules::PairResult;
use peerpath_topology::Topology;

use protocol::{dllp_share, payload_efficiency, raw_gbps, HEADER_CPL, SKP_SHARE};
pub use route::{FabricClass, LinkFrom, Stage};

/// Maximum Read Request Size assumed for reads: the PCIe default [PCIe r6.0 §7.5.3.4,
/// Max_Read_Request_Size default 010b = 512 bytes]; the platform format has no MRRS.
pub const MRRS: u32 = 512;

/// What bounds one direction, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Bottleneck {
    /// The place: a link as `parent–child`, a host bridge, or `a–b` for the fabric.
    pub place: String,
    /// Why it bounds, in a phrase (`MPS 128 on rp2: 84% payload efficiency`).
    pub why: String,
}

/// One direction of a pairing.
#[derive(Clone, Debug, PartialEq)]
pub struct Direction {
    /// GB/s (10^9 bytes per second) when it runs alone.
    pub gbps: f64,
    /// GB/s this direction's own lanes carry while the other direction runs too
    /// (before the shared stages are split).
    pub lanes_bidir_gbps: f64,
    /// The stage of its own that bounds it while the other direction runs too.
    pub lanes_bidir_place: String,
    /// The stage that bounds it alone.
    pub bottleneck: Bottleneck,
    /// Stages with a stated limit (fabric, one direction; root complex limits, both
    /// directions together): key and GB/s.
    pub shared: Vec<(String, f64)>,
}

/// The timing of one pairing (importer DMA into the export).
#[derive(Clone, Debug, PartialEq)]
pub struct PairTiming {
    /// The importer: it issues the writes and reads.
    pub importer: NodeId,
    /// The export.
    pub export: ExportId,
    /// Its device.
    pub exporter: NodeId,
    /// The route's stages.
    pub stages: Vec<Stage>,
    /// Posted writes; `None` when the route does not deliver or states no link.
    pub write: Option<Direction>,
    /// Reads (completions of at most `MRRS` and the route's payload) travelling back.
    pub read: Option<Direction>,
    /// Latency of a write, ns, and its parts (place, what, ns).
    pub latency_ns: f64,
    /// The parts of `latency_ns`, in route order.
    pub latency_parts: Vec<(String, &'static str, f64)>,
    /// Every assumption the numbers rest on.
    pub assumptions: Vec<String>,
}

/// One candidate bound of a direction.
struct Bound {
    gbps: f64,
    bidir: f64,
    place: String,
    why: String,
}

/// The name of a link.
fn link_name(topo: &Topology<'_>, parent: NodeId, child: NodeId) -> String {
    format!("{}–{}", topo.name(parent), topo.name(child))
}

/// Bounds of one direction; `completion` for reads (completion TLPs of `chunk`).
fn direction(topo: &Topology<'_>, stages: &[Stage], completion: Option<u32>) -> Option<Direction> {
    let mut bounds: Vec<Bound> = Vec::new();
    let mut shared = Vec::new();
    for s in stages {
        match *s {
            Stage::Link {
                child,
                parent,
                link: Some(link),
                payload,
                header,
                ..
            } => {
                let (payload, header) = match completion {
                    Some(chunk) => (chunk.min(payload.max(1)), HEADER_CPL),
                    None => (payload, header),
                };
                let eff = payload_efficiency(link.speed, payload, header);
                let raw = raw_gbps(link);
                let dllp = dllp_share(link, payload);
                bounds.push(Bound {
                    gbps: raw * (1.0 - SKP_SHARE) * eff,
                    bidir: raw * (1.0 - SKP_SHARE - dllp) * eff,
                    place: link_name(topo, parent, child),
                    why: format!(
                        "{link}, {what} {payload} B on {}: {:.0}% payload efficiency",
                        topo.name(parent),
                        eff * 100.0,
                        what = if completion.is_some() {
                            "completions of"
                        } else {
                            "MPS"
                        }
                    ),
                });
            }
            Stage::RootComplex {
                hb,
                limit_mbs: Some(l),
            } => {
                let g = l as f64 / 1000.0;
                shared.push((topo.name(hb).to_owned(), g));
                bounds.push(Bound {
                    gbps: g,
                    bidir: g,
                    place: topo.name(hb).to_owned(),
                    why: format!("root complex P2P forwarding limit {g} GB/s (p2p_bandwidth)"),
                });
            }
            Stage::Fabric { from, to, hop, .. } => {
                // One direction of the fabric: its links are full duplex (xGMI and UPI
                // are serial links with lanes each way, as PCIe), so the two directions
                // of a bidirectional transfer do not share it (issue 23).
                let g = hop.bandwidth_mbs as f64 / 1000.0;
                let key = format!("{}→{}", topo.name(from), topo.name(to));
                shared.push((key.clone(), g));
                bounds.push(Bound {
                    gbps: g,
                    bidir: g,
                    place: key,
                    why: format!("fabric between host bridges: {g} GB/s each way"),
                });
            }
            _ => {}
        }
    }
    let links_stated = stages
        .iter()
        .any(|s| matches!(s, Stage::Link { link: Some(_), .. }));
    if !links_stated {
        return None;
    }
    // Root-complex forwarding between host bridges: a share of what the route's own
    // links carry, in each direction (issue 23, `cpus`). Computed over the link
    // bounds, so it is this direction's own bound, not a shared one.
    // Fitted on posted writes only: reads are not bounded by it.
    for s in stages.iter().filter(|_| completion.is_none()) {
        if let Stage::Fabric { from, to, hop, .. } = *s {
            let Some((e, _)) = forwarding_share(topo, hop) else {
                continue;
            };
            let links = bounds
                .iter()
                .filter(|b| !shared.iter().any(|(k, _)| *k == b.place));
            let (alone, both) = links.fold((f64::INFINITY, f64::INFINITY), |(a, b), x| {
                (a.min(x.gbps), b.min(x.bidir))
            });
            if alone.is_finite() {
                bounds.push(Bound {
                    gbps: alone * e,
                    bidir: both * e,
                    place: format!("{}⇄{} forwarding", topo.name(from), topo.name(to)),
                    why: format!(
                        "root-complex forwarding between host bridges at {:.1}% of the links' rate",
                        e * 100.0
                    ),
                });
            }
        }
    }
    let best = bounds.iter().min_by(|a, b| a.gbps.total_cmp(&b.gbps))?;
    let own = bounds
        .iter()
        .filter(|b| !shared.iter().any(|(k, _)| *k == b.place))
        .min_by(|a, b| a.bidir.total_cmp(&b.bidir));
    Some(Direction {
        gbps: best.gbps,
        lanes_bidir_gbps: own.map_or(f64::INFINITY, |b| b.bidir),
        lanes_bidir_place: own.map_or_else(String::new, |b| b.place.clone()),
        bottleneck: Bottleneck {
            place: best.place.clone(),
            why: best.why.clone(),
        },
        shared,
    })
}

/// The share of the links' rate a transfer reaches crossing `hop` between host
/// bridges, and where it comes from: the file's `efficiency`, else the CPU
/// generation's corpus fit ([`cpus`]); `None` when neither gives one.
fn forwarding_share(topo: &Topology<'_>, hop: peerpath_model::FabricHop) -> Option<(f64, String)> {
    if let Some(e) = hop.efficiency_permille {
        return Some((f64::from(e) / 1000.0, "efficiency".to_owned()));
    }
    let cpu = &topo.platform().kernel.cpu;
    let f = cpus::forwarding(cpu)?;
    Some((
        f64::from(f.efficiency_permille) / 1000.0,
        format!("{}: {}", cpus::generation_name(cpu), f.source),
    ))
}

/// The initiator's own work when neither the file (`interconnect.latency.endpoint`)
/// nor the importer's generation gives it (docs/timing.md).
pub const DEFAULT_ENDPOINT_NS: u32 = 1_000;

/// The initiator's latency (ns) and the factor on the route's latency terms: the file's
/// `endpoint` where it states one; else the importer's generation's, by its `id`
/// ([`devices`], stated); else the default.
fn initiator(topo: &Topology<'_>, importer: NodeId) -> (f64, f64, Option<String>) {
    let lat = topo.platform().interconnect.latency;
    if let Some(ns) = lat.endpoint_ns {
        return (f64::from(ns), 1.0, None);
    }
    let node = topo.platform().node(importer);
    let id = match &node.kind {
        NodeKind::Endpoint(_) => node.pci_id,
        _ => None,
    };
    if let Some((d, p)) = id.and_then(devices::latency_params) {
        let note = format!(
            "{} ({} {}, {}): initiator {} ns, route latency terms × {:.2} ({})",
            topo.name(importer),
            d.id,
            d.name,
            p.generation.as_str(),
            p.initiator_ns,
            p.path_scale,
            p.source
        );
        return (f64::from(p.initiator_ns), p.path_scale, Some(note));
    }
    (f64::from(DEFAULT_ENDPOINT_NS), 1.0, None)
}

/// The latency parts of a route.
fn latency(
    topo: &Topology<'_>,
    importer: NodeId,
    stages: &[Stage],
) -> Vec<(String, &'static str, f64)> {
    let lat = topo.platform().interconnect.latency;
    let (first, scale, _) = initiator(topo, importer);
    let mut parts = vec![(topo.name(importer).to_owned(), "initiator", first)];
    for s in stages {
        match *s {
            Stage::Link { child, parent, .. } => parts.push((
                link_name(topo, parent, child),
                "link",
                f64::from(lat.link_ns),
            )),
            Stage::Switch { node } => parts.push((
                topo.name(node).to_owned(),
                "switch",
                f64::from(lat.switch_ns),
            )),
            Stage::RootComplex { hb, .. } => parts.push((
                topo.name(hb).to_owned(),
                "root complex",
                f64::from(lat.root_complex_ns),
            )),
            Stage::Fabric { from, to, hop, .. } => parts.push((
                format!("{}–{}", topo.name(from), topo.name(to)),
                "fabric",
                f64::from(hop.latency_ns),
            )),
            Stage::Translation { hits, misses } => {
                let rate = hit_rate(hits, misses);
                parts.push((
                    "iommu".to_owned(),
                    "translation",
                    rate * f64::from(lat.iommu_hit_ns)
                        + (1.0 - rate) * f64::from(lat.iommu_miss_ns),
                ))
            }
        }
    }
    for p in parts.iter_mut().skip(1) {
        p.2 *= scale;
    }
    parts
}

/// The TLB hit rate; 1 when the engine saw no TLB (a translation without one is
/// taken as a hit, stated).
fn hit_rate(hits: u64, misses: u64) -> f64 {
    if hits + misses == 0 {
        1.0
    } else {
        hits as f64 / (hits + misses) as f64
    }
}

/// The assumptions behind a route's numbers.
fn assumptions(topo: &Topology<'_>, stages: &[Stage]) -> Vec<String> {
    let mut out = Vec::new();
    for s in stages {
        match *s {
            Stage::Link {
                child,
                parent,
                from: LinkFrom::OneEnd(given),
                link: Some(link),
                ..
            } => {
                let other = if given == child { parent } else { child };
                out.push(format!(
                    "{} gives no link: taken as {}'s {link}",
                    topo.name(other),
                    topo.name(given)
                ));
            }
            Stage::Link {
                child,
                parent,
                from: LinkFrom::Neither,
                ..
            } => out.push(format!(
                "link {}: no `link` on either end, not counted",
                link_name(topo, parent, child)
            )),
            Stage::Fabric {
                from,
                to,
                class: FabricClass::SocketUnknown,
                ..
            } => {
                let (a, b) = if topo.name(from) <= topo.name(to) {
                    (from, to)
                } else {
                    (to, from)
                };
                out.push(format!(
                    "{} and {}: no `socket` given, taken as one socket (fabric same_socket)",
                    topo.name(a),
                    topo.name(b)
                ))
            }
            Stage::Fabric {
                hop,
                class: FabricClass::CrossSocket,
                ..
            } if !hop.bandwidth_stated => {
                let cpu = &topo.platform().kernel.cpu;
                if let Some(c) = cpus::cross_socket_default(cpu) {
                    out.push(format!(
                        "fabric cross_socket: no `bandwidth` given, {:.1} GB/s each way ({}: {})",
                        c.bandwidth_mbs as f64 / 1000.0,
                        cpus::generation_name(cpu),
                        c.source
                    ));
                }
            }
            Stage::Translation { hits: 0, misses: 0 } => {
                out.push("translation: the engine modelled no TLB, taken as a hit".to_owned())
            }
            _ => {}
        }
    }
    for s in stages {
        if let Stage::Fabric { hop, .. } = *s {
            if hop.efficiency_permille.is_some() {
                continue;
            }
            if let Some((e, source)) = forwarding_share(topo, hop) {
                out.push(format!(
                    "root-complex forwarding between host bridges: {:.1}% of the links' rate ({source})",
                    e * 100.0
                ));
            }
        }
    }
    out
}

/// The timing of one evaluated pairing (any `Routes` that records the
/// representative route). A pairing that fails, or whose route does not deliver,
/// has no bandwidth.
pub fn pair_timing(topo: &Topology<'_>, pair: &PairResult) -> PairTiming {
    let d = &pair.detail;
    let works = pair.outcome != Outcome::Fails && route::delivered(pair.route());
    let stages = if works {
        route::stages(topo, pair)
    } else {
        Vec::new()
    };
    let write = direction(topo, &stages, None);
    let chunk = MRRS.min(topo.mps(d.exporter));
    let read = direction(topo, &stages, Some(chunk));
    let latency_parts = if works {
        latency(topo, d.importer, &stages)
    } else {
        Vec::new()
    };
    let mut assumptions = assumptions(topo, &stages);
    if let (true, (_, _, Some(note))) = (works, initiator(topo, d.importer)) {
        assumptions.push(note);
    }
    if works && write.is_none() {
        assumptions
            .push("no link on the route states its speed and width: no bandwidth".to_owned());
    }
    PairTiming {
        importer: d.importer,
        export: d.export,
        exporter: d.exporter,
        latency_ns: latency_parts.iter().map(|p| p.2).sum(),
        latency_parts,
        stages,
        write,
        read,
        assumptions,
    }
}

/// GB/s of `a` and `b` writing to each other at once: each direction's own lanes (and
/// its own direction of the fabric), the stages both use (a root complex's limit)
/// split between them.
pub fn bidirectional(a: &Direction, b: &Direction) -> f64 {
    let (x, y) = bidirectional_parts(a, b);
    x + y
}

/// GB/s of each direction while `a` and `b` write to each other at once: (a's, b's).
pub fn bidirectional_parts(a: &Direction, b: &Direction) -> (f64, f64) {
    let (x, y) = bidirectional_bottlenecks(a, b);
    (x.0, y.0)
}

/// Each direction's GB/s while `a` and `b` write to each other at once, and the stage
/// that bounds it: its own lanes (or fabric direction), or a stage both directions
/// share (a root complex's limit, halved).
pub fn bidirectional_bottlenecks(a: &Direction, b: &Direction) -> ((f64, String), (f64, String)) {
    let one = |x: &Direction, y: &Direction| {
        let mut best = (x.lanes_bidir_gbps, x.lanes_bidir_place.clone());
        for (k, g) in &x.shared {
            let v = if y.shared.iter().any(|(l, _)| l == k) {
                g / 2.0
            } else {
                *g
            };
            if v < best.0 {
                best = (v, k.clone());
            }
        }
        best
    };
    (one(a, b), one(b, a))
}

/// Whether a node is an endpoint.
fn is_endpoint(topo: &Topology<'_>, n: NodeId) -> bool {
    matches!(topo.platform().node(n).kind, NodeKind::Endpoint(_))
}

#[cfg(test)]
mod tests;
