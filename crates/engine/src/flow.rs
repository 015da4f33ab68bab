//! The flow cache: a route depends on a TLP's address only through its 4 KiB page
//! when every decode boundary is page aligned (`Hardware::page_exact`), and on
//! nothing else but the requester, its stream (STE kind, page-table contents tag, ATS
//! enabled), the operation, the Address Type and the payload. So the first TLP of a
//! page is routed hop by hop and its outcome kept; every later TLP of that page with
//! the same key costs one hash lookup, the outcome moved to its address
//! (`End::shifted`), and the TLB access the reference route made — lookup, and the
//! fill on a miss — so TLB contents and counters stay exactly the reference's.
//!
//! Page tables carry a globally fresh tag per contents, so an entry never outlives the
//! table it describes; the cache is bounded by clearing it when it fills.

use peerpath_model::{NodeId, StreamId};

use crate::engine::{IcEntry, Src};
use crate::pagetable::MemAttr;
use crate::tlb::{TlbEntry, PAGE_SHIFT};
use crate::types::{End, RouteSummary, Ste, StreamSetup, Tlp, Trace};

/// Entries kept before the cache is cleared.
const CAPACITY: usize = 1 << 16;

/// What identifies a route up to the address within a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey {
    requester: NodeId,
    /// 0 no IOMMU, 1 abort, 2 bypass, 3 translate.
    ste: u8,
    table: u64,
    ats: bool,
    op: peerpath_model::Op,
    at: crate::types::At,
    payload: u32,
    page: u64,
}

impl FlowKey {
    pub(crate) fn new(setup: &StreamSetup, tlp: &Tlp) -> Self {
        let (ste, table) = match &setup.ste {
            Ste::NoIommu => (0, 0),
            Ste::Abort => (1, 0),
            Ste::Bypass => (2, 0),
            Ste::Translate(t) => (3, t.tag()),
        };
        Self {
            requester: tlp.requester,
            ste,
            table,
            ats: setup.ats_enabled,
            op: tlp.op,
            at: tlp.at,
            payload: tlp.payload,
            page: tlp.addr >> PAGE_SHIFT,
        }
    }
}

/// The TLB access a route made: replayed on every cache hit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlbTouch {
    /// Index of the TLB in the engine's table.
    pub(crate) tlb: usize,
    pub(crate) table: u64,
    pub(crate) sid: StreamId,
    pub(crate) vpn: u64,
    /// What a miss fills; `None`: the page is unmapped (a miss fills nothing).
    pub(crate) entry: Option<TlbEntry>,
}

/// A route's outcome for the TLP at `addr`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowValue {
    pub(crate) addr: u64,
    pub(crate) end: End,
    pub(crate) attr: Option<MemAttr>,
    pub(crate) sid: Option<StreamId>,
    pub(crate) summary: RouteSummary,
    pub(crate) ic_entry: Option<IcLite>,
    pub(crate) tlb: Option<TlbTouch>,
}

/// An `IcEntry` without the hop index (cached routes record no hops).
#[derive(Clone, Copy, Debug)]
pub(crate) struct IcLite {
    pub(crate) tlp: Tlp,
    pub(crate) src: Src,
    pub(crate) to_pci: bool,
}

impl FlowValue {
    pub(crate) fn of(tlp: Tlp, tr: &Trace, ic: Option<IcEntry>, tlb: Option<TlbTouch>) -> Self {
        Self {
            addr: tlp.addr,
            end: tr.end,
            attr: tr.attr,
            sid: tr.sid,
            summary: tr.summary,
            ic_entry: ic.map(|e| IcLite {
                tlp: e.tlp,
                src: e.src,
                to_pci: e.to_pci,
            }),
            tlb,
        }
    }
}

type Map = rustc_hash::FxHashMap<FlowKey, FlowValue>;

/// The cache. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct FlowCache {
    map: Map,
}

impl FlowCache {
    pub(crate) fn get(&self, key: &FlowKey) -> Option<FlowValue> {
        self.map.get(key).copied()
    }

    pub(crate) fn insert(&mut self, key: FlowKey, value: FlowValue) {
        if self.map.len() >= CAPACITY {
            self.map.clear();
        }
        self.map.insert(key, value);
    }
}
