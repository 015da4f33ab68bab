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

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use peerpath_topology::Topology;

    use crate::tests::{pair, topology};

    #[test]
    fn the_timing_section_names_the_bottleneck_and_each_stage() {
        let p = topology("timing-two-sockets.yaml");
        let topo = Topology::new(&p);
        let t = peerpath_timing::pair_timing(&topo, &pair(&topo, "gpu0", "gpu2-vram"));
        expect![[r#"

            Timing (predicted; docs/timing.md)
              writes 26.32 GB/s one way, bottleneck hb0⇄hb1 forwarding: root-complex forwarding between host bridges at 91.6% of the links' rate
              reads  29.15 GB/s one way, bottleneck sw0.dp0–gpu0: 16GT/s x16, completions of 256 B on sw0.dp0: 93% payload efficiency
              latency 1.88 us:
                  1000 ns  initiator     gpu0
                    50 ns  link          sw0.dp0–gpu0
                   115 ns  switch        sw0
                    50 ns  link          rp0–sw0
                   150 ns  root complex  hb0
                   150 ns  fabric        hb0–hb1
                   150 ns  root complex  hb1
                    50 ns  link          rp2–sw1
                   115 ns  switch        sw1
                    50 ns  link          sw1.dp0–gpu2
              assumed: root-complex forwarding between host bridges: 91.6% of the links' rate (amd family 0x19: corpus fit; four machines (Genoa, Threadripper PRO 5000 and 7000))
        "#]].assert_eq(&super::explain_timing(&t));
    }
}
