//! `tdisp-error` (error) — C2, C3: the exporter's TDI is in TDISP ERROR, or the access
//! would move it there.
//!
//! Raised when the exporter's TDI is already in ERROR (it serves nothing until STOP
//! returns it to CONFIG_UNLOCKED; the engine rejects every access). For T=0 requests
//! (the importer is not a TDI in RUN, or no P2P IDE stream joins the two): when one
//! reaches an exporter in RUN, which serves its TEE MMIO only to T=1 requests and
//! refuses it on the wire, and when a shared-state importer's request is delivered to
//! an exporter in CONFIG_LOCKED — touching a locked or running TDI outside its stream
//! pushes it into ERROR, terminally [ORIGIN]. For T=1 requests on a P2P IDE stream
//! ([PCIe §6.33], C3: "ACS must not redirect those TLPs"): when ACS redirects one
//! upstream (the route's first `redirect` hop), or its address is rewritten on the way
//! (an untranslated request that an IOMMU translates, or a window offset: the header
//! is under the stream's MAC, so the receiver's integrity check fails), or ACS CR sends
//! the completion of a T=1 read upstream — the TLP leaves the stream for the root
//! complex, outside its TCB, the stream goes insecure and the exporter's TDI moves
//! from RUN to ERROR. The subject is the exporter.

use peerpath_engine::{End, Fault};
use peerpath_model::{CcState, TdispState};

use super::Cx;
use crate::c_cc::{device_cc, t_bit};
use crate::finding::{Code, Finding};

/// Raises `tdisp-error`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let p = cx.p();
    let exp = cx.exporter();
    let ename = cx.name(exp);
    let ecc = device_cc(p, exp);
    let rejected = cx.traces().any(
        |(_, t)| matches!(t.end, End::Fault(Fault::TdispRejected { target }) if target == exp),
    );
    if ecc.tdisp == TdispState::Error || rejected {
        out.push(
            Finding::new(
                Code::TdispError,
                ename,
                format!("{ename}'s TDI is in TDISP ERROR: it serves no access until STOP returns it to CONFIG_UNLOCKED"),
            )
            .with("tdisp", TdispState::Error.as_str())
            .fix(format!("STOP {ename}'s TDI, then lock and attest it again")),
        );
        return;
    }
    if t_bit(p, cx.importer(), exp) {
        if ecc.tdisp == TdispState::Run {
            off_stream(cx, out);
        }
        return;
    }
    t0(cx, out);
}

/// C3 on the wire: the importer's T=1 requests (and the completions of its reads)
/// must stay on the P2P IDE stream between the two.
fn off_stream(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    /// How a T=1 TLP leaves the stream.
    enum Leaves {
        /// ACS redirected the request upstream at this port.
        Redirected(String),
        /// The request's header was rewritten on the way.
        Rewritten,
        /// ACS CR sent the read's completion upstream at this port.
        CompletionRedirected(String),
    }
    let p = cx.p();
    let ename = cx.name(cx.exporter());
    let iname = cx.name(cx.importer());
    let leaves = cx.traces().find_map(|(f, t)| {
        if let Some(at) = t.summary.redirected_at {
            return Some(Leaves::Redirected(at.name(p).to_owned()));
        }
        // A request whose header was rewritten on the way (an IOMMU's translation, a
        // window's offset): it arrives with another address than it was issued with.
        // ATS flows are exempt: their translation request is not the stream's, their
        // translated re-issue is, unchanged.
        let rewritten = t
            .summary
            .issued
            .zip(t.summary.last)
            .is_some_and(|(i, (_, l))| i.addr != l.addr);
        if !f.flow.ats && rewritten && matches!(t.end, End::Delivered { .. }) {
            return Some(Leaves::Rewritten);
        }
        let at = t.completion?.redirected_at?;
        Some(Leaves::CompletionRedirected(cx.name(at).to_owned()))
    });
    let Some(leaves) = leaves else {
        return;
    };
    let f = match &leaves {
        Leaves::Redirected(at) => Finding::new(
            Code::TdispError,
            ename,
            format!(
                "ACS at {at} redirects {iname}'s T=1 request to {ename} upstream, off their P2P IDE stream, toward the root complex outside its TCB: the stream goes insecure and {ename}'s TDI leaves RUN for ERROR"
            ),
        )
        .fix(format!(
            "clear ACS RR/EC on the P2P path ({at}) or set DT with ATS so T=1 peer requests route directly on the IDE stream"
        )),
        Leaves::Rewritten => Finding::new(
            Code::TdispError,
            ename,
            format!(
                "{iname}'s T=1 request to {ename} arrives with another address than it was issued with (translated or offset on the way): the header is under the P2P IDE stream's MAC, so {ename}'s integrity check fails, the stream goes insecure and {ename}'s TDI leaves RUN for ERROR"
            ),
        )
        .fix(format!(
            "enable ATS on {iname} so its T=1 requests carry translated addresses (AT=10b) on the stream (C3: P2P between TDIs needs ATS)"
        )),
        Leaves::CompletionRedirected(at) => Finding::new(
            Code::TdispError,
            ename,
            format!(
                "ACS CR at {at} sends the completion of {iname}'s T=1 read of {ename} upstream, off their P2P IDE stream, toward the root complex outside its TCB: the stream goes insecure and {ename}'s TDI leaves RUN for ERROR"
            ),
        )
        .fix(format!(
            "clear ACS CR on the P2P path ({at}) so T=1 completions route directly on the IDE stream"
        )),
    };
    let f = f.with("tdisp", TdispState::Run.as_str()).with("t_bit", 1);
    let f = match &leaves {
        Leaves::Redirected(at) => f.with("redirected_at", at.as_str()),
        Leaves::Rewritten => f.with("header_rewritten", true),
        Leaves::CompletionRedirected(at) => f
            .with("redirected_at", at.as_str())
            .with("tlp", "completion"),
    };
    out.push(f.with("ide_stream", cx.ide_stream()));
}

/// T=0 requests: refused by a TDI in RUN, and pushing a locked one into ERROR when a
/// shared device touches it (C2).
fn t0(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let p = cx.p();
    let exp = cx.exporter();
    let ename = cx.name(exp);
    let iname = cx.name(cx.importer());
    let ecc = device_cc(p, exp);
    let icc = device_cc(p, cx.importer());
    let refused = cx.traces().any(|(_, t)| {
        matches!(t.end, End::Fault(Fault::TdispRefused { target, t: false, .. }) if target == exp)
    });
    if refused {
        let why = if icc.state == CcState::Shared {
            "untrusted (T=0)".to_owned()
        } else if icc.tdisp != TdispState::Run {
            format!("T=0 (its TDI is {}, not RUN)", icc.tdisp)
        } else {
            "T=0 (no P2P IDE stream joins them)".to_owned()
        };
        let fix = if icc.state == CcState::Shared {
            format!("do not let shared devices import {ename}'s BAR (the alias rule, cc-alias)")
        } else if icc.tdisp != TdispState::Run {
            format!("lock, attest and START {iname}'s TDI, and bind a P2P IDE stream between {iname} and {ename}")
        } else {
            format!("bind a P2P IDE stream between {iname} and {ename} (`ide_streams`)")
        };
        out.push(
            Finding::new(
                Code::TdispError,
                ename,
                format!(
                    "{iname}'s {why} access reaches {ename} in TDISP run, which serves its TEE MMIO only to T=1 requests: the request is refused and the TDI moves to ERROR"
                ),
            )
            .with("tdisp", TdispState::Run.as_str())
            .with("t_bit", 0)
            .with("importer_state", icc.state.as_str())
            .with("importer_tdisp", icc.tdisp.as_str())
            .with("ide_stream", cx.ide_stream())
            .fix(fix),
        );
        return;
    }
    if icc.state != CcState::Shared {
        return;
    }
    let touched = cx.traces().any(|(_, t)| {
        matches!(t.end, End::Delivered { target, tdisp: Some(TdispState::Locked | TdispState::Run), .. } if target == exp)
    });
    if touched {
        out.push(
            Finding::new(
                Code::TdispError,
                ename,
                format!(
                    "{}'s untrusted (T=0) access reaches {ename} in TDISP {}: it moves the TDI to ERROR",
                    cx.name(cx.importer()),
                    ecc.tdisp
                ),
            )
            .with("tdisp", ecc.tdisp.as_str())
            .with("importer_state", icc.state.as_str())
            .fix(format!(
                "do not let shared devices import {ename}'s BAR (the alias rule, cc-alias)"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node, pair_result};
    use peerpath_engine::{End, Fault};
    use peerpath_model::{CcState, DeviceCc, IdeStream, PlatformBuilder, TdispState};

    fn cc(b: &mut PlatformBuilder, name: &str, state: CcState, tdisp: TdispState) {
        let id = node(b, name);
        b.endpoint_mut(id).cc = Some(DeviceCc { state, tdisp });
    }

    /// `switch_pair` with gpu0 and nic0 in these TDISP states (private) and, where
    /// `streams` is given, exactly those P2P IDE streams between nic0 and gpu0.
    fn tdis(gpu: TdispState, nic: TdispState, streams: Option<usize>) -> peerpath_model::Platform {
        testplat::switch_pair(|b| {
            cc(b, "gpu0", CcState::Private, gpu);
            cc(b, "nic0", CcState::Private, nic);
            let ends = [node(b, "nic0"), node(b, "gpu0")];
            b.platform_mut().ide_streams = streams.map(|n| {
                (0..n)
                    .map(|i| IdeStream {
                        name: format!("p2p{i}"),
                        ends,
                    })
                    .collect()
            });
        })
    }

    /// How each TLP of the pairing's traffic ended, and whether it carried T=1.
    fn ends(p: &peerpath_model::Platform) -> Vec<(End, bool)> {
        let r = pair_result(p, "nic0", "gpu0-bar0");
        r.detail
            .flows
            .iter()
            .flat_map(|f| f.flow.tlps.iter().zip(&f.traces))
            .map(|(tlp, t)| (t.end, tlp.t))
            .collect()
    }

    #[test]
    fn an_exporter_in_error_serves_nothing() {
        let p = testplat::switch_pair(|b| {
            let gpu = node(b, "gpu0");
            b.endpoint_mut(gpu).cc = Some(DeviceCc {
                state: CcState::Shared,
                tdisp: TdispState::Error,
            });
        });
        let f = findings_of(&p, "nic0", "gpu0-bar0");
        assert_eq!(f, [("tdisp-error", "gpu0".to_owned())]);
    }

    #[test]
    fn a_listed_stream_carries_t1_requests_to_a_tdi_in_run() {
        let p = tdis(TdispState::Run, TdispState::Run, Some(1));
        let e = ends(&p);
        assert!(!e.is_empty());
        assert!(
            e.iter()
                .all(|(end, t)| *t && matches!(end, End::Delivered { .. })),
            "{e:?}"
        );
        assert_eq!(findings_of(&p, "nic0", "gpu0-bar0"), []);
    }

    #[test]
    fn without_a_stream_the_request_is_t0_and_run_refuses_it() {
        // Listed and empty: no stream, whatever the states.
        let p = tdis(TdispState::Run, TdispState::Run, Some(0));
        let gpu = p.node_by_name("gpu0").expect("gpu0");
        let e = ends(&p);
        assert!(
            e.iter().all(|(end, t)| !*t
                && *end
                    == End::Fault(Fault::TdispRefused {
                        target: gpu,
                        tdisp: TdispState::Run,
                        t: false
                    })),
            "{e:?}"
        );
        let r = pair_result(&p, "nic0", "gpu0-bar0");
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert_eq!(r.findings[0].code.as_str(), "tdisp-error");
        assert_eq!(r.findings[0].evidence["t_bit"], 0);
        assert_eq!(r.findings[0].evidence["ide_stream"], "none");
    }

    #[test]
    fn not_stated_streams_are_assumed_between_two_tdis_in_run() {
        let p = tdis(TdispState::Run, TdispState::Run, None);
        assert!(ends(&p).iter().all(|(_, t)| *t));
        assert_eq!(findings_of(&p, "nic0", "gpu0-bar0"), []);
    }

    #[test]
    fn a_tdi_not_yet_in_run_sends_t0() {
        let p = tdis(TdispState::Run, TdispState::Locked, Some(1));
        assert!(ends(&p).iter().all(|(_, t)| !*t));
        let r = pair_result(&p, "nic0", "gpu0-bar0");
        let codes: Vec<_> = r.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["tdisp-error"]);
        assert_eq!(r.findings[0].evidence["importer_tdisp"], "locked");
    }

    #[test]
    fn t1_to_a_locked_tdi_is_refused_as_an_unsupported_request() {
        let p = tdis(TdispState::Locked, TdispState::Run, Some(1));
        let gpu = p.node_by_name("gpu0").expect("gpu0");
        assert!(ends(&p).iter().all(|(end, t)| *t
            && *end
                == End::Fault(Fault::TdispRefused {
                    target: gpu,
                    tdisp: TdispState::Locked,
                    t: true
                })));
        assert_eq!(
            findings_of(&p, "nic0", "gpu0-bar0"),
            [("unsupported-request", "gpu0".to_owned())]
        );
    }
}
