//! `mps-write-merge` (error) — K2.3, H4: a Normal-memory mapping of the peer BAR lets
//! the interconnect merge the importer's consecutive writes into a burst larger than the
//! target root port's MPS, and that root port does not split it: a malformed TLP.
//!
//! Raised for each merged burst whose size exceeds the effective MPS of its target root
//! port when the port has no `splits_oversized_writes`, and for a merged burst dropped
//! as malformed anywhere below. Only Normal memory (`IOMMU_CACHE` or neither — K2.3's
//! P2P pages) is merged; `IOMMU_MMIO` (Device) never is. The subject is the target root
//! port (or where the burst was dropped).

use super::{already, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;

fn fix(cx: &Cx<'_, '_>, port: &str) -> String {
    format!(
        "export {} through vfio-dmabuf (DMA_ATTR_MMIO maps it as Device memory, never merged) instead of P2P pages, or use a root port that splits oversized writes ({port})",
        cx.export().name
    )
}

/// Raises `mps-write-merge`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    if cx.probe {
        return;
    }
    let imp = cx.name(cx.importer());
    let attr = cx.k.attrs.iter().map(|a| a.as_str()).collect::<Vec<_>>();
    for f in cx.flows {
        for m in &f.merges {
            let Some(rp) = m.target_root_port else {
                continue;
            };
            let mps = cx.topo.mps(rp);
            let splits = cx.topo.port(rp).is_some_and(|p| p.splits_oversized_writes);
            if m.bytes <= mps || splits {
                continue;
            }
            let name = cx.name(rp);
            out.push(
                Finding::new(
                    Code::MpsWriteMerge,
                    name,
                    format!(
                        "the interconnect merges {} of {imp}'s writes into a {}-byte burst (Normal memory), above {name}'s MPS {mps}, and {name} does not split it: a malformed TLP",
                        m.count, m.bytes
                    ),
                )
                .with("burst_bytes", m.bytes)
                .with("merged_tlps", m.count)
                .with("mps", mps)
                .with("addr", json(m.addr))
                .with("attrs", attr.clone())
                .with("write_merge_bytes", cx.p().interconnect.write_merge_bytes)
                .fix(fix(cx, name)),
            );
        }
    }
    for (link_at, payload, mps) in cx.malformed(true) {
        let name = cx.name(link_at);
        if already(out, Code::MpsWriteMerge, name) {
            continue;
        }
        out.push(
            Finding::new(
                Code::MpsWriteMerge,
                name,
                format!(
                    "a {payload}-byte burst merged from {imp}'s writes (Normal memory) exceeds {name}'s MPS {mps}: a malformed TLP"
                ),
            )
            .with("burst_bytes", payload)
            .with("mps", mps)
            .with("attrs", attr.clone())
            .with("write_merge_bytes", cx.p().interconnect.write_merge_bytes)
            .fix(fix(cx, name)),
        );
    }
}
