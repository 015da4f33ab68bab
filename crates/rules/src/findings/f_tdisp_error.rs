//! `tdisp-error` (error) — C2, C3: the exporter's TDI is in TDISP ERROR, or the access
//! would move it there.
//!
//! Raised when the exporter's TDI is already in ERROR (it serves nothing until STOP
//! returns it to CONFIG_UNLOCKED; the engine rejects every access), and when a
//! shared-state importer's request (T=0) is delivered to an exporter in CONFIG_LOCKED or
//! RUN: touching the shared alias pushes the TDI into ERROR, terminally [ORIGIN] (RUN
//! serves TEE MMIO only to T=1 requests). And, on the wire (C3), when two private
//! TDIs in RUN — whose peer requests are T=1 on their bound P2P IDE stream — have a
//! route that ACS redirects upstream: the T=1 TLP leaves the stream for the root
//! complex, outside its TCB, and the stream going insecure moves the TDI to ERROR. The
//! subject is the exporter.

use peerpath_engine::{End, Fault};
use peerpath_model::{CcState, TdispState};

use super::Cx;
use crate::c_cc::device_cc;
use crate::finding::{Code, Finding};

/// Raises `tdisp-error`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let p = cx.p();
    let exp = cx.exporter();
    let ename = cx.name(exp);
    let ecc = device_cc(p, exp);
    let icc = device_cc(p, cx.importer());
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
    // C3 on the wire: two TDIs in RUN, both private, exchange T=1 requests on the P2P
    // IDE stream bound between them (peerpath assumes the stream from the states: the
    // format has no IDE stream of its own). ACS must not redirect those TLPs: an ACS
    // redirect sends the T=1 request upstream toward the root complex, which is not an
    // end of the stream — outside its TCB — and a TLP leaving its stream makes the stream
    // insecure, which moves the TDI to ERROR (PCIe §11, rules.md C3: "IDE stream going
    // insecure"). `tdisp-error` rather than `cc-alias`: nothing shared is touched, the
    // exporter's TDI leaves RUN.
    let t1 =
        |cc: peerpath_model::DeviceCc| cc.state == CcState::Private && cc.tdisp == TdispState::Run;
    if t1(icc) && t1(ecc) {
        let redirected = cx.traces().find_map(|(_, t)| t.summary.redirected_at);
        if let Some(at) = redirected {
            let at = at.name(p).to_owned();
            out.push(
                Finding::new(
                    Code::TdispError,
                    ename,
                    format!(
                        "ACS at {at} redirects {}'s T=1 request to {ename} upstream, off their P2P IDE stream, toward the root complex outside its TCB: the stream goes insecure and {ename}'s TDI leaves RUN for ERROR",
                        cx.name(cx.importer())
                    ),
                )
                .with("tdisp", ecc.tdisp.as_str())
                .with("t_bit", 1)
                .with("redirected_at", at.as_str())
                .fix(format!(
                    "clear ACS RR/EC on the P2P path ({at}) or set DT with ATS so T=1 peer requests route directly on the IDE stream"
                )),
            );
        }
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
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::{CcState, DeviceCc, TdispState};

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
}
