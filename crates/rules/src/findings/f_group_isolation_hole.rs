//! `group-isolation-hole` (warning) — K4.3, H1: exporter and importer sit in different
//! IOMMU groups, yet one can reach the other's MMIO without translation — the hole of
//! the legacy grouping (sibling downstream ports without ACS get separate groups).
//!
//! Raised when both devices sit behind an IOMMU, their groups differ, and an
//! untranslated request from one to the other's BAR turns back down below the root
//! complex (`Topology::untranslated_turnaround`, which asks the one ACS decision as the
//! silicon reads it: a switch's internal bus where the ingress port neither redirects
//! nor blocks, a multifunction device's internal loopback, a conventional PCI bus),
//! tried importer → exporter, then exporter → importer. The subject is where the
//! request turns.
//!
//! Two causes, told apart in the evidence: the legacy algorithm's hole (sibling
//! downstream ports that do not isolate still get separate groups), and ports the
//! kernel's isolation test reads differently from the silicon — a capability without
//! RR, which `pci_acs_flags_enabled` takes as hard-wired on while the port does not
//! implement it (`Topology::isolation_assumed`, `assumed_isolating` in the evidence).
//! The second splits groups under both algorithms.

use super::Cx;
use crate::finding::{Code, Finding};

/// Raises `group-isolation-hole`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let (imp, exp) = (cx.importer(), cx.exporter());
    let Some((gi, ge)) = cx.groups() else {
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
    // The port the request entered `turn` through: the one whose ACS could stop it.
    let ingress = cx.topo.ingress_below(from, turn);
    let ingress_has_acs = ingress.is_some_and(|n| cx.topo.acs_cap(n).is_some());
    // Both directions: each way in has its own ingress port.
    let mut assumed: Vec<&str> = [(imp, exp), (exp, imp)]
        .into_iter()
        .flat_map(|(a, b)| cx.topo.isolation_assumed(a, b))
        .map(|n| cx.name(n))
        .collect();
    assumed.sort_unstable();
    assumed.dedup();
    let (fname, tname, turn) = (cx.name(from), cx.name(to), cx.name(turn));
    let fix = match ingress {
        Some(_) if !assumed.is_empty() => format!(
            "the kernel's grouping takes {} as isolating (a capability bit it lacks counted as hard-wired on, or a root port without ACS as having no loopback) while the silicon turns the request there: assign {fname} and {tname} together (VFIO cannot isolate them), or move one behind a port that implements ACS RR and UF",
            assumed.join(", ")
        ),
        Some(port) if ingress_has_acs => format!(
            "enable ACS RR and UF on {} (e.g. drop it from disable_acs_redir), or use group_algorithm: reachable (they then share a group)",
            cx.name(port)
        ),
        Some(port) => format!(
            "{} has no ACS capability and cannot isolate: assign {fname} and {tname} together (group_algorithm: reachable puts them in one group), or move one behind a port with ACS",
            cx.name(port)
        ),
        None => format!(
            "{turn} turns the request back without an ACS-capable port on the way: assign {fname} and {tname} together, or use group_algorithm: reachable"
        ),
    };
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
        .with("assumed_isolating", assumed)
        .fix(fix),
    );
}

#[cfg(test)]
mod tests {
    use crate::testplat::{add_iommu, node, pair_result, switch_pair};
    use peerpath_model::{AcsFlags, IommuKind};

    fn hole_fix(p: &peerpath_model::Platform) -> String {
        let r = pair_result(p, "nic0", "gpu0-bar0");
        let f = r
            .findings
            .iter()
            .find(|f| f.code.as_str() == "group-isolation-hole")
            .unwrap_or_else(|| panic!("no hole: {:?}", r.findings));
        f.fix.clone().unwrap_or_default()
    }

    /// Review finding: the fix told users to enable ACS on ports that have no ACS
    /// capability. Ports without the capability cannot isolate at all.
    #[test]
    fn the_fix_depends_on_whether_the_port_can_isolate() {
        // Switch ports without an ACS capability: legacy grouping separates the
        // siblings, but nothing can make the ports isolate.
        let full = AcsFlags::SV | AcsFlags::RR | AcsFlags::CR | AcsFlags::UF;
        let p = switch_pair(|b| {
            add_iommu(b, IommuKind::Smmuv3);
            let rp = node(b, "rp0");
            b.acs(rp, full, None);
        });
        let fix = hole_fix(&p);
        assert!(fix.contains("sw0.dp1 has no ACS capability"), "{fix}");

        // ACS-capable ports with redirect disabled on the command line: re-enable it.
        let p = switch_pair(|b| {
            add_iommu(b, IommuKind::Smmuv3);
            let rp = node(b, "rp0");
            b.acs(rp, full, None);
            for port in ["sw0.dp0", "sw0.dp1"] {
                let n = node(b, port);
                b.acs(n, full, None);
                b.kernel().disable_acs_redir.push(n);
            }
        });
        let fix = hole_fix(&p);
        assert!(fix.contains("enable ACS RR and UF on sw0.dp1"), "{fix}");
    }
}
