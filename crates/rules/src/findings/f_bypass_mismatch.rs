//! `bypass-mismatch` (error) — K1.10, K3.3, H2, H3: the address the kernel handed the
//! importer assumes one regime and the hardware applies another.
//!
//! Raised for a trace where
//! - a **bus address** (`bus-addr`) or a **raw PA** (dma-direct) meets a translating
//!   STE and is looked up as an IOVA: ACS redirected the bus address to the IOMMU, or
//!   the device's attached domain translates while the DMA API followed an identity
//!   default;
//! - **ATS** requests come from a device whose STE bypasses or aborts (EATS=0), or
//!   reach a root complex without a translation agent;
//! - an **IOVA** (iommu-dma) never meets a translation agent: no ACS redirect sends it
//!   upstream, so the switches route it as a bus address (H2) — e.g. the kernel counted
//!   CR or EC as redirect (mainline K1.4) while the hardware redirects requests only on
//!   RR (H1).
//!
//! Where the bus address came from a driver that maps peers itself (K2.4) across ACS
//! redirect, the fix is clearing the redirect (`acs_fix`) or mapping with
//! `dma_map_resource`.
//!
//! The subject is where the hardware applied the other regime (the faulting agent, or
//! where the IOVA ended).

use peerpath_engine::{End, Fault, Ste};

use super::{already, end_place, iova_routed_untranslated, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;
use crate::kernel::Regime;

/// Raises `bypass-mismatch`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    let Some(regime) = cx.regime() else {
        return;
    };
    // K2.4: a driver that maps the peer itself, not the kernel, handed the address.
    let who = if cx.k.why.driver.is_some() {
        "the driver"
    } else {
        "the kernel"
    };
    for (_, tr) in cx.traces() {
        // A guest's GPA delivered untranslated is `guest-address-misroute` (V3).
        if cx.vm.is_some()
            && matches!(tr.end, End::Delivered { .. })
            && iova_routed_untranslated(cx, tr)
        {
            continue;
        }
        let Some((_, last)) = tr.summary.last else {
            continue;
        };
        let place = end_place(tr).map(|p| cx.place(p)).unwrap_or_default();
        if already(out, Code::BypassMismatch, &place) {
            continue;
        }
        let issued = tr.summary.issued.unwrap_or(last);
        let redirect = tr.summary.redirected_at.map(|at| cx.place(at));
        let (hw, message, fix) = match tr.end {
            End::Fault(Fault::Unmapped { iova }) if regime != Regime::Iova => {
                let handed = match regime {
                    Regime::BusAddress => "the bus address",
                    _ => "the raw physical address",
                };
                let how = match (&redirect, regime) {
                    (Some(r), Regime::BusAddress) => format!("{r} redirects it to {place}, which"),
                    _ => format!("{imp}'s stream translates, and {place}"),
                };
                let driver_fix = (regime == Regime::BusAddress && cx.k.why.driver.is_some())
                    .then(|| cx.k.why.map.clear_redirect(cx.topo))
                    .flatten();
                let fix = if let Some(c) = driver_fix {
                    format!(
                        "the driver handed {imp} a bus address although ACS redirects it: to clear ACS redirect on the path, {} (this weakens IOMMU isolation, K4.3); or have the driver map with dma_map_resource (via: driver-map-resource)",
                        c.sentence()
                    )
                } else if regime == Regime::BusAddress {
                    format!(
                        "keep ACS from redirecting this path (the kernel saw no redirect), or give {imp} an IOVA: the kernel and the hardware must agree on ACS"
                    )
                } else {
                    format!(
                        "attach the domain the DMA API uses (identity) to {imp}, or map through iommu-dma"
                    )
                };
                (
                    "translated",
                    format!(
                        "{who} handed {imp} {handed} {iova:#x} ({}), but {how} looks it up as an IOVA and faults",
                        cx.k.dma_path.as_str()
                    ),
                    fix,
                )
            }
            End::Fault(Fault::AtsNotEnabled | Fault::NoTranslationAgent)
                if !matches!(cx.setup.ste, Ste::Translate(_)) =>
            {
                let ste = match cx.setup.ste {
                    Ste::Abort => "aborts",
                    _ => "bypasses",
                };
                (
                    "ats",
                    format!(
                        "{imp} issues ATS requests but its stream {ste} (EATS=0): {place} faults the translation"
                    ),
                    format!("disable ATS on {imp} (traffic ats: off, pci=noats) or attach a paging domain"),
                )
            }
            _ if iova_routed_untranslated(cx, tr) => {
                let agentless = tr.summary.no_translation_at.map(|hb| cx.name(hb));
                match agentless {
                    Some(hb) => (
                        "untranslated",
                        format!(
                            "{who} handed {imp} the IOVA {:#x} (iommu-dma), but {hb} has no translation agent (translation: none): the IOVA goes out untranslated and ends at {place}",
                            issued.addr
                        ),
                        format!("describe where {hb}'s traffic is translated (host_bridges[].translation)"),
                    ),
                    None => (
                        "bus-routed",
                        format!(
                            "{who} handed {imp} the IOVA {:#x} (iommu-dma), but no ACS redirect sends it to the IOMMU: it is routed as a bus address and ends at {place}",
                            issued.addr
                        ),
                        "set RR (and UF) on the downstream ports between the peers (pci=config_acs), so peer requests reach the IOMMU as the kernel assumes"
                            .to_owned(),
                    ),
                }
            }
            _ => continue,
        };
        out.push(
            Finding::new(Code::BypassMismatch, &place, message)
                .with("kernel_regime", regime.as_str())
                .with("hardware", hw)
                .with("addr", json(issued.addr))
                .with("redirected_at", redirect)
                .fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, node, pair_result};
    use peerpath_model::{AcsFlags, IommuKind, Translation, Via};

    /// A driver hands nic0 gpu0's bus address (K2.4) while nic0's stream translates:
    /// with ACS RR at the switch and UF at the root port the write is redirected to the
    /// SMMU, which looks the bus address up as an IOVA; without RR the write turns in
    /// the switch as intended.
    #[test]
    fn a_bus_address_redirected_to_a_translating_iommu() {
        let with = |rr: bool| {
            testplat::switch_pair(|b| {
                testplat::add_iommu(b, IommuKind::Smmuv3);
                let hb = node(b, "hb0");
                b.host_bridge_mut(hb).translation = Translation::Integrated;
                b.platform_mut().exports[0].via = Via::DriverBusAddress;
                for port in ["sw0.dp0", "sw0.dp1"] {
                    let id = node(b, port);
                    b.acs(
                        id,
                        AcsFlags::all(),
                        Some(if rr { AcsFlags::RR } else { AcsFlags::empty() }),
                    );
                }
                // Upstream Forwarding at the root port: the redirected write goes on to
                // the root complex instead of turning back below rp0 (H1 UF).
                let rp = node(b, "rp0");
                b.acs(rp, AcsFlags::all(), Some(AcsFlags::UF));
            })
        };
        let r = pair_result(&with(true), "nic0", "gpu0-bar0");
        let f = r
            .findings
            .iter()
            .find(|f| f.code.as_str() == "bypass-mismatch")
            .unwrap_or_else(|| panic!("{:?}", r.findings));
        assert_eq!(f.evidence["redirected_at"], "sw0.dp1");
        let r = pair_result(&with(false), "nic0", "gpu0-bar0");
        assert!(
            r.findings
                .iter()
                .all(|f| f.code.as_str() != "bypass-mismatch"),
            "{:?}",
            r.findings
        );
    }
}
