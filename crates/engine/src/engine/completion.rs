//! The completion of a read delivered to a BAR, routed back by ID (the rule and its
//! sources: "Reads and their completions" in module `engine`): up from the completer,
//! each ingress port applying its ACS to a completion (`completion_ingress`), through
//! the root complex where it gets there (`completion_at_root_complex`), and down by ID
//! to the requester (`completion_down`). Its hops are counted in the [`Completion`]
//! and kept in `Trace::completion_hops` when the trace records.

use peerpath_model::{NodeId, Op};
use peerpath_topology::acs::{self, AcsTlp, Class, Decision, Dest};

use super::{requester_in_range, Engine};
use crate::hardware::Kind;
use crate::types::{Completion, CplEnd, DropReason, Event, Fault, Hop, Place, Tlp, Trace, Why};

/// A read's completion on its way back to the requester (`Engine::complete`): what it
/// has done so far, the read it completes, and the trace its hops go to.
struct CplRoute<'a> {
    c: Completion,
    /// The read as the completer received it.
    tlp: Tlp,
    tr: &'a mut Trace,
}

impl CplRoute<'_> {
    /// One hop of the completion: counted, and kept in `Trace::completion_hops` when
    /// the trace records.
    fn hop(&mut self, at: Place, event: Event, why: Why) {
        self.c.hops += 1;
        if self.tr.record {
            self.tr.completion_hops.push(Hop {
                at,
                event,
                tlp: self.tlp,
                why,
            });
        }
    }

    /// The completion, ended by `end`.
    fn ended(mut self, end: CplEnd) -> Completion {
        self.c.end = end;
        self.c
    }
}

impl Engine<'_> {
    /// The completion of a read that `completer` received as `tlp` (as delivered),
    /// routed back by ID to `tlp.requester` [PCIe r7.0 §2.2.4.2 ID-based routing;
    /// §2.2.9 completion rules]: up from the completer until a port holds the
    /// requester's bus, where each ingress port applies its ACS to a completion
    /// (`completion_ingress`); a completion that reaches the root complex goes on in
    /// `completion_at_root_complex`. A completion inside a multifunction device (the
    /// read looped back) stays inside it. No MPS check: the completer splits its data
    /// at the Read Completion Boundary and its own MPS (not modelled).
    pub(super) fn complete(&self, completer: NodeId, tlp: Tlp, tr: &mut Trace) -> Completion {
        let r = tlp.requester;
        let mut cpl = CplRoute {
            c: Completion {
                completer,
                end: CplEnd::Returned,
                redirected_at: None,
                root_complex: None,
                hops: 0,
            },
            tlp,
            tr,
        };
        cpl.hop(Place::Pci(completer), Event::Issue, Why::CompletionIssued);
        if self.internal {
            return self.completion_down(cpl, r);
        }
        let mut cur = completer;
        // Bounded by depth: each step moves one node up.
        loop {
            let Some(p) = self.hw.nodes[cur.index()].parent else {
                cpl.hop(Place::Pci(cur), Event::Drop, Why::NoDecode);
                let reason = DropReason::UnsupportedRequest { addr: tlp.addr };
                return cpl.ended(CplEnd::Dropped(reason));
            };
            let pinfo = &self.hw.nodes[p.index()];
            if pinfo.kind == Kind::HostBridge {
                return self.completion_at_root_complex(cpl, cur, p);
            }
            if pinfo.kind == Kind::SwitchUpstream {
                // The downstream port below already decided: up.
                cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                cur = p;
                continue;
            }
            let (decision, egress) = self.completion_ingress(p, completer, r);
            match decision {
                Decision::Up { by: Some(bit) } => {
                    let why = Why::CompletionRedirect { bit };
                    cpl.hop(Place::Pci(p), Event::Redirect, why);
                    cpl.c.redirected_at.get_or_insert(p);
                    cur = p;
                }
                Decision::Up { by: None } => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    cur = p;
                }
                Decision::Peer { .. } => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    let (Some(usp), Some(egress)) = (pinfo.parent, egress) else {
                        // `PeerPort` is only asked with both found.
                        return self.completion_down(cpl, p);
                    };
                    cpl.hop(Place::Pci(usp), Event::Forward, Why::CompletionById);
                    if egress != r {
                        cpl.hop(Place::Pci(egress), Event::Forward, Why::CompletionById);
                    }
                    return self.completion_down(cpl, egress);
                }
                Decision::TurnBack => {
                    cpl.hop(Place::Pci(p), Event::Forward, Why::CompletionById);
                    return self.completion_down(cpl, p);
                }
                Decision::Block(bit) => {
                    cpl.hop(Place::Pci(p), Event::Fault, Why::AcsBlocked { bit });
                    return cpl.ended(CplEnd::Fault(Fault::AcsViolation { port: p, bit }));
                }
            }
        }
    }

    /// H1 for a completion at ingress port `port` (it came from below) on its way from
    /// `completer` to requester `r`: the ID route says where it would go (the port's
    /// own side if the port holds `r`, a sibling port below the same switch, or up);
    /// the one ACS decision says what the port does with it (CR redirects a peer
    /// completion upstream, UF one that would turn back out of its ingress port, SV
    /// checks the completer's bus; RR, EC, DT and TB concern requests). Returns the
    /// decision and the sibling port, if the ID route found one.
    fn completion_ingress(
        &self,
        port: NodeId,
        completer: NodeId,
        r: NodeId,
    ) -> (Decision, Option<NodeId>) {
        let info = &self.hw.nodes[port.index()];
        let mut egress = None;
        let dest = if self.holds(port, r) {
            Dest::Own
        } else if info.kind == Kind::SwitchDownstream {
            egress = info
                .parent
                .filter(|usp| self.holds(*usp, r))
                .map(|usp| self.child_toward(usp, r));
            egress.map_or(Dest::Up, |_| Dest::PeerPort)
        } else {
            Dest::Up
        };
        let decision = acs::decide(
            info.ingress_acs(),
            self.hw.reader,
            AcsTlp {
                class: Class::Completion,
                requester_in_range: requester_in_range(info, &self.hw.nodes[completer.index()]),
                dest,
            },
        );
        (decision, egress)
    }

    /// A completion that came up to host bridge `hb` from `from`: routed by ID,
    /// untranslated (an IOMMU translates requests, not completions), and back down a
    /// root port only where the root complex forwards peer reads (H6: the
    /// `forwards_p2p_reads` of the requester's host bridge, the root complex that
    /// forwarded the read, or whose root port received the redirected completion);
    /// across the interconnect to the requester's host bridge if that is another.
    fn completion_at_root_complex(
        &self,
        mut cpl: CplRoute<'_>,
        from: NodeId,
        hb: NodeId,
    ) -> Completion {
        let r = cpl.tlp.requester;
        let mut to_hb = r;
        while let Some(up) = self.hw.nodes[to_hb.index()].parent {
            to_hb = up;
        }
        let from_rp = (self.hw.nodes[from.index()].kind == Kind::RootPort).then_some(from);
        let to_rp = (to_hb != r)
            .then(|| self.child_toward(to_hb, r))
            .filter(|n| self.hw.nodes[n.index()].kind == Kind::RootPort);
        if let (Some(_), Some(_)) = (from_rp, to_rp) {
            let forwards = self.forwards(to_hb, Op::Read);
            if !Self::forwarded(forwards, hb, to_hb) {
                cpl.hop(
                    Place::Pci(hb),
                    Event::Drop,
                    Why::RcNoForwardRead { forwards },
                );
                return cpl.ended(CplEnd::Dropped(DropReason::RcNoForward {
                    from_root_port: from_rp,
                    to_root_port: to_rp,
                    from_hb: hb,
                    to_hb,
                }));
            }
        }
        cpl.c.root_complex = Some(hb);
        cpl.hop(Place::Pci(hb), Event::Forward, Why::CompletionById);
        if hb != to_hb {
            cpl.hop(Place::Interconnect, Event::Forward, Why::CompletionById);
            cpl.hop(Place::Pci(to_hb), Event::Forward, Why::CompletionById);
        }
        self.completion_down(cpl, to_hb)
    }

    /// A completion down by ID from `from` (which holds the requester) to the
    /// requester, where it is delivered.
    fn completion_down(&self, mut cpl: CplRoute<'_>, from: NodeId) -> Completion {
        let r = cpl.tlp.requester;
        let mut cur = from;
        // Bounded by depth: each step moves one node down.
        while cur != r {
            cur = self.child_toward(cur, r);
            if cur != r {
                cpl.hop(Place::Pci(cur), Event::Forward, Why::CompletionById);
            }
        }
        cpl.hop(Place::Pci(r), Event::Deliver, Why::CompletionReturned);
        cpl.c
    }
}
