//! H4 — write merging in the interconnect, and the burst's fate at the target root
//! port (io-pgtable-arm MAIR: `IOMMU_MMIO` Device-nGnRE forbids gathering; Normal WB
//! and NC allow it) [ORIGIN].
//!
//! `route_burst` routes each TLP on its own (so TLB counters see every TLP), then looks
//! for runs of consecutive writes that
//! - were translated by a page-table mapping whose memory type is Normal (WB or NC) —
//!   with no IOMMU mapping (bus addresses, dma-direct, bypass, ATS-translated traffic)
//!   there is no memory type from a page table and nothing is merged (model decision);
//! - reached the interconnect and decode to a host bridge window (a PCI target);
//! - are contiguous in CPU physical address and fit, together, in one naturally
//!   aligned block of `interconnect.write_merge_bytes` (the gathering granule).
//!
//! A run of two or more becomes one burst: the first TLP's trace is cut where it
//! entered the interconnect, gets a `Merge` hop and continues down with the burst's
//! payload — so the target root port's MPS (H5) meets the burst, and a root port with
//! `splits_oversized_writes` splits it into MPS-sized TLPs. The other TLPs' traces end
//! with the `Merge` hop and `End::Merged { into }`.

use peerpath_model::Op;

use crate::engine::Engine;
use crate::types::{BurstTrace, End, Event, Hop, MergedBurst, Place, StreamSetup, Tlp, Trace, Why};

/// Which routes of a burst keep their hops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// None: the verdict path (ends and summaries only; the flow cache serves).
    Nothing,
    /// The first TLP's (a pairing's representative route), no other.
    First,
    /// Every TLP's.
    All,
}

impl Engine<'_> {
    /// Routes a burst of TLPs from one stream in order, merging writes in the
    /// interconnect where the memory type allows (H4; see module `merge`). Every hop
    /// is recorded.
    pub fn route_burst(&mut self, setup: &StreamSetup, tlps: &[Tlp]) -> BurstTrace {
        let mut out = BurstTrace::default();
        self.route_burst_into(setup, tlps, Record::All, &mut out);
        out
    }

    /// As `route_burst`, recording hops as `record` says, into `out` (its traces'
    /// buffers are reused).
    pub fn route_burst_into(
        &mut self,
        setup: &StreamSetup,
        tlps: &[Tlp],
        record: Record,
        out: &mut BurstTrace,
    ) {
        out.merges.clear();
        out.traces.truncate(tlps.len());
        while out.traces.len() < tlps.len() {
            out.traces.push(Trace::summary_only());
        }
        let mut entries = std::mem::take(&mut self.burst_entries);
        entries.clear();
        for (i, tlp) in tlps.iter().enumerate() {
            let trace = &mut out.traces[i];
            trace.record = match record {
                Record::Nothing => false,
                Record::First => i == 0,
                Record::All => true,
            };
            self.route_inner(setup, *tlp, trace, true);
            let mergeable = tlp.op == Op::Write
                && trace.attr.is_some_and(|a| a.allows_merge())
                && !matches!(trace.end, End::Fault(_));
            entries.push(self.ic_entry.filter(|e| mergeable && e.to_pci));
        }
        let granule = u64::from(self.topology().platform().interconnect.write_merge_bytes);
        let traces = &mut out.traces;
        let mut i = 0;
        while i < tlps.len() {
            let Some(first) = entries[i] else {
                i += 1;
                continue;
            };
            let mut bytes = u64::from(first.tlp.payload);
            let mut j = i + 1;
            while let Some(Some(next)) = entries.get(j) {
                let contiguous = first.tlp.addr.checked_add(bytes) == Some(next.tlp.addr)
                    && next.src == first.src;
                let total = bytes + u64::from(next.tlp.payload);
                let fits = granule > 0
                    && total <= granule
                    && first
                        .tlp
                        .addr
                        .checked_add(total - 1)
                        .is_some_and(|last| first.tlp.addr / granule == last / granule);
                if !(contiguous && fits) {
                    break;
                }
                bytes = total;
                j += 1;
            }
            let count = j - i;
            if count < 2 {
                i += 1;
                continue;
            }
            // `bytes <= granule <= u32::MAX`.
            let bytes = bytes as u32;
            let burst = Tlp {
                payload: bytes,
                ..first.tlp
            };
            let merge_hop = Hop {
                at: Place::Interconnect,
                event: Event::Merge,
                tlp: burst,
                why: Why::Merged {
                    count: count as u32,
                    bytes,
                },
            };
            for k in i..j {
                let Some(entry) = entries[k] else { continue };
                let tr: &mut Trace = &mut traces[k];
                tr.hops.truncate(entry.hop_index);
                tr.summary.hops = entry.summary_hops;
                tr.push(merge_hop);
                tr.end = End::Merged { into: i };
                if k != i {
                    tr.finish();
                }
            }
            let (end, target_root_port) = self.resume_merged(burst, first.src, &mut traces[i]);
            traces[i].end = end;
            traces[i].finish();
            out.merges.push(MergedBurst {
                first: i,
                count: count as u32,
                bytes,
                addr: first.tlp.addr,
                target_root_port,
            });
            i = j;
        }
        self.burst_entries = entries;
    }
}
