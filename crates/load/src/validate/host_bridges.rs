//! `host_bridges`: each host bridge (its IOMMU, its own `stream_map` — only with an
//! IOMMU —, its windows, which must not wrap in CPU or bus addresses) and its root ports (port fields, and the TBU of the host
//! bridge's IOMMU that a root port names).

use peerpath_model::{
    DirectWindow, HostBridge, IommuId, NodeKind, PciId, StreamMapEntry, TbuId, Window,
};

use crate::raw::{RawHostBridge, RawWindow};

use crate::num::format_addr;
use crate::source::{ypath, Msg, Path, Seg};
use crate::suggest::did_you_mean;

use super::hierarchy::{Parent, PendingNode};
use super::names::Entity;
use super::Validator;

impl Validator<'_, '_> {
    /// Each host bridge, followed by its root ports, as pending nodes.
    pub(super) fn host_bridge_nodes(&mut self, out: &mut Vec<PendingNode>) {
        let raw = self.raw;
        for (i, hb) in raw.host_bridges.iter().enumerate() {
            let hp = self.entity_path(Entity::HostBridge(i));
            let iommu = self.host_bridge_iommu(hb, &hp);
            let stream_map = self.host_bridge_stream_map(hb, &hp);
            let direct_window = self.direct_window(hb, &hp, iommu);
            let windows = self.windows(&hb.windows, &hp);
            let p2p_bandwidth_mbs = self.host_bridge_p2p_bandwidth(i);
            let hb_index = out.len();
            out.push(PendingNode {
                name: hb.name.clone(),
                entity: Entity::HostBridge(i),
                parent: Parent::Root,
                bdf: None,
                kind: NodeKind::HostBridge(HostBridge {
                    segment: hb.segment.unwrap_or(0),
                    id: hb.id.as_ref().map(|id| PciId {
                        vendor: id.vendor,
                        device: id.device,
                    }),
                    forwards_p2p: hb.forwards_p2p.unwrap_or_default(),
                    forwards_p2p_reads: hb.forwards_p2p_reads,
                    direct_window,
                    translation: hb.translation.unwrap_or_default(),
                    iommu: iommu.map(|k| IommuId(k as u32)),
                    stream_map,
                    windows,
                    socket: hb.socket,
                    numa_node: hb.numa_node,
                    p2p_bandwidth_mbs,
                }),
            });
            for (j, rp) in hb.root_ports.iter().enumerate() {
                let e = Entity::RootPort(i, j);
                let mut port = self.port(e, rp.mpss, rp.mps, &rp.acs, rp.multifunction);
                port.splits_oversized_writes = rp.splits_oversized_writes.unwrap_or(false);
                if let Some(tbu) = rp.tbu.as_deref() {
                    let mut tp = self.entity_path(e);
                    tp.push(Seg::from("tbu"));
                    port.tbu = self.root_port_tbu(tbu, tp, &hb.name, hb.iommu.is_some(), iommu);
                }
                out.push(PendingNode {
                    name: rp.name.clone(),
                    entity: e,
                    parent: Parent::Idx(hb_index),
                    bdf: Some(rp.bdf),
                    kind: NodeKind::RootPort(port),
                });
            }
        }
    }

    /// The host bridge's `iommu`, resolved to an index of `iommus` (at `hp`).
    fn host_bridge_iommu(&mut self, hb: &RawHostBridge, hp: &Path) -> Option<usize> {
        let name = hb.iommu.as_deref()?;
        let mut ip = hp.clone();
        ip.push(Seg::from("iommu"));
        match self.resolve(
            name,
            ip,
            |e| matches!(e, Entity::Iommu(_)),
            "the name of an IOMMU",
        )? {
            Entity::Iommu(k) => Some(k),
            _ => None,
        }
    }

    /// The host bridge's own `stream_map`, which only a host bridge with an `iommu` has.
    fn host_bridge_stream_map(&mut self, hb: &RawHostBridge, hp: &Path) -> Vec<StreamMapEntry> {
        let mut sp = hp.clone();
        sp.push(Seg::from("stream_map"));
        if hb.iommu.is_none() && !hb.stream_map.is_empty() {
            self.report(
                sp.clone(),
                Msg::new(format!(
                    "host bridge `{}` maps RIDs to StreamIDs but has no `iommu`",
                    hb.name
                ))
                .expected("a `stream_map` only on a host bridge with an `iommu`")
                .help(format!(
                    "give `{}` an `iommu:`, or drop its `stream_map`",
                    hb.name
                )),
            );
        }
        self.stream_map(&hb.stream_map, &sp)
    }

    /// The host bridge's `direct_window`, which only a `tce` IOMMU's bridge has.
    fn direct_window(
        &mut self,
        hb: &RawHostBridge,
        hp: &Path,
        iommu: Option<usize>,
    ) -> Option<DirectWindow> {
        let w = hb.direct_window.as_ref()?;
        let mut wp = hp.clone();
        wp.push(Seg::from("direct_window"));
        let tce = iommu
            .and_then(|k| self.raw.iommus.get(k))
            .is_some_and(|m| m.kind == peerpath_model::IommuKind::Tce);
        if !tce {
            self.report(
                wp,
                Msg::new(format!(
                    "host bridge `{}` has a direct DMA window but no `tce` IOMMU",
                    hb.name
                ))
                .expected("a `direct_window` only on a host bridge whose `iommu` is of kind `tce` (POWER)"),
            );
            return None;
        }
        self.range(w.base.0, w.size.0, wp, "base")?;
        Some(DirectWindow {
            kind: w.kind.unwrap_or_default(),
            base: w.base.0,
            size: w.size.0,
        })
    }

    /// The host bridge's `windows`, each of which must not wrap in CPU or bus addresses.
    fn windows(&mut self, raw: &[RawWindow], hp: &Path) -> Vec<Window> {
        let mut windows = Vec::new();
        for (k, w) in raw.iter().enumerate() {
            let mut wp = hp.clone();
            wp.extend(ypath!["windows", k]);
            let cpu = self.range(w.cpu.0, w.size.0, wp.clone(), "cpu");
            let bus_ok = w.size.0 == 0 || w.bus.0.checked_add(w.size.0 - 1).is_some();
            if !bus_ok {
                wp.push(Seg::from("size"));
                self.report(
                    wp,
                    Msg::new(format!(
                        "`bus` {} + `size` {:#x} wraps past 2^64",
                        format_addr(w.bus.0),
                        w.size.0
                    ))
                    .expected("a window whose bus addresses fit in 64 bits"),
                );
            }
            if let (Some(cpu), true) = (cpu, bus_ok) {
                windows.push(Window {
                    cpu,
                    bus: peerpath_model::BusAddr(w.bus.0),
                });
            }
        }
        windows
    }

    fn root_port_tbu(
        &mut self,
        tbu: &str,
        p: Path,
        hb: &str,
        hb_has_iommu: bool,
        iommu: Option<usize>,
    ) -> Option<TbuId> {
        let raw = self.raw;
        let Some(k) = iommu else {
            if !hb_has_iommu {
                self.report(
                    p,
                    Msg::new(format!(
                        "root port names TBU `{tbu}`, but host bridge `{hb}` has no `iommu`"
                    ))
                    .expected("a TBU of the host bridge's IOMMU")
                    .help(format!("give `{hb}` an `iommu:` that has this TBU")),
                );
            }
            return None;
        };
        let mmu = raw.iommus.get(k)?;
        let names: Vec<&str> = mmu.tbus.iter().map(|t| t.name.as_str()).collect();
        let expected = if names.is_empty() {
            format!("a TBU of {} (it has none)", mmu.name)
        } else {
            format!("a TBU of {}: {}", mmu.name, names.join(", "))
        };
        match self.names.get(tbu).copied() {
            Some(Entity::Tbu(i, j)) if i == k => Some(TbuId {
                iommu: IommuId(k as u32),
                index: j as u32,
            }),
            Some(Entity::Tbu(i, _)) => {
                let owner = raw.iommus.get(i).map(|m| m.name.as_str()).unwrap_or("?");
                self.report(
                    p,
                    Msg::new(format!(
                        "TBU `{tbu}` belongs to `{owner}`, not to `{}`, the IOMMU of host bridge `{hb}`",
                        mmu.name
                    ))
                    .expected(expected),
                );
                None
            }
            None if self.broken.contains(tbu) => None,
            other => {
                let msg = match other {
                    Some(e) => format!("`{tbu}` is {}", e.what()),
                    None => format!("`{tbu}` is not defined"),
                };
                let help = did_you_mean(tbu, names.iter().copied());
                self.report(p, Msg::new(msg).expected(expected).help_opt(help));
                None
            }
        }
    }
}
