//! A change's side effects: how the IOMMU groups change (K4.3) and which other
//! pairings change outcome.
//!
//! Every pairing is compared, at any size (issue 19): the platform's verdicts are
//! taken once, class by class (`rules::for_each_verdict`), and a proposal re-decides
//! only the pairings its changes can touch ([`touched`]), again once per class of the
//! changed platform. Groups are compared by member names.

use std::collections::HashMap;

use peerpath_model::{NodeId, Outcome, Platform};
use peerpath_topology::Topology;

use crate::Change;

/// What a platform looks like from outside: its groups and every pairing's outcome.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// Each group's member names, sorted; groups sorted.
    pub(crate) groups: Vec<Vec<String>>,
    /// Every pairing's outcome, by index in `platform.imports`.
    pub(crate) outcomes: Vec<Outcome>,
}

/// Each group's member names, sorted; groups sorted.
pub(crate) fn groups_of(topo: &Topology<'_>) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = topo
        .groups()
        .groups
        .iter()
        .map(|g| {
            let mut v: Vec<String> = g.devices.iter().map(|n| topo.name(*n).to_owned()).collect();
            v.sort();
            v
        })
        .collect();
    groups.sort();
    groups
}

impl Snapshot {
    /// Takes the snapshot: every pairing, one evaluation per class.
    pub(crate) fn of(topo: &Topology<'_>) -> Snapshot {
        let mut outcomes = Vec::with_capacity(topo.platform().imports.len());
        let _: Result<(), std::convert::Infallible> =
            peerpath_rules::for_each_verdict(topo, peerpath_rules::default_jobs(), |_, v| {
                outcomes.push(v.outcome);
                Ok(())
            });
        Snapshot {
            groups: groups_of(topo),
            outcomes,
        }
    }
}

/// The pairings (by index in `platform.imports`) whose verdict `changes` can alter,
/// `None` for all of them. A kernel-wide knob touches every pairing; an ACS change
/// touches the pairings with an end below one of its ports (the route, p2pdma's walk
/// and untranslated reach read only the ports above the two ends, H1, K1.4, K4.3); a
/// device's domain touches its pairings; an export's `via` touches that export's; a VM
/// knob touches its devices' pairings (an assignment, every pairing).
/// Pairings with an end whose IOMMU group changed are touched too (K3.2, K4.3: the
/// group is what domains and the group findings read), for every change.
pub(crate) fn touched(
    p: &Platform,
    changes: &[Change],
    before: &Topology<'_>,
    after: &Topology<'_>,
) -> Option<Vec<bool>> {
    let n = p.nodes.len();
    let mut device = vec![false; n];
    let mut export = vec![false; p.exports.len()];
    let mut ports: Vec<NodeId> = Vec::new();
    for c in changes {
        match c {
            Change::DefaultDomain(_)
            | Change::PcieBusConfig(_)
            | Change::SwiotlbForce(_)
            | Change::Noats(_) => return None,
            Change::DisableAcsRedir(list) => ports.extend(list.iter().copied()),
            Change::ConfigAcs { port, .. } => ports.push(*port),
            Change::DeviceDomain { device: d, .. } => {
                device[d.index()] = true;
                for t in [before, after] {
                    if let Some(g) = t.groups().groups.iter().find(|g| g.devices.contains(d)) {
                        for m in &g.devices {
                            device[m.index()] = true;
                        }
                    }
                }
            }
            Change::Via { export: e, .. } => export[e.index()] = true,
            // Issue 18: a device's ATS in its VM reads only its own pairings; a VM's BAR
            // mapping, the pairings of its devices; a new assignment moves membership
            // and group viability of two VMs (and the host): every pairing.
            Change::VmAts { device: d } => device[d.index()] = true,
            Change::VmMapBars { vm } => {
                for d in p.vms.get(*vm as usize).into_iter().flat_map(|v| &v.devices) {
                    device[d.device.index()] = true;
                }
            }
            Change::VmAssign { .. } | Change::VmUnassign { .. } => return None,
        }
    }
    // Below a changed port: parents come before children (a Platform invariant).
    let mut below = vec![false; n];
    for &q in &ports {
        below[q.index()] = true;
    }
    for id in p.node_ids() {
        if let Some(parent) = p.node(id).parent {
            if below[parent.index()] {
                below[id.index()] = true;
            }
        }
        if below[id.index()] {
            device[id.index()] = true;
        }
    }
    // Devices whose group changed.
    let members = |t: &Topology<'_>| {
        let mut of: HashMap<NodeId, usize> = HashMap::new();
        for (i, g) in t.groups().groups.iter().enumerate() {
            for d in &g.devices {
                of.insert(*d, i);
            }
        }
        of
    };
    let (mb, ma) = (members(before), members(after));
    let group_b = &before.groups().groups;
    let group_a = &after.groups().groups;
    for (d, &gb) in &mb {
        let same = ma.get(d).is_some_and(|&ga| {
            let mut x = group_b[gb].devices.clone();
            let mut y = group_a[ga].devices.clone();
            x.sort_unstable();
            y.sort_unstable();
            x == y
        });
        if !same {
            device[d.index()] = true;
        }
    }
    for d in ma.keys() {
        if !mb.contains_key(d) {
            device[d.index()] = true;
        }
    }
    Some(
        p.imports
            .iter()
            .map(|i| {
                device[i.importer.index()]
                    || device[p.export(i.export).device.index()]
                    || export[i.export.index()]
            })
            .collect(),
    )
}

/// Every pairing but the one fixed whose outcome differs after the change: the
/// touched pairings re-decided on the changed platform, class by class.
pub(crate) fn other_pairings(
    before: &Snapshot,
    after: &Topology<'_>,
    touched: Option<&[bool]>,
    fixed: usize,
) -> Vec<OtherPairing> {
    let q = after.platform();
    let kept: Vec<usize> = (0..q.imports.len())
        .filter(|&k| touched.is_none_or(|t| t[k]))
        .collect();
    let keep = |k: usize| touched.is_none_or(|t| t[k]);
    let mut out = Vec::new();
    let mut next = kept.iter();
    let _: Result<(), std::convert::Infallible> = peerpath_rules::for_each_verdict_where(
        after,
        peerpath_rules::default_jobs(),
        &keep,
        |import, v| {
            let Some(&k) = next.next() else {
                return Ok(());
            };
            let was = before.outcomes[k];
            if k != fixed && v.outcome != was {
                out.push(OtherPairing {
                    importer: after.name(import.importer).to_owned(),
                    export: q.export(import.export).name.clone(),
                    before: was,
                    after: v.outcome,
                });
            }
            Ok(())
        },
    );
    out
}

/// Groups that merged or split: the groups before and after over one set of devices.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupChange {
    /// The groups before (member names).
    pub before: Vec<Vec<String>>,
    /// The groups after.
    pub after: Vec<Vec<String>>,
}

impl GroupChange {
    /// `merge` when fewer groups remain, `split` when more, else `regroup`.
    pub fn kind(&self) -> &'static str {
        match self.after.len().cmp(&self.before.len()) {
            std::cmp::Ordering::Less => "merge",
            std::cmp::Ordering::Greater => "split",
            std::cmp::Ordering::Equal => "regroup",
        }
    }
}

/// The connected parts where the grouping differs (groups linked by shared devices),
/// in the order of their first group before; groups only after come last. Linear in
/// the devices (a union of before- and after-groups through each device).
pub(crate) fn group_changes(before: &[Vec<String>], after: &[Vec<String>]) -> Vec<GroupChange> {
    let nb = before.len();
    let mut parent: Vec<usize> = (0..nb + after.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut home: HashMap<&str, usize> = HashMap::new();
    for (i, g) in before.iter().enumerate() {
        for d in g {
            home.insert(d.as_str(), i);
        }
    }
    for (j, g) in after.iter().enumerate() {
        for d in g {
            if let Some(&i) = home.get(d.as_str()) {
                let (a, b) = (find(&mut parent, i), find(&mut parent, nb + j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    // Components by their smallest member: a before-group's index when it has one.
    let mut parts: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for x in 0..parent.len() {
        let r = find(&mut parent, x);
        let at = *slot.entry(r).or_insert_with(|| {
            parts.push((Vec::new(), Vec::new()));
            parts.len() - 1
        });
        if x < nb {
            parts[at].0.push(x);
        } else {
            parts[at].1.push(x - nb);
        }
    }
    parts
        .into_iter()
        .filter(|(bs, as_)| !(bs.len() == 1 && as_.len() == 1 && before[bs[0]] == after[as_[0]]))
        .map(|(bs, as_)| GroupChange {
            before: bs.iter().map(|&i| before[i].clone()).collect(),
            after: as_.iter().map(|&j| after[j].clone()).collect(),
        })
        .collect()
}

/// Another pairing whose outcome changes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OtherPairing {
    /// The importer.
    pub importer: String,
    /// The export.
    pub export: String,
    /// Its outcome before.
    pub before: Outcome,
    /// Its outcome after.
    pub after: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|x| x.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn merges_and_splits_are_found_and_unchanged_groups_left_out() {
        let before = g(&[&["a"], &["b"], &["c", "d"], &["e"]]);
        let after = g(&[&["a", "b"], &["c"], &["d"], &["e"]]);
        let ch = group_changes(&before, &after);
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0].kind(), "merge");
        assert_eq!(ch[0].before, g(&[&["a"], &["b"]]));
        assert_eq!(ch[1].kind(), "split");
        assert_eq!(ch[1].after, g(&[&["c"], &["d"]]));
        assert!(group_changes(&before, &before).is_empty());
    }
}
