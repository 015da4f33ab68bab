//! H1, K1.4, K4.3 — what a port does with a TLP that enters it from below, given its
//! ACS Capability and effective Control ([PCIe r7.0 §6.12.1, §7.7.8, Table 6-11];
//! `drivers/pci/pci.c`: `pci_acs_flags_enabled`; `drivers/pci/p2pdma.c`:
//! `pci_bridge_has_acs_redir`).
//!
//! **The one decision.** [`decide`] answers for a port (a root port, a switch downstream
//! port, or a function of a multifunction device) and one TLP — its class (a request
//! with its Address Type, or a completion), whether the requester's bus lies in the
//! port's secondary..subordinate range, and where address decode would send it — one
//! of: upstream (by address decode, or *redirected* by an ACS bit), to the peer
//! directly, back down the ingress port, or blocked. Who reads the bits is a
//! [`Reader`]:
//!
//! - [`Reader::Hardware`] — the port itself, PCIe r7.0 Table 6-11, rules.md H1. Only
//!   bits the capability implements act (Control is already limited to the
//!   capability): **SV** blocks a requester outside the bus range; **TB** blocks a
//!   translated request going upstream; **RR** redirects a peer request upstream;
//!   **CR** redirects a peer completion (requests are unaffected); **UF** sends a
//!   request or completion for the port's own subtree upstream instead of turning it
//!   back ([PCIe r7.0 §6.12.1.1]: "any Request or Completion TLPs it receives that
//!   were redirected Upstream by a component lower in the hierarchy"); **EC**
//!   redirects a peer request when RR is set, else blocks it (no per-target egress
//!   vector in the model); **DT** routes a translated peer request directly despite RR
//!   and EC. A translation request (AT=01b) always goes upstream to the translation
//!   agent (H2). A function of a multifunction device whose capability lacks RR has
//!   no internal peer path at all ([PCIe §6.12.1.2]: functions that support
//!   peer-to-peer with other functions must implement RR), and neither has one
//!   without an ACS capability.
//! - [`Reader::P2pdma`] — p2pdma's redirect check (K1.4), by `kernel.acs_decision`:
//!   `mainline` (`pci_bridge_has_acs_redir`) takes RR, CR or EC in Control as a
//!   redirect of every TLP class; `egress-aware` (the rewrite under review) takes RR
//!   or EC as a redirect of requests (EC counts as redirect: Linux does not read the
//!   egress vector) and CR of completions. Neither reads DT.
//! - [`Reader::Isolation`] — the IOMMU grouping's isolation test (K4.3,
//!   `pci_acs_flags_enabled`): the hardware's rules over Control where every bit of
//!   SV, RR, CR, UF that the capability lacks counts as hard-wired **on** ("features
//!   missing from the capability field can therefore be assumed as hard-wired
//!   enabled"); a function with no ACS capability has no ACS at all.
//!   [`isolates`] asks it the four questions of `REQ_ACS_FLAGS`.
//!
//! The readers disagree by design, and each disagreement is a finding: a port whose
//! capability lacks RR forwards peer requests (Hardware) while the kernel groups its
//! devices apart (Isolation): `group-isolation-hole`; CR or EC alone makes p2pdma
//! choose `thru-host-bridge` (P2pdma) while the silicon routes the IOVA across the
//! switch (Hardware): `bypass-mismatch`; EC without RR blocks (Hardware) what
//! `egress-aware` takes as a redirect: `acs-violation`.

use peerpath_model::{AcsDecision, AcsFlags, At};

/// One port's (or function's) ACS state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortAcs {
    /// The ACS Capability register; `None`: no ACS capability.
    pub cap: Option<AcsFlags>,
    /// The effective ACS Control register (K4.1, K4.2), limited to `cap`.
    pub ctl: AcsFlags,
    /// A device-specific ACS quirk that applies (`pci_dev_acs_enabled[]`,
    /// `crate::quirks`); `None` for most functions.
    pub quirk: Option<QuirkAcs>,
}

/// What a device-specific ACS quirk asserts (`pci_dev_specific_acs_enabled`): read by
/// the kernel's isolation test instead of the capability, and by the silicon where the
/// function has no ACS capability; p2pdma does not see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuirkAcs {
    /// Controls the device provides (as if implemented and enabled).
    pub provides: AcsFlags,
    /// Requested controls the quirk filters out as not applicable (taken as met by the
    /// isolation test only).
    pub ignores: AcsFlags,
}

/// Whose reading of a port's ACS bits applies. See the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reader {
    /// The silicon: PCIe r7.0 Table 6-11 (H1). What every routed TLP meets.
    #[default]
    Hardware,
    /// p2pdma's redirect check (K1.4) under a `kernel.acs_decision`.
    P2pdma(AcsDecision),
    /// The IOMMU grouping's isolation test (K4.3): missing capability bits hard-wired on.
    Isolation,
}

/// The kind of TLP, as ACS tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A memory request with its Address Type.
    Request(At),
    /// A completion (routed by ID; only p2pdma's `egress-aware` reading asks).
    Completion,
}

/// Where address decode at the ingress port would send the TLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Below the ingress port itself: it would turn back out of the port it came in.
    Own,
    /// Below a sibling downstream port of the same switch: peer-to-peer.
    PeerPort,
    /// Another function of the same multifunction device: internal peer-to-peer.
    PeerFunction,
    /// Not below: upstream by address decode.
    Up,
}

/// One TLP as ACS sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcsTlp {
    /// Request (with AT) or completion.
    pub class: Class,
    /// The requester's bus lies in the port's secondary..subordinate range (SV).
    pub requester_in_range: bool,
    /// Where address decode would send it.
    pub dest: Dest,
}

impl AcsTlp {
    /// An untranslated request from below the port (its requester in range) to `dest`.
    pub fn request(dest: Dest) -> Self {
        Self {
            class: Class::Request(At::Untranslated),
            requester_in_range: true,
            dest,
        }
    }
}

/// What the port does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Upstream. `by`: the ACS bit that sent it there instead of address decode (RR,
    /// CR, EC or UF); `None`: address decode did (the target is not below, a
    /// translation request, a function without an internal peer path).
    Up {
        /// The redirecting bit, if ACS redirected.
        by: Option<AcsFlags>,
    },
    /// Directly to the peer port or function; `direct_translated`: by DT despite RR/EC.
    Peer {
        /// DT routed a translated request directly.
        direct_translated: bool,
    },
    /// Back down the ingress port (the target is below it and UF is clear).
    TurnBack,
    /// Blocked: an ACS violation by SV, TB or EC.
    Block(AcsFlags),
}

impl Decision {
    /// Whether ACS redirected the TLP upstream.
    pub fn redirected(self) -> bool {
        matches!(self, Decision::Up { by: Some(_) })
    }
}

/// How a reader interprets the bits: which redirect which class, whether EC without a
/// redirect blocks, whether DT is read.
struct Semantics {
    redirect: AcsFlags,
    ec_blocks: bool,
    dt: bool,
}

fn semantics(reader: Reader, class: Class) -> Semantics {
    let completion = class == Class::Completion;
    match reader {
        Reader::Hardware | Reader::Isolation => Semantics {
            redirect: if completion {
                AcsFlags::CR
            } else {
                AcsFlags::RR
            },
            ec_blocks: !completion,
            dt: true,
        },
        Reader::P2pdma(AcsDecision::Mainline) => Semantics {
            redirect: AcsFlags::REDIR,
            ec_blocks: false,
            dt: false,
        },
        Reader::P2pdma(AcsDecision::EgressAware) => Semantics {
            redirect: if completion {
                AcsFlags::CR
            } else {
                AcsFlags::RR | AcsFlags::EC
            },
            ec_blocks: false,
            dt: false,
        },
    }
}

/// The bits in effect for a reader: (capability, control). A device-specific quirk
/// replaces the capability for the isolation test (the kernel asks the quirk first and
/// stops there) and stands in for a missing capability in the silicon; p2pdma reads the
/// capability only.
fn bits(acs: PortAcs, reader: Reader) -> (Option<AcsFlags>, AcsFlags) {
    match (reader, acs.quirk, acs.cap) {
        (Reader::Isolation, Some(q), _) => (Some(AcsFlags::all()), q.provides | q.ignores),
        (Reader::Hardware, Some(q), None) => (Some(q.provides), q.provides),
        (Reader::Isolation, None, Some(cap)) => {
            let hardwired = AcsFlags::REQ & !cap;
            (Some(cap | hardwired), acs.ctl | hardwired)
        }
        (_, _, cap) => (cap, acs.ctl),
    }
}

/// Whether [`decide`] reads [`AcsTlp::requester_in_range`] for this port: Source
/// Validation is in effect for `reader`. Elsewhere the router need not work the range
/// out.
pub fn validates_source(acs: PortAcs, reader: Reader) -> bool {
    bits(acs, reader).1.contains(AcsFlags::SV)
}

/// What a port with ACS state `acs` does with `tlp`, as `reader` reads it. The one
/// ACS decision of peerpath; see the module documentation for the rules.
#[inline]
pub fn decide(acs: PortAcs, reader: Reader, tlp: AcsTlp) -> Decision {
    // Most routes climb through ports that are not the turning point: going up by
    // address decode, which only SV and TB can change. (Inlined into the router; the
    // rest is not.)
    if tlp.dest == Dest::Up
        && reader != Reader::Isolation
        && !acs.ctl.intersects(AcsFlags::SV | AcsFlags::TB)
        && acs.quirk.is_none()
    {
        return Decision::Up { by: None };
    }
    decide_bits(acs, reader, tlp)
}

/// `decide` past its fast path.
fn decide_bits(acs: PortAcs, reader: Reader, tlp: AcsTlp) -> Decision {
    let (cap, ctl) = bits(acs, reader);
    if ctl.contains(AcsFlags::SV) && !tlp.requester_in_range {
        return Decision::Block(AcsFlags::SV);
    }
    let at = match tlp.class {
        Class::Request(At::TranslationRequest) => return Decision::Up { by: None },
        Class::Request(at) => Some(at),
        Class::Completion => None,
    };
    let translated = at == Some(At::Translated);
    let sem = semantics(reader, tlp.class);
    let decision = match tlp.dest {
        Dest::Up => Decision::Up { by: None },
        // UF sends "any Request or Completion TLPs" redirected from below upstream
        // [PCIe r7.0 §6.12.1.1]; a translation request already went up.
        Dest::Own if ctl.contains(AcsFlags::UF) => Decision::Up {
            by: Some(AcsFlags::UF),
        },
        Dest::Own => Decision::TurnBack,
        Dest::PeerFunction
            if reader == Reader::Hardware && !cap.is_some_and(|c| c.contains(AcsFlags::RR)) =>
        {
            // No internal peer path: the request leaves by the link, upstream.
            Decision::Up { by: None }
        }
        Dest::PeerPort | Dest::PeerFunction => {
            if sem.dt && translated && ctl.contains(AcsFlags::DT) {
                return Decision::Peer {
                    direct_translated: true,
                };
            }
            let redirecting = ctl & sem.redirect;
            if let Some(bit) = [AcsFlags::RR, AcsFlags::CR, AcsFlags::EC]
                .into_iter()
                .find(|b| redirecting.contains(*b))
            {
                Decision::Up { by: Some(bit) }
            } else if sem.ec_blocks && ctl.contains(AcsFlags::EC) {
                Decision::Block(AcsFlags::EC)
            } else {
                Decision::Peer {
                    direct_translated: false,
                }
            }
        }
    };
    match decision {
        Decision::Up { .. } if translated && ctl.contains(AcsFlags::TB) => {
            Decision::Block(AcsFlags::TB)
        }
        d => d,
    }
}

/// `pci_acs_flags_enabled(dev, REQ_ACS_FLAGS)` (K4.3), asked of [`decide`] under
/// [`Reader::Isolation`]: the function blocks a foreign requester (SV), redirects peer
/// requests (RR) and peer completions (CR) upstream, and sends a request for its own
/// subtree upstream (UF). Without an ACS capability it does none of these.
pub fn isolates(acs: PortAcs) -> bool {
    let ask = |class, requester_in_range, dest| {
        decide(
            acs,
            Reader::Isolation,
            AcsTlp {
                class,
                requester_in_range,
                dest,
            },
        )
    };
    let req = Class::Request(At::Untranslated);
    ask(req, false, Dest::Up) == Decision::Block(AcsFlags::SV)
        && ask(req, true, Dest::PeerPort)
            == Decision::Up {
                by: Some(AcsFlags::RR),
            }
        && ask(Class::Completion, true, Dest::PeerPort)
            == Decision::Up {
                by: Some(AcsFlags::CR),
            }
        && ask(req, true, Dest::Own)
            == Decision::Up {
                by: Some(AcsFlags::UF),
            }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn port(cap: AcsFlags, ctl: AcsFlags) -> PortAcs {
        PortAcs {
            cap: Some(cap),
            ctl: ctl & cap,
            quirk: None,
        }
    }

    fn hw(acs: PortAcs, at: At, dest: Dest) -> Decision {
        decide(
            acs,
            Reader::Hardware,
            AcsTlp {
                class: Class::Request(at),
                requester_in_range: true,
                dest,
            },
        )
    }

    const ALL: AcsFlags = AcsFlags::all();
    const U: At = At::Untranslated;
    const T: At = At::Translated;

    #[test]
    fn rr_redirects_peer_requests_and_none_routes_them_directly() {
        assert_eq!(
            hw(port(ALL, AcsFlags::REQ), U, Dest::PeerPort),
            Decision::Up {
                by: Some(AcsFlags::RR)
            }
        );
        assert_eq!(
            hw(port(ALL, AcsFlags::empty()), U, Dest::PeerPort),
            Decision::Peer {
                direct_translated: false
            }
        );
        assert_eq!(
            hw(PortAcs::default(), U, Dest::PeerPort),
            Decision::Peer {
                direct_translated: false
            },
            "no ACS capability: plain address decode"
        );
    }

    #[test]
    fn cr_alone_redirects_completions_not_requests_unless_p2pdma_mainline() {
        let cr = port(ALL, AcsFlags::CR);
        assert!(matches!(hw(cr, U, Dest::PeerPort), Decision::Peer { .. }));
        let completion = AcsTlp {
            class: Class::Completion,
            requester_in_range: true,
            dest: Dest::PeerPort,
        };
        assert!(decide(cr, Reader::Hardware, completion).redirected());
        let mainline = Reader::P2pdma(AcsDecision::Mainline);
        assert_eq!(
            decide(cr, mainline, AcsTlp::request(Dest::PeerPort)),
            Decision::Up {
                by: Some(AcsFlags::CR)
            }
        );
        let egress = Reader::P2pdma(AcsDecision::EgressAware);
        assert!(!decide(cr, egress, AcsTlp::request(Dest::PeerPort)).redirected());
        assert!(decide(cr, egress, completion).redirected());
    }

    #[test]
    fn ec_without_rr_blocks_in_hardware_and_redirects_for_the_kernel() {
        let ec = port(ALL, AcsFlags::EC);
        assert_eq!(hw(ec, U, Dest::PeerPort), Decision::Block(AcsFlags::EC));
        assert!(hw(port(ALL, AcsFlags::EC | AcsFlags::RR), U, Dest::PeerPort).redirected());
        assert!(matches!(hw(ec, U, Dest::Up), Decision::Up { by: None }));
        for mode in [AcsDecision::Mainline, AcsDecision::EgressAware] {
            assert_eq!(
                decide(ec, Reader::P2pdma(mode), AcsTlp::request(Dest::PeerPort)),
                Decision::Up {
                    by: Some(AcsFlags::EC)
                }
            );
        }
    }

    #[test]
    fn dt_routes_translated_directly_despite_rr_and_ec_and_tb_blocks_going_up() {
        let acs = port(ALL, AcsFlags::RR | AcsFlags::EC | AcsFlags::DT);
        assert_eq!(
            hw(acs, T, Dest::PeerPort),
            Decision::Peer {
                direct_translated: true
            }
        );
        assert!(hw(acs, U, Dest::PeerPort).redirected());
        let tb = port(ALL, AcsFlags::TB | AcsFlags::RR);
        assert_eq!(hw(tb, T, Dest::Up), Decision::Block(AcsFlags::TB));
        assert_eq!(hw(tb, T, Dest::PeerPort), Decision::Block(AcsFlags::TB));
        assert!(matches!(hw(tb, U, Dest::Up), Decision::Up { by: None }));
    }

    #[test]
    fn uf_sv_and_translation_requests() {
        assert_eq!(
            hw(port(ALL, AcsFlags::empty()), U, Dest::Own),
            Decision::TurnBack
        );
        assert_eq!(
            hw(port(ALL, AcsFlags::UF), U, Dest::Own),
            Decision::Up {
                by: Some(AcsFlags::UF)
            }
        );
        let foreign = AcsTlp {
            class: Class::Request(U),
            requester_in_range: false,
            dest: Dest::Up,
        };
        assert_eq!(
            decide(port(ALL, AcsFlags::SV), Reader::Hardware, foreign),
            Decision::Block(AcsFlags::SV)
        );
        assert_eq!(
            hw(
                port(ALL, AcsFlags::all()),
                At::TranslationRequest,
                Dest::PeerPort
            ),
            Decision::Up { by: None }
        );
    }

    /// Issue 8: a capability without RR. The silicon forwards peer requests (RR is not
    /// implemented); the kernel's isolation test takes RR as hard-wired on.
    #[test]
    fn a_capability_without_rr_forwards_in_hardware_but_isolates_for_the_kernel() {
        let sv_uf = AcsFlags::SV | AcsFlags::UF;
        let acs = port(sv_uf, sv_uf);
        assert!(matches!(hw(acs, U, Dest::PeerPort), Decision::Peer { .. }));
        assert!(decide(acs, Reader::Isolation, AcsTlp::request(Dest::PeerPort)).redirected());
        assert!(isolates(acs));
        assert!(!isolates(PortAcs::default()), "no capability, no isolation");
        assert!(
            !isolates(port(ALL, sv_uf)),
            "RR implemented but not enabled"
        );
    }

    #[test]
    fn functions_without_rr_have_no_internal_peer_path() {
        let up = Decision::Up { by: None };
        assert_eq!(hw(PortAcs::default(), U, Dest::PeerFunction), up);
        assert_eq!(
            hw(port(AcsFlags::SV, AcsFlags::SV), U, Dest::PeerFunction),
            up
        );
        assert!(matches!(
            hw(port(AcsFlags::REQ, AcsFlags::SV), U, Dest::PeerFunction),
            Decision::Peer { .. }
        ));
        assert!(hw(port(AcsFlags::REQ, AcsFlags::REQ), U, Dest::PeerFunction).redirected());
    }

    fn flags() -> impl Strategy<Value = AcsFlags> {
        any::<u8>().prop_map(AcsFlags::from_bits_truncate)
    }

    proptest! {
        /// `isolates` is exactly `pci_acs_flags_enabled(dev, REQ_ACS_FLAGS)`:
        /// `acs_flags &= (cap | EC)`, then every remaining flag enabled in Control.
        #[test]
        fn isolates_is_pci_acs_flags_enabled(cap in flags(), ctl in flags(), has in any::<bool>()) {
            let acs = if has { port(cap, ctl) } else { PortAcs::default() };
            let kernel = has && acs.ctl.contains(AcsFlags::REQ & (cap | AcsFlags::EC));
            prop_assert_eq!(isolates(acs), kernel);
        }

        /// Where the capability implements every isolation bit, the kernel's reading
        /// and the silicon agree on every request.
        #[test]
        fn isolation_and_hardware_agree_when_nothing_is_assumed(
            cap in flags(), ctl in flags(), at in 0u8..3, dest in 0u8..4, in_range in any::<bool>()
        ) {
            let cap = cap | AcsFlags::REQ;
            let acs = port(cap, ctl);
            let at = [At::Untranslated, At::TranslationRequest, At::Translated][at as usize];
            let dest = [Dest::Own, Dest::PeerPort, Dest::PeerFunction, Dest::Up][dest as usize];
            let tlp = AcsTlp { class: Class::Request(at), requester_in_range: in_range, dest };
            prop_assert_eq!(decide(acs, Reader::Isolation, tlp), decide(acs, Reader::Hardware, tlp));
        }
    }
}
