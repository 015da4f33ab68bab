//! The router: one TLP hop by hop, upstream through ACS (H1), through the root
//! complex's translation agent (H2, H3) and forwarding rule (H6), across the
//! interconnect's physical map (H7) and down by windows to a BAR, checking MPS on the
//! way (H5) and the target's TDISP state (C3).
//!
//! Everything static is computed once in `Engine::new`: per-node bus-space windows and
//! BARs, bus ranges, ACS Control, MPS, the interconnect decode table, one TLB per TBU
//! and per root-complex agent. Routing a TLP then allocates only the hops vector (and
//! nothing with `route_into` and a reused trace).

use peerpath_model::{
    AcsFlags, AddrRange, BridgeWindows, ForwardsP2p, Iommu, IommuId, Iova, NodeId, NodeKind, Op,
    Platform, StreamId, TbuId, TdispState, Translation,
};
use peerpath_topology::acs::{self, AcsTlp, Class, Decision, Dest, Reader};
use peerpath_topology::{PortAcs, Topology};

use crate::pagetable::LookupError;
use crate::stream::{stream_id, wire_rid};
use crate::tlb::{Tlb, TlbEntry, PAGE_SHIFT};
use crate::types::{
    At, DropReason, End, Event, Fault, Hop, Place, Ste, StreamSetup, TlbId, TlbStats, Tlp, Trace,
    Why,
};

/// Entries of the IOTLB of a root complex's own translation agent (integrated,
/// dti-ats), which the platform format does not describe.
pub const ROOT_COMPLEX_IOTLB_ENTRIES: u32 = 256;
/// Ways of that IOTLB.
pub const ROOT_COMPLEX_IOTLB_WAYS: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    HostBridge,
    RootPort,
    SwitchUpstream,
    SwitchDownstream,
    PciBridge,
    Endpoint,
}

#[derive(Clone, Copy, Debug)]
struct BarBus {
    index: u8,
    /// Bus-space range.
    bus: AddrRange,
}

#[derive(Clone, Debug)]
struct NodeInfo {
    parent: Option<NodeId>,
    kind: Kind,
    /// The node's memory windows (`Topology::windows`), in bus space.
    window: BridgeWindows,
    children: Vec<NodeId>,
    bars: Vec<BarBus>,
    acs: PortAcs,
    mps: u32,
    segment: u16,
    /// Buses below (secondary..=subordinate) of a bridge/port.
    bus_range: Option<(u8, u8)>,
    /// Requester ID on the wire (bus, raw rid).
    rid: Option<u16>,
    sid: Option<StreamId>,
    tdisp: Option<TdispState>,
    tbu: Option<TbuId>,
    splits: bool,
}

#[derive(Clone, Copy, Debug)]
struct HbWindow {
    cpu: AddrRange,
    bus: AddrRange,
    offset: u64,
}

#[derive(Clone, Debug)]
struct HbInfo {
    windows: Vec<HbWindow>,
    translation: Translation,
    iommu: Option<IommuId>,
    forwards: ForwardsP2p,
    /// Index into `Engine::tlbs` of the root complex's own IOTLB.
    iotlb: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
enum Decode {
    Dram(usize),
    Hb { hb: NodeId, offset: u64 },
}

/// Where a route entered the interconnect: what `route_burst` needs to resume a merged
/// burst there (H4).
#[derive(Clone, Copy, Debug)]
pub(crate) struct IcEntry {
    /// `hops.len()` before the interconnect's hops.
    pub(crate) hop_index: usize,
    /// The TLP at the interconnect, its address CPU physical.
    pub(crate) tlp: Tlp,
    pub(crate) src: Src,
    /// Whether it decodes to a host bridge window (a PCI target).
    pub(crate) to_pci: bool,
}

/// The hardware of one platform, with its TLB state. See the crate documentation.
#[derive(Debug)]
pub struct Engine<'t> {
    topo: &'t Topology<'t>,
    reader: Reader,
    nodes: Vec<NodeInfo>,
    /// Indexed by node; `Some` for host bridges.
    hbs: Vec<Option<HbInfo>>,
    /// Interconnect decode, sorted by start.
    decode: Vec<(AddrRange, Decode)>,
    /// Every TLB, sorted by id.
    tlbs: Vec<(TlbId, Tlb)>,
    /// `[iommu][tbu]` → index into `tlbs`.
    tbu_tlb: Vec<Vec<usize>>,
    /// Set during a route: where it entered the interconnect.
    pub(crate) ic_entry: Option<IcEntry>,
}

/// What the ingress port does with a request, in the engine's terms (H1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ingress {
    /// Upstream. `redirect`: ACS sent it there instead of address decode.
    Up { why: Why, redirect: bool },
    /// Directly to a sibling downstream port.
    Peer { egress: NodeId, why: Why },
    /// Back down the ingress port.
    TurnBack,
    /// Blocked: an ACS violation.
    Block(AcsFlags),
}

/// Where a request came into the root complex from: its host bridge and root port
/// (`None` for an RCiEP requester).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Src {
    pub(crate) hb: NodeId,
    pub(crate) rp: Option<NodeId>,
}

/// How a request reaches a host bridge's hierarchy from above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// Routed inside the source root complex (bus address in its own window).
    RootComplex,
    /// Through the interconnect (CPU physical address).
    Interconnect,
    /// A merged burst through the interconnect (H4).
    MergedBurst,
}

/// The agent that translates for a request entering a root complex.
#[derive(Clone, Copy, Debug)]
struct Agent {
    place: Place,
    iommu: IommuId,
    tlb: Option<usize>,
}

impl<'t> Engine<'t> {
    /// The hardware of `topo`'s platform, ACS as the silicon reads it (H1,
    /// `Reader::Hardware`).
    pub fn new(topo: &'t Topology<'t>) -> Self {
        Self::with_acs_reader(topo, Reader::Hardware)
    }

    /// As `new`, with ports that act on their ACS bits as another reader takes them
    /// (what-if comparisons: "if the switch did what p2pdma assumes").
    pub fn with_acs_reader(topo: &'t Topology<'t>, reader: Reader) -> Self {
        let p = topo.platform();
        let mut tlbs: Vec<(TlbId, Tlb)> = Vec::new();
        for (i, iommu) in p.iommus.iter().enumerate() {
            for (t, tbu) in iommu.tbus.iter().enumerate() {
                tlbs.push((
                    TlbId::Tbu(TbuId {
                        iommu: IommuId(i as u32),
                        index: t as u32,
                    }),
                    Tlb::new(tbu.tlb_entries, tbu.tlb_ways),
                ));
            }
        }
        for id in p.node_ids() {
            if let NodeKind::HostBridge(hb) = &p.node(id).kind {
                if hb.iommu.is_some() && hb.translation != Translation::None {
                    tlbs.push((
                        TlbId::HostBridge(id),
                        Tlb::new(ROOT_COMPLEX_IOTLB_ENTRIES, ROOT_COMPLEX_IOTLB_WAYS),
                    ));
                }
            }
        }
        tlbs.sort_by_key(|(id, _)| *id);
        let index_of = |want: TlbId| tlbs.iter().position(|(id, _)| *id == want);
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
            .map(|(i, m)| (m.range, Decode::Dram(i)))
            .collect();
        for id in p.node_ids() {
            if let NodeKind::HostBridge(hb) = &p.node(id).kind {
                let windows: Vec<HbWindow> = hb
                    .windows
                    .iter()
                    .filter_map(|w| {
                        let bus = AddrRange::from_start_and_end(
                            w.bus,
                            w.bus.checked_add(w.cpu.end - w.cpu.start)?,
                        )?;
                        Some(HbWindow {
                            cpu: w.cpu,
                            bus,
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
                    iotlb: index_of(TlbId::HostBridge(id)),
                });
            }
        }
        decode.sort_by_key(|(r, _)| (r.start, r.end));

        let nodes = Self::node_infos(topo, &hbs);
        Self {
            topo,
            reader,
            nodes,
            hbs,
            decode,
            tlbs,
            tbu_tlb,
            ic_entry: None,
        }
    }

    fn node_infos(topo: &Topology<'_>, hbs: &[Option<HbInfo>]) -> Vec<NodeInfo> {
        let p = topo.platform();
        let n = p.nodes.len();
        let to_bus = |hb: NodeId, cpu: AddrRange| -> AddrRange {
            hbs[hb.index()]
                .as_ref()
                .and_then(|h| h.windows.iter().find(|w| w.cpu.contains(cpu.start)))
                .and_then(|w| {
                    AddrRange::from_start_and_end(
                        cpu.start.wrapping_add(w.offset),
                        cpu.end.wrapping_add(w.offset),
                    )
                })
                .unwrap_or(cpu)
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
                let sid = stream_id(topo, id);
                NodeInfo {
                    parent: node.parent,
                    kind,
                    window: {
                        let hb = topo.host_bridge_of(id);
                        topo.windows(id).map(|w| to_bus(hb, w))
                    },
                    children: topo.children(id),
                    bars,
                    acs: topo.port_acs(id),
                    mps: topo.mps(id),
                    segment,
                    bus_range: None,
                    rid: wire_rid(topo, id).map(|r| r.0),
                    sid,
                    tdisp: ep.and_then(|e| e.cc).map(|c| c.tdisp),
                    tbu: port.and_then(|x| x.tbu),
                    splits: port.is_some_and(|x| x.splits_oversized_writes),
                }
            })
            .collect();
        // Children come after parents: a reverse pass folds bus ranges up (windows
        // come derived from the topology).
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

    /// The topology this engine was built from.
    pub fn topology(&self) -> &'t Topology<'t> {
        self.topo
    }

    fn platform(&self) -> &'t Platform {
        self.topo.platform()
    }

    /// Hit/miss counters of every TLB, sorted by id.
    pub fn tlb_stats(&self) -> Vec<(TlbId, TlbStats)> {
        self.tlbs.iter().map(|(id, t)| (*id, t.stats)).collect()
    }

    /// Zeroes every TLB's counters (entries are kept).
    pub fn reset_tlb_stats(&mut self) {
        for (_, t) in &mut self.tlbs {
            t.stats = TlbStats::default();
        }
    }

    /// Invalidates every TLB entry (`CMD_TLBI_*ALL`).
    pub fn invalidate_all(&mut self) {
        for (_, t) in &mut self.tlbs {
            t.invalidate_all();
        }
    }

    /// Invalidates one stream's entries in every TLB.
    pub fn invalidate_stream(&mut self, sid: StreamId) {
        for (_, t) in &mut self.tlbs {
            t.invalidate_stream(sid);
        }
    }

    /// Routes one TLP. `setup` is the requester's stream as the kernel set it up; the
    /// path starts at `tlp.requester`.
    pub fn route(&mut self, setup: &StreamSetup, tlp: Tlp) -> Trace {
        let mut trace = Trace {
            hops: Vec::with_capacity(16),
            end: End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr }),
            attr: None,
            sid: None,
        };
        self.route_into(setup, tlp, &mut trace);
        trace
    }

    /// As `route`, reusing `out`'s allocation (the hot path allocates nothing).
    pub fn route_into(&mut self, setup: &StreamSetup, tlp: Tlp, out: &mut Trace) {
        out.hops.clear();
        out.attr = None;
        out.sid = None;
        self.ic_entry = None;
        out.end = self.issue(setup, tlp, out, Why::Issued);
    }

    fn push(tr: &mut Trace, at: Place, event: Event, tlp: Tlp, why: Why) {
        tr.hops.push(Hop {
            at,
            event,
            tlp,
            why,
        });
    }

    fn issue(&mut self, setup: &StreamSetup, tlp: Tlp, tr: &mut Trace, why: Why) -> End {
        let r = tlp.requester;
        let Some(info) = self.nodes.get(r.index()) else {
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        };
        Self::push(tr, Place::Pci(r), Event::Issue, tlp, why);
        if info.kind == Kind::HostBridge {
            Self::push(tr, Place::Pci(r), Event::Drop, tlp, Why::NoDecode);
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        }
        self.upstream(setup, tlp, r, tr)
    }

    /// Whether H5 applies: data-carrying requests (writes). A read request's length is
    /// bounded by Max_Read_Request_Size, not MPS; translation requests carry no data.
    fn carries_data(tlp: &Tlp) -> bool {
        tlp.op == Op::Write && tlp.at != At::TranslationRequest
    }

    /// H5 at a receiving node: `Some(end)` if the TLP is malformed there.
    fn mps_check(&self, node: NodeId, tlp: Tlp, tr: &mut Trace) -> Option<End> {
        let info = &self.nodes[node.index()];
        if info.kind == Kind::HostBridge || !Self::carries_data(&tlp) || tlp.payload <= info.mps {
            return None;
        }
        Self::push(
            tr,
            Place::Pci(node),
            Event::Drop,
            tlp,
            Why::MpsExceeded { mps: info.mps },
        );
        Some(End::Dropped(DropReason::MalformedTlp {
            link_at: node,
            payload: tlp.payload,
            mps: info.mps,
        }))
    }

    /// Upward from `from` (which the TLP just left): each receiving port decides (H1).
    fn upstream(&mut self, setup: &StreamSetup, tlp: Tlp, from: NodeId, tr: &mut Trace) -> End {
        let mut cur = from;
        // Bounded by depth: each step moves one node up.
        loop {
            let Some(p) = self.nodes[cur.index()].parent else {
                return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
            };
            let pk = self.nodes[p.index()].kind;
            if pk == Kind::HostBridge {
                return self.root_complex(setup, tlp, p, cur, tr);
            }
            if let Some(end) = self.mps_check(p, tlp, tr) {
                return end;
            }
            if pk == Kind::SwitchUpstream {
                // The downstream port below already decided: up.
                Self::push(tr, Place::Pci(p), Event::Forward, tlp, Why::NotBelow);
                cur = p;
                continue;
            }
            match self.ingress(p, tlp) {
                Ingress::Up { why, redirect } => {
                    let ev = if redirect {
                        Event::Redirect
                    } else {
                        Event::Forward
                    };
                    Self::push(tr, Place::Pci(p), ev, tlp, why);
                    cur = p;
                }
                Ingress::TurnBack => {
                    return self.descend(tlp, p, Some(Why::TurnBack), false, tr);
                }
                Ingress::Peer { egress, why } => {
                    Self::push(tr, Place::Pci(p), Event::Forward, tlp, why);
                    let Some(usp) = self.nodes[p.index()].parent else {
                        return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
                    };
                    if let Some(end) = self.mps_check(usp, tlp, tr) {
                        return end;
                    }
                    let window = self.nodes[egress.index()].window.find(tlp.addr);
                    if let Some(window) = window {
                        Self::push(
                            tr,
                            Place::Pci(usp),
                            Event::Forward,
                            tlp,
                            Why::WindowMatch { window },
                        );
                    }
                    if let Some(end) = self.mps_check(egress, tlp, tr) {
                        return end;
                    }
                    return self.descend(tlp, egress, None, false, tr);
                }
                Ingress::Block(bit) => {
                    Self::push(
                        tr,
                        Place::Pci(p),
                        Event::Fault,
                        tlp,
                        Why::AcsBlocked { bit },
                    );
                    return End::Fault(Fault::AcsViolation { port: p, bit });
                }
            }
        }
    }

    /// H1 at the ingress port `port` (the TLP came from below): address decode finds
    /// where the request would go, the one ACS decision (`acs::decide`) says what the
    /// port does with it.
    fn ingress(&self, port: NodeId, tlp: Tlp) -> Ingress {
        let info = &self.nodes[port.index()];
        let req = &self.nodes[tlp.requester.index()];
        let in_range = match (req.rid, info.bus_range) {
            (Some(rid), Some((lo, hi))) => {
                let bus = (rid >> 8) as u8;
                req.segment == info.segment && lo <= bus && bus <= hi
            }
            _ => false,
        };
        let mut egress = None;
        let dest = if info.window.contains(tlp.addr) {
            Dest::Own
        } else if info.kind == Kind::SwitchDownstream {
            egress = info.parent.and_then(|usp| {
                self.nodes[usp.index()]
                    .children
                    .iter()
                    .copied()
                    .find(|s| *s != port && self.nodes[s.index()].window.contains(tlp.addr))
            });
            egress.map_or(Dest::Up, |_| Dest::PeerPort)
        } else {
            Dest::Up
        };
        let state = match info.kind {
            Kind::RootPort | Kind::SwitchDownstream => info.acs,
            // PCI bridges and others have no ACS.
            _ => PortAcs::default(),
        };
        let decision = acs::decide(
            state,
            self.reader,
            AcsTlp {
                class: Class::Request(tlp.at),
                requester_in_range: in_range,
                dest,
            },
        );
        match decision {
            Decision::Up { by } => Ingress::Up {
                why: match by {
                    Some(AcsFlags::UF) => Why::AcsUpstreamForwarding,
                    Some(bit) => Why::AcsRedirect { bit },
                    None if tlp.at == At::TranslationRequest => Why::TranslationRequestUpstream,
                    None => Why::NotBelow,
                },
                redirect: by.is_some(),
            },
            Decision::Peer { direct_translated } => match egress {
                Some(egress) => Ingress::Peer {
                    egress,
                    why: if direct_translated {
                        Why::AcsDirectTranslated
                    } else {
                        Why::SwitchPeer { egress }
                    },
                },
                // `PeerPort` is only asked with an egress port found.
                None => Ingress::Up {
                    why: Why::NotBelow,
                    redirect: false,
                },
            },
            Decision::TurnBack => Ingress::TurnBack,
            Decision::Block(bit) => Ingress::Block(bit),
        }
    }

    /// Down from `node` (already received and MPS-checked) to the target.
    /// `first_why` replaces the first hop's reason (a turn-back); `merged`: the TLP is
    /// a merged burst that a root port may split (H4).
    fn descend(
        &mut self,
        mut tlp: Tlp,
        node: NodeId,
        first_why: Option<Why>,
        merged: bool,
        tr: &mut Trace,
    ) -> End {
        let mut cur = node;
        let mut why_override = first_why;
        // Bounded by depth: each step moves one node down.
        loop {
            let info = &self.nodes[cur.index()];
            if info.kind == Kind::Endpoint {
                return self.deliver(cur, tlp, tr);
            }
            let next = info.children.iter().copied().find_map(|c| {
                let ci = &self.nodes[c.index()];
                if ci.kind == Kind::Endpoint {
                    ci.bars
                        .iter()
                        .find(|b| b.bus.contains(tlp.addr))
                        .map(|b| (c, b.bus))
                } else {
                    ci.window.find(tlp.addr).map(|w| (c, w))
                }
            });
            let Some((child, window)) = next else {
                Self::push(tr, Place::Pci(cur), Event::Drop, tlp, Why::NoDecode);
                return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
            };
            let why = why_override.take().unwrap_or(Why::WindowMatch { window });
            Self::push(tr, Place::Pci(cur), Event::Forward, tlp, why);
            let ci = &self.nodes[child.index()];
            if merged && ci.kind == Kind::RootPort && ci.splits && tlp.payload > ci.mps {
                let chunk = ci.mps;
                tlp.payload = chunk;
                Self::push(
                    tr,
                    Place::Pci(child),
                    Event::Forward,
                    tlp,
                    Why::SplitOversized { chunk },
                );
            }
            if let Some(end) = self.mps_check(child, tlp, tr) {
                return end;
            }
            cur = child;
        }
    }

    /// At the target endpoint: a BAR must hold the address; TDISP ERROR rejects (C3).
    fn deliver(&self, ep: NodeId, tlp: Tlp, tr: &mut Trace) -> End {
        let info = &self.nodes[ep.index()];
        let Some(bar) = info.bars.iter().find(|b| b.bus.contains(tlp.addr)) else {
            Self::push(tr, Place::Pci(ep), Event::Drop, tlp, Why::NoDecode);
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        };
        if info.tdisp == Some(TdispState::Error) {
            Self::push(tr, Place::Pci(ep), Event::Fault, tlp, Why::TdispError);
            return End::Fault(Fault::TdispRejected { target: ep });
        }
        let offset = tlp.addr - bar.bus.start;
        Self::push(
            tr,
            Place::Pci(ep),
            Event::Deliver,
            tlp,
            Why::BarMatch {
                bar: bar.index,
                offset,
            },
        );
        End::Delivered {
            target: ep,
            bar: bar.index,
            offset,
            tdisp: info.tdisp,
        }
    }

    fn iommu(&self, id: IommuId) -> Option<&'t Iommu> {
        self.platform().iommus.get(id.index())
    }

    /// The translation agent for a request entering host bridge `hb` from `from` (H3).
    fn agent(&self, hb: NodeId, from: NodeId) -> Option<Agent> {
        let h = self.hbs[hb.index()].as_ref()?;
        let iommu = h.iommu?;
        self.iommu(iommu)?;
        match h.translation {
            Translation::None => None,
            Translation::ExternalTbu => {
                let tbu = (self.nodes[from.index()].kind == Kind::RootPort)
                    .then(|| self.nodes[from.index()].tbu)
                    .flatten();
                match tbu {
                    Some(t) => Some(Agent {
                        place: Place::Tbu(t),
                        iommu: t.iommu,
                        tlb: self
                            .tbu_tlb
                            .get(t.iommu.index())
                            .and_then(|v| v.get(t.index as usize))
                            .copied(),
                    }),
                    None => Some(Agent {
                        place: Place::Iommu(iommu),
                        iommu,
                        tlb: h.iotlb,
                    }),
                }
            }
            Translation::DtiAts | Translation::Integrated => Some(Agent {
                place: Place::Pci(hb),
                iommu,
                tlb: h.iotlb,
            }),
        }
    }

    /// The root complex: translation (H2, H3), then decode (H7) and forwarding (H6).
    fn root_complex(
        &mut self,
        setup: &StreamSetup,
        mut tlp: Tlp,
        hb: NodeId,
        from: NodeId,
        tr: &mut Trace,
    ) -> End {
        let src = Src {
            hb,
            rp: (self.nodes[from.index()].kind == Kind::RootPort).then_some(from),
        };
        if tlp.at == At::TranslationRequest {
            return self.ats_request(setup, tlp, hb, tr);
        }
        let Some(agent) = self.agent(hb, from) else {
            if tlp.at == At::Translated {
                Self::push(tr, Place::Pci(hb), Event::Fault, tlp, Why::NoTranslation);
                return End::Fault(Fault::NoTranslationAgent);
            }
            // No translation: a bus address in this host bridge's own windows is
            // routed inside the root complex; anything else goes out as is.
            let own = self.hbs[hb.index()]
                .as_ref()
                .and_then(|h| h.windows.iter().find(|w| w.bus.contains(tlp.addr)).copied());
            if let Some(w) = own {
                return self.down_host_bridge(tlp, src, hb, w.offset, Via::RootComplex, tr);
            }
            Self::push(tr, Place::Pci(hb), Event::Forward, tlp, Why::NoTranslation);
            return self.interconnect(tlp, src, false, tr);
        };
        let iommu = self.iommu(agent.iommu);
        let disable_bypass = iommu.is_none_or(|i| i.disable_bypass);
        let Some(sid) = self.nodes[tlp.requester.index()].sid else {
            Self::push(tr, agent.place, Event::Fault, tlp, Why::NoStreamId);
            let rid = self.nodes[tlp.requester.index()].rid.unwrap_or(0);
            return End::Fault(Fault::NoStreamId { rid });
        };
        tr.sid = Some(sid);
        if tlp.at == At::Translated {
            if Self::eats(iommu, setup) {
                Self::push(
                    tr,
                    agent.place,
                    Event::Forward,
                    tlp,
                    Why::TranslatedPassThrough { sid },
                );
                return self.interconnect(tlp, src, false, tr);
            }
            Self::push(tr, agent.place, Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::AtsNotEnabled);
        }
        let table = match &setup.ste {
            Ste::Abort => None,
            Ste::NoIommu if disable_bypass => None,
            Ste::NoIommu | Ste::Bypass => {
                Self::push(
                    tr,
                    agent.place,
                    Event::Forward,
                    tlp,
                    Why::StreamBypass { sid },
                );
                return self.interconnect(tlp, src, false, tr);
            }
            Ste::Translate(t) => Some(t),
        };
        let Some(table) = table else {
            Self::push(
                tr,
                agent.place,
                Event::Fault,
                tlp,
                Why::StreamAbort { sid: Some(sid) },
            );
            return End::Fault(Fault::StreamAbort { sid: Some(sid) });
        };
        let vpn = tlp.addr >> PAGE_SHIFT;
        let cached = agent
            .tlb
            .and_then(|i| self.tlbs.get_mut(i))
            .and_then(|(_, t)| t.lookup(table.tag(), sid, vpn));
        let (entry, why) = match cached {
            Some(e) => (e, Why::TlbHit { sid }),
            None => match table.mapping(Iova(tlp.addr)) {
                None => {
                    Self::push(tr, agent.place, Event::Fault, tlp, Why::Unmapped { sid });
                    return End::Fault(Fault::Unmapped { iova: tlp.addr });
                }
                Some(m) => {
                    let page = vpn << PAGE_SHIFT;
                    let e = TlbEntry {
                        ppn: (m.pa.0 + (page - m.iova.start)) >> PAGE_SHIFT,
                        prot: m.prot,
                    };
                    if let Some((_, t)) = agent.tlb.and_then(|i| self.tlbs.get_mut(i)) {
                        t.fill(table.tag(), sid, vpn, e);
                    }
                    (e, Why::TlbMiss { sid })
                }
            },
        };
        if !entry.prot.permits(tlp.op) {
            Self::push(
                tr,
                agent.place,
                Event::Fault,
                tlp,
                Why::NotPermitted { sid },
            );
            return End::Fault(Fault::Permission {
                iova: tlp.addr,
                op: tlp.op,
            });
        }
        tlp.addr = (entry.ppn << PAGE_SHIFT) | (tlp.addr & ((1 << PAGE_SHIFT) - 1));
        tr.attr = Some(entry.prot.attr);
        Self::push(tr, agent.place, Event::Translate, tlp, why);
        self.interconnect(tlp, src, false, tr)
    }

    /// EATS: the IOMMU has ATS, the kernel enabled ATS, and the STE translates (H2).
    fn eats(iommu: Option<&Iommu>, setup: &StreamSetup) -> bool {
        iommu.is_some_and(|i| i.ats) && setup.ats_enabled && matches!(setup.ste, Ste::Translate(_))
    }

    /// H2: a translation request answered by the IOMMU (TCU) from the page table; the
    /// device then re-issues the request as translated (AT=10b).
    fn ats_request(&mut self, setup: &StreamSetup, tlp: Tlp, hb: NodeId, tr: &mut Trace) -> End {
        let agent_iommu = self.hbs[hb.index()]
            .as_ref()
            .filter(|h| h.translation != Translation::None)
            .and_then(|h| h.iommu)
            .filter(|i| self.iommu(*i).is_some());
        let Some(iommu_id) = agent_iommu else {
            Self::push(tr, Place::Pci(hb), Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::NoTranslationAgent);
        };
        let place = Place::Iommu(iommu_id);
        let Some(sid) = self.nodes[tlp.requester.index()].sid else {
            Self::push(tr, place, Event::Fault, tlp, Why::NoStreamId);
            let rid = self.nodes[tlp.requester.index()].rid.unwrap_or(0);
            return End::Fault(Fault::NoStreamId { rid });
        };
        tr.sid = Some(sid);
        let table = match &setup.ste {
            Ste::Translate(t) if Self::eats(self.iommu(iommu_id), setup) => t,
            _ => {
                Self::push(tr, place, Event::Fault, tlp, Why::AtsNotEnabled);
                return End::Fault(Fault::AtsNotEnabled);
            }
        };
        let pa = match table.lookup(Iova(tlp.addr), tlp.op) {
            Ok(t) => t.pa.0,
            Err(LookupError::Unmapped) => {
                Self::push(tr, place, Event::Fault, tlp, Why::Unmapped { sid });
                return End::Fault(Fault::Unmapped { iova: tlp.addr });
            }
            Err(LookupError::NotPermitted) => {
                Self::push(tr, place, Event::Fault, tlp, Why::NotPermitted { sid });
                return End::Fault(Fault::Permission {
                    iova: tlp.addr,
                    op: tlp.op,
                });
            }
        };
        let translated = Tlp {
            addr: pa,
            at: At::Translated,
            ..tlp
        };
        Self::push(
            tr,
            place,
            Event::Translate,
            translated,
            Why::AtsCompletion { sid },
        );
        // The re-issued request is AT=10b, so this recursion happens at most once.
        self.issue(setup, translated, tr, Why::AtsReissue)
    }

    /// H7: the CPU physical address in the interconnect's map.
    fn interconnect(&mut self, tlp: Tlp, src: Src, merged: bool, tr: &mut Trace) -> End {
        let decoded = self
            .decode
            .iter()
            .find(|(r, _)| r.contains(tlp.addr))
            .map(|(_, d)| *d);
        if !merged {
            self.ic_entry = Some(IcEntry {
                hop_index: tr.hops.len(),
                tlp,
                src,
                to_pci: matches!(decoded, Some(Decode::Hb { .. })),
            });
        }
        match decoded {
            None => {
                Self::push(tr, Place::Interconnect, Event::Drop, tlp, Why::NoDecode);
                End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr })
            }
            Some(Decode::Dram(region)) => {
                Self::push(
                    tr,
                    Place::Interconnect,
                    Event::Forward,
                    tlp,
                    Why::DramDecode { region },
                );
                Self::push(
                    tr,
                    Place::Memory(region),
                    Event::Deliver,
                    tlp,
                    Why::DramDecode { region },
                );
                End::Dram {
                    region,
                    addr: tlp.addr,
                }
            }
            Some(Decode::Hb { hb, offset }) => {
                let via = if merged {
                    Via::MergedBurst
                } else {
                    Via::Interconnect
                };
                self.down_host_bridge(tlp, src, hb, offset, via, tr)
            }
        }
    }

    /// Resumes a merged burst at the interconnect (H4).
    pub(crate) fn resume_merged(&mut self, burst: Tlp, src: Src, tr: &mut Trace) -> End {
        self.interconnect(burst, src, true, tr)
    }

    /// From the root complex (or the interconnect) down into host bridge `to_hb`'s
    /// hierarchy: H6 forwarding, then address decode by windows. `tlp.addr` is CPU
    /// physical when it comes through the interconnect, else already a bus address of
    /// `to_hb`.
    fn down_host_bridge(
        &mut self,
        mut tlp: Tlp,
        src: Src,
        to_hb: NodeId,
        offset: u64,
        via: Via,
        tr: &mut Trace,
    ) -> End {
        let via_interconnect = via != Via::RootComplex;
        let bus = if via_interconnect {
            tlp.addr.wrapping_add(offset)
        } else {
            tlp.addr
        };
        let target_rp = self.nodes[to_hb.index()]
            .children
            .iter()
            .copied()
            .find(|c| {
                let ci = &self.nodes[c.index()];
                match ci.kind {
                    Kind::Endpoint => ci.bars.iter().any(|b| b.bus.contains(bus)),
                    _ => ci.window.contains(bus),
                }
            })
            .filter(|c| self.nodes[c.index()].kind == Kind::RootPort);
        let from_hb = src.hb;
        if let (Some(from_rp), Some(to_rp)) = (src.rp, target_rp) {
            let forwards = self.hbs[from_hb.index()]
                .as_ref()
                .map_or(ForwardsP2p::None, |h| h.forwards);
            let ok = match forwards {
                ForwardsP2p::None => false,
                ForwardsP2p::SameHostBridge => from_hb == to_hb,
                ForwardsP2p::Any => true,
            };
            if !ok {
                Self::push(
                    tr,
                    Place::Pci(from_hb),
                    Event::Drop,
                    tlp,
                    Why::RcNoForward { forwards },
                );
                return End::Dropped(DropReason::RcNoForward {
                    from_root_port: Some(from_rp),
                    to_root_port: Some(to_rp),
                    from_hb,
                    to_hb,
                });
            }
        }
        if via_interconnect {
            Self::push(
                tr,
                Place::Interconnect,
                Event::Forward,
                tlp,
                Why::HostBridgeWindow {
                    host_bridge: to_hb,
                    bus_offset: offset,
                },
            );
            tlp.addr = bus;
            self.descend(tlp, to_hb, None, via == Via::MergedBurst, tr)
        } else {
            self.descend(tlp, to_hb, Some(Why::RootComplexInternal), false, tr)
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod prop;
