//! `noiommu-unsupported` (error) — K3.8: the exporter or the importer is bound to
//! vfio-noiommu — no isolation, no translation; [ORIGIN]: P2P over it "isn't worth
//! entertaining".
//!
//! Raised once per device of the pairing bound to `vfio-noiommu`; the subject is that
//! device.

use peerpath_model::Driver;

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `noiommu-unsupported`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    for (dev, role) in [(cx.importer(), "importer"), (cx.exporter(), "exporter")] {
        if cx.topo.endpoint(dev).map(|e| e.driver) != Some(Driver::VfioNoiommu) {
            continue;
        }
        let name = cx.name(dev);
        out.push(
            Finding::new(
                Code::NoiommuUnsupported,
                name,
                format!(
                    "{name} ({role}) is bound to vfio-noiommu: no isolation and no translation, and P2P over it is unsupported"
                ),
            )
            .with("device", name)
            .with("role", role)
            .with("driver", Driver::VfioNoiommu.as_str())
            .fix(format!(
                "bind {name} to vfio-pci behind an IOMMU, or to its kernel driver"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::Driver;

    /// One finding per device bound to vfio-noiommu, each its own subject.
    #[test]
    fn each_noiommu_device_is_named() {
        let p = testplat::switch_pair(|b| {
            let nic = node(b, "nic0");
            b.endpoint_mut(nic).driver = Driver::VfioNoiommu;
        });
        let f = findings_of(&p, "nic0", "gpu0-bar0");
        assert_eq!(f, [("noiommu-unsupported", "nic0".to_owned())]);
        let p = testplat::switch_pair(|b| {
            for n in ["nic0", "gpu0"] {
                let id = node(b, n);
                b.endpoint_mut(id).driver = Driver::VfioNoiommu;
            }
        });
        let mut subjects: Vec<String> = findings_of(&p, "nic0", "gpu0-bar0")
            .into_iter()
            .filter(|(c, _)| *c == "noiommu-unsupported")
            .map(|(_, s)| s)
            .collect();
        subjects.sort();
        assert_eq!(subjects, ["gpu0", "nic0"]);
    }
}
