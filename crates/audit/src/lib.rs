//! `peerpath audit` (issue 21): a fleet of imported machines in one table.
//!
//! One-way: the CLI imports each machine (its own file IO, in parallel) and hands this
//! crate a [`Canon`] per machine; machines with one fingerprint form a [`Cluster`];
//! each cluster's representative platform is evaluated once ([`evaluate`]: the verdict
//! per device-class pairing through `peerpath_rules::for_each_verdict`, the
//! requirements, and for failing clusters the smallest fix from `peerpath_fix`);
//! [`differences`] says what sets a cluster apart from the largest one. Rendering is
//! `peerpath_render::audit_text`; the JSON is this crate's [`Audit`] (docs/audit.md).

mod canon;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use canon::{fingerprint, place_of, Canon};
use peerpath_model::{DeviceClass, NodeKind, Outcome, Platform};
use peerpath_topology::Topology;
use serde::{Deserialize, Serialize};

/// The JSON format's version (docs/audit.md).
pub const FORMAT: u32 = 1;

/// The whole table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// [`FORMAT`].
    pub format: u32,
    /// Machines imported (failed ones not counted).
    pub machines: usize,
    /// The `--require` rules, as given.
    pub requirements: Vec<String>,
    /// Machines that break a requirement.
    pub breaking: usize,
    /// The clusters, largest first (ties: by fingerprint).
    pub clusters: Vec<Cluster>,
    /// Machines whose dumps did not import, by name.
    pub failed: Vec<Failed>,
}

/// Machines with one fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// The fingerprint (docs/audit.md).
    pub fingerprint: String,
    /// How many machines.
    pub count: usize,
    /// The machines, sorted; the first is the one evaluated.
    pub machines: Vec<String>,
    /// The verdicts of the representative.
    pub verdicts: Evaluation,
    /// What differs from the largest cluster (empty for the largest).
    pub differs: Vec<Difference>,
    /// The canonical form, in a shard's part only (`--shard`; [`merge`] reads it and
    /// [`finish`] drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<BTreeMap<String, String>>,
}

/// A machine that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    /// The machine's name.
    pub machine: String,
    /// Why.
    pub error: String,
}

/// Pairings per outcome: the rules' own tally (`simulate --summary`'s counts).
pub use peerpath_rules::Summary as Counts;

/// Pairings of `c` worse than `o`.
pub fn worse_than(c: &Counts, o: Outcome) -> usize {
    match o {
        Outcome::Works => c.degraded + c.fails,
        Outcome::Degraded => c.fails,
        Outcome::Fails => 0,
    }
}

/// The outcomes of the pairings from one class of importer to one class of exporter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// The importer's class (`gpu`, `nic`, …).
    pub importer: String,
    /// The exporter's class.
    pub exporter: String,
    /// The outcomes.
    #[serde(flatten)]
    pub counts: Counts,
}

/// What a representative machine's pairings do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Every pairing.
    pub all: Counts,
    /// Per importer class → exporter class, sorted.
    pub classes: Vec<ClassCounts>,
    /// Each requirement the machines break, with why.
    pub breaks: Vec<String>,
    /// For a cluster with failing pairings: the smallest fix `peerpath fix` finds for
    /// its first failing pairing.
    pub fix: Option<FixHint>,
}

/// The smallest fix for one failing pairing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixHint {
    /// The importer.
    pub importer: String,
    /// The export.
    pub export: String,
    /// The changes, in words (empty: none found within the bound).
    pub changes: Vec<String>,
    /// The kernel parameters or sysfs writes that make them, where there are.
    pub parameters: Vec<String>,
    /// The pairing's outcome afterwards (`null`: none found).
    pub after: Option<String>,
}

/// One difference from the largest cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The BDF of the port or function, or `platform`.
    pub place: String,
    /// The field (`root_ports.acs.ctl`, `dump.link_status`, `kernel.release`, …); a
    /// function present on one side only is one difference with the field `present`.
    pub field: String,
    /// This cluster's value (`null`: absent).
    pub this: Option<String>,
    /// The largest cluster's value (`null`: absent).
    pub largest: Option<String>,
}

/// Completes a table: sorts the clusters (largest first, ties by fingerprint), says
/// what differs from the largest for the clusters that carry their canonical forms
/// (merged parts; a single run computes the differences as it goes and carries none),
/// counts the machines that break a requirement, and drops the canonical forms. A
/// single run and merged shards both end here, so they give the same bytes.
pub fn finish(a: &mut Audit) {
    a.clusters.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then(x.fingerprint.cmp(&y.fingerprint))
    });
    a.failed.sort_by(|x, y| x.machine.cmp(&y.machine));
    let largest = a
        .clusters
        .first()
        .and_then(|c| c.canonical.clone())
        .map(Canon)
        .unwrap_or_default();
    for (i, c) in a.clusters.iter_mut().enumerate() {
        if let Some(canon) = c.canonical.take() {
            c.differs = if i == 0 {
                Vec::new()
            } else {
                differences(&Canon(canon), &largest)
            };
        }
    }
    count(a);
}

/// Sets the table's machine count and the machines that break a requirement, from
/// its clusters.
pub fn count(a: &mut Audit) {
    a.machines = a.clusters.iter().map(|c| c.count).sum();
    a.breaking = a
        .clusters
        .iter()
        .filter(|c| !c.verdicts.breaks.is_empty())
        .map(|c| c.count)
        .sum();
}

/// Joins shards' parts (`--shard I/N` output) into one table, to be [`finish`]ed: the
/// clusters of one fingerprint become one, their machines merged in order. Parts must
/// share the format and the requirements, and carry their canonical forms.
pub fn merge(parts: Vec<Audit>) -> Result<Audit, String> {
    let mut out: Option<Audit> = None;
    let mut by: BTreeMap<String, Cluster> = BTreeMap::new();
    for (n, part) in parts.into_iter().enumerate() {
        if part.format != FORMAT {
            return Err(format!(
                "part {}: format {} (this peerpath reads {FORMAT})",
                n + 1,
                part.format
            ));
        }
        let acc = out.get_or_insert_with(|| Audit {
            format: FORMAT,
            requirements: part.requirements.clone(),
            ..Audit::default()
        });
        if acc.requirements != part.requirements {
            return Err(format!(
                "part {} was audited with --require {:?}, the first with {:?}: run every shard with the same rules",
                n + 1,
                part.requirements,
                acc.requirements
            ));
        }
        acc.failed.extend(part.failed);
        for c in part.clusters {
            if c.canonical.is_none() {
                return Err(format!(
                    "part {}: cluster {} has no canonical form: merge reads the output of `audit --shard`, not of a whole run",
                    n + 1,
                    c.fingerprint
                ));
            }
            match by.get_mut(&c.fingerprint) {
                Some(m) => {
                    // The verdicts of the first machine, as a single run takes them.
                    if c.machines.first() < m.machines.first() {
                        m.verdicts = c.verdicts;
                    }
                    m.machines.extend(c.machines);
                    m.machines.sort();
                    m.count = m.machines.len();
                }
                None => {
                    by.insert(c.fingerprint.clone(), c);
                }
            }
        }
    }
    let mut a = out.ok_or_else(|| "no part to merge".to_owned())?;
    a.clusters = by.into_values().collect();
    Ok(a)
}

/// Groups machines by fingerprint: clusters (fingerprint, machines sorted), largest
/// first, ties by fingerprint. `seen` is `(machine, fingerprint)`.
pub fn clusters(seen: impl IntoIterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, fp) in seen {
        by.entry(fp).or_default().push(m);
    }
    let mut out: Vec<(String, Vec<String>)> = by
        .into_iter()
        .map(|(fp, mut ms)| {
            ms.sort();
            (fp, ms)
        })
        .collect();
    // Stable: equal counts stay in fingerprint order.
    out.sort_by_key(|c| std::cmp::Reverse(c.1.len()));
    out
}

/// What differs between a cluster's canonical form and the largest's, port by port,
/// sorted by place then field. A function (or port) present on one side only is one
/// difference (`present`), not one per field.
pub fn differences(this: &Canon, largest: &Canon) -> Vec<Difference> {
    // place → field → (this, largest)
    type Sides = (Option<String>, Option<String>);
    let mut by: BTreeMap<String, BTreeMap<String, Sides>> = BTreeMap::new();
    for (k, v) in &this.0 {
        let (place, field) = place_of(k);
        by.entry(place).or_default().entry(field).or_default().0 = Some(v.clone());
    }
    for (k, v) in &largest.0 {
        let (place, field) = place_of(k);
        by.entry(place).or_default().entry(field).or_default().1 = Some(v.clone());
    }
    // The list a place is in, on one side (`endpoints`, `root_ports`, …).
    let list = |fields: &BTreeMap<String, Sides>, side: fn(&Sides) -> bool| {
        fields
            .iter()
            .filter(|(f, s)| side(s) && !f.starts_with("dump."))
            .map(|(f, _)| f.split('.').next().unwrap_or("").to_owned())
            .next()
    };
    let mut out = Vec::new();
    for (place, fields) in by {
        if place != "platform" {
            let here = list(&fields, |s| s.0.is_some());
            let there = list(&fields, |s| s.1.is_some());
            if here != there {
                // Present on one side only, or another kind of node: one difference.
                out.push(Difference {
                    place,
                    field: "present".to_owned(),
                    this: here.map(|l| format!("in {l}")),
                    largest: there.map(|l| format!("in {l}")),
                });
                continue;
            }
        }
        for (field, (a, b)) in fields {
            if a != b {
                out.push(Difference {
                    place: place.clone(),
                    field,
                    this: a,
                    largest: b,
                });
            }
        }
    }
    out
}

/// A `--require` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `IMPORTER:EXPORTER=OUTCOME` (`*` for any class): every such pairing at least
    /// as good as the outcome (`works` > `degraded` > `fails`).
    Pairs {
        /// The importer's class; `None`: any.
        importer: Option<DeviceClass>,
        /// The exporter's class; `None`: any.
        exporter: Option<DeviceClass>,
        /// The worst outcome allowed.
        at_least: Outcome,
    },
    /// `groups=singleton:CLASS`: every endpoint of the class shares its IOMMU group
    /// with no function of another device.
    Singleton(Option<DeviceClass>),
}

fn class_of(s: &str) -> Result<Option<DeviceClass>, String> {
    if s == "*" {
        return Ok(None);
    }
    DeviceClass::from_name(s).map(Some).ok_or_else(|| {
        format!(
            "`{s}` is not a device class: expected *, {}",
            DeviceClass::names().join(", ")
        )
    })
}

impl FromStr for Requirement {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (lhs, rhs) = s.split_once('=').ok_or_else(|| {
            format!("`{s}`: expected IMPORTER:EXPORTER=OUTCOME (gpu:gpu=works) or groups=singleton:CLASS")
        })?;
        if lhs == "groups" {
            let class = rhs.strip_prefix("singleton:").ok_or_else(|| {
                format!(
                    "`{s}`: the groups rule is groups=singleton:CLASS (e.g. groups=singleton:gpu)"
                )
            })?;
            return Ok(Requirement::Singleton(class_of(class)?));
        }
        let (i, e) = lhs.split_once(':').ok_or_else(|| {
            format!("`{s}`: expected IMPORTER:EXPORTER=OUTCOME, e.g. gpu:gpu=works")
        })?;
        let at_least = match rhs {
            "works" => Outcome::Works,
            "degraded" => Outcome::Degraded,
            "fails" => Outcome::Fails,
            _ => {
                return Err(format!(
                    "`{rhs}` is not an outcome: works, degraded or fails"
                ))
            }
        };
        Ok(Requirement::Pairs {
            importer: class_of(i)?,
            exporter: class_of(e)?,
            at_least,
        })
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |c: &Option<DeviceClass>| c.map_or("*", |c| c.as_str());
        match self {
            Requirement::Pairs {
                importer,
                exporter,
                at_least,
            } => write!(
                f,
                "{}:{}={}",
                name(importer),
                name(exporter),
                at_least.as_str()
            ),
            Requirement::Singleton(c) => write!(f, "groups=singleton:{}", name(c)),
        }
    }
}

fn class_of_node(p: &Platform, id: peerpath_model::NodeId) -> Option<DeviceClass> {
    match &p.node(id).kind {
        NodeKind::Endpoint(e) => Some(e.class),
        _ => None,
    }
}

/// Evaluates one machine: the verdict per class pairing (decided once per class of
/// equivalent pairings, `rules::for_each_verdict`), the requirements, and for failing
/// pairings the smallest fix (`fix` true; at most 2 changes, 400 evaluations).
pub fn evaluate(p: &Platform, reqs: &[Requirement], jobs: usize, fix: bool) -> Evaluation {
    let topo = Topology::new(p);
    let mut all = Counts::default();
    let mut classes: BTreeMap<(&'static str, &'static str), Counts> = BTreeMap::new();
    let mut bad: Vec<usize> = vec![0; reqs.len()];
    let mut first_fail = None;
    let _ = peerpath_rules::for_each_verdict(&topo, jobs, |import, v| {
        let exporter = p.export(import.export).device;
        let (ci, ce) = (
            class_of_node(p, import.importer),
            class_of_node(p, exporter),
        );
        all.add(v.outcome);
        classes
            .entry((
                ci.map_or("other", |c| c.as_str()),
                ce.map_or("other", |c| c.as_str()),
            ))
            .or_default()
            .add(v.outcome);
        for (r, n) in reqs.iter().zip(bad.iter_mut()) {
            if let Requirement::Pairs {
                importer,
                exporter,
                at_least,
            } = r
            {
                let matches = importer.is_none_or(|c| ci == Some(c))
                    && exporter.is_none_or(|c| ce == Some(c));
                if matches && v.outcome > *at_least {
                    *n += 1;
                }
            }
        }
        if v.outcome == Outcome::Fails && first_fail.is_none() {
            first_fail = Some((
                p.node(import.importer).name.clone(),
                p.export(import.export).name.clone(),
            ));
        }
        Ok::<(), ()>(())
    });
    let mut breaks = Vec::new();
    for (r, n) in reqs.iter().zip(&bad) {
        match r {
            Requirement::Pairs { .. } if *n > 0 => {
                breaks.push(format!("{r}: {n} pairing{} worse", plural(*n)));
            }
            Requirement::Singleton(class) => {
                let shared = shared_groups(&topo, *class);
                if !shared.is_empty() {
                    breaks.push(format!("{r}: {} not alone in its group", shared.join(", ")));
                }
            }
            Requirement::Pairs { .. } => {}
        }
    }
    let fix = first_fail
        .filter(|_| fix)
        .map(|(i, e)| smallest_fix(p, &i, &e));
    Evaluation {
        all,
        classes: classes
            .into_iter()
            .map(|((i, e), counts)| ClassCounts {
                importer: i.to_owned(),
                exporter: e.to_owned(),
                counts,
            })
            .collect(),
        breaks,
        fix,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The endpoints of `class` whose IOMMU group holds a function of another device, by
/// name, sorted.
fn shared_groups(topo: &Topology<'_>, class: Option<DeviceClass>) -> Vec<String> {
    let p = topo.platform();
    let groups = topo.groups();
    let mut out = Vec::new();
    for id in p.node_ids() {
        let node = p.node(id);
        let NodeKind::Endpoint(e) = &node.kind else {
            continue;
        };
        if class.is_some_and(|c| c != e.class) {
            continue;
        }
        let Some(g) = groups.group_of(id).and_then(|g| groups.group(g)) else {
            continue;
        };
        let same_device = |other: peerpath_model::NodeId| match (node.bdf, p.node(other).bdf) {
            (Some(a), Some(b)) => a.segment == b.segment && a.bus == b.bus && a.device == b.device,
            _ => false,
        };
        if g.devices.iter().any(|&d| d != id && !same_device(d)) {
            out.push(node.name.clone());
        }
    }
    out.sort();
    out
}

fn smallest_fix(p: &Platform, importer: &str, export: &str) -> FixHint {
    let bound = peerpath_fix::Bound {
        max_changes: 2,
        max_evaluations: 400,
        max_proposals: 1,
        vary_via: false,
    };
    let best = peerpath_fix::fix(p, importer, export, bound, None)
        .ok()
        .and_then(|r| r.proposals.into_iter().next());
    FixHint {
        importer: importer.to_owned(),
        export: export.to_owned(),
        changes: best
            .iter()
            .flat_map(|b| b.described.iter().map(|d| d.text.clone()))
            .collect(),
        parameters: best
            .iter()
            .flat_map(|b| b.described.iter().filter_map(|d| d.parameter.clone()))
            .collect(),
        after: best.map(|b| b.after.outcome.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(pairs: &[(&str, &str)]) -> Canon {
        Canon(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn clusters_largest_first_then_by_fingerprint() {
        let seen = [("m3", "b"), ("m1", "a"), ("m2", "b"), ("m4", "c")]
            .map(|(m, f)| (m.to_owned(), f.to_owned()));
        let c = clusters(seen);
        let shape: Vec<(&str, usize)> = c.iter().map(|(f, m)| (f.as_str(), m.len())).collect();
        assert_eq!(shape, [("b", 2), ("a", 1), ("c", 1)]);
        assert_eq!(c[0].1, ["m2", "m3"]);
    }

    #[test]
    fn differences_port_by_port() {
        let big = canon(&[
            ("root_ports[0000:18:08.0].acs.ctl", "[sv, rr, cr, uf]"),
            ("root_ports[0000:18:08.0].bdf", "0000:18:08.0"),
            ("endpoints[0000:41:00.0].bdf", "0000:41:00.0"),
            ("kernel.release", "6.8"),
        ]);
        let small = canon(&[
            ("root_ports[0000:18:08.0].acs.ctl", "[sv]"),
            ("root_ports[0000:18:08.0].bdf", "0000:18:08.0"),
            ("endpoints[0000:42:00.0].bdf", "0000:42:00.0"),
            ("kernel.release", "6.8"),
        ]);
        let d = differences(&small, &big);
        let text: Vec<String> = d
            .iter()
            .map(|d| format!("{} {} {:?} {:?}", d.place, d.field, d.this, d.largest))
            .collect();
        assert_eq!(
            text,
            [
                "0000:18:08.0 root_ports.acs.ctl Some(\"[sv]\") Some(\"[sv, rr, cr, uf]\")",
                "0000:41:00.0 present None Some(\"in endpoints\")",
                "0000:42:00.0 present Some(\"in endpoints\") None",
            ]
        );
        assert!(differences(&big, &big).is_empty());
    }

    #[test]
    fn requirements_parse_and_print() {
        for s in ["gpu:gpu=works", "*:nvme=degraded", "groups=singleton:gpu"] {
            let r: Requirement = s.parse().expect(s);
            assert_eq!(r.to_string(), s);
        }
        for bad in [
            "gpu:gpu",
            "gpu=works",
            "gpu:gpu=fine",
            "groups=alone:gpu",
            "cpu:gpu=works",
        ] {
            assert!(bad.parse::<Requirement>().is_err(), "{bad}");
        }
    }
}
