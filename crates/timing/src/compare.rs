//! Comparing a measured run (read by [`crate::measured`]) with the prediction. Devices
//! are matched by PCI address where the run gives one (`p2pBandwidthLatencyTest`
//! prints `pciBusID`, `pciDeviceID`, `pciDomainID` of each device, function 0), else
//! by position: the run's device N is the platform's Nth device in PCI order (stated).

use peerpath_model::Bdf;
use peerpath_topology::Topology;

use crate::matrix::Matrix;
pub use crate::measured::{parse, Kind, Measured, Metric, NotMeasured};

/// One compared cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The writing device's name.
    pub from: String,
    /// The device written into.
    pub to: String,
    /// The metric.
    pub metric: Metric,
    /// peerpath's prediction.
    pub predicted: f64,
    /// The measurement.
    pub measured: f64,
}

impl Comparison {
    /// (predicted − measured) / measured, the prediction taken at the precision the
    /// test prints (see `as_printed`).
    pub fn error(&self) -> f64 {
        (as_printed(self.predicted) - self.measured) / self.measured
    }
}

/// A measured cell that was not compared, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmatched {
    /// The metric or the matrix's name.
    pub what: String,
    /// The run's row and column device indices (`None` for a line that could not be
    /// read at all).
    pub cell: Option<(usize, usize)>,
    /// The figure or text as measured.
    pub measured: String,
    /// Its line in the input.
    pub line: usize,
    /// Why it was not compared.
    pub why: String,
}

/// Everything `--compare` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Each compared cell, in metric, row, column order.
    pub comparisons: Vec<Comparison>,
    /// Each measured cell not compared, in input order.
    pub unmatched: Vec<Unmatched>,
    /// Measured devices whose PCI address no endpoint of the platform has.
    pub unknown_devices: Vec<Bdf>,
    /// What the matching rests on.
    pub assumptions: Vec<String>,
    /// Diagonal cells (local copies) left out, and off-diagonal cells without a figure.
    pub diagonal: usize,
    /// Off-diagonal cells without a figure (`-`, `n/a`).
    pub gaps: usize,
    /// The platform's matrix indices of the measured devices.
    pub matched: Vec<usize>,
}

/// The platform's matrix index of each of the run's device indices.
fn device_map(
    topo: &Topology<'_>,
    matrix: &Matrix,
    m: &Measured,
    r: &mut Report,
) -> Vec<(usize, usize)> {
    let index_of = |bdf: Bdf| {
        matrix
            .devices
            .iter()
            .position(|&n| topo.bdf(n) == Some(bdf))
    };
    let mut map = Vec::new();
    if m.devices.is_empty() {
        let mut used: Vec<usize> = m.cells.iter().flat_map(|c| [c.row, c.col]).collect();
        used.extend(m.unaddressed.iter().copied());
        used.sort_unstable();
        used.dedup();
        for i in used {
            if i < matrix.devices.len() {
                map.push((i, i));
            }
        }
        if !map.is_empty() {
            r.assumptions.push(format!(
                "the run gives no PCI addresses: its device N is taken as the platform's Nth device in PCI order ({})",
                map.iter()
                    .map(|&(i, k)| format!("{i} = {}", topo.name(matrix.devices[k])))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    } else {
        for &(i, bdf) in &m.devices {
            match index_of(bdf) {
                Some(k) => map.push((i, k)),
                None => r.unknown_devices.push(bdf),
            }
        }
    }
    map
}

/// Compares every measured cell with the prediction; a cell that cannot be compared
/// is listed in [`Report::unmatched`] with why, never dropped.
pub fn compare(topo: &Topology<'_>, matrix: &Matrix, m: &Measured) -> Report {
    let mut r = Report {
        diagonal: m.diagonal,
        gaps: m.gaps,
        ..Report::default()
    };
    let map = device_map(topo, matrix, m, &mut r);
    let ours = |i: usize| map.iter().find(|(x, _)| *x == i).map(|(_, k)| *k);
    let mut comparisons = Vec::new();
    for c in &m.cells {
        let what = match &c.kind {
            Kind::Metric(metric) => metric.as_str().to_owned(),
            Kind::Other(name) => name.clone(),
        };
        let mut miss = |why: String| {
            r.unmatched.push(Unmatched {
                what: what.clone(),
                cell: Some((c.row, c.col)),
                measured: c.text.clone(),
                line: c.line,
                why,
            })
        };
        let Kind::Metric(metric) = c.kind else {
            miss("peerpath predicts no figure of this kind".to_owned());
            continue;
        };
        if m.no_peer_access.contains(&(c.row, c.col)) {
            miss(format!(
                "the run reports device {} CANNOT access device {}: a staged copy, not P2P",
                c.row, c.col
            ));
            continue;
        }
        let (i, j) = match (ours(c.row), ours(c.col)) {
            (Some(i), Some(j)) => (i, j),
            (None, _) | (_, None) => {
                let d = if ours(c.row).is_none() { c.row } else { c.col };
                miss(format!(
                    "the run's device {d} matches no endpoint of the platform"
                ));
                continue;
            }
        };
        let predicted = match metric {
            Metric::UnidirectionalGbps => matrix.unidirectional(i, j),
            Metric::BidirectionalGbps => matrix.bidirectional(i, j),
            Metric::BidirectionalOneWayGbps => matrix.bidirectional_one_way(i, j),
            Metric::ReadGbps => matrix.read(i, j),
            Metric::LatencyUs => matrix.latency_us(i, j),
        };
        match predicted {
            Some(predicted) => comparisons.push((
                metric,
                c.row,
                c.col,
                Comparison {
                    from: topo.name(matrix.devices[i]).to_owned(),
                    to: topo.name(matrix.devices[j]).to_owned(),
                    metric,
                    predicted,
                    measured: c.value,
                },
            )),
            None => miss(format!(
                "no prediction for {} -> {}: the pairing fails or states no link",
                topo.name(matrix.devices[i]),
                topo.name(matrix.devices[j])
            )),
        }
    }
    for u in &m.unreadable {
        r.unmatched.push(Unmatched {
            what: "unreadable".to_owned(),
            cell: None,
            measured: u.text.clone(),
            line: u.line,
            why: u.why.clone(),
        });
    }
    comparisons.sort_by_key(|(metric, row, col, _)| (*metric, *row, *col));
    r.comparisons = comparisons.into_iter().map(|x| x.3).collect();
    let mut matched: Vec<usize> = map.iter().map(|&(_, k)| k).collect();
    matched.sort_unstable();
    matched.dedup();
    r.matched = matched;
    r
}

/// A prediction at the precision the test prints its matrices with (two decimals, as
/// `peerpath bandwidth` prints them too): a measurement of 1.22 stands for anything
/// from 1.215 to 1.225, so a prediction of 1.2152 is no error against it, and a
/// matrix of `peerpath bandwidth` compared with itself gives 0% on every cell
/// (issue 17). Rounded through the same formatting, so it equals the printed text.
fn as_printed(v: f64) -> f64 {
    format!("{v:.2}").parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerpath_load::load_str;

    const PLATFORM: &str = include_str!("../../../topologies/timing-two-sockets.yaml");

    fn report(run: &str) -> Report {
        let p = load_str("t.yaml", PLATFORM).expect("loads");
        let topo = Topology::new(&p);
        let matrix = Matrix::build(&topo, 1);
        compare(&topo, &matrix, &parse(run).expect("parses"))
    }

    /// Issue 23: peerpath's own output compares with itself: no error, nothing
    /// unmatched but the `n/a` gaps, counted.
    #[test]
    fn issue_23_peerpaths_own_output_is_read() {
        let p = load_str("t.yaml", PLATFORM).expect("loads");
        let topo = Topology::new(&p);
        let matrix = Matrix::build(&topo, 1);
        let own = format!(
            "Device: 0, gpu0, pciBusID: 3, pciDeviceID: 0, pciDomainID:0\n{}",
            "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)\n   D\\D      0      1      2\n     0      -  28.73    n/a\n     1  28.73      -    n/a\n"
        );
        let own = own.replace(
            "Unidirectional",
            "Device: 1, gpu1, pciBusID: 4, pciDeviceID: 0, pciDomainID:0\nUnidirectional",
        );
        let r = compare(&topo, &matrix, &parse(&own).expect("parses"));
        assert_eq!(r.comparisons.len(), 2);
        assert!(r.comparisons.iter().all(|c| c.error().abs() < 0.001));
        assert!(r.unmatched.is_empty(), "{:?}", r.unmatched);
        assert_eq!((r.diagonal, r.gaps), (2, 2));
    }

    /// Issue 23: a pair the run cannot P2P is not compared as P2P, and says so.
    #[test]
    fn issue_23_cannot_access_pairs_are_listed_not_compared() {
        let r = report("Device=0 CANNOT Access Peer Device=1\nUnidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)\n   D\\D     0      1\n     0 800.15  10.32\n     1  26.31 831.12\n");
        assert_eq!(r.comparisons.len(), 1);
        assert_eq!(r.unmatched.len(), 1);
        assert!(
            r.unmatched[0].why.contains("staged copy"),
            "{:?}",
            r.unmatched
        );
        assert!(
            r.assumptions[0].contains("no PCI addresses"),
            "{:?}",
            r.assumptions
        );
    }

    /// Issue 17: the matrices `peerpath bandwidth` prints, with `-` on the diagonal and
    /// `n/a` where a pair has no prediction, are read; the missing cells are left out.
    #[test]
    fn issue_17_dashes_and_na_cells_are_cells_without_a_value() {
        let text = "Device: 0, gpu0, pciBusID: 3, pciDeviceID: 0, pciDomainID:0
Device: 1, nic0, pciBusID: 10, pciDeviceID: 0, pciDomainID:0
Device: 2, gpu1, pciBusID: 83, pciDeviceID: 0, pciDomainID:0
Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D      0      1      2
     0      -    n/a  28.73
     1  28.73      -  27.10
     2  28.73    n/a      -
";
        let m = parse(text).expect("parses");
        assert_eq!(m.devices.len(), 3);
        assert_eq!(m.devices[2].1.to_string(), "0000:83:00.0");
        let cells: Vec<(usize, usize, f64)> =
            m.cells.iter().map(|c| (c.row, c.col, c.value)).collect();
        assert_eq!(
            cells,
            [(0, 2, 28.73), (1, 0, 28.73), (1, 2, 27.10), (2, 0, 28.73)]
        );
        assert!(
            parse(&text.replace("27.10", "27.1x"))
                .expect("parses")
                .cells
                .len()
                < 4
        );
    }

    #[test]
    fn predictions_are_compared_at_the_printed_precision() {
        assert_eq!(as_printed(1.2152), 1.22);
        assert_eq!(as_printed(28.734), 28.73);
        assert_eq!(as_printed(0.0), 0.0);
        let c = |predicted, measured| Comparison {
            from: "a".to_owned(),
            to: "b".to_owned(),
            metric: Metric::LatencyUs,
            predicted,
            measured,
        };
        assert_eq!(c(1.2152, 1.22).error(), 0.0);
        assert!((c(1.2152, 1.0).error() - 0.22).abs() < 1e-12);
        assert!(c(1.2252, 1.22).error() > 0.0);
    }

    #[test]
    fn devices_beyond_the_platform_and_unpredicted_kinds_are_listed() {
        let r = report("GPU0 -> GPU9: 25.1 GB/s\nRunning device_to_device_memcpy_write_sm.\nmemcpy SM GPU(row) -> GPU(column) bandwidth (GB/s)\n 0 1\n 0 N/A 20.0\n");
        assert!(r.comparisons.is_empty());
        let why: Vec<&str> = r.unmatched.iter().map(|u| u.why.as_str()).collect();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("device 9 matches no endpoint"), "{why:?}");
        assert!(why[1].contains("predicts no figure"), "{why:?}");
    }
}
