//! The command line as types: one `#[derive(clap::Args)]` struct per subcommand (its
//! request, which its handler takes whole) and the option groups several share,
//! flattened in once (`PlatformArgs`, `ViaArg`, `PairingArgs`, `OutputArgs`,
//! `ImportOptionArgs`). Nothing here runs a command; `main` dispatches.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::import::ImportArgs;
use crate::output::{output_help, OutputArgs};
use crate::pairing::PairingArgs;
use crate::{audit, generate};

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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
    Simulate(SimulateArgs),
    /// One pairing hop by hop: the kernel's decision, each TLP hop, findings and fixes.
    #[command(after_help = "\
Examples:
  peerpath explain nic0 gpu0-vram                      on the embedded default platform
  peerpath explain nic1 gpu0-vram topologies/arm-external-tbu.yaml --format json
  peerpath explain nic-0000-01-00-0 gpu-0000-c1-00-0-bar1 --sysfs   on this machine
  peerpath explain nic0 gpu0-vram --via driver-bus-address")]
    Explain(PairingRequestArgs),
    /// One pairing on each kernel release peerpath models (4.18, 5.4, 5.15, 6.1, 6.8,
    /// the newest, and every release where a modelled behaviour changes): outcome, map
    /// type, what p2pdma could do, and from which release the pairing works.
    #[command(after_help = "\
Examples:
  peerpath kernels nic0 gpu0-vram                      on the embedded default platform
  peerpath kernels nic0 gpu0-vram scenarios/kernel-5.18-icelake-allow-list.yaml
  peerpath kernels nic0 gpu0-vram --via p2pdma-pages --format json")]
    Kernels(PairingRequestArgs),
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
    #[command(mut_arg(
        "output",
        output_help("Where `--apply` writes the platform (`-`: stdout)")
    ))]
    Fix(FixArgs),
    /// Validate platform files only; print every diagnostic with file:line:column.
    #[command(after_help = "\
Examples:
  peerpath check topologies/                           every platform file of a directory
  peerpath check topologies/dgx-like.yaml")]
    Check(CheckArgs),
    /// Run scenario files and report every mismatch (default: ./scenarios).
    #[command(after_help = "\
Examples:
  peerpath scenarios scenarios/                        every scenario file; exit 1 on a mismatch
  peerpath scenarios scenarios/case-01-switch-siblings-no-iommu.yaml")]
    Scenarios(ScenariosArgs),
    /// The topology as a Graphviz DOT graph (`peerpath dot | dot -Tsvg > topo.svg`).
    #[command(after_help = "\
Examples:
  peerpath dot nic0 gpu0-vram | dot -Tsvg > topo.svg     the pairing's route in red
  peerpath dot topologies/dgx-like.yaml
  peerpath dot nic0 gpu1-vram topologies/dgx-like.yaml")]
    Dot(DotArgs),
    /// The topology as a self-contained SVG picture (no Graphviz): the PCI tree with
    /// each port's effective MPS, ACS Control and IOMMU group, the IOMMUs and TBUs; with
    /// IMPORTER EXPORT one pairing's route numbered hop by hop, the failing hop in red.
    #[command(after_help = "\
Examples:
  peerpath draw nic0 gpu0-vram -o route.svg            the route, failing hop in red (its hierarchy only)
  peerpath draw nic0 gpu0-vram --all -o all.svg        the route over every node
  peerpath draw topologies/dgx-like.yaml --groups > dgx.svg   IOMMU groups shaded
  peerpath draw nic0 gpu0-vram topologies/amd-zen-switch.yaml")]
    #[command(mut_arg(
        "output",
        output_help("Where to write the SVG (`-` or absent: stdout)")
    ))]
    Draw(DrawArgs),
    /// One self-contained HTML file: the matrix, the picture, each pairing's explain
    /// text behind a click, the findings with their fixes and the IOMMU groups.
    #[command(after_help = "\
Examples:
  peerpath report -o report.html                       the embedded default platform
  peerpath report topologies/dgx-like.yaml -o dgx.html --force
  peerpath report topologies/amd-zen-switch.yaml > zen.html")]
    #[command(mut_arg(
        "output",
        output_help("Where to write the HTML (`-` or absent: stdout)")
    ))]
    Report(ReportArgs),
    /// Print the IOMMU groups the kernel would form (rules K4.3).
    #[command(after_help = "\
Examples:
  peerpath groups topologies/intel-same-host-bridge.yaml
  peerpath groups topologies/intel-same-host-bridge.yaml --format json
  peerpath groups --sysfs                              this machine, imported in memory")]
    Groups(GroupsArgs),
    /// Import a real machine (sysfs, lspci, dmesg, a markdown report) as a platform file.
    #[command(group(clap::ArgGroup::new("input").required(true).multiple(true)
        .args(["files", "sysfs", "lspci", "tree", "dmesg", "markdown"])),
        after_help = "\
Examples:
  peerpath import lspci-vvnn.txt -o box.yaml           each file's kind is detected
  peerpath import dmesg.txt lspci.txt -o box.yaml --compare-groups
  peerpath import report.md --assume-gpu-bar 256MiB
  peerpath import --sysfs -o this-machine.yaml         the running machine")]
    Import(ImportArgs),
    /// Route the platform's traffic again and again, one thread, and print TLPs per
    /// second, the TLB hit rate and hops per TLP (the compiled path, or `--reference`).
    #[command(after_help = "\
Examples:
  peerpath throughput                                   the embedded default platform
  peerpath throughput topologies/dgx-like.yaml --tlps 5000000
  peerpath throughput topologies/dgx-like.yaml --reference
  peerpath throughput topologies/dgx-like.yaml --record")]
    Throughput(ThroughputArgs),
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
    #[command(
        mut_arg("output", |a| output_help("Where `--calibrate` writes the calibrated platform (`-`: stdout)")(a)
            .requires("calibrate")),
        mut_arg("force", |a| a.requires("calibrate"))
    )]
    Bandwidth(BandwidthArgs),
    /// Write a platform of the scale-test shape: host bridges of 8 root ports, two
    /// switch levels, GPUs, NICs and NVMe; M GPUs export 1 GiB of BAR 0 and every
    /// endpoint imports every export. The same arguments give the same bytes.
    #[command(after_help = "\
Examples:
  peerpath generate --endpoints 10000 --exports 100 --seed 1 -o big.yaml
  peerpath generate --endpoints 200 --exports 4 --seed 7 --flavor amd | peerpath simulate /dev/stdin --summary")]
    Generate(GenerateArgs),
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
    Audit(AuditArgs),
    /// Print the platform format as a JSON Schema, for editors: a YAML language server
    /// then checks platform files as you type and completes their keys (docs/editor.md).
    #[command(after_help = "\
Examples:
  peerpath schema -o peerpath.schema.json              then, atop a platform file:
                                                       # yaml-language-server: $schema=./peerpath.schema.json
  peerpath schema --scenario -o scenario.schema.json   the scenario format
  peerpath schema")]
    #[command(mut_arg(
        "output",
        output_help("Where to write the schema (`-` or absent: stdout)")
    ))]
    Schema(SchemaArgs),
}

/// Where commands take the platform from (those that take a pairing: `PairingArgs`).
#[derive(clap::Args, Debug)]
pub(crate) struct PlatformArgs {
    /// Platform file (default: the embedded platform).
    pub(crate) platform: Option<PathBuf>,
    /// Instead of a platform file, import the running machine (or the /sys tree under
    /// ROOT) in memory, as `peerpath import --sysfs` would; nothing is written.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "/",
        conflicts_with = "platform")]
    pub(crate) sysfs: Option<PathBuf>,
    /// Behave as this kernel release (`6.8`, `4.18.0-553.el8_10.x86_64`, `newest`),
    /// whatever `kernel.release` says: the allow-list, the CPU rule, p2pdma itself and
    /// the ACS and DMA alias quirks as of that release (docs/kernels.md).
    #[arg(long, value_name = "RELEASE", value_parser = parse_release)]
    pub(crate) kernel: Option<peerpath_model::Release>,
}

/// `--kernel`: a release as `kernel.release` takes it.
pub(crate) fn parse_release(s: &str) -> Result<peerpath_model::Release, String> {
    s.parse()
        .map_err(|e: peerpath_model::ReleaseParseError| e.to_string())
}

/// `--via`: one mapping path for every export, for one run.
#[derive(clap::Args, Debug)]
pub(crate) struct ViaArg {
    /// Map every export this way for this run (rules K2.2–K2.4): the kernel's
    /// vfio-dmabuf or p2pdma-pages, or a driver's own driver-bus-address or
    /// driver-map-resource (what a vendor stack that never asks p2pdma would do).
    #[arg(long, value_name = "VIA",
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::PossibleValuesParser::new(peerpath_model::Via::names()),
            |s: String| peerpath_model::Via::from_name(&s).unwrap_or_default()))]
    pub(crate) via: Option<peerpath_model::Via>,
}

/// `peerpath audit`'s subcommand.
#[derive(Subcommand, Debug)]
pub(crate) enum AuditCommand {
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
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Error,
    Warning,
}

/// `peerpath simulate`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    pub(crate) source: PlatformArgs,
    #[command(flatten)]
    pub(crate) via: ViaArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Exit 1 when a finding at or above this severity is raised.
    #[arg(long, value_enum)]
    pub(crate) fail_on: Option<FailOn>,
    /// Counts per outcome, map type, path class and finding code, then the
    /// failing pairings grouped by cause with three examples each (at most about
    /// 60 lines).
    #[arg(long, conflicts_with = "format")]
    pub(crate) summary: bool,
    /// With --summary: list every failing pairing too.
    #[arg(long, requires = "summary")]
    pub(crate) all: bool,
    /// Importers × exports: each cell the outcome, the map type and the NCCL /
    /// `nvidia-smi topo -m` path class (PIX, PXB, PHB, NODE, SYS), with a legend.
    #[arg(long, conflicts_with = "summary")]
    pub(crate) matrix: bool,
    #[command(flatten)]
    pub(crate) jobs: JobsArg,
}

/// `-j N`, declared once (simulate, audit).
#[derive(clap::Args, Debug)]
pub(crate) struct JobsArg {
    /// Worker threads (default: every core). The output is the same for any N.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
}

impl JobsArg {
    /// The worker threads: `-j`, else every core.
    pub(crate) fn count(&self) -> usize {
        self.jobs
            .map_or_else(peerpath_rules::default_jobs, usize::from)
    }
}

/// `peerpath explain`'s and `peerpath kernels`' request: one pairing, on a platform.
#[derive(clap::Args, Debug)]
pub(crate) struct PairingRequestArgs {
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
    #[command(flatten)]
    pub(crate) via: ViaArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// `peerpath fix`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct FixArgs {
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
    #[command(flatten)]
    pub(crate) via: ViaArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Write the platform with a proposal applied (the best, or `--pick N`) to `-o`.
    #[arg(long, requires = "output")]
    pub(crate) apply: bool,
    /// Which proposal `--apply` writes (1 = the best).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "apply",
        value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) pick: u16,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    /// The most changes in one proposal (the search's bound).
    #[arg(long, value_name = "N", default_value_t = 3,
        value_parser = clap::value_parser!(u8).range(1..=4))]
    pub(crate) max_changes: u8,
}

/// `peerpath check`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    /// Platform files or directories of them (default: the embedded platform).
    pub(crate) platforms: Vec<PathBuf>,
}

/// `peerpath scenarios`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct ScenariosArgs {
    /// Scenario files or directories of them.
    pub(crate) paths: Vec<PathBuf>,
}

/// `peerpath dot`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct DotArgs {
    /// With IMPORTER EXPORT, the pairing's route is drawn in red.
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
    /// The former form of IMPORTER EXPORT, still read.
    #[arg(long = "pairing", num_args = 2, value_names = ["IMPORTER", "EXPORT"], hide = true)]
    pub(crate) legacy: Option<Vec<String>>,
}

/// `peerpath draw`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct DrawArgs {
    /// With IMPORTER EXPORT, the pairing's route is drawn, numbered hop by hop.
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
    /// The former form of IMPORTER EXPORT (IMPORTER:EXPORT), still read.
    #[arg(long = "pair", value_name = "IMPORTER:EXPORT", hide = true)]
    pub(crate) legacy: Option<String>,
    /// Shade the IOMMU groups, with a legend.
    #[arg(long)]
    pub(crate) groups: bool,
    /// With IMPORTER EXPORT, only the route's hierarchy and the devices beside it,
    /// alike siblings folded (`×56 gpu`): the default with a pairing.
    #[arg(long)]
    pub(crate) focus: bool,
    /// With IMPORTER EXPORT, every node (no focus).
    #[arg(long, conflicts_with = "focus")]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

/// `peerpath report`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) source: PlatformArgs,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

/// `peerpath groups`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct GroupsArgs {
    #[command(flatten)]
    pub(crate) source: PlatformArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// `peerpath throughput`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct ThroughputArgs {
    #[command(flatten)]
    pub(crate) source: PlatformArgs,
    /// TLPs to route (whole passes over the traffic).
    #[arg(long, value_name = "N", default_value_t = 2_000_000)]
    pub(crate) tlps: u64,
    /// Route hop by hop (the reference router, flow cache off) instead of the
    /// compiled path.
    #[arg(long)]
    pub(crate) reference: bool,
    /// Keep every hop of every route, as `explain` and JSON routes do (the
    /// reference router).
    #[arg(long)]
    pub(crate) record: bool,
}

/// `peerpath bandwidth`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct BandwidthArgs {
    #[command(flatten)]
    pub(crate) source: PlatformArgs,
    /// A measured run to compare with, alone or inside a markdown report:
    /// `p2pBandwidthLatencyTest` (P2P=Enabled matrices), `nvbandwidth`
    /// (device-to-device CE tests), peerpath's own matrices, or a pair list
    /// (`GPU0 -> GPU1: 25.1 GB/s`); diagonal left out.
    #[arg(long, value_name = "FILE")]
    pub(crate) compare: Option<PathBuf>,
    /// With `--compare`: exit 1 when any measured cell (or device) could not be
    /// compared.
    #[arg(long, requires = "compare")]
    pub(crate) strict: bool,
    /// Fit the platform's free timing parameters (initiator latency and the factor
    /// on the route's latency terms, the fabric's bandwidths) to this measured run,
    /// within bounds, by least squares; prints the fitted values and the residual
    /// per pair and writes the calibrated platform to `-o`.
    #[arg(long, value_name = "MEASURED", conflicts_with_all = ["compare", "concurrent"], requires = "output")]
    pub(crate) calibrate: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Every write at once, as an all-to-all collective: each link direction and
    /// shared stage divided by max-min fair share.
    #[arg(long, conflicts_with = "compare")]
    pub(crate) concurrent: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_name = "N")]
    pub(crate) jobs: Option<u16>,
}

/// `peerpath generate`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct GenerateArgs {
    /// Endpoints (at most 200,000, so that the file loads; 200 per host bridge).
    /// With --fleet: per machine, at most 124 (default 16).
    #[arg(long, value_name = "N", required_unless_present = "fleet")]
    pub(crate) endpoints: Option<usize>,
    /// Exports, one GPU's BAR 0 each (half the endpoints are GPUs).
    #[arg(
        long,
        value_name = "M",
        required_unless_present = "fleet",
        conflicts_with = "fleet"
    )]
    pub(crate) exports: Option<usize>,
    /// Instead of a platform: N `lspci -vvvnn` dumps of one machine, written into the
    /// directory -o names, with a manifest.json of the drift (docs/audit.md).
    #[arg(long, value_name = "N", requires = "output")]
    pub(crate) fleet: Option<usize>,
    /// With --fleet: the fraction of machines with one drift each (ACS re-enabled, a
    /// link downtrained, a BIOS MPS change, a moved card).
    #[arg(long, value_name = "P", default_value = "0", requires = "fleet")]
    pub(crate) drift: f64,
    /// The seed: which GPUs export, MPSS, ATS and which switches have ACS.
    #[arg(long, value_name = "S")]
    pub(crate) seed: u64,
    /// amd, arm or intel: arch, CPU, IOMMU and where translation happens.
    #[arg(long, value_parser = generate::parse_flavor, default_value = "arm")]
    pub(crate) flavor: peerpath_generate::Flavor,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

/// `peerpath audit`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    pub(crate) merge: Option<AuditCommand>,
    /// Dump files and directories (walked; files grouped by stem into machines).
    #[arg(required = true, value_name = "DIR|FILE")]
    pub(crate) paths: Vec<PathBuf>,
    /// Each directory holding files is one machine (instead of one per file stem).
    #[arg(long)]
    pub(crate) per_dir: bool,
    /// A rule every machine must meet: IMPORTER:EXPORTER=OUTCOME (classes gpu, nic,
    /// nvme, accel, other or *; outcome works, degraded or fails) or
    /// groups=singleton:CLASS. Exit 1 when a machine breaks one.
    #[arg(long, value_name = "RULE", value_parser = parse_requirement)]
    pub(crate) require: Vec<peerpath_audit::Requirement>,
    /// text, json (docs/audit.md) or html (one self-contained page).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: audit::AuditFormat,
    /// Leave out the fix search for failing clusters.
    #[arg(long)]
    pub(crate) no_fix: bool,
    /// Audit the I-th of N slices of the sorted machine list and write a part (JSON)
    /// for `peerpath audit merge`.
    #[arg(long, value_name = "I/N", value_parser = audit::parse_shard)]
    pub(crate) shard: Option<(usize, usize)>,
    #[command(flatten)]
    pub(crate) jobs: JobsArg,
}

/// `peerpath schema`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct SchemaArgs {
    /// The scenario file format instead of the platform format.
    #[arg(long)]
    pub(crate) scenario: bool,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
}
