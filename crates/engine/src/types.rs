//! The engine's public data: TLPs, what the kernel set up for a stream, and the
//! structured trace of a route. Plain data; nothing here formats user-facing text
//! except the short `Display` phrases of `Why`, `Event`, `At` (renderers may use them).
//!
//! Stability: these types are the contract with `peerpath-rules`. Add, don't rename.

use std::fmt;

use peerpath_model::{
    AcsFlags, AddrRange, ForwardsP2p, IommuId, NodeId, Op, StreamId, TbuId, TdispState,
};

use crate::pagetable::{IoPageTable, MemAttr};

pub use peerpath_model::At;

/// One memory request TLP.
///
/// `addr` is the address as on the wire at that point of the route: the DMA address
/// the requester issues, a PCI bus address below a host bridge, a CPU physical address
/// in the interconnect. The `Hop::at` place says which side of a host bridge it is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tlp {
    /// The endpoint that issues the request.
    pub requester: NodeId,
    /// Read or write.
    pub op: Op,
    /// The address on the wire.
    pub addr: u64,
    /// Payload bytes (a write's data; a read's requested length).
    pub payload: u32,
    /// Address Type.
    pub at: At,
    /// The T bit of the IDE TLP prefix: the request of a TDI in RUN to TEE memory,
    /// carried on a selective IDE stream ([PCIe §6.33], TDISP, rules.md C3). Its
    /// completion carries it back.
    pub t: bool,
}

impl Tlp {
    /// An untranslated memory write.
    pub fn write(requester: NodeId, addr: u64, payload: u32) -> Self {
        Self {
            requester,
            op: Op::Write,
            addr,
            payload,
            at: At::Untranslated,
            t: false,
        }
    }

    /// An untranslated memory read.
    pub fn read(requester: NodeId, addr: u64, payload: u32) -> Self {
        Self {
            requester,
            op: Op::Read,
            addr,
            payload,
            at: At::Untranslated,
            t: false,
        }
    }

    /// The same TLP with another Address Type.
    pub fn with_at(self, at: At) -> Self {
        Self { at, ..self }
    }

    /// The same TLP with the T bit set or clear (C3).
    pub fn with_t(self, t: bool) -> Self {
        Self { t, ..self }
    }
}

/// The Stream Table Entry the kernel left for the requester's stream (H2, H3), from
/// the importer's domain (K3.2). Built by `peerpath-rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ste {
    /// The kernel did not attach the stream to any domain (no IOMMU driver, or the
    /// device is outside every IOMMU). If the hardware nevertheless has an IOMMU on
    /// the route, the stream is *unattached* (SMMU architecture): it aborts when the IOMMU has
    /// `disable_bypass`, else bypasses (H3).
    NoIommu,
    /// A blocked domain, or no domain with `disable_bypass`: every transaction
    /// aborts. EATS=0.
    Abort,
    /// Identity domain, or no domain without `disable_bypass`: IOVA = PA. EATS=0.
    Bypass,
    /// A paging domain (`dma`, `dma-fq`, `unmanaged`) with its I/O page table.
    Translate(IoPageTable),
}

/// What the kernel set up for the importer's stream: built by `peerpath-rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSetup {
    /// The endpoint whose stream this is (the requester of the TLPs routed with it).
    pub requester: NodeId,
    /// Its STE.
    pub ste: Ste,
    /// Whether the kernel enabled ATS on the device (H2: only for paging domains on
    /// an IOMMU with `ats`, and not with `pci=noats`). The SMMU sets EATS only then.
    pub ats_enabled: bool,
}

/// Where a hop happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// A PCI node: endpoint, port, PCI bridge, or a host bridge (the root complex,
    /// also the place of an integrated/DTI translation agent).
    Pci(NodeId),
    /// An SMMU TBU on the data path (external-tbu, H3).
    Tbu(TbuId),
    /// An IOMMU itself (the SMMU TCU answering ATS translation requests, or an IOMMU
    /// translating for a root port that names no TBU).
    Iommu(IommuId),
    /// The system interconnect's CPU physical address map (H7).
    Interconnect,
    /// A DRAM region, index into `Platform::memory`.
    Memory(usize),
}

impl Place {
    /// The platform name of the place (`interconnect` for the interconnect).
    pub fn name(self, p: &peerpath_model::Platform) -> &str {
        match self {
            Place::Pci(n) => p.nodes.get(n.index()).map_or("", |x| x.name.as_str()),
            Place::Tbu(t) => p
                .iommus
                .get(t.iommu.index())
                .and_then(|i| i.tbus.get(t.index as usize))
                .map_or("", |t| t.name.as_str()),
            Place::Iommu(i) => p.iommus.get(i.index()).map_or("", |i| i.name.as_str()),
            Place::Interconnect => "interconnect",
            Place::Memory(i) => p.memory.get(i).map_or("memory", |m| m.name.as_str()),
        }
    }
}

/// What happened at a hop (output-format.md `route[].event`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// The requester puts the TLP on its link.
    Issue,
    /// Routed on by address decode.
    Forward,
    /// Sent upstream by ACS instead of where address decode would send it.
    Redirect,
    /// A translation agent changed the address.
    Translate,
    /// The interconnect merged consecutive writes into one burst (H4).
    Merge,
    /// Reached its target (an endpoint's BAR or DRAM).
    Deliver,
    /// Stopped by ACS, the IOMMU or the target: a fault is reported.
    Fault,
    /// Discarded (unsupported request, malformed, not forwarded).
    Drop,
}

impl Event {
    /// Whether a route can end at a hop of this kind: delivered, faulted or dropped
    /// there, or merged into a burst (whose leading TLP goes on). Every route the
    /// router takes ends with such a hop, so a summary-only route keeps its last hop
    /// (`RouteSummary::last`) from these alone.
    #[inline]
    pub fn can_end(self) -> bool {
        matches!(
            self,
            Event::Deliver | Event::Fault | Event::Drop | Event::Merge
        )
    }

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Issue => "issue",
            Event::Forward => "forward",
            Event::Redirect => "redirect",
            Event::Translate => "translate",
            Event::Merge => "merge",
            Event::Deliver => "deliver",
            Event::Fault => "fault",
            Event::Drop => "drop",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which TLB or IOTLB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlbId {
    /// An SMMU TBU's TLB (external-tbu).
    Tbu(TbuId),
    /// The IOTLB of a root complex's own translation agent (integrated, dti-ats, or
    /// an external-tbu root port that names no TBU), keyed by its host bridge.
    HostBridge(NodeId),
}

/// Hit and miss counters of one TLB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlbStats {
    /// Lookups served from the TLB.
    pub hits: u64,
    /// Lookups that asked the page table (TCU walk).
    pub misses: u64,
    /// Valid entries replaced on a miss (LRU victim).
    pub evictions: u64,
}

/// Why a hop happened: structured data for the rules and renderers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The requester issues the TLP.
    Issued,
    /// The address is not below this port: forwarded upstream by address decode.
    NotBelow,
    /// The address lies in this child's window (bus space): forwarded down.
    WindowMatch {
        /// The child's window (bus addresses).
        window: AddrRange,
    },
    /// A switch routes a request between two of its downstream ports (no ACS redirect).
    SwitchPeer {
        /// The egress downstream port.
        egress: NodeId,
    },
    /// A function of a multifunction device routes the request to a sibling function
    /// inside the device (its ACS implements RR and neither RR nor EC is set) (H1).
    FunctionLoopback {
        /// The sibling function.
        to: NodeId,
    },
    /// The address lies below the ingress port itself and UF is clear: it turns back
    /// down the port it came in on without going upstream (H1).
    TurnBack,
    /// ACS redirected the request upstream (H1). `bit` is the ACS bit responsible
    /// (RR; UF has its own reason; with a p2pdma reader also CR or EC).
    AcsRedirect {
        /// The responsible bit.
        bit: AcsFlags,
    },
    /// ACS Upstream Forwarding: a request that would turn back out of its ingress port
    /// is sent upstream (H1).
    AcsUpstreamForwarding,
    /// ACS DT: a translated (AT=10b) peer request routes directly despite RR/EC (H1).
    AcsDirectTranslated,
    /// ACS blocked the request (SV, TB, or EC without RR) (H1).
    AcsBlocked {
        /// The responsible bit.
        bit: AcsFlags,
    },
    /// A translation request (AT=01b) is routed upstream to the translation agent (H2).
    TranslationRequestUpstream,
    /// The request enters the root complex from a root port or RCiEP. Reserved: this
    /// version does not emit it (the agent's or root complex's own hop follows the
    /// root port's directly).
    EnterRootComplex,
    /// The TLB held the translation (H3).
    TlbHit {
        /// The StreamID looked up.
        sid: StreamId,
    },
    /// The TLB missed; the TCU walked the page table (H3).
    TlbMiss {
        /// The StreamID looked up.
        sid: StreamId,
    },
    /// An ATS translation request was answered from the page table (H2); the device
    /// then issues the request again with AT=10b and the translated address.
    AtsCompletion {
        /// The StreamID looked up.
        sid: StreamId,
    },
    /// The device re-issues its request as translated (AT=10b) after an ATS completion.
    AtsReissue,
    /// The STE bypasses: IOVA = PA (identity domain, or unattached without
    /// `disable_bypass`) (H3).
    StreamBypass {
        /// The StreamID.
        sid: StreamId,
    },
    /// A translated (AT=10b) request passes the agent unchanged (EATS=1) (H2).
    TranslatedPassThrough {
        /// The StreamID.
        sid: StreamId,
    },
    /// The root complex has no translation agent (`translation: none` or no IOMMU).
    NoTranslation,
    /// The interconnect decoded the CPU physical address to a host bridge window (H7);
    /// the TLP leaves with the bus address `cpu + bus_offset`.
    HostBridgeWindow {
        /// The host bridge that owns the window.
        host_bridge: NodeId,
        /// The window's `bus - cpu` (wrapping).
        bus_offset: u64,
    },
    /// The root complex routed a bus address in one of its own windows back down
    /// without leaving through the interconnect.
    RootComplexInternal,
    /// The interconnect decoded the address to DRAM (H7).
    DramDecode {
        /// Index into `Platform::memory`.
        region: usize,
    },
    /// The address decodes to nothing (H7) or to no BAR / child window.
    NoDecode,
    /// The root complex does not forward this request between root ports or host
    /// bridges (H6).
    RcNoForward {
        /// The source host bridge's `forwards_p2p`.
        forwards: ForwardsP2p,
    },
    /// The root complex does not forward this peer read, or its completion, between
    /// root ports or host bridges (H6, `forwards_p2p_reads`).
    RcNoForwardRead {
        /// The requester's host bridge's `forwards_p2p_reads` (else `forwards_p2p`).
        forwards: ForwardsP2p,
    },
    /// The completer returns the completion of a read it received (PCIe §2.2.4.2: routed by
    /// ID, the requester's bus/device/function).
    CompletionIssued,
    /// The completion is routed by ID toward the requester (PCIe §2.2.4.2), not by address.
    CompletionById,
    /// ACS CR redirected a peer completion upstream (H1).
    CompletionRedirect {
        /// The responsible bit (CR).
        bit: AcsFlags,
    },
    /// The completion reached the requester.
    CompletionReturned,
    /// The payload exceeds the effective MPS of the receiving node (H5).
    MpsExceeded {
        /// The node's effective MPS.
        mps: u32,
    },
    /// The interconnect merged `count` consecutive writes into one `bytes` burst (H4).
    Merged {
        /// TLPs merged.
        count: u32,
        /// Burst size in bytes.
        bytes: u32,
    },
    /// The root port split an oversized burst into TLPs of at most its MPS (H4).
    SplitOversized {
        /// The chunk size it splits into.
        chunk: u32,
    },
    /// The address lies in the target endpoint's BAR.
    BarMatch {
        /// BAR index.
        bar: u8,
        /// Offset into the BAR.
        offset: u64,
    },
    /// The IOMMU aborted the transaction (STE abort / blocked domain / unattached
    /// stream with `disable_bypass`) (H3).
    StreamAbort {
        /// The StreamID, if the RID maps to one.
        sid: Option<StreamId>,
    },
    /// The IOVA has no mapping (H3).
    Unmapped {
        /// The StreamID.
        sid: StreamId,
    },
    /// The mapping does not permit this operation (H3).
    NotPermitted {
        /// The StreamID.
        sid: StreamId,
    },
    /// ATS is not enabled for the stream (EATS=0, or the IOMMU lacks ATS) (H2).
    AtsNotEnabled,
    /// The requester's RID is outside the IOMMU's `stream_map` (H3).
    NoStreamId,
    /// The target TDI is in TDISP ERROR and rejects the access (C3).
    TdispError,
    /// The target TDI refuses the request by its T bit (C3).
    TdispRefused {
        /// The request's T bit.
        t: bool,
    },
}

impl fmt::Display for Why {
    /// A short phrase (no node names: renderers add those from the ids).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Issued => f.write_str("issued by the requester"),
            Why::NotBelow => f.write_str("address not below this port: upstream"),
            Why::WindowMatch { window } => write!(f, "address in window {window}"),
            Why::SwitchPeer { .. } => f.write_str("switch routes the peer request across"),
            Why::FunctionLoopback { .. } => {
                f.write_str("routed to the sibling function inside the device")
            }
            Why::TurnBack => f.write_str("address below the ingress port, UF clear: turned back"),
            Why::AcsRedirect { bit } => write!(f, "ACS {bit} redirects the peer request upstream"),
            Why::AcsUpstreamForwarding => {
                f.write_str("ACS UF forwards the turning-back request upstream")
            }
            Why::AcsDirectTranslated => {
                f.write_str("ACS DT routes the translated request directly")
            }
            Why::AcsBlocked { bit } => write!(f, "ACS {bit} blocks the request"),
            Why::TranslationRequestUpstream => {
                f.write_str("translation request goes to the translation agent")
            }
            Why::EnterRootComplex => f.write_str("enters the root complex"),
            Why::TlbHit { sid } => write!(f, "TLB hit (StreamID {sid})"),
            Why::TlbMiss { sid } => write!(f, "TLB miss, table walk (StreamID {sid})"),
            Why::AtsCompletion { sid } => {
                write!(f, "ATS translation completion (StreamID {sid})")
            }
            Why::AtsReissue => f.write_str("re-issued as translated (AT=10b)"),
            Why::StreamBypass { sid } => write!(f, "STE bypass: IOVA = PA (StreamID {sid})"),
            Why::TranslatedPassThrough { sid } => {
                write!(f, "translated request passes, EATS=1 (StreamID {sid})")
            }
            Why::NoTranslation => f.write_str("no translation agent"),
            Why::HostBridgeWindow { bus_offset, .. } => {
                write!(f, "host bridge window, bus offset {bus_offset:#x}")
            }
            Why::RootComplexInternal => f.write_str("root complex routes its own window"),
            Why::DramDecode { .. } => f.write_str("decodes to DRAM"),
            Why::NoDecode => f.write_str("address decodes to nothing"),
            Why::RcNoForward { forwards } => {
                write!(
                    f,
                    "root complex does not forward (forwards_p2p: {forwards})"
                )
            }
            Why::RcNoForwardRead { forwards } => write!(
                f,
                "root complex does not forward peer reads (forwards_p2p_reads: {forwards})"
            ),
            Why::CompletionIssued => f.write_str("the completer returns the read's completion"),
            Why::CompletionById => f.write_str("completion routed by ID toward the requester"),
            Why::CompletionRedirect { bit } => {
                write!(f, "ACS {bit} redirects the peer completion upstream")
            }
            Why::CompletionReturned => f.write_str("completion returned to the requester"),
            Why::MpsExceeded { mps } => write!(f, "payload above MPS {mps}: malformed"),
            Why::Merged { count, bytes } => write!(f, "{count} writes merged into {bytes} B"),
            Why::SplitOversized { chunk } => write!(f, "burst split into {chunk} B TLPs"),
            Why::BarMatch { bar, offset } => write!(f, "BAR {bar} offset {offset:#x}"),
            Why::StreamAbort { .. } => f.write_str("STE aborts"),
            Why::Unmapped { sid } => write!(f, "IOVA unmapped (StreamID {sid})"),
            Why::NotPermitted { sid } => {
                write!(f, "mapping does not permit the access (StreamID {sid})")
            }
            Why::AtsNotEnabled => f.write_str("ATS not enabled for the stream (EATS=0)"),
            Why::NoStreamId => f.write_str("requester ID outside the stream map"),
            Why::TdispError => f.write_str("target TDI in TDISP ERROR rejects"),
            Why::TdispRefused { t: false } => {
                f.write_str("target TDI in RUN serves TEE MMIO only to T=1 requests")
            }
            Why::TdispRefused { t: true } => {
                f.write_str("target TDI not in RUN refuses T=1 requests")
            }
        }
    }
}

/// One hop of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    /// Where.
    pub at: Place,
    /// What happened.
    pub event: Event,
    /// The TLP as it leaves `at`.
    pub tlp: Tlp,
    /// Why.
    pub why: Why,
}

/// A hardware fault: the transaction was stopped and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The STE aborts (blocked domain, or unattached stream with `disable_bypass`).
    StreamAbort {
        /// The StreamID, if the RID maps to one.
        sid: Option<StreamId>,
    },
    /// The requester's RID is outside the IOMMU's `stream_map`.
    NoStreamId {
        /// The requester ID on the wire.
        rid: u16,
    },
    /// The address has no mapping in the stream's page table.
    Unmapped {
        /// The address looked up as an IOVA.
        iova: u64,
    },
    /// The mapping exists but does not permit the operation.
    Permission {
        /// The address looked up as an IOVA.
        iova: u64,
        /// The refused operation.
        op: Op,
    },
    /// A translation request or a translated (AT=10b) request from a stream whose STE
    /// has EATS=0 (bypass, abort, unattached, ATS not enabled, IOMMU without ATS) (H2).
    AtsNotEnabled,
    /// A translation request or translated request reached a root complex with no
    /// translation agent (`translation: none` or no IOMMU).
    NoTranslationAgent,
    /// ACS blocked the request at `port` (SV, TB, or EC without RR) (H1).
    AcsViolation {
        /// The ingress port.
        port: NodeId,
        /// The responsible bit.
        bit: AcsFlags,
    },
    /// The target TDI is in TDISP ERROR (C3).
    TdispRejected {
        /// The target endpoint.
        target: NodeId,
    },
    /// The target TDI refuses the request by its T bit (C3): in RUN it serves its TEE
    /// MMIO only to T=1 requests (a T=0 one is refused); in CONFIG_UNLOCKED and
    /// CONFIG_LOCKED it refuses every T=1 request.
    TdispRefused {
        /// The target endpoint.
        target: NodeId,
        /// Its TDISP state.
        tdisp: TdispState,
        /// The request's T bit.
        t: bool,
    },
}

/// Why a TLP was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The root complex does not forward between these root ports / host bridges (H6).
    RcNoForward {
        /// The root port the request came up through (`None` for an RCiEP requester).
        from_root_port: Option<NodeId>,
        /// The root port it would go down (`None` for an RCiEP target).
        to_root_port: Option<NodeId>,
        /// The source host bridge.
        from_hb: NodeId,
        /// The target host bridge.
        to_hb: NodeId,
    },
    /// Nothing decodes the address (H7), or it falls in a window but in no BAR.
    UnsupportedRequest {
        /// The address as on the wire where decode failed.
        addr: u64,
    },
    /// The payload exceeds the receiver's MPS (H5, H4).
    MalformedTlp {
        /// The receiving node.
        link_at: NodeId,
        /// The TLP's payload.
        payload: u32,
        /// The receiver's effective MPS.
        mps: u32,
    },
}

/// How a route ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Reached an endpoint's BAR. `tdisp` is the target's TDISP state, if it has CC
    /// state, for the rules to judge (C2, C3); ERROR never delivers (a `Fault`).
    Delivered {
        /// The target endpoint.
        target: NodeId,
        /// BAR index.
        bar: u8,
        /// Offset into the BAR.
        offset: u64,
        /// The target's TDISP state.
        tdisp: Option<TdispState>,
    },
    /// Reached DRAM (H7).
    Dram {
        /// Index into `Platform::memory`.
        region: usize,
        /// CPU physical address.
        addr: u64,
    },
    /// A fault.
    Fault(Fault),
    /// Dropped.
    Dropped(DropReason),
    /// (bursts only) merged into the burst led by TLP `into` of the same burst, whose
    /// trace carries the outcome (H4).
    Merged {
        /// Index of the leading TLP in the burst.
        into: usize,
    },
}

impl End {
    /// The same end for a TLP whose address was `delta` higher (wrapping): every
    /// address an end carries is the TLP's address plus a constant within a page
    /// (translation keeps the page offset, windows add a constant), which is what lets
    /// the flow cache reuse one route for every TLP of a page.
    #[inline]
    pub(crate) fn shifted(self, delta: u64) -> End {
        match self {
            End::Delivered {
                target,
                bar,
                offset,
                tdisp,
            } => End::Delivered {
                target,
                bar,
                offset: offset.wrapping_add(delta),
                tdisp,
            },
            End::Dram { region, addr } => End::Dram {
                region,
                addr: addr.wrapping_add(delta),
            },
            End::Fault(Fault::Unmapped { iova }) => End::Fault(Fault::Unmapped {
                iova: iova.wrapping_add(delta),
            }),
            End::Fault(Fault::Permission { iova, op }) => End::Fault(Fault::Permission {
                iova: iova.wrapping_add(delta),
                op,
            }),
            End::Dropped(DropReason::UnsupportedRequest { addr }) => {
                End::Dropped(DropReason::UnsupportedRequest {
                    addr: addr.wrapping_add(delta),
                })
            }
            other => other,
        }
    }
}

/// How the completion of a read ended (H1 CR, H6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CplEnd {
    /// It reached the requester.
    Returned,
    /// A fault (an ACS violation) stopped it.
    Fault(Fault),
    /// Dropped (the root complex does not forward it, or nothing routes it).
    Dropped(DropReason),
}

/// The completion of a read request delivered to a BAR, routed back by ID ([PCIe §2.2.4.2], H1 CR, H6):
/// kept with or without hops, like [`RouteSummary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The endpoint that completes the read (the read's target).
    pub completer: NodeId,
    /// How it ended.
    pub end: CplEnd,
    /// The first port whose ACS CR sent it upstream (H1).
    pub redirected_at: Option<NodeId>,
    /// The host bridge whose root complex routed it (it did not turn below a switch).
    pub root_complex: Option<NodeId>,
    /// Hops it took.
    pub hops: u32,
}

/// What the rules read of a route without its hops: kept for every route, recorded
/// or not (the verdict path keeps no hops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteSummary {
    /// The TLP as the requester issued it (the first hop's).
    pub issued: Option<Tlp>,
    /// Where the last hop happened and the TLP as it left it.
    pub last: Option<(Place, Tlp)>,
    /// Where ACS first redirected the TLP upstream (the first `Redirect` hop).
    pub redirected_at: Option<Place>,
    /// The host bridge where the TLP met no translation agent (a `NoTranslation` hop).
    pub no_translation_at: Option<NodeId>,
    /// A translation agent translated or bypassed it (`Translate`, or a bypass).
    pub translated: bool,
    /// It was merged into a burst (a `Merge` hop).
    pub merged: bool,
    /// Hops the route took.
    pub hops: u32,
}

impl RouteSummary {
    /// Takes one hop into the summary.
    pub(crate) fn note(&mut self, hop: &Hop) {
        self.note_parts(hop.at, hop.event, hop.tlp, hop.why);
    }

    /// Takes one hop, given by its parts, into the summary. `last` is taken from the
    /// hops a route can end at (`Event::can_end`): every route ends at one, so it is
    /// the route's last hop, and the router's other hops (constant events) store
    /// nothing for it.
    #[inline(always)]
    pub(crate) fn note_parts(&mut self, at: Place, event: Event, tlp: Tlp, why: Why) {
        self.note_but_last(at, event, tlp, why);
        if event.can_end() {
            self.last = Some((at, tlp));
        }
    }

    /// Everything `note_parts` takes of a hop but `last` (which the last hop sets).
    /// Every route's first hop is its requester's `Issue` (`Engine::issue`), so only
    /// an `Issue` hop can be the first: a test of the event, which the router's
    /// constant events fold away.
    #[inline(always)]
    fn note_but_last(&mut self, at: Place, event: Event, tlp: Tlp, why: Why) {
        if event == Event::Issue && self.hops == 0 {
            self.issued = Some(tlp);
        }
        self.hops += 1;
        match event {
            Event::Redirect if self.redirected_at.is_none() => self.redirected_at = Some(at),
            Event::Translate => self.translated = true,
            Event::Merge => self.merged = true,
            _ => {}
        }
        match (why, at) {
            (Why::StreamBypass { .. }, _) => self.translated = true,
            (Why::NoTranslation, Place::Pci(hb)) if self.no_translation_at.is_none() => {
                self.no_translation_at = Some(hb);
            }
            _ => {}
        }
    }

    /// The summary of recorded hops: each taken in turn, `last` from the last.
    fn of_hops(hops: &[Hop]) -> Self {
        let mut summary = RouteSummary::default();
        for h in hops {
            summary.note_but_last(h.at, h.event, h.tlp, h.why);
        }
        summary.last = hops.last().map(|h| (h.at, h.tlp));
        summary
    }

    /// The summary for a TLP whose address is `delta` higher (see `End::shifted`).
    #[inline]
    pub(crate) fn shift(&mut self, delta: u64) {
        if let Some(t) = &mut self.issued {
            t.addr = t.addr.wrapping_add(delta);
        }
        if let Some((_, t)) = &mut self.last {
            t.addr = t.addr.wrapping_add(delta);
        }
    }
}

/// The route of one TLP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The hops, in order; empty unless the trace records (`Trace::recording`).
    pub hops: Vec<Hop>,
    /// How it ended.
    pub end: End,
    /// The memory type of the page-table mapping that translated the TLP, if a page
    /// table did (H4). `None`: no translation, bypass, ATS-translated traffic.
    pub attr: Option<MemAttr>,
    /// The StreamID the IOMMU saw, if the route reached an IOMMU.
    pub sid: Option<StreamId>,
    /// What the rules read of the route, kept with or without hops.
    pub summary: RouteSummary,
    /// The completion of a read delivered to a BAR; `None` for writes, reads
    /// of DRAM and reads that were not delivered.
    pub completion: Option<Completion>,
    /// The completion's hops, in order; empty unless the trace records.
    pub completion_hops: Vec<Hop>,
    /// Whether `hops` are kept.
    pub record: bool,
}

impl Trace {
    /// An empty trace that keeps every hop (for `explain`, pictures, JSON routes).
    pub fn recording() -> Self {
        Self::new(true)
    }

    /// An empty trace that keeps only the end and the summary: the verdict path.
    pub fn summary_only() -> Self {
        Self::new(false)
    }

    fn new(record: bool) -> Self {
        Trace {
            hops: Vec::new(),
            end: End::Dropped(DropReason::UnsupportedRequest { addr: 0 }),
            attr: None,
            sid: None,
            summary: RouteSummary::default(),
            completion: None,
            completion_hops: Vec::new(),
            record,
        }
    }

    /// Clears the trace for a new route, keeping its buffer and recording mode.
    pub(crate) fn reset(&mut self) {
        self.hops.clear();
        self.attr = None;
        self.sid = None;
        self.summary = RouteSummary::default();
        self.completion = None;
        self.completion_hops.clear();
    }

    /// Appends a hop when recording (the summary is made from the hops when the route
    /// ends: `finish`), else notes it in the summary.
    pub(crate) fn push(&mut self, hop: Hop) {
        if self.record {
            self.hops.push(hop);
        } else {
            self.summary.note(&hop);
        }
    }

    /// Ends a route: a recording trace's summary is made from its hops.
    pub(crate) fn finish(&mut self) {
        // What lets a summary-only route keep its last hop cheaply (`Event::can_end`).
        debug_assert!(
            self.hops.last().is_none_or(|h| h.event.can_end()),
            "a route ended at a hop it cannot end at: {:?}",
            self.hops.last()
        );
        if self.record {
            self.summary = RouteSummary::of_hops(&self.hops);
        }
    }

    /// Whether the route reached a translation agent that translated or bypassed it,
    /// i.e. a hop with `Event::Translate` or a bypass.
    pub fn translated(&self) -> bool {
        self.summary.translated
    }

    /// The first hop of an event kind (recorded traces only).
    pub fn first(&self, event: Event) -> Option<&Hop> {
        self.hops.iter().find(|h| h.event == event)
    }
}

/// One merged burst of a `route_burst` (H4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergedBurst {
    /// Index of the first TLP of the burst (its trace carries the outcome).
    pub first: usize,
    /// Number of TLPs merged.
    pub count: u32,
    /// Burst size in bytes.
    pub bytes: u32,
    /// CPU physical address of the burst.
    pub addr: u64,
    /// The target root port whose MPS the burst meets (`None`: RCiEP target).
    pub target_root_port: Option<NodeId>,
}

/// The routes of a burst of TLPs (H4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BurstTrace {
    /// One trace per input TLP, in order.
    pub traces: Vec<Trace>,
    /// The merged bursts, in order of their first TLP.
    pub merges: Vec<MergedBurst>,
}
