//! The flow cache: a route depends on a TLP's address only through its 4 KiB page
//! when every decode boundary is page aligned (`Hardware::page_exact`), and on
//! nothing else but the requester, its stream (STE kind, page-table contents tag, ATS
//! enabled), the operation, the Address Type, the T bit and the payload. So the first TLP of a
//! page is routed hop by hop and its outcome kept; every later TLP of that page with
//! the same key costs one hash lookup, the outcome moved to its address
//! (`End::shifted`), and the TLB access the reference route made — lookup, and the
//! fill on a miss — so TLB contents and counters stay exactly the reference's.
//!
//! Page tables carry a globally fresh tag per contents, so an entry never outlives the
//! table it describes. The cache is direct-mapped: [`SLOTS`] slots, allocated on the
//! first insert, a key's slot chosen by its hash, a newer key replacing an older one —
//! bounded, with no rehashing and nothing to clear.

use peerpath_model::StreamId;

use crate::pagetable::MemAttr;
use crate::route::IcEntry;
use crate::tlb::{TlbEntry, PAGE_SHIFT};
use crate::types::{Completion, End, RouteSummary, Ste, StreamSetup, Tlp, Trace};

/// Slots of the direct-mapped cache (a pairing touches a few pages; 1,024 TLPs of a
/// custom flow at most 256).
pub(crate) const SLOTS: usize = 256;

/// What identifies a route up to the address within a page, packed into words:
/// the requester, the STE kind (no IOMMU, abort, bypass, translate), ATS enabled,
/// the operation, the Address Type and the T bit in one; the payload; the page table's contents
/// tag; the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlowKey {
    small: u64,
    payload: u32,
    table: u64,
    page: u64,
}

impl FlowKey {
    pub(crate) fn new(setup: &StreamSetup, tlp: &Tlp) -> Self {
        let (ste, table) = match &setup.ste {
            Ste::NoIommu => (0u64, 0),
            Ste::Abort => (1, 0),
            Ste::Bypass => (2, 0),
            Ste::Translate(t) => (3, t.tag()),
        };
        Self {
            small: u64::from(tlp.requester.0)
                | ste << 32
                | u64::from(setup.ats_enabled) << 34
                | (tlp.op as u64) << 35
                | (tlp.at as u64) << 36
                | u64::from(tlp.t) << 38,
            payload: tlp.payload,
            table,
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
    pub(crate) completion: Option<Completion>,
    pub(crate) ic_entry: Option<IcEntry>,
    pub(crate) tlb: Option<TlbTouch>,
}

impl FlowValue {
    /// The outcome of `tr`, the route of `tlp`. A cached route records no hops, so
    /// the interconnect entry's hop index is 0.
    pub(crate) fn of(tlp: Tlp, tr: &Trace, ic: Option<IcEntry>, tlb: Option<TlbTouch>) -> Self {
        Self {
            addr: tlp.addr,
            end: tr.end,
            attr: tr.attr,
            sid: tr.sid,
            summary: tr.summary,
            completion: tr.completion,
            ic_entry: ic.map(|e| IcEntry { hop_index: 0, ..e }),
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
    /// A key's slot: its words folded into one and multiplied by an odd constant
    /// (Fibonacci hashing); the top bits mix best.
    #[inline]
    fn slot(key: &FlowKey) -> usize {
        let folded = key.small
            ^ u64::from(key.payload).rotate_left(40)
            ^ key.table.rotate_left(20)
            ^ key.page;
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % SLOTS
    }

    #[inline]
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
