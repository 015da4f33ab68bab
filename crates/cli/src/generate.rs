//! `peerpath generate`: a platform of the scale-test shape (issue 7), from
//! `peerpath_generate::scale`: N endpoints below host bridges of 8 root ports and two
//! switch levels, M GPUs exporting 1 GiB of BAR 0, every endpoint importing every
//! export. The same arguments give the same bytes.
//!
//! `--fleet N --drift P -o DIR` writes N `lspci -vvvnn` dumps of one machine instead,
//! a fraction P of them with one drift each, and `manifest.json` saying which
//! (`peerpath_generate::fleet`, docs/audit.md); DIR is created, and an existing
//! non-empty DIR is refused without `--force`.
//!
//! Exit codes: 0 written; 2 an impossible request (no endpoint, more exports than
//! GPUs, more endpoints or pairings than a file the loader reads holds: every file
//! written loads) or an existing output without `--force`; 3 stdout could not be
//! written.

use std::path::Path;

use peerpath_generate::fleet::Fleet;

use peerpath_generate::scale::{self, Scale};
use peerpath_generate::Flavor;

use crate::exit::Exit;
use crate::output::{self, OutputArgs};

/// Parses `--flavor`: the vendors of issue 7.
pub(crate) fn parse_flavor(s: &str) -> Result<Flavor, String> {
    match Flavor::from_name(s) {
        Some(f @ (Flavor::Amd | Flavor::Arm | Flavor::Intel)) => Ok(f),
        _ => Err(format!("`{s}` is not a flavor: amd, arm or intel")),
    }
}

/// Runs `peerpath generate`.
pub(crate) fn run(s: &Scale, out: &OutputArgs) -> Exit {
    let file = out.file();
    if let Err(e) = out.refuse_overwrite() {
        return e;
    }
    let yaml = match scale::yaml(s) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::InvalidInput;
        }
    };
    // `Scale::check` keeps the file below the loader's limit; should the shape ever
    // grow, refuse rather than write what does not load (issue 17).
    let limit = peerpath_load::limits::MAX_FILE_BYTES;
    if yaml.len() as u64 > limit {
        eprintln!(
            "error: the file would be {} bytes, above the {limit} the loader reads: ask for fewer endpoints",
            yaml.len()
        );
        return Exit::InvalidInput;
    }
    if let Err(e) = output::write(file, &yaml) {
        return e;
    }
    if let Some(out) = file {
        eprintln!(
            "wrote {} ({} endpoints, {} exports, {} pairings)",
            out.display(),
            s.endpoints,
            s.exports,
            s.pairings()
        );
    }
    Exit::Success
}

/// Runs `peerpath generate --fleet`.
pub(crate) fn run_fleet(f: &Fleet, dir: Option<&Path>, force: bool) -> Exit {
    if let Err(e) = f.check() {
        eprintln!("error: {e}");
        return Exit::InvalidInput;
    }
    let Some(dir) = dir.filter(|d| d.as_os_str() != "-") else {
        eprintln!("error: --fleet writes files: give -o DIR");
        return Exit::InvalidInput;
    };
    if dir.is_file() {
        eprintln!(
            "error: {} is a file: --fleet writes into a directory",
            dir.display()
        );
        return Exit::InvalidInput;
    }
    let non_empty = std::fs::read_dir(dir).is_ok_and(|mut r| r.next().is_some());
    if non_empty && !force {
        eprintln!(
            "error: {} is not empty: give --force to write the fleet into it (same-named files are replaced)",
            dir.display()
        );
        return Exit::InvalidInput;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return Exit::InvalidInput;
    }
    let drifts = f.drifts();
    let mut next = drifts.iter().peekable();
    for n in 0..f.machines {
        let d = next.next_if(|(m, _)| *m == n).map(|(_, d)| d);
        let m = f.machine(n, d);
        let path = dir.join(&m.file);
        if let Err(e) = std::fs::write(&path, m.text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::InvalidInput;
        }
    }
    let path = dir.join("manifest.json");
    if let Err(e) = std::fs::write(&path, f.manifest(&drifts)) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return Exit::InvalidInput;
    }
    eprintln!(
        "wrote {} dumps into {} ({} with drift, see manifest.json)",
        f.machines,
        dir.display(),
        drifts.len()
    );
    Exit::Success
}
