//! `iommus`: IOMMUs with their TBUs (SMMUv3 only; TLB geometry) and stream maps
//! (RID → StreamID ranges within 16 and 32 bits, no RID in two entries); the same
//! stream map check serves `host_bridges[].stream_map`.

use peerpath_model::{Iommu, IommuKind, StreamMapEntry, Tbu};

use crate::raw::RawStreamMap;
use crate::source::{Msg, Path, Seg};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// The `iommus`, with their TBUs and stream maps.
    pub(super) fn iommus(&mut self) -> Vec<Iommu> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, m) in raw.iommus.iter().enumerate() {
            let p = self.entity_path(Entity::Iommu(i));
            if m.kind != IommuKind::Smmuv3 && !m.tbus.is_empty() {
                let mut tp = p.clone();
                tp.push(Seg::from("tbus"));
                self.report(
                    tp,
                    Msg::new(format!("a {} IOMMU has no TBUs", m.kind))
                        .expected("`tbus` only on `kind: smmuv3`"),
                );
            }
            let mut tbus = Vec::new();
            for (j, t) in m.tbus.iter().enumerate() {
                let tp = self.entity_path(Entity::Tbu(i, j));
                if t.tlb_ways == 0 || t.tlb_entries == 0 || t.tlb_entries % t.tlb_ways != 0 {
                    let mut ep = tp.clone();
                    ep.push(Seg::from(if t.tlb_ways == 0 {
                        "tlb_ways"
                    } else {
                        "tlb_entries"
                    }));
                    self.report(
                        ep,
                        Msg::new(format!(
                            "a TLB of {} entries in {} ways",
                            t.tlb_entries, t.tlb_ways
                        ))
                        .expected("at least one way, and entries a multiple of the ways"),
                    );
                }
                tbus.push(Tbu {
                    name: t.name.clone(),
                    tlb_entries: t.tlb_entries,
                    tlb_ways: t.tlb_ways,
                });
            }
            let mut sp = p.clone();
            sp.push(Seg::from("stream_map"));
            let stream_map = self.stream_map(&m.stream_map, &sp);
            out.push(Iommu {
                name: m.name.clone(),
                kind: m.kind,
                ats: m.ats.unwrap_or(false),
                disable_bypass: m.disable_bypass.unwrap_or(true),
                tbus,
                stream_map,
            });
        }
        out
    }

    /// A `stream_map` at `p` (of an IOMMU or a host bridge): every entry within 16-bit
    /// RIDs and 32-bit StreamIDs, and no RID in two entries (the map would be ambiguous).
    pub(super) fn stream_map(&mut self, entries: &[RawStreamMap], p: &Path) -> Vec<StreamMapEntry> {
        let mut out: Vec<StreamMapEntry> = Vec::new();
        for (j, s) in entries.iter().enumerate() {
            let mut sp = p.clone();
            sp.push(Seg::from(j));
            let rid_end = u64::from(s.rid_base) + u64::from(s.length);
            let sid_end = u64::from(s.sid_base) + u64::from(s.length);
            if s.length == 0 || rid_end > 0x1_0000 || sid_end > 1 << 32 {
                sp.push(Seg::from("length"));
                self.report(
                    sp,
                    Msg::new(format!(
                        "length {:#x} from rid_base {:#x} / sid_base {:#x}",
                        s.length, s.rid_base, s.sid_base
                    ))
                    .expected(
                        "at least 1, with RIDs within 0..=0xffff and StreamIDs within 32 bits",
                    ),
                );
            } else if let Some(k) = out.iter().position(|e| {
                let e_end = u64::from(e.rid_base) + u64::from(e.length);
                u64::from(s.rid_base) < e_end && u64::from(e.rid_base) < rid_end
            }) {
                sp.push(Seg::from("rid_base"));
                let e = out[k];
                self.report(
                    sp,
                    Msg::new(format!(
                        "RIDs {:#06x}..={:#06x} overlap entry {k} ({:#06x}..={:#06x})",
                        s.rid_base,
                        rid_end - 1,
                        e.rid_base,
                        u64::from(e.rid_base) + u64::from(e.length) - 1
                    ))
                    .expected("each RID in at most one entry")
                    .help("split or shorten one of the entries"),
                );
            }
            out.push(StreamMapEntry {
                rid_base: s.rid_base,
                sid_base: s.sid_base,
                length: s.length,
            });
        }
        out
    }
}
