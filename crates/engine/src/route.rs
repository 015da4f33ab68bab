//! What the router carries from one step of a route to the next, shared by the
//! router (`engine`), the flow cache (`flow`) and write merging (`merge`): how a route
//! keeps its hops ([`Recorder`]), where a request came into the root complex
//! ([`Src`]) and where it entered the interconnect ([`IcEntry`]). Nothing here routes;
//! so `flow` and `merge` read these without reaching into the router.

use peerpath_model::NodeId;

use crate::types::{Event, Hop, Place, Tlp, Trace, Why};

/// How a route keeps its hops. Every step of the router is generic over it, so the
/// router is compiled once per recorder, [`KeepHops`] (the reference: every hop kept,
/// for `explain`, pictures and JSON routes) and [`SummaryOnly`] (the verdict path:
/// the trace's summary only), and no hop tests the trace's mode. A recorder is zero
/// sized: passing one along costs nothing, and names which of the two the code is.
pub(crate) trait Recorder: Copy {
    /// Takes one hop of the route into `tr`: `at` where, `event` what happened, `tlp`
    /// the TLP as it leaves, `why` the rule that decided.
    fn hop(self, tr: &mut Trace, at: Place, event: Event, tlp: Tlp, why: Why);

    /// The TLP as the route's last hop left it, if the route has a hop.
    fn last_tlp(self, tr: &Trace) -> Option<Tlp>;
}

/// Every hop appended to `Trace::hops` (the summary is made from them when the route
/// ends, `Trace::finish`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepHops;

/// No hop kept: each is noted in `Trace::summary` as it happens
/// (`RouteSummary::note_parts`, whose per-reason tests fold away for the router's
/// constant reasons).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SummaryOnly;

impl Recorder for KeepHops {
    #[inline(always)]
    fn hop(self, tr: &mut Trace, at: Place, event: Event, tlp: Tlp, why: Why) {
        tr.hops.push(Hop {
            at,
            event,
            tlp,
            why,
        });
    }

    #[inline(always)]
    fn last_tlp(self, tr: &Trace) -> Option<Tlp> {
        tr.hops.last().map(|h| h.tlp)
    }
}

impl Recorder for SummaryOnly {
    #[inline(always)]
    fn hop(self, tr: &mut Trace, at: Place, event: Event, tlp: Tlp, why: Why) {
        tr.summary.note_parts(at, event, tlp, why);
    }

    #[inline(always)]
    fn last_tlp(self, tr: &Trace) -> Option<Tlp> {
        tr.summary.last.map(|(_, t)| t)
    }
}

/// Where a request came into the root complex from: its host bridge and root port
/// (`None` for an RCiEP requester).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Src {
    pub(crate) hb: NodeId,
    pub(crate) rp: Option<NodeId>,
}

/// Where a route entered the interconnect: what `route_burst` needs to resume a merged
/// burst there (H4).
#[derive(Clone, Copy, Debug)]
pub(crate) struct IcEntry {
    /// `hops.len()` before the interconnect's hops.
    pub(crate) hop_index: usize,
    /// `summary.hops` then (a trace that keeps no hops counts them there).
    pub(crate) summary_hops: u32,
    /// The TLP at the interconnect, its address CPU physical.
    pub(crate) tlp: Tlp,
    pub(crate) src: Src,
    /// Whether it decodes to a host bridge window (a PCI target).
    pub(crate) to_pci: bool,
}
