//! `driver-bypasses-p2pdma` (info) — K2.4, K1.5: the export's driver maps the peer
//! itself (`via: driver-bus-address | driver-map-resource`) and the kernel's p2pdma
//! (`pci_p2pdma_map_type`, K1) would have decided another map type.
//!
//! Raised when the driver's map type differs from K1's. It names both, with K1's
//! reason (the redirecting devices and the kernel's `pci=disable_acs_redir=` hint, or
//! the missing common upstream device). The subject is the exporter, whose driver made
//! the choice. What the hardware then does with the driver's address is for the
//! hardware findings (`bypass-mismatch`, `iommu-fault`, `rc-no-forward`).

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k1_map_type::MapType;

/// Raises `driver-bypasses-p2pdma`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let Some(driver) = cx.k.why.driver else {
        return;
    };
    let m = &cx.k.why.map;
    if driver == m.map_type {
        return;
    }
    let (imp, exp) = (cx.name(cx.importer()), cx.name(cx.exporter()));
    let via = cx.export().via;
    let ports: Vec<&str> = m.redirecting.iter().map(|n| cx.name(*n)).collect();
    let clear = m.clear_redirect(cx.topo);
    let reason = match (m.map_type, m.common_upstream) {
        (MapType::BusAddr, Some(c)) => format!("they share {} with no ACS redirect", cx.name(c)),
        (_, Some(c)) if !ports.is_empty() => format!(
            "ACS redirect on {} sends their traffic above {}",
            ports.join(", "),
            cx.name(c)
        ),
        (_, None) => "they share no upstream bridge".to_owned(),
        (_, Some(c)) => format!("they share {}", cx.name(c)),
    };
    let message = format!(
        "{exp}'s driver maps {} for {imp} itself ({via}: {}); p2pdma would have decided {} ({reason})",
        cx.export().name,
        driver.as_str(),
        m.map_type.as_str(),
    );
    let fix = match (driver, m.map_type) {
        (MapType::BusAddr, MapType::ThruHostBridge | MapType::NotSupported) => match &clear {
            Some(c) => format!(
                "the driver's bus address only reaches {exp} if nothing redirects it: to clear ACS redirect on {}, {} — or have the driver map with dma_map_resource (via: driver-map-resource) or use p2pdma",
                ports.join(", "),
                c.sentence()
            ),
            None => format!(
                "the driver's bus address has no common switch to take it to {exp}: have the driver map with dma_map_resource (via: driver-map-resource) or use p2pdma"
            ),
        },
        _ => format!(
            "let p2pdma decide (via: vfio-dmabuf or p2pdma-pages) to get its {} mapping",
            m.map_type.as_str()
        ),
    };
    out.push(
        Finding::new(Code::DriverBypassesP2pdma, exp, message)
            .with("via", via.as_str())
            .with("driver_map_type", driver.as_str())
            .with("p2pdma_map_type", m.map_type.as_str())
            .with("common_upstream", m.common_upstream.map(|c| cx.name(c)))
            .with("redirecting", ports)
            .with("hint", clear.as_ref().map(|c| c.parameter.clone()))
            .fix(fix),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{AcsFlags, IommuKind, Via};

    /// switch_pair on AMD Zen with AMD-Vi and ACS capabilities on the switch's
    /// downstream ports, which the kernel then enables (K4.1): p2pdma says
    /// `thru-host-bridge` (K1.4, K1.6).
    fn redirecting(via: Via) -> peerpath_model::Platform {
        let mut p = testplat::switch_pair(|b| {
            b.kernel().arch = peerpath_model::Arch::X86_64;
            b.kernel().cpu.vendor = peerpath_model::CpuVendor::Amd;
            b.kernel().cpu.family = Some(0x19);
            testplat::add_iommu(b, IommuKind::AmdVi);
            for dp in ["sw0.dp0", "sw0.dp1"] {
                let n = node(b, dp);
                b.acs(n, AcsFlags::REQ, None);
            }
        });
        p.exports[0].via = via;
        p
    }

    #[test]
    fn a_driver_bus_address_across_acs_redirect_names_p2pdma_s_choice() {
        let r = testplat::pair_result(&redirecting(Via::DriverBusAddress), "nic0", "gpu0-bar0");
        assert_eq!(r.kernel.map_type.as_str(), "bus-addr");
        assert_eq!(r.kernel.why.map.map_type.as_str(), "thru-host-bridge");
        let f = r
            .findings
            .iter()
            .find(|f| f.code.as_str() == "driver-bypasses-p2pdma")
            .expect("driver-bypasses-p2pdma");
        assert_eq!(f.subject, "gpu0");
        let ev = serde_json::to_value(&f.evidence).unwrap_or_default();
        assert_eq!(ev["p2pdma_map_type"], "thru-host-bridge", "{ev}");
        assert_eq!(ev["driver_map_type"], "bus-addr", "{ev}");
        // p2pdma's own findings stay quiet: nothing asked it.
        assert!(!r.findings.iter().any(|f| f.code.as_str() == "acs-redirect"));
    }

    #[test]
    fn no_finding_where_the_driver_agrees_or_p2pdma_decides() {
        // driver-map-resource gives thru-host-bridge, as p2pdma would.
        let f = findings_of(&redirecting(Via::DriverMapResource), "nic0", "gpu0-bar0");
        assert!(
            !f.iter().any(|(c, _)| *c == "driver-bypasses-p2pdma"),
            "{f:?}"
        );
        let f = findings_of(&redirecting(Via::VfioDmabuf), "nic0", "gpu0-bar0");
        assert!(
            !f.iter().any(|(c, _)| *c == "driver-bypasses-p2pdma"),
            "{f:?}"
        );
        assert!(f.iter().any(|(c, _)| *c == "acs-redirect"), "{f:?}");
    }
}
