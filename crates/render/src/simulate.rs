//! `peerpath simulate`: the matrix of outcomes, then the findings grouped by pairing
//! (output-format.md, "Text"), the `--summary` counts, and the JSON document.

use std::collections::BTreeMap;
use std::fmt::Write;

use peerpath_rules::finding::{Finding, Outcome};
use peerpath_rules::report::{PairResult, Report};

use crate::style::Style;

/// At most this many exports make a matrix; more get one line per pairing.
const MATRIX_MAX_EXPORTS: usize = 12;

/// The JSON document of output-format.md, pretty-printed, with a trailing newline.
pub fn simulate_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"));
    s.push('\n');
    s
}

/// The text report: matrix (or table), findings per pairing with fixes, summary line.
pub fn simulate_text(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("peerpath simulate: {}", report.platform))
    );
    if report.pairs.is_empty() {
        out.push_str("no pairings: the platform has no exports or no importers\n");
        return out;
    }
    out.push('\n');
    let exports: Vec<&str> = sorted_unique(report.pairs.iter().map(|p| p.export.as_str()));
    if exports.len() <= MATRIX_MAX_EXPORTS {
        matrix(&mut out, report, &exports, style);
    } else {
        table(&mut out, &report.pairs, style);
    }
    let with_findings: Vec<&PairResult> = report
        .pairs
        .iter()
        .filter(|p| !p.findings.is_empty())
        .collect();
    if !with_findings.is_empty() {
        let _ = writeln!(out, "\n{}", style.bold("Findings"));
        for p in with_findings {
            let _ = writeln!(
                out,
                "\n{} imports {} (from {}): {}, map type {}, DMA path {}",
                p.importer,
                p.export,
                p.exporter,
                style.outcome(p.outcome, 0),
                p.kernel.map_type.as_str(),
                p.kernel.dma_path.as_str()
            );
            for f in &p.findings {
                finding_lines(&mut out, f, "  ", style);
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(report));
    out
}

/// `N pairings: W works, D degraded, F fails`.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} pairing{}: {} works, {} degraded, {} fails",
        s.pairs,
        if s.pairs == 1 { "" } else { "s" },
        s.works,
        s.degraded,
        s.fails
    )
}

/// `--summary`: counts per outcome, map type and finding code, then the failing
/// pairings by name.
pub fn simulate_summary(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!("peerpath simulate --summary: {}", report.platform))
    );
    let _ = writeln!(out, "{}", summary_line(report));
    let mut by_map: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_code: BTreeMap<&str, (usize, &'static str)> = BTreeMap::new();
    for p in &report.pairs {
        *by_map.entry(p.kernel.map_type.as_str()).or_default() += 1;
        for f in &p.findings {
            let e = by_code
                .entry(f.code.as_str())
                .or_insert((0, f.severity.as_str()));
            e.0 += 1;
        }
    }
    out.push_str("\nmap type:\n");
    for (k, n) in &by_map {
        let _ = writeln!(out, "  {k:<18} {n}");
    }
    if !by_code.is_empty() {
        out.push_str("\nfindings (pairings affected):\n");
        for (code, (n, sev)) in &by_code {
            let _ = writeln!(out, "  {code:<22} {sev:<8} {n}");
        }
    }
    let failing: Vec<&PairResult> = report
        .pairs
        .iter()
        .filter(|p| p.outcome == Outcome::Fails)
        .collect();
    if !failing.is_empty() {
        out.push_str("\nfailing pairings:\n");
        for p in failing {
            let codes: Vec<&str> = p
                .findings
                .iter()
                .filter(|f| f.severity == peerpath_rules::finding::Severity::Error)
                .map(|f| f.code.as_str())
                .collect();
            let _ = writeln!(
                out,
                "  {} <- {}: {}",
                p.importer,
                p.export,
                codes.join(", ")
            );
        }
    }
    out
}

/// One finding: severity, code, subject, message, then evidence, rules and fix.
pub(crate) fn finding_lines(out: &mut String, f: &Finding, indent: &str, style: Style) {
    let _ = writeln!(
        out,
        "{indent}{} {} at {}: {}",
        style.severity(f.severity),
        f.code.as_str(),
        f.subject,
        f.message
    );
    if !f.evidence.is_empty() {
        let ev: Vec<String> = f
            .evidence
            .iter()
            .map(|(k, v)| format!("{k}={}", json_scalar(v)))
            .collect();
        let _ = writeln!(out, "{indent}    evidence: {}", ev.join(", "));
    }
    let _ = writeln!(out, "{indent}    rules: {}", f.rules.join(", "));
    if let Some(fix) = &f.fix {
        let _ = writeln!(out, "{indent}    fix: {fix}");
    }
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn sorted_unique<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn matrix(out: &mut String, report: &Report, exports: &[&str], style: Style) {
    let importers = sorted_unique(report.pairs.iter().map(|p| p.importer.as_str()));
    let mut cell: BTreeMap<(&str, &str), Outcome> = BTreeMap::new();
    for p in &report.pairs {
        cell.insert((p.importer.as_str(), p.export.as_str()), p.outcome);
    }
    let w0 = importers
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(0)
        .max("importer \\ export".len());
    let widths: Vec<usize> = exports.iter().map(|e| e.len().max(8)).collect();
    let _ = write!(out, "{:<w0$}", "importer \\ export");
    for (e, w) in exports.iter().zip(&widths) {
        let _ = write!(out, "  {e:<w$}");
    }
    out.push('\n');
    for i in &importers {
        let _ = write!(out, "{i:<w0$}");
        for (e, w) in exports.iter().zip(&widths) {
            match cell.get(&(*i, *e)) {
                Some(o) => {
                    let _ = write!(out, "  {}", style.outcome(*o, *w));
                }
                None => {
                    let _ = write!(out, "  {:<w$}", "-");
                }
            }
        }
        out.push('\n');
    }
}

fn table(out: &mut String, pairs: &[PairResult], style: Style) {
    let wi = pairs
        .iter()
        .map(|p| p.importer.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let we = pairs
        .iter()
        .map(|p| p.export.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(
        out,
        "{:<wi$}  {:<we$}  {:<16}  {:<11}  outcome",
        "importer", "export", "map type", "DMA path"
    );
    for p in pairs {
        let _ = writeln!(
            out,
            "{:<wi$}  {:<we$}  {:<16}  {:<11}  {}",
            p.importer,
            p.export,
            p.kernel.map_type.as_str(),
            p.kernel.dma_path.as_str(),
            style.outcome(p.outcome, 0)
        );
    }
}
