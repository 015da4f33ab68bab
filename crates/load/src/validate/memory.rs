//! `memory` and `interconnect`: DRAM regions, the interconnect's write merging, and
//! the CPU physical address map that DRAM and host bridge windows share (H7: no
//! overlaps). Also the located `[start, start + size)` check every range uses.

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Interconnect, MemRegion, NodeId, PhysAddr, PhysRange};

use crate::num::format_addr;
use crate::source::{ypath, Msg, Path, Seg};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// The DRAM regions of `memory`.
    pub(super) fn memory(&mut self) -> Vec<MemRegion> {
        let raw = self.raw;
        let mut out = Vec::new();
        for (i, m) in raw.memory.iter().enumerate() {
            let p = self.entity_path(Entity::Memory(i));
            if let Some(range) = self.range(m.base.0, m.size.0, p, "base") {
                out.push(MemRegion {
                    name: m.name.clone(),
                    range,
                });
            }
        }
        out
    }

    /// `[start, start + size)`, or a located error: zero size at `size`, wrapping at
    /// `size` too (naming `start_key`).
    pub(super) fn range(
        &mut self,
        start: u64,
        size: u64,
        p: Path,
        start_key: &'static str,
    ) -> Option<PhysRange> {
        match PhysRange::from_start_and_size(PhysAddr(start), size) {
            Some(r) => Some(r),
            None => {
                let mut sp = p;
                sp.push(Seg::from("size"));
                let msg = if size == 0 {
                    Msg::new("size is 0").expected("a size of at least 1 byte")
                } else {
                    Msg::new(format!(
                        "`{start_key}` {} + `size` {size:#x} wraps past 2^64",
                        format_addr(start)
                    ))
                    .expected(format!("a size of at most {:#x}", u64::MAX - start + 1))
                };
                self.report(sp, msg);
                None
            }
        }
    }

    /// The `interconnect` (write merging), or its default.
    pub(super) fn interconnect(&mut self, node_ids: &HashMap<Entity, NodeId>) -> Interconnect {
        let mut ic = Interconnect {
            fabric: self.fabric(node_ids),
            latency: self.latencies(),
            ..Interconnect::default()
        };
        let Some(bytes) = self
            .raw
            .interconnect
            .as_ref()
            .and_then(|i| i.write_merge_bytes)
        else {
            return ic;
        };
        match u32::try_from(bytes.0) {
            Ok(b) if b > 0 => ic.write_merge_bytes = b,
            _ => {
                self.report(
                    ypath!["interconnect", "write_merge_bytes"],
                    Msg::new(format!("a burst of {} bytes", bytes.0))
                        .expected("1 byte to 4GiB - 1"),
                );
            }
        }
        ic
    }

    /// DRAM regions and host bridge windows share the CPU physical address map, and
    /// an address decodes to one of them or to nothing (H7): none may overlap.
    pub(super) fn check_address_map(&mut self, memory: &[MemRegion]) {
        let raw = self.raw;
        let mut spans: Vec<(PhysRange, (String, Path))> = Vec::new();
        let ranges: HashMap<&str, PhysRange> =
            memory.iter().map(|m| (m.name.as_str(), m.range)).collect();
        for (i, m) in raw.memory.iter().enumerate() {
            if let Some(&r) = ranges.get(m.name.as_str()) {
                let mut p = self.entity_path(Entity::Memory(i));
                p.push(Seg::from("base"));
                spans.push((r, (format!("memory `{}` {r}", m.name), p)));
            }
        }
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            for (k, w) in hb.windows.iter().enumerate() {
                if let Some(r) = PhysRange::from_start_and_size(PhysAddr(w.cpu.0), w.size.0) {
                    let mut p = self.entity_path(Entity::HostBridge(i));
                    p.extend(ypath!["windows", k, "cpu"]);
                    spans.push((r, (format!("window {r} of `{}`", hb.name), p)));
                }
            }
        }
        self.overlaps(spans, |_, lp: &(String, Path)| lp.clone());
    }

    /// Reports each span that overlaps an earlier one (by start address), at its
    /// path.
    pub(super) fn overlaps<S>(
        &mut self,
        mut spans: Vec<(PhysRange, S)>,
        describe: impl Fn(&Self, &S) -> (String, Path),
    ) {
        // Labels and paths are built only for a span that overlaps (at 100,000
        // endpoints, building them all was a tenth of validation).
        spans.sort_by_key(|s| (s.0.start, s.0.end));
        let mut widest: Option<usize> = None;
        for i in 0..spans.len() {
            let Some(r) = spans.get(i).map(|s| s.0) else {
                continue;
            };
            if let Some((w, ws)) = widest.and_then(|w| spans.get(w)) {
                if w.overlaps(&r) {
                    let (other, _) = describe(self, ws);
                    let Some((_, s)) = spans.get(i) else { continue };
                    let (label, p) = describe(self, s);
                    self.report(
                        p,
                        Msg::new(format!("{label} overlaps {other}"))
                            .expected("ranges that do not overlap in the CPU physical address map"),
                    );
                }
            }
            match widest.and_then(|w| spans.get(w)) {
                Some(w) if w.0.end >= r.end => {}
                _ => widest = Some(i),
            }
        }
    }
}
