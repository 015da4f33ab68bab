//! `peerpath import`: a real machine (sysfs, lspci, dmesg, markdown reports) → a platform
//! file, with `--compare-groups` checking peerpath's IOMMU groups against the kernel's.
//!
//! Files given without a flag are detected (`peerpath_import::detect_dump`; a directory
//! is a sysfs root) and each detection is said on stderr; the flags force a kind, with a
//! warning when the file looks like another. Inputs are merged in one fixed order
//! whatever the order on the command line, so a detected file gives the same platform as
//! its flag.
//!
//! Exit codes: 0 written (warnings about the dump go to stderr and into the file's header;
//! a dump in which nothing could be read is still written, as an empty platform, with a
//! warning); 1 `--compare-groups` found a device grouped differently; 2 invalid input (an
//! unreadable input file, a file without a flag that is no dump peerpath reads, two dumps
//! of one kind, an existing output without `--force`, a comparison asked for when the
//! dump has no groups, or emitted text that does not load); 3 internal error.

use std::path::{Path, PathBuf};

use peerpath_import::{
    compare_groups, detect_dump, kernel_groups, parse_log, parse_lspci, parse_lspci_tree,
    parse_markdown, parse_sysfs, to_platform_yaml, DumpKind, ImportOptions, Machine,
};
use peerpath_model::{Arch, CpuVendor, Platform};

use crate::exit::Exit;
use crate::output::OutputArgs;

/// `peerpath import`'s request.
#[derive(clap::Args, Debug)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) dumps: DumpArgs,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    /// Compare peerpath's IOMMU groups with the kernel's in the dump; exit 1 on a difference.
    #[arg(long)]
    pub(crate) compare_groups: bool,
    #[command(flatten)]
    pub(crate) options: ImportOptionArgs,
}

/// Where the dumps come from: files whose kind is detected, and one flag per kind.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct DumpArgs {
    /// Dumps of one machine, each detected as lspci -vvv/-vvnn output, an lspci -tv
    /// tree, a kernel log, a markdown report, or a directory holding a /sys tree.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// A /sys tree: reads ROOT/sys/bus/pci/devices and ROOT/sys/kernel/iommu_groups.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "/")]
    pub(crate) sysfs: Option<PathBuf>,
    /// `lspci -vvv`/`-vvnn`/`-vvvnn` (or plain `lspci`) text.
    #[arg(long, value_name = "FILE")]
    pub(crate) lspci: Option<PathBuf>,
    /// An `lspci -tv` tree of the same machine.
    #[arg(long, value_name = "FILE")]
    pub(crate) tree: Option<PathBuf>,
    /// A kernel log (dmesg, journalctl -k, or a script log quoting kernel lines).
    #[arg(long, value_name = "FILE")]
    pub(crate) dmesg: Option<PathBuf>,
    /// A markdown report with lspci output in fenced blocks.
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
}

/// Choices where the dump is silent: `peerpath_import::ImportOptions` as flags.
#[derive(clap::Args, Debug)]
pub(crate) struct ImportOptionArgs {
    /// The platform's name (default imported-<source>).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// kernel.arch when the dump does not say (arm64, x86_64, ppc64).
    #[arg(long, value_parser = parse_arch)]
    pub(crate) arch: Option<peerpath_model::Arch>,
    /// kernel.cpu.vendor when the dump does not say (amd, intel, arm, ibm, other).
    #[arg(long, value_parser = parse_cpu_vendor)]
    pub(crate) cpu_vendor: Option<peerpath_model::CpuVendor>,
    /// kernel.cpu.family (x86, K1.6) when the dump does not say: 0x19, 19h or 25.
    #[arg(long, value_parser = parse_family)]
    pub(crate) cpu_family: Option<u32>,
    /// MPSS assumed where the dump shows no Device Capabilities.
    #[arg(long, value_name = "BYTES", default_value_t = 256, value_parser = parse_mpss)]
    pub(crate) default_mpss: u32,
    /// Leave out the measured ACS Control, so peerpath derives it (K4.1).
    #[arg(long)]
    pub(crate) derive_acs_ctl: bool,
    /// Do not export the GPUs' and accelerators' largest prefetchable BARs.
    #[arg(long)]
    pub(crate) no_exports: bool,
    /// Do not infer ACS from the kernel's groups where the dump shows none.
    #[arg(long)]
    pub(crate) no_acs_from_groups: bool,
    /// Assume a prefetchable BAR 0 of SIZE (e.g. 256MiB) for GPUs whose dump shows no
    /// BAR (kernel logs, trees), so that they can be exported; stated in the header.
    #[arg(long, value_name = "SIZE", value_parser = parse_bar_size)]
    pub(crate) assume_gpu_bar: Option<u64>,
}

impl ImportOptionArgs {
    /// The options the importer takes.
    pub(crate) fn options(&self) -> ImportOptions {
        let Self {
            name,
            arch,
            cpu_vendor,
            cpu_family,
            default_mpss,
            derive_acs_ctl,
            no_exports,
            no_acs_from_groups,
            assume_gpu_bar,
        } = self;
        ImportOptions {
            name: name.clone(),
            arch: *arch,
            cpu_vendor: *cpu_vendor,
            cpu_family: *cpu_family,
            default_mpss: *default_mpss,
            measured_acs_ctl: !derive_acs_ctl,
            export_gpu_bars: !no_exports,
            acs_from_groups: !no_acs_from_groups,
            assumed_gpu_bar: *assume_gpu_bar,
            ..ImportOptions::default()
        }
    }
}

/// Parses `--arch`.
pub(crate) fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::from_name(s).ok_or_else(|| format!("expected one of {}", Arch::names().join(", ")))
}

/// Parses `--cpu-vendor`.
pub(crate) fn parse_cpu_vendor(s: &str) -> Result<CpuVendor, String> {
    CpuVendor::from_name(s)
        .ok_or_else(|| format!("expected one of {}", CpuVendor::names().join(", ")))
}

/// Parses `--cpu-family`: `0x1a`, `1ah` or decimal `26`.
pub(crate) fn parse_family(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16)
    } else if let Some(h) = t.strip_suffix('h') {
        u32::from_str_radix(h, 16)
    } else {
        t.parse()
    };
    r.map_err(|_| format!("`{s}`: expected a family such as 0x19, 19h or 25"))
}

/// Parses `--default-mpss`: bytes, checked by the loader's own rule for `mpss`, so
/// that what the flag accepts the written file loads with (issue 17).
pub(crate) fn parse_mpss(s: &str) -> Result<u32, String> {
    let v: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: expected a number of bytes, one of 128 … 4096"))?;
    peerpath_load::check_mps_value(v)
        .map(|()| v)
        .map_err(|expected| format!("`{s}` is not a valid MPSS: expected {expected}"))
}

/// Parses `--assume-gpu-bar`: a size as a platform file writes it (bytes, or KiB, MiB,
/// GiB, TiB: `peerpath_load::parse_size_flag`, the one size parser); a power of two of
/// at least 4 KiB.
pub(crate) fn parse_bar_size(s: &str) -> Result<u64, String> {
    let v = peerpath_load::parse_size_flag(s)?;
    if v < 4096 || !v.is_power_of_two() {
        return Err(format!(
            "`{s}`: a BAR size is a power of two of at least 4KiB"
        ));
    }
    Ok(v)
}

fn read(path: &Path, what: &str) -> Result<String, Exit> {
    match std::fs::read(path) {
        // Dumps are text, but a stray byte must not stop the import.
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            eprintln!("error: cannot read the {what} {}: {e}", path.display());
            Err(Exit::InvalidInput)
        }
    }
}

fn merge(acc: &mut Option<Machine>, m: Machine) {
    match acc {
        Some(a) => a.merge(m),
        None => *acc = Some(m),
    }
}

/// A text dump, read.
#[derive(Debug)]
struct Dump {
    path: PathBuf,
    text: String,
}

/// Every input, one of each kind, from the flags and the detected files.
#[derive(Debug, Default)]
struct Inputs {
    sysfs: Option<PathBuf>,
    lspci: Option<Dump>,
    tree: Option<Dump>,
    dmesg: Option<Dump>,
    markdown: Option<Dump>,
}

impl Inputs {
    fn slot(&mut self, kind: DumpKind) -> &mut Option<Dump> {
        match kind {
            DumpKind::Lspci => &mut self.lspci,
            DumpKind::LspciTree => &mut self.tree,
            DumpKind::Log => &mut self.dmesg,
            DumpKind::Markdown => &mut self.markdown,
        }
    }

    /// Puts a dump in its kind's slot; a second dump of one kind is invalid input.
    fn put(&mut self, kind: DumpKind, dump: Dump) -> Result<(), String> {
        let slot = self.slot(kind);
        if let Some(first) = slot {
            return Err(format!(
                "{} and {} are both {}: give each kind of dump once (one machine per import)",
                first.path.display(),
                dump.path.display(),
                kind.describe()
            ));
        }
        *slot = Some(dump);
        Ok(())
    }

    /// The machine the dumps describe, merged in one fixed order (sysfs, kernel log,
    /// lspci with its tree, markdown); `None` when there is no dump.
    fn merged(&self) -> Option<Machine> {
        let mut acc: Option<Machine> = None;
        if let Some(root) = &self.sysfs {
            merge(&mut acc, parse_sysfs(root));
        }
        if let Some(d) = &self.dmesg {
            merge(&mut acc, parse_log(&d.text));
        }
        let tree = self.tree.as_ref().map(|d| d.text.as_str());
        match (&self.lspci, tree) {
            (Some(d), tree) => merge(&mut acc, parse_lspci(&d.text, tree)),
            (None, Some(tree)) => merge(&mut acc, parse_lspci_tree(tree).to_machine()),
            (None, None) => {}
        }
        if let Some(d) = &self.markdown {
            merge(&mut acc, parse_markdown(&d.text));
        }
        acc
    }
}

/// `peerpath audit`: one machine from its files (each detected; a directory is a sysfs
/// root), merged as `import` merges them. Nothing is printed: an input that is not
/// read is the error. With `skip_unknown`, files that are no dump are left out (and
/// counted in `skipped`); `None`: no dump at all.
pub(crate) fn machine_of(
    files: &[PathBuf],
    skip_unknown: bool,
    skipped: &mut usize,
) -> Result<Option<Machine>, String> {
    let mut inp = Inputs::default();
    for path in files {
        if path.is_dir() {
            let root = sysfs_root(path)
                .ok_or_else(|| format!("{} is a directory but not a sysfs root", path.display()))?;
            if inp.sysfs.is_some() {
                return Err(format!("{}: a second sysfs root", path.display()));
            }
            inp.sysfs = Some(root);
            continue;
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let Some(d) = detect_dump(&text) else {
            if skip_unknown {
                *skipped += 1;
                continue;
            }
            return Err(format!("{}: not a dump peerpath reads", path.display()));
        };
        let kind = d.kind;
        inp.put(
            kind,
            Dump {
                path: path.clone(),
                text,
            },
        )?;
    }
    Ok(inp.merged())
}

/// Whether `dir` is a sysfs root (or the `sys` directory of one).
pub(crate) fn is_sysfs_root(dir: &Path) -> bool {
    sysfs_root(dir).is_some()
}

/// The root the `/sys` tree of a directory is under: the directory itself
/// (`ROOT/sys/bus/pci/devices`), or its parent when it is the `sys` directory.
fn sysfs_root(dir: &Path) -> Option<PathBuf> {
    if dir.join("sys/bus/pci/devices").is_dir() {
        return Some(dir.to_path_buf());
    }
    let is_sys = dir.file_name().is_some_and(|n| n == "sys");
    (is_sys && dir.join("bus/pci/devices").is_dir())
        .then(|| dir.parent().map(Path::to_path_buf))
        .flatten()
}

/// Reads a file given with a flag; warns when it looks like another kind of dump.
fn flagged(path: &Path, kind: DumpKind) -> Result<Dump, Exit> {
    let text = read(path, kind.describe())?;
    match detect_dump(&text) {
        Some(d) if d.kind != kind => eprintln!(
            "warning: {} looks like {} ({}), not {}: {} reads it (or give the file without a flag)",
            path.display(),
            d.kind.describe(),
            d.evidence,
            kind.describe(),
            d.kind.flag()
        ),
        Some(_) => {}
        None => eprintln!(
            "warning: {} does not look like {} (nor like any other dump peerpath reads)",
            path.display(),
            kind.describe()
        ),
    }
    Ok(Dump {
        path: path.to_path_buf(),
        text,
    })
}

/// The flags' inputs, then each file without a flag, detected and said on stderr.
fn inputs(req: &DumpArgs) -> Result<Inputs, Exit> {
    let mut inp = Inputs {
        sysfs: req.sysfs.clone(),
        ..Inputs::default()
    };
    for (path, kind) in [
        (&req.lspci, DumpKind::Lspci),
        (&req.tree, DumpKind::LspciTree),
        (&req.dmesg, DumpKind::Log),
        (&req.markdown, DumpKind::Markdown),
    ] {
        if let Some(p) = path {
            *inp.slot(kind) = Some(flagged(p, kind)?);
        }
    }
    for path in &req.files {
        if path.is_dir() {
            let Some(root) = sysfs_root(path) else {
                eprintln!(
                    "error: {} is a directory but not a sysfs root: it has no sys/bus/pci/devices (give the root the /sys tree is under, e.g. /)",
                    path.display()
                );
                return Err(Exit::InvalidInput);
            };
            if let Some(first) = &inp.sysfs {
                eprintln!(
                    "error: {} and {} are both sysfs roots: give one (one machine per import)",
                    first.display(),
                    path.display()
                );
                return Err(Exit::InvalidInput);
            }
            eprintln!(
                "{}: detected a sysfs root ({}/sys), read as --sysfs",
                path.display(),
                root.display()
            );
            inp.sysfs = Some(root);
            continue;
        }
        let text = read(path, "file")?;
        let Some(d) = detect_dump(&text) else {
            eprintln!(
                "error: {}: not a dump peerpath reads; expected lspci -vvv/-vvnn output, an lspci -tv tree, a kernel log (dmesg, journalctl -k), a markdown report with lspci output in fenced blocks, or a sysfs root directory",
                path.display()
            );
            eprintln!("  to read it as one of them anyway, name the kind: --lspci, --tree, --dmesg or --markdown");
            return Err(Exit::InvalidInput);
        };
        eprintln!(
            "{}: detected {} ({}), read as {}",
            path.display(),
            d.kind.describe(),
            d.evidence,
            d.kind.flag()
        );
        if let Err(e) = inp.put(
            d.kind,
            Dump {
                path: path.clone(),
                text,
            },
        ) {
            eprintln!("error: {e}");
            return Err(Exit::InvalidInput);
        }
    }
    Ok(inp)
}

/// Reads every dump named and merges them into one machine, in one fixed order.
fn machine(req: &DumpArgs) -> Result<Machine, Exit> {
    let inp = inputs(req)?;
    if let Some(root) = &inp.sysfs {
        if !root.join("sys/bus/pci/devices").is_dir() {
            eprintln!(
                "error: {} has no sys/bus/pci/devices directory (--sysfs takes the root the /sys tree is under, default /)",
                root.display()
            );
            return Err(Exit::InvalidInput);
        }
    }
    inp.merged().ok_or_else(|| {
        eprintln!(
            "error: nothing to import: give files, --sysfs, --lspci, --tree, --dmesg or --markdown"
        );
        Exit::InvalidInput
    })
}

/// The platform file for `m` and the platform it loads as. The emitted text is loaded
/// the way every platform file is: it must be valid.
fn platform(
    m: &Machine,
    options: &ImportOptions,
    source: &str,
) -> Result<(String, Platform), Exit> {
    let yaml = to_platform_yaml(m, options);
    match peerpath_load::load_str(source, &yaml) {
        Ok(p) => Ok((yaml, p)),
        Err(d) => {
            // The importer emits only what the loader accepts: a platform that does not
            // load is a bug in peerpath, not in the user's dump.
            let exit = crate::exit::internal(
                "the imported platform does not load (a bug in the importer; please report it with the dump):",
            );
            crate::input::print_diagnostics(d);
            Err(exit)
        }
    }
}

/// `simulate`/`explain`/`groups`/`dot --sysfs [ROOT]`: the machine under ROOT imported in
/// memory, with what was read said on stderr; nothing is written.
pub(crate) fn sysfs_platform(root: &Path) -> Result<Platform, Exit> {
    let dumps = DumpArgs {
        sysfs: Some(root.to_path_buf()),
        ..DumpArgs::default()
    };
    let m = machine(&dumps)?;
    let (_, p) = platform(
        &m,
        &ImportOptions::default(),
        &format!("<sysfs {}>", root.display()),
    )?;
    eprintln!(
        "imported {} in memory: {} PCI functions, {} nodes, {} exports; {} warnings (`peerpath import --sysfs {}` writes the platform with every assumption)",
        root.join("sys").display(),
        m.devices.len(),
        p.nodes.len(),
        p.exports.len(),
        m.warnings.len(),
        root.display()
    );
    Ok(p)
}

/// An import that exports nothing: which devices could have and why they do not, and
/// the command to try next (issue 19: no dead ends).
fn no_exports(req: &ImportArgs, options: &ImportOptions, p: &Platform) -> String {
    let mut out = format!(
        "note: {}",
        peerpath_render::no_pairings_why(p).replace("\n  ", "\nnote:   ")
    );
    if !options.export_gpu_bars {
        out.push_str("note: --no-exports was given; leave it out to export the GPUs' BARs\n");
        return out;
    }
    if options.assumed_gpu_bar.is_some() {
        out.push_str(
            "note: --assume-gpu-bar was given: the dump shows no GPU or accelerator to assume \
             a BAR for; add an export by hand (`exports:`, spec/platform-format.md)\n",
        );
        return out;
    }
    // The command again, with a BAR assumed where the dump shows none.
    let mut cmd = vec!["peerpath import".to_owned()];
    let d = &req.dumps;
    cmd.extend(d.files.iter().map(|f| f.display().to_string()));
    for (flag, f) in [
        ("--lspci", &d.lspci),
        ("--tree", &d.tree),
        ("--dmesg", &d.dmesg),
        ("--markdown", &d.markdown),
    ] {
        if let Some(f) = f {
            cmd.push(format!("{flag} {}", f.display()));
        }
    }
    if let Some(root) = &d.sysfs {
        cmd.push(format!("--sysfs {}", root.display()));
    }
    cmd.push("--assume-gpu-bar 64GiB".to_owned());
    if let Some(o) = &req.out.output {
        cmd.push(format!("-o {} --force", o.display()));
    }
    out.push_str(&format!(
        "note: no pairings follow; if the dump shows no BARs (a kernel log, a tree), assume one \
         for the GPUs (their real size, e.g. 64GiB):\nnote:   {}\n",
        cmd.join(" ")
    ));
    out
}

/// Runs `peerpath import`.
pub(crate) fn run(req: &ImportArgs) -> Exit {
    let to_file = req.out.file();
    if let Err(e) = req.out.refuse_overwrite() {
        return e;
    }
    let options = req.options.options();
    let m = match machine(&req.dumps) {
        Ok(m) => m,
        Err(e) => return e,
    };
    for w in &m.warnings {
        eprintln!("warning: {w}");
    }
    if m.devices.is_empty() {
        eprintln!("warning: no PCI device could be read from the input: the platform is empty");
    }
    if req.compare_groups && kernel_groups(&m).is_empty() {
        eprintln!("error: --compare-groups: the input carries no IOMMU groups of the kernel (`IOMMU group:` lines, `Adding to iommu group`, sysfs iommu_group links)");
        return Exit::InvalidInput;
    }
    let source = to_file.map_or_else(|| "<import>".to_string(), |p| p.display().to_string());
    let (yaml, platform) = match platform(&m, &options, &source) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Err(e) = crate::output::write(to_file, &yaml) {
        return e;
    }
    if let Some(out) = to_file {
        eprintln!(
            "wrote {} ({} nodes, {} exports; {} warnings, see its header)",
            out.display(),
            platform.nodes.len(),
            platform.exports.len(),
            m.warnings.len()
        );
    }
    if platform.exports.is_empty() && !m.devices.is_empty() {
        eprint!("{}", no_exports(req, &options, &platform));
    }
    if !req.compare_groups {
        return Exit::Success;
    }
    let topo = peerpath_topology::Topology::new(&platform);
    let cmp = compare_groups(&m, &topo);
    // With the YAML on stdout the table goes to stderr, so the two never mix.
    if to_file.is_some() {
        out!("{cmp}");
    } else {
        eprint!("{cmp}");
    }
    if cmp.agrees() {
        Exit::Success
    } else {
        Exit::Findings
    }
}
