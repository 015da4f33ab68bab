//! `rc-no-forward` (error) — H6: the root complex does not forward the importer's
//! request, or the completion of its read, between the root ports (or host bridges)
//! the route needs, whatever the kernel decided.
//!
//! Raised for a trace dropped by the forwarding rule: `forwards_p2p: none` sends no
//! request that came up a root port back down any root port, `same-host-bridge` none
//! to another host bridge; for a read, `forwards_p2p_reads` where the file states it
//! (many root complexes forward peer writes and not peer reads). Also raised when the
//! completion of a read that was delivered comes up to the root complex (ACS CR below,
//! UF at the root port) and the root complex does not forward reads back down (the
//! engine's completion route, H1, H6). The evidence says which: `op` (`write` or
//! `read`) and `tlp` (`request` or `completion`). The subject is the host bridge the
//! request or completion came up through.

use peerpath_engine::{CplEnd, DropReason, End};
use peerpath_model::{ForwardsP2p, Op};

use super::{already, Cx};
use crate::finding::{Code, Finding};

/// Raises `rc-no-forward`.
pub(crate) fn check(cx: &Cx<'_, '_>, out: &mut Vec<Finding>) {
    let imp = cx.name(cx.importer());
    for (flow, tr) in cx.traces() {
        let op = flow.flow.op;
        let (drop, completion) = match (tr.end, tr.completion.map(|c| c.end)) {
            (End::Dropped(d @ DropReason::RcNoForward { .. }), _) => (d, false),
            (_, Some(CplEnd::Dropped(d @ DropReason::RcNoForward { .. }))) => (d, true),
            _ => continue,
        };
        let DropReason::RcNoForward {
            from_root_port,
            to_root_port,
            from_hb,
            to_hb,
        } = drop
        else {
            continue;
        };
        if already(out, Code::RcNoForward, cx.name(from_hb)) {
            continue;
        }
        // The rule that dropped it: the source host bridge's for a request, the
        // requester's (the one that forwards its reads) for a completion.
        let judge = if completion { to_hb } else { from_hb };
        let hb = cx.topo.host_bridge(judge);
        let forwards = hb.forwards(op);
        let key = if op == Op::Read && hb.forwards_p2p_reads.is_some() {
            "forwards_p2p_reads"
        } else {
            "forwards_p2p"
        };
        let from = from_root_port.map_or("an integrated endpoint", |n| cx.name(n));
        let to = to_root_port.map_or("an integrated endpoint", |n| cx.name(n));
        let across = if from_hb == to_hb {
            String::new()
        } else {
            format!(" of {}", cx.name(to_hb))
        };
        let what = match (op, completion) {
            (_, true) => format!("the completion of {imp}'s read"),
            (Op::Read, false) => format!("{imp}'s read request"),
            (Op::Write, false) => format!("{imp}'s request"),
        };
        let writes_pass = op == Op::Read && hb.forwards(Op::Write) != forwards;
        let mut f = Finding::new(
                Code::RcNoForward,
                cx.name(from_hb),
                format!(
                    "{} does not forward {what} from {from} down {to}{across} ({key}: {forwards}{}); the kernel decided {}",
                    cx.name(from_hb),
                    if writes_pass { ", writes are forwarded" } else { "" },
                    cx.k.map_type.as_str()
                ),
            )
            .with("forwards_p2p", hb.forwards_p2p.as_str());
        // A write's evidence is as before reads were told apart.
        if op == Op::Read {
            f = f
                .with("op", op.as_str())
                .with("tlp", if completion { "completion" } else { "request" });
            if let Some(reads) = hb.forwards_p2p_reads {
                f = f.with("forwards_p2p_reads", reads.as_str());
            }
        }
        out.push(
            f.with("from_root_port", from_root_port.map(|n| cx.name(n)))
            .with("to_root_port", to_root_port.map(|n| cx.name(n)))
            .with("to_host_bridge", cx.name(to_hb))
            .with("kernel_map_type", cx.k.map_type.as_str())
            .fix(match (forwards, op) {
                (ForwardsP2p::None, Op::Read) => {
                    "none in software: this root complex routes no peer read (nor its completion) between root ports; put both devices below one switch with ACS CR clear, or have the peer write instead of read".to_owned()
                }
                (ForwardsP2p::None, Op::Write) => {
                    "none in software: this root complex routes no P2P between root ports; put both devices below one switch".to_owned()
                }
                _ => "none in software: this root complex does not forward P2P to another host bridge; put both devices below one host bridge or switch".to_owned(),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testplat::{self, findings_of, node};
    use peerpath_model::ForwardsP2p;

    /// The kernel allows nic0 ← gpu0 across two root ports of an allow-listed host
    /// bridge; whether it works is the root complex's (H6).
    #[test]
    fn a_root_complex_that_forwards_nothing_drops_the_peer_write() {
        let with = |fwd: ForwardsP2p| {
            testplat::two_host_bridges_with(0x2f00, 0x2f00, |b| {
                let hb = node(b, "hb0");
                b.host_bridge_mut(hb).forwards_p2p = fwd;
            })
        };
        let f = findings_of(&with(ForwardsP2p::None), "nic0", "gpu0-bar0");
        assert_eq!(f, [("rc-no-forward", "hb0".to_owned())]);
        assert_eq!(
            findings_of(&with(ForwardsP2p::SameHostBridge), "nic0", "gpu0-bar0"),
            []
        );
    }
}
