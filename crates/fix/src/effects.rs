//! A change's side effects: how the IOMMU groups change (K4.3) and which other
//! pairings change outcome. Both compare names, so platforms whose nodes are numbered
//! differently (a written and reloaded platform) compare correctly.

use std::collections::BTreeMap;

use peerpath_model::Outcome;
use peerpath_topology::Topology;

/// What a platform looks like from outside: its groups and every pairing's outcome.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// Each group's member names, sorted; groups sorted.
    pub(crate) groups: Vec<Vec<String>>,
    /// Every pairing's outcome by (importer, export); `None` above the bound.
    pub(crate) outcomes: Option<BTreeMap<(String, String), Outcome>>,
}

impl Snapshot {
    /// Takes the snapshot; pairings only when there are at most `max_pairings`.
    pub(crate) fn of(topo: &Topology<'_>, max_pairings: usize) -> Snapshot {
        let mut groups: Vec<Vec<String>> = topo
            .groups()
            .groups
            .iter()
            .map(|g| {
                let mut v: Vec<String> =
                    g.devices.iter().map(|n| topo.name(*n).to_owned()).collect();
                v.sort();
                v
            })
            .collect();
        groups.sort();
        let p = topo.platform();
        let outcomes = (p.imports.len() <= max_pairings).then(|| {
            let mut m = BTreeMap::new();
            let _: Result<(), std::convert::Infallible> = peerpath_rules::for_each_verdict(
                topo,
                peerpath_rules::default_jobs(),
                |import, v| {
                    m.insert(
                        (
                            topo.name(import.importer).to_owned(),
                            p.export(import.export).name.clone(),
                        ),
                        v.outcome,
                    );
                    Ok(())
                },
            );
            m
        });
        Snapshot { groups, outcomes }
    }
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

/// The connected parts where the grouping differs (groups linked by shared devices).
pub(crate) fn group_changes(before: &[Vec<String>], after: &[Vec<String>]) -> Vec<GroupChange> {
    let mut out = Vec::new();
    let mut used_b = vec![false; before.len()];
    let mut used_a = vec![false; after.len()];
    for start in 0..before.len() {
        if used_b[start] {
            continue;
        }
        // Grow the component: before-groups and after-groups sharing any device.
        let (mut bs, mut as_) = (vec![start], Vec::new());
        used_b[start] = true;
        let mut changed = true;
        while changed {
            changed = false;
            for (j, a) in after.iter().enumerate() {
                if !used_a[j] && bs.iter().any(|&i| shares(&before[i], a)) {
                    used_a[j] = true;
                    as_.push(j);
                    changed = true;
                }
            }
            for (i, b) in before.iter().enumerate() {
                if !used_b[i] && as_.iter().any(|&j| shares(b, &after[j])) {
                    used_b[i] = true;
                    bs.push(i);
                    changed = true;
                }
            }
        }
        let same = bs.len() == 1 && as_.len() == 1 && before[bs[0]] == after[as_[0]];
        if !same {
            bs.sort_unstable();
            as_.sort_unstable();
            out.push(GroupChange {
                before: bs.iter().map(|&i| before[i].clone()).collect(),
                after: as_.iter().map(|&j| after[j].clone()).collect(),
            });
        }
    }
    for (j, a) in after.iter().enumerate() {
        if !used_a[j] {
            out.push(GroupChange {
                before: Vec::new(),
                after: vec![a.clone()],
            });
        }
    }
    out
}

fn shares(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| b.contains(x))
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

/// Every pairing but `importer` ← `export` whose outcome differs; `None` when either
/// side was not computed.
pub(crate) fn other_pairings(
    before: &Snapshot,
    after: &Snapshot,
    importer: &str,
    export: &str,
) -> Option<Vec<OtherPairing>> {
    let (b, a) = (before.outcomes.as_ref()?, after.outcomes.as_ref()?);
    Some(
        b.iter()
            .filter(|((i, e), _)| !(i == importer && e == export))
            .filter_map(|(key, &was)| {
                let now = *a.get(key)?;
                (now != was).then(|| OtherPairing {
                    importer: key.0.clone(),
                    export: key.1.clone(),
                    before: was,
                    after: now,
                })
            })
            .collect(),
    )
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
