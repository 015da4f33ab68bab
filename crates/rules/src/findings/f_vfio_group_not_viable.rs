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
