//! Reading platforms: a file named on the command line, or the embedded default.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use peerpath_load::Diagnostics;
use peerpath_model::Platform;

/// The embedded default platform (the Arm external-TBU example of the spec).
pub(crate) const DEFAULT_PLATFORM: &str = include_str!("../../../topologies/arm-external-tbu.yaml");
/// The name diagnostics give the embedded default.
pub(crate) const DEFAULT_NAME: &str = "<embedded>/topologies/arm-external-tbu.yaml";

/// Loads the platform at `path` (a platform file, or a scenario file's `platform`), or
/// the embedded default.
pub(crate) fn load_platform(path: Option<&Path>) -> Result<Platform, Diagnostics> {
    match path {
        Some(p) if peerpath_load::scenario::is_scenario_file(p) => {
            peerpath_load::scenario::load_scenario(p).map(|s| s.platform)
        }
        Some(p) => peerpath_load::load_file(p),
        None => peerpath_load::load_str(DEFAULT_NAME, DEFAULT_PLATFORM),
    }
}

/// Prints diagnostics to stderr: miette's graphical form on a terminal, plain text in pipes.
pub(crate) fn print_diagnostics(diags: Diagnostics) {
    let count = diags.items.len();
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        eprintln!("{:?}", miette::Report::new(diags.fancy()));
    } else {
        let text = diags.to_string();
        eprint!("{text}");
        if !text.ends_with('\n') {
            eprintln!();
        }
    }
    eprintln!("{count} error{} found", if count == 1 { "" } else { "s" });
}

/// Expands directory arguments to the `*.yaml`/`*.yml` files inside, sorted.
pub(crate) fn expand_yaml_args(args: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}
