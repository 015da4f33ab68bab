//! `tdisp-error` (error) — C2, C3: the exporter's TDI is in TDISP ERROR, or the access
//! would move it there.
//!
//! Raised when the exporter's TDI is already in ERROR (it serves nothing until STOP
//! returns it to CONFIG_UNLOCKED; the engine rejects every access), and when a
//! shared-state importer's request (T=0) is delivered to an exporter in CONFIG_LOCKED or
//! RUN: touching the shared alias pushes the TDI into ERROR, terminally [ORIGIN]. The
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
