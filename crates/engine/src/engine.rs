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
//! (`ats_request`; `without_agent`; `through_agent`: StreamID, the STE
//! (`SteAction`), `translate` by TLB and page table, then permissions) →
//! `interconnect` (H7) → `down_host_bridge` (H6) → `descend` (H5) → `deliver` (C3);
//! a delivered read's completion in `complete`, `completion_ingress`,
//! `completion_at_root_complex` and `completion_down`.

use std::sync::Arc;

use peerpath_model::{
    AcsFlags, ForwardsP2p, Iommu, IommuId, Iova, NodeId, Op, Platform, StreamId, TdispState,
    Translation,
};
use peerpath_topology::acs::{self, AcsTlp, Class, Decision, Dest, Reader};
use peerpath_topology::Topology;

use crate::flow::{FlowCache, FlowKey, FlowValue, TlbTouch};
use crate::hardware::{Agent, ChildRange, Decode, Hardware, Kind, NodeInfo};
use crate::pagetable::{IoPageTable, LookupError};
use crate::route::{IcEntry, KeepHops, Recorder, Src, SummaryOnly};
use crate::tlb::{Tlb, TlbEntry, PAGE_SHIFT};
use crate::types::{
    At, Completion, CplEnd, DropReason, End, Event, Fault, Hop, Place, Ste, StreamSetup, TlbId,
    TlbStats, Tlp, Trace, Why,
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

/// What a stream table entry does with an untranslated request (H3).
#[derive(Clone, Copy, Debug)]
enum SteAction<'s> {
    /// Fault it: the STE aborts, or the stream is unattached (no domain) and the
    /// IOMMU has `disable_bypass` (arm-smmu-v3's module parameter, the Linux
    /// default).
    Abort,
    /// Pass it on untranslated: the STE bypasses, or the stream is unattached and
    /// bypass is allowed.
    Bypass,
    /// Translate it through the domain's page table.
    Translate(&'s IoPageTable),
}

impl<'s> SteAction<'s> {
    #[inline(always)]
    fn of(ste: &'s Ste, disable_bypass: bool) -> Self {
        match ste {
            Ste::Abort => Self::Abort,
            Ste::NoIommu if disable_bypass => Self::Abort,
            Ste::NoIommu | Ste::Bypass => Self::Bypass,
            Ste::Translate(table) => Self::Translate(table),
        }
    }
}

/// A read's completion on its way back to the requester (`Engine::complete`): what it
/// has done so far, the read it completes, and the trace its hops go to.
struct CplRoute<'a> {
    c: Completion,
    /// The read as the completer received it.
    tlp: Tlp,
    tr: &'a mut Trace,
}

impl CplRoute<'_> {
    /// One hop of the completion: counted, and kept in `Trace::completion_hops` when
    /// the trace records.
    fn hop(&mut self, at: Place, event: Event, why: Why) {
        self.c.hops += 1;
        if self.tr.record {
            self.tr.completion_hops.push(Hop {
                at,
                event,
                tlp: self.tlp,
                why,
            });
        }
    }

    /// The completion, ended by `end`.
    fn ended(mut self, end: CplEnd) -> Completion {
        self.c.end = end;
        self.c
    }
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
    /// (what-if comparisons: "if the switch did what p2pdma assumes").
    pub fn with_acs_reader(topo: &'t Topology<'t>, reader: Reader) -> Self {
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
    /// page aligned, and it was not turned off).
    pub fn flow_cache_enabled(&self) -> bool {
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

    fn iommu(&self, id: IommuId) -> Option<&'t Iommu> {
        self.platform().iommus.get(id.index())
    }

    /// The root complex: translation (H2, H3), then decode (H7) and forwarding (H6).
    /// A translation request goes to the IOMMU (`ats_request`); any other request to
    /// the translation agent of the port it came up (`through_agent`), or, where that
    /// port has none, on untranslated (`without_agent`).
    fn root_complex<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        hb: NodeId,
        from: NodeId,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let src = Src {
            hb,
            rp: (self.hw.nodes[from.index()].kind == Kind::RootPort).then_some(from),
        };
        if tlp.at == At::TranslationRequest {
            return self.ats_request(setup, tlp, hb, tr, rec);
        }
        match self.hw.nodes[from.index()].agent {
            Some(agent) => self.through_agent(setup, tlp, src, agent, tr, rec),
            None => self.without_agent(tlp, src, tr, rec),
        }
    }

    /// A request at a root complex with no translation agent for it (`none`, no
    /// IOMMU; H2, H7): a translated one faults; an untranslated bus address in the host
    /// bridge's own windows is routed inside the root complex, anything else goes out
    /// to the interconnect as it is.
    #[inline(always)]
    fn without_agent<R: Recorder>(&mut self, tlp: Tlp, src: Src, tr: &mut Trace, rec: R) -> End {
        let hb = src.hb;
        if tlp.at == At::Translated {
            rec.hop(tr, Place::Pci(hb), Event::Fault, tlp, Why::NoTranslation);
            return End::Fault(Fault::NoTranslationAgent);
        }
        let own = self.hw.hbs[hb.index()]
            .as_ref()
            .and_then(|h| h.windows.iter().find(|w| w.bus.contains(tlp.addr)).copied());
        if let Some(w) = own {
            return self.down_host_bridge(tlp, src, hb, w.offset, Via::RootComplex, tr, rec);
        }
        rec.hop(tr, Place::Pci(hb), Event::Forward, tlp, Why::NoTranslation);
        self.interconnect(tlp, src, false, tr, rec)
    }

    /// A request at translation agent `agent` (H3): the requester's StreamID, then a
    /// translated request (AT=10b) passes only with EATS (H2); an untranslated one
    /// meets its STE: abort (also an unattached stream under `disable_bypass`),
    /// bypass, or translation by the page table (`translate`) to the interconnect.
    #[inline(always)]
    fn through_agent<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        mut tlp: Tlp,
        src: Src,
        agent: Agent,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let sid = match self.stream_id(tlp, agent.place, tr, rec) {
            Ok(sid) => sid,
            Err(end) => return end,
        };
        if tlp.at == At::Translated {
            if Self::eats(agent.ats, setup) {
                let why = Why::TranslatedPassThrough { sid };
                rec.hop(tr, agent.place, Event::Forward, tlp, why);
                return self.interconnect(tlp, src, false, tr, rec);
            }
            rec.hop(tr, agent.place, Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::AtsNotEnabled);
        }
        let table = match SteAction::of(&setup.ste, agent.disable_bypass) {
            SteAction::Translate(table) => table,
            SteAction::Bypass => {
                rec.hop(
                    tr,
                    agent.place,
                    Event::Forward,
                    tlp,
                    Why::StreamBypass { sid },
                );
                return self.interconnect(tlp, src, false, tr, rec);
            }
            SteAction::Abort => {
                let why = Why::StreamAbort { sid: Some(sid) };
                rec.hop(tr, agent.place, Event::Fault, tlp, why);
                return End::Fault(Fault::StreamAbort { sid: Some(sid) });
            }
        };
        let Some((entry, why)) = self.translate(table, sid, agent.tlb, tlp.addr) else {
            let err = LookupError::Unmapped;
            return Self::translation_fault(err, sid, agent.place, tlp, tr, rec);
        };
        if !entry.prot.permits(tlp.op) {
            let err = LookupError::NotPermitted;
            return Self::translation_fault(err, sid, agent.place, tlp, tr, rec);
        }
        tlp.addr = (entry.ppn << PAGE_SHIFT) | (tlp.addr & ((1 << PAGE_SHIFT) - 1));
        tr.attr = Some(entry.prot.attr);
        rec.hop(tr, agent.place, Event::Translate, tlp, why);
        self.interconnect(tlp, src, false, tr, rec)
    }

    /// H3: the page of `addr` through `table` for stream `sid`, by the agent's TLB
    /// (`tlb`, an index into `self.tlbs`) if it has one: a hit answers from the TLB; a
    /// miss walks the table and fills the TLB with the page's entry. `None`: the page
    /// is unmapped (a miss that fills nothing). The access is kept in `self.touched`
    /// for the flow cache to replay. Returns the entry and the hop's reason (`TlbHit`,
    /// `TlbMiss`); the entry's permissions are the caller's to check.
    #[inline(always)]
    fn translate(
        &mut self,
        table: &IoPageTable,
        sid: StreamId,
        tlb: Option<usize>,
        addr: u64,
    ) -> Option<(TlbEntry, Why)> {
        let vpn = addr >> PAGE_SHIFT;
        let cached = tlb
            .and_then(|i| self.tlbs.get_mut(i))
            .and_then(|t| t.lookup(table.tag(), sid, vpn));
        let mut touch = tlb.map(|tlb| TlbTouch {
            tlb,
            table: table.tag(),
            sid,
            vpn,
            entry: None,
        });
        let (entry, why) = match cached {
            Some(e) => (e, Why::TlbHit { sid }),
            None => {
                let Some(m) = table.mapping(Iova(addr)) else {
                    self.touched = touch;
                    return None;
                };
                let page = vpn << PAGE_SHIFT;
                let e = TlbEntry {
                    ppn: (m.pa.0 + (page - m.iova.start)) >> PAGE_SHIFT,
                    prot: m.prot,
                };
                if let Some(t) = tlb.and_then(|i| self.tlbs.get_mut(i)) {
                    t.fill(table.tag(), sid, vpn, e);
                }
                (e, Why::TlbMiss { sid })
            }
        };
        if let Some(t) = &mut touch {
            t.entry = Some(entry);
        }
        self.touched = touch;
        Some((entry, why))
    }

    /// The requester's StreamID (H3), kept in the trace; or, for a requester the
    /// IOMMU has no StreamID for, a fault hop at `place`.
    #[inline(always)]
    fn stream_id<R: Recorder>(
        &self,
        tlp: Tlp,
        place: Place,
        tr: &mut Trace,
        rec: R,
    ) -> Result<StreamId, End> {
        let req = &self.hw.nodes[tlp.requester.index()];
        let Some(sid) = req.sid else {
            rec.hop(tr, place, Event::Fault, tlp, Why::NoStreamId);
            let rid = req.rid.unwrap_or(0);
            return Err(End::Fault(Fault::NoStreamId { rid }));
        };
        tr.sid = Some(sid);
        Ok(sid)
    }

    /// A translation (H3, or an ATS translation request, H2) that found no mapping,
    /// or one that does not permit the operation: a fault hop at `place`.
    fn translation_fault<R: Recorder>(
        err: LookupError,
        sid: StreamId,
        place: Place,
        tlp: Tlp,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let (why, fault) = match err {
            LookupError::Unmapped => (Why::Unmapped { sid }, Fault::Unmapped { iova: tlp.addr }),
            LookupError::NotPermitted => (
                Why::NotPermitted { sid },
                Fault::Permission {
                    iova: tlp.addr,
                    op: tlp.op,
                },
            ),
        };
        rec.hop(tr, place, Event::Fault, tlp, why);
        End::Fault(fault)
    }

    /// EATS: the IOMMU has ATS, the kernel enabled ATS, and the STE translates (H2).
    fn eats(iommu_ats: bool, setup: &StreamSetup) -> bool {
        iommu_ats && setup.ats_enabled && matches!(setup.ste, Ste::Translate(_))
    }

    /// H2: a translation request answered by the IOMMU (TCU) from the page table; the
    /// device then re-issues the request as translated (AT=10b).
    fn ats_request<R: Recorder>(
        &mut self,
        setup: &StreamSetup,
        tlp: Tlp,
        hb: NodeId,
        tr: &mut Trace,
        rec: R,
    ) -> End {
        let agent_iommu = self.hw.hbs[hb.index()]
            .as_ref()
            .filter(|h| h.translation != Translation::None)
            .and_then(|h| h.iommu)
            .filter(|i| self.iommu(*i).is_some());
        let Some(iommu_id) = agent_iommu else {
            rec.hop(tr, Place::Pci(hb), Event::Fault, tlp, Why::AtsNotEnabled);
            return End::Fault(Fault::NoTranslationAgent);
        };
        let place = Place::Iommu(iommu_id);
        let sid = match self.stream_id(tlp, place, tr, rec) {
            Ok(sid) => sid,
            Err(end) => return end,
        };
        let table = match &setup.ste {
            Ste::Translate(t) if Self::eats(self.iommu(iommu_id).is_some_and(|i| i.ats), setup) => {
                t
            }
            _ => {
                rec.hop(tr, place, Event::Fault, tlp, Why::AtsNotEnabled);
                return End::Fault(Fault::AtsNotEnabled);
            }
        };
        let pa = match table.lookup(Iova(tlp.addr), tlp.op) {
            Ok(t) => t.pa.0,
            Err(err) => return Self::translation_fault(err, sid, place, tlp, tr, rec),
        };
        let translated = Tlp {
            addr: pa,
            at: At::Translated,
            ..tlp
        };
        rec.hop(
            tr,
            place,
            Event::Translate,
            translated,
            Why::AtsCompletion { sid },
        );
        // The re-issued request is AT=10b, so this recursion happens at most once.
        self.issue(setup, translated, Why::AtsReissue, tr, rec)
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

    /// The completion of a read that `completer` received as `tlp` (as delivered),
    /// routed back by ID to `tlp.requester` [PCIe r7.0 §2.2.4.2 ID-based routing;
    /// §2.2.9 completion rules]: up from the completer until a port holds the
    /// requester's bus, where each ingress port applies its ACS to a completion
    /// (`completion_ingress`); a completion that reaches the root complex goes on in
    /// `completion_at_root_complex`. A completion inside a multifunction device (the
    /// read looped back) stays inside it. No MPS check: the completer splits its data
    /// at the Read Completion Boundary and its own MPS (not modelled).
    fn complete(&self, completer: NodeId, tlp: Tlp, tr: &mut Trace) -> Completion {
        let r = tlp.requester;
        let mut cpl = CplRoute {
            c: Completion {
                completer,
                end: CplEnd::Returned,
                redirected_at: None,
                root_complex: None,
                hops: 0,
            },
            tlp,
            tr,
        };
        cpl.hop(Place::Pci(completer), Event::Issue, Why::CompletionIssued);
        if self.internal {
            return self.completion_down(cpl, r);
        }
        let mut cur = completer;
        // Bounded by depth: each step moves one node up.
        loop {
            let Some(p) = self.hw.nodes[cur.index()].parent else {
                cpl.hop(Place::Pci(cur), Event::Drop, Why::NoDecode);
                let reason = DropReason::UnsupportedRequest { addr: tlp.addr };
                return cpl.ended(CplEnd::Dropped(reason));
            };
            let pinfo = &self.hw.nodes[p.index()];
            if pinfo.kind == Kind::HostBridge {
                return self.completion_at_root_complex(cpl, cur, p);
            }
            if pinfo.kind == Kind::SwitchUpstream {
                // The downstream port below already decided: up.
                cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                cur = p;
                continue;
            }
            let (decision, egress) = self.completion_ingress(p, completer, r);
            match decision {
                Decision::Up { by: Some(bit) } => {
                    let why = Why::CompletionRedirect { bit };
                    cpl.hop(Place::Pci(p), Event::Redirect, why);
                    cpl.c.redirected_at.get_or_insert(p);
                    cur = p;
                }
                Decision::Up { by: None } => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    cur = p;
                }
                Decision::Peer { .. } => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    let (Some(usp), Some(egress)) = (pinfo.parent, egress) else {
                        // `PeerPort` is only asked with both found.
                        return self.completion_down(cpl, p);
                    };
                    cpl.hop(Place::Pci(usp), Event::Forward, Why::CompletionById);
                    if egress != r {
                        cpl.hop(Place::Pci(egress), Event::Forward, Why::CompletionById);
                    }
                    return self.completion_down(cpl, egress);
                }
                Decision::TurnBack => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    return self.completion_down(cpl, p);
                }
                Decision::Block(bit) => {
                    cpl.hop(Place::Pci(p), Event::Fault, Why::AcsBlocked { bit });
                    return cpl.ended(CplEnd::Fault(Fault::AcsViolation { port: p, bit }));
                }
            }
        }
    }

    /// H1 for a completion at ingress port `port` (it came from below) on its way from
    /// `completer` to requester `r`: the ID route says where it would go (the port's
    /// own side if the port holds `r`, a sibling port below the same switch, or up);
    /// the one ACS decision says what the port does with it (CR redirects a peer
    /// completion upstream, UF one that would turn back out of its ingress port, SV
    /// checks the completer's bus; RR, EC, DT and TB concern requests). Returns the
    /// decision and the sibling port, if the ID route found one.
    fn completion_ingress(
        &self,
        port: NodeId,
        completer: NodeId,
        r: NodeId,
    ) -> (Decision, Option<NodeId>) {
        let info = &self.hw.nodes[port.index()];
        let mut egress = None;
        let dest = if self.holds(port, r) {
            Dest::Own
        } else if info.kind == Kind::SwitchDownstream {
            egress = info
                .parent
                .filter(|usp| self.holds(*usp, r))
                .map(|usp| self.child_toward(usp, r));
            egress.map_or(Dest::Up, |_| Dest::PeerPort)
        } else {
            Dest::Up
        };
        let decision = acs::decide(
            info.ingress_acs(),
            self.hw.reader,
            AcsTlp {
                class: Class::Completion,
                requester_in_range: requester_in_range(info, &self.hw.nodes[completer.index()]),
                dest,
            },
        );
        (decision, egress)
    }

    /// A completion that came up to host bridge `hb` from `from`: routed by ID,
    /// untranslated (an IOMMU translates requests, not completions), and back down a
    /// root port only where the root complex forwards peer reads (H6: the
    /// `forwards_p2p_reads` of the requester's host bridge, the root complex that
    /// forwarded the read, or whose root port received the redirected completion);
    /// across the interconnect to the requester's host bridge if that is another.
    fn completion_at_root_complex(
        &self,
        mut cpl: CplRoute<'_>,
        from: NodeId,
        hb: NodeId,
    ) -> Completion {
        let r = cpl.tlp.requester;
        let mut to_hb = r;
        while let Some(up) = self.hw.nodes[to_hb.index()].parent {
            to_hb = up;
        }
        let from_rp = (self.hw.nodes[from.index()].kind == Kind::RootPort).then_some(from);
        let to_rp = (to_hb != r)
            .then(|| self.child_toward(to_hb, r))
            .filter(|n| self.hw.nodes[n.index()].kind == Kind::RootPort);
        if let (Some(_), Some(_)) = (from_rp, to_rp) {
            let forwards = self.forwards(to_hb, Op::Read);
            if !Self::forwarded(forwards, hb, to_hb) {
                cpl.hop(
                    Place::Pci(hb),
                    Event::Drop,
                    Why::RcNoForwardRead { forwards },
                );
                return cpl.ended(CplEnd::Dropped(DropReason::RcNoForward {
                    from_root_port: from_rp,
                    to_root_port: to_rp,
                    from_hb: hb,
                    to_hb,
                }));
            }
        }
        cpl.c.root_complex = Some(hb);
        cpl.hop(Place::Pci(hb), Event::Forward, Why::CompletionById);
        if hb != to_hb {
            cpl.hop(Place::Interconnect, Event::Forward, Why::CompletionById);
            cpl.hop(Place::Pci(to_hb), Event::Forward, Why::CompletionById);
        }
        self.completion_down(cpl, to_hb)
    }

    /// A completion down by ID from `from` (which holds the requester) to the
    /// requester, where it is delivered.
    fn completion_down(&self, mut cpl: CplRoute<'_>, from: NodeId) -> Completion {
        let r = cpl.tlp.requester;
        let mut cur = from;
        // Bounded by depth: each step moves one node down.
        while cur != r {
            cur = self.child_toward(cur, r);
            if cur != r {
                cpl.hop(Place::Pci(cur), Event::Forward, Why::CompletionById);
            }
        }
        cpl.hop(Place::Pci(r), Event::Deliver, Why::CompletionReturned);
        cpl.c
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod prop;
