//! `bridges`: PCIe-to-PCI(-X) bridges (an MPSS; no MPS or ACS of their own).

use peerpath_model::{NodeKind, PciBridge};

use super::hierarchy::{Parent, PendingNode};
use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// Each PCI bridge as a pending node.
    pub(super) fn bridge_nodes(&mut self, out: &mut Vec<PendingNode>) {
        let raw = self.raw;
        for (i, b) in raw.bridges.iter().enumerate() {
            let p = self.entity_path(Entity::Bridge(i));
            let mpss = b.mpss.unwrap_or(128);
            self.check_mps(&p, mpss, None);
            out.push(PendingNode {
                name: b.name.clone(),
                entity: Entity::Bridge(i),
                parent: Parent::Broken,
                bdf: Some(b.bdf),
                kind: NodeKind::PciBridge(PciBridge { mpss }),
            });
        }
    }
}
