//! Reading a measured run: the one parser of what `--compare` (and the corpus
//! validation) reads. It accepts, alone or inside a markdown report:
//!
//! - CUDA samples' `p2pBandwidthLatencyTest` (`Device: N, …, pciBusID: …` lines,
//!   `Device=i CANNOT Access Peer Device=j`, the `P2P Connectivity Matrix` and the
//!   P2P=Enabled matrices);
//! - NVIDIA `nvbandwidth` (`Device N: NAME (00000000:01:00)`, `Running TEST.`, a
//!   `memcpy CE GPU(row) … GPU(column)` matrix, `SUM TEST value`);
//! - `peerpath bandwidth`'s own printed matrices (`-` on the diagonal, `n/a` cells);
//! - pair lists, one figure a line: `GPU0 -> GPU1: 25.1 GB/s` (one way),
//!   `0 <-> 1: 50.2 GB/s` (both ways, summed as `p2pBandwidthLatencyTest` sums them),
//!   `GPU0 -> GPU1: 1.3 us` (write latency).
//!
//! Matrices may be partial (the header's column labels give the devices), cells may be
//! `-`, `N/A` or `n/a`, lines may be markdown table rows (`| 0 | 26.3 |`). A cell that
//! cannot be read is never dropped: it is kept in [`Measured::unreadable`] with its line
//! and why, and `--compare` lists it.

use peerpath_model::Bdf;

/// A metric compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// `Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)`;
    /// nvbandwidth `device_to_device_memcpy_write_ce`.
    UnidirectionalGbps,
    /// `Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)`: both directions summed.
    BidirectionalGbps,
    /// nvbandwidth `device_to_device_bidirectional_memcpy_write_ce`: the row's
    /// direction while the other runs too (one direction, not the sum).
    BidirectionalOneWayGbps,
    /// nvbandwidth `device_to_device_memcpy_read_ce`: the row device reading the
    /// column device's memory.
    ReadGbps,
    /// `P2P=Enabled Latency (P2P Writes) Matrix (us)`, GPU part.
    LatencyUs,
}

impl Metric {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::UnidirectionalGbps => "unidirectional_gbps",
            Metric::BidirectionalGbps => "bidirectional_gbps",
            Metric::BidirectionalOneWayGbps => "bidirectional_one_way_gbps",
            Metric::ReadGbps => "read_gbps",
            Metric::LatencyUs => "latency_us",
        }
    }

    /// Every metric, in output order.
    pub const ALL: [Metric; 5] = [
        Metric::UnidirectionalGbps,
        Metric::BidirectionalGbps,
        Metric::BidirectionalOneWayGbps,
        Metric::ReadGbps,
        Metric::LatencyUs,
    ];

    /// Whether it is a bandwidth (else a latency).
    pub fn is_bandwidth(self) -> bool {
        self != Metric::LatencyUs
    }
}

/// The kind of a `p2pBandwidthLatencyTest` (or peerpath) matrix title, also as people
/// retitle it in reports (`### Bidirectional P2P=Enabled Matrix (GB/s)`,
/// `### P2P=Enabled Write Latency (µs)`). `P2P=Disabled` matrices are staged copies
/// and not titles of a predicted metric; `(P2P Reads)` matrices (`--p2p_read`) are
/// kept as an unpredicted kind.
fn p2p_title(line: &str) -> Option<Kind> {
    let t = line.trim_start_matches(['#', ' ', '\t']);
    if t.contains("P2P=Disabled") {
        return None;
    }
    if t.contains("(P2P Reads)") {
        return Some(Kind::Other("p2pBandwidthLatencyTest P2P reads".to_owned()));
    }
    let metric = if t.starts_with("Unidirectional P2P=Enabled Bandwidth")
        || t.starts_with("Unidirectional P2P Write Bandwidth")
    {
        Metric::UnidirectionalGbps
    } else if t.starts_with("Bidirectional P2P=Enabled") {
        Metric::BidirectionalGbps
    } else if t.starts_with("P2P=Enabled Latency") || t.starts_with("P2P=Enabled Write Latency") {
        Metric::LatencyUs
    } else {
        return None;
    };
    Some(Kind::Metric(metric))
}

/// What a matrix measures: a metric peerpath predicts, or something it does not.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A predicted metric.
    Metric(Metric),
    /// A matrix peerpath has no prediction for (an nvbandwidth SM copy, a latency
    /// test, a host copy): its name.
    Other(String),
}

/// One measured cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// What it measures.
    pub kind: Kind,
    /// The row's device index.
    pub row: usize,
    /// The column's device index.
    pub col: usize,
    /// The figure.
    pub value: f64,
    /// The figure as printed.
    pub text: String,
    /// Its line (1-based) in the input.
    pub line: usize,
}

/// A cell or line of a matrix that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// Its line (1-based).
    pub line: usize,
    /// The text that could not be read.
    pub text: String,
    /// Why.
    pub why: String,
}

/// What a measured run says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    /// Each device index's PCI address, where the run gives it.
    pub devices: Vec<(usize, Bdf)>,
    /// Device indices the run lists without a PCI address (nvbandwidth before v0.5).
    pub unaddressed: Vec<usize>,
    /// The cells that hold a figure, off the diagonal.
    pub cells: Vec<Cell>,
    /// Pairs (from, to) the run reports without peer access (`CANNOT Access Peer`, a
    /// 0 in the `P2P Connectivity Matrix`): its "P2P=Enabled" figures for them are
    /// staged copies, not P2P.
    pub no_peer_access: Vec<(usize, usize)>,
    /// Diagonal cells (a device's local copy) left out.
    pub diagonal: usize,
    /// Off-diagonal cells that hold no figure (`-`, `N/A`, `n/a`).
    pub gaps: usize,
    /// What could not be read.
    pub unreadable: Vec<Unreadable>,
}

/// Why an input could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotMeasured {
    /// Nothing in the input.
    Empty,
    /// Text, but no matrix or pair list.
    NoFigures,
}

impl std::fmt::Display for NotMeasured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotMeasured::Empty => f.write_str("the file is empty"),
            NotMeasured::NoFigures => f.write_str(
                "no measured figures: expected a p2pBandwidthLatencyTest output (P2P=Enabled matrices), an nvbandwidth output (`memcpy CE GPU(row) … GPU(column)` matrices) or a pair list (`GPU0 -> GPU1: 25.1 GB/s`)",
            ),
        }
    }
}

/// `Device: 0, NVIDIA …, pciBusID: c1, pciDeviceID: 0, pciDomainID:0`.
fn p2p_device_line(line: &str) -> Option<(usize, Option<Bdf>)> {
    let rest = line.trim().strip_prefix("Device:")?;
    let index: usize = rest.split(',').next()?.trim().parse().ok()?;
    let field = |key: &str| -> Option<u32> {
        let at = rest.find(key)? + key.len();
        let v = rest[at..].trim_start_matches([':', ' ']);
        let end = v.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(v.len());
        u32::from_str_radix(&v[..end], 16).ok()
    };
    let bdf = (|| {
        Some(Bdf {
            segment: u16::try_from(field("pciDomainID")?).ok()?,
            bus: u8::try_from(field("pciBusID")?).ok()?,
            device: u8::try_from(field("pciDeviceID")?).ok()?,
            function: 0,
        })
    })();
    Some((index, bdf))
}

/// nvbandwidth's `Device 0: NVIDIA H100 80GB HBM3 (00000000:19:00)`; the address is
/// printed from v0.5 on.
fn nvbandwidth_device_line(line: &str) -> Option<(usize, Option<Bdf>)> {
    let rest = line.trim().strip_prefix("Device ")?;
    let (index, name) = rest.split_once(':')?;
    let index: usize = index.trim().parse().ok()?;
    let bdf = name
        .trim_end()
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once('('))
        .and_then(|(_, addr)| {
            let mut parts = addr.split(':');
            let seg = u32::from_str_radix(parts.next()?, 16).ok()?;
            let bus = u8::from_str_radix(parts.next()?, 16).ok()?;
            let dev = parts.next()?;
            let dev = u8::from_str_radix(dev.split('.').next()?, 16).ok()?;
            Some(Bdf {
                segment: u16::try_from(seg).ok()?,
                bus,
                device: dev,
                function: 0,
            })
        });
    Some((index, bdf))
}

/// `Device=0 CANNOT Access Peer Device=1`.
fn cannot_access(line: &str) -> Option<(usize, usize)> {
    let t = line.trim();
    let (a, b) = t.split_once("CANNOT Access Peer")?;
    let num = |s: &str| -> Option<usize> { s.trim().strip_prefix("Device=")?.trim().parse().ok() };
    Some((num(a)?, num(b)?))
}

/// The nvbandwidth test name a matrix belongs to, as a kind.
fn nvbandwidth_kind(test: &str) -> Kind {
    match test {
        "device_to_device_memcpy_write_ce" => Kind::Metric(Metric::UnidirectionalGbps),
        "device_to_device_memcpy_read_ce" => Kind::Metric(Metric::ReadGbps),
        // Before v0.5 one matrix, the row's direction; later `_write1` (the row's
        // direction), `_write2` (the other) and `_total` (both summed, as
        // p2pBandwidthLatencyTest sums them).
        "device_to_device_bidirectional_memcpy_write_ce"
        | "device_to_device_bidirectional_memcpy_write_ce_write1" => {
            Kind::Metric(Metric::BidirectionalOneWayGbps)
        }
        "device_to_device_bidirectional_memcpy_write_ce_total" => {
            Kind::Metric(Metric::BidirectionalGbps)
        }
        other => Kind::Other(other.to_owned()),
    }
}

/// A figure cell: a number, or a gap (`-`, `N/A`, `n/a`).
enum Word {
    Figure(f64),
    Gap,
    Bad,
}

fn word(w: &str) -> Word {
    match w {
        "-" | "N/A" | "n/a" | "NA" | "—" => Word::Gap,
        _ => match w.parse::<f64>() {
            Ok(v) if v.is_finite() => Word::Figure(v),
            _ => Word::Bad,
        },
    }
}

/// A markdown table row or separator: `|` become spaces; a separator (`|---|:--|`) is
/// `None`.
fn untable(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('|') {
        if t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
            return None;
        }
        return Some(t.replace('|', " "));
    }
    Some(t.to_owned())
}

/// A pair-list line: `GPU0 -> GPU1: 25.1 GB/s`, `0 <-> 1 50.2 GB/s`, `GPU0 -> GPU1:
/// 1.3 us`.
fn pair_line(line: &str) -> Option<(Metric, usize, usize, String)> {
    let t = line.trim().trim_start_matches(['-', '*']).trim();
    let (both, (a, rest)) = if let Some(x) = t.split_once("<->") {
        (true, x)
    } else {
        (false, t.split_once("->").or_else(|| t.split_once('→'))?)
    };
    let dev = |s: &str| -> Option<usize> {
        let s = s.trim().trim_end_matches(':');
        let s = s.strip_prefix("GPU").unwrap_or(s).trim();
        s.parse().ok()
    };
    let from = dev(a)?;
    let rest = rest.trim();
    let split = rest.find([':', ' ', '\t']).unwrap_or(rest.len());
    let to = dev(&rest[..split])?;
    let value = rest[split..].trim().trim_start_matches(':').trim();
    let (num, unit) = value
        .split_once(' ')
        .map_or((value, ""), |(n, u)| (n, u.trim()));
    let metric = match (both, unit) {
        (false, "GB/s") => Metric::UnidirectionalGbps,
        (true, "GB/s") => Metric::BidirectionalGbps,
        (false, "us" | "µs") => Metric::LatencyUs,
        _ => return None,
    };
    Some((metric, from, to, num.to_owned()))
}

/// The matrix being read.
struct Open {
    kind: Option<Kind>,
    columns: Option<Vec<usize>>,
    /// Lines skipped between the title and the header (a blank line, a code
    /// fence, a sentence of a report).
    skipped: usize,
}

/// Reads a measured run out of `text`. Lines that are not part of a run (a markdown
/// report's prose) are skipped; inside a matrix, every cell is either read, counted
/// as a gap or the diagonal, or kept as unreadable.
pub fn parse(text: &str) -> Result<Measured, NotMeasured> {
    if text.trim().is_empty() {
        return Err(NotMeasured::Empty);
    }
    let mut r = Reader::default();
    for (n, raw) in text.lines().enumerate() {
        r.line(n + 1, raw);
    }
    r.finish()
}

/// What [`parse`] has read so far, and where it is.
#[derive(Default)]
struct Reader {
    m: Measured,
    open: Option<Open>,
    running: Option<String>,
    /// The first cell of the last nvbandwidth matrix, until its `SUM` line.
    nv_from: Option<usize>,
    connectivity: bool,
}

impl Reader {
    /// Reads line `ln`, `raw`.
    fn line(&mut self, ln: usize, raw: &str) {
        if let Some(d) = p2p_device_line(raw).or_else(|| nvbandwidth_device_line(raw)) {
            self.add_device(d);
            self.open = None;
            return;
        }
        if let Some(p) = cannot_access(raw) {
            self.m.no_peer_access.push(p);
            return;
        }
        let t = raw.trim();
        if self.marker(t) {
            return;
        }
        if let Some((metric, from, to, value)) = pair_line(t) {
            self.open = None;
            self.pair(ln, t, metric, (from, to), value);
            return;
        }
        self.matrix_line(ln, raw);
    }

    fn add_device(&mut self, (i, bdf): (usize, Option<Bdf>)) {
        let m = &mut self.m;
        match bdf {
            Some(b) if !m.devices.iter().any(|(x, _)| *x == i) => m.devices.push((i, b)),
            None if !m.unaddressed.contains(&i) => m.unaddressed.push(i),
            _ => {}
        }
    }

    /// A line that names a test (`Running …`, nvbandwidth's `SUM …`) or opens a matrix
    /// (its title); false for any other line.
    fn marker(&mut self, t: &str) -> bool {
        if let Some(test) = t.strip_prefix("Running ").and_then(|s| s.strip_suffix('.')) {
            let test = test.strip_prefix("benchmark ").unwrap_or(test);
            self.running = Some(test.trim().to_owned());
            self.open = None;
        } else if let Some(rest) = t.strip_prefix("SUM ") {
            // The test's name after its matrix: it names the cells read since the
            // matrix's title, whatever `Running` said (a report may leave it out).
            let test = rest.split_whitespace().next().unwrap_or("");
            let kind = nvbandwidth_kind(test);
            if let Some(from) = self.nv_from.take() {
                for c in self.m.cells.iter_mut().skip(from) {
                    c.kind = kind.clone();
                }
            }
            self.open = None;
            self.running = None;
        } else if t.starts_with("P2P Connectivity Matrix") {
            self.connectivity = true;
            self.open = Some(Open::titled(None));
        } else if let Some(kind) = p2p_title(t) {
            self.connectivity = false;
            self.open = Some(Open::titled(Some(kind)));
        } else if t.contains("(row)") && t.contains("(column") {
            // An nvbandwidth matrix title (`memcpy CE GPU(row) -> GPU(column) …`).
            self.connectivity = false;
            self.nv_from = Some(self.m.cells.len());
            let kind = match &self.running {
                Some(test) => nvbandwidth_kind(test),
                None => Kind::Other(String::new()),
            };
            self.open = Some(Open::titled(Some(kind)));
        } else {
            return false;
        }
        true
    }

    /// One figure of a `0 -> 1: 12.3 GB/s` line, `t` (line `ln`).
    fn pair(
        &mut self,
        ln: usize,
        t: &str,
        metric: Metric,
        (from, to): (usize, usize),
        value: String,
    ) {
        let m = &mut self.m;
        match word(&value) {
            Word::Figure(v) if from != to => m.cells.push(Cell {
                kind: Kind::Metric(metric),
                row: from,
                col: to,
                value: v,
                text: value.clone(),
                line: ln,
            }),
            Word::Figure(_) => m.diagonal += 1,
            Word::Gap => m.gaps += 1,
            Word::Bad => m.unreadable.push(Unreadable {
                line: ln,
                text: t.to_owned(),
                why: format!("`{value}` is not a number"),
            }),
        }
    }

    /// A line inside an open matrix: its header, or a row of cells; anything else
    /// closes it.
    fn matrix_line(&mut self, ln: usize, raw: &str) {
        let Some(o) = self.open.as_mut() else { return };
        let Some(line) = untable(raw) else { return };
        let mut words = line.split_whitespace();
        let first = words.next();
        if o.columns.is_none() {
            if !o.header(first, words) {
                self.open = None;
            }
            return;
        }
        let Some(Ok(row)) = first.map(str::parse::<usize>) else {
            self.open = None;
            return;
        };
        let columns = o.columns.clone().unwrap_or_default();
        let kind = o.kind.clone().unwrap_or(Kind::Other(String::new()));
        let values: Vec<&str> = words.collect();
        self.row(ln, row, &columns, &kind, &values);
    }

    /// The cells of matrix row `row` (line `ln`), under `columns`.
    fn row(&mut self, ln: usize, row: usize, columns: &[usize], kind: &Kind, values: &[&str]) {
        let m = &mut self.m;
        for (k, w) in values.iter().enumerate() {
            let Some(&col) = columns.get(k) else {
                m.unreadable.push(Unreadable {
                    line: ln,
                    text: (*w).to_owned(),
                    why: format!("more cells than the header's {} columns", columns.len()),
                });
                continue;
            };
            let fig = word(w);
            if self.connectivity {
                if let Word::Figure(v) = fig {
                    if v == 0.0 && row != col {
                        m.no_peer_access.push((row, col));
                    }
                }
                continue;
            }
            if row == col {
                m.diagonal += 1;
                continue;
            }
            match fig {
                Word::Figure(v) => m.cells.push(Cell {
                    kind: kind.clone(),
                    row,
                    col,
                    value: v,
                    text: (*w).to_owned(),
                    line: ln,
                }),
                Word::Gap => m.gaps += 1,
                Word::Bad => m.unreadable.push(Unreadable {
                    line: ln,
                    text: (*w).to_owned(),
                    why: format!("`{w}` is not a number (row {row}, column {col})"),
                }),
            }
        }
    }

    /// The run read, its lists sorted; an error where it holds no figure.
    fn finish(self) -> Result<Measured, NotMeasured> {
        let mut m = self.m;
        // An nvbandwidth matrix whose test was never named.
        for c in &mut m.cells {
            if c.kind == Kind::Other(String::new()) {
                c.kind = Kind::Other("an nvbandwidth matrix without its test name".to_owned());
            }
        }
        m.no_peer_access.sort_unstable();
        m.no_peer_access.dedup();
        m.devices.sort_unstable_by_key(|d| d.0);
        m.unaddressed.sort_unstable();
        if m.cells.is_empty() && m.unreadable.is_empty() {
            return Err(NotMeasured::NoFigures);
        }
        Ok(m)
    }
}

impl Open {
    fn titled(kind: Option<Kind>) -> Open {
        Open {
            kind,
            columns: None,
            skipped: 0,
        }
    }

    /// Reads the header, `D\D 0 1 2`, `GPU 0 1`, or nvbandwidth's bare `0 1 2`; up to
    /// five other lines (blank lines, a code fence, a sentence) may come first. False
    /// where the matrix ends here.
    fn header<'a>(&mut self, first: Option<&'a str>, words: impl Iterator<Item = &'a str>) -> bool {
        let labels: Vec<&str> = match first {
            Some(f) if f.parse::<usize>().is_ok() => std::iter::once(f).chain(words).collect(),
            Some("D\\D" | "GPU") => words.collect(),
            _ if self.skipped < 5 => {
                self.skipped += 1;
                return true;
            }
            _ => return false,
        };
        match labels.iter().map(|w| w.parse::<usize>()).collect() {
            Ok(cols) => {
                self.columns = Some(cols);
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(m: &Measured, metric: Metric) -> Vec<(usize, usize, f64)> {
        m.cells
            .iter()
            .filter(|c| c.kind == Kind::Metric(metric))
            .map(|c| (c.row, c.col, c.value))
            .collect()
    }

    const P2P: &str = "Some markdown\n```\nDevice: 0, NVIDIA RTX 6000 Ada Generation, pciBusID: c1, pciDeviceID: 0, pciDomainID:0
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
        let m = parse(P2P).expect("parses");
        assert_eq!(m.devices.len(), 2);
        assert_eq!(m.devices[1].1.to_string(), "0000:c2:00.0");
        assert_eq!(
            cells(&m, Metric::UnidirectionalGbps),
            [(0, 1, 26.32), (1, 0, 26.31)]
        );
        assert_eq!(cells(&m, Metric::LatencyUs), [(0, 1, 1.12), (1, 0, 1.14)]);
        assert!(
            !m.cells.iter().any(|c| c.value == 22.23),
            "P2P=Disabled is skipped"
        );
        assert_eq!(m.diagonal, 4);
    }

    #[test]
    fn text_without_figures_is_an_error_and_an_empty_file_another() {
        assert_eq!(
            parse("# a report\nno matrices here\n"),
            Err(NotMeasured::NoFigures)
        );
        assert_eq!(parse(" \n"), Err(NotMeasured::Empty));
    }

    /// Issue 23: a report without `Device: N` lines is read (devices unnamed).
    #[test]
    fn issue_23_a_run_without_device_lines_is_read() {
        let text = "Unidirectional P2P=Enabled Bandwidth Matrix (GB/s)\n   D\\D     0      1\n     0 800.15  26.32\n     1  26.31 831.12\n";
        let m = parse(text).expect("parses");
        assert!(m.devices.is_empty());
        assert_eq!(cells(&m, Metric::UnidirectionalGbps).len(), 2);
    }

    /// Issue 23: a dash on the diagonal (peerpath's own output) drops no row; `n/a` is a
    /// gap, counted.
    #[test]
    fn issue_23_dashes_and_na_keep_the_row() {
        let text = "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D      0      1      2
     0      -  28.73    n/a
     1  28.73      -  28.70
     2    n/a  28.71      -
";
        let m = parse(text).expect("parses");
        assert_eq!(
            cells(&m, Metric::UnidirectionalGbps),
            [(0, 1, 28.73), (1, 0, 28.73), (1, 2, 28.70), (2, 1, 28.71)]
        );
        assert_eq!((m.diagonal, m.gaps), (3, 2));
    }

    #[test]
    fn partial_matrices_take_the_header_columns_and_bad_cells_are_kept() {
        let text = "Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)
| D\\D | 2 | 5 |
|---|---|---|
| 2 | 700.1 | 50.2 |
| 5 | 5O.1 | 701.0 | 3.0 |
";
        let m = parse(text).expect("parses");
        assert_eq!(cells(&m, Metric::BidirectionalGbps), [(2, 5, 50.2)]);
        assert_eq!(m.unreadable.len(), 2, "{:?}", m.unreadable);
        assert_eq!(m.unreadable[0].line, 5);
    }

    #[test]
    fn report_headings_and_fences_are_read() {
        let text = "### Bidirectional P2P=Enabled Matrix (GB/s)

```
   D\\D     0      1
     0    —    102
     1   104    —
```

### P2P=Enabled Write Latency (µs) — `p2pBandwidthLatencyTest`

From CUDA `p2pBandwidthLatencyTest`:

```
   GPU     0      1
     0   1.24   0.44
```
Unidirectional P2P=Enabled Bandwidth (P2P Reads) Matrix (GB/s)
   D\\D     0      1
     0 800.00  25.00
";
        let m = parse(text).expect("parses");
        assert_eq!(
            cells(&m, Metric::BidirectionalGbps),
            [(0, 1, 102.0), (1, 0, 104.0)]
        );
        assert_eq!(cells(&m, Metric::LatencyUs), [(0, 1, 0.44)]);
        assert_eq!(
            cells(&m, Metric::UnidirectionalGbps),
            [],
            "reads are not writes"
        );
        assert_eq!(m.cells.len(), 4);
    }

    #[test]
    fn cannot_access_and_connectivity_zeros_are_kept() {
        let text = "Device=0 CANNOT Access Peer Device=1
P2P Connectivity Matrix
     D\\D     0     1     2
     0\t     1     0     1
     1\t     0     1     0
     2\t     1     0     1
Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)
   D\\D     0      1
     0 800.15  10.32
     1  10.31 831.12
";
        let m = parse(text).expect("parses");
        assert_eq!(m.no_peer_access, [(0, 1), (1, 0), (1, 2), (2, 1)]);
        assert_eq!(cells(&m, Metric::UnidirectionalGbps).len(), 2);
    }

    #[test]
    fn nvbandwidth_is_read_by_test_name() {
        let text = "Device 0: NVIDIA H100 80GB HBM3 (00000000:19:00)
Device 1: NVIDIA H100 80GB HBM3 (00000000:3b:00)

Running device_to_device_memcpy_write_ce.
memcpy CE GPU(row) <- GPU(column) bandwidth (GB/s)
           0         1
 0       N/A     26.34
 1     26.30       N/A

SUM device_to_device_memcpy_write_ce 52.64

Running device_to_device_latency_sm.
Device to Device Latency SM GPU(row) <-> GPU(column) (ns)
           0         1
 0       N/A    950.00
 1    951.00       N/A

SUM device_to_device_latency_sm 1901.00
...
memcpy SM GPU(row) -> GPU(column) bandwidth (GB/s)
           0         1
 0       N/A     20.00
 1     20.00       N/A

memcpy CE GPU(row) -> GPU(column) bandwidth (GB/s)
           0         1
 0       N/A     21.82
 1     21.86       N/A

SUM device_to_device_memcpy_read_ce 43.68
";
        let m = parse(text).expect("parses");
        assert_eq!(m.devices[1].1.to_string(), "0000:3b:00.0");
        assert_eq!(
            cells(&m, Metric::UnidirectionalGbps),
            [(0, 1, 26.34), (1, 0, 26.30)]
        );
        assert_eq!(cells(&m, Metric::ReadGbps), [(0, 1, 21.82), (1, 0, 21.86)]);
        let other = m
            .cells
            .iter()
            .filter(|c| matches!(c.kind, Kind::Other(_)))
            .count();
        assert_eq!(
            other,
            2 + 2,
            "the latency and SM matrices are kept, not predicted"
        );
        assert_eq!(m.gaps, 0);
        assert_eq!(m.diagonal, 8);
    }

    /// nvbandwidth v0.10 splits a bidirectional test into `_write1`, `_write2` and
    /// `_total` matrices, each named by its `SUM` line.
    #[test]
    fn nvbandwidth_bidirectional_parts_are_told_apart() {
        let text = "Running device_to_device_bidirectional_memcpy_write_ce.
memcpy CE GPU(row) <-> GPU(column) Write1 bandwidth (GB/s)
           0         1
 0       N/A     25.00
 1     25.10       N/A

SUM device_to_device_bidirectional_memcpy_write_ce_write1 50.10

memcpy CE GPU(row) <-> GPU(column) Write2 bandwidth (GB/s)
           0         1
 0       N/A     24.90
 1     25.00       N/A

SUM device_to_device_bidirectional_memcpy_write_ce_write2 49.90

memcpy CE GPU(row) <-> GPU(column) Total bandwidth (GB/s)
           0         1
 0       N/A     49.90
 1     50.10       N/A

SUM device_to_device_bidirectional_memcpy_write_ce_total 100.00
COEFFICIENT_OF_VARIATION device_to_device_bidirectional_memcpy_write_ce_total 0.00
";
        let m = parse(text).expect("parses");
        assert_eq!(
            cells(&m, Metric::BidirectionalOneWayGbps),
            [(0, 1, 25.0), (1, 0, 25.1)]
        );
        assert_eq!(
            cells(&m, Metric::BidirectionalGbps),
            [(0, 1, 49.9), (1, 0, 50.1)]
        );
        let other: Vec<_> = m
            .cells
            .iter()
            .filter(|c| matches!(&c.kind, Kind::Other(n) if n.ends_with("_write2")))
            .collect();
        assert_eq!(
            other.len(),
            2,
            "write2 is kept, not predicted: {:?}",
            m.cells
        );
    }

    #[test]
    fn nvbandwidth_without_addresses_lists_the_devices() {
        let text = "Device 0: NVIDIA GeForce RTX 4090\nDevice 1: NVIDIA GeForce RTX 4090\nRunning device_to_device_memcpy_write_ce.\nmemcpy CE GPU(row) -> GPU(column) bandwidth (GB/s)\n          0         1\n0       N/A     21.0\n1      22.0      N/A\n";
        let m = parse(text).expect("parses");
        assert_eq!(m.unaddressed, [0, 1]);
        assert_eq!(cells(&m, Metric::UnidirectionalGbps).len(), 2);
    }

    #[test]
    fn pair_lists_are_read() {
        let text = "GPU0 -> GPU1: 25.1 GB/s\n- 0 <-> 1: 50.2 GB/s\nGPU1 -> GPU0: 1.3 us\nGPU1 -> GPU0: fast GB/s\n";
        let m = parse(text).expect("parses");
        assert_eq!(cells(&m, Metric::UnidirectionalGbps), [(0, 1, 25.1)]);
        assert_eq!(cells(&m, Metric::BidirectionalGbps), [(0, 1, 50.2)]);
        assert_eq!(cells(&m, Metric::LatencyUs), [(1, 0, 1.3)]);
        assert_eq!(m.unreadable.len(), 1);
    }
}
