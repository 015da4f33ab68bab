//! `unsupported-request` (error) — H7: the importer's request decodes to nothing, to
//! DRAM, or to another device's BAR instead of the exporter's.
//!
//! Raised for a trace that ends in an unsupported-request drop, in DRAM, or delivered
//! to an endpoint other than the exporter — unless the importer's IOVA simply never met
//! the IOMMU, which is `bypass-mismatch`. And (C3, [PCIe §6.33]) for a T=1 request the
//! exporter's TDI refuses because it is in CONFIG_UNLOCKED or CONFIG_LOCKED, not RUN: it
//! completes it as an unsupported request. The subject is where the route ended.

use peerpath_engine::{DropReason, End, Fault};
use peerpath_model::TdispState;

use super::{already, end_place, iova_routed_untranslated, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;

/// Raises `unsupported-request`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    let exp = cx.name(cx.exporter());
    for (_, tr) in cx.traces() {
        if iova_routed_untranslated(cx, tr) {
            continue;
        }
        let Some((_, last)) = tr.summary.last else {
            continue;
        };
        let place = end_place(tr).map(|p| cx.place(p)).unwrap_or_default();
        if already(out, Code::UnsupportedRequest, &place) {
            continue;
        }
        let (kind, message) = match tr.end {
            End::Dropped(DropReason::UnsupportedRequest { addr }) => (
                "no-decode",
                format!(
                    "{imp}'s {} to {addr:#x} decodes to nothing at {place}: unsupported request",
                    last.op
                ),
            ),
            End::Dram { addr, .. } => (
                "dram",
                format!(
                    "{imp}'s {} lands in DRAM ({place}) at {addr:#x} instead of {exp}'s BAR",
                    last.op
                ),
            ),
            End::Delivered { target, .. } if target != cx.exporter() => (
                "wrong-target",
                format!(
                    "{imp}'s {} to {:#x} lands in {}'s BAR instead of {exp}'s",
                    last.op,
                    last.addr,
                    cx.name(target)
                ),
            ),
            End::Fault(Fault::TdispRefused {
                target,
                tdisp,
                t: true,
            }) if target == cx.exporter() => {
                out.push(
                    Finding::new(
                        Code::UnsupportedRequest,
                        &place,
                        format!(
                            "{imp}'s T=1 {} on their P2P IDE stream reaches {exp} in TDISP {tdisp}: a TDI that is not in RUN refuses T=1 requests (unsupported request)",
                            last.op
                        ),
                    )
                    .with("decode", "tdisp-t1-refused")
                    .with("addr", json(last.addr))
                    .with("t_bit", 1)
                    .with("tdisp", tdisp.as_str())
                    .with("ide_stream", cx.ide_stream())
                    .fix(if tdisp == TdispState::Locked {
                        format!("attest and START {exp}'s TDI (CONFIG_LOCKED → RUN) before {imp} sends it T=1 requests")
                    } else {
                        format!("lock, attest and START {exp}'s TDI (→ CONFIG_LOCKED → RUN) before {imp} sends it T=1 requests")
                    }),
                );
                continue;
            }
            _ => continue,
        };
        out.push(
            Finding::new(Code::UnsupportedRequest, &place, message)
                .with("decode", kind)
                .with("addr", json(last.addr))
                .with("kernel_dma_address", cx.k.dma_address.map(|a| json(a.0)))
                .fix(
                    "check the host bridge windows and bus offsets: the importer's address must decode to the exporter's BAR"
                        .to_owned(),
                ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{AtsUse, ExportId, NodeKind, Op, Pattern, PhysAddr, Traffic};

    #[test]
    fn traffic_beyond_a_small_bar_decodes_to_nothing() {
        let mut p = testplat::switch_pair(|b| {
            let nic = node(b, "nic0");
            b.platform_mut().traffic.push(Traffic {
                importer: nic,
                export: ExportId(0),
                op: Op::Write,
                bytes: 8192,
                payload: Some(128),
                pattern: Pattern::Sequential,
                ats: AtsUse::Off,
            });
        });
        // Shrink gpu0's BAR and the export to one page.
        let gpu = p.node_by_name("gpu0").expect("gpu0");
        if let NodeKind::Endpoint(e) = &mut p.nodes[gpu.index()].kind {
            e.bars[0].range.end = PhysAddr(e.bars[0].range.start.0 + 0xfff);
        }
        p.exports[0].size = 0x1000;
        let f = findings_of(&p, "nic0", "gpu0-bar0");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, "unsupported-request");
    }
}
