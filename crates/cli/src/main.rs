//! `peerpath`: what Linux will decide about a PCIe peer-to-peer DMA path, what the
//! hardware will then do, and why.

mod exit;
mod input;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use exit::Exit;

#[derive(Parser, Debug)]
#[command(name = "peerpath", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate platform files only; print every diagnostic with file:line:column.
    Check {
        /// Platform files or directories of them (default: the embedded platform).
        platforms: Vec<PathBuf>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Check { platforms } => check(&platforms),
        Command::Groups { platform, format } => groups(platform, format),
    };
    exit.into()
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

fn groups(platform: Option<PathBuf>, format: Format) -> Exit {
    let p = match input::load_platform(platform.as_deref()) {
        Ok(p) => p,
        Err(d) => {
            input::print_diagnostics(d);
            return Exit::InvalidInput;
        }
    };
    let topo = peerpath_topology::Topology::new(&p);
    let out = match format {
        Format::Text => peerpath_render::groups_text(&topo),
        Format::Json => peerpath_render::groups_json(&topo),
    };
    print!("{out}");
    Exit::Success
}
