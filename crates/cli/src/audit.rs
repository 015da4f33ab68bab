//! `peerpath audit DIR|FILE…` (issue 21, docs/audit.md): every dump found, imported as
//! `peerpath import` imports it, fingerprinted, clustered, and one table.
//!
//! Machines: a file given is one machine with every file beside it of the same stem
//! (the name up to its first `.`: `node7.lspci.txt` and `node7.dmesg.txt` are machine
//! `node7`); a directory is walked (sorted, hidden entries skipped) and its files are
//! grouped by stem the same way; with `--per-dir`, each directory holding files is one
//! machine instead. A directory that is a sysfs root is one machine. A machine is named
//! by its path without the extensions (`fleet/node7`). Files found by walking that are
//! no dump peerpath reads are skipped (counted on stderr); a file given by name that is
//! none fails its machine.
//!
//! Machines are imported on `--jobs` threads; each keeps only its fingerprint, so
//! memory is bounded by the machines being imported. Each cluster's first machine is
//! then imported again and evaluated. The output is the same bytes whatever `--jobs`.
//!
//! `--shard I/N` audits the I-th of N contiguous slices of the sorted machine list and
//! writes a part (the JSON table with each cluster's canonical form, without
//! differences); `peerpath audit merge PARTS…` joins parts into the table one run gives,
//! the same bytes (both end in `peerpath_audit::finish`).
//!
//! Exit codes: 0 the table; 1 a machine breaks a `--require` rule; 2 invalid input (no
//! path, a path that does not exist, no machine found) or a machine that failed to
//! import (the table is written first); 3 stdout could not be written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use peerpath_audit::{Audit, Canon, Cluster, Difference, Evaluation, Failed};
use peerpath_import::{to_platform_raw, ImportOptions, Machine};
use peerpath_model::Platform;
use rayon::prelude::*;

use crate::args::AuditArgs;
use crate::exit::Exit;

/// `peerpath audit --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AuditFormat {
    /// The table as text.
    Text,
    /// The table as JSON (docs/audit.md).
    Json,
    /// One self-contained HTML page.
    Html,
}

/// One machine: its name and files; `named` when a file was given by name.
#[derive(Debug)]
struct MachineFiles {
    name: String,
    files: Vec<PathBuf>,
    named: bool,
}

/// A file's stem: its name up to the first `.` (a name starting with `.` is hidden).
fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split('.').next().unwrap_or_default().to_owned()
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn machine_name(dir: &Path, stem: &str) -> String {
    if dir.as_os_str().is_empty() {
        stem.to_owned()
    } else {
        dir.join(stem).display().to_string()
    }
}

/// Walks `dir` (sorted), adding machines to `out` keyed by name.
fn walk(dir: &Path, per_dir: bool, out: &mut BTreeMap<String, MachineFiles>) -> Result<(), String> {
    if crate::import::is_sysfs_root(dir) {
        let name = dir.display().to_string();
        out.entry(name.clone()).or_insert(MachineFiles {
            name,
            files: vec![dir.to_path_buf()],
            named: true,
        });
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !hidden(p))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, per_dir, out)?;
        } else {
            let name = if per_dir {
                dir.display().to_string()
            } else {
                machine_name(dir, &stem(&p))
            };
            out.entry(name.clone())
                .or_insert_with(|| MachineFiles {
                    name,
                    files: Vec::new(),
                    named: false,
                })
                .files
                .push(p);
        }
    }
    Ok(())
}

/// The machines under the paths given, sorted by name.
fn discover(req: &AuditArgs) -> Result<Vec<MachineFiles>, String> {
    let mut out: BTreeMap<String, MachineFiles> = BTreeMap::new();
    for p in &req.paths {
        if p.is_dir() {
            walk(p, req.per_dir, &mut out)?;
        } else if p.is_file() {
            // The file and its same-stem siblings.
            let dir = p.parent().unwrap_or(Path::new(""));
            let s = stem(p);
            let name = machine_name(dir, &s);
            let mut files = vec![p.clone()];
            if let Ok(rd) = std::fs::read_dir(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            }) {
                for e in rd.flatten() {
                    let q = e.path();
                    let q = if dir.as_os_str().is_empty() {
                        PathBuf::from(e.file_name())
                    } else {
                        q
                    };
                    if q.is_file() && !hidden(&q) && stem(&q) == s && q != *p {
                        files.push(q);
                    }
                }
            }
            let m = out.entry(name.clone()).or_insert(MachineFiles {
                name,
                files: Vec::new(),
                named: true,
            });
            m.named = true;
            m.files.extend(files);
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    let mut machines: Vec<MachineFiles> = out.into_values().collect();
    for m in &mut machines {
        m.files.sort();
        m.files.dedup();
    }
    Ok(machines)
}

/// One machine imported.
#[derive(Debug)]
struct Imported {
    /// The fingerprint.
    fingerprint: String,
    /// The canonical form and the platform, when asked for (a cluster's representative).
    full: Option<(Canon, Platform)>,
}

/// One machine imported. `Ok(None)`: the files found by walking hold no dump (not a
/// machine). `full`: keep the canonical form and the platform.
fn import(m: &MachineFiles, skipped: &AtomicUsize, full: bool) -> Result<Option<Imported>, String> {
    let mut n = 0;
    let machine = crate::import::machine_of(&m.files, true, &mut n);
    if n > 0 {
        skipped.fetch_add(n, Ordering::Relaxed);
    }
    match machine? {
        Some(machine) => imported(&machine, full).map(Some),
        None if m.named => Err("no dump to import".to_owned()),
        None => Ok(None),
    }
}

/// The machine as `import` lays it out, validated by the loader, and its fingerprint.
fn imported(m: &Machine, full: bool) -> Result<Imported, String> {
    let raw = to_platform_raw(m, &ImportOptions::default());
    let platform = peerpath_load::validate_raw("<audit>", &raw).map_err(|d| {
        format!(
            "the imported platform does not load (a bug in the importer; please report it with the dump): {} diagnostics",
            d.len()
        )
    })?;
    let json = serde_json::to_value(&raw).map_err(|e| format!("cannot serialize: {e}"))?;
    let links = || {
        m.devices
            .iter()
            .filter_map(|d| d.link_sta.map(|l| (d.bdf.to_string(), l.to_string())))
    };
    Ok(Imported {
        fingerprint: peerpath_audit::fingerprint(&json, links()),
        full: full.then(|| (Canon::new(&json, links()), platform)),
    })
}

/// Runs `peerpath audit`.
pub(crate) fn run(req: &AuditArgs) -> Exit {
    let machines = match discover(req) {
        Ok(m) => match req.shard {
            Some(sh) => shard_of(m, sh),
            None => m,
        },
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::InvalidInput;
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(req.jobs.count().max(1))
        .build()
    {
        Ok(p) => p,
        Err(e) => return crate::exit::internal(&format!("cannot start threads: {e}")),
    };
    let skipped = AtomicUsize::new(0);
    let results: Vec<Result<Option<String>, String>> = pool.install(|| {
        machines
            .par_iter()
            .map(|m| import(m, &skipped, false).map(|o| o.map(|i| i.fingerprint)))
            .collect()
    });
    let mut seen = Vec::new();
    let mut failed = Vec::new();
    for (m, r) in machines.iter().zip(results) {
        match r {
            Ok(Some(fp)) => seen.push((m.name.clone(), fp)),
            Ok(None) => {}
            Err(error) => failed.push(Failed {
                machine: m.name.clone(),
                error,
            }),
        }
    }
    let skipped = skipped.into_inner();
    if skipped > 0 {
        eprintln!("note: skipped {skipped} file(s) that are no dump peerpath reads");
    }
    if seen.is_empty() && failed.is_empty() && req.shard.is_none() {
        eprintln!("error: no dump found under the paths given");
        return Exit::InvalidInput;
    }
    let by_name: BTreeMap<&str, &MachineFiles> =
        machines.iter().map(|m| (m.name.as_str(), m)).collect();
    let groups = peerpath_audit::clusters(seen.iter().cloned());
    // Each cluster's first machine, imported again and evaluated. The largest first: a
    // single run says what differs from it at once and drops each canonical form, so
    // memory holds one form per thread and the largest's, not one per cluster; a shard
    // keeps them all for `audit merge`.
    let keep = req.shard.is_some();
    let evaluate = |ms: &[String]| -> Result<(Canon, Evaluation), String> {
        let m = by_name[ms[0].as_str()];
        let (canon, p) = import(m, &AtomicUsize::new(0), true)?
            .and_then(|i| i.full)
            .ok_or_else(|| "the dump disappeared".to_owned())?;
        Ok((
            canon,
            peerpath_audit::evaluate(&p, &req.require, 1, !req.no_fix),
        ))
    };
    let Some(((_, first), rest)) = groups.split_first() else {
        return finish(Audit::default(), failed, req);
    };
    let largest = match pool.install(|| evaluate(first)) {
        Ok(x) => x,
        Err(e) => return crate::exit::internal(&format!("re-importing {}: {e}", first[0])),
    };
    let others: Vec<Result<Evaluated, String>> = pool.install(|| {
        rest.par_iter()
            .map(|(_, ms)| {
                let (canon, v) = evaluate(ms)?;
                Ok(if keep {
                    (Some(canon), Vec::new(), v)
                } else {
                    let d = peerpath_audit::differences(&canon, &largest.0);
                    (None, d, v)
                })
            })
            .collect()
    });
    let mut audit = Audit::default();
    let (canon0, v0) = largest;
    let firsts = std::iter::once(Ok((Some(canon0).filter(|_| keep), Vec::new(), v0)));
    for ((fp, ms), r) in groups.into_iter().zip(firsts.chain(others)) {
        let (canon, differs, verdicts) = match r {
            Ok(x) => x,
            Err(e) => return crate::exit::internal(&format!("re-importing {}: {e}", ms[0])),
        };
        audit.clusters.push(Cluster {
            fingerprint: fp,
            count: ms.len(),
            machines: ms,
            verdicts,
            differs,
            canonical: canon.map(|c| c.0),
        });
    }
    finish(audit, failed, req)
}

/// A cluster evaluated: its canonical form (kept for a part), what differs from the
/// largest (a single run) and the verdicts.
type Evaluated = (Option<Canon>, Vec<Difference>, Evaluation);

/// The table written: a shard's part, or the finished table.
fn finish(mut audit: Audit, failed: Vec<Failed>, req: &AuditArgs) -> Exit {
    audit.format = peerpath_audit::FORMAT;
    audit.requirements = req.require.iter().map(ToString::to_string).collect();
    audit.failed = failed;
    if req.shard.is_some() {
        // A part: the canonical forms stay, for `audit merge`.
        peerpath_audit::count(&mut audit);
        return write(&audit, AuditFormat::Json);
    }
    peerpath_audit::finish(&mut audit);
    write(&audit, req.format)
}

/// Writes the table and says how the run ended.
fn write(audit: &Audit, format: AuditFormat) -> Exit {
    let text = match format {
        AuditFormat::Json => match peerpath_render::audit_json(audit) {
            Ok(s) => s,
            Err(e) => return crate::exit::internal(&format!("cannot serialize the table: {e}")),
        },
        AuditFormat::Text => peerpath_render::audit_text(audit),
        AuditFormat::Html => peerpath_render::audit_html(audit),
    };
    out!("{text}");
    if !audit.failed.is_empty() {
        Exit::InvalidInput
    } else if audit.breaking > 0 {
        Exit::Findings
    } else {
        Exit::Success
    }
}

/// Parses `--shard I/N` (1 ≤ I ≤ N).
pub(crate) fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{s}`: expected I/N with 1 ≤ I ≤ N, e.g. 3/8");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The machines of shard `i` of `n`: the i-th of n contiguous slices of the sorted list.
fn shard_of<T>(machines: Vec<T>, (i, n): (usize, usize)) -> Vec<T> {
    let len = machines.len();
    let (from, to) = ((i - 1) * len / n, i * len / n);
    machines.into_iter().skip(from).take(to - from).collect()
}

/// Runs `peerpath audit merge PARTS…`.
pub(crate) fn merge(parts: &[PathBuf], format: AuditFormat) -> Exit {
    let mut read = Vec::new();
    for p in parts {
        let text = match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return Exit::InvalidInput;
            }
        };
        match serde_json::from_str::<Audit>(&text) {
            Ok(a) => read.push(a),
            Err(e) => {
                eprintln!(
                    "error: {}: not a part written by `peerpath audit --shard` ({e})",
                    p.display()
                );
                return Exit::InvalidInput;
            }
        }
    }
    let mut audit = match peerpath_audit::merge(read) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::InvalidInput;
        }
    };
    peerpath_audit::finish(&mut audit);
    write(&audit, format)
}
