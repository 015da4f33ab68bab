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

use clap::{Parser, Subcommand, ValueEnum};
use exit::Exit;
use pairing::PairingArgs;
use peerpath_render::Style;
use peerpath_rules::Severity;

/// The line `peerpath --help` opens with: the question the tool answers. (Without it clap
/// would take the package description, which describes the crate, not the tool.)
const ABOUT: &str =
    "Will peer-to-peer DMA between two PCIe devices work on this machine, and if not, why?";

/// `peerpath --help`: the question, then how the tool answers it.
const LONG_ABOUT: &str = "\
Will peer-to-peer DMA between two PCIe devices work on this machine, and if not, why?

peerpath is a digital twin of the Linux P2PDMA path: from a description of the platform
(a YAML file, or a machine imported from sysfs, lspci or a kernel log) it says, for every
export/import pairing, what the kernel decides and what the hardware does with each TLP.";

#[derive(Parser, Debug)]
#[command(name = "peerpath", version, about = ABOUT, long_about = LONG_ABOUT, after_help = "\
Start here:
  peerpath simulate                      every pairing of the embedded example platform
  peerpath explain nic0 gpu0-vram        one pairing, hop by hop, and why it fails
  peerpath import dump.txt -o box.yaml   a platform from a dump (lspci, dmesg, a report)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every export/import pairing: map type, DMA path, outcome, findings.
    #[command(after_help = "\
Examples:
  peerpath simulate                                    the embedded default platform
  peerpath simulate topologies/dgx-like.yaml --summary
  peerpath simulate topologies/amd-zen-switch.yaml --format json
  peerpath simulate --sysfs                            this machine, imported in memory
  peerpath simulate --via driver-bus-address           what a vendor stack's own peer mapping would do
  peerpath simulate --matrix                           outcome, map type and NCCL path class
  peerpath simulate topologies/dgx-like.yaml --matrix --format json")]
    Simulate {
        #[command(flatten)]
        source: PlatformArgs,
        #[command(flatten)]
        via: ViaArg,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 when a finding at or above this severity is raised.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Counts per outcome, map type, path class and finding code, then the
        /// failing pairings grouped by cause with three examples each (at most about
        /// 60 lines).
        #[arg(long, conflicts_with = "format")]
        summary: bool,
        /// With --summary: list every failing pairing too.
        #[arg(long, requires = "summary")]
        all: bool,
        /// Importers × exports: each cell the outcome, the map type and the NCCL /
        /// `nvidia-smi topo -m` path class (PIX, PXB, PHB, NODE, SYS), with a legend.
        #[arg(long, conflicts_with = "summary")]
        matrix: bool,
        /// Worker threads (default: every core). The output is the same for any N.
        #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
    },
    /// One pairing hop by hop: the kernel's decision, each TLP hop, findings and fixes.
    #[command(after_help = "\
Examples:
  peerpath explain nic0 gpu0-vram                      on the embedded default platform
  peerpath explain nic1 gpu0-vram topologies/arm-external-tbu.yaml --format json
  peerpath explain nic-0000-01-00-0 gpu-0000-c1-00-0-bar1 --sysfs   on this machine
  peerpath explain nic0 gpu0-vram --via driver-bus-address")]
    Explain {
        #[command(flatten)]
        pairing: PairingArgs,
        #[command(flatten)]
        via: ViaArg,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// One pairing on each kernel release peerpath models (4.18, 5.4, 5.15, 6.1, 6.8,
    /// the newest, and every release where a modelled behaviour changes): outcome, map
    /// type, what p2pdma could do, and from which release the pairing works.
    #[command(after_help = "\
Examples:
  peerpath kernels nic0 gpu0-vram                      on the embedded default platform
  peerpath kernels nic0 gpu0-vram scenarios/kernel-5.18-icelake-allow-list.yaml
  peerpath kernels nic0 gpu0-vram --via p2pdma-pages --format json")]
    Kernels {
        #[command(flatten)]
        pairing: PairingArgs,
        #[command(flatten)]
        via: ViaArg,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The smallest changes that make one pairing work, with their side effects.
    ///
    /// Searches the knobs you control (ACS, IOMMU domains, MPS, swiotlb, ATS, the
    /// export's path); each proposal shows the kernel parameter or runtime command, the
    /// IOMMU groups that merge or split and every other pairing whose outcome changes.
    #[command(after_help = "\
Examples:
  peerpath fix nic0 gpu0-vram                          on the embedded default platform
  peerpath fix nic0 gpu0-vram --format json
  peerpath fix nic0 gpu0-vram --apply -o fixed.yaml && peerpath simulate fixed.yaml
  peerpath fix gpu1 gpu0-vram scenarios/case-14-driver-bus-address-acs.yaml --via driver-bus-address")]
    Fix {
        #[command(flatten)]
        pairing: PairingArgs,
        #[command(flatten)]
        via: ViaArg,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the platform with a proposal applied (the best, or `--pick N`) to `-o`.
        #[arg(long, requires = "output")]
        apply: bool,
        /// Which proposal `--apply` writes (1 = the best).
        #[arg(long, value_name = "N", default_value_t = 1, requires = "apply",
            value_parser = clap::value_parser!(u16).range(1..))]
        pick: u16,
        /// Where `--apply` writes the platform (`-`: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
        /// The most changes in one proposal (the search's bound).
        #[arg(long, value_name = "N", default_value_t = 3,
            value_parser = clap::value_parser!(u8).range(1..=4))]
        max_changes: u8,
    },
    /// Validate platform files only; print every diagnostic with file:line:column.
    #[command(after_help = "\
Examples:
  peerpath check topologies/                           every platform file of a directory
  peerpath check topologies/dgx-like.yaml")]
    Check {
        /// Platform files or directories of them (default: the embedded platform).
        platforms: Vec<PathBuf>,
    },
    /// Run scenario files and report every mismatch (default: ./scenarios).
    #[command(after_help = "\
Examples:
  peerpath scenarios scenarios/                        every scenario file; exit 1 on a mismatch
  peerpath scenarios scenarios/case-01-switch-siblings-no-iommu.yaml")]
    Scenarios {
        /// Scenario files or directories of them.
        paths: Vec<PathBuf>,
    },
    /// The topology as a Graphviz DOT graph (`peerpath dot | dot -Tsvg > topo.svg`).
    #[command(after_help = "\
Examples:
  peerpath dot nic0 gpu0-vram | dot -Tsvg > topo.svg     the pairing's route in red
  peerpath dot topologies/dgx-like.yaml
  peerpath dot nic0 gpu1-vram topologies/dgx-like.yaml")]
    Dot {
        /// With IMPORTER EXPORT, the pairing's route is drawn in red.
        #[command(flatten)]
        pairing: PairingArgs,
        /// The former form of IMPORTER EXPORT, still read.
        #[arg(long = "pairing", num_args = 2, value_names = ["IMPORTER", "EXPORT"], hide = true)]
        legacy: Option<Vec<String>>,
    },
    /// The topology as a self-contained SVG picture (no Graphviz): the PCI tree with
    /// each port's effective MPS, ACS Control and IOMMU group, the IOMMUs and TBUs; with
    /// IMPORTER EXPORT one pairing's route numbered hop by hop, the failing hop in red.
    #[command(after_help = "\
Examples:
  peerpath draw nic0 gpu0-vram -o route.svg            the route, failing hop in red (its hierarchy only)
  peerpath draw nic0 gpu0-vram --all -o all.svg        the route over every node
  peerpath draw topologies/dgx-like.yaml --groups > dgx.svg   IOMMU groups shaded
  peerpath draw nic0 gpu0-vram topologies/amd-zen-switch.yaml")]
    Draw {
        /// With IMPORTER EXPORT, the pairing's route is drawn, numbered hop by hop.
        #[command(flatten)]
        pairing: PairingArgs,
        /// The former form of IMPORTER EXPORT (IMPORTER:EXPORT), still read.
        #[arg(long = "pair", value_name = "IMPORTER:EXPORT", hide = true)]
        legacy: Option<String>,
        /// Shade the IOMMU groups, with a legend.
        #[arg(long)]
        groups: bool,
        /// With IMPORTER EXPORT, only the route's hierarchy and the devices beside it,
        /// alike siblings folded (`×56 gpu`): the default with a pairing.
        #[arg(long)]
        focus: bool,
        /// With IMPORTER EXPORT, every node (no focus).
        #[arg(long, conflicts_with = "focus")]
        all: bool,
        /// Where to write the SVG (`-` or absent: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// One self-contained HTML file: the matrix, the picture, each pairing's explain
    /// text behind a click, the findings with their fixes and the IOMMU groups.
    #[command(after_help = "\
Examples:
  peerpath report -o report.html                       the embedded default platform
  peerpath report topologies/dgx-like.yaml -o dgx.html --force
  peerpath report topologies/amd-zen-switch.yaml > zen.html")]
    Report {
        #[command(flatten)]
        source: PlatformArgs,
        /// Where to write the HTML (`-` or absent: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Print the IOMMU groups the kernel would form (rules K4.3).
    #[command(after_help = "\
Examples:
  peerpath groups topologies/intel-same-host-bridge.yaml
  peerpath groups topologies/intel-same-host-bridge.yaml --format json
  peerpath groups --sysfs                              this machine, imported in memory")]
    Groups {
        #[command(flatten)]
        source: PlatformArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Import a real machine (sysfs, lspci, dmesg, a markdown report) as a platform file.
    #[command(group(clap::ArgGroup::new("input").required(true).multiple(true)
        .args(["files", "sysfs", "lspci", "tree", "dmesg", "markdown"])),
        after_help = "\
Examples:
  peerpath import lspci-vvnn.txt -o box.yaml           each file's kind is detected
  peerpath import dmesg.txt lspci.txt -o box.yaml --compare-groups
  peerpath import report.md --assume-gpu-bar 256MiB
  peerpath import --sysfs -o this-machine.yaml         the running machine")]
    Import {
        /// Dumps of one machine, each detected as lspci -vvv/-vvnn output, an lspci -tv
        /// tree, a kernel log, a markdown report, or a directory holding a /sys tree.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// A /sys tree: reads ROOT/sys/bus/pci/devices and ROOT/sys/kernel/iommu_groups.
        #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "/")]
        sysfs: Option<PathBuf>,
        /// `lspci -vvv`/`-vvnn`/`-vvvnn` (or plain `lspci`) text.
        #[arg(long, value_name = "FILE")]
        lspci: Option<PathBuf>,
        /// An `lspci -tv` tree of the same machine.
        #[arg(long, value_name = "FILE")]
        tree: Option<PathBuf>,
        /// A kernel log (dmesg, journalctl -k, or a script log quoting kernel lines).
        #[arg(long, value_name = "FILE")]
        dmesg: Option<PathBuf>,
        /// A markdown report with lspci output in fenced blocks.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Where to write the platform (`-` or absent: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
        /// Compare peerpath's IOMMU groups with the kernel's in the dump; exit 1 on a difference.
        #[arg(long)]
        compare_groups: bool,
        /// The platform's name (default imported-<source>).
        #[arg(long)]
        name: Option<String>,
        /// kernel.arch when the dump does not say (arm64, x86_64, ppc64).
        #[arg(long, value_parser = import::parse_arch)]
        arch: Option<peerpath_model::Arch>,
        /// kernel.cpu.vendor when the dump does not say (amd, intel, arm, ibm, other).
        #[arg(long, value_parser = import::parse_cpu_vendor)]
        cpu_vendor: Option<peerpath_model::CpuVendor>,
        /// kernel.cpu.family (x86, K1.6) when the dump does not say: 0x19, 19h or 25.
        #[arg(long, value_parser = import::parse_family)]
        cpu_family: Option<u32>,
        /// MPSS assumed where the dump shows no Device Capabilities.
        #[arg(long, value_name = "BYTES", default_value_t = 256, value_parser = import::parse_mpss)]
        default_mpss: u32,
        /// Leave out the measured ACS Control, so peerpath derives it (K4.1).
        #[arg(long)]
        derive_acs_ctl: bool,
        /// Do not export the GPUs' and accelerators' largest prefetchable BARs.
        #[arg(long)]
        no_exports: bool,
        /// Do not infer ACS from the kernel's groups where the dump shows none.
        #[arg(long)]
        no_acs_from_groups: bool,
        /// Assume a prefetchable BAR 0 of SIZE (e.g. 256MiB) for GPUs whose dump shows no
        /// BAR (kernel logs, trees), so that they can be exported; stated in the header.
        #[arg(long, value_name = "SIZE", value_parser = import::parse_bar_size)]
        assume_gpu_bar: Option<u64>,
    },
    /// Route the platform's traffic again and again, one thread, and print TLPs per
    /// second, the TLB hit rate and hops per TLP (the compiled path, or `--reference`).
    #[command(after_help = "\
Examples:
  peerpath throughput                                   the embedded default platform
  peerpath throughput topologies/dgx-like.yaml --tlps 5000000
  peerpath throughput topologies/dgx-like.yaml --reference
  peerpath throughput topologies/dgx-like.yaml --record")]
    Throughput {
        #[command(flatten)]
        source: PlatformArgs,
        /// TLPs to route (whole passes over the traffic).
        #[arg(long, value_name = "N", default_value_t = 2_000_000)]
        tlps: u64,
        /// Route hop by hop (the reference router, flow cache off) instead of the
        /// compiled path.
        #[arg(long)]
        reference: bool,
        /// Keep every hop of every route, as `explain` and JSON routes do (the
        /// reference router).
        #[arg(long)]
        record: bool,
    },
    /// Predict each pairing's P2P bandwidth and latency (the timing twin): matrices
    /// laid out like `p2pBandwidthLatencyTest` (unidirectional, bidirectional,
    /// latency), each pairing's bottleneck and every assumption; `--compare` reads a
    /// measured run (`p2pBandwidthLatencyTest`, `nvbandwidth`, peerpath's own matrices
    /// or a pair list) and prints predicted, measured and the error per cell, and
    /// every measured cell it could not compare.
    #[command(after_help = "\
Examples:
  peerpath bandwidth topologies/timing-two-sockets.yaml
  peerpath bandwidth topologies/timing-two-sockets.yaml --format json
  peerpath bandwidth topologies/timing-two-sockets.yaml --concurrent   every write at once
  peerpath bandwidth box.yaml --compare p2pBandwidthLatencyTest.txt   devices matched by PCI address
  peerpath bandwidth box.yaml --compare nvbandwidth.txt --strict   exit 1 if a cell is not compared
  peerpath bandwidth box.yaml --calibrate p2pBandwidthLatencyTest.txt -o calibrated.yaml")]
    Bandwidth {
        #[command(flatten)]
        source: PlatformArgs,
        /// A measured run to compare with, alone or inside a markdown report:
        /// `p2pBandwidthLatencyTest` (P2P=Enabled matrices), `nvbandwidth`
        /// (device-to-device CE tests), peerpath's own matrices, or a pair list
        /// (`GPU0 -> GPU1: 25.1 GB/s`); diagonal left out.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
        /// With `--compare`: exit 1 when any measured cell (or device) could not be
        /// compared.
        #[arg(long, requires = "compare")]
        strict: bool,
        /// Fit the platform's free timing parameters (initiator latency and the factor
        /// on the route's latency terms, the fabric's bandwidths) to this measured run,
        /// within bounds, by least squares; prints the fitted values and the residual
        /// per pair and writes the calibrated platform to `-o`.
        #[arg(long, value_name = "MEASURED", conflicts_with_all = ["compare", "concurrent"], requires = "output")]
        calibrate: Option<PathBuf>,
        /// Where `--calibrate` writes the calibrated platform (`-`: stdout).
        #[arg(short, long, value_name = "FILE", requires = "calibrate")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long, requires = "calibrate")]
        force: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Every write at once, as an all-to-all collective: each link direction and
        /// shared stage divided by max-min fair share.
        #[arg(long, conflicts_with = "compare")]
        concurrent: bool,
        /// Worker threads (default: every core).
        #[arg(long, value_name = "N")]
        jobs: Option<u16>,
    },
    /// Write a platform of the scale-test shape: host bridges of 8 root ports, two
    /// switch levels, GPUs, NICs and NVMe; M GPUs export 1 GiB of BAR 0 and every
    /// endpoint imports every export. The same arguments give the same bytes.
    #[command(after_help = "\
Examples:
  peerpath generate --endpoints 10000 --exports 100 --seed 1 -o big.yaml
  peerpath generate --endpoints 200 --exports 4 --seed 7 --flavor amd | peerpath simulate /dev/stdin --summary")]
    Generate {
        /// Endpoints (at most 200,000, so that the file loads; 200 per host bridge).
        /// With --fleet: per machine, at most 124 (default 16).
        #[arg(long, value_name = "N", required_unless_present = "fleet")]
        endpoints: Option<usize>,
        /// Exports, one GPU's BAR 0 each (half the endpoints are GPUs).
        #[arg(
            long,
            value_name = "M",
            required_unless_present = "fleet",
            conflicts_with = "fleet"
        )]
        exports: Option<usize>,
        /// Instead of a platform: N `lspci -vvvnn` dumps of one machine, written into the
        /// directory -o names, with a manifest.json of the drift (docs/audit.md).
        #[arg(long, value_name = "N", requires = "output")]
        fleet: Option<usize>,
        /// With --fleet: the fraction of machines with one drift each (ACS re-enabled, a
        /// link downtrained, a BIOS MPS change, a moved card).
        #[arg(long, value_name = "P", default_value = "0", requires = "fleet")]
        drift: f64,
        /// The seed: which GPUs export, MPSS, ATS and which switches have ACS.
        #[arg(long, value_name = "S")]
        seed: u64,
        /// amd, arm or intel: arch, CPU, IOMMU and where translation happens.
        #[arg(long, value_parser = generate::parse_flavor, default_value = "arm")]
        flavor: peerpath_generate::Flavor,
        /// Where to write the platform (`-` or absent: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// A fleet in one table: every dump under the paths imported, machines clustered by
    /// their P2P fingerprint, each cluster's verdicts and what sets it apart
    /// (docs/audit.md).
    #[command(
        after_help = "\
Examples:
  peerpath audit crates/cli/tests/dumps/               four real machines, four clusters
  peerpath audit dumps/                                one table for every dump under dumps/
  peerpath audit dumps/ --require gpu:gpu=works        exit 1 when a machine's GPUs cannot P2P
  peerpath audit dumps/ --require groups=singleton:gpu --format json
  peerpath audit dumps/ --shard 2/8 > part2.json       one slice; then: peerpath audit merge part*.json",
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Audit {
        #[command(subcommand)]
        merge: Option<AuditCommand>,
        /// Dump files and directories (walked; files grouped by stem into machines).
        #[arg(required = true, value_name = "DIR|FILE")]
        paths: Vec<PathBuf>,
        /// Each directory holding files is one machine (instead of one per file stem).
        #[arg(long)]
        per_dir: bool,
        /// A rule every machine must meet: IMPORTER:EXPORTER=OUTCOME (classes gpu, nic,
        /// nvme, accel, other or *; outcome works, degraded or fails) or
        /// groups=singleton:CLASS. Exit 1 when a machine breaks one.
        #[arg(long, value_name = "RULE", value_parser = parse_requirement)]
        require: Vec<peerpath_audit::Requirement>,
        /// text, json (docs/audit.md) or html (one self-contained page).
        #[arg(long, value_enum, default_value = "text")]
        format: audit::AuditFormat,
        /// Leave out the fix search for failing clusters.
        #[arg(long)]
        no_fix: bool,
        /// Audit the I-th of N slices of the sorted machine list and write a part (JSON)
        /// for `peerpath audit merge`.
        #[arg(long, value_name = "I/N", value_parser = audit::parse_shard)]
        shard: Option<(usize, usize)>,
        /// Worker threads (default: every core). The output is the same for any N.
        #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
    },
    /// Print the platform format as a JSON Schema, for editors: a YAML language server
    /// then checks platform files as you type and completes their keys (docs/editor.md).
    #[command(after_help = "\
Examples:
  peerpath schema -o peerpath.schema.json              then, atop a platform file:
                                                       # yaml-language-server: $schema=./peerpath.schema.json
  peerpath schema --scenario -o scenario.schema.json   the scenario format
  peerpath schema")]
    Schema {
        /// The scenario file format instead of the platform format.
        #[arg(long)]
        scenario: bool,
        /// Where to write the schema (`-` or absent: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
}

/// Where commands take the platform from (those that take a pairing: `PairingArgs`).
#[derive(clap::Args, Debug)]
pub(crate) struct PlatformArgs {
    /// Platform file (default: the embedded platform).
    platform: Option<PathBuf>,
    /// Instead of a platform file, import the running machine (or the /sys tree under
    /// ROOT) in memory, as `peerpath import --sysfs` would; nothing is written.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "/",
        conflicts_with = "platform")]
    sysfs: Option<PathBuf>,
    /// Behave as this kernel release (`6.8`, `4.18.0-553.el8_10.x86_64`, `newest`),
    /// whatever `kernel.release` says: the allow-list, the CPU rule, p2pdma itself and
    /// the ACS and DMA alias quirks as of that release (docs/kernels.md).
    #[arg(long, value_name = "RELEASE", value_parser = parse_release)]
    kernel: Option<peerpath_model::Release>,
}

/// `--kernel`: a release as `kernel.release` takes it.
fn parse_release(s: &str) -> Result<peerpath_model::Release, String> {
    s.parse()
        .map_err(|e: peerpath_model::ReleaseParseError| e.to_string())
}

/// `--via`: one mapping path for every export, for one run.
#[derive(clap::Args, Debug)]
struct ViaArg {
    /// Map every export this way for this run (rules K2.2–K2.4): the kernel's
    /// vfio-dmabuf or p2pdma-pages, or a driver's own driver-bus-address or
    /// driver-map-resource (what a vendor stack that never asks p2pdma would do).
    #[arg(long, value_name = "VIA",
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::PossibleValuesParser::new(peerpath_model::Via::names()),
            |s: String| peerpath_model::Via::from_name(&s).unwrap_or_default()))]
    via: Option<peerpath_model::Via>,
}

/// `peerpath audit`'s subcommand.
#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Join the parts of `peerpath audit --shard I/N` runs into one table: the same
    /// bytes as one run over every machine.
    Merge {
        /// The parts (the JSON each shard wrote).
        #[arg(required = true, value_name = "PART")]
        parts: Vec<PathBuf>,
        /// text, json or html.
        #[arg(long, value_enum, default_value = "text")]
        format: audit::AuditFormat,
    },
}

/// Parses `--require`.
fn parse_requirement(s: &str) -> Result<peerpath_audit::Requirement, String> {
    s.parse()
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

/// Writes to stdout. A reader that went away (broken pipe) is a normal end: exit 0.
/// Any other write error is an internal error (exit 3).
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        exit::terminate(exit::stdout_failed(&e));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Simulate {
            source,
            via,
            format,
            fail_on,
            summary,
            all,
            matrix,
            jobs,
        } => simulate(
            &source,
            &via,
            format,
            fail_on,
            summary.then_some(all),
            matrix,
            jobs,
        ),
        Command::Explain {
            pairing,
            via,
            format,
        } => match pairing.required("explain") {
            Ok((pair, source)) => explain(&pair.importer, &pair.export, &source, &via, format),
            Err(e) => e,
        },
        Command::Kernels {
            pairing,
            via,
            format,
        } => match pairing.required("kernels") {
            Ok((pair, source)) => kernels(&pair.importer, &pair.export, &source, &via, format),
            Err(e) => e,
        },
        Command::Fix {
            pairing,
            via,
            format,
            apply,
            pick,
            output,
            force,
            max_changes,
        } => match pairing
            .required("fix")
            .and_then(|(pair, source)| Ok((pair, fix_inputs(&source, &via)?)))
        {
            Ok((pair, (p, file))) => fix::run(
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
                    json: format == Format::Json,
                    apply,
                    pick: usize::from(pick),
                    output,
                    force,
                    max_changes: usize::from(max_changes),
                    vary_via: via.via.is_none(),
                },
                style(),
            ),
            Err(e) => e,
        },
        Command::Check { platforms } => check(&platforms),
        Command::Scenarios { paths } => run_scenarios(&paths),
        Command::Groups { source, format } => groups(&source, format),
        Command::Dot { pairing, legacy } => {
            let legacy = legacy.and_then(|v| match <[String; 2]>::try_from(v) {
                Ok([importer, export]) => Some(pairing::Pair { importer, export }),
                Err(_) => None,
            });
            match pairing.optional("dot", legacy) {
                Ok((pair, source)) => dot(&source, pair.as_ref()),
                Err(e) => e,
            }
        }
        Command::Draw {
            pairing,
            legacy,
            groups,
            focus: _,
            all,
            output,
            force,
        } => match legacy.as_deref().map(show::legacy_pair).transpose() {
            Ok(legacy) => match pairing.optional("draw", legacy) {
                Ok((pair, source)) => show::draw(
                    &source,
                    pair.as_ref(),
                    peerpath_render::DrawOptions {
                        groups,
                        focus: !all,
                    },
                    output.as_deref(),
                    force,
                ),
                Err(e) => e,
            },
            Err(e) => e,
        },
        Command::Report {
            source,
            output,
            force,
        } => show::report(&source, output.as_deref(), force),
        Command::Import {
            files,
            sysfs,
            lspci,
            tree,
            dmesg,
            markdown,
            output,
            force,
            compare_groups,
            name,
            arch,
            cpu_vendor,
            cpu_family,
            default_mpss,
            derive_acs_ctl,
            no_exports,
            no_acs_from_groups,
            assume_gpu_bar,
        } => import::run(&import::Request {
            files,
            sysfs,
            lspci,
            tree,
            dmesg,
            markdown,
            output,
            force,
            compare_groups,
            options: peerpath_import::ImportOptions {
                name,
                arch,
                cpu_vendor,
                cpu_family,
                default_mpss,
                measured_acs_ctl: !derive_acs_ctl,
                export_gpu_bars: !no_exports,
                acs_from_groups: !no_acs_from_groups,
                assumed_gpu_bar: assume_gpu_bar,
                ..peerpath_import::ImportOptions::default()
            },
        }),
        Command::Throughput {
            source,
            tlps,
            reference,
            record,
        } => throughput(
            &source,
            tlps,
            peerpath_rules::throughput::Mode { reference, record },
        ),
        Command::Bandwidth {
            source,
            calibrate: Some(measured),
            output,
            force,
            ..
        } => calibrate(&source, &measured, output.as_deref(), force),
        Command::Bandwidth {
            source,
            compare,
            strict,
            format,
            concurrent,
            jobs,
            ..
        } => bandwidth(
            &source,
            compare.as_deref(),
            strict,
            format,
            concurrent,
            jobs,
        ),
        Command::Generate {
            endpoints,
            exports,
            fleet,
            drift,
            seed,
            flavor,
            output,
            force,
        } => match fleet {
            Some(machines) => generate::run_fleet(
                &peerpath_generate::fleet::Fleet {
                    machines,
                    drift,
                    endpoints: endpoints.unwrap_or(16),
                    seed,
                },
                output.as_deref(),
                force,
            ),
            None => generate::run(&generate::Request {
                scale: peerpath_generate::scale::Scale {
                    endpoints: endpoints.unwrap_or_default(),
                    exports: exports.unwrap_or_default(),
                    seed,
                    flavor,
                },
                output,
                force,
            }),
        },
        Command::Audit {
            merge: Some(AuditCommand::Merge { parts, format }),
            ..
        } => audit::merge(&parts, format),
        Command::Audit {
            merge: None,
            paths,
            per_dir,
            require,
            format,
            no_fix,
            shard,
            jobs,
        } => audit::run(&audit::Request {
            paths,
            per_dir,
            require,
            format,
            jobs: jobs.map_or_else(peerpath_rules::default_jobs, usize::from),
            no_fix,
            shard,
        }),
        Command::Schema {
            scenario,
            output,
            force,
        } => schema::run(&schema::Request {
            scenario,
            output,
            force,
        }),
    };
    exit.into()
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
            input::is_scenario(path).then_some("platform"),
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

fn simulate(
    source: &PlatformArgs,
    via: &ViaArg,
    format: Format,
    fail_on: Option<FailOn>,
    summary: Option<bool>,
    matrix: bool,
    jobs: Option<u16>,
) -> Exit {
    let p = match platform_via(source, via) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let output = match (summary, matrix, format) {
        (Some(all), _, _) => simulate::Output::Summary { all },
        (None, true, Format::Text) => simulate::Output::Matrix,
        (None, true, Format::Json) => simulate::Output::MatrixJson,
        (None, false, Format::Text) => simulate::Output::Text,
        (None, false, Format::Json) => simulate::Output::Json,
    };
    let jobs = jobs.map_or_else(peerpath_rules::default_jobs, usize::from);
    let mut stdout = std::io::stdout().lock();
    let tally = match simulate::run(&topo, output, jobs, style(), &mut stdout) {
        Ok(t) => t,
        Err(e) => return exit::stdout_failed(&e),
    };
    let threshold = match fail_on {
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

fn explain(
    importer: &str,
    export: &str,
    source: &PlatformArgs,
    via: &ViaArg,
    format: Format,
) -> Exit {
    let p = match platform_via(source, via) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    match peerpath_rules::evaluate_pair(&topo, importer, export) {
        Ok(pair) => {
            match format {
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
fn calibrate(
    source: &PlatformArgs,
    measured: &std::path::Path,
    output: Option<&std::path::Path>,
    force: bool,
) -> Exit {
    let file = output::file(output);
    if let Err(e) = output::refuse_overwrite(file, force) {
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
    match output::write(file, &yaml) {
        Ok(()) => Exit::Success,
        Err(e) => e,
    }
}

fn kernels(
    importer: &str,
    export: &str,
    source: &PlatformArgs,
    via: &ViaArg,
    format: Format,
) -> Exit {
    let p = match platform_via(source, via) {
        Ok(p) => p,
        Err(e) => return e,
    };
    match peerpath_rules::releases::across(&p, importer, export) {
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

fn bandwidth(
    source: &PlatformArgs,
    compare: Option<&std::path::Path>,
    strict: bool,
    format: Format,
    concurrent: bool,
    jobs: Option<u16>,
) -> Exit {
    let measured = match compare.map(std::fs::read_to_string) {
        None => None,
        Some(Ok(text)) => match peerpath_timing::compare::parse(&text) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!(
                    "error: {}: {e}",
                    compare.map_or(String::new(), |c| c.display().to_string())
                );
                return Exit::InvalidInput;
            }
        },
        Some(Err(e)) => {
            eprintln!(
                "error: {}: cannot read: {e}",
                compare.map_or(String::new(), |c| c.display().to_string())
            );
            return Exit::InvalidInput;
        }
    };
    let p = match platform_or_exit(source) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let topo = peerpath_topology::Topology::new(&p);
    let jobs = jobs.map_or_else(peerpath_rules::default_jobs, usize::from);
    let m = peerpath_timing::matrix::Matrix::build(&topo, jobs);
    if concurrent {
        let c = peerpath_timing::concurrent::concurrent(&topo, &m);
        match format {
            Format::Text => out!("{}", peerpath_render::concurrent_text(&m, &c)),
            Format::Json => outln!("{}", peerpath_render::concurrent_json(&topo, &m, &c)),
        }
        return Exit::Success;
    }
    match (measured, format) {
        (None, Format::Text) => out!("{}", peerpath_render::bandwidth_text(&topo, &m)),
        (None, Format::Json) => outln!("{}", peerpath_render::bandwidth_json(&topo, &m)),
        (Some(measured), format) => {
            let r = peerpath_timing::compare::compare(&topo, &m, &measured);
            let model = m.assumptions_among(&r.matched);
            match format {
                Format::Text => out!("{}", peerpath_render::compare_text(&r, &model)),
                Format::Json => outln!("{}", peerpath_render::compare_json(&r, &model)),
            }
            if strict && !(r.unmatched.is_empty() && r.unknown_devices.is_empty()) {
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

/// Prints an unknown pairing with the valid names (exit 2).
fn unknown_pair(e: &peerpath_rules::UnknownPair) -> Exit {
    eprintln!("error: {e}");
    eprintln!("  importers: {}", e.valid_importers.join(", "));
    let of = if e.valid_importers.contains(&e.importer) {
        format!(" of {}", e.importer)
    } else {
        String::new()
    };
    eprintln!("  exports{of}: {}", e.valid_exports.join(", "));
    Exit::InvalidInput
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

fn dot(source: &PlatformArgs, pairing: Option<&pairing::Pair>) -> Exit {
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

fn throughput(source: &PlatformArgs, tlps: u64, mode: peerpath_rules::throughput::Mode) -> Exit {
    let p = match platform_or_exit(source) {
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
        out!("{}", no_traffic(&p, &w, source));
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
