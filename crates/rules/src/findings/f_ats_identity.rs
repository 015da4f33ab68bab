//! `ats-identity` (warning) — H2: the importer issues ATS requests while its attached
//! domain is identity or blocked.
//!
//! The kernel enables ATS only for paging domains (SMMUv3 sets EATS=0 for bypass and
//! abort STEs), so this comes from traffic that forces ATS (`ats: on`) or a device
//! that ignores its ATS enable; its translation requests and translated requests fault
//! (`bypass-mismatch`). The subject is the importer.

use peerpath_model::DomainType;

use super::Cx;
use crate::finding::{Code, Finding};
use crate::k3_stream::attached_domain;

/// Raises `ats-identity`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    if cx.probe || !cx.flows.iter().any(|f| f.flow.ats) {
        return;
    }
    let Some(ty @ (DomainType::Identity | DomainType::Blocked)) =
        attached_domain(cx.topo, cx.importer())
    else {
        return;
    };
    let imp = cx.name(cx.importer());
    out.push(
        Finding::new(
            Code::AtsIdentity,
            imp,
            format!(
                "{imp} uses ATS while its domain is {ty}: a bypass or abort stream has EATS=0, so translation requests fault"
            ),
        )
        .with("domain", ty.as_str())
        .with("kernel_ats_enabled", cx.setup.ats_enabled)
        .fix(format!(
            "disable ATS on {imp} (traffic ats: off, pci=noats) or attach a paging (dma) domain"
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, node, pair_result};
    use peerpath_model::{AtsUse, DomainType, ExportId, IommuKind, Op, Pattern, Traffic};

    /// nic0 forces ATS (`traffic[].ats: on`) from an identity domain: warned; from its
    /// dma domain, not.
    #[test]
    fn forced_ats_from_an_identity_domain_is_warned() {
        let with = |identity: bool| {
            testplat::switch_pair(|b| {
                testplat::add_iommu(b, IommuKind::Smmuv3);
                let nic = node(b, "nic0");
                b.endpoint_mut(nic).ats = true;
                if identity {
                    b.domain("id", DomainType::Identity, &[nic]);
                }
                b.platform_mut().traffic.push(Traffic {
                    importer: nic,
                    export: ExportId(0),
                    op: Op::Write,
                    bytes: 4096,
                    payload: Some(128),
                    pattern: Pattern::Sequential,
                    ats: AtsUse::On,
                });
            })
        };
        let warned = |identity: bool| {
            pair_result(&with(identity), "nic0", "gpu0-bar0")
                .findings
                .iter()
                .filter(|f| f.code.as_str() == "ats-identity")
                .map(|f| f.subject.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(warned(true), ["nic0"]);
        assert_eq!(warned(false), Vec::<String>::new());
    }
}
