//! Markdown reports that paste command output into fenced blocks (hardware write-ups,
//! issue comments): the `lspci -tv` block gives the tree, `lspci -vvv -s …` blocks give
//! details of a few devices, `lscpu` the CPU, `/etc/default/grub` the command line.

use peerpath_model::{Arch, CpuVendor};

use crate::lspci::parse_lspci_into;
use crate::machine::{finished, Machine, SourceKind};
use crate::text::parse_dec;
use crate::tree::{apply_tree, parse_lspci_tree};

/// One fenced block (```` ``` ```` or `~~~`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FencedBlock<'a> {
    /// The info string after the opening fence (`text`, `console`, often empty).
    pub info: &'a str,
    /// The command of a first line that is a shell prompt (`$ user@host:~$ lspci -tv`
    /// gives `lspci -tv`).
    pub command: Option<&'a str>,
    /// The text between the fences.
    pub body: &'a str,
    /// 1-based line number of the body's first line in the whole text.
    pub first_line: usize,
}

/// Every fenced block of `text`, in order; an unclosed block runs to the end.
pub fn extract_fenced_blocks(text: &str) -> Vec<FencedBlock<'_>> {
    let mut blocks = Vec::new();
    // (fence char, fence length, info, body start byte, body first line)
    let mut open: Option<(u8, usize, &str, usize, usize)> = None;
    let mut offset = 0usize;
    for (i, piece) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += piece.len();
        let t = piece.trim();
        let fence = t
            .as_bytes()
            .first()
            .filter(|c| **c == b'`' || **c == b'~')
            .map(|c| (*c, t.bytes().take_while(|x| x == c).count()));
        match (open, fence) {
            (None, Some((c, n))) if n >= 3 => {
                open = Some((c, n, t[n..].trim(), offset, i + 2));
            }
            (Some((c, n, info, start, first)), Some((fc, fnn)))
                if fc == c && fnn >= n && t.len() == fnn =>
            {
                blocks.push(block(
                    info,
                    text.get(start..line_start).unwrap_or_default(),
                    first,
                ));
                open = None;
            }
            _ => {}
        }
    }
    if let Some((_, _, info, start, first)) = open {
        blocks.push(block(info, text.get(start..).unwrap_or_default(), first));
    }
    blocks
}

fn block<'a>(info: &'a str, body: &'a str, first_line: usize) -> FencedBlock<'a> {
    let command = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        .filter(|l| l.starts_with('$'))
        .and_then(|l| l.rfind("$ ").map(|p| l[p + 2..].trim()));
    FencedBlock {
        info,
        command,
        body,
        first_line,
    }
}

/// The option letters of a command's short options (`-tv`, `-vvv -s x` → `tv`, `vvvs`).
fn short_opts(cmd: &str) -> String {
    cmd.split_whitespace()
        .filter(|w| w.starts_with('-') && !w.starts_with("--"))
        .flat_map(|w| w.chars().skip(1))
        .collect()
}

fn is_lspci(cmd: &str) -> bool {
    cmd.split_whitespace()
        .any(|w| w == "lspci" || w.ends_with("/lspci"))
}

/// Whether a block holds an `lspci -t` tree.
pub fn is_tree_block(b: &FencedBlock<'_>) -> bool {
    b.command
        .is_some_and(|c| is_lspci(c) && short_opts(c).contains('t'))
}

/// Whether a block holds `lspci -v…` records (not piped through `grep`).
pub fn is_lspci_detail_block(b: &FencedBlock<'_>) -> bool {
    b.command
        .is_some_and(|c| is_lspci(c) && !c.contains('|') && !short_opts(c).contains('t'))
}

/// A machine from a markdown report: every `lspci -t` block (or, when none is marked by
/// its command, any tree in the text), every unpiped `lspci` block, `lscpu` and a GRUB
/// command line.
pub fn parse_markdown(text: &str) -> Machine {
    let mut m = Machine::new(SourceKind::Markdown);
    let blocks = extract_fenced_blocks(text);
    for b in blocks.iter().filter(|b| is_lspci_detail_block(b)) {
        // Skip the prompt line itself; records start after it.
        parse_lspci_into(&mut m, b.body, b.first_line - 1);
    }
    let mut tree_blocks = blocks.iter().filter(|b| is_tree_block(b)).peekable();
    if tree_blocks.peek().is_none() {
        let tree = parse_lspci_tree(text);
        apply_tree(&mut m, &tree);
    } else {
        for b in tree_blocks {
            let mut tree = parse_lspci_tree(b.body);
            for e in &mut tree.entries {
                e.line += b.first_line - 1;
            }
            for w in &mut tree.warnings {
                w.line = w.line.map(|l| l + b.first_line - 1);
            }
            apply_tree(&mut m, &tree);
        }
    }
    for b in &blocks {
        if b.command
            .is_some_and(|c| c.split_whitespace().any(|w| w == "lscpu"))
        {
            lscpu(&mut m, b.body);
        }
    }
    grub(&mut m, text);
    crate::nvsmi::apply_topo_m(&mut m, text);
    finished(m, "no lspci output found in the markdown")
}

/// `Architecture: x86_64`, `Vendor ID: AuthenticAMD`, `CPU family: 25`.
fn lscpu(m: &mut Machine, body: &str) {
    for l in body.lines() {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Architecture" => {
                m.kernel.arch = match v {
                    "x86_64" => Some(Arch::X86_64),
                    "aarch64" => Some(Arch::Arm64),
                    "ppc64le" | "ppc64" => Some(Arch::Ppc64),
                    _ => m.kernel.arch,
                }
            }
            "Vendor ID" => {
                m.kernel.cpu_vendor = match v {
                    "AuthenticAMD" => Some(CpuVendor::Amd),
                    "GenuineIntel" => Some(CpuVendor::Intel),
                    "ARM" => Some(CpuVendor::Arm),
                    _ => m.kernel.cpu_vendor,
                }
            }
            "CPU family" => {
                if let Some(f) = parse_dec::<u32>(v) {
                    m.kernel.cpu_family = Some(f);
                }
            }
            _ => {}
        }
    }
}

/// `GRUB_CMDLINE_LINUX_DEFAULT="quiet splash amd_iommu=off iommu=pt"` (uncommented).
fn grub(m: &mut Machine, text: &str) {
    let mut args = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        for key in ["GRUB_CMDLINE_LINUX_DEFAULT=", "GRUB_CMDLINE_LINUX="] {
            if let Some(v) = t.strip_prefix(key) {
                let v = v.trim().trim_matches('"').trim_matches('\'');
                if !v.is_empty() {
                    args.push(v.to_string());
                }
            }
        }
    }
    if !args.is_empty() && m.kernel.cmdline.is_none() {
        m.kernel.apply_cmdline(&args.join(" "));
        m.kernel.cmdline_note = Some(
            "from /etc/default/grub in the report, which may differ from the running kernel's"
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_commands() {
        let md = "# T\n```\n$ me@h:~$ lspci -tv\n-[0000:00]-+-00.0  X\n```\ntext\n~~~text\nno prompt\n~~~\n```\n$ sudo lspci -vvv | grep ACSCtl\n```\n```\nunclosed\n";
        let b = extract_fenced_blocks(md);
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].command, Some("lspci -tv"));
        assert_eq!(b[0].first_line, 3);
        assert!(is_tree_block(&b[0]));
        assert_eq!(b[1].info, "text");
        assert_eq!(b[1].command, None);
        assert!(!is_lspci_detail_block(&b[2]), "piped through grep");
        assert_eq!(b[3].body, "unclosed\n");
    }
}
