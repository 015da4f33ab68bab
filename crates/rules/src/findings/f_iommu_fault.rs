//! `iommu-fault` (error) — K3.2, H3: the IOMMU stops a TLP of the importer's traffic.
//!
//! Raised for a trace that ends in an IOMMU fault the kernel's own regime explains: the
//! stream aborts (a blocked domain, or no domain under `disable_bypass`); the
//! requester ID has no StreamID in the `stream_map`; an IOVA the importer was handed is
//! not mapped in the domain the hardware uses (an `unmanaged` VFIO domain holds nothing
//! the kernel mapped) or the access lies beyond the mapping; the mapping lacks the
//! permission; or ATS requests from a paging stream whose ATS the kernel did not
//! enable. A bus address or raw PA looked up as an IOVA and found unmapped is raised
//! here too (rules.md K2.4: "`bypass-mismatch`, and `iommu-fault` when nothing is
//! mapped there"): the fault is what the IOMMU logs (`AMD-Vi: Event logged
//! [IO_PAGE_FAULT …]`, `arm-smmu-v3: event 0x10 received`), while `bypass-mismatch`
//! names the cause. ATS from a bypassing stream is `bypass-mismatch` alone. The subject
//! is the translation agent (TBU, IOMMU or root complex) that faulted.

use peerpath_engine::{End, Fault, Ste};

use super::{already, end_place, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;
use crate::k3_stream::attached_domain;
use crate::kernel::Regime;

/// Raises `iommu-fault`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    let domain = attached_domain(cx.topo, cx.importer());
    let domain_name = domain.map_or("none", |d| d.as_str());
    let translating = matches!(cx.setup.ste, Ste::Translate(_));
    for (_, tr) in cx.traces() {
        let End::Fault(fault) = tr.end else {
            continue;
        };
        let Some(tlp) = tr.summary.last.map(|(_, t)| t) else {
            continue;
        };
        let place = end_place(tr).map(|p| cx.place(p)).unwrap_or_default();
        if already(out, Code::IommuFault, &place) {
            continue;
        }
        let (kind, message, fix) = match fault {
            Fault::StreamAbort { .. } => {
                let (why, fix) = if cx.setup.ste == Ste::Abort {
                    (
                        "its domain is blocked".to_owned(),
                        format!("attach a DMA or identity domain to {imp}"),
                    )
                } else {
                    (
                        "no domain is attached and the IOMMU has disable_bypass".to_owned(),
                        format!("let the IOMMU driver attach a domain to {imp}, or clear disable_bypass"),
                    )
                };
                (
                    "stream-abort",
                    format!("{place} aborts {imp}'s {} to {:#x}: {why}", tlp.op, tlp.addr),
                    fix,
                )
            }
            Fault::NoStreamId { rid } => (
                "no-stream-id",
                format!("{imp}'s requester ID {rid:#06x} has no StreamID at {place}: the transaction aborts"),
                format!("extend the IOMMU's stream_map (iommu-map) to cover RID {rid:#06x}"),
            ),
            Fault::Unmapped { iova } if cx.regime() == Some(Regime::Iova) => {
                if let Some(vm) = cx.vm {
                    // V1: the VM's I/O address space lacks the peer BAR.
                    (
                        "unmapped",
                        format!(
                            "{place} finds no mapping for {iova:#x} in {}'s I/O address space: the VMM did not map {}'s BAR there",
                            vm.name,
                            cx.name(cx.exporter())
                        ),
                        format!(
                            "map the assigned BARs into {}'s I/O address space: vfio-type1 does; with iommufd pass a VFIO dma-buf of the BAR to IOMMU_IOAS_MAP_FILE (vms[].map_bars)",
                            vm.name
                        ),
                    )
                } else if domain == Some(peerpath_model::DomainType::Unmanaged) {
                    (
                        "unmapped",
                        format!(
                            "{place} finds no mapping for IOVA {iova:#x} in {imp}'s unmanaged (VFIO) domain: the kernel mapped it into the default domain, which is not attached"
                        ),
                        format!(
                            "map the buffer into the VFIO/iommufd domain (IOMMU_IOAS_MAP_FILE) or bind {imp} to its kernel driver"
                        ),
                    )
                } else {
                    (
                        "unmapped",
                        format!("{place} finds no mapping for IOVA {iova:#x} in {imp}'s {domain_name} domain"),
                        "keep the importer's accesses inside the mapped buffer".to_owned(),
                    )
                }
            }
            Fault::Unmapped { iova } => {
                let handed = match cx.regime() {
                    Some(Regime::BusAddress) => "a bus address",
                    _ => "a raw physical address",
                };
                (
                    "unmapped",
                    format!(
                        "{place} finds no mapping for {iova:#x} in {imp}'s {domain_name} domain: {handed}, looked up as an IOVA (the IOMMU logs a page fault)"
                    ),
                    "see bypass-mismatch: the address must be the one the hardware's regime expects"
                        .to_owned(),
                )
            }
            Fault::Permission { iova, op } => (
                "permission",
                format!("the mapping of IOVA {iova:#x} in {imp}'s domain does not permit {op}"),
                "map the buffer with the direction the importer uses".to_owned(),
            ),
            Fault::AtsNotEnabled | Fault::NoTranslationAgent if translating => (
                "ats-not-enabled",
                format!(
                    "{imp} issues ATS requests but ATS is not enabled for its stream at {place} (EATS=0)"
                ),
                format!(
                    "enable ATS for {imp} (iommus[].ats, no pci=noats) or issue untranslated requests (traffic ats: off)"
                ),
            ),
            _ => continue,
        };
        out.push(
            Finding::new(Code::IommuFault, &place, message)
                .with("fault", kind)
                .with("op", tlp.op.as_str())
                .with("addr", json(tlp.addr))
                .with("domain", domain_name)
                .with("sid", tr.sid.map(|s| s.0))
                .fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, node, pair_result};
    use peerpath_model::{AcsFlags, Arch, CpuVendor, DomainType, IommuKind};

    /// AMD Zen 4 with AMD-Vi: the kernel enables ACS redirect on the switch (K4.1), so
    /// the pairing is thru-host-bridge and its writes reach the IOMMU. With nic0's
    /// attached domain blocked they abort there (K3.2); in its dma domain they are
    /// translated.
    #[test]
    fn a_blocked_domain_aborts_the_redirected_write() {
        let with = |blocked: bool| {
            testplat::switch_pair(|b| {
                b.kernel().arch = Arch::X86_64;
                b.kernel().cpu.vendor = CpuVendor::Amd;
                b.kernel().cpu.family = Some(0x19);
                testplat::add_iommu(b, IommuKind::AmdVi);
                for port in ["rp0", "sw0.dp0", "sw0.dp1"] {
                    let id = node(b, port);
                    b.acs(id, AcsFlags::all(), None);
                }
                if blocked {
                    let nic = node(b, "nic0");
                    b.domain("blk", DomainType::Blocked, &[nic]);
                }
            })
        };
        let r = pair_result(&with(true), "nic0", "gpu0-bar0");
        let f: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.code.as_str() == "iommu-fault")
            .collect();
        assert_eq!(f.len(), 1, "{:?}", r.findings);
        // AMD-Vi is integrated in the root complex: the fault is at the host bridge.
        assert_eq!(f[0].subject, "hb0");
        let r = pair_result(&with(false), "nic0", "gpu0-bar0");
        assert!(
            r.findings.iter().all(|f| f.code.as_str() != "iommu-fault"),
            "{:?}",
            r.findings
        );
    }
}
