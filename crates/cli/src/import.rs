//! `peerpath import`: a real machine (sysfs, lspci, dmesg, markdown reports) → a platform
//! file, with `--compare-groups` checking peerpath's IOMMU groups against the kernel's.
//!
//! Exit codes: 0 written (warnings about the dump go to stderr and into the file's header;
//! a dump in which nothing could be read is still written, as an empty platform, with a
//! warning); 1 `--compare-groups` found a device grouped differently; 2 invalid input (an
//! unreadable input file, an existing output without `--force`, a comparison asked for
//! when the dump has no groups, or emitted text that does not load); 3 internal error.

use std::path::{Path, PathBuf};

use peerpath_import::{
    compare_groups, kernel_groups, parse_log, parse_lspci, parse_lspci_tree, parse_markdown,
    parse_sysfs, to_platform_yaml, ImportOptions, Machine,
};
use peerpath_model::{Arch, CpuVendor};

use crate::exit::Exit;

/// Where the dumps come from and what to do with the result.
#[derive(Debug)]
pub struct Request {
    /// `--sysfs [ROOT]`.
    pub sysfs: Option<PathBuf>,
    /// `--lspci FILE`.
    pub lspci: Option<PathBuf>,
    /// `--tree FILE`.
    pub tree: Option<PathBuf>,
    /// `--dmesg FILE`.
    pub dmesg: Option<PathBuf>,
    /// `--markdown FILE`.
    pub markdown: Option<PathBuf>,
    /// `-o FILE` (`-` or absent: stdout).
    pub output: Option<PathBuf>,
    /// `--force`.
    pub force: bool,
    /// `--compare-groups`.
    pub compare_groups: bool,
    /// Choices where the dump is silent.
    pub options: ImportOptions,
}

/// Parses `--arch`.
pub fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::from_name(s).ok_or_else(|| format!("expected one of {}", Arch::names().join(", ")))
}

/// Parses `--cpu-vendor`.
pub fn parse_cpu_vendor(s: &str) -> Result<CpuVendor, String> {
    CpuVendor::from_name(s)
        .ok_or_else(|| format!("expected one of {}", CpuVendor::names().join(", ")))
}

/// Parses `--cpu-family`: `0x1a`, `1ah` or decimal `26`.
pub fn parse_family(s: &str) -> Result<u32, String> {
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

/// Parses `--assume-gpu-bar`: bytes, or a number with KiB/MiB/GiB/TiB (or K/M/G/T); a
/// power of two of at least 4 KiB.
pub fn parse_bar_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, shift) = [
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
        ("T", 40),
        ("G", 30),
        ("M", 20),
        ("K", 10),
    ]
    .iter()
    .find_map(|(u, sh)| t.strip_suffix(u).map(|n| (n, *sh)))
    .unwrap_or((t, 0));
    let v = num
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("`{s}`: expected a size such as 256MiB or 16GiB"))?;
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

/// Reads every dump named and merges them into one machine.
fn machine(req: &Request) -> Result<Machine, Exit> {
    let mut acc: Option<Machine> = None;
    if let Some(root) = &req.sysfs {
        if !root.join("sys/bus/pci/devices").is_dir() {
            eprintln!(
                "error: {} has no sys/bus/pci/devices directory (--sysfs takes the root the /sys tree is under, default /)",
                root.display()
            );
            return Err(Exit::InvalidInput);
        }
        merge(&mut acc, parse_sysfs(root));
    }
    if let Some(p) = &req.dmesg {
        let text = read(p, "kernel log")?;
        merge(&mut acc, parse_log(&text));
    }
    let tree = match &req.tree {
        Some(p) => Some(read(p, "lspci -t tree")?),
        None => None,
    };
    match (&req.lspci, tree) {
        (Some(p), tree) => {
            let text = read(p, "lspci dump")?;
            merge(&mut acc, parse_lspci(&text, tree.as_deref()));
        }
        (None, Some(tree)) => merge(&mut acc, parse_lspci_tree(&tree).to_machine()),
        (None, None) => {}
    }
    if let Some(p) = &req.markdown {
        let text = read(p, "markdown report")?;
        merge(&mut acc, parse_markdown(&text));
    }
    acc.ok_or_else(|| {
        eprintln!("error: nothing to import: give --sysfs, --lspci, --tree, --dmesg or --markdown");
        Exit::InvalidInput
    })
}

/// Runs `peerpath import`.
pub fn run(req: &Request) -> Exit {
    let to_file = crate::output::file(req.output.as_deref());
    if let Err(e) = crate::output::refuse_overwrite(to_file, req.force) {
        return e;
    }
    let m = match machine(req) {
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
    let yaml = to_platform_yaml(&m, &req.options);
    let source = to_file.map_or_else(|| "<import>".to_string(), |p| p.display().to_string());
    // The emitted text is loaded the way every platform file is: it must be valid.
    let platform = match peerpath_load::load_str(&source, &yaml) {
        Ok(p) => p,
        Err(d) => {
            eprintln!("error: the imported platform does not load; this is a bug in the importer or a dump it cannot lay out:");
            crate::input::print_diagnostics(d);
            return Exit::InvalidInput;
        }
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
