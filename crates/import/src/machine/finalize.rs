//! The finalize passes: what follows from a dump alone, derived once every parser has
//! filled the [`Machine`] (ids from names, parents from bus numbers, root buses, kinds
//! from the shape of the tree, group warnings). Idempotent: merging dumps runs it again.

use std::collections::{BTreeMap, BTreeSet};

use peerpath_model::Bdf;

use super::{
    kind_from_class, BusRange, DeviceKind, HierarchySource, ImportWarning, KindEvidence, Machine,
    PciDevice, RootBus, WarningKind,
};

/// A parser's last step: a warning where the dump gave no device (`none_found` says
/// what was looked for), then [`finalize`].
pub(crate) fn finished(mut m: Machine, none_found: impl Into<String>) -> Machine {
    if m.devices.is_empty() {
        m.warnings.push(ImportWarning::new(
            WarningKind::Unparsed,
            None,
            None,
            none_found,
        ));
    }
    finalize(&mut m);
    m
}

/// Derives what follows from the dump alone; idempotent. Called by every parser.
pub(crate) fn finalize(m: &mut Machine) {
    // Warnings finalize itself produces are produced again from scratch.
    m.warnings.retain(|w| {
        !matches!(
            w.kind,
            WarningKind::NoGroup | WarningKind::Hierarchy | WarningKind::Names
        )
    });
    m.devices.sort_by_key(|d| d.bdf);
    m.devices.dedup_by(|later, earlier| {
        if later.bdf == earlier.bdf {
            earlier.fill_from(later);
            true
        } else {
            false
        }
    });
    ids_from_names(m);
    parents_from_bus_numbers(m);
    drop_parents_in_other_segments(m);
    break_parent_loops(m);
    collect_root_buses(m);
    infer_kinds(m);
    group_warnings(m);
}

/// Vendor and device ids of devices the dump names without ids (`lspci` without `-nn`),
/// through `pci.ids` (`facts::pciids`); a name that fits several devices or none is a
/// warning, and no id is picked.
fn ids_from_names(m: &mut Machine) {
    use crate::facts::pciids::{lookup, DeviceMatch};
    let mut warnings = Vec::new();
    for d in &mut m.devices {
        if d.vendor.is_some() && d.device.is_some() {
            continue;
        }
        let Some(name) = d.name.as_deref() else {
            continue;
        };
        let hex = |v: &[u16]| {
            v.iter()
                .map(|x| format!("{x:04x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(l) = lookup(name) else {
            warnings.push(ImportWarning::new(
                WarningKind::Names,
                d.line,
                Some(d.bdf),
                format!(
                    "no vendor in pci.ids is named like `{name}`: vendor and device id unknown"
                ),
            ));
            continue;
        };
        if let Some((v, dv)) = l.ids() {
            d.vendor = Some(v);
            d.device = Some(dv);
            d.ids_from_name = true;
            continue;
        }
        if d.vendor.is_none() {
            d.vendor = l.vendor;
            d.ids_from_name |= l.vendor.is_some();
        }
        let why = match (&l.device, l.vendor) {
            (_, None) => format!(
                "vendors {} share the name of `{name}`: vendor and device id unknown",
                hex(&l.vendors)
            ),
            (DeviceMatch::Ambiguous(ids), Some(v)) => format!(
                "`{name}` is the pci.ids name of devices {} of vendor {v:04x}: device id unknown, none picked",
                hex(ids)
            ),
            (_, Some(v)) => format!(
                "no device of vendor {v:04x} in pci.ids is named like `{name}`: device id unknown"
            ),
        };
        warnings.push(ImportWarning::new(
            WarningKind::Names,
            d.line,
            Some(d.bdf),
            why,
        ));
    }
    m.warnings.extend(warnings);
}

fn parents_from_bus_numbers(m: &mut Machine) {
    // (segment, secondary bus) -> bridges claiming it.
    let mut by_secondary: BTreeMap<(u16, u8), Vec<Bdf>> = BTreeMap::new();
    let mut ranges: Vec<(Bdf, BusRange)> = Vec::new();
    for d in &m.devices {
        if let Some(r) = d.bus_range {
            by_secondary
                .entry((d.bdf.segment, r.secondary))
                .or_default()
                .push(d.bdf);
            ranges.push((d.bdf, r));
        }
    }
    let known_roots: BTreeSet<(u16, u8)> =
        m.root_buses.iter().map(|r| (r.segment, r.bus)).collect();
    let mut assigned = false;
    let mut new_warnings = Vec::new();
    for d in &mut m.devices {
        if d.parent.is_some() {
            continue;
        }
        let key = (d.bdf.segment, d.bdf.bus);
        if let Some(bridges) = by_secondary.get(&key) {
            let candidates: Vec<Bdf> = bridges.iter().copied().filter(|b| *b != d.bdf).collect();
            if let Some(first) = candidates.first() {
                d.parent = Some(*first);
                assigned = true;
                if candidates.len() > 1 {
                    new_warnings.push(ImportWarning::new(
                        WarningKind::Hierarchy,
                        d.line,
                        Some(d.bdf),
                        format!(
                            "{} bridges claim bus {:02x} as their secondary bus; {} taken as the parent",
                            candidates.len(),
                            d.bdf.bus,
                            first
                        ),
                    ));
                }
                continue;
            }
        }
        if known_roots.contains(&key) {
            continue;
        }
        if let Some((b, r)) = ranges
            .iter()
            .find(|(b, r)| b.segment == d.bdf.segment && *b != d.bdf && r.contains(d.bdf.bus))
        {
            new_warnings.push(ImportWarning::new(
                WarningKind::Hierarchy,
                d.line,
                Some(d.bdf),
                format!(
                    "bus {:02x} lies below {} (buses {:02x}-{:02x}) but no bridge in the dump has it as its secondary bus; treated as a root bus",
                    d.bdf.bus, b, r.secondary, r.subordinate
                ),
            ));
        }
    }
    if assigned && m.hierarchy < HierarchySource::BusNumbers {
        m.hierarchy = HierarchySource::BusNumbers;
    }
    let non_root_without_bridges = ranges.is_empty()
        && m.hierarchy == HierarchySource::Unknown
        && m.devices.iter().any(|d| d.bdf.bus != 0);
    if non_root_without_bridges {
        new_warnings.push(ImportWarning::new(
            WarningKind::Hierarchy,
            None,
            None,
            "the dump gives no bridge bus numbers and no tree: which bridge each device sits below is unknown, every bus is treated as a root bus",
        ));
    }
    m.warnings.extend(new_warnings);
}

/// A PCI hierarchy never crosses segments: a parent in another segment (a corrupted
/// sysfs link such as `pci0000:00/ffff:00:01.0/0000:01:00.0`, found by the fuzzer,
/// issue 17) is dropped, with a warning; the device then sits on a root bus of its
/// own segment. Kept, it put the device below a host bridge of the other segment, and
/// the written platform did not load.
fn drop_parents_in_other_segments(m: &mut Machine) {
    let mut warnings = Vec::new();
    for d in &mut m.devices {
        if let Some(p) = d.parent.filter(|p| p.segment != d.bdf.segment) {
            d.parent = None;
            warnings.push(ImportWarning::new(
                WarningKind::Hierarchy,
                d.line,
                Some(d.bdf),
                format!(
                    "its parent {p} is in another PCI segment; treated as sitting on a root bus"
                ),
            ));
        }
    }
    m.warnings.extend(warnings);
}

fn break_parent_loops(m: &mut Machine) {
    let parent_of: BTreeMap<Bdf, Option<Bdf>> =
        m.devices.iter().map(|d| (d.bdf, d.parent)).collect();
    let mut broken = Vec::new();
    for d in &m.devices {
        let mut seen = BTreeSet::new();
        seen.insert(d.bdf);
        let mut cur = d.parent;
        while let Some(p) = cur {
            if !seen.insert(p) {
                broken.push(d.bdf);
                break;
            }
            cur = parent_of.get(&p).copied().flatten();
        }
    }
    for b in broken {
        if let Ok(i) = m.devices.binary_search_by_key(&b, |d| d.bdf) {
            if let Some(d) = m.devices.get_mut(i) {
                d.parent = None;
                let line = d.line;
                m.warnings.push(ImportWarning::new(
                    WarningKind::Hierarchy,
                    line,
                    Some(b),
                    "its parent chain loops; treated as sitting on a root bus",
                ));
            }
        }
    }
}

fn collect_root_buses(m: &mut Machine) {
    let parentless: BTreeSet<(u16, u8)> = m
        .devices
        .iter()
        .filter(|d| d.parent.is_none())
        .map(|d| (d.bdf.segment, d.bdf.bus))
        .collect();
    m.root_buses
        .retain(|r| r.declared || parentless.contains(&(r.segment, r.bus)));
    for d in &m.devices {
        if d.parent.is_none()
            && !m
                .root_buses
                .iter()
                .any(|r| r.segment == d.bdf.segment && r.bus == d.bdf.bus)
        {
            m.root_buses.push(RootBus {
                segment: d.bdf.segment,
                bus: d.bdf.bus,
                last_bus: None,
                declared: false,
                windows: Vec::new(),
                numa_node: None,
            });
        }
    }
    m.root_buses.sort_by_key(|r| (r.segment, r.bus));
    m.root_buses
        .dedup_by(|a, b| a.segment == b.segment && a.bus == b.bus);
}

fn depth(parent_of: &BTreeMap<Bdf, Option<Bdf>>, bdf: Bdf) -> usize {
    let mut n = 0;
    let mut cur = parent_of.get(&bdf).copied().flatten();
    while let Some(p) = cur {
        n += 1;
        if n > parent_of.len() {
            break;
        }
        cur = parent_of.get(&p).copied().flatten();
    }
    n
}

fn infer_kinds(m: &mut Machine) {
    let parent_of: BTreeMap<Bdf, Option<Bdf>> =
        m.devices.iter().map(|d| (d.bdf, d.parent)).collect();
    let mut order: Vec<(usize, Bdf)> = m
        .devices
        .iter()
        .map(|d| (depth(&parent_of, d.bdf), d.bdf))
        .collect();
    order.sort();
    let mut children: BTreeMap<Bdf, Vec<Bdf>> = BTreeMap::new();
    for d in &m.devices {
        if let Some(p) = d.parent {
            children.entry(p).or_default().push(d.bdf);
        }
    }
    for (_, bdf) in order {
        let Ok(i) = m.devices.binary_search_by_key(&bdf, |d| d.bdf) else {
            continue;
        };
        let weak = matches!(
            m.devices[i].kind_from,
            KindEvidence::ClassCode
                | KindEvidence::TreeShape
                | KindEvidence::Name
                | KindEvidence::None
        );
        if !weak {
            continue;
        }
        let kids = children.get(&bdf).cloned().unwrap_or_default();
        let is_bridge = m.devices[i].is_bridge() || !kids.is_empty();
        let parent_kind = m.devices[i]
            .parent
            .and_then(|p| m.device(p))
            .map(|p| p.kind);
        let (kind, from) = if is_bridge {
            let has_bridge_child = kids
                .iter()
                .any(|k| m.device(*k).is_some_and(PciDevice::is_bridge));
            let kind = match parent_kind {
                None => DeviceKind::RootPort,
                Some(DeviceKind::SwitchUpstream) => DeviceKind::SwitchDownstream,
                Some(DeviceKind::RootPort | DeviceKind::SwitchDownstream) => {
                    if has_bridge_child {
                        DeviceKind::SwitchUpstream
                    } else {
                        DeviceKind::PcieToPciBridge
                    }
                }
                Some(_) => DeviceKind::PciBridge,
            };
            (kind, KindEvidence::TreeShape)
        } else {
            let d = &m.devices[i];
            if let Some(c) = d.class {
                let k = kind_from_class(c, d.header_type);
                if k == DeviceKind::Unknown {
                    (DeviceKind::Endpoint, KindEvidence::ClassCode)
                } else {
                    (k, KindEvidence::ClassCode)
                }
            } else if d.parent.is_none() && name_says_host_bridge(d.name.as_deref()) {
                (DeviceKind::HostBridge, KindEvidence::Name)
            } else {
                (DeviceKind::Endpoint, KindEvidence::TreeShape)
            }
        };
        if let Some(d) = m.devices.get_mut(i) {
            // Class-code evidence for a non-bridge is as good as it gets; keep it.
            d.kind = kind;
            d.kind_from = from;
        }
    }
}

fn name_says_host_bridge(name: Option<&str>) -> bool {
    let Some(n) = name else { return false };
    let n = n.to_ascii_lowercase();
    n.contains("root complex") || n.contains("host bridge")
}

fn group_warnings(m: &mut Machine) {
    if !m.devices.iter().any(|d| d.iommu_group.is_some()) {
        return;
    }
    let mut new = Vec::new();
    for d in &m.devices {
        if d.iommu_group.is_none() && d.expects_iommu_group() {
            new.push(ImportWarning::new(
                WarningKind::NoGroup,
                d.line,
                Some(d.bdf),
                format!(
                    "no IOMMU group in the dump for {} while other devices have one",
                    d.describe()
                ),
            ));
        }
    }
    m.warnings.extend(new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::SourceKind;

    fn bdf(s: &str) -> Bdf {
        s.parse().expect("valid bdf")
    }

    fn bridge(b: &str, sec: u8, sub: u8) -> PciDevice {
        let mut d = PciDevice::new(bdf(b));
        d.bus_range = Some(BusRange {
            secondary: sec,
            subordinate: sub,
        });
        d.class = Some(0x060400);
        d.kind = DeviceKind::PciBridge;
        d.kind_from = KindEvidence::ClassCode;
        d
    }

    #[test]
    fn bus_numbers_give_parents_and_shape_gives_roles() {
        let mut m = Machine::new(SourceKind::Lspci);
        m.devices = vec![
            bridge("00:01.0", 1, 4),
            bridge("01:00.0", 2, 4),
            bridge("02:00.0", 3, 3),
            bridge("02:01.0", 4, 4),
            PciDevice::new(bdf("03:00.0")),
            bridge("00:02.0", 5, 6),
            bridge("05:00.0", 6, 6),
            PciDevice::new(bdf("06:00.0")),
        ];
        finalize(&mut m);
        let kind = |s: &str| m.device(bdf(s)).map(|d| d.kind);
        assert_eq!(kind("00:01.0"), Some(DeviceKind::RootPort));
        assert_eq!(kind("01:00.0"), Some(DeviceKind::SwitchUpstream));
        assert_eq!(kind("02:00.0"), Some(DeviceKind::SwitchDownstream));
        assert_eq!(kind("02:01.0"), Some(DeviceKind::SwitchDownstream));
        assert_eq!(kind("03:00.0"), Some(DeviceKind::Endpoint));
        assert_eq!(kind("05:00.0"), Some(DeviceKind::PcieToPciBridge));
        assert_eq!(
            m.ancestors(bdf("03:00.0")),
            vec![bdf("02:00.0"), bdf("01:00.0"), bdf("00:01.0")]
        );
        assert_eq!(m.hierarchy, HierarchySource::BusNumbers);
        assert_eq!(m.root_buses.len(), 1);
    }

    #[test]
    fn issue_17_a_parent_in_another_segment_is_dropped() {
        let mut m = Machine::new(SourceKind::Sysfs);
        let mut d = PciDevice::new(bdf("0000:01:00.0"));
        d.parent = Some(bdf("ffff:00:01.0"));
        let mut e = PciDevice::new(bdf("0000:01:00.1"));
        e.parent = Some(bdf("0000:00:01.0"));
        m.devices = vec![d, e, PciDevice::new(bdf("0000:00:01.0"))];
        finalize(&mut m);
        assert_eq!(m.device(bdf("0000:01:00.0")).and_then(|d| d.parent), None);
        assert_eq!(
            m.device(bdf("0000:01:00.1")).and_then(|d| d.parent),
            Some(bdf("0000:00:01.0")),
            "a parent in the same segment is kept"
        );
        assert!(m
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::Hierarchy
                && w.to_string().contains("another PCI segment")));
        assert!(
            m.root_buses.iter().all(|r| r.segment == 0),
            "{:?}",
            m.root_buses
        );
    }

    #[test]
    fn loops_are_broken_not_followed() {
        let mut m = Machine::new(SourceKind::LspciTree);
        let mut a = PciDevice::new(bdf("01:00.0"));
        a.parent = Some(bdf("02:00.0"));
        let mut b = PciDevice::new(bdf("02:00.0"));
        b.parent = Some(bdf("01:00.0"));
        m.devices = vec![a, b];
        finalize(&mut m);
        assert!(m.warnings.iter().any(|w| w.kind == WarningKind::Hierarchy));
        assert!(m.ancestors(bdf("01:00.0")).len() <= 2);
    }
}
