//! `acs-violation` (error) — H1: ACS blocks the importer's request at a port.
//!
//! Raised for a trace stopped by ACS: egress control (EC) without RR blocks peer
//! requests, TB blocks translated requests going upstream, SV blocks a requester whose
//! bus lies outside the port's range. The subject is the ingress port.

use peerpath_engine::{End, Fault};
use peerpath_model::AcsFlags;

use super::{already, Cx};
use crate::finding::{Code, Finding};
use crate::hex::json;

/// Raises `acs-violation`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    for (_, tr) in cx.traces() {
        let End::Fault(Fault::AcsViolation { port, bit }) = tr.end else {
            continue;
        };
        let Some(tlp) = tr.summary.last.map(|(_, t)| t) else {
            continue;
        };
        let name = cx.name(port);
        if already(out, Code::AcsViolation, name) {
            continue;
        }
        let (why, fix) = if bit.contains(AcsFlags::EC) {
            (
                "egress control without RR blocks the peer request",
                format!("set RR with EC on {name} (the request then goes to the IOMMU) or clear EC (pci=config_acs)"),
            )
        } else if bit.contains(AcsFlags::TB) {
            (
                "translation blocking stops the translated request",
                format!("clear TB on {name} or issue untranslated requests"),
            )
        } else {
            (
                "source validation rejects the requester ID",
                format!("check the bus numbering below {name}"),
            )
        };
        out.push(
            Finding::new(
                Code::AcsViolation,
                name,
                format!(
                    "ACS {} at {name}: {why} ({imp}'s {} to {:#x})",
                    bit, tlp.op, tlp.addr
                ),
            )
            .with("port", name)
            .with("bit", bit.names())
            .with("acs_ctl", cx.topo.acs_ctl(port).names())
            .with("addr", json(tlp.addr))
            .fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{AcsFlags, IommuKind, Translation};

    #[test]
    fn translation_blocking_stops_the_reissued_translated_request() {
        let p = testplat::switch_pair(|b| {
            testplat::add_iommu(b, IommuKind::Smmuv3);
            b.iommu_mut(peerpath_model::IommuId(0)).ats = true;
            let hb = node(b, "hb0");
            b.host_bridge_id(hb, 0x1ae0, 1);
            b.host_bridge_mut(hb).translation = Translation::DtiAts;
            let rp = node(b, "rp0");
            b.acs(rp, AcsFlags::REQ, None);
            let tb = AcsFlags::REQ | AcsFlags::TB;
            for dp in ["sw0.dp0", "sw0.dp1"] {
                let dp = node(b, dp);
                b.acs(dp, tb, Some(tb));
            }
            let nic = node(b, "nic0");
            b.endpoint_mut(nic).ats = true;
        });
        let f = findings_of(&p, "nic0", "gpu0-bar0");
        assert!(
            f.contains(&("acs-violation", "sw0.dp1".to_owned())),
            "{f:?}"
        );
    }
}
