//! H3 — a set-associative TLB with LRU replacement, as in an SMMU TBU (and the IOTLB
//! of a root complex's own translation agent).
//!
//! Geometry from the model (`tbus[].tlb_entries`, `tlb_ways`): `sets = entries / ways`.
//! Entries cache one 4 KiB page: the tag is (page-table tag, StreamID, IOVA page), the
//! set index `(page ^ sid) % sets`. A flat array of `sets * ways` slots, allocated once;
//! lookups and fills allocate nothing. LRU by a per-TLB use counter.

use peerpath_model::StreamId;

use crate::pagetable::Prot;
use crate::types::TlbStats;

/// Page shift of a TLB entry (4 KiB).
pub(crate) const PAGE_SHIFT: u32 = 12;

#[derive(Clone, Copy, Debug)]
struct Slot {
    table: u64,
    sid: u32,
    vpn: u64,
    ppn: u64,
    prot: Prot,
    last_use: u64,
}

/// A set-associative TLB.
#[derive(Clone, Debug)]
pub(crate) struct Tlb {
    sets: usize,
    ways: usize,
    slots: Vec<Option<Slot>>,
    clock: u64,
    pub(crate) stats: TlbStats,
}

/// A TLB hit: the physical page and the mapping's protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TlbEntry {
    pub(crate) ppn: u64,
    pub(crate) prot: Prot,
}

impl Tlb {
    /// A TLB of `entries` entries in `ways`-way sets. Degenerate geometry (0 ways, or
    /// fewer entries than ways) gives a TLB that holds nothing: every lookup misses.
    pub(crate) fn new(entries: u32, ways: u32) -> Self {
        let ways = ways as usize;
        let sets = (entries as usize).checked_div(ways).unwrap_or(0);
        let ways = if sets == 0 { 0 } else { ways };
        Self {
            sets,
            ways,
            slots: vec![None; sets * ways],
            clock: 0,
            stats: TlbStats::default(),
        }
    }

    fn set_of(&self, sid: StreamId, vpn: u64) -> Option<std::ops::Range<usize>> {
        if self.sets == 0 {
            return None;
        }
        let set = ((vpn ^ u64::from(sid.0)) % self.sets as u64) as usize;
        let start = set * self.ways;
        Some(start..start + self.ways)
    }

    /// Looks up a page; counts a hit or a miss.
    pub(crate) fn lookup(&mut self, table: u64, sid: StreamId, vpn: u64) -> Option<TlbEntry> {
        self.clock += 1;
        let clock = self.clock;
        let found = self.set_of(sid, vpn).and_then(|range| {
            self.slots[range].iter_mut().flatten().find_map(|s| {
                (s.table == table && s.sid == sid.0 && s.vpn == vpn).then(|| {
                    s.last_use = clock;
                    TlbEntry {
                        ppn: s.ppn,
                        prot: s.prot,
                    }
                })
            })
        });
        match found {
            Some(_) => self.stats.hits += 1,
            None => self.stats.misses += 1,
        }
        found
    }

    /// Fills a page after a walk: into a free way, else over the least recently used.
    pub(crate) fn fill(&mut self, table: u64, sid: StreamId, vpn: u64, entry: TlbEntry) {
        let Some(range) = self.set_of(sid, vpn) else {
            return;
        };
        let slot = Slot {
            table,
            sid: sid.0,
            vpn,
            ppn: entry.ppn,
            prot: entry.prot,
            last_use: self.clock,
        };
        let set = &mut self.slots[range];
        if let Some(free) = set.iter_mut().find(|s| s.is_none()) {
            *free = Some(slot);
            return;
        }
        if let Some(victim) = set
            .iter_mut()
            .min_by_key(|s| s.as_ref().map_or(0, |s| s.last_use))
        {
            *victim = Some(slot);
            self.stats.evictions += 1;
        }
    }

    /// Drops every entry (stats are kept).
    pub(crate) fn invalidate_all(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Drops the entries of one stream.
    pub(crate) fn invalidate_stream(&mut self, sid: StreamId) {
        for s in &mut self.slots {
            if s.is_some_and(|x| x.sid == sid.0) {
                *s = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagetable::MemAttr;

    fn e(ppn: u64) -> TlbEntry {
        TlbEntry {
            ppn,
            prot: Prot::rw(MemAttr::Device),
        }
    }

    /// 4 entries, 2 ways: 2 sets. With sid 0, even pages go to set 0, odd to set 1.
    #[test]
    fn two_way_set_evicts_least_recently_used() {
        let mut t = Tlb::new(4, 2);
        let sid = StreamId(0);
        for vpn in [0, 2] {
            assert_eq!(t.lookup(1, sid, vpn), None);
            t.fill(1, sid, vpn, e(100 + vpn));
        }
        // Page 0 used again: page 2 is now the LRU way of set 0.
        assert_eq!(t.lookup(1, sid, 0), Some(e(100)));
        // Page 1 lands in set 1 and evicts nothing.
        assert_eq!(t.lookup(1, sid, 1), None);
        t.fill(1, sid, 1, e(101));
        assert_eq!(t.stats.evictions, 0);
        // Page 4 maps to set 0 (full): evicts page 2, the LRU.
        assert_eq!(t.lookup(1, sid, 4), None);
        t.fill(1, sid, 4, e(104));
        assert_eq!(t.stats.evictions, 1);
        assert_eq!(t.lookup(1, sid, 0), Some(e(100)));
        assert_eq!(t.lookup(1, sid, 4), Some(e(104)));
        assert_eq!(t.lookup(1, sid, 2), None);
        assert_eq!(t.lookup(1, sid, 1), Some(e(101)));
        assert_eq!(
            t.stats,
            TlbStats {
                hits: 4,
                misses: 5,
                evictions: 1
            }
        );
    }

    #[test]
    fn tag_and_stream_separate_entries() {
        let mut t = Tlb::new(8, 8);
        t.fill(1, StreamId(1), 5, e(9));
        assert_eq!(t.lookup(2, StreamId(1), 5), None);
        assert_eq!(t.lookup(1, StreamId(2), 5), None);
        assert_eq!(t.lookup(1, StreamId(1), 5), Some(e(9)));
        t.invalidate_stream(StreamId(1));
        assert_eq!(t.lookup(1, StreamId(1), 5), None);
        t.fill(1, StreamId(1), 5, e(9));
        t.invalidate_all();
        assert_eq!(t.lookup(1, StreamId(1), 5), None);
    }

    #[test]
    fn degenerate_geometry_always_misses() {
        for (entries, ways) in [(0, 4), (4, 0), (2, 4)] {
            let mut t = Tlb::new(entries, ways);
            t.fill(1, StreamId(0), 0, e(1));
            assert_eq!(t.lookup(1, StreamId(0), 0), None);
            assert_eq!(t.stats.misses, 1);
        }
    }
}
