//! `guest-address-misroute` (error) — V3, H1: a guest-issued untranslated request
//! carries a GPA that a host switch routes, before anything translates it, to a device
//! other than the intended peer — or to the intended one only because its GPA happens
//! to equal its host bus address.
//!
//! Raised on the host side of a VM pairing (`Cx::vm`) for a trace whose address was
//! never translated (no ACS redirect sent it up, no ATS translated it) and that was
//! delivered to an endpoint's BAR: another device's, or the exporter's while the VM's
//! BARs are not placed at their host addresses on purpose (`gpa: identity`). The
//! subject is the switch downstream port the request entered through — where ACS
//! Request Redirect would have sent it to the IOMMU. The fix names that change and
//! ATS (V4), which makes the device send translated addresses.

use peerpath_engine::End;
use peerpath_model::GpaPlacement;

use super::{already, iova_routed_untranslated, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;

/// Raises `guest-address-misroute`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let Some(vm) = cx.vm else {
        return;
    };
    let imp = cx.importer();
    let exp = cx.exporter();
    for (_, tr) in cx.traces() {
        if !iova_routed_untranslated(cx, tr) {
            continue;
        }
        let End::Delivered { target, .. } = tr.end else {
            continue;
        };
        if target == exp && vm.gpa == GpaPlacement::Identity {
            continue;
        }
        let Some((_, last)) = tr.summary.last else {
            continue;
        };
        let gpa = tr.summary.issued.unwrap_or(last).addr;
        // Where the request turned: the meeting point of the two; for the importer's
        // own BAR, its port turned it back (no other place routed it).
        let (port, switch) = if target == imp {
            let Some(up) = cx.topo.parent(imp) else {
                continue;
            };
            (up, up)
        } else {
            let Some(m) = cx.topo.meeting(imp, target) else {
                continue;
            };
            (m.below_a, m.node)
        };
        let (port, switch) = (cx.name(port), cx.name(switch));
        if already(out, Code::GuestAddressMisroute, port) {
            continue;
        }
        let hpa = cx.k.why.mapping.map(|m| m.phys.0);
        let message = if target == exp {
            format!(
                "{} (in {}) sends GPA {gpa:#x}; {switch} routes it untranslated and it reaches {}'s BAR only because that GPA is also its host bus address",
                cx.name(imp),
                vm.name,
                cx.name(exp)
            )
        } else {
            format!(
                "{} (in {}) sends GPA {gpa:#x}; {switch} routes it before any translation to {}'s BAR, not to {}'s (host address {})",
                cx.name(imp),
                vm.name,
                cx.name(target),
                cx.name(exp),
                hpa.map_or("unknown".to_owned(), |h| format!("{h:#x}"))
            )
        };
        out.push(
            Finding::new(Code::GuestAddressMisroute, port, message)
                .with("vm", vm.name.as_str())
                .with("gpa", json(gpa))
                .with("switch", switch)
                .with("port", port)
                .with("reached", cx.name(target))
                .with("intended", cx.name(exp))
                .with("intended_hpa", hpa.map(json))
                .fix(format!(
                    "enable ACS Request Redirect and Completion Redirect on {port} so the GPA goes to the IOMMU first (Linux enables them with an IOMMU where the port has ACS; kernel.config_acs otherwise), or enable ATS for {} so it sends translated addresses (V4)",
                    cx.name(imp)
                )),
        );
    }
}
