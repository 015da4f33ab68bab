//! The entry points fuzzed and the properties checked on every case. A target takes
//! one input and returns `Err` with what went wrong when a property fails; a panic is
//! caught by the driver. `Ok(true)` says the input went deep (a platform loaded, a
//! dump gave devices): the driver keeps such inputs to mutate further.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use peerpath_generate::scale::{self, Scale};
use peerpath_generate::Flavor;
use peerpath_import::{
    decode_config, detect_dump, parse_log, parse_lspci, parse_lspci_tree, parse_markdown,
    parse_sysfs, resource_bars, to_platform_yaml, DumpKind, ImportOptions, Machine,
};
use peerpath_load::dump;
use peerpath_model::{Arch, CpuVendor, Outcome, Platform, MPS_VALUES};
use peerpath_topology::Topology;

use super::mutate::Shape;
use super::rng::Rng;

/// One case's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Text(String),
    Bytes(Vec<u8>),
}

impl Input {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Input::Text(s) => s.as_bytes(),
            Input::Bytes(b) => b,
        }
    }
}

/// The entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `peerpath_load::load_str`: platform files.
    Platform,
    /// `peerpath_load::scenario::load_scenario_str`: scenario files.
    Scenario,
    /// `parse_lspci` (lspci -vvv/-vvnn/-v/plain) and the import.
    Lspci,
    /// `parse_lspci_tree` (lspci -t/-tv) and the import.
    Tree,
    /// `parse_log` (dmesg, journalctl -k, script logs) and the import.
    Log,
    /// `parse_markdown` (reports with dumps in fenced blocks) and the import.
    Markdown,
    /// `detect_dump`, then the parser of the kind detected and the import.
    Detect,
    /// `parse_sysfs` on a tree written to a temporary directory, and the import.
    Sysfs,
    /// `decode_config` (binary config space) and `resource_bars`.
    Config,
    /// `peerpath_timing::compare::parse` (`bandwidth --compare`).
    Compare,
    /// `peerpath generate` (`peerpath_generate::scale`) with drawn sizes: the file loads.
    Generate,
}

pub(crate) const ALL: [Target; 11] = [
    Target::Platform,
    Target::Scenario,
    Target::Lspci,
    Target::Tree,
    Target::Log,
    Target::Markdown,
    Target::Detect,
    Target::Sysfs,
    Target::Config,
    Target::Compare,
    Target::Generate,
];

impl Target {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Platform => "platform",
            Target::Scenario => "scenario",
            Target::Lspci => "lspci",
            Target::Tree => "tree",
            Target::Log => "log",
            Target::Markdown => "markdown",
            Target::Detect => "detect",
            Target::Sysfs => "sysfs",
            Target::Config => "config",
            Target::Compare => "compare",
            Target::Generate => "generate",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Target> {
        ALL.into_iter().find(|t| t.name() == s)
    }

    pub(crate) fn shape(self) -> Shape {
        match self {
            Target::Platform | Target::Scenario => Shape::Yaml,
            _ => Shape::Dump,
        }
    }

    /// The largest input the mutators make, in bytes: small inputs keep the rate high
    /// (the corpus files are below it, but for the largest topologies).
    pub(crate) fn max_len(self) -> usize {
        match self {
            Target::Config => 4096,
            Target::Generate => 0,
            Target::Platform | Target::Scenario => 16 * 1024,
            _ => 8 * 1024,
        }
    }

    /// Whether the input is binary.
    pub(crate) fn binary(self) -> bool {
        self == Target::Config
    }
}

/// What the targets share, built once per worker.
pub(crate) struct Ctx {
    /// The repository root (scenarios' external platforms are read relative to it).
    pub repo: PathBuf,
    /// A scratch directory of this worker (sysfs trees).
    pub scratch: PathBuf,
    /// The platform `--compare` inputs are compared with, and its matrix.
    pub timing: Topology<'static>,
    pub timing_matrix: peerpath_timing::matrix::Matrix,
    /// Check every property on every input (regressions, replays): no sampling.
    pub full: bool,
    /// Hashes of the machines and platforms whose expensive properties this worker
    /// has checked: a mutation that changes nothing they depend on is not checked
    /// again (the parse still runs).
    pub seen: RefCell<HashSet<u64>>,
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Ctx {
    /// Whether `what` is new to this worker (then remembered).
    fn first_time(&self, what: &impl std::fmt::Debug, salt: u64) -> bool {
        let h = fnv(format!("{what:?}").as_bytes()) ^ salt;
        let mut seen = self.seen.borrow_mut();
        if seen.len() > 1 << 16 {
            seen.clear();
        }
        seen.insert(h)
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("scratch", &self.scratch)
            .finish()
    }
}

/// Runs one input through `target`, checking the properties. `rng` draws the choices
/// a case makes beside its input (import options, generate sizes): it is seeded from
/// the input, so a saved input replays the same way.
pub(crate) fn run(target: Target, input: &Input, cx: &Ctx) -> Result<bool, String> {
    let mut rng = Rng::mix(&[fnv(input.as_bytes())]);
    let text = match input {
        Input::Text(s) => s.as_str(),
        Input::Bytes(_) => "",
    };
    match target {
        Target::Platform => platform_file(text, cx, &mut rng),
        Target::Scenario => scenario_file(text, cx),
        Target::Lspci => import(&parse_lspci(text, None), cx, &mut rng),
        Target::Tree => import(&parse_lspci_tree(text).to_machine(), cx, &mut rng),
        Target::Log => import(&parse_log(text), cx, &mut rng),
        Target::Markdown => import(&parse_markdown(text), cx, &mut rng),
        Target::Detect => detected(text, cx, &mut rng),
        Target::Sysfs => sysfs(text, cx, &mut rng),
        Target::Config => config(input.as_bytes()),
        Target::Compare => compare(text, cx),
        Target::Generate => generate(&mut rng),
    }
}

/// FNV-1a: the seed of a case's choices, from its input.
pub(crate) fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The loader's two paths agree (issue 19, item 6): where the fast path loads a
/// platform from `text`, the located path loads the same one.
fn paths_agree(name: &str, text: &str) -> Result<(), String> {
    let Some(fast) = peerpath_load::load_fast(name, text) else {
        return Ok(());
    };
    match peerpath_load::load_located(name, text) {
        Ok(q) if q == fast => Ok(()),
        Ok(_) => Err("the fast and the located path load two platforms".to_owned()),
        Err(d) => Err(format!(
            "the fast path loads what the located path refuses:\n{d}"
        )),
    }
}

/// Load; on success every property of a loaded platform.
fn platform_file(text: &str, cx: &Ctx, rng: &mut Rng) -> Result<bool, String> {
    paths_agree("fuzz.yaml", text)?;
    match peerpath_load::load_str("fuzz.yaml", text) {
        Ok(p) => {
            if cx.full || cx.first_time(&p, 1) {
                loaded(&p, text, cx.full, rng)?;
            }
            Ok(true)
        }
        Err(d) => {
            if d.is_empty() {
                return Err("load failed without a diagnostic".to_owned());
            }
            // The diagnostics render (what `peerpath check` prints).
            let shown = d.to_string();
            if shown.is_empty() {
                return Err("load failed with diagnostics that print as nothing".to_owned());
            }
            Ok(false)
        }
    }
}

fn scenario_file(text: &str, cx: &Ctx) -> Result<bool, String> {
    let path = cx.repo.join("scenarios/fuzz.yaml");
    match peerpath_load::scenario::load_scenario_str(&path, text) {
        Ok(s) => {
            // The scenario's platform goes through load → dump → load like a file.
            if cx.full || cx.first_time(&s.platform, 2) {
                identity(&s.platform)?;
            }
            Ok(true)
        }
        Err(d) => {
            if d.is_empty() {
                return Err("scenario load failed without a diagnostic".to_owned());
            }
            let _ = d.to_string();
            Ok(false)
        }
    }
}

/// The properties of a platform that loaded from `text`.
fn loaded(p: &Platform, text: &str, full: bool, rng: &mut Rng) -> Result<(), String> {
    // Deterministic: the same text loads as the same platform.
    match peerpath_load::load_str("fuzz.yaml", text) {
        Ok(q) if q == *p => {}
        Ok(_) => return Err("the same text loaded twice gives two platforms".to_owned()),
        Err(d) => return Err(format!("the same text loaded, then did not:\n{d}")),
    }
    identity(p)?;
    // Evaluating every pairing costs more than the rest together: one in 4.
    if !full && !rng.one_in(4) {
        return Ok(());
    }
    // `check` and `simulate` agree: a platform that loads is evaluated and printed.
    let topo = Topology::new(p);
    let report = peerpath_rules::evaluate(&topo);
    if report.pairs.len() != p.imports.len() {
        return Err(format!(
            "simulate evaluated {} pairings of {}",
            report.pairs.len(),
            p.imports.len()
        ));
    }
    let json = peerpath_render::simulate_json(p, &report.pairs)
        .map_err(|e| format!("simulate --format json failed: {e}"))?;
    let _ = peerpath_render::simulate_text(p, &report.pairs, peerpath_render::Style::default());
    // Deterministic: a second evaluation prints the same bytes.
    if full || rng.one_in(4) {
        let again = peerpath_rules::evaluate(&Topology::new(p));
        if peerpath_render::simulate_json(p, &again.pairs)
            .ok()
            .as_deref()
            != Some(json.as_str())
        {
            return Err("simulate evaluated twice prints two reports".to_owned());
        }
    }
    bandwidth_reads_back(&topo)?;
    // fix --apply → load, on small platforms (the search evaluates many platforms).
    if p.nodes.len() <= 40 && (full || rng.one_in(2)) {
        if let Some(pair) = report.pairs.iter().find(|r| r.outcome != Outcome::Works) {
            fix_applies(p, &pair.importer, &pair.export)?;
        }
    }
    Ok(())
}

/// load → dump → load is the identity, and the dump is a fixed point.
fn identity(p: &Platform) -> Result<(), String> {
    let text = dump::to_yaml(p);
    // A dump quotes its numbers: the fast path's kind of file.
    paths_agree("dump.yaml", &text)?;
    match peerpath_load::load_str("dump.yaml", &text) {
        Ok(q) if q == *p => {}
        Ok(_) => return Err(format!("load → dump → load changed the platform:\n{text}")),
        Err(d) => {
            return Err(format!(
                "the dump of a loaded platform does not load:\n{d}\n{text}"
            ))
        }
    }
    Ok(())
}

/// `peerpath bandwidth`'s text, read by `--compare`, is 0% off on every cell.
fn bandwidth_reads_back(topo: &Topology<'_>) -> Result<(), String> {
    let m = peerpath_timing::matrix::Matrix::build(topo, 1);
    let text = peerpath_render::bandwidth_text(topo, &m);
    let cells = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| {
            w.len() > 1
                && w[0].parse::<usize>().is_ok()
                && w[1..]
                    .iter()
                    .all(|c| *c == "-" || *c == "n/a" || c.parse::<f64>().is_ok())
        })
        .flat_map(|w| w.into_iter().skip(1))
        .filter(|c| c.parse::<f64>().is_ok())
        .count();
    if cells == 0 {
        return Ok(());
    }
    let measured = peerpath_timing::compare::parse(&text)
        .map_err(|e| format!("bandwidth --compare refuses bandwidth's output: {e}\n{text}"))?;
    let report = peerpath_timing::compare::compare(topo, &m, &measured);
    let cmp = &report.comparisons;
    if !report.unknown_devices.is_empty() || !report.unmatched.is_empty() || cmp.len() != cells {
        return Err(format!(
            "bandwidth's output compared with itself: {} of {cells} cells, {} devices unknown, {} cells unmatched\n{text}",
            cmp.len(),
            report.unknown_devices.len(),
            report.unmatched.len()
        ));
    }
    if let Some(c) = cmp.iter().find(|c| c.error() != 0.0) {
        return Err(format!(
            "bandwidth's output compared with itself: {} -> {} {} is {:+.3}% off",
            c.from,
            c.to,
            c.metric.as_str(),
            c.error() * 100.0
        ));
    }
    Ok(())
}

fn fix_applies(p: &Platform, importer: &str, export: &str) -> Result<(), String> {
    let bound = peerpath_fix::Bound {
        max_changes: 1,
        ..peerpath_fix::Bound::default()
    };
    // What `--apply` edits: the platform's file (written once, as a user's would be).
    let text = peerpath_load::dump::to_yaml(p);
    let base = peerpath_load::load_str("platform.yaml", &text)
        .map_err(|d| format!("the dumped platform does not load:\n{d}"))?;
    let src = peerpath_fix::Source {
        text: &text,
        base: &base,
        within: None,
    };
    let report = peerpath_fix::fix(&base, importer, export, bound, Some(&src))
        .map_err(|e| format!("fix of an evaluated pairing: {e}"))?;
    if report.searched.dropped > 0 {
        return Err(format!(
            "fix dropped {} proposals: the edited file did not give them",
            report.searched.dropped
        ));
    }
    match report.applied_file(1, Some(&src)) {
        Some(Err(e)) => Err(format!("fix --apply: {e}\n{text}")),
        Some(Ok(written)) => match peerpath_load::load_str("applied.yaml", &written) {
            Ok(_) => Ok(()),
            Err(d) => Err(format!(
                "fix --apply wrote a platform that does not load:\n{d}\n{written}"
            )),
        },
        None => Ok(()),
    }
}

/// Import options drawn for a case: the flags of `peerpath import`.
fn options(rng: &mut Rng) -> ImportOptions {
    let d = ImportOptions::default();
    if rng.one_in(2) {
        return d;
    }
    ImportOptions {
        arch: [
            None,
            Some(Arch::Arm64),
            Some(Arch::X86_64),
            Some(Arch::Ppc64),
        ][rng.below(4)],
        cpu_vendor: [None, Some(CpuVendor::Amd), Some(CpuVendor::Intel)][rng.below(3)],
        cpu_family: [None, Some(0x19), Some(0), Some(u32::MAX)][rng.below(4)],
        default_mpss: MPS_VALUES[rng.below(MPS_VALUES.len())],
        measured_acs_ctl: rng.one_in(2),
        export_gpu_bars: !rng.one_in(4),
        assumed_gpu_bar: [None, Some(4096), Some(256 << 20), Some(1 << 62)][rng.below(4)],
        acs_from_groups: rng.one_in(2),
        ..d
    }
}

/// One case in this many checks `import → load` (docs/fuzzing.md has the figures).
pub(crate) const IMPORT_ONE_IN: usize = 8;

/// What `import` writes loads, and the same machine gives the same bytes. Checked
/// once per machine and options, on a sample of the cases.
fn import(m: &Machine, cx: &Ctx, rng: &mut Rng) -> Result<bool, String> {
    let opts = options(rng);
    // The parse ran; the import and the load (a YAML round trip, 10–30 times the
    // parse) run for one case in 8, and once per machine and options.
    if !cx.full && (!rng.one_in(IMPORT_ONE_IN) || !cx.first_time(&(m, &opts), 3)) {
        return Ok(!m.devices.is_empty());
    }
    let yaml = to_platform_yaml(m, &opts);
    if let Err(d) = peerpath_load::load_str("import.yaml", &yaml) {
        return Err(format!("the imported platform does not load:\n{d}\n{yaml}"));
    }
    if rng.one_in(16) && to_platform_yaml(m, &opts) != yaml {
        return Err("one machine imported twice gives two texts".to_owned());
    }
    Ok(!m.devices.is_empty())
}

fn detected(text: &str, cx: &Ctx, rng: &mut Rng) -> Result<bool, String> {
    let Some(d) = detect_dump(text) else {
        return Ok(false);
    };
    let m = match d.kind {
        DumpKind::Lspci => parse_lspci(text, None),
        DumpKind::LspciTree => parse_lspci_tree(text).to_machine(),
        DumpKind::Log => parse_log(text),
        DumpKind::Markdown => parse_markdown(text),
    };
    import(&m, cx, rng)
}

fn config(bytes: &[u8]) -> Result<bool, String> {
    let (facts, _) = decode_config(bytes);
    let header = facts
        .as_ref()
        .map(|_| bytes.get(0x0e).map_or(0, |h| h & 0x7f));
    let _ = resource_bars(&String::from_utf8_lossy(bytes), header);
    Ok(facts.is_some())
}

fn compare(text: &str, cx: &Ctx) -> Result<bool, String> {
    match peerpath_timing::compare::parse(text) {
        Ok(measured) => {
            let report =
                peerpath_timing::compare::compare(&cx.timing, &cx.timing_matrix, &measured);
            let _ = peerpath_render::compare_text(&report, &[]);
            Ok(true)
        }
        Err(_) => Ok(false),
    }
}

/// `peerpath generate` with sizes drawn from the case: what it writes loads, with the
/// asked endpoints and exports, and the same arguments give the same bytes.
fn generate(rng: &mut Rng) -> Result<bool, String> {
    // Small sizes keep the rate; one case in 32 up to 600 endpoints (3 host bridges).
    let most = if rng.one_in(32) { 600 } else { 24 };
    let endpoints = 1 + rng.below(most);
    let flavor = [Flavor::Amd, Flavor::Arm, Flavor::Intel][rng.below(3)];
    let mut s = Scale {
        endpoints,
        exports: 0,
        seed: rng.next(),
        flavor,
    };
    s.exports = rng.below(s.gpus() + 1);
    let yaml = scale::yaml(&s).map_err(|e| format!("generate refused {s:?}: {e}"))?;
    let p = peerpath_load::load_str("generated.yaml", &yaml)
        .map_err(|d| format!("generate {s:?} wrote a platform that does not load:\n{d}"))?;
    let endpoints = p
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, peerpath_model::NodeKind::Endpoint(_)))
        .count();
    if endpoints != s.endpoints || p.exports.len() != s.exports {
        return Err(format!(
            "generate {s:?}: {endpoints} endpoints and {} exports loaded",
            p.exports.len()
        ));
    }
    if rng.one_in(8) && scale::yaml(&s).ok().as_deref() != Some(yaml.as_str()) {
        return Err(format!("generate {s:?} twice gives two texts"));
    }
    Ok(true)
}

/// A sysfs tree as text: `== PATH` then the file's lines, `== PATH hex` then its
/// bytes in hex, `== PATH -> TARGET` a symbolic link.
fn sysfs(text: &str, cx: &Ctx, rng: &mut Rng) -> Result<bool, String> {
    let root = &cx.scratch;
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).map_err(|e| format!("scratch {}: {e}", root.display()))?;
    write_archive(root, text);
    import(&parse_sysfs(root), cx, rng)
}

/// The parts of an archive: path, and what is there.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    File(Vec<u8>),
    Link(String),
}

pub(crate) fn parse_archive(text: &str) -> Vec<(String, Entry)> {
    let mut out: Vec<(String, Entry)> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let mut head: Option<&str> = None;
    let flush = |head: Option<&str>, body: &mut Vec<&str>, out: &mut Vec<(String, Entry)>| {
        if let Some(h) = head {
            if let Some((path, target)) = h.split_once(" -> ") {
                out.push((path.to_owned(), Entry::Link(target.to_owned())));
            } else if let Some(path) = h.strip_suffix(" hex") {
                let hex: String = body
                    .concat()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let bytes = (0..hex.len() / 2)
                    .filter_map(|i| hex.get(2 * i..2 * i + 2))
                    .filter_map(|b| u8::from_str_radix(b, 16).ok())
                    .collect();
                out.push((path.to_owned(), Entry::File(bytes)));
            } else {
                let mut t = body.join("\n");
                t.push('\n');
                out.push((h.to_owned(), Entry::File(t.into_bytes())));
            }
        }
        body.clear();
    };
    for line in text.split('\n') {
        if let Some(h) = line.strip_prefix("== ") {
            flush(head, &mut body, &mut out);
            head = Some(h);
        } else {
            body.push(line);
        }
    }
    flush(head, &mut body, &mut out);
    out
}

/// `path` below `root` when it is relative and stays inside (no `..`, no root).
fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let ok = p.components().all(|c| matches!(c, Component::Normal(_)));
    (ok && p.components().count() > 0).then(|| root.join(p))
}

/// A link target that, resolved from the link's directory, stays inside the tree.
fn target_inside(link: &str, target: &str) -> bool {
    let mut depth = Path::new(link).components().count().saturating_sub(1) as i64;
    for c in Path::new(target).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn write_archive(root: &Path, text: &str) {
    for (path, entry) in parse_archive(text) {
        let Some(full) = inside(root, &path) else {
            continue;
        };
        if let Some(dir) = full.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match entry {
            Entry::File(bytes) => {
                let _ = std::fs::write(&full, bytes);
            }
            Entry::Link(target) if target_inside(&path, &target) => {
                #[cfg(unix)]
                let _ = std::os::unix::fs::symlink(&target, &full);
            }
            Entry::Link(_) => {}
        }
    }
}

/// A directory tree as an archive (the sysfs seeds).
pub(crate) fn archive_of(root: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else {
                entries.push(path);
            }
        }
    }
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Ok(t) = std::fs::read_link(&path) {
            out.push_str(&format!("== {rel} -> {}\n", t.display()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        match String::from_utf8(bytes.clone()) {
            Ok(s) if !s.contains('\0') && !s.starts_with("== ") => {
                out.push_str(&format!(
                    "== {rel}\n{}\n",
                    s.strip_suffix('\n').unwrap_or(&s)
                ));
            }
            _ => {
                out.push_str(&format!("== {rel} hex\n"));
                for chunk in bytes.chunks(32) {
                    let line: String = chunk.iter().map(|b| format!("{b:02x}")).collect();
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_stay_inside_their_root() {
        assert!(inside(Path::new("/r"), "sys/bus").is_some());
        assert!(inside(Path::new("/r"), "../etc/passwd").is_none());
        assert!(inside(Path::new("/r"), "/etc/passwd").is_none());
        assert!(inside(Path::new("/r"), "").is_none());
        assert!(target_inside(
            "sys/bus/pci/devices/x",
            "../../../devices/pci0000:00/x"
        ));
        assert!(!target_inside("sys/x", "../../etc"));
        assert!(!target_inside("sys/x", "/dev/zero"));
        let a = "== a/b\nline\n== a/c hex\n00ff\n== a/d -> ../b\n";
        assert_eq!(
            parse_archive(a),
            [
                ("a/b".to_owned(), Entry::File(b"line\n".to_vec())),
                ("a/c".to_owned(), Entry::File(vec![0, 255])),
                ("a/d".to_owned(), Entry::Link("../b".to_owned())),
            ]
        );
    }
}
