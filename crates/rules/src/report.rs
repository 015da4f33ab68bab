//! The result of evaluating pairings: plain data for the renderers (which own every
//! output format) and the summary's aggregator.

use std::collections::BTreeMap;

use peerpath_engine::{Hop, StreamSetup, Trace};
use peerpath_model::{
    Code, ExportId, Fact, MapType, NodeId, NodeKind, PhysAddr, Platform, Severity,
};
use peerpath_topology::PathClass;
use rustc_hash::FxHashMap;

use crate::finding::{Finding, Outcome};
use crate::k3_dma_path::DmaPath;
use crate::kernel::KernelDecision;
use crate::traffic::Flow;

/// The verdict for every pairing of a platform, collected (small platforms, tests;
/// large ones stream through `for_each_pair`).
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `name` of the platform.
    pub platform: String,
    /// One per pairing, sorted by (importer, export).
    pub pairs: Vec<PairResult>,
    /// Counts per outcome.
    pub summary: Summary,
}

/// Counts per outcome (output-format.md `summary`; `peerpath audit`'s JSON too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Pairings.
    pub pairs: usize,
    /// Pairings that work.
    pub works: usize,
    /// Pairings with warnings only.
    pub degraded: usize,
    /// Pairings with an error.
    pub fails: usize,
}

impl Summary {
    /// Counts one pairing's outcome.
    pub fn add(&mut self, outcome: Outcome) {
        self.pairs += 1;
        match outcome {
            Outcome::Works => self.works += 1,
            Outcome::Degraded => self.degraded += 1,
            Outcome::Fails => self.fails += 1,
        }
    }

    /// Counts the outcomes of `pairs`.
    pub fn of(pairs: &[PairResult]) -> Summary {
        let mut s = Summary::default();
        for p in pairs {
            s.add(p.outcome);
        }
        s
    }
}

/// What `--summary`, `--fail-on` and the matrix need of a pairing: its verdict,
/// without names, messages or routes. Pairings of one class share it (`class`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// K1 map type.
    pub map_type: MapType,
    /// The importer's DMA path.
    pub dma_path: DmaPath,
    /// The outcome.
    pub outcome: Outcome,
    /// The codes raised, each once, in output order (severity, code), with severity.
    pub codes: Vec<(Severity, Code)>,
    /// The assumed facts that would change the outcome (issue 24).
    pub depends_on: Vec<DependsOn>,
    /// Why it fails: each error code with the kind of place it is raised at, sorted,
    /// each once (the `--summary` groups failing pairings by it, issue 19).
    pub cause: Vec<(Code, Place)>,
}

impl Verdict {
    /// The verdict of a evaluated pairing; `places` names the kind of each subject.
    pub fn of(pair: &PairResult, places: &Places<'_>) -> Verdict {
        let mut codes: Vec<(Severity, Code)> =
            pair.findings.iter().map(|f| (f.severity, f.code)).collect();
        codes.dedup();
        let mut cause: Vec<(Code, Place)> = pair
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| (f.code, places.kind(pair, &f.subject)))
            .collect();
        cause.sort_by_key(|(c, k)| (c.as_str(), *k));
        cause.dedup();
        Verdict {
            map_type: pair.kernel.map_type,
            dma_path: pair.kernel.dma_path,
            outcome: pair.outcome,
            codes,
            depends_on: pair.depends_on.clone(),
            cause,
        }
    }

    /// The worst severity raised, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.codes.iter().map(|(s, _)| *s).min()
    }
}

/// The kind of place a finding is raised at, for grouping failing pairings by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// The importing device.
    Importer,
    /// The exporting device.
    Exporter,
    /// Another endpoint.
    Endpoint,
    /// A host bridge (root complex).
    HostBridge,
    /// A root port.
    RootPort,
    /// A switch upstream port.
    SwitchUpstream,
    /// A switch downstream port.
    SwitchDownstream,
    /// A PCIe-to-PCI bridge.
    PciBridge,
    /// An IOMMU or one of its TBUs.
    Iommu,
    /// Anything else (the platform, the kernel).
    Other,
}

impl Place {
    /// The kind in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Importer => "the importer",
            Place::Exporter => "the exporter",
            Place::Endpoint => "an endpoint",
            Place::HostBridge => "a host bridge",
            Place::RootPort => "a root port",
            Place::SwitchUpstream => "a switch upstream port",
            Place::SwitchDownstream => "a switch downstream port",
            Place::PciBridge => "a PCI bridge",
            Place::Iommu => "an IOMMU",
            Place::Other => "the platform",
        }
    }
}

/// The kind of every named place of a platform (nodes, IOMMUs, TBUs), looked up by
/// the subject names of findings; built once per run.
#[derive(Debug)]
pub struct Places<'p> {
    by_name: FxHashMap<&'p str, Place>,
}

impl<'p> Places<'p> {
    /// The places of `p`.
    pub fn of(p: &'p Platform) -> Self {
        let mut by_name = FxHashMap::default();
        for i in &p.iommus {
            by_name.insert(i.name.as_str(), Place::Iommu);
            for t in &i.tbus {
                by_name.insert(t.name.as_str(), Place::Iommu);
            }
        }
        for n in &p.nodes {
            let kind = match n.kind {
                NodeKind::HostBridge(_) => Place::HostBridge,
                NodeKind::RootPort(_) => Place::RootPort,
                NodeKind::SwitchUpstream(_) => Place::SwitchUpstream,
                NodeKind::SwitchDownstream(_) => Place::SwitchDownstream,
                NodeKind::PciBridge(_) => Place::PciBridge,
                NodeKind::Endpoint(_) => Place::Endpoint,
            };
            by_name.insert(n.name.as_str(), kind);
        }
        Places { by_name }
    }

    /// The kind of `subject`, a finding's subject in `pair`.
    fn kind(&self, pair: &PairResult, subject: &str) -> Place {
        if subject == pair.importer {
            Place::Importer
        } else if subject == pair.exporter {
            Place::Exporter
        } else {
            self.by_name.get(subject).copied().unwrap_or(Place::Other)
        }
    }
}

/// Failing pairings of one cause: how many, and the first three.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CauseGroup {
    /// Pairings of this cause.
    pub count: usize,
    /// The first (at most [`CauseGroup::EXAMPLES`]) in order.
    pub examples: Vec<(NodeId, ExportId)>,
}

impl CauseGroup {
    /// Examples kept per cause.
    pub const EXAMPLES: usize = 3;
}

/// The `--summary` aggregator: counts per outcome, map type, finding code (each code
/// counted once per pairing) and path class, and the failing pairings grouped by cause
/// (error codes and the kind of place each is raised at) with three examples each.
/// Its memory is bounded by the number of causes, not of pairings, unless it keeps
/// every failing pairing (`--summary --all`, [`Tally::listing_all`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Counts per outcome.
    pub summary: Summary,
    /// Pairings per map type, by name.
    pub by_map: BTreeMap<&'static str, usize>,
    /// Pairings per finding code, by name, with the code's severity.
    pub by_code: BTreeMap<&'static str, (Severity, usize)>,
    /// Pairings per path class (counted where the caller gives it, `add_path`).
    pub by_path: BTreeMap<PathClass, usize>,
    /// Failing pairings grouped by cause.
    pub causes: BTreeMap<Vec<(Code, Place)>, CauseGroup>,
    /// Whether `failing` is kept.
    pub keep_all: bool,
    /// With `keep_all`, the failing pairings in order, 12 bytes each: (importer,
    /// export, error codes); empty otherwise.
    pub failing: Vec<(NodeId, ExportId, CodeSet)>,
    /// The worst severity raised by any pairing.
    pub worst: Option<Severity>,
    /// Pairings whose outcome rests on an assumed fact, per fact name (issue 24).
    pub assumed: BTreeMap<String, usize>,
    /// Pairings whose outcome rests on an assumed fact.
    pub resting: usize,
}

impl Tally {
    /// A tally that keeps every failing pairing too (`--summary --all`).
    pub fn listing_all() -> Self {
        Tally {
            keep_all: true,
            ..Tally::default()
        }
    }

    /// Counts one pairing's path class.
    pub fn add_path(&mut self, class: PathClass) {
        *self.by_path.entry(class).or_default() += 1;
    }

    /// Adds one pairing.
    pub fn add(&mut self, importer: NodeId, export: ExportId, v: &Verdict) {
        self.summary.add(v.outcome);
        *self.by_map.entry(v.map_type.as_str()).or_default() += 1;
        for (sev, code) in &v.codes {
            self.by_code.entry(code.as_str()).or_insert((*sev, 0)).1 += 1;
        }
        if v.outcome == Outcome::Fails {
            let group = match self.causes.get_mut(v.cause.as_slice()) {
                Some(g) => g,
                None => self.causes.entry(v.cause.clone()).or_default(),
            };
            group.count += 1;
            if group.examples.len() < CauseGroup::EXAMPLES {
                group.examples.push((importer, export));
            }
            if self.keep_all {
                let errors = v
                    .codes
                    .iter()
                    .filter(|(s, _)| *s == Severity::Error)
                    .map(|(_, c)| *c)
                    .collect();
                self.failing.push((importer, export, errors));
            }
        }
        if !v.depends_on.is_empty() {
            self.resting += 1;
            let mut names: Vec<&str> = v.depends_on.iter().map(|d| d.name.as_str()).collect();
            names.dedup();
            for n in names {
                *self.assumed.entry(n.to_owned()).or_default() += 1;
            }
        }
        self.worst = match (self.worst, v.worst()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A set of finding codes in one word (rules.md F has 20).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CodeSet(u32);

impl CodeSet {
    /// Whether the set holds `code`.
    pub fn contains(self, code: Code) -> bool {
        self.0 & (1 << code.index()) != 0
    }

    /// The codes, in output order (by name).
    pub fn codes(self) -> impl Iterator<Item = Code> {
        let mut v: Vec<Code> = Code::ALL
            .iter()
            .copied()
            .filter(|c| self.contains(*c))
            .collect();
        v.sort_by_key(|c| c.as_str());
        v.into_iter()
    }
}

impl FromIterator<Code> for CodeSet {
    fn from_iter<I: IntoIterator<Item = Code>>(it: I) -> Self {
        CodeSet(it.into_iter().fold(0, |a, c| a | (1 << c.index())))
    }
}

/// One (importer, export) pairing.
#[derive(Clone, Debug, PartialEq)]
pub struct PairResult {
    /// The importing endpoint's name.
    pub importer: String,
    /// The export's name.
    pub export: String,
    /// The exporting endpoint's name.
    pub exporter: String,
    /// What the kernel decides.
    pub kernel: KernelDecision,
    /// `fails` if any error, `degraded` if any warning, else `works`.
    pub outcome: Outcome,
    /// Sorted by (severity, code, subject).
    pub findings: Vec<Finding>,
    /// The assumed facts under whose alternatives the outcome is another (issue 24);
    /// empty when the verdict rests on facts alone.
    pub depends_on: Vec<DependsOn>,
    /// Both devices are assigned to one VM: the guest kernel's side (rules.md V).
    pub vm: Option<Box<VmDetail>>,
    /// Everything else, for `explain` and the renderers.
    pub detail: PairDetail,
}

impl PairResult {
    /// The representative route's hops (the first write TLP's); empty when the
    /// pairing was evaluated without recording it.
    pub fn route(&self) -> &[Hop] {
        self.detail
            .route_of
            .and_then(|(f, t)| self.detail.flows.get(f)?.traces.get(t))
            .map_or(&[], |tr| tr.hops.as_slice())
    }
}

/// The structured detail of one pairing.
#[derive(Clone, Debug, PartialEq)]
pub struct PairDetail {
    /// The importer.
    pub importer: NodeId,
    /// The export.
    pub export: ExportId,
    /// The exporter.
    pub exporter: NodeId,
    /// The importer's stream as the hardware sees it.
    pub setup: StreamSetup,
    /// Whether the traffic is a probe: the kernel mapped nothing, so the route shows
    /// where a write to the BAR would go (through a bypassing stream); no finding is
    /// drawn from a probe.
    pub probe: bool,
    /// The traffic and what the hardware did with it.
    pub flows: Vec<FlowTrace>,
    /// Index of the representative route in `flows` (flow, TLP), if any.
    pub route_of: Option<(usize, usize)>,
}

/// One traffic flow and its routes.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowTrace {
    /// The flow.
    pub flow: Flow,
    /// One trace per TLP (hops only where recorded).
    pub traces: Vec<Trace>,
    /// Merged bursts (H4).
    pub merges: Vec<peerpath_engine::MergedBurst>,
}

/// One assumed fact under which a pairing's outcome is another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependsOn {
    /// The fact.
    pub fact: Fact,
    /// Its name, `kernel.cpu.family` or `hb0.forwards_p2p`.
    pub name: String,
    /// The value every verdict was decided with.
    pub assumed: String,
    /// The value tried instead.
    pub alternative: String,
    /// The pairing's outcome under it.
    pub outcome: Outcome,
}

/// The VM side of one pairing: the guest kernel's decision on the guest's platform,
/// and the addresses the host routes (`explain`, JSON `vm`).
#[derive(Clone, Debug, PartialEq)]
pub struct VmDetail {
    /// The VM's name.
    pub vm: String,
    /// The guest's virtual platform (V6).
    pub guest: Platform,
    /// The guest kernel's decision, in the guest platform's node ids.
    pub decision: KernelDecision,
    /// The export's first byte as the guest sees it (GPA).
    pub gpa: Option<u64>,
    /// The export's first byte on the host (HPA).
    pub hpa: Option<PhysAddr>,
    /// Whether the VMM maps the assigned BARs into the VM's I/O address space (V1).
    pub maps_bars: bool,
    /// Whether the importer's host stream has ATS enabled (V4).
    pub ats: bool,
    /// What this pairing's verdict assumes that the file does not state.
    pub assumptions: Vec<String>,
}
