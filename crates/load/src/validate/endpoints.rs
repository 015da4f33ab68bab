//! `endpoints`: port fields, DMA mask, BARs (index 0–5, each once, not wrapping), and
//! where BARs lie: inside a window of the endpoint's own host bridge, and not
//! overlapping each other.

use peerpath_model::{Bar, DeviceCc, Endpoint, NodeKind, PhysRange};

use crate::source::{ypath, Msg, Seg};

use super::hierarchy::{host_bridge_of, Parent, PendingNode};
use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// Each endpoint, with its BARs, as a pending node.
    pub(super) fn endpoint_nodes(&mut self, out: &mut Vec<PendingNode>) {
        let raw = self.raw;
        for (i, ep) in raw.endpoints.iter().enumerate() {
            let p = self.entity_path(Entity::Endpoint(i));
            let mpss = ep.mpss.unwrap_or(128);
            self.check_mps(&p, mpss, ep.mps);
            let acs = self.acs(&p, &ep.acs);
            let dma_mask_bits = ep.dma_mask_bits.unwrap_or(64);
            if !(1..=64).contains(&dma_mask_bits) {
                let mut pp = p.clone();
                pp.push(Seg::from("dma_mask_bits"));
                self.report(
                    pp,
                    Msg::new(format!("a DMA mask of {dma_mask_bits} bits")).expected("1 to 64"),
                );
            }
            let mut bars: Vec<Bar> = Vec::new();
            let mut seen: Vec<u8> = Vec::new();
            for (k, b) in ep.bars.iter().enumerate() {
                let mut bp = p.clone();
                bp.extend(ypath!["bars", k]);
                if b.index > 5 {
                    let mut ip = bp.clone();
                    ip.push(Seg::from("index"));
                    self.report(
                        ip,
                        Msg::new(format!("BAR index {} is out of range", b.index))
                            .expected("0 to 5"),
                    );
                    continue;
                }
                if seen.contains(&b.index) {
                    let mut ip = bp.clone();
                    ip.push(Seg::from("index"));
                    self.report(
                        ip,
                        Msg::new(format!("BAR {} is listed twice for `{}`", b.index, ep.name))
                            .expected("each BAR index once per endpoint"),
                    );
                    continue;
                }
                seen.push(b.index);
                if let Some(range) = self.range(b.addr.0, b.size.0, bp, "addr") {
                    bars.push(Bar {
                        index: b.index,
                        range,
                        prefetchable: b.prefetchable.unwrap_or(false),
                    });
                }
            }
            bars.sort_by_key(|b| b.index);
            let cc = ep.cc.as_ref().map(|c| DeviceCc {
                state: c.state.unwrap_or_default(),
                tdisp: c.tdisp.unwrap_or_default(),
            });
            out.push(PendingNode {
                name: ep.name.clone(),
                entity: Entity::Endpoint(i),
                parent: Parent::Broken,
                bdf: Some(ep.bdf),
                kind: NodeKind::Endpoint(Endpoint {
                    class: ep.class.unwrap_or_default(),
                    mpss,
                    mps: ep.mps.unwrap_or(128),
                    dma_mask_bits,
                    bus_dma_limit: ep.bus_dma_limit.map(|a| a.0),
                    coherent: ep.coherent.unwrap_or(true),
                    ats: ep.ats.unwrap_or(false),
                    trusted: ep.trusted.unwrap_or(true),
                    multifunction: ep.multifunction.unwrap_or(false),
                    acs,
                    driver: ep.driver.unwrap_or_default(),
                    bars,
                    cc,
                    pcie: ep.pcie.unwrap_or(true),
                }),
            });
        }
    }

    /// BARs do not overlap and lie in a window of their own host bridge.
    pub(super) fn check_bars(&mut self, pending: &[PendingNode], order: &[usize]) {
        let hbs = host_bridge_of(pending, order);
        // Every window with its host bridge's index, by start address.
        let mut windows: Vec<(PhysRange, usize)> = pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match &p.kind {
                NodeKind::HostBridge(hb) => Some(hb.windows.iter().map(move |w| (w.cpu, i))),
                _ => None,
            })
            .flatten()
            .collect();
        windows.sort_by_key(|(r, _)| (r.start, r.end));
        let mut spans = Vec::new();
        for (i, p) in pending.iter().enumerate() {
            let NodeKind::Endpoint(ep) = &p.kind else {
                continue;
            };
            let Entity::Endpoint(ei) = p.entity else {
                continue;
            };
            let raw_bars = self
                .raw
                .endpoints
                .get(ei)
                .map(|e| e.bars.as_slice())
                .unwrap_or(&[]);
            for (bi, bar) in ep.bars.iter().enumerate() {
                let k = raw_bars
                    .iter()
                    .position(|b| b.index == bar.index)
                    .unwrap_or(0);
                spans.push((bar.range, (i, bi, k)));
                let Some(Some(h)) = hbs.get(i) else { continue };
                let Some(hp) = pending.get(*h) else { continue };
                let NodeKind::HostBridge(own) = &hp.kind else {
                    continue;
                };
                let found = containing_window(&windows, &bar.range);
                if found.is_some_and(|(owner, _)| owner == *h) {
                    continue;
                }
                let mut listed: Vec<String> = own
                    .windows
                    .iter()
                    .take(4)
                    .map(|w| w.cpu.to_string())
                    .collect();
                if own.windows.len() > 4 {
                    listed.push("…".to_owned());
                }
                let expected = if listed.is_empty() {
                    format!("inside a window of `{}`, which has none", hp.name)
                } else {
                    format!("inside a window of `{}`: {}", hp.name, listed.join(", "))
                };
                let mut bp = self.entity_path(p.entity);
                bp.extend(ypath!["bars", k, "addr"]);
                let msg = match found.and_then(|(owner, w)| Some((pending.get(owner)?, w))) {
                    Some((other, w)) => Msg::new(format!(
                        "BAR {} {} of `{}` lies in host bridge `{}`'s window {w}, but `{}` is below `{}`",
                        bar.index, bar.range, p.name, other.name, p.name, hp.name
                    )),
                    None => Msg::new(format!(
                        "BAR {} {} of `{}` is outside every host bridge window",
                        bar.index, bar.range, p.name
                    )),
                };
                self.report(bp, msg.expected(expected));
            }
        }
        self.overlaps(spans, |v, &(i, bi, k)| {
            let Some(p) = pending.get(i) else {
                return (String::new(), Vec::new());
            };
            let label = match &p.kind {
                NodeKind::Endpoint(ep) => ep
                    .bars
                    .get(bi)
                    .map(|b| format!("BAR {} {} of `{}`", b.index, b.range, p.name))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let mut ap = v.entity_path(p.entity);
            ap.extend(ypath!["bars", k, "addr"]);
            (label, ap)
        });
    }
}

/// The window (of a list sorted by start) containing `r`, with its owner. Windows do
/// not overlap in a valid platform (overlaps are reported), so the last window
/// starting at or before `r` is the only candidate.
fn containing_window(windows: &[(PhysRange, usize)], r: &PhysRange) -> Option<(usize, PhysRange)> {
    let after = windows.partition_point(|(w, _)| w.start <= r.start);
    let (w, owner) = windows.get(after.checked_sub(1)?)?;
    w.contains_range(r).then_some((*owner, *w))
}
