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
//! table it describes. The cache is direct-mapped: [`SLOTS`] slots, allocated on the
//! first insert, a key's slot chosen by its hash, a newer key replacing an older one —
//! bounded, with no rehashing and nothing to clear.

use std::hash::BuildHasher;

use peerpath_model::{NodeId, StreamId};

use crate::engine::{IcEntry, Src};
use crate::pagetable::MemAttr;
use crate::tlb::{TlbEntry, PAGE_SHIFT};
use crate::types::{End, RouteSummary, Ste, StreamSetup, Tlp, Trace};

/// Slots of the direct-mapped cache (a pairing touches a few pages; 1,024 TLPs of a
/// custom flow at most 256).
pub(crate) const SLOTS: usize = 256;

/// What identifies a route up to the address within a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl std::hash::Hash for FlowKey {
    /// Three words: the small fields packed into one.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let small = u64::from(self.requester.0)
            | u64::from(self.ste) << 32
            | u64::from(self.ats) << 34
            | (self.op as u64) << 35
            | (self.at as u64) << 36
            | u64::from(self.payload) << 40;
        h.write_u64(small);
        h.write_u64(self.table);
        h.write_u64(self.page);
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

/// The cache. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct FlowCache {
    /// `SLOTS` entries once anything was inserted.
    slots: Vec<Option<(FlowKey, FlowValue)>>,
}

impl FlowCache {
    fn slot(key: &FlowKey) -> usize {
        let h = rustc_hash::FxBuildHasher.hash_one(key);
        // The high bits of FxHash mix best.
        (h >> 56) as usize % SLOTS
    }

    pub(crate) fn get(&self, key: &FlowKey) -> Option<&FlowValue> {
        match self.slots.get(Self::slot(key)) {
            Some(Some((k, v))) if k == key => Some(v),
            _ => None,
        }
    }

    pub(crate) fn insert(&mut self, key: FlowKey, value: FlowValue) {
        if self.slots.is_empty() {
            self.slots = vec![None; SLOTS];
        }
        let i = Self::slot(&key);
        self.slots[i] = Some((key, value));
    }
}
