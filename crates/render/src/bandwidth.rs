//! `peerpath bandwidth`: the timing twin's matrices, laid out as
//! `p2pBandwidthLatencyTest` prints its own (so a prediction and a measurement read
//! side by side), each pairing's bottleneck and every assumption; the same as JSON;
//! and `--compare`'s table of predicted, measured and error per pair.

use std::fmt::Write;

use peerpath_timing::compare::Report;
use peerpath_timing::matrix::Matrix;
use peerpath_topology::Topology;
use serde_json::{json, Value};

/// One matrix: `cell(i, j)` for each pair, `-` on the diagonal, `n/a` without a
/// prediction.
fn matrix(
    out: &mut String,
    title: &str,
    corner: &str,
    n: usize,
    cell: impl Fn(usize, usize) -> Option<f64>,
) {
    let _ = writeln!(out, "{title}");
    let _ = write!(out, "{corner:>6}");
    for j in 0..n {
        let _ = write!(out, " {j:>6}");
    }
    out.push('\n');
    for i in 0..n {
        let _ = write!(out, "{i:>6}");
        for j in 0..n {
            let text = if i == j {
                "-".to_owned()
            } else {
                cell(i, j).map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"))
            };
            let _ = write!(out, " {text:>6}");
        }
        out.push('\n');
    }
}

/// Every assumption of the matrices, then the parameters they use: the same list in
/// text and JSON.
fn assumptions(topo: &Topology<'_>, m: &Matrix) -> Vec<String> {
    let mut out = m.assumptions();
    let lat = topo.platform().interconnect.latency;
    let initiator = lat.endpoint_ns.map_or_else(
        || {
            format!(
                "{} ns unless the device's generation gives one",
                peerpath_timing::DEFAULT_ENDPOINT_NS
            )
        },
        |ns| format!("{ns} ns"),
    );
    out.push(format!(
        "latencies: initiator {initiator}, link {} ns, switch {} ns, root complex {} ns, IOMMU hit {} ns / miss {} ns (interconnect.latency)",
        lat.link_ns, lat.switch_ns, lat.root_complex_ns, lat.iommu_hit_ns, lat.iommu_miss_ns
    ));
    out.push(format!(
        "reads: Max_Read_Request_Size {} B (the PCIe default), completions of at most the exporter's MPS; outstanding-request limits not modelled",
        peerpath_timing::MRRS
    ));
    out
}

/// The text of `peerpath bandwidth`.
pub fn bandwidth_text(topo: &Topology<'_>, m: &Matrix) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[peerpath timing twin: predicted P2P bandwidth and latency] platform {}",
        topo.platform().name
    );
    for (i, &d) in m.devices.iter().enumerate() {
        let bdf = topo.bdf(d);
        let _ = writeln!(
            out,
            "Device: {i}, {}, pciBusID: {:x}, pciDeviceID: {:x}, pciDomainID:{:x}",
            topo.name(d),
            bdf.map_or(0, |b| b.bus),
            bdf.map_or(0, |b| b.device),
            bdf.map_or(0, |b| b.segment),
        );
    }
    if m.devices.is_empty() {
        out.push_str("no pairings\n");
        return out;
    }
    let n = m.devices.len();
    matrix(
        &mut out,
        "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)",
        "D\\D",
        n,
        |i, j| m.unidirectional(i, j),
    );
    matrix(
        &mut out,
        "Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)",
        "D\\D",
        n,
        |i, j| m.bidirectional(i, j),
    );
    matrix(
        &mut out,
        "P2P=Enabled Latency (P2P Writes) Matrix (us)",
        "GPU",
        n,
        |i, j| m.latency_us(i, j),
    );
    out.push_str("\nBottlenecks (writes; reads return completions the other way)\n");
    for i in 0..n {
        for j in 0..n {
            let Some(t) = m.timing(i, j) else { continue };
            let Some(w) = &t.write else { continue };
            let read = t
                .read
                .as_ref()
                .map_or(String::new(), |r| format!("; reads {:.2} GB/s", r.gbps));
            let _ = writeln!(
                out,
                "  {i} -> {j}: {} — {}{read}",
                w.bottleneck.place, w.bottleneck.why
            );
        }
    }
    out.push_str("\nBottlenecks both ways at once (each direction while the other runs)\n");
    for i in 0..n {
        for j in i + 1..n {
            let (Some(g), Some((a, b))) = (m.bidirectional(i, j), m.bidirectional_bottleneck(i, j))
            else {
                continue;
            };
            let _ = writeln!(
                out,
                "  {i} <-> {j}: {g:.2} GB/s — {i} -> {j} bounded by {a}, {j} -> {i} by {b}"
            );
        }
    }
    out.push_str("\nAssumptions (parameters and their sources: docs/timing.md)\n");
    for a in assumptions(topo, m) {
        let _ = writeln!(out, "  - {a}");
    }
    out
}

/// Rounded for JSON: two decimals for GB/s and µs.
fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The JSON of `peerpath bandwidth --format json`.
pub fn bandwidth_json(topo: &Topology<'_>, m: &Matrix) -> String {
    let n = m.devices.len();
    let devices: Vec<Value> = m
        .devices
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            json!({
                "index": i,
                "name": topo.name(d),
                "bdf": topo.bdf(d).map(|b| b.to_string()),
            })
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let Some(t) = m.timing(i, j) else { continue };
            pairs.push(json!({
                "from": topo.name(m.devices[i]),
                "to": topo.name(m.devices[j]),
                "export": topo.platform().export(t.export).name,
                "unidirectional_gbps": m.unidirectional(i, j).map(r2),
                "bidirectional_gbps": m.bidirectional(i, j).map(r2),
                "bidirectional_bottleneck": m.bidirectional_bottleneck(i, j).map(|(a, b)| json!({
                    "this_way": a,
                    "other_way": b,
                })),
                "latency_us": m.latency_us(i, j).map(|v| (v * 1000.0).round() / 1000.0),
                "read_gbps": t.read.as_ref().map(|r| r2(r.gbps)),
                "bottleneck": t.write.as_ref().map(|w| json!({
                    "place": w.bottleneck.place,
                    "why": w.bottleneck.why,
                })),
                "latency_parts": t.latency_parts.iter().map(|(place, what, ns)| json!({
                    "place": place, "what": what, "ns": ns.round(),
                })).collect::<Vec<_>>(),
                "assumptions": t.assumptions,
            }));
        }
    }
    let doc = json!({
        "platform": topo.platform().name,
        "devices": devices,
        "pairs": pairs,
        "assumptions": assumptions(topo, m),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// A metric's unit in text.
fn unit(m: peerpath_timing::compare::Metric) -> &'static str {
    if m.is_bandwidth() {
        "GB/s"
    } else {
        "us"
    }
}

/// The text of `--compare`: predicted, measured and error per compared cell; then every
/// measured cell not compared, with why; then what the figures rest on.
pub fn compare_text(r: &Report, model_assumptions: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<22} {:<26} {:>12} {:>12} {:>8}",
        "from", "to", "metric", "predicted", "measured", "error"
    );
    for c in &r.comparisons {
        let _ = writeln!(
            out,
            "{:<22} {:<22} {:<26} {:>12} {:>12} {:>+7.1}%",
            c.from,
            c.to,
            c.metric.as_str(),
            format!("{:.2} {}", c.predicted, unit(c.metric)),
            format!("{:.2} {}", c.measured, unit(c.metric)),
            c.error() * 100.0
        );
    }
    if r.comparisons.is_empty() {
        out.push_str("no pair of the measurement has a prediction\n");
    }
    for u in &r.unknown_devices {
        let _ = writeln!(
            out,
            "measured device {u}: no endpoint of the platform has this address"
        );
    }
    if !r.unmatched.is_empty() {
        let _ = writeln!(out, "\nNot compared ({} measured cells)", r.unmatched.len());
        for u in &r.unmatched {
            let cell = u
                .cell
                .map_or(String::new(), |(i, j)| format!(" {i} -> {j}"));
            let _ = writeln!(
                out,
                "  line {}: {}{cell} = {}: {}",
                u.line, u.what, u.measured, u.why
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} cells compared, {} not compared; left out: {} diagonal cells (local copies), {} cells without a figure (-, n/a)",
        r.comparisons.len(),
        r.unmatched.len(),
        r.diagonal,
        r.gaps
    );
    for a in r.assumptions.iter().chain(model_assumptions) {
        let _ = writeln!(out, "assumed: {a}");
    }
    out
}

/// The JSON of `--compare --format json`: `comparisons`, `unmatched`,
/// `unknown_devices`, `assumptions` (the matching's, then the model's).
pub fn compare_json(r: &Report, model_assumptions: &[String]) -> String {
    let list: Vec<Value> = r
        .comparisons
        .iter()
        .map(|c| {
            json!({
                "from": c.from,
                "to": c.to,
                "metric": c.metric.as_str(),
                "predicted": (c.predicted * 1000.0).round() / 1000.0,
                "measured": c.measured,
            })
        })
        .collect();
    let unmatched: Vec<Value> = r
        .unmatched
        .iter()
        .map(|u| {
            json!({
                "what": u.what,
                "from": u.cell.map(|c| c.0),
                "to": u.cell.map(|c| c.1),
                "measured": u.measured,
                "line": u.line,
                "why": u.why,
            })
        })
        .collect();
    let assumptions: Vec<&String> = r.assumptions.iter().chain(model_assumptions).collect();
    serde_json::to_string_pretty(&json!({
        "comparisons": list,
        "unmatched": unmatched,
        "unknown_devices": r.unknown_devices.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
        "left_out": { "diagonal": r.diagonal, "without_figure": r.gaps },
        "assumptions": assumptions,
    }))
    .unwrap_or_default()
}

/// The text of `--calibrate`: the fitted values (first paragraph, also written into the
/// calibrated file's header), then each measured cell with its calibrated prediction.
pub fn calibrate_text(c: &peerpath_timing::calibrate::Calibration, measured: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fitted to {measured} (bounded least squares, docs/timing.md):"
    );
    match c.latency {
        Some((ns, scale)) => {
            let _ = writeln!(
                out,
                "  interconnect.latency: initiator {ns} ns, route latency terms x {scale:.3}"
            );
        }
        None => out.push_str("  interconnect.latency: not fitted (no latency cells)\n"),
    }
    for (name, fit) in &c.fabric {
        let _ = match fit {
            Ok(g) => writeln!(out, "  interconnect.fabric.{name}: {g:.2} GB/s each way"),
            Err(why) => writeln!(out, "  interconnect.fabric.{name}: not fitted: {why}"),
        };
    }
    out.push('\n');
    let r = Report {
        comparisons: c.residuals.clone(),
        ..Report::default()
    };
    let table = compare_text(&r, &[]);
    out.push_str("Residuals with the fitted values\n");
    for l in table.lines().take_while(|l| !l.is_empty()) {
        let _ = writeln!(out, "{l}");
    }
    out
}

/// The text of `--concurrent`: the matrix of every write's share while all run, as
/// `p2pBandwidthLatencyTest` lays out its matrices, then each write's bottleneck.
pub fn concurrent_text(m: &Matrix, c: &peerpath_timing::concurrent::Concurrent) -> String {
    let mut out = String::new();
    let n = m.devices.len();
    let cell = |i: usize, j: usize| c.shares.iter().find(|s| s.from == i && s.to == j);
    matrix(
        &mut out,
        "Concurrent P2P=Enabled Bandwidth (every write at once, max-min fair share) Matrix (GB/s)",
        "D\\D",
        n,
        |i, j| cell(i, j).map(|s| s.gbps),
    );
    let _ = writeln!(
        out,
        "all writes together: {:.2} GB/s over {} writes",
        c.aggregate_gbps,
        c.shares.len()
    );
    out.push_str("\nShared bottlenecks (while every write runs)\n");
    for s in &c.shares {
        let _ = writeln!(
            out,
            "  {} -> {}: {:.2} of {:.2} GB/s alone — {} shared by {} writes",
            s.from, s.to, s.gbps, s.alone, s.bottleneck, s.sharers
        );
    }
    out
}

/// The JSON of `--concurrent`: `{"aggregate_gbps", "shares": [{from, to, gbps,
/// alone_gbps, bottleneck, sharers}]}` with device names.
pub fn concurrent_json(
    topo: &Topology<'_>,
    m: &Matrix,
    c: &peerpath_timing::concurrent::Concurrent,
) -> String {
    let shares: Vec<Value> = c
        .shares
        .iter()
        .map(|s| {
            json!({
                "from": topo.name(m.devices[s.from]),
                "to": topo.name(m.devices[s.to]),
                "gbps": r2(s.gbps),
                "alone_gbps": r2(s.alone),
                "bottleneck": s.bottleneck,
                "sharers": s.sharers,
            })
        })
        .collect();
    let doc = json!({
        "platform": topo.platform().name,
        "concurrent": {
            "model": "max-min fair share of every link direction and shared stage, every write at once",
            "aggregate_gbps": r2(c.aggregate_gbps),
            "shares": shares,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use peerpath_timing::compare::{compare, parse};
    use peerpath_timing::matrix::Matrix;
    use peerpath_topology::Topology;

    use crate::tests::topology;

    #[test]
    fn a_measurement_compares_by_pci_address_and_the_rest_is_named() {
        let p = topology("timing-two-sockets.yaml");
        let topo = Topology::new(&p);
        let m = Matrix::build(&topo, 1);
        let measured = parse(
            "Device: 0, X, pciBusID: 3, pciDeviceID: 0, pciDomainID:0
Device: 1, X, pciBusID: 83, pciDeviceID: 0, pciDomainID:0
Device: 2, X, pciBusID: 99, pciDeviceID: 0, pciDomainID:0
Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D     0      1      2
     0 800.00  25.00  25.00
     1  26.00 800.00  25.00
     2  25.00  25.00 800.00
",
        )
        .expect("parses");
        let r = compare(&topo, &m, &measured);
        expect![[r#"
            from                   to                     metric                        predicted     measured    error
            gpu0                   gpu2                   unidirectional_gbps          26.32 GB/s   25.00 GB/s    +5.3%
            gpu2                   gpu0                   unidirectional_gbps          26.32 GB/s   26.00 GB/s    +1.2%
            measured device 0000:99:00.0: no endpoint of the platform has this address

            Not compared (4 measured cells)
              line 6: unidirectional_gbps 0 -> 2 = 25.00: the run's device 2 matches no endpoint of the platform
              line 7: unidirectional_gbps 1 -> 2 = 25.00: the run's device 2 matches no endpoint of the platform
              line 8: unidirectional_gbps 2 -> 0 = 25.00: the run's device 2 matches no endpoint of the platform
              line 8: unidirectional_gbps 2 -> 1 = 25.00: the run's device 2 matches no endpoint of the platform

            2 cells compared, 4 not compared; left out: 3 diagonal cells (local copies), 0 cells without a figure (-, n/a)
        "#]].assert_eq(&super::compare_text(&r, &[]));
        expect![[r#"
            {
              "assumptions": [],
              "comparisons": [
                {
                  "from": "gpu0",
                  "measured": 25.0,
                  "metric": "unidirectional_gbps",
                  "predicted": 26.319,
                  "to": "gpu2"
                },
                {
                  "from": "gpu2",
                  "measured": 26.0,
                  "metric": "unidirectional_gbps",
                  "predicted": 26.319,
                  "to": "gpu0"
                }
              ],
              "left_out": {
                "diagonal": 3,
                "without_figure": 0
              },
              "unknown_devices": [
                "0000:99:00.0"
              ],
              "unmatched": [
                {
                  "from": 0,
                  "line": 6,
                  "measured": "25.00",
                  "to": 2,
                  "what": "unidirectional_gbps",
                  "why": "the run's device 2 matches no endpoint of the platform"
                },
                {
                  "from": 1,
                  "line": 7,
                  "measured": "25.00",
                  "to": 2,
                  "what": "unidirectional_gbps",
                  "why": "the run's device 2 matches no endpoint of the platform"
                },
                {
                  "from": 2,
                  "line": 8,
                  "measured": "25.00",
                  "to": 0,
                  "what": "unidirectional_gbps",
                  "why": "the run's device 2 matches no endpoint of the platform"
                },
                {
                  "from": 2,
                  "line": 8,
                  "measured": "25.00",
                  "to": 1,
                  "what": "unidirectional_gbps",
                  "why": "the run's device 2 matches no endpoint of the platform"
                }
              ]
            }"#]]
        .assert_eq(&super::compare_json(&r, &[]));
    }
}
