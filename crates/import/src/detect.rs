//! What a dump is, from its text alone, so that `peerpath import FILE` needs no flag.
//!
//! The kinds are tried from the most specific shape to the loosest:
//!
//! 1. **markdown report**: a fenced block holds `lspci` output (its prompt line names
//!    `lspci`, or its body is an `lspci -t` tree);
//! 2. **lspci**: most lines at the left margin are records (`0000:00:01.0 PCI bridge: …`),
//!    with or without indented `-v` detail lines;
//! 3. **lspci tree**: most lines are lines of an `lspci -t` tree;
//! 4. **kernel or script log**: anything in which [`parse_log`] finds PCI functions, IOMMU
//!    groups or a p2pdma verdict (dmesg, `journalctl -k`, a test script's log quoting
//!    kernel lines or pasting a tree).
//!
//! A text that is none of them is `None`. Directories (sysfs roots) are the caller's:
//! this module reads no files.

use crate::dmesg::parse_log;
use crate::markdown::{extract_fenced_blocks, is_lspci_detail_block, is_tree_block};
use crate::text::bdf_at_start;
use crate::tree::parse_lspci_tree;

/// The kinds of text dump `peerpath import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DumpKind {
    /// `lspci -vvv`/`-vvnn` (or plain `lspci`) records.
    Lspci,
    /// An `lspci -t`/`-tv` tree.
    LspciTree,
    /// A kernel log, or a script's log quoting kernel lines.
    Log,
    /// A markdown report with `lspci` output in fenced blocks.
    Markdown,
}

impl DumpKind {
    /// What the kind is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            DumpKind::Lspci => "lspci output",
            DumpKind::LspciTree => "an lspci -t tree",
            DumpKind::Log => "a kernel or script log",
            DumpKind::Markdown => "a markdown report",
        }
    }

    /// The `peerpath import` flag that reads this kind.
    pub fn flag(self) -> &'static str {
        match self {
            DumpKind::Lspci => "--lspci",
            DumpKind::LspciTree => "--tree",
            DumpKind::Log => "--dmesg",
            DumpKind::Markdown => "--markdown",
        }
    }
}

/// A detected kind and what gave it away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The kind.
    pub kind: DumpKind,
    /// The evidence, for the user: `27 records with -v detail lines`.
    pub evidence: String,
}

/// The share of lines that must have a kind's shape, in percent: a few stray lines (a
/// `pcilib:` warning, a prompt) do not change what a file is.
const MOSTLY: usize = 80;

/// What `text` is, or `None` when it is none of the dumps `peerpath import` reads.
pub fn detect_dump(text: &str) -> Option<Detection> {
    markdown(text)
        .or_else(|| lspci(text))
        .or_else(|| tree(text))
        .or_else(|| log(text))
}

fn found(kind: DumpKind, evidence: String) -> Option<Detection> {
    Some(Detection { kind, evidence })
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn markdown(text: &str) -> Option<Detection> {
    let blocks = extract_fenced_blocks(text);
    let trees = blocks
        .iter()
        .filter(|b| is_tree_block(b) || !parse_lspci_tree(b.body).entries.is_empty())
        .count();
    let details = blocks.iter().filter(|b| is_lspci_detail_block(b)).count();
    if trees + details == 0 {
        return None;
    }
    found(
        DumpKind::Markdown,
        format!(
            "{}: {trees} with an lspci tree, {details} with lspci records",
            plural(blocks.len(), "fenced block"),
        ),
    )
}

/// A line at the left margin that starts an lspci record: a BDF, then a space.
fn is_record(line: &str) -> bool {
    matches!(bdf_at_start(line), Ok(Some(m)) if line.get(m.len..).is_some_and(|r| r.starts_with(' ')))
}

fn lspci(text: &str) -> Option<Detection> {
    let (mut records, mut margin, mut detail) = (0usize, 0usize, 0usize);
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        if l.starts_with([' ', '\t']) {
            detail += 1;
        } else {
            margin += 1;
            records += usize::from(is_record(l));
        }
    }
    if records == 0 || records * 100 < margin * MOSTLY {
        return None;
    }
    let how = if detail > 0 {
        "with -v detail lines"
    } else {
        "without -v detail lines: no capabilities, ACS or BARs"
    };
    found(
        DumpKind::Lspci,
        format!("{} {how}", plural(records, "record")),
    )
}

/// A line of an `lspci -t` tree: its first character past the indentation is one of the
/// tree's drawing characters.
fn is_tree_line(line: &str) -> bool {
    line.trim_start().starts_with(['-', '+', '\\', '|'])
}

fn tree(text: &str) -> Option<Detection> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let shaped = lines.iter().filter(|l| is_tree_line(l)).count();
    if shaped == 0 || shaped * 100 < lines.len() * MOSTLY {
        return None;
    }
    let t = parse_lspci_tree(text);
    if t.entries.is_empty() {
        return None;
    }
    found(DumpKind::LspciTree, plural(t.entries.len(), "function"))
}

fn log(text: &str) -> Option<Detection> {
    let m = parse_log(text);
    let groups = m.devices.iter().filter(|d| d.iommu_group.is_some()).count();
    if m.devices.is_empty() && m.p2pdma.is_empty() {
        return None;
    }
    let mut what = vec![plural(m.devices.len(), "PCI function")];
    if groups > 0 {
        what.push(format!("{groups} with an IOMMU group"));
    }
    if !m.p2pdma.is_empty() {
        what.push(plural(m.p2pdma.len(), "p2pdma verdict"));
    }
    found(DumpKind::Log, what.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<DumpKind> {
        detect_dump(text).map(|d| d.kind)
    }

    const LSPCI_VV: &str = "\
0000:00:01.0 PCI bridge [0604]: Ampere Computing, LLC Altra PCI Express Root Port a0 [1def:e101] (rev 04)
\tControl: I/O+ Mem+ BusMaster+
\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0

0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [10de:2204] (rev a1)
\tSubsystem: NVIDIA Corporation Device [10de:1454]
";

    const TREE: &str = "\
-[0000:00]-+-00.0  Advanced Micro Devices, Inc. [AMD] Device 14a4
           +-01.1-[01]--+-00.0  NVIDIA Corporation AD102GL [RTX 6000 Ada Generation]
           |            \\-00.1  NVIDIA Corporation AD102 High Definition Audio Controller
           \\-07.1-[02]----00.0  Advanced Micro Devices, Inc. [AMD] Device 14ac
";

    #[test]
    fn lspci_with_and_without_detail() {
        let d = detect_dump(LSPCI_VV).expect("detected");
        assert_eq!(d.kind, DumpKind::Lspci);
        assert_eq!(d.evidence, "2 records with -v detail lines");
        let plain = "00:00.0 Host bridge: Advanced Micro Devices, Inc. [AMD] Device 14a4\n\
                     00:01.1 PCI bridge: Advanced Micro Devices, Inc. [AMD] Device 14ab\n";
        let d = detect_dump(plain).expect("detected");
        assert_eq!(d.kind, DumpKind::Lspci);
        assert_eq!(
            d.evidence,
            "2 records without -v detail lines: no capabilities, ACS or BARs"
        );
        // A warning line of a non-root run does not change what the file is.
        let warned =
            format!("pcilib: sysfs_read_vpd: read failed: Input/output error\n{LSPCI_VV}{plain}");
        assert_eq!(kind(&warned), Some(DumpKind::Lspci));
    }

    #[test]
    fn a_tree() {
        let d = detect_dump(TREE).expect("detected");
        assert_eq!(d.kind, DumpKind::LspciTree);
        assert_eq!(d.evidence, "6 functions");
    }

    #[test]
    fn markdown_with_a_tree_or_records_in_fences() {
        let md =
            format!("# My box\n\n## PCIe Topology\n```\n$ user@host:~$ lspci -tv\n{TREE}```\n");
        let d = detect_dump(&md).expect("detected");
        assert_eq!(d.kind, DumpKind::Markdown);
        assert_eq!(
            d.evidence,
            "1 fenced block: 1 with an lspci tree, 0 with lspci records"
        );
        // The fence alone, without the prompt line, is enough when a tree is inside.
        let bare = format!("Notes\n~~~\n{TREE}~~~\n");
        assert_eq!(kind(&bare), Some(DumpKind::Markdown));
        let details = format!("Text\n```console\n$ sudo lspci -vvv -s 01:00.0\n{LSPCI_VV}```\n");
        assert_eq!(kind(&details), Some(DumpKind::Markdown));
        // Fences around something else: not a report peerpath reads.
        assert_eq!(kind("# Title\n```rust\nfn main() {}\n```\n"), None);
    }

    #[test]
    fn kernel_and_script_logs() {
        let dmesg =
            "[    0.912345] pci 0000:00:01.0: [1def:e101] type 01 class 0x060400 PCIe Root Port\n\
                     [    1.263328] pci 0000:00:01.0: Adding to iommu group 2\n";
        let d = detect_dump(dmesg).expect("detected");
        assert_eq!(d.kind, DumpKind::Log);
        assert_eq!(d.evidence, "1 PCI function, 1 with an IOMMU group");
        let journal = "Jun 26 19:29:53 host kernel: pci 0000:03:00.0: Adding to iommu group 19\n";
        assert_eq!(kind(journal), Some(DumpKind::Log));
        // A script's log: prose around a pasted tree is a log, not a tree.
        let script =
            format!("# probe\nCPU : AMD Ryzen 9 9950X\nsome output\nmore output\n{TREE}done\n");
        assert_eq!(kind(&script), Some(DumpKind::Log));
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "hello\nworld\n",
            "format: 1\nname: x\n",
            "\u{0}\u{1}\u{2}binary",
            "```\nplain fenced text\n```\n",
        ] {
            assert_eq!(detect_dump(text), None, "{text:?}");
        }
    }
}
