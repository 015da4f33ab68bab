//! `acs-redirect` (info) — K1.4, K1.8: ACS redirect on the path between the peers
//! makes the kernel choose `thru-host-bridge` (or, without CPU rule or allow-list,
//! `not-supported`) although they share an upstream device.
//!
//! Raised when K1 found a common upstream device and at least one redirecting device on
//! the kernel's walk. It names the devices in the kernel's order with their ACS Control,
//! and carries the kernel's hint `pci=disable_acs_redir=<BDF;BDF…>` with the runtime
//! `setpci` commands for the same ports (`acs_fix`). The subject is the
//! first redirecting device. Not raised where the export's driver maps the peer itself
//! (K2.4): the kernel's choice is not used then (`driver-bypasses-p2pdma` names it, and
//! the hardware findings carry the hint where the redirect breaks the driver's address).

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `acs-redirect`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let m = &cx.k.why.map;
    if cx.k.why.driver.is_some() {
        return;
    }
    let (Some(common), Some(first), Some(hint)) = (
        m.common_upstream,
        m.redirecting.first(),
        m.clear_redirect(cx.topo),
    ) else {
        return;
    };
    let ports: Vec<&str> = m.redirecting.iter().map(|n| cx.name(*n)).collect();
    let ctl: serde_json::Map<String, serde_json::Value> = m
        .redirecting
        .iter()
        .map(|n| {
            (
                cx.name(*n).to_owned(),
                serde_json::Value::from(cx.topo.acs_ctl(*n).names()),
            )
        })
        .collect();
    let message = format!(
        "ACS redirect is set between {} and {} on {}: the kernel maps their P2P through the root complex ({}) instead of below {}",
        cx.name(cx.importer()),
        cx.name(cx.exporter()),
        ports.join(", "),
        m.map_type.as_str(),
        cx.name(common)
    );
    let what = match cx.p().kernel.acs_decision {
        peerpath_model::AcsDecision::Mainline => "ACS redirect",
        peerpath_model::AcsDecision::EgressAware => "ACS controls",
    };
    out.push(
        Finding::new(Code::AcsRedirect, cx.name(*first), message)
            .with("ports", ports)
            .with("acs_ctl", ctl)
            .with("common_upstream", cx.name(common))
            .with("map_type", m.map_type.as_str())
            .with("hint", hint.parameter.clone())
            .with(
                "runtime",
                hint.runtime
                    .iter()
                    .map(|l| l.command.as_str())
                    .collect::<Vec<_>>(),
            )
            .fix(format!(
                "to disable {what} for this path, {} (this also weakens IOMMU isolation, K4.3)",
                hint.sentence()
            )),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, node, pair_result};
    use crate::MapType;
    use peerpath_model::AcsFlags;

    /// ACS RR on the switch's downstream ports sends the pairing through the host
    /// bridge (K1.4), and the finding names the ports and the kernel parameter.
    #[test]
    fn redirect_at_the_switch_ports_is_reported_with_its_hint() {
        let p = testplat::switch_pair(|b| {
            for dp in ["sw0.dp0", "sw0.dp1"] {
                let id = node(b, dp);
                b.acs(id, AcsFlags::all(), Some(AcsFlags::RR));
            }
        });
        let r = pair_result(&p, "nic0", "gpu0-bar0");
        let f = r
            .findings
            .iter()
            .find(|f| f.code.as_str() == "acs-redirect")
            .expect("acs-redirect");
        assert_ne!(r.kernel.map_type, MapType::BusAddr);
        let hint = f.evidence["hint"].as_str().expect("a hint");
        assert!(hint.starts_with("pci=disable_acs_redir="), "{hint}");
        let plain = testplat::switch_pair(|_| {});
        let r = pair_result(&plain, "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.map_type, MapType::BusAddr);
        assert!(r.findings.iter().all(|f| f.code.as_str() != "acs-redirect"));
    }
}
