//! The result of evaluating pairings: plain data for the renderers (which own every
//! output format) and the summary's aggregator.

use std::collections::BTreeMap;

use peerpath_engine::{Hop, StreamSetup, Trace};
use peerpath_model::{Code, ExportId, MapType, NodeId, Severity};

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

/// Counts per outcome (output-format.md `summary`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    pub depends_on: Vec<crate::assume::DependsOn>,
}

impl Verdict {
    /// The verdict of a evaluated pairing.
    pub fn of(pair: &PairResult) -> Verdict {
        let mut codes: Vec<(Severity, Code)> =
            pair.findings.iter().map(|f| (f.severity, f.code)).collect();
        codes.dedup();
        Verdict {
            map_type: pair.kernel.map_type,
            dma_path: pair.kernel.dma_path,
            outcome: pair.outcome,
            codes,
            depends_on: pair.depends_on.clone(),
        }
    }

    /// The worst severity raised, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.codes.iter().map(|(s, _)| *s).min()
    }
}

/// The `--summary` aggregator: counts per outcome, map type and finding code (each
/// code counted once per pairing), and the failing pairings with their error codes.
/// Its memory grows only with the failing pairings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Counts per outcome.
    pub summary: Summary,
    /// Pairings per map type, by name.
    pub by_map: BTreeMap<&'static str, usize>,
    /// Pairings per finding code, by name, with the code's severity.
    pub by_code: BTreeMap<&'static str, (Severity, usize)>,
    /// The failing pairings in order, 12 bytes each: (importer, export, error codes).
    pub failing: Vec<(NodeId, ExportId, CodeSet)>,
    /// The worst severity raised by any pairing.
    pub worst: Option<Severity>,
    /// Pairings whose outcome rests on an assumed fact, per fact name (issue 24).
    pub assumed: BTreeMap<String, usize>,
    /// Pairings whose outcome rests on an assumed fact.
    pub resting: usize,
}

impl Tally {
    /// Adds one pairing.
    pub fn add(&mut self, importer: NodeId, export: ExportId, v: &Verdict) {
        self.summary.add(v.outcome);
        *self.by_map.entry(v.map_type.as_str()).or_default() += 1;
        for (sev, code) in &v.codes {
            self.by_code.entry(code.as_str()).or_insert((*sev, 0)).1 += 1;
        }
        if v.outcome == Outcome::Fails {
            let errors = v
                .codes
                .iter()
                .filter(|(s, _)| *s == Severity::Error)
                .map(|(_, c)| *c)
                .collect();
            self.failing.push((importer, export, errors));
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
    pub depends_on: Vec<crate::assume::DependsOn>,
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
