//! Reading a `p2pBandwidthLatencyTest` output (CUDA samples), alone or inside a
//! markdown report, and comparing its P2P=Enabled matrices with the prediction.
//! Devices are matched by PCI address: the test prints `pciBusID`, `pciDeviceID` and
//! `pciDomainID` of each device (function 0).

use peerpath_model::Bdf;
use peerpath_topology::Topology;

use crate::matrix::Matrix;

/// A metric compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// `Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)`.
    UnidirectionalGbps,
    /// `Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)`.
    BidirectionalGbps,
    /// `P2P=Enabled Latency (P2P Writes) Matrix (us)`, GPU part.
    LatencyUs,
}

impl Metric {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::UnidirectionalGbps => "unidirectional_gbps",
            Metric::BidirectionalGbps => "bidirectional_gbps",
            Metric::LatencyUs => "latency_us",
        }
    }

    /// Every metric, in output order.
    pub const ALL: [Metric; 3] = [
        Metric::UnidirectionalGbps,
        Metric::BidirectionalGbps,
        Metric::LatencyUs,
    ];

    /// The title line of its matrix in the test's output.
    fn title(self) -> &'static str {
        match self {
            Metric::UnidirectionalGbps => "Unidirectional P2P=Enabled Bandwidth",
            Metric::BidirectionalGbps => "Bidirectional P2P=Enabled Bandwidth",
            Metric::LatencyUs => "P2P=Enabled Latency",
        }
    }
}

/// What the test's output says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    /// Each device index's PCI address.
    pub devices: Vec<(usize, Bdf)>,
    /// Each metric's matrix: (metric, row, column, value).
    pub cells: Vec<(Metric, usize, usize, f64)>,
}

/// Why an output could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotP2pOutput(pub String);

impl std::fmt::Display for NotP2pOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Device: 0, NVIDIA …, pciBusID: c1, pciDeviceID: 0, pciDomainID:0`.
fn device_line(line: &str) -> Option<(usize, Bdf)> {
    let rest = line.trim().strip_prefix("Device:")?;
    let index: usize = rest.split(',').next()?.trim().parse().ok()?;
    let field = |key: &str| -> Option<u32> {
        let at = rest.find(key)? + key.len();
        let v = rest[at..].trim_start_matches([':', ' ']);
        let end = v.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(v.len());
        u32::from_str_radix(&v[..end], 16).ok()
    };
    Some((
        index,
        Bdf {
            segment: u16::try_from(field("pciDomainID")?).ok()?,
            bus: u8::try_from(field("pciBusID")?).ok()?,
            device: u8::try_from(field("pciDeviceID")?).ok()?,
            function: 0,
        },
    ))
}

/// A row of a matrix: its index, then a cell per column. A number is a measurement;
/// `-` (the diagonal) and `n/a` (a pair without a prediction), as `peerpath bandwidth`
/// prints them, are cells without one, so that its own output reads back (issue 17).
/// `None` when the line is no matrix row.
fn matrix_row(line: &str) -> Option<(usize, Vec<Option<f64>>)> {
    let mut words = line.split_whitespace();
    let row = words.next()?.parse::<usize>().ok()?;
    let cells = words
        .map(|w| match w {
            "-" | "n/a" => Some(None),
            _ => w.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some),
        })
        .collect::<Option<Vec<_>>>()?;
    (!cells.is_empty()).then_some((row, cells))
}

/// Reads the test's output out of `text` (other lines, such as a markdown report's,
/// are skipped).
pub fn parse(text: &str) -> Result<Measured, NotP2pOutput> {
    let mut m = Measured::default();
    let mut current: Option<Metric> = None;
    let mut header_seen = false;
    for line in text.lines() {
        if let Some(d) = device_line(line) {
            if !m.devices.iter().any(|(i, _)| *i == d.0) {
                m.devices.push(d);
            }
            continue;
        }
        let t = line.trim();
        if let Some(metric) = Metric::ALL.into_iter().find(|x| t.starts_with(x.title())) {
            current = Some(metric);
            header_seen = false;
            continue;
        }
        let Some(metric) = current else { continue };
        if !header_seen {
            if t.starts_with("D\\D") || t.starts_with("GPU") {
                header_seen = true;
                continue;
            }
            current = None;
            continue;
        }
        match matrix_row(t) {
            Some((row, values)) => {
                for (col, v) in values.into_iter().enumerate() {
                    if let Some(v) = v {
                        m.cells.push((metric, row, col, v));
                    }
                }
            }
            None => current = None,
        }
    }
    if m.devices.is_empty() || m.cells.is_empty() {
        return Err(NotP2pOutput(
            "no p2pBandwidthLatencyTest output: expected `Device: N, …, pciBusID: …` lines and P2P=Enabled matrices".to_owned(),
        ));
    }
    Ok(m)
}

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

/// A prediction at the precision the test prints its matrices with (two decimals, as
/// `peerpath bandwidth` prints them too): a measurement of 1.22 stands for anything
/// from 1.215 to 1.225, so a prediction of 1.2152 is no error against it, and a
/// matrix of `peerpath bandwidth` compared with itself gives 0% on every cell
/// (issue 17). Rounded through the same formatting, so it equals the printed text.
fn as_printed(v: f64) -> f64 {
    format!("{v:.2}").parse().unwrap_or(v)
}

/// The matrix indices of the measured devices the platform has.
pub fn matched(topo: &Topology<'_>, matrix: &Matrix, m: &Measured) -> Vec<usize> {
    m.devices
        .iter()
        .filter_map(|&(_, bdf)| {
            matrix
                .devices
                .iter()
                .position(|&n| topo.bdf(n) == Some(bdf))
        })
        .collect()
}

/// Each off-diagonal P2P=Enabled cell with a prediction, in metric, row, column
/// order; and the measured devices no endpoint of the platform has the address of.
pub fn compare(topo: &Topology<'_>, matrix: &Matrix, m: &Measured) -> (Vec<Comparison>, Vec<Bdf>) {
    let index_of = |bdf: Bdf| {
        matrix
            .devices
            .iter()
            .position(|&n| topo.bdf(n) == Some(bdf))
    };
    let mut unmatched = Vec::new();
    let mut map = Vec::new();
    for &(i, bdf) in &m.devices {
        match index_of(bdf) {
            Some(k) => map.push((i, k)),
            None => unmatched.push(bdf),
        }
    }
    let ours = |i: usize| map.iter().find(|(x, _)| *x == i).map(|(_, k)| *k);
    let mut out = Vec::new();
    for metric in Metric::ALL {
        for &(mm, r, c, measured) in &m.cells {
            if mm != metric || r == c {
                continue;
            }
            let (Some(i), Some(j)) = (ours(r), ours(c)) else {
                continue;
            };
            let predicted = match metric {
                Metric::UnidirectionalGbps => matrix.unidirectional(i, j),
                Metric::BidirectionalGbps => matrix.bidirectional(i, j),
                Metric::LatencyUs => matrix.latency_us(i, j),
            };
            if let Some(predicted) = predicted {
                out.push(Comparison {
                    from: topo.name(matrix.devices[i]).to_owned(),
                    to: topo.name(matrix.devices[j]).to_owned(),
                    metric,
                    predicted,
                    measured,
                });
            }
        }
    }
    (out, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Some markdown\n```\nDevice: 0, NVIDIA RTX 6000 Ada Generation, pciBusID: c1, pciDeviceID: 0, pciDomainID:0
Device: 1, NVIDIA RTX 6000 Ada Generation, pciBusID: c2, pciDeviceID: 0, pciDomainID:0
Unidirectional P2P=Disabled Bandwidth Matrix (GB/s)
   D\\D     0      1
     0 801.28  22.23
     1  22.32 813.80
Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D     0      1
     0 800.15  26.32
     1  26.31 831.12
P2P=Enabled Latency (P2P Writes) Matrix (us)
   GPU     0      1
     0   1.39   1.12
     1   1.14   1.42

   CPU     0      1
     0   1.64   1.32
     1   1.32   1.58
```
";

    #[test]
    fn the_enabled_matrices_and_the_devices_are_read() {
        let m = parse(OUTPUT).expect("parses");
        assert_eq!(m.devices.len(), 2);
        assert_eq!(m.devices[1].1.to_string(), "0000:c2:00.0");
        let uni: Vec<_> = m
            .cells
            .iter()
            .filter(|c| c.0 == Metric::UnidirectionalGbps)
            .collect();
        assert_eq!(uni.len(), 4);
        assert!(uni.iter().any(|c| c.1 == 1 && c.2 == 0 && c.3 == 26.31));
        let lat: Vec<_> = m
            .cells
            .iter()
            .filter(|c| c.0 == Metric::LatencyUs)
            .collect();
        assert_eq!(lat.len(), 4, "the CPU part is not read: {lat:?}");
        assert!(
            !m.cells.iter().any(|c| c.3 == 22.23),
            "P2P=Disabled is skipped"
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
        let cells: Vec<(usize, usize, f64)> = m.cells.iter().map(|c| (c.1, c.2, c.3)).collect();
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
    fn text_without_the_output_is_an_error() {
        assert!(parse("# a report\nno matrices here\n").is_err());
    }
}
