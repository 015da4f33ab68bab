//! `exports`: each export names an endpoint and one of its BARs; `offset` + `size`
//! must not wrap (outside the BAR or unaligned is a finding, K2.1, not a load error).

use rustc_hash::FxHashMap as HashMap;

use peerpath_model::{Export, ExportId, NodeId};

use crate::source::{Msg, Path, Seg};

use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// The `exports` that name a BAR of an endpoint; records each one's model id in
    /// `export_ids`.
    pub(super) fn exports(&mut self, node_ids: &HashMap<Entity, NodeId>) -> Vec<Export> {
        let raw = self.raw;
        let mut out = Vec::new();
        self.export_ids = vec![None; raw.exports.len()];
        for (i, x) in raw.exports.iter().enumerate() {
            let xp = self.entity_path(Entity::Export(i));
            let mut dp = xp.clone();
            dp.push(Seg::from("device"));
            let Some((ei, device)) = self.endpoint_ref(&x.device, dp, node_ids) else {
                continue;
            };
            let Some(ep) = raw.endpoints.get(ei) else {
                continue;
            };
            let Some(bar) = ep.bars.iter().find(|b| b.index == x.bar) else {
                let indices: Vec<String> = ep.bars.iter().map(|b| b.index.to_string()).collect();
                let expected = if indices.is_empty() {
                    format!("a BAR of `{}`, which has none", ep.name)
                } else {
                    format!("a BAR of `{}`: {}", ep.name, indices.join(", "))
                };
                let mut bp = xp.clone();
                bp.push(Seg::from("bar"));
                self.report(
                    bp,
                    Msg::new(format!("`{}` has no BAR {}", ep.name, x.bar)).expected(expected),
                );
                continue;
            };
            let offset = x.offset.map_or(0, |o| o.0);
            let size = x
                .size
                .map_or_else(|| bar.size.0.saturating_sub(offset), |s| s.0);
            if offset.checked_add(size).is_none() {
                let mut sp = xp.clone();
                sp.push(Seg::from(if x.size.is_some() { "size" } else { "offset" }));
                self.report(
                    sp,
                    Msg::new(format!(
                        "`offset` {offset:#x} + `size` {size:#x} wraps past 2^64"
                    ))
                    .expected("a range inside the BAR"),
                );
                continue;
            }
            let via = x.via.unwrap_or_default();
            let revoke = match (x.revoke, x.revoke_when) {
                (None, None) => None,
                (None, Some(_)) => {
                    let mut rp = xp.clone();
                    rp.push(Seg::from("revoke_when"));
                    self.report(
                        rp,
                        Msg::new("`revoke_when` without `revoke`")
                            .expected("`revoke: reset | memory-disabled | closed` beside it"),
                    );
                    continue;
                }
                (Some(event), when) => {
                    if via != peerpath_model::Via::VfioDmabuf {
                        let mut rp = xp.clone();
                        rp.push(Seg::from("revoke"));
                        self.report(
                            rp,
                            Msg::new(format!(
                                "`revoke` on an export with `via: {via}`: only a VFIO dma-buf is revoked (K2.1)"
                            ))
                            .expected("`via: vfio-dmabuf`, or no `revoke`"),
                        );
                        continue;
                    }
                    Some(peerpath_model::Revocation {
                        event,
                        when: when.unwrap_or_default(),
                    })
                }
            };
            // Outside the BAR or not page-aligned is a finding (K2.1), not a load error.
            if let Some(slot) = self.export_ids.get_mut(i) {
                *slot = Some(ExportId(out.len() as u32));
            }
            out.push(Export {
                name: x.name.clone(),
                device,
                bar: x.bar,
                offset,
                size,
                via,
                revoke,
            });
        }
        out
    }

    pub(super) fn export_ref(&mut self, name: &str, p: Path) -> Option<ExportId> {
        match self.resolve(
            name,
            p,
            |e| matches!(e, Entity::Export(_)),
            "the name of an export",
        )? {
            Entity::Export(i) => self.export_ids.get(i).copied().flatten(),
            _ => None,
        }
    }
}
