//! `peerpath bandwidth --calibrate MEASURED` (issue 23): the platform's free timing
//! parameters fitted to one measured run, each within bounds, by least squares on the
//! relative error of the cells that depend on it:
//!
//! - latency: the initiator (0–5 µs) and one factor on the route's latency terms (0–2),
//!   linear least squares ([`crate::validate::fit_latency`]), written as
//!   `interconnect.latency` (the endpoint, and each term scaled);
//! - `interconnect.fabric.same_socket` and `cross_socket` bandwidth (one direction,
//!   1–1000 GB/s): each fitted on the one-way figures of the pairs that cross it
//!   (both-ways cells halved), scanning 0.05 GB/s steps; a fabric the data does not
//!   show limiting (its best value within 2% of the pairs' own bounds) is left as it
//!   was.
//!
//! Everything else (links, MPS, switches) is a fact of the platform, not fitted.

use peerpath_model::Platform;
use peerpath_topology::Topology;

use crate::compare::{compare, Comparison, Measured, Metric};
use crate::matrix::Matrix;
use crate::route::FabricClass;
use crate::validate::{apply_latency, fit_latency, latency_cells, Machine};
use crate::Stage;

/// What was fitted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calibration {
    /// The initiator latency (ns) and the factor on the route's terms, when the run
    /// has latency cells.
    pub latency: Option<(u32, f64)>,
    /// Per fabric class (`same_socket`, `cross_socket`): the fitted one-way GB/s, or
    /// why it was left as it was.
    pub fabric: Vec<(&'static str, Result<f64, String>)>,
    /// Each measured cell with the calibrated prediction.
    pub residuals: Vec<Comparison>,
}

/// The fabric class a route crosses, if any.
fn fabric_class(stages: &[Stage]) -> Option<FabricClass> {
    stages.iter().find_map(|s| match s {
        Stage::Fabric { class, .. } => Some(*class),
        _ => None,
    })
}

/// One-way observations (the model's bound without this fabric, measured) of the
/// cells whose route crosses `class`.
fn fabric_cells(p: &Platform, m: &Measured, class: FabricClass) -> Vec<(f64, f64)> {
    let mut open = p.clone();
    open.interconnect.fabric.same_socket.bandwidth_mbs = 1_000_000_000;
    open.interconnect.fabric.cross_socket.bandwidth_mbs = 1_000_000_000;
    open.interconnect.fabric.same_socket.bandwidth_stated = true;
    open.interconnect.fabric.cross_socket.bandwidth_stated = true;
    let topo = Topology::new(&open);
    let matrix = Matrix::build(&topo, 1);
    let crosses = |from: &str, to: &str| {
        let pos = |n: &str| matrix.devices.iter().position(|&d| topo.name(d) == n);
        let (Some(i), Some(j)) = (pos(from), pos(to)) else {
            return false;
        };
        matrix
            .timing(i, j)
            .is_some_and(|t| fabric_class(&t.stages) == Some(class))
    };
    compare(&topo, &matrix, m)
        .comparisons
        .iter()
        .filter(|c| crosses(&c.from, &c.to))
        .filter_map(|c| match c.metric {
            Metric::UnidirectionalGbps | Metric::BidirectionalOneWayGbps => {
                Some((c.predicted, c.measured))
            }
            Metric::BidirectionalGbps => Some((c.predicted / 2.0, c.measured / 2.0)),
            Metric::ReadGbps | Metric::LatencyUs => None,
        })
        .collect()
}

/// The one-way GB/s in [1, 1000] minimising Σ ((min(bound, F) − measured) / measured)².
fn fit_fabric(cells: &[(f64, f64)]) -> Result<f64, String> {
    if cells.is_empty() {
        return Err("no measured pair crosses it".to_owned());
    }
    let cost = |f: f64| -> f64 {
        cells
            .iter()
            .map(|&(l, y)| ((l.min(f) - y) / y).powi(2))
            .sum()
    };
    let top = cells.iter().map(|c| c.0).fold(0.0, f64::max).min(1000.0);
    let mut best = (top, cost(top));
    let mut f = 1.0;
    while f < top {
        let c = cost(f);
        if c < best.1 - 1e-12 {
            best = (f, c);
        }
        f += 0.05;
    }
    // Within 2% of the lowest of the pairs' own bounds it limits nothing the model
    // does not already explain: leave it.
    let lowest = cells.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    if best.0 >= 0.98 * lowest {
        return Err(format!(
            "the measurement does not show it limiting (best fit {:.2} GB/s, the pairs' own bounds from {lowest:.2} GB/s)",
            best.0
        ));
    }
    Ok((best.0 * 100.0).round() / 100.0)
}

/// Fits `p`'s free timing parameters to `m`; returns what was fitted and the
/// calibrated platform.
pub fn calibrate(p: &Platform, m: &Measured) -> (Calibration, Platform) {
    let mut out = p.clone();
    let mut cal = Calibration::default();
    let machine = Machine {
        name: p.name.clone(),
        platform: p.clone(),
        measured: m.clone(),
    };
    let cells = latency_cells(&machine);
    if let Some(fit) = fit_latency(&[(None, cells.1)]) {
        let initiator = fit.initiator_all.clamp(0.0, 5000.0);
        apply_latency(&mut out, initiator, fit.scale);
        cal.latency = Some((initiator.round() as u32, fit.scale));
    }
    for (name, class) in [
        ("same_socket", FabricClass::SameSocket),
        ("cross_socket", FabricClass::CrossSocket),
    ] {
        let fitted = fit_fabric(&fabric_cells(p, m, class));
        if let Ok(g) = fitted {
            let mbs = (g * 1000.0).round() as u64;
            let hop = match class {
                FabricClass::SameSocket => &mut out.interconnect.fabric.same_socket,
                _ => &mut out.interconnect.fabric.cross_socket,
            };
            hop.bandwidth_mbs = mbs;
            hop.bandwidth_stated = true;
        }
        cal.fabric.push((name, fitted));
    }
    let topo = Topology::new(&out);
    let matrix = Matrix::build(&topo, 1);
    cal.residuals = compare(&topo, &matrix, m).comparisons;
    (cal, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fabric_is_fitted_where_it_limits_and_left_where_it_does_not() {
        // Bounds 57, measured 42–44: the fabric limits at about 43.
        let g = fit_fabric(&[(57.0, 42.0), (57.0, 44.0), (57.0, 43.0)]).expect("fits");
        assert!((g - 43.0).abs() < 0.1, "{g}");
        // Measured at the bound: nothing to fit.
        assert!(fit_fabric(&[(57.0, 56.0), (57.0, 57.5)]).is_err());
        assert!(fit_fabric(&[]).is_err());
    }
}
