//! Leave-one-machine-out validation of the timing twin on the measured corpus
//! (`timing/corpus/`, issue 23). Each machine is predicted with every fitted parameter
//! chosen from the *other* machines only, and its error is reported per metric against
//! the goal (15% for bandwidth, 25% for latency).
//!
//! Fitted parameters, and how (everything else is the documented default,
//! docs/timing.md):
//! - `interconnect.latency.endpoint`, the initiator's own work: the median over the
//!   other machines of each machine's median residual (measured latency minus the
//!   model's latency without the initiator term), clamped to 0–5 µs; with no latency
//!   measured elsewhere it stays at the default.
//! - `interconnect.fabric.cross_socket` bandwidth (one direction), per CPU generation
//!   (`kernel.cpu` vendor and family): the median over the other machines of the same
//!   generation of each machine's median one-way figure across sockets (one-way cells
//!   as measured, both-ways cells halved). With no other machine of the generation it
//!   stays at the default (64 GB/s), and the table says so.

use peerpath_model::Platform;
use peerpath_topology::Topology;

use crate::compare::{compare, Measured, Metric};
use crate::matrix::Matrix;
use crate::route::FabricClass;
use crate::Stage;

/// One machine of the corpus.
#[derive(Debug)]
pub struct Machine {
    /// Its directory name.
    pub name: String,
    /// Its platform, as loaded.
    pub platform: Platform,
    /// Its measured run.
    pub measured: Measured,
}

/// The errors of one machine in one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The machine.
    pub machine: String,
    /// The metric.
    pub metric: Metric,
    /// Cells compared.
    pub cells: usize,
    /// Cells within the goal.
    pub within: usize,
    /// The signed error of the cell with the largest absolute error.
    pub worst: f64,
    /// The median absolute error.
    pub median_abs: f64,
}

/// The validation: the rows, and the fitted value used for each machine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// Every machine and metric with a compared cell, in corpus then metric order.
    pub rows: Vec<Row>,
    /// Per machine: the values fitted without it.
    pub fits: Vec<Fit>,
}

/// The parameters one machine was predicted with, fitted on the others.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The machine.
    pub machine: String,
    /// Its CPU generation (`kernel.cpu` vendor and family).
    pub generation: String,
    /// `endpoint` latency, ns.
    pub endpoint_ns: u32,
    /// `cross_socket` one-way MB/s, when another machine of the generation gave one.
    pub cross_socket_mbs: Option<u64>,
    /// Measured cells not compared.
    pub unmatched: usize,
}

/// The goal for a metric: 15% for bandwidth, 25% for latency.
pub fn goal(metric: Metric) -> f64 {
    if metric.is_bandwidth() {
        0.15
    } else {
        0.25
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The median latency residual (ns) of one machine: measured minus predicted without
/// the initiator term.
fn latency_residual(m: &Machine) -> Option<f64> {
    let mut p = m.platform.clone();
    p.interconnect.latency.endpoint_ns = 0;
    let topo = Topology::new(&p);
    let matrix = Matrix::build(&topo, 1);
    let r = compare(&topo, &matrix, &m.measured);
    let mut res: Vec<f64> = r
        .comparisons
        .iter()
        .filter(|c| c.metric == Metric::LatencyUs)
        .map(|c| (c.measured - c.predicted) * 1000.0)
        .collect();
    median(&mut res)
}

/// The median one-way GB/s a machine measures across sockets, from its one-way cells
/// and its both-ways cells halved.
fn cross_socket_one_way(m: &Machine) -> Option<f64> {
    let topo = Topology::new(&m.platform);
    let matrix = Matrix::build(&topo, 1);
    let crosses = |from: &str, to: &str| {
        let i = matrix.devices.iter().position(|&n| topo.name(n) == from);
        let j = matrix.devices.iter().position(|&n| topo.name(n) == to);
        let (Some(i), Some(j)) = (i, j) else {
            return false;
        };
        matrix.timing(i, j).is_some_and(|t| {
            t.stages.iter().any(|s| {
                matches!(
                    s,
                    Stage::Fabric {
                        class: FabricClass::CrossSocket,
                        ..
                    }
                )
            })
        })
    };
    let r = compare(&topo, &matrix, &m.measured);
    let mut v: Vec<f64> = r
        .comparisons
        .iter()
        .filter(|c| crosses(&c.from, &c.to))
        .filter_map(|c| match c.metric {
            Metric::UnidirectionalGbps | Metric::BidirectionalOneWayGbps => Some(c.measured),
            Metric::BidirectionalGbps => Some(c.measured / 2.0),
            Metric::ReadGbps | Metric::LatencyUs => None,
        })
        .collect();
    median(&mut v)
}

/// A machine's CPU generation: vendor and family.
fn generation(m: &Machine) -> String {
    let c = &m.platform.kernel.cpu;
    match c.family {
        Some(f) => format!("{:?} family {f:#x}", c.vendor),
        None => format!("{:?} (no family)", c.vendor),
    }
}

/// Predicts every machine with the parameters fitted on the others.
pub fn leave_one_out(machines: &[Machine]) -> Validation {
    let residuals: Vec<Option<f64>> = machines.iter().map(latency_residual).collect();
    let crosses: Vec<Option<f64>> = machines.iter().map(cross_socket_one_way).collect();
    let mut v = Validation::default();
    for (k, m) in machines.iter().enumerate() {
        let mut others: Vec<f64> = residuals
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .filter_map(|(_, r)| *r)
            .collect();
        let mut p = m.platform.clone();
        let endpoint = median(&mut others).map_or(p.interconnect.latency.endpoint_ns, |r| {
            r.clamp(0.0, 5000.0).round() as u32
        });
        p.interconnect.latency.endpoint_ns = endpoint;
        let mut same_generation: Vec<f64> = crosses
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k && generation(&machines[*j]) == generation(m))
            .filter_map(|(_, c)| *c)
            .collect();
        let cross = median(&mut same_generation).map(|g| (g * 1000.0).round() as u64);
        if let Some(mbs) = cross {
            p.interconnect.fabric.cross_socket.bandwidth_mbs = mbs;
        }
        let topo = Topology::new(&p);
        let matrix = Matrix::build(&topo, 1);
        let r = compare(&topo, &matrix, &m.measured);
        v.fits.push(Fit {
            machine: m.name.clone(),
            generation: generation(m),
            endpoint_ns: endpoint,
            cross_socket_mbs: cross,
            unmatched: r.unmatched.len(),
        });
        for metric in Metric::ALL {
            let mut errs: Vec<f64> = r
                .comparisons
                .iter()
                .filter(|c| c.metric == metric)
                .map(|c| c.error())
                .collect();
            if errs.is_empty() {
                continue;
            }
            let worst = errs
                .iter()
                .copied()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(0.0);
            let within = errs.iter().filter(|e| e.abs() <= goal(metric)).count();
            let cells = errs.len();
            let mut abs: Vec<f64> = errs.iter_mut().map(|e| e.abs()).collect();
            v.rows.push(Row {
                machine: m.name.clone(),
                metric,
                cells,
                within,
                worst,
                median_abs: median(&mut abs).unwrap_or(0.0),
            });
        }
    }
    v
}

/// The markdown table docs/timing.md carries between its `timing-validate` markers.
pub fn table(v: &Validation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    out.push_str("| machine | metric | cells | within goal | worst error | median \\|error\\| |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for r in &v.rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {:+.1}% | {:.1}% |",
            r.machine,
            r.metric.as_str(),
            r.cells,
            r.within,
            r.worst * 100.0,
            r.median_abs * 100.0
        );
    }
    let machines: Vec<&str> = v.fits.iter().map(|f| f.machine.as_str()).collect();
    let meeting = machines
        .iter()
        .filter(|m| {
            v.rows
                .iter()
                .filter(|r| r.machine == **m)
                .all(|r| r.within == r.cells)
        })
        .count();
    let _ = writeln!(
        out,
        "\n{meeting} of {} machines meet the goal (every compared cell within 15% for bandwidth, 25% for latency).\n",
        machines.len()
    );
    out.push_str("| machine | CPU generation | `endpoint` fitted without it | `cross_socket` fitted without it | measured cells not compared |\n|---|---|---|---|---|\n");
    for f in &v.fits {
        let cross = f.cross_socket_mbs.map_or_else(
            || "default (no other machine of the generation)".to_owned(),
            |m| format!("{:.1} GB/s", m as f64 / 1000.0),
        );
        let _ = writeln!(
            out,
            "| `{}` | {} | {} ns | {cross} | {} |",
            f.machine, f.generation, f.endpoint_ns, f.unmatched
        );
    }
    out
}
