//! `peerpath`: what Linux will decide about a PCIe peer-to-peer DMA path, what the
//! hardware will then do, and why.

/// `print!` to stdout, where a closed pipe (`peerpath simulate | head`) ends the run
/// quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// `println!` through [`out!`].
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => { out!("{}\n", format_args!($($arg)*)) };
}

mod args;
mod audit;
mod exit;
mod fix;
mod generate;
mod import;
mod input;
mod output;
mod pairing;
mod progress;
mod scenarios;
mod schema;
mod show;
mod simulate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use args::{
    AuditArgs, AuditCommand, BandwidthArgs, Cli, Command, DotArgs, DrawArgs, FailOn, FixArgs,
    Format, GenerateArgs, PairingRequestArgs, PlatformArgs, SimulateArgs, ThroughputArgs, ViaArg,
};
use clap::Parser;
use exit::Exit;
use peerpath_render::Style;
use peerpath_rules::Severity;

/// Writes to stdout. A reader that went away (broken pipe) is a normal end: exit 0.
/// Any other write error is an internal error (exit 3).
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        exit::terminate(exit::stdout_failed(&e));
    }
}

/// Parses the command line and hands each subcommand its request: a table, one line
/// per subcommand.
fn main() -> ExitCode {
    let exit = match &Cli::parse().command {
        Command::Simulate(a) => simulate(a),
        Command::Explain(a) => explain(a),
        Command::Kernels(a) => kernels(a),
        Command::Fix(a) => fix(a),
        Command::Check(a) => check(&a.platforms),
        Command::Scenarios(a) => run_scenarios(&a.paths),
        Command::Dot(a) => dot(a),
        Command::Draw(a) => draw(a),
        Command::Report(a) => show::report(&a.source, a.out.output.as_deref(), a.out.force),
        Command::Groups(a) => groups(&a.source, a.format),
        Command::Import(a) => import::run(a),
        Command::Throughput(a) => throughput(a),
        Command::Bandwidth(a) => bandwidth(a),
        Command::Generate(a) => generate(a),
        Command::Audit(a) => audit(a),
        Command::Schema(a) => schema::run(a),
    };
    exit.into()
}

/// `peerpath fix`: the pairing, the platform as the command sees it and as the file
/// gives it, then the search.
fn fix(a: &FixArgs) -> Exit {
    let (pair, (p, file)) = match a
        .pairing
        .required("fix")
        .and_then(|(pair, source)| Ok((pair, fix_inputs(&source, &a.via)?)))
    {
        Ok(x) => x,
        Err(e) => return e,
    };
    fix::run(
        &p,
        file.as_ref()
            .map(|(text, base, within)| peerpath_fix::Source {
                text,
                base,
                within: *within,
            })
            .as_ref(),
        &fix::FixRequest {
            importer: pair.importer,
            export: pair.export,
            json: a.format == Format::Json,
            apply: a.apply,
            pick: usize::from(a.pick),
            out: a.out.clone(),
            max_changes: usize::from(a.max_changes),
            vary_via: a.via.via.is_none(),
        },
        style(),
    )
}

/// `peerpath dot`, with `--pairing IMPORTER EXPORT` still read.
fn dot(a: &DotArgs) -> Exit {
    let legacy = a
        .legacy
        .clone()
        .and_then(|v| match <[String; 2]>::try_from(v) {
            Ok([importer, export]) => Some(pairing::Pair { importer, export }),
            Err(_) => None,
        });
    match a.pairing.optional("dot", legacy) {
        Ok((pair, source)) => dot_graph(&source, pair.as_ref()),
        Err(e) => e,
    }
}

/// `peerpath draw`, with `--pair IMPORTER:EXPORT` still read.
fn draw(a: &DrawArgs) -> Exit {
    let legacy = match a.legacy.as_deref().map(show::legacy_pair).transpose() {
        Ok(l) => l,
        Err(e) => return e,
    };
    match a.pairing.optional("draw", legacy) {
        Ok((pair, source)) => show::draw(
            &source,
            pair.as_ref(),
            peerpath_render::DrawOptions {
                groups: a.groups,
                focus: !a.all,
            },
            a.out.output.as_deref(),
            a.out.force,
        ),
        Err(e) => e,
    }
}

/// `peerpath generate`: a platform of the scale-test shape, or with `--fleet` dumps.
fn generate(a: &GenerateArgs) -> Exit {
    match a.fleet {
        Some(machines) => generate::run_fleet(
            &peerpath_generate::fleet::Fleet {
                machines,
                drift: a.drift,
                endpoints: a.endpoints.unwrap_or(16),
                seed: a.seed,
            },
            a.out.output.as_deref(),
            a.out.force,
        ),
        None => generate::run(
            &peerpath_generate::scale::Scale {
                endpoints: a.endpoints.unwrap_or_default(),
                exports: a.exports.unwrap_or_default(),
                seed: a.seed,
                flavor: a.flavor,
            },
            &a.out,
        ),
    }
}

/// `peerpath audit`, or `peerpath audit merge`.
fn audit(a: &AuditArgs) -> Exit {
    if let Some(AuditCommand::Merge { parts, format }) = &a.merge {
        return audit::merge(parts, *format);
    }
    audit::run(a)
}

fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Loads the platform (or imports the machine under `--sysfs`) or prints its diagnostics.
fn platform_or_exit(source: &PlatformArgs) -> Result<peerpath_model::Platform, Exit> {
    let mut p = if let Some(root) = &source.sysfs {
        import::sysfs_platform(root)?
    } else {
        input::load_platform(source.platform.as_deref()).map_err(|d| {
            input::print_diagnostics(d);
            Exit::InvalidInput
        })?
    };
    if let Some(r) = source.kernel {
        p.kernel.version = Some(r);
        p.kernel.release = Some(r.to_string());
    }
    Ok(p)
}

/// What `fix` reads: the platform as the command sees it (`--kernel`, `--via`) and,
/// unless imported in memory, the file's text, the platform as the file gives it and
/// the key it sits under in a scenario — what `--apply` edits.
#[allow(clippy::type_complexity)]
fn fix_inputs(
    source: &PlatformArgs,
    via: &ViaArg,
) -> Result<
    (
        peerpath_model::Platform,
        Option<(String, peerpath_model::Platform, Option<&'static str>)>,
    ),
    Exit,
> {
    if source.sysfs.is_some() {
        return Ok((platform_via(source, via)?, None));
    }
    let base = input::load_platform(source.platform.as_deref()).map_err(|d| {
        input::print_diagnostics(d);
        Exit::InvalidInput
    })?;
    let (text, within) = match source.platform.as_deref() {
        None => (input::DEFAULT_PLATFORM.to_owned(), None),
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| {
                eprintln!("error: {}: cannot read: {e}", path.display());
                Exit::InvalidInput
            })?,
            peerpath_load::scenario::is_scenario_file(path).then_some("platform"),
        ),
    };
    let mut p = base.clone();
    if let Some(r) = source.kernel {
        p.kernel.version = Some(r);
        p.kernel.release = Some(r.to_string());
    }
    if let Some(v) = via.via {
        p.override_via(v);
    }
    Ok((p, Some((text, base, within))))
}

/// `platform_or_exit`, with every export's `via` overridden when `--via` is given.
fn platform_via(source: &PlatformArgs, via: &ViaArg) -> Result<peerpath_model::Platform, Exit> {
    let mut p = platform_or_exit(source)?;
    if let Some(v) = via.via {
        p.override_via(v);
    }
    Ok(p)
}

fn simulate(a: &SimulateArgs) -> Exit {
    let p = match platform_via(&a.source, &a.via) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let summary = a.summary.then_some(a.all);
    let output = match (summary, a.matrix, a.format) {
        (Some(all), _, _) => simulate::Output::Summary { all },
        (None, true, Format::Text) => simulate::Output::Matrix,
        (None, true, Format::Json) => simulate::Output::MatrixJson,
        (None, false, Format::Text) => simulate::Output::Text,
        (None, false, Format::Json) => simulate::Output::Json,
    };
    let jobs = a.jobs.count();
    let mut stdout = std::io::stdout().lock();
    let tally = match simulate::run(&topo, output, jobs, style(), &mut stdout) {
        Ok(t) => t,
        Err(e) => return exit::stdout_failed(&e),
    };
    let threshold = match a.fail_on {
        None => return Exit::Success,
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
    };
    if simulate::fails_at(&tally, threshold) {
        Exit::Findings
    } else {
        Exit::Success
    }
}

/// The pairing `command` names, and its platform with `--via` applied.
fn pairing_platform(
    a: &PairingRequestArgs,
    command: &str,
) -> Result<(pairing::Pair, peerpath_model::Platform), Exit> {
    a.pairing
        .required(command)
        .and_then(|(pair, source)| Ok((pair, platform_via(&source, &a.via)?)))
}

fn explain(a: &PairingRequestArgs) -> Exit {
    let (names, p) = match pairing_platform(a, "explain") {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    match peerpath_rules::evaluate_pair(&topo, &names.importer, &names.export) {
        Ok(pair) => {
            match a.format {
                Format::Text => {
                    out!("{}", peerpath_render::explain_text(&topo, &pair, style()));
                    let timing = peerpath_timing::pair_timing(&topo, &pair);
                    out!("{}", peerpath_render::explain_timing(&timing));
                }
                Format::Json => match peerpath_render::pair_json(&p, &pair) {
                    Ok(s) => out!("{s}"),
                    Err(e) => return exit::internal(&format!("cannot serialize the pairing: {e}")),
                },
            }
            Exit::Success
        }
        Err(e) => unknown_pair(&e),
    }
}

/// Reads a measured run for `--compare` or `--calibrate` (exit 2 when it cannot).
fn measured_run(path: &std::path::Path) -> Result<peerpath_timing::compare::Measured, Exit> {
    match std::fs::read_to_string(path) {
        Ok(text) => peerpath_timing::compare::parse(&text).map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            Exit::InvalidInput
        }),
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", path.display());
            Err(Exit::InvalidInput)
        }
    }
}

/// `bandwidth --calibrate`: fit, print, write the calibrated platform.
fn calibrate(source: &PlatformArgs, measured: &std::path::Path, out: &output::OutputArgs) -> Exit {
    let file = out.file();
    if let Err(e) = out.refuse_overwrite() {
        return e;
    }
    let m = match measured_run(measured) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (cal, q) = peerpath_timing::calibrate::calibrate(&p, &m);
    let report = peerpath_render::calibrate_text(&cal, &measured.display().to_string());
    let yaml = format!(
        "# Calibrated by `peerpath bandwidth --calibrate {}` from platform {}:\n{}{}",
        measured.display(),
        p.name,
        report
            .lines()
            .take_while(|l| !l.is_empty())
            .map(|l| format!("#   {l}\n"))
            .collect::<String>(),
        peerpath_load::dump::to_yaml(&q)
    );
    if file.is_some() {
        out!("{report}");
    } else {
        eprint!("{report}");
    }
    output::written(file, &yaml)
}

fn kernels(a: &PairingRequestArgs) -> Exit {
    let (names, p) = match pairing_platform(a, "kernels") {
        Ok(x) => x,
        Err(e) => return e,
    };
    let format = a.format;
    match peerpath_rules::across(&p, &names.importer, &names.export) {
        Ok(a) => {
            match format {
                Format::Text => out!("{}", peerpath_render::kernels_text(&a)),
                Format::Json => match peerpath_render::kernels_json(&a) {
                    Ok(s) => out!("{s}"),
                    Err(e) => return exit::internal(&format!("cannot serialize: {e}")),
                },
            }
            Exit::Success
        }
        Err(e) => unknown_pair(&e),
    }
}

fn bandwidth(a: &BandwidthArgs) -> Exit {
    if let Some(measured) = &a.calibrate {
        return calibrate(&a.source, measured, &a.out);
    }
    // The measured run is read before the platform, so its errors come first.
    let measured = match a.compare.as_deref().map(measured_run).transpose() {
        Ok(m) => m,
        Err(e) => return e,
    };
    let p = match platform_or_exit(&a.source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let jobs = a
        .jobs
        .map_or_else(peerpath_rules::default_jobs, usize::from);
    let m = peerpath_timing::matrix::Matrix::build(&topo, jobs);
    if a.concurrent {
        let c = peerpath_timing::concurrent::concurrent(&topo, &m);
        match a.format {
            Format::Text => out!("{}", peerpath_render::concurrent_text(&m, &c)),
            Format::Json => outln!("{}", peerpath_render::concurrent_json(&topo, &m, &c)),
        }
        return Exit::Success;
    }
    match (measured, a.format) {
        (None, Format::Text) => out!("{}", peerpath_render::bandwidth_text(&topo, &m)),
        (None, Format::Json) => outln!("{}", peerpath_render::bandwidth_json(&topo, &m)),
        (Some(measured), format) => {
            let r = peerpath_timing::compare::compare(&topo, &m, &measured);
            let model = m.assumptions_among(&r.matched);
            match format {
                Format::Text => out!("{}", peerpath_render::compare_text(&r, &model)),
                Format::Json => outln!("{}", peerpath_render::compare_json(&r, &model)),
            }
            if a.strict && !(r.unmatched.is_empty() && r.unknown_devices.is_empty()) {
                eprintln!(
                    "error: --strict: {} measured cells not compared, {} measured devices not in the platform",
                    r.unmatched.len(),
                    r.unknown_devices.len()
                );
                return Exit::Findings;
            }
        }
    }
    Exit::Success
}

fn check(platforms: &[PathBuf]) -> Exit {
    if platforms.is_empty() {
        return match input::load_platform(None) {
            Ok(p) => {
                outln!("{}: ok ({})", input::DEFAULT_NAME, p.name);
                Exit::Success
            }
            Err(d) => {
                input::print_diagnostics(d);
                Exit::InvalidInput
            }
        };
    }
    let files = match files_or_exit(
        input::expand_yaml_args(platforms),
        "platform files (*.yaml, *.yml)",
    ) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut worst = Exit::Success;
    for f in &files {
        match input::load_platform(Some(f)) {
            Ok(p) => outln!("{}: ok ({})", f.display(), p.name),
            Err(d) => {
                input::print_diagnostics(d);
                worst = Exit::InvalidInput;
            }
        }
    }
    worst
}

/// The expanded file list, or exit 2 when it cannot be read or is empty.
fn files_or_exit(files: std::io::Result<Vec<PathBuf>>, what: &str) -> Result<Vec<PathBuf>, Exit> {
    match files {
        Ok(f) if f.is_empty() => {
            eprintln!("error: no {what} found in the given directories");
            Err(Exit::InvalidInput)
        }
        Ok(f) => Ok(f),
        Err(e) => {
            eprintln!("error: {e}");
            Err(Exit::InvalidInput)
        }
    }
}

/// Prints an unknown pairing with the valid names (exit 2): a close name where one is
/// likely meant, and at most [`NAMES_LISTED`] names of each list (a platform of
/// 100,000 endpoints has as many importers).
fn unknown_pair(e: &peerpath_rules::UnknownPair) -> Exit {
    eprintln!("error: {e}");
    let importer_known = e.valid_importers.contains(&e.importer);
    if !importer_known {
        let names = e.valid_importers.iter().map(String::as_str);
        if let Some(c) = peerpath_load::closest_name(&e.importer, names) {
            eprintln!("  did you mean importer `{c}`?");
        }
    } else if !e.valid_exports.contains(&e.export) {
        let names = e.valid_exports.iter().map(String::as_str);
        if let Some(c) = peerpath_load::closest_name(&e.export, names) {
            eprintln!("  did you mean export `{c}`?");
        }
    }
    eprintln!("  importers: {}", some_names(&e.valid_importers));
    let of = if importer_known {
        format!(" of {}", e.importer)
    } else {
        String::new()
    };
    eprintln!("  exports{of}: {}", some_names(&e.valid_exports));
    Exit::InvalidInput
}

/// How many names of a list an unknown pairing's error shows.
const NAMES_LISTED: usize = 12;

/// The first [`NAMES_LISTED`] of `names`, and how many there are in all when that is
/// more.
fn some_names(names: &[String]) -> String {
    let shown: Vec<&str> = names
        .iter()
        .take(NAMES_LISTED)
        .map(String::as_str)
        .collect();
    let mut out = shown.join(", ");
    if names.len() > NAMES_LISTED {
        out.push_str(&format!(", … ({} in all)", names.len()));
    }
    out
}

fn run_scenarios(paths: &[PathBuf]) -> Exit {
    let files = match files_or_exit(scenarios::files(paths), "scenario files (*.yaml, *.yml)") {
        Ok(f) => f,
        Err(e) => return e,
    };
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    for f in &files {
        match scenarios::run_file(f) {
            scenarios::FileResult::Invalid(d) => {
                invalid += 1;
                input::print_diagnostics(d);
            }
            scenarios::FileResult::Ran {
                mismatches,
                expectations,
            } => {
                if mismatches.is_empty() {
                    passed += 1;
                    outln!(
                        "ok    {} ({expectations} expectation{})",
                        f.display(),
                        if expectations == 1 { "" } else { "s" }
                    );
                } else {
                    failed += 1;
                    outln!("FAIL  {}", f.display());
                    for m in mismatches {
                        outln!("      {m}");
                    }
                }
            }
        }
    }
    outln!("{}", scenarios::tally(files.len(), passed, failed, invalid));
    if invalid > 0 {
        Exit::InvalidInput
    } else if failed > 0 {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn dot_graph(source: &PlatformArgs, pairing: Option<&pairing::Pair>) -> Exit {
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let pair = match pairing {
        Some(x) => match peerpath_rules::evaluate_pair(&topo, &x.importer, &x.export) {
            Ok(pair) => Some(pair),
            Err(e) => return unknown_pair(&e),
        },
        None => None,
    };
    out!("{}", peerpath_render::topology_dot(&topo, pair.as_ref()));
    Exit::Success
}

fn groups(source: &PlatformArgs, format: Format) -> Exit {
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let out = match format {
        Format::Text => peerpath_render::groups_text(&topo),
        Format::Json => match peerpath_render::groups_json(&topo) {
            Ok(s) => s,
            Err(e) => return exit::internal(&format!("cannot serialize the groups: {e}")),
        },
    };
    out!("{out}");
    Exit::Success
}

/// `throughput` with nothing to route: which pairings were left out and why, and the
/// commands to try next (issue 19: no dead ends).
fn no_traffic(
    p: &peerpath_model::Platform,
    w: &peerpath_rules::throughput::Workload,
    source: &PlatformArgs,
) -> String {
    use std::fmt::Write as _;
    let name = |i: &peerpath_model::Import| {
        (
            p.node(i.importer).name.as_str(),
            p.export(i.export).name.as_str(),
        )
    };
    let platform = source
        .platform
        .as_ref()
        .map_or(String::new(), |f| format!(" {}", f.display()));
    let mut out = String::new();
    if w.pairings == 0 {
        let _ = writeln!(
            out,
            "no traffic: the platform has no pairings (no exports or no importers); \
             `peerpath simulate{platform}` says which devices were left out and why"
        );
        return out;
    }
    let _ = writeln!(
        out,
        "no traffic: of {} pairing{}, {} {} not mapped by the kernel (nothing to route) and \
         {} mapped with no flow in the platform's `traffic`",
        w.pairings,
        if w.pairings == 1 { "" } else { "s" },
        w.unmapped.0,
        if w.unmapped.0 == 1 { "is" } else { "are" },
        w.idle.0
    );
    for i in &w.unmapped.1 {
        let (a, b) = name(i);
        let _ = writeln!(out, "  {a} <- {b}: the kernel maps nothing for it");
    }
    for i in &w.idle.1 {
        let (a, b) = name(i);
        let _ = writeln!(
            out,
            "  {a} <- {b}: mapped, but the platform's `traffic` names no flow of it"
        );
    }
    out.push_str("next:\n");
    if let Some(i) = w.unmapped.1.first() {
        let (a, b) = name(i);
        let _ = writeln!(
            out,
            "  peerpath explain {a} {b}{platform}    why the kernel maps nothing"
        );
        let _ = writeln!(
            out,
            "  peerpath fix {a} {b}{platform}        what would make it mapped"
        );
    }
    if source.platform.is_none() && source.sysfs.is_none() {
        out.push_str(
            "  peerpath throughput topologies/dgx-like.yaml    a platform whose pairings are mapped\n",
        );
    }
    out
}

fn throughput(a: &ThroughputArgs) -> Exit {
    let tlps = a.tlps;
    let mode = peerpath_rules::throughput::Mode {
        reference: a.reference,
        record: a.record,
    };
    let p = match platform_or_exit(&a.source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let enough = usize::try_from(tlps).unwrap_or(usize::MAX);
    let w = peerpath_rules::throughput::workload(&topo, enough);
    outln!(
        "peerpath throughput: {} ({}, one thread)",
        p.name,
        match (mode.reference, mode.record) {
            (_, true) => "hop-by-hop reference router, every hop recorded",
            (true, false) => "hop-by-hop reference router",
            (false, false) => "compiled router: flow cache, no hops kept",
        }
    );
    if w.tlps() == 0 {
        out!("{}", no_traffic(&p, &w, &a.source));
        return Exit::Success;
    }
    outln!(
        "workload: {} TLPs per pass from {} of {} pairings (those the kernel maps)",
        w.tlps(),
        w.streams.len(),
        w.pairings
    );
    let m = peerpath_rules::throughput::measure(&topo, &w, tlps, mode);
    let lookups = m.tlb.hits + m.tlb.misses;
    outln!(
        "routed {} TLPs in {:.3} s: {:.1} M TLP/s ({:.1} ns per TLP)",
        m.tlps,
        m.elapsed.as_secs_f64(),
        m.per_second() / 1e6,
        1e9 / m.per_second()
    );
    if lookups > 0 {
        outln!(
            "TLB: {} lookups, {:.1}% hits, {} misses, {} evictions",
            lookups,
            100.0 * m.tlb.hits as f64 / lookups as f64,
            m.tlb.misses,
            m.tlb.evictions
        );
    } else {
        outln!("TLB: no lookups (no route met a translating IOMMU)");
    }
    outln!("hops per TLP: {:.2}", m.hops as f64 / m.tlps.max(1) as f64);
    Exit::Success
}
