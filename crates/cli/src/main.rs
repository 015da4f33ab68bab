//! `peerpath`: what Linux will decide about a PCIe peer-to-peer DMA path, what the
//! hardware will then do, and why.

mod exit;
mod input;
mod scenarios;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use exit::Exit;
use peerpath_render::Style;
use peerpath_rules::Severity;

#[derive(Parser, Debug)]
#[command(name = "peerpath", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every export/import pairing: map type, DMA path, outcome, findings.
    Simulate {
        /// Platform file (default: the embedded platform).
        platform: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 when a finding at or above this severity is raised.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Counts per outcome, map type and finding code, then the failing pairings.
        #[arg(long, conflicts_with = "format")]
        summary: bool,
    },
    /// One pairing hop by hop: the kernel's decision, each TLP hop, findings and fixes.
    Explain {
        /// The importing endpoint's name.
        importer: String,
        /// The export's name.
        export: String,
        /// Platform file (default: the embedded platform).
        platform: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Validate platform files only; print every diagnostic with file:line:column.
    Check {
        /// Platform files or directories of them (default: the embedded platform).
        platforms: Vec<PathBuf>,
    },
    /// Run scenario files and report every mismatch (default: ./scenarios).
    Scenarios {
        /// Scenario files or directories of them.
        paths: Vec<PathBuf>,
    },
    /// Print the IOMMU groups the kernel would form (rules K4.3).
    Groups {
        /// Platform file (default: the embedded platform).
        platform: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Error,
    Warning,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Simulate {
            platform,
            format,
            fail_on,
            summary,
        } => simulate(platform, format, fail_on, summary),
        Command::Explain {
            importer,
            export,
            platform,
            format,
        } => explain(&importer, &export, platform, format),
        Command::Check { platforms } => check(&platforms),
        Command::Scenarios { paths } => run_scenarios(&paths),
        Command::Groups { platform, format } => groups(platform, format),
    };
    exit.into()
}

fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Loads the platform or prints its diagnostics.
fn platform_or_exit(path: Option<&std::path::Path>) -> Result<peerpath_model::Platform, Exit> {
    input::load_platform(path).map_err(|d| {
        input::print_diagnostics(d);
        Exit::InvalidInput
    })
}

fn simulate(
    platform: Option<PathBuf>,
    format: Format,
    fail_on: Option<FailOn>,
    summary: bool,
) -> Exit {
    let p = match platform_or_exit(platform.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let report = peerpath_rules::evaluate(&topo);
    let out = if summary {
        peerpath_render::simulate_summary(&report, style())
    } else {
        match format {
            Format::Text => peerpath_render::simulate_text(&report, style()),
            Format::Json => peerpath_render::simulate_json(&report),
        }
    };
    print!("{out}");
    let threshold = match fail_on {
        None => return Exit::Success,
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
    };
    let hit = report
        .pairs
        .iter()
        .flat_map(|p| &p.findings)
        .any(|f| f.severity <= threshold);
    if hit {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn explain(importer: &str, export: &str, platform: Option<PathBuf>, format: Format) -> Exit {
    let p = match platform_or_exit(platform.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    match peerpath_rules::evaluate_pair(&topo, importer, export) {
        Ok(pair) => {
            match format {
                Format::Text => print!("{}", peerpath_render::explain_text(&topo, &pair, style())),
                Format::Json => match serde_json::to_string_pretty(&pair) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("internal error: {e}");
                        return Exit::Internal;
                    }
                },
            }
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("  importers: {}", e.valid_importers.join(", "));
            eprintln!(
                "  exports{}: {}",
                if e.valid_importers.iter().any(|i| i == importer) {
                    format!(" of {importer}")
                } else {
                    String::new()
                },
                e.valid_exports.join(", ")
            );
            Exit::InvalidInput
        }
    }
}

fn check(platforms: &[PathBuf]) -> Exit {
    if platforms.is_empty() {
        return match input::load_platform(None) {
            Ok(p) => {
                println!("{}: ok ({})", input::DEFAULT_NAME, p.name);
                Exit::Success
            }
            Err(d) => {
                input::print_diagnostics(d);
                Exit::InvalidInput
            }
        };
    }
    let files = match input::expand_yaml_args(platforms) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::InvalidInput;
        }
    };
    let mut worst = Exit::Success;
    for f in &files {
        match input::load_platform(Some(f)) {
            Ok(p) => println!("{}: ok ({})", f.display(), p.name),
            Err(d) => {
                input::print_diagnostics(d);
                worst = Exit::InvalidInput;
            }
        }
    }
    worst
}

fn run_scenarios(paths: &[PathBuf]) -> Exit {
    let files = match scenarios::files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::InvalidInput;
        }
    };
    if files.is_empty() {
        eprintln!("error: no scenario files found");
        return Exit::InvalidInput;
    }
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
                    println!(
                        "ok    {} ({expectations} expectation{})",
                        f.display(),
                        if expectations == 1 { "" } else { "s" }
                    );
                } else {
                    failed += 1;
                    println!("FAIL  {}", f.display());
                    for m in mismatches {
                        println!("      {m}");
                    }
                }
            }
        }
    }
    println!("{}", scenarios::tally(files.len(), passed, failed, invalid));
    if invalid > 0 {
        Exit::InvalidInput
    } else if failed > 0 {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn groups(platform: Option<PathBuf>, format: Format) -> Exit {
    let p = match platform_or_exit(platform.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let out = match format {
        Format::Text => peerpath_render::groups_text(&topo),
        Format::Json => peerpath_render::groups_json(&topo),
    };
    print!("{out}");
    Exit::Success
}
