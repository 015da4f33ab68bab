//! The router: one TLP hop by hop, upstream through ACS (H1), through the root
//! complex's translation agent (H2, H3) and forwarding rule (H6), across the
//! interconnect's physical map (H7) and down by windows to a BAR, checking MPS on the
//! way (H5) and the target's TDISP state (C3).
//!
//! **Reads and their completions** (H1 CR/UF, H6). A read delivered to a BAR is
//! completed: the completion is routed back by ID to the requester [PCIe r7.0
//! §2.2.4.2 ID-based routing, §2.2.9 completion rules], up from the completer until a
//! port holds the requester's bus. Each ingress port applies its ACS to it: CR
//! redirects a peer completion upstream instead of across a switch, UF sends one that
//! would turn back out of its ingress port upstream ("any Request or Completion TLPs
//! … redirected Upstream by a component lower in the hierarchy", [PCIe r7.0
//! §6.12.1.1]), SV checks the completer's bus. One that reaches the root complex meets
//! no translation agent (an IOMMU translates requests) and goes back down a root port
//! only where the requester's host bridge forwards peer reads: `forwards_p2p_reads`,
//! else `forwards_p2p` (H6). Read requests meet the same key at the root complex: many
//! root complexes forward peer writes and not peer reads. The completion is kept in
//! `Trace::completion` (its hops in `Trace::completion_hops`); the request's end stays
//! `Delivered`.
//!
//! Everything static is compiled once into a shared [`Hardware`] (flat tables, binary
//! searches); an `Engine` adds its own TLBs (allocated on first use, invalidated in
//! O(1)) and a flow cache. Routing allocates nothing on a trace that does not record,
//! and nothing beyond its hops on one that does.
//!
//! **Two routers, one answer.** `route_into` on a recording trace is the reference:
//! hop by hop, every hop kept. On a summary-only trace a route first asks the flow
//! cache (module `flow`): a TLP of a page already routed, from the same requester with
//! the same stream, operation, address type and payload, is answered by one lookup
//! plus the TLB access the reference would make (so hit/miss counters agree). Tests
//! (and a property test on random platforms) hold both to the same end, memory type,
//! StreamID, summary and TLB counters.
//!
//! **The router's steps**, each a function named for what it models, generic over how
//! the route keeps its hops (`route::Recorder`: `KeepHops` or `SummaryOnly`, compiled
//! once each): `issue` → `upstream` (H1 at each port, `ingress`) → `root_complex`
//! (module `root_complex`: `ats_request`, `without_agent`, `through_agent` with
//! `translate`) → `interconnect` (H7) → `down_host_bridge` (H6) → `descend` (H5) →
//! `deliver` (C3); a delivered read's completion in module `completion`.

use std::sync::Arc;

use peerpath_model::{AcsFlags, ForwardsP2p, NodeId, Op, Platform, StreamId, TdispState};
use peerpath_topology::acs::{self, AcsTlp, Class, Decision, Dest, Reader};
use peerpath_topology::Topology;

use crate::flow::{FlowCache, FlowKey, FlowValue, TlbTouch};
use crate::hardware::{ChildRange, Decode, Hardware, Kind, NodeInfo};
use crate::route::{IcEntry, KeepHops, Recorder, Src, SummaryOnly};
use crate::tlb::Tlb;
use crate::types::{
    At, CplEnd, DropReason, End, Event, Fault, Place, StreamSetup, TlbId, TlbStats, Tlp, Trace, Why,
};

/// The hardware of one platform with this engine's TLB state. See the crate
/// documentation. Cheap to `fork` for another thread: the compiled hardware is shared.
#[derive(Debug)]
pub struct Engine<'t> {
    hw: Arc<Hardware<'t>>,
    /// One per `hw.tlbs` entry, same order.
    tlbs: Vec<Tlb>,
    /// Set during a route: where it entered the interconnect.
    pub(crate) ic_entry: Option<IcEntry>,
    /// The TLB a route looked up, for the flow cache.
    touched: Option<TlbTouch>,
    flows: FlowCache,
    /// The flow cache serves summary-only routes: the hardware is `page_exact` and
    /// the cache was not turned off (`set_flow_cache`).
    flows_on: bool,
    /// `route_burst`'s per-TLP interconnect entries, reused.
    pub(crate) burst_entries: Vec<Option<IcEntry>>,
    /// The root port a merged burst went down (set by `down_host_bridge`).
    burst_root_port: Option<NodeId>,
    /// The last route was delivered inside a multifunction device (H1 loopback).
    internal: bool,
}

/// A cached route for `tlp`: the recorded outcome moved to its address (every field of
/// the trace set), and the TLB access the reference route made.
#[inline(always)]
fn replay(
    v: &FlowValue,
    tlp: Tlp,
    out: &mut Trace,
    ic_entry: Option<&mut Option<IcEntry>>,
    tlbs: &mut [Tlb],
) {
    let delta = tlp.addr.wrapping_sub(v.addr);
    out.hops.clear();
    out.end = v.end.shifted(delta);
    out.attr = v.attr;
    out.sid = v.sid;
    out.summary.clone_from(&v.summary);
    out.summary.shift(delta);
    out.completion = v.completion.map(|mut c| {
        if let CplEnd::Dropped(DropReason::UnsupportedRequest { addr }) = &mut c.end {
            *addr = addr.wrapping_add(delta);
        }
        c
    });
    out.completion_hops.clear();
    if let Some(ic_entry) = ic_entry {
        *ic_entry = v.ic_entry.map(|e| IcEntry {
            tlp: Tlp {
                addr: e.tlp.addr.wrapping_add(delta),
                ..e.tlp
            },
            ..e
        });
    }
    if let Some(t) = &v.tlb {
        if let Some(tlb) = tlbs.get_mut(t.tlb) {
            tlb.touch(t.table, t.sid, t.vpn, t.entry);
        }
    }
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

/// Source Validation's test at ingress port `port` of a TLP from `requester` (H1): the
/// requester's bus within the port's bus range, in the same segment. Only SV reads it
/// (`acs::validates_source`), so it is false at a port where SV does not act.
#[inline(always)]
fn requester_in_range(port: &NodeInfo, requester: &NodeInfo) -> bool {
    port.validates_source
        && match (requester.rid, port.bus_range) {
            (Some(rid), Some((lo, hi))) => {
                let bus = (rid >> 8) as u8;
                requester.segment == port.segment && lo <= bus && bus <= hi
            }
            _ => false,
        }
}

impl<'t> Engine<'t> {
    /// The hardware of `topo`'s platform, ACS as the silicon reads it (H1,
    /// `Reader::Hardware`).
    pub fn new(topo: &'t Topology<'t>) -> Self {
        Self::with_acs_reader(topo, Reader::Hardware)
    }

    /// As `new`, with ports that act on their ACS bits as another reader takes them
    /// (what-if comparisons: "if the switch did what p2pdma assumes"; the unit tests).
    fn with_acs_reader(topo: &'t Topology<'t>, reader: Reader) -> Self {
        Self::on(Arc::new(Hardware::new(topo, reader)))
    }

    /// An engine on already compiled hardware, with empty TLBs.
    pub fn on(hw: Arc<Hardware<'t>>) -> Self {
        let tlbs = hw
            .tlbs
            .iter()
            .map(|(_, entries, ways)| Tlb::new(*entries, *ways))
            .collect();
        Self {
            flows_on: hw.page_exact,
            hw,
            tlbs,
            ic_entry: None,
            touched: None,
            flows: FlowCache::default(),
            burst_entries: Vec::new(),
            burst_root_port: None,
            internal: false,
        }
    }

    /// Another engine on the same compiled hardware, with empty TLBs (for another
    /// thread).
    pub fn fork(&self) -> Self {
        Self::on(Arc::clone(&self.hw))
    }

    /// The compiled hardware.
    pub fn hardware(&self) -> &Arc<Hardware<'t>> {
        &self.hw
    }

    /// The topology this engine was built from.
    pub fn topology(&self) -> &'t Topology<'t> {
        self.hw.topo
    }

    fn platform(&self) -> &'t Platform {
        self.hw.platform()
    }

    /// Hit/miss counters of every TLB, sorted by id.
    pub fn tlb_stats(&self) -> Vec<(TlbId, TlbStats)> {
        self.hw
            .tlbs
            .iter()
            .zip(&self.tlbs)
            .map(|((id, _, _), t)| (*id, t.stats))
            .collect()
    }

    /// The sum of every TLB's counters.
    pub fn tlb_totals(&self) -> TlbStats {
        self.tlbs.iter().fold(TlbStats::default(), |a, t| TlbStats {
            hits: a.hits + t.stats.hits,
            misses: a.misses + t.stats.misses,
            evictions: a.evictions + t.stats.evictions,
        })
    }

    /// Zeroes every TLB's counters (entries are kept).
    pub fn reset_tlb_stats(&mut self) {
        for t in &mut self.tlbs {
            t.stats = TlbStats::default();
        }
    }

    /// Invalidates every TLB entry (`CMD_TLBI_*ALL`); O(number of TLBs).
    pub fn invalidate_all(&mut self) {
        for t in &mut self.tlbs {
            t.invalidate_all();
        }
    }

    /// Invalidates one stream's entries in every TLB.
    pub fn invalidate_stream(&mut self, sid: StreamId) {
        for t in &mut self.tlbs {
            t.invalidate_stream(sid);
        }
    }

    /// Routes one TLP hop by hop, every hop recorded. `setup` is the requester's
    /// stream as the kernel set it up; the path starts at `tlp.requester`.
    pub fn route(&mut self, setup: &StreamSetup, tlp: Tlp) -> Trace {
        let mut trace = Trace::recording();
        trace.hops.reserve(16);
        self.route_into(setup, tlp, &mut trace);
        trace
    }

    /// Routes one TLP into `out`, reusing its buffer. A recording trace is routed hop
    /// by hop (the reference); a summary-only trace goes through the flow cache.
    pub fn route_into(&mut self, setup: &StreamSetup, tlp: Tlp, out: &mut Trace) {
        self.route_inner(setup, tlp, out, false);
    }

    /// `route_into`; with `entry`, `self.ic_entry` tells where the route entered the
    /// interconnect (what `route_burst` reads; a flow cache hit sets it only then).
    #[inline(always)]
    pub(crate) fn route_inner(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        out: &mut Trace,
        entry: bool,
    ) {
        if !out.record && self.flows_on {
            let key = FlowKey::new(setup, &tlp);
            if let Some(v) = self.flows.get(&key) {
                let ic_entry = entry.then_some(&mut self.ic_entry);
                replay(v, tlp, out, ic_entry, &mut self.tlbs);
                return;
            }
            out.reset();
            self.reference(setup, tlp, out);
            self.flows
                .insert(key, FlowValue::of(tlp, out, self.ic_entry, self.touched));
            return;
        }
        out.reset();
        self.reference(setup, tlp, out);
    }

    /// The hop-by-hop router.
    fn reference(&mut self, setup: &StreamSetup, tlp: Tlp, out: &mut Trace) {
        self.ic_entry = None;
        self.touched = None;
        self.internal = false;
        // The router is compiled once per recorder (`route::Recorder`).
        if out.record {
            self.issue_and_complete(setup, tlp, out, KeepHops);
        } else {
            self.issue_and_complete(setup, tlp, out, SummaryOnly);
        }
        out.finish();
    }

    /// The request from its requester to its end and, for a read delivered to a BAR,
    /// its completion back.
    #[inline(always)]
    fn issue_and_complete<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        out: &mut Trace,
        rec: R,
    ) {
        out.end = self.issue(setup, tlp, Why::Issued, out, rec);
        if let (End::Delivered { target, .. }, Op::Read) = (out.end, tlp.op) {
            // The read as the completer received it (its last hop).
            let last = rec.last_tlp(out).unwrap_or(tlp);
            out.completion = Some(self.complete(target, last, out));
        }
    }

    /// Whether the flow cache serves summary-only routes (every decode boundary is
    /// page aligned, and it was not turned off). For the property tests.
    #[cfg(test)]
    fn flow_cache_enabled(&self) -> bool {
        self.flows_on
    }

    /// Turns the flow cache on or off (on by default): off, every route is the
    /// hop-by-hop reference, for measuring it.
    pub fn set_flow_cache(&mut self, on: bool) {
        self.flows_on = self.hw.page_exact && on;
    }

    fn issue<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        why: Why,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let r = tlp.requester;
        let Some(info) = self.hw.nodes.get(r.index()) else {
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        };
        rec.hop(tr, Place::Pci(r), Event::Issue, tlp, why);
        if info.kind == Kind::HostBridge {
            rec.hop(tr, Place::Pci(r), Event::Drop, tlp, Why::NoDecode);
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        }
        if let Some(end) = self.loopback(tlp, tr, rec) {
            return end;
        }
        self.upstream(setup, tlp, r, tr, rec)
    }

    /// ACS `bit` at `at` blocks the request (H1): a fault hop, an ACS violation.
    fn acs_violation<R: Recorder>(
        at: NodeId,
        bit: AcsFlags,
        tlp: Tlp,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        rec.hop(
            tr,
            Place::Pci(at),
            Event::Fault,
            tlp,
            Why::AcsBlocked { bit },
        );
        End::Fault(Fault::AcsViolation { port: at, bit })
    }

    /// H1 inside a multifunction device: a request for a sibling function's BAR stays
    /// inside the device when the requester function has an internal peer path and
    /// its ACS neither redirects nor blocks it (the one ACS decision, `PeerFunction`);
    /// otherwise it goes out on the link like any other.
    fn loopback<R: Recorder>(&mut self, tlp: Tlp, tr: &mut Trace, rec: R) -> Option<End> {
        let info = &self.hw.nodes[tlp.requester.index()];
        if info.slot_peers.is_empty() || tlp.at == At::TranslationRequest {
            return None;
        }
        let peer = info.slot_peers.iter().copied().find(|f| {
            self.hw.nodes[f.index()]
                .bars
                .iter()
                .any(|b| b.bus.contains(tlp.addr))
        })?;
        let decision = acs::decide(
            info.acs,
            self.hw.reader,
            AcsTlp {
                class: Class::Request(tlp.at),
                requester_in_range: true,
                dest: Dest::PeerFunction,
            },
        );
        let r = tlp.requester;
        match decision {
            Decision::Peer { .. } => {
                rec.hop(
                    tr,
                    Place::Pci(r),
                    Event::Forward,
                    tlp,
                    Why::FunctionLoopback { to: peer },
                );
                self.internal = true;
                Some(self.deliver(peer, tlp, tr, rec))
            }
            Decision::Block(bit) => Some(Self::acs_violation(r, bit, tlp, tr, rec)),
            Decision::Up { .. } | Decision::TurnBack => None,
        }
    }

    /// Whether H5 applies: data-carrying requests (writes). A read request's length is
    /// bounded by Max_Read_Request_Size, not MPS; translation requests carry no data.
    fn carries_data(tlp: &Tlp) -> bool {
        tlp.op == Op::Write && tlp.at != At::TranslationRequest
    }

    /// H5 at a receiving node: `Some(end)` if the TLP is malformed there. A
    /// conventional PCI device has no MPS (the bus carries transactions, not TLPs).
    #[inline(always)]
    fn mps_check<R: Recorder>(
        &self,
        node: NodeId,
        tlp: Tlp,
        tr: &mut Trace,
        rec: R,
    ) -> Option<End> {
        if !Self::carries_data(&tlp) || tlp.payload <= self.hw.nodes[node.index()].mps_limit {
            return None;
        }
        Some(self.malformed(node, tlp, tr, rec))
    }

    /// The drop of a TLP above `node`'s MPS (H5).
    #[cold]
    fn malformed<R: Recorder>(&self, node: NodeId, tlp: Tlp, tr: &mut Trace, rec: R) -> End {
        let mps = self.hw.nodes[node.index()].mps;
        rec.hop(
            tr,
            Place::Pci(node),
            Event::Drop,
            tlp,
            Why::MpsExceeded { mps },
        );
        End::Dropped(DropReason::MalformedTlp {
            link_at: node,
            payload: tlp.payload,
            mps,
        })
    }

    /// Upward from `from` (which the TLP just left): each receiving port decides (H1).
    /// A PCIe-to-PCI bridge receives a conventional device's write as a PCI
    /// transaction, not a TLP: no MPS applies, and what it forwards upstream it sends
    /// as TLPs of at most its own MPS.
    fn upstream<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        mut tlp: Tlp,
        from: NodeId,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let mut cur = from;
        let data = Self::carries_data(&tlp);
        // Bounded by depth: each step moves one node up.
        loop {
            let info = &self.hw.nodes[cur.index()];
            let Some(p) = info.parent else {
                // No way up (not under a host bridge): the route ends here, with a hop
                // like every other route (`Event::can_end`).
                rec.hop(tr, Place::Pci(cur), Event::Drop, tlp, Why::NoDecode);
                return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
            };
            let pinfo = &self.hw.nodes[p.index()];
            let pk = pinfo.kind;
            if pk == Kind::HostBridge {
                return self.root_complex(setup, tlp, p, cur, tr, rec);
            }
            let from_pci_bus = pk == Kind::PciBridge && info.conventional;
            if !from_pci_bus && data && tlp.payload > pinfo.mps_limit {
                return self.malformed(p, tlp, tr, rec);
            }
            if pk == Kind::SwitchUpstream {
                // The downstream port below already decided: up.
                rec.hop(tr, Place::Pci(p), Event::Forward, tlp, Why::NotBelow);
                cur = p;
                continue;
            }
            match self.ingress(p, pinfo, tlp) {
                // Most ports a route climbs through: up by address decode.
                Ingress::Up {
                    why: Why::NotBelow,
                    redirect: false,
                } if !from_pci_bus => {
                    rec.hop(tr, Place::Pci(p), Event::Forward, tlp, Why::NotBelow);
                    cur = p;
                }
                Ingress::Up { why, redirect } => {
                    let ev = if redirect {
                        Event::Redirect
                    } else {
                        Event::Forward
                    };
                    let mps = pinfo.mps;
                    let why = if from_pci_bus && data && tlp.payload > mps {
                        tlp.payload = mps;
                        Why::SplitOversized { chunk: mps }
                    } else {
                        why
                    };
                    rec.hop(tr, Place::Pci(p), ev, tlp, why);
                    cur = p;
                }
                Ingress::TurnBack => {
                    return self.descend(tlp, p, Some(Why::TurnBack), false, None, tr, rec);
                }
                Ingress::Peer { egress, why } => {
                    rec.hop(tr, Place::Pci(p), Event::Forward, tlp, why);
                    let Some(usp) = self.hw.nodes[p.index()].parent else {
                        rec.hop(tr, Place::Pci(p), Event::Drop, tlp, Why::NoDecode);
                        return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
                    };
                    if let Some(end) = self.mps_check(usp, tlp, tr, rec) {
                        return end;
                    }
                    let window = self.hw.nodes[egress.index()].window.find(tlp.addr);
                    if let Some(window) = window {
                        rec.hop(
                            tr,
                            Place::Pci(usp),
                            Event::Forward,
                            tlp,
                            Why::WindowMatch { window },
                        );
                    }
                    if let Some(end) = self.mps_check(egress, tlp, tr, rec) {
                        return end;
                    }
                    return self.descend(tlp, egress, None, false, None, tr, rec);
                }
                Ingress::Block(bit) => return Self::acs_violation(p, bit, tlp, tr, rec),
            }
        }
    }

    /// H1 at the ingress port `port` (the TLP came from below): address decode finds
    /// where the request would go, the one ACS decision (`acs::decide`) says what the
    /// port does with it.
    #[inline(always)]
    fn ingress(&self, port: NodeId, info: &NodeInfo, tlp: Tlp) -> Ingress {
        let in_range = requester_in_range(info, &self.hw.nodes[tlp.requester.index()]);
        let mut egress = None;
        let dest = if info.window.contains(tlp.addr) {
            Dest::Own
        } else if info.kind == Kind::SwitchDownstream {
            // A sibling can hold the address only if the switch's window does.
            egress = info
                .parent
                .filter(|usp| self.hw.nodes[usp.index()].window.contains(tlp.addr))
                .and_then(|usp| self.hw.child_at(usp, tlp.addr))
                .map(|(sibling, _)| sibling)
                .filter(|sibling| *sibling != port);
            egress.map_or(Dest::Up, |_| Dest::PeerPort)
        } else {
            Dest::Up
        };
        let decision = acs::decide(
            info.ingress_acs(),
            self.hw.reader,
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
    /// a merged burst that a root port may split (H4); `decoded`: `node`'s decode of
    /// the address, if the caller already made it.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)] // the walk's start as its four callers know it
    fn descend<R: Recorder>(
        &mut self,
        mut tlp: Tlp,
        node: NodeId,
        first_why: Option<Why>,
        merged: bool,
        decoded: Option<ChildRange>,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let data = Self::carries_data(&tlp);
        let info = &self.hw.nodes[node.index()];
        if info.kind == Kind::Endpoint {
            return self.deliver(node, tlp, tr, rec);
        }
        let decoded = decoded.or_else(|| self.hw.child_range(info, tlp.addr).copied());
        let Some(mut c) = decoded else {
            rec.hop(tr, Place::Pci(node), Event::Drop, tlp, Why::NoDecode);
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        };
        let why = first_why.unwrap_or(Why::WindowMatch { window: c.range });
        rec.hop(tr, Place::Pci(node), Event::Forward, tlp, why);
        // Bounded by depth: each step moves one node down.
        loop {
            let child = c.child;
            let ci = &self.hw.nodes[child.index()];
            if merged && ci.kind == Kind::RootPort && ci.splits && tlp.payload > ci.mps {
                let chunk = ci.mps;
                tlp.payload = chunk;
                rec.hop(
                    tr,
                    Place::Pci(child),
                    Event::Forward,
                    tlp,
                    Why::SplitOversized { chunk },
                );
            }
            if data && tlp.payload > ci.mps_limit {
                return self.malformed(child, tlp, tr, rec);
            }
            if ci.kind == Kind::Endpoint {
                return self.deliver(child, tlp, tr, rec);
            }
            let Some(&next) = self.hw.child_range(ci, tlp.addr) else {
                rec.hop(tr, Place::Pci(child), Event::Drop, tlp, Why::NoDecode);
                return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
            };
            c = next;
            let why = Why::WindowMatch { window: c.range };
            rec.hop(tr, Place::Pci(child), Event::Forward, tlp, why);
        }
    }

    /// At the target endpoint: a BAR must hold the address; TDISP ERROR rejects (C3).
    fn deliver<R: Recorder>(&self, ep: NodeId, tlp: Tlp, tr: &mut Trace, rec: R) -> End {
        let info = &self.hw.nodes[ep.index()];
        let Some(bar) = info.bars.iter().find(|b| b.bus.contains(tlp.addr)) else {
            rec.hop(tr, Place::Pci(ep), Event::Drop, tlp, Why::NoDecode);
            return End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr });
        };
        match info.tdisp {
            Some(TdispState::Error) => {
                rec.hop(tr, Place::Pci(ep), Event::Fault, tlp, Why::TdispError);
                return End::Fault(Fault::TdispRejected { target: ep });
            }
            // C3: RUN serves its TEE MMIO (the whole BAR, as peerpath takes it) only to
            // T=1 requests on the bound stream; UNLOCKED and LOCKED refuse T=1.
            Some(tdisp @ TdispState::Run) if !tlp.t => {
                return Self::refuse(ep, tdisp, tlp, tr, rec);
            }
            Some(tdisp @ (TdispState::Unlocked | TdispState::Locked)) if tlp.t => {
                return Self::refuse(ep, tdisp, tlp, tr, rec);
            }
            _ => {}
        }
        let offset = tlp.addr - bar.bus.start;
        rec.hop(
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

    /// The target TDI refuses the request by its T bit (C3).
    fn refuse<R: Recorder>(ep: NodeId, tdisp: TdispState, tlp: Tlp, tr: &mut Trace, rec: R) -> End {
        let why = Why::TdispRefused { t: tlp.t };
        rec.hop(tr, Place::Pci(ep), Event::Fault, tlp, why);
        End::Fault(Fault::TdispRefused {
            target: ep,
            tdisp,
            t: tlp.t,
        })
    }

    /// H7: the CPU physical address in the interconnect's map.
    fn interconnect<R: Recorder>(
        &mut self,
        tlp: Tlp,
        src: Src,
        merged: bool,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let decoded = self.hw.decode(tlp.addr);
        if !merged {
            self.ic_entry = Some(IcEntry {
                hop_index: tr.hops.len(),
                summary_hops: tr.summary.hops,
                tlp,
                src,
                to_pci: matches!(decoded, Some(Decode::Hb { .. })),
            });
        }
        match decoded {
            None => {
                rec.hop(tr, Place::Interconnect, Event::Drop, tlp, Why::NoDecode);
                End::Dropped(DropReason::UnsupportedRequest { addr: tlp.addr })
            }
            Some(Decode::Dram(region)) => {
                rec.hop(
                    tr,
                    Place::Interconnect,
                    Event::Forward,
                    tlp,
                    Why::DramDecode { region },
                );
                rec.hop(
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
                self.down_host_bridge(tlp, src, hb, offset, via, tr, rec)
            }
        }
    }

    /// Resumes a merged burst at the interconnect (H4): its end, and the root port it
    /// went down, if it got that far.
    pub(crate) fn resume_merged(
        &mut self,
        burst: Tlp,
        src: Src,
        tr: &mut Trace,
    ) -> (End, Option<NodeId>) {
        self.burst_root_port = None;
        let end = if tr.record {
            self.interconnect(burst, src, true, tr, KeepHops)
        } else {
            self.interconnect(burst, src, true, tr, SummaryOnly)
        };
        (end, self.burst_root_port.take())
    }

    /// What host bridge `hb`'s root complex forwards of requests of `op` (H6).
    fn forwards(&self, hb: NodeId, op: Op) -> ForwardsP2p {
        self.hw.hbs[hb.index()]
            .as_ref()
            .map_or(ForwardsP2p::None, |h| match op {
                Op::Write => h.forwards,
                Op::Read => h.forwards_reads,
            })
    }

    /// H6: whether a root complex with `forwards` sends peer traffic that came up a
    /// root port of `from_hb` down a root port of `to_hb`.
    fn forwarded(forwards: ForwardsP2p, from_hb: NodeId, to_hb: NodeId) -> bool {
        match forwards {
            ForwardsP2p::None => false,
            ForwardsP2p::SameHostBridge => from_hb == to_hb,
            ForwardsP2p::Any => true,
        }
    }

    /// Whether `node` is `r` or above it.
    fn holds(&self, node: NodeId, r: NodeId) -> bool {
        let mut cur = Some(r);
        // Bounded by depth.
        while let Some(c) = cur {
            if c == node {
                return true;
            }
            cur = self.hw.nodes[c.index()].parent;
        }
        false
    }

    /// The child of `node` on the way down to `r` (which `node` holds, `r != node`).
    fn child_toward(&self, node: NodeId, r: NodeId) -> NodeId {
        let mut cur = r;
        // Bounded by depth.
        while let Some(p) = self.hw.nodes[cur.index()].parent {
            if p == node {
                return cur;
            }
            cur = p;
        }
        cur
    }

    /// From the root complex (or the interconnect) down into host bridge `to_hb`'s
    /// hierarchy: H6 forwarding, then address decode by windows. `tlp.addr` is CPU
    /// physical when it comes through the interconnect, else already a bus address of
    /// `to_hb`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)] // the decode's result as its two callers have it
    fn down_host_bridge<R: Recorder>(
        &mut self,
        mut tlp: Tlp,
        src: Src,
        to_hb: NodeId,
        offset: u64,
        via: Via,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let via_interconnect = via != Via::RootComplex;
        let bus = if via_interconnect {
            tlp.addr.wrapping_add(offset)
        } else {
            tlp.addr
        };
        let decoded = self
            .hw
            .child_range(&self.hw.nodes[to_hb.index()], bus)
            .copied();
        let target_rp = decoded
            .map(|c| c.child)
            .filter(|c| self.hw.nodes[c.index()].kind == Kind::RootPort);
        let from_hb = src.hb;
        if let (Some(from_rp), Some(to_rp)) = (src.rp, target_rp) {
            let forwards = self.forwards(from_hb, tlp.op);
            if !Self::forwarded(forwards, from_hb, to_hb) {
                let why = match tlp.op {
                    Op::Write => Why::RcNoForward { forwards },
                    Op::Read => Why::RcNoForwardRead { forwards },
                };
                rec.hop(tr, Place::Pci(from_hb), Event::Drop, tlp, why);
                return End::Dropped(DropReason::RcNoForward {
                    from_root_port: Some(from_rp),
                    to_root_port: Some(to_rp),
                    from_hb,
                    to_hb,
                });
            }
        }
        if via == Via::MergedBurst {
            self.burst_root_port = target_rp;
        }
        if via_interconnect {
            rec.hop(
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
            self.descend(tlp, to_hb, None, via == Via::MergedBurst, decoded, tr, rec)
        } else {
            let why = Some(Why::RootComplexInternal);
            self.descend(tlp, to_hb, why, false, decoded, tr, rec)
        }
    }
}

mod completion;
mod root_complex;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod prop;
