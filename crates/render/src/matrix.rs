//! `peerpath simulate --matrix`: importers × exports, each cell the outcome, the
//! kernel's map type and the NCCL / `nvidia-smi topo -m` path class between importer
//! and exporter ([`PathClass`], computed in `peerpath-topology`), with a legend under
//! it; and the same as JSON (shape in docs/matrix.md: output-format.md has no matrix).
//!
//! Written as the verdicts stream in: [`MatrixGrid`] gives each row when complete.
//! With more than [`MATRIX_MAX_EXPORTS`] exports the grid is a table, one line per
//! pairing, as plain `simulate` does.

use std::fmt::Write as _;
use std::io::{self, Write};

use peerpath_model::{ExportId, Import, MapType, NodeId, Platform};
use peerpath_rules::Outcome;
use peerpath_rules::{Summary, Verdict};
use peerpath_topology::{PathClass, Topology, NUMA_ASSUMPTION};

use crate::json::FORMAT;
use crate::style::Style;
use crate::MATRIX_MAX_EXPORTS;

/// One cell: a pairing's outcome and map type, and the path class between the
/// importer and the exporting device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatrixCell {
    /// The importer.
    pub importer: NodeId,
    /// The export.
    pub export: ExportId,
    /// The outcome.
    pub outcome: Outcome,
    /// The kernel's map type (K1.5).
    pub map_type: MapType,
    /// The path class between importer and exporter.
    pub path: PathClass,
    /// The assumed facts that would change the outcome (issue 24).
    pub depends_on: Vec<peerpath_rules::DependsOn>,
}

impl MatrixCell {
    /// The cell of `import`, whose verdict is `v`.
    pub fn new(topo: &Topology<'_>, import: &Import, v: &Verdict) -> Self {
        let exporter = topo.platform().export(import.export).device;
        Self {
            importer: import.importer,
            export: import.export,
            outcome: v.outcome,
            map_type: v.map_type,
            path: topo.path_class(import.importer, exporter),
            depends_on: v.depends_on.clone(),
        }
    }
}

/// Width of a cell's map type.
const MAP_WIDTH: usize = 16;
/// Width of a cell: outcome (8), map type, path class (4), two spaces between.
const CELL_WIDTH: usize = 8 + 1 + MAP_WIDTH + 1 + 4;

/// The sorted export names of the platform's pairings.
pub(crate) fn export_names(p: &Platform) -> Vec<&str> {
    let mut exports: Vec<&str> = p
        .imports
        .iter()
        .map(|i| p.export(i.export).name.as_str())
        .collect();
    exports.sort_unstable();
    exports.dedup();
    exports
}

/// The sorted importer names of the platform's pairings.
pub(crate) fn importer_names(p: &Platform) -> Vec<&str> {
    let mut importers: Vec<&str> = p
        .imports
        .iter()
        .map(|i| p.node(i.importer).name.as_str())
        .collect();
    importers.sort_unstable();
    importers.dedup();
    importers
}

/// The text matrix (or, with more than [`MATRIX_MAX_EXPORTS`] exports, a table);
/// fed the cells in pairing order (sorted by importer, export), it gives each row
/// when complete.
#[derive(Debug)]
pub struct MatrixGrid<'p> {
    p: &'p Platform,
    style: Style,
    /// `None`: a table.
    exports: Option<Vec<&'p str>>,
    /// Width of the first column.
    w0: usize,
    /// Width of the export column (table).
    we: usize,
    /// Matrix: the row being filled (importer, one cell per export).
    row: Option<(NodeId, Vec<Option<MatrixCell>>)>,
}

impl<'p> MatrixGrid<'p> {
    /// The grid for the platform's pairings.
    pub fn new(p: &'p Platform, style: Style) -> Self {
        let exports = export_names(p);
        let importer_width = importer_names(p).iter().map(|n| n.len()).max().unwrap_or(0);
        let we = exports.iter().map(|e| e.len()).max().unwrap_or(0).max(6);
        let matrix = exports.len() <= MATRIX_MAX_EXPORTS;
        Self {
            p,
            style,
            w0: if matrix {
                importer_width.max("importer \\ export".len())
            } else {
                importer_width.max(8)
            },
            we,
            exports: matrix.then_some(exports),
            row: None,
        }
    }

    /// The header line.
    pub fn head(&self) -> String {
        let w0 = self.w0;
        match &self.exports {
            Some(exports) => {
                let mut out = format!("{:<w0$}", "importer \\ export");
                for e in exports {
                    let _ = write!(out, "  {e:<CELL_WIDTH$}");
                }
                format!("{}\n", out.trim_end())
            }
            None => format!(
                "{:<w0$}  {:<we$}  {:<8} {:<MAP_WIDTH$} path\n",
                "importer",
                "export",
                "outcome",
                "map type",
                we = self.we
            ),
        }
    }

    /// Takes the next cell; returns what is ready to print.
    pub fn push(&mut self, cell: MatrixCell) -> String {
        let p = self.p;
        let Some(exports) = &self.exports else {
            let line = format!(
                "{:<w0$}  {:<we$}  {}",
                p.node(cell.importer).name,
                p.export(cell.export).name,
                self.cell_text(&cell),
                w0 = self.w0,
                we = self.we
            );
            return format!("{}\n", line.trim_end());
        };
        let col = exports
            .binary_search(&p.export(cell.export).name.as_str())
            .ok();
        let n = exports.len();
        let mut done = String::new();
        if self.row.as_ref().is_some_and(|(i, _)| *i != cell.importer) {
            done = self.finish();
        }
        let (_, cells) = self
            .row
            .get_or_insert_with(|| (cell.importer, vec![None; n]));
        if let Some(col) = col {
            cells[col] = Some(cell);
        }
        done
    }

    /// The last row, if one is being filled.
    pub fn finish(&mut self) -> String {
        let Some((importer, cells)) = self.row.take() else {
            return String::new();
        };
        let mut out = format!("{:<w0$}", self.p.node(importer).name, w0 = self.w0);
        for cell in &cells {
            match cell {
                Some(c) => {
                    let _ = write!(out, "  {}", self.cell_text(c));
                }
                None => {
                    let _ = write!(out, "  {:<CELL_WIDTH$}", "-");
                }
            }
        }
        format!("{}\n", out.trim_end())
    }

    /// `fails    not-supported    PIX `, the outcome coloured.
    fn cell_text(&self, c: &MatrixCell) -> String {
        format!(
            "{} {:<MAP_WIDTH$} {:<4}",
            self.style.verdict(c.outcome, !c.depends_on.is_empty(), 8),
            c.map_type.as_str(),
            c.path.as_str()
        )
    }
}

/// The legend under the matrix: what a cell says, the outcomes, the map types and
/// the path classes with their definition.
pub fn matrix_legend() -> String {
    let mut out = String::from(
        "Each cell: outcome, the kernel's map type (K1.5), and the path class between\n\
         the importer and the exporting device.\n\
         \x20 outcome   works: no warning or error; degraded: warnings only; fails: an error\n\
         \x20 map type  bus-addr: P2P turns below a common switch, bus addresses;\n\
         \x20           thru-host-bridge: through the root complex, the importer's DMA mapping;\n\
         \x20           not-supported: the kernel maps nothing\n\
         \x20 path      as NCCL (src/graph/topo.h) and nvidia-smi topo -m name it, from the\n\
         \x20           nearest common upstream device and the host bridges:\n",
    );
    for c in PathClass::ALL {
        let _ = writeln!(out, "    {:<4}  {}", c.as_str(), c.meaning());
    }
    let _ = writeln!(out, "  assumed:  {NUMA_ASSUMPTION}");
    out.push_str(
        "  ?         after an outcome: it rests on a fact the platform file lists as assumed,\n\
         \x20           and another value of that fact gives another outcome (`explain` names it)\n",
    );
    out
}

/// The whole text of `simulate --matrix` for collected cells (tests, the report's
/// plain-text twin): title, grid, legend, summary line.
pub fn matrix_text(p: &Platform, cells: &[MatrixCell], style: Style) -> String {
    let mut out = crate::simulate_title(&p.name, style);
    if cells.is_empty() {
        out.push_str(&crate::no_pairings(p));
        return out;
    }
    out.push('\n');
    let mut grid = MatrixGrid::new(p, style);
    out.push_str(&grid.head());
    let mut summary = Summary::default();
    for c in cells {
        out.push_str(&grid.push(c.clone()));
        summary.add(c.outcome);
    }
    out.push_str(&grid.finish());
    out.push('\n');
    out.push_str(&matrix_legend());
    let _ = writeln!(out, "\n{}", crate::summary_line(&summary));
    out
}

#[derive(serde::Serialize)]
struct CellView<'a> {
    importer: &'a str,
    export: &'a str,
    exporter: &'a str,
    outcome: &'static str,
    map_type: &'static str,
    path: &'static str,
    depends_on: Vec<crate::json::DependsOnView<'a>>,
}

#[derive(serde::Serialize)]
struct ClassView {
    class: &'static str,
    meaning: &'static str,
}

/// Streams the JSON of `simulate --matrix` (docs/matrix.md): `begin`, one `cell` per
/// pairing in order, `finish` with the summary.
#[derive(Debug)]
pub struct MatrixJson<'p, W: Write> {
    out: W,
    p: &'p Platform,
    cells: usize,
    summary: Summary,
}

impl<'p, W: Write> MatrixJson<'p, W> {
    /// Writes the head: format, platform, importers, exports, the path classes'
    /// meanings, up to the opening of `cells`.
    pub fn begin(mut out: W, p: &'p Platform) -> io::Result<Self> {
        let classes: Vec<ClassView> = PathClass::ALL
            .iter()
            .map(|c| ClassView {
                class: c.as_str(),
                meaning: c.meaning(),
            })
            .collect();
        write!(
            out,
            "{{\n  \"format\": {FORMAT},\n  \"platform\": {},\n  \"importers\": {},\n  \"exports\": {},\n  \"path_classes\": {},\n  \"cells\": [",
            compact(&p.name)?,
            compact(&importer_names(p))?,
            compact(&export_names(p))?,
            compact(&classes)?,
        )?;
        Ok(Self {
            out,
            p,
            cells: 0,
            summary: Summary::default(),
        })
    }

    /// Writes one cell, on a line of its own.
    pub fn cell(&mut self, c: &MatrixCell) -> io::Result<()> {
        let p = self.p;
        let export = p.export(c.export);
        let view = CellView {
            importer: &p.node(c.importer).name,
            export: &export.name,
            exporter: &p.node(export.device).name,
            outcome: c.outcome.as_str(),
            map_type: c.map_type.as_str(),
            path: c.path.as_str(),
            depends_on: c
                .depends_on
                .iter()
                .map(crate::json::depends_on_view)
                .collect(),
        };
        let text = serde_json::to_string(&view).map_err(io::Error::other)?;
        self.out.write_all(if self.cells == 0 {
            b"\n    "
        } else {
            b",\n    "
        })?;
        self.out.write_all(text.as_bytes())?;
        self.cells += 1;
        self.summary.add(c.outcome);
        Ok(())
    }

    /// Closes `cells`, writes the summary and the end; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.cells > 0 {
            self.out.write_all(b"\n  ")?;
        }
        let s = self.summary;
        write!(
            self.out,
            "],\n  \"summary\": {{\"pairs\": {}, \"works\": {}, \"degraded\": {}, \"fails\": {}}}\n}}\n",
            s.pairs, s.works, s.degraded, s.fails
        )?;
        Ok(self.out)
    }
}

/// Compact JSON of one head value.
fn compact<T: serde::Serialize + ?Sized>(v: &T) -> io::Result<String> {
    serde_json::to_string(v).map_err(io::Error::other)
}

/// The whole JSON of `simulate --matrix` for collected cells.
pub fn matrix_json(p: &Platform, cells: &[MatrixCell]) -> io::Result<String> {
    let mut s = MatrixJson::begin(Vec::new(), p)?;
    for c in cells {
        s.cell(c)?;
    }
    Ok(String::from_utf8_lossy(&s.finish()?).into_owned())
}

#[cfg(test)]
mod tests;
