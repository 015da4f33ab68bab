//! `mps-exceeded` (error) — K5, H5: a TLP's payload exceeds the effective MPS of a node
//! on its route, which drops it as malformed.
//!
//! Raised for a trace dropped as a malformed TLP that was not a merged burst (that is
//! `mps-write-merge`). For P2P the limit is the smallest MPS on the route, the target
//! included: `pcie_bus_config=perf` lets a device's MPS exceed a peer's, `peer2peer`
//! (128 everywhere) never does. The subject is the node that dropped it.

use super::{already, Cx};
use crate::finding::{Code, Finding};

/// Raises `mps-exceeded`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    for (link_at, payload, mps) in cx.malformed(false) {
        let name = cx.name(link_at);
        if already(out, Code::MpsExceeded, name) {
            continue;
        }
        let config = cx.p().kernel.pcie_bus_config;
        let own = cx.topo.mps(cx.importer());
        let note = if payload > own {
            format!(
                " (above {imp}'s own MPS {own}: the traffic asks for more than the device sends)"
            )
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                Code::MpsExceeded,
                name,
                format!(
                    "{imp}'s {payload}-byte write exceeds the MPS {mps} of {name} on its route: a malformed TLP, dropped{note}"
                ),
            )
            .with("payload", payload)
            .with("mps", mps)
            .with("importer_mps", own)
            .with("pcie_bus_config", config.as_str())
            .fix(format!(
                "use pci=pcie_bus_peer2peer (MPS 128 everywhere) or keep {imp}'s payload at or below {mps}"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::PcieBusConfig;

    /// `pci=pcie_bus_tune_off` keeps firmware MPS: the NIC writes 512-byte TLPs to a
    /// GPU programmed to 256, the last receiver on the route (H5).
    #[test]
    fn a_payload_above_the_target_mps_is_malformed() {
        let with = |gpu_mps: u32| {
            testplat::switch_pair(|b| {
                b.kernel().pcie_bus_config = PcieBusConfig::TuneOff;
                for n in ["rp0", "sw0", "sw0.dp0", "sw0.dp1"] {
                    let id = node(b, n);
                    b.port_mut(id).mps = 512;
                }
                let nic = node(b, "nic0");
                let e = b.endpoint_mut(nic);
                e.mpss = 512;
                e.mps = 512;
                let gpu = node(b, "gpu0");
                let e = b.endpoint_mut(gpu);
                e.mpss = 512;
                e.mps = gpu_mps;
            })
        };
        assert_eq!(
            findings_of(&with(256), "nic0", "gpu0-bar0"),
            [("mps-exceeded", "gpu0".to_owned())]
        );
        assert_eq!(findings_of(&with(512), "nic0", "gpu0-bar0"), []);
    }
}
