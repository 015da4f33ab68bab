//! The stages of one pairing's route, read from the engine's trace (never routed
//! again): each PCIe link between a port and the device below it, each switch, each
//! root complex, each fabric crossing between host bridges, and the translation the
//! IOMMU did with the engine's TLB hit rate.

use peerpath_engine::{Event, Hop, Place, Why};
use peerpath_model::{FabricHop, Link, NodeId, NodeKind};
use peerpath_rules::PairResult;
use peerpath_topology::Topology;

/// Where a link's figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkFrom {
    /// Both ends give theirs: the lower of both (how a link trains).
    BothEnds,
    /// Only this end gives its link; the other end is taken to match it.
    OneEnd(NodeId),
    /// Neither end: the link is not counted.
    Neither,
}

/// One stage of a route.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A PCIe link between `parent` (a root or downstream port) and `child`.
    Link {
        /// The device below.
        child: NodeId,
        /// The port above.
        parent: NodeId,
        /// The trained link, if either end states it.
        link: Option<Link>,
        /// Where `link` came from.
        from: LinkFrom,
        /// Payload bytes of the TLPs crossing it.
        payload: u32,
        /// Header bytes of those TLPs (4DW above 4 GiB, else 3DW).
        header: u32,
        /// The request crosses it upstream (child to parent), else downstream. Links
        /// are full duplex: the two directions are separate resources.
        upstream: bool,
    },
    /// A switch crossed, by its upstream port.
    Switch {
        /// The switch's upstream port.
        node: NodeId,
    },
    /// A root complex forwarding the request.
    RootComplex {
        /// The host bridge.
        hb: NodeId,
        /// Its stated P2P forwarding limit in MB/s.
        limit_mbs: Option<u64>,
    },
    /// The fabric between two host bridges.
    Fabric {
        /// Leaving this host bridge.
        from: NodeId,
        /// For this one.
        to: NodeId,
        /// Its bandwidth and latency.
        hop: FabricHop,
        /// How the crossing was classed.
        class: FabricClass,
    },
    /// An IOMMU translated the request.
    Translation {
        /// TLB hits and misses over the pairing's traffic (from the engine).
        hits: u64,
        /// Misses.
        misses: u64,
    },
}

/// How a fabric crossing was classed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FabricClass {
    /// `interconnect.fabric.pairs` names the two host bridges.
    Pair,
    /// Both host bridges give the same `socket`.
    SameSocket,
    /// They give different sockets.
    CrossSocket,
    /// At least one gives no socket: taken as one socket (an assumption).
    SocketUnknown,
}

/// The PCI nodes a route passes, in order, with the payload and address of the TLP
/// leaving each.
fn pci_places(hops: &[Hop]) -> Vec<(NodeId, u32, u64)> {
    let mut out: Vec<(NodeId, u32, u64)> = Vec::new();
    for h in hops {
        if let Place::Pci(n) = h.at {
            if out.last().map(|l| l.0) != Some(n) {
                out.push((n, h.tlp.payload, h.tlp.addr));
            }
        }
    }
    out
}

/// Whether the route delivered (its last hop is a `Deliver`).
pub(crate) fn delivered(hops: &[Hop]) -> bool {
    hops.last().is_some_and(|h| h.event == Event::Deliver)
}

/// The stages of the pairing's representative route (the first write TLP's hops);
/// TLB hits and misses are counted over every recorded trace of the pairing.
pub(crate) fn stages(topo: &Topology<'_>, pair: &PairResult) -> Vec<Stage> {
    let p = topo.platform();
    let places = pci_places(pair.route());
    let mut out = Vec::new();
    let kind = |n: NodeId| &p.node(n).kind;
    for (i, &(n, payload, addr)) in places.iter().enumerate() {
        match kind(n) {
            NodeKind::HostBridge(hb) => out.push(Stage::RootComplex {
                hb: n,
                limit_mbs: hb.p2p_bandwidth_mbs,
            }),
            NodeKind::SwitchUpstream(_) => out.push(Stage::Switch { node: n }),
            NodeKind::SwitchDownstream(_) => {
                // A peer route inside one switch goes downstream port to downstream
                // port without its upstream port.
                if let Some(&(m, ..)) = places.get(i + 1) {
                    if matches!(kind(m), NodeKind::SwitchDownstream(_))
                        && topo.parent(m) == topo.parent(n)
                    {
                        if let Some(up) = topo.parent(n) {
                            out.push(Stage::Switch { node: up });
                        }
                    }
                }
            }
            _ => {}
        }
        let Some(&(m, ..)) = places.get(i + 1) else {
            continue;
        };
        let (child, parent, upstream) = if topo.parent(m) == Some(n) {
            (m, n, false)
        } else if topo.parent(n) == Some(m) {
            (n, m, true)
        } else {
            if let (NodeKind::HostBridge(a), NodeKind::HostBridge(b)) = (kind(n), kind(m)) {
                let f = &p.interconnect.fabric;
                let pair = f
                    .pairs
                    .iter()
                    .find(|x| x.between == [n, m] || x.between == [m, n]);
                let (hop, class) = match (pair, a.socket, b.socket) {
                    (Some(x), ..) => (x.hop, FabricClass::Pair),
                    (None, Some(s), Some(t)) if s == t => (f.same_socket, FabricClass::SameSocket),
                    (None, Some(_), Some(_)) => {
                        // Not stated: the CPU generation's figure (issue 23, `cpus`).
                        let mut hop = f.cross_socket;
                        if !hop.bandwidth_stated {
                            if let Some(c) = crate::cpus::cross_socket_default(&p.kernel.cpu) {
                                hop.bandwidth_mbs = c.bandwidth_mbs;
                            }
                        }
                        (hop, FabricClass::CrossSocket)
                    }
                    _ => (f.same_socket, FabricClass::SocketUnknown),
                };
                out.push(Stage::Fabric {
                    from: n,
                    to: m,
                    hop,
                    class,
                });
            }
            continue;
        };
        if !matches!(
            kind(parent),
            NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_)
        ) {
            continue;
        }
        let (link, from) = match (p.node(child).link, p.node(parent).link) {
            (Some(a), Some(b)) => (Some(a.trained(b)), LinkFrom::BothEnds),
            (Some(a), None) => (Some(a), LinkFrom::OneEnd(child)),
            (None, Some(b)) => (Some(b), LinkFrom::OneEnd(parent)),
            (None, None) => (None, LinkFrom::Neither),
        };
        let header = if addr > u64::from(u32::MAX) {
            crate::protocol::HEADER_4DW
        } else {
            crate::protocol::HEADER_3DW
        };
        out.push(Stage::Link {
            child,
            parent,
            link,
            from,
            payload,
            header,
            upstream,
        });
    }
    let translated = pair.route().iter().any(|h| h.event == Event::Translate);
    if translated {
        let (mut hits, mut misses) = (0, 0);
        for f in &pair.detail.flows {
            for t in &f.traces {
                for h in &t.hops {
                    match h.why {
                        Why::TlbHit { .. } => hits += 1,
                        Why::TlbMiss { .. } => misses += 1,
                        _ => {}
                    }
                }
            }
        }
        out.push(Stage::Translation { hits, misses });
    }
    out
}
