//! H3 — a set-associative TLB with LRU replacement, as in an SMMU TBU (and the IOTLB
//! of a root complex's own translation agent).
//!
//! Geometry from the model (`tbus[].tlb_entries`, `tlb_ways`): `sets = entries / ways`.
//! Entries cache one 4 KiB page: the tag is (page-table tag, StreamID, IOVA page), the
//! set index `(page ^ sid) % sets`. A flat array of `sets * ways` slots, allocated on
//! the first fill (a platform may have hundreds of TLBs, a pairing touches one or
//! two); lookups and fills allocate nothing after that. LRU by a per-TLB use counter.
//! `invalidate_all` is O(1): it starts a new epoch, and a slot of an older epoch is
//! empty.

use peerpath_model::StreamId;

use crate::pagetable::Prot;
use crate::types::TlbStats;

/// Page shift of a TLB entry (4 KiB).
pub(crate) const PAGE_SHIFT: u32 = 12;

#[derive(Clone, Copy, Debug)]
struct Slot {
    table: u64,
    vpn: u64,
    /// The StreamID in the low 32 bits, the TLB epoch the slot was filled in above
    /// (one compare for both); epoch 0 never matches (epochs start at 1).
    sid_epoch: u64,
    ppn: u64,
    prot: Prot,
    last_use: u64,
}

impl Slot {
    const EMPTY: Slot = Slot {
        table: 0,
        vpn: 0,
        sid_epoch: 0,
        ppn: 0,
        prot: Prot {
            read: false,
            write: false,
            attr: crate::pagetable::MemAttr::Device,
        },
        last_use: 0,
    };

    fn epoch(&self) -> u32 {
        (self.sid_epoch >> 32) as u32
    }

    fn sid(&self) -> u32 {
        self.sid_epoch as u32
    }
}

fn sid_epoch(sid: StreamId, epoch: u32) -> u64 {
    u64::from(epoch) << 32 | u64::from(sid.0)
}

/// A set-associative TLB.
#[derive(Clone, Debug)]
pub(crate) struct Tlb {
    sets: usize,
    /// `sets - 1` when `sets` is a power of two (the set index is a mask).
    set_mask: Option<u64>,
    ways: usize,
    /// Empty until the first fill.
    slots: Vec<Slot>,
    epoch: u32,
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
            set_mask: sets.is_power_of_two().then(|| sets as u64 - 1),
            ways,
            slots: Vec::new(),
            epoch: 1,
            clock: 0,
            stats: TlbStats::default(),
        }
    }

    /// The first slot of the set a page maps to; `None` for a TLB that holds nothing.
    #[inline]
    fn set_of(&self, sid: StreamId, vpn: u64) -> Option<usize> {
        let key = vpn ^ u64::from(sid.0);
        let set = match self.set_mask {
            Some(mask) => (key & mask) as usize,
            None if self.sets == 0 => return None,
            None => (key % self.sets as u64) as usize,
        };
        Some(set * self.ways)
    }

    /// Looks up a page; counts a hit or a miss, and on a hit makes the slot the most
    /// recently used. The slot's index on a hit.
    #[inline(always)]
    fn probe(&mut self, table: u64, sid: StreamId, vpn: u64) -> Option<usize> {
        self.clock += 1;
        let want = sid_epoch(sid, self.epoch);
        let mut found = None;
        if let Some(start) = self.set_of(sid, vpn) {
            if let Some(set) = self.slots.get(start..start + self.ways) {
                for (way, s) in set.iter().enumerate() {
                    if s.sid_epoch == want && s.vpn == vpn && s.table == table {
                        found = Some(start + way);
                        break;
                    }
                }
            }
        }
        match found {
            Some(i) => {
                self.slots[i].last_use = self.clock;
                self.stats.hits += 1;
            }
            None => self.stats.misses += 1,
        }
        found
    }

    /// Looks up a page; counts a hit or a miss.
    #[inline(always)]
    pub(crate) fn lookup(&mut self, table: u64, sid: StreamId, vpn: u64) -> Option<TlbEntry> {
        self.probe(table, sid, vpn).map(|i| TlbEntry {
            ppn: self.slots[i].ppn,
            prot: self.slots[i].prot,
        })
    }

    /// The TLB access of a route already known to hit or miss the same way as the
    /// reference's: the lookup, and on a miss the fill of `entry` (if the page is
    /// mapped). Counters and LRU state end exactly as after `lookup` and `fill`.
    #[inline]
    pub(crate) fn touch(&mut self, table: u64, sid: StreamId, vpn: u64, entry: Option<TlbEntry>) {
        if let (None, Some(entry)) = (self.probe(table, sid, vpn), entry) {
            self.fill(table, sid, vpn, entry);
        }
    }

    /// Fills a page after a walk: into a free way, else over the least recently used.
    pub(crate) fn fill(&mut self, table: u64, sid: StreamId, vpn: u64, entry: TlbEntry) {
        let Some(start) = self.set_of(sid, vpn) else {
            return;
        };
        if self.slots.is_empty() {
            self.slots = vec![Slot::EMPTY; self.sets * self.ways];
        }
        let slot = Slot {
            table,
            vpn,
            sid_epoch: sid_epoch(sid, self.epoch),
            ppn: entry.ppn,
            prot: entry.prot,
            last_use: self.clock,
        };
        let epoch = self.epoch;
        let set = &mut self.slots[start..start + self.ways];
        if let Some(free) = set.iter_mut().find(|s| s.epoch() != epoch) {
            *free = slot;
            return;
        }
        if let Some(victim) = set.iter_mut().min_by_key(|s| s.last_use) {
            *victim = slot;
            self.stats.evictions += 1;
        }
    }

    /// Drops every entry (stats are kept): a new epoch.
    pub(crate) fn invalidate_all(&mut self) {
        if self.epoch == u32::MAX {
            self.slots
                .iter_mut()
                .for_each(|s| s.sid_epoch = u64::from(s.sid()));
            self.epoch = 0;
        }
        self.epoch += 1;
    }

    /// Drops the entries of one stream.
    pub(crate) fn invalidate_stream(&mut self, sid: StreamId) {
        let epoch = self.epoch;
        for s in &mut self.slots {
            if s.sid_epoch == sid_epoch(sid, epoch) {
                s.sid_epoch = u64::from(sid.0);
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
