//! The timing section of `explain` (issue 11): the predicted bandwidth of writes and
//! reads with the bottleneck hop and why, the latency stage by stage, and the
//! assumptions. The numbers are `peerpath-timing`'s; this only formats them.

use std::fmt::Write;

use peerpath_timing::PairTiming;

/// The section, or a line saying why there is none.
pub fn explain_timing(t: &PairTiming) -> String {
    let mut out = String::from("\nTiming (predicted; docs/timing.md)\n");
    match &t.write {
        None => {
            out.push_str(
                "  no bandwidth: the pairing fails or no link on its route states a speed\n",
            );
        }
        Some(w) => {
            let _ = writeln!(
                out,
                "  writes {:.2} GB/s one way, bottleneck {}: {}",
                w.gbps, w.bottleneck.place, w.bottleneck.why
            );
            if let Some(r) = &t.read {
                let _ = writeln!(
                    out,
                    "  reads  {:.2} GB/s one way, bottleneck {}: {}",
                    r.gbps, r.bottleneck.place, r.bottleneck.why
                );
            }
            let _ = writeln!(out, "  latency {:.2} us:", t.latency_ns / 1000.0);
            for (place, what, ns) in &t.latency_parts {
                let _ = writeln!(out, "    {ns:>6.0} ns  {what:<13} {place}");
            }
        }
    }
    for a in &t.assumptions {
        let _ = writeln!(out, "  assumed: {a}");
    }
    out
}
