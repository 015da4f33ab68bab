//! Leave-one-machine-out validation of the timing twin on the measured corpus
//! (`timing/corpus/`, issue 23). Each machine is predicted with every fitted parameter
//! chosen from the *other* machines only, and its error is reported per metric against
//! the goal (15% for bandwidth, 25% for latency).
//!
//! Fitted parameters, and how (everything else is the documented default,
//! docs/timing.md):
//! - latency, per GPU generation (the endpoints' `id`, [`crate::devices`]):
//!   measured = initiator(generation) + scale × the route's latency terms, by weighted
//!   least squares over the other machines (each machine weighs the same whatever its
//!   number of cells): per generation its own scale (clamped to 0–1: the test can hide route latency,
//!   not multiply it; the pooled one,
//!   over all generations, where a generation's routes do not differ) and initiator
//!   (clamped to ≥ 0); a generation no other machine has
//!   takes the intercept of all of them. Machines whose GPUs' generation is unknown
//!   are not fitted on (their copy engines could be any).
//! - `interconnect.fabric.cross_socket` bandwidth (one direction), per CPU generation
//!   (`kernel.cpu` vendor and family): the median over the other machines of the same
//!   generation of each machine's median one-way figure across sockets (one-way cells
//!   as measured, both-ways cells halved). With no other machine of the generation:
//!   the generation's published figure ([`crate::cpus::CROSS_SOCKET`], never the
//!   machine's own), else the default (64 GB/s); the table says which.
//! - root-complex forwarding between host bridges (`efficiency` on the fabric
//!   crossings, [`crate::cpus`]), per CPU generation: each machine's median of
//!   measured ÷ predicted-without-it over its bandwidth cells whose route crosses
//!   between two host bridges of one socket (at most 1); the median of the other
//!   machines of the generation; applied to every crossing between host bridges, of
//!   one socket or two. With no other machine of the generation: no such bound.

use peerpath_model::{NodeKind, Platform};
use peerpath_topology::Topology;

use crate::compare::{compare, Measured, Metric};
use crate::devices::{device, Generation};
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
    /// Its GPUs' generation, when their `id`s give one.
    pub gpus: Option<Generation>,
    /// The initiator latency, ns.
    pub initiator_ns: u32,
    /// The factor on the route's latency terms.
    pub scale: f64,
    /// The `cross_socket` bandwidth (one direction) it was predicted with.
    pub cross_socket: CrossSocketUsed,
    /// Root-complex forwarding share, thousandths, when another machine of the
    /// generation gave one.
    pub forwarding_permille: Option<u16>,
    /// Measured cells not compared.
    pub unmatched: usize,
}

/// Where a machine's `cross_socket` bandwidth (one direction) came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossSocketUsed {
    /// Fitted on the other machines of its CPU generation, MB/s.
    Fitted(u64),
    /// No other machine of the generation: the generation's published figure
    /// ([`crate::cpus::CROSS_SOCKET`]), MB/s.
    Sourced(u64),
    /// Neither: the format's default (64 GB/s).
    Default,
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

/// One machine's latency cells for fitting: its GPUs' generation, and per cell (the
/// route's latency terms without the initiator, ns; measured, ns).
pub type LatencyCells = (Option<Generation>, Vec<(f64, f64)>);

/// A machine's latency cells: (route latency terms without the initiator, ns;
/// measured, ns), and its GPU generation when every GPU's `id` gives the same one.
pub(crate) fn latency_cells(m: &Machine) -> LatencyCells {
    let mut p = m.platform.clone();
    p.interconnect.latency.endpoint_ns = Some(0);
    let topo = Topology::new(&p);
    let matrix = Matrix::build(&topo, 1);
    let r = compare(&topo, &matrix, &m.measured);
    let cells = r
        .comparisons
        .iter()
        .filter(|c| c.metric == Metric::LatencyUs)
        .map(|c| (c.predicted * 1000.0, c.measured * 1000.0))
        .collect();
    (generation_of_gpus(&m.platform), cells)
}

/// The generation of a platform's GPUs: every endpoint with an `id` the same
/// generation, and at least one.
fn generation_of_gpus(p: &Platform) -> Option<Generation> {
    let mut gens = p.nodes.iter().filter_map(|n| match &n.kind {
        NodeKind::Endpoint(_) => n.pci_id.and_then(device).map(|d| d.generation),
        _ => None,
    });
    let first = gens.next()?;
    gens.all(|g| g == first).then_some(first)
}

/// Latency parameters fitted on some machines: the scale, the initiator per
/// generation, and the initiator of all together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyFit {
    /// The factor on the route's latency terms.
    pub scale: f64,
    /// The initiator (ns) per generation the machines show.
    pub initiator: Vec<(Generation, f64)>,
    /// The factor per generation the machines show.
    pub scales: Vec<(Generation, f64)>,
    /// The initiator (ns) of all machines together.
    pub initiator_all: f64,
}

impl LatencyFit {
    /// The initiator for a generation (the common one when the fit has none for it).
    pub fn initiator_for(&self, g: Option<Generation>) -> f64 {
        g.and_then(|g| self.initiator.iter().find(|x| x.0 == g).map(|x| x.1))
            .unwrap_or(self.initiator_all)
    }

    /// The factor for a generation (the pooled one when the fit has none for it).
    pub fn scale_for(&self, g: Option<Generation>) -> f64 {
        g.and_then(|g| self.scales.iter().find(|x| x.0 == g).map(|x| x.1))
            .unwrap_or(self.scale)
    }
}

/// Weighted least squares of `y = c(generation) + scale × x`, each machine's cells
/// weighing 1 together. Machines whose GPUs' generation is not known are left out: their
/// copy engines could be any, so they say nothing of a generation's parameters (they
/// are still predicted, with the intercept of all the others).
pub fn fit_latency(data: &[LatencyCells]) -> Option<LatencyFit> {
    let rows: Vec<(Option<Generation>, f64, f64, f64)> = data
        .iter()
        .filter(|(g, c)| g.is_some() && !c.is_empty())
        .flat_map(|(g, c)| {
            let w = 1.0 / c.len() as f64;
            c.iter().map(move |&(x, y)| (*g, x, y, w))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mean = |sel: &dyn Fn(&Option<Generation>) -> bool| {
        let (mut sw, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for (g, x, y, w) in &rows {
            if sel(g) {
                sw += w;
                sx += w * x;
                sy += w * y;
            }
        }
        (sx / sw, sy / sw)
    };
    let mut groups: Vec<Option<Generation>> = rows.iter().map(|r| r.0).collect();
    groups.sort();
    groups.dedup();
    let means: Vec<(Option<Generation>, f64, f64)> = groups
        .iter()
        .map(|g| {
            let (mx, my) = mean(&|h| h == g);
            (*g, mx, my)
        })
        .collect();
    // Per generation: its own slope (the route terms weigh differently per copy
    // engine: Blackwell's latency is flat across PIX, NODE and SYS); pooled over all
    // generations where one has no spread in its routes.
    let (mut num, mut den) = (0.0, 0.0);
    let mut per: Vec<(Option<Generation>, f64, f64)> = Vec::new();
    for (g, mx, my) in &means {
        let (mut n, mut d) = (0.0, 0.0);
        for (h, x, y, w) in &rows {
            if h == g {
                n += w * (x - mx) * (y - my);
                d += w * (x - mx) * (x - mx);
            }
        }
        num += n;
        den += d;
        per.push((*g, n, d));
    }
    let slope = |n: f64, d: f64| (d > 1e-9).then(|| (n / d).clamp(0.0, 1.0));
    let scale = slope(num, den).unwrap_or(1.0);
    let (mx, my) = mean(&|_| true);
    let scales: Vec<(Generation, f64)> = per
        .iter()
        .filter_map(|(g, n, d)| Some(((*g)?, slope(*n, *d).unwrap_or(scale))))
        .collect();
    let scale_of = |g: Option<Generation>| {
        scales
            .iter()
            .find(|s| Some(s.0) == g)
            .map_or(scale, |s| s.1)
    };
    Some(LatencyFit {
        scale,
        initiator: means
            .iter()
            .filter_map(|(g, x, y)| Some(((*g)?, (y - scale_of(*g) * x).max(0.0))))
            .collect(),
        scales,
        initiator_all: (my - scale * mx).max(0.0),
    })
}

/// The latency fit on every machine of the corpus (what [`crate::devices::LATENCY`]
/// carries).
pub fn fit_all(machines: &[Machine]) -> Option<LatencyFit> {
    let data: Vec<_> = machines.iter().map(latency_cells).collect();
    fit_latency(&data)
}

/// `p`'s latencies for a fit: the initiator stated, every route term scaled.
pub fn apply_latency(p: &mut Platform, initiator: f64, scale: f64) {
    let l = &mut p.interconnect.latency;
    l.endpoint_ns = Some(initiator.round() as u32);
    let sc = |v: &mut u32| *v = (f64::from(*v) * scale).round() as u32;
    sc(&mut l.link_ns);
    sc(&mut l.switch_ns);
    sc(&mut l.root_complex_ns);
    sc(&mut l.iommu_hit_ns);
    sc(&mut l.iommu_miss_ns);
    let f = &mut p.interconnect.fabric;
    sc(&mut f.same_socket.latency_ns);
    sc(&mut f.cross_socket.latency_ns);
    for pair in &mut f.pairs {
        sc(&mut pair.hop.latency_ns);
    }
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
    crate::cpus::generation_name(&m.platform.kernel.cpu)
}

/// `p` with every fabric crossing's `efficiency` that the file leaves unstated set
/// to `permille` (1000: no forwarding bound, whatever the CPU's table says).
pub fn with_forwarding(p: &mut Platform, permille: u16) {
    let f = &mut p.interconnect.fabric;
    for hop in [&mut f.same_socket, &mut f.cross_socket]
        .into_iter()
        .chain(f.pairs.iter_mut().map(|x| &mut x.hop))
    {
        hop.efficiency_permille.get_or_insert(permille);
    }
}

/// A machine's forwarding share: the median, over its bandwidth cells whose route
/// crosses between two host bridges of one socket (and not between sockets), of
/// measured ÷ predicted with no forwarding bound; at most 1. `None` without such a
/// cell.
pub(crate) fn forwarding_ratio(m: &Machine) -> Option<f64> {
    let mut p = m.platform.clone();
    with_forwarding(&mut p, 1000);
    let topo = Topology::new(&p);
    let matrix = Matrix::build(&topo, 1);
    let within_socket = |from: &str, to: &str| {
        let i = matrix.devices.iter().position(|&n| topo.name(n) == from);
        let j = matrix.devices.iter().position(|&n| topo.name(n) == to);
        let (Some(i), Some(j)) = (i, j) else {
            return false;
        };
        matrix.timing(i, j).is_some_and(|t| {
            let classes: Vec<FabricClass> = t
                .stages
                .iter()
                .filter_map(|s| match s {
                    Stage::Fabric { class, .. } => Some(*class),
                    _ => None,
                })
                .collect();
            !classes.is_empty() && !classes.contains(&FabricClass::CrossSocket)
        })
    };
    let r = compare(&topo, &matrix, &m.measured);
    let mut v: Vec<f64> = r
        .comparisons
        .iter()
        .filter(|c| c.metric.is_bandwidth() && c.metric != Metric::ReadGbps)
        .filter(|c| c.predicted > 0.0 && within_socket(&c.from, &c.to))
        .map(|c| c.measured / c.predicted)
        .collect();
    median(&mut v).map(|x| x.min(1.0))
}

/// One CPU generation's forwarding fit: its name, thousandths, and how many machines.
pub type ForwardingFit = (String, u16, usize);

/// The forwarding share per CPU generation, fitted on these machines (what
/// [`crate::cpus::FORWARDING`] carries for the whole corpus).
pub fn fit_forwarding(machines: &[Machine]) -> Vec<ForwardingFit> {
    let ratios: Vec<(String, f64)> = machines
        .iter()
        .filter_map(|m| Some((generation(m), forwarding_ratio(m)?)))
        .collect();
    let mut gens: Vec<String> = ratios.iter().map(|r| r.0.clone()).collect();
    gens.sort();
    gens.dedup();
    gens.into_iter()
        .filter_map(|g| {
            let mut v: Vec<f64> = ratios.iter().filter(|r| r.0 == g).map(|r| r.1).collect();
            let n = v.len();
            let e = median(&mut v)?;
            Some((g, (e * 1000.0).round() as u16, n))
        })
        .collect()
}

/// One CPU generation's cross-socket fit: its name, one-way MB/s, and how many machines.
pub type CrossSocketFit = (String, u64, usize);

/// The `cross_socket` bandwidth (one direction) per CPU generation, fitted on these
/// machines: the median over the generation's machines of each one's median one-way
/// figure across sockets (what [`crate::cpus::CROSS_SOCKET_FIT`] carries for the whole
/// corpus).
pub fn fit_cross_socket(machines: &[Machine]) -> Vec<CrossSocketFit> {
    let figures: Vec<(String, f64)> = machines
        .iter()
        .filter_map(|m| Some((generation(m), cross_socket_one_way(m)?)))
        .collect();
    let mut gens: Vec<String> = figures.iter().map(|r| r.0.clone()).collect();
    gens.sort();
    gens.dedup();
    gens.into_iter()
        .filter_map(|g| {
            let mut v: Vec<f64> = figures.iter().filter(|r| r.0 == g).map(|r| r.1).collect();
            let n = v.len();
            let gbps = median(&mut v)?;
            Some((g, (gbps * 1000.0).round() as u64, n))
        })
        .collect()
}

/// Predicts every machine with the parameters fitted on the others.
pub fn leave_one_out(machines: &[Machine]) -> Validation {
    let latency: Vec<_> = machines.iter().map(latency_cells).collect();
    let crosses: Vec<Option<f64>> = machines.iter().map(cross_socket_one_way).collect();
    let forwarding: Vec<Option<f64>> = machines.iter().map(forwarding_ratio).collect();
    let mut v = Validation::default();
    for (k, m) in machines.iter().enumerate() {
        let others: Vec<_> = latency
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, d)| d.clone())
            .collect();
        let mut p = m.platform.clone();
        let fit = fit_latency(&others);
        let (initiator, scale) = fit.as_ref().map_or((1000.0, 1.0), |f| {
            (f.initiator_for(latency[k].0), f.scale_for(latency[k].0))
        });
        apply_latency(&mut p, initiator, scale);
        let mut same_generation: Vec<f64> = crosses
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k && generation(&machines[*j]) == generation(m))
            .filter_map(|(_, c)| *c)
            .collect();
        let cross = match median(&mut same_generation) {
            Some(g) => CrossSocketUsed::Fitted((g * 1000.0).round() as u64),
            None => crate::cpus::cross_socket(&m.platform.kernel.cpu)
                .map_or(CrossSocketUsed::Default, |c| {
                    CrossSocketUsed::Sourced(c.bandwidth_mbs)
                }),
        };
        // Always stated, so the model's own per-generation default (a fit on the whole
        // corpus, this machine included) never applies here.
        let hop = &mut p.interconnect.fabric.cross_socket;
        hop.bandwidth_mbs = match cross {
            CrossSocketUsed::Fitted(mbs) | CrossSocketUsed::Sourced(mbs) => mbs,
            CrossSocketUsed::Default => {
                peerpath_model::Fabric::default().cross_socket.bandwidth_mbs
            }
        };
        hop.bandwidth_stated = true;
        let mut same_generation: Vec<f64> = forwarding
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k && generation(&machines[*j]) == generation(m))
            .filter_map(|(_, c)| *c)
            .collect();
        let share = median(&mut same_generation).map(|e| (e * 1000.0).round() as u16);
        with_forwarding(&mut p, share.unwrap_or(1000));
        let topo = Topology::new(&p);
        let matrix = Matrix::build(&topo, 1);
        let r = compare(&topo, &matrix, &m.measured);
        v.fits.push(Fit {
            machine: m.name.clone(),
            generation: generation(m),
            gpus: latency[k].0,
            initiator_ns: initiator.round() as u32,
            scale,
            cross_socket: cross,
            forwarding_permille: share,
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
    out.push_str("| machine | CPU generation | GPUs | initiator, route × (fitted without it) | `cross_socket` (fitted without it) | forwarding between host bridges (fitted without it) | measured cells not compared |\n|---|---|---|---|---|---|---|\n");
    for f in &v.fits {
        let cross = match f.cross_socket {
            CrossSocketUsed::Fitted(m) => format!("{:.1} GB/s", m as f64 / 1000.0),
            CrossSocketUsed::Sourced(m) => format!(
                "{:.1} GB/s, published (no other machine of the generation)",
                m as f64 / 1000.0
            ),
            CrossSocketUsed::Default => "default (no other machine of the generation)".to_owned(),
        };
        let forwarding = f.forwarding_permille.map_or_else(
            || "none (no other machine of the generation)".to_owned(),
            |e| format!("{:.1}% of the links' rate", f64::from(e) / 10.0),
        );
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} ns, × {:.2} | {cross} | {forwarding} | {} |",
            f.machine,
            f.generation,
            f.gpus.map_or("no `id`", Generation::as_str),
            f.initiator_ns,
            f.scale,
            f.unmatched
        );
    }
    out
}
