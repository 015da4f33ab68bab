//! The hardware compiled once from a topology: everything static a route reads, frozen
//! into flat, sorted tables so that a hop is an index or a binary search.
//!
//! - per node: kind, parent, memory windows and BARs in **bus** space, ACS state, MPS
//!   (and the payload limit H5 applies), bus range, requester ID and StreamID, TDISP
//!   state, TBU, `splits_oversized_writes`, and for a root port (or RCiEP) the
//!   translation agent its requests meet in the root complex (H3);
//! - per node, the **address decode of its secondary side**: every child's BARs (an
//!   endpoint) or windows (a bridge), sorted by start in one flat array, so finding the
//!   child that claims an address is a binary search (`child_at`), or a scan of a short
//!   list. A node whose children's ranges overlap — possible only with derived windows
//!   of an odd platform — keeps the first-child-in-order rule by a scan in child order;
//! - the interconnect's physical address map (DRAM and host bridge windows), sorted;
//! - the geometry of every TLB (the TLBs themselves belong to each [`crate::Engine`]).
//!
//! `Hardware` is immutable after `new` and `Sync`: one copy serves every engine of
//! every thread.

use peerpath_model::{
    AddrRange, BridgeWindows, ForwardsP2p, IommuId, NodeId, NodeKind, PhysRange, Platform,
    StreamId, TbuId, TdispState, Translation,
};
use peerpath_topology::acs::{self, Reader};
use peerpath_topology::{PortAcs, Topology};

use crate::stream::{stream_id, wire_rid};
use crate::tlb::PAGE_SHIFT;
use crate::types::{Place, TlbId};

/// Entries of the IOTLB of a root complex's own translation agent (integrated,
/// dti-ats), which the platform format does not describe.
pub const ROOT_COMPLEX_IOTLB_ENTRIES: u32 = 256;
/// Ways of that IOTLB.
pub const ROOT_COMPLEX_IOTLB_WAYS: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    HostBridge,
    RootPort,
    SwitchUpstream,
    SwitchDownstream,
    PciBridge,
    Endpoint,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct BarBus {
    pub(crate) index: u8,
    /// Bus-space range.
    pub(crate) bus: AddrRange,
}

#[derive(Clone, Debug)]
pub(crate) struct NodeInfo {
    pub(crate) parent: Option<NodeId>,
    pub(crate) kind: Kind,
    /// The node's memory windows (`Topology::windows`), in bus space (compiled: raw
    /// addresses, as every table the router searches).
    pub(crate) window: BridgeWindows<u64>,
    pub(crate) bars: Vec<BarBus>,
    pub(crate) acs: PortAcs,
    pub(crate) mps: u32,
    /// The largest payload the node receives (H5): `mps`, or `u32::MAX` where no MPS
    /// applies (a host bridge, a conventional PCI device).
    pub(crate) mps_limit: u32,
    pub(crate) segment: u16,
    /// Buses below (secondary..=subordinate) of a bridge/port.
    pub(crate) bus_range: Option<(u8, u8)>,
    /// Requester ID on the wire.
    pub(crate) rid: Option<u16>,
    pub(crate) sid: Option<StreamId>,
    pub(crate) tdisp: Option<TdispState>,
    pub(crate) tbu: Option<TbuId>,
    pub(crate) splits: bool,
    /// A conventional PCI device (below a PCIe-to-PCI bridge): no MPS of its own.
    pub(crate) conventional: bool,
    /// An endpoint's sibling functions (same slot), which it may reach internally.
    pub(crate) slot_peers: Vec<NodeId>,
    /// `acs::validates_source` of `ingress_acs`: the port's ACS reads the requester's
    /// bus.
    pub(crate) validates_source: bool,
    /// The translation agent for a request this node sends into its host bridge (a
    /// root port's or an RCiEP's; `None` elsewhere, and where the root complex has
    /// none).
    pub(crate) agent: Option<Agent>,
    /// This node's slice of `Hardware::decode_below`.
    below: (u32, u32),
    /// Decode `below` by a scan (its ranges overlap, or there are few of them); else
    /// by binary search. See `first_holding`.
    below_scan: bool,
}

impl NodeInfo {
    /// The ACS state the node acts on for a request entering it from below (H1): a
    /// root port's or switch downstream port's; PCI bridges and others have no ACS.
    #[inline]
    pub(crate) fn ingress_acs(&self) -> PortAcs {
        match self.kind {
            Kind::RootPort | Kind::SwitchDownstream => self.acs,
            _ => PortAcs::default(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct HbWindow {
    pub(crate) cpu: AddrRange,
    pub(crate) bus: AddrRange,
    pub(crate) offset: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct HbInfo {
    pub(crate) windows: Vec<HbWindow>,
    pub(crate) translation: Translation,
    pub(crate) iommu: Option<IommuId>,
    pub(crate) forwards: ForwardsP2p,
    /// What it forwards of peer reads and their completions (H6).
    pub(crate) forwards_reads: ForwardsP2p,
    /// Index into the TLB table of the root complex's own IOTLB.
    pub(crate) iotlb: Option<usize>,
}

/// The agent that translates for a request entering a root complex (H3), with what
/// the route reads of its IOMMU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Agent {
    pub(crate) place: Place,
    /// Index into `Hardware::tlbs` of its TLB.
    pub(crate) tlb: Option<usize>,
    /// The IOMMU's `disable_bypass` (an unattached stream aborts).
    pub(crate) disable_bypass: bool,
    /// The IOMMU has ATS (EATS can be set, H2).
    pub(crate) ats: bool,
}

/// What the interconnect decodes a CPU physical address to (H7).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Decode {
    Dram(usize),
    Hb { hb: NodeId, offset: u64 },
}

/// One child range in a node's secondary-side decode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChildRange {
    pub(crate) range: AddrRange,
    pub(crate) child: NodeId,
}

/// The static hardware of one platform. See the module documentation.
#[derive(Debug)]
pub struct Hardware<'t> {
    pub(crate) topo: &'t Topology<'t>,
    pub(crate) reader: Reader,
    pub(crate) nodes: Vec<NodeInfo>,
    /// Indexed by node; `Some` for host bridges.
    pub(crate) hbs: Vec<Option<HbInfo>>,
    /// Interconnect decode, sorted by start.
    decode: Vec<(AddrRange, Decode)>,
    /// Decode `decode` by a scan. See `first_holding`.
    decode_scan: bool,
    /// Every node's children's ranges, each node's slice sorted by start.
    decode_below: Vec<ChildRange>,
    /// Every TLB's id and geometry (entries, ways), sorted by id.
    pub(crate) tlbs: Vec<(TlbId, u32, u32)>,
    /// Every decode boundary (window, BAR, DRAM region) is 4 KiB aligned, so a route
    /// depends on a TLP's address only through its page: the flow cache may reuse it.
    pub(crate) page_exact: bool,
}

impl<'t> Hardware<'t> {
    /// Compiles `topo`'s hardware, ports acting on ACS as `reader` reads it.
    pub fn new(topo: &'t Topology<'t>, reader: Reader) -> Self {
        let p = topo.platform();
        let mut tlbs: Vec<(TlbId, u32, u32)> = Vec::new();
        for (i, iommu) in p.iommus.iter().enumerate() {
            for (t, tbu) in iommu.tbus.iter().enumerate() {
                let id = TlbId::Tbu(TbuId {
                    iommu: IommuId(i as u32),
                    index: t as u32,
                });
                tlbs.push((id, tbu.tlb_entries, tbu.tlb_ways));
            }
        }
        for id in p.node_ids() {
            if let NodeKind::HostBridge(hb) = &p.node(id).kind {
                if hb.iommu.is_some() && hb.translation != Translation::None {
                    tlbs.push((
                        TlbId::HostBridge(id),
                        ROOT_COMPLEX_IOTLB_ENTRIES,
                        ROOT_COMPLEX_IOTLB_WAYS,
                    ));
                }
            }
        }
        tlbs.sort_by_key(|(id, _, _)| *id);
        let index_of = |want: TlbId| tlbs.binary_search_by_key(&want, |(id, _, _)| *id).ok();
        let tbu_tlb: Vec<Vec<usize>> = p
            .iommus
            .iter()
            .enumerate()
            .map(|(i, iommu)| {
                (0..iommu.tbus.len())
                    .filter_map(|t| {
                        index_of(TlbId::Tbu(TbuId {
                            iommu: IommuId(i as u32),
                            index: t as u32,
                        }))
                    })
                    .collect()
            })
            .collect();

        let mut hbs: Vec<Option<HbInfo>> = vec![None; p.nodes.len()];
        let mut decode: Vec<(AddrRange, Decode)> = p
            .memory
            .iter()
            .enumerate()
            .map(|(i, m)| (m.range.untyped(), Decode::Dram(i)))
            .collect();
        for id in p.node_ids() {
            if let NodeKind::HostBridge(hb) = &p.node(id).kind {
                let windows: Vec<HbWindow> = hb
                    .windows
                    .iter()
                    .filter_map(|w| {
                        Some(HbWindow {
                            cpu: w.cpu.untyped(),
                            bus: w.bus_range()?.untyped(),
                            offset: w.bus_offset(),
                        })
                    })
                    .collect();
                for w in &windows {
                    decode.push((
                        w.cpu,
                        Decode::Hb {
                            hb: id,
                            offset: w.offset,
                        },
                    ));
                }
                hbs[id.index()] = Some(HbInfo {
                    windows,
                    translation: hb.translation,
                    iommu: hb.iommu,
                    forwards: hb.forwards_p2p,
                    forwards_reads: hb.forwards(peerpath_model::Op::Read),
                    iotlb: index_of(TlbId::HostBridge(id)),
                });
            }
        }
        decode.sort_by_key(|(r, _)| (r.start, r.end));
        let decode_scan =
            decode.len() <= SCAN || decode.windows(2).any(|w| w[0].0.end >= w[1].0.start);

        let mut nodes = node_infos(topo);
        for n in &mut nodes {
            n.validates_source = acs::validates_source(n.ingress_acs(), reader);
        }
        let agents: Vec<Option<Agent>> = (0..nodes.len())
            .map(|i| agent(p, &nodes, &hbs, &tbu_tlb, NodeId(i as u32)))
            .collect();
        for (n, a) in nodes.iter_mut().zip(agents) {
            n.agent = a;
        }
        let decode_below = decode_tables(p, &mut nodes);
        let page_exact = page_exact(&nodes, &hbs, &decode);
        Self {
            topo,
            reader,
            nodes,
            hbs,
            decode,
            decode_scan,
            decode_below,
            tlbs,
            page_exact,
        }
    }

    /// The topology this hardware was compiled from.
    pub fn topology(&self) -> &'t Topology<'t> {
        self.topo
    }

    pub(crate) fn platform(&self) -> &'t Platform {
        self.topo.platform()
    }

    /// The child of `node` whose BAR (an endpoint child) or window (a bridge child)
    /// holds the bus address `addr`, with that range: the first in child order.
    #[inline]
    pub(crate) fn child_at(&self, node: NodeId, addr: u64) -> Option<(NodeId, AddrRange)> {
        self.child_range(&self.nodes[node.index()], addr)
            .map(|c| (c.child, c.range))
    }

    /// `child_at` of a node's info.
    #[inline]
    pub(crate) fn child_range(&self, info: &NodeInfo, addr: u64) -> Option<&ChildRange> {
        let (lo, hi) = info.below;
        let ranges = self.decode_below.get(lo as usize..hi as usize)?;
        first_holding(ranges, info.below_scan, addr, |c| &c.range)
    }

    /// The interconnect's decode of a CPU physical address (H7).
    #[inline]
    pub(crate) fn decode(&self, addr: u64) -> Option<Decode> {
        first_holding(&self.decode, self.decode_scan, addr, |(r, _)| r).map(|(_, d)| *d)
    }
}

/// The translation agent for a request entering its host bridge from `from` (H3): an
/// external TBU's root port goes through its TBU (or, naming none, the IOMMU itself);
/// a DTI-ATS or integrated root complex translates in the host bridge.
fn agent(
    p: &Platform,
    nodes: &[NodeInfo],
    hbs: &[Option<HbInfo>],
    tbu_tlb: &[Vec<usize>],
    from: NodeId,
) -> Option<Agent> {
    let hb = nodes[from.index()].parent?;
    let h = hbs[hb.index()].as_ref()?;
    let id = h.iommu?;
    p.iommus.get(id.index())?;
    let (place, id, tlb) = match h.translation {
        Translation::None => return None,
        Translation::ExternalTbu => {
            let tbu = (nodes[from.index()].kind == Kind::RootPort)
                .then_some(nodes[from.index()].tbu)
                .flatten();
            match tbu {
                Some(t) => (
                    Place::Tbu(t),
                    t.iommu,
                    tbu_tlb
                        .get(t.iommu.index())
                        .and_then(|v| v.get(t.index as usize))
                        .copied(),
                ),
                None => (Place::Iommu(id), id, h.iotlb),
            }
        }
        Translation::DtiAts | Translation::Integrated => (Place::Pci(hb), id, h.iotlb),
    };
    // The agent's own IOMMU (a TBU's) decides bypass and ATS; an unknown one
    // behaves as with `disable_bypass` and without ATS.
    let own = p.iommus.get(id.index());
    Some(Agent {
        place,
        tlb,
        disable_bypass: own.is_none_or(|i| i.disable_bypass),
        ats: own.is_some_and(|i| i.ats),
    })
}

/// Lists of at most this many ranges are scanned, not binary searched.
const SCAN: usize = 8;

/// The first of `ranges`, in their decode order, that holds `addr`. With `scan` they
/// are searched in order: ranges that overlap (which keep their order, so the first
/// wins) and short lists, where a scan is cheaper. Otherwise they are sorted by start
/// and disjoint, and a binary search finds the one that can hold `addr`.
#[inline(always)]
fn first_holding<T>(
    ranges: &[T],
    scan: bool,
    addr: u64,
    range: impl Fn(&T) -> &AddrRange,
) -> Option<&T> {
    if scan {
        ranges.iter().find(|x| {
            let r = range(x);
            r.start <= addr && addr <= r.end
        })
    } else {
        let i = ranges.partition_point(|x| range(x).start <= addr);
        ranges
            .get(i.checked_sub(1)?)
            .filter(|x| addr <= range(x).end)
    }
}

fn node_infos(topo: &Topology<'_>) -> Vec<NodeInfo> {
    let p = topo.platform();
    let n = p.nodes.len();
    // A BAR's or a bridge window's bus range: `Window::to_bus_range` through the window
    // of its host bridge holding its start (the windows the decode compiled: those with
    // a bus range); the CPU range unchanged when none does (`pcibios_resource_to_bus`
    // uses offset 0 outside every window).
    let to_bus = |hb: NodeId, cpu: PhysRange| -> AddrRange {
        topo.host_bridge(hb)
            .windows
            .iter()
            .filter(|w| w.bus_range().is_some())
            .find_map(|w| w.to_bus_range(cpu))
            .map_or(cpu.untyped(), |b| b.untyped())
    };
    let mut out: Vec<NodeInfo> = p
        .node_ids()
        .map(|id| {
            let node = p.node(id);
            let hb = topo.host_bridge_of(id);
            let (kind, port) = match &node.kind {
                NodeKind::HostBridge(_) => (Kind::HostBridge, None),
                NodeKind::RootPort(x) => (Kind::RootPort, Some(x)),
                NodeKind::SwitchUpstream(x) => (Kind::SwitchUpstream, Some(x)),
                NodeKind::SwitchDownstream(x) => (Kind::SwitchDownstream, Some(x)),
                NodeKind::PciBridge(_) => (Kind::PciBridge, None),
                NodeKind::Endpoint(_) => (Kind::Endpoint, None),
            };
            let conventional = node
                .parent
                .is_some_and(|q| matches!(p.node(q).kind, NodeKind::PciBridge(_)));
            let ep = topo.endpoint(id);
            let bars = ep
                .map(|e| {
                    e.bars
                        .iter()
                        .map(|b| BarBus {
                            index: b.index,
                            bus: to_bus(hb, b.range),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let segment = match &node.kind {
                NodeKind::HostBridge(h) => h.segment,
                _ => node.bdf.map_or(0, |b| b.segment),
            };
            NodeInfo {
                parent: node.parent,
                kind,
                window: topo.windows(id).map(|w| to_bus(hb, w)),
                bars,
                acs: topo.port_acs(id),
                mps: topo.mps(id),
                mps_limit: if kind == Kind::HostBridge || conventional {
                    u32::MAX
                } else {
                    topo.mps(id)
                },
                segment,
                bus_range: None,
                rid: wire_rid(topo, id).map(|r| r.0),
                sid: stream_id(topo, id),
                tdisp: ep.and_then(|e| e.cc).map(|c| c.tdisp),
                tbu: port.and_then(|x| x.tbu),
                splits: port.is_some_and(|x| x.splits_oversized_writes),
                conventional,
                slot_peers: match kind {
                    Kind::Endpoint => topo
                        .slot_functions(id)
                        .iter()
                        .copied()
                        .filter(|f| *f != id && topo.endpoint(*f).is_some())
                        .collect(),
                    _ => Vec::new(),
                },
                validates_source: false,
                agent: None,
                below: (0, 0),
                below_scan: true,
            }
        })
        .collect();
    // Children come after parents: a reverse pass folds bus ranges up.
    for i in (0..n).rev() {
        let Some(parent) = out[i].parent else {
            continue;
        };
        let pi = parent.index();
        let own_bus = p.node(NodeId(i as u32)).bdf.map(|b| b.bus);
        let mut r = out[i].bus_range;
        if let Some(b) = own_bus {
            r = Some(r.map_or((b, b), |(lo, hi)| (lo.min(b), hi.max(b))));
        }
        if let Some((lo, hi)) = r {
            out[pi].bus_range = Some(
                out[pi]
                    .bus_range
                    .map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))),
            );
        }
    }
    out
}

/// Fills every node's secondary-side decode table (children in id order, each with
/// its BARs or windows), sorted by start unless the ranges overlap.
fn decode_tables(p: &Platform, nodes: &mut [NodeInfo]) -> Vec<ChildRange> {
    let mut children: Vec<Vec<NodeId>> = vec![Vec::new(); nodes.len()];
    for id in p.node_ids() {
        if let Some(parent) = p.node(id).parent {
            children[parent.index()].push(id);
        }
    }
    let mut flat = Vec::new();
    for (i, kids) in children.iter().enumerate() {
        let lo = flat.len();
        for &c in kids {
            let ci = &nodes[c.index()];
            if ci.kind == Kind::Endpoint {
                for b in &ci.bars {
                    flat.push(ChildRange {
                        range: b.bus,
                        child: c,
                    });
                }
            } else {
                for w in [ci.window.mem, ci.window.pref].into_iter().flatten() {
                    flat.push(ChildRange { range: w, child: c });
                }
            }
        }
        let slice = &mut flat[lo..];
        let mut sorted: Vec<ChildRange> = slice.to_vec();
        sorted.sort_by_key(|c| (c.range.start, c.range.end));
        let overlaps = sorted
            .windows(2)
            .any(|w| w[0].range.end >= w[1].range.start);
        if !overlaps {
            slice.copy_from_slice(&sorted);
        }
        nodes[i].below = (lo as u32, flat.len() as u32);
        nodes[i].below_scan = overlaps || flat.len() - lo <= SCAN;
    }
    flat
}

/// Whether every boundary a decode can meet is 4 KiB aligned.
fn page_exact(nodes: &[NodeInfo], hbs: &[Option<HbInfo>], decode: &[(AddrRange, Decode)]) -> bool {
    let aligned = |r: &AddrRange| {
        let page = (1u64 << PAGE_SHIFT) - 1;
        r.start & page == 0 && r.end & page == page
    };
    nodes.iter().all(|n| {
        n.bars.iter().all(|b| aligned(&b.bus))
            && [n.window.mem, n.window.pref].iter().flatten().all(aligned)
    }) && hbs
        .iter()
        .flatten()
        .all(|h| h.windows.iter().all(|w| aligned(&w.cpu) && aligned(&w.bus)))
        && decode.iter().all(|(r, _)| aligned(r))
}
