//! H1 — ACS at the ingress port (a switch downstream port or a root port) [PCIe §6.12,
//! §7.7.8; r7.0 Table 6-11].
//!
//! A pure decision from the port's effective ACS Control (`Topology::acs_ctl`), the
//! TLP's Address Type, whether the requester's bus is within the port's
//! secondary..subordinate range, and where address decode would send the request:
//! - **SV**: a requester bus outside the port's bus range is blocked.
//! - **TB**: a translated (AT=10b) request going upstream is blocked.
//! - **RR**: a peer request (to a sibling downstream port) is redirected upstream.
//! - **CR**: completions only — requests are unaffected (`AcsReading::Spec`).
//! - **UF**: a request that would turn back out of its ingress port goes upstream.
//! - **EC**: a peer request is redirected if RR, else blocked (no per-target vector
//!   in the model: EC applies to every peer target).
//! - **DT**: a translated peer request routes directly despite RR/EC.
//!
//! Translation requests (AT=01b) are addressed to the translation agent and always go
//! upstream (H2).

use peerpath_model::{AcsFlags, NodeId};

use crate::types::{AcsReading, At, Why};

/// Where address decode at the ingress port would send a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// Below the ingress port itself (the request would turn back out of it).
    Own,
    /// Below a sibling downstream port of the same switch: a peer request.
    Sibling(NodeId),
    /// Anywhere else: upstream.
    Elsewhere,
}

/// What the ingress port does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Upstream. `redirect`: ACS sent it there instead of address decode.
    Up { why: Why, redirect: bool },
    /// Directly to a sibling downstream port.
    Peer { egress: NodeId, why: Why },
    /// Back down the ingress port.
    TurnBack,
    /// Blocked: an ACS violation.
    Block(AcsFlags),
}

/// The H1 decision at one ingress port.
pub(crate) fn decide(
    ctl: AcsFlags,
    reading: AcsReading,
    at: At,
    requester_in_range: bool,
    dest: Dest,
) -> Decision {
    if ctl.contains(AcsFlags::SV) && !requester_in_range {
        return Decision::Block(AcsFlags::SV);
    }
    if at == At::TranslationRequest {
        return Decision::Up {
            why: Why::TranslationRequestUpstream,
            redirect: false,
        };
    }
    let up = match dest {
        Dest::Own if ctl.contains(AcsFlags::UF) => Decision::Up {
            why: Why::AcsUpstreamForwarding,
            redirect: true,
        },
        Dest::Own => Decision::TurnBack,
        Dest::Sibling(egress) => {
            if at == At::Translated && ctl.contains(AcsFlags::DT) {
                return Decision::Peer {
                    egress,
                    why: Why::AcsDirectTranslated,
                };
            }
            let redirecting = match reading {
                AcsReading::Spec => AcsFlags::RR,
                AcsReading::KernelMainline => AcsFlags::REDIR,
            };
            let bits = ctl & redirecting;
            if let Some(bit) = [AcsFlags::RR, AcsFlags::CR, AcsFlags::EC]
                .into_iter()
                .find(|b| bits.contains(*b))
            {
                Decision::Up {
                    why: Why::AcsRedirect { bit },
                    redirect: true,
                }
            } else if ctl.contains(AcsFlags::EC) {
                Decision::Block(AcsFlags::EC)
            } else {
                Decision::Peer {
                    egress,
                    why: Why::SwitchPeer { egress },
                }
            }
        }
        Dest::Elsewhere => Decision::Up {
            why: Why::NotBelow,
            redirect: false,
        },
    };
    match up {
        Decision::Up { .. } if at == At::Translated && ctl.contains(AcsFlags::TB) => {
            Decision::Block(AcsFlags::TB)
        }
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: Dest = Dest::Sibling(NodeId(7));

    fn d(ctl: AcsFlags, at: At, dest: Dest) -> Decision {
        decide(ctl, AcsReading::Spec, at, true, dest)
    }

    #[test]
    fn rr_redirects_peer_requests_and_none_routes_them_directly() {
        assert_eq!(
            d(AcsFlags::REQ, At::Untranslated, PEER),
            Decision::Up {
                why: Why::AcsRedirect { bit: AcsFlags::RR },
                redirect: true
            }
        );
        assert_eq!(
            d(AcsFlags::empty(), At::Untranslated, PEER),
            Decision::Peer {
                egress: NodeId(7),
                why: Why::SwitchPeer { egress: NodeId(7) }
            }
        );
    }

    #[test]
    fn cr_alone_does_not_redirect_requests_unless_mainline_reading() {
        assert!(matches!(
            d(AcsFlags::CR, At::Untranslated, PEER),
            Decision::Peer { .. }
        ));
        assert_eq!(
            decide(
                AcsFlags::CR,
                AcsReading::KernelMainline,
                At::Untranslated,
                true,
                PEER
            ),
            Decision::Up {
                why: Why::AcsRedirect { bit: AcsFlags::CR },
                redirect: true
            }
        );
    }

    #[test]
    fn ec_without_rr_blocks_with_rr_redirects() {
        assert_eq!(
            d(AcsFlags::EC, At::Untranslated, PEER),
            Decision::Block(AcsFlags::EC)
        );
        assert!(matches!(
            d(AcsFlags::EC | AcsFlags::RR, At::Untranslated, PEER),
            Decision::Up { redirect: true, .. }
        ));
        // Not a peer request: EC does not apply.
        assert!(matches!(
            d(AcsFlags::EC, At::Untranslated, Dest::Elsewhere),
            Decision::Up {
                redirect: false,
                ..
            }
        ));
    }

    #[test]
    fn dt_routes_translated_directly_despite_rr_and_ec() {
        let ctl = AcsFlags::RR | AcsFlags::EC | AcsFlags::DT;
        assert_eq!(
            d(ctl, At::Translated, PEER),
            Decision::Peer {
                egress: NodeId(7),
                why: Why::AcsDirectTranslated
            }
        );
        // Untranslated is still redirected.
        assert!(matches!(
            d(ctl, At::Untranslated, PEER),
            Decision::Up { redirect: true, .. }
        ));
    }

    #[test]
    fn tb_blocks_translated_going_upstream_only() {
        let ctl = AcsFlags::TB | AcsFlags::RR;
        assert_eq!(
            d(ctl, At::Translated, Dest::Elsewhere),
            Decision::Block(AcsFlags::TB)
        );
        assert_eq!(d(ctl, At::Translated, PEER), Decision::Block(AcsFlags::TB));
        assert!(matches!(
            d(ctl | AcsFlags::DT, At::Translated, PEER),
            Decision::Peer { .. }
        ));
        assert!(matches!(
            d(ctl, At::Untranslated, Dest::Elsewhere),
            Decision::Up { .. }
        ));
    }

    #[test]
    fn uf_sends_turn_back_upstream() {
        assert_eq!(
            d(AcsFlags::empty(), At::Untranslated, Dest::Own),
            Decision::TurnBack
        );
        assert_eq!(
            d(AcsFlags::UF, At::Untranslated, Dest::Own),
            Decision::Up {
                why: Why::AcsUpstreamForwarding,
                redirect: true
            }
        );
    }

    #[test]
    fn sv_blocks_foreign_requester_and_translation_requests_go_up() {
        assert_eq!(
            decide(
                AcsFlags::SV,
                AcsReading::Spec,
                At::Untranslated,
                false,
                Dest::Elsewhere
            ),
            Decision::Block(AcsFlags::SV)
        );
        assert!(matches!(
            decide(
                AcsFlags::empty(),
                AcsReading::Spec,
                At::Untranslated,
                false,
                Dest::Elsewhere
            ),
            Decision::Up { .. }
        ));
        assert_eq!(
            d(AcsFlags::REQ | AcsFlags::TB, At::TranslationRequest, PEER),
            Decision::Up {
                why: Why::TranslationRequestUpstream,
                redirect: false
            }
        );
    }
}
