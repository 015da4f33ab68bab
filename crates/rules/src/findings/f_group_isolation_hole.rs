//! `group-isolation-hole` (warning) — K4.3, H1: exporter and importer sit in different
//! IOMMU groups, yet one can reach the other's MMIO without translation — the hole of
//! the legacy grouping (sibling downstream ports without ACS get separate groups).
//!
//! Raised when both devices sit behind an IOMMU, their groups differ, and an
//! untranslated request from one to the other's BAR turns back down below the root
//! complex (`Topology::untranslated_turnaround`: a switch's internal bus without RR/EC
//! at the ingress port, a multifunction device's internal loopback, a conventional PCI
//! bus), tried importer → exporter, then exporter → importer. The subject is where the
//! request turns.

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `group-isolation-hole`.
pub fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let (imp, exp) = (cx.importer(), cx.exporter());
    let behind = |n| cx.topo.domain(n).is_some_and(|d| d.iommu.is_some());
    if !behind(imp) || !behind(exp) {
        return;
    }
    let groups = cx.topo.groups();
    let (Some(gi), Some(ge)) = (groups.group_of(imp), groups.group_of(exp)) else {
        return;
    };
    if gi == ge {
        return;
    }
    let (from, to, turn) = match cx.topo.untranslated_turnaround(imp, exp) {
        Some(t) => (imp, exp, t),
        None => match cx.topo.untranslated_turnaround(exp, imp) {
            Some(t) => (exp, imp, t),
            None => return,
        },
    };
    let (fname, tname, turn) = (cx.name(from), cx.name(to), cx.name(turn));
    let algorithm = cx.p().kernel.group_algorithm;
    out.push(
        Finding::new(
            Code::GroupIsolationHole,
            turn,
            format!(
                "{fname} reaches {tname}'s MMIO without translation (the request turns at {turn}), yet they are in different IOMMU groups ({gi}, {ge}) under the {algorithm} grouping"
            ),
        )
        .with("from", fname)
        .with("to", tname)
        .with("turns_at", turn)
        .with("groups", vec![gi, ge])
        .with("group_algorithm", algorithm.as_str())
        .fix(format!(
            "enable ACS RR and UF on the ports below {turn}, or use group_algorithm: reachable (they then share a group)"
        )),
    );
}
