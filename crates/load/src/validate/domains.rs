//! `domains`: explicit IOMMU domains, each naming endpoints (each endpoint in at most
//! one domain).

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Domain, NodeId};

use crate::source::{ypath, Msg};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// The `domains`, their devices resolved to nodes (each device in one domain).
    pub(super) fn domains(&mut self, node_ids: &HashMap<Entity, NodeId>) -> Vec<Domain> {
        let raw = self.raw;
        let mut out = Vec::new();
        let mut member: HashMap<NodeId, &str> = HashMap::default();
        for (i, d) in raw.domains.iter().enumerate() {
            let dp = self.entity_path(Entity::Domain(i));
            let mut devices = Vec::new();
            for (k, dev) in d.devices.iter().enumerate() {
                let mut p = dp.clone();
                p.extend(ypath!["devices", k]);
                let Some((_, id)) = self.endpoint_ref(dev, p.clone(), node_ids) else {
                    continue;
                };
                if let Some(other) = member.get(&id) {
                    self.report(
                        p,
                        Msg::new(format!("`{dev}` is already in domain `{other}`"))
                            .expected("each device in at most one domain"),
                    );
                    continue;
                }
                member.insert(id, &d.name);
                devices.push(id);
            }
            out.push(Domain {
                name: d.name.clone(),
                ty: d.ty,
                devices,
            });
        }
        out
    }
}
