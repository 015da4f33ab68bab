//! `peerpath fix`: the smallest sets of changes to the knobs a user controls that make
//! one pairing `works`, then those that make it `degraded`, each with its side
//! effects — the IOMMU groups that merge or split (K4.3) and every other pairing whose
//! outcome changes.
//!
//! The search is breadth first over the candidate changes of [`candidates`] (only
//! knobs that can touch this pairing: the ports on its path, its two devices' domains,
//! the platform's kernel knobs, its export's `via`), sets of up to
//! [`Bound::max_changes`], at most [`Bound::max_evaluations`] evaluations. A set is
//! tried only if none of its subsets already reached the goal, so every proposal is
//! minimal. Proposals are ranked by size, then by the pairings they make worse, then
//! by cost ([`Change::cost`]), then by the IOMMU groups they merge, then by their
//! text: deterministic. Every proposal is
//! checked the way `--apply` writes it: dumped as YAML, loaded again and evaluated; a
//! proposal whose written platform does not load or does not give the predicted
//! outcome is dropped and counted.
//!
//! When nothing within the bound helps, the report says so and names the hardware
//! change the findings point at (a common switch, another slot).

mod change;
mod effects;

use std::collections::BTreeSet;

use peerpath_model::{
    Code, DomainType, MapType, NodeId, NodeKind, Outcome, PcieBusConfig, Platform, Via,
};
use peerpath_rules::UnknownPair;
use peerpath_topology::Topology;

pub use change::{Change, Described};
pub use effects::{GroupChange, OtherPairing};

/// How far the search goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The most changes in one proposal.
    pub max_changes: usize,
    /// The most pairing evaluations.
    pub max_evaluations: usize,
    /// The most proposals reported.
    pub max_proposals: usize,
    /// Other pairings are compared only on platforms with at most this many pairings.
    pub max_side_effect_pairings: usize,
    /// Whether the export's `via` may change (not when the user fixed it, `--via`).
    pub vary_via: bool,
}

impl Default for Bound {
    fn default() -> Self {
        Bound {
            max_changes: 3,
            max_evaluations: 4_000,
            max_proposals: 5,
            max_side_effect_pairings: 20_000,
            vary_via: true,
        }
    }
}

/// One pairing's state: its outcome and the codes raised.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct State {
    /// The outcome.
    pub outcome: Outcome,
    /// The kernel's map type (the driver's, under K2.4).
    pub map_type: MapType,
    /// The codes raised, each once, in output order.
    pub findings: Vec<Code>,
}

/// One proposal: a minimal set of changes and what it does.
#[derive(Clone, Debug)]
pub struct Proposal {
    /// The changes, in knob order.
    pub changes: Vec<Change>,
    /// The changes as written (on the original platform).
    pub described: Vec<Described>,
    /// The pairing afterwards.
    pub after: State,
    /// IOMMU groups that merge or split.
    pub groups: Vec<GroupChange>,
    /// Every other pairing whose outcome changes; `None` when the platform has more
    /// pairings than `Bound::max_side_effect_pairings`.
    pub others: Option<Vec<OtherPairing>>,
    /// The changed platform, as `--apply` writes it.
    pub yaml: String,
}

impl Proposal {
    /// The sum of the changes' costs.
    pub fn cost(&self) -> u32 {
        self.changes.iter().map(Change::cost).sum()
    }

    /// How many IOMMU groups disappear into others (isolation given up, K4.3).
    pub fn groups_merged(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.before.len().saturating_sub(g.after.len()))
            .sum()
    }

    /// How many other pairings get a worse outcome (0 when not computed).
    pub fn made_worse(&self) -> usize {
        self.others
            .iter()
            .flatten()
            .filter(|o| o.after > o.before)
            .count()
    }
}

/// What the search did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Searched {
    /// Candidate changes.
    pub candidates: usize,
    /// Sets evaluated.
    pub evaluated: usize,
    /// Whether every set within `max_changes` was evaluated.
    pub complete: bool,
    /// Proposals dropped because the platform `--apply` would write did not load or
    /// did not give the predicted outcome (a bug; expected 0).
    pub dropped: usize,
}

/// The answer for one pairing.
#[derive(Clone, Debug)]
pub struct FixReport {
    /// The platform's name.
    pub platform: String,
    /// The importer.
    pub importer: String,
    /// The export.
    pub export: String,
    /// The pairing now.
    pub now: State,
    /// The best outcome the proposals reach (`works`, else `degraded`); `None` when
    /// the pairing already works or nothing within the bound improves it.
    pub goal: Option<Outcome>,
    /// The proposals: those that make the pairing work, then those that make it
    /// degraded (not supersets of the first), best first in each tier.
    pub proposals: Vec<Proposal>,
    /// What the search did.
    pub searched: Searched,
    /// The bound used.
    pub bound: Bound,
    /// The hardware change the findings point at, when no software change reaches
    /// `works`.
    pub hardware: Option<String>,
}

impl FixReport {
    /// The file `peerpath fix --apply` writes for proposal `pick` (counted from 1): a
    /// comment header saying which proposal was applied and what it predicts, then the
    /// changed platform. Built here rather than in the CLI so that the fuzzer checks
    /// the very text `--apply` writes (issue 17: what the project writes, it reads);
    /// each header line goes through `peerpath_load::comment_line`, so no text in it
    /// can end the comment. `None` when there is no such proposal.
    pub fn applied_file(&self, pick: usize) -> Option<String> {
        let chosen = self.proposals.get(pick.checked_sub(1)?)?;
        let texts: Vec<&str> = chosen.described.iter().map(|d| d.text.as_str()).collect();
        let header = [
            format!(
                "Written by `peerpath fix {} {} --apply` (proposal {pick}): {}.",
                self.importer,
                self.export,
                texts.join("; ")
            ),
            format!(
                "Predicted: {} {} is {}.",
                self.importer,
                self.export,
                chosen.after.outcome.as_str()
            ),
        ];
        let mut out = String::new();
        for line in header {
            out.push_str(&peerpath_load::comment_line(&line));
            out.push('\n');
        }
        out.push_str(&chosen.yaml);
        Some(out)
    }
}

/// Searches fixes for the pairing `importer` ← `export` of `p`.
pub fn fix(
    p: &Platform,
    importer: &str,
    export: &str,
    bound: Bound,
) -> Result<FixReport, UnknownPair> {
    let topo = Topology::new(p);
    let base = peerpath_rules::evaluate_pair(&topo, importer, export)?;
    let now = state(&base);
    let mut report = FixReport {
        platform: p.name.clone(),
        importer: importer.to_owned(),
        export: export.to_owned(),
        now: now.clone(),
        goal: None,
        proposals: Vec::new(),
        searched: Searched {
            candidates: 0,
            evaluated: 0,
            complete: true,
            dropped: 0,
        },
        bound,
        hardware: None,
    };
    if now.outcome == Outcome::Works {
        return Ok(report);
    }
    let mut cands = candidates(&topo, &base);
    if !bound.vary_via {
        cands.retain(|c| !matches!(c, Change::Via { .. }));
    }
    report.searched.candidates = cands.len();

    // Breadth first; sets as sorted index lists.
    let mut reached: Vec<(Vec<usize>, Outcome)> = Vec::new();
    let mut frontier: Vec<Vec<usize>> = vec![Vec::new()];
    'sizes: for _size in 1..=bound.max_changes {
        let mut next = Vec::new();
        for set in &frontier {
            let from = set.last().map_or(0, |l| l + 1);
            for c in from..cands.len() {
                if set.iter().any(|&i| cands[i].knob() == cands[c].knob()) {
                    continue;
                }
                let mut s = set.clone();
                s.push(c);
                if reached
                    .iter()
                    .any(|(r, o)| *o == Outcome::Works && r.iter().all(|i| s.contains(i)))
                {
                    continue;
                }
                if report.searched.evaluated >= bound.max_evaluations {
                    report.searched.complete = false;
                    break 'sizes;
                }
                report.searched.evaluated += 1;
                let mut q = p.clone();
                for &i in &s {
                    cands[i].apply(&mut q);
                }
                let outcome = outcome_of(&q, importer, export);
                if outcome < now.outcome {
                    reached.push((s.clone(), outcome));
                }
                next.push(s);
            }
        }
        frontier = next;
    }

    let works = reached.iter().any(|(_, o)| *o == Outcome::Works);
    report.goal = if works {
        Some(Outcome::Works)
    } else if reached.iter().any(|(_, o)| *o == Outcome::Degraded) {
        Some(Outcome::Degraded)
    } else {
        None
    };
    if !works {
        report.hardware = Some(hardware(&topo, &base));
    }
    let before = effects::Snapshot::of(&topo, bound.max_side_effect_pairings);
    // Two tiers: the minimal sets that make it work, then those that only make it
    // degraded (often what people do first: clearing ACS redirect, which leaves a
    // group warning), best first in each.
    for tier in [Outcome::Works, Outcome::Degraded] {
        if tier >= now.outcome {
            continue;
        }
        let hits: Vec<&Vec<usize>> = reached
            .iter()
            .filter(|(_, o)| *o == tier)
            .map(|(s, _)| s)
            .collect();
        let minimal = hits.iter().filter(|s| {
            !reached
                .iter()
                .any(|(t, o)| *o <= tier && t.len() < s.len() && t.iter().all(|i| s.contains(i)))
        });
        let mut proposals = Vec::new();
        for set in minimal {
            let changes: Vec<Change> = set.iter().map(|&i| cands[i].clone()).collect();
            match proposal(p, &topo, &before, changes, importer, export, bound) {
                Some(pr) => proposals.push(pr),
                None => report.searched.dropped += 1,
            }
        }
        let rank = |p: &Proposal| (p.changes.len(), p.made_worse(), p.cost(), p.groups_merged());
        proposals.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| texts(a).cmp(&texts(b))));
        proposals.truncate(bound.max_proposals);
        report.proposals.extend(proposals);
    }
    Ok(report)
}

fn texts(p: &Proposal) -> Vec<&str> {
    p.described.iter().map(|d| d.text.as_str()).collect()
}

/// The state of an evaluated pairing.
fn state(r: &peerpath_rules::PairResult) -> State {
    let mut findings: Vec<Code> = r.findings.iter().map(|f| f.code).collect();
    findings.dedup();
    State {
        outcome: r.outcome,
        map_type: r.kernel.map_type,
        findings,
    }
}

/// The outcome of one pairing on a changed platform.
fn outcome_of(q: &Platform, importer: &str, export: &str) -> Outcome {
    let topo = Topology::new(q);
    peerpath_rules::evaluate_pair(&topo, importer, export).map_or(Outcome::Fails, |r| r.outcome)
}

/// Builds and checks one proposal: applies it, writes it as `--apply` would, loads
/// that again and evaluates the pairing there. `None` when the written platform does
/// not load or gives another outcome than the changed model.
fn proposal(
    p: &Platform,
    topo: &Topology<'_>,
    before: &effects::Snapshot,
    changes: Vec<Change>,
    importer: &str,
    export: &str,
    bound: Bound,
) -> Option<Proposal> {
    let mut q = p.clone();
    for c in &changes {
        c.apply(&mut q);
    }
    let yaml = peerpath_testkit::dump::to_yaml(&q);
    let loaded = peerpath_load::load_str(&p.name, &yaml).ok()?;
    let qt = Topology::new(&loaded);
    let after = state(&peerpath_rules::evaluate_pair(&qt, importer, export).ok()?);
    let direct = outcome_of(&q, importer, export);
    if after.outcome != direct {
        return None;
    }
    let after_snap = effects::Snapshot::of(&qt, bound.max_side_effect_pairings);
    let described = changes.iter().map(|c| c.describe(topo)).collect();
    Some(Proposal {
        groups: effects::group_changes(&before.groups, &after_snap.groups),
        others: effects::other_pairings(before, &after_snap, importer, export),
        changes,
        described,
        after,
        yaml,
    })
}

/// The candidate changes for one pairing, deduplicated and in a fixed order.
/// Issue 18: the VM-side knobs of a pairing's devices — ATS kept off in the VM (V4),
/// BARs the VMM does not map (V1), group members outside the VM (V2).
fn vm_candidates(topo: &Topology<'_>, imp: NodeId, expr: NodeId, out: &mut BTreeSet<Change>) {
    let p = topo.platform();
    for dev in [imp, expr] {
        let Some(vi) = p.vms.iter().position(|v| v.device(dev).is_some()) else {
            continue;
        };
        let vm = &p.vms[vi];
        if vm.device(dev).and_then(|d| d.ats) == Some(false) {
            out.insert(Change::VmAts { device: dev });
        }
        if !peerpath_rules::v_vm::maps_bars(p, vm).0 {
            out.insert(Change::VmMapBars { vm: vi as u32 });
        }
        let groups = topo.groups();
        if let Some(g) = groups.group_of(dev).and_then(|g| groups.group(g)) {
            for &m in &g.devices {
                if m != dev && topo.endpoint(m).is_some() && vm.device(m).is_none() {
                    out.insert(Change::VmAssign {
                        device: m,
                        vm: vi as u32,
                    });
                }
            }
        }
    }
}

pub fn candidates(topo: &Topology<'_>, pair: &peerpath_rules::PairResult) -> Vec<Change> {
    let p = topo.platform();
    let k = &p.kernel;
    let imp = pair.detail.importer;
    let expr = pair.detail.exporter;
    let mut out: BTreeSet<Change> = BTreeSet::new();

    // The ports on the pairing's path, below the host bridges.
    let mut ports: Vec<NodeId> = Vec::new();
    for n in topo
        .pci_upstream_chain(imp)
        .into_iter()
        .chain(topo.pci_upstream_chain(expr))
    {
        if topo.acs_cap(n).is_some() && !ports.contains(&n) {
            ports.push(n);
        }
    }
    // K1.8: the kernel's own hint.
    let kernel_hint: Vec<NodeId> = pair
        .kernel
        .why
        .map
        .redirecting
        .iter()
        .copied()
        .filter(|n| !k.disable_acs_redir.contains(n))
        .collect();
    if !kernel_hint.is_empty() {
        out.insert(Change::DisableAcsRedir(kernel_hint));
    }
    ports.sort_by_key(|n| topo.bdf(*n));
    // What the hardware redirects on the path (H1), where it differs.
    let redirecting: Vec<NodeId> = ports
        .iter()
        .copied()
        .filter(|n| topo.acs_ctl(*n).intersects(peerpath_model::AcsFlags::REDIR))
        .filter(|n| !k.disable_acs_redir.contains(n))
        .collect();
    if !redirecting.is_empty() {
        out.insert(Change::DisableAcsRedir(redirecting));
    }
    // Isolation the kernel would want (REQ_ACS_FLAGS), where the port lacks it.
    for &n in &ports {
        let cap = topo.acs_cap(n).unwrap_or_default();
        let missing = cap
            .intersection(peerpath_model::AcsFlags::REQ)
            .difference(topo.acs_ctl(n));
        if !missing.is_empty() && is_port(topo, n) {
            out.insert(Change::ConfigAcs {
                port: n,
                set: missing,
            });
        }
    }
    if !p.iommus.is_empty() {
        for ty in [DomainType::Dma, DomainType::Identity] {
            if k.default_domain != ty {
                out.insert(Change::DefaultDomain(ty));
            }
            for dev in [imp, expr] {
                if topo
                    .domain(dev)
                    .is_some_and(|d| d.iommu.is_some() && d.ty != ty)
                {
                    out.insert(Change::DeviceDomain { device: dev, ty });
                }
            }
        }
    }
    for c in [
        PcieBusConfig::Default,
        PcieBusConfig::TuneOff,
        PcieBusConfig::Safe,
        PcieBusConfig::Perf,
        PcieBusConfig::Peer2Peer,
    ] {
        if k.pcie_bus_config != c {
            out.insert(Change::PcieBusConfig(c));
        }
    }
    if k.swiotlb_force {
        out.insert(Change::SwiotlbForce(false));
    }
    out.insert(Change::Noats(!k.noats));
    vm_candidates(topo, imp, expr, &mut out);
    let export = p.export(pair.detail.export);
    for via in Via::ALL {
        if export.via != *via {
            out.insert(Change::Via {
                export: pair.detail.export,
                via: *via,
            });
        }
    }
    out.into_iter().collect()
}

fn is_port(topo: &Topology<'_>, n: NodeId) -> bool {
    matches!(
        topo.platform().node(n).kind,
        NodeKind::RootPort(_) | NodeKind::SwitchDownstream(_)
    )
}

/// The hardware change the pairing's findings point at, when software cannot make it
/// work.
fn hardware(topo: &Topology<'_>, pair: &peerpath_rules::PairResult) -> String {
    let (imp, exp) = (&pair.importer, &pair.exporter);
    let m = &pair.kernel.why.map;
    let hb = |n| topo.name(topo.host_bridge_of(n)).to_owned();
    if pair.findings.iter().any(|f| f.code == Code::RcNoForward) {
        return format!(
            "the root complex does not forward P2P between the root ports (or host bridges) {imp} and {exp} sit below (H6): put both below one PCIe switch, or move one to a slot that shares a switch with the other"
        );
    }
    match m.common_upstream {
        None => format!(
            "{imp} (below {}) and {exp} (below {}) share no upstream bridge and the kernel does not allow P2P through this root complex (K1.6, K1.7): put both below one PCIe switch, or move one to a slot below the other's switch",
            hb(pair.detail.importer),
            hb(pair.detail.exporter)
        ),
        Some(c) => format!(
            "below {} P2P that bypasses the IOMMU always merges IOMMU groups or leaves an isolation hole (K4.3); isolated P2P goes through the root complex, which the kernel allows only on an allow-listed host bridge or AMD CPU (K1.6, K1.7; {} is not): a platform whose root complex the kernel allow-lists, or accept the group change",
            topo.name(c),
            hb(pair.detail.importer)
        ),
    }
}
