//! Step 5: host bridges (one per root bus) and their windows. Windows are the kernel's
//! `root bus resource` lines where the dump has them; every BAR or bridge window outside
//! them gets a synthesized window, the span of the ranges below the host bridge (split
//! at 4 GiB, never across another host bridge's ranges). The result is made valid as the
//! format demands: no overlapping windows, within or across host bridges, and every BAR
//! inside a window of its own host bridge (else left out, and said).

use std::collections::{BTreeMap, BTreeSet};

use peerpath_load::raw::{
    Addr, RawHostBridge, RawPciId, RawRootPort, RawStreamMap, RawWindow, Size,
};
use peerpath_model::{AddrRange, Bdf, ForwardsP2p, IommuKind};

use super::endpoints::Endpoints;
use super::kernel::Kernel;
use super::names::hb_name;
use super::nodes::Layout;
use super::{Ctx, Notes, Role};
use crate::machine::DeviceKind;

/// Where each host bridge's windows come from.
#[derive(Debug)]
struct Sources {
    /// The windows the kernel reported, by host bridge index.
    given: BTreeMap<usize, Vec<RawWindow>>,
    /// Synthesized spans (range, host bridge index) for every range outside them.
    spans: Vec<(AddrRange, usize)>,
}

fn range(w: &RawWindow) -> Option<AddrRange> {
    AddrRange::from_start_and_size(w.cpu.0, w.size.0)
}

/// A window with bus address = CPU address.
fn identity_window(r: &AddrRange) -> Option<RawWindow> {
    Some(RawWindow {
        cpu: Addr(r.start),
        bus: Addr(r.start),
        size: Size(r.size()?),
    })
}

/// Each root bus's NUMA node: the one node the kernel gives every function below it
/// that has one. Notes where the nodes came from, the root buses without one or with
/// several, and that sockets are not derived.
fn numa_nodes(cx: &Ctx<'_>, hb_list: &[(u16, u8)], notes: &mut Notes) -> BTreeMap<(u16, u8), u16> {
    let mut seen: BTreeMap<(u16, u8), BTreeMap<u16, Vec<&crate::machine::PciDevice>>> =
        BTreeMap::new();
    for d in &cx.m.devices {
        if let Some((n, _)) = d.numa_node {
            seen.entry(cx.root_of(d.bdf))
                .or_default()
                .entry(n)
                .or_default()
                .push(d);
        }
    }
    let of_bus: BTreeMap<(u16, u8), (u16, usize)> =
        cx.m.root_buses
            .iter()
            .filter_map(|r| Some(((r.segment, r.bus), r.numa_node?)))
            .collect();
    if seen.is_empty() && of_bus.is_empty() {
        return BTreeMap::new();
    }
    let mut out = BTreeMap::new();
    let mut from = Vec::new();
    let mut missing = Vec::new();
    for key in hb_list {
        let name = hb_name(key.0, key.1);
        if let Some((n, line)) = of_bus.get(key) {
            out.insert(*key, *n);
            from.push(format!(
                "{name} {n} (the kernel's `on NUMA node` line {line})"
            ));
            let others: Vec<String> = seen
                .get(key)
                .into_iter()
                .flat_map(|m| m.keys())
                .filter(|m| *m != n)
                .map(u16::to_string)
                .collect();
            if !others.is_empty() {
                notes.add(format!(
                    "host_bridges[].numa_node: {name} is on node {n} by the kernel's log, but functions below it say node {}; the log's node written",
                    others.join(", ")
                ));
            }
            continue;
        }
        match seen.get(key).map(|m| m.iter().collect::<Vec<_>>()).as_deref() {
            Some([(n, devs)]) => {
                out.insert(*key, **n);
                let d = devs[0];
                let at = match d.numa_node.and_then(|(_, l)| l) {
                    Some(l) => format!("{} line {l}", d.bdf),
                    None => d.bdf.to_string(),
                };
                from.push(format!("{name} {n} ({at}, {} function(s))", devs.len()));
            }
            Some(several) => notes.add(format!(
                "host_bridges[].numa_node: not written for {name}: the functions below it are on NUMA nodes {}",
                several
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => missing.push(name),
        }
    }
    notes.add(format!(
        "host_bridges[].numa_node: the NUMA node the kernel gives each root bus (dmesg `pci_bus …: on NUMA node N`) or the functions below it (lspci `NUMA node:`, sysfs `numa_node`, nvidia-smi's NUMA affinity): {}",
        from.join(", ")
    ));
    let topo: Vec<Bdf> =
        cx.m.devices
            .iter()
            .filter(|d| d.numa_from_topo)
            .map(|d| d.bdf)
            .collect();
    notes.list(
        "NUMA nodes from nvidia-smi topo -m, its GPU i taken as the i-th NVIDIA GPU of the dump in PCI order (nvidia-smi's default order)",
        &topo,
    );
    if !missing.is_empty() {
        notes.add(format!(
            "host_bridges[].numa_node: no function below {} has a NUMA node in the dump",
            missing.join(", ")
        ));
    }
    notes.add("host_bridges[].socket: not written: a NUMA node is not a socket (NPS2/NPS4 and sub-NUMA clustering put several on one), and the dump does not say which nodes share one; path classes read numa_node, the timing model takes unstated sockets as one");
    out
}

/// H3 (issue 22): behind one SMMUv3, equal RIDs on two segments share a StreamID
/// unless each root complex has its own ID mappings (IORT) or `iommu-map` (DT). No
/// dump peerpath reads shows those maps (the kernel does not log IORT ID mappings), yet
/// a kernel that probed devices with equal RIDs on several segments into separate
/// groups had distinct StreamIDs for them. So with an SMMUv3 and more than one
/// segment, each host bridge on segment N > 0 gets `sid = rid + N << 16`, and the
/// header says it was assumed; segment 0 keeps the IOMMU's (identity) map. A log
/// where arm-smmu-v3 refused a device for a StreamID already taken shows the opposite:
/// then no map is written, and the header says why.
fn stream_maps(
    kernel: &Kernel,
    refused: &[Bdf],
    host_bridges: &mut [RawHostBridge],
    notes: &mut Notes,
) {
    let smmu = kernel
        .iommus
        .first()
        .is_some_and(|i| i.kind == IommuKind::Smmuv3);
    let segments: BTreeSet<u16> = host_bridges.iter().filter_map(|h| h.segment).collect();
    if !smmu || segments.len() < 2 {
        return;
    }
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(|b| b.to_string()).collect();
        notes.add(format!(
            "host_bridges[].stream_map: not written: the kernel log shows arm-smmu-v3 refusing {} (`stream N already in tree`), so StreamIDs of several segments do collide; the IOMMU's one map is kept (stream-id-alias)",
            list.join(", ")
        ));
        return;
    }
    for hb in host_bridges.iter_mut() {
        let seg = hb.segment.unwrap_or(0);
        if seg != 0 {
            hb.stream_map = vec![RawStreamMap {
                rid_base: 0,
                sid_base: u32::from(seg) << 16,
                length: 0x1_0000,
            }];
        }
    }
    notes.add(format!(
        "host_bridges[].stream_map: assumed, one StreamID range per PCI segment (sid = rid + segment << 16) for {} segments behind one SMMUv3: the dump shows no IORT ID mappings or iommu-map, and one shared map would give equal RIDs on two segments one StreamID (H3)",
        segments.len()
    ));
}

/// The host bridges with their windows and root ports; BARs outside every window of
/// their host bridge are taken out of `eps`.
pub(super) fn host_bridges(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    kernel: &Kernel,
    mut root_ports: BTreeMap<(u16, u8), Vec<RawRootPort>>,
    eps: &mut Endpoints,
    notes: &mut Notes,
    comments: &mut BTreeMap<String, String>,
) -> Vec<RawHostBridge> {
    let m = cx.m;
    let mut hb_keys: BTreeSet<(u16, u8)> =
        m.root_buses.iter().map(|r| (r.segment, r.bus)).collect();
    for b in layout.placed.keys() {
        hb_keys.insert(cx.root_of(*b));
    }
    let hb_list: Vec<(u16, u8)> = hb_keys.iter().copied().collect();
    let Sources { given, spans } = sources(cx, layout, &hb_list, eps, notes);
    let zen = kernel.is_zen();
    // H6: whether the root complex forwards peer traffic is not in any dump. AMD Zen
    // (family >= 0x17) forwards between root ports and across root complexes through the
    // data fabric — the property the kernel's CPU rule (K1.6) relies on.
    let forwards_p2p = zen.then_some(ForwardsP2p::Any);
    if !hb_list.is_empty() {
        notes.add(if zen {
            "host_bridges[].forwards_p2p: any, assumed for AMD family >= 0x17 (Zen): the data fabric forwards peer traffic between root ports and root complexes, which the kernel's CPU rule (K1.6) relies on"
        } else {
            "host_bridges[].forwards_p2p: left to the format's default (same-host-bridge): the dump does not say whether the root complex forwards peer traffic"
        });
    }
    let iommu = kernel.iommus.first().map(|x| x.name.clone());
    let numa = numa_nodes(cx, &hb_list, notes);
    let mut host_bridges: Vec<RawHostBridge> = hb_list
        .iter()
        .enumerate()
        .map(|(i, (seg, bus))| {
            let name = hb_name(*seg, *bus);
            let first = m
                .devices
                .iter()
                .find(|d| d.bdf.segment == *seg && d.bdf.bus == *bus && d.parent.is_none());
            let id = first
                .filter(|d| d.bdf.devfn() == 0 || d.kind == DeviceKind::RootPort)
                .and_then(|d| Some((d.vendor?, d.device?)));
            if let Some(d) = first {
                comments.insert(
                    name.clone(),
                    format!(
                        "root bus {seg:04x}:{bus:02x}; first function {}",
                        d.describe()
                    ),
                );
            }
            let mut windows: Vec<RawWindow> = given.get(&i).cloned().unwrap_or_default();
            windows.extend(
                spans
                    .iter()
                    .filter(|(_, j)| *j == i)
                    .filter_map(|(r, _)| identity_window(r)),
            );
            windows.sort_by_key(|w| w.cpu);
            RawHostBridge {
                name,
                segment: Some(*seg),
                id: id.map(|(vendor, device)| RawPciId { vendor, device }),
                forwards_p2p,
                forwards_p2p_reads: None,
                direct_window: None,
                translation: None,
                iommu: iommu.clone(),
                stream_map: Vec::new(),
                windows,
                socket: None,
                numa_node: numa.get(&(*seg, *bus)).copied(),
                p2p_bandwidth: None,
                root_ports: root_ports.remove(&(*seg, *bus)).unwrap_or_default(),
            }
        })
        .collect();
    stream_maps(
        kernel,
        &m.kernel.stream_id_refused,
        &mut host_bridges,
        notes,
    );
    let mut window_notes = Vec::new();
    merge_overlapping_windows(&mut host_bridges, &mut window_notes);
    drop_windows_claimed_by_others(&mut host_bridges, &mut window_notes);
    drop_bars_outside_windows(&host_bridges, eps, &mut window_notes);
    for n in window_notes {
        notes.add(n);
    }
    host_bridges
}

/// The windows the kernel reported, and synthesized spans for every BAR and bridge
/// window outside them.
fn sources(
    cx: &Ctx<'_>,
    layout: &Layout<'_>,
    hb_list: &[(u16, u8)],
    eps: &Endpoints,
    notes: &mut Notes,
) -> Sources {
    let m = cx.m;
    let hb_index: BTreeMap<(u16, u8), usize> =
        hb_list.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut ranges: Vec<(AddrRange, usize)> = Vec::new();
    for (r, b) in &eps.bars {
        if let Some(i) = hb_index.get(&cx.root_of(*b)) {
            ranges.push((*r, *i));
        }
    }
    for d in &layout.emitted {
        if layout.role(d.bdf).is_some_and(|r| r != Role::Endpoint) {
            if let Some(i) = hb_index.get(&cx.root_of(d.bdf)) {
                ranges.extend(d.bridge_windows.iter().map(|w| (w.range, *i)));
            }
        }
    }
    let given: BTreeMap<usize, Vec<RawWindow>> = m
        .root_buses
        .iter()
        .filter(|r| !r.windows.is_empty())
        .filter_map(|r| {
            let i = *hb_index.get(&(r.segment, r.bus))?;
            let w = r
                .windows
                .iter()
                .filter_map(|w| {
                    Some(RawWindow {
                        cpu: Addr(w.cpu.start),
                        bus: Addr(w.bus_start),
                        size: Size(w.cpu.size()?),
                    })
                })
                .collect();
            Some((i, w))
        })
        .collect();
    // Ranges not inside a window the kernel reported are synthesized too.
    let mut outside = Vec::new();
    ranges.retain(|(r, i)| match given.get(i) {
        None => true,
        Some(ws) => {
            let inside = ws
                .iter()
                .any(|w| range(w).is_some_and(|x| x.contains_range(r)));
            if !inside {
                outside.push(format!("{r}"));
            }
            !inside
        }
    });
    ranges.sort();
    let mut spans: Vec<(AddrRange, usize)> = Vec::new();
    let mut clashes = Vec::new();
    for (r, i) in ranges {
        let high = |x: &AddrRange| x.start >> 32 != 0;
        match spans.last_mut() {
            Some((last, li)) if *li == i && high(last) == high(&r) => *last = last.union(&r),
            Some((last, li)) if *li != i && last.overlaps(&r) => {
                clashes.push(format!("{r} (host bridges {} and {})", *li, i));
                spans.push((r, i));
            }
            _ => spans.push((r, i)),
        }
    }
    let synthesized_any = (0..hb_list.len()).any(|i| !given.contains_key(&i));
    if synthesized_any && !hb_list.is_empty() {
        notes.add("host bridge windows: synthesized as the spans of the BARs and bridge windows below each host bridge (split at 4 GiB, never across another host bridge's ranges), bus address = CPU address; the dump gives no windows");
    }
    if !given.is_empty() {
        notes.add("host bridge windows: the kernel's `root bus resource` lines");
    }
    if !outside.is_empty() {
        notes.add(format!(
            "ranges outside every window the kernel reported got a synthesized window: {}",
            outside.join(", ")
        ));
    }
    for c in &clashes {
        notes.add(format!("windows of two host bridges overlap at {c}: the platform will not validate until this is fixed"));
    }
    for o in &eps.overlapping {
        notes.add(format!("BAR left out: {o}"));
    }
    Sources { given, spans }
}

/// Within each host bridge: overlapping windows with the same bus offset become one;
/// with another offset the later one is left out.
fn merge_overlapping_windows(host_bridges: &mut [RawHostBridge], window_notes: &mut Vec<String>) {
    for hb in host_bridges {
        hb.windows.sort_by_key(|w| (w.cpu, w.size));
        let mut kept: Vec<RawWindow> = Vec::new();
        for w in std::mem::take(&mut hb.windows) {
            let Some(r) = range(&w) else {
                continue;
            };
            match kept.last_mut() {
                Some(last) => {
                    let Some(lr) = range(last) else {
                        continue;
                    };
                    if !lr.overlaps(&r) {
                        kept.push(w);
                    } else if last.bus.0.wrapping_sub(last.cpu.0) == w.bus.0.wrapping_sub(w.cpu.0) {
                        let u = lr.union(&r);
                        if let Some(sz) = u.size() {
                            last.size = Size(sz);
                        }
                    } else {
                        window_notes.push(format!(
                            "{}: window {r} overlaps {lr} with another bus offset: left out",
                            hb.name
                        ));
                    }
                }
                None => kept.push(w),
            }
        }
        hb.windows = kept;
    }
}

/// Across host bridges: a window overlapping one of an earlier host bridge is left out.
fn drop_windows_claimed_by_others(
    host_bridges: &mut [RawHostBridge],
    window_notes: &mut Vec<String>,
) {
    let mut claimed: Vec<(AddrRange, String)> = Vec::new();
    for hb in host_bridges {
        let mut kept = Vec::new();
        for w in std::mem::take(&mut hb.windows) {
            let Some(r) = range(&w) else {
                continue;
            };
            match claimed.iter().find(|(c, _)| c.overlaps(&r)) {
                Some((c, other)) => window_notes.push(format!(
                    "{}: window {r} overlaps {other}'s window {c}: left out",
                    hb.name
                )),
                None => kept.push(w),
            }
        }
        claimed.extend(kept.iter().filter_map(range).map(|r| (r, hb.name.clone())));
        hb.windows = kept;
    }
}

/// Every BAR must lie inside a window of its own host bridge; those that do not are
/// left out.
fn drop_bars_outside_windows(
    host_bridges: &[RawHostBridge],
    eps: &mut Endpoints,
    window_notes: &mut Vec<String>,
) {
    for (e, root) in eps.endpoints.iter_mut().zip(&eps.roots) {
        let hb = host_bridges
            .iter()
            .find(|h| h.segment == Some(root.0) && h.name == hb_name(root.0, root.1));
        e.bars.retain(|b| {
            let inside = hb.is_some_and(|h| {
                h.windows.iter().any(|w| {
                    match (range(w), AddrRange::from_start_and_size(b.addr.0, b.size.0)) {
                        (Some(wr), Some(br)) => wr.contains_range(&br),
                        _ => false,
                    }
                })
            });
            if !inside {
                window_notes.push(format!(
                    "{} BAR {}: outside every window of its host bridge: left out",
                    e.name, b.index
                ));
            }
            inside
        });
    }
}

#[cfg(test)]
mod stream_map_tests {
    use super::*;
    use peerpath_load::raw::RawIommu;
    use peerpath_model::{Arch, CpuVendor};

    fn hb(segment: u16) -> RawHostBridge {
        RawHostBridge {
            name: format!("hb-{segment}"),
            segment: Some(segment),
            id: None,
            forwards_p2p: None,
            forwards_p2p_reads: None,
            translation: None,
            direct_window: None,
            iommu: Some("iommu0".to_owned()),
            stream_map: Vec::new(),
            windows: Vec::new(),
            socket: None,
            numa_node: None,
            p2p_bandwidth: None,
            root_ports: Vec::new(),
        }
    }

    fn kernel(kind: IommuKind) -> Kernel {
        Kernel {
            arch: Arch::Arm64,
            cpu_vendor: CpuVendor::Arm,
            cpu_family: None,
            iommus: vec![RawIommu {
                name: "iommu0".to_owned(),
                kind,
                ats: None,
                disable_bypass: None,
                tbus: Vec::new(),
                stream_map: Vec::new(),
            }],
            assumed: Vec::new(),
        }
    }

    /// (segment, sid_base of its map) per host bridge, and the notes.
    fn run(kind: IommuKind, segments: &[u16]) -> (Vec<(u16, Option<u32>)>, Vec<String>) {
        run_refused(kind, segments, &[])
    }

    fn run_refused(
        kind: IommuKind,
        segments: &[u16],
        refused: &[Bdf],
    ) -> (Vec<(u16, Option<u32>)>, Vec<String>) {
        let mut hbs: Vec<RawHostBridge> = segments.iter().map(|s| hb(*s)).collect();
        let mut notes = Notes::default();
        stream_maps(&kernel(kind), refused, &mut hbs, &mut notes);
        let maps = hbs
            .iter()
            .map(|h| {
                (
                    h.segment.unwrap_or(0),
                    h.stream_map.first().map(|e| e.sid_base),
                )
            })
            .collect();
        (maps, notes.lines)
    }

    #[test]
    fn several_segments_behind_one_smmu_get_a_stream_id_range_each() {
        let (maps, notes) = run(IommuKind::Smmuv3, &[0, 0, 2, 0xc]);
        assert_eq!(
            maps,
            [
                (0, None),
                (0, None),
                (2, Some(0x2_0000)),
                (0xc, Some(0xc_0000))
            ]
        );
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("assumed"), "{notes:?}");
    }

    #[test]
    fn one_segment_or_another_iommu_writes_nothing() {
        let (maps, notes) = run(IommuKind::Smmuv3, &[0, 0]);
        assert_eq!(maps, [(0, None), (0, None)]);
        assert!(notes.is_empty());
        let (maps, notes) = run(IommuKind::Vtd, &[0, 1]);
        assert_eq!(maps, [(0, None), (1, None)]);
        assert!(notes.is_empty());
    }

    #[test]
    fn a_refused_stream_in_the_log_keeps_the_one_map() {
        let bdf: Bdf = "0001:01:00.0".parse().expect("bdf");
        let (maps, notes) = run_refused(IommuKind::Smmuv3, &[0, 1], &[bdf]);
        assert_eq!(maps, [(0, None), (1, None)]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("0001:01:00.0"), "{notes:?}");
    }
}
