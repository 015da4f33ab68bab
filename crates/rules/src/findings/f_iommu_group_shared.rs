//! `iommu-group-shared` (warning) — K4.3: exporter and importer share an IOMMU group,
//! so VFIO cannot assign them apart.
//!
//! Raised when both devices sit behind an IOMMU and `kernel.group_algorithm` puts them
//! in one group. The subject is the importer.

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `iommu-group-shared`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let (imp, exp) = (cx.importer(), cx.exporter());
    let Some((gi, ge)) = cx.groups() else {
        return;
    };
    if gi != ge {
        return;
    }
    let (iname, ename) = (cx.name(imp), cx.name(exp));
    let algorithm = cx.p().kernel.group_algorithm;
    out.push(
        Finding::new(
            Code::IommuGroupShared,
            iname,
            format!("{iname} and {ename} share IOMMU group {gi} ({algorithm} grouping): VFIO cannot assign them apart"),
        )
        .with("group", gi)
        .with("group_algorithm", algorithm.as_str())
        .fix(format!(
            "enable ACS (SV, RR, CR, UF) on the ports between {iname} and {ename}, or assign them together"
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of};
    use peerpath_model::IommuKind;

    #[test]
    fn a_root_port_without_acs_puts_its_subtree_in_one_group() {
        let p = testplat::switch_pair(|b| testplat::add_iommu(b, IommuKind::Smmuv3));
        let f = findings_of(&p, "nic0", "gpu0-bar0");
        assert_eq!(f, [("iommu-group-shared", "nic0".to_owned())]);
    }

    #[test]
    fn no_iommu_no_group_finding() {
        let p = testplat::switch_pair(|_| {});
        assert!(findings_of(&p, "nic0", "gpu0-bar0").is_empty());
    }
}
