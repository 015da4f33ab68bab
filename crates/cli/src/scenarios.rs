//! `peerpath scenarios`: run scenario files (platform-format.md, "Scenario files") and
//! report every mismatch at once.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use peerpath_load::scenario::{Expect, Scenario};
use peerpath_rules::PairResult;

/// What one scenario file gave.
#[derive(Debug)]
pub(crate) enum FileResult {
    /// The scenario's platform or expectations did not load.
    Invalid(peerpath_load::Diagnostics),
    /// Loaded and ran; the mismatches (empty: passed) and the number of expectations.
    Ran {
        mismatches: Vec<String>,
        expectations: usize,
    },
}

/// Runs one scenario file.
pub(crate) fn run_file(path: &Path) -> FileResult {
    let scenario = match peerpath_load::scenario::load_scenario(path) {
        Ok(s) => s,
        Err(d) => return FileResult::Invalid(d),
    };
    let mismatches = check(path, &scenario);
    FileResult::Ran {
        mismatches,
        expectations: scenario.expect.len(),
    }
}

/// Every way the scenario's expectations differ from what peerpath computes. Each
/// expected pairing is evaluated alone (`evaluate_pair` agrees with `evaluate`).
pub(crate) fn check(path: &Path, scenario: &Scenario) -> Vec<String> {
    let topo = peerpath_topology::Topology::new(&scenario.platform);
    scenario
        .expect
        .iter()
        .flat_map(|e| check_one(path, &topo, e))
        .collect()
}

fn check_one(path: &Path, topo: &peerpath_topology::Topology<'_>, e: &Expect) -> Vec<String> {
    let at = format!(
        "{}:{}: {} <- {}",
        path.display(),
        e.line,
        e.importer,
        e.export
    );
    let pair = match peerpath_rules::evaluate_pair(topo, &e.importer, &e.export) {
        Ok(pair) => pair,
        // The loader checked the pairing exists; say so if that ever changes.
        Err(unknown) => return vec![format!("{at}: {unknown}")],
    };
    let mut out = Vec::new();
    if let Some(want) = e.map_type {
        let got = pair.kernel.map_type;
        if want != got {
            out.push(format!(
                "{at}: expected map_type {want}, got {got}{}",
                codes(&pair)
            ));
        }
    }
    if let Some(want) = e.outcome {
        let got = pair.outcome;
        if want != got {
            out.push(format!(
                "{at}: expected outcome {want}, got {got}{}",
                codes(&pair)
            ));
        }
    }
    for code in &e.findings {
        if !pair.findings.iter().any(|f| f.code == *code) {
            out.push(format!(
                "{at}: expected finding {code}, not raised{}",
                codes(&pair)
            ));
        }
    }
    for code in &e.absent {
        if let Some(f) = pair.findings.iter().find(|f| f.code == *code) {
            out.push(format!(
                "{at}: finding {code} must be absent, raised at {}: {}",
                f.subject, f.message
            ));
        }
    }
    out
}

fn codes(pair: &PairResult) -> String {
    let c: Vec<&str> = pair.findings.iter().map(|f| f.code.as_str()).collect();
    format!(
        " (map_type {}, outcome {}, findings [{}])",
        pair.kernel.map_type.as_str(),
        pair.outcome.as_str(),
        c.join(", ")
    )
}

/// Expands arguments: directories to their `*.yaml` files; no argument = `scenarios/`.
pub(crate) fn files(args: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    if args.is_empty() {
        crate::input::expand_yaml_args(&[PathBuf::from("scenarios")])
    } else {
        crate::input::expand_yaml_args(args)
    }
}

/// The one-line tally.
pub(crate) fn tally(files: usize, passed: usize, failed: usize, invalid: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "scenarios: {files} file{}, {passed} passed, {failed} failed",
        if files == 1 { "" } else { "s" }
    );
    if invalid > 0 {
        let _ = write!(s, ", {invalid} invalid");
    }
    s
}
