//! `vfio-group-not-viable` (error) — V2, K4.3: VFIO assigns IOMMU groups, not devices
//! (`drivers/vfio/group.c`: a group is viable only when every device in it is bound
//! to vfio-pci, to no driver or to a stub, and the group is opened by one user).
//!
//! Raised for the importer and for the exporter when it is assigned to a VM and
//! another endpoint of its group is bound to a host driver or assigned to another VM.
//! Bridges and ports in the group are exempt. A vfio-pci device assigned to no VM
//! does not break the group. The subject is the assigned device; the evidence names
//! the group and the device that breaks it.

use peerpath_model::{Driver, NodeKind};

use super::{already, Cx};
use crate::finding::{Code, Finding};

/// Raises `vfio-group-not-viable`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let p = cx.p();
    if p.vms.is_empty() {
        return;
    }
    let groups = cx.topo.groups();
    for dev in [cx.importer(), cx.exporter()] {
        let Some(vm) = p.vm_of(dev) else {
            continue;
        };
        let name = cx.name(dev);
        if already(out, Code::VfioGroupNotViable, name) {
            continue;
        }
        let Some(g) = groups.group_of(dev).and_then(|g| groups.group(g)) else {
            continue;
        };
        for &m in &g.devices {
            let NodeKind::Endpoint(e) = &p.node(m).kind else {
                continue;
            };
            if m == dev {
                continue;
            }
            let (why, holder) = match p.vm_of(m) {
                Some(o) if o.name == vm.name => continue,
                Some(o) => (format!("assigned to VM {}", o.name), o.name.clone()),
                None if e.driver == Driver::VfioPci => continue,
                None => (
                    format!("bound to a host driver ({})", e.driver),
                    "host".to_owned(),
                ),
            };
            let other = cx.name(m);
            out.push(
                Finding::new(
                    Code::VfioGroupNotViable,
                    name,
                    format!(
                        "VFIO refuses IOMMU group {} for {}: {other} is in it too and is {why}",
                        g.id, vm.name
                    ),
                )
                .with("vm", vm.name.as_str())
                .with("group", g.id)
                .with("device", other)
                .with("held_by", holder)
                .fix(format!(
                    "assign {other} to {} as well (or bind it to vfio-pci), or move {name} to a slot whose ports isolate it (ACS) so it gets a group of its own",
                    vm.name
                )),
            );
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::vm;
    use crate::testplat::{self, pair_result};
    use peerpath_model::{NodeId, Platform};

    /// switch_pair's ports have no ACS, so nic0 and gpu0 share one IOMMU group
    /// (legacy, K4.3). Assigning nic0 alone, with gpu0 on its host driver, leaves the
    /// group not viable (V2); assigning both to the VM makes it viable.
    #[test]
    fn a_group_is_assigned_whole_or_not_at_all() {
        let with = |both: bool| -> Platform {
            let mut p = testplat::switch_pair(|b| {
                testplat::add_iommu(b, peerpath_model::IommuKind::Smmuv3)
            });
            let nic = p.node_by_name("nic0").expect("nic0");
            let gpu = p.node_by_name("gpu0").expect("gpu0");
            let devices: Vec<NodeId> = if both { vec![nic, gpu] } else { vec![nic] };
            for d in &devices {
                if let peerpath_model::NodeKind::Endpoint(e) = &mut p.nodes[d.index()].kind {
                    e.driver = peerpath_model::Driver::VfioPci;
                }
            }
            p.vms = vec![vm(&devices)];
            p
        };
        let raised = |p: &Platform| -> Vec<(String, serde_json::Value)> {
            pair_result(p, "nic0", "gpu0-bar0")
                .findings
                .iter()
                .filter(|f| f.code.as_str() == "vfio-group-not-viable")
                .map(|f| (f.subject.clone(), f.evidence["device"].clone()))
                .collect()
        };
        let one = raised(&with(false));
        assert_eq!(one.len(), 1, "{one:?}");
        assert_eq!(one[0], ("nic0".to_owned(), serde_json::json!("gpu0")));
        assert!(raised(&with(true)).is_empty());
    }
}
