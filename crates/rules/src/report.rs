//! The report: output-format.md's JSON shape, straight from `serde::Serialize`.
//!
//! Fields marked `#[serde(skip)]` carry the structured detail `explain` renders (the
//! kernel's reasons, every trace); they never appear in JSON.

use peerpath_engine::{At, Hop, Place, StreamSetup, Trace};
use peerpath_model::{ExportId, NodeId, Op, Platform};

use crate::finding::{Finding, Outcome};
use crate::kernel::KernelDecision;
use crate::traffic::Flow;

/// The verdict for every pairing of a platform.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// Output format version: 1.
    pub format: u32,
    /// `name` of the platform.
    pub platform: String,
    /// One per pairing, sorted by (importer, export).
    pub pairs: Vec<PairResult>,
    /// Counts per outcome.
    pub summary: Summary,
}

/// Counts per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
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
    /// Counts the outcomes of `pairs`.
    pub fn of(pairs: &[PairResult]) -> Summary {
        let mut s = Summary {
            pairs: pairs.len(),
            ..Summary::default()
        };
        for p in pairs {
            match p.outcome {
                Outcome::Works => s.works += 1,
                Outcome::Degraded => s.degraded += 1,
                Outcome::Fails => s.fails += 1,
            }
        }
        s
    }
}

/// One (importer, export) pairing.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairResult {
    /// The importing endpoint's name.
    pub importer: String,
    /// The export's name.
    pub export: String,
    /// The exporting endpoint's name.
    pub exporter: String,
    /// What the kernel decides.
    pub kernel: KernelDecision,
    /// The representative route: the first write TLP's hops.
    pub route: Vec<RouteHop>,
    /// `fails` if any error, `degraded` if any warning, else `works`.
    pub outcome: Outcome,
    /// Sorted by (severity, code, subject).
    pub findings: Vec<Finding>,
    /// Everything else, for `explain`.
    #[serde(skip)]
    pub detail: PairDetail,
}

/// The structured detail of one pairing (not in JSON).
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
    /// One trace per TLP.
    pub traces: Vec<Trace>,
    /// Merged bursts (H4).
    pub merges: Vec<peerpath_engine::MergedBurst>,
}

/// One hop of the representative route (output-format.md `route[]`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RouteHop {
    /// The node (or TBU, IOMMU, memory region, `interconnect`) where it happens.
    pub at: String,
    /// `issue`, `forward`, `redirect`, `translate`, `merge`, `deliver`, `fault`, `drop`.
    pub event: &'static str,
    /// The TLP as it leaves `at`.
    pub tlp: TlpView,
}

/// A TLP in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TlpView {
    /// `read` or `write`.
    pub op: Op,
    /// The address on the wire, hex.
    #[serde(serialize_with = "crate::hex::u64_hex")]
    pub addr: u64,
    /// Payload bytes.
    pub payload: u32,
    /// `untranslated`, `translation-request`, `translated`.
    #[serde(serialize_with = "at_str")]
    pub at: At,
}

fn at_str<S: serde::Serializer>(at: &At, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(at.as_str())
}

/// The platform name of a place.
pub fn place_name(p: &Platform, place: Place) -> String {
    match place {
        Place::Pci(n) => p
            .nodes
            .get(n.index())
            .map_or_else(String::new, |x| x.name.clone()),
        Place::Tbu(t) => p
            .iommus
            .get(t.iommu.index())
            .and_then(|i| i.tbus.get(t.index as usize))
            .map_or_else(String::new, |t| t.name.clone()),
        Place::Iommu(i) => p
            .iommus
            .get(i.index())
            .map_or_else(String::new, |i| i.name.clone()),
        Place::Interconnect => "interconnect".to_owned(),
        Place::Memory(i) => p
            .memory
            .get(i)
            .map_or_else(|| "memory".to_owned(), |m| m.name.clone()),
    }
}

/// A hop as output.
pub fn route_hop(p: &Platform, h: &Hop) -> RouteHop {
    RouteHop {
        at: place_name(p, h.at),
        event: h.event.as_str(),
        tlp: TlpView {
            op: h.tlp.op,
            addr: h.tlp.addr,
            payload: h.tlp.payload,
            at: h.tlp.at,
        },
    }
}
