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
//! text: deterministic. Each change says which findings it clears and why: the
//! pairing is evaluated with the proposal's other changes alone, and what that raises
//! beyond the proposal's own findings is what the change is there for.
//!
//! Side effects are compared on every pairing at any size (module `effects`): the
//! search and the reasons evaluate the one pairing on a copy of the platform that
//! holds only it; a proposal re-decides only the pairings its changes can touch, once
//! per class. `--apply` edits the user's file (module `apply`); every proposal is
//! checked the way it is written — the file edited, loaded again and compared with the
//! changed platform — when a [`Source`] is given and the file is at most
//! [`VERIFY_ALL_BYTES`] (larger files: the proposal `--apply` writes is checked so);
//! a proposal whose written file does not give the changed platform is dropped and
//! counted.
//!
//! When nothing within the bound helps, the report says so and names the hardware
//! change the findings point at (a common switch, another slot).

mod apply;
mod change;
mod effects;
mod part;

use std::collections::BTreeSet;

use rayon::prelude::*;

use peerpath_model::{
    Code, DomainType, MapType, NodeId, NodeKind, Outcome, PcieBusConfig, Platform, Via,
};
use peerpath_rules::UnknownPair;
use peerpath_topology::Topology;

pub use apply::Source;
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
    /// Whether the export's `via` may change (not when the user fixed it, `--via`).
    pub vary_via: bool,
}

impl Default for Bound {
    fn default() -> Self {
        Bound {
            max_changes: 3,
            max_evaluations: 4_000,
            max_proposals: 5,
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
    /// Every other pairing whose outcome changes.
    pub others: Vec<OtherPairing>,
    /// The changed platform, as `--apply` writes it.
    pub platform: Platform,
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

    /// How many other pairings get a worse outcome.
    pub fn made_worse(&self) -> usize {
        self.others.iter().filter(|o| o.after > o.before).count()
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
    /// Proposals dropped because the file `--apply` would write did not load or did
    /// not give the changed platform (a bug; expected 0).
    pub dropped: usize,
    /// Whether each proposal was checked through the file `--apply` writes.
    pub checked: bool,
}

/// Files up to this size have every proposal checked through the edited file; larger
/// ones only the proposal `--apply` writes (a load per proposal would dominate).
pub const VERIFY_ALL_BYTES: usize = 1 << 20;

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
    /// user's file edited where the knobs change (comments and layout kept). Built here
    /// rather than in the CLI so that the fuzzer checks the very text `--apply` writes
    /// (issue 17: what the project writes, it reads); each header line goes through
    /// `peerpath_load::comment_line`, so no text in it can end the comment. `None` when
    /// there is no such proposal; `Some(Err)` when the edited file does not load as the
    /// changed platform (a bug).
    /// Without a source (a platform imported in memory) the changed platform is
    /// written whole (`peerpath_load::dump`) and checked to load.
    pub fn applied_file(
        &self,
        pick: usize,
        source: Option<&Source<'_>>,
    ) -> Option<Result<String, String>> {
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
        let body = match source {
            Some(source) => written(source, &chosen.platform),
            None => {
                let yaml = peerpath_load::dump::to_yaml(&chosen.platform);
                match peerpath_load::load_str(&chosen.platform.name, &yaml) {
                    Ok(_) => Ok(yaml),
                    Err(d) => Err(format!("the written platform does not load:\n{d}")),
                }
            }
        };
        let body = match body {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let mut out = String::new();
        for line in header {
            out.push_str(&peerpath_load::comment_line(&line));
            out.push('\n');
        }
        out.push_str(&body);
        Some(Ok(out))
    }
}

/// `target` written as the source file edited, checked: the text must load (as a
/// scenario when the platform sits in one) and give `target` exactly.
fn written(source: &Source<'_>, target: &Platform) -> Result<String, String> {
    let text = apply::edited(source, target)?;
    let loaded = match source.within {
        Some(_) => {
            peerpath_load::scenario::load_scenario_str(std::path::Path::new(&target.name), &text)
                .map(|s| s.platform)
        }
        None => peerpath_load::load_str(&target.name, &text),
    };
    match loaded {
        Ok(q) if q == *target => Ok(text),
        Ok(_) => Err("the edited file loads as another platform than the one proposed".to_owned()),
        Err(d) => Err(format!("the edited file does not load:\n{d}")),
    }
}

/// Searches fixes for the pairing `importer` ← `export` of `p`; `source` is the file
/// `p` was loaded from, when there is one (each proposal is then checked through the
/// edited file, see [`VERIFY_ALL_BYTES`]).
pub fn fix(
    p: &Platform,
    importer: &str,
    export: &str,
    bound: Bound,
    source: Option<&Source<'_>>,
) -> Result<FixReport, UnknownPair> {
    fix_on(p, importer, export, bound, source, PartUse::Auto)
}

/// Whether the search runs on the pairing's part of the platform (module `part`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PartUse {
    /// Where it is at most half the platform and gives the pairing the same state.
    Auto,
    /// Wherever it gives the pairing the same state (tests).
    #[cfg(test)]
    Always,
    /// Never (tests).
    #[cfg(test)]
    Never,
}

fn fix_on(
    p: &Platform,
    importer: &str,
    export: &str,
    bound: Bound,
    source: Option<&Source<'_>>,
    use_part: PartUse,
) -> Result<FixReport, UnknownPair> {
    let topo = Topology::new(p);
    let base = peerpath_rules::evaluate_pair(&topo, importer, export)?;
    let now = state(&base);
    // The index of the pairing, and the platform holding only it (the search's copies).
    let fixed = p
        .imports
        .iter()
        .position(|i| i.importer == base.detail.importer && i.export == base.detail.export)
        .unwrap_or(usize::MAX);
    let alone = Platform {
        imports: p.imports.get(fixed).copied().into_iter().collect(),
        ..p.clone()
    };
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
            checked: source.is_some_and(|s| s.text.len() <= VERIFY_ALL_BYTES),
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

    // The search runs on the part of the platform the pairing sits in (module
    // `part`) when that part gives the pairing the same state; every proposal's
    // outcome is then checked on the whole platform, and on any difference the search
    // runs again on the whole platform.
    let part = peerpath_fix_part(
        &alone, &topo, &base, &cands, &now, importer, export, use_part,
    );
    let mut searched = match &part {
        Some((q, pc)) => search(q, pc, &now, bound, importer, export),
        None => search(&alone, &cands, &now, bound, importer, export),
    };
    let proposals_checked = |searched: &Search| {
        part.is_none()
            || minimal_sets(&searched.reached, now.outcome)
                .par_iter()
                .all(|(tier, s)| {
                    let mut q = alone.clone();
                    for &i in *s {
                        cands[i].apply(&mut q);
                    }
                    outcome_of(&q, importer, export) == *tier
                })
    };
    if !proposals_checked(&searched) {
        searched = search(&alone, &cands, &now, bound, importer, export);
    }
    report.searched.evaluated = searched.evaluated;
    report.searched.complete = searched.complete;
    let reached = searched.reached;

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
    let before = effects::Snapshot::of(&topo);
    let check = source.filter(|s| s.text.len() <= VERIFY_ALL_BYTES);
    let cx = Cx {
        p,
        alone: &alone,
        topo: &topo,
        before: &before,
        fixed,
        importer,
        export,
        check,
    };
    // Two tiers: the minimal sets that make it work, then those that only make it
    // degraded (often what people do first: clearing ACS redirect, which leaves a
    // group warning), best first in each.
    let minimal = minimal_sets(&reached, now.outcome);
    for tier in [Outcome::Works, Outcome::Degraded] {
        let mut proposals = Vec::new();
        for (_, set) in minimal.iter().filter(|(t, _)| *t == tier) {
            let changes: Vec<Change> = set.iter().map(|&i| cands[i].clone()).collect();
            match proposal(&cx, changes) {
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

/// The sets that reach each tier better than `now` (works, then degraded) with no
/// reached subset at that tier or better: the proposals' sets, with their tier.
fn minimal_sets(reached: &[(Vec<usize>, Outcome)], now: Outcome) -> Vec<(Outcome, &Vec<usize>)> {
    let mut out = Vec::new();
    for tier in [Outcome::Works, Outcome::Degraded] {
        if tier >= now {
            continue;
        }
        for (s, _) in reached.iter().filter(|(_, o)| *o == tier) {
            let smaller = reached
                .iter()
                .any(|(t, o)| *o <= tier && t.len() < s.len() && t.iter().all(|i| s.contains(i)));
            if !smaller {
                out.push((tier, s));
            }
        }
    }
    out
}

/// What the breadth-first search found: the sets (indices into the candidates) that
/// improve the pairing, with the outcome each reaches.
struct Search {
    reached: Vec<(Vec<usize>, Outcome)>,
    evaluated: usize,
    complete: bool,
}

/// Breadth first over sets of `cands`, sets as sorted index lists, evaluated on
/// `on`. Each size's sets are listed in order, then evaluated on every core (the
/// order of `reached` is the listing's). A set containing one that already makes the
/// pairing work is not tried.
fn search(
    on: &Platform,
    cands: &[Change],
    now: &State,
    bound: Bound,
    importer: &str,
    export: &str,
) -> Search {
    let mut out = Search {
        reached: Vec::new(),
        evaluated: 0,
        complete: true,
    };
    let mut frontier: Vec<Vec<usize>> = vec![Vec::new()];
    for _size in 1..=bound.max_changes {
        let mut next = Vec::new();
        'list: for set in &frontier {
            let from = set.last().map_or(0, |l| l + 1);
            for c in from..cands.len() {
                if set.iter().any(|&i| cands[i].knob() == cands[c].knob()) {
                    continue;
                }
                let mut s = set.clone();
                s.push(c);
                if out
                    .reached
                    .iter()
                    .any(|(r, o)| *o == Outcome::Works && r.iter().all(|i| s.contains(i)))
                {
                    continue;
                }
                if out.evaluated + next.len() >= bound.max_evaluations {
                    out.complete = false;
                    break 'list;
                }
                next.push(s);
            }
        }
        out.evaluated += next.len();
        let outcomes: Vec<Outcome> = next
            .par_iter()
            .map(|s| {
                let mut q = on.clone();
                for &i in s {
                    cands[i].apply(&mut q);
                }
                outcome_of(&q, importer, export)
            })
            .collect();
        for (s, outcome) in next.iter().zip(outcomes) {
            if outcome < now.outcome {
                out.reached.push((s.clone(), outcome));
            }
        }
        frontier = next;
        if !out.complete {
            break;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
/// The part of `alone` to search on, with the candidates as changes of it, when the
/// pairing's state there is the state on the whole platform (module `part`).
fn peerpath_fix_part(
    alone: &Platform,
    topo: &Topology<'_>,
    base: &peerpath_rules::PairResult,
    cands: &[Change],
    now: &State,
    importer: &str,
    export: &str,
    use_part: PartUse,
) -> Option<(Platform, Vec<Change>)> {
    #[cfg(test)]
    if use_part == PartUse::Never {
        return None;
    }
    let any_size = use_part != PartUse::Auto;
    let part = part::Part::of(
        alone,
        topo,
        base.detail.importer,
        base.detail.exporter,
        any_size,
    )?;
    let pc: Vec<Change> = cands
        .iter()
        .map(|c| part.change(c))
        .collect::<Option<_>>()?;
    let pt = Topology::new(&part.platform);
    let there = peerpath_rules::evaluate_pair(&pt, importer, export).ok()?;
    (state(&there) == *now && there.route().len() == base.route().len())
        .then_some((part.platform, pc))
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

/// What every proposal is built against.
struct Cx<'a, 'p> {
    p: &'a Platform,
    alone: &'a Platform,
    topo: &'a Topology<'p>,
    before: &'a effects::Snapshot,
    fixed: usize,
    importer: &'a str,
    export: &'a str,
    check: Option<&'a Source<'a>>,
}

/// The pairing alone on `alone` with `changes` applied: its state and findings.
fn alone_with(cx: &Cx<'_, '_>, changes: &[&Change]) -> Option<peerpath_rules::PairResult> {
    let mut q = cx.alone.clone();
    for c in changes {
        c.apply(&mut q);
    }
    let topo = Topology::new(&q);
    peerpath_rules::evaluate_pair(&topo, cx.importer, cx.export).ok()
}

/// Builds and checks one proposal: its changes with their reasons, the pairing
/// afterwards, the side effects on groups and every other pairing, and (with a
/// source to check against) the file `--apply` writes. `None` when that file does not
/// give the changed platform.
fn proposal(cx: &Cx<'_, '_>, changes: Vec<Change>) -> Option<Proposal> {
    let mut q = cx.p.clone();
    for c in &changes {
        c.apply(&mut q);
    }
    if let Some(src) = cx.check {
        written(src, &q).ok()?;
    }
    let all: Vec<&Change> = changes.iter().collect();
    let after_pair = alone_with(cx, &all)?;
    let after = state(&after_pair);
    let qt = Topology::new(&q);
    let touched = effects::touched(cx.p, &changes, cx.topo, &qt);
    let others = effects::other_pairings(cx.before, &qt, touched.as_deref(), cx.fixed);
    let groups = effects::group_changes(&cx.before.groups, &effects::groups_of(&qt));
    let described = changes
        .iter()
        .map(|c| {
            let rest: Vec<&Change> = changes.iter().filter(|o| *o != c).collect();
            let mut d = c.describe(cx.topo);
            if let Some(without) = alone_with(cx, &rest) {
                d.without = Some(without.outcome);
                let cleared: Vec<&peerpath_rules::Finding> = without
                    .findings
                    .iter()
                    .filter(|f| !after.findings.contains(&f.code))
                    .collect();
                for f in &cleared {
                    if !d.clears.contains(&f.code) {
                        d.clears.push(f.code);
                    }
                }
                d.why = cleared
                    .first()
                    .map(|f| format!("{} at {}: {}", f.code.as_str(), f.subject, f.message));
            }
            d
        })
        .collect();
    Some(Proposal {
        groups,
        others,
        changes,
        described,
        after,
        platform: q,
    })
}

/// The candidate changes for one pairing, deduplicated and in a fixed order.
/// Issue 18: the VM-side knobs of a pairing's devices — ATS kept off in the VM (V4),
/// BARs the VMM does not map (V1), group members outside the VM (V2), a device whose
/// peer is not in its VM (back to the host, or the peer into the VM).
fn vm_candidates(topo: &Topology<'_>, imp: NodeId, expr: NodeId, out: &mut BTreeSet<Change>) {
    let p = topo.platform();
    for dev in [imp, expr] {
        let Some(vi) = p.vms.iter().position(|v| v.device(dev).is_some()) else {
            continue;
        };
        let vm = &p.vms[vi];
        // A pairing across the VM's boundary: the device could go back to the host.
        let other = if dev == imp { expr } else { imp };
        if vm.device(other).is_none() {
            out.insert(Change::VmUnassign { device: dev });
            if topo.endpoint(other).is_some() {
                out.insert(Change::VmAssign {
                    device: other,
                    vm: vi as u32,
                });
            }
        }
        if vm.device(dev).and_then(|d| d.ats) == Some(false)
            && topo.endpoint(dev).is_some_and(|e| e.ats)
        {
            out.insert(Change::VmAts { device: dev });
        }
        if !peerpath_rules::maps_bars(p, vm).0 {
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
    // A revoked export is an event of that VFIO dma-buf (K2.1): another exporter
    // interface is another export, not a knob of this one (and `--apply` could not
    // write it: `revoke` is allowed only on `vfio-dmabuf`).
    for via in Via::ALL.iter().filter(|_| export.revoke.is_none()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's scenario files, sorted.
    pub(super) fn scenario_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(root.join("scenarios"))
            .expect("scenarios/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
    }

    /// Re-deciding only the pairings a change touches (`effects::touched`) finds
    /// exactly the pairings a full comparison finds: every candidate change, alone and
    /// in pairs, of every scenario's pairings and the repository's topologies.
    #[test]
    fn touched_pairings_give_the_same_side_effects_as_all_pairings() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut platforms: Vec<(Platform, Vec<(String, String)>)> = Vec::new();
        for f in scenario_files(&root) {
            let s = peerpath_load::scenario::load_scenario(&f).unwrap_or_else(|e| panic!("{e}"));
            let pairs = s
                .expect
                .iter()
                .map(|e| (e.importer.clone(), e.export.clone()))
                .collect();
            platforms.push((s.platform, pairs));
        }
        for t in ["arm-external-tbu", "amd-zen-switch", "dgx-like"] {
            let p = peerpath_load::load_file(&root.join(format!("topologies/{t}.yaml")))
                .unwrap_or_else(|d| panic!("{d}"));
            let topo = Topology::new(&p);
            let pairs = p
                .imports
                .iter()
                .take(6)
                .map(|i| {
                    (
                        topo.name(i.importer).to_owned(),
                        p.export(i.export).name.clone(),
                    )
                })
                .collect();
            platforms.push((p, pairs));
        }
        let mut compared = 0;
        let mut changed = 0;
        for (p, pairs) in &platforms {
            let topo = Topology::new(p);
            let before = effects::Snapshot::of(&topo);
            for (imp, exp) in pairs {
                let Ok(base) = peerpath_rules::evaluate_pair(&topo, imp, exp) else {
                    continue;
                };
                let cands = candidates(&topo, &base);
                let mut sets: Vec<Vec<&Change>> = cands.iter().map(|c| vec![c]).collect();
                for (i, a) in cands.iter().enumerate() {
                    for b in &cands[i + 1..] {
                        if a.knob() != b.knob() {
                            sets.push(vec![a, b]);
                        }
                    }
                }
                for set in sets.iter().take(40) {
                    let changes: Vec<Change> = set.iter().map(|c| (*c).clone()).collect();
                    let mut q = p.clone();
                    for c in &changes {
                        c.apply(&mut q);
                    }
                    let qt = Topology::new(&q);
                    let touched = effects::touched(p, &changes, &topo, &qt);
                    let some =
                        effects::other_pairings(&before, &qt, touched.as_deref(), usize::MAX);
                    let all = effects::other_pairings(&before, &qt, None, usize::MAX);
                    assert_eq!(some, all, "{}: {imp} {exp}: {changes:?}", p.name);
                    compared += 1;
                    changed += usize::from(!all.is_empty());
                }
            }
        }
        assert!(
            compared > 1000 && changed > 100,
            "{compared} compared, {changed} with side effects"
        );
    }
}

#[cfg(test)]
mod part_tests {
    use super::*;
    use crate::tests::scenario_files;

    /// The search on the pairing's part of the platform gives the same report as on
    /// the whole platform: every scenario pairing and some of each repository
    /// topology's, with the part taken wherever it is smaller at all.
    #[test]
    fn the_part_gives_the_reports_of_the_whole_platform() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut cases: Vec<(Platform, String, String)> = Vec::new();
        for f in scenario_files(&root) {
            let s = peerpath_load::scenario::load_scenario(&f).unwrap_or_else(|e| panic!("{e}"));
            for e in &s.expect {
                cases.push((s.platform.clone(), e.importer.clone(), e.export.clone()));
            }
        }
        for t in [
            "arm-external-tbu",
            "amd-zen-switch",
            "dgx-like",
            "timing-two-sockets",
        ] {
            let p = peerpath_load::load_file(&root.join(format!("topologies/{t}.yaml")))
                .unwrap_or_else(|d| panic!("{d}"));
            let topo = Topology::new(&p);
            let pairs: Vec<(String, String)> = p
                .imports
                .iter()
                .step_by(7)
                .take(8)
                .map(|i| {
                    (
                        topo.name(i.importer).to_owned(),
                        p.export(i.export).name.clone(),
                    )
                })
                .collect();
            for (a, b) in pairs {
                cases.push((p.clone(), a, b));
            }
        }
        let bound = Bound {
            max_changes: 2,
            ..Bound::default()
        };
        let mut cut = 0;
        for (p, imp, exp) in &cases {
            let whole = fix_on(p, imp, exp, bound, None, PartUse::Never).expect("pairing");
            let part = fix_on(p, imp, exp, bound, None, PartUse::Always).expect("pairing");
            let topo = Topology::new(p);
            let base = peerpath_rules::evaluate_pair(&topo, imp, exp).expect("pairing");
            let alone = Platform {
                imports: p
                    .imports
                    .iter()
                    .filter(|i| {
                        i.importer == base.detail.importer && i.export == base.detail.export
                    })
                    .copied()
                    .collect(),
                ..p.clone()
            };
            let cands = candidates(&topo, &base);
            let now = state(&base);
            // The part is searched on (it gives the pairing the same state).
            cut += usize::from(
                peerpath_fix_part(
                    &alone,
                    &topo,
                    &base,
                    &cands,
                    &now,
                    imp,
                    exp,
                    PartUse::Always,
                )
                .is_some(),
            );
            let view = |r: &FixReport| {
                (
                    r.goal,
                    r.searched,
                    r.proposals
                        .iter()
                        .map(|p| (p.described.clone(), p.after.clone(), p.others.clone()))
                        .collect::<Vec<_>>(),
                )
            };
            assert_eq!(view(&part), view(&whole), "{}: {imp} {exp}", p.name);
        }
        assert!(
            cut >= 10,
            "the part was searched on for only {cut} of {} pairings",
            cases.len()
        );
    }
}
